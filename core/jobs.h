/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The job model: programs launched from questfs, queued in launch order,
 * sent one at a time by a single sender thread, each with a state, times and
 * a one-line reason; and the append-only log of their state changes. */
#ifndef QUEST_JOBS_H
#define QUEST_JOBS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "args.h"
#include "chan.h"
#include "elfcheck.h"
#include "qerr.h"
#include "quota.h"
#include "who.h"

enum qjob_state {
	QJ_QUEUED,
	QJ_SENDING,
	QJ_DELIVERED,
	QJ_REFUSED,
	QJ_FAILED,
	QJ__COUNT
};

const char *qjob_state_name(enum qjob_state s);

#define QJOB_NAME_MAX 255

/* A copy of one job, for readers (status, xattrs). */
struct qjob_info {
	uint64_t id;
	uint64_t tag; /* the caller's (questfs: the file's inode) */
	/* who launched it, and that uid's name at launch (else the number) */
	uid_t uid;
	char user[QWHO_NAME_MAX];
	enum qjob_state state;
	char name[QJOB_NAME_MAX + 1];
	size_t size;
	char args[4 * QARGV_MAX]; /* user's arguments, quoted for humans */
	int64_t t_launch_ms;	  /* CLOCK_REALTIME, ms */
	int64_t t_state_ms;
	enum qerr code; /* why it was refused or failed */
	char detail[QERR_MSG_MAX];
};

/* The defaults of qjobs_cfg_default, which questfs's option table
 * (fs/options.c) shows and the man page states. */
#define QJOBS_SEND_TIMEOUT_MS_DEFAULT 5000
#define QJOBS_MAX_QUEUE_DEFAULT	      1000u
#define QJOBS_MAX_BYTES_DEFAULT	      (64ul << 20)
#define QJOBS_HISTORY_DEFAULT	      200u
#define QJOBS_LOG_MAX_DEFAULT	      (1ul << 20)
/* a quarter each: four users at their limits still leave room */
#define QJOBS_USER_MAX_QUEUE_DEFAULT 250u
#define QJOBS_USER_MAX_BYTES_DEFAULT (16ul << 20)
#define QJOBS_USER_MAX_FILES_DEFAULT 1000u

struct qjobs_cfg {
	const char *spec; /* channel spec */
	struct qchan_opts chan;
	struct qelf_profile prof;
	int send_timeout_ms; /* one send: slot wait + answer */
	unsigned max_queue;  /* queued + sending jobs */
	size_t max_bytes;    /* program bytes held by queued jobs */
	unsigned history;    /* finished jobs kept for status */
	size_t log_max;	     /* log bytes kept (the oldest half goes) */
	int argv0;	     /* 1: argv[0] is the program's name */
	int argv_format;     /* enum qargv_format: how argv is packed */
	const char *spool;   /* directory of queued jobs; NULL: none */
	int spool_sync;	     /* fsync spool entries (machine crashes) */
	/* qjobs_commit may send the job itself: its caller has threads to
	 * spare (a FUSE worker of several). Only for a channel that knows
	 * its receiver, whose sends the timeout bounds (shm:). */
	int commit_sends;
	/* max_queue and max_bytes for each user but root and `admin`
	 * (questfs's own user), and the files one user may have in run/ */
	unsigned user_max_queue;
	size_t user_max_bytes;
	unsigned user_max_files;
	uid_t admin;
};

void qjobs_cfg_default(struct qjobs_cfg *c);

struct qjobs;

/* Opens the channel and the spool, queues again what the spool holds
 * (jobs a crash left behind), and starts the sender thread. */
enum qerr qjobs_new(const struct qjobs_cfg *cfg, struct qjobs **out,
		    struct qerror *err);

/* Stops the sender (a send under way finishes or times out), waits for the
 * commits under way, and marks every job not sent as failed with code
 * QE_STOPPED ("questfs stopped before it was sent"), logged; the jobs stay
 * readable until qjobs_free. */
void qjobs_stop(struct qjobs *q);
void qjobs_free(struct qjobs *q);

/* Launch a program in two steps. qjobs_begin records the job in launch
 * order and takes `image` (from qjobs_image; it passes to the job in every
 * case):
 * quick, for a caller holding a lock of its own. It shows as queued, but
 * neither it nor any job after it is sent before qjobs_commit, which
 * checks it (DESIGN.md §4, argv: `args` are the user's words; argv[0] is added
 * unless argv0=none) and spools it: call it soon, without that lock and
 * once whoever waits on the caller has been answered, for when nothing
 * else is being sent and the Quest side answered the last packet, commit
 * sends the job itself (up to send_timeout), sparing the sender thread's
 * wake-up; else the sender thread sends it. begin returns the job's id, 0
 * when out of memory. commit returns QE_OK when the job is queued (or
 * already sent); otherwise the job is recorded as refused (or failed, when
 * the spool cannot be written), which shows in status and log, and the
 * code is returned. */
