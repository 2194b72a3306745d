/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Every answer to a FUSE request goes through here, and so does the
 * second step of a launch: the job a request began (qfs_apply, under the
 * tree lock) is committed — checked, spooled, perhaps sent — by the same
 * worker right after the answer, so that no one waits for it and no
 * handler can forget it (fs/ops.c cannot call fuse_reply_* itself). */
#include <errno.h>
#include <stdlib.h>
#include <syslog.h>

#include "questfs.h"

/* Jobs begun while serving this thread's current request, in launch
 * order. A request launches at most one file (the one it releases, renames
 * or opens again); the room for more is a margin. */
#define PENDING_MAX 4
static __thread uint64_t pending[PENDING_MAX];
static __thread unsigned npending;

static void commit(struct qfs *fs, uint64_t id)
{
	struct qerror e;
	enum qerr rc = qjobs_commit(fs->jobs, id, &e);

	/* a refusal is the user's, in status and log; a spool that cannot
	 * be written is the operator's to hear of too */
	if (rc == QE_SYS || rc == QE_NOMEM)
		qfs_log(fs, LOG_ERR, "job %llu not queued: %s",
			(unsigned long long)id, e.msg);
}

void qfs_commit_later(struct qfs *fs, uint64_t id)
{
	/* A commit here, under the tree lock, would break DESIGN.md §10's
	 * rule (nothing slow under it). One launch per request makes more
	 * than PENDING_MAX impossible; reaching it is a bug to stop at
	 * (whatever NDEBUG says), not a case to serve. */
	if (npending == PENDING_MAX) {
		qfs_log(fs, LOG_CRIT,
			"job %llu: more launches in one request "
			"than %d: a bug",
			(unsigned long long)id, PENDING_MAX);
		abort();
	}
	pending[npending++] = id;
}

static void after_reply(struct qfs *fs)
{
	for (unsigned i = 0; i < npending; i++)
		commit(fs, pending[i]);
	npending = 0;
}

int qfs_errno(enum qerr rc)
{
	if (qerr_is_elf(rc))
		return ENOEXEC;
	switch (rc) {
	case QE_OK:
		return 0;
	case QE_NOMEM:
		return ENOMEM;
	case QE_BUSY:
		return EBUSY;
	case QE_LIMIT:
		return EAGAIN;
	case QE_FILE_TOO_BIG:
		return EFBIG;
	case QE_ARGS_TOO_BIG:
		return E2BIG;
	case QE_ARGS_SYNTAX:
	case QE_ARGS_WORD:
	case QE_USAGE:
		return EINVAL;
	default:
		return EIO;
	}
}

/* The request is gone once answered: fs is taken before. */
#define REPLY(call)                                                            \
	do {                                                                   \
		struct qfs *fs = fuse_req_userdata(req);                       \
		call;                                                          \
		after_reply(fs);                                               \
	} while (0)

void qfs_reply_err(fuse_req_t req, int err)
{
	REPLY(fuse_reply_err(req, err));
}

void qfs_reply_none(fuse_req_t req)
{
	REPLY(fuse_reply_none(req));
}

void qfs_reply_entry(fuse_req_t req, const struct fuse_entry_param *e)
{
	REPLY(fuse_reply_entry(req, e));
}

void qfs_reply_create(fuse_req_t req, const struct fuse_entry_param *e,
		      const struct fuse_file_info *fi)
{
	REPLY(fuse_reply_create(req, e, fi));
}

void qfs_reply_attr(fuse_req_t req, const struct stat *st, double timeout)
{
	REPLY(fuse_reply_attr(req, st, timeout));
}

void qfs_reply_open(fuse_req_t req, const struct fuse_file_info *fi)
{
	REPLY(fuse_reply_open(req, fi));
}

void qfs_reply_write(fuse_req_t req, size_t count)
{
	REPLY(fuse_reply_write(req, count));
}

void qfs_reply_buf(fuse_req_t req, const void *buf, size_t size)
{
	REPLY(fuse_reply_buf(req, buf, size));
}

void qfs_reply_xattr(fuse_req_t req, size_t count)
{
	REPLY(fuse_reply_xattr(req, count));
}

void qfs_reply_statfs(fuse_req_t req, const struct statvfs *st)
{
	REPLY(fuse_reply_statfs(req, st));
}
