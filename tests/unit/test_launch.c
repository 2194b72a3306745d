/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The launch rule replayed (core/launch.c), without a mount: each row is
 * the sequence of FUSE operations a copying tool sends, as measured on a
 * questfs mount (questfs -d, and strace of the tool; docs/DESIGN.md §7),
 * and the decisions it must lead to. A new tool, or a new refusal, is a
 * new row. The runner keeps the files and their bytes as fs/tree.c does
 * (largest program 393128 bytes) and carries decisions out through
 * qlaunch_apply, the dispatch qfs_apply uses, with actions of its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "launch.h"

#define MKELF_NO_MAIN
#include "../fixtures/mkelf.c"

enum op {
	END,
	CREATE,	     /* create and open for writing: handle h */
	OPEN_W,	     /* open an existing file for writing: handle h */
	OPEN_WT,     /* the same with O_TRUNC */
	OPEN_R,	     /* open read-only: handle h */
	WRITE,	     /* through h, n bytes of the source at off (0: the rest) */
	TRUNC,	     /* ftruncate to n bytes */
	SETATTR,     /* mode or times: not an event of the rule */
	XATTR,	     /* setxattr user.quest.args = text */
	XATTR_LIMIT, /* setxattr user.quest.args past the user's limits */
	FLUSH,
	FSYNC,
	RELEASE,
	RENAME, /* name -> text */
	UNLINK,
};

struct step {
	enum op op;
	const char *name; /* the file, by its name at that step */
	int h;		  /* handle slot */
	size_t off, n;
	const char *text;
};

enum src {
	S_VALID,
	S_X86_64,
	S_SHARED,
	S_MISALIGNED,
	S_BIG,
	S_WORDS, /* 90 letters: arguments that cannot fit */
	S__COUNT
};

struct row {
	const char *tool;
	enum src src;
	const char *before; /* a file already launched under this name */
	struct step steps[24];
	/* every decision that is not "nothing", every failed step and every
	 * open that begins a program (the queue limit applies):
	 * "op:act(name)", "op!outcome", "open:begins", in order */
	const char *want;
};

#define S(...)                                                                 \
	{                                                                      \
		__VA_ARGS__                                                    \
	}
#define W(hh, o, nn)                                                           \
	{                                                                      \
		.op = WRITE, .h = hh, .off = o, .n = nn                        \
	}
#define ALL 0

/* Measured sequences (LOOKUP, GETATTR and GETXATTR left out: they are not
 * events of the rule). */
