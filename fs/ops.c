/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The FUSE low-level handlers: glue. Each translates its request into an
 * event of the launch rule (core/launch.c) or a look at the tree, carries
 * the decision out (qfs_apply) and replies exactly once, at its end,
 * through fs/reply.c, which then commits what the request launched. The
 * tree lock is held while a handler looks at files, never across the
 * reply. No request waits on the channel; after its reply, the worker that
 * committed a job may send it itself (core/jobs.c, commit_sends). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <syslog.h>
#include <unistd.h>

#include "names.h"
#include "questfs.h"

/* Replies go through fs/reply.c (qfs_reply_*), which commits the launch a
 * request decided: a direct reply here would skip it. */
#pragma GCC poison fuse_reply_err fuse_reply_none fuse_reply_entry
#pragma GCC poison fuse_reply_create fuse_reply_attr fuse_reply_open
#pragma GCC poison fuse_reply_write fuse_reply_buf fuse_reply_xattr
#pragma GCC poison fuse_reply_statfs fuse_reply_data fuse_reply_iov

#define ARGS_XATTR	   "user.quest.args"
#define QUEST_XATTR_PREFIX "user.quest."

/* Files in run/ change under the kernel's feet (launch, expiry, removal
 * after a refusal): no caching of their entries or attributes. */
#define TTL_FIXED 3600.0
#define TTL_LIVE  0.0

static struct qfs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static const struct {
	const char *name;
	fuse_ino_t ino;
} root_entries[] = {
    {"run", INO_RUN},
    {"status", INO_STATUS},
    {"status.json", INO_STATUS_JSON},
    {"log", INO_LOG},
};

enum hkind { H_FILE, H_SNAPSHOT, H_LOG, H_DIR };

struct handle {
	enum hkind kind;
	struct qlaunch_handle lh; /* H_FILE: the launch rule's view */
	char *buf;		  /* H_SNAPSHOT: the rendered text */
	size_t len;
	struct dent *dents; /* H_DIR */
	size_t ndents;
	struct handle *prev, *next; /* fs->handles */
};

struct dent {
	char *name;
	fuse_ino_t ino;
	mode_t mode;
};

