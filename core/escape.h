/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Escaping what users named: file names, arguments and reasons are printed
 * in status, status.json, the log and on terminals, where a newline would
 * forge a line, an escape sequence would reach an administrator's
 * terminal, and invalid UTF-8 would break JSON. */
#ifndef QUEST_ESCAPE_H
#define QUEST_ESCAPE_H

#include <stddef.h>

/* Writes s (n bytes) into dst (dstlen > 0, NUL-terminated), C-style:
 * \n \t \r, backslash as \\, other control characters, DEL, C1 controls
 * (U+0080..U+009F) and every byte that is not part of valid UTF-8 as \xHH;
 * valid UTF-8 stays as it is. An escape that does not fit is left out
 * whole. Returns the bytes written, without the NUL. */
size_t qesc(const char *s, size_t n, char *dst, size_t dstlen);

/* The same for a NUL-terminated string. */
size_t qesc_str(const char *s, char *dst, size_t dstlen);

/* Room an escaped copy of n bytes may take, with its NUL. */
#define QESC_SIZE(n) (4 * (n) + 1)

#endif
