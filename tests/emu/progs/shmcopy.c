/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What a child inherits: fork clones every page table and copies every
 * present page into a new frame (mem/virtual.c 318-343), an attached
 * segment too, so the child's writes through the inherited mapping stay
 * its own; a child that attaches the id itself shares the frame. Detach
 * and a new alloc: a freed frame comes back zeroed (858-867). */
#include "qsys.h"

void _start(void)
{
	unsigned id = shared_mem_alloc();
	volatile unsigned *p = shared_mem_attach(id);
	int pid;

	p[0] = 5;
	pid = fork();
	if (pid == 0) {
		p[0] = 6; /* the child's copy */
		shared_mem_detach(p);
		p = shared_mem_attach(id);
		p[1] = 8; /* the segment */
		shared_mem_detach(p);
		_exit(0);
	}
	waitpid(pid);
	print("after the child: ");
	putu(p[0]);
	putchar(' ');
	putu(p[1]);
	putchar('\n');
	shared_mem_detach(p);
	print("detach twice: ");
	putu(shared_mem_detach(p));
	putchar('\n');
	shared_mem_free(id);
	id = shared_mem_alloc();
	p = shared_mem_attach(id);
	print("a new segment reads ");
	putu(p[0] + p[1]);
	putchar('\n');
	_exit(0);
}
