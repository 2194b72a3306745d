/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The vshm:PATH channel backend (DESIGN.md §5): one slot in plain shared
 * memory that another operating system can read, made of aligned 32-bit
 * little-endian words only; sender and Linux receiver sides.
 * docs/PROTOCOL.md §3b is the contract, and must keep matching this file. */
#include "chan.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "packet.h"
#include "who.h"

#define VS_MAGIC   0x31535651u /* the bytes "QVS1" */
#define VS_VERSION 1u
#define VS_HDR	   4096u
/* What a created region is made to, at least (QEMU's ivshmem wants a
 * power of two). */
#define VS_REGION_MIN	(1u << 20)
#define VS_REASON_MAX	256u
#define VS_NAME_MAX	64u
#define VS_PERIOD_MS	100u /* our receivers' heartbeat period */
#define VS_STALE_MIN_MS 3000
/* Backoff: from 10 µs, doubling, up to these (no side spins). */
#define VS_POLL_MIN_US 10
#define VS_TX_POLL_MAX 1000
#define VS_RX_POLL_MAX 5000

/* Word offsets in the header (PROTOCOL.md §3b). */
enum {
	O_MAGIC = 0,
	O_VERSION = 4,
	O_HDR_SIZE = 8,
	O_SLOT_SIZE = 12,
	O_REGION_EPOCH = 16,
	O_READY = 20,
	O_STATE = 64,
	O_SEQ = 68,
	O_LEN = 72,
	O_RX_EPOCH = 128,
	O_RX_STATE = 132,
	O_RX_BEAT = 136,
	O_RX_PERIOD = 140,
	O_TAKEN_SEQ = 144,
	O_TAKEN_COUNT = 148,
	O_ANS_SEQ = 152,
	O_RESULT = 156,
	O_CODE = 160,
	O_REASON_LEN = 164,
	O_REASON = 192,
	O_RX_NAME = 448,
};
enum { ST_EMPTY = 0, ST_FULL = 1, ST_TAKEN = 2, ST_ANSWERED = 3 };
enum { RES_ACCEPTED = 1, RES_REFUSED = 2, RES_GONE = 3 };
/* The OFD lock bytes, from the channel's offset. */
enum { LK_SEND = 0, LK_RECV = 1, LK_INIT = 2 };

/* One side's view of a region. */
struct vs {
	int fd;
	uint8_t *map;
	size_t map_len;
	uint8_t *ch; /* map + offset */
	size_t off;
	uint32_t slot_size;
	uint32_t region_epoch; /* the initialisation we adopted */
	char spec[PATH_MAX + 8];
};

/* ---- words ---- */

static _Atomic uint32_t *word(const struct vs *v, unsigned off)
{
	return (_Atomic uint32_t *)(void *)(v->ch + off);
}
static uint32_t ld(const struct vs *v, unsigned off)
{
	return le32toh(
	    atomic_load_explicit(word(v, off), memory_order_acquire));
}
static void st(const struct vs *v, unsigned off, uint32_t x)
{
	atomic_store_explicit(word(v, off), htole32(x), memory_order_release);
}
static int cas(const struct vs *v, unsigned off, uint32_t from, uint32_t to)
{
	uint32_t want = htole32(from);
	return atomic_compare_exchange_strong(word(v, off), &want, htole32(to));
}
/* Serial-number order: a is after b (wrapping is harmless). */
static int after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}
static uint32_t next_nonzero(uint32_t x)
{
	return x + 1 ? x + 1 : 1;
}

/* Sleep for *us microseconds, then double it up to max_us. */
static void backoff(unsigned *us, unsigned max_us, int64_t deadline_ms)
{
	unsigned d = *us;
	int64_t left = deadline_ms - qchan_mono_ms();

	/* no deadline is INT64_MAX: compare in ms, never multiply left */
	if (left >= 0 && left < (int64_t)(d / 1000))
		d = (unsigned)left * 1000 + 1;
	struct timespec ts = {d / 1000000, (long)(d % 1000000) * 1000};
	nanosleep(&ts, NULL);
	*us = *us * 2 > max_us ? max_us : *us * 2;
}

static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? INT64_MAX : qchan_mono_ms() + timeout_ms;
}

/* fcntl's open-file-description lock on one byte: 0, or -errno
 * (-ETIMEDOUT at the deadline; deadline 0: try once, -EAGAIN). */
static int lock_byte(const struct vs *v, int which, int64_t deadline)
{
	struct flock fl = {.l_type = F_WRLCK,
			   .l_whence = SEEK_SET,
			   .l_start = (off_t)(v->off + (size_t)which),
			   .l_len = 1};
	unsigned us = VS_POLL_MIN_US;

	for (;;) {
		if (fcntl(v->fd, F_OFD_SETLK, &fl) == 0)
			return 0;
		if (errno != EAGAIN && errno != EACCES && errno != EINTR)
			return -errno;
		if (!deadline)
			return -EAGAIN;
		if (qchan_mono_ms() >= deadline)
			return -ETIMEDOUT;
		backoff(&us, VS_TX_POLL_MAX, deadline);
	}
}
static void unlock_byte(const struct vs *v, int which)
{
	struct flock fl = {.l_type = F_UNLCK,
			   .l_whence = SEEK_SET,
			   .l_start = (off_t)(v->off + (size_t)which),
			   .l_len = 1};
	fcntl(v->fd, F_OFD_SETLK, &fl);
}

