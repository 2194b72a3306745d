/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the Quest loader profile (core/elfcheck.c): one case per
 * fixture of tests/fixtures/mkelf.c, the prefix mode, custom windows, and
 * properties checked over mutated images. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "elfcheck.h"
#include "qload.h"

#define MKELF_NO_MAIN
#include "../fixtures/mkelf.c"

/* Every fixture, built once by the group setup. */
static struct mkelf_img built[MKELF_NFIXTURES];

static const struct mkelf_img *fixture(const char *name)
{
	for (size_t i = 0; i < MKELF_NFIXTURES; i++)
		if (strcmp(mkelf_fixtures[i].name, name) == 0)
			return &built[i];
	fail_msg("no fixture %s", name);
	return NULL;
}

static int group_setup(void **state)
{
	(void)state;
	for (size_t i = 0; i < MKELF_NFIXTURES; i++) {
		built[i] = mkelf_fixtures[i].build();
		if (!built[i].b)
			return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < MKELF_NFIXTURES; i++)
		free(built[i].b);
	return 0;
}

static enum qerr check(const uint8_t *b, size_t len, enum qelf_mode mode,
		       struct qerror *err)
{
	struct qelf_profile p;
	qelf_profile_default(&p);
	return qelf_check(b, len, &p, mode, NULL, err);
}

static void assert_refused(enum qerr got, enum qerr want,
			   const struct qerror *err, const char *sub)
{
	if (got != want || !strstr(err->msg, sub))
		fail_msg("got %s \"%s\", want %s with \"%s\"", qerr_name(got),
			 err->msg, qerr_name(want), sub);
}

struct fixture_case {
	const char *name;
	enum qerr code;
	const char *sub; /* a piece of the message */
};

static const struct fixture_case cases[] = {
    {"valid", QE_OK, ""},
    {"valid-two-loads", QE_OK, ""},
    {"valid-stripped", QE_OK, ""},
    {"largest", QE_OK, ""},
    {"short", QE_ELF_SHORT, "file is 40 bytes, shorter than the 52-byte"},
    {"bad-magic", QE_ELF_MAGIC,
     "not an ELF file: first bytes are 23 21 2f 62, not 7f 45 4c 46"},
    {"class64", QE_ELF_CLASS, "64-bit (ELFCLASS64); Quest runs 32-bit"},
    {"big-endian", QE_ELF_DATA, "big-endian (ELFDATA2MSB)"},
    {"bad-version", QE_ELF_VERSION,
     "ELF version (e_version) is 0; Quest needs EV_CURRENT (1)"},
    {"bad-ehsize", QE_ELF_EHSIZE, "(e_ehsize) is 64; Quest needs 52"},
    {"x86-64", QE_ELF_MACHINE,
     "ELF machine is x86-64 (62); Quest runs i386 (3) programs"},
    {"arm", QE_ELF_MACHINE, "ELF machine is ARM (40)"},
    {"shared-object", QE_ELF_TYPE,
     "ELF type is a shared object (ET_DYN); Quest runs static executables "
     "(ET_EXEC)"},
    {"relocatable", QE_ELF_TYPE, "a relocatable object (ET_REL)"},
    {"core", QE_ELF_TYPE, "a core file (ET_CORE)"},
    {"interp", QE_ELF_INTERP,
     "program asks for an interpreter (PT_INTERP: /lib/ld-linux.so.2): a "
     "dynamically linked Linux program cannot run on Quest"},
    {"bad-phentsize", QE_ELF_PHDR, "(e_phentsize) is 56; Quest needs 32"},
    {"phdr-outside", QE_ELF_PHDR,
     "ends at byte 112, past the end of the 93-byte file"},
    {"no-load", QE_ELF_NOLOAD, "no loadable segment"},
    {"filesz-gt-memsz", QE_ELF_SEGSIZE,
     "PT_LOAD 0: file size 0x5d is larger than its memory size 0x50"},
    {"seg-outside-file", QE_ELF_SEGFILE,
     "PT_LOAD 0: file bytes 0x0-0x200 lie outside the 93-byte file"},
    {"misaligned", QE_ELF_ALIGN,
     "PT_LOAD 0: file offset 0x0 and address 0x1010 differ modulo 4096 "
     "(0x0 vs 0x10); Quest's loader would panic"},
    {"wrap", QE_ELF_WRAP, "wraps around the 32-bit address space"},
    {"above-window", QE_ELF_WINDOW,
     "PT_LOAD 0 at 0x400000-0x40005d is outside Quest's user window "
     "[0x1000, 0x3f0000)"},
    {"below-window", QE_ELF_WINDOW, "PT_LOAD 0 at 0x0-0x5d is outside"},
    {"overlap", QE_ELF_OVERLAP,
     "PT_LOAD 0 [0x1000, 0x1100) and PT_LOAD 1 [0x1080, 0x10c0) overlap"},
    {"entry-outside", QE_ELF_ENTRY,
     "entry point 0x5000 is not inside any PT_LOAD"},
    {"entry-in-data", QE_OK, ""},
    {"too-big", QE_ELF_TOO_BIG,
     "program is 393129 bytes; the largest that fits the 393216-byte slot "
     "is 393128"},
};

