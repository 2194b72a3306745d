/* SPDX-License-Identifier: GPL-2.0-or-later */
/* time advances with usleep, never backwards; uname names the kernel. */
#include "qsys.h"

#ifdef GALILEO
#define PER_20MS 72 /* 20 ms in galileo's clock ticks (3640 a second) */
#else
#define PER_20MS 10 /* 20 ms in 500 Hz ticks */
#endif

void _start(void)
{
	char v[16];
	unsigned t0 = quest_time(), t1, t2;

	usleep(20000);
	t1 = quest_time();
	t2 = quest_time();
	print(t1 - t0 >= PER_20MS ? "usleep(20000): time advanced\n"
				  : "usleep(20000): too little\n");
	print(t2 >= t1 ? "monotonic\n" : "backwards\n");
	print("uname: ");
	putu((unsigned)uname(v));
	putchar(' ');
	print(v);
	putchar('\n');
	_exit(0);
}
