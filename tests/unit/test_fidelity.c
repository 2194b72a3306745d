/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fidelity matrix: programs built the way Quest developers build theirs
 * (tests/quest/mkprogs.sh, GNU as/ld and freestanding i386 C), each with
 * the verdict Quest's loaders give it, worked out by hand from _exec and
 * written in the table below. Every accepted program is also loaded page by
 * page against the memory its ELF file asks for, read by a reader of its own
 * here, not by the model's comparison (core/elfmodel.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfcheck.h"
#include "qload.h"

#define PAGE 4096u

struct row {
	const char *name;
	const char *master, *galileo, *both; /* qerr_name of the verdict */
	const char *master_open; /* master, window opened to [0x1000, 4 GiB) */
	const char *why;	 /* how Quest's _exec treats it */
};

static const struct row rows[] = {
    {"hello", "ok", "ok", "ok", "ok",
     "text shares the headers' page; the later copy keeps both"},
    {"only-bss", "elf-corrupt", "elf-corrupt", "elf-corrupt", "elf-corrupt",
     "ld 2.40 gives the .bss PT_LOAD p_offset 0, p_filesz 0: page count "
     "0x100000"},
    {"big-bss", "elf-corrupt", "elf-corrupt", "elf-corrupt", "elf-corrupt",
     "3 MB .bss, no .data: the same wrap"},
    {"big-bss-data", "elf-misload", "ok", "elf-misload", "elf-misload",
     "master maps VGA memory over 0x200000-0x210000 of the .bss"},
    {"bss-own-segment", "elf-misload", "elf-misload", "elf-misload",
     "elf-misload",
     "the .bss segment's p_offset 0x20 copies 0x20 bytes of file page 0 over "
     "the .data page"},
    {"bss-own-segment-small", "elf-misload", "elf-misload", "elf-misload",
     "elf-misload", "the same with a 4-byte .bss"},
    {"four-loads", "ok", "ok", "ok", "ok", "four PT_LOADs on their own pages"},
    {"separate-code", "ok", "ok", "ok", "ok",
     "-z separate-code: R, R+X, R, RW segments"},
    {"noseparate-code", "ok", "ok", "ok", "ok",
     "-z noseparate-code: data's copy carries the text page's bytes"},
    {"stripped", "ok", "ok", "ok", "ok", "no section headers"},
    {"cf-protection", "ok", "ok", "ok", "ok",
     "PT_NOTE and PT_GNU_PROPERTY are not PT_LOAD: Quest skips them"},
    {"at-0x8048000", "elf-window", "ok", "elf-window", "elf-corrupt",
     "master's one page table ends at 4 MiB"},
    {"at-0x400000", "elf-window", "ok", "elf-window", "elf-corrupt",
     "the same, just above 4 MiB"},
    {"cross-0x3f0000", "elf-window", "ok", "elf-window", "elf-misload",
     "master's stack replaces 0x3F0000-0x400000"},
    {"rw-entry", "ok", "ok", "ok", "ok",
     "entry in a writable segment: Quest ignores flags"},
    {"page-edge-data", "elf-misload", "elf-misload", "elf-misload",
     "elf-misload", "file bytes end on a page edge: a copy of 0 bytes"},
    {"page-edge-text", "elf-misload", "elf-misload", "elf-misload",
     "elf-misload", "code padded to its page end: the same"},
};

#define NROWS (sizeof rows / sizeof rows[0])

static char dir[64];

struct image {
	uint8_t *b;
	size_t len;
};

