/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The spool on disk, format 2: journal files NNNNNNNN.journal, each
 *   "QFSSPOOL" | u32 version (2) | u32 generation | u64 salt
 * then records: a 40-byte header, its payload and an 8-byte trailer,
 *   "QREC" | u16 type | u16 flags | u32 generation | u32 meta len |
 *   u64 id | u32 image len | u32 crc32 of the image (flag 1: spool_sync) |
 *   u32 0 | u32 crc32 of the file's salt, the 36 bytes before it and the
 *   meta (the salt, random, keeps a program's bytes from ever reading as
 *   a record)
 *   job:  meta = i64 launch ms | u32 name len | name | u32 args len | args |
 *         88-byte packet header | u32 uid (absent before questfs recorded
 *         who launched a job); then the image
 *   mark: meta = u64 epoch | u64 seq, or none when the channel cannot tell
 *   unmark, done: nothing
 *   "QEND" | u32 the header's crc32: the record is whole
 * all little-endian, appended with one pwritev(2) each under one lock.
 * Once every job of the only journal file has ended and it has grown past
 * REWIND_AT, it is written again from its start under the next generation:
 * its page cache is reused (emptying it cost 3.5 times as much), and what
 * follows the last whole record of the file's generation is history.
 * Past SEG_MAX bytes a new file is begun; a file all of whose jobs have
 * ended goes, the oldest first. Format 1 (a file ID.job per job, ID.mark
 * beside it) is still read. */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include "outfile.h"
#include "who.h"

#define MAGIC	   "QFSSPOOL"
#define VERSION	   2u
#define FHDR	   24
#define RMAGIC	   "QREC"
#define RHDR	   40
#define TMAGIC	   "QEND"
#define RTRL	   8
#define SEG_MAX	   (8 << 20) /* begin a new journal file past this */
#define REWIND_AT  (1 << 20) /* rewind the last one, all ended, past this */
#define FILE_MAX   (1 << 30) /* more than any journal file questfs writes */
#define V1_VERSION 1u
#define V1_FIXED   (8 + 4 + 4)

enum { R_JOB = 1, R_MARK, R_UNMARK, R_DONE };
#define F_IMAGE_CRC 1u

struct seg {
	unsigned no;
	unsigned live; /* jobs put in it and not done */
};

struct live {
	uint64_t id;
	unsigned seg;
	int ended; /* done, but its record could not be written yet */
};

struct qspool {
	/* Guards every field below; taken with no other lock held (the
	 * jobs lock is released before each call; DESIGN.md §10). */
	pthread_mutex_t lock;
	int dirfd, fd; /* fd: the journal file appended to, or -1 */
	int sync;
	char *dir;
	unsigned next_no; /* number of the next journal file */
	off_t end;	  /* where fd's next record goes */
	uint32_t gen;	  /* fd's generation */
	uint64_t salt;	  /* fd's */
	size_t nended;	  /* live entries ended, their record not written */
	struct seg *segs; /* this run's journal files, oldest first; the last
			     is fd's */
	size_t nsegs;
	struct live *live;
	size_t nlive, cap;
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

/* zlib's crc32 returns its initial value for a NULL buffer, whatever the
 * crc passed in: an empty meta must leave the crc as it is. */
static uLong crc_more(uLong crc, const uint8_t *p, size_t n)
{
	return n ? crc32(crc, p, (uInt)n) : crc;
}

static void journal_name(char *buf, size_t n, unsigned no)
{
	snprintf(buf, n, "%08u.journal", no);
}

/* NNNNNNNN.journal: 1 and its number */
static int journal_no(const char *name, unsigned *no)
{
	char *end;
	unsigned long v;

	if (name[0] < '0' || name[0] > '9')
		return 0;
	v = strtoul(name, &end, 10);
	if (strcmp(end, ".journal") || v >= UINT_MAX)
		return 0;
	*no = (unsigned)v;
	return 1;
}

/* As ssh's StrictModes: whoever else may write the spool could plant jobs
 * that questfs would send in its own name, so the directory must be ours
 * and closed to group and others. */
static enum qerr strict_modes(int dirfd, const char *dir, struct qerror *err)
{
	char owner[QWHO_NAME_MAX], me[QWHO_NAME_MAX];
	struct stat st;

	if (fstat(dirfd, &st) < 0)
		return qerr_sys(err, errno, "spool %s", dir);
	if (st.st_uid == geteuid() && !(st.st_mode & 022))
		return QE_OK;
	qwho_name(st.st_uid, owner, sizeof owner);
	qwho_name(geteuid(), me, sizeof me);
	return qerr_set(err, QE_SYS,
			"spool %s belongs to %s with mode %04o: refused, it "
			"must belong to %s and not be writable by group or "
			"others (chown %s, chmod go-w; or spool=DIR)",
			dir, owner, (unsigned)(st.st_mode & 07777), me, me);
}

enum qerr qspool_check(const char *dir, struct qerror *err)
{
	struct qspool *sp;
	enum qerr rc = qspool_open(dir, 0, &sp, err);

