/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fork copies memory: what the child writes, the parent does not see. */
#include "qsys.h"

static volatile int shared_looking = 1;

void _start(void)
{
	int pid = fork();

	if (pid == 0) {
		shared_looking = 2;
		print("child sees ");
		putu((unsigned)shared_looking);
		putchar('\n');
		_exit(0);
	}
	waitpid(pid);
	print("parent sees ");
	putu((unsigned)shared_looking);
	putchar('\n');
	_exit(0);
}
