/* The FUSE low-level handlers. Each replies exactly once, at `out`. The
 * tree lock is held while a handler looks at files; nothing here waits on
 * the channel (the sender thread of core/jobs.c does). */
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

#define ARGS_XATTR	   "user.quest.args"
#define QUEST_XATTR_PREFIX "user.quest."

/* Files in run/ change under the kernel's feet (launch, expiry, removal
 * after a refusal): no caching of their entries or attributes. */
#define TTL_FIXED 3600.0
#define TTL_LIVE  0.0

static struct qfs *FS(fuse_req_t req)
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
	int writer, wrote;
	int closed; /* FLUSH came: its user closed it; RELEASE may lag */
	char *buf;  /* H_SNAPSHOT: the rendered text */
	size_t len;
	struct dent *dents; /* H_DIR */
	size_t ndents;
};

struct dent {
	char *name;
	fuse_ino_t ino;
	mode_t mode;
};

static struct handle *H(struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

/* Attributes of the fixed inodes; status files report the size of a fresh
 * rendering (reads use the snapshot taken at open, with direct I/O). */
static int fixed_stat(struct qfs *fs, fuse_ino_t ino, struct stat *st)
{
	size_t len = 0;
	char *txt;

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
		txt = ino == INO_STATUS ? qfs_status_text(fs, 0, &len)
					: qfs_status_json(fs, 0, &len);
		free(txt);
		break;
	case INO_LOG:
		len = qjobs_log_size(fs->jobs);
		break;
	default:
		return ENOENT;
	}
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_size = (off_t)len;
	st->st_blocks = (st->st_size + 511) / 512;
	clock_gettime(CLOCK_REALTIME, &st->st_mtim);
	st->st_ctim = st->st_mtim;
	return 0;
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

static void qfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct qfs *fs = FS(req);
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
	fuse_reply_entry(req, &e);
	return;
out:
	fuse_reply_err(req, err);
}

static void forget_one(struct qfs *fs, fuse_ino_t ino, uint64_t n)
{
	struct qfile *f = qfs_by_ino(fs, ino);

	if (!f)
		return;
	f->nlookup = f->nlookup > n ? f->nlookup - n : 0;
	qfs_maybe_free(fs, f);
}

static void qfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct qfs *fs = FS(req);

	pthread_mutex_lock(&fs->lock);
	forget_one(fs, ino, nlookup);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_none(req);
}

static void qfs_forget_multi(fuse_req_t req, size_t count,
			     struct fuse_forget_data *forgets)
{
	struct qfs *fs = FS(req);

	pthread_mutex_lock(&fs->lock);
	for (size_t i = 0; i < count; i++)
		forget_one(fs, forgets[i].ino, forgets[i].nlookup);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_none(req);
}

static void qfs_getattr(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	struct stat st;
	int err = do_stat(FS(req), ino, &st);

	(void)fi;
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, S_ISREG(st.st_mode) ? TTL_LIVE : 1.0);
}

static void qfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			int to_set, struct fuse_file_info *fi)
{
	struct qfs *fs = FS(req);
	struct qfile *f;
	struct stat st;
	struct timespec now;
	int err = 0;

	(void)fi;
	if (ino < INO_FIRST_FILE) {
		err = ino == INO_ROOT || ino == INO_RUN ? EPERM : EACCES;
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	pthread_mutex_lock(&fs->lock);
	f = qfs_by_ino(fs, ino);
	if (!f) {
		err = ENOENT;
	} else {
		if (to_set & FUSE_SET_ATTR_SIZE)
			err = qfs_file_truncate(fs, f, (uint64_t)attr->st_size);
		if (!err && (to_set & FUSE_SET_ATTR_SIZE) && attr->st_size)
			f->dirty = 1;
		if (!err && (to_set & FUSE_SET_ATTR_MODE))
			f->mode = attr->st_mode & 07777;
		if (!err && (to_set & FUSE_SET_ATTR_UID))
			qfs_set_owner(fs, f, attr->st_uid);
		if (!err && (to_set & FUSE_SET_ATTR_GID))
			f->gid = attr->st_gid;
		if (!err && (to_set & FUSE_SET_ATTR_ATIME))
			f->atime = attr->st_atim;
		if (!err && (to_set & FUSE_SET_ATTR_ATIME_NOW))
			f->atime = now;
		if (!err && (to_set & FUSE_SET_ATTR_MTIME))
			f->mtime = attr->st_mtim;
		if (!err && (to_set & FUSE_SET_ATTR_MTIME_NOW))
			f->mtime = now;
		if (!err)
			f->ctime = now;
		if (!err)
			qfs_file_stat(fs, f, &st);
	}
	pthread_mutex_unlock(&fs->lock);
out:
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, TTL_LIVE);
}

