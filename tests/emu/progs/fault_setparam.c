/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sched_setparam (_sched_setparam, 1140-1170): 0 for a task that exists,
 * -1 for one that does not (1168); a window-constrained request (priority
 * -1) computes k*T/m (1150), so m = 0 divides by zero in the kernel and
 * Quest stops. */
#include "qsys.h"

void _start(void)
{
	struct sched_param p = {5, 0, 0, 0, 0}, w = {-1, 1, 10, 0, 2};

	print("self: ");
	print(sched_setparam(1, &p) == 0 ? "0\n" : "?\n");
	print("no such task: ");
	print(sched_setparam(77, &p) == -1 ? "-1\n" : "?\n");
	sched_setparam(1, &w);
	print("not reached\n");
	_exit(0);
}
