/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A model of Quest's _exec (kernel/interrupt_handler.c, master and galileo):
 * the program headers are walked in Quest's order with Quest's 32-bit
 * arithmetic, and each run of pages Quest maps is recorded as one extent, so
 * that a page count of 0x100000 costs one comparison, not a million steps. */
#include "qload.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EHDR_SIZE   52u
#define PHDR_SIZE   32u
#define PT_LOAD_    1u
#define PAGE_SHIFT  12
#define PT_ENTRIES  1024u /* entries of one page table (or directory) */
#define MAX_PAGES   0x100000u
#define WRAP_PAGES  MAX_PAGES /* the page count of p_offset = p_filesz = 0 */
#define FOUR_MIB    0x400000u
#define PIECES_HDR  3u /* per PT_LOAD: file run, last-page copy, bss run */
#define PIECES_MORE 2u /* VGA, stack */

/* galileo: directory entries that are not the task's own when the program
 * headers are walked (Quest-V, USE_VMX): the page table of the file image
 * at 0x60000000, the shared-memory pool, the DMA and malloc pools and the
 * kernel's own tables. A program page there is written into a table Quest
 * keeps using for something else. */
#define G_IMAGE_PDE (0x60000000u >> 22)
#define G_SHPOOL_LO (0x9EC00000u >> 22)
#define G_SHPOOL_HI (0x9F800000u >> 22)
#define G_POOLS_PDE 1013u /* DMA pool, then malloc 1014-1018, kernel 1019- */

static const struct qload_profile profiles[QLOAD__NPROFILES] = {
    [QLOAD_MASTER] = {QLOAD_MASTER, "master", 0x1000u, 0x3F0000u, 0x400000u,
		      16u, 0x200000u, 16u},
    [QLOAD_GALILEO] = {QLOAD_GALILEO, "galileo", 0x1000u, 0x3FFF0000u,
		       0x40000000u, 16u, 0u, 0u},
};

/* One program header as Quest reads it (Elf32_Phdr, little-endian). */
struct phdr {
	uint32_t type, offset, vaddr, filesz, memsz;
};

struct walk {
	const uint8_t *elf;
	size_t len;
	const struct qload_profile *p;
	struct qload_map *m;
	struct qload_extent *pieces; /* runs in the order Quest maps them */
	size_t npieces, cap;
	unsigned load; /* ordinal of the PT_LOAD being walked */
	int hdr;       /* its index among all program headers */
};

const struct qload_profile *qload_profile(enum qload_profile_id id)
{
	if ((unsigned)id >= QLOAD__NPROFILES)
		return NULL;
	return &profiles[id];
}

enum qerr qload_profile_parse(const char *name, unsigned *mask,
			      struct qerror *err)
{
	if (name && strcmp(name, "master") == 0)
		*mask = QLOAD_MASK_MASTER;
	else if (name && strcmp(name, "galileo") == 0)
		*mask = QLOAD_MASK_GALILEO;
	else if (name && strcmp(name, "both") == 0)
		*mask = QLOAD_MASK_BOTH;
	else
		return qerr_set(err, QE_USAGE,
				"unknown Quest profile \"%.40s\": use master, "
				"galileo or both",
				name ? name : "");
	return QE_OK;
}

static uint32_t le16(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8;
}

static uint32_t le32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

/* Quest's page count, `((off + size - 1) >> 12) - (off >> 12) + 1`, in
 * 32-bit unsigned arithmetic stored into an int, as in _exec. */
static int32_t quest_pages(uint32_t off, uint32_t size)
{
	uint32_t c =
	    ((off + size - 1u) >> PAGE_SHIFT) - (off >> PAGE_SHIFT) + 1u;
	return (int32_t)c;
}