static struct handle *fi_handle(struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

/* status, status.json and log: the size of a fresh rendering (reads use
 * the snapshot taken at open, with direct I/O), changed now. */
static void live_stat(struct qfs *fs, fuse_ino_t ino, struct stat *st)
{
	size_t len = 0;
	char *txt;

	if (ino == INO_LOG) {
		len = qjobs_log_size(fs->jobs);
	} else {
		txt = ino == INO_STATUS ? qfs_status_text(fs, 0, &len)
					: qfs_status_json(fs, 0, &len);
		free(txt);
	}
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_size = (off_t)len;
	st->st_blocks = (st->st_size + 511) / 512;
	clock_gettime(CLOCK_REALTIME, &st->st_mtim);
	st->st_ctim = st->st_mtim;
}

/* Attributes of the fixed inodes. */
static int fixed_stat(struct qfs *fs, fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_atim = st->st_mtim = st->st_ctim = fs->mount_time;
	switch (ino) {
	case INO_ROOT:
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 3;
		return 0;
	case INO_RUN:
		st->st_mode = S_IFDIR | fs->o.run_mode;
		st->st_nlink = 2;
		st->st_uid =
		    fs->o.run_uid >= 0 ? (uid_t)fs->o.run_uid : fs->uid;
		st->st_gid =
		    fs->o.run_gid >= 0 ? (gid_t)fs->o.run_gid : fs->gid;
		pthread_mutex_lock(&fs->lock);
		st->st_mtim = st->st_ctim = fs->run_mtime;
		pthread_mutex_unlock(&fs->lock);
		return 0;
	case INO_STATUS:
	case INO_STATUS_JSON:
	case INO_LOG:
		live_stat(fs, ino, st);
		return 0;
	default:
		return ENOENT;
	}
}

/* stat of any inode; call without the tree lock */
static int do_stat(struct qfs *fs, fuse_ino_t ino, struct stat *st)
{
	if (ino < INO_FIRST_FILE)
		return fixed_stat(fs, ino, st);
	pthread_mutex_lock(&fs->lock);
	struct qfile *f = qfs_by_ino(fs, ino);
	if (f)
		qfs_file_stat(fs, f, st);
	pthread_mutex_unlock(&fs->lock);
	return f ? 0 : ENOENT;
}

static void fill_entry(struct fuse_entry_param *e, const struct stat *st)
{
	memset(e, 0, sizeof *e);
	e->ino = st->st_ino;
	e->attr = *st;
	e->attr_timeout = e->entry_timeout =
	    st->st_ino < INO_FIRST_FILE && st->st_ino != INO_RUN ? TTL_FIXED
								 : TTL_LIVE;
	/* run/ itself never goes away: caching its entry spares a LOOKUP at
	 * every path walk (its attributes stay live) */
	if (st->st_ino == INO_RUN)
		e->entry_timeout = TTL_FIXED;
	if (S_ISREG(st->st_mode))
		e->attr_timeout = TTL_LIVE;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct qfs *fs = req_fs(req);
	struct fuse_entry_param e;
	struct stat st;
	int err = ENOENT;

	if (parent == INO_ROOT) {
		for (size_t i = 0;
		     i < sizeof root_entries / sizeof *root_entries; i++)
			if (!strcmp(name, root_entries[i].name))
				err = fixed_stat(fs, root_entries[i].ino, &st);
	} else if (parent == INO_RUN) {
		pthread_mutex_lock(&fs->lock);
		qfs_expire(fs, 1);
		struct qfile *f = qfs_find(fs, name);
		if (f) {
			qfs_file_stat(fs, f, &st);
			f->nlookup++;
			err = 0;
		}
		pthread_mutex_unlock(&fs->lock);
	} else {
		err = ENOTDIR;
	}
	if (err)
		goto out;
	fill_entry(&e, &st);
	qfs_reply_entry(req, &e);
	return;
out:
	qfs_reply_err(req, err);
}

static void forget_one(struct qfs *fs, fuse_ino_t ino, uint64_t n)
{
	struct qfile *f = qfs_by_ino(fs, ino);

	if (!f)
		return;
	f->nlookup = f->nlookup > n ? f->nlookup - n : 0;
	qfs_maybe_free(fs, f);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct qfs *fs = req_fs(req);

	pthread_mutex_lock(&fs->lock);
	forget_one(fs, ino, nlookup);
	pthread_mutex_unlock(&fs->lock);
	qfs_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	struct qfs *fs = req_fs(req);

	pthread_mutex_lock(&fs->lock);
	for (size_t i = 0; i < count; i++)
		forget_one(fs, forgets[i].ino, forgets[i].nlookup);
	pthread_mutex_unlock(&fs->lock);
	qfs_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct stat st;
	int err = do_stat(req_fs(req), ino, &st);

	(void)fi;
	if (err)
		qfs_reply_err(req, err);
	else
		qfs_reply_attr(req, &st, S_ISREG(st.st_mode) ? TTL_LIVE : 1.0);
}

/* The attributes a setattr may change besides the size. */
static void set_attrs(struct qfs *fs, struct qfile *f, const struct stat *attr,
		      int to_set, const struct timespec *now)
{
	if (to_set & FUSE_SET_ATTR_MODE)
		f->mode = qfs_mode_for(f->name, attr->st_mode);
	if (to_set & FUSE_SET_ATTR_UID)
		qfs_set_owner(fs, f, attr->st_uid);
	if (to_set & FUSE_SET_ATTR_GID)
		f->gid = attr->st_gid;
	if (to_set & FUSE_SET_ATTR_ATIME)
		f->atime = attr->st_atim;
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		f->atime = *now;
	if (to_set & FUSE_SET_ATTR_MTIME)
		f->mtime = attr->st_mtim;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		f->mtime = *now;
	f->ctime = *now;
}

/* truncate(2), ftruncate(2): an event of the launch rule */
static int resize(struct qfs *fs, struct qfile *f, uint64_t size)
{
	struct qlaunch_dec d;
	struct qerror e;
	enum qerr rc = qfs_file_truncate(fs, f, size, &e);

	qlaunch_truncated(&f->launch, size, rc, &e, &d);
	return qfs_apply(fs, f, &d);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct qfs *fs = req_fs(req);
	struct timespec now;
	struct stat st;
	int err = 0;

	(void)fi;
	if (ino < INO_FIRST_FILE) {
		err = ino == INO_ROOT || ino == INO_RUN ? EPERM : EACCES;
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	pthread_mutex_lock(&fs->lock);
	struct qfile *f = qfs_by_ino(fs, ino);
	if (!f)
		err = ENOENT;
	else if (to_set & FUSE_SET_ATTR_SIZE)
		err = resize(fs, f, (uint64_t)attr->st_size);
	if (!err) {
		set_attrs(fs, f, attr, to_set, &now);
		qfs_file_stat(fs, f, &st);
	}
	pthread_mutex_unlock(&fs->lock);
out:
	if (err)
		qfs_reply_err(req, err);
	else
		qfs_reply_attr(req, &st, TTL_LIVE);
}

/* ---- files in run/ ---- */

static void free_dents(struct handle *h);

/* A handle is on fs->handles from its open to its release, so that the
 * ones never released are freed at exit (qfs_free_handles). */
static struct handle *new_handle(struct qfs *fs, enum hkind kind)
{
	struct handle *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->kind = kind;
	pthread_mutex_lock(&fs->hlock);
	h->next = fs->handles;
	if (h->next)
		h->next->prev = h;
	fs->handles = h;
	pthread_mutex_unlock(&fs->hlock);
	return h;
}

static void free_handle(struct qfs *fs, struct handle *h)
{
	pthread_mutex_lock(&fs->hlock);
	if (h->prev)
		h->prev->next = h->next;
	else
		fs->handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&fs->hlock);
	free_dents(h);
	free(h->buf);
	free(h);
}

void qfs_free_handles(struct qfs *fs)
{
	while (fs->handles)
		free_handle(fs, fs->handles);
}

/* Opens an existing file of run/ (lock held). */
static int open_file(struct qfs *fs, struct qfile *f, struct fuse_file_info *fi)
{
	int wr = (fi->flags & O_ACCMODE) != O_RDONLY;
	struct qlaunch_file facts = qfs_facts(f);
	struct qlaunch_dec d;
	struct handle *h;
	struct qerror e;
	int err;

	qlaunch_open(&f->launch, &facts, wr, &fs->lcfg, &d);
	if ((err = qfs_apply(fs, f, &d)))
		return err;
	if (d.begins && qjobs_room_for(fs->jobs, f->uid, 0, 0, &e) != QE_OK) {
		qfs_log(fs, LOG_NOTICE, "run/%s: %s", f->name, e.msg);
		return EAGAIN;
	}
	h = new_handle(fs, H_FILE);
	if (!h)
		return ENOMEM;
	if (wr && (fi->flags & O_TRUNC))
		qfs_file_truncate(fs, f, 0, &e); /* to 0 bytes: cannot fail */
	qlaunch_attach(&f->launch, &h->lh, wr);
	fi->fh = (uintptr_t)h;
	/* Bytes go straight to the file, never through the page cache: one
	 * copy fewer, no cache to drop when the file launches or empties,
	 * and the kernel leaves clearing set-id bits to us (op_write)
	 * instead of asking for security.capability before every write.
	 * Only a shared mmap(2) of a file in run/ is refused (ENODEV). */
	fi->direct_io = 1;
	return 0;
}

/* Opens status, status.json or log: read-only snapshots, rendered for
 * their reader (others' arguments hidden). */
static int open_fixed(struct qfs *fs, fuse_ino_t ino, uid_t reader,
		      struct fuse_file_info *fi)
{
	struct handle *h;

	if (ino == INO_ROOT || ino == INO_RUN)
		return EISDIR;
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		return EACCES;
	h = new_handle(fs, ino == INO_LOG ? H_LOG : H_SNAPSHOT);
	if (!h)
		return ENOMEM;
	if (ino == INO_STATUS)
		h->buf = qfs_status_text(fs, reader, &h->len);
	else if (ino == INO_STATUS_JSON)
		h->buf = qfs_status_json(fs, reader, &h->len);
	if (h->kind == H_SNAPSHOT && !h->buf) {
		free_handle(fs, h);
		return ENOMEM;
	}
	/* the size changes under the reader: bypass the page cache */
	fi->direct_io = 1;
	fi->fh = (uintptr_t)h;
	return 0;
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct qfs *fs = req_fs(req);
	int err;

	if (ino >= INO_FIRST_FILE) {
		pthread_mutex_lock(&fs->lock);
		struct qfile *f = qfs_by_ino(fs, ino);
		err = f ? open_file(fs, f, fi) : ENOENT;
		pthread_mutex_unlock(&fs->lock);
	} else {
		err = open_fixed(fs, ino, fuse_req_ctx(req)->uid, fi);
	}
	if (err)
		qfs_reply_err(req, err);
	else
		qfs_reply_open(req, fi);
}

/* Creates (or opens, without O_EXCL) `name` in run/ (lock held). */
static int create_file(struct qfs *fs, const char *name, mode_t mode,
		       const struct fuse_ctx *ctx, struct fuse_file_info *fi,
		       struct stat *st)
{
	struct qfile *f = qfs_find(fs, name);
	int err;

	if (f && (fi->flags & O_EXCL))
		return EEXIST;
	if (!f)
		f = qfs_new_file(fs, name, mode, ctx->uid, ctx->gid);
	err = f ? open_file(fs, f, fi) : errno; /* EAGAIN: user_max_files */
	if (!err) {
		f->nlookup++;
		qfs_file_stat(fs, f, st);
	} else if (f && !f->launch.opens && !f->nlookup && !f->job_id &&
		   !f->size) {
		qfs_detach(fs, f); /* refused before anyone saw it */
		qfs_maybe_free(fs, f);
	}
	return err;
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct qfs *fs = req_fs(req);
	struct fuse_entry_param e;
	struct stat st;
	int err;

	if (parent != INO_RUN) {
		err = parent == INO_ROOT ? EACCES : ENOTDIR;
		goto out;
	}
	if (strlen(name) > QJOB_NAME_MAX) {
		err = ENAMETOOLONG;
		goto out;
	}
	pthread_mutex_lock(&fs->lock);
	qfs_expire(fs, 1);
	err = create_file(fs, name, mode, fuse_req_ctx(req), fi, &st);
	pthread_mutex_unlock(&fs->lock);
	if (!err)
		fill_entry(&e, &st);
out:
	if (err)
		qfs_reply_err(req, err);
	else
		qfs_reply_create(req, &e, fi);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	struct qfs *fs = req_fs(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct fuse_entry_param e;
	struct stat st;
	int err = 0;

	(void)rdev;
	if (parent != INO_RUN || !S_ISREG(mode)) {
		err = EPERM; /* run/ holds regular files only */
		goto out;
	}
	pthread_mutex_lock(&fs->lock);
	struct qfile *f = qfs_find(fs, name);
	if (f)
		err = EEXIST;
	else if (!(f = qfs_new_file(fs, name, mode, ctx->uid, ctx->gid)))
		err = errno; /* EAGAIN past user_max_files */
	if (!err) {
		f->nlookup++;
		qfs_file_stat(fs, f, &st);
		fill_entry(&e, &st);
	}
	pthread_mutex_unlock(&fs->lock);
out:
	if (err)
		qfs_reply_err(req, err);
	else
		qfs_reply_entry(req, &e);
}

/* Up to size bytes of a file of run/ at off into buf (lock held): its
 * bytes while it is written, its job's while the job holds them, then
 * what its head still has; *n of them, or ENODATA where they are gone. */
static int read_file(struct qfs *fs, struct qfile *f, char *buf, size_t size,
		     off_t off, size_t *n)
{
	*n = 0;
	if (f->data) {
		if (off >= 0 && (size_t)off < f->size)
			*n = f->size - (size_t)off < size
				 ? f->size - (size_t)off
				 : size;
		memcpy(buf, f->data + off, *n);
	} else if (f->job_id) {
		ssize_t r = qjobs_read(fs->jobs, f->job_id, buf, size, off);
		if (r < 0) /* the job has let go: what the head still has */
			r = qfs_file_read_head(f, buf, size, off);
		if (r < 0)
			return ENODATA;
		*n = (size_t)r;
	}
	return 0;
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct qfs *fs = req_fs(req);
	struct handle *h = fi_handle(fi);
	const char *src = NULL;
	char *buf = NULL;
	size_t n = 0;
	int err = 0;

	if (h->kind == H_SNAPSHOT) {
		if (off >= 0 && (size_t)off < h->len)
			n = h->len - (size_t)off < size ? h->len - (size_t)off
							: size;
		src = n ? h->buf + off : NULL;
		goto out;
	}
	src = buf = malloc(size ? size : 1);
	if (!buf) {
		err = ENOMEM;
	} else if (h->kind == H_LOG) {
		uid_t reader = fuse_req_ctx(req)->uid;
		n = qjobs_log_read_as(fs->jobs, reader,
				      qfs_sees_all(fs, reader), buf, size, off);
	} else {
		pthread_mutex_lock(&fs->lock);
		struct qfile *f = qfs_by_ino(fs, ino);
		if (f)
			err = read_file(fs, f, buf, size, off, &n);
		pthread_mutex_unlock(&fs->lock);
	}
out:
	if (err)
		qfs_reply_err(req, err);
	else
		qfs_reply_buf(req, src, n);
	free(buf);
}

/* One write into a file of run/ (lock held): an event of the launch rule,
 * whatever storing the bytes gave. */
static int write_file(struct qfs *fs, struct qfile *f, struct handle *h,
		      const char *buf, size_t size, off_t off, uid_t uid)
{
	struct qlaunch_dec d;
	struct qerror e;
	enum qerr rc;

	if (qlaunch_write_may(&f->launch, &h->lh, &d) != QE_OK)
		return qfs_apply(fs, f, &d);
	rc = qfs_file_write(fs, f, buf, size, off, &e);
	qlaunch_wrote(&f->launch, &h->lh, rc, &e, &d);
	/* what the kernel does for a write through the page cache: a set-id
	 * file written by someone else than root loses its set-id bits */
	if (rc == QE_OK && uid != 0)
		f->mode &=
		    ~(mode_t)(S_ISUID | (f->mode & S_IXGRP ? S_ISGID : 0));
	return qfs_apply(fs, f, &d);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct qfs *fs = req_fs(req);
	int err = ENOENT;

	pthread_mutex_lock(&fs->lock);
	struct qfile *f = qfs_by_ino(fs, ino);
	if (f)
		err = write_file(fs, f, fi_handle(fi), buf, size, off,
				 fuse_req_ctx(req)->uid);
	pthread_mutex_unlock(&fs->lock);
	if (err)
		qfs_reply_err(req, err);
	else
		qfs_reply_write(req, size);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct qfs *fs = req_fs(req);
	struct handle *h = fi_handle(fi);
	struct qlaunch_dec d;
	int err = 0;

	if (h->kind != H_FILE)
		goto out;
	pthread_mutex_lock(&fs->lock);
	struct qfile *f = qfs_by_ino(fs, ino);
	if (f) {
		struct qlaunch_file facts = qfs_facts(f);
		qlaunch_flush(&f->launch, &h->lh, &facts, &fs->lcfg, &d);
		err = qfs_apply(fs, f, &d);
	}
	pthread_mutex_unlock(&fs->lock);
out:
	qfs_reply_err(req, err);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	struct qfs *fs = req_fs(req);
	struct qlaunch_dec d;
	int err = 0;

	(void)datasync;
	(void)fi;
	pthread_mutex_lock(&fs->lock);
	struct qfile *f = qfs_by_ino(fs, ino);
	if (f) {
		struct qlaunch_file facts = qfs_facts(f);
		qlaunch_fsync(&f->launch, &facts, &fs->lcfg, &d);
		err = qfs_apply(fs, f, &d);
	}
	pthread_mutex_unlock(&fs->lock);
	qfs_reply_err(req, err);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct qfs *fs = req_fs(req);
	struct handle *h = fi_handle(fi);
	struct qlaunch_dec d;

	if (h->kind == H_FILE) {
		pthread_mutex_lock(&fs->lock);
		struct qfile *f = qfs_by_ino(fs, ino);
		if (f) {
			struct qlaunch_file facts = qfs_facts(f);
			qlaunch_release(&f->launch, &h->lh, &facts, &d);
			qfs_apply(fs, f, &d);
			qfs_maybe_free(fs, f);
		}
		pthread_mutex_unlock(&fs->lock);
	}
	free_handle(fs, h);
	/* close(2) returned at FLUSH: the launch's check and spool write
	 * (fs/reply.c, after this reply) make no one wait */
	qfs_reply_err(req, 0);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct qfs *fs = req_fs(req);
	int err = 0;

	if (parent != INO_RUN) {
		err = parent == INO_ROOT ? EPERM : ENOTDIR;
		goto out;
	}
	pthread_mutex_lock(&fs->lock);
	struct qfile *f = qfs_find(fs, name);
	if (f) {
		qfs_detach(fs, f);
		qfs_maybe_free(fs, f);
	} else {
		err = ENOENT;
	}
	pthread_mutex_unlock(&fs->lock);
out:
	qfs_reply_err(req, err);
}

/* Renames within run/ (lock held): an event of the launch rule. */
static int rename_file(struct qfs *fs, const char *name, const char *newname,
		       unsigned int flags)
{
	struct qfile *f = qfs_find(fs, name), *old = qfs_find(fs, newname);
	struct qlaunch_dec d;
	char *nn;

	if (!f)
		return ENOENT;
	if (old && (flags & RENAME_NOREPLACE))
		return EEXIST;
	if (f == old)
		return 0;
	if (!(nn = strdup(newname)))
		return ENOMEM;
	struct qlaunch_file facts = qfs_facts(f);
	if (qlaunch_rename(&f->launch, &facts, newname, &fs->lcfg, &d) !=
	    QE_OK) {
		free(nn);
		return qfs_apply(fs, f, &d);
	}
	if (old) {
		qfs_detach(fs, old);
		qfs_maybe_free(fs, old);
	}
	qfs_set_name(fs, f, nn);
	clock_gettime(CLOCK_REALTIME, &f->ctime);
	fs->run_mtime = f->ctime;
	return qfs_apply(fs, f, &d);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct qfs *fs = req_fs(req);
	int err = 0;

	if (parent != INO_RUN || newparent != INO_RUN)
		err =
		    parent == INO_ROOT || newparent == INO_ROOT ? EPERM : EXDEV;
	else if (flags & RENAME_EXCHANGE)
		err = EINVAL;
	else if (strlen(newname) > QJOB_NAME_MAX)
		err = ENAMETOOLONG;
	if (err)
		goto out;
	pthread_mutex_lock(&fs->lock);
	err = rename_file(fs, name, newname, flags);
	pthread_mutex_unlock(&fs->lock);
out:
	qfs_reply_err(req, err);
}

static void op_refuse_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
			    mode_t mode)
{
	(void)parent, (void)name, (void)mode;
	qfs_reply_err(req, EPERM);
}

static void op_refuse_symlink(fuse_req_t req, const char *link,
			      fuse_ino_t parent, const char *name)
{
	(void)link, (void)parent, (void)name;
	qfs_reply_err(req, EPERM);
}

static void op_refuse_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
			   const char *newname)
{
	(void)ino, (void)newparent, (void)newname;
	qfs_reply_err(req, EPERM);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)name;
	qfs_reply_err(req, parent == INO_ROOT ? EPERM : ENOTDIR);
}

