/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A write where Quest maps nothing. */
#include "qsys.h"

void _start(void)
{
	print("about to fault\n");
	*(volatile int *)0x00800000 = 1;
	print("not reached\n");
	_exit(0);
}
