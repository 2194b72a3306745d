/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The channel to the Quest side (DESIGN.md §5): one interface, backends behind
 * a vtable, chosen by a spec string ("shm:1001", "vshm:/dev/shm/quest",
 * "dev:/dev/qSB1"). */
#ifndef QUEST_CHAN_H
#define QUEST_CHAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "qerr.h"

#define QCHAN_SPEC_DEFAULT     "shm:1001"
#define QCHAN_KICK_CMD_DEFAULT "proc_creat"

struct qchan_opts {
	size_t slot_size;     /* bytes of the single slot (393216) */
	const char *kick;     /* NULL, or a path written before each packet */
	const char *kick_cmd; /* the line written there ("proc_creat") */
	size_t vshm_offset;   /* vshm: where the channel starts in the region */
};

/* What the sender can see of the Quest side. */
struct qchan_peer {
	int known;	  /* 0: the backend cannot tell (dev:) */
	int attached;	  /* a receiver is present and alive */
	pid_t pid;	  /* its pid, when it is a local process */
	int64_t since_ms; /* CLOCK_REALTIME ms when it attached, 0 if unknown */
	uint64_t taken;	  /* packets it has taken since the segment exists */
	uint32_t epoch;	  /* vshm: the receiver's epoch (new at each start) */
	int64_t unseen_ms; /* vshm: its heartbeat stood still this long */
	char name[64];	   /* vshm: who it says it is; "" if unknown */
};

struct qchan;

/* Where the channel stood just before a send: which segment (epoch) and
 * the last packet number handed out. */
struct qchan_mark {
	uint64_t epoch;
	uint64_t seq;
};

struct qchan_ops {
	const char *prefix; /* "shm:" */
	enum qerr (*open)(struct qchan **out, const char *arg,
			  const struct qchan_opts *o, struct qerror *err);
	enum qerr (*send)(struct qchan *c, const struct iovec *iov, int iovcnt,
			  int timeout_ms, struct qerror *err);
	void (*peer)(struct qchan *c, struct qchan_peer *out);
	void (*close)(struct qchan *c);
	/* Optional: block until a receiver is attached (qchan_wait_peer).
	 * NULL: qchan_wait_peer looks once with peer() and does not wait. */
	enum qerr (*wait_peer)(struct qchan *c, int timeout_ms,
			       struct qerror *err);
	/* Optional: crash bookkeeping (qchan_mark, qchan_taken_since). */
	int (*mark)(struct qchan *c, struct qchan_mark *m);
	int (*taken_since)(struct qchan *c, const struct qchan_mark *m);
};

/* Every channel begins with this, so the generic layer finds its ops. */
struct qchan {
	const struct qchan_ops *ops;
	size_t slot_size;
	char *kick, *kick_cmd;
};

void qchan_opts_default(struct qchan_opts *o);

/* Open a channel by spec. The sender side never needs the receiver present
 * to open: shm: creates the segment when it does not exist yet. */
enum qerr qchan_open(const char *spec, const struct qchan_opts *o,
		     struct qchan **out, struct qerror *err);

/* Send one packet (the concatenation of iov) and wait for its outcome:
 *   QE_OK               the Quest side took it (and accepted it)
 *   QE_CHAN_REFUSED     it refused it; err->msg has its reason
 *   QE_CHAN_NO_RECEIVER nobody attached; nothing was written
 *   QE_CHAN_TIMEOUT     slot still busy, or no answer within timeout_ms:
 *                       if the receiver had not taken the packet, it was
 *                       withdrawn and will never run; if it had (its
 *                       message says "took the program"), it may still
 *                       run and its late answer is discarded
 *   QE_CHAN_GONE        the receiver died while taking it
 *   QE_PKT_TOO_BIG, QE_CHAN_IO, QE_SYS
 * Writes the kick line first when one is configured. Blocks; never spins. */
enum qerr qchan_send(struct qchan *c, const struct iovec *iov, int iovcnt,
		     int timeout_ms, struct qerror *err);

/* Wait up to timeout_ms for a receiver to be attached (returns at once if
 * one is, or if the backend cannot tell). QE_OK or QE_CHAN_NO_RECEIVER. */
enum qerr qchan_wait_peer(struct qchan *c, int timeout_ms, struct qerror *err);

