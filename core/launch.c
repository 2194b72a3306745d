/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The launch rule (docs/DESIGN.md §7): each event of a file in run/ is
 * decided here, in one place, from the file's state, its name at that moment
 * and its bytes. The caller carries the decision out, through its own
 * actions called by qlaunch_apply; nothing here knows of FUSE, the tree or
 * the jobs. */
#include "launch.h"

#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "names.h"

static struct qerror lost_reason = {
    QE_NOMEM, "refused; the reason was lost (questfs is out of memory)"};

/* *slot = a copy of why (NULL: none). Out of memory, the refusal stands
 * with a reason that says so. */
static void set_reason(struct qerror **slot, const struct qerror *why)
{
	if (*slot != &lost_reason)
		free(*slot);
	*slot = NULL;
	if (why && !(*slot = malloc(sizeof **slot)))
		*slot = &lost_reason;
	else if (why)
		**slot = *why;
}

static enum qerr decide(struct qlaunch_dec *d, enum qlaunch_act act,
			enum qerr rc, const struct qerror *why)
{
	d->act = act;
	d->rc = rc;
	d->name = NULL;
	d->sidecar = 0;
	d->refused = 0;
	d->begins = 0;
	if (why)
		d->why = *why;
	else
		memset(&d->why, 0, sizeof d->why);
	return rc;
}

/* A refusal decided now: the file can never launch. */
static enum qerr refuse_now(struct qlaunch *s, struct qlaunch_dec *d,
			    const struct qerror *why)
{
	if (!s->why)
		set_reason(&s->why, why);
	decide(d, QL_NONE, why->code, why);
	d->refused = 1;
	return why->code;
}

/* The file is finished under a name that launches: a job, or a refused one
 * when its arguments were refused. */
static enum qerr launch(struct qlaunch *s, struct qlaunch_dec *d)
{
	s->dirty = 0;
	if (s->args_why)
		return decide(d, QL_REFUSE, QE_OK, s->args_why);
	return decide(d, QL_LAUNCH, QE_OK, NULL);
}

/* Every writer has closed: the file is finished. It launches, or its
 * refusal is recorded; `remove`: the file goes too (its last release). */
static enum qerr finished(struct qlaunch *s, const struct qlaunch_file *f,
			  int remove, struct qlaunch_dec *d)
{
	if (!f->name)
		return decide(d, remove ? QL_DROP : QL_NONE, QE_OK, NULL);
	if (s->why) {
		decide(d, remove ? QL_REMOVE : QL_REFUSE, QE_OK, s->why);
		d->sidecar = qname_is_sidecar(f->name);
		s->dirty = 0;
		set_reason(&s->why, NULL);
		return QE_OK;
	}
	if (s->dirty && qname_launches(f->name))
		return launch(s, d);
	return decide(d, QL_NONE, QE_OK, NULL);
}

/* A value of user.quest.args, or a sidecar's bytes, must split and fit the
 * argv buffer, after the file's name when argv0=name (a sidecar passes no
 * name: the program's name is checked at launch), and argv_format must
 * carry every word. */
static enum qerr check_args(const struct qlaunch_cfg *c, const char *fname,
			    const char *v, size_t size, struct qerror *e)
{
	struct qargv a;
	enum qerr rc;

	size = qargs_trim(v, size);
	qargs_init(&a, NULL, NULL);
	if (fname && c->argv0 && qargs_add(&a, fname, e) != QE_OK)
		return e->code = QE_ARGS_TOO_BIG;
	rc = qargs_split(v, size, &a, NULL, e);
	if (rc != QE_OK && rc != QE_ARGS_TOO_BIG)
		rc = e->code = QE_ARGS_SYNTAX;
	if (rc != QE_OK)
		return rc;
	/* a word the command line cannot carry (empty, or with a blank) is
	 * refused now; the name is judged at launch */
	qargs_init(&a, NULL, NULL);
	a.format = (enum qargv_format)c->argv_format;
	qargs_split(v, size, &a, NULL, NULL);
	return qargs_check_words(&a, e);
}

