/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nullfs: the FUSE floor of the benchmark. A do-nothing filesystem with
 * questfs's shape (a run/ directory), libfuse, mount options, thread model
 * and timeouts: a file written into run/ keeps its bytes until its last
 * writer releases it, then stays listed, empty, as a launched file stays
 * in questfs. Files are found by hash, so that the floor does not grow
 * with their number. Whatever questfs costs beyond this is its own work.
 * Counts the requests it serves (-o stats=FILE, written at unmount). */
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* questfs's: run/'s entry and the files' entries and attributes are not
 * cached (fs/ops.c TTL_LIVE), getattr of a directory 1 s. */
#define TTL_DIR_ATTR 1.0
#define INO_RUN	     2
#define INO_FIRST    16
#define MAX_SIZE     393128u /* questfs's largest program: EFBIG past it */

struct nfile {
	fuse_ino_t ino;
	char *name; /* NULL once gone from run/ */
	uint64_t nlookup;
	unsigned opens;
	uint8_t *data;
	size_t size, cap;
	mode_t mode;
	struct nfile *next;		/* every file */
	struct nfile *by_name, *by_ino; /* hash chains */
};

#define NBUCKETS 4096

struct nopts {
	char *stats;	/* counts of requests, written at unmount */
	double run_ttl; /* entry timeout of run/ (questfs: 0) */
	int xattr;	/* answer getxattr (ENODATA) as questfs does */
	int direct_io;	/* open files in run/ with direct I/O, as questfs */
};

enum {
	OP_LOOKUP,
	OP_GETATTR,
	OP_SETATTR,
	OP_CREATE,
	OP_OPEN,
	OP_WRITE,
	OP_FLUSH,
	OP_RELEASE,
	OP_FORGET,
	OP_GETXATTR,
	OP_OTHER,
	OP__N
};
static const char *const op_names[OP__N] = {
    "lookup", "getattr", "setattr", "create",	"open",	 "write",
    "flush",  "release", "forget",  "getxattr", "other",
};

static struct {
	struct nopts o;
	pthread_mutex_t lock;
	struct nfile *files;
	struct nfile *names[NBUCKETS], *inos[NBUCKETS];
	fuse_ino_t next_ino;
	struct timespec t0;
	_Atomic unsigned long ops[OP__N];
} nfs = {.lock = PTHREAD_MUTEX_INITIALIZER, .next_ino = INO_FIRST};

static void count(int op)
{
	atomic_fetch_add_explicit(&nfs.ops[op], 1, memory_order_relaxed);
}

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u; /* FNV-1a */
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % NBUCKETS;
}

static struct nfile *by_name(const char *name)
{
	for (struct nfile *f = nfs.names[hash(name)]; f; f = f->by_name)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

static struct nfile *by_ino(fuse_ino_t ino)
{
	for (struct nfile *f = nfs.inos[ino % NBUCKETS]; f; f = f->by_ino)
		if (f->ino == ino)
			return f;
	return NULL;
}

static void unchain(struct nfile **pp, struct nfile *f, size_t link)
{
	for (; *pp; pp = (struct nfile **)((char *)*pp + link))
		if (*pp == f) {
			*pp = *(struct nfile **)((char *)f + link);
			return;
		}
}

static void drop_name(struct nfile *f)
{
	if (!f->name)
		return;
	unchain(&nfs.names[hash(f->name)], f, offsetof(struct nfile, by_name));
	free(f->name);
	f->name = NULL;
}

static void maybe_free(struct nfile *f)
{
	if (f->name || f->nlookup || f->opens)
		return;
	unchain(&nfs.files, f, offsetof(struct nfile, next));
	unchain(&nfs.inos[f->ino % NBUCKETS], f,
		offsetof(struct nfile, by_ino));
	free(f->data);
	free(f);
}

static void stat_of(fuse_ino_t ino, const struct nfile *f, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_atim = st->st_mtim = st->st_ctim = nfs.t0;
	if (!f) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = ino == FUSE_ROOT_ID ? 3 : 2;
		return;
	}
	st->st_mode = S_IFREG | f->mode;
	st->st_nlink = f->name ? 1 : 0;
	st->st_size = (off_t)f->size;
	st->st_blksize = 4096;
	st->st_blocks = (st->st_size + 511) / 512;
}

static void reply_entry(fuse_req_t req, const struct stat *st, double ttl)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof e);
	e.ino = st->st_ino;
	e.attr = *st;
	e.entry_timeout = ttl;
	e.attr_timeout = 0;
	fuse_reply_entry(req, &e);
}

static void n_init(void *ud, struct fuse_conn_info *conn)
{
	(void)ud;
	/* what questfs's init asks for */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	conn->want &= ~(unsigned)FUSE_CAP_SPLICE_READ;
}

static void n_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct stat st;
	int err = ENOENT;

	count(OP_LOOKUP);
	if (parent == FUSE_ROOT_ID && !strcmp(name, "run")) {
		stat_of(INO_RUN, NULL, &st);
		reply_entry(req, &st, nfs.o.run_ttl);
		return;
	}
	if (parent == INO_RUN) {
		pthread_mutex_lock(&nfs.lock);
		struct nfile *f = by_name(name);
		if (f) {
			f->nlookup++;
			stat_of(f->ino, f, &st);
			err = 0;
		}
		pthread_mutex_unlock(&nfs.lock);
	}
	if (err)
		fuse_reply_err(req, err);
	else
		reply_entry(req, &st, 0);
}

