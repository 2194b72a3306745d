/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Program arguments: splitting a user's string into words (DESIGN.md §6) and
 * packing them, with argv[0], into the 80-byte argv buffer of the wire format
 * (DESIGN.md §3). */
#ifndef QUEST_ARGS_H
#define QUEST_ARGS_H

#include <stddef.h>

#include "qerr.h"

#define QARGV_MAX 80u

/* How argv goes on the wire (argv_format=): Quest's command line, the
 * words joined by single spaces and NUL-terminated (what Quest's _exec
 * copies and, on galileo, splits at spaces); or each word NUL-terminated,
 * back to back. Both take the same number of bytes. */
enum qargv_format {
	QARGV_LINE = 0,
	QARGV_STRINGS = 1,
};

/* A packed argv: NUL-terminated strings back to back, unused bytes zero;
 * format says how qpkt_header puts them in a packet. */
struct qargv {
	size_t size; /* bytes in use; 0 when there are no strings */
	int argc;
	char buf[QARGV_MAX];
	enum qargv_format format;
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

/* "line" or "strings" into *f; QE_USAGE otherwise. */
enum qerr qargs_format_parse(const char *name, enum qargv_format *f,
			     struct qerror *err);

/* Can a->format carry every word? The command line cannot carry an empty
 * word or one with a blank (Quest splits at spaces): QE_ARGS_WORD, naming
 * the word and why. Always QE_OK for QARGV_STRINGS. */
enum qerr qargs_check_words(const struct qargv *a, struct qerror *err);

/* The argv bytes as the packet carries them under a->format (a->size of
 * them; the rest of dst zero). */
void qargs_wire(const struct qargv *a, char dst[QARGV_MAX]);

/* What a program started by Quest's _exec finds on its stack from a command
 * line: _exec copies at most 80 bytes (strncpy); master (galileo = 0) passes
 * it whole as argv[0] with argc 1; galileo (galileo = 1) cuts it at every
 * space, counts the words in argc, and sets only argv[0] and argv[1] (to
 * argv[0] itself when there is one word); argv[2] on are not set. */
struct qargs_seen {
	int argc;
	char line[QARGV_MAX]; /* the 80 bytes as the stack holds them */
	unsigned argv0_off, argv1_off; /* offsets into line */
};

void qargs_seen_by_quest(const char *cmdline, size_t size, int galileo,
			 struct qargs_seen *out);

/* Render a packed argv for humans: words separated by spaces, quoted with
 * '...' where needed so that qargs_split gives them back. */
void qargs_format(const struct qargv *a, int skip, char *dst, size_t dstlen);

#endif
