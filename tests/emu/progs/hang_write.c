/* SPDX-License-Identifier: GPL-2.0-or-later */
/* galileo's write (int $0x3d, EAX 6) of a 1 MiB buffer, for ever: the
 * console loop must look at the time limit. On master (no
 * such call), time in a loop. */
#include "qsys.h"

#ifdef GALILEO
static char buf[1 << 20];
/* in .data: Quest's loader refuses a segment of bss alone */
static volatile int out = 1;
#endif

void _start(void)
{
	for (;;) {
#ifdef GALILEO
		int r;
		asm volatile("int $0x3d"
			     : "=a"(r)
			     : "a"(6), "b"(out), "c"(buf), "d"(sizeof buf)
			     : "memory", "cc", "esi", "edi");
#else
		quest_time();
#endif
	}
}
