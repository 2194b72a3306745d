/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared memory: the child writes through its attachment, the parent
 * reads through its own, at the first free page. */
#include "qsys.h"

static void putx(unsigned v)
{
	print("0x");
	for (int i = 7; i >= 0; i--)
		putchar("0123456789abcdef"[(v >> (4 * i)) & 15]);
}

void _start(void)
{
	unsigned id = meminfo(1, 0);
	int pid = fork();
	volatile unsigned *p;

	if (pid == 0) {
		p = (volatile unsigned *)meminfo(2, id);
		p[0] = 0xc0ffee;
		_exit(0);
	}
	waitpid(pid);
	p = (volatile unsigned *)meminfo(2, id);
	print("parent attached at ");
	putx((unsigned)p);
	print(" and reads ");
	putx(p[0]);
	putchar('\n');
	print("detach: ");
	putu(meminfo(3, (unsigned)p));
	putchar('\n');
	meminfo(4, id);
	print(meminfo(2, id) == 0xffffffffu ? "attach after free: -1\n"
					    : "attach after free: ?\n");
	print("meminfo: ");
	putx(meminfo(0, 0));
	putchar('\n');
	_exit(0);
}
