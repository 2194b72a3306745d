/* Spool entries on disk. One file per job, ID.job:
 *   "QFSSPOOL" | u32 version | u32 crc32 of what follows | u64 id |
 *   i64 launch ms | u32 name len | name | u32 args len | args |
 *   88-byte packet header | u32 image len | image
 * all little-endian; and ID.mark (u64 epoch, u64 seq: where the channel
 * stood, or empty when it cannot tell) from the moment it is sent.
 * zlib's crc32 tells a damaged entry from a good one. */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MAGIC	"QFSSPOOL"
#define VERSION 1u
#define FIXED	(8 + 4 + 4)

struct qspool {
	int dirfd;
	int sync;
	char *dir;
};

static void le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

enum qerr qspool_open(const char *dir, int sync, struct qspool **out,
		      struct qerror *err)
{
	struct qspool *sp = calloc(1, sizeof *sp);
	char *p;

	*out = NULL;
	if (!sp || !(sp->dir = strdup(dir))) {
		free(sp);
		return qerr_set(err, QE_NOMEM, "out of memory");
	}
	/* mkdir -p */
	for (p = sp->dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(sp->dir, 0755);
		*p = '/';
	}
	if (mkdir(sp->dir, 0700) < 0 && errno != EEXIST) {
		qerr_sys(err, errno, "spool %s", dir);
		goto fail;
	}
	sp->dirfd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd < 0) {
		qerr_sys(err, errno, "spool %s", dir);
		goto fail;
	}
	sp->sync = sync;
	*out = sp;
	return QE_OK;
fail:
	free(sp->dir);
	free(sp);
	return err ? err->code : QE_SYS;
}

void qspool_close(struct qspool *sp)
{
	if (!sp)
		return;
	close(sp->dirfd);
	free(sp->dir);
	free(sp);
}

static int write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes name atomically: NAME.tmp, (fsync), rename, (fsync dir). */
static int put_file(struct qspool *sp, const char *name, const uint8_t *a,
		    size_t alen, const uint8_t *b, size_t blen)
{
	char tmp[64];
	int fd, rc = -1;

	snprintf(tmp, sizeof tmp, "%s.tmp", name);
	fd = openat(sp->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return -1;
	if (write_all(fd, a, alen) == 0 && write_all(fd, b, blen) == 0 &&
	    (!sp->sync || fdatasync(fd) == 0))
		rc = 0;
	if (close(fd) < 0)
		rc = -1;
	if (rc == 0 && renameat(sp->dirfd, tmp, sp->dirfd, name) < 0)
		rc = -1;
	if (rc < 0) {
		int e = errno;
		unlinkat(sp->dirfd, tmp, 0);
		errno = e;
	} else if (sp->sync) {
		fsync(sp->dirfd);
	}
	return rc;
}

enum qerr qspool_put(struct qspool *sp, const struct qspool_entry *e,
		     struct qerror *err)
{
	size_t nlen = strnlen(e->name, sizeof e->name - 1);
	size_t alen = strnlen(e->args, sizeof e->args - 1);
	size_t hlen = FIXED + 8 + 8 + 4 + nlen + 4 + alen + QPKT_HDR_SIZE + 4;
	uint8_t *h = malloc(hlen), *p;
	char name[32];
	enum qerr rc = QE_OK;

	if (!h)
		return qerr_set(err, QE_NOMEM, "out of memory");
	memcpy(h, MAGIC, 8);
	le(h + 8, VERSION, 4);
	p = h + FIXED;
	le(p, e->id, 8);
	le(p + 8, (uint64_t)e->t_launch_ms, 8);
	p += 16;
	le(p, nlen, 4);
	memcpy(p + 4, e->name, nlen);
	p += 4 + nlen;
	le(p, alen, 4);
	memcpy(p + 4, e->args, alen);
	p += 4 + alen;
	memcpy(p, e->hdr, QPKT_HDR_SIZE);
	p += QPKT_HDR_SIZE;
	le(p, e->len, 4);
	uLong crc = crc32(0L, h + FIXED, (uInt)(hlen - FIXED));
	crc = crc32(crc, e->image, (uInt)e->len);
	le(h + 12, crc, 4);
	snprintf(name, sizeof name, "%016" PRIx64 ".job", e->id);
	if (put_file(sp, name, h, hlen, e->image, e->len) < 0)
		rc = qerr_sys(err, errno, "cannot write the spool entry %s/%s",
			      sp->dir, name);
	free(h);
	return rc;
}

enum qerr qspool_mark(struct qspool *sp, uint64_t id,
		      const struct qchan_mark *m, struct qerror *err)
{
	uint8_t b[16];
	char name[32];

	if (m) {
		le(b, m->epoch, 8);
		le(b + 8, m->seq, 8);
	}
	snprintf(name, sizeof name, "%016" PRIx64 ".mark", id);
	if (put_file(sp, name, b, m ? sizeof b : 0, NULL, 0) < 0)
		return qerr_sys(err, errno, "cannot write %s/%s", sp->dir,
				name);
	return QE_OK;
}

void qspool_unmark(struct qspool *sp, uint64_t id)
{
	char name[32];
	snprintf(name, sizeof name, "%016" PRIx64 ".mark", id);
	unlinkat(sp->dirfd, name, 0);
}

void qspool_done(struct qspool *sp, uint64_t id)
{
	char name[32];
	snprintf(name, sizeof name, "%016" PRIx64 ".job", id);
	unlinkat(sp->dirfd, name, 0);
	qspool_unmark(sp, id);
	if (sp->sync)
		fsync(sp->dirfd);
}

/* Reads a whole small file relative to the spool; NULL on failure. */
static uint8_t *slurp(struct qspool *sp, const char *name, size_t *len)
{
	int fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *buf = NULL;
	size_t n = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || st.st_size > (64 << 20) ||
	    !(buf = malloc((size_t)st.st_size + 1)))
		goto out;
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	*len = n;
out:
	close(fd);
	return buf;
}

