/* SPDX-License-Identifier: GPL-2.0-or-later */
/* waitpid of a child that has already exited: __exit removes its TSS
 * (1094-1101), lookup_TSS finds none and waitpid gives -1 (1132-1136).
 * The parent sleeps (usleep, 397-401) so that the child runs and exits
 * first. switch_to (789-802) is waitpid under another number. */
#include "qsys.h"

void _start(void)
{
	int pid = fork();

	if (pid == 0)
		_exit(3);
	usleep(50000);
	print("waitpid of an exited child: ");
	print(waitpid(pid) == -1 ? "-1\n" : "?\n");
	pid = fork();
	if (pid == 0) {
		print("second child runs\n");
		_exit(0);
	}
	switch_to(pid);
	print("switch_to returned after the child\n");
	_exit(0);
}