static void forget_one(fuse_ino_t ino, uint64_t n)
{
	struct nfile *f = by_ino(ino);

	if (f) {
		f->nlookup = f->nlookup > n ? f->nlookup - n : 0;
		maybe_free(f);
	}
}

static void n_forget(fuse_req_t req, fuse_ino_t ino, uint64_t n)
{
	count(OP_FORGET);
	pthread_mutex_lock(&nfs.lock);
	forget_one(ino, n);
	pthread_mutex_unlock(&nfs.lock);
	fuse_reply_none(req);
}

static void n_forget_multi(fuse_req_t req, size_t cnt,
			   struct fuse_forget_data *fd)
{
	count(OP_FORGET);
	pthread_mutex_lock(&nfs.lock);
	for (size_t i = 0; i < cnt; i++)
		forget_one(fd[i].ino, fd[i].nlookup);
	pthread_mutex_unlock(&nfs.lock);
	fuse_reply_none(req);
}

static void n_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	struct nfile *f = NULL;

	(void)fi;
	count(OP_GETATTR);
	if (ino >= INO_FIRST) {
		pthread_mutex_lock(&nfs.lock);
		f = by_ino(ino);
		if (f)
			stat_of(ino, f, &st);
		pthread_mutex_unlock(&nfs.lock);
		if (!f) {
			fuse_reply_err(req, ENOENT);
			return;
		}
		fuse_reply_attr(req, &st, 0);
		return;
	}
	stat_of(ino, NULL, &st);
	fuse_reply_attr(req, &st, TTL_DIR_ATTR);
}

static void n_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		      int to_set, struct fuse_file_info *fi)
{
	struct stat st;
	int err = 0;

	(void)fi;
	count(OP_SETATTR);
	pthread_mutex_lock(&nfs.lock);
	struct nfile *f = by_ino(ino);
	if (!f) {
		err = ino < INO_FIRST ? EPERM : ENOENT;
	} else {
		if ((to_set & FUSE_SET_ATTR_SIZE) &&
		    (size_t)attr->st_size <= f->size)
			f->size = (size_t)attr->st_size;
		if (to_set & FUSE_SET_ATTR_MODE)
			f->mode = attr->st_mode & 07777;
		stat_of(ino, f, &st);
	}
	pthread_mutex_unlock(&nfs.lock);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, 0);
}

static void n_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	struct stat st;
	int err = 0;

	count(OP_CREATE);
	if (parent != INO_RUN) {
		fuse_reply_err(req, EACCES);
		return;
	}
	pthread_mutex_lock(&nfs.lock);
	struct nfile *f = by_name(name);
	if (f && (fi->flags & O_EXCL)) {
		err = EEXIST;
	} else if (!f) {
		f = calloc(1, sizeof *f);
		if (f && !(f->name = strdup(name))) {
			free(f);
			f = NULL;
		}
		if (f) {
			f->ino = nfs.next_ino++;
			f->mode = mode & 07777;
			f->next = nfs.files;
			nfs.files = f;
			f->by_name = nfs.names[hash(name)];
			nfs.names[hash(name)] = f;
			f->by_ino = nfs.inos[f->ino % NBUCKETS];
			nfs.inos[f->ino % NBUCKETS] = f;
		} else {
			err = ENOMEM;
		}
	}
	if (!err) {
		if (fi->flags & O_TRUNC)
			f->size = 0;
		f->nlookup++;
		f->opens++;
		stat_of(f->ino, f, &st);
	}
	pthread_mutex_unlock(&nfs.lock);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	memset(&e, 0, sizeof e);
	e.ino = st.st_ino;
	e.attr = st;
	fi->direct_io = nfs.o.direct_io;
	fuse_reply_create(req, &e, fi);
}

static void n_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int err = 0;

	count(OP_OPEN);
	pthread_mutex_lock(&nfs.lock);
	struct nfile *f = by_ino(ino);
	if (!f) {
		err = ino < INO_FIRST ? EISDIR : ENOENT;
	} else {
		if (fi->flags & O_TRUNC)
			f->size = 0;
		f->opens++;
	}
	pthread_mutex_unlock(&nfs.lock);
	fi->direct_io = nfs.o.direct_io;
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_open(req, fi);
}

/* The bytes are kept as questfs keeps them: a buffer that doubles from a
 * page, up to the largest program. */
