/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Zeroed data and no initialised data: GNU ld gives the bss a segment of
 * its own with no file bytes at offset 0, which Quest's loader misreads as
 * 1048576 pages. The model refuses it. */
#include "qsys.h"

static volatile char zeroed[64];

void _start(void)
{
	print(zeroed[0] ? "?\n" : "zero\n");
	_exit(0);
}