/* Record that Quest panics or corrupts memory at the current header. */
static enum qerr fate(struct walk *w, enum qload_fate f, enum qerr code,
		      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum qerr fate(struct walk *w, enum qload_fate f, enum qerr code,
		      const char *fmt, ...)
{
	va_list ap;

	w->m->fate = f;
	w->m->fault_phdr = w->hdr;
	w->m->why.code = code;
	va_start(ap, fmt);
	vsnprintf(w->m->why.msg, sizeof w->m->why.msg, fmt, ap);
	va_end(ap);
	return QE_OK;
}

/* Quest writes page table entries one after the other, a later one replacing
 * an earlier; the walk only notes each run it writes (a piece) and the map
 * is worked out once at the end, so that the work is n log n in the number
 * of headers whatever their order. */
static enum qerr put(struct walk *w, struct qload_extent e)
{
	if (w->npieces == w->cap)
		return QE_NOMEM;
	w->pieces[w->npieces++] = e;
	return QE_OK;
}

/* The first page of [pg, pg + n) that lands in a page table the task does
 * not own, or UINT32_MAX: master has one table, for the first 4 MiB;
 * galileo's directory holds tables Quest keeps using (see G_*). */
static uint64_t foreign_page(const struct walk *w, uint64_t pg, uint64_t n)
{
	uint64_t end = pg + n;

	if (n == 0)
		return UINT64_MAX;
	if (w->p->id == QLOAD_MASTER)
		return end > PT_ENTRIES ? (pg > PT_ENTRIES ? pg : PT_ENTRIES)
					: UINT64_MAX;
	uint64_t img_lo = (uint64_t)G_IMAGE_PDE * PT_ENTRIES;
	uint64_t img_hi =
	    img_lo + ((w->len + FOUR_MIB - 1) / FOUR_MIB) * PT_ENTRIES;
	uint64_t ranges[3][2] = {
	    {img_lo, img_hi},
	    {(uint64_t)G_SHPOOL_LO * PT_ENTRIES,
	     (uint64_t)G_SHPOOL_HI * PT_ENTRIES},
	    {(uint64_t)G_POOLS_PDE * PT_ENTRIES, UINT64_MAX},
	};
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 3; i++) {
		uint64_t a = pg > ranges[i][0] ? pg : ranges[i][0];
		uint64_t b = end < ranges[i][1] ? end : ranges[i][1];
		if (a < b && a < best)
			best = a;
	}
	return best;
}

static const char *foreign_what(const struct walk *w, uint64_t pg)
{
	uint64_t pde = pg / PT_ENTRIES;

	if (w->p->id == QLOAD_MASTER)
		return "past the end of its only page table (user pages end at "
		       "4 MiB)";
	if (pde >= PT_ENTRIES)
		return "past the end of its page directory";
	if (pde >= G_POOLS_PDE)
		return "into the page tables of its DMA pool, heap or kernel";
	if (pde >= G_SHPOOL_LO && pde < G_SHPOOL_HI)
		return "into the page table of its shared-memory pool";
	return "into the page table that maps the file image at 0x60000000";
}

/* Pages [pg, pg + n) of the current header are about to be written into the
 * page tables: corrupt if any lands outside the task's own. */
static int check_tables(struct walk *w, uint64_t pg, uint64_t n)
{
	uint64_t bad = foreign_page(w, pg, n);

	if (bad == UINT64_MAX)
		return 0;
	fate(w, QLOAD_CORRUPT, QE_ELF_CORRUPT,
	     "PT_LOAD %u: Quest's loader maps page 0x%llx of it at 0x%llx and "
	     "writes that entry %s",
	     w->load, (unsigned long long)(bad - pg),
	     (unsigned long long)(bad << PAGE_SHIFT), foreign_what(w, bad));
	return 1;
}

/* One PT_LOAD, in _exec's steps. Returns QE_OK with m->fate set when Quest
 * stops here; QE_NOMEM only when the map cannot grow. */
static enum qerr walk_load(struct walk *w, const struct phdr *ph)
{
	uint32_t vpg = ph->vaddr >> PAGE_SHIFT;
	uint32_t fpg = ph->offset >> PAGE_SHIFT;
	int32_t c, c2;
	uint32_t nfile, j;
	enum qerr rc = QE_OK;

