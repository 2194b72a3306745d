/* questfs: the FUSE glue. The tree of §6 (run/, status, status.json, log),
 * the files in run/ and the state shared by the request handlers. Every
 * rule about programs, names and jobs lives in core/. */
#ifndef QUESTFS_H
#define QUESTFS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

#include "args.h"
#include "jobs.h"

enum {
	INO_ROOT = FUSE_ROOT_ID, /* 1 */
	INO_RUN,
	INO_STATUS,
	INO_STATUS_JSON,
	INO_LOG,
	INO_FIRST_FILE = 16,
};

#define QFS_HEAD_MAX 4096 /* bytes of a launched file kept: struct qfile */

struct xattr {
	char *name;
	void *value;
	size_t size;
	struct xattr *next;
};

/* A regular file in run/. Its bytes live here until it launches; then they
 * belong to the job (data == NULL, job_id set). */
struct qfile {
	fuse_ino_t ino;
	char *name;	  /* NULL once unlinked (still open or looked up) */
	uint64_t nlookup; /* the kernel's references */
	unsigned opens, writers;
	unsigned closing; /* writers closed by their user, RELEASE pending */
	int dirty;	  /* got data since it was created or launched */
	/* why it was refused at FLUSH or fsync; NULL: it was not */
	struct qerror *flush_err;
	/* why its user.quest.args was refused; the launch must not go
	 * without the arguments the user asked for. NULL: none was */
	struct qerror *args_err;
	uint8_t *data;
	size_t size, cap;
	uint64_t job_id; /* last launch, 0: never */
	/* the first bytes of the last launch, kept while the file is listed
	 * so that a file manager still sees the program once the job has
	 * let go of it */
	uint8_t *head;
	size_t head_len;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct timespec atime, mtime, ctime;
	struct xattr *xattrs;
	/* bytes of their names and values, counted as held */
	size_t xattr_bytes;
	struct qfile *prev, *next;	    /* fs->files */
	struct qfile *name_next, *ino_next; /* hash chains */
};

struct qfs_opts {
	char *channel, *argv0, *kick, *kick_cmd, *spool;
	char *quest_profile, *argv_format;
	unsigned long slot_size, user_base, user_limit;
	unsigned max_queue, history, linger, send_timeout, run_mode;
	unsigned long max_bytes, log_max;
	int run_uid, run_gid;
	unsigned run_sticky; /* 1 (default): run/ gets the sticky bit */
	unsigned user_max_queue, user_max_files;
	unsigned long user_max_bytes;
	int spool_sync;
	int show_help, show_version;
	/* positional arguments: MOUNTPOINT, or SOURCE MOUNTPOINT as
	 * mount.fuse3 passes them (fstab type fuse.questfs) */
	const char *nonopt[2];
	int nonopts;
};

struct qfs {
	struct qfs_opts o;
	struct qjobs_cfg jcfg;
	struct qjobs *jobs;
	struct fuse_session *se;
	pthread_mutex_t lock; /* the tree */
	struct qfile *files;  /* in run/ and orphans still referenced */
	struct qfile **by_name, **by_ino; /* hash tables of nbuckets */
	size_t nbuckets, nfiles;
	int64_t next_expire_ms; /* CLOCK_MONOTONIC */
	fuse_ino_t next_ino;
	/* fs/notify.c: names to tell the kernel about, and its thread */
	pthread_mutex_t nlock;
	pthread_cond_t ncv;
	struct gone *gone, *gone_tail;
	size_t ngone;
	pthread_t notifier;
	int nrunning, nstop;
	long conn; /* the FUSE connection's number, -1: unknown */
	const char *mountpoint;
	size_t writing_bytes; /* bytes held by files not yet launched */
	struct xattr *run_xattrs;
	struct timespec mount_time, run_mtime;
	uid_t uid;
	gid_t gid;
	int foreground;
};

/* fs/tree.c: the files of run/ (call with fs->lock held) */
struct qfile *qfs_find(struct qfs *fs, const char *name);
struct qfile *qfs_by_ino(struct qfs *fs, fuse_ino_t ino);
/* NULL with errno EAGAIN past uid's user_max_files, else ENOMEM */
struct qfile *qfs_new_file(struct qfs *fs, const char *name, mode_t mode,
			   uid_t uid, gid_t gid);
