/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The shm:KEY channel backend (DESIGN.md §5): a POSIX shared-memory object with
 * a control header and one slot, guarded by a robust process-shared mutex and
 * two futex event counters; sender and receiver sides. docs/PROTOCOL.md
 * describes the layout and the rules, and must keep matching this file. */
#include "chan.h"
#include "chan_shm_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "chan_shm_own.h"
#include "packet.h"

#define SHM_MAGIC      0x31534651u /* "QFS1" in memory */
#define SHM_VERSION    1u
#define SHM_HDR_SIZE   4096u /* the slot starts page-aligned */
#define SHM_REASON_MAX 256

/* Longest a waiter sleeps before it looks at the other side again: the
 * receiver's heartbeat period and the sender's death-detection latency. */
#define BEAT_MS 200
/* A heartbeat older than this means "not waiting for packets". */
#define STALE_MS 2000
/* How long past its deadline a sender we cannot see is presumed gone. */
#define GRACE_MS 1000
/* A peer found alive this recently is not looked at again: pid_gone()
 * costs kill(2) and a read of /proc/PID/stat, and every wake-up sweeps. A
 * death is still noticed within BEAT_MS + ALIVE_MS. */
#define ALIVE_MS 100

/* pthread_mutex_t differs between 32- and 64-bit processes: both sides
 * must be built for the same ABI, and the header says which one made it. */
#define SHM_ABI                                                                \
	((uint32_t)sizeof(long) | (uint32_t)sizeof(pthread_mutex_t) << 8)

enum { ST_EMPTY = 0, ST_FULL = 1, ST_TAKEN = 2, ST_ANSWERED = 3 };
enum { RES_NONE = 0, RES_ACCEPTED = 1, RES_REFUSED = 2, RES_GONE = 3 };
#define FL_ABANDONED 1u

struct shm_hdr {
	/* Identity: these 32 bytes keep their place in every version. */
	uint32_t magic;
	uint32_t version;
	uint32_t hdr_size;
	uint32_t abi;
	uint64_t slot_size;
	_Atomic uint32_t ready; /* = magic, stored last (release) */
	uint32_t reserved0;
	uint8_t reserved1[32];

	/* Robust, process-shared: guards the slot's state and the fields
	 * after it; taken with no other lock held and never held while
	 * waiting (DESIGN.md §10). */
	union {
		pthread_mutex_t m;
		uint8_t pad[64];
	} lock;
	/* Event counters, bumped under the lock by whoever changes what the
	 * other side waits for; waiters sleep on them with futex(2). Not
	 * pthread condition variables: glibc's (before 2.41) keep per-waiter
	 * counts in the shared object, and a waiter killed while blocked
	 * makes the next broadcast wait for it forever. */
	_Atomic uint32_t ev_rx; /* the receiver waits here for FULL */
	_Atomic uint32_t ev_tx; /* senders: EMPTY, ANSWERED, a receiver */
	uint8_t reserved3[120];

	/* Everything below is read and written under the lock only. */
	uint32_t state;
	uint32_t flags;
	uint64_t seq;	   /* packet in the slot */
	uint64_t last_seq; /* last number handed out */
	uint64_t len;
	int64_t tx_deadline_ms; /* CLOCK_MONOTONIC; INT64_MAX: none */
	uint64_t tx_pidns;
	int32_t tx_pid;
	int32_t rx_pid; /* 0: no receiver attached */
	uint64_t rx_pidns;
	int64_t rx_since_ms; /* CLOCK_REALTIME */
	int64_t rx_beat_ms;  /* CLOCK_MONOTONIC */
	uint64_t taken;
	uint32_t result;
	int32_t gone_pid; /* last receiver that went away */
	uint32_t recoveries;
	uint32_t reserved2;
	char reason[SHM_REASON_MAX];
	uint64_t taken_seq; /* number of the packet taken last */
	uint64_t epoch;	    /* set at initialisation: tells segments apart */
};

/* The offsets are the protocol (docs/PROTOCOL.md), not an accident. */
#define AT(f, off) _Static_assert(offsetof(struct shm_hdr, f) == off, #f)
AT(magic, 0);
AT(version, 4);
AT(hdr_size, 8);
AT(abi, 12);
AT(slot_size, 16);
AT(ready, 24);
AT(lock, 64);
AT(ev_rx, 128);
AT(ev_tx, 132);
AT(state, 256);
AT(flags, 260);
AT(seq, 264);
AT(last_seq, 272);
AT(len, 280);
AT(tx_deadline_ms, 288);
AT(tx_pidns, 296);
AT(tx_pid, 304);
AT(rx_pid, 308);
AT(rx_pidns, 312);
AT(rx_since_ms, 320);
AT(rx_beat_ms, 328);
AT(taken, 336);
AT(result, 344);
AT(gone_pid, 348);
AT(recoveries, 352);
AT(reason, 360);
AT(taken_seq, 616);
AT(epoch, 624);
_Static_assert(sizeof(struct shm_hdr) <= SHM_HDR_SIZE, "header too big");
_Static_assert(sizeof(pthread_mutex_t) <= 64, "mutex too big");

