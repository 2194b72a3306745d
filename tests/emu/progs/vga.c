/* SPDX-License-Identifier: GPL-2.0-or-later */
/* master maps VGA memory at 0x200000: a store there works. */
#include "qsys.h"

void _start(void)
{
	*(volatile unsigned short *)0x200000 = 0x0741;
	print("stored to VGA memory\n");
	print("second line\n");
	_exit(0);
}
