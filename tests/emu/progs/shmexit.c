/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A segment's frame goes with the last page table that names it: __exit
 * frees every frame the task maps (1058-1072), an attached segment too, so
 * once a child that never detached has exited, attaching the id fails
 * (875-877). A segment nobody attached outlives the task that allocated
 * it: frames are only freed by a page table or shared_mem_free. */
#include "qsys.h"

void _start(void)
{
	unsigned kept = shared_mem_alloc(), lost = shared_mem_alloc();
	int pid = fork();
	volatile unsigned *p;

	if (pid == 0) {
		p = shared_mem_attach(lost);
		p[0] = 7;
		_exit(0); /* still attached */
	}
	waitpid(pid);
	print("attach after the child exited attached: ");
	print(shared_mem_attach(lost) == (void *)-1 ? "-1\n" : "?\n");
	pid = fork();
	if (pid == 0) {
		p = shared_mem_attach(kept);
		p[0] = 9;
		shared_mem_detach(p);
		_exit(0);
	}
	waitpid(pid);
	p = shared_mem_attach(kept);
	print("attach after the child detached: reads ");
	putu(p[0]);
	putchar('\n');
	shared_mem_detach(p);
	shared_mem_free(kept);
	_exit(0);
}
