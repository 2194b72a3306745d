/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reading back questfs's log lines, "STAMP job ID uid=N NAME STATE[: WHY]".
 * The name is the user's and may hold anything, so only what comes before
 * it (stamp, id, owner) is trusted, and all three are required: every line
 * of questfs's begins with words it writes, never with a name. The state
 * is the first " refused: " or " failed: " after the name, or a final
 * " delivered". A name made to look like a state only misleads its own
 * owner's notification. */
#include "logline.h"

#include <stdio.h>
#include <string.h>

static size_t copy(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return n;
}

/* questfs escapes each log line C-style: a backslash is written \\. For a
 * person, it is one again; the other escapes (\n, \t, \xHH: controls and
 * bytes that are not UTF-8) stay as written, as they are safe to show. */
static void unbackslash(char *s)
{
	char *w = s;

	for (; *s; s++) {
		*w++ = *s;
		if (s[0] == '\\' && s[1] == '\\')
			s++;
	}
	*w = '\0';
}

/* digits at *p, advanced past them; -1: none or too many */
static int number(const char **p, const char *end, unsigned long long *v)
{
	const char *s = *p;
	unsigned long long r = 0;

	while (s < end && *s >= '0' && *s <= '9' && s - *p < 19)
		r = r * 10 + (unsigned)(*s++ - '0');
	if (s == *p || (s < end && *s >= '0' && *s <= '9'))
		return -1;
	*v = r;
	*p = s;
	return 0;
}

static const char *find(const char *s, const char *end, const char *what)
{
	size_t k = strlen(what);

	for (; s + k <= end; s++)
		if (!memcmp(s, what, k))
			return s;
	return NULL;
}

int qlogl_parse(const char *line, size_t n, struct qlogl *out)
{
	const char *p = line, *end = line + n, *sp, *st;
	unsigned long long v;

	memset(out, 0, sizeof *out);
	out->uid = -1;
	while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	sp = memchr(p, ' ', (size_t)(end - p));
	if (!sp || sp == p || (size_t)(sp - p) >= sizeof out->stamp ||
	    memchr(p, '\0', (size_t)(sp - p)))
		return -1;
	copy(out->stamp, sizeof out->stamp, p, (size_t)(sp - p));
	p = sp + 1;
	if (end - p < 4 || memcmp(p, "job ", 4))
		return -1;
	p += 4;
	if (number(&p, end, &out->id) || p == end || *p != ' ')
		return -1;
	p++;
	/* questfs writes the owner on every job's line: a line without it
	 * is none of questfs's job lines, whatever follows */
	if (end - p < 4 || memcmp(p, "uid=", 4))
		return -1;
	p += 4;
	if (number(&p, end, &v) || p == end || *p != ' ')
		return -1;
	out->uid = (long long)v;
	p++;
	out->kind = QLOGL_OTHER;
	if ((st = find(p, end, " refused: ")) != NULL) {
		out->kind = QLOGL_REFUSED;
		copy(out->detail, sizeof out->detail, st + 10,
		     (size_t)(end - st - 10));
	} else if ((st = find(p, end, " failed: ")) != NULL) {
		out->kind = QLOGL_FAILED;
		copy(out->detail, sizeof out->detail, st + 9,
		     (size_t)(end - st - 9));
	} else if (end - p > 10 && !memcmp(end - 10, " delivered", 10)) {
		st = end - 10;
		out->kind = QLOGL_DELIVERED;
	} else {
		st = memchr(p, ' ', (size_t)(end - p));
		if (!st)
			st = end;
	}
	copy(out->name, sizeof out->name, p, (size_t)(st - p));
	unbackslash(out->name);
	unbackslash(out->detail);
	return 0;
}
