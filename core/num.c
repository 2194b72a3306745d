/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Numbers given on command lines. strtoull alone accepts "-1" (as a huge
 * number), leading blanks and trailing garbage; options must not. */
#include "num.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

int qnum_parse(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}
