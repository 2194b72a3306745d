/* SPDX-License-Identifier: GPL-2.0-or-later */
/* 100 forks one after another (each child waited for), then forks with
 * no wait until fork fails: task slots are reused, live tasks bounded. */
#include "qsys.h"

void _start(void)
{
	int i, pid, n = 0;

	for (i = 0; i < 100; i++) {
		pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid > 0 && waitpid(pid) == 0)
			n++;
	}
	print("forked and waited: ");
	putu((unsigned)n);
	putchar('\n');
	for (n = 0; (pid = fork()) > 0; n++)
		;
	if (pid == 0) {
		usleep(1000);
		_exit(0);
	}
	print("then live children until fork fails: ");
	putu((unsigned)n);
	putchar('\n');
	_exit(0);
}