static const struct row rows[] = {
    {"cp", S_VALID, NULL,
     S({.op = CREATE, .name = "p", .h = 0}, W(0, 0, ALL),
       {.op = FLUSH, .name = "p", .h = 0},
       {.op = RELEASE, .name = "p", .h = 0}),
     "open:begins release:launch(p)"},
    {"cp --preserve=xattr", S_VALID, NULL,
     S({.op = CREATE, .name = "p", .h = 0}, W(0, 0, ALL),
       {.op = XATTR, .name = "p", .text = "a b"},
       {.op = FLUSH, .name = "p", .h = 0},
       {.op = RELEASE, .name = "p", .h = 0}),
     "open:begins release:launch(p)"},
    {"cp --preserve=xattr, arguments too long", S_VALID, NULL,
     S({.op = CREATE, .name = "p", .h = 0}, W(0, 0, ALL),
       {.op = XATTR,
	.name = "p",
	.text = "wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww"
		"wwwwwwwwwwwwwwww"},
       {.op = FLUSH, .name = "p", .h = 0},
       {.op = RELEASE, .name = "p", .h = 0}),
     "open:begins setxattr!args-too-big release:refuse(p)"},
    {"cp -a", S_VALID, NULL,
     S({.op = CREATE, .name = "p", .h = 0}, W(0, 0, ALL),
       {.op = SETATTR, .name = "p"}, {.op = XATTR, .name = "p", .text = "a b"},
       {.op = SETATTR, .name = "p"}, {.op = FLUSH, .name = "p", .h = 0},
       {.op = RELEASE, .name = "p", .h = 0}),
     "open:begins release:launch(p)"},
    {"mv (from another file system)", S_VALID, NULL,
     S({.op = CREATE, .name = "p", .h = 0}, W(0, 0, ALL),
       {.op = SETATTR, .name = "p"}, {.op = SETATTR, .name = "p"},
       {.op = FLUSH, .name = "p", .h = 0},
       {.op = RELEASE, .name = "p", .h = 0}),
     "open:begins release:launch(p)"},
    {"install", S_VALID, NULL,
     S({.op = CREATE, .name = "p", .h = 0}, W(0, 0, ALL),
       {.op = SETATTR, .name = "p"}, {.op = FLUSH, .name = "p", .h = 0},
       {.op = RELEASE, .name = "p", .h = 0}, {.op = SETATTR, .name = "p"}),
     "open:begins release:launch(p)"},
    {"rsync -a", S_VALID, NULL,
     S({.op = CREATE, .name = ".p.Ab12Cd", .h = 0},
       {.op = SETATTR, .name = ".p.Ab12Cd"}, W(0, 0, ALL),
       {.op = FLUSH, .name = ".p.Ab12Cd", .h = 0},
       {.op = RELEASE, .name = ".p.Ab12Cd", .h = 0},
       {.op = SETATTR, .name = ".p.Ab12Cd"},
       {.op = OPEN_R, .name = ".p.Ab12Cd", .h = 1},
       {.op = SETATTR, .name = ".p.Ab12Cd"},
       {.op = FLUSH, .name = ".p.Ab12Cd", .h = 1},
       {.op = RELEASE, .name = ".p.Ab12Cd", .h = 1},
       {.op = RENAME, .name = ".p.Ab12Cd", .text = "p"}),
     "rename:launch(p)"},
    {"rsync --inplace", S_VALID, NULL,
     S({.op = CREATE, .name = "p", .h = 0}, W(0, 0, ALL),
       {.op = TRUNC, .name = "p", .n = 232}, {.op = FLUSH, .name = "p", .h = 0},
       {.op = RELEASE, .name = "p", .h = 0},
       {.op = OPEN_R, .name = "p", .h = 1}, {.op = SETATTR, .name = "p"},
       {.op = FLUSH, .name = "p", .h = 1},
       {.op = RELEASE, .name = "p", .h = 1}),
     "open:begins release:launch(p)"},
    {"dd bs=512 (flushes at 0 bytes)", S_BIG, NULL,
     S({.op = CREATE, .name = "p", .h = 0}, {.op = FLUSH, .name = "p", .h = 0},
       W(0, 0, 512), W(0, 512, 512), {.op = FLUSH, .name = "p", .h = 0},
       {.op = RELEASE, .name = "p", .h = 0}),
     "open:begins release:launch(p)"},
    {"cat > in sh -c (flushes at 0 bytes, and twice at the end)", S_VALID, NULL,
     S({.op = CREATE, .name = "p", .h = 0}, {.op = FLUSH, .name = "p", .h = 0},
       W(0, 0, ALL), {.op = FLUSH, .name = "p", .h = 0},
       {.op = FLUSH, .name = "p", .h = 0},
       {.op = RELEASE, .name = "p", .h = 0}),
     "open:begins release:launch(p)"},
    {"gio copy to a new name", S_VALID, NULL,
     S({.op = CREATE, .name = "p", .h = 0}, W(0, 0, ALL),
       {.op = FLUSH, .name = "p", .h = 0}, {.op = RELEASE, .name = "p", .h = 0},
       {.op = SETATTR, .name = "p"}, {.op = SETATTR, .name = "p"},
       {.op = XATTR, .name = "p", .text = "a b"}),
     "open:begins release:launch(p)"},
    /* GIO renames its temporary file over the target before closing it:
     * the copy launches at that RELEASE, under the final name */
    {"gio copy over an existing file", S_VALID, "p",
     S({.op = OPEN_W, .name = "p", .h = 0},
       {.op = CREATE, .name = ".goutputstream-X1", .h = 1},
       {.op = FLUSH, .name = "p", .h = 0}, {.op = RELEASE, .name = "p", .h = 0},
       W(1, 0, ALL), {.op = FSYNC, .name = ".goutputstream-X1"},
       {.op = RENAME, .name = ".goutputstream-X1", .text = "p"},
       {.op = FLUSH, .name = "p", .h = 1}, {.op = RELEASE, .name = "p", .h = 1},
       {.op = SETATTR, .name = "p"}, {.op = SETATTR, .name = "p"},
       {.op = XATTR, .name = "p", .text = "a b"}),
     "open:begins release:launch(p)"},
    {"gio copy over an existing file, not a program", S_MISALIGNED, "p",
     S({.op = OPEN_W, .name = "p", .h = 0},
       {.op = CREATE, .name = ".goutputstream-X1", .h = 1},
       {.op = FLUSH, .name = "p", .h = 0}, {.op = RELEASE, .name = "p", .h = 0},
       W(1, 0, ALL), {.op = FSYNC, .name = ".goutputstream-X1"},
       {.op = FLUSH, .name = ".goutputstream-X1", .h = 1},
       {.op = RELEASE, .name = ".goutputstream-X1", .h = 1}),
     "open:begins fsync!elf-align release:remove(.goutputstream-X1)"},
    {"Thunar copy", S_VALID, NULL,
     S({.op = CREATE, .name = "p", .h = 0}, W(0, 0, ALL),
       {.op = FLUSH, .name = "p", .h = 0}, {.op = RELEASE, .name = "p", .h = 0},
       {.op = SETATTR, .name = "p"}, {.op = SETATTR, .name = "p"}),
     "open:begins release:launch(p)"},
    {"Thunar copy and replace", S_VALID, "p",
     S({.op = OPEN_W, .name = "p", .h = 0},
       {.op = CREATE, .name = ".goutputstream-Y2", .h = 1},
       {.op = FLUSH, .name = "p", .h = 0}, {.op = RELEASE, .name = "p", .h = 0},
       W(1, 0, ALL), {.op = FSYNC, .name = ".goutputstream-Y2"},
       {.op = RENAME, .name = ".goutputstream-Y2", .text = "p"},
       {.op = FLUSH, .name = "p", .h = 1}, {.op = RELEASE, .name = "p", .h = 1},
       {.op = SETATTR, .name = "p"}, {.op = SETATTR, .name = "p"}),
     "open:begins release:launch(p)"},
    /* the kernel flushes and releases a killed writer's file: what it
     * holds launches and is judged whole at the commit */
    {"a killed writer", S_VALID, NULL,
     S({.op = CREATE, .name = "p", .h = 0}, W(0, 0, 100),
       {.op = FLUSH, .name = "p", .h = 0},
       {.op = RELEASE, .name = "p", .h = 0}),
     "open:begins release:launch(p)"},
    {"cp of 500000 bytes: EFBIG", S_BIG, NULL,
     S({.op = CREATE, .name = "p", .h = 0}, W(0, 0, 131072),
       W(0, 131072, 131072), W(0, 262144, 131072),
       {.op = FLUSH, .name = "p", .h = 0},
       {.op = RELEASE, .name = "p", .h = 0}),
     "open:begins write!file-too-big release:remove(p)"},
    {"a writer killed after EFBIG", S_BIG, NULL,
     S({.op = CREATE, .name = "p", .h = 0}, W(0, 0, 262144),
       W(0, 262144, 237856), {.op = FLUSH, .name = "p", .h = 0},
       {.op = RELEASE, .name = "p", .h = 0}),
     "open:begins write!file-too-big release:remove(p)"},
    {"EFBIG, then a retry of the same name", S_BIG, NULL,
     S({.op = CREATE, .name = "p", .h = 0}, W(0, 0, 400000),
       {.op = FLUSH, .name = "p", .h = 0}, {.op = RELEASE, .name = "p", .h = 0},
       {.op = CREATE, .name = "p", .h = 1}, W(1, 0, 1000),
       {.op = FLUSH, .name = "p", .h = 1},
       {.op = RELEASE, .name = "p", .h = 1}),
     "open:begins write!file-too-big release:remove(p) open:begins "
     "release:launch(p)"},
    {"cp of an x86-64 program", S_X86_64, NULL,
     S({.op = CREATE, .name = "p", .h = 0}, W(0, 0, ALL),
       {.op = FLUSH, .name = "p", .h = 0},
       {.op = RELEASE, .name = "p", .h = 0}),
     "open:begins flush!elf-machine release:remove(p)"},
    {"rsync of a shared object", S_SHARED, NULL,
     S({.op = CREATE, .name = ".so.Zz9", .h = 0}, W(0, 0, ALL),
       {.op = FLUSH, .name = ".so.Zz9", .h = 0},
       {.op = RELEASE, .name = ".so.Zz9", .h = 0},
       {.op = RENAME, .name = ".so.Zz9", .text = "so"},
       {.op = UNLINK, .name = ".so.Zz9"}),
     "rename:record(so) rename!elf-type"},
    {"a second writer", S_VALID, NULL,
     S({.op = CREATE, .name = "p", .h = 0}, W(0, 0, 100),
       {.op = OPEN_W, .name = "p", .h = 1}, W(0, 100, ALL),
       {.op = FLUSH, .name = "p", .h = 0},
       {.op = RELEASE, .name = "p", .h = 0}),
     "open:begins open!busy release:launch(p)"},
    /* close(2) returns at FLUSH; RELEASE comes later */
    {"cp twice, the second open before the first RELEASE", S_VALID, NULL,
     S({.op = CREATE, .name = "p", .h = 0}, W(0, 0, ALL),
       {.op = FLUSH, .name = "p", .h = 0}, {.op = OPEN_WT, .name = "p", .h = 1},
       W(1, 0, ALL), {.op = FLUSH, .name = "p", .h = 1},
       {.op = RELEASE, .name = "p", .h = 0},
       {.op = RELEASE, .name = "p", .h = 1}),
     "open:begins open:launch(p) release:launch(p)"},
    {"a sidecar too long", S_WORDS, NULL,
     S({.op = CREATE, .name = "q.args", .h = 0}, W(0, 0, ALL),
       {.op = FLUSH, .name = "q.args", .h = 0},
       {.op = RELEASE, .name = "q.args", .h = 0}),
     "flush!args-too-big release:remove(q.args)"},
    {"cp --preserve=xattr, an empty word (argv_format=line)", S_VALID, NULL,
     S({.op = CREATE, .name = "p", .h = 0}, W(0, 0, ALL),
       {.op = XATTR, .name = "p", .text = "a '' b"},
       {.op = FLUSH, .name = "p", .h = 0},
       {.op = RELEASE, .name = "p", .h = 0}),
     "open:begins setxattr!args-word release:refuse(p)"},
    {"cp --preserve=xattr past user_max_bytes", S_VALID, NULL,
     S({.op = CREATE, .name = "p", .h = 0}, W(0, 0, ALL),
       {.op = XATTR_LIMIT, .name = "p", .text = "a b"},
       {.op = FLUSH, .name = "p", .h = 0},
       {.op = RELEASE, .name = "p", .h = 0}),
     "open:begins setxattr!limit release:refuse(p)"},
    {"a good value replaces one past the limits", S_VALID, NULL,
     S({.op = CREATE, .name = "p", .h = 0}, W(0, 0, ALL),
       {.op = XATTR_LIMIT, .name = "p", .text = "a b"},
       {.op = XATTR, .name = "p", .text = "a"},
       {.op = FLUSH, .name = "p", .h = 0},
       {.op = RELEASE, .name = "p", .h = 0}),
     "open:begins setxattr!limit release:launch(p)"},
    {"a temporary name", S_VALID, NULL,
     S({.op = CREATE, .name = ".p.swp", .h = 0}, W(0, 0, ALL),
       {.op = FLUSH, .name = ".p.swp", .h = 0},
       {.op = RELEASE, .name = ".p.swp", .h = 0}),
     ""},
    {"opened for writing, no data (touch)", S_VALID, NULL,
     S({.op = CREATE, .name = "p", .h = 0}, {.op = FLUSH, .name = "p", .h = 0},
       {.op = RELEASE, .name = "p", .h = 0}),
     "open:begins"},
    {"unlinked while written", S_VALID, NULL,
     S({.op = CREATE, .name = "p", .h = 0}, W(0, 0, ALL),
       {.op = UNLINK, .name = "p"}, {.op = FLUSH, .name = NULL, .h = 0},
       {.op = RELEASE, .name = NULL, .h = 0}),
     "open:begins release:drop"},
};

