/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the model of Quest's _exec (core/qload.c): each test builds
 * a small image whose program headers are chosen for one step of the loop
 * and checks the page map, or the fate, Quest's code gives it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "qload.h"

#define PAGE 4096u

struct seg {
	uint32_t type, off, vaddr, filesz, memsz;
};

/* An image of len bytes: ELF header, the headers of segs at offset 52, every
 * other byte (i * 7 + 1) so that each file byte can be told apart. */
static uint8_t *image(size_t len, const struct seg *segs, unsigned n,
		      uint32_t entry)
{
	uint8_t *b = malloc(len);

	assert_non_null(b);
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(i * 7 + 1);
	memset(b, 0, 52 + 32 * (size_t)n);
	memcpy(b,
	       "\x7f"
	       "ELF\x01\x01\x01",
	       7);
	b[16] = 2; /* ET_EXEC */
	b[18] = 3; /* EM_386 */
	b[20] = 1;
	memcpy(b + 24, &entry, 4);
	b[28] = 52;
	b[40] = 52;
	b[42] = 32;
	b[44] = (uint8_t)n;
	b[45] = (uint8_t)(n >> 8);
	for (unsigned i = 0; i < n; i++) {
		uint32_t f[8] = {segs[i].type,
				 segs[i].off,
				 segs[i].vaddr,
				 segs[i].vaddr,
				 segs[i].filesz,
				 segs[i].memsz,
				 7,
				 PAGE};
		memcpy(b + 52 + 32 * i, f, sizeof f);
	}
	return b;
}

static const struct qload_profile *master(void)
{
	return qload_profile(QLOAD_MASTER);
}

static const struct qload_profile *galileo(void)
{
	return qload_profile(QLOAD_GALILEO);
}

static void build(const uint8_t *b, size_t len, const struct qload_profile *p,
		  struct qload_map *m)
{
	struct qerror e;

	assert_int_equal(qload_build(b, len, p, m, &e), QE_OK);
}

static void expect_ext(const struct qload_map *m, uint32_t vaddr,
		       uint32_t npages, enum qload_src src, uint32_t file_off,
		       uint32_t copy)
{
	const struct qload_extent *e = qload_find(m, vaddr);

	assert_non_null(e);
	assert_int_equal(e->vaddr, vaddr);
	assert_int_equal(e->npages, npages);
	assert_int_equal(e->src, src);
	if (src == QLOAD_FILE || src == QLOAD_COPY)
		assert_int_equal(e->file_off, file_off);
	if (src == QLOAD_COPY)
		assert_int_equal(e->copy, copy);
}

static void test_profiles(void **state)
{
	unsigned mask = 0;
	struct qerror e;

	(void)state;
	assert_int_equal(master()->stack_top, 0x400000);
	assert_int_equal(master()->vga_base, 0x200000);
	assert_int_equal(galileo()->stack_top, 0x40000000);
	assert_int_equal(galileo()->vga_pages, 0);
	assert_null(qload_profile(QLOAD__NPROFILES));
	assert_int_equal(qload_profile_parse("both", &mask, &e), QE_OK);
	assert_int_equal(mask, QLOAD_MASK_BOTH);
	assert_int_equal(qload_profile_parse("galileo", &mask, &e), QE_OK);
	assert_int_equal(mask, QLOAD_MASK_GALILEO);
	assert_int_equal(qload_profile_parse("linux", &mask, &e), QE_USAGE);
	assert_non_null(strstr(e.msg, "master, galileo or both"));
}

/* One small segment: its only page is the last, a copy; then the overlays. */
static void test_small(void **state)
{
	struct seg s[] = {{1, 0, 0x1000, 0x80, 0x80}};
	uint8_t *b = image(0x80, s, 1, 0x1054);
	struct qload_map m;

	(void)state;
	build(b, 0x80, master(), &m);
	assert_int_equal(m.fate, QLOAD_LOADS);
	assert_int_equal(m.entry, 0x1054);
	assert_int_equal(m.nextents, 3);
	expect_ext(&m, 0x1000, 1, QLOAD_COPY, 0, 0x80);
	expect_ext(&m, 0x200000, 16, QLOAD_VGA, 0, 0);
	expect_ext(&m, 0x3F0000, 16, QLOAD_STACK, 0, 0);
	assert_null(qload_find(&m, 0x2000));
	qload_map_free(&m);
	build(b, 0x80, galileo(), &m);
	assert_int_equal(m.nextents, 2);
	expect_ext(&m, 0x3FFF0000, 16, QLOAD_STACK, 0, 0);
	assert_null(qload_find(&m, 0x200000));
	qload_map_free(&m);
	free(b);
}