/* One side's view of the segment. */
struct shm {
	struct shm_hdr *h;
	uint8_t *slot;
	size_t map_len;
	size_t slot_size;
	uint64_t pidns;
	uint32_t key;
	dev_t dev; /* the object mapped, to tell when its name moves on */
	ino_t ino;
	char spec[24];
	struct {
		pid_t pid;
		int64_t at_ms;
	} alive[2];    /* the last peers found alive (lock held) */
	unsigned kick; /* events bumped under the lock, woken at unlock */
};

struct shm_chan {
	struct qchan base;
	struct shm s;
	/* The sending thread alone replaces s (follow()); peer() may be
	 * called from other threads, and reads s under this lock. */
	pthread_rwlock_t swap;
};

struct shm_rx {
	struct qchan_rx base;
	struct shm s;
	uint64_t seq; /* packet taken last */
	int holding;  /* taken and not answered yet */
};

void (*qchan_shm_debug_after_full)(void);

/* ---- segment ---- */

static enum qerr parse_key(const char *arg, uint32_t *key, struct qerror *err)
{
	uint64_t v = 0;
	const char *p = arg;

	for (; *p >= '0' && *p <= '9' && v <= UINT32_MAX; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	if (p == arg || *p || v > UINT32_MAX)
		return qerr_set(err, QE_CHAN_SPEC,
				"bad channel key \"shm:%s\": KEY is a decimal "
				"number from 0 to %" PRIu32 ", e.g. shm:1001",
				arg, UINT32_MAX);
	*key = (uint32_t)v;
	return QE_OK;
}

static void shm_name(char *buf, size_t n, uint32_t key)
{
	snprintf(buf, n, "/questfs-shm-%" PRIu32, key);
}

/* The pid namespace decides whether a pid we read means anything here. */
static uint64_t my_pidns(void)
{
	struct stat st;

	if (stat("/proc/self/ns/pid", &st) < 0)
		return 0;
	return (uint64_t)st.st_ino;
}

static enum qerr init_hdr(struct shm *s, size_t slot_size, struct qerror *err)
{
	struct shm_hdr *h = s->h;
	pthread_mutexattr_t ma;
	int rc;

	memset(h, 0, SHM_HDR_SIZE);
	h->magic = SHM_MAGIC;
	h->version = SHM_VERSION;
	h->hdr_size = SHM_HDR_SIZE;
	h->abi = SHM_ABI;
	h->slot_size = slot_size;
	h->epoch = (uint64_t)qchan_real_ms() << 20 ^ (uint64_t)getpid();

	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	rc = pthread_mutex_init(&h->lock.m, &ma);
	pthread_mutexattr_destroy(&ma);
	if (rc)
		return qerr_set(err, QE_CHAN_IO,
				"%s: cannot set up its lock: %s", s->spec,
				strerror(rc));
	atomic_store_explicit(&h->ready, SHM_MAGIC, memory_order_release);
	return QE_OK;
}

/* The ABIs a segment's abi field can name, for messages. */
static const char *abi_name(uint32_t abi)
{
	switch (abi) {
	case 8u | 40u << 8:
		return "64-bit x86-64";
	case 4u | 24u << 8:
		return "32-bit i386";
	case 4u | 32u << 8:
		return "32-bit x32";
	default:
		return "unknown";
	}
}

/* A segment made by someone else: same layout, ABI and slot size? */
static enum qerr check_hdr(struct shm *s, const struct shm_hdr *h,
			   off_t file_size, size_t want, struct qerror *err)
{
	/* A 32-bit and a 64-bit side: one layout, but the lock differs. */
	if (h->magic == SHM_MAGIC && h->version == SHM_VERSION &&
	    h->hdr_size == SHM_HDR_SIZE && h->abi != SHM_ABI)
		return qerr_set(
		    err, QE_CHAN_VERSION,
		    "%s was made by a %s process (long %" PRIu32
		    " bytes, lock %" PRIu32 " bytes); this side is %s "
		    "(long %zu, lock %zu): both sides of a shm: channel must "
		    "be built for the same ABI (make i386 for Quest-V's "
		    "32-bit Linux)",
		    s->spec, abi_name(h->abi), h->abi & 0xffu, h->abi >> 8,
		    abi_name(SHM_ABI), sizeof(long), sizeof(pthread_mutex_t));
	if (h->magic != SHM_MAGIC || h->version != SHM_VERSION ||
	    h->hdr_size != SHM_HDR_SIZE || h->abi != SHM_ABI)
		return qerr_set(
		    err, QE_CHAN_VERSION,
		    "%s has layout version %" PRIu32 " (magic %#" PRIx32
		    ", header %" PRIu32 " bytes, abi %#" PRIx32
		    "); this side speaks version %u (magic %#x, "
		    "header %u bytes, abi %#" PRIx32 ")",
		    s->spec, h->version, h->magic, h->hdr_size, h->abi,
		    SHM_VERSION, SHM_MAGIC, SHM_HDR_SIZE, (uint32_t)SHM_ABI);
	if (want && h->slot_size != want)
		return qerr_set(
		    err, QE_CHAN_VERSION,
		    "%s has a slot of %" PRIu64
		    " bytes; this side wants %zu (use the same "
		    "slot_size on both sides, or remove the segment "
		    "with quest-sim --unlink)",
		    s->spec, h->slot_size, want);
	if (h->slot_size > QPKT_SLOT_MAX ||
	    qpkt_slot_check((size_t)h->slot_size, NULL) != QE_OK ||
	    (uint64_t)file_size != SHM_HDR_SIZE + h->slot_size)
		return qerr_set(err, QE_CHAN_VERSION,
				"%s is %lld bytes for a slot of %" PRIu64
				" bytes: damaged; remove it with quest-sim "
				"--unlink",
				s->spec, (long long)file_size, h->slot_size);
	return QE_OK;
}

/* Map shm:KEY, creating and initialising it when nobody has finished doing
 * so. flock(2) serialises openers, and is dropped by the kernel if its
 * holder dies, so a creator that died half-way is simply redone. */
static enum qerr attach(struct shm *s, uint32_t key, size_t want,
			struct qerror *err)
{
	char name[32];
	struct stat st;
	enum qerr rc = QE_OK;
	int fd, create = 1, e;
	void *p;