/* ---- the region ---- */

static enum qerr parse_path(const char *arg, struct qerror *err)
{
	if (!*arg || *arg != '/' || strlen(arg) >= PATH_MAX)
		return qerr_set(err, QE_CHAN_SPEC,
				"vshm:%s: PATH must be an absolute path "
				"(e.g. vshm:/dev/shm/quest)",
				arg);
	return QE_OK;
}

static enum qerr refuse_owner(struct vs *v, const char *path,
			      const struct stat *sb, struct qerror *err)
{
	char owner[QWHO_NAME_MAX], me[QWHO_NAME_MAX];

	qwho_name(sb->st_uid, owner, sizeof owner);
	qwho_name(geteuid(), me, sizeof me);
	return qerr_set(err, QE_CHAN_IO,
			"%s: %.200s belongs to %s (uid %lu), mode %04o, not "
			"to %s with no access for others: refused (whoever "
			"can open it reads and sends programs); chown and "
			"chmod 0600 it, or remove it",
			v->spec, path, owner, (unsigned long)sb->st_uid,
			(unsigned)(sb->st_mode & 07777), me);
}

static size_t pow2_at_least(size_t n)
{
	size_t p = VS_REGION_MIN;
	while (p < n && p < SIZE_MAX / 2)
		p *= 2;
	return p;
}

/* Open PATH (creating a regular file when there is none), check that it
 * is ours, and find how many bytes to map. Never blocks (a FIFO is
 * refused, not waited on). */
static enum qerr open_region(struct vs *v, const char *path, size_t need,
			     size_t *size, struct qerror *err)
{
	struct stat sb;
	int created = 0;

	for (int tries = 0; tries < 8 && v->fd < 0; tries++) {
		v->fd =
		    open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (v->fd >= 0 || errno != ENOENT)
			break;
		v->fd = open(path,
			     O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			     0600);
		if (v->fd >= 0)
			created = 1;
		else if (errno != EEXIST)
			break;
	}
	if (v->fd < 0) {
		if (errno == ELOOP)
			return qerr_set(err, QE_CHAN_IO,
					"%s: %.200s is a symbolic link: "
					"refused (a region is never opened "
					"through one)",
					v->spec, path);
		return qerr_set(err, QE_CHAN_IO, "%s: cannot open %.200s: %s",
				v->spec, path, strerror(errno));
	}
	if (fstat(v->fd, &sb) < 0)
		return qerr_set(err, QE_CHAN_IO, "%s: fstat: %s", v->spec,
				strerror(errno));
	if (!S_ISREG(sb.st_mode) && !S_ISCHR(sb.st_mode))
		return qerr_set(err, QE_CHAN_IO,
				"%s: %.200s is not a regular file nor a "
				"device node: refused",
				v->spec, path);
	if (created && fchmod(v->fd, 0600) < 0)
		return qerr_set(err, QE_CHAN_IO, "%s: chmod 0600: %s", v->spec,
				strerror(errno));
	if (!created && (sb.st_uid != geteuid() || (sb.st_mode & 077) ||
			 (S_ISREG(sb.st_mode) && sb.st_nlink > 1)))
		return refuse_owner(v, path, &sb, err);
	if (S_ISCHR(sb.st_mode)) {
		/* a device node tells no size: the channel's own */
		*size = need;
		return QE_OK;
	}
	if (sb.st_size == 0) {
		/* ours and empty (just made): give it its size; a full
		 * /dev/shm fails here, not with SIGBUS in a copy */
		size_t sz = pow2_at_least(need);
		int e = posix_fallocate(v->fd, 0, (off_t)sz);
		if (e == EINVAL || e == EOPNOTSUPP)
			e = ftruncate(v->fd, (off_t)sz) < 0 ? errno : 0;
		if (e)
			return qerr_set(err, QE_CHAN_IO,
					"%s: cannot size %.200s to %zu "
					"bytes: %s",
					v->spec, path, sz, strerror(e));
		*size = sz;
		return QE_OK;
	}
	if ((uint64_t)sb.st_size < need)
		return qerr_set(err, QE_CHAN_SPEC,
				"%s: %.200s is %jd bytes; the channel needs "
				"%zu (vshm_offset %zu + header %u + slot)",
				v->spec, path, (intmax_t)sb.st_size, need,
				v->off, VS_HDR);
	*size = (uint64_t)sb.st_size > SIZE_MAX ? SIZE_MAX : (size_t)sb.st_size;
	return QE_OK;
}

