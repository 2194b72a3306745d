/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Quest options the tools share (core/qopts.c): each parsed once, a
 * bad value refused with the tool's status, the tool's own options handed
 * back, the window built from what was given. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "qopts.h"

static const struct option longopts[] = {
    {"quest-profile", required_argument, NULL, QOPT_QUEST_PROFILE},
    {"profile", required_argument, NULL, QOPT_PROFILE},
    {"user-base", required_argument, NULL, QOPT_USER_BASE},
    {"user-limit", required_argument, NULL, QOPT_USER_LIMIT},
    {"argv0", required_argument, NULL, QOPT_ARGV0},
    {"argv-format", required_argument, NULL, QOPT_ARGV_FORMAT},
    {"own", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *own_seen;

static int own(void *ctx, int c, const char *arg)
{
	(void)ctx;
	assert_int_equal(c, 'o');
	own_seen = arg;
	return strcmp(arg, "stop") ? QOPTS_GO : 42;
}

static void no_usage(FILE *f)
{
	(void)f;
}

/* runs the parser over words (NULL-terminated) */
static int run(struct qopts *q, const char *const *words)
{
	const struct qopts_tool tool = {.prog = "test",
					.usage = no_usage,
					.ok_status = 0,
					.usage_status = 9,
					.option = own};
	char *argv[64];
	int argc = 0;

	argv[argc++] = (char *)"test";
	while (*words) {
		assert_true(argc < 63); /* room for the NULL after them */
		argv[argc++] = (char *)*words++;
	}
	argv[argc] = NULL;
	optind = 0;
	opterr = 0;
	qopts_default(q);
	return qopts_getopt(argc, argv, "+o:h", longopts, q, &tool);
}

static void test_defaults(void **state)
{
	struct qopts q;
	const char *none[] = {NULL};

	(void)state;
	assert_int_equal(run(&q, none), QOPTS_GO);
	assert_int_equal(q.mask, QLOAD_MASK_BOTH);
	assert_int_equal(q.profile, QLOAD_GALILEO);
	assert_int_equal(q.fmt, QARGV_LINE);
	assert_int_equal(q.argv0, 1);
	assert_true(q.base == -1 && q.limit == -1);
}

static void test_each_option(void **state)
{
	struct qopts q;
	const char *w[] = {"--quest-profile",
			   "galileo",
			   "--profile",
			   "master",
			   "--user-base",
			   "0x2000",
			   "--user-limit",
			   "0xffffffff",
			   "--argv0",
			   "none",
			   "--argv-format",
			   "strings",
			   "-o",
			   "mine",
			   "prog",
			   NULL};

	(void)state;
	assert_int_equal(run(&q, w), QOPTS_GO);
	assert_int_equal(q.mask, QLOAD_MASK_GALILEO);
	assert_int_equal(q.profile, QLOAD_MASTER);
	assert_int_equal(q.base, 0x2000);
	assert_int_equal(q.limit, 0xffffffffll);
	assert_int_equal(q.argv0, 0);
	assert_int_equal(q.fmt, QARGV_STRINGS);
	assert_string_equal(own_seen, "mine");
	assert_int_equal(optind, 15); /* the operand */
}

static void test_bad_values(void **state)
{
	struct qopts q;
	const char *const bad[][3] = {
	    {"--quest-profile", "2011", NULL},
	    {"--profile", "both", NULL},
	    {"--user-base", "-1", NULL},
	    {"--user-limit", "0x1ffffffff", NULL},
	    {"--argv0", "yes", NULL},
	    {"--argv-format", "csv", NULL},
	    {"--nonesuch", NULL, NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(run(&q, bad[i]), 9);
}

static void test_tool_status_and_help(void **state)
{
	struct qopts q;
	const char *stop[] = {"-o", "stop", NULL}, *help[] = {"-h", NULL};

	(void)state;
	assert_int_equal(run(&q, stop), 42);
	assert_int_equal(run(&q, help), 0);
}

static void test_window(void **state)
{
	struct qopts q;
	struct qelf_profile p;
	struct qerror e;
	const char *w[] = {"--user-base", "0x5000", NULL},
		   *empty[] = {"--user-base", "0x5000", "--user-limit",
			       "0x5000", NULL};

	(void)state;
	assert_int_equal(run(&q, w), QOPTS_GO);
	qelf_profile_default(&p);
	assert_int_equal(qopts_window(&q, &p, &e), QE_OK);
	assert_int_equal(p.user_base, 0x5000);
	assert_int_equal(run(&q, empty), QOPTS_GO);
	qelf_profile_default(&p);
	assert_int_equal(qopts_window(&q, &p, &e), QE_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_each_option),
	    cmocka_unit_test(test_bad_values),
	    cmocka_unit_test(test_tool_status_and_help),
	    cmocka_unit_test(test_window),
	};
	return cmocka_run_group_tests_name("qopts", tests, NULL, NULL);
}