	memset(s, 0, sizeof *s);
	shm_name(name, sizeof name, key);
	snprintf(s->spec, sizeof s->spec, "shm:%" PRIu32, key);
	s->pidns = my_pidns();
	s->key = key;

	/* ours alone: created now, or ours with mode 0600 (chan_shm_own.c) */
	fd = qshm_open_own(name, s->spec, err);
	if (fd < 0)
		return err ? err->code : QE_CHAN_IO;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			rc = qerr_set(err, QE_CHAN_IO, "%s: flock: %s", s->spec,
				      strerror(errno));
			goto out;
		}
	}
	if (fstat(fd, &st) < 0) {
		rc = qerr_set(err, QE_CHAN_IO, "%s: fstat: %s", s->spec,
			      strerror(errno));
		goto out;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	if (st.st_size >= (off_t)SHM_HDR_SIZE) {
		struct shm_hdr *h =
		    mmap(NULL, SHM_HDR_SIZE, PROT_READ, MAP_SHARED, fd, 0);
		if (h == MAP_FAILED) {
			rc = qerr_set(err, QE_CHAN_IO, "%s: mmap: %s", s->spec,
				      strerror(errno));
			goto out;
		}
		if (atomic_load_explicit(&h->ready, memory_order_acquire) ==
		    SHM_MAGIC) {
			create = 0;
			rc = check_hdr(s, h, st.st_size, want, err);
			s->slot_size = h->slot_size;
		}
		munmap(h, SHM_HDR_SIZE);
		if (rc != QE_OK)
			goto out;
	}
	if (create) {
		s->slot_size = want ? want : QPKT_SLOT_DEFAULT;
		/* Reserve the memory now: tmpfs would otherwise answer a full
		 * /dev/shm with SIGBUS in the middle of a copy. */
		e = ftruncate(fd, 0) < 0 ? errno : 0;
		if (!e)
			e = posix_fallocate(
			    fd, 0, (off_t)(SHM_HDR_SIZE + s->slot_size));
		if (e) {
			rc = qerr_set(
			    err, QE_CHAN_IO,
			    "%s: cannot reserve %zu bytes in /dev/shm: "
			    "%s",
			    s->spec, SHM_HDR_SIZE + s->slot_size, strerror(e));
			goto out;
		}
	}
	s->map_len = SHM_HDR_SIZE + s->slot_size;
	p = mmap(NULL, s->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		rc = qerr_set(err, QE_CHAN_IO, "%s: mmap: %s", s->spec,
			      strerror(errno));
		goto out;
	}
	s->h = p;
	s->slot = (uint8_t *)p + SHM_HDR_SIZE;
	if (create)
		rc = init_hdr(s, s->slot_size, err);
	if (rc != QE_OK) {
		munmap(p, s->map_len);
		s->h = NULL;
	}
out:
	/* Explicitly: the mapping keeps the open file, and so the flock,
	 * alive past close(2). */
	flock(fd, LOCK_UN);
	close(fd);
	return rc;
}

static void detach(struct shm *s)
{
	if (s->h)
		munmap(s->h, s->map_len);
	s->h = NULL;
}

/* The name shm:KEY no longer leads to the object we have mapped: someone
 * removed it (rm /dev/shm/questfs-shm-KEY), and maybe made a new one.
 * Anyone may make that name: the open never waits (a FIFO there would
 * hold the sender for good) nor follows a link; whatever is there that
 * is not ours, attach() refuses, saying what it is. */