/* ---- the runner: files and handles as fs/tree.c keeps them ---- */

struct file {
	char *name; /* NULL: unlinked */
	uint8_t *data;
	size_t size;
	int launched;
	struct qlaunch ls;
};

struct run {
	struct file files[4];
	struct qlaunch_handle h[4];
	struct file *hf[4];
	struct qelf_profile prof;
	struct qlaunch_cfg cfg;
	struct mkelf_img src[S__COUNT];
	char trace[512];
};

static struct file *find(struct run *r, const char *name)
{
	for (size_t i = 0; i < 4; i++)
		if (r->files[i].name && name && !strcmp(r->files[i].name, name))
			return &r->files[i];
	return NULL;
}

static struct file *new_file(struct run *r, const char *name)
{
	for (size_t i = 0; i < 4; i++)
		if (!r->files[i].name && !r->files[i].data) {
			memset(&r->files[i], 0, sizeof r->files[i]);
			r->files[i].name = strdup(name);
			return &r->files[i];
		}
	fail_msg("more than 4 files");
	return NULL;
}

static void note(struct run *r, const char *fmt, ...)
{
	size_t n = strlen(r->trace);
	va_list ap;

	if (n)
		r->trace[n++] = ' ';
	va_start(ap, fmt);
	vsnprintf(r->trace + n, sizeof r->trace - n, fmt, ap);
	va_end(ap);
}