#define NCASES (sizeof cases / sizeof cases[0])

/* Each fixture trips exactly its own rule, and mkelf's INDEX agrees. */
static void test_fixture(void **state)
{
	const struct fixture_case *fc = *state;
	const struct mkelf_img *im = fixture(fc->name);
	struct qerror err = {QE_OK, "unset"};
	size_t i = (size_t)(im - built);

	assert_string_equal(mkelf_fixtures[i].expect, qerr_name(fc->code));
	assert_refused(check(im->b, im->len, QELF_WHOLE, &err), fc->code, &err,
		       fc->sub);
	assert_int_equal(err.code, fc->code);
	if (fc->code == QE_OK)
		assert_string_equal(err.msg, "");
	else
		assert_true(qerr_is_elf(err.code));
}

static void test_every_fixture_has_a_case(void **state)
{
	(void)state;
	assert_int_equal(NCASES, MKELF_NFIXTURES);
	for (size_t i = 0; i < MKELF_NFIXTURES; i++) {
		size_t j = 0;
		while (j < NCASES &&
		       strcmp(cases[j].name, mkelf_fixtures[i].name) != 0)
			j++;
		assert_true(j < NCASES);
	}
}

static void test_info(void **state)
{
	const struct mkelf_img *im = fixture("valid-two-loads");
	struct qelf_info info;
	struct qerror err;

	(void)state;
	assert_int_equal(
	    qelf_check(im->b, im->len, NULL, QELF_WHOLE, &info, &err), QE_OK);
	assert_int_equal(info.entry, 0x1074);
	assert_int_equal(info.nloads, 2);
	assert_int_equal(info.lo, 0x1000);
	assert_int_equal(info.hi, 0x10c0);
	assert_int_equal(info.need, 0x90);
}

static void test_section_table_ignored(void **state)
{
	const struct mkelf_img *v = fixture("valid");
	uint8_t b[512];
	struct mkelf_img im = {b, v->len};

	(void)state;
	memcpy(b, v->b, v->len);
	/* Section headers pointing past the end, as after a careless strip. */
	put32(&im, EH(e_shoff), 0x7fff0000);
	put16(&im, EH(e_shnum), 700);
	assert_int_equal(check(b, im.len, QELF_WHOLE, NULL), QE_OK);
	/* Garbage in the section header table and its fields. */
	memset(b + 112, 0xa5, v->len - 112);
	put16(&im, EH(e_shentsize), 3);
	put16(&im, EH(e_shnum), 0);
	put16(&im, EH(e_shstrndx), SHN_XINDEX);
	assert_int_equal(check(b, im.len, QELF_WHOLE, NULL), QE_OK);
}

static void test_empty_and_null(void **state)
{
	struct qerror err;

	(void)state;
	assert_refused(check(NULL, 0, QELF_WHOLE, &err), QE_ELF_SHORT, &err,
		       "file is empty");
	assert_int_equal(check(NULL, 0, QELF_PREFIX, &err), QE_OK);
	assert_int_equal(qelf_check(NULL, 5, NULL, QELF_WHOLE, NULL, &err),
			 QE_USAGE);
	/* NULL profile, info and err are allowed. */
	assert_int_equal(qelf_check(fixture("valid")->b, fixture("valid")->len,
				    NULL, QELF_WHOLE, NULL, NULL),
			 QE_OK);
}

/* A copy of valid-stripped with one field changed, judged whole. */
static enum qerr check_patched(size_t off, unsigned width, uint32_t v,
			       struct qerror *err)
{
	struct mkelf_img im = patched(off, width, v);
	enum qerr rc;