static int name_moved(const struct shm *s)
{
	char name[32];
	struct stat st;
	int fd, moved;

	shm_name(name, sizeof name, s->key);
	fd = shm_open(name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
	if (fd < 0)
		return errno == ENOENT || errno == ELOOP;
	moved =
	    fstat(fd, &st) == 0 && (st.st_dev != s->dev || st.st_ino != s->ino);
	close(fd);
	return moved;
}

/* ---- liveness ---- */

/* True when pid (in our pid namespace) is no more: no such process, or a
 * zombie, which still answers kill(2) until its parent reaps it. */
static int pid_gone(pid_t pid)
{
	char path[32], buf[512], *rp;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return 1;
	if (pid == getpid())
		return 0;
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT && kill(pid, 0) < 0 && errno == ESRCH;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold anything, so the last ')'. */
	rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
}

/* pid_gone(), unless pid was found alive less than ALIVE_MS ago. */
static int peer_gone(struct shm *s, pid_t pid)
{
	int64_t now = qchan_mono_ms();
	int old;

	for (int i = 0; i < 2; i++)
		if (s->alive[i].pid == pid &&
		    now - s->alive[i].at_ms < ALIVE_MS)
			return 0;
	if (pid_gone(pid))
		return 1;
	old = s->alive[0].at_ms > s->alive[1].at_ms;
	s->alive[old].pid = pid;
	s->alive[old].at_ms = now;
	return 0;
}

enum rx_life { RX_NONE, RX_DEAD, RX_STALE, RX_ALIVE };

/* The receiver's pid decides when we share its pid namespace; only when we
 * do not (the check would be inconclusive) does its heartbeat decide. */
static enum rx_life rx_life(struct shm *s)
{
	const struct shm_hdr *h = s->h;

	if (h->rx_pid <= 0)
		return RX_NONE;
	if (h->rx_pidns == s->pidns)
		return peer_gone(s, h->rx_pid) ? RX_DEAD : RX_ALIVE;
	return qchan_mono_ms() - h->rx_beat_ms < STALE_MS ? RX_ALIVE : RX_STALE;
}

/* Same for the sender of the packet in the slot; one we cannot see is
 * presumed gone a grace period after the deadline it published. */
static int tx_gone(struct shm *s)
{
	const struct shm_hdr *h = s->h;

	if (h->tx_pidns == s->pidns)
		return peer_gone(s, h->tx_pid);
	return h->tx_deadline_ms != INT64_MAX &&
	       qchan_mono_ms() > h->tx_deadline_ms + GRACE_MS;
}

enum { KICK_RX = 1, KICK_TX = 2 };

/* Tell everyone sleeping on ev that something changed (lock held): the
 * counter moves now, the sleepers are woken once the lock is released
 * (unlock()), so that they do not wake only to wait for the lock. */
static void wake(struct shm *s, _Atomic uint32_t *ev)
{
	atomic_fetch_add_explicit(ev, 1, memory_order_release);
	s->kick |= ev == &s->h->ev_rx ? KICK_RX : KICK_TX;
}

static void wake_all(struct shm *s)
{
	wake(s, &s->h->ev_tx);
	wake(s, &s->h->ev_rx);
}

/* End the packet in the slot: ANSWERED for its sender to collect, or
 * straight back to EMPTY when nobody is left to collect it. */
static void finish(struct shm *s, uint32_t result)
{
	struct shm_hdr *h = s->h;

	if (result == RES_GONE && h->rx_pid)
		h->gone_pid = h->rx_pid;
	if ((h->flags & FL_ABANDONED) || tx_gone(s)) {
		h->state = ST_EMPTY;
	} else {
		h->result = result;
		h->state = ST_ANSWERED;
	}
}

/* Bring the slot back in line with who is still alive. Called with the
 * lock held by everyone who wakes up, and after EOWNERDEAD. */
static void sweep(struct shm *s)
{
	struct shm_hdr *h = s->h;
	enum rx_life rx = rx_life(s);
	uint32_t before = h->state;

	if (rx == RX_DEAD) {
		h->gone_pid = h->rx_pid;
		h->rx_pid = 0;
	}
	switch (h->state) {
	case ST_EMPTY:
		break;
	case ST_FULL:
		/* A packet whose sender died is withdrawn: nobody would hear
		 * whether it ran. Else it waits only for a live receiver. */
		if (tx_gone(s))
			h->state = ST_EMPTY;
		else if (rx != RX_ALIVE)
			finish(s, RES_GONE);
		break;
	case ST_TAKEN:
		/* A stale heartbeat here is a receiver busy running the
		 * packet: only a receiver known dead (or detached) ends it. */
		if (rx == RX_DEAD || rx == RX_NONE)
			finish(s, RES_GONE);
		break;
	case ST_ANSWERED:
		if ((h->flags & FL_ABANDONED) || tx_gone(s))
			h->state = ST_EMPTY;
		break;
	default:
		h->state = ST_EMPTY;
		break;
	}
	if (h->state != before)
		wake_all(s);
}

/* ---- lock ---- */

/* The previous holder died with the lock: every transition writes `state`
 * last, so the slot is either before or after one; sweep() settles who is
 * still there, and waiters are woken in case the dead one owed a signal. */
static void recover(struct shm *s)
{
	pthread_mutex_consistent(&s->h->lock.m);
	s->h->recoveries++;
	sweep(s);
	wake_all(s);
}

static enum qerr lock(struct shm *s, struct qerror *err)
{
	int rc = pthread_mutex_lock(&s->h->lock.m);

	if (rc == EOWNERDEAD) {
		recover(s);
		rc = 0;
	}
	if (rc)
		return qerr_set(err, QE_CHAN_IO,
				"%s: cannot lock the channel: %s; remove it "
				"(quest-sim --unlink) and restart both sides",
				s->spec, strerror(rc));
	return QE_OK;
}

/* Shared futexes (no FUTEX_PRIVATE_FLAG): the waiters are other
 * processes. A waiter reads its counter under the lock and sleeps only if
 * it has not moved since, so a wake-up issued after the unlock is never
 * lost. */
static void unlock(struct shm *s)
{
	unsigned kick = s->kick;

	s->kick = 0;
	pthread_mutex_unlock(&s->h->lock.m);
	if (kick & KICK_RX)
		syscall(SYS_futex, &s->h->ev_rx, FUTEX_WAKE, INT_MAX, NULL,
			NULL, 0);
	if (kick & KICK_TX)
		syscall(SYS_futex, &s->h->ev_tx, FUTEX_WAKE, INT_MAX, NULL,
			NULL, 0);
}

/* Sleep until ev moves, the deadline, or BEAT_MS at most, so that the
 * caller looks at the other side's liveness again; then relock. The value
 * is read under the lock and every change is made under it, so a wake-up
 * between unlock and sleep makes FUTEX_WAIT return at once: none is lost,
 * and a waiter that dies leaves nothing behind. Never spins. */
static enum qerr wait_ev(struct shm *s, _Atomic uint32_t *ev, int64_t deadline,
			 struct qerror *err)
{
	uint32_t seen = atomic_load_explicit(ev, memory_order_acquire);
	int64_t until = qchan_mono_ms() + BEAT_MS;
	struct timespec ts;

	if (deadline < until)
		until = deadline;
	ts.tv_sec = (time_t)(until / 1000);
	ts.tv_nsec = (long)(until % 1000) * 1000000;
	unlock(s);
	/* Absolute CLOCK_MONOTONIC timeout; ETIMEDOUT, EAGAIN (it moved)
	 * and EINTR all mean "look again". */
	syscall(SYS_futex, ev, FUTEX_WAIT_BITSET, seen, &ts, NULL,
		FUTEX_BITSET_MATCH_ANY);
	return lock(s, err);
}

static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? INT64_MAX : qchan_mono_ms() + timeout_ms;
}