static struct image load(const char *name)
{
	char path[256];
	struct image im = {NULL, 0};
	FILE *f;
	long n;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("%s was not built", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	im.b = malloc((size_t)n);
	assert_non_null(im.b);
	assert_int_equal(fread(im.b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	im.len = (size_t)n;
	return im;
}

static int group_setup(void **state)
{
	const char *top = getenv("TOP");
	char cmd[512];

	(void)state;
	snprintf(dir, sizeof dir, "/tmp/questfs-fidelity.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(cmd, sizeof cmd, "sh '%s/tests/quest/mkprogs.sh' '%s' >&2",
		 top ? top : ".", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* --- the test's own reader of what the ELF file asks for --- */

static uint32_t rd32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

struct want_page {
	uint32_t addr;
	uint8_t bytes[PAGE];
	uint8_t asked[PAGE];
};

/* Every page a PT_LOAD touches, with the bytes it asks for there: file
 * bytes up to p_filesz, zeros up to p_memsz. */
static struct want_page *wanted(const struct image *im, size_t *n)
{
	uint32_t phoff = rd32(im->b + 28);
	unsigned phnum = im->b[44] | im->b[45] << 8;
	struct want_page *w = NULL;

	*n = 0;
	for (unsigned i = 0; i < phnum; i++) {
		const uint8_t *ph = im->b + phoff + 32 * i;
		uint32_t off = rd32(ph + 4), va = rd32(ph + 8);
		uint32_t fsz = rd32(ph + 16), msz = rd32(ph + 20);
		if (rd32(ph) != 1)
			continue;
		for (uint32_t k = 0; k < msz; k++) {
			uint32_t a = va + k, pg = a & ~(PAGE - 1);
			size_t j = 0;
			while (j < *n && w[j].addr != pg)
				j++;
			if (j == *n) {
				w = realloc(w, (*n + 1) * sizeof *w);
				assert_non_null(w);
				memset(&w[j], 0, sizeof w[j]);
				w[j].addr = pg;
				++*n;
			}
			assert_true(k >= fsz || off + k < im->len);
			w[j].bytes[a - pg] = k < fsz ? im->b[off + k] : 0;
			w[j].asked[a - pg] = 1;
		}
	}
	return w;
}

/* The model's map, page by page, against what the file asks for. */
static void compare_pages(const struct image *im, const struct qload_profile *p,
			  const char *name)
{
	struct qload_map m;
	struct qerror e;
	size_t n;
	struct want_page *w = wanted(im, &n);
	uint32_t entry = rd32(im->b + 24);
	int entry_ok = 0;

	assert_int_equal(qload_build(im->b, im->len, p, &m, &e), QE_OK);
	assert_int_equal(m.fate, QLOAD_LOADS);
	for (size_t j = 0; j < n; j++) {
		const struct qload_extent *x = qload_find(&m, w[j].addr);
		uint8_t got[PAGE];
		if (!x || x->src == QLOAD_STACK || x->src == QLOAD_VGA)
			fail_msg("%s (%s): page 0x%x is not the program's",
				 name, p->name, w[j].addr);
		qload_page_bytes(x, w[j].addr, im->b, im->len, got);
		for (unsigned k = 0; k < PAGE; k++)
			if (w[j].asked[k] && got[k] != w[j].bytes[k])
				fail_msg(
				    "%s (%s): 0x%x is 0x%02x, the file asks "
				    "for 0x%02x",
				    name, p->name, w[j].addr + k, got[k],
				    w[j].bytes[k]);
		if (entry - w[j].addr < PAGE && w[j].asked[entry - w[j].addr])
			entry_ok = 1;
	}
	if (!entry_ok)
		fail_msg("%s: entry 0x%x is in no PT_LOAD", name, entry);
	printf("    %-22s %-7s %zu pages as the file asks\n", name, p->name, n);
	qload_map_free(&m);
	free(w);
}

static const char *verdict(const struct image *im, unsigned mask, int open,
			   struct qerror *e)
{
	struct qelf_profile p;

	qelf_profile_default(&p);
	qelf_profile_quest(&p, mask);
	if (open)
		p.user_limit = UINT32_MAX;
	return qerr_name(qelf_check(im->b, im->len, &p, QELF_WHOLE, NULL, e));
}

static void test_row(void **state)
{
	const struct row *r = *state;
	struct image im = load(r->name);
	const struct {
		const char *col, *want;
		unsigned mask;
		int open;
	} cols[] = {
	    {"master", r->master, QLOAD_MASK_MASTER, 0},
	    {"galileo", r->galileo, QLOAD_MASK_GALILEO, 0},
	    {"both", r->both, QLOAD_MASK_BOTH, 0},
	    {"master, open window", r->master_open, QLOAD_MASK_MASTER, 1},
	};

	for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
		struct qerror e = {QE_OK, ""};
		const char *got = verdict(&im, cols[c].mask, cols[c].open, &e);
		printf("    %-22s %-20s %s%s%s\n", r->name, cols[c].col, got,
		       e.msg[0] ? ": " : "", e.msg);
		if (strcmp(got, cols[c].want) != 0)
			fail_msg("%s (%s): got %s (%s), the table says %s: %s",
				 r->name, cols[c].col, got, e.msg, cols[c].want,
				 r->why);
	}
	if (strcmp(r->master, "ok") == 0)
		compare_pages(&im, qload_profile(QLOAD_MASTER), r->name);
	if (strcmp(r->galileo, "ok") == 0)
		compare_pages(&im, qload_profile(QLOAD_GALILEO), r->name);
	free(im.b);
}

int main(void)
{
	struct CMUnitTest tests[NROWS];

	for (size_t i = 0; i < NROWS; i++)
		tests[i] = (struct CMUnitTest){rows[i].name, test_row, NULL,
					       NULL, (void *)&rows[i]};
	return _cmocka_run_group_tests("fidelity", tests, NROWS, group_setup,
				       group_teardown);
}