	assert_non_null(im.b);
	rc = check(im.b, im.len, QELF_WHOLE, err);
	free(im.b);
	return rc;
}

static void test_header_variants(void **state)
{
	struct qerror err;

	(void)state;
	assert_refused(check_patched(EI_VERSION, 1, 2, &err), QE_ELF_VERSION,
		       &err, "(EI_VERSION) is 2; Quest needs EV_CURRENT (1)");
	assert_refused(check_patched(EI_CLASS, 1, 0, &err), QE_ELF_CLASS, &err,
		       "ELF class is invalid (0)");
	assert_refused(check_patched(EI_DATA, 1, 7, &err), QE_ELF_DATA, &err,
		       "ELF data encoding is invalid (7)");
	assert_refused(check_patched(EH(e_type), 2, 0x1234, &err), QE_ELF_TYPE,
		       &err, "ELF type is unknown (4660)");
	assert_refused(check_patched(EH(e_type), 2, ET_NONE, &err), QE_ELF_TYPE,
		       &err, "no file type (ET_NONE)");
	assert_refused(check_patched(EH(e_machine), 2, 4242, &err),
		       QE_ELF_MACHINE, &err, "ELF machine is unknown (4242)");
	assert_refused(check_patched(EH(e_phnum), 2, PN_XNUM, &err),
		       QE_ELF_PHDR, &err, "PN_XNUM");
	assert_refused(check_patched(EH(e_phoff), 4, 0xfffffff0u, &err),
		       QE_ELF_PHDR, &err, "wraps around");
	/* No program headers at all: nothing to load. */
	assert_refused(check_patched(EH(e_phnum), 2, 0, &err), QE_ELF_NOLOAD,
		       &err, "no loadable segment");
	/* No file bytes at offset 0: Quest's page count wraps (the rule that
	 * replaced "a segment of no file bytes is fine"). */
	assert_refused(
	    check_patched(PH(0, p_filesz), 4, 0, &err), QE_ELF_CORRUPT, &err,
	    "PT_LOAD 0 has no file bytes at offset 0: Quest's loader "
	    "computes 1048576 pages for it and writes past its page "
	    "table (master)");
	{
		struct mkelf_img im = patched(PH(0, p_filesz), 4, 0);
		put32(&im, PH(0, p_memsz), 0);
		assert_refused(check(im.b, im.len, QELF_WHOLE, &err),
			       QE_ELF_NOLOAD, &err, "p_memsz > 0");
		free(im.b);
	}
	/* A PT_INTERP whose path lies outside the file is still refused. */
	{
		struct mkelf_img im = fx_interp();
		put32(&im, PH(0, p_offset), 0x10000);
		assert_refused(check(im.b, im.len, QELF_WHOLE, &err),
			       QE_ELF_INTERP, &err,
			       "interpreter (PT_INTERP): a dynamically");
		free(im.b);
	}
}

/* An image with n R+X PT_LOADs {offset, vaddr, filesz, memsz}. */
static struct mkelf_img loads(const uint32_t (*seg)[4], unsigned n,
			      uint32_t entry)
{
	size_t len = MKELF_EHDR + n * MKELF_PHDR;
	struct mkelf_img im;

	for (unsigned i = 0; i < n; i++)
		if (seg[i][0] + seg[i][2] > len)
			len = seg[i][0] + seg[i][2];
	im = img_new(len);
	assert_non_null(im.b);
	eh_init(&im, n, entry);
	for (unsigned i = 0; i < n; i++)
		ph_set(&im, i, PT_LOAD, seg[i][0], seg[i][1], seg[i][2],
		       seg[i][3], PF_R | PF_X);
	return im;
}

static void test_overlap(void **state)
{
	/* Listed out of address order; load 3 lies inside load 0. */
	static const uint32_t bad[][4] = {{0, 0x1000, 0x100, 0x3000},
					  {0, 0x5000, 0x100, 0x100},
					  {0x100, 0x4100, 0x10, 0x10},
					  {0, 0x2000, 0x100, 0x100}};
	/* Exact byte ranges touching, in one page and across pages. */
	static const uint32_t good[][4] = {{0, 0x1000, 0x100, 0x180},
					   {0x180, 0x1180, 0x10, 0xe80},
					   {0, 0x2000, 0x100, 0x100},
					   {0x100, 0x3100, 0, 0}};
	struct qerror err;
	struct mkelf_img im = loads(bad, 4, 0x1000);

	(void)state;
	assert_refused(check(im.b, im.len, QELF_WHOLE, &err), QE_ELF_OVERLAP,
		       &err,
		       "PT_LOAD 0 [0x1000, 0x4000) and PT_LOAD 3 [0x2000, "
		       "0x2100) overlap");
	free(im.b);
	im = loads(good, 4, 0x1000);
	assert_refused(check(im.b, im.len, QELF_WHOLE, &err), QE_OK, &err, "");
	free(im.b);
}