static int page_is_zero(const struct vs *v)
{
	for (unsigned i = 0; i < VS_HDR; i += 4)
		if (atomic_load_explicit(word(v, i), memory_order_relaxed))
			return 0;
	return 1;
}

static uint32_t random_nonzero(void)
{
	uint32_t r = 0;
	while (!r)
		if (getrandom(&r, sizeof r, 0) != sizeof r)
			r = (uint32_t)qchan_real_ms() ^ (uint32_t)getpid()
							    << 16;
	return r;
}

static enum qerr init_hdr(struct vs *v)
{
	memset(v->ch, 0, VS_HDR);
	st(v, O_MAGIC, VS_MAGIC);
	st(v, O_VERSION, VS_VERSION);
	st(v, O_HDR_SIZE, VS_HDR);
	st(v, O_SLOT_SIZE, v->slot_size);
	st(v, O_REGION_EPOCH, random_nonzero());
	st(v, O_READY, VS_MAGIC);
	return QE_OK;
}

/* The header's identity against what we computed from the region. */
static enum qerr check_identity(const struct vs *v, struct qerror *err)
{
	uint32_t x;

	if ((x = ld(v, O_MAGIC)) != VS_MAGIC ||
	    (x = ld(v, O_VERSION)) != VS_VERSION)
		return qerr_set(err, QE_CHAN_VERSION,
				"%s: the header says magic 0x%08" PRIx32
				" version %" PRIu32
				"; this side speaks 0x%08x version %u",
				v->spec, ld(v, O_MAGIC), ld(v, O_VERSION),
				VS_MAGIC, VS_VERSION);
	if ((x = ld(v, O_HDR_SIZE)) != VS_HDR ||
	    (x = ld(v, O_SLOT_SIZE)) != v->slot_size)
		return qerr_set(err, QE_CHAN_VERSION,
				"%s: the header says hdr_size %" PRIu32
				", slot_size %" PRIu32
				"; the region gives %u and %" PRIu32
				": made for another size or offset",
				v->spec, ld(v, O_HDR_SIZE), ld(v, O_SLOT_SIZE),
				VS_HDR, v->slot_size);
	if (!ld(v, O_REGION_EPOCH))
		return qerr_set(err, QE_CHAN_IO,
				"%s: corrupt header: region_epoch 0", v->spec);
	return QE_OK;
}

/* Adopt the header, initialising an all-zero one (under the init lock). */
static enum qerr adopt(struct vs *v, struct qerror *err)
{
	enum qerr rc = QE_OK;

	if (ld(v, O_READY) != VS_MAGIC) {
		int r = lock_byte(v, LK_INIT, qchan_mono_ms() + 5000);
		if (r)
			return qerr_set(err, QE_CHAN_IO,
					"%s: cannot lock the region to "
					"initialise it: %s",
					v->spec, strerror(-r));
		if (ld(v, O_READY) != VS_MAGIC) {
			if (page_is_zero(v))
				rc = init_hdr(v);
			else
				rc = qerr_set(
				    err, QE_CHAN_IO,
				    "%s: the region holds no vshm channel at "
				    "offset %zu (its first word is 0x%08" PRIx32
				    ") and is not zero: not initialised, not "
				    "overwritten; zero it or remove it",
				    v->spec, v->off, ld(v, O_MAGIC));
		}
		unlock_byte(v, LK_INIT);
	}
	if (rc == QE_OK)
		rc = check_identity(v, err);
	if (rc == QE_OK)
		v->region_epoch = ld(v, O_REGION_EPOCH);
	return rc;
}

static void vs_close(struct vs *v)
{
	if (v->map && v->map != MAP_FAILED)
		munmap(v->map, v->map_len);
	if (v->fd >= 0)
		close(v->fd);
	v->map = NULL;
	v->fd = -1;
}

/* Map PATH and adopt (or make) the channel at offset off. slot_want: the
 * packet size this side needs to fit. */
static enum qerr vs_open(struct vs *v, const char *path, size_t off,
			 size_t slot_want, struct qerror *err)
{
	size_t size = 0, need;
	enum qerr rc;

	memset(v, 0, sizeof *v);
	v->fd = -1;
	v->off = off;
	snprintf(v->spec, sizeof v->spec, "vshm:%s", path);
	if ((rc = parse_path(path, err)) != QE_OK)
		return rc;
	if (off % 4096 || off > (size_t)UINT32_MAX)
		return qerr_set(err, QE_CHAN_SPEC,
				"%s: vshm_offset %zu is not a multiple of 4096",
				v->spec, off);
	need = off + VS_HDR + (slot_want > 4096 ? slot_want : 4096);
	rc = open_region(v, path, need, &size, err);
	if (rc == QE_OK && size - off - VS_HDR > UINT32_MAX)
		size = off + VS_HDR + UINT32_MAX;
	if (rc == QE_OK) {
		v->map_len = size;
		v->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			      v->fd, 0);
		if (v->map == MAP_FAILED)
			rc = qerr_set(err, QE_CHAN_IO, "%s: mmap %zu bytes: %s",
				      v->spec, size, strerror(errno));
	}
	if (rc == QE_OK) {
		v->ch = v->map + off;
		v->slot_size = (uint32_t)(size - off - VS_HDR) & ~3u;
		rc = adopt(v, err);
	}
	if (rc == QE_OK && slot_want > v->slot_size)
		rc = qerr_set(err, QE_CHAN_SPEC,
			      "%s: the region's slot is %" PRIu32
			      " bytes, smaller than the slot size %zu this "
			      "side needs",
			      v->spec, v->slot_size, slot_want);
	if (rc != QE_OK)
		vs_close(v);
	return rc;
}