	if ((ph->offset & 0xFFFu) != (ph->vaddr & 0xFFFu))
		return fate(w, QLOAD_PANIC, QE_ELF_ALIGN,
			    "PT_LOAD %u: file offset 0x%x and address 0x%x "
			    "differ in their last 12 bits: Quest's loader "
			    "panics (\"Misalignment in program header\")",
			    w->load, ph->offset, ph->vaddr);
	c = quest_pages(ph->offset, ph->filesz);
	if ((uint32_t)c == WRAP_PAGES && ph->offset == 0 && ph->filesz == 0)
		return fate(w, QLOAD_CORRUPT, QE_ELF_CORRUPT,
			    "PT_LOAD %u has no file bytes at offset 0: Quest's "
			    "loader computes %u pages for it and writes past "
			    "its page table",
			    w->load, WRAP_PAGES);
	nfile = c > 0 ? (uint32_t)c : 0;
	/* Every page but the last maps a frame the file was read into; the
	 * last copies from the image. Both must lie inside the file. */
	if (nfile) {
		uint64_t fend = (uint64_t)(ph->offset & ~0xFFFu) +
				(uint64_t)(nfile - 1) * QLOAD_PAGE +
				((ph->offset + ph->filesz) & 0xFFFu);
		if (fend > w->len)
			return fate(
			    w, QLOAD_CORRUPT, QE_ELF_SEGFILE,
			    "PT_LOAD %u: file bytes 0x%x-0x%llx lie past "
			    "the end of the %zu-byte file: Quest's "
			    "loader maps frames it never read",
			    w->load, ph->offset, (unsigned long long)fend,
			    w->len);
	}
	if (check_tables(w, vpg, nfile))
		return QE_OK;
	if (nfile > 1)
		rc = put(w, (struct qload_extent){vpg << PAGE_SHIFT, nfile - 1,
						  QLOAD_FILE, fpg << PAGE_SHIFT,
						  0, w->hdr});
	if (rc == QE_OK && nfile)
		rc = put(w, (struct qload_extent){
				(vpg + nfile - 1) << PAGE_SHIFT, 1, QLOAD_COPY,
				(fpg + nfile - 1) << PAGE_SHIFT,
				(ph->offset + ph->filesz) & 0xFFFu, w->hdr});
	if (rc != QE_OK)
		return rc;
	/* bss: the pages from j = c on up to Quest's second count */
	j = nfile;
	c2 = quest_pages(ph->offset, ph->memsz);
	if (c2 > 0 && (uint32_t)c2 > j) {
		uint32_t n = (uint32_t)c2 - j;
		if (check_tables(w, (uint64_t)vpg + j, n))
			return QE_OK;
		rc = put(w, (struct qload_extent){(vpg + j) << PAGE_SHIFT, n,
						  QLOAD_ZERO, 0, 0, w->hdr});
	}
	return rc;
}

/* After the headers: master's VGA window, then the stack, each replacing
 * what the program had there. */
static enum qerr overlays(struct walk *w)
{
	const struct qload_profile *p = w->p;
	enum qerr rc = QE_OK;

	if (p->vga_pages)
		rc = put(w, (struct qload_extent){p->vga_base, p->vga_pages,
						  QLOAD_VGA, 0, 0, -1});
	if (rc == QE_OK)
		rc = put(w, (struct qload_extent){
				p->stack_top - p->stack_pages * QLOAD_PAGE,
				p->stack_pages, QLOAD_STACK, 0, 0, -1});
	return rc;
}