/* ---- directories ---- */

static int add_dent(struct handle *h, const char *name, fuse_ino_t ino,
		    mode_t mode)
{
	struct dent *d = realloc(h->dents, (h->ndents + 1) * sizeof *d);
	if (!d)
		return ENOMEM;
	h->dents = d;
	d += h->ndents;
	if (!(d->name = strdup(name)))
		return ENOMEM;
	d->ino = ino;
	d->mode = mode;
	h->ndents++;
	return 0;
}

static void free_dents(struct handle *h)
{
	for (size_t i = 0; i < h->ndents; i++)
		free(h->dents[i].name);
	free(h->dents);
}

/* The entries of / or run/, as they are at opendir. */
static int fill_dir(struct qfs *fs, struct handle *h, fuse_ino_t ino)
{
	int err = add_dent(h, ".", ino, S_IFDIR);

	if (!err)
		err = add_dent(h, "..", INO_ROOT, S_IFDIR);
	if (ino == INO_ROOT) {
		for (size_t i = 0;
		     !err && i < sizeof root_entries / sizeof *root_entries;
		     i++)
			err = add_dent(
			    h, root_entries[i].name, root_entries[i].ino,
			    root_entries[i].ino == INO_RUN ? S_IFDIR : S_IFREG);
		return err;
	}
	pthread_mutex_lock(&fs->lock);
	qfs_expire(fs, 0);
	for (struct qfile *f = fs->files; !err && f; f = f->next)
		if (f->name)
			err = add_dent(h, f->name, f->ino, S_IFREG);
	pthread_mutex_unlock(&fs->lock);
	return err;
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct handle *h = NULL;
	int err = 0;

	if (ino != INO_ROOT && ino != INO_RUN)
		err = ENOTDIR;
	else if (!(h = new_handle(req_fs(req), H_DIR)))
		err = ENOMEM;
	else if ((err = fill_dir(req_fs(req), h, ino))) {
		free_handle(req_fs(req), h);
	} else {
		fi->fh = (uintptr_t)h;
	}
	if (err)
		qfs_reply_err(req, err);
	else
		qfs_reply_open(req, fi);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct handle *h = fi_handle(fi);
	char *buf = malloc(size);
	size_t used = 0;

	(void)ino;
	if (!buf) {
		qfs_reply_err(req, ENOMEM);
		return;
	}
	for (size_t i = (size_t)off; i < h->ndents; i++) {
		struct stat st = {.st_ino = h->dents[i].ino,
				  .st_mode = h->dents[i].mode};
		size_t n =
		    fuse_add_direntry(req, buf + used, size - used,
				      h->dents[i].name, &st, (off_t)i + 1);
		if (n > size - used)
			break;
		used += n;
	}
	qfs_reply_buf(req, buf, used);
	free(buf);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct handle *h = fi_handle(fi);

	(void)ino;
	free_handle(req_fs(req), h);
	qfs_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct qfs *fs = req_fs(req);
	struct qjobs_summary s;
	struct statvfs sv;
	unsigned active;
	size_t held;

	(void)ino;
	qjobs_summary(fs->jobs, &s);
	pthread_mutex_lock(&fs->lock);
	held = s.held_bytes + fs->writing_bytes;
	pthread_mutex_unlock(&fs->lock);
	active = s.count[QJ_QUEUED] + s.count[QJ_SENDING];
	memset(&sv, 0, sizeof sv);
	/* room left for programs: what may still be held, and queue places */
	sv.f_bsize = sv.f_frsize = 4096;
	sv.f_blocks = fs->o.max_bytes / 4096;
	sv.f_bfree = sv.f_bavail =
	    held < fs->o.max_bytes ? (fs->o.max_bytes - held) / 4096 : 0;
	sv.f_files = fs->o.max_queue;
	sv.f_ffree = sv.f_favail =
	    active < fs->o.max_queue ? fs->o.max_queue - active : 0;
	sv.f_namemax = QJOB_NAME_MAX;
	qfs_reply_statfs(req, &sv);
}