/* The state word and the fields it makes meaningful, bounds-checked:
 * QE_OK, or QE_CHAN_IO naming the field (a corrupt or hostile region). */
static enum qerr read_state(const struct vs *v, uint32_t *state,
			    struct qerror *err)
{
	uint32_t s = ld(v, O_STATE), x;

	if (ld(v, O_READY) != VS_MAGIC ||
	    ld(v, O_REGION_EPOCH) != v->region_epoch)
		return qerr_set(err, QE_CHAN_GONE,
				"%s: the region was initialised again under "
				"this side",
				v->spec);
	if (s > ST_ANSWERED)
		return qerr_set(err, QE_CHAN_IO,
				"%s: corrupt header: state %" PRIu32, v->spec,
				s);
	if ((s == ST_FULL || s == ST_TAKEN) &&
	    ((x = ld(v, O_LEN)) == 0 || x > v->slot_size))
		return qerr_set(err, QE_CHAN_IO,
				"%s: corrupt header: len %" PRIu32
				" (slot %" PRIu32 ")",
				v->spec, x, v->slot_size);
	if (s == ST_ANSWERED && ((x = ld(v, O_RESULT)) < RES_ACCEPTED ||
				 x > RES_GONE || ld(v, O_REASON_LEN) >= 256))
		return qerr_set(err, QE_CHAN_IO,
				"%s: corrupt header: result %" PRIu32
				", reason_len %" PRIu32,
				v->spec, ld(v, O_RESULT), ld(v, O_REASON_LEN));
	*state = s;
	return QE_OK;
}

/* A NUL-terminated copy of a text field of the header, control
 * characters made spaces. */
static void read_text(const struct vs *v, unsigned off, size_t max,
		      uint32_t len, char *out, size_t n)
{
	const volatile uint8_t *p = v->ch + off;
	size_t i = 0;

	if (len > max - 1)
		len = (uint32_t)max - 1;
	for (; i < n - 1 && i < len && p[i]; i++)
		out[i] = p[i] < ' ' || p[i] == 0x7f ? ' ' : (char)p[i];
	out[i] = '\0';
}

static void write_text(const struct vs *v, unsigned off, size_t max,
		       const char *s, unsigned len_off)
{
	uint8_t *p = v->ch + off;
	size_t i = 0;

	for (; i < max - 1 && s[i]; i++)
		p[i] = (unsigned char)s[i] < ' ' ? ' ' : (uint8_t)s[i];
	memset(p + i, 0, max - i);
	if (len_off)
		st(v, len_off, (uint32_t)i);
}

/* ---- sender ---- */

enum life { L_DETACHED, L_ATTACHED, L_STALE };

struct vshm_chan {
	struct qchan base;
	struct vs v;
	/* What we saw of the receiver's heartbeat (peer() runs in other
	 * threads than send()). */
	pthread_mutex_t seen_lock;
	uint32_t seen_epoch, seen_beat;
	int64_t beat_at_ms;  /* our CLOCK_MONOTONIC when it last changed */
	int64_t since_ms;    /* CLOCK_REALTIME when this epoch was first seen */
	uint32_t gone_epoch; /* an epoch we saw go stale */
};

static int64_t stale_ms(const struct vs *v)
{
	uint32_t p = ld(v, O_RX_PERIOD);
	if (p < 1 || p > 10000)
		p = 10000;
	return (int64_t)p * 30 > VS_STALE_MIN_MS ? (int64_t)p * 30
						 : VS_STALE_MIN_MS;
}

/* The receiver, as this sender sees it; *unseen gets how long its
 * heartbeat has not moved. */
static enum life rx_life(struct vshm_chan *c, int64_t *unseen)
{
	struct vs *v = &c->v;
	uint32_t state = ld(v, O_RX_STATE), epoch = ld(v, O_RX_EPOCH);
	uint32_t beat = ld(v, O_RX_BEAT);
	int64_t now = qchan_mono_ms();
	enum life l;

	pthread_mutex_lock(&c->seen_lock);
	if (epoch != c->seen_epoch || beat != c->seen_beat || !c->beat_at_ms) {
		if (epoch != c->seen_epoch || !c->since_ms)
			c->since_ms = qchan_real_ms();
		c->seen_epoch = epoch;
		c->seen_beat = beat;
		c->beat_at_ms = now;
	}
	*unseen = now - c->beat_at_ms;
	if (!epoch || state != 1)
		l = L_DETACHED;
	else
		l = *unseen >= stale_ms(v) ? L_STALE : L_ATTACHED;
	pthread_mutex_unlock(&c->seen_lock);
	return l;
}

