/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The program exec.c starts. */
#include "qsys.h"

void _start(int argc, char **argv)
{
	print("In exec'd program: argc=");
	putu((unsigned)argc);
	print(" argv[0]=");
	print(argv[0]);
	putchar('\n');
	_exit(5);
}
