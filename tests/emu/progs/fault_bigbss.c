/* SPDX-License-Identifier: GPL-2.0-or-later */
/* 200 MiB of bss: more than a Quest machine has free. */
#include "qsys.h"

static volatile int initialised = 1;
static volatile char big[200 << 20];

void _start(void)
{
	big[0] = (char)initialised;
	print("not reached\n");
	_exit(0);
}
