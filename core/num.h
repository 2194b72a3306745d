/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Numbers given on command lines: sizes, addresses, counts. */
#ifndef QUEST_NUM_H
#define QUEST_NUM_H

/* Parses all of s as an unsigned number (decimal, 0x hex or 0 octal) not
 * above max; no sign, no trailing characters. 0, or -1 when it is not one. */
int qnum_parse(const char *s, unsigned long long max, unsigned long long *out);

#endif
