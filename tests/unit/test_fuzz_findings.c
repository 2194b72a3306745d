/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Regression tests for what the fuzzers (fuzz/) found, one case per finding,
 * each input built here in C (no binary files in git). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "spool.h"

/* s (len bytes, may hold NULs) must be refused as a syntax error, leaving
 * the argv as it was. */
static void expect_syntax(const char *s, size_t len)
{
	struct qargv a, before;
	struct qerror e;

	assert_int_equal(qargs_init(&a, "prog", &e), QE_OK);
	before = a;
	assert_int_equal(qargs_split(s, len, &a, NULL, &e), QE_ARGS_SYNTAX);
	assert_non_null(strstr(e.msg, "NUL byte"));
	assert_memory_equal(&a, &before, sizeof a);
}

/* fuzz_args: a backslash outside quotes took the NUL after it into the word,
 * so "\\\0" packed as two NULs with argc 1 (the word split in two on the
 * Quest side, where argv is read up to each NUL). */
static void test_args_escaped_nul(void **state)
{
	static const char in[] = {'\\', '\0'};
	static const char mid[] = {'a', '\\', '\0', 'b'};

	(void)state;
	expect_syntax(in, sizeof in);
	expect_syntax(mid, sizeof mid);
}

/* fuzz_args: inside "...", strchr() found the NUL after a backslash as the
 * terminator of its set of escapable characters, with the same effect. */
static void test_args_escaped_nul_in_double_quotes(void **state)
{
	static const char in[] = {'"', 'a', '\\', '\0', 'b', '"'};

	(void)state;
	expect_syntax(in, sizeof in);
}

static void count_entry(void *ctx, struct qspool_entry *e)
{
	++*(int *)ctx;
	free(e->image);
}

static void count_bad(void *ctx, const char *file, const char *why)
{
	(void)file;
	(void)why;
	++*(int *)ctx;
}

/* make check-sanitize (UBSan): loading an empty spool, what every questfs
 * start on a fresh spool directory does, called qsort(NULL, 0, ...), whose
 * pointer glibc declares nonnull. Only the sanitizer build can see it. */
static void test_spool_load_empty(void **state)
{
	char dir[] = "/tmp/questfs-regress.XXXXXX";
	struct qspool *sp = NULL;
	struct qerror e;
	int seen = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(qspool_open(dir, 0, &sp, &e), QE_OK);
	assert_int_equal(qspool_load(sp, count_entry, count_bad, &seen), 0);
	assert_int_equal(seen, 0);
	qspool_close(sp);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_args_escaped_nul),
	    cmocka_unit_test(test_args_escaped_nul_in_double_quotes),
	    cmocka_unit_test(test_spool_load_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
