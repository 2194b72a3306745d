/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Program buffers. A program's bytes are copied once, from the writer's
 * request into a buffer of the largest program's size (the slot's, less
 * the packet header), and that buffer is what the launch checks, what the
 * spool writes and what the channel sends from: it never grows by copying.
 * Buffers are mapped (mmap), so that one given back is the system's at
 * once; a few are kept warm for the next launches, so that a steady
 * stream of programs touches no new page. */
#ifndef QUEST_IMGBUF_H
#define QUEST_IMGBUF_H

#include <stddef.h>
#include <stdint.h>

/* buffers kept warm, at most: enough for a writer's next program while
 * the last one is being sent, for two writers at once */
#define QIMG_KEEP_DEFAULT 4

struct qimg_pool;

/* A pool of buffers of `cap` bytes (0: 1 byte), keeping up to `keep`
 * warm; NULL when out of memory. Its buffers outlive it (qimg_free). */
struct qimg_pool *qimg_pool_new(size_t cap, unsigned keep);
/* Gives back every warm buffer, then the pool; buffers still in use stay
 * valid. NULL: nothing. */
void qimg_pool_free(struct qimg_pool *p);

/* A buffer of at least len bytes (the pool's size, or len when larger),
 * a warm one when there is one; NULL when out of memory. Its bytes are
 * not cleared. p NULL: a buffer of len bytes, from no pool. */
uint8_t *qimg_get(struct qimg_pool *p, size_t len);
/* The bytes a buffer holds. */
size_t qimg_cap(const uint8_t *b);
/* Its first n bytes are in use: under AddressSanitizer, touching the
 * others is reported, as past the end of a malloc'd block. */
void qimg_use(uint8_t *b, size_t n);
/* Back to the pool, kept warm if there is room, else given back to the
 * system. NULL: nothing. p NULL: as qimg_free. */
void qimg_put(struct qimg_pool *p, uint8_t *b);
/* Back to the system, whatever the pool. NULL: nothing. */
void qimg_free(uint8_t *b);
/* Gives back every warm buffer (after a burst: its memory is the
 * system's again). */
void qimg_pool_drain(struct qimg_pool *p);

struct qimg_stats {
	size_t cap;	 /* bytes of a pool buffer */
	unsigned warm;	 /* kept, unused */
	unsigned in_use; /* handed out, not yet back */
	uint64_t mapped; /* buffers mapped since the pool began */
};
void qimg_pool_stats(struct qimg_pool *p, struct qimg_stats *out);

#endif
