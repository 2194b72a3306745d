/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fork and waitpid: who runs first, what waitpid returns. */
#include "qsys.h"

void _start(void)
{
	int pid = fork();

	if (pid == 0) {
		print("child runs\n");
		_exit(7);
	}
	print("parent runs first, child id ");
	putu((unsigned)pid);
	putchar('\n');
	print("waitpid: ");
	putu((unsigned)waitpid(pid));
	putchar('\n');
	print("waitpid again: ");
	print(waitpid(pid) == -1 ? "-1\n" : "not -1\n");
	_exit(0);
}
