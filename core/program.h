/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A program ready for the channel: an ELF image that passed every check of
 * DESIGN.md §4 and the 88-byte header that goes in front of it. Shared by
 * questfs and questbinloader so that both judge and pack a program the same
 * way. */
#ifndef QUEST_PROGRAM_H
#define QUEST_PROGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "args.h"
#include "elfcheck.h"
#include "packet.h"
#include "qerr.h"

/* Refuse (QE_ELF_TOO_BIG) an image of len bytes larger than the profile's
 * largest program, before its bytes are read or held. */
enum qerr qprog_check_size(uint64_t len, const struct qelf_profile *p,
			   struct qerror *err);

/* Check the whole image and write the packet header for it. */
enum qerr qprog_prepare(const uint8_t *elf, size_t len,
			const struct qargv *argv, const struct qelf_profile *p,
			uint8_t hdr[QPKT_HDR_SIZE], struct qelf_info *info,
			struct qerror *err);

#endif