/* ---- sender ---- */

static enum qerr shm_open_op(struct qchan **out, const char *arg,
			     const struct qchan_opts *o, struct qerror *err)
{
	struct shm_chan *c;
	uint32_t key;
	enum qerr rc = parse_key(arg, &key, err);

	if (rc != QE_OK)
		return rc;
	c = calloc(1, sizeof *c);
	if (!c)
		return qerr_set(err, QE_NOMEM, "out of memory");
	rc = attach(&c->s, key, o->slot_size, err);
	if (rc != QE_OK) {
		free(c);
		return rc;
	}
	pthread_rwlock_init(&c->swap, NULL);
	*out = &c->base;
	return QE_OK;
}

/* A Quest side started after our segment was removed attaches to a new
 * one, and would wait there forever: when nobody is attached to ours and
 * the name leads elsewhere (or nowhere), map what it leads to, making it
 * if need be. Never while a receiver is attached: it keeps the segment it
 * has mapped, and so do we. Called by the sending thread only. */
static enum qerr follow(struct shm_chan *c, struct qerror *err)
{
	struct shm fresh;
	enum qerr rc = lock(&c->s, err);
	int alone;

	if (rc != QE_OK)
		return rc;
	sweep(&c->s);
	alone = rx_life(&c->s) != RX_ALIVE;
	unlock(&c->s);
	if (!alone || !name_moved(&c->s))
		return QE_OK;
	rc = attach(&fresh, c->s.key, c->base.slot_size, err);
	if (rc != QE_OK)
		return rc;
	pthread_rwlock_wrlock(&c->swap);
	detach(&c->s);
	c->s = fresh;
	pthread_rwlock_unlock(&c->swap);
	return QE_OK;
}

