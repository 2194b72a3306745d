/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Extended attributes kept in memory (user.* of files and of run/), and
 * the arguments a launch takes from them or from a sidecar file. */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <syslog.h>

#include "names.h"
#include "questfs.h"

#define ARGS_XATTR "user.quest.args"

/* Sorted array or hash table? With at most QFS_XATTRS_MAX names a file,
 * a binary search takes at most 8 comparisons, an insert moves at most
 * 2 KiB of pointers, the array costs one pointer a name and listxattr
 * reads it in order; GLib's GHashTable is not linked into questfs, and a
 * hash table of our own would cost more code and memory for no gain at
 * that size. *at: where name is, or where it would go. */
static int find(const struct xattrs *xs, const char *name, unsigned *at)
{
	unsigned lo = 0, hi = xs->n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		int c = strcmp(xs->v[mid]->name, name);
		if (c == 0) {
			*at = mid;
			return 1;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return 0;
}

const struct xattr *qfs_xattr_get(const struct xattrs *xs, const char *name)
{
	unsigned at;
	return find(xs, name, &at) ? xs->v[at] : NULL;
}

static struct xattr *new_xattr(const char *name, const void *v, size_t size)
{
	size_t nl = strlen(name) + 1;
	struct xattr *x = malloc(sizeof *x + nl + size);

	if (!x)
		return NULL;
	memcpy(x->name, name, nl);
	x->value = x->name + nl;
	x->size = size;
	memcpy(x->value, v, size);
	return x;
}

int qfs_xattr_set(struct xattrs *xs, const char *name, const void *v,
		  size_t size, int flags)
{
	unsigned at;
	int found = find(xs, name, &at);
	struct xattr *x;

	if (found && (flags & XATTR_CREATE))
		return EEXIST;
	if (!found && (flags & XATTR_REPLACE))
		return ENODATA;
	if (!found && xs->n >= QFS_XATTRS_MAX)
		return EDQUOT;
	if (!found && xs->n == xs->cap) {
		unsigned cap = xs->cap ? 2 * xs->cap : 4;
		struct xattr **p = realloc(xs->v, cap * sizeof *p);
		if (!p)
			return ENOMEM;
		xs->v = p;
		xs->cap = cap;
	}
	if (!(x = new_xattr(name, v, size)))
		return ENOMEM;
	if (found) {
		free(xs->v[at]);
	} else {
		memmove(xs->v + at + 1, xs->v + at,
			(xs->n - at) * sizeof *xs->v);
		xs->n++;
	}
	xs->v[at] = x;
	return 0;
}

int qfs_xattr_remove(struct xattrs *xs, const char *name)
{
	unsigned at;

	if (!find(xs, name, &at))
		return ENODATA;
	free(xs->v[at]);
	memmove(xs->v + at, xs->v + at + 1, (xs->n - at - 1) * sizeof *xs->v);
	xs->n--;
	return 0;
}

void qfs_xattr_free(struct xattrs *xs)
{
	for (unsigned i = 0; i < xs->n; i++)
		free(xs->v[i]);
	free(xs->v);
	memset(xs, 0, sizeof *xs);
}

/* What an xattr costs: the memory it really takes. A name and a value
 * alone (as counted before) let 1.69 M empty xattrs take questfs from
 * 11 to 188 MB within a 16 MiB quota: each one is a malloc chunk (glibc:
 * 8 bytes of header, rounded up to 16, at least 32) and a pointer in its
 * file's array, which may be half empty (2 pointers). */
size_t qfs_xattr_cost(const char *name, size_t size)
{
	size_t chunk = sizeof(struct xattr) + strlen(name) + 1 + size + 8;

	chunk = (chunk + 15) & ~(size_t)15;
	if (chunk < 32)
		chunk = 32;
	return chunk + 2 * sizeof(struct xattr *);
}

/* Freed memory glibc keeps (in its bins, spread over the arenas of the
 * FUSE threads) goes back to the system once this much has been freed,
 * or when the last file of run/ goes. */
#define TRIM_AT (1u << 20)

void qfs_freed(struct qfs *fs, size_t bytes)
{
	fs->freed_bytes += bytes;
	if (fs->freed_bytes < TRIM_AT && (fs->nfiles || !fs->freed_bytes))
		return;
	fs->freed_bytes = 0;
	malloc_trim(0);
}

static void count(struct qfs *fs, struct qfile *f, long d)
{
	fs->writing_bytes += (size_t)d;
	if (f) {
		f->xattr_bytes += (size_t)d;
		qquota_add(qjobs_quota(fs->jobs), f->uid,
			   (struct qquota_delta){.bytes = d});
	}
	if (d < 0)
		qfs_freed(fs, (size_t)-d);
}

int qfs_xattr_set_for(struct qfs *fs, struct qfile *f, uid_t uid,
		      const char *name, const void *v, size_t size, int flags)
{
	struct xattrs *xs = f ? &f->xattrs : &fs->run_xattrs;
	const struct xattr *old = qfs_xattr_get(xs, name);
	size_t was = old ? qfs_xattr_cost(name, old->size) : 0,
	       now = qfs_xattr_cost(name, size);
	int full = !old && xs->n >= QFS_XATTRS_MAX;
	struct qerror e;
	int err;

	if (full)
		qerr_set(&e, QE_LIMIT,
			 "it has %u extended attributes already, the most "
			 "a file in run/ holds",
			 xs->n);
	/* The file's owner pays, whoever sets it; run/'s are questfs's.
	 * EDQUOT, not EAGAIN: measured (Linux 6.18), the kernel turns EAGAIN
	 * from SETXATTR into EOPNOTSUPP, which cp --preserve=xattr skips in
	 * silence; and never ENOSPC (§6). */
	if (full ||
	    (now > was &&
	     qjobs_room_for(fs->jobs, f ? f->uid : uid, now - was,
			    fs->writing_bytes + (now - was), &e) != QE_OK)) {
		qfs_log(fs, LOG_NOTICE, "run/%s: %s: %s",
			f && f->name ? f->name : "", name, e.msg);
		/* a program must not run without the arguments asked for */
		if (f && !strcmp(name, ARGS_XATTR)) {
			struct qlaunch_dec d;
			qlaunch_args_unstored(&f->launch, &e, &d);
		}
		return EDQUOT;
	}
	err = qfs_xattr_set(xs, name, v, size, flags);
	if (!err)
		count(fs, f, (long)now - (long)was);
	return err;
}

int qfs_xattr_remove_for(struct qfs *fs, struct qfile *f, const char *name)
{
	struct xattrs *xs = f ? &f->xattrs : &fs->run_xattrs;
	const struct xattr *old = qfs_xattr_get(xs, name);
	size_t was = old ? qfs_xattr_cost(name, old->size) : 0;
	int err = qfs_xattr_remove(xs, name);

	if (!err)
		count(fs, f, -(long)was);
	return err;
}

enum qerr qfs_args_for(struct qfs *fs, struct qfile *f, struct qargv *out,
		       struct qerror *err)
{
	const struct xattr *x = qfs_xattr_get(&f->xattrs, ARGS_XATTR);
	char side[NAME_MAX + 8];
	const char *src = NULL;
	size_t len = 0;

	qargs_init(out, NULL, NULL);
	if (x) {
		src = x->value;
		len = x->size;
	} else if (qname_sidecar_of(f->name, side, sizeof side) == 0) {
		struct qfile *s = qfs_find(fs, side);
		if (s && !qfs_sidecar_counts(f, s)) {
			/* another user's: planted, never the program's */
			struct qerror why;
			char what[NAME_MAX + 64];
			qerr_set(&why, QE_USAGE,
				 "a sidecar counts only for its owner's "
				 "programs");
			snprintf(what, sizeof what,
				 "ignored for run/%s of uid %lu", f->name,
				 (unsigned long)f->uid);
			qjobs_log_file(fs->jobs, s->uid, side, what, &why);
		} else if (s && s->launch.writers > s->launch.closing) {
			return qerr_set(err, QE_USAGE,
					"its arguments file %s is still open "
					"for writing; launch it again once "
					"that is closed",
					side);
		} else if (s && s->data) {
			src = (const char *)s->data;
			len = s->size;
		}
	}
	if (!src && (x = qfs_xattr_get(&fs->run_xattrs, ARGS_XATTR))) {
		src = x->value;
		len = x->size;
	}
	return src ? qargs_split(src, qargs_trim(src, len), out, NULL, err)
		   : QE_OK;
}
