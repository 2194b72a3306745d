/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ELF checks' use of the model of Quest's loader (qload.h): the memory
 * Quest builds is compared with the memory the ELF file asks for. Internal
 * to libquestcore (elfcheck.c). */
#ifndef QUEST_ELFMODEL_H
#define QUEST_ELFMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "elfcheck.h"
#include "qerr.h"

/* One PT_LOAD as the ELF file asks for it. */
struct qelf_seg {
	uint32_t offset, vaddr, filesz, memsz;
	unsigned load; /* ordinal among the PT_LOADs */
	int hdr;       /* index among all program headers */
};

/* Refuse (QE_ELF_ALIGN, QE_ELF_CORRUPT, QE_ELF_SEGFILE, QE_ELF_MISLOAD) when
 * a Quest kernel of p->quest_mask panics, corrupts itself, or gives some
 * byte of segs[] other than the file's byte (up to p_filesz) or zero (up to
 * p_memsz). headers_only: the file bytes are not all there yet, so only what
 * the headers alone decide is judged. */
enum qerr qelf_model_check(const uint8_t *buf, size_t len,
			   const struct qelf_profile *p,
			   const struct qelf_seg *segs, size_t nsegs,
			   int headers_only, struct qerror *err);

#endif