static enum qerr no_receiver(struct shm *s, struct qerror *err)
{
	if (s->h->gone_pid)
		return qerr_set(
		    err, QE_CHAN_NO_RECEIVER,
		    "no Quest side is attached to %s (the last one, "
		    "pid %d, went away); nothing was sent",
		    s->spec, (int)s->h->gone_pid);
	return qerr_set(err, QE_CHAN_NO_RECEIVER,
			"no Quest side is attached to %s; nothing was sent",
			s->spec);
}

/* Our packet (seq) is in the slot: wait for its outcome until deadline. */
static enum qerr await_answer(struct shm *s, uint64_t seq, int64_t deadline,
			      int timeout_ms, struct qerror *err)
{
	struct shm_hdr *h = s->h;
	enum qerr rc;

	for (;;) {
		sweep(s);
		if (h->seq != seq || h->state == ST_EMPTY)
			return qerr_set(
			    err, QE_CHAN_GONE,
			    "%s: the packet was reset before it was "
			    "answered (this sender was judged gone)",
			    s->spec);
		if (h->state == ST_ANSWERED) {
			uint32_t res = h->result;
			h->state = ST_EMPTY;
			wake(s, &h->ev_tx);
			if (res == RES_ACCEPTED)
				return QE_OK;
			if (res == RES_REFUSED)
				return qerr_set(
				    err, QE_CHAN_REFUSED,
				    "refused by the Quest side: %.*s",
				    (int)strnlen(h->reason, sizeof h->reason),
				    h->reason);
			return qerr_set(err, QE_CHAN_GONE,
					"the Quest side (pid %d) went away "
					"while taking the program",
					(int)h->gone_pid);
		}
		if (qchan_mono_ms() >= deadline) {
			if (h->state == ST_FULL) {
				h->state = ST_EMPTY;
				wake(s, &h->ev_tx);
				return qerr_set(
				    err, QE_CHAN_TIMEOUT,
				    "the Quest side (pid %d) did not "
				    "take the program within %d ms; "
				    "withdrawn, it will not run",
				    (int)h->rx_pid, timeout_ms);
			}
			/* TAKEN: it is the receiver's now; its answer, if
			 * any, will be thrown away. */
			h->flags |= FL_ABANDONED;
			return qerr_set(err, QE_CHAN_TIMEOUT,
					"the Quest side (pid %d) took the "
					"program but did not answer within %d "
					"ms; its answer will be ignored",
					(int)h->rx_pid, timeout_ms);
		}
		rc = wait_ev(s, &h->ev_tx, deadline, err);
		if (rc != QE_OK)
			return rc;
	}
}

static enum qerr shm_send(struct qchan *qc, const struct iovec *iov, int iovcnt,
			  int timeout_ms, struct qerror *err)
{
	struct shm *s = &((struct shm_chan *)qc)->s;
	struct shm_hdr *h = s->h;
	int64_t deadline = deadline_of(timeout_ms);
	size_t len = 0;
	uint64_t seq;
	enum qerr rc;

	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (len > s->slot_size)
		return qerr_set(err, QE_PKT_TOO_BIG,
				"a packet of %zu bytes does not fit the slot "
				"of %zu bytes",
				len, s->slot_size);
	rc = lock(s, err);
	if (rc != QE_OK)
		return rc;

	sweep(s);
	if (rx_life(s) != RX_ALIVE) {
		rc = no_receiver(s, err);
		goto out;
	}
	/* Other senders (questbinloader processes) queue here. */
	while (h->state != ST_EMPTY) {
		if (qchan_mono_ms() >= deadline) {
			rc = qerr_set(err, QE_CHAN_TIMEOUT,
				      "the slot of %s stayed busy for %d ms "
				      "(a packet of pid %d); nothing was sent",
				      s->spec, timeout_ms, (int)h->tx_pid);
			goto out;
		}
		rc = wait_ev(s, &h->ev_tx, deadline, err);
		if (rc != QE_OK)
			goto out;
		sweep(s);
		if (rx_life(s) != RX_ALIVE) {
			rc = no_receiver(s, err);
			goto out;
		}
	}

	/* Copied under the lock with the slot still EMPTY: a sender that
	 * dies mid-copy leaves garbage nobody will ever take. */
	uint8_t *p = s->slot;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(p, iov[i].iov_base, iov[i].iov_len);
		p += iov[i].iov_len;
	}
	h->len = len;
	h->seq = seq = ++h->last_seq;
	h->tx_pid = getpid();
	h->tx_pidns = s->pidns;
	h->tx_deadline_ms = deadline;
	h->flags = 0;
	h->result = RES_NONE;
	h->reason[0] = '\0';
	h->state = ST_FULL;
	wake(s, &h->ev_rx);

	if (qchan_shm_debug_after_full) {
		unlock(s);
		qchan_shm_debug_after_full();
		rc = lock(s, err);
		if (rc != QE_OK)
			return rc;
	}
	rc = await_answer(s, seq, deadline, timeout_ms, err);
out:
	unlock(s);
	return rc;
}