/* ---- files in run/ ---- */

static struct handle *new_handle(enum hkind kind)
{
	struct handle *h = calloc(1, sizeof *h);
	if (h)
		h->kind = kind;
	return h;
}

/* RELEASE comes after close(2) returns, asynchronously: a script that
 * copies the same name twice opens it again before the first copy's
 * RELEASE. Every writer has closed, so that copy is finished: it launches
 * (or its refusal is recorded) now, as its last RELEASE would have done.
 * The job to commit, or 0. */
static uint64_t settle(struct qfs *fs, struct qfile *f)
{
	if (!f->name)
		return 0;
	if (f->flush_err) {
		if (!qname_is_sidecar(f->name))
			f->job_id =
			    qjobs_record_refusal(fs->jobs, f->name, f->size,
						 f->ino, f->uid, f->flush_err);
		qfs_refusal(&f->flush_err, NULL);
	} else if (f->dirty && qname_launches(f->name)) {
		return qfs_launch(fs, f);
	}
	return 0;
}

/* Opens an existing file of run/ (lock held); *commit: a job that the
 * caller commits once it has answered. */
static int open_file(struct qfs *fs, struct qfile *f, struct fuse_file_info *fi,
		     uint64_t *commit)
{
	int wr = (fi->flags & O_ACCMODE) != O_RDONLY;
	struct handle *h;
	struct qerror e;

	if (wr && f->writers > f->closing)
		return EBUSY; /* one writer at a time: two would mix programs */
	if (wr && f->writers)
		*commit = settle(fs, f);
	if (wr && !f->writers && qname_launches(f->name ? f->name : "") &&
	    qjobs_room_for(fs->jobs, f->uid, 0, 0, &e) != QE_OK) {
		qfs_log(fs, LOG_NOTICE, "run/%s: %s", f->name, e.msg);
		return EAGAIN;
	}
	h = new_handle(H_FILE);
	if (!h)
		return ENOMEM;
	if (wr && (fi->flags & O_TRUNC)) {
		int err = qfs_file_truncate(fs, f, 0);
		if (err) {
			free(h);
			return err;
		}
	}
	h->writer = wr;
	f->writers += wr;
	f->opens++;
	fi->fh = (uintptr_t)h;
	/* Bytes go straight to the file, never through the page cache: one
	 * copy fewer, no cache to drop when the file launches or empties,
	 * and the kernel leaves clearing set-id bits to us (qfs_write)
	 * instead of asking for security.capability before every write.
	 * Only a shared mmap(2) of a file in run/ is refused (ENODEV). */
	fi->direct_io = 1;
	return 0;
}

