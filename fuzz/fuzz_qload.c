/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for the model of Quest's loader (core/qload.c): on any
 * bytes, under each kernel, the walk reads only inside the image (ASan),
 * its map stays sorted, disjoint and bounded by the number of headers, and
 * a verdict reached on a prefix of the file (a panic or corruption decided
 * by headers alone) is the whole file's verdict too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qload.h"

static void violation(const char *what, size_t len, const char *prof)
{
	fprintf(stderr, "fuzz_qload: %s (len %zu, %s)\n", what, len, prof);
	abort();
}

static unsigned count_loads(const uint8_t *b, size_t len)
{
	unsigned phnum = b[44] | b[45] << 8, phent = b[42] | b[43] << 8, n = 0;
	uint32_t phoff = (uint32_t)b[28] | (uint32_t)b[29] << 8 |
			 (uint32_t)b[30] << 16 | (uint32_t)b[31] << 24;

	for (unsigned i = 0; i < phnum; i++) {
		uint64_t at = (uint64_t)phoff + (uint64_t)i * phent;
		if (at + 4 <= len && b[at] == 1 && !b[at + 1] && !b[at + 2] &&
		    !b[at + 3])
			n++;
	}
	return n;
}

static void check_map(const struct qload_map *m, const uint8_t *b, size_t len)
{
	const char *pn = m->profile->name;
	uint64_t prev_end = 0;
	uint8_t page[QLOAD_PAGE];

	/* three runs per PT_LOAD and two overlays, each split at most once
	 * by the sweep: 2n + 1 extents */
	if (m->nextents > 2 * (3 * (size_t)count_loads(b, len) + 2) + 1)
		violation("more extents than the headers allow", len, pn);
	for (size_t i = 0; i < m->nextents; i++) {
		const struct qload_extent *e = &m->ext[i];
		uint64_t end =
		    (uint64_t)e->vaddr + (uint64_t)e->npages * QLOAD_PAGE;
		if (!e->npages || e->vaddr % QLOAD_PAGE || end > 0x100000000ull)
			violation("malformed extent", len, pn);
		if (i && e->vaddr < prev_end)
			violation("extents overlap or are out of order", len,
				  pn);
		if (e->src == QLOAD_COPY &&
		    (e->npages != 1 || e->copy >= QLOAD_PAGE))
			violation("a copy of more than one page", len, pn);
		if (qload_find(m, e->vaddr) != e ||
		    qload_find(m, (uint32_t)(end - 1)) != e)
			violation("qload_find misses an extent", len, pn);
		/* reads only inside the image (ASan watches) */
		qload_page_bytes(e, e->vaddr, b, len, page);
		qload_page_bytes(e, (uint32_t)(end - QLOAD_PAGE), b, len, page);
		prev_end = end;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int p = 0; p < QLOAD__NPROFILES; p++) {
		const struct qload_profile *prof = qload_profile(p);
		struct qload_map whole, part;
		struct qerror e;

		if (qload_build(data, size, prof, &whole, &e) != QE_OK)
			continue;
		check_map(&whole, data, size);
		/* a prefix holding every header: a fate its walk reaches
		 * before any missing byte is the whole file's */
		for (size_t cut = size / 2; cut < size;
		     cut += (size - cut + 1) / 2) {
			if (qload_build(data, cut, prof, &part, &e) != QE_OK)
				break;
			if (part.fate != QLOAD_LOADS &&
			    part.why.code != QE_ELF_SEGFILE &&
			    (whole.fate != part.fate ||
			     whole.fault_phdr != part.fault_phdr ||
			     strcmp(whole.why.msg, part.why.msg) != 0))
				violation("a prefix's verdict is not the whole "
					  "file's",
					  size, prof->name);
			qload_map_free(&part);
		}
		qload_map_free(&whole);
	}
	return 0;
}