void qfs_set_name(struct qfs *fs, struct qfile *f, char *name); /* takes it */
void qfs_detach(struct qfs *fs, struct qfile *f); /* remove from run/ */
void qfs_drop_data(struct qfs *fs, struct qfile *f);
void qfs_maybe_free(struct qfs *fs, struct qfile *f);
/* forget launched files past linger; at a lookup (soon: 0) at most every
 * EXPIRE_MS, for a walk of every file */
void qfs_expire(struct qfs *fs, int soon);
/* chown: the file's files and bytes move to the new owner's counts */
void qfs_set_owner(struct qfs *fs, struct qfile *f, uid_t uid);
int qfs_file_truncate(struct qfs *fs, struct qfile *f, uint64_t size);
int qfs_file_write(struct qfs *fs, struct qfile *f, const char *buf, size_t n,
		   off_t off);
void qfs_file_stat(struct qfs *fs, struct qfile *f, struct stat *st);
/* a launched file's bytes from its head once its job has let go of them:
 * how many, or -1 where they are gone */
ssize_t qfs_file_read_head(struct qfile *f, void *buf, size_t n, off_t off);
/* A finished file's bytes become a job (lock held): its id, for
 * qfs_commit once the lock is released (and the request answered), which
 * checks and spools it; 0: nothing to commit (refused, or out of memory) */
uint64_t qfs_launch(struct qfs *fs, struct qfile *f);
void qfs_commit(struct qfs *fs, uint64_t id);
int qfs_judge(struct qfs *fs, struct qfile *f, enum qelf_mode mode,
	      struct qerror *err);
void qfs_free_all(struct qfs *fs);
/* *slot = a copy of why (NULL: none). Out of memory, the refusal stands
 * with a reason that says so. */
void qfs_refusal(struct qerror **slot, const struct qerror *why);

/* fs/notify.c: the kernel is told, from a thread of its own, that questfs
 * took a name out of run/ (call qfs_notify_gone with the tree lock held,
 * before the name goes) */
int qfs_notify_start(struct qfs *fs, const char *mountpoint);
void qfs_notify_stop(struct qfs *fs);
void qfs_notify_gone(struct qfs *fs, fuse_ino_t ino, const char *name);

/* fs/xattr.c */
int qfs_xattr_set(struct xattr **list, const char *name, const void *v,
		  size_t size, int flags);
const struct xattr *qfs_xattr_get(struct xattr *const *list, const char *name);
int qfs_xattr_remove(struct xattr **list, const char *name);
void qfs_xattr_free(struct xattr **list);
/* user.* of a file (f) or of run/ (f NULL), counted as bytes held, of the
 * file's owner too: EAGAIN past max_bytes or user_max_bytes */
int qfs_xattr_set_for(struct qfs *fs, struct qfile *f, uid_t uid,
		      const char *name, const void *v, size_t size, int flags);
int qfs_xattr_remove_for(struct qfs *fs, struct qfile *f, const char *name);
/* the file's user.quest.args, else its sidecar, else run/'s; split */
enum qerr qfs_args_for(struct qfs *fs, struct qfile *f, struct qargv *out,
		       struct qerror *err);

/* fs/status.c: render status (text) or status.json into a malloc'd
 * buffer, as `reader` may see it (others' arguments hidden) */
char *qfs_status_text(struct qfs *fs, uid_t reader, size_t *len);
char *qfs_status_json(struct qfs *fs, uid_t reader, size_t *len);

/* fs/owner.c: who may see and set what */
int qfs_sees_all(const struct qfs *fs, uid_t reader);
int qfs_owns_run(const struct qfs *fs, uid_t uid);
int qfs_sidecar_counts(const struct qfile *prog, const struct qfile *side);

/* fs/ops.c */
extern const struct fuse_lowlevel_ops qfs_ops;

/* fs/main.c: syslog, or stderr in the foreground */
void qfs_log(struct qfs *fs, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