static const char *const op_names[] = {
    [CREATE] = "open",	  [OPEN_W] = "open",	      [OPEN_WT] = "open",
    [OPEN_R] = "open",	  [WRITE] = "write",	      [TRUNC] = "truncate",
    [XATTR] = "setxattr", [XATTR_LIMIT] = "setxattr", [FLUSH] = "flush",
    [FSYNC] = "fsync",	  [RELEASE] = "release",      [RENAME] = "rename"};

/* The replay's actions for qlaunch_apply, the dispatch qfs_apply uses:
 * what a row can see of fs/tree.c's. Those a row sees note "op:act(name)"
 * and take the bytes from the file as fs/tree.c does; recording a refusal
 * under the file's name and its log line are checked, not noted. */
struct applying {
	struct run *r;
	enum op op;
	struct file *f;
};

static void bytes_gone(struct file *f)
{
	free(f->data);
	f->data = NULL;
	f->launched = 1;
}

static void act_launch(void *ctx)
{
	struct applying *a = ctx;

	note(a->r, "%s:launch(%s)", op_names[a->op], a->f->name);
	bytes_gone(a->f);
}

static void act_take(void *ctx)
{
	struct applying *a = ctx;

	note(a->r, "%s:refuse(%s)", op_names[a->op], a->f->name);
	bytes_gone(a->f);
}