	qspool_close(sp);
	return rc;
}

enum qerr qspool_open(const char *dir, int sync, struct qspool **out,
		      struct qerror *err)
{
	struct qspool *sp = calloc(1, sizeof *sp);
	struct dirent *de;
	unsigned no;
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
	sp->dirfd =
	    open(sp->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat lst;
	if (sp->dirfd < 0 && (errno == ELOOP || errno == ENOTDIR) &&
	    lstat(sp->dir, &lst) == 0 && S_ISLNK(lst.st_mode)) {
		qerr_set(err, QE_SYS,
			 "spool %s is a symbolic link: refused; give the "
			 "directory itself (spool=DIR)",
			 dir);
		goto fail;
	}
	if (sp->dirfd < 0) {
		qerr_sys(err, errno, "spool %s", dir);
		goto fail;
	}
	if (strict_modes(sp->dirfd, dir, err) != QE_OK) {
		close(sp->dirfd);
		goto fail;
	}
	/* this run writes after every journal file already there */
	sp->next_no = 1;
	DIR *d = fdopendir(dup(sp->dirfd));
	while (d && (de = readdir(d)))
		if (journal_no(de->d_name, &no) && no >= sp->next_no)
			sp->next_no = no + 1;
	if (d)
		closedir(d);
	pthread_mutex_init(&sp->lock, NULL);
	sp->fd = -1;
	sp->sync = sync;
	*out = sp;
	return QE_OK;
fail:
	free(sp->dir);
	free(sp);
	return err ? err->code : QE_SYS;
}

static void end_pending_locked(struct qspool *sp);

void qspool_close(struct qspool *sp)
{
	if (!sp)
		return;
	end_pending_locked(sp);
	if (sp->fd >= 0)
		close(sp->fd);
	close(sp->dirfd);
	pthread_mutex_destroy(&sp->lock);
	free(sp->segs);
	free(sp->live);
	free(sp->dir);
	free(sp);
}

/* ---- appending (lock held) ---- */

static void file_header(uint8_t h[FHDR], uint32_t gen, uint64_t salt)
{
	memcpy(h, MAGIC, 8);
	le(h + 8, VERSION, 4);
	le(h + 12, gen, 4);
	le(h + 16, salt, 8);
}

static uint64_t new_salt(void)
{
	uint64_t v;
	struct timespec ts;

	if (getrandom(&v, sizeof v, GRND_NONBLOCK) == (ssize_t)sizeof v)
		return v;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15u ^
	       (uint64_t)ts.tv_sec ^ (uint64_t)getpid() << 32;
}

/* crc of a record's 36 first header bytes and its meta, under a salt */
static uLong record_crc(uint64_t salt, const uint8_t *h, const uint8_t *meta,
			size_t mlen)
{
	uint8_t sb[8];

	le(sb, salt, 8);
	return crc_more(crc32(crc32(0L, sb, 8), h, 36), meta, mlen);
}

static int begin_file(struct qspool *sp)
{
	uint8_t h[FHDR];
	char name[32];
	struct seg *s = realloc(sp->segs, (sp->nsegs + 1) * sizeof *s);
	int fd, e;

	if (!s) {
		errno = ENOMEM;
		return -1;
	}
	sp->segs = s;
	journal_name(name, sizeof name, sp->next_no);
	fd = openat(sp->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return -1;
	uint64_t salt = new_salt();
	file_header(h, 1, salt);
	errno = EIO;
	if (pwrite(fd, h, FHDR, 0) != FHDR ||
	    (sp->sync && (fdatasync(fd) < 0 || fsync(sp->dirfd) < 0))) {
		e = errno;
		close(fd);
		unlinkat(sp->dirfd, name, 0);
		errno = e;
		return -1;
	}
	if (sp->fd >= 0)
		close(sp->fd);
	sp->fd = fd;
	sp->end = FHDR;
	sp->gen = 1;
	sp->salt = salt;
	s[sp->nsegs++] = (struct seg){sp->next_no++, 0};
	return 0;
}

/* One record to append. */
struct rec {
	unsigned type;
	uint64_t id;
	const uint8_t *meta;
	size_t mlen;
	const uint8_t *img;
	size_t ilen;
};

/* Up to two records and the done records owed before them (append_owed). */
#define BATCH_MAX 10

/* Records, all whole or none: one pwritev(2). 0, or -1 with errno. */
static int append_recs(struct qspool *sp, const struct rec *r, size_t n)
{
	uint8_t h[BATCH_MAX][RHDR], t[BATCH_MAX][RTRL];
	struct iovec iov[4 * BATCH_MAX];
	size_t total = 0;
	ssize_t w;

	if ((sp->fd < 0 || sp->end >= SEG_MAX) && begin_file(sp) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned flags = 0;
		uLong icrc = 0, crc;

		if (sp->sync && r[i].ilen) {
			flags |= F_IMAGE_CRC;
			icrc = crc32(0L, r[i].img, (uInt)r[i].ilen);
		}
		memset(h[i], 0, RHDR);
		memcpy(h[i], RMAGIC, 4);
		le(h[i] + 4, r[i].type, 2);
		le(h[i] + 6, flags, 2);
		le(h[i] + 8, sp->gen, 4);
		le(h[i] + 12, r[i].mlen, 4);
		le(h[i] + 16, r[i].id, 8);
		le(h[i] + 24, r[i].ilen, 4);
		le(h[i] + 28, icrc, 4);
		crc = record_crc(sp->salt, h[i], r[i].meta, r[i].mlen);
		le(h[i] + 36, crc, 4);
		memcpy(t[i], TMAGIC, 4);
		le(t[i] + 4, crc, 4);
		iov[4 * i] = (struct iovec){h[i], RHDR};
		iov[4 * i + 1] = (struct iovec){(void *)r[i].meta, r[i].mlen};
		iov[4 * i + 2] = (struct iovec){(void *)r[i].img, r[i].ilen};
		iov[4 * i + 3] = (struct iovec){t[i], RTRL};
		total += RHDR + r[i].mlen + r[i].ilen + RTRL;
	}
	w = pwritev(sp->fd, iov, (int)(4 * n), sp->end);
	if (w == (ssize_t)total && (!sp->sync || fdatasync(sp->fd) == 0)) {
		sp->end += (off_t)total;
		return 0;
	}
	/* Cut short, the last record has no trailer, but those before the
	 * cut may be whole; whole but not synced, the caller is told it
	 * failed. Either way none of them was made: the first one's magic
	 * goes, so that a crash does not find them (the next records
	 * overwrite them anyway). */
	int e = w < 0 || w == (ssize_t)total ? errno : ENOSPC;
	if (w > 0) {
		static const uint8_t none[4];
		ssize_t z = pwrite(sp->fd, none, sizeof none, sp->end);
		(void)z; /* nothing better to do than to have tried */
	}
	errno = e;
	return -1;
}

static enum qerr write_failed(struct qspool *sp, struct qerror *err)
{
	char name[32];

	journal_name(name, sizeof name,
		     sp->nsegs ? sp->segs[sp->nsegs - 1].no : sp->next_no);
	return qerr_sys(err, errno, "cannot write to the spool %s/%s", sp->dir,
			name);
}

static size_t job_meta(const struct qspool_entry *e, uint8_t *meta)
{
	size_t nlen = strnlen(e->name, sizeof e->name - 1);
	size_t alen = strnlen(e->args, sizeof e->args - 1);
	uint8_t *p = meta;

	le(p, (uint64_t)e->t_launch_ms, 8);
	p += 8;
	le(p, nlen, 4);
	memcpy(p + 4, e->name, nlen);
	p += 4 + nlen;
	le(p, alen, 4);
	memcpy(p + 4, e->args, alen);
	p += 4 + alen;
	memcpy(p, e->hdr, QPKT_HDR_SIZE);
	p += QPKT_HDR_SIZE;
	le(p, (uint64_t)e->uid, 4);
	return (size_t)(p - meta) + 4;
}

#define META_MAX (8 + 4 + 256 + 4 + 320 + QPKT_HDR_SIZE + 4)

static void reclaim(struct qspool *sp);

/* Forgets live[i], whose done record is written (or made history by a
 * rewind). */
static void forget_locked(struct qspool *sp, size_t i)
{
	if (sp->live[i].ended)
		sp->nended--;
	for (size_t s = 0; s < sp->nsegs; s++)
		if (sp->segs[s].no == sp->live[i].seg)
			sp->segs[s].live--;
	sp->live[i] = sp->live[--sp->nlive];
}

/* r[0..nr) (nr at most 2) after the done records still owed, up to
 * BATCH_MAX - 2 of them, in one write: the done of the last launch goes
 * with the next one's job and mark records. Every job ended and the only file
 * past REWIND_AT: no done record is needed, the file is rewound instead. 0, or
 * -1 with errno (nothing written; the dones stay owed). */
static int append_owed(struct qspool *sp, const struct rec *r, size_t nr)
{
	struct rec b[BATCH_MAX];
	size_t at[BATCH_MAX], n = 0;

	if (sp->nended && sp->nended == sp->nlive && sp->nsegs == 1 &&
	    sp->end >= REWIND_AT) {
		while (sp->nlive)
			forget_locked(sp, sp->nlive - 1);
		reclaim(sp);
	}
	/* from the end of live[], so that forgetting one moves none of the
	 * others taken */
	for (size_t i = sp->nlive; sp->nended && i-- > 0 && n < BATCH_MAX - 2;)
		if (sp->live[i].ended) {
			at[n] = i;
			b[n++] = (struct rec){R_DONE, sp->live[i].id, NULL,
					      0,      NULL,	      0};
		}
	size_t dones = n;
	for (size_t k = 0; k < nr && k < 2; k++)
		b[n++] = r[k];
	if (!n)
		return 0;
	if (append_recs(sp, b, n) < 0)
		return -1;
	for (size_t k = 0; k < dones; k++)
		forget_locked(sp, at[k]);
	return 0;
}

/* Writes the done records owed (a full disk may have kept one back; the
 * spool may have deferred them); each job's file stays until its record
 * is written: a full disk must not make a job run again. */
static void end_pending_locked(struct qspool *sp)
{
	while (sp->nended && append_owed(sp, NULL, 0) == 0)
		;
	reclaim(sp);
}

static size_t mark_meta(const struct qchan_mark *m, uint8_t *b)
{
	if (!m)
		return 0;
	le(b, m->epoch, 8);
	le(b + 8, m->seq, 8);
	return 16;
}

/* The job, and with marked its mark (m; NULL: the channel cannot tell)
 * in the same write: a job sent as soon as it is put. */
static int put_locked(struct qspool *sp, const struct qspool_entry *e,
		      int marked, const struct qchan_mark *m)
{
	uint8_t meta[META_MAX], mb[16];
	size_t mlen = job_meta(e, meta);

	if (sp->nlive == sp->cap) {
		size_t cap = sp->cap ? 2 * sp->cap : 64;
		struct live *l = realloc(sp->live, cap * sizeof *l);
		if (!l) {
			errno = ENOMEM;
			return -1;
		}
		sp->live = l;
		sp->cap = cap;
	}
	struct rec r[2] = {{R_JOB, e->id, meta, mlen, e->image, e->len},
			   {R_MARK, e->id, mb, mark_meta(m, mb), NULL, 0}};
	if (append_owed(sp, r, marked ? 2 : 1) < 0)
		return -1;
	sp->live[sp->nlive++] =
	    (struct live){e->id, sp->segs[sp->nsegs - 1].no, 0};
	sp->segs[sp->nsegs - 1].live++;
	return 0;
}

static int mark_locked(struct qspool *sp, uint64_t id,
		       const struct qchan_mark *m)
{
	uint8_t b[16];
	struct rec r = {R_MARK, id, b, mark_meta(m, b), NULL, 0};

	return append_owed(sp, &r, 1);
}

enum qerr qspool_put(struct qspool *sp, const struct qspool_entry *e,
		     struct qerror *err)
{
	enum qerr rc = QE_OK;

	pthread_mutex_lock(&sp->lock);
	if (put_locked(sp, e, 0, NULL) < 0)
		rc = write_failed(sp, err);
	pthread_mutex_unlock(&sp->lock);
	return rc;
}

enum qerr qspool_put_marked(struct qspool *sp, const struct qspool_entry *e,
			    const struct qchan_mark *m, struct qerror *err)
{
	enum qerr rc = QE_OK;

	pthread_mutex_lock(&sp->lock);
	if (put_locked(sp, e, 1, m) < 0)
		rc = write_failed(sp, err);
	pthread_mutex_unlock(&sp->lock);
	return rc;
}

enum qerr qspool_mark(struct qspool *sp, uint64_t id,
		      const struct qchan_mark *m, struct qerror *err)
{
	enum qerr rc = QE_OK;

	pthread_mutex_lock(&sp->lock);
	if (mark_locked(sp, id, m) < 0)
		rc = write_failed(sp, err);
	pthread_mutex_unlock(&sp->lock);
	return rc;
}

void qspool_unmark(struct qspool *sp, uint64_t id)
{
	struct rec r = {R_UNMARK, id, NULL, 0, NULL, 0};

	pthread_mutex_lock(&sp->lock);
	append_owed(sp, &r, 1);
	pthread_mutex_unlock(&sp->lock);
}

/* Journal files all of whose jobs have ended: the oldest go; the only one
 * left is written again from its start once it has grown. A done record of
 * a job lies in its job's file or a later one, so files go only from the
 * oldest. */
static void reclaim(struct qspool *sp)
{
	uint8_t h[FHDR];
	char name[32];

	while (sp->nsegs > 1 && !sp->segs[0].live) {
		journal_name(name, sizeof name, sp->segs[0].no);
		unlinkat(sp->dirfd, name, 0);
		memmove(sp->segs, sp->segs + 1, --sp->nsegs * sizeof *sp->segs);
		if (sp->sync)
			fsync(sp->dirfd);
	}
	if (sp->nsegs != 1 || sp->segs[0].live || sp->end < REWIND_AT)
		return;
	/* A few bytes in one page: the new generation is there or it is not.
	 * Once written, it is the file's, synced or not (records of the old
	 * generation after it would be taken for history). */
	file_header(h, sp->gen + 1, sp->salt);
	if (pwrite(sp->fd, h, FHDR, 0) == FHDR) {
		sp->gen++;
		sp->end = FHDR;
		if (sp->sync)
			fdatasync(sp->fd);
	}
}

/* The done record of id is owed (never put: nothing to do). */
static void owe_done_locked(struct qspool *sp, uint64_t id)
{
	size_t i;

	for (i = 0; i < sp->nlive && sp->live[i].id != id; i++)
		;
	if (i < sp->nlive && !sp->live[i].ended) {
		sp->live[i].ended = 1;
		sp->nended++;
	}
}

void qspool_done(struct qspool *sp, uint64_t id)
{
	pthread_mutex_lock(&sp->lock);
	owe_done_locked(sp, id);
	end_pending_locked(sp);
	pthread_mutex_unlock(&sp->lock);
}

void qspool_done_later(struct qspool *sp, uint64_t id)
{
	pthread_mutex_lock(&sp->lock);
	owe_done_locked(sp, id);
	if (sp->sync) /* a machine's crash would find it undone */
		end_pending_locked(sp);
	pthread_mutex_unlock(&sp->lock);
}

void qspool_flush(struct qspool *sp)
{
	pthread_mutex_lock(&sp->lock);
	if (sp->nended)
		end_pending_locked(sp);
	pthread_mutex_unlock(&sp->lock);
}

/* ---- loading ---- */

struct ents {
	struct qspool_entry *v;
	size_t n, cap;
};

static struct qspool_entry *find(struct ents *es, uint64_t id)
{
	for (size_t i = 0; i < es->n; i++)
		if (es->v[i].id == id)
			return &es->v[i];
	return NULL;
}

/* The entry of id, a new one if there is none; NULL: out of memory. */
static struct qspool_entry *entry(struct ents *es, uint64_t id)
{
	struct qspool_entry *e = find(es, id);

	if (e)
		return e;
	if (es->n == es->cap) {
		size_t cap = es->cap ? 2 * es->cap : 16;
		e = realloc(es->v, cap * sizeof *e);
		if (!e)
			return NULL;
		es->v = e;
		es->cap = cap;
	}
	e = &es->v[es->n++];
	memset(e, 0, sizeof *e);
	e->id = id;
	return e;
}

static void drop(struct ents *es, struct qspool_entry *e)
{
	free(e->image);
	*e = es->v[--es->n];
}

/* What a file of the spool is when it is not a regular file of ours. */
static const char *unsafe_kind(const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return qout_kind(st->st_mode);
	if (st->st_uid != geteuid())
		return "a file of another user";
	return NULL;
}

/* Reads a whole file relative to the spool; NULL on failure. Only a
 * regular file of ours is read: never through a symlink, and never
 * waiting on a FIFO (O_NONBLOCK); anything else sets *unsafe to what it
 * is. */
static uint8_t *slurp(struct qspool *sp, const char *name, size_t *len,
		      const char **unsafe)
{
	int fd = openat(sp->dirfd, name,
			O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC),
	    e = 0;
	struct stat st;
	uint8_t *buf = NULL;
	size_t n = 0;

	*unsafe = NULL;
	if (fd < 0 && errno == ELOOP)
		*unsafe = "a symbolic link";
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0)
		e = errno;
	else if ((*unsafe = unsafe_kind(&st)))
		e = EPERM;
	else if (st.st_size > FILE_MAX)
		e = EFBIG;
	else if (!(buf = malloc((size_t)st.st_size + 1)))
		e = ENOMEM;
	while (buf && n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) { /* a read error is no end of file */
			e = errno;
			free(buf);
			buf = NULL;
		}
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	close(fd);
	errno = e;
	return buf;
}

/* The record at b (n bytes to the end of the file), of generation gen: 0
 * and its length when it is whole; -2 when its header is sound but it is
 * cut short (a write that never finished); -1 when there is none. */
static int check_record(const uint8_t *b, size_t n, uint32_t gen, uint64_t salt,
			size_t *len, const char **why)
{
	size_t mlen, ilen;
	uLong crc;

	*why = "no record begins there";
	if (n < RHDR || memcmp(b, RMAGIC, 4) || get(b + 8, 4) != gen)
		return -1;
	mlen = get(b + 12, 4);
	ilen = get(b + 24, 4);
	if (n - RHDR < mlen)
		return -1;
	crc = record_crc(salt, b, b + RHDR, mlen);
	if (get(b + 36, 4) != crc) {
		*why = "checksum mismatch";
		return -1;
	}
	*why = "the file ends inside the record";
	if (n - RHDR - mlen < RTRL || n - RHDR - mlen - RTRL < ilen)
		return -2;
	b += RHDR + mlen + ilen;
	*why = "its trailer is missing";
	if (memcmp(b, TMAGIC, 4) || get(b + 4, 4) != crc)
		return -2;
	b -= ilen;
	if ((get(b - mlen - RHDR + 6, 2) & F_IMAGE_CRC) &&
	    get(b - mlen - RHDR + 28, 4) != crc_more(0L, b, ilen)) {
		*why = "image checksum mismatch";
		return -1;
	}
	*len = RHDR + mlen + ilen + RTRL;
	return 0;
}

/* Applies one valid record; the reason it cannot be, or NULL. */
static const char *apply(struct ents *es, const uint8_t *r)
{
	unsigned type = (unsigned)get(r + 4, 2);
	uint64_t id = get(r + 16, 8);
	size_t mlen = get(r + 12, 4), ilen = get(r + 24, 4), k;
	const uint8_t *p = r + RHDR, *end = p + mlen;
	struct qspool_entry *e = find(es, id), tmp = {0};

	switch (type) {
	case R_JOB:
		if (mlen < 8 + 4)
			return "malformed job record";
		tmp.t_launch_ms = (int64_t)get(p, 8);
		k = get(p + 8, 4);
		p += 12;
		if (k >= sizeof tmp.name || (size_t)(end - p) < k + 4)
			return "malformed job record (name)";
		memcpy(tmp.name, p, k);
		p += k;
		k = get(p, 4);
		p += 4;
		if (k >= sizeof tmp.args ||
		    ((size_t)(end - p) != k + QPKT_HDR_SIZE &&
		     (size_t)(end - p) != k + QPKT_HDR_SIZE + 4))
			return "malformed job record (arguments)";
		memcpy(tmp.args, p, k);
		memcpy(tmp.hdr, p + k, QPKT_HDR_SIZE);
		tmp.uid = (size_t)(end - p) == k + QPKT_HDR_SIZE
			      ? geteuid()
			      : (uid_t)get(p + k + QPKT_HDR_SIZE, 4);
		if (!(tmp.image = malloc(ilen ? ilen : 1)))
			return "out of memory";
		memcpy(tmp.image, end, ilen);
		tmp.len = ilen;
		tmp.id = id;
		if (!(e = entry(es, id))) {
			free(tmp.image);
			return "out of memory";
		}
		free(e->image); /* the same job written again at a start */
		*e = tmp;
		return NULL;
	case R_MARK:
		if (mlen != 0 && mlen != 16)
			return "malformed mark record";
		if (e) {
			e->marked = 1;
			e->mark_valid = mlen == 16;
			e->mark.epoch = mlen ? get(p, 8) : 0;
			e->mark.seq = mlen ? get(p + 8, 8) : 0;
		}
		return NULL;
	case R_UNMARK:
		if (e)
			e->marked = e->mark_valid = 0;
		return NULL;
	case R_DONE:
		if (e)
			drop(es, e);
		return NULL;
	default:
		return "unknown record type";
	}
}

/* The last bytes of a file are the start of a record of generation gen
 * whose write was cut short before its checksum can tell: its magic (or
 * the part of it there is), its generation, and a meta longer than what is
 * left. Without this, a journal cut inside its first record header would
 * lose its jobs without a word. */
static int cut_header(const uint8_t *b, size_t n, uint32_t gen)
{
	if (!n || memcmp(b, RMAGIC, n < 4 ? n : 4))
		return 0;
	if (n >= 12 && get(b + 8, 4) != gen)
		return 0;
	return n < RHDR || n - RHDR < get(b + 12, 4);
}

/* Every record of one journal file into es; 1 when the file had damage. */
static int load_journal(const char *name, const uint8_t *b, size_t n,
			struct ents *es,
			void (*bad)(void *, const char *, const char *),
			void *ctx)
{
	char why[200];
	const char *w, *w2;
	size_t off = FHDR, len = 0, next;
	uint32_t gen;
	uint64_t salt;
	int damaged = 0, r;

	if (n < FHDR || memcmp(b, MAGIC, 8)) {
		bad(ctx, name, "not a spool journal (bad magic); skipped");
		return 1;
	}
	if (get(b + 8, 4) != VERSION) {
		bad(ctx, name, "a spool journal of another version; skipped");
		return 1;
	}
	gen = (uint32_t)get(b + 12, 4);
	salt = get(b + 16, 8);
	while (off < n) {
		r = check_record(b + off, n - off, gen, salt, &len, &w);
		if (r == 0) {
			if ((w = apply(es, b + off))) {
				damaged = 1;
				snprintf(why, sizeof why,
					 "record at byte %zu: %s; skipped", off,
					 w);
				bad(ctx, name, why);
			}
			off += len;
			continue;
		}
		/* damage, if a record of this generation follows, whole or
		 * cut short; else the end */
		for (next = off + 1; next < n; next++)
			if (check_record(b + next, n - next, gen, salt, &len,
					 &w2) != -1)
				break;
		if (next < n) {
			damaged = 1;
			snprintf(why, sizeof why,
				 "damaged record at byte %zu (%s): %zu bytes "
				 "skipped",
				 off, w, next - off);
			bad(ctx, name, why);
			off = next;
			continue;
		}
		if (r == -1 && cut_header(b + off, n - off, gen)) {
			r = -2;
			w = "the file ends inside its header";
		}
		if (r == -2) {
			damaged = 1;
			snprintf(why, sizeof why,
				 "the last record, at byte %zu, is cut short "
				 "(questfs stopped while writing it): %s",
				 off, w);
			bad(ctx, name, why);
		}
		break; /* the rest is of earlier generations */
	}
	return damaged;
}

/* A format 1 entry, ID.job; the reason it is bad, or NULL. */
static const char *parse_v1(const uint8_t *b, size_t n, struct qspool_entry *e)
{
	const uint8_t *p = b + V1_FIXED, *end = b + n;
	size_t k;

	if (n < V1_FIXED || memcmp(b, MAGIC, 8))
		return "not a spool entry (bad magic)";
	if (get(b + 8, 4) != V1_VERSION)
		return "spool entry of another version";
	if (get(b + 12, 4) != crc32(0L, b + V1_FIXED, (uInt)(n - V1_FIXED)))
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
	e->uid = geteuid();
	return NULL;
}

static void set_aside(struct qspool *sp, const char *name,
		      void (*bad)(void *, const char *, const char *),
		      void *ctx)
{
	char to[300], why[320];

	snprintf(to, sizeof to, "%s.bad", name);
	if (renameat(sp->dirfd, name, sp->dirfd, to) == 0) {
		snprintf(why, sizeof why, "kept as %s", to);
		bad(ctx, name, why);
	}
}

/* A file that is not a regular file of ours: never read, moved out of the
 * way (the name of a symlink, not what it points to), and reported. */
static void set_aside_unsafe(struct qspool *sp, const char *name,
			     const char *kind,
			     void (*bad)(void *, const char *, const char *),
			     void *ctx)
{
	char to[300], why[400];
	int moved;

	snprintf(to, sizeof to, "%s.bad", name);
	moved = renameat(sp->dirfd, name, sp->dirfd, to) == 0;
	snprintf(why, sizeof why,
		 "is %s, not a regular file of questfs's user: not read, %s%s",
		 kind, moved ? "set aside as " : "left where it is: ",
		 moved ? to : strerror(errno));
	bad(ctx, name, why);
}

static void v1_name(char *buf, size_t n, uint64_t id, const char *ext)
{
	snprintf(buf, n, "%016" PRIx64 ".%s", id, ext);
}

/* A format 1 entry and its mark into es, unless a journal has that job. */
static void load_v1(struct qspool *sp, uint64_t id, struct ents *es,
		    void (*bad)(void *, const char *, const char *), void *ctx)
{
	char name[32], mname[32];
	struct qspool_entry v = {0}, *e;
	size_t blen = 0, mlen = 0;
	uint8_t *b, *m;
	const char *why;

	v1_name(name, sizeof name, id, "job");
	v1_name(mname, sizeof mname, id, "mark");
	if (find(es, id)) /* already rewritten to a journal by a start that
			     stopped before removing this */
		return;
	b = slurp(sp, name, &blen, &why);
	if (!b && why) {
		set_aside_unsafe(sp, name, why, bad, ctx);
		unlinkat(sp->dirfd, mname, 0);
		return;
	}
	why = b ? parse_v1(b, blen, &v) : "cannot be read";
	if (!why && v.id != id)
		why = "its id does not match its file name";
	free(b);
	if (!why && !(e = entry(es, id)))
		why = "out of memory";
	if (why) {
		char line[200];
		free(v.image);
		snprintf(line, sizeof line, "%s; skipped", why);
		bad(ctx, name, line);
		set_aside(sp, name, bad, ctx);
		unlinkat(sp->dirfd, mname, 0);
		return;
	}
	if ((m = slurp(sp, mname, &mlen, &why)) || why) {
		v.marked = 1;
		if (mlen == 16) {
			v.mark_valid = 1;
			v.mark.epoch = get(m, 8);
			v.mark.seq = get(m + 8, 8);
		}
		free(m);
	}
	*e = v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}

static int cmp_entry(const void *a, const void *b)
{
	return cmp_u64(&((const struct qspool_entry *)a)->id,
		       &((const struct qspool_entry *)b)->id);
}

/* Appends v[n] (size bytes each) to a growing array; 0, or -1. */
static int push(void **v, size_t *n, size_t *cap, const void *x, size_t size)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 16;
		void *p = realloc(*v, c * size);
		if (!p)
			return -1;
		*v = p;
		*cap = c;
	}
	memcpy((char *)*v + *n * size, x, size);
	++*n;
	return 0;
}