static void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	int err = 0;

	if ((mask & W_OK) && ino != INO_RUN && ino < INO_FIRST_FILE)
		err = EACCES;
	qfs_reply_err(req, err);
}

/* ---- extended attributes ---- */

static int is_acl(const char *name)
{
	return !strncmp(name, "system.posix_acl_", 17);
}

/* user.quest.state, .error, .job: computed from the file's last job, or
 * from a refusal waiting for its release. */
static int computed_xattr(struct qfs *fs, struct qfile *f, int mine,
			  const char *name, char *dst, size_t n)
{
	const struct qerror *why = qlaunch_pending(&f->launch);
	const char *key = name + strlen(QUEST_XATTR_PREFIX);
	struct qjob_info j;

	if (strncmp(name, QUEST_XATTR_PREFIX, strlen(QUEST_XATTR_PREFIX)) ||
	    (strcmp(key, "state") && strcmp(key, "error") &&
	     strcmp(key, "job")))
		return -1;
	if (why && strcmp(key, "job"))
		return snprintf(dst, n, "%s",
				!strcmp(key, "state") ? "refused"
				: mine || !qerr_quotes_args(why->code)
				    ? why->msg
				    : QFS_HIDDEN_REASON);
	if (f->launch.writers || f->launch.dirty || !f->job_id ||
	    qjobs_get(fs->jobs, f->job_id, &j) < 0) {
		if (!strcmp(key, "state") &&
		    (f->launch.writers || f->launch.dirty))
			return snprintf(dst, n, "%s",
					f->launch.writers ? "writing"
							  : "written");
		return 0; /* ENODATA */
	}
	if (!strcmp(key, "state"))
		return snprintf(dst, n, "%s", qjob_state_name(j.state));
	if (!strcmp(key, "job"))
		return snprintf(dst, n, "%llu", (unsigned long long)j.id);
	if (!j.detail[0] || j.state < QJ_REFUSED)
		return 0;
	return snprintf(dst, n, "%s",
			mine || !qerr_quotes_args(j.code) ? j.detail
							  : QFS_HIDDEN_REASON);
}

