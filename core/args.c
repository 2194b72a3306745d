/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Splitting a user's argument string into words and packing argv into the
 * wire format's 80-byte buffer. Nothing is expanded: no variables, globs or
 * command substitution; only quotes and backslashes are understood. */
#include "args.h"

#include <string.h>

/* Appends byte c of the current word; counts what would be needed even when
 * the buffer is full, so that a refusal can name the real size. */
static void put(struct qargv *a, size_t *need, char c)
{
	if (*need < QARGV_MAX)
		a->buf[*need] = c;
	(*need)++;
}

size_t qargs_trim(const char *s, size_t len)
{
	while (len && (s[len - 1] == '\n' || s[len - 1] == '\0'))
		len--;
	return len;
}

enum qerr qargs_init(struct qargv *out, const char *argv0, struct qerror *err)
{
	memset(out, 0, sizeof *out);
	return argv0 ? qargs_add(out, argv0, err) : QE_OK;
}

enum qerr qargs_add(struct qargv *out, const char *word, struct qerror *err)
{
	size_t n = strlen(word) + 1;

	if (out->size + n > QARGV_MAX)
		return qerr_set(
		    err, QE_ARGS_TOO_BIG,
		    "arguments take %zu bytes; the argv buffer holds %u",
		    out->size + n, QARGV_MAX);
	memcpy(out->buf + out->size, word, n);
	out->size += n;
	out->argc++;
	return QE_OK;
}

enum qerr qargs_split(const char *s, size_t len, struct qargv *out,
		      size_t *need_out, struct qerror *err)
{
	struct qargv a = *out;
	size_t need = a.size;
	enum { BLANK, WORD, SQ, DQ } st = BLANK;
	enum qerr rc = QE_OK;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '\0') {
			rc = qerr_set(
			    err, QE_ARGS_SYNTAX,
			    "arguments contain a NUL byte at offset %zu", i);
			goto out;
		}
		switch (st) {
		case BLANK:
		case WORD:
			if (c == ' ' || c == '\t' || c == '\n') {
				if (st == WORD) {
					put(&a, &need, '\0');
					a.argc++;
				}
				st = BLANK;
				continue;
			}
			st = WORD;
			if (c == '\'') {
				st = SQ;
			} else if (c == '"') {
				st = DQ;
			} else if (c == '\\') {
				if (++i == len) {
					rc = qerr_set(err, QE_ARGS_SYNTAX,
						      "arguments end with a "
						      "lone backslash");
					goto out;
				}
				/* an escaped NUL would split the word in two */
				if (s[i] == '\0') {
					rc = qerr_set(err, QE_ARGS_SYNTAX,
						      "arguments contain a NUL "
						      "byte at offset %zu",
						      i);
					goto out;
				}
				/* backslash-newline is a line continuation */
				if (s[i] != '\n')
					put(&a, &need, s[i]);
			} else {
				put(&a, &need, c);
			}
			break;
		case SQ:
			if (c == '\'')
				st = WORD;
			else
				put(&a, &need, c);
			break;
		case DQ:
			if (c == '"') {
				st = WORD;
			} else if (c == '\\' && i + 1 < len && s[i + 1] &&
				   strchr("\"\\$`\n", s[i + 1])) {
				if (s[++i] != '\n')
					put(&a, &need, s[i]);
			} else {
				put(&a, &need, c);
			}
			break;
		}
	}
	if (st == SQ || st == DQ) {
		rc = qerr_set(err, QE_ARGS_SYNTAX,
			      "arguments have an unterminated %s quote",
			      st == SQ ? "single" : "double");
		goto out;
	}
	if (st == WORD) {
		put(&a, &need, '\0');
		a.argc++;
	}
	if (need > QARGV_MAX) {
		rc = qerr_set(
		    err, QE_ARGS_TOO_BIG,
		    "arguments take %zu bytes; the argv buffer holds %u", need,
		    QARGV_MAX);
		goto out;
	}
	a.size = need;
	*out = a;
