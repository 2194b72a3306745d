/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Command-line numbers: what strtoull would take and options must not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "num.h"

static void test_accepts(void **state)
{
	unsigned long long v;

	(void)state;
	assert_int_equal(qnum_parse("0", 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(qnum_parse("393216", ~0ull, &v), 0);
	assert_int_equal(v, 393216);
	assert_int_equal(qnum_parse("0x3F0000", 0xffffffffu, &v), 0);
	assert_int_equal(v, 0x3F0000);
	assert_int_equal(qnum_parse("010", 100, &v), 0);
	assert_int_equal(v, 8);
	assert_int_equal(qnum_parse("86400", 86400, &v), 0);
}

static void test_refuses(void **state)
{
	unsigned long long v = 42;

	(void)state;
	static const char *const bad[] = {
	    "",	  "-1",	 " 5", "+5",	"5x",
	    "0x", "abc", "5 ", "86401", "99999999999999999999999"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(qnum_parse(bad[i], 86400, &v), -1);
		assert_int_equal(v, 42); /* untouched */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepts),
	    cmocka_unit_test(test_refuses),
	};
	return cmocka_run_group_tests_name("num", tests, NULL, NULL);
}
