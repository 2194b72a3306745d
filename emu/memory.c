/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A task's address space: the pages Quest's loader model gives the program
 * (qload_build), the argv frame _exec builds on its stack, copies for fork
 * and the page changes of shared-memory attach and detach. Every run of
 * pages is host memory handed to Unicorn with uc_mem_map_ptr, so that two
 * mappings of one frame (a file page named twice, a shared page) are one
 * memory, as on Quest. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "emu_int.h"

/* Zeroed pages from mmap (untouched pages cost nothing), counted against
 * the memory a Quest machine has free (EMU_MEMINFO_FREE): a program, or a
 * fork bomb, cannot take more of the host than that. */
uint8_t *emu_task_alloc(struct emu_task *t, size_t len)
{
	struct emu_alloc *a;
	void *p;

	len = (len + QLOAD_PAGE - 1) & ~(size_t)(QLOAD_PAGE - 1);
	if (!len || t->e->mem_bytes + len > EMU_MEMINFO_FREE) {
		t->e->mem_out = 1;
		return NULL;
	}
	a = realloc(t->alloc, (t->nalloc + 1) * sizeof *a);
	if (!a)
		return NULL;
	t->alloc = a;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	t->e->mem_bytes += len;
	t->alloc[t->nalloc++] = (struct emu_alloc){p, len};
	return p;
}

int emu_task_map(struct emu_task *t, uint32_t va, uint32_t npages,
		 uint8_t *host)
{
	struct emu_region *r = realloc(t->reg, (t->nreg + 1) * sizeof *r);

	if (!r)
		return -1;
	t->reg = r;
	if (uc_mem_map_ptr(t->uc, va, (size_t)npages * QLOAD_PAGE, UC_PROT_ALL,
			   host) != UC_ERR_OK)
		return -1;
	t->reg[t->nreg++] = (struct emu_region){va, npages, host};
	return 0;
}

static struct emu_region *find(const struct emu_task *t, uint32_t va)
{
	for (size_t i = 0; i < t->nreg; i++) {
		struct emu_region *r = &t->reg[i];
		if (va >= r->va &&
		    (uint64_t)va < r->va + (uint64_t)r->npages * QLOAD_PAGE)
			return r;
	}
	return NULL;
}

int emu_task_mapped(const struct emu_task *t, uint32_t va)
{
	return find(t, va) != NULL;
}

/* Quest's detach clears one page-table entry, whatever it maps: the run
 * that holds the page is split around it. */
int emu_task_unmap_page(struct emu_task *t, uint32_t va)
{
	struct emu_region *r = find(t, va & ~(QLOAD_PAGE - 1)), tail;
	uint32_t idx;

	if (!r)
		return 0;
	va &= ~(QLOAD_PAGE - 1);
	if (uc_mem_unmap(t->uc, va, QLOAD_PAGE) != UC_ERR_OK)
		return -1;
	idx = (va - r->va) / QLOAD_PAGE;
	tail = (struct emu_region){va + QLOAD_PAGE, r->npages - idx - 1,
				   r->host + (size_t)(idx + 1) * QLOAD_PAGE};
	r->npages = idx;
	if (tail.npages) {
		struct emu_region *n =
		    realloc(t->reg, (t->nreg + 1) * sizeof *n);
		if (!n)
			return -1;
		t->reg = n;
		t->reg[t->nreg++] = tail;
	}
	for (size_t i = 0; i < t->nreg;) {
		if (!t->reg[i].npages)
			t->reg[i] = t->reg[--t->nreg];
		else
			i++;
	}
	return 0;
}

/* Quest's fork clones every page table and copies every present page into
 * a new frame: shared pages and VGA memory too. */
int emu_copy_memory(struct emu_task *dst, const struct emu_task *src)
{
	for (size_t i = 0; i < src->nreg; i++) {
		const struct emu_region *r = &src->reg[i];
		size_t n = (size_t)r->npages * QLOAD_PAGE;
		uint8_t *p = emu_task_alloc(dst, n);
		if (!p)
			return -1;
		memcpy(p, r->host, n);
		if (emu_task_map(dst, r->va, r->npages, p) < 0)
			return -1;
	}
	return 0;
}

void emu_task_free_memory(struct emu_task *t)
{
	for (size_t i = 0; i < t->nreg; i++)
		if (t->uc)
			uc_mem_unmap(t->uc, t->reg[i].va,
				     (size_t)t->reg[i].npages * QLOAD_PAGE);
	free(t->reg);
	t->reg = NULL;
	t->nreg = 0;
	for (size_t i = 0; i < t->nalloc; i++) {
		munmap(t->alloc[i].p, t->alloc[i].len);
		t->e->mem_bytes -= t->alloc[i].len;
	}
	free(t->alloc);
	t->alloc = NULL;
	t->nalloc = 0;
}