/* The bytes so far can never become a program (prefix judgement). */
static enum qerr judge_prefix(const struct qlaunch_file *f,
			      const struct qlaunch_cfg *c, struct qerror *e)
{
	return qelf_check(f->data, f->size, c->prof, QELF_PREFIX, NULL, e);
}

enum qerr qlaunch_open(struct qlaunch *s, const struct qlaunch_file *f, int wr,
		       const struct qlaunch_cfg *c, struct qlaunch_dec *d)
{
	struct qerror e;

	(void)c;
	if (!wr)
		return decide(d, QL_NONE, QE_OK, NULL);
	if (s->writers > s->closing) {
		/* two writers would mix two programs */
		qerr_set(&e, QE_BUSY, "another writer has it open");
		return decide(d, QL_NONE, QE_BUSY, &e);
	}
	/* RELEASE comes after close(2) returns, asynchronously: a script that
	 * copies the same name twice opens it again before the first copy's
	 * RELEASE. Every writer has closed: that copy is finished now. */
	if (s->writers)
		return finished(s, f, 0, d);
	decide(d, QL_NONE, QE_OK, NULL);
	d->begins = qname_launches(f->name ? f->name : "");
	return QE_OK;
}

void qlaunch_attach(struct qlaunch *s, struct qlaunch_handle *h, int wr)
{
	memset(h, 0, sizeof *h);
	h->writer = wr;
	s->writers += wr;
	s->opens++;
}

enum qerr qlaunch_write_may(struct qlaunch *s, struct qlaunch_handle *h,
			    struct qlaunch_dec *d)
{
	struct qerror e;

	if (!h->writer) {
		qerr_set(&e, QE_USAGE, "not open for writing");
		return decide(d, QL_NONE, QE_USAGE, &e);
	}
	/* A copy of a closed descriptor (fork, dup) writes on: fine, unless
	 * the file has a newer writer since, whose program it would spoil. */
	if (h->closed && s->writers - s->closing > 0) {
		qerr_set(&e, QE_BUSY, "a newer writer has it open");
		return decide(d, QL_NONE, QE_BUSY, &e);
	}
	if (h->closed) {
		h->closed = 0;
		s->closing--;
	}
	return decide(d, QL_NONE, QE_OK, NULL);
}

enum qerr qlaunch_wrote(struct qlaunch *s, struct qlaunch_handle *h,
			enum qerr stored, const struct qerror *why,
			struct qlaunch_dec *d)
{
	if (stored != QE_OK)
		return refuse_now(s, d, why);
	h->wrote = 1;
	s->dirty = 1;
	return decide(d, QL_NONE, QE_OK, NULL);
}

enum qerr qlaunch_truncated(struct qlaunch *s, uint64_t size, enum qerr stored,
			    const struct qerror *why, struct qlaunch_dec *d)
{
	/* a size change that failed only spoils a file being written */
	if (stored != QE_OK && s->writers)
		return refuse_now(s, d, why);
	if (stored != QE_OK)
		return decide(d, QL_NONE, stored, why);
	if (size)
		s->dirty = 1;
	return decide(d, QL_NONE, QE_OK, NULL);
}

enum qerr qlaunch_flush(struct qlaunch *s, struct qlaunch_handle *h,
			const struct qlaunch_file *f,
			const struct qlaunch_cfg *c, struct qlaunch_dec *d)
{
	struct qerror e;
	enum qerr rc = QE_OK;

	if (!h->writer)
		return decide(d, QL_NONE, QE_OK, NULL);
	if (!h->closed) {
		h->closed = 1;
		s->closing++;
	}
	if (!h->wrote || !f->name || s->why)
		return decide(d, QL_NONE, QE_OK, NULL);
	/* Only what more bytes can never fix is refused here: a short file
	 * may be a copy in progress, judged at launch. */
	if (qname_is_sidecar(f->name) && f->data)
		rc = check_args(c, NULL, (const char *)f->data, f->size, &e);
	else if (qname_launches(f->name))
		rc = judge_prefix(f, c, &e);
	return rc == QE_OK ? decide(d, QL_NONE, QE_OK, NULL)
			   : refuse_now(s, d, &e);
}

