/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Quest's shared memory, `int $0x38` EAX 1-4 (master: _meminfo in
 * kernel/interrupt_handler.c). A segment is one frame; its id is the
 * frame's address, here 0x01000000 + 4096*n. alloc takes the lowest frame
 * that is free, as alloc_phys_frame does, so a freed id comes back; attach
 * maps the frame at the first free entry of the first page table; detach
 * clears an entry and frees nothing; free and the exit or exec of a task
 * that has the frame attached give the frame back, and attaching it fails
 * from then on. fork copies attached pages (clone_page_table). */
#include <stdlib.h>
#include <string.h>

#include "emu_int.h"

#define SHM_BASE 0x01000000u /* the ids handed out: fake frame addresses */

/* the segment id names, or -1 (an id is any address in its frame) */
static int shm_index(uint32_t id)
{
	uint32_t i = (id >> 12) - (SHM_BASE >> 12);

	return id >= SHM_BASE && i < EMU_MAX_SHM ? (int)i : -1;
}

uint32_t emu_shm_alloc(struct emu *e)
{
	for (uint32_t i = 0; i < EMU_MAX_SHM; i++) {
		struct emu_shm *s = &e->shm[i];
		if (s->page && !s->freed)
			continue;
		if (!s->page &&
		    posix_memalign((void **)&s->page, QLOAD_PAGE, QLOAD_PAGE)) {
			s->page = NULL;
			return (uint32_t)-1;
		}
		/* a frame given back may still be attached somewhere: Quest
		 * zeroes it there too */
		memset(s->page, 0, QLOAD_PAGE);
		s->freed = 0;
		return SHM_BASE + i * QLOAD_PAGE;
	}
	return (uint32_t)-1;
}

uint32_t emu_shm_attach(struct emu_task *t, uint32_t id)
{
	int i = shm_index(id);

	if (i < 0 || !t->e->shm[i].page || t->e->shm[i].freed)
		return (uint32_t)-1;
	/* the first entry of the first page table not present, from 1 */
	for (uint32_t p = 1; p < 1024; p++) {
		if (emu_task_mapped(t, p * QLOAD_PAGE))
			continue;
		if (emu_task_map(t, p * QLOAD_PAGE, 1, t->e->shm[i].page))
			return (uint32_t)-1;
		return p * QLOAD_PAGE;
	}
	return (uint32_t)-1;
}

uint32_t emu_shm_detach(struct emu_task *t, uint32_t addr)
{
	/* entry (addr >> 12) & 0x3ff of the first page table, whatever it
	 * maps: an address above 4 MiB wraps into the first 4 MiB */
	emu_task_unmap_page(t, ((addr >> 12) & 0x3ff) * QLOAD_PAGE);
	return 0;
}

uint32_t emu_shm_free(struct emu *e, uint32_t id)
{
	int i = shm_index(id);

	if (i >= 0 && e->shm[i].page)
		e->shm[i].freed = 1;
	return 0;
}

/* __exit and _exec free every frame the task's page tables name, but for
 * entries 0x200-0x20F of the first table (the VGA window): a segment
 * attached anywhere else is given back with them. */
void emu_shm_release(struct emu_task *t)
{
	struct emu *e = t->e;

	/* an attachment is a run of one page of its own (emu_shm_attach) */
	for (size_t r = 0; r < t->nreg; r++) {
		const struct emu_region *g = &t->reg[r];
		if (g->npages != 1 || (g->va >= 0x200000u && g->va < 0x210000u))
			continue;
		for (int i = 0; i < EMU_MAX_SHM; i++)
			if (e->shm[i].page == g->host)
				e->shm[i].freed = 1;
	}
}
