/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The wire format of DESIGN.md §3 (the seed's program_t), with fixed widths and
 * little-endian fields on every host. */
#ifndef QUEST_PACKET_H
#define QUEST_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "args.h"
#include "qerr.h"

#define QPKT_HDR_SIZE	     88u
#define QPKT_OFF_ARGV_SIZE   0u
#define QPKT_OFF_ARGV	     4u
#define QPKT_OFF_BINARY_SIZE 84u
#define QPKT_SLOT_DEFAULT    393216u /* 384 KiB, the seed's channel */
/* The slot sizes every side accepts: the header and at least one byte of
 * program, up to 1 GiB */
#define QPKT_SLOT_MIN (QPKT_HDR_SIZE + 1u)
#define QPKT_SLOT_MAX (1u << 30)

/* Largest ELF image a slot of slot_size bytes can carry. */
static inline size_t qpkt_max_binary(size_t slot_size)
{
	return slot_size > QPKT_HDR_SIZE ? slot_size - QPKT_HDR_SIZE : 0;
}

/* QE_OK when slot_size is within [QPKT_SLOT_MIN, QPKT_SLOT_MAX], else
 * QE_USAGE with a message that gives the range. Every side checks a slot
 * size here: questfs, its tools, the channel and a segment found in
 * /dev/shm. */
enum qerr qpkt_slot_check(size_t slot_size, struct qerror *err);

/* Write the 88-byte header for `argv` and an image of binary_size bytes. */
void qpkt_header(uint8_t hdr[QPKT_HDR_SIZE], const struct qargv *argv,
		 uint32_t binary_size);

/* Build a whole packet into out (capacity cap = the slot size); *len gets
 * its size. Refuses (QE_PKT_TOO_BIG) what does not fit. */
enum qerr qpkt_build(uint8_t *out, size_t cap, const struct qargv *argv,
		     const uint8_t *elf, size_t elf_len, size_t *len,
		     struct qerror *err);

/* A parsed packet; pointers into the caller's buffer. */
struct qpkt_view {
	struct qargv argv;
	uint32_t binary_size;
	const uint8_t *binary;
};

/* Parse and validate a packet of len bytes (argv_size within 0..80, argv
 * strings NUL-terminated, unused bytes zero, binary_size == len - 88). */
enum qerr qpkt_parse(const uint8_t *pkt, size_t len, struct qpkt_view *v,
		     struct qerror *err);

#endif