static void shm_peer(struct qchan *qc, struct qchan_peer *out)
{
	struct shm_chan *c = (struct shm_chan *)qc;
	struct shm *s = &c->s;

	memset(out, 0, sizeof *out);
	out->known = 1;
	pthread_rwlock_rdlock(&c->swap);
	if (lock(s, NULL) == QE_OK) {
		sweep(s);
		out->attached = rx_life(s) == RX_ALIVE;
		if (out->attached) {
			out->pid = s->h->rx_pid;
			out->since_ms = s->h->rx_since_ms;
		}
		out->taken = s->h->taken;
		unlock(s);
	}
	pthread_rwlock_unlock(&c->swap);
}

static enum qerr shm_wait_peer(struct qchan *qc, int timeout_ms,
			       struct qerror *err)
{
	struct shm_chan *c = (struct shm_chan *)qc;
	struct shm *s = &c->s;
	int64_t deadline = deadline_of(timeout_ms);
	enum qerr rc = follow(c, err);

	if (rc == QE_OK)
		rc = lock(s, err);
	if (rc != QE_OK)
		return rc;
	for (;;) {
		sweep(s);
		if (rx_life(s) == RX_ALIVE)
			break;
		if (qchan_mono_ms() >= deadline) {
			rc = qerr_set(
			    err, QE_CHAN_NO_RECEIVER,
			    "no Quest side attached to %s within %d ms",
			    s->spec, timeout_ms);
			break;
		}
		/* rx_open wakes ev_tx */
		rc = wait_ev(s, &s->h->ev_tx, deadline, err);
		if (rc != QE_OK)
			break;
	}
	unlock(s);
	return rc;
}

static int shm_mark(struct qchan *qc, struct qchan_mark *m)
{
	struct shm *s = &((struct shm_chan *)qc)->s;

	if (lock(s, NULL) != QE_OK)
		return -1;
	m->epoch = s->h->epoch;
	m->seq = s->h->last_seq;
	unlock(s);
	return 0;
}

static int shm_taken_since(struct qchan *qc, const struct qchan_mark *m)
{
	struct shm *s = &((struct shm_chan *)qc)->s;
	int r;

	if (lock(s, NULL) != QE_OK)
		return -1;
	r = s->h->epoch != m->epoch ? -1 : s->h->taken_seq > m->seq;
	unlock(s);
	return r;
}

static void shm_close(struct qchan *qc)
{
	struct shm_chan *c = (struct shm_chan *)qc;

	detach(&c->s);
	pthread_rwlock_destroy(&c->swap);
	free(c);
}

const struct qchan_ops qchan_shm_ops = {
    .prefix = "shm:",
    .open = shm_open_op,
    .send = shm_send,
    .peer = shm_peer,
    .close = shm_close,
    .wait_peer = shm_wait_peer,
    .mark = shm_mark,
    .taken_since = shm_taken_since,
};

enum qerr qchan_shm_unlink(uint32_t key, struct qerror *err)
{
	char name[32];

	shm_name(name, sizeof name, key);
	if (shm_unlink(name) < 0 && errno != ENOENT)
		return qerr_set(err, QE_CHAN_IO,
				"shm:%" PRIu32 ": cannot remove "
				"/dev/shm%s: %s",
				key, name, strerror(errno));
	return QE_OK;
}

/* ---- receiver ---- */

static enum qerr shm_rx_open(struct qchan_rx **out, const char *arg,
			     size_t slot_size, size_t vshm_offset,
			     struct qerror *err)
{
	struct shm_rx *rx = NULL;
	struct shm_hdr *h;
	uint32_t key;
	enum qerr rc;

	(void)vshm_offset;
	*out = NULL;
	rc = parse_key(arg, &key, err);
	if (rc != QE_OK)
		return rc;
	rx = calloc(1, sizeof *rx);
	if (!rx)
		return qerr_set(err, QE_NOMEM, "out of memory");
	rc = attach(&rx->s, key, slot_size, err);
	if (rc != QE_OK)
		goto fail;
	h = rx->s.h;
	rc = lock(&rx->s, err);
	if (rc != QE_OK)
		goto fail;
	sweep(&rx->s);
	if (rx_life(&rx->s) == RX_ALIVE) {
		rc =
		    qerr_set(err, QE_CHAN_IO,
			     "%s already has a receiver: pid %d; one at a time",
			     rx->s.spec, (int)h->rx_pid);
		unlock(&rx->s);
		goto fail;
	}
	if (h->rx_pid) {
		/* A stale receiver we cannot check by pid: take over. */
		if (h->state == ST_TAKEN)
			finish(&rx->s, RES_GONE);
		h->gone_pid = h->rx_pid;
	}
	h->rx_pid = getpid();
	h->rx_pidns = rx->s.pidns;
	h->rx_since_ms = qchan_real_ms();
	h->rx_beat_ms = qchan_mono_ms();
	wake(&rx->s, &h->ev_tx); /* qchan_wait_peer */
	unlock(&rx->s);
	*out = &rx->base;
	return QE_OK;
fail:
	detach(&rx->s);
	free(rx);
	return rc;
}

