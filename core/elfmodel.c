/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The checks that come from the model of Quest's loader: a program is
 * refused exactly when Quest panics or corrupts memory on it, or when some
 * byte the ELF file asks for (file bytes to p_filesz, zeros to p_memsz)
 * comes out otherwise in the pages Quest maps. */
#include "elfmodel.h"
#include "qload.h"

#include <stdio.h>
#include <string.h>

#define PAGE_MASK (QLOAD_PAGE - 1u)

struct cmp {
	const uint8_t *buf;
	size_t len;
	const struct qload_map *m;
	const struct qelf_seg *s;
	const struct qelf_seg *all; /* every PT_LOAD, to name another one */
	size_t nall;
	struct qerror *err;
};

/* The PT_LOAD ordinal of program header hdr, or -1. */
static long load_of(const struct cmp *c, int hdr)
{
	for (size_t i = 0; i < c->nall; i++)
		if (c->all[i].hdr == hdr)
			return (long)c->all[i].load;
	return -1;
}

static uint64_t ext_end(const struct qload_extent *e)
{
	return (uint64_t)e->vaddr + (uint64_t)e->npages * QLOAD_PAGE;
}

static const char *src_name(enum qload_src src)
{
	switch (src) {
	case QLOAD_FILE:
		return "file page";
	case QLOAD_COPY:
		return "last-page copy";
	case QLOAD_ZERO:
		return "zero-filled page";
	default:
		return "page";
	}
}

/* The page at v is not the segment's own: say what Quest put there. */
static enum qerr refuse_page(const struct cmp *c, const struct qload_extent *e,
			     uint64_t v)
{
	const struct qload_profile *p = c->m->profile;
	unsigned load = c->s->load;

	if (!e)
		return qerr_set(c->err, QE_ELF_MISLOAD,
				"PT_LOAD %u: Quest's loader (%s) maps no page "
				"at 0x%llx: its 32-bit page count for the "
				"segment comes out short",
				load, p->name, (unsigned long long)v);
	if (e->src == QLOAD_STACK)
		return qerr_set(c->err, QE_ELF_MISLOAD,
				"PT_LOAD %u: the page at 0x%llx is under the "
				"user stack Quest (%s) maps at 0x%x-0x%x, "
				"which replaces it",
				load, (unsigned long long)v, p->name,
				p->stack_top - p->stack_pages * QLOAD_PAGE,
				p->stack_top);
	return qerr_set(c->err, QE_ELF_MISLOAD,
			"PT_LOAD %u: Quest (%s) maps VGA text memory over "
			"0x%x-0x%x, replacing the segment's page at 0x%llx",
			load, p->name, p->vga_base,
			p->vga_base + p->vga_pages * QLOAD_PAGE,
			(unsigned long long)v);
}

/* Byte u differs: Quest has `got`, the file asks for `want`. */
static enum qerr refuse_byte(const struct cmp *c, const struct qload_extent *e,
			     uint64_t u, unsigned got, unsigned want)
{
	const struct qelf_seg *s = c->s;
	const char *prof = c->m->profile->name;
	uint64_t fend = (uint64_t)s->vaddr + s->filesz;

	if (e->phdr == s->hdr && e->src == QLOAD_COPY && e->copy == 0 &&
	    u < fend && ((s->offset + s->filesz) & PAGE_MASK) == 0)
		return qerr_set(c->err, QE_ELF_MISLOAD,
				"PT_LOAD %u: its file bytes end on a page edge "
				"(offset 0x%x), so Quest's loader (%s) copies "
				"0 bytes of its last page and 0x%llx-0x%llx "
				"loads as zeros",
				s->load, s->offset + s->filesz, prof,
				(unsigned long long)(u & ~(uint64_t)PAGE_MASK),
				(unsigned long long)fend);
	if (e->phdr != s->hdr && e->phdr >= 0)
		return qerr_set(c->err, QE_ELF_MISLOAD,
				"PT_LOAD %u: its page at 0x%llx is replaced by "
				"PT_LOAD %ld's %s (Quest, %s, maps pages in "
				"header order), so 0x%llx loads as 0x%02x, not "
				"0x%02x",
				s->load,
				(unsigned long long)(u & ~(uint64_t)PAGE_MASK),
				load_of(c, e->phdr), src_name(e->src), prof,
				(unsigned long long)u, got, want);
	return qerr_set(c->err, QE_ELF_MISLOAD,
			"PT_LOAD %u: Quest's loader (%s) puts 0x%02x at "
			"0x%llx (its %s), where the file asks for 0x%02x",
			s->load, prof, got, (unsigned long long)u,
			src_name(e->src), want);
}

/* Whether [v, end) of page holds what the segment asks for: its file's
 * bytes up to the end of its file part or of the file, zeros after. Two
 * memcmp, at memory speed; the byte loop below runs only to name the
 * first difference. */
