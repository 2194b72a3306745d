/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The DESIGN.md §3 wire format: golden bytes of the header, the size limit,
 * parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "packet.h"

static uint8_t *slot;

static int setup(void **state)
{
	(void)state;
	slot = malloc(QPKT_SLOT_DEFAULT);
	return slot ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(slot);
	return 0;
}

static const uint8_t elf4[4] = {0x7f, 'E', 'L', 'F'};

static void test_golden_no_args(void **state)
{
	(void)state;
	static const uint8_t golden[92] = {0, 0, 0, 0, /* argv_size */
					   /* argv[80]: all zero */
					   [84] = 4, 0, 0, 0, /* binary_size */
					   0x7f, 'E', 'L', 'F'};
	struct qargv a;
	size_t len;

	qargs_init(&a, NULL, NULL);
	assert_int_equal(
	    qpkt_build(slot, QPKT_SLOT_DEFAULT, &a, elf4, 4, &len, NULL),
	    QE_OK);
	assert_int_equal(len, 92);
	assert_memory_equal(slot, golden, sizeof golden);
}

/* argv_format=strings: each word NUL-terminated, back to back (the empty
 * word, which the command line cannot carry, goes through). */
static void test_golden_strings_with_argv0(void **state)
{
	(void)state;
	/* "hello_argvs\0" (12) + "hi\0" (3) + "\0" (an empty argument) = 16 */
	static const uint8_t golden[92] = {16,	 0,   0,	0,   'h', 'e',
					   'l',	 'l', 'o',	'_', 'a', 'r',
					   'g',	 'v', 's',	0,   'h', 'i',
					   0,	 0,   [84] = 4, 0,   0,	  0,
					   0x7f, 'E', 'L',	'F'};
	struct qargv a;
	size_t len;

	qargs_init(&a, "hello_argvs", NULL);
	a.format = QARGV_STRINGS;
	qargs_add(&a, "hi", NULL);
	qargs_add(&a, "", NULL);
	assert_int_equal(
	    qpkt_build(slot, QPKT_SLOT_DEFAULT, &a, elf4, 4, &len, NULL),
	    QE_OK);
	assert_int_equal(len, 92);
	assert_memory_equal(slot, golden, sizeof golden);
}

/* The default: Quest's command line, "NAME ARG1 ARG2" and its NUL. */
static void test_golden_line_with_argv0(void **state)
{
	(void)state;
	/* "prog lorem ipsum\0" = 17 */
	static const uint8_t golden[92] = {
	    17,	 0,	   0,	0,   'p', 'r',	'o', 'g', ' ', 'l',
	    'o', 'r',	   'e', 'm', ' ', 'i',	'p', 's', 'u', 'm',
	    0,	 [84] = 4, 0,	0,   0,	  0x7f, 'E', 'L', 'F'};
	struct qargv a;
	size_t len;

	qargs_init(&a, "prog", NULL);
	assert_int_equal(qargs_split("lorem ipsum", 11, &a, NULL, NULL), QE_OK);
	assert_int_equal(
	    qpkt_build(slot, QPKT_SLOT_DEFAULT, &a, elf4, 4, &len, NULL),
	    QE_OK);
	assert_int_equal(len, 92);
	assert_memory_equal(slot, golden, sizeof golden);
}

/* A word the command line cannot carry is refused, naming it. */
static void test_line_refuses_words(void **state)
{
	(void)state;
	struct qargv a;
	struct qerror e;
	size_t len = 0;

	qargs_init(&a, "prog", NULL);
	qargs_add(&a, "ok", NULL);
	qargs_add(&a, "", NULL);
	assert_int_equal(
	    qpkt_build(slot, QPKT_SLOT_DEFAULT, &a, elf4, 4, &len, &e),
	    QE_ARGS_WORD);
	assert_string_equal(e.msg, "argument 2 is empty: Quest's command line "
				   "joins words with single spaces and cannot "
				   "carry an empty one");
	qargs_init(&a, "prog", NULL);
	qargs_add(&a, "lorem ipsum", NULL);
	assert_int_equal(qargs_check_words(&a, &e), QE_ARGS_WORD);
	assert_string_equal(e.msg, "argument 1 \"lorem ipsum\" contains a "
				   "space: Quest splits its command line at "
				   "spaces and would not see it as one word");
	qargs_init(&a, "my\tprog", NULL);
	assert_int_equal(qargs_check_words(&a, &e), QE_ARGS_WORD);
	assert_non_null(strstr(e.msg, "argument 0 \"my?prog\" contains a tab"));
	a.format = QARGV_STRINGS;
	assert_int_equal(qargs_check_words(&a, &e), QE_OK);
	assert_int_equal(len, 0);
}

static void test_golden_strings_argv0_none(void **state)
{
	(void)state;
	static const uint8_t golden[92] = {
	    12,	 0,   0,   0, 'l',	'o', 'r', 'e', 'm',  0,	  'i', 'p',
	    's', 'u', 'm', 0, [84] = 4, 0,   0,	  0,   0x7f, 'E', 'L', 'F'};
	struct qargv a;
	size_t len;

	qargs_init(&a, NULL, NULL);
	a.format = QARGV_STRINGS;
	assert_int_equal(qargs_split("lorem ipsum", 11, &a, NULL, NULL), QE_OK);
	assert_int_equal(
	    qpkt_build(slot, QPKT_SLOT_DEFAULT, &a, elf4, 4, &len, NULL),
	    QE_OK);
	assert_memory_equal(slot, golden, sizeof golden);
}