/* At FLUSH the model judges what the headers alone decide while file bytes
 * are missing, and everything once they are all there. */
static void test_prefix_model(void **state)
{
	/* text, then a .bss-only PT_LOAD at offset 0 (Quest's count wraps),
	 * then data whose bytes end on a page edge */
	static const uint32_t wrap[][4] = {{0, 0x1000, 0x100, 0x100},
					   {0, 0x3000, 0, 0x10},
					   {0x1000, 0x5000, 0x1000, 0x1000}};
	static const uint32_t edge[][4] = {{0, 0x1000, 0x100, 0x100},
					   {0x1000, 0x5000, 0x1000, 0x1000}};
	struct mkelf_img im = loads(wrap, 3, 0x1000);
	struct qerror err;

	(void)state;
	put_bytes(&im, MKELF_EHDR + 3 * MKELF_PHDR, mkelf_code,
		  sizeof mkelf_code);
	assert_refused(check(im.b, 0x200, QELF_PREFIX, &err), QE_ELF_CORRUPT,
		       &err, "PT_LOAD 1 has no file bytes at offset 0");
	free(im.b);
	im = loads(edge, 2, 0x1000);
	put_bytes(&im, MKELF_EHDR + 2 * MKELF_PHDR, mkelf_code,
		  sizeof mkelf_code);
	memset(im.b + 0x1000, 0x5a, 0x1000);
	/* the data page's bytes are not all there: it may still come right */
	assert_refused(check(im.b, 0x1800, QELF_PREFIX, &err), QE_OK, &err, "");
	/* they are: Quest loads that page as zeros */
	assert_refused(check(im.b, im.len, QELF_PREFIX, &err), QE_ELF_MISLOAD,
		       &err, "PT_LOAD 1: its file bytes end on a page edge");
	assert_refused(check(im.b, im.len, QELF_WHOLE, &err), QE_ELF_MISLOAD,
		       &err, "copies 0 bytes of its last page");
	/* an entry in the zero-filled part: the program would start on zeros */
	{
		struct mkelf_img b = loads(edge, 2, 0x5900);
		memset(b.b + 0x1000, 0, 0x1000);
		put32(&b, PH(1, p_filesz), 0x800);
		assert_refused(check(b.b, b.len, QELF_WHOLE, &err),
			       QE_ELF_ENTRY, &err,
			       "entry point 0x5900 is in the zero-filled part "
			       "of PT_LOAD 1 (past its file bytes)");
		free(b.b);
	}
	/* zeros there are what Quest gives: accepted */
	memset(im.b + 0x1000, 0, 0x1000);
	assert_refused(check(im.b, im.len, QELF_WHOLE, &err), QE_OK, &err, "");
	free(im.b);
}

static void test_window(void **state)
{
	const struct mkelf_img *v = fixture("valid-stripped");
	const struct mkelf_img *low = fixture("below-window");
	struct qelf_profile p;
	struct qerror err;

	(void)state;
	qelf_profile_default(&p);
	assert_int_equal(p.user_base, 0x1000);
	assert_int_equal(p.user_limit, 0x3f0000);
	assert_int_equal(p.max_size, 393128);
	p.user_base = 0x2000;
	assert_refused(qelf_check(v->b, v->len, &p, QELF_WHOLE, NULL, &err),
		       QE_ELF_WINDOW, &err, "user window [0x2000, 0x3f0000)");
	p.user_base = 0x1000;
	p.user_limit = 0x105c; /* one byte short of the segment */
	assert_refused(qelf_check(v->b, v->len, &p, QELF_WHOLE, NULL, &err),
		       QE_ELF_WINDOW, &err, "0x1000-0x105d is outside");
	p.user_limit = 0x105d;
	assert_int_equal(qelf_check(v->b, v->len, &p, QELF_WHOLE, NULL, &err),
			 QE_OK);
	p.user_base = 0;
	assert_int_equal(
	    qelf_check(low->b, low->len, &p, QELF_WHOLE, NULL, &err), QE_OK);
	/* Prefix mode applies the window too. */
	p.user_base = 0x2000;
	assert_int_equal(qelf_check(v->b, 84, &p, QELF_PREFIX, NULL, &err),
			 QE_ELF_WINDOW);
}