static enum qerr read_header(const uint8_t *elf, size_t len, uint32_t *phoff,
			     uint32_t *phentsize, uint32_t *phnum,
			     struct qerror *err)
{
	if (len < EHDR_SIZE || memcmp(elf,
				      "\x7f"
				      "ELF",
				      4) != 0)
		return qerr_set(err, QE_ELF_MAGIC,
				"not an ELF file of at least %u bytes",
				EHDR_SIZE);
	if (elf[4] != 1 || elf[5] != 1)
		return qerr_set(err, QE_ELF_CLASS,
				"not a 32-bit little-endian ELF file");
	*phoff = le32(elf + 28);
	*phentsize = le16(elf + 42);
	*phnum = le16(elf + 44);
	/* Quest reads header i at e_phoff + i * e_phentsize; all of them must
	 * lie in the file it read. */
	if (*phnum) {
		uint64_t last = (uint64_t)*phoff +
				(uint64_t)(*phnum - 1) * *phentsize + PHDR_SIZE;
		if (last > len)
			return qerr_set(err, QE_ELF_PHDR,
					"program header table at offset 0x%x "
					"(%u x %u bytes) runs past the end of "
					"the %zu-byte file",
					*phoff, *phnum, *phentsize, len);
	}
	return QE_OK;
}

/* A max-heap of piece indices: the latest piece covering a page wins. */
static void heap_push(size_t *h, size_t *n, size_t v)
{
	size_t i = (*n)++;

	while (i && h[(i - 1) / 2] < v) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = v;
}

static void heap_pop(size_t *h, size_t *n)
{
	size_t v = h[--*n], i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= *n)
			break;
		if (c + 1 < *n && h[c + 1] > h[c])
			c++;
		if (h[c] <= v)
			break;
		h[i] = h[c];
		i = c;
	}
	if (*n)
		h[i] = v;
}

static uint64_t piece_lo(const struct qload_extent *e)
{
	return e->vaddr >> PAGE_SHIFT;
}

static uint64_t piece_hi(const struct qload_extent *e)
{
	return piece_lo(e) + e->npages;
}

