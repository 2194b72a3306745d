/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Quest loader profile (DESIGN.md §4): checks an i386 ELF image, with
 * libelf, before it may reach the channel. Each refusal is one distinct
 * message. */
#ifndef QUEST_ELFCHECK_H
#define QUEST_ELFCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "qerr.h"

/* The window of quest_profile=both (master's, inside galileo's). */
#define QELF_USER_BASE_DEFAULT	0x1000u
#define QELF_USER_LIMIT_DEFAULT 0x3F0000u

struct qelf_profile {
	uint32_t user_base;  /* lowest address a PT_LOAD may use */
	uint32_t user_limit; /* one past the highest */
	size_t max_size;     /* largest image (slot size - 88); 0: no limit */
	unsigned quest_mask; /* QLOAD_MASK_*: Quest kernels to load right on */
};

/* The defaults: both Quest kernels, [0x1000, 0x3F0000), largest program
 * 393128 bytes. */
void qelf_profile_default(struct qelf_profile *p);

/* Judge against the kernels of mask (QLOAD_MASK_*; 0 means both) and set
 * the user window to the one they all share. */
void qelf_profile_quest(struct qelf_profile *p, unsigned mask);

/* qelf_profile_quest, then the window a user gave: base and limit replace
 * the profile's unless -1. QE_USAGE when the result is empty or past
 * 32 bits. */
enum qerr qelf_profile_window(struct qelf_profile *p, unsigned mask,
			      long long base, long long limit,
			      struct qerror *err);

struct qelf_info {
	uint32_t entry;
	unsigned nloads; /* PT_LOAD segments */
	uint32_t lo, hi; /* lowest and one-past-highest PT_LOAD address */
	size_t need;	 /* bytes of file the headers refer to (prefix mode) */
};

enum qelf_mode {
	QELF_WHOLE,  /* buf is the whole file */
	QELF_PREFIX, /* buf is what has been written so far; more may follow */
};

/* Check an image. In QELF_WHOLE mode, QE_OK means Quest may run it.
 * In QELF_PREFIX mode, an error means no bytes appended to buf can ever make
 * a valid program; QE_OK means it may still become one (or is one already).
 * info (may be NULL) is filled as far as the checks got. */
enum qerr qelf_check(const uint8_t *buf, size_t len,
		     const struct qelf_profile *p, enum qelf_mode mode,
		     struct qelf_info *info, struct qerror *err);

/* "x86-64 (62)", "i386 (3)", "ARM (40)", "unknown (1234)". */
const char *qelf_machine_name(unsigned machine, char *dst, size_t dstlen);

#endif