static enum qerr no_receiver(struct vshm_chan *c, enum life l, int64_t unseen,
			     struct qerror *err)
{
	if (l == L_STALE)
		return qerr_set(err, QE_CHAN_NO_RECEIVER,
				"the Quest side on %s was not seen for %lld s; "
				"nothing was sent",
				c->v.spec, (long long)(unseen / 1000));
	return qerr_set(err, QE_CHAN_NO_RECEIVER,
			"no Quest side is attached to %s; nothing was sent",
			c->v.spec);
}

static enum qerr vshm_open_op(struct qchan **out, const char *arg,
			      const struct qchan_opts *o, struct qerror *err)
{
	struct vshm_chan *c = calloc(1, sizeof *c);
	enum qerr rc;

	if (!c)
		return qerr_set(err, QE_NOMEM, "out of memory");
	rc = vs_open(&c->v, arg, o->vshm_offset, o->slot_size, err);
	if (rc != QE_OK) {
		free(c);
		return rc;
	}
	pthread_mutex_init(&c->seen_lock, NULL);
	*out = &c->base;
	return QE_OK;
}

/* Step 2: the slot EMPTY, under the sender lock. An answer nobody waits
 * for (its sender gave up or died) is emptied. */
static enum qerr wait_empty(struct vshm_chan *c, int64_t deadline,
			    int timeout_ms, struct qerror *err)
{
	struct vs *v = &c->v;
	unsigned us = VS_POLL_MIN_US;
	uint32_t s;
	enum qerr rc;

	for (;;) {
		if ((rc = read_state(v, &s, err)) != QE_OK)
			return rc;
		if (s == ST_EMPTY)
			return QE_OK;
		/* Under the sender lock, whoever filled the slot is gone:
		 * an answer nobody waits for is emptied, and a packet nobody
		 * took is withdrawn (its sender's spool sends it again). */
		if (s == ST_ANSWERED) {
			st(v, O_STATE, ST_EMPTY);
			continue;
		}
		if (s == ST_FULL) {
			cas(v, O_STATE, ST_FULL, ST_EMPTY);
			continue;
		}
		int64_t unseen;
		enum life l = rx_life(c, &unseen);
		if (l != L_ATTACHED)
			return no_receiver(c, l, unseen, err);
		if (qchan_mono_ms() >= deadline)
			return qerr_set(
			    err, QE_CHAN_TIMEOUT,
			    "the Quest side on %s kept packet %" PRIu32
			    " of another sender for %d ms; nothing "
			    "was sent",
			    v->spec, ld(v, O_SEQ), timeout_ms);
		backoff(&us, VS_TX_POLL_MAX, deadline);
	}
}

static enum qerr collect(struct vshm_chan *c, uint32_t seq, struct qerror *err)
{
	struct vs *v = &c->v;
	uint32_t result = ld(v, O_RESULT);
	char reason[VS_REASON_MAX];

	read_text(v, O_REASON, VS_REASON_MAX, ld(v, O_REASON_LEN), reason,
		  sizeof reason);
	st(v, O_STATE, ST_EMPTY);
	if (result == RES_ACCEPTED)
		return QE_OK;
	if (result == RES_REFUSED)
		return qerr_set(err, QE_CHAN_REFUSED,
				"refused by the Quest side: %s",
				*reason ? reason : "no reason given");
	return qerr_set(err, QE_CHAN_GONE,
			"the Quest side on %s went away with packet %" PRIu32
			": %s",
			v->spec, seq, *reason ? reason : "it may have run");
}

/* Step 4: the answer to seq. */
static enum qerr await_answer(struct vshm_chan *c, uint32_t seq,
			      int64_t deadline, int timeout_ms,
			      struct qerror *err)
{
	struct vs *v = &c->v;
	unsigned us = VS_POLL_MIN_US;
	uint32_t s;
	enum qerr rc;

