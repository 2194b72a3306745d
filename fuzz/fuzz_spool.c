/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for the spool's journal (core/spool.c): arbitrary bytes
 * as the journal file a crash left behind. Loading must not crash, must
 * hand over only whole jobs, and what it loads must come back, the same,
 * from the journal it wrote for them: loading twice is loading once. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

#define MAXJOBS 64

struct got {
	struct qspool_entry e[MAXJOBS];
	size_t n;
	int over;
};

static void violation(const char *what)
{
	fprintf(stderr, "fuzz_spool: %s\n", what);
	abort();
}

static void on_entry(void *ctx, struct qspool_entry *e)
{
	struct got *g = ctx;

	if (!e->image)
		violation("a job without its image");
	if (e->name[sizeof e->name - 1] || e->args[sizeof e->args - 1])
		violation("name or arguments not terminated");
	if (g->n && e->id <= g->e[g->n - 1].id)
		violation("jobs not in id order, or one twice");
	if (g->n == MAXJOBS) {
		g->over = 1;
		free(e->image);
		return;
	}
	g->e[g->n++] = *e;
}

static void on_bad(void *ctx, const char *file, const char *why)
{
	(void)ctx;
	if (!file || !why || !*why)
		violation("a bad record without its reason");
}

static size_t load(const char *dir, struct got *g)
{
	struct qspool *sp;
	struct qerror e;

	memset(g, 0, sizeof *g);
	if (qspool_open(dir, 0, &sp, &e) != QE_OK)
		violation(e.msg);
	size_t n = qspool_load(sp, on_entry, on_bad, g);
	qspool_close(sp);
	return n;
}

static void clear(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->e[i].image);
}

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[256];

	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.') {
			snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
			unlink(path);
		}
	if (d)
		closedir(d);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[64];
	char path[128];
	struct got a, b;
	FILE *f;

	if (!dir[0]) {
		strcpy(dir, "/dev/shm/fuzz_spool.XXXXXX");
		if (!mkdtemp(dir))
			violation("no scratch directory");
	}
	mkdir(dir, 0700);
	snprintf(path, sizeof path, "%s/00000001.journal", dir);
	if (!(f = fopen(path, "wb")) ||
	    (size && fwrite(data, 1, size, f) != size) || fclose(f))
		violation("cannot write the journal");

	if (load(dir, &a) != a.n && !a.over)
		violation("load's count differs from the jobs handed over");
	if (!a.over) {
		load(dir, &b);
		if (b.n != a.n)
			violation("a second load finds another number of jobs");
		for (size_t i = 0; i < a.n; i++) {
			const struct qspool_entry *x = &a.e[i], *y = &b.e[i];
			if (x->id != y->id || x->len != y->len ||
			    x->t_launch_ms != y->t_launch_ms ||
			    strcmp(x->name, y->name) ||
			    strcmp(x->args, y->args) ||
			    memcmp(x->hdr, y->hdr, sizeof x->hdr) ||
			    memcmp(x->image, y->image, x->len) ||
			    x->marked != y->marked ||
			    x->mark_valid != y->mark_valid ||
			    (x->mark_valid && (x->mark.epoch != y->mark.epoch ||
					       x->mark.seq != y->mark.seq)))
				violation("a job changed when written again");
		}
		clear(&b);
	}
	clear(&a);
	rm_dir(dir);
	return 0;
}