out:
	if (need_out)
		*need_out = need;
	return rc;
}

enum qerr qargs_format_parse(const char *name, enum qargv_format *f,
			     struct qerror *err)
{
	if (name && strcmp(name, "line") == 0)
		*f = QARGV_LINE;
	else if (name && strcmp(name, "strings") == 0)
		*f = QARGV_STRINGS;
	else
		return qerr_set(err, QE_USAGE,
				"argv_format takes 'line' or 'strings', not "
				"'%.40s'",
				name ? name : "");
	return QE_OK;
}

/* A word as a message shows it: at most 32 bytes, control bytes as '?'. */
static void shown(const char *w, char dst[40])
{
	size_t o = 0;

	for (; *w && o < 32; w++)
		dst[o++] = (unsigned char)*w < 0x20 || *w == 0x7f ? '?' : *w;
	if (*w)
		memcpy(dst + o, "...", 3), o += 3;
	dst[o] = '\0';
}

enum qerr qargs_check_words(const struct qargv *a, struct qerror *err)
{
	int idx = 0;
	char w[40];

	if (a->format == QARGV_STRINGS)
		return QE_OK;
	for (size_t i = 0; i < a->size; i += strlen(a->buf + i) + 1, idx++) {
		const char *word = a->buf + i;
		const char *blank = strpbrk(word, " \t");
		if (!*word)
			return qerr_set(err, QE_ARGS_WORD,
					"argument %d is empty: Quest's command "
					"line joins words with single spaces "
					"and cannot carry an empty one",
					idx);
		if (blank) {
			shown(word, w);
			return qerr_set(
			    err, QE_ARGS_WORD,
			    "argument %d \"%s\" contains a %s: Quest splits "
			    "its command line at spaces and would not "
			    "see it as one word",
			    idx, w, *blank == ' ' ? "space" : "tab");
		}
	}
	return QE_OK;
}

void qargs_wire(const struct qargv *a, char dst[QARGV_MAX])
{
	memset(dst, 0, QARGV_MAX);
	memcpy(dst, a->buf, a->size);
	if (a->format == QARGV_LINE)
		for (size_t i = 0; i + 1 < a->size; i++)
			if (dst[i] == '\0')
				dst[i] = ' ';
}

void qargs_seen_by_quest(const char *cmdline, size_t size, int galileo,
			 struct qargs_seen *out)
{
	size_t n = strnlen(cmdline, size < QARGV_MAX ? size : QARGV_MAX);

	memset(out, 0, sizeof *out);
	memcpy(out->line, cmdline, n);
	out->argc = 1;
	if (!galileo)
		return;
	for (size_t i = 0; i < n; i++) {
		if (out->line[i] != ' ')
			continue;
		out->line[i] = '\0';
		if (++out->argc == 2)
			out->argv1_off = (unsigned)i + 1;
	}
}

static int needs_quotes(const char *w)
{
	if (!*w)
		return 1;
	for (; *w; w++)
		if (strchr(" \t\n'\"\\", *w))
			return 1;
	return 0;
}

void qargs_format(const struct qargv *a, int skip, char *dst, size_t dstlen)
{
	size_t o = 0;
	int idx = 0;

	if (!dstlen)
		return;
	for (size_t i = 0; i < a->size; i += strlen(a->buf + i) + 1, idx++) {
		const char *w = a->buf + i;
		int q = needs_quotes(w);

		if (idx < skip)
			continue;
		if (o && o + 1 < dstlen)
			dst[o++] = ' ';
		if (q && o + 1 < dstlen)
			dst[o++] = '\'';
		for (; *w && o + 1 < dstlen; w++) {
			/* a ' inside '...' is written as '\'' */
			if (*w == '\'' && o + 4 < dstlen) {
				memcpy(dst + o, "'\\''", 4);
				o += 4;
			} else if (*w != '\'') {
				dst[o++] = *w;
			}
		}
		if (q && o + 1 < dstlen)
			dst[o++] = '\'';
	}
	dst[o] = '\0';
}