static int page_matches(const struct cmp *c, const uint8_t *page, uint64_t v,
			uint64_t end)
{
	static const uint8_t zeros[QLOAD_PAGE];
	const struct qelf_seg *s = c->s;
	uint64_t a = (uint64_t)s->vaddr + s->filesz; /* file bytes end */

	if (s->offset >= c->len)
		a = s->vaddr;
	else if ((uint64_t)s->vaddr + (c->len - s->offset) < a)
		a = (uint64_t)s->vaddr + (c->len - s->offset);
	if (a > end)
		a = end;
	if (v < a && memcmp(page + (v & PAGE_MASK),
			    c->buf + s->offset + (v - s->vaddr), a - v))
		return 0;
	if (a < v)
		a = v;
	return a >= end || !memcmp(page + (a & PAGE_MASK), zeros, end - a);
}

/* Compare [v, end) of the segment, all in extent e and one page. */
static enum qerr compare_bytes(const struct cmp *c,
			       const struct qload_extent *e, uint64_t v,
			       uint64_t end)
{
	const struct qelf_seg *s = c->s;
	uint64_t fend = (uint64_t)s->vaddr + s->filesz;
	uint8_t page[QLOAD_PAGE];

	qload_page_bytes(e, (uint32_t)v, c->buf, c->len, page);
	if (page_matches(c, page, v, end))
		return QE_OK;
	for (uint64_t u = v; u < end; u++) {
		uint64_t fo = (uint64_t)s->offset + (u - s->vaddr);
		unsigned want = u < fend && fo < c->len ? c->buf[fo] : 0;
		unsigned got = page[u & PAGE_MASK];
		if (got != want)
			return refuse_byte(c, e, u, got, want);
	}
	return QE_OK;
}

/* One segment, run by run: a file run Quest maps at the same offset and a
 * zero run over bss are equal without looking at a byte; anything else is
 * compared byte by byte, one page at a time, up to the first difference. */
static enum qerr compare_seg(const struct cmp *c)
{
	const struct qelf_seg *s = c->s;
	uint64_t v = s->vaddr, end = (uint64_t)s->vaddr + s->memsz;
	uint64_t fend = (uint64_t)s->vaddr + s->filesz;
	enum qerr rc = QE_OK;

	while (v < end && rc == QE_OK) {
		const struct qload_extent *e = qload_find(c->m, (uint32_t)v);
		if (!e || e->src == QLOAD_STACK || e->src == QLOAD_VGA)
			return refuse_page(c, e, v);
		uint64_t stop = ext_end(e) < end ? ext_end(e) : end;
		if (e->src == QLOAD_FILE && v < fend &&
		    e->file_off + (v - e->vaddr) ==
			(uint64_t)s->offset + (v - s->vaddr)) {
			v = stop < fend ? stop : fend;
			continue;
		}
		if (e->src == QLOAD_ZERO && v >= fend) {
			v = stop;
			continue;
		}
		uint64_t pend = (v | PAGE_MASK) + 1;
		if (pend > stop)
			pend = stop;
		rc = compare_bytes(c, e, v, pend);
		v = pend;
	}
	return rc;
}

/* The model's own verdict, with the kernel named. */
static enum qerr refuse_fate(const struct qload_map *m, struct qerror *err)
{
	return qerr_set(err, m->why.code, "%s (%s)", m->why.msg,
			m->profile->name);
}

static enum qerr check_one(const uint8_t *buf, size_t len,
			   const struct qload_profile *q,
			   const struct qelf_seg *segs, size_t nsegs,
			   int headers_only, struct qerror *err)
{
	struct qload_map m;
	enum qerr rc = qload_build(buf, len, q, &m, err);

	if (rc != QE_OK)
		return rc;
	/* With bytes still to come, the walk stops at the first segment
	 * reaching past them; what it found before that is final. */
	if (m.fate != QLOAD_LOADS &&
	    !(headers_only && m.why.code == QE_ELF_SEGFILE))
		rc = refuse_fate(&m, err);
	for (size_t i = 0; rc == QE_OK && !headers_only && i < nsegs; i++) {
		struct cmp c = {buf, len, &m, &segs[i], segs, nsegs, err};
		rc = compare_seg(&c);
	}
	qload_map_free(&m);
	return rc;
}

enum qerr qelf_model_check(const uint8_t *buf, size_t len,
			   const struct qelf_profile *p,
			   const struct qelf_seg *segs, size_t nsegs,
			   int headers_only, struct qerror *err)
{
	unsigned mask = p->quest_mask ? p->quest_mask : QLOAD_MASK_BOTH;
	enum qerr rc = QE_OK;

	for (int i = 0; rc == QE_OK && i < QLOAD__NPROFILES; i++)
		if (mask & (1u << i))
			rc = check_one(buf, len, qload_profile(i), segs, nsegs,
				       headers_only, err);
	return rc;
}
