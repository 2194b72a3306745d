/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Program buffers (imgbuf.h): each one mapped on its own, with its mapping's
 * size in a header before the bytes, so that whoever ends it (the file,
 * the job, the process's exit) gives it back without asking a pool. */
#include "imgbuf.h"

#include <pthread.h>
#include <stdlib.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif
#include <sys/mman.h>
#include <unistd.h>

#define MAGIC 0x51494d47u /* "QIMG" */
/* the header; the bytes after it stay 64-byte aligned for the copies */
#define HDR 64

struct hdr {
	size_t map; /* bytes mapped, header included */
	size_t cap; /* bytes for the program */
	uint32_t magic;
};

struct qimg_pool {
	pthread_mutex_t lock;
	size_t cap;    /* asked for */
	size_t bufcap; /* of each of its buffers: cap, to the page */
	unsigned keep, nwarm, in_use;
	uint64_t mapped;
	uint8_t **warm;
};

static size_t page_size(void)
{
	long n = sysconf(_SC_PAGESIZE);
	return n > 0 ? (size_t)n : 4096;
}

static struct hdr *hdr_of(const uint8_t *b)
{
	return (struct hdr *)(void *)(b - HDR);
}

static uint8_t *map_buffer(size_t cap)
{
	size_t pg = page_size(), map;

	if (cap > SIZE_MAX - HDR - pg)
		return NULL;
	map = (cap + HDR + pg - 1) / pg * pg;
	void *m = mmap(NULL, map, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	UNPOISON(m, map);
	struct hdr *h = m;
	h->map = map;
	h->cap = map - HDR;
	h->magic = MAGIC;
	POISON(m, HDR); /* the header is ours alone */
	return (uint8_t *)m + HDR;
}

/* the header, readable only here under ASan */
static size_t cap_of(const uint8_t *b)
{
	UNPOISON(b - HDR, HDR);
	size_t cap = hdr_of(b)->cap;
	POISON(b - HDR, HDR);
	return cap;
}

void qimg_use(uint8_t *b, size_t n)
{
	size_t cap = cap_of(b);

	if (n > cap)
		n = cap;
	UNPOISON(b, n);
	POISON(b + n, cap - n);
}

void qimg_free(uint8_t *b)
{
	if (!b)
		return;
	UNPOISON(b - HDR, HDR);
	struct hdr *h = hdr_of(b);
	if (h->magic != MAGIC)
		abort(); /* not one of ours: a bug, never the user's */
	h->magic = 0;
	UNPOISON(h, h->map);
	munmap(h, h->map);
}

size_t qimg_cap(const uint8_t *b)
{
	return cap_of(b);
}

struct qimg_pool *qimg_pool_new(size_t cap, unsigned keep)
{
	struct qimg_pool *p = calloc(1, sizeof *p);

	if (!p)
		return NULL;
	p->cap = cap ? cap : 1;
	p->keep = keep;
	if (p->cap > SIZE_MAX - HDR - page_size()) {
		free(p);
		return NULL;
	}
	p->bufcap =
	    (p->cap + HDR + page_size() - 1) / page_size() * page_size() - HDR;
	if (keep && !(p->warm = calloc(keep, sizeof *p->warm))) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	return p;
}

void qimg_pool_drain(struct qimg_pool *p)
{
	uint8_t *gone[QIMG_KEEP_DEFAULT * 4];
	unsigned n = 0;

	if (!p)
		return;
	do {
		pthread_mutex_lock(&p->lock);
		for (n = 0; p->nwarm && n < sizeof gone / sizeof *gone; n++)
			gone[n] = p->warm[--p->nwarm];
		pthread_mutex_unlock(&p->lock);
		/* unmapped with the lock released: munmap takes time */
		for (unsigned i = 0; i < n; i++)
			qimg_free(gone[i]);
	} while (n);
}

void qimg_pool_free(struct qimg_pool *p)
{
	if (!p)
		return;
	qimg_pool_drain(p);
	pthread_mutex_destroy(&p->lock);
	free(p->warm);
	free(p);
}

uint8_t *qimg_get(struct qimg_pool *p, size_t len)
{
	uint8_t *b = NULL;

	if (!p) {
		b = map_buffer(len ? len : 1);
		if (b)
			qimg_use(b, len);
		return b;
	}
	pthread_mutex_lock(&p->lock);
	if (len <= p->cap && p->nwarm)
		b = p->warm[--p->nwarm];
	if (b)
		p->in_use++;
	pthread_mutex_unlock(&p->lock);
	if (b) {
		qimg_use(b, len);
		return b;
	}
	b = map_buffer(len > p->cap ? len : p->cap);
	if (b) {
		qimg_use(b, len);
		pthread_mutex_lock(&p->lock);
		p->in_use++;
		p->mapped++;
		pthread_mutex_unlock(&p->lock);
	}
	return b;
}

void qimg_put(struct qimg_pool *p, uint8_t *b)
{
	int kept = 0;

	if (!b)
		return;
	if (!p) {
		qimg_free(b);
		return;
	}
	size_t cap = cap_of(b);
	qimg_use(b, 0); /* nobody's until handed out again */
	pthread_mutex_lock(&p->lock);
	if (p->in_use)
		p->in_use--;
	if (cap == p->bufcap && p->nwarm < p->keep) {
		p->warm[p->nwarm++] = b;
		kept = 1;
	}
	pthread_mutex_unlock(&p->lock);
	if (!kept)
		qimg_free(b);
}

void qimg_pool_stats(struct qimg_pool *p, struct qimg_stats *out)
{
	pthread_mutex_lock(&p->lock);
	out->cap = p->bufcap;
	out->warm = p->nwarm;
	out->in_use = p->in_use;
	out->mapped = p->mapped;
	pthread_mutex_unlock(&p->lock);
}