/* recorded under the file's name: it still has one */
static void act_record(void *ctx, const struct qlaunch_dec *d)
{
	struct applying *a = ctx;

	assert_non_null(a->f->name);
	assert_true(d->why.msg[0]);
}

static void act_record_as(void *ctx, const char *name, const struct qerror *why)
{
	struct applying *a = ctx;

	note(a->r, "%s:record(%s)", op_names[a->op], name);
	assert_true(why->msg[0]);
}

static void act_remove(void *ctx)
{
	struct applying *a = ctx;

	note(a->r, "%s:remove(%s)", op_names[a->op], a->f->name);
	bytes_gone(a->f);
	free(a->f->name);
	a->f->name = NULL;
}

static void act_drop(void *ctx)
{
	struct applying *a = ctx;

	note(a->r, "%s:drop", op_names[a->op]);
	bytes_gone(a->f);
}

static void act_log_refused(void *ctx, const char *name,
			    const struct qerror *why)
{
	(void)ctx;
	(void)name;
	assert_true(why->msg[0]);
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

/* The decision carried out as qfs_apply does, then its outcome noted. */
static void apply(struct run *r, enum op op, struct file *f,
		  const struct qlaunch_dec *d)
{
	struct applying a = {r, op, f};

	if (qlaunch_apply(d, &actions, &a) != QE_OK)
		note(r, "%s!%s", op_names[op], qerr_name(d->rc));
	if (d->begins)
		note(r, "%s:begins", op_names[op]);
	assert_true(d->rc == QE_OK || d->why.msg[0]);
}

/* The storage of fs/tree.c: bytes up to the largest program. */
static enum qerr store(struct run *r, struct file *f, const uint8_t *b,
		       size_t n, size_t off, struct qerror *why)
{
	if (off + n > r->prof.max_size)
		return qerr_set(
		    why, QE_FILE_TOO_BIG,
		    "%zu bytes written; the file would be %zu bytes", f->size,
		    off + n);
	if (off + n > f->size) {
		f->data = realloc(f->data, off + n);
		memset(f->data + f->size, 0, off + n - f->size);
		f->size = off + n;
	}
	memcpy(f->data + off, b, n);
	return QE_OK;
}

static void do_open(struct run *r, const struct step *s, struct file *f,
		    struct qlaunch_dec *d)
{
	struct qlaunch_file facts = {f->name, f->data, f->size};
	int wr = s->op != OPEN_R;

	if (qlaunch_open(&f->ls, &facts, wr, &r->cfg, d) == QE_OK) {
		apply(r, s->op, f, d);
		if (s->op == OPEN_WT || (f->launched && wr)) {
			free(f->data);
			f->data = NULL;
			f->size = 0;
			f->launched = 0;
		}
		qlaunch_attach(&f->ls, &r->h[s->h], wr);
		r->hf[s->h] = f;
		return;
	}
	apply(r, s->op, f, d);
}

static void do_write(struct run *r, const struct step *s,
		     const struct mkelf_img *src, struct qlaunch_dec *d)
{
	struct file *f = r->hf[s->h];
	size_t n = s->n ? s->n : src->len - s->off;
	struct qerror why;
	enum qerr rc;

	if (qlaunch_write_may(&f->ls, &r->h[s->h], d) != QE_OK) {
		apply(r, WRITE, f, d);
		return;
	}
	rc = store(r, f, src->b + s->off, n, s->off, &why);
	qlaunch_wrote(&f->ls, &r->h[s->h], rc, &why, d);
	apply(r, WRITE, f, d);
}

static void do_rename(struct run *r, const struct step *s, struct file *f,
		      struct qlaunch_dec *d)
{
	struct qlaunch_file facts = {f->name, f->data, f->size};
	struct file *old = find(r, s->text);

	if (qlaunch_rename(&f->ls, &facts, s->text, &r->cfg, d) == QE_OK) {
		if (old && old != f) {
			free(old->name);
			old->name = NULL;
		}
		free(f->name);
		f->name = strdup(s->text);
	}
	apply(r, RENAME, f, d);
}

static void step(struct run *r, const struct step *s,
		 const struct mkelf_img *src)
{
	struct file *f = s->op == CREATE ? NULL : find(r, s->name);
	struct qlaunch_dec d;

	if (s->op == FLUSH || s->op == RELEASE || s->op == WRITE)
		f = r->hf[s->h];
	if (s->op == CREATE && !(f = find(r, s->name)))
		f = new_file(r, s->name);
	assert_non_null(f);
	struct qlaunch_file facts = {f->name, f->data, f->size};
	switch (s->op) {
	case CREATE:
	case OPEN_W:
	case OPEN_WT:
	case OPEN_R:
		do_open(r, s, f, &d);
		break;
	case WRITE:
		do_write(r, s, src, &d);
		break;
	case TRUNC:
		qlaunch_truncated(&f->ls, s->n, QE_OK, NULL, &d);
		apply(r, s->op, f, &d);
		break;
	case SETATTR:
		break;
	case XATTR:
		qlaunch_set_args(&f->ls, f->name, s->text, strlen(s->text),
				 &r->cfg, &d);
		apply(r, s->op, f, &d);
		break;
	case XATTR_LIMIT: {
		struct qerror e;
		qerr_set(&e, QE_LIMIT, "user 1000 holds too many bytes");
		qlaunch_args_unstored(&f->ls, &e, &d);
		apply(r, s->op, f, &d);
		break;
	}
	case FLUSH:
		qlaunch_flush(&f->ls, &r->h[s->h], &facts, &r->cfg, &d);
		apply(r, s->op, f, &d);
		break;
	case FSYNC:
		qlaunch_fsync(&f->ls, &facts, &r->cfg, &d);
		apply(r, s->op, f, &d);
		break;
	case RELEASE:
		qlaunch_release(&f->ls, &r->h[s->h], &facts, &d);
		apply(r, s->op, f, &d);
		break;
	case RENAME:
		do_rename(r, s, f, &d);
		break;
	case UNLINK:
		free(f->name);
		f->name = NULL;
		break;
	case END:
		break;
	}
}

static int setup(void **state)
{
	struct run *r = calloc(1, sizeof *r);
	struct mkelf_img head;

	if (!r)
		return -1;
	qelf_profile_default(&r->prof);
	r->cfg.prof = &r->prof;
	r->cfg.argv0 = 1;
	r->src[S_VALID] = mkelf_build("valid");
	r->src[S_X86_64] = mkelf_build("x86-64");
	r->src[S_SHARED] = mkelf_build("shared-object");
	r->src[S_MISALIGNED] = mkelf_build("misaligned");
	/* a valid 1000-byte program, then zeros up to 500000 bytes */
	head = mkelf_sized(1000, 1, 5);
	r->src[S_BIG] = (struct mkelf_img){calloc(500000, 1), 500000};
	r->src[S_WORDS] = (struct mkelf_img){malloc(90), 90};
	if (!head.b || !r->src[S_BIG].b || !r->src[S_WORDS].b)
		return -1;
	memset(r->src[S_WORDS].b, 'w', 90);
	memcpy(r->src[S_BIG].b, head.b, head.len);
	free(head.b);
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	struct run *r = *state;

	for (size_t i = 0; i < S__COUNT; i++)
		free(r->src[i].b);
	free(r);
	return 0;
}

static void reset(struct run *r)
{
	for (size_t i = 0; i < 4; i++) {
		free(r->files[i].name);
		free(r->files[i].data);
		qlaunch_free(&r->files[i].ls);
	}
	memset(r->files, 0, sizeof r->files);
	memset(r->hf, 0, sizeof r->hf);
	r->trace[0] = '\0';
}

/* One row: its trace must be the expected one, exactly. */
static void replay(struct run *r, const struct row *row)
{
	reset(r);
	if (row->before) {
		struct file *f = new_file(r, row->before);
		f->launched = 1; /* launched earlier, its job ended */
	}
	for (const struct step *s = row->steps; s->op != END; s++)
		step(r, s, &r->src[row->src]);
	if (strcmp(r->trace, row->want))
		fail_msg("%s:\n  got  \"%s\"\n  want \"%s\"", row->tool,
			 r->trace, row->want);
	/* nothing is left open, nothing waits for a release */
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(r->files[i].ls.writers, 0);
		assert_null(qlaunch_pending(&r->files[i].ls));
	}
}