static void qfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct qfs *fs = FS(req);
	struct handle *h = NULL;
	uint64_t commit = 0;
	int err = 0;

	if (ino >= INO_FIRST_FILE) {
		pthread_mutex_lock(&fs->lock);
		struct qfile *f = qfs_by_ino(fs, ino);
		err = f ? open_file(fs, f, fi, &commit) : ENOENT;
		pthread_mutex_unlock(&fs->lock);
		goto out;
	}
	if (ino == INO_ROOT || ino == INO_RUN) {
		err = EISDIR;
		goto out;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		err = EACCES;
		goto out;
	}
	h = new_handle(ino == INO_LOG ? H_LOG : H_SNAPSHOT);
	if (!h) {
		err = ENOMEM;
		goto out;
	}
	/* rendered for its reader: others' arguments hidden */
	if (ino == INO_STATUS)
		h->buf = qfs_status_text(fs, fuse_req_ctx(req)->uid, &h->len);
	else if (ino == INO_STATUS_JSON)
		h->buf = qfs_status_json(fs, fuse_req_ctx(req)->uid, &h->len);
	if (h->kind == H_SNAPSHOT && !h->buf) {
		free(h);
		err = ENOMEM;
		goto out;
	}
	/* the size changes under the reader: bypass the page cache */
	fi->direct_io = 1;
	fi->fh = (uintptr_t)h;
out:
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_open(req, fi);
	qfs_commit(fs, commit);
}

static void qfs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		       mode_t mode, struct fuse_file_info *fi)
{
	struct qfs *fs = FS(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct fuse_entry_param e;
	struct qfile *f;
	struct stat st;
	uint64_t commit = 0;
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
	f = qfs_find(fs, name);
	if (f && (fi->flags & O_EXCL)) {
		err = EEXIST;
	} else {
		if (!f)
			f = qfs_new_file(fs, name, mode, ctx->uid, ctx->gid);
		err = f ? open_file(fs, f, fi, &commit) : errno;
		if (!err) {
			f->nlookup++;
			qfs_file_stat(fs, f, &st);
		} else if (f && !f->opens && !f->nlookup && !f->job_id &&
			   !f->size) {
			qfs_detach(fs, f); /* refused before anyone saw it */
			qfs_maybe_free(fs, f);
		}
	}
	pthread_mutex_unlock(&fs->lock);
	if (err)
		goto out;
	fill_entry(&e, &st);
	fuse_reply_create(req, &e, fi);
	qfs_commit(fs, commit);
	return;
out:
	fuse_reply_err(req, err);
	qfs_commit(fs, commit);
}

static void qfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, dev_t rdev)
{
	struct qfs *fs = FS(req);
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
	}
	pthread_mutex_unlock(&fs->lock);
out:
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fill_entry(&e, &st);
	fuse_reply_entry(req, &e);
}

static void qfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct qfs *fs = FS(req);
	struct handle *h = H(fi);
	char *buf = NULL;
	size_t n = 0;
	int err = 0;

	if (h->kind == H_SNAPSHOT) {
		if (off >= 0 && (size_t)off < h->len)
			n = h->len - (size_t)off < size ? h->len - (size_t)off
							: size;
		fuse_reply_buf(req, n ? h->buf + off : NULL, n);
		return;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		err = ENOMEM;
		goto out;
	}
	if (h->kind == H_LOG) {
		uid_t reader = fuse_req_ctx(req)->uid;
		n = qjobs_log_read_as(fs->jobs, reader,
				      qfs_sees_all(fs, reader), buf, size, off);
		goto out;
	}
	pthread_mutex_lock(&fs->lock);
	struct qfile *f = qfs_by_ino(fs, ino);
	if (f && f->data) {
		if (off >= 0 && (size_t)off < f->size)
			n = f->size - (size_t)off < size ? f->size - (size_t)off
							 : size;
		memcpy(buf, f->data + off, n);
	} else if (f && f->job_id) {
		ssize_t r = qjobs_read(fs->jobs, f->job_id, buf, size, off);
		if (r < 0) /* the job has let go: what the head still has */
			r = qfs_file_read_head(f, buf, size, off);
		if (r < 0)
			err = ENODATA;
		n = r > 0 ? (size_t)r : 0;
	}
	pthread_mutex_unlock(&fs->lock);
out:
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, n);
	free(buf);
}

