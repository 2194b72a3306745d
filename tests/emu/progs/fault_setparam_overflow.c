/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sched_setparam with k*T = INT_MIN and m = -1: the kernel's idiv (1150)
 * overflows, a divide error that stops Quest. quest-emu reports it as a
 * fault; its own arithmetic must not trap (SIGFPE). */
#include "qsys.h"

void _start(void)
{
	struct sched_param w = {-1, 0, 1, -1, (int)0x80000000u};

	print("asking\n");
	sched_setparam(-1, &w);
	sched_setparam(1, &w);
	print("not reached\n");
	_exit(0);
}
