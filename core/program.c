/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Judging and packing one program: the single place where the size limit,
 * the ELF checks and the header meet. */
#include "program.h"

enum qerr qprog_check_size(uint64_t len, const struct qelf_profile *p,
			   struct qerror *err)
{
	if (p->max_size && len > p->max_size)
		return qerr_set(
		    err, QE_ELF_TOO_BIG,
		    "program is %llu bytes; the largest that fits the "
		    "%zu-byte slot is %zu",
		    (unsigned long long)len, p->max_size + QPKT_HDR_SIZE,
		    p->max_size);
	return QE_OK;
}

enum qerr qprog_prepare(const uint8_t *elf, size_t len,
			const struct qargv *argv, const struct qelf_profile *p,
			uint8_t hdr[QPKT_HDR_SIZE], struct qelf_info *info,
			struct qerror *err)
{
	enum qerr rc = qargs_check_words(argv, err);

	if (rc == QE_OK)
		rc = qprog_check_size(len, p, err);

	if (rc == QE_OK)
		rc = qelf_check(elf, len, p, QELF_WHOLE, info, err);
	if (rc == QE_OK)
		qpkt_header(hdr, argv, (uint32_t)len);
	return rc;
}