static void qfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		      size_t size, off_t off, struct fuse_file_info *fi)
{
	struct qfs *fs = FS(req);
	struct handle *h = H(fi);
	int err;

	pthread_mutex_lock(&fs->lock);
	struct qfile *f = qfs_by_ino(fs, ino);
	err = !f ? ENOENT : !h->writer ? EBADF : 0;
	/* A copy of a closed descriptor (fork, dup) writes on: fine, unless
	 * the file has a newer writer since, whose program it would spoil. */
	if (!err && h->closed && f->writers - f->closing > 0)
		err = EBUSY;
	else if (!err && h->closed) {
		h->closed = 0;
		f->closing--;
	}
	if (!err)
		err = qfs_file_write(fs, f, buf, size, off);
	if (!err)
		h->wrote = 1;
	/* what the kernel does for a write through the page cache: a set-id
	 * file written by someone else than root loses its set-id bits */
	if (!err && fuse_req_ctx(req)->uid != 0)
		f->mode &=
		    ~(mode_t)(S_ISUID | (f->mode & S_IXGRP ? S_ISGID : 0));
	pthread_mutex_unlock(&fs->lock);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_write(req, size);
}

/* A value of user.quest.args, or a sidecar's bytes, must split and fit the
 * argv buffer, with the file's name as argv[0] unless argv0=none (a sidecar
 * passes no name: the program's name is checked at launch). */
static int check_args_value(struct qfs *fs, const char *fname, const char *v,
			    size_t size, struct qerror *e)
{
	struct qargv a;

	size = qargs_trim(v, size);
	qargs_init(&a, NULL, NULL);
	if (fname && fs->jcfg.argv0 && qargs_add(&a, fname, e) != QE_OK)
		return E2BIG;
	switch (qargs_split(v, size, &a, NULL, e)) {
	case QE_OK:
		/* a word of the value the command line cannot carry is refused
		 * as a syntax error; the name is judged at launch */
		qargs_init(&a, NULL, NULL);
		a.format = (enum qargv_format)fs->jcfg.argv_format;
		qargs_split(v, size, &a, NULL, NULL);
		return qargs_check_words(&a, e) == QE_OK ? 0 : EINVAL;
	case QE_ARGS_TOO_BIG:
		return E2BIG;
	default:
		return EINVAL;
	}
}

static void qfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct qfs *fs = FS(req);
	struct handle *h = H(fi);
	struct qerror e;
	int err = 0;

	if (h->kind != H_FILE || !h->writer)
		goto out;
	pthread_mutex_lock(&fs->lock);
	struct qfile *f = qfs_by_ino(fs, ino);
	if (f && !h->closed) {
		h->closed = 1;
		f->closing++;
	}
	if (!f || !h->wrote || !f->name || f->flush_err)
		goto unlock;
	/* Only what more bytes can never fix is refused here: a short file
	 * may be a copy in progress, judged at launch. */
	if (qname_is_sidecar(f->name) && f->data)
		err = check_args_value(fs, NULL, (const char *)f->data, f->size,
				       &e);
	else if (qname_launches(f->name) &&
		 qfs_judge(fs, f, QELF_PREFIX, &e) != QE_OK)
		err = ENOEXEC;
	if (err) {
		qfs_refusal(&f->flush_err, &e);
		qfs_log(fs, LOG_INFO, "run/%s refused: %s", f->name, e.msg);
	}
unlock:
	pthread_mutex_unlock(&fs->lock);
out:
	fuse_reply_err(req, err);
}

/* fsync says "these bytes are mine": refuse what can never be a program,
 * as FLUSH does, and for temporary names too (GIO fsyncs its temporary
 * file before renaming it over the target). More bytes may still come
 * (dd oflag=sync fsyncs each block), so only the prefix is judged. */
