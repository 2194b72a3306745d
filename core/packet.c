/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The DESIGN.md §3 wire format: fields written byte by byte in little-endian
 * order so that the packet is the same whatever the host's endianness or word
 * size. */
#include "packet.h"

#include <assert.h>
#include <string.h>

static_assert(QPKT_HDR_SIZE == 4 + QARGV_MAX + 4,
	      "program_t header is 88 bytes");

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

void qpkt_header(uint8_t hdr[QPKT_HDR_SIZE], const struct qargv *argv,
		 uint32_t binary_size)
{
	memset(hdr, 0, QPKT_HDR_SIZE);
	put_le32(hdr + QPKT_OFF_ARGV_SIZE, (uint32_t)argv->size);
	qargs_wire(argv, (char *)hdr + QPKT_OFF_ARGV);
	put_le32(hdr + QPKT_OFF_BINARY_SIZE, binary_size);
}

enum qerr qpkt_build(uint8_t *out, size_t cap, const struct qargv *argv,
		     const uint8_t *elf, size_t elf_len, size_t *len,
		     struct qerror *err)
{
	enum qerr rc = qargs_check_words(argv, err);

	if (rc != QE_OK)
		return rc;
	if (elf_len > qpkt_max_binary(cap))
		return qerr_set(
		    err, QE_PKT_TOO_BIG,
		    "program is %zu bytes; the largest that fits the "
		    "%zu-byte slot is %zu",
		    elf_len, cap, qpkt_max_binary(cap));
	qpkt_header(out, argv, (uint32_t)elf_len);
	if (elf_len)
		memcpy(out + QPKT_HDR_SIZE, elf, elf_len);
	*len = QPKT_HDR_SIZE + elf_len;
	return QE_OK;
}

enum qerr qpkt_parse(const uint8_t *pkt, size_t len, struct qpkt_view *v,
		     struct qerror *err)
{
	uint32_t asz, bsz;

	memset(v, 0, sizeof *v);
	if (len < QPKT_HDR_SIZE)
		return qerr_set(
		    err, QE_PKT_MALFORMED,
		    "packet is %zu bytes, shorter than its %u-byte header", len,
		    QPKT_HDR_SIZE);
	asz = get_le32(pkt + QPKT_OFF_ARGV_SIZE);
	bsz = get_le32(pkt + QPKT_OFF_BINARY_SIZE);
	if (asz > QARGV_MAX)
		return qerr_set(err, QE_PKT_MALFORMED,
				"argv_size is %u; the argv buffer holds %u",
				asz, QARGV_MAX);
	if (bsz != len - QPKT_HDR_SIZE)
		return qerr_set(
		    err, QE_PKT_MALFORMED,
		    "binary_size is %u but the packet carries %zu bytes", bsz,
		    len - QPKT_HDR_SIZE);
	const char *argv = (const char *)pkt + QPKT_OFF_ARGV;
	if (asz && argv[asz - 1] != '\0')
		return qerr_set(err, QE_PKT_MALFORMED,
				"argv strings are not NUL-terminated");
	for (size_t i = asz; i < QARGV_MAX; i++)
		if (argv[i])
			return qerr_set(
			    err, QE_PKT_MALFORMED,
			    "argv byte %zu beyond argv_size is not zero", i);
	memcpy(v->argv.buf, argv, QARGV_MAX);
	v->argv.size = asz;
	/* what the packet holds, word for word: rebuilt byte for byte */
	v->argv.format = QARGV_STRINGS;
	for (size_t i = 0; i < asz; i++)
		v->argv.argc += argv[i] == '\0';
	v->binary_size = bsz;
	v->binary = pkt + QPKT_HDR_SIZE;
	return QE_OK;
}

enum qerr qpkt_slot_check(size_t slot_size, struct qerror *err)
{
	if (slot_size >= QPKT_SLOT_MIN && slot_size <= QPKT_SLOT_MAX)
		return QE_OK;
	return qerr_set(err, QE_USAGE,
			"slot size %zu is out of range (%u to %u bytes: the "
			"%u-byte header and at least one byte of program)",
			slot_size, QPKT_SLOT_MIN, QPKT_SLOT_MAX, QPKT_HDR_SIZE);
}
