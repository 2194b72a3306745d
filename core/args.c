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
