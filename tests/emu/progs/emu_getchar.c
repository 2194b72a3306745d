/* SPDX-License-Identifier: GPL-2.0-or-later */
/* getchar until the end of input, which gives -1. */
#include "qsys.h"

void _start(void)
{
	int c;

	while ((c = getchar()) != -1) {
		putchar('<');
		putchar(c);
		putchar('>');
	}
	print("\nend of input: -1\n");
	_exit(0);
}