/* The first case: a .bss-only PT_LOAD at offset 0 with no file
 * bytes. The count wraps to 0x100000: found without walking it. */
static void test_wrap(void **state)
{
	struct seg s[] = {{1, 0, 0x1000, 0x100, 0x100},
			  {4, 0, 0, 0, 0},
			  {1, 0, 0x3000, 0, 0x20}};
	uint8_t *b = image(0x200, s, 3, 0x1000);
	struct qload_map m;

	(void)state;
	for (int p = 0; p < QLOAD__NPROFILES; p++) {
		build(b, 0x200, qload_profile(p), &m);
		assert_int_equal(m.fate, QLOAD_CORRUPT);
		assert_int_equal(m.fault_phdr, 2);
		assert_int_equal(m.why.code, QE_ELF_CORRUPT);
		assert_string_equal(m.why.msg,
				    "PT_LOAD 1 has no file bytes at offset 0: "
				    "Quest's loader computes 1048576 pages for "
				    "it and writes past its page table");
		qload_map_free(&m);
	}
	free(b);
}

/* File bytes ending on a page edge: the last page is a copy of 0 bytes. */
static void test_page_edge(void **state)
{
	struct seg s[] = {{1, 0, 0x1000, 0x2000, 0x2000}};
	uint8_t *b = image(0x2000, s, 1, 0x1000);
	uint8_t page[PAGE];
	struct qload_map m;

	(void)state;
	build(b, 0x2000, master(), &m);
	assert_int_equal(m.fate, QLOAD_LOADS);
	expect_ext(&m, 0x1000, 1, QLOAD_FILE, 0, 0);
	expect_ext(&m, 0x2000, 1, QLOAD_COPY, 0x1000, 0);
	qload_page_bytes(qload_find(&m, 0x1000), 0x1000, b, 0x2000, page);
	assert_memory_equal(page, b, PAGE);
	qload_page_bytes(qload_find(&m, 0x2abc), 0x2abc, b, 0x2000, page);
	for (unsigned i = 0; i < PAGE; i++)
		assert_int_equal(page[i], 0);
	qload_map_free(&m);
	free(b);
}

static void test_misaligned_panics(void **state)
{
	struct seg s[] = {{1, 0, 0x1000, 0x80, 0x80},
			  {1, 0x10, 0x2020, 0x10, 0x10}};
	uint8_t *b = image(0x100, s, 2, 0x1000);
	struct qload_map m;

	(void)state;
	build(b, 0x100, galileo(), &m);
	assert_int_equal(m.fate, QLOAD_PANIC);
	assert_int_equal(m.fault_phdr, 1);
	assert_int_equal(m.why.code, QE_ELF_ALIGN);
	assert_non_null(strstr(m.why.msg, "PT_LOAD 1: file offset 0x10 and "
					  "address 0x2020"));
	assert_non_null(strstr(m.why.msg, "panics"));
	qload_map_free(&m);
	free(b);
}

/* Text, data and bss pages; the bss run comes from the second count. */
static void test_bss_pages(void **state)
{
	struct seg s[] = {{1, 0, 0x1000, 0x1100, 0x1100},
			  {1, 0x1100, 0x3100, 0x10, 0x3000}};
	uint8_t *b = image(0x1110, s, 2, 0x1000);
	uint8_t page[PAGE];
	struct qload_map m;

	(void)state;
	build(b, 0x1110, master(), &m);
	assert_int_equal(m.fate, QLOAD_LOADS);
	expect_ext(&m, 0x1000, 1, QLOAD_FILE, 0, 0);
	expect_ext(&m, 0x2000, 1, QLOAD_COPY, 0x1000, 0x100);
	expect_ext(&m, 0x3000, 1, QLOAD_COPY, 0x1000, 0x110);
	expect_ext(&m, 0x4000, 3, QLOAD_ZERO, 0, 0);
	assert_int_equal(qload_find(&m, 0x3000)->phdr, 1);
	qload_page_bytes(qload_find(&m, 0x3000), 0x3000, b, 0x1110, page);
	assert_memory_equal(page, b + 0x1000, 0x110);
	assert_int_equal(page[0x110], 0);
	qload_map_free(&m);
	free(b);
}