size_t qspool_load(struct qspool *sp,
		   void (*fn)(void *ctx, struct qspool_entry *e),
		   void (*bad)(void *ctx, const char *file, const char *why),
		   void *ctx)
{
	int dfd = dup(sp->dirfd);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	unsigned *nos = NULL;
	uint64_t *ids = NULL;
	char *damaged = NULL; /* per journal file: 1 damaged, 2 unread */
	size_t nj = 0, capj = 0, nv = 0, capv = 0, loaded = 0;
	struct ents es = {0};
	struct dirent *de;
	int rewritten = 1;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return 0;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		const char *nm = de->d_name;
		size_t len = strlen(nm);
		uint64_t id;
		unsigned no;
		char tail[16];

		if (len > 4 && !strcmp(nm + len - 4, ".tmp"))
			/* format 1: a write that never finished */
			unlinkat(sp->dirfd, nm, 0);
		else if (journal_no(nm, &no))
			push((void **)&nos, &nj, &capj, &no, sizeof no);
		else if (sscanf(nm, "%16" SCNx64 "%15s", &id, tail) == 2 &&
			 !strcmp(tail, ".job"))
			push((void **)&ids, &nv, &capv, &id, sizeof id);
	}
	closedir(d);
	if (nj) /* qsort's array argument must not be NULL, even for 0 */
		qsort(nos, nj, sizeof *nos, cmp_uint);
	if (nv)
		qsort(ids, nv, sizeof *ids, cmp_u64);
	if (!(damaged = calloc(nj ? nj : 1, 1))) {
		/* nothing read, nothing touched: all of it at the next start */
		bad(ctx, "",
		    "out of memory: not loaded, left for the next start");
		free(nos);
		free(ids);
		return 0;
	}
	for (size_t i = 0; i < nj; i++) {
		char name[32], why[160];
		size_t blen = 0;
		uint8_t *b;

		journal_name(name, sizeof name, nos[i]);
		const char *unsafe;
		if (!(b = slurp(sp, name, &blen, &unsafe)) && unsafe) {
			set_aside_unsafe(sp, name, unsafe, bad, ctx);
			damaged[i] = 3; /* gone already */
			continue;
		}
		if (!b) {
			snprintf(why, sizeof why,
				 "cannot be read (%s): left as it is, for the "
				 "next start",
				 strerror(errno));
			bad(ctx, name, why);
			damaged[i] = 2;
			continue;
		}
		damaged[i] = (char)load_journal(name, b, blen, &es, bad, ctx);
		free(b);
	}
	for (size_t i = 0; i < nv; i++)
		load_v1(sp, ids[i], &es, bad, ctx);
	if (es.n)
		qsort(es.v, es.n, sizeof *es.v, cmp_entry);

	/* This run's journal holds them from now on: the old files go only
	 * once it does, so that a crash in between loses none (a job then
	 * found twice is one job: same id). */
	pthread_mutex_lock(&sp->lock);
	for (size_t i = 0; rewritten && i < es.n; i++) {
		const struct qspool_entry *e = &es.v[i];
		rewritten = put_locked(sp, e, e->marked,
				       e->mark_valid ? &e->mark : NULL) == 0;
	}
	if (rewritten && sp->sync && sp->fd >= 0)
		rewritten = fdatasync(sp->fd) == 0;
	pthread_mutex_unlock(&sp->lock);
	if (!rewritten) {
		char why[200];
		snprintf(why, sizeof why,
			 "cannot write its jobs to a new journal file (%s): "
			 "the old files stay, and their jobs may be sent again "
			 "at the next start",
			 strerror(errno));
		bad(ctx, "", why);
	}
	for (size_t i = 0; rewritten && i < nj; i++) {
		char name[32];
		journal_name(name, sizeof name, nos[i]);
		if (damaged[i] == 1)
			set_aside(sp, name, bad, ctx);
		else if (!damaged[i])
			unlinkat(sp->dirfd, name, 0);
	}
	for (size_t i = 0; rewritten && i < nv; i++) {
		char name[32];
		v1_name(name, sizeof name, ids[i], "job");
		unlinkat(sp->dirfd, name, 0);
		v1_name(name, sizeof name, ids[i], "mark");
		unlinkat(sp->dirfd, name, 0);
	}
	if (sp->sync)
		fsync(sp->dirfd);
	for (size_t i = 0; i < es.n; i++) {
		fn(ctx, &es.v[i]);
		loaded++;
	}
	free(es.v);
	free(damaged);
	free(nos);
	free(ids);
	return loaded;
}
