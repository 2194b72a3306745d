/* SPDX-License-Identifier: GPL-2.0-or-later */
/* questfs: the FUSE glue. The tree of DESIGN.md §6 (run/, status, status.json,
 * log), the files in run/ and the state shared by the request handlers. Every
 * rule about programs, names and jobs lives in core/. */
#ifndef QUESTFS_H
#define QUESTFS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "args.h"
#include "jobs.h"
#include "launch.h"

enum {
	INO_ROOT = FUSE_ROOT_ID, /* 1 */
	INO_RUN,
	INO_STATUS,
	INO_STATUS_JSON,
	INO_LOG,
	INO_FIRST_FILE = 16,
};

#define QFS_HEAD_MAX 4096 /* bytes of a launched file kept: struct qfile */

/* One xattr: one allocation, the value right after the name. */
struct xattr {
	void *value;
	size_t size;
	char name[];
};

/* A file's (or run/'s) xattrs, sorted by name: a lookup is a binary
 * search, and at most QFS_XATTRS_MAX of them keep an insert's memmove
 * short (fs/xattr.c says why not a hash table). */
struct xattrs {
	struct xattr **v;
	unsigned n, cap;
};
#define QFS_XATTRS_MAX 256

/* A regular file in run/. Its bytes live here until it launches; then they
 * belong to the job (data == NULL, job_id set). Every field is guarded by
 * the tree lock (qfs.lock). */
struct qfile {
	fuse_ino_t ino;
	char *name;	  /* NULL once unlinked (still open or looked up) */
	uint64_t nlookup; /* the kernel's references */
	struct qlaunch
	    launch; /* the launch rule's state: opens, writers, ... */
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
	struct xattrs xattrs;
	/* bytes of their names and values, counted as held */
	size_t xattr_bytes;
	struct qfile *prev, *next;	    /* fs->files */
	struct qfile *name_next, *ino_next; /* hash chains */
};

/* What the launch rule may look at of a file: its name and bytes now. */
static inline struct qlaunch_file qfs_facts(const struct qfile *f)
{
	return (struct qlaunch_file){f->name, f->data, f->size};
}