/* A later header's page replaces an earlier one's (here a bss page of the
 * second header lands on the first header's last page). */
static void test_later_header_wins(void **state)
{
	struct seg s[] = {{1, 0x1000, 0x1000, 0x2000, 0x2000},
			  {1, 0x800, 0x800, 0x10, 0x1000}};
	uint8_t *b = image(0x3000, s, 2, 0x1000);
	struct qload_map m;

	(void)state;
	build(b, 0x3000, master(), &m);
	/* second: copy at 0x0 (0x810 bytes), zero page at 0x1000 */
	expect_ext(&m, 0x0, 1, QLOAD_COPY, 0, 0x810);
	expect_ext(&m, 0x1000, 1, QLOAD_ZERO, 0, 0);
	assert_int_equal(qload_find(&m, 0x1000)->phdr, 1);
	expect_ext(&m, 0x2000, 1, QLOAD_COPY, 0x2000, 0);
	assert_int_equal(qload_find(&m, 0x2000)->phdr, 0);
	qload_map_free(&m);
	free(b);
}

/* master: one page table, so a page at 4 MiB is written past it; galileo
 * takes a second table. */
static void test_four_mib(void **state)
{
	struct seg s[] = {{1, 0, 0x3FF000, 0x1800, 0x1800}};
	uint8_t *b = image(0x1800, s, 1, 0x3FF000);
	struct qload_map m;

	(void)state;
	build(b, 0x1800, master(), &m);
	assert_int_equal(m.fate, QLOAD_CORRUPT);
	assert_string_equal(m.why.msg,
			    "PT_LOAD 0: Quest's loader maps page 0x1 of it at "
			    "0x400000 and writes that entry past the end of "
			    "its only page table (user pages end at 4 MiB)");
	qload_map_free(&m);
	build(b, 0x1800, galileo(), &m);
	assert_int_equal(m.fate, QLOAD_LOADS);
	expect_ext(&m, 0x3FF000, 1, QLOAD_FILE, 0, 0);
	expect_ext(&m, 0x400000, 1, QLOAD_COPY, 0x1000, 0x800);
	qload_map_free(&m);
	free(b);
}