enum qerr qlaunch_fsync(struct qlaunch *s, const struct qlaunch_file *f,
			const struct qlaunch_cfg *c, struct qlaunch_dec *d)
{
	struct qerror e;

	/* fsync says "these bytes are mine". More may still come (dd
	 * oflag=sync fsyncs each block): only the prefix is judged, and for
	 * temporary names too (GIO fsyncs its temporary file before renaming
	 * it over the target). */
	if (!f->name || !f->data || s->why ||
	    (!qname_launches(f->name) && !qname_is_temporary(f->name)) ||
	    judge_prefix(f, c, &e) == QE_OK)
		return decide(d, QL_NONE, QE_OK, NULL);
	return refuse_now(s, d, &e);
}

enum qerr qlaunch_release(struct qlaunch *s, struct qlaunch_handle *h,
			  const struct qlaunch_file *f, struct qlaunch_dec *d)
{
	s->opens--;
	s->writers -= h->writer;
	s->closing -= h->closed;
	if (!h->writer || s->writers)
		return decide(d, QL_NONE, QE_OK, NULL);
	return finished(s, f, 1, d);
}

enum qerr qlaunch_rename(struct qlaunch *s, const struct qlaunch_file *f,
			 const char *newname, const struct qlaunch_cfg *c,
			 struct qlaunch_dec *d)
{
	struct qerror e;

	if (s->writers || !s->dirty || !qname_launches(newname))
		return decide(d, QL_NONE, QE_OK, NULL);
	/* it launches once renamed: refuse the rename of one that could
	 * never run, so that the tool keeps its copy */
	if (qelf_check(f->data, f->size, c->prof, QELF_WHOLE, NULL, &e) ==
	    QE_OK)
		return launch(s, d);
	decide(d, QL_RECORD, e.code, &e);
	d->name = newname;
	d->refused = 1;
	return e.code;
}

enum qerr qlaunch_set_args(struct qlaunch *s, const char *fname,
			   const char *value, size_t size,
			   const struct qlaunch_cfg *c, struct qlaunch_dec *d)
{
	struct qerror e;
	enum qerr rc = check_args(c, fname, value, size, &e);

	if (s)
		set_reason(&s->args_why, rc == QE_OK ? NULL : &e);
	decide(d, QL_NONE, rc, rc == QE_OK ? NULL : &e);
	d->refused = rc != QE_OK;
	return rc;
}

void qlaunch_clear_args(struct qlaunch *s)
{
	set_reason(&s->args_why, NULL);
}

enum qerr qlaunch_args_unstored(struct qlaunch *s, const struct qerror *why,
				struct qlaunch_dec *d)
{
	set_reason(&s->args_why, why);
	decide(d, QL_NONE, why->code, why);
	d->refused = 1;
	return why->code;
}

const struct qerror *qlaunch_pending(const struct qlaunch *s)
{
	return s->why;
}

void qlaunch_free(struct qlaunch *s)
{
	set_reason(&s->why, NULL);
	set_reason(&s->args_why, NULL);
}

enum qerr qlaunch_apply(const struct qlaunch_dec *d,
			const struct qlaunch_actions *a, void *ctx)
{
	switch (d->act) {
	case QL_NONE:
		break;
	case QL_LAUNCH:
		a->launch(ctx);
		break;
	case QL_REFUSE:
		a->take(ctx);
		a->record(ctx, d);
		break;
	case QL_RECORD:
		a->record_as(ctx, d->name, &d->why);
		break;
	case QL_REMOVE:
		/* recorded under its name first; then gone, so that a retry
		 * finds no file */
		a->record(ctx, d);
		a->remove(ctx);
		break;
	case QL_DROP:
		a->drop(ctx);
		break;
	}
	if (d->refused)
		a->log_refused(ctx, d->act == QL_RECORD ? d->name : NULL,
			       &d->why);
	return d->rc;
}
