/* SPDX-License-Identifier: GPL-2.0-or-later */
/* open and read under --root: master reads from offset 0 of a path every
 * time, galileo from a descriptor's position. */
#include "qsys.h"

static void show(const char *b, int n)
{
	putchar('[');
	for (int i = 0; i < n; i++)
		putchar(b[i]);
	print("]\n");
}

void _start(void)
{
	char buf[16];
	int n, f = open("/etc/data.txt");

	print("open: ");
	putu((unsigned)f);
	putchar('\n');
	print(open("/etc/missing") == -1 ? "missing: -1\n" : "missing: ?\n");
#ifdef GALILEO
	n = read(f, buf, 5);
	show(buf, n);
	n = read(f, buf, 5);
	show(buf, n);
	n = read(f, buf, 16);
	show(buf, n);
#else
	n = read((int)"/etc/data.txt", buf, 5);
	show(buf, n);
	n = read((int)"/etc/data.txt", buf, 5);
	show(buf, n);
	n = read((int)"/etc/../../etc/data.txt", buf, 16);
	show(buf, n);
#endif
	_exit(0);
}