static void qfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		      struct fuse_file_info *fi)
{
	struct qfs *fs = FS(req);
	struct qerror e;
	int err = 0;

	(void)datasync;
	(void)fi;
	pthread_mutex_lock(&fs->lock);
	struct qfile *f = qfs_by_ino(fs, ino);
	if (f && f->name && f->data && !f->flush_err &&
	    (qname_launches(f->name) || qname_is_temporary(f->name)) &&
	    qfs_judge(fs, f, QELF_PREFIX, &e) != QE_OK) {
		err = ENOEXEC;
		qfs_refusal(&f->flush_err, &e);
		qfs_log(fs, LOG_INFO, "run/%s refused at fsync: %s", f->name,
			e.msg);
	}
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_err(req, err);
}

static void qfs_release(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	struct qfs *fs = FS(req);
	struct handle *h = H(fi);
	uint64_t commit = 0;

	if (h->kind == H_FILE) {
		pthread_mutex_lock(&fs->lock);
		struct qfile *f = qfs_by_ino(fs, ino);
		if (f) {
			f->opens--;
			f->writers -= h->writer;
			f->closing -= h->closed;
			if (h->writer && !f->writers && f->name) {
				if (f->flush_err) {
					/* gone, so that a retry finds no file
					 */
					if (!qname_is_sidecar(f->name))
						f->job_id =
						    qjobs_record_refusal(
							fs->jobs, f->name,
							f->size, f->ino, f->uid,
							f->flush_err);
					else
						qjobs_log(
						    fs->jobs, "%s removed: %s",
						    f->name, f->flush_err->msg);
					qfs_refusal(&f->flush_err, NULL);
					qfs_notify_gone(fs, f->ino, f->name);
					qfs_detach(fs, f);
				} else if (f->dirty &&
					   qname_launches(f->name)) {
					commit = qfs_launch(fs, f);
				}
			} else if (h->writer && !f->writers) {
				qfs_drop_data(fs,
					      f); /* unlinked while written */
			}
			qfs_maybe_free(fs, f);
		}
		pthread_mutex_unlock(&fs->lock);
	}
	free(h->buf);
	free(h);
	/* close(2) returned at FLUSH: the check and the spool make no one
	 * wait, and hold no lock of the tree */
	fuse_reply_err(req, 0);
	qfs_commit(fs, commit);
}

static void qfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct qfs *fs = FS(req);
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
	fuse_reply_err(req, err);
}

static void qfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		       fuse_ino_t newparent, const char *newname,
		       unsigned int flags)
{
	struct qfs *fs = FS(req);
	struct qerror e;
	uint64_t commit = 0;
	int err = 0;

	if (parent != INO_RUN || newparent != INO_RUN) {
		err =
		    parent == INO_ROOT || newparent == INO_ROOT ? EPERM : EXDEV;
		goto out;
	}
	if (flags & RENAME_EXCHANGE) {
		err = EINVAL;
		goto out;
	}
	if (strlen(newname) > QJOB_NAME_MAX) {
		err = ENAMETOOLONG;
		goto out;
	}
	pthread_mutex_lock(&fs->lock);
	struct qfile *f = qfs_find(fs, name), *old = qfs_find(fs, newname);
	char *nn = strdup(newname);
	if (!f)
		err = ENOENT;
	else if (!nn)
		err = ENOMEM;
	else if (old && (flags & RENAME_NOREPLACE))
		err = EEXIST;
	else if (f == old)
		err = 0;
	/* a finished file renamed to a final name launches now: refuse the
	 * rename of one that could never run, so the tool keeps its copy */
	else if (!f->writers && f->dirty && qname_launches(newname) &&
		 qfs_judge(fs, f, QELF_WHOLE, &e) != QE_OK) {
		err = ENOEXEC;
		qfs_log(fs, LOG_INFO, "rename of run/%s to %s refused: %s",
			name, newname, e.msg);
		qjobs_record_refusal(fs->jobs, newname, f->size, f->ino, f->uid,
				     &e);
	} else {
		if (old) {
			qfs_detach(fs, old);
			qfs_maybe_free(fs, old);
		}
		qfs_set_name(fs, f, nn);
		nn = NULL;
		clock_gettime(CLOCK_REALTIME, &f->ctime);
		fs->run_mtime = f->ctime;
		if (!f->writers && f->dirty && qname_launches(f->name))
			commit = qfs_launch(fs, f);
	}
	free(nn);
	pthread_mutex_unlock(&fs->lock);
out:
	fuse_reply_err(req, err);
	qfs_commit(fs, commit);
}