struct qfs_opts {
	char *channel, *argv0, *kick, *kick_cmd, *spool;
	char *quest_profile, *argv_format;
	unsigned long slot_size;
	unsigned long vshm_offset;
	long long user_base, user_limit; /* -1: the profile's */
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
	struct qlaunch_cfg lcfg; /* the launch rule's view of jcfg */
	struct qjobs *jobs; /* has its own lock, taken after the tree lock */
	struct fuse_session *se;
	/* The tree lock. Guards every field from here to run_mtime, and every
	 * struct qfile. Lock order: lock, then qjobs's lock (calls into
	 * qjobs with it held), then nlock (qfs_notify_gone) or the quota's
	 * (core/quota.c, a leaf); never the reverse. Not held across a reply, a
	 * commit or a channel send. */
	pthread_mutex_t lock;
	struct qfile *files; /* in run/ and orphans still referenced */
	struct qfile **by_name, **by_ino; /* hash tables of nbuckets */
	size_t nbuckets, nfiles;
	int64_t next_expire_ms; /* CLOCK_MONOTONIC */
	fuse_ino_t next_ino;
	size_t writing_bytes; /* bytes held by files not yet launched */
	struct xattrs run_xattrs;
	size_t freed_bytes; /* freed since memory was last given back */
	struct timespec run_mtime;
	/* fs/notify.c: names to tell the kernel about, and its thread. nlock
	 * guards gone..nstop; it is the innermost lock. */
	pthread_mutex_t nlock;
	pthread_cond_t ncv;
	struct gone *gone, *gone_tail;
	size_t ngone;
	pthread_t notifier;
	int nrunning, nstop;
	/* fs/ops.c: every open handle, until its RELEASE; hlock guards the
	 * list and is a leaf */
	pthread_mutex_t hlock;
	struct handle *handles;
	/* set before the session starts, read-only after */
	long conn; /* the FUSE connection's number, -1: unknown */
	const char *mountpoint;
	struct timespec mount_time;
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
/* what a reason that quotes another user's arguments shows instead
 * (status, status.json, user.quest.error) */
#define QFS_HIDDEN_REASON "(hidden: it quotes the arguments)"
/* the mode a file of that name gets: a sidecar's grants others nothing */
mode_t qfs_mode_for(const char *name, mode_t mode);
void qfs_detach(struct qfs *fs, struct qfile *f); /* remove from run/ */
void qfs_drop_data(struct qfs *fs, struct qfile *f);
void qfs_maybe_free(struct qfs *fs, struct qfile *f);
/* forget launched files past linger; at a lookup (soon: 0) at most every
 * EXPIRE_MS, for a walk of every file */
void qfs_expire(struct qfs *fs, int soon);
/* chown: the file's files and bytes move to the new owner's counts */
void qfs_set_owner(struct qfs *fs, struct qfile *f, uid_t uid);
/* The bytes of a file: QE_OK, or QE_FILE_TOO_BIG (past the largest
 * program), QE_LIMIT (past the bytes questfs may hold), QE_NOMEM, with why */
enum qerr qfs_file_truncate(struct qfs *fs, struct qfile *f, uint64_t size,
			    struct qerror *why);
enum qerr qfs_file_write(struct qfs *fs, struct qfile *f, const char *buf,
			 size_t n, off_t off, struct qerror *why);
void qfs_file_stat(struct qfs *fs, struct qfile *f, struct stat *st);
/* a launched file's bytes from its head once its job has let go of them:
 * how many, or -1 where they are gone */
ssize_t qfs_file_read_head(struct qfile *f, void *buf, size_t n, off_t off);
/* Carries out a decision of the launch rule (core/launch.h) on f, lock
 * held: a launch begins its job here and is committed (checked, spooled,
 * perhaps sent) right after the request's reply, by fs/reply.c. Returns
 * the errno the request answers. */
int qfs_apply(struct qfs *fs, struct qfile *f, const struct qlaunch_dec *d);
void qfs_free_all(struct qfs *fs);
/* fs/ops.c: the handles the kernel never released (questfs stopped with
 * files open, an open whose caller was gone when it was answered) */
void qfs_free_handles(struct qfs *fs);

/* fs/notify.c: the kernel is told, from a thread of its own, that questfs
 * took a name out of run/ (call qfs_notify_gone with the tree lock held,
 * before the name goes) */
/* fs/loop.c: the FUSE workers, each giving its receive buffer back once
 * idle (woken by a statfs(2) of mountpoint, an absolute path). */
int qfs_loop(struct fuse_session *se, const char *mountpoint,
	     unsigned nworkers);

int qfs_notify_start(struct qfs *fs, const char *mountpoint);
void qfs_notify_stop(struct qfs *fs);
void qfs_notify_gone(struct qfs *fs, fuse_ino_t ino, const char *name);

/* fs/xattr.c */
int qfs_xattr_set(struct xattrs *xs, const char *name, const void *v,
		  size_t size, int flags);
const struct xattr *qfs_xattr_get(const struct xattrs *xs, const char *name);
int qfs_xattr_remove(struct xattrs *xs, const char *name);
void qfs_xattr_free(struct xattrs *xs);
/* the memory an xattr of that name and size takes, as counted */
size_t qfs_xattr_cost(const char *name, size_t size);
/* Bytes a file or an xattr held are freed: past a few MiB freed, they are
 * given back to the system (malloc_trim), as the jobs' are. */
void qfs_freed(struct qfs *fs, size_t bytes);
/* user.* of a file (f) or of run/ (f NULL), counted as bytes held, of the
 * file's owner too: EDQUOT past max_bytes, user_max_bytes or
 * QFS_XATTRS_MAX */
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

/* fs/reply.c: every reply to a request, then the commit of what it
 * launched (qfs_commit_later, lock held, by qfs_apply) */
int qfs_errno(enum qerr rc);
void qfs_commit_later(struct qfs *fs, uint64_t id);
void qfs_reply_err(fuse_req_t req, int err);
void qfs_reply_none(fuse_req_t req);
void qfs_reply_entry(fuse_req_t req, const struct fuse_entry_param *e);
void qfs_reply_create(fuse_req_t req, const struct fuse_entry_param *e,
		      const struct fuse_file_info *fi);
void qfs_reply_attr(fuse_req_t req, const struct stat *st, double timeout);
void qfs_reply_open(fuse_req_t req, const struct fuse_file_info *fi);
void qfs_reply_write(fuse_req_t req, size_t count);
void qfs_reply_buf(fuse_req_t req, const void *buf, size_t size);
void qfs_reply_xattr(fuse_req_t req, size_t count);
void qfs_reply_statfs(fuse_req_t req, const struct statvfs *st);

/* fs/main.c: syslog, or stderr in the foreground */
void qfs_log(struct qfs *fs, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
