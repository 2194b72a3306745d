/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for the log-line parser (core/logline.c), which
 * questfs-notify runs on every line of a log that users' names fill:
 * arbitrary bytes parse or are refused without a fault, a parsed line
 * began with "STAMP job ID uid=N " as questfs writes it, and whatever a
 * name holds, it cannot make a line of questfs's ("job 3 uid=5 NAME ...",
 * "file uid=5 run/NAME removed: ...") read as another owner's or job's. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logline.h"

static void violation(const char *what)
{
	fprintf(stderr, "fuzz_logline: %s\n", what);
	abort();
}

static int terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

/* questfs escapes a line before it writes it: a name never holds a
 * newline or another control byte there (escape.h) */
static size_t as_escaped(const uint8_t *d, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
		out[o++] = d[i] < 0x20 || d[i] == 0x7f ? '?' : (char)d[i];
	return o;
}

static void wrapped(const char *pre, const char *name, size_t n,
		    const char *post, int want_job)
{
	size_t lp = strlen(pre), ls = strlen(post);
	char *line = malloc(lp + n + ls + 1);
	struct qlogl l;
	int rc;

	if (!line)
		return;
	memcpy(line, pre, lp);
	memcpy(line + lp, name, n);
	memcpy(line + lp + n, post, ls + 1);
	rc = qlogl_parse(line, lp + n + ls, &l);
	if (!want_job && rc != -1)
		violation("a file's line, its name chosen, read as a job's");
	if (want_job &&
	    (rc != 0 || l.id != 3 || l.uid != 5 || strcmp(l.stamp, "T")))
		violation("a job's line lost its id or owner to its name");
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qlogl l;
	char *name;
	size_t n;

	if (qlogl_parse((const char *)data, size, &l) == 0) {
		if (l.uid < 0 || l.kind > QLOGL_FAILED)
			violation("parsed without an owner or with no kind");
		if (!terminated(l.stamp, sizeof l.stamp) ||
		    !terminated(l.name, sizeof l.name) ||
		    !terminated(l.detail, sizeof l.detail))
			violation("a field without its NUL");
		/* digits may have leading zeros: compare after the stamp */
		size_t k = strlen(l.stamp);
		if (size <= k || memcmp(data, l.stamp, k) || data[k] != ' ' ||
		    size - k < 5 || memcmp(data + k + 1, "job ", 4))
			violation("parsed a line that does not begin with "
				  "STAMP job");
	} else if (l.uid != -1) {
		violation("refused, with an owner");
	}

	if (!(name = malloc(size ? size : 1)))
		return 0;
	n = as_escaped(data, size, name);
	wrapped("T file uid=5 run/", name, n, " removed: x", 0);
	wrapped("T file uid=5 run/", name, n, "", 0);
	wrapped("T job 3 uid=5 ", name, n, " refused: x", 1);
	wrapped("T job 3 uid=5 ", name, n, " delivered", 1);
	free(name);
	return 0;
}
