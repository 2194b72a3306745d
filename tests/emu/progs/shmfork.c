/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Quest's own kernel/tests/test3.c, in short: fork straight after
 * shared_mem_alloc (whose id is still in EAX: master's fork stub sets no
 * EAX and _fork, 432-506, reads none), the child attaches the segment at
 * 0x2000 (the first entry not present in the first page table, 878-893;
 * this program's pages are 0x1000 and its stack), writes 1, detaches and
 * exits; the parent's waitpid returns 0 once it has (1113-1134, woken by
 * __exit, 1090-1091), and the parent attaches the same frame and reads 1.
 * The child's line comes first: the parent sleeps in waitpid. */
#include "qsys.h"

void _start(void)
{
	unsigned id = shared_mem_alloc();
	int pid = fork() & 0xffff; /* an unsigned short in Quest's stub */
	volatile unsigned *p;
	int r;

	if (pid == 0xffff) {
		print("fork: -1\n");
		_exit(1);
	}
	if (pid == 0) {
		p = shared_mem_attach(id);
		print("child attached at ");
		putx((unsigned)p);
		putchar('\n');
		p[0] = 1;
		shared_mem_detach(p);
		_exit(0);
	}
	r = waitpid(pid);
	print("waitpid: ");
	putu((unsigned)r);
	putchar('\n');
	p = shared_mem_attach(id);
	print("parent attached at ");
	putx((unsigned)p);
	print(" and reads ");
	putu(p[0]);
	putchar('\n');
	shared_mem_detach(p);
	shared_mem_free(id);
	_exit(0);
}