/* galileo: tables Quest keeps for itself. */
static void test_galileo_foreign_tables(void **state)
{
	static const struct {
		uint32_t vaddr;
		const char *what;
	} cases[] = {
	    {0x60001000, "maps the file image at 0x60000000"},
	    {0x9EC00000, "shared-memory pool"},
	    {0xFD400000, "DMA pool, heap or kernel"},
	    {0xFFC00000, "DMA pool, heap or kernel"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct seg s[] = {{1, 0, cases[i].vaddr, 0x100, 0x2000}};
		uint8_t *b = image(0x100, s, 1, cases[i].vaddr);
		struct qload_map m;
		build(b, 0x100, galileo(), &m);
		assert_int_equal(m.fate, QLOAD_CORRUPT);
		assert_non_null(strstr(m.why.msg, cases[i].what));
		qload_map_free(&m);
		free(b);
	}
}

/* master's VGA window and stack replace the program's pages. */
static void test_master_overlays(void **state)
{
	struct seg s[] = {{1, 0, 0x1000, 0x100, 0x100},
			  {1, 0x100, 0x1FF100, 0, 0x1F0000}};
	uint8_t *b = image(0x100, s, 2, 0x1000);
	struct qload_map m;

	(void)state;
	build(b, 0x100, master(), &m);
	assert_int_equal(m.fate, QLOAD_LOADS);
	expect_ext(&m, 0x1FF000, 1, QLOAD_COPY, 0, 0x100);
	expect_ext(&m, 0x200000, 16, QLOAD_VGA, 0, 0);
	expect_ext(&m, 0x210000, 0x1E0, QLOAD_ZERO, 0, 0);
	expect_ext(&m, 0x3F0000, 16, QLOAD_STACK, 0, 0);
	qload_map_free(&m);
	free(b);
}

static void test_file_bytes_past_end(void **state)
{
	struct seg s[] = {{1, 0, 0x1000, 0x3000, 0x3000}};
	uint8_t *b = image(0x1000, s, 1, 0x1000);
	struct qload_map m;

	(void)state;
	build(b, 0x1000, master(), &m);
	assert_int_equal(m.fate, QLOAD_CORRUPT);
	assert_int_equal(m.why.code, QE_ELF_SEGFILE);
	assert_non_null(strstr(m.why.msg, "past the end of the 4096-byte"));
	qload_map_free(&m);
	free(b);
}

/* off + filesz wrapping 32 bits gives a negative count: no file page. */
static void test_negative_count(void **state)
{
	struct seg s[] = {{1, 0, 0x1000, 0x100, 0x100},
			  {1, 0x2000, 0x5000, 0xFFFFF000u, 0xFFFFF000u}};
	uint8_t *b = image(0x100, s, 2, 0x1000);
	struct qload_map m;

	(void)state;
	build(b, 0x100, master(), &m);
	assert_int_equal(m.fate, QLOAD_LOADS);
	assert_null(qload_find(&m, 0x5000));
	qload_map_free(&m);
	free(b);
}

static void test_headers_outside(void **state)
{
	struct seg s[] = {{1, 0, 0x1000, 0x40, 0x40}};
	uint8_t *b = image(0x60, s, 1, 0x1000);
	struct qload_map m;
	struct qerror e;

	(void)state;
	assert_int_equal(qload_build(b, 0x60, master(), &m, &e), QE_OK);
	qload_map_free(&m);
	/* the only header ends at byte 84 */
	assert_int_equal(qload_build(b, 83, master(), &m, &e), QE_ELF_PHDR);
	assert_non_null(strstr(e.msg, "past the end of the 83-byte file"));
	assert_int_equal(qload_build(b, 20, master(), &m, &e), QE_ELF_MAGIC);
	b[4] = 2;
	assert_int_equal(qload_build(b, 0x60, master(), &m, &e), QE_ELF_CLASS);
	free(b);
}

/* Thousands of headers in descending order and one header read 65535 times
 * (e_phentsize 0): both finish, with a map bounded by the headers. */
static void test_many_headers(void **state)
{
	enum { N = 8000 };
	struct seg *s = calloc(N, sizeof *s);
	size_t len = 52 + 32 * (size_t)N;
	uint8_t *b;
	struct qload_map m;

	(void)state;
	for (unsigned i = 0; i < N; i++)
		s[i] =
		    (struct seg){1, 0, 0x10000000u - 0x2000u * i, 0x10, 0x10};
	b = image(len, s, N, 0x1000);
	build(b, len, galileo(), &m);
	assert_int_equal(m.fate, QLOAD_LOADS);
	assert_int_equal(m.nextents, N + 1);
	assert_int_equal(qload_find(&m, 0x10000000u - 0x2000u * 77)->phdr, 77);
	qload_map_free(&m);
	b[42] = 0;
	b[44] = 0xff;
	b[45] = 0xff;
	build(b, len, galileo(), &m);
	assert_int_equal(m.nextents, 2);
	qload_map_free(&m);
	free(b);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_profiles),
	    cmocka_unit_test(test_small),
	    cmocka_unit_test(test_wrap),
	    cmocka_unit_test(test_page_edge),
	    cmocka_unit_test(test_misaligned_panics),
	    cmocka_unit_test(test_bss_pages),
	    cmocka_unit_test(test_later_header_wins),
	    cmocka_unit_test(test_four_mib),
	    cmocka_unit_test(test_galileo_foreign_tables),
	    cmocka_unit_test(test_master_overlays),
	    cmocka_unit_test(test_file_bytes_past_end),
	    cmocka_unit_test(test_negative_count),
	    cmocka_unit_test(test_headers_outside),
	    cmocka_unit_test(test_many_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