/* A buffer for a program of up to len bytes (at least the largest program,
 * prof.max_size): where a writer's bytes go, once, to be checked, spooled
 * and sent from (imgbuf.h). NULL when out of memory. A buffer that does
 * not become a job goes back with qjobs_image_put. */
uint8_t *qjobs_image(struct qjobs *q, size_t len);
void qjobs_image_put(struct qjobs *q, uint8_t *image);
struct qimg_stats;
void qjobs_images(struct qjobs *q, struct qimg_stats *out);

uint64_t qjobs_begin(struct qjobs *q, const char *name, uint8_t *image,
		     size_t len, const struct qargv *args, uint64_t tag,
		     uid_t uid);
enum qerr qjobs_commit(struct qjobs *q, uint64_t id, struct qerror *err);

/* Record a refusal that happened before launch (questfs refused the file at
 * FLUSH): a job in state refused, logged like any other. */
uint64_t qjobs_record_refusal(struct qjobs *q, const char *name, size_t len,
			      uint64_t tag, uid_t uid,
			      const struct qerror *why);

/* May a new program of `len` more bytes be accepted now? QE_OK, or
 * QE_LIMIT with a message naming the limit (queue length or bytes held).
 * These three decide every limit a user meets; the file system maps
 * QE_LIMIT to EAGAIN (EDQUOT for an xattr) at its boundary. */
enum qerr qjobs_room(struct qjobs *q, size_t len, struct qerror *err);
/* The same, and within uid's own limits: `user_len` bytes more for him
 * (on top of what the quota counts for him already). */
enum qerr qjobs_room_for(struct qjobs *q, uid_t uid, size_t user_len,
			 size_t len, struct qerror *err);
/* May uid have one file more in run/ (user_max_files)? */
enum qerr qjobs_room_file(struct qjobs *q, uid_t uid, struct qerror *err);
/* The per-user counts: jobs count their own; the file system adds its
 * files and bytes (quota.h). */
struct qquota *qjobs_quota(struct qjobs *q);

/* Copy of one job by id; -1 when it is no longer kept. */
int qjobs_get(struct qjobs *q, uint64_t id, struct qjob_info *out);
/* Only its state and when it was entered (CLOCK_REALTIME ms): the
 * file system asks this at every lookup. -1 when no longer kept. */
int qjobs_state(struct qjobs *q, uint64_t id, enum qjob_state *state,
		int64_t *t_state_ms);

/* Read bytes of a job's program while the job still holds them: the bytes
 * read, or -1 once they are gone. */
ssize_t qjobs_read(struct qjobs *q, uint64_t id, void *buf, size_t len,
		   off_t off);

/* Status: counts per state, held bytes, the peer, and every kept job in
 * launch order (fn is called with the jobs lock held: copy, do not call
 * back into qjobs). */
struct qjobs_summary {
	unsigned count[QJ__COUNT];
	size_t held_bytes;
	uint64_t launched;
	struct qchan_peer peer;
	int64_t started_ms;
	unsigned spool_problems; /* losses and damage found at start (log) */
};
void qjobs_summary(struct qjobs *q, struct qjobs_summary *out);
void qjobs_foreach(struct qjobs *q,
		   void (*fn)(void *ctx, const struct qjob_info *j), void *ctx);

/* The log: one line per state change. */
size_t qjobs_log_size(struct qjobs *q);
size_t qjobs_log_read(struct qjobs *q, void *buf, size_t len, off_t off);
/* The log as `reader` sees it: the arguments of other users' jobs are
 * masked, each byte a '*', unless `all` (root, questfs's own user). The
 * same length for every reader, so that offsets and sizes hold. */
size_t qjobs_log_read_as(struct qjobs *q, uid_t reader, int all, void *buf,
			 size_t len, off_t off);
/* Append a line of questfs's own (mount, unmount); adds time and newline.
 * fmt begins with words of questfs's, never with a name: a reader of the
 * log (questfs-notify) trusts what comes before the first name. */
void qjobs_log(struct qjobs *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A line about a file of uid's that is no job (a sidecar):
 * "file uid=U run/NAME WHAT: WHY". WHAT may name files too; WHY is masked
 * for other readers when it quotes argument words (qerr_quotes_args). */
void qjobs_log_file(struct qjobs *q, uid_t uid, const char *name,
		    const char *what, const struct qerror *why);

#endif
