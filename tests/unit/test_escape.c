/* SPDX-License-Identifier: GPL-2.0-or-later */
/* core/escape.c: what users named, printed safely: control characters,
 * DEL, backslash, C1 controls and invalid UTF-8 escaped C-style; valid
 * UTF-8 kept; nothing cut inside an escape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "escape.h"

static void expect(const char *in, size_t n, const char *want)
{
	char out[256];
	size_t k = qesc(in, n, out, sizeof out);
	assert_string_equal(out, want);
	assert_int_equal(k, strlen(want));
}

static void test_plain_kept(void **state)
{
	(void)state;
	expect("hello_argvs a-b.c", 17, "hello_argvs a-b.c");
	expect("", 0, "");
}

static void test_forged_line(void **state)
{
	(void)state;
	const char in[] = "x\n42    delivered forged";
	expect(in, sizeof in - 1, "x\\n42    delivered forged");
	expect("a\tb\rc", 5, "a\\tb\\rc");
}

static void test_terminal_sequences(void **state)
{
	(void)state;
	/* CSI clear screen, an OSC title ended by BEL, DEL */
	expect("\x1b[2J", 4, "\\x1b[2J");
	expect("\x1b]0;pwned\x07", 10, "\\x1b]0;pwned\\x07");
	expect("a\x7f", 2, "a\\x7f");
	/* U+009B, the one-byte CSI, in UTF-8 */
	expect("\xc2\x9b", 2, "\\xc2\\x9b");
}

static void test_backslash_doubled(void **state)
{
	(void)state;
	/* so that an escape in the output can only come from questfs */
	expect("a\\x41", 5, "a\\\\x41");
}

static void test_utf8(void **state)
{
	(void)state;
	expect("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
	       "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	expect("\xff", 1, "\\xff");
	expect("a\xc3", 2, "a\\xc3");		      /* cut sequence */
	expect("\xc0\xaf", 2, "\\xc0\\xaf");	      /* overlong '/' */
	expect("\xed\xa0\x80", 3, "\\xed\\xa0\\x80"); /* surrogate */
	expect("\xf4\x90\x80\x80", 4, "\\xf4\\x90\\x80\\x80"); /* > 10FFFF */
	expect("\xe2\x28\xa1", 3, "\\xe2(\\xa1");
}

static void test_nul_inside(void **state)
{
	(void)state;
	expect("a\0b", 3, "a\\x00b");
}

static void test_never_cut_inside_an_escape(void **state)
{
	char out[6];
	(void)state;
	/* "ab" fits, "\x1b" (4) does not: left out whole */
	assert_int_equal(qesc("ab\x1b", 3, out, sizeof out), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(qesc("\xc3\xa9\xc3\xa9\xc3\xa9", 6, out, sizeof out),
			 4);
	assert_string_equal(out, "\xc3\xa9\xc3\xa9");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_kept),
	    cmocka_unit_test(test_forged_line),
	    cmocka_unit_test(test_terminal_sequences),
	    cmocka_unit_test(test_backslash_doubled),
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_nul_inside),
	    cmocka_unit_test(test_never_cut_inside_an_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
