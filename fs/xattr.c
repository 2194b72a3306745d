/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Extended attributes kept in memory (user.* of files and of run/), and
 * the arguments a launch takes from them or from a sidecar file. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <syslog.h>

#include "names.h"
#include "questfs.h"

#define ARGS_XATTR "user.quest.args"

static struct xattr **find(struct xattr **list, const char *name)
{
	for (; *list; list = &(*list)->next)
		if (!strcmp((*list)->name, name))
			return list;
	return NULL;
}

const struct xattr *qfs_xattr_get(struct xattr *const *list, const char *name)
{
	struct xattr **x = find((struct xattr **)list, name);
	return x ? *x : NULL;
}

int qfs_xattr_set(struct xattr **list, const char *name, const void *v,
		  size_t size, int flags)
{
	struct xattr **x = find(list, name), *n;
	void *copy = malloc(size ? size : 1);

	if (x && (flags & XATTR_CREATE))
		goto eexist;
	if (!x && (flags & XATTR_REPLACE)) {
		free(copy);
		return ENODATA;
	}
	if (!copy)
		return ENOMEM;
	memcpy(copy, v, size);
	if (x) {
		free((*x)->value);
		(*x)->value = copy;
		(*x)->size = size;
		return 0;
	}
	n = calloc(1, sizeof *n);
	if (!n || !(n->name = strdup(name))) {
		free(n);
		free(copy);
		return ENOMEM;
	}
	n->value = copy;
	n->size = size;
	n->next = *list;
	*list = n;
	return 0;
eexist:
	free(copy);
	return EEXIST;
}

int qfs_xattr_remove(struct xattr **list, const char *name)
{
	struct xattr **x = find(list, name), *d;

	if (!x)
		return ENODATA;
	d = *x;
	*x = d->next;
	free(d->name);
	free(d->value);
	free(d);
	return 0;
}

void qfs_xattr_free(struct xattr **list)
{
	while (*list)
		qfs_xattr_remove(list, (*list)->name);
}

/* What an xattr costs: its name and value (a 64 KiB value on each of many
 * files took questfs from 2.4 to 195 MB before they counted). */
static size_t cost(const char *name, size_t size)
{
	return strlen(name) + 1 + size;
}

static void count(struct qfs *fs, struct qfile *f, long d)
{
	fs->writing_bytes += (size_t)d;
	if (f) {
		f->xattr_bytes += (size_t)d;
		qquota_add(qjobs_quota(fs->jobs), f->uid, 0, d, 0, 0);
	}
}

int qfs_xattr_set_for(struct qfs *fs, struct qfile *f, uid_t uid,
		      const char *name, const void *v, size_t size, int flags)
{
	struct xattr **list = f ? &f->xattrs : &fs->run_xattrs;
	const struct xattr *old = qfs_xattr_get(list, name);
	size_t was = old ? cost(name, old->size) : 0, now = cost(name, size);
	struct qerror e;
	int err;

	/* The file's owner pays, whoever sets it; run/'s are questfs's.
	 * EDQUOT, not EAGAIN: measured (Linux 6.18), the kernel turns EAGAIN
	 * from SETXATTR into EOPNOTSUPP, which cp --preserve=xattr skips in
	 * silence; and never ENOSPC (§6). */
	if (now > was &&
	    qjobs_room_for(fs->jobs, f ? f->uid : uid, now - was,
			   fs->writing_bytes + (now - was), &e) != QE_OK) {
		qfs_log(fs, LOG_NOTICE, "run/%s: %s: %s",
			f && f->name ? f->name : "", name, e.msg);
		/* a program must not run without the arguments asked for */
		if (f && !strcmp(name, ARGS_XATTR)) {
			struct qlaunch_dec d;
			qlaunch_args_unstored(&f->ls, &e, &d);
		}
		return EDQUOT;
	}
	err = qfs_xattr_set(list, name, v, size, flags);
	if (!err)
		count(fs, f, (long)now - (long)was);
	return err;
}

int qfs_xattr_remove_for(struct qfs *fs, struct qfile *f, const char *name)
{
	struct xattr **list = f ? &f->xattrs : &fs->run_xattrs;
	const struct xattr *old = qfs_xattr_get(list, name);
	size_t was = old ? cost(name, old->size) : 0;
	int err = qfs_xattr_remove(list, name);

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
		} else if (s && s->ls.writers > s->ls.closing) {
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