static void reply_value(fuse_req_t req, const void *v, size_t len, size_t size)
{
	if (!size)
		qfs_reply_xattr(req, len);
	else if (len > size)
		qfs_reply_err(req, ERANGE);
	else
		qfs_reply_buf(req, v, len);
}

/* A copy of the value of `name` on ino as `reader` may see it (lock held):
 * *copy malloc'd. A file's arguments are its owner's and root's, as in
 * status: EACCES for anyone else (run/'s are the defaults of every
 * user's programs, and no secret). */
static int get_value(struct qfs *fs, fuse_ino_t ino, uid_t reader,
		     const char *name, void **copy, size_t *len)
{
	char val[QERR_MSG_MAX + 64];
	const struct xattr *x = NULL;
	int n = -1;

	if (ino == INO_RUN) {
		x = qfs_xattr_get(&fs->run_xattrs, name);
	} else if (ino >= INO_FIRST_FILE) {
		struct qfile *f = qfs_by_ino(fs, ino);
		int mine = f && (f->uid == reader || qfs_sees_all(fs, reader));
		if (!f)
			return ENOENT;
		if ((n = computed_xattr(fs, f, mine, name, val, sizeof val)) <
		    0) {
			x = qfs_xattr_get(&f->xattrs, name);
			if (x && !mine && !strcmp(name, ARGS_XATTR))
				return EACCES;
		}
	}
	if (n <= 0 && !x)
		return ENODATA;
	*len = n > 0 ? ((size_t)n < sizeof val ? (size_t)n : sizeof val - 1)
		     : x->size;
	if (!(*copy = malloc(*len ? *len : 1)))
		return ENOMEM;
	memcpy(*copy, n > 0 ? val : x->value, *len);
	return 0;
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	struct qfs *fs = req_fs(req);
	void *copy = NULL;
	size_t len = 0;
	int err;

	/* Only user.* names are ever stored. The kernel asks for
	 * security.capability before every write and truncate: answered
	 * without waiting for the tree. */
	if (is_acl(name)) {
		err = ENOTSUP;
	} else if (strncmp(name, "user.", 5)) {
		err = ENODATA;
	} else {
		pthread_mutex_lock(&fs->lock);
		err = get_value(fs, ino, fuse_req_ctx(req)->uid, name, &copy,
				&len);
		pthread_mutex_unlock(&fs->lock);
	}
	if (err)
		qfs_reply_err(req, err);
	else
		reply_value(req, copy, len, size);
	free(copy);
}

