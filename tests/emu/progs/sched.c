/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sched_setparam: accepted for a task that exists, -1 otherwise, and a
 * window-constrained request with m = 0 divides by zero in the kernel. */
#include "qsys.h"

struct sched_param {
	int prio, C, T, m, k;
};

static int setparam(int pid, const struct sched_param *p)
{
	int r;
	asm volatile("int $0x3c"
		     : "=a"(r)
		     : "a"(pid), "b"(p)
		     : "memory", "cc", "ecx", "edx", "esi", "edi");
	return r;
}

void _start(void)
{
	struct sched_param p = {5, 0, 0, 0, 0}, w = {-1, 1, 10, 0, 2};

	print("self: ");
	print(setparam(1, &p) == 0 ? "0\n" : "?\n");
	print("no such task: ");
	print(setparam(77, &p) == -1 ? "-1\n" : "?\n");
	setparam(1, &w);
	print("not reached\n");
	_exit(0);
}