static void test_replay_table(void **state)
{
	struct run *r = *state;

	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
		replay(r, &rows[i]);
	reset(r);
}

/* The runner itself: a row whose expectation is wrong fails. */
static void test_replay_can_fail(void **state)
{
	struct run *r = *state;
	struct row wrong = rows[0];

	wrong.src = S_X86_64; /* cp of an x86-64 program does not launch */
	reset(r);
	for (const struct step *s = wrong.steps; s->op != END; s++)
		step(r, s, &r->src[wrong.src]);
	assert_string_not_equal(r->trace, rows[0].want);
	reset(r);
}

/* While a refused file is still open its state says so and why: the
 * limit and the bytes written. */
static void test_efbig_reason_pending(void **state)
{
	struct run *r = *state;
	const struct step steps[] = {{.op = CREATE, .name = "p", .h = 0},
				     W(0, 0, 262144),
				     W(0, 262144, 131072)};
	const struct qerror *why;

	reset(r);
	for (size_t i = 0; i < 3; i++)
		step(r, &steps[i], &r->src[S_BIG]);
	why = qlaunch_pending(&find(r, "p")->ls);
	assert_non_null(why);
	assert_int_equal(why->code, QE_FILE_TOO_BIG);
	assert_non_null(strstr(why->msg, "262144 bytes written"));
	assert_non_null(strstr(why->msg, "393216 bytes"));
	reset(r);
}