/* The stored xattrs of ino (lock held): run/'s or a file's (*f). */
static int xattr_list(struct qfs *fs, fuse_ino_t ino, struct xattrs **list,
		      struct qfile **f)
{
	*f = NULL;
	if (ino == INO_RUN) {
		*list = &fs->run_xattrs;
		return 0;
	}
	if (ino < INO_FIRST_FILE)
		return EPERM;
	if (!(*f = qfs_by_ino(fs, ino)))
		return ENOENT;
	*list = &(*f)->xattrs;
	return 0;
}

/* setxattr (lock held): user.quest.args is an event of the launch rule;
 * state, error and job are questfs's to say; run/'s, defaults for all, its
 * owner's. */
static int set_xattr(struct qfs *fs, fuse_ino_t ino, uid_t uid,
		     const char *name, const char *value, size_t size,
		     int flags)
{
	struct xattrs *list;
	struct qlaunch_dec d;
	struct qfile *f;
	int err = xattr_list(fs, ino, &list, &f);

	if (!err && !f && !qfs_owns_run(fs, uid))
		err = EPERM;
	if (!err &&
	    !strncmp(name, QUEST_XATTR_PREFIX, strlen(QUEST_XATTR_PREFIX)) &&
	    strcmp(name, ARGS_XATTR))
		err = EPERM;
	if (!err && !strcmp(name, ARGS_XATTR)) {
		qlaunch_set_args(f ? &f->launch : NULL, f ? f->name : NULL,
				 value, size, &fs->lcfg, &d);
		err = f ? qfs_apply(fs, f, &d) : qfs_errno(d.rc);
		if (d.refused && !f)
			qfs_log(fs, LOG_INFO,
				"run/: " ARGS_XATTR " refused: %s", d.why.msg);
	}
	if (!err) /* counted as bytes held: EAGAIN past the limits */
		err = qfs_xattr_set_for(fs, f, uid, name, value, size, flags);
	return err;
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	struct qfs *fs = req_fs(req);
	int err;

	if (is_acl(name))
		err = ENOTSUP; /* cp, mv and install fall back to chmod */
	else if (strncmp(name, "user.", 5))
		err = ENOTSUP;
	else if (size > 65536)
		err = E2BIG;
	else {
		pthread_mutex_lock(&fs->lock);
		err = set_xattr(fs, ino, fuse_req_ctx(req)->uid, name, value,
				size, flags);
		pthread_mutex_unlock(&fs->lock);
	}
	qfs_reply_err(req, err);
}