static void test_max_size(void **state)
{
	const struct mkelf_img *big = fixture("too-big");
	struct qelf_profile p;
	struct qerror err;
	struct qelf_info info;

	(void)state;
	qelf_profile_default(&p);
	/* Judged as soon as the extra byte arrives, and not before. */
	assert_int_equal(
	    qelf_check(big->b, 393128, &p, QELF_PREFIX, &info, &err),
	    QE_ELF_TOO_BIG);
	assert_refused(qelf_check(big->b, 393129, &p, QELF_PREFIX, NULL, &err),
		       QE_ELF_TOO_BIG, &err, "program is 393129 bytes");
	/* Its headers already ask for more than can ever fit. */
	assert_refused(qelf_check(big->b, 100, &p, QELF_PREFIX, &info, &err),
		       QE_ELF_TOO_BIG, &err,
		       "PT_LOAD 0 ends at byte 393129 of the file; the largest "
		       "program that fits the 393216-byte slot is 393128");
	assert_int_equal(info.need, 393129);
	p.max_size = 0; /* no limit */
	assert_int_equal(
	    qelf_check(big->b, big->len, &p, QELF_WHOLE, NULL, &err), QE_OK);
	assert_int_equal(qelf_check(big->b, 100, &p, QELF_PREFIX, &info, &err),
			 QE_OK);
	/* A program header table that ends past the limit. */
	qelf_profile_default(&p);
	{
		struct mkelf_img im = patched(EH(e_phoff), 4, 400000);
		assert_refused(
		    qelf_check(im.b, im.len, &p, QELF_PREFIX, NULL, &err),
		    QE_ELF_TOO_BIG, &err,
		    "the program header table ends at byte 400032");
		assert_refused(
		    qelf_check(im.b, im.len, &p, QELF_WHOLE, NULL, &err),
		    QE_ELF_PHDR, &err, "past the end");
		free(im.b);
	}
}

/* No prefix of a valid program may be refused, and need is the size. */
static void test_prefix_valid(void **state)
{
	static const char *const names[] = {"valid", "valid-two-loads",
					    "valid-stripped"};
	static const size_t need[] = {93, 0x90, 93}; /* ends of PT_LOADs */
	struct qelf_info info;
	struct qerror err;

	(void)state;
	for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
		const struct mkelf_img *im = fixture(names[n]);
		for (size_t len = 0; len <= im->len; len++) {
			enum qerr rc = qelf_check(im->b, len, NULL, QELF_PREFIX,
						  &info, &err);
			if (rc != QE_OK)
				fail_msg("%s[0..%zu): %s", names[n], len,
					 err.msg);
		}
		assert_int_equal(info.need, need[n]);
	}
	/* The largest program too, at a few lengths. */
	const struct mkelf_img *l = fixture("largest");
	for (size_t len = 0; len <= l->len; len += 4093)
		assert_int_equal(check(l->b, len, QELF_PREFIX, &err), QE_OK);
	assert_int_equal(check(l->b, l->len, QELF_PREFIX, &err), QE_OK);
}

static void test_prefix_machine(void **state)
{
	const struct mkelf_img *im = fixture("x86-64");
	struct qerror err;

	(void)state;
	for (size_t len = 0; len < 20; len++)
		assert_int_equal(check(im->b, len, QELF_PREFIX, &err), QE_OK);
	for (size_t len = 20; len <= im->len; len++)
		assert_refused(check(im->b, len, QELF_PREFIX, &err),
			       QE_ELF_MACHINE, &err, "x86-64 (62)");
}

static void test_prefix_script(void **state)
{
	static const uint8_t script[] = "#!/bin/sh\n";
	struct qerror err;

	(void)state;
	assert_refused(check(script, 1, QELF_PREFIX, &err), QE_ELF_MAGIC, &err,
		       "first bytes are 23, not 7f 45 4c 46");
	assert_refused(check(script, 2, QELF_PREFIX, &err), QE_ELF_MAGIC, &err,
		       "first bytes are 23 21, not");
	/* "\x7fEL" could still become an ELF file. */
	assert_int_equal(check((const uint8_t *)"\x7f"
						"EL",
			       3, QELF_PREFIX, &err),
			 QE_OK);
	assert_refused(check((const uint8_t *)"\x7f"
					      "ELX",
			     4, QELF_PREFIX, &err),
		       QE_ELF_MAGIC, &err, "7f 45 4c 58");
}