	for (;;) {
		if ((rc = read_state(v, &s, err)) != QE_OK)
			return rc;
		if (s == ST_ANSWERED && ld(v, O_ANS_SEQ) == seq)
			return collect(c, seq, err);
		int64_t unseen;
		enum life l = rx_life(c, &unseen);
		int late = qchan_mono_ms() >= deadline;
		if (s == ST_FULL && (late || l != L_ATTACHED)) {
			if (cas(v, O_STATE, ST_FULL, ST_EMPTY)) {
				if (!late)
					return no_receiver(c, l, unseen, err);
				return qerr_set(
				    err, QE_CHAN_TIMEOUT,
				    "the Quest side on %s did not take the "
				    "program within %d ms; withdrawn, it will "
				    "not run",
				    v->spec, timeout_ms);
			}
			continue; /* taken at that very moment */
		}
		/* A receiver that stops beating while it holds the packet may
		 * be paused, not dead (a VM stopped in its monitor): it keeps
		 * the packet until the deadline. */
		if (s == ST_TAKEN && late && l == L_ATTACHED)
			return qerr_set(err, QE_CHAN_TIMEOUT,
					"the Quest side on %s took the program "
					"but did not answer within %d ms; it "
					"may still run",
					v->spec, timeout_ms);
		if (s == ST_TAKEN && late)
			return qerr_set(err, QE_CHAN_GONE,
					"the Quest side on %s went away (not "
					"seen for %lld s) while it had packet "
					"%" PRIu32 "; it may have run",
					v->spec, (long long)(unseen / 1000),
					seq);
		if (s == ST_ANSWERED && late)
			return qerr_set(
			    err, QE_CHAN_IO,
			    "%s: the slot holds an answer for "
			    "packet %" PRIu32 ", not for ours (%" PRIu32
			    "), since %d ms",
			    v->spec, ld(v, O_ANS_SEQ), seq, timeout_ms);
		/* ANSWERED for another seq: not ours (PROTOCOL §3b) */
		if (s == ST_EMPTY)
			return qerr_set(err, QE_CHAN_IO,
					"%s: packet %" PRIu32 " vanished from "
					"the slot (another side wrote the "
					"state word)",
					v->spec, seq);
		backoff(&us, VS_TX_POLL_MAX, deadline);
	}
}

static enum qerr vshm_send(struct qchan *qc, const struct iovec *iov,
			   int iovcnt, int timeout_ms, struct qerror *err)
{
	struct vshm_chan *c = (struct vshm_chan *)qc;
	struct vs *v = &c->v;
	int64_t deadline = deadline_of(timeout_ms), unseen;
	enum life l = rx_life(c, &unseen);
	enum qerr rc;
	size_t len = 0;
	int r;

	if (l != L_ATTACHED)
		return no_receiver(c, l, unseen, err);
	r = lock_byte(v, LK_SEND, deadline);
	if (r == -ETIMEDOUT)
		return qerr_set(err, QE_CHAN_TIMEOUT,
				"another sender held %s for %d ms; nothing was "
				"sent",
				v->spec, timeout_ms);
	if (r)
		return qerr_set(err, QE_CHAN_IO, "%s: lock: %s", v->spec,
				strerror(-r));
	rc = wait_empty(c, deadline, timeout_ms, err);
	if (rc == QE_OK) {
		uint32_t seq = next_nonzero(ld(v, O_SEQ));
		for (int i = 0; i < iovcnt; i++) {
			memcpy(v->ch + VS_HDR + len, iov[i].iov_base,
			       iov[i].iov_len);
			len += iov[i].iov_len;
		}
		st(v, O_LEN, (uint32_t)len);
		st(v, O_SEQ, seq);
		st(v, O_STATE, ST_FULL);
		rc = await_answer(c, seq, deadline, timeout_ms, err);
	}
	unlock_byte(v, LK_SEND);
	return rc;
}

static void vshm_peer(struct qchan *qc, struct qchan_peer *out)
{
	struct vshm_chan *c = (struct vshm_chan *)qc;
	int64_t unseen;
	enum life l = rx_life(c, &unseen);

	out->known = 1;
	out->attached = l == L_ATTACHED;
	out->taken = ld(&c->v, O_TAKEN_COUNT);
	out->epoch = ld(&c->v, O_RX_EPOCH);
	if (l == L_STALE)
		out->unseen_ms = unseen;
	if (l != L_DETACHED) {
		read_text(&c->v, O_RX_NAME, VS_NAME_MAX, VS_NAME_MAX, out->name,
			  sizeof out->name);
		pthread_mutex_lock(&c->seen_lock);
		out->since_ms = c->since_ms;
		pthread_mutex_unlock(&c->seen_lock);
	}
}

static enum qerr vshm_wait_peer(struct qchan *qc, int timeout_ms,
				struct qerror *err)
{
	struct vshm_chan *c = (struct vshm_chan *)qc;
	int64_t deadline = deadline_of(timeout_ms), unseen;
	unsigned us = VS_POLL_MIN_US;
	enum life l;

	while ((l = rx_life(c, &unseen)) != L_ATTACHED) {
		if (qchan_mono_ms() >= deadline) {
			if (l == L_STALE)
				return qerr_set(err, QE_CHAN_NO_RECEIVER,
						"the Quest side on %s was not "
						"seen for %lld s",
						c->v.spec,
						(long long)(unseen / 1000));
			return qerr_set(err, QE_CHAN_NO_RECEIVER,
					"no Quest side attached to %s within "
					"%d ms",
					c->v.spec, timeout_ms);
		}
		backoff(&us, VS_RX_POLL_MAX * 10, deadline);
	}
	return QE_OK;
}

static int vshm_mark(struct qchan *qc, struct qchan_mark *m)
{
	struct vs *v = &((struct vshm_chan *)qc)->v;

	m->epoch = v->region_epoch;
	m->seq = ld(v, O_SEQ);
	return 0;
}

