/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Prints what _exec put on the stack; exits with argc. */
#include "qsys.h"

void _start(int argc, char **argv)
{
	print("argc=");
	putu((unsigned)argc);
	print(" argv[0]=");
	print(argv[0]);
	if (argv[1]) {
		print(" argv[1]=");
		print(argv[1]);
	} else {
		print(" argv[1]=NULL");
	}
	putchar('\n');
	_exit(argc);
}
