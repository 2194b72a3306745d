/* SPDX-License-Identifier: GPL-2.0-or-later */
/* core/imgbuf.c: program buffers of the largest program's size, reused
 * warm (same memory, no new page), a bounded number kept, every one given
 * back when drained, larger ones never kept, buffers outliving the pool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/resource.h>

#include "imgbuf.h"

#define LARGEST 393128u

static long minflt(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

static void test_reused_warm(void **state)
{
	struct qimg_pool *p = qimg_pool_new(LARGEST, 2);
	struct qimg_stats st;
	(void)state;

	assert_non_null(p);
	uint8_t *a = qimg_get(p, 4096);
	assert_non_null(a);
	assert_true(qimg_cap(a) >= LARGEST);
	qimg_use(a, LARGEST); /* 4096 asked for: the rest is poisoned */
	memset(a, 0x5a, LARGEST);
	qimg_put(p, a);
	uint8_t *b = qimg_get(p, LARGEST);
	assert_ptr_equal(a, b);
	assert_int_equal(b[LARGEST - 1], 0x5a); /* warm: never cleared */
	qimg_pool_stats(p, &st);
	assert_int_equal(st.mapped, 1);
	assert_int_equal(st.in_use, 1);
	assert_int_equal(st.warm, 0);
	qimg_put(p, b);
	qimg_pool_free(p);
}

/* A steady stream of programs through warm buffers touches no new page:
 * without the pool, every launch faulted its buffer in again. Judged
 * against the same loop through fresh buffers (what an emulator such as
 * qemu-user counts is then counted on both sides); ThreadSanitizer faults
 * its shadow memory in as it goes, and is left out. */
static void test_warm_takes_no_page_fault(void **state)
{
	static uint8_t prog[LARGEST];
	(void)state;
#if defined(__SANITIZE_THREAD__)
	skip();
#endif
	struct qimg_pool *p = qimg_pool_new(LARGEST, 2);

	memset(prog, 7, sizeof prog);
	uint8_t *a = qimg_get(p, LARGEST), *b = qimg_get(p, LARGEST);
	memcpy(a, prog, LARGEST);
	memcpy(b, prog, LARGEST);
	qimg_put(p, a);
	qimg_put(p, b);
	long f0 = minflt();
	for (int i = 0; i < 50; i++) {
		uint8_t *x = qimg_get(p, LARGEST), *y = qimg_get(p, LARGEST);
		memcpy(x, prog, LARGEST);
		memcpy(y, x, LARGEST);
		qimg_put(p, x);
		qimg_put(p, y);
	}
	long warm = minflt() - f0;
	f0 = minflt();
	for (int i = 0; i < 50; i++) {
		uint8_t *x = qimg_get(NULL, LARGEST),
			*y = qimg_get(NULL, LARGEST);
		memcpy(x, prog, LARGEST);
		memcpy(y, x, LARGEST);
		qimg_free(x);
		qimg_free(y);
	}
	long fresh = minflt() - f0;
	/* 100 programs of 96 pages each: thousands of faults fresh (fewer
	 * with large folios), a stray one warm */
	print_message("page faults: %ld warm, %ld fresh\n", warm, fresh);
	assert_true(fresh >= 100);
	assert_true(warm * 20 < fresh);
	qimg_pool_free(p);
}

static void test_keep_bound_and_drain(void **state)
{
	struct qimg_pool *p = qimg_pool_new(LARGEST, 3);
	struct qimg_stats st;
	uint8_t *b[6];
	(void)state;

	for (int i = 0; i < 6; i++)
		assert_non_null(b[i] = qimg_get(p, 100));
	for (int i = 0; i < 6; i++)
		qimg_put(p, b[i]);
	qimg_pool_stats(p, &st);
	assert_int_equal(st.warm, 3);
	assert_int_equal(st.in_use, 0);
	assert_int_equal(st.mapped, 6);
	qimg_pool_drain(p);
	qimg_pool_stats(p, &st);
	assert_int_equal(st.warm, 0);
	uint8_t *c = qimg_get(p, 100);
	qimg_pool_stats(p, &st);
	assert_int_equal(st.mapped, 7); /* nothing warm was left */
	qimg_put(p, c);
	qimg_pool_free(p);
}

static void test_larger_never_kept(void **state)
{
	struct qimg_pool *p = qimg_pool_new(4096, 2);
	struct qimg_stats st;
	(void)state;

	uint8_t *big = qimg_get(p, 3 * 4096 + 1);
	assert_non_null(big);
	assert_true(qimg_cap(big) >= 3 * 4096 + 1);
	memset(big, 1, 3 * 4096 + 1);
	qimg_put(p, big);
	qimg_pool_stats(p, &st);
	assert_int_equal(st.warm, 0);
	qimg_pool_free(p);
}

static void test_outlives_pool(void **state)
{
	struct qimg_pool *p = qimg_pool_new(LARGEST, 1);
	(void)state;

	uint8_t *a = qimg_get(p, 10), *b = qimg_get(NULL, 10);
	qimg_put(p, qimg_get(p, 10)); /* one warm, freed with the pool */
	qimg_pool_free(p);
	qimg_use(a, LARGEST);
	memset(a, 1, LARGEST);
	memset(b, 1, 10);
	qimg_free(a);
	qimg_free(b);
	qimg_free(NULL);
	qimg_put(NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reused_warm),
	    cmocka_unit_test(test_warm_takes_no_page_fault),
	    cmocka_unit_test(test_keep_bound_and_drain),
	    cmocka_unit_test(test_larger_never_kept),
	    cmocka_unit_test(test_outlives_pool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
