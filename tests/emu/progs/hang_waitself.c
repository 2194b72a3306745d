/* SPDX-License-Identifier: GPL-2.0-or-later */
/* waitpid on itself: Quest waits forever, so does nobody else here. */
#include "qsys.h"

void _start(void)
{
	print("waiting for myself\n");
	waitpid(1);
	_exit(0);
}
