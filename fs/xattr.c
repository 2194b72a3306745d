/* Extended attributes kept in memory (user.* of files and of run/), and
 * the arguments a launch takes from them or from a sidecar file. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

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
			qjobs_log(fs->jobs,
				  "run/%s of uid %lu ignored for run/%s of uid "
				  "%lu: a sidecar counts only for its owner's "
				  "programs",
				  side, (unsigned long)s->uid, f->name,
				  (unsigned long)f->uid);
		} else if (s && s->writers > s->closing) {
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