static void test_largest_program(void **state)
{
	(void)state;
	size_t n = qpkt_max_binary(QPKT_SLOT_DEFAULT), len;
	uint8_t *elf = malloc(n);
	struct qargv a;

	assert_int_equal(n, 393128);
	for (size_t i = 0; i < n; i++)
		elf[i] = (uint8_t)(i * 7);
	qargs_init(&a, "big", NULL);
	assert_int_equal(
	    qpkt_build(slot, QPKT_SLOT_DEFAULT, &a, elf, n, &len, NULL), QE_OK);
	assert_int_equal(len, QPKT_SLOT_DEFAULT);
	/* binary_size 393128 = 0x0005FFA8, little-endian */
	static const uint8_t size_le[4] = {0xa8, 0xff, 0x05, 0x00};
	assert_memory_equal(slot + 84, size_le, 4);
	assert_memory_equal(slot + 88, elf, n);
	free(elf);
}

static void test_one_byte_over(void **state)
{
	(void)state;
	size_t n = qpkt_max_binary(QPKT_SLOT_DEFAULT) + 1, len = 0;
	uint8_t *elf = calloc(1, n);
	struct qargv a;
	struct qerror e;

	qargs_init(&a, NULL, NULL);
	assert_int_equal(
	    qpkt_build(slot, QPKT_SLOT_DEFAULT, &a, elf, n, &len, &e),
	    QE_PKT_TOO_BIG);
	assert_int_equal(len, 0);
	assert_string_equal(e.msg, "program is 393129 bytes; the largest that "
				   "fits the 393216-byte slot is 393128");
	free(elf);
}

static void test_parse_round_trip(void **state)
{
	(void)state;
	struct qargv a;
	struct qpkt_view v;
	size_t len;

	qargs_init(&a, "x", NULL);
	qargs_add(&a, "yz", NULL);
	/* the command line is one string on the wire */
	qpkt_build(slot, QPKT_SLOT_DEFAULT, &a, elf4, 4, &len, NULL);
	assert_int_equal(qpkt_parse(slot, len, &v, NULL), QE_OK);
	assert_int_equal(v.argv.size, 5);
	assert_int_equal(v.argv.argc, 1);
	assert_memory_equal(v.argv.buf, "x yz\0", 5);
	a.format = QARGV_STRINGS;
	qpkt_build(slot, QPKT_SLOT_DEFAULT, &a, elf4, 4, &len, NULL);
	assert_int_equal(qpkt_parse(slot, len, &v, NULL), QE_OK);
	assert_int_equal(v.argv.size, 5);
	assert_int_equal(v.argv.argc, 2);
	assert_memory_equal(v.argv.buf, "x\0yz\0", 5);
	assert_int_equal(v.binary_size, 4);
	assert_ptr_equal(v.binary, slot + 88);
}

static void expect_malformed(const uint8_t *p, size_t len, const char *msg)
{
	struct qpkt_view v;
	struct qerror e;

	assert_int_equal(qpkt_parse(p, len, &v, &e), QE_PKT_MALFORMED);
	assert_non_null(strstr(e.msg, msg));
}

static void test_parse_malformed(void **state)
{
	(void)state;
	uint8_t p[96] = {0};

	expect_malformed(p, 87, "shorter than its 88-byte header");
	p[84] = 8;
	expect_malformed(p, 92, "binary_size is 8 but the packet carries 4");
	p[84] = 4;
	p[0] = 81;
	expect_malformed(p, 92, "argv_size is 81");
	p[0] = 2;
	p[4] = 'a';
	p[5] = 'b';
	expect_malformed(p, 92, "not NUL-terminated");
	p[5] = 0;
	p[10] = 'z';
	expect_malformed(p, 92, "argv byte 6 beyond argv_size");
	p[10] = 0;
	struct qpkt_view v;
	assert_int_equal(qpkt_parse(p, 92, &v, NULL), QE_OK);
}

/* One range of slot sizes for every side: a slot must carry the header
 * and at least one byte of program. */
static void test_slot_bounds(void **state)
{
	struct qerror e;

	(void)state;
	assert_int_equal(qpkt_slot_check(QPKT_HDR_SIZE, &e), QE_USAGE);
	assert_non_null(strstr(e.msg, "89 to 1073741824"));
	assert_int_equal(qpkt_slot_check(QPKT_HDR_SIZE + 1, &e), QE_OK);
	assert_int_equal(qpkt_slot_check(QPKT_SLOT_DEFAULT, &e), QE_OK);
	assert_int_equal(qpkt_slot_check(1u << 30, &e), QE_OK);
	assert_int_equal(qpkt_slot_check((1u << 30) + 1, NULL), QE_USAGE);
	assert_int_equal(qpkt_slot_check(0, NULL), QE_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_golden_no_args),
	    cmocka_unit_test(test_golden_strings_with_argv0),
	    cmocka_unit_test(test_golden_line_with_argv0),
	    cmocka_unit_test(test_line_refuses_words),
	    cmocka_unit_test(test_golden_strings_argv0_none),
	    cmocka_unit_test(test_largest_program),
	    cmocka_unit_test(test_one_byte_over),
	    cmocka_unit_test(test_parse_round_trip),
	    cmocka_unit_test(test_parse_malformed),
	    cmocka_unit_test(test_slot_bounds),
	};
	return cmocka_run_group_tests_name("packet", tests, setup, teardown);
}