static void n_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		    size_t size, off_t off, struct fuse_file_info *fi)
{
	size_t end = (size_t)off + size;
	int err = 0;

	(void)fi;
	count(OP_WRITE);
	pthread_mutex_lock(&nfs.lock);
	struct nfile *f = by_ino(ino);
	if (!f) {
		err = ENOENT;
	} else if (off < 0 || end > MAX_SIZE) {
		err = EFBIG;
	} else if (end > f->cap) {
		size_t cap = f->cap ? f->cap : 4096;
		while (cap < end)
			cap *= 2;
		if (cap > MAX_SIZE)
			cap = MAX_SIZE;
		uint8_t *p = realloc(f->data, cap);
		if (p) {
			f->data = p;
			f->cap = cap;
		} else {
			err = ENOMEM;
		}
	}
	if (!err) {
		if ((size_t)off > f->size)
			memset(f->data + f->size, 0, (size_t)off - f->size);
		memcpy(f->data + off, buf, size);
		if (end > f->size)
			f->size = end;
	}
	pthread_mutex_unlock(&nfs.lock);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_write(req, size);
}

static void n_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino, (void)fi;
	count(OP_FLUSH);
	fuse_reply_err(req, 0);
}

static void n_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	count(OP_RELEASE);
	pthread_mutex_lock(&nfs.lock);
	struct nfile *f = by_ino(ino);
	if (f && !--f->opens) {
		/* where questfs launches, the bytes are dropped */
		free(f->data);
		f->data = NULL;
		f->size = f->cap = 0;
	}
	pthread_mutex_unlock(&nfs.lock);
	fuse_reply_err(req, 0);
}

static void n_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int err = ENOENT;

	count(OP_OTHER);
	pthread_mutex_lock(&nfs.lock);
	struct nfile *f = parent == INO_RUN ? by_name(name) : NULL;
	if (f) {
		drop_name(f);
		maybe_free(f);
		err = 0;
	}
	pthread_mutex_unlock(&nfs.lock);
	fuse_reply_err(req, err);
}

static void n_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		       size_t size)
{
	(void)ino, (void)name, (void)size;
	count(OP_GETXATTR);
	fuse_reply_err(req, nfs.o.xattr ? ENODATA : ENOSYS);
}

static void n_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	(void)ino;
	count(OP_OTHER);
	memset(&sv, 0, sizeof sv);
	sv.f_bsize = sv.f_frsize = 4096;
	sv.f_blocks = sv.f_bfree = sv.f_bavail = 16384;
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

static const struct fuse_lowlevel_ops n_ops = {
    .init = n_init,
    .lookup = n_lookup,
    .forget = n_forget,
    .forget_multi = n_forget_multi,
    .getattr = n_getattr,
    .setattr = n_setattr,
    .create = n_create,
    .open = n_open,
    .write = n_write,
    .flush = n_flush,
    .release = n_release,
    .unlink = n_unlink,
    .getxattr = n_getxattr,
    .statfs = n_statfs,
};

#define OPT(t, p, v)                                                           \
	{                                                                      \
		t, offsetof(struct nopts, p), v                                \
	}
static const struct fuse_opt n_opts[] = {
    OPT("stats=%s", stats, 0),
    OPT("run_ttl=%lf", run_ttl, 0),
    OPT("xattr", xattr, 1),
    OPT("direct_io", direct_io, 1),
    FUSE_OPT_END,
};

static void write_stats(void)
{
	FILE *f = fopen(nfs.o.stats, "w");

	if (!f)
		return;
	for (int i = 0; i < OP__N; i++)
		fprintf(f, "%s %lu\n", op_names[i], atomic_load(&nfs.ops[i]));
	fclose(f);
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts = {0};
	struct fuse_loop_config *loop = NULL;
	struct fuse_session *se;
	int ret = 1;

	clock_gettime(CLOCK_REALTIME, &nfs.t0);
	if (fuse_opt_parse(&args, &nfs.o, n_opts, NULL) == -1)
		goto err_args;
	if (fuse_parse_cmdline(&args, &opts) != 0 || !opts.mountpoint) {
		fprintf(
		    stderr,
		    "usage: %s [-f] [-o stats=FILE,run_ttl=S,xattr,direct_io] "
		    "MOUNTPOINT\n",
		    argv[0]);
		goto err_args;
	}
	/* questfs's mount options, but its own names */
	fuse_opt_add_arg(&args, "-osubtype=nullfs");
	fuse_opt_add_arg(&args, "-ofsname=nullfs");
	se = fuse_session_new(&args, &n_ops, sizeof n_ops, NULL);
	if (!se)
		goto err_args;
	if (fuse_set_signal_handlers(se) != 0)
		goto err_session;
	if (fuse_session_mount(se, opts.mountpoint) != 0)
		goto err_signals;
	fuse_daemonize(opts.foreground);
	if (opts.singlethread) {
		ret = fuse_session_loop(se);
	} else {
		loop = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(loop, opts.clone_fd);
		fuse_loop_cfg_set_max_threads(loop, opts.max_threads);
		ret = fuse_session_loop_mt(se, loop);
		fuse_loop_cfg_destroy(loop);
	}
	ret = ret ? 1 : 0;
	fuse_session_unmount(se);
	if (nfs.o.stats)
		write_stats();
err_signals:
	fuse_remove_signal_handlers(se);
err_session:
	fuse_session_destroy(se);
err_args:
	while (nfs.files) {
		struct nfile *f = nfs.files;
		nfs.files = f->next;
		free(f->name);
		free(f->data);
		free(f);
	}
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	free(nfs.o.stats);
	return ret;
}
