/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A model of Quest's loader (_exec in kernel/interrupt_handler.c of the
 * public Quest sources: master, 2011, and branch galileo, 2016): from an ELF
 * image, the memory Quest gives the program, page by page, and whether the
 * kernel panics or corrupts itself on the way. No FUSE and no I/O here: the
 * ELF checks (elfcheck.c) and quest-emu both load programs through it. */
#ifndef QUEST_QLOAD_H
#define QUEST_QLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "qerr.h"

#define QLOAD_PAGE 4096u

enum qload_profile_id {
	/* 2011: one page table, VGA overlay, stack below 4 MiB */
	QLOAD_MASTER = 0,
	/* 2016 (Quest-V): page tables as needed, stack at 1 GiB */
	QLOAD_GALILEO = 1,
	QLOAD__NPROFILES
};

/* Bit mask of profiles to judge a program against (quest_profile=). */
#define QLOAD_MASK_MASTER  (1u << QLOAD_MASTER)
#define QLOAD_MASK_GALILEO (1u << QLOAD_GALILEO)
#define QLOAD_MASK_BOTH	   (QLOAD_MASK_MASTER | QLOAD_MASK_GALILEO)

struct qload_profile {
	enum qload_profile_id id;
	const char *name;     /* "master", "galileo" */
	uint32_t user_base;   /* the user window: lowest address */
	uint32_t user_limit;  /* one past the highest */
	uint32_t stack_top;   /* one past the stack's last byte */
	uint32_t stack_pages; /* pages of user stack below stack_top */
	uint32_t vga_base;    /* VGA text memory mapped here (0: none) */
	uint32_t vga_pages;   /* its pages */
};

/* The built-in profiles; NULL for an id out of range. */
const struct qload_profile *qload_profile(enum qload_profile_id id);

/* "master", "galileo" or "both" into a mask; QE_USAGE otherwise. */
enum qerr qload_profile_parse(const char *name, unsigned *mask,
			      struct qerror *err);

/* What backs a run of pages of the task. */
enum qload_src {
	QLOAD_FILE,  /* the image's own frames: file bytes from file_off on
		      * (two extents naming the same file page share its frame)
		      */
	QLOAD_COPY,  /* one private page: the first `copy` bytes of the file
		      * page at file_off, then zeros */
	QLOAD_ZERO,  /* zeroed pages (bss) */
	QLOAD_STACK, /* zeroed user stack */
	QLOAD_VGA,   /* VGA text memory (physical 0xA0000 on) */
};

struct qload_extent {
	uint32_t vaddr;	 /* first page, page-aligned */
	uint32_t npages; /* >= 1; QLOAD_COPY: 1 */
	enum qload_src src;
	uint32_t file_off; /* FILE, COPY: file offset of the first page */
	uint32_t copy;	   /* COPY: bytes copied from the file (0..4095) */
	int phdr;	   /* program header that mapped it last; -1: none */
};

enum qload_fate {
	QLOAD_LOADS,   /* Quest builds this map and enters the program */
	QLOAD_PANIC,   /* Quest panics while loading */
	QLOAD_CORRUPT, /* Quest writes outside what it owns: kernel corrupted */
};

/* The task as Quest leaves it. Extents are sorted by vaddr and disjoint;
 * their number is bounded by the program headers, never by page counts. */
struct qload_map {
	const struct qload_profile *profile;
	enum qload_fate fate;
	int fault_phdr;	   /* fate != LOADS: the header at fault */
	struct qerror why; /* fate != LOADS: what Quest does, in words */
	uint32_t entry;	   /* e_entry */
	size_t nextents;
	struct qload_extent *ext;
};

/* Walk the image as Quest's _exec would under profile p. QE_OK when the walk
 * happened (m->fate may still be PANIC or CORRUPT); an ELF code when the
 * image cannot be walked at all (not a 32-bit ELF file, program headers
 * outside it); QE_NOMEM. Reads only inside elf[0..len); allocates in
 * proportion to the number of program headers. */
enum qerr qload_build(const uint8_t *elf, size_t len,
		      const struct qload_profile *p, struct qload_map *m,
		      struct qerror *err);

void qload_map_free(struct qload_map *m);

/* The extent holding vaddr, or NULL where nothing is mapped. */
const struct qload_extent *qload_find(const struct qload_map *m,
				      uint32_t vaddr);

/* The 4096 bytes Quest puts in the page at vaddr (inside e) when the program
 * starts: file bytes, copies, zeros; VGA pages read as zeros. */
void qload_page_bytes(const struct qload_extent *e, uint32_t vaddr,
		      const uint8_t *elf, size_t len, uint8_t out[QLOAD_PAGE]);

#endif
