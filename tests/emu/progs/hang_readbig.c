/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One byte at a time from a large file, for ever: each read must cost its
 * byte, not the file, so that --timeout ends the run on time. */
#include "qsys.h"

void _start(void)
{
	char b;
#ifdef GALILEO
	int f = open("/big");
#else
	const char *f = "/big";
#endif

	for (;;)
		if (read((int)f, &b, 1) != 1)
			_exit(1);
}