/* ---- qlaunch_apply: which actions each decision calls, in order ---- */

struct calls {
	char s[128];
	const struct qlaunch_dec *d;
};

static void call(void *ctx, const char *what)
{
	struct calls *c = ctx;
	size_t n = strlen(c->s);

	snprintf(c->s + n, sizeof c->s - n, "%s%s", n ? " " : "", what);
}

static void c_launch(void *ctx)
{
	call(ctx, "launch");
}

static void c_take(void *ctx)
{
	call(ctx, "take");
}

static void c_record(void *ctx, const struct qlaunch_dec *d)
{
	assert_ptr_equal(d, ((struct calls *)ctx)->d);
	call(ctx, "record");
}

static void c_record_as(void *ctx, const char *name, const struct qerror *why)
{
	char w[64];

	assert_ptr_equal(why, &((struct calls *)ctx)->d->why);
	snprintf(w, sizeof w, "record_as(%s)", name);
	call(ctx, w);
}

static void c_remove(void *ctx)
{
	call(ctx, "remove");
}

static void c_drop(void *ctx)
{
	call(ctx, "drop");
}

static void c_log_refused(void *ctx, const char *name, const struct qerror *why)
{
	char w[64];

	assert_ptr_equal(why, &((struct calls *)ctx)->d->why);
	snprintf(w, sizeof w, "log(%s)", name ? name : "file");
	call(ctx, w);
}