static enum qerr shm_rx_take(struct qchan_rx *qrx, const uint8_t **pkt,
			     size_t *len, int timeout_ms, struct qerror *err)
{
	struct shm_rx *rx = (struct shm_rx *)qrx;
	struct shm *s = &rx->s;
	struct shm_hdr *h = s->h;
	int64_t deadline = deadline_of(timeout_ms);
	enum qerr rc;

	if (rx->holding)
		return qerr_set(err, QE_USAGE,
				"answer the packet taken last before taking "
				"another");
	rc = lock(s, err);
	if (rc != QE_OK)
		return rc;
	for (;;) {
		if (h->rx_pid != getpid()) {
			rc = qerr_set(err, QE_CHAN_GONE,
				      "this receiver was detached from %s "
				      "(receiver now: pid %d)",
				      s->spec, (int)h->rx_pid);
			break;
		}
		h->rx_beat_ms = qchan_mono_ms();
		sweep(s);
		if (h->state == ST_FULL &&
		    (h->len == 0 || h->len > s->slot_size)) {
			snprintf(h->reason, sizeof h->reason,
				 "packet length %" PRIu64 " does not fit the "
				 "slot",
				 h->len);
			finish(s, RES_REFUSED);
			wake(s, &h->ev_tx);
		} else if (h->state == ST_FULL) {
			h->state = ST_TAKEN;
			h->taken++;
			h->taken_seq = h->seq;
			rx->seq = h->seq;
			rx->holding = 1;
			*pkt = s->slot;
			*len = (size_t)h->len;
			break;
		}
		if (qchan_mono_ms() >= deadline) {
			rc = qerr_set(err, QE_CHAN_TIMEOUT,
				      "no packet on %s within %d ms", s->spec,
				      timeout_ms);
			break;
		}
		rc = wait_ev(s, &h->ev_rx, deadline, err);
		if (rc != QE_OK)
			break;
	}
	unlock(s);
	return rc;
}

static enum qerr shm_rx_answer(struct qchan_rx *qrx, int accepted,
			       const char *reason, struct qerror *err)
{
	struct shm_rx *rx = (struct shm_rx *)qrx;
	struct shm *s = &rx->s;
	struct shm_hdr *h = s->h;
	enum qerr rc;

	if (!rx->holding)
		return qerr_set(err, QE_USAGE, "no packet taken to answer");
	rc = lock(s, err);
	if (rc != QE_OK)
		return rc;
	rx->holding = 0;
	if (h->state != ST_TAKEN || h->seq != rx->seq) {
		rc = qerr_set(err, QE_CHAN_IO,
			      "%s: the packet was reset before its answer "
			      "(this receiver was judged gone)",
			      s->spec);
		goto out;
	}
	if (!accepted) {
		/* One line, so that status tables stay tables. */
		size_t i = 0;
		if (!reason || !*reason)
			reason = "no reason given";
		for (; i < sizeof h->reason - 1 && reason[i]; i++)
			h->reason[i] =
			    (unsigned char)reason[i] < ' ' ? ' ' : reason[i];
		h->reason[i] = '\0';
	}
	finish(s, accepted ? RES_ACCEPTED : RES_REFUSED);
	wake(s, &h->ev_tx);
out:
	unlock(s);
	return rc;
}

static void shm_rx_close(struct qchan_rx *qrx)
{
	struct shm_rx *rx = (struct shm_rx *)qrx;
	struct shm *s = &rx->s;

	if (lock(s, NULL) == QE_OK) {
		struct shm_hdr *h = s->h;
		if (h->rx_pid == getpid()) {
			if (rx->holding && h->state == ST_TAKEN &&
			    h->seq == rx->seq)
				finish(s, RES_GONE);
			h->gone_pid = h->rx_pid;
			h->rx_pid = 0;
			sweep(s); /* a FULL packet now has nobody to take it */
			wake(s, &h->ev_tx);
		}
		unlock(s);
	}
	detach(s);
	free(rx);
}

const struct qchan_rx_ops qchan_shm_rx_ops = {
    .prefix = "shm:",
    .open = shm_rx_open,
    .take = shm_rx_take,
    .answer = shm_rx_answer,
    .close = shm_rx_close,
};

/* ---- test hooks ---- */

enum qerr qchan_shm_debug_lock(uint32_t key, size_t scribble,
			       struct qerror *err)
{
	struct shm s;
	enum qerr rc = attach(&s, key, 0, err);

	if (rc != QE_OK)
		return rc;
	if (pthread_mutex_lock(&s.h->lock.m) == EOWNERDEAD)
		pthread_mutex_consistent(&s.h->lock.m);
	memset(s.slot, 0xA5, scribble < s.slot_size ? scribble : s.slot_size);
	return QE_OK; /* mapping and lock deliberately kept */
}
