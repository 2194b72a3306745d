/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The argument splitter and argv packing: quotes, escapes, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "args.h"

/* Split s after argv0 (NULL: none) and compare with the expected packed
 * bytes (words joined by NULs, each terminated). */
static void expect_split(const char *argv0, const char *s, const char *packed,
			 size_t packed_len, int argc)
{
	struct qargv a;
	struct qerror e;

	assert_int_equal(qargs_init(&a, argv0, &e), QE_OK);
	assert_int_equal(qargs_split(s, strlen(s), &a, NULL, &e), QE_OK);
	assert_int_equal(a.size, packed_len);
	assert_int_equal(a.argc, argc);
	assert_memory_equal(a.buf, packed, packed_len);
	for (size_t i = packed_len; i < QARGV_MAX; i++)
		assert_int_equal(a.buf[i], 0);
}

#define SPLIT(argv0, s, packed, argc)                                          \
	expect_split(argv0, s, packed, sizeof packed - 1, argc)

static void test_plain_words(void **state)
{
	(void)state;
	SPLIT(NULL, "lorem ipsum", "lorem\0ipsum\0", 2);
	SPLIT(NULL, "  lorem \t  ipsum\n", "lorem\0ipsum\0", 2);
	SPLIT("prog", "a", "prog\0a\0", 2);
}

static void test_empty(void **state)
{
	(void)state;
	SPLIT(NULL, "", "", 0);
	SPLIT(NULL, "   ", "", 0);
	SPLIT("hello", "", "hello\0", 1);
	SPLIT(NULL, "''", "\0", 1);
	SPLIT(NULL, "\"\" x", "\0x\0", 2);
}

static void test_quotes(void **state)
{
	(void)state;
	SPLIT(NULL, "'two words' \"and more\"", "two words\0and more\0", 2);
	SPLIT(NULL, "a'b c'd", "ab cd\0", 1);
	SPLIT(NULL, "'$HOME' \"$HOME\"", "$HOME\0$HOME\0", 2);
	SPLIT(NULL, "'a\\b'", "a\\b\0", 1);
	SPLIT(NULL, "\"it's\"", "it's\0", 1);
	SPLIT(NULL, "\"a\\\"b\\\\c\\d\"", "a\"b\\c\\d\0", 1);
}

static void test_backslash(void **state)
{
	(void)state;
	SPLIT(NULL, "a\\ b c", "a b\0c\0", 2);
	SPLIT(NULL, "\\'x\\'", "'x'\0", 1);
	SPLIT(NULL, "a\\\nb", "ab\0", 1);
	SPLIT(NULL, "*.c ~ $x", "*.c\0~\0$x\0", 3);
}

static void expect_error(const char *s, enum qerr code, const char *msg)
{
	struct qargv a;
	struct qerror e;

	qargs_init(&a, "keep", NULL);
	assert_int_equal(qargs_split(s, strlen(s), &a, NULL, &e), code);
	assert_non_null(strstr(e.msg, msg));
	/* a refusal leaves the argv as it was */
	assert_int_equal(a.size, 5);
	assert_int_equal(a.argc, 1);
}

static void test_syntax_errors(void **state)
{
	(void)state;
	expect_error("'open", QE_ARGS_SYNTAX, "unterminated single quote");
	expect_error("\"open", QE_ARGS_SYNTAX, "unterminated double quote");
	expect_error("end\\", QE_ARGS_SYNTAX, "lone backslash");

	struct qargv a;
	struct qerror e;
	qargs_init(&a, NULL, NULL);
	assert_int_equal(qargs_split("a\0b", 3, &a, NULL, &e), QE_ARGS_SYNTAX);
	assert_non_null(strstr(e.msg, "NUL byte at offset 1"));
}

static void test_exactly_80(void **state)
{
	(void)state;
	char s[100];
	struct qargv a;
	size_t need;

	/* "prog\0" (5) + 75 bytes of one word incl. its NUL = 80 */
	memset(s, 'x', 74);
	s[74] = '\0';
	qargs_init(&a, "prog", NULL);
	assert_int_equal(qargs_split(s, 74, &a, &need, NULL), QE_OK);
	assert_int_equal(need, 80);
	assert_int_equal(a.size, 80);
	assert_int_equal(a.buf[79], '\0');
	assert_int_equal(a.argc, 2);
}

static void test_81_refused(void **state)
{
	(void)state;
	char s[100];
	struct qargv a;
	struct qerror e;
	size_t need;

	memset(s, 'x', 75);
	qargs_init(&a, "prog", NULL);
	assert_int_equal(qargs_split(s, 75, &a, &need, &e), QE_ARGS_TOO_BIG);
	assert_int_equal(need, 81);
	assert_string_equal(
	    e.msg, "arguments take 81 bytes; the argv buffer holds 80");
	assert_int_equal(a.size, 5);
}