static void test_prefix_truncated(void **state)
{
	const struct mkelf_img *im = fixture("valid-stripped");
	struct qelf_info info;
	struct qerror err;

	(void)state;
	assert_int_equal(qelf_check(im->b, 60, NULL, QELF_PREFIX, &info, &err),
			 QE_OK);
	assert_int_equal(info.need, 84);
	assert_refused(check(im->b, 60, QELF_WHOLE, &err), QE_ELF_PHDR, &err,
		       "past the end of the 60-byte file");
	assert_int_equal(qelf_check(im->b, 90, NULL, QELF_PREFIX, &info, &err),
			 QE_OK);
	assert_int_equal(info.need, 93);
	assert_refused(check(im->b, 90, QELF_WHOLE, &err), QE_ELF_SEGFILE, &err,
		       "outside the 90-byte file");
	assert_refused(check(im->b, 30, QELF_WHOLE, &err), QE_ELF_SHORT, &err,
		       "file is 30 bytes");
	/* Faults in the headers show once the table is in. */
	const struct mkelf_img *w = fixture("above-window");
	assert_int_equal(check(w->b, 83, QELF_PREFIX, &err), QE_OK);
	assert_int_equal(check(w->b, 84, QELF_PREFIX, &err), QE_ELF_WINDOW);
}

static void test_machine_name(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(qelf_machine_name(3, b, sizeof b), "i386 (3)");
	assert_string_equal(qelf_machine_name(62, b, sizeof b), "x86-64 (62)");
	assert_string_equal(qelf_machine_name(40, b, sizeof b), "ARM (40)");
	assert_string_equal(qelf_machine_name(183, b, sizeof b),
			    "AArch64 (183)");
	assert_string_equal(qelf_machine_name(243, b, sizeof b),
			    "RISC-V (243)");
	assert_string_equal(qelf_machine_name(8, b, sizeof b), "MIPS (8)");
	assert_string_equal(qelf_machine_name(20, b, sizeof b), "PowerPC (20)");
	assert_string_equal(qelf_machine_name(0, b, sizeof b), "none (0)");
	assert_string_equal(qelf_machine_name(1234, b, sizeof b),
			    "unknown (1234)");
	assert_string_equal(qelf_machine_name(62, b, 4), "x86");
}

static void test_sized(void **state)
{
	struct mkelf_img a = mkelf_sized(5000, 1, 1);
	struct mkelf_img b = mkelf_sized(5000, 1, 2);
	struct mkelf_img m = mkelf_sized(MKELF_MIN_SIZE, 0, 0);

	(void)state;
	assert_non_null(a.b);
	assert_non_null(b.b);
	assert_non_null(m.b);
	assert_int_equal(a.len, 5000);
	assert_true(memcmp(a.b, b.b, a.len) != 0);
	assert_int_equal(check(a.b, a.len, QELF_WHOLE, NULL), QE_OK);
	assert_int_equal(check(b.b, b.len, QELF_WHOLE, NULL), QE_OK);
	assert_int_equal(check(m.b, m.len, QELF_WHOLE, NULL), QE_OK);
	free(a.b);
	free(b.b);
	free(m.b);
}

static uint32_t rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* Over mutated images: a prefix refused means the whole file is refused
 * and so is every longer prefix; a valid file has no refused prefix. */
