/* Program arguments: splitting a user's string into words (DESIGN.md §6) and
 * packing them, with argv[0], into the 80-byte argv buffer of the wire format
 * (DESIGN.md §3). */
#ifndef QUEST_ARGS_H
#define QUEST_ARGS_H

#include <stddef.h>

#include "qerr.h"

#define QARGV_MAX 80u

/* A packed argv: NUL-terminated strings back to back, unused bytes zero. */
struct qargv {
	size_t size; /* bytes in use; 0 when there are no strings */
	int argc;
	char buf[QARGV_MAX];
};

/* Split `s` (len bytes, need not be NUL-terminated) into words as a shell
 * would, but expanding nothing: blanks separate words; '...' keeps everything
 * literally; "..." keeps everything but \" \\ \$ \` which lose the backslash;
 * outside quotes a backslash keeps the next character. The words are appended
 * to `out` after what it already holds (e.g. argv[0]).
 * `need` (may be NULL) receives the bytes the whole packed argv would take,
 * even when that is more than 80, which is refused with QE_ARGS_TOO_BIG. */
enum qerr qargs_split(const char *s, size_t len, struct qargv *out,
		      size_t *need, struct qerror *err);

/* Length of s without the newlines and NULs that end it: setfattr, echo
 * and editors end a value with one. */
size_t qargs_trim(const char *s, size_t len);

/* Start a packed argv: empty, or holding argv0 (NULL for none). */
enum qerr qargs_init(struct qargv *out, const char *argv0, struct qerror *err);

/* Append one word verbatim (questbinloader's ARG...). */
enum qerr qargs_add(struct qargv *out, const char *word, struct qerror *err);

/* Render a packed argv for humans: words separated by spaces, quoted with
 * '...' where needed so that qargs_split gives them back. */
void qargs_format(const struct qargv *a, int skip, char *dst, size_t dstlen);

#endif