static void test_far_too_big_counts_all(void **state)
{
	(void)state;
	char s[1000];
	size_t need;

	for (int i = 0; i < 500; i++)
		s[i] = i % 2 ? ' ' : 'w';
	struct qargv a;
	qargs_init(&a, NULL, NULL);
	assert_int_equal(qargs_split(s, 500, &a, &need, NULL), QE_ARGS_TOO_BIG);
	assert_int_equal(need, 500);
}

static void test_add_refuses_81(void **state)
{
	(void)state;
	struct qargv a;
	struct qerror e;
	char big[80];

	qargs_init(&a, "p", NULL);
	memset(big, 'y', 77);
	big[77] = '\0'; /* 2 + 78 = 80 fits */
	assert_int_equal(qargs_add(&a, big, &e), QE_OK);
	assert_int_equal(a.size, 80);
	assert_int_equal(qargs_add(&a, "", &e), QE_ARGS_TOO_BIG);
	assert_non_null(strstr(e.msg, "81 bytes"));
}

static void test_format_round_trip(void **state)
{
	(void)state;
	const char *in = "plain 'two words' it\\'s \"\" back\\\\slash";
	struct qargv a, b;
	char out[256];

	qargs_init(&a, "name", NULL);
	assert_int_equal(qargs_split(in, strlen(in), &a, NULL, NULL), QE_OK);
	qargs_format(&a, 1, out, sizeof out);
	assert_string_equal(out,
			    "plain 'two words' 'it'\\''s' '' 'back\\slash'");
	qargs_init(&b, "name", NULL);
	assert_int_equal(qargs_split(out, strlen(out), &b, NULL, NULL), QE_OK);
	assert_int_equal(a.size, b.size);
	assert_memory_equal(a.buf, b.buf, QARGV_MAX);
}

static void test_trim(void **state)
{
	(void)state;
	assert_int_equal(qargs_trim("a b\n", 4), 3);
	assert_int_equal(qargs_trim("a b\n\0\n", 6), 3);
	assert_int_equal(qargs_trim("\n\n", 2), 0);
	assert_int_equal(qargs_trim("a\nb", 3), 3); /* only at the end */
	assert_int_equal(qargs_trim("", 0), 0);
}

/* What a program finds on its stack: master gets the whole line as
 * argv[0]; galileo cuts it at spaces and sets only argv[0] and argv[1]. */
static void test_seen_by_quest(void **state)
{
	static const char line[] = "prog lorem ipsum";
	struct qargs_seen s;

	(void)state;
	qargs_seen_by_quest(line, sizeof line, 0, &s);
	assert_int_equal(s.argc, 1);
	assert_string_equal(s.line + s.argv0_off, "prog lorem ipsum");
	qargs_seen_by_quest(line, sizeof line, 1, &s);
	assert_int_equal(s.argc, 3);
	assert_string_equal(s.line + s.argv0_off, "prog");
	assert_string_equal(s.line + s.argv1_off, "lorem");
	assert_memory_equal(s.line, "prog\0lorem\0ipsum\0", 17);
	/* one word: galileo's argv[1] points at argv[0] */
	qargs_seen_by_quest("prog", 5, 1, &s);
	assert_int_equal(s.argc, 1);
	assert_int_equal(s.argv1_off, 0);
	/* strings form: _exec's strncpy stops at the first NUL */
	qargs_seen_by_quest("prog\0lorem", 11, 1, &s);
	assert_int_equal(s.argc, 1);
	assert_string_equal(s.line, "prog");
}

static void test_format_parse(void **state)
{
	enum qargv_format f = QARGV_STRINGS;
	struct qerror e;

	(void)state;
	assert_int_equal(qargs_format_parse("line", &f, &e), QE_OK);
	assert_int_equal(f, QARGV_LINE);
	assert_int_equal(qargs_format_parse("strings", &f, &e), QE_OK);
	assert_int_equal(f, QARGV_STRINGS);
	assert_int_equal(qargs_format_parse("nul", &f, &e), QE_USAGE);
	assert_string_equal(e.msg,
			    "argv_format takes 'line' or 'strings', not 'nul'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seen_by_quest),
	    cmocka_unit_test(test_format_parse),
	    cmocka_unit_test(test_plain_words),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_quotes),
	    cmocka_unit_test(test_backslash),
	    cmocka_unit_test(test_syntax_errors),
	    cmocka_unit_test(test_exactly_80),
	    cmocka_unit_test(test_81_refused),
	    cmocka_unit_test(test_far_too_big_counts_all),
	    cmocka_unit_test(test_add_refuses_81),
	    cmocka_unit_test(test_format_round_trip),
	    cmocka_unit_test(test_trim),
	};
	return cmocka_run_group_tests_name("args", tests, NULL, NULL);
}