static void qfs_refuse_mkdir(fuse_req_t req, fuse_ino_t parent,
			     const char *name, mode_t mode)
{
	(void)parent, (void)name, (void)mode;
	fuse_reply_err(req, EPERM);
}

static void qfs_refuse_symlink(fuse_req_t req, const char *link,
			       fuse_ino_t parent, const char *name)
{
	(void)link, (void)parent, (void)name;
	fuse_reply_err(req, EPERM);
}

static void qfs_refuse_link(fuse_req_t req, fuse_ino_t ino,
			    fuse_ino_t newparent, const char *newname)
{
	(void)ino, (void)newparent, (void)newname;
	fuse_reply_err(req, EPERM);
}

static void qfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)name;
	fuse_reply_err(req, parent == INO_ROOT ? EPERM : ENOTDIR);
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

static void qfs_opendir(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	struct qfs *fs = FS(req);
	struct handle *h;
	int err = 0;

	if (ino != INO_ROOT && ino != INO_RUN) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	h = new_handle(H_DIR);
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	err = add_dent(h, ".", ino, S_IFDIR);
	if (!err)
		err = add_dent(h, "..", INO_ROOT, S_IFDIR);
	if (ino == INO_ROOT) {
		for (size_t i = 0;
		     !err && i < sizeof root_entries / sizeof *root_entries;
		     i++)
			err = add_dent(
			    h, root_entries[i].name, root_entries[i].ino,
			    root_entries[i].ino == INO_RUN ? S_IFDIR : S_IFREG);
	} else {
		pthread_mutex_lock(&fs->lock);
		qfs_expire(fs, 0);
		for (struct qfile *f = fs->files; !err && f; f = f->next)
			if (f->name)
				err = add_dent(h, f->name, f->ino, S_IFREG);
		pthread_mutex_unlock(&fs->lock);
	}
	if (err) {
		for (size_t i = 0; i < h->ndents; i++)
			free(h->dents[i].name);
		free(h->dents);
		free(h);
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uintptr_t)h;
	fuse_reply_open(req, fi);
}

static void qfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	struct handle *h = H(fi);
	char *buf = malloc(size);
	size_t used = 0;

	(void)ino;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
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
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void qfs_releasedir(fuse_req_t req, fuse_ino_t ino,
			   struct fuse_file_info *fi)
{
	struct handle *h = H(fi);

	(void)ino;
	for (size_t i = 0; i < h->ndents; i++)
		free(h->dents[i].name);
	free(h->dents);
	free(h);
	fuse_reply_err(req, 0);
}

static void qfs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct qfs *fs = FS(req);
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
	fuse_reply_statfs(req, &sv);
}

static void qfs_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	int err = 0;

	if ((mask & W_OK) && ino != INO_RUN && ino < INO_FIRST_FILE)
		err = EACCES;
	fuse_reply_err(req, err);
}

/* ---- extended attributes ---- */

static int is_acl(const char *name)
{
	return !strncmp(name, "system.posix_acl_", 17);
}

