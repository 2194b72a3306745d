/* SPDX-License-Identifier: GPL-2.0-or-later */
/* exec: a missing file gives -1, an existing one replaces the program. */
#include "qsys.h"

void _start(void)
{
	char *bad[] = {"nothing", 0};
	char *good[] = {"execd one two", 0};

	print("exec of a missing file: ");
	print(exec("/bin/nothing", bad) == -1 ? "-1\n" : "?\n");
	exec("/bin/execd", good);
	print("still here\n");
	_exit(1);
}
