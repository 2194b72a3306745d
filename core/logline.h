/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A line of questfs's log, read back by a program that follows the log
 * (questfs-notify): which job, whose, and whether it ended delivered,
 * refused or failed, with the reason. */
#ifndef QUEST_LOGLINE_H
#define QUEST_LOGLINE_H

#include <stddef.h>

enum qlogl_kind {
	QLOGL_OTHER, /* not a job's end: queued, sending, mounted, ... */
	QLOGL_DELIVERED,
	QLOGL_REFUSED,
	QLOGL_FAILED,
};

struct qlogl {
	enum qlogl_kind kind;
	unsigned long long id;
	long long uid; /* -1 only when qlogl_parse returned -1 */
	char stamp[32];
	char name[1024];
	char detail[1024];
};

/* Parses one line (without or with its newline). Name and detail come as
 * a person reads them: the log's "\\" is one backslash again, its other
 * escapes (\n, \xHH: controls, bytes that are not UTF-8) stay. The owner is the
 * " uid=N" right after "job ID", where no name can put it. Returns 0, or
 * -1 for a line that is not a job's line: no "STAMP job ID uid=N " at its
 * start (questfs's own lines, a file's lines, "file uid=N run/NAME ..."). */
int qlogl_parse(const char *line, size_t n, struct qlogl *out);

#endif
