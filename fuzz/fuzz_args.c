/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for the argument splitter (DESIGN.md §6): qargs_split on
 * arbitrary bytes must either refuse them or produce a well-formed packed argv
 * (DESIGN.md §3), and what qargs_format renders from it must split back to the
 * same argv. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "qerr.h"

#define ARGV0 "prog"

static void violation(const char *what, const struct qerror *e)
{
	fprintf(stderr, "fuzz_args: %s (%s: %s)\n", what,
		e ? qerr_name(e->code) : "-", e ? e->msg : "");
	abort();
}

/* The packed form of DESIGN.md §3: size <= 80, strings NUL-terminated back to
 * back, argc strings, zeros after size. */
static void check_packed(const struct qargv *a)
{
	int nuls = 0;

	if (a->size > QARGV_MAX)
		violation("size above 80", NULL);
	if (a->size && a->buf[a->size - 1] != '\0')
		violation("last string not NUL-terminated", NULL);
	for (size_t i = 0; i < a->size; i++)
		nuls += a->buf[i] == '\0';
	if (nuls != a->argc)
		violation("argc differs from the number of strings", NULL);
	for (size_t i = a->size; i < QARGV_MAX; i++)
		if (a->buf[i])
			violation("byte after size is not zero", NULL);
}

static enum qerr split(const char *s, size_t len, const char *argv0,
		       struct qargv *a, size_t *need)
{
	struct qerror e, ie;
	struct qargv before;
	enum qerr rc;

	if (qargs_init(a, argv0, &ie) != QE_OK)
		violation("qargs_init refused argv0", &ie);
	before = *a;
	memset(&e, 0, sizeof e);
	*need = 0;
	rc = qargs_split(s, len, a, need, &e);
	if (rc == QE_OK) {
		check_packed(a);
		if (*need != a->size)
			violation("need differs from size on success", &e);
		if (a->argc < before.argc ||
		    memcmp(a->buf, before.buf, before.size) != 0)
			violation("split changed what argv already held", &e);
	} else {
		if (rc != QE_ARGS_SYNTAX && rc != QE_ARGS_TOO_BIG)
			violation("unexpected refusal code", &e);
		if (e.code != rc || !e.msg[0])
			violation("refusal without its message", &e);
		if (rc == QE_ARGS_TOO_BIG && *need <= QARGV_MAX)
			violation("too big, but need fits", &e);
		/* a refusal leaves the caller's argv as it was */
		if (memcmp(a, &before, sizeof before) != 0)
			violation("refusal changed the argv", &e);
	}
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct qargv a, b, c;
	size_t need_a, need_b, need_c;
	enum qerr ra = split(s, size, NULL, &a, &need_a);
	enum qerr rb = split(s, size, ARGV0, &b, &need_b);

	/* argv0 costs its bytes and nothing else */
	if (ra != QE_ARGS_SYNTAX) {
		if (rb == QE_ARGS_SYNTAX || need_b != need_a + sizeof ARGV0)
			violation("argv0 changes the verdict beyond its size",
				  NULL);
		if (ra == QE_OK && rb == QE_OK &&
		    (b.argc != a.argc + 1 ||
		     memcmp(b.buf + sizeof ARGV0, a.buf, a.size) != 0))
			violation("argv0 changes the words", NULL);
	} else if (rb != QE_ARGS_SYNTAX) {
		violation("argv0 hides a syntax error", NULL);
	}
	if (ra != QE_OK)
		return 0;

	/* Round trip: the rendering splits back to the same words. */
	char text[8 * QARGV_MAX];
	qargs_format(&a, 0, text, sizeof text);
	if (split(text, strlen(text), NULL, &c, &need_c) != QE_OK ||
	    c.size != a.size || c.argc != a.argc ||
	    memcmp(c.buf, a.buf, QARGV_MAX) != 0) {
		fprintf(stderr, "fuzz_args: rendered as [%s]\n", text);
		violation("qargs_format does not split back to the same argv",
			  NULL);
	}

	/* The buffers the callers use (jobs' 4 * 80) and tiny ones: always a
	 * NUL-terminated string inside the buffer; skip leaves words out. */
	for (size_t dl = 0; dl <= 4 * QARGV_MAX; dl += dl < 8 ? 1 : 53) {
		char *d = malloc(dl ? dl : 1);
		if (!d)
			return 0;
		memset(d, 'x', dl);
		qargs_format(&b, 1, d, dl);
		if (dl && !memchr(d, '\0', dl))
			violation("qargs_format left no NUL", NULL);
		if (dl == 4 * QARGV_MAX && strcmp(d, text) != 0) {
			fprintf(stderr, "fuzz_args: [%s] vs [%s]\n", d, text);
			violation("skipping argv0 renders differently", NULL);
		}
		free(d);
	}
	return 0;
}