/* Every decision calls its own actions and no other, in the order qfs_apply
 * relies on: a refused file's bytes leave it before its refused job is
 * recorded; a removed file's refusal is recorded under its name before it
 * leaves run/; the log line comes last, under the refused rename's new
 * name for QL_RECORD, else the file's own. The outcome is d->rc. */
static void test_apply_dispatch(void **state)
{
	static const struct {
		enum qlaunch_act act;
		int refused;
		enum qerr rc;
		const char *want;
	} cases[] = {
	    {QL_NONE, 0, QE_OK, ""},
	    {QL_NONE, 1, QE_ELF_MACHINE, "log(file)"},
	    {QL_LAUNCH, 0, QE_OK, "launch"},
	    {QL_REFUSE, 0, QE_OK, "take record"},
	    {QL_RECORD, 1, QE_ELF_MACHINE, "record_as(new) log(new)"},
	    {QL_REMOVE, 0, QE_OK, "record remove"},
	    {QL_REMOVE, 1, QE_OK, "record remove log(file)"},
	    {QL_DROP, 0, QE_OK, "drop"},
	};
	static const struct qlaunch_actions a = {
	    .launch = c_launch,
	    .take = c_take,
	    .record = c_record,
	    .record_as = c_record_as,
	    .remove = c_remove,
	    .drop = c_drop,
	    .log_refused = c_log_refused,
	};
	int seen[QL_DROP + 1] = {0};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct qlaunch_dec d = {.act = cases[i].act,
					.rc = cases[i].rc,
					.refused = cases[i].refused};
		struct calls c = {.d = &d};

		qerr_set(&d.why, QE_ELF_MACHINE, "not a Quest program");
		if (d.act == QL_RECORD)
			d.name = "new";
		assert_int_equal(qlaunch_apply(&d, &a, &c), cases[i].rc);
		if (strcmp(c.s, cases[i].want))
			fail_msg(
			    "act %d refused %d:\n  got  \"%s\"\n  want \"%s\"",
			    cases[i].act, cases[i].refused, c.s, cases[i].want);
		seen[cases[i].act] = 1;
	}
	/* a decision added to enum qlaunch_act needs its case here */
	for (int act = QL_NONE; act <= QL_DROP; act++)
		assert_true(seen[act]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_replay_table),
	    cmocka_unit_test(test_replay_can_fail),
	    cmocka_unit_test(test_efbig_reason_pending),
	    cmocka_unit_test(test_apply_dispatch),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
