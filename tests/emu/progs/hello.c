/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The smallest C program: one line, exit 0. */
#include "qsys.h"

void _start(void)
{
	print("Hello from C on Quest\n");
	_exit(0);
}