/* Parses an entry; the reason it is bad, or NULL. */
static const char *parse(const uint8_t *b, size_t n, struct qspool_entry *e)
{
	const uint8_t *p = b + FIXED, *end = b + n;
	size_t k;

	if (n < FIXED || memcmp(b, MAGIC, 8))
		return "not a spool entry (bad magic)";
	if (get(b + 8, 4) != VERSION)
		return "spool entry of another version";
	if (get(b + 12, 4) != crc32(0L, b + FIXED, (uInt)(n - FIXED)))
		return "checksum mismatch (damaged or partial entry)";
	if (end - p < 20)
		return "truncated";
	e->id = get(p, 8);
	e->t_launch_ms = (int64_t)get(p + 8, 8);
	k = get(p + 16, 4);
	p += 20;
	if (k >= sizeof e->name || (size_t)(end - p) < k + 4)
		return "bad name";
	memcpy(e->name, p, k);
	e->name[k] = '\0';
	p += k;
	k = get(p, 4);
	p += 4;
	if (k >= sizeof e->args || (size_t)(end - p) < k + QPKT_HDR_SIZE + 4)
		return "bad arguments";
	memcpy(e->args, p, k);
	e->args[k] = '\0';
	p += k;
	memcpy(e->hdr, p, QPKT_HDR_SIZE);
	p += QPKT_HDR_SIZE;
	k = get(p, 4);
	p += 4;
	if ((size_t)(end - p) != k)
		return "image length does not match";
	e->image = malloc(k ? k : 1);
	if (!e->image)
		return "out of memory";
	memcpy(e->image, p, k);
	e->len = k;
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void set_aside(struct qspool *sp, const char *name)
{
	char bad[300];
	snprintf(bad, sizeof bad, "%s.bad", name);
	renameat(sp->dirfd, name, sp->dirfd, bad);
}

size_t qspool_load(struct qspool *sp,
		   void (*fn)(void *ctx, struct qspool_entry *e),
		   void (*bad)(void *ctx, const char *file, const char *why),
		   void *ctx)
{
	DIR *d = fdopendir(dup(sp->dirfd));
	uint64_t *ids = NULL;
	size_t n = 0, cap = 0, loaded = 0;
	struct dirent *de;

	if (!d)
		return 0;
	rewinddir(d);
	while ((de = readdir(d))) {
		uint64_t id;
		char tail[16];
		size_t len = strlen(de->d_name);

		if (len > 4 && !strcmp(de->d_name + len - 4, ".tmp")) {
			/* a write that never finished: never was an entry */
			unlinkat(sp->dirfd, de->d_name, 0);
			continue;
		}
		if (sscanf(de->d_name, "%16" SCNx64 "%15s", &id, tail) != 2 ||
		    strcmp(tail, ".job"))
			continue;
		if (n == cap) {
			uint64_t *p = realloc(ids, (cap = cap ? 2 * cap : 64) *
						       sizeof *ids);
			if (!p)
				break;
			ids = p;
		}
		ids[n++] = id;
	}
	closedir(d);
	if (n) /* ids is NULL for an empty spool: qsort's argument is nonnull */
		qsort(ids, n, sizeof *ids, cmp_u64);
	for (size_t i = 0; i < n; i++) {
		char name[32], mname[32];
		struct qspool_entry e = {0};
		uint8_t *b, *m;
		size_t blen = 0, mlen = 0;
		const char *why;

		snprintf(name, sizeof name, "%016" PRIx64 ".job", ids[i]);
		snprintf(mname, sizeof mname, "%016" PRIx64 ".mark", ids[i]);
		b = slurp(sp, name, &blen);
		why = b ? parse(b, blen, &e) : "cannot be read";
		if (!why && e.id != ids[i])
			why = "its id does not match its file name";
		free(b);
		if (why) {
			free(e.image);
			bad(ctx, name, why);
			set_aside(sp, name);
			qspool_unmark(sp, ids[i]);
			continue;
		}
		if ((m = slurp(sp, mname, &mlen))) {
			e.marked = 1;
			if (mlen == 16) {
				e.mark_valid = 1;
				e.mark.epoch = get(m, 8);
				e.mark.seq = get(m + 8, 8);
			}
			free(m);
		}
		fn(ctx, &e);
		loaded++;
	}
	free(ids);
	return loaded;
}