static int by_lo(const void *a, const void *b, void *pieces)
{
	const struct qload_extent *base = pieces;
	uint64_t x = piece_lo(&base[*(const size_t *)a]);
	uint64_t y = piece_lo(&base[*(const size_t *)b]);

	return x < y ? -1 : x > y;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sweep the pieces by page: between two consecutive piece edges the page
 * belongs to the latest piece covering it; runs of one piece become one
 * extent. 2n + 1 extents at most. */
static enum qerr resolve(struct walk *w)
{
	size_t n = w->npieces, npos = 0, nh = 0, next = 0;
	size_t *order = calloc(n ? n : 1, sizeof *order);
	size_t *heap = calloc(n ? n : 1, sizeof *heap);
	uint64_t *pos = calloc(2 * n + 1, sizeof *pos);
	struct qload_extent *out = calloc(2 * n + 1, sizeof *out);
	struct qload_map *m = w->m;
	enum qerr rc = QE_OK;

	if (!order || !heap || !pos || !out) {
		rc = QE_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		order[i] = i;
		pos[npos++] = piece_lo(&w->pieces[i]);
		pos[npos++] = piece_hi(&w->pieces[i]);
	}
	qsort_r(order, n, sizeof *order, by_lo, w->pieces);
	qsort(pos, npos, sizeof *pos, u64_cmp);
	for (size_t k = 0; k + 1 < npos; k++) {
		uint64_t x = pos[k], y = pos[k + 1];
		if (x == y)
			continue;
		while (next < n && piece_lo(&w->pieces[order[next]]) <= x)
			heap_push(heap, &nh, order[next++]);
		while (nh && piece_hi(&w->pieces[heap[0]]) <= x)
			heap_pop(heap, &nh);
		if (!nh)
			continue;
		const struct qload_extent *pc = &w->pieces[heap[0]];
		struct qload_extent *prev =
		    m->nextents ? &out[m->nextents - 1] : NULL;
		if (prev && piece_hi(prev) == x && prev->src == pc->src &&
		    prev->phdr == pc->phdr && prev->src != QLOAD_COPY &&
		    (prev->src != QLOAD_FILE ||
		     prev->file_off + prev->npages * QLOAD_PAGE ==
			 pc->file_off + (x - piece_lo(pc)) * QLOAD_PAGE)) {
			prev->npages += (uint32_t)(y - x);
			continue;
		}
		struct qload_extent e = *pc;
		e.vaddr = (uint32_t)(x << PAGE_SHIFT);
		e.npages = (uint32_t)(y - x);
		if (e.src == QLOAD_FILE)
			e.file_off += (uint32_t)(x - piece_lo(pc)) * QLOAD_PAGE;
		out[m->nextents++] = e;
	}
	m->ext = out;
	out = NULL;
out:
	free(order);
	free(heap);
	free(pos);
	free(out);
	return rc;
}

enum qerr qload_build(const uint8_t *elf, size_t len,
		      const struct qload_profile *p, struct qload_map *m,
		      struct qerror *err)
{
	uint32_t phoff = 0, phentsize = 0, phnum = 0, nloads = 0;
	struct walk w = {elf, len, p, m, NULL, 0, 0, 0, -1};
	const uint8_t *prev = NULL;
	enum qerr rc;

	memset(m, 0, sizeof *m);
	m->profile = p;
	m->fault_phdr = -1;
	if (!p || !elf)
		return qerr_set(err, QE_USAGE, "no profile or no image");
	rc = read_header(elf, len, &phoff, &phentsize, &phnum, err);
	if (rc != QE_OK)
		return rc;
	m->entry = le32(elf + 24);
	for (uint32_t i = 0; i < phnum; i++)
		nloads += le32(elf + phoff + (size_t)i * phentsize) == PT_LOAD_;
	w.cap = (size_t)PIECES_HDR * nloads + PIECES_MORE;
	w.pieces = calloc(w.cap, sizeof *w.pieces);
	if (!w.pieces)
		return qerr_set(err, QE_NOMEM,
				"out of memory for the map of %u headers",
				phnum);
	for (uint32_t i = 0; i < phnum && m->fate == QLOAD_LOADS; i++) {
		const uint8_t *b = elf + phoff + (size_t)i * phentsize;
		struct phdr ph = {le32(b), le32(b + 4), le32(b + 8),
				  le32(b + 16), le32(b + 20)};
		if (ph.type != PT_LOAD_)
			continue;
		w.hdr = (int)i;
		/* The same header walked again maps the same pages again
		 * (e_phentsize 0): nothing changes but the work. */
		if (!prev || memcmp(prev, b, PHDR_SIZE) != 0)
			rc = walk_load(&w, &ph);
		prev = b;
		w.load++;
		if (rc != QE_OK)
			break;
	}
	if (rc == QE_OK && m->fate == QLOAD_LOADS)
		rc = overlays(&w);
	if (rc == QE_OK)
		rc = resolve(&w);
	free(w.pieces);
	if (rc != QE_OK) {
		qload_map_free(m);
		return qerr_set(err, QE_NOMEM, "out of memory for the map");
	}
	return QE_OK;
}

void qload_map_free(struct qload_map *m)
{
	if (!m)
		return;
	free(m->ext);
	m->ext = NULL;
	m->nextents = 0;
}

const struct qload_extent *qload_find(const struct qload_map *m, uint32_t vaddr)
{
	size_t a = 0, b = m->nextents;

	while (a < b) {
		size_t mid = a + (b - a) / 2;
		const struct qload_extent *x = &m->ext[mid];
		uint64_t end =
		    (uint64_t)x->vaddr + (uint64_t)x->npages * QLOAD_PAGE;
		if (vaddr < x->vaddr)
			b = mid;
		else if (vaddr >= end)
			a = mid + 1;
		else
			return x;
	}
	return NULL;
}

void qload_page_bytes(const struct qload_extent *e, uint32_t vaddr,
		      const uint8_t *elf, size_t len, uint8_t out[QLOAD_PAGE])
{
	uint64_t off = 0;
	size_t n = 0;

	memset(out, 0, QLOAD_PAGE);
	if (!e)
		return;
	if (e->src == QLOAD_FILE) {
		off = (uint64_t)e->file_off +
		      ((uint64_t)(vaddr & ~0xFFFu) - e->vaddr);
		n = QLOAD_PAGE;
	} else if (e->src == QLOAD_COPY) {
		off = e->file_off;
		n = e->copy;
	}
	if (off >= len)
		return;
	if (n > len - off)
		n = (size_t)(len - off);
	memcpy(out, elf + off, n);
}