static int map_extents(struct emu_task *t, const struct qload_map *m,
		       const uint8_t *elf, size_t len)
{
	size_t fsize = 0;
	uint8_t *file = NULL;

	for (size_t i = 0; i < m->nextents; i++) {
		const struct qload_extent *x = &m->ext[i];
		size_t end =
		    (size_t)x->file_off + (size_t)x->npages * QLOAD_PAGE;
		if (x->src == QLOAD_FILE && end > fsize)
			fsize = end;
	}
	/* the image's frames: Quest reads the whole file into them */
	if (fsize) {
		file = emu_task_alloc(t, fsize);
		if (!file)
			return -1;
		memcpy(file, elf, len < fsize ? len : fsize);
	}
	for (size_t i = 0; i < m->nextents; i++) {
		const struct qload_extent *x = &m->ext[i];
		uint8_t *host;

		if (x->src == QLOAD_FILE) {
			host = file + x->file_off;
		} else {
			host =
			    emu_task_alloc(t, (size_t)x->npages * QLOAD_PAGE);
			if (!host)
				return -1;
			for (uint32_t p = 0; p < x->npages; p++)
				qload_page_bytes(x, x->vaddr + p * QLOAD_PAGE,
						 elf, len,
						 host + (size_t)p * QLOAD_PAGE);
		}
		if (emu_task_map(t, x->vaddr, x->npages, host) < 0)
			return -1;
	}
	return 0;
}

/* The argv frame of _exec under the stack top (see §"argv frame" in the
 * man page): the 80-byte command line, argv[1], argv[0], argv, argc and a
 * return address 0. master passes the line whole (argc 1, argv[1] 0);
 * galileo cuts it at every space, counts the words and sets argv[1] to the
 * second one (to the first when there is none). */
static int argv_frame(struct emu_task *t, const char *cmdline, uint32_t top)
{
	char line[EMU_CMDLINE_MAX] = {0};
	uint32_t w[5], argc = 1, argv1 = 0;

	/* Quest's strncpy keeps at most 79 characters and a NUL */
	strncpy(line, cmdline, sizeof line - 1);
	if (t->e->prof->id == QLOAD_GALILEO) {
		for (size_t i = 0; i < sizeof line && line[i]; i++) {
			if (line[i] != ' ')
				continue;
			line[i] = '\0';
			if (++argc == 2)
				argv1 = (uint32_t)i + 1;
		}
		argv1 += top - 80;
	}
	w[0] = 0;	 /* return address */
	w[1] = argc;	 /* argc */
	w[2] = top - 88; /* argv */
	w[3] = top - 80; /* argv[0] */
	w[4] = argv1;	 /* argv[1] */
	if (uc_mem_write(t->uc, top - 80, line, sizeof line) != UC_ERR_OK ||
	    uc_mem_write(t->uc, top - 100, w, sizeof w) != UC_ERR_OK)
		return -1;
	return 0;
}

int emu_load(struct emu_task *t, const uint8_t *elf, size_t len,
	     const char *cmdline, struct qerror *err)
{
	const struct qload_profile *p = t->e->prof;
	struct qload_map m = {0};
	uint32_t esp = p->stack_top - 100, eflags = 0x3202, zero = 0;
	int rc = -1;

	if (qload_build(elf, len, p, &m, err) != QE_OK)
		goto out;
	if (m.fate != QLOAD_LOADS) {
		*err = m.why;
		goto out;
	}
	rc = -2;
	if (map_extents(t, &m, elf, len) < 0 ||
	    argv_frame(t, cmdline, p->stack_top) < 0) {
		qerr_set(err, QE_NOMEM,
			 t->e->mem_out ? "memory limit reached: the program "
					 "needs more than Quest's 126 MiB"
				       : "cannot build the task's memory");
		goto out;
	}
	/* _exec returns 0 in eax to the new program; EFLAGS: IF, IOPL 3 */
	uc_reg_write(t->uc, UC_X86_REG_EAX, &zero);
	uc_reg_write(t->uc, UC_X86_REG_ESP, &esp);
	uc_reg_write(t->uc, UC_X86_REG_EFLAGS, &eflags);
	uc_reg_write(t->uc, UC_X86_REG_EIP, &m.entry);
	rc = 0;
out:
	qload_map_free(&m);
	return rc;
}