/* user.quest.state, .error, .job: computed from the file's last job. */
static int computed_xattr(struct qfs *fs, struct qfile *f, const char *name,
			  char *dst, size_t n)
{
	struct qjob_info j;
	const char *key = name + strlen(QUEST_XATTR_PREFIX);

	if (strncmp(name, QUEST_XATTR_PREFIX, strlen(QUEST_XATTR_PREFIX)) ||
	    (strcmp(key, "state") && strcmp(key, "error") &&
	     strcmp(key, "job")))
		return -1;
	if (f->writers || f->dirty || !f->job_id ||
	    qjobs_get(fs->jobs, f->job_id, &j) < 0) {
		if (!strcmp(key, "state") && (f->writers || f->dirty))
			return snprintf(dst, n, "%s",
					f->writers ? "writing" : "written");
		return 0; /* ENODATA */
	}
	if (!strcmp(key, "state"))
		return snprintf(dst, n, "%s", qjob_state_name(j.state));
	if (!strcmp(key, "job"))
		return snprintf(dst, n, "%llu", (unsigned long long)j.id);
	return j.detail[0] && j.state >= QJ_REFUSED
		   ? snprintf(dst, n, "%s", j.detail)
		   : 0;
}

static void reply_value(fuse_req_t req, const void *v, size_t len, size_t size)
{
	if (!size)
		fuse_reply_xattr(req, len);
	else if (len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, v, len);
}

static void qfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			 size_t size)
{
	struct qfs *fs = FS(req);
	char val[QERR_MSG_MAX + 64];
	const struct xattr *x = NULL;
	int err = 0, n = -1;
	void *copy = NULL;
	size_t len = 0;

	if (is_acl(name)) {
		err = ENOTSUP;
		goto out;
	}
	/* Only user.* names are ever stored. The kernel asks for
	 * security.capability before every write and truncate: answered
	 * without waiting for the tree. */
	if (strncmp(name, "user.", 5)) {
		err = ENODATA;
		goto out;
	}
	pthread_mutex_lock(&fs->lock);
	if (ino == INO_RUN) {
		x = qfs_xattr_get(&fs->run_xattrs, name);
	} else if (ino >= INO_FIRST_FILE) {
		struct qfile *f = qfs_by_ino(fs, ino);
		if (!f)
			err = ENOENT;
		else if ((n = computed_xattr(fs, f, name, val, sizeof val)) < 0)
			x = qfs_xattr_get(&f->xattrs, name);
	}
	if (n > 0) {
		len = (size_t)n < sizeof val ? (size_t)n : sizeof val - 1;
		copy = malloc(len);
		if (copy)
			memcpy(copy, val, len);
	} else if (x) {
		len = x->size;
		copy = malloc(len ? len : 1);
		if (copy)
			memcpy(copy, x->value, len);
	}
	pthread_mutex_unlock(&fs->lock);
	if (!err && (n > 0 || x) && !copy)
		err = ENOMEM;
	else if (!err && !copy)
		err = ENODATA;
out:
	if (err)
		fuse_reply_err(req, err);
	else
		reply_value(req, copy, len, size);
	free(copy);
}

static void qfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			 const char *value, size_t size, int flags)
{
	struct qfs *fs = FS(req);
	struct qfile *f = NULL;
	struct qerror e;
	int err = 0;

	if (is_acl(name)) {
		err = ENOTSUP; /* cp, mv and install fall back to chmod */
		goto out;
	}
	if (strncmp(name, "user.", 5)) {
		err = ENOTSUP;
		goto out;
	}
	if (size > 65536) {
		err = E2BIG;
		goto out;
	}
	pthread_mutex_lock(&fs->lock);
	if (ino == INO_RUN) {
		if (!qfs_owns_run(fs, fuse_req_ctx(req)->uid))
			err = EPERM; /* defaults for all: run/'s owner's */
	} else if (ino >= INO_FIRST_FILE) {
		f = qfs_by_ino(fs, ino);
		if (!f)
			err = ENOENT;
	} else {
		err = EPERM;
	}
	if (!err &&
	    !strncmp(name, QUEST_XATTR_PREFIX, strlen(QUEST_XATTR_PREFIX)) &&
	    strcmp(name, ARGS_XATTR))
		err = EPERM; /* state, error and job are questfs's to say */
	if (!err && !strcmp(name, ARGS_XATTR)) {
		err = check_args_value(fs, f ? f->name : NULL, value, size, &e);
		if (err)
			qfs_log(fs, LOG_INFO,
				"run/%s: " ARGS_XATTR " refused: %s",
				f && f->name ? f->name : "", e.msg);
		if (f)
			qfs_refusal(&f->args_err, err ? &e : NULL);
	}
	if (!err) /* counted as bytes held: EAGAIN past the limits */
		err = qfs_xattr_set_for(fs, f, fuse_req_ctx(req)->uid, name,
					value, size, flags);
	pthread_mutex_unlock(&fs->lock);
out:
	fuse_reply_err(req, err);
}

