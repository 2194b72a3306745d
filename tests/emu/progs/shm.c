/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared memory (_meminfo, 839-917): the child attaches the segment and
 * writes through it, detaches, exits; the parent, after waitpid, attaches
 * the same segment at the first free page (878-893) and reads what the
 * child wrote. Detach answers 0 (896-906); after free (907-913) attach
 * fails, the frame being free again (875-877). meminfo counts free frames
 * (850-855): RAM-dependent on Quest, fixed here. */
#include "qsys.h"

void _start(void)
{
	unsigned id = shared_mem_alloc();
	int pid = fork();
	volatile unsigned *p;

	if (pid == 0) {
		p = shared_mem_attach(id);
		p[0] = 0xc0ffee;
		shared_mem_detach(p);
		_exit(0);
	}
	waitpid(pid);
	p = shared_mem_attach(id);
	print("parent attached at ");
	putx((unsigned)p);
	print(" and reads ");
	putx(p[0]);
	putchar('\n');
	print("detach: ");
	putu(shared_mem_detach(p));
	putchar('\n');
	shared_mem_free(id);
	print(shared_mem_attach(id) == (void *)-1 ? "attach after free: -1\n"
						  : "attach after free: ?\n");
	print("meminfo: ");
	putx(meminfo(0, 0));
	putchar('\n');
	_exit(0);
}