static const char *const computed_names[] = {
    "user.quest.state", "user.quest.error", "user.quest.job"};
#define NCOMPUTED (sizeof computed_names / sizeof *computed_names)

/* The names of ino's xattrs, stored and computed (lock held): *buf
 * malloc'd. */
static int list_names(struct qfs *fs, fuse_ino_t ino, char **buf, size_t *len)
{
	struct xattrs *list = NULL;
	struct qfile *f = NULL;
	char val[8];
	int have[NCOMPUTED] = {0};
	size_t o = 0;

	if (ino >= INO_FIRST_FILE || ino == INO_RUN) {
		int err = xattr_list(fs, ino, &list, &f);
		if (err)
			return err;
	}
	*len = 0;
	for (unsigned i = 0; list && i < list->n; i++)
		*len += strlen(list->v[i]->name) + 1;
	for (size_t i = 0; f && i < NCOMPUTED; i++)
		if ((have[i] = computed_xattr(fs, f, 1, computed_names[i], val,
					      sizeof val) > 0))
			*len += strlen(computed_names[i]) + 1;
	if (!(*buf = malloc(*len ? *len : 1)))
		return ENOMEM;
	for (unsigned i = 0; list && i < list->n; i++) {
		size_t k = strlen(list->v[i]->name) + 1;
		memcpy(*buf + o, list->v[i]->name, k);
		o += k;
	}
	for (size_t i = 0; i < NCOMPUTED; i++)
		if (have[i]) {
			memcpy(*buf + o, computed_names[i],
			       strlen(computed_names[i]) + 1);
			o += strlen(computed_names[i]) + 1;
		}
	return 0;
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct qfs *fs = req_fs(req);
	char *buf = NULL;
	size_t len = 0;
	int err;

	pthread_mutex_lock(&fs->lock);
	err = list_names(fs, ino, &buf, &len);
	pthread_mutex_unlock(&fs->lock);
	if (err)
		qfs_reply_err(req, err);
	else
		reply_value(req, buf, len, size);
	free(buf);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct qfs *fs = req_fs(req);
	int err = ENODATA;

	if (is_acl(name)) {
		err = ENOTSUP;
		goto out;
	}
	pthread_mutex_lock(&fs->lock);
	if (ino == INO_RUN && !qfs_owns_run(fs, fuse_req_ctx(req)->uid)) {
		err = EPERM;
	} else if (ino == INO_RUN) {
		err = qfs_xattr_remove_for(fs, NULL, name);
	} else if (ino >= INO_FIRST_FILE) {
		struct qfile *f = qfs_by_ino(fs, ino);
		err = f ? qfs_xattr_remove_for(fs, f, name) : ENOENT;
		if (f && !strcmp(name, ARGS_XATTR))
			qlaunch_clear_args(&f->launch);
	}
	pthread_mutex_unlock(&fs->lock);
out:
	qfs_reply_err(req, err);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* open(O_TRUNC) arrives as one OPEN, not OPEN + SETATTR(size=0) */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* no splice: writes are small copies into memory anyway */
	conn->want &= ~(unsigned)FUSE_CAP_SPLICE_READ;
}

const struct fuse_lowlevel_ops qfs_ops = {
    .init = op_init,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .setattr = op_setattr,
    .mknod = op_mknod,
    .mkdir = op_refuse_mkdir,
    .symlink = op_refuse_symlink,
    .link = op_refuse_link,
    .unlink = op_unlink,
    .rmdir = op_rmdir,
    .rename = op_rename,
    .open = op_open,
    .create = op_create,
    .read = op_read,
    .write = op_write,
    .flush = op_flush,
    .fsync = op_fsync,
    .release = op_release,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .releasedir = op_releasedir,
    .statfs = op_statfs,
    .access = op_access,
    .setxattr = op_setxattr,
    .getxattr = op_getxattr,
    .listxattr = op_listxattr,
    .removexattr = op_removexattr,
};