static void qfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct qfs *fs = FS(req);
	char *buf = NULL, val[8];
	size_t len = 0;
	int err = 0;

	pthread_mutex_lock(&fs->lock);
	struct xattr *list = NULL;
	struct qfile *f = NULL;
	if (ino == INO_RUN)
		list = fs->run_xattrs;
	else if (ino >= INO_FIRST_FILE && (f = qfs_by_ino(fs, ino)))
		list = f->xattrs;
	else if (ino >= INO_FIRST_FILE)
		err = ENOENT;
	for (struct xattr *x = list; x; x = x->next)
		len += strlen(x->name) + 1;
	static const char *const computed[] = {
	    "user.quest.state", "user.quest.error", "user.quest.job"};
	int have[3] = {0};
	for (int i = 0; f && i < 3; i++)
		if ((have[i] = computed_xattr(fs, f, computed[i], val,
					      sizeof val) > 0))
			len += strlen(computed[i]) + 1;
	if (!err && (buf = malloc(len ? len : 1))) {
		size_t o = 0;
		for (struct xattr *x = list; x; x = x->next) {
			memcpy(buf + o, x->name, strlen(x->name) + 1);
			o += strlen(x->name) + 1;
		}
		for (int i = 0; i < 3; i++)
			if (have[i]) {
				memcpy(buf + o, computed[i],
				       strlen(computed[i]) + 1);
				o += strlen(computed[i]) + 1;
			}
	} else if (!err) {
		err = ENOMEM;
	}
	pthread_mutex_unlock(&fs->lock);
	if (err)
		fuse_reply_err(req, err);
	else
		reply_value(req, buf, len, size);
	free(buf);
}

static void qfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct qfs *fs = FS(req);
	int err = ENODATA;

	if (is_acl(name)) {
		fuse_reply_err(req, ENOTSUP);
		return;
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
			qfs_refusal(&f->args_err, NULL);
	}
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_err(req, err);
}

static void qfs_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* open(O_TRUNC) arrives as one OPEN, not OPEN + SETATTR(size=0) */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* no splice: writes are small copies into memory anyway */
	conn->want &= ~(unsigned)FUSE_CAP_SPLICE_READ;
}

const struct fuse_lowlevel_ops qfs_ops = {
    .init = qfs_init,
    .lookup = qfs_lookup,
    .forget = qfs_forget,
    .forget_multi = qfs_forget_multi,
    .getattr = qfs_getattr,
    .setattr = qfs_setattr,
    .mknod = qfs_mknod,
    .mkdir = qfs_refuse_mkdir,
    .symlink = qfs_refuse_symlink,
    .link = qfs_refuse_link,
    .unlink = qfs_unlink,
    .rmdir = qfs_rmdir,
    .rename = qfs_rename,
    .open = qfs_open,
    .create = qfs_create,
    .read = qfs_read,
    .write = qfs_write,
    .flush = qfs_flush,
    .fsync = qfs_fsync,
    .release = qfs_release,
    .opendir = qfs_opendir,
    .readdir = qfs_readdir,
    .releasedir = qfs_releasedir,
    .statfs = qfs_statfs,
    .access = qfs_access,
    .setxattr = qfs_setxattr,
    .getxattr = qfs_getxattr,
    .listxattr = qfs_listxattr,
    .removexattr = qfs_removexattr,
};