/* After a crash of the sender: did a packet sent after m reach the Quest
 * side? A packet still FULL, when no live sender holds the lock, is
 * withdrawn here, so that "not taken" stays true: it will never run, and
 * the spool may send it again. */
static int vshm_taken_since(struct qchan *qc, const struct qchan_mark *m)
{
	struct vs *v = &((struct vshm_chan *)qc)->v;
	uint32_t mark = (uint32_t)m->seq;
	int r, locked;

	if (ld(v, O_REGION_EPOCH) != m->epoch)
		return -1;
	if (after(ld(v, O_TAKEN_SEQ), mark))
		return 1;
	locked = lock_byte(v, LK_SEND, 0) == 0;
	uint32_t s = ld(v, O_STATE);
	if (!after(ld(v, O_SEQ), mark) || s == ST_EMPTY)
		r = 0;
	else if (s == ST_FULL)
		r = locked && cas(v, O_STATE, ST_FULL, ST_EMPTY) ? 0 : 1;
	else
		r = 1;
	if (locked)
		unlock_byte(v, LK_SEND);
	return r;
}

static void vshm_close(struct qchan *qc)
{
	struct vshm_chan *c = (struct vshm_chan *)qc;

	vs_close(&c->v);
	pthread_mutex_destroy(&c->seen_lock);
	free(c);
}

const struct qchan_ops qchan_vshm_ops = {
    .prefix = "vshm:",
    .open = vshm_open_op,
    .send = vshm_send,
    .peer = vshm_peer,
    .close = vshm_close,
    .wait_peer = vshm_wait_peer,
    .mark = vshm_mark,
    .taken_since = vshm_taken_since,
};

/* ---- Linux receiver (quest-sim, tests) ---- */

struct vshm_rx {
	struct qchan_rx base;
	struct vs v;
	uint32_t epoch; /* ours */
	uint32_t seq;	/* the packet taken last */
	int holding;	/* taken and not answered */
	pthread_t beat; /* bumps rx_beat while attached */
	pthread_mutex_t m;
	pthread_cond_t cv;
	int stop;
};

static void *beat_main(void *arg)
{
	struct vshm_rx *rx = arg;
	struct timespec t;

	pthread_mutex_lock(&rx->m);
	while (!rx->stop) {
		if (ld(&rx->v, O_RX_EPOCH) == rx->epoch)
			st(&rx->v, O_RX_BEAT, ld(&rx->v, O_RX_BEAT) + 1);
		clock_gettime(CLOCK_MONOTONIC, &t);
		t.tv_nsec += VS_PERIOD_MS / 2 * 1000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&rx->cv, &rx->m, &t);
	}
	pthread_mutex_unlock(&rx->m);
	return NULL;
}

/* A TAKEN packet found by a receiver that starts was its predecessor's. */
static void end_as_gone(const struct vs *v, const char *why)
{
	st(v, O_ANS_SEQ, ld(v, O_SEQ));
	st(v, O_RESULT, RES_GONE);
	st(v, O_CODE, 0);
	write_text(v, O_REASON, VS_REASON_MAX, why, O_REASON_LEN);
	st(v, O_STATE, ST_ANSWERED);
}

static enum qerr vshm_rx_open(struct qchan_rx **out, const char *arg,
			      size_t slot_size, size_t offset,
			      struct qerror *err)
{
	struct vshm_rx *rx = calloc(1, sizeof *rx);
	struct vs *v;
	char name[VS_NAME_MAX], why[160];
	pthread_condattr_t ca;
	enum qerr rc;
	int r;

	if (!rx)
		return qerr_set(err, QE_NOMEM, "out of memory");
	v = &rx->v;
	rc = vs_open(v, arg, offset, slot_size ? slot_size : QPKT_SLOT_DEFAULT,
		     err);
	if (rc != QE_OK) {
		free(rx);
		return rc;
	}
	r = lock_byte(v, LK_RECV, 0);
	if (r) {
		rc = qerr_set(err, QE_CHAN_IO,
			      r == -EAGAIN ? "%s already has a receiver (%s); "
					     "one at a time"
					   : "%s: lock: %s",
			      v->spec,
			      r == -EAGAIN ? "another process holds it"
					   : strerror(-r));
		vs_close(v);
		free(rx);
		return rc;
	}
	rx->epoch = next_nonzero(ld(v, O_RX_EPOCH));
	snprintf(name, sizeof name, "%s pid %ld", program_invocation_short_name,
		 (long)getpid());
	st(v, O_RX_EPOCH, rx->epoch);
	write_text(v, O_RX_NAME, VS_NAME_MAX, name, 0);
	st(v, O_RX_PERIOD, VS_PERIOD_MS);
	if (ld(v, O_STATE) == ST_TAKEN) {
		snprintf(why, sizeof why,
			 "the Quest side restarted while it had packet %" PRIu32
			 "; it may have run",
			 ld(v, O_SEQ));
		end_as_gone(v, why);
	}
	st(v, O_RX_BEAT, ld(v, O_RX_BEAT) + 1);
	st(v, O_RX_STATE, 1);
	pthread_mutex_init(&rx->m, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rx->cv, &ca);
	pthread_condattr_destroy(&ca);
	if ((r = pthread_create(&rx->beat, NULL, beat_main, rx))) {
		st(v, O_RX_STATE, 0);
		vs_close(v);
		free(rx);
		return qerr_set(err, QE_SYS, "heartbeat thread: %s",
				strerror(r));
	}
	*out = &rx->base;
	return QE_OK;
}