void qchan_peer(struct qchan *c, struct qchan_peer *out);

/* Before a send, note where the channel stands, so that after a crash of
 * the sender one can ask whether that packet reached the Quest side.
 * 0, or -1 when the backend cannot tell. */
int qchan_mark(struct qchan *c, struct qchan_mark *m);
/* 1: a packet sent after the mark was taken by the Quest side; 0: none
 * was; -1: cannot tell (another segment since, or the backend). */
int qchan_taken_since(struct qchan *c, const struct qchan_mark *m);
void qchan_close(struct qchan *c);

/* ---- receiver side (quest-sim, tests); shm: and vshm: ---- */

struct qchan_rx;

/* Attach as the one receiver of shm:KEY or vshm:PATH, creating the segment
 * or region if needed. slot_size 0 takes the segment's (the default when
 * creating it). qchan_rx_open_at also names vshm:'s channel offset. */
enum qerr qchan_rx_open(const char *spec, size_t slot_size,
			struct qchan_rx **out, struct qerror *err);
enum qerr qchan_rx_open_at(const char *spec, size_t slot_size,
			   size_t vshm_offset, struct qchan_rx **out,
			   struct qerror *err);

/* Wait up to timeout_ms (-1: forever) for a packet; on QE_OK *pkt points at
 * the packet in the slot and *len is its size, valid until the answer. The
 * receiver's heartbeat is kept while it waits. QE_CHAN_TIMEOUT when none. */
enum qerr qchan_rx_take(struct qchan_rx *rx, const uint8_t **pkt, size_t *len,
			int timeout_ms, struct qerror *err);

/* Answer the packet taken last: accepted (reason NULL) or refused. Frees
 * the slot for the next packet. */
enum qerr qchan_rx_answer(struct qchan_rx *rx, int accepted, const char *reason,
			  struct qerror *err);

/* Detach (marks the receiver gone) and unmap. */
void qchan_rx_close(struct qchan_rx *rx);

/* Receiver backends: every receiver begins with struct qchan_rx. */
struct qchan_rx_ops {
	const char *prefix;
	enum qerr (*open)(struct qchan_rx **out, const char *arg,
			  size_t slot_size, size_t vshm_offset,
			  struct qerror *err);
	enum qerr (*take)(struct qchan_rx *rx, const uint8_t **pkt, size_t *len,
			  int timeout_ms, struct qerror *err);
	enum qerr (*answer)(struct qchan_rx *rx, int accepted,
			    const char *reason, struct qerror *err);
	void (*close)(struct qchan_rx *rx);
};
struct qchan_rx {
	const struct qchan_rx_ops *ops;
};
extern const struct qchan_rx_ops qchan_shm_rx_ops;
extern const struct qchan_rx_ops qchan_vshm_rx_ops;

/* Remove the segment of shm:KEY (tests, quest-sim --unlink). Sides that
 * have it mapped keep their copy; the next open creates a new one. QE_OK
 * also when there was none. */
enum qerr qchan_shm_unlink(uint32_t key, struct qerror *err);

/* Backends. */
extern const struct qchan_ops qchan_shm_ops;
extern const struct qchan_ops qchan_dev_ops;
extern const struct qchan_ops qchan_vshm_ops;

/* ---- helpers shared by the backends and the kick (chan.c) ---- */

/* Open path for writing (plus extra open flags) without blocking on a FIFO
 * that has no reader. Returns a descriptor in blocking mode, or -errno;
 * -ENXIO means a FIFO nobody reads (or a device node without driver). */
int qchan_open_wronly(const char *path, int flags);

/* Write all of iov to fd, looping on short writes and EINTR; on a
 * non-blocking fd, poll(2) for room until deadline_ms (CLOCK_MONOTONIC ms,
 * negative: none). Never raises SIGPIPE. *written (may be NULL) gets the
 * bytes written. Returns 0 or -errno (-EPIPE, -ETIMEDOUT, ...). */
int qchan_writev_all(int fd, const struct iovec *iov, int iovcnt,
		     int64_t deadline_ms, size_t *written);

/* CLOCK_MONOTONIC / CLOCK_REALTIME in milliseconds. */
int64_t qchan_mono_ms(void);
int64_t qchan_real_ms(void);

#endif
