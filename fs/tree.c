/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The files of run/: creation, bytes, launch, and forgetting. A file is
 * tracked by inode, not by path: it launches under the name it has when its
 * last writer closes or when it is renamed, finished, to a final name. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "imgbuf.h"
#include "names.h"
#include "packet.h"
#include "program.h"
#include "questfs.h"

/* Files are found by name and by inode through two hash tables, so that a
 * lookup costs the same with ten files or a hundred thousand. */
#define NBUCKETS_MIN 256
#define EXPIRE_MS    100

static size_t hash_name(const char *s)
{
	size_t h = 2166136261u; /* FNV-1a */
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static struct qfile **name_slot(struct qfs *fs, const char *name)
{
	return &fs->by_name[hash_name(name) & (fs->nbuckets - 1)];
}

static struct qfile **ino_slot(struct qfs *fs, fuse_ino_t ino)
{
	return &fs->by_ino[ino & (fs->nbuckets - 1)];
}

static void hash_ino_in(struct qfs *fs, struct qfile *f)
{
	struct qfile **b = ino_slot(fs, f->ino);
	f->ino_next = *b;
	*b = f;
}

static void hash_ino_out(struct qfs *fs, struct qfile *f)
{
	struct qfile **pp = ino_slot(fs, f->ino);
	while (*pp != f)
		pp = &(*pp)->ino_next;
	*pp = f->ino_next;
}

static void hash_name_in(struct qfs *fs, struct qfile *f)
{
	struct qfile **b = name_slot(fs, f->name);
	f->name_next = *b;
	*b = f;
}

static void hash_name_out(struct qfs *fs, struct qfile *f)
{
	struct qfile **pp = name_slot(fs, f->name);
	while (*pp != f)
		pp = &(*pp)->name_next;
	*pp = f->name_next;
}

/* Twice as many buckets once there are twice as many files; 0, or -1 when
 * out of memory (the tables stay as they were). */
static int grow(struct qfs *fs)
{
	size_t n = fs->nbuckets ? 2 * fs->nbuckets : NBUCKETS_MIN;
	struct qfile **bn = calloc(n, sizeof *bn), **bi = calloc(n, sizeof *bi);

	if (!bn || !bi) {
		free(bn);
		free(bi);
		return -1;
	}
	free(fs->by_name);
	free(fs->by_ino);
	fs->by_name = bn;
	fs->by_ino = bi;
	fs->nbuckets = n;
	for (struct qfile *f = fs->files; f; f = f->next) {
		hash_ino_in(fs, f);
		if (f->name)
			hash_name_in(fs, f);
	}
	return 0;
}

struct qfile *qfs_find(struct qfs *fs, const char *name)
{
	if (!fs->nbuckets)
		return NULL;
	for (struct qfile *f = *name_slot(fs, name); f; f = f->name_next)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

struct qfile *qfs_by_ino(struct qfs *fs, fuse_ino_t ino)
{
	if (!fs->nbuckets)
		return NULL;
	for (struct qfile *f = *ino_slot(fs, ino); f; f = f->ino_next)
		if (f->ino == ino)
			return f;
	return NULL;
}

static void touch_run(struct qfs *fs)
{
	clock_gettime(CLOCK_REALTIME, &fs->run_mtime);
}

/* Bytes a file holds (its data's capacity, its xattrs) count for questfs
 * and for the file's owner. */
static void count_held(struct qfs *fs, struct qfile *f, long d)
{
	fs->writing_bytes += (size_t)d;
	qquota_add(qjobs_quota(fs->jobs), f->uid,
		   (struct qquota_delta){.bytes = d});
}

struct qfile *qfs_new_file(struct qfs *fs, const char *name, mode_t mode,
			   uid_t uid, gid_t gid)
{
	struct qerror e;
	struct qfile *f;

	if (qjobs_room_file(fs->jobs, uid, &e) != QE_OK) {
		qfs_log(fs, LOG_NOTICE, "run/%s: %s", name, e.msg);
		errno = EAGAIN; /* never ENOSPC (§6) */
		return NULL;
	}
	errno = ENOMEM;
	if (fs->nfiles >= 2 * fs->nbuckets && grow(fs) < 0 && !fs->nbuckets)
		return NULL;
	f = calloc(1, sizeof *f);
	if (!f || !(f->name = strdup(name))) {
		free(f);
		return NULL;
	}
	qquota_add(qjobs_quota(fs->jobs), uid,
		   (struct qquota_delta){.files = 1});
	f->ino = fs->next_ino++;
	f->mode = qfs_mode_for(name, mode);
	f->uid = uid;
	f->gid = gid;
	clock_gettime(CLOCK_REALTIME, &f->mtime);
	f->atime = f->ctime = f->mtime;
	f->next = fs->files;
	if (f->next)
		f->next->prev = f;
	fs->files = f;
	fs->nfiles++;
	hash_ino_in(fs, f);
	hash_name_in(fs, f);
	touch_run(fs);
	return f;
}

/* A sidecar holds arguments, which only their owner and root read: its
 * mode grants group and others nothing, whatever the umask, a chmod or a
 * rename asks (status, log and xattrs hide the words the same way). */
mode_t qfs_mode_for(const char *name, mode_t mode)
{
	mode &= 07777;
	return name && qname_is_sidecar(name) ? mode & ~(mode_t)077 : mode;
}

void qfs_set_name(struct qfs *fs, struct qfile *f, char *name)
{
	if (f->name)
		hash_name_out(fs, f);
	free(f->name);
	f->name = name;
	if (name)
		hash_name_in(fs, f);
	f->mode = qfs_mode_for(name, f->mode);
}

void qfs_drop_data(struct qfs *fs, struct qfile *f)
{
	count_held(fs, f, -(long)f->cap);
	/* the buffer goes back to the jobs' pool, which returns it to the
	 * system (imgbuf.h), not to malloc */
	qjobs_image_put(fs->jobs, f->data);
	f->data = NULL;
	f->cap = 0;
}

void qfs_detach(struct qfs *fs, struct qfile *f)
{
	if (f->name)
		qquota_add(qjobs_quota(fs->jobs), f->uid,
			   (struct qquota_delta){.files = -1});
	qfs_set_name(fs, f, NULL);
	/* nobody can launch it now: its bytes stop counting as held once no
	 * writer needs them */
	if (!f->launch.writers)
		qfs_drop_data(fs, f);
	touch_run(fs);
}

void qfs_maybe_free(struct qfs *fs, struct qfile *f)
{
	if (f->name || f->nlookup || f->launch.opens)
		return;
	*(f->prev ? &f->prev->next : &fs->files) = f->next;
	if (f->next)
		f->next->prev = f->prev;
	hash_ino_out(fs, f);
	fs->nfiles--;
	qfs_drop_data(fs, f);
	qlaunch_free(&f->launch);
	size_t freed = f->xattr_bytes + sizeof *f;
	qfs_xattr_free(&f->xattrs);
	count_held(fs, f, -(long)f->xattr_bytes);
	free(f->head);
	free(f);
	qfs_freed(fs, freed);
}

ssize_t qfs_file_read_head(struct qfile *f, void *buf, size_t n, off_t off)
{
	if (off < 0)
		return -1;
	if ((size_t)off >= f->size)
		return 0;
	if ((size_t)off >= f->head_len)
		return -1;
	if (n > f->head_len - (size_t)off)
		n = f->head_len - (size_t)off;
	memcpy(buf, f->head + off, n);
	return (ssize_t)n;
}

void qfs_set_owner(struct qfs *fs, struct qfile *f, uid_t uid)
{
	long bytes = (long)(f->cap + f->xattr_bytes), files = f->name ? 1 : 0;

	qquota_add(qjobs_quota(fs->jobs), f->uid,
		   (struct qquota_delta){.files = -files, .bytes = -bytes});
	qquota_add(qjobs_quota(fs->jobs), uid,
		   (struct qquota_delta){.files = files, .bytes = bytes});
	f->uid = uid;
}

/* A file nobody has open that will not launch as it is (a name that
 * never launches, or one that never got data), unchanged for linger: it
 * would hold a name and memory for ever. */
static int never_launches(struct qfs *fs, struct qfile *f, int64_t now_ms)
{
	int64_t changed =
	    (int64_t)f->ctime.tv_sec * 1000 + f->ctime.tv_nsec / 1000000;

	if (qname_launches(f->name) && (f->launch.dirty || f->job_id))
		return 0;
	return changed + (int64_t)fs->o.linger * 1000 <= now_ms;
}

void qfs_expire(struct qfs *fs, int soon)
{
	struct timespec now;
	enum qjob_state state;
	int64_t t_state;

	if (soon) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		int64_t mono =
		    (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
		if (mono < fs->next_expire_ms)
			return;
		fs->next_expire_ms = mono + EXPIRE_MS;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	for (struct qfile *f = fs->files, *next; f; f = next) {
		next = f->next;
		if (f->name && !f->launch.opens &&
		    never_launches(fs, f, now_ms)) {
			qfs_notify_gone(fs, f->ino, f->name);
			qfs_detach(fs, f);
			qfs_maybe_free(fs, f);
			continue;
		}
		if (!f->name || !f->job_id || f->data || f->launch.dirty ||
		    f->launch.opens)
			continue;
		/* a job no longer kept, or ended more than linger ago */
		if (qjobs_state(fs->jobs, f->job_id, &state, &t_state) == 0 &&
		    (state < QJ_DELIVERED ||
		     t_state + (int64_t)fs->o.linger * 1000 > now_ms))
			continue;
		qfs_notify_gone(fs, f->ino, f->name);
		qfs_detach(fs, f);
		qfs_maybe_free(fs, f);
	}
}

/* Makes room for `size` bytes: QE_FILE_TOO_BIG past the largest program,
 * QE_LIMIT past the bytes questfs may hold, QE_NOMEM; why says which, with
 * the bytes the file holds and the limit. */
static enum qerr reserve(struct qfs *fs, struct qfile *f, uint64_t size,
			 struct qerror *why)
{
	size_t max = fs->jcfg.prof.max_size, cap;
	struct qerror e;

	/* the words file managers show the user (Thunar's dialog, the
	 * desktop notification): the limit first, then why it is one */
	if (size > max)
		return qerr_set(why, QE_FILE_TOO_BIG,
				"program is more than %zu bytes (%zu bytes "
				"written; the file would be %llu bytes); the "
				"largest that fits the %zu-byte slot is %zu",
				max, f->size, (unsigned long long)size,
				max + QPKT_HDR_SIZE, max);
	if (size <= f->cap)
		return QE_OK;
	/* counted by the page, as the buffer's memory is touched */
	cap = size > max - max % 4096 ? max : (size + 4095) / 4096 * 4096;
	/* the rounding is ours: near the limit, hold only what was written */
	if (cap > size &&
	    qjobs_room_for(fs->jobs, f->uid, cap - f->cap,
			   fs->writing_bytes + (cap - f->cap), NULL) != QE_OK)
		cap = (size_t)size;
	if (qjobs_room_for(fs->jobs, f->uid, cap - f->cap,
			   fs->writing_bytes + (cap - f->cap), &e) != QE_OK) {
		qfs_log(fs, LOG_NOTICE, "run/%s: %s", f->name ? f->name : "?",
			e.msg);
		return qerr_set(why, e.code, "%zu bytes written; %s", f->size,
				e.msg);
	}
	/* One buffer of the largest program's size (core/imgbuf.h): the
	 * bytes are never copied to grow it. */
	if (!f->data || qimg_cap(f->data) < cap) {
		uint8_t *p = qjobs_image(fs->jobs, cap);
		if (!p)
			return qerr_set(why, QE_NOMEM,
					"%zu bytes written; out of memory",
					f->size);
		if (f->data)
			memcpy(p, f->data, f->size);
		qjobs_image_put(fs->jobs, f->data);
		f->data = p;
	}
	count_held(fs, f, (long)(cap - f->cap));
	f->cap = cap;
	qimg_use(f->data, cap);
	return QE_OK;
}

/* After a launch the bytes belong to the job: writing again starts anew. */
static void detach_from_job(struct qfile *f)
{
	if (f->job_id && !f->data) {
		f->job_id = 0;
		f->size = 0;
		free(f->head);
		f->head = NULL;
		f->head_len = 0;
	}
}

enum qerr qfs_file_truncate(struct qfs *fs, struct qfile *f, uint64_t size,
			    struct qerror *why)
{
	enum qerr rc;

	detach_from_job(f);
	if (size > f->size) {
		if ((rc = reserve(fs, f, size, why)) != QE_OK)
			return rc;
		memset(f->data + f->size, 0, (size_t)size - f->size);
	}
	f->size = (size_t)size;
	if (!size)
		qfs_drop_data(fs, f);
	clock_gettime(CLOCK_REALTIME, &f->mtime);
	f->ctime = f->mtime;
	return QE_OK;
}

enum qerr qfs_file_write(struct qfs *fs, struct qfile *f, const char *buf,
			 size_t n, off_t off, struct qerror *why)
{
	enum qerr rc;

	detach_from_job(f);
	if (off < 0)
		return qerr_set(why, QE_FILE_TOO_BIG, "negative offset");
	if ((rc = reserve(fs, f, (uint64_t)off + n, why)) != QE_OK)
		return rc;
	if ((size_t)off > f->size)
		memset(f->data + f->size, 0, (size_t)off - f->size);
	memcpy(f->data + off, buf, n);
	if ((size_t)off + n > f->size)
		f->size = (size_t)off + n;
	clock_gettime(CLOCK_REALTIME, &f->mtime);
	f->ctime = f->mtime;
	return QE_OK;
}

void qfs_file_stat(struct qfs *fs, struct qfile *f, struct stat *st)
{
	(void)fs;
	memset(st, 0, sizeof *st);
	st->st_ino = f->ino;
	st->st_mode = S_IFREG | f->mode;
	st->st_nlink = f->name ? 1 : 0;
	st->st_uid = f->uid;
	st->st_gid = f->gid;
	/* a launched file keeps its program's size: a file manager shows
	 * what was dropped, not an empty text file */
	st->st_size = (off_t)f->size;
	st->st_blksize = 4096;
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_atim = f->atime;
	st->st_mtim = f->mtime;
	st->st_ctim = f->ctime;
}

/* The file's bytes leave it (to a job, or to nobody): the file reads as
 * its job from here on. */
static uint8_t *take_bytes(struct qfs *fs, struct qfile *f)
{
	uint8_t *image = f->data;

	if (image)
		qimg_use(image, f->size); /* the program's, no more */
	/* what file managers read to tell a file's type (GIO sniffs 4 KiB):
	 * a launched file keeps its head while questfs holds it */
	free(f->head);
	f->head_len = f->size < QFS_HEAD_MAX ? f->size : QFS_HEAD_MAX;
	f->head = f->head_len ? malloc(f->head_len) : NULL;
	if (f->head)
		memcpy(f->head, image, f->head_len);
	else
		f->head_len = 0;
	count_held(fs, f, -(long)f->cap);
	f->data = NULL;
	f->cap = 0;
	return image;
}

/* A finished file's bytes become a job, in launch order, committed after
 * the reply (fs/reply.c). */
static void launch(struct qfs *fs, struct qfile *f)
{
	struct qargv args;
	struct qerror e;
	size_t len = f->size;
	uint8_t *image = take_bytes(fs, f);

	if (qfs_args_for(fs, f, &args, &e) != QE_OK) {
		qjobs_image_put(fs->jobs, image);
		f->job_id = qjobs_record_refusal(fs->jobs, f->name, len, f->ino,
						 f->uid, &e);
		return;
	}
	if (!image) /* an empty file: refused as too short */
		image = qjobs_image(fs->jobs, 0);
	f->job_id =
	    qjobs_begin(fs->jobs, f->name, image, len, &args, f->ino, f->uid);
	if (f->job_id)
		qfs_commit_later(fs, f->job_id);
	else
		qfs_log(fs, LOG_ERR, "run/%s: out of memory: not launched",
			f->name);
}

/* A refusal recorded for the file: a refused job (status, log, its
 * user.quest.* xattrs), or for a sidecar, which is no program, a log line. */
static void record(struct qfs *fs, struct qfile *f, const struct qlaunch_dec *d)
{
	if (d->sidecar)
		qjobs_log_file(fs->jobs, f->uid, f->name,
			       d->act == QL_REMOVE ? "removed" : "refused",
			       &d->why);
	else
		f->job_id = qjobs_record_refusal(fs->jobs, f->name, f->size,
						 f->ino, f->uid, &d->why);
}

/* qfs_apply's actions (core/launch.h), on one file of the tree. */
struct applying {
	struct qfs *fs;
	struct qfile *f;
};

static void act_launch(void *ctx)
{
	struct applying *a = ctx;

	launch(a->fs, a->f);
}

static void act_take(void *ctx)
{
	struct applying *a = ctx;

	qjobs_image_put(a->fs->jobs, take_bytes(a->fs, a->f));
}

static void act_record(void *ctx, const struct qlaunch_dec *d)
{
	struct applying *a = ctx;

	record(a->fs, a->f, d);
}

static void act_record_as(void *ctx, const char *name, const struct qerror *why)
{
	struct applying *a = ctx;

	qjobs_record_refusal(a->fs->jobs, name, a->f->size, a->f->ino,
			     a->f->uid, why);
}

static void act_remove(void *ctx)
{
	struct applying *a = ctx;

	qfs_notify_gone(a->fs, a->f->ino, a->f->name);
	qfs_detach(a->fs, a->f);
}

static void act_drop(void *ctx)
{
	struct applying *a = ctx;

	qfs_drop_data(a->fs, a->f);
}

static void act_log_refused(void *ctx, const char *name,
			    const struct qerror *why)
{
	struct applying *a = ctx;

	if (!name)
		name = a->f->name ? a->f->name : "?";
	qfs_log(a->fs, LOG_INFO, "run/%s refused: %s", name, why->msg);
}

static const struct qlaunch_actions actions = {
    .launch = act_launch,
    .take = act_take,
    .record = act_record,
    .record_as = act_record_as,
    .remove = act_remove,
    .drop = act_drop,
    .log_refused = act_log_refused,
};

int qfs_apply(struct qfs *fs, struct qfile *f, const struct qlaunch_dec *d)
{
	struct applying a = {fs, f};

	return qfs_errno(qlaunch_apply(d, &actions, &a));
}

void qfs_free_all(struct qfs *fs)
{
	while (fs->files) {
		struct qfile *f = fs->files;
		fs->files = f->next;
		free(f->name);
		qimg_free(f->data); /* the jobs, and their pool, are gone */
		free(f->head);
		qfs_xattr_free(&f->xattrs);
		qlaunch_free(&f->launch);
		free(f);
	}
	free(fs->by_name);
	free(fs->by_ino);
	fs->by_name = fs->by_ino = NULL;
	fs->nbuckets = fs->nfiles = 0;
	qfs_xattr_free(&fs->run_xattrs);
}