static enum qerr vshm_rx_take(struct qchan_rx *qrx, const uint8_t **pkt,
			      size_t *len, int timeout_ms, struct qerror *err)
{
	struct vshm_rx *rx = (struct vshm_rx *)qrx;
	struct vs *v = &rx->v;
	int64_t deadline = deadline_of(timeout_ms);
	unsigned us = VS_POLL_MIN_US;
	struct qerror ignored;
	uint32_t s;

	if (rx->holding)
		return qerr_set(err, QE_USAGE,
				"answer the packet taken last before taking "
				"another");
	for (;;) {
		if (ld(v, O_RX_EPOCH) != rx->epoch)
			return qerr_set(err, QE_CHAN_GONE,
					"this receiver was replaced on %s "
					"(receiver epoch now %" PRIu32 ")",
					v->spec, ld(v, O_RX_EPOCH));
		/* A corrupt header or one initialised again: wait for a
		 * valid one, answering nothing meanwhile. */
		if (read_state(v, &s, &ignored) == QE_OK && s == ST_FULL &&
		    cas(v, O_STATE, ST_FULL, ST_TAKEN)) {
			rx->seq = ld(v, O_SEQ);
			st(v, O_TAKEN_SEQ, rx->seq);
			st(v, O_TAKEN_COUNT, ld(v, O_TAKEN_COUNT) + 1);
			rx->holding = 1;
			*pkt = v->ch + VS_HDR;
			*len = ld(v, O_LEN);
			return QE_OK;
		}
		if (ld(v, O_READY) == VS_MAGIC &&
		    ld(v, O_REGION_EPOCH) != v->region_epoch &&
		    check_identity(v, &ignored) == QE_OK)
			v->region_epoch = ld(v, O_REGION_EPOCH);
		if (qchan_mono_ms() >= deadline)
			return qerr_set(err, QE_CHAN_TIMEOUT,
					"no packet on %s within %d ms", v->spec,
					timeout_ms);
		backoff(&us, VS_RX_POLL_MAX, deadline);
	}
}

static enum qerr vshm_rx_answer(struct qchan_rx *qrx, int accepted,
				const char *reason, struct qerror *err)
{
	struct vshm_rx *rx = (struct vshm_rx *)qrx;
	struct vs *v = &rx->v;

	if (!rx->holding)
		return qerr_set(err, QE_USAGE, "no packet taken to answer");
	rx->holding = 0;
	if (ld(v, O_STATE) != ST_TAKEN || ld(v, O_SEQ) != rx->seq ||
	    ld(v, O_REGION_EPOCH) != v->region_epoch)
		return qerr_set(err, QE_CHAN_IO,
				"%s: packet %" PRIu32 " left the slot before "
				"its answer (the region was initialised again)",
				v->spec, rx->seq);
	st(v, O_ANS_SEQ, rx->seq);
	st(v, O_RESULT, accepted ? RES_ACCEPTED : RES_REFUSED);
	st(v, O_CODE, accepted ? 0 : (uint32_t)-1);
	write_text(v, O_REASON, VS_REASON_MAX,
		   accepted ? ""
			    : (reason && *reason ? reason : "no reason given"),
		   O_REASON_LEN);
	st(v, O_STATE, ST_ANSWERED);
	return QE_OK;
}

static void vshm_rx_close(struct qchan_rx *qrx)
{
	struct vshm_rx *rx = (struct vshm_rx *)qrx;
	struct vs *v = &rx->v;

	pthread_mutex_lock(&rx->m);
	rx->stop = 1;
	pthread_cond_signal(&rx->cv);
	pthread_mutex_unlock(&rx->m);
	pthread_join(rx->beat, NULL);
	if (ld(v, O_RX_EPOCH) == rx->epoch) {
		if (rx->holding && ld(v, O_STATE) == ST_TAKEN &&
		    ld(v, O_SEQ) == rx->seq)
			end_as_gone(v, "the Quest side went away before "
				       "answering");
		st(v, O_RX_STATE, 0);
	}
	unlock_byte(v, LK_RECV);
	vs_close(v);
	pthread_cond_destroy(&rx->cv);
	pthread_mutex_destroy(&rx->m);
	free(rx);
}

const struct qchan_rx_ops qchan_vshm_rx_ops = {
    .prefix = "vshm:",
    .open = vshm_rx_open,
    .take = vshm_rx_take,
    .answer = vshm_rx_answer,
    .close = vshm_rx_close,
};
