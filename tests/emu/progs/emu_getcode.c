/* SPDX-License-Identifier: GPL-2.0-or-later */
/* getcode (EBX 1, _getchar 758-786) and getchar (EBX 0) on master. Quest
 * waits for a key; quest-emu gives the next byte of input, and -1 at its
 * end. */
#include "qsys.h"

void _start(void)
{
	int c = getcode();

	print("getcode: ");
	putu((unsigned)c & 0xff);
	print(" getchar: ");
	putu((unsigned)getchar() & 0xff);
	print(" end: ");
	print(getcode() == -1 ? "-1\n" : "?\n");
	_exit(0);
}