static void test_prefix_properties(void **state)
{
	static const char *const seeds[] = {"valid", "valid-two-loads",
					    "interp", "overlap"};
	uint8_t b[512];
	uint32_t x = 12345;
	struct qerror err;

	(void)state;
	for (int iter = 0; iter < 1500; iter++) {
		const struct mkelf_img *im = fixture(seeds[iter % 4]);
		size_t len = im->len;
		memcpy(b, im->b, len);
		for (int k = 1 + rnd(&x) % 3; k > 0; k--) {
			size_t at = rnd(&x) % 116; /* headers, mostly */
			if (at >= len)
				at = rnd(&x) % len;
			b[at] = rnd(&x) & 1 ? (uint8_t)rnd(&x)
					    : b[at] ^ (1u << (rnd(&x) % 8));
		}
		if (rnd(&x) % 4 == 0)
			len = rnd(&x) % (len + 1);
		enum qerr whole = check(b, len, QELF_WHOLE, &err);
		enum qerr refused = QE_OK;
		for (size_t n = 0; n <= len; n++) {
			enum qerr rc = check(b, n, QELF_PREFIX, &err);
			if (refused != QE_OK && rc == QE_OK)
				fail_msg("iter %d: prefix %zu accepted after "
					 "a shorter one was refused (%s)",
					 iter, n, qerr_name(refused));
			if (rc != QE_OK && whole == QE_OK)
				fail_msg("iter %d: valid file, prefix %zu "
					 "refused: %s",
					 iter, n, err.msg);
			if (rc != QE_OK)
				refused = rc;
		}
		/* The whole file is one of its own prefixes. */
		if (whole == QE_OK)
			assert_int_equal(refused, QE_OK);
	}
}

static void *check_many(void *arg)
{
	const struct mkelf_img *im = arg;
	intptr_t bad = 0;

	for (int i = 0; i < 2000; i++) {
		struct qerror err;
		if (check(im->b, im->len, QELF_WHOLE, &err) != QE_OK)
			bad++;
	}
	return (void *)bad;
}

static void test_threads(void **state)
{
	pthread_t t[4];

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, check_many,
						(void *)fixture("valid")),
				 0);
	for (int i = 0; i < 4; i++) {
		void *bad;
		assert_int_equal(pthread_join(t[i], &bad), 0);
		assert_null(bad);
	}
}

/* The user window: the profile's unless given, given values read whole
 * (all of 0..0xffffffff), an empty or too large one refused by name. */
static void test_profile_window(void **state)
{
	struct qelf_profile p, q;
	struct qerror e;
	(void)state;

	qelf_profile_quest(&q, QLOAD_MASK_BOTH);
	assert_int_equal(qelf_profile_window(&p, QLOAD_MASK_BOTH, -1, -1, &e),
			 QE_OK);
	assert_int_equal(p.user_base, q.user_base);
	assert_int_equal(p.user_limit, q.user_limit);
	assert_int_equal(qelf_profile_window(&p, 0, 0x1000, 0xffffffffLL, &e),
			 QE_OK);
	assert_int_equal(p.user_base, 0x1000);
	assert_int_equal(p.user_limit, 0xffffffffu);
	assert_int_equal(
	    qelf_profile_window(&p, 0, 0xc0000000LL, 0xb0000000LL, &e),
	    QE_USAGE);
	assert_string_equal(e.msg, "user window [0xc0000000, 0xb0000000) is "
				   "empty or too large");
	assert_int_equal(qelf_profile_window(&p, 0, -1, 0x100000000LL, &e),
			 QE_USAGE);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
	    cmocka_unit_test(test_every_fixture_has_a_case),
	    cmocka_unit_test(test_info),
	    cmocka_unit_test(test_section_table_ignored),
	    cmocka_unit_test(test_empty_and_null),
	    cmocka_unit_test(test_header_variants),
	    cmocka_unit_test(test_overlap),
	    cmocka_unit_test(test_prefix_model),
	    cmocka_unit_test(test_window),
	    cmocka_unit_test(test_max_size),
	    cmocka_unit_test(test_prefix_valid),
	    cmocka_unit_test(test_prefix_machine),
	    cmocka_unit_test(test_prefix_script),
	    cmocka_unit_test(test_prefix_truncated),
	    cmocka_unit_test(test_machine_name),
	    cmocka_unit_test(test_sized),
	    cmocka_unit_test(test_prefix_properties),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_profile_window),
	};
	enum { NFIXED = sizeof fixed / sizeof fixed[0] };
	struct CMUnitTest tests[NFIXED + NCASES];
	char names[NCASES][48];

	memcpy(tests, fixed, sizeof fixed);
	for (size_t i = 0; i < NCASES; i++) {
		snprintf(names[i], sizeof names[i], "fixture %s",
			 cases[i].name);
		tests[NFIXED + i] = (struct CMUnitTest){
		    names[i], test_fixture, NULL, NULL, (void *)&cases[i]};
	}
	return _cmocka_run_group_tests("elfcheck", tests, NFIXED + NCASES,
				       group_setup, group_teardown);
}
