/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Assertions on questfs's errors (core/qerr.h) for the cmocka tests: a
 * failure names the code got, its message and the code wanted. */
#ifndef QUESTFS_TEST_QASSERT_H
#define QUESTFS_TEST_QASSERT_H

#include <string.h>

#include "qerr.h"

/* the call's code is WANT; else the code and message it gave */
#define assert_rc(rc, want, e)                                                 \
	do {                                                                   \
		enum qerr rc_ = (rc);                                          \
		if (rc_ != (want))                                             \
			fail_msg("got %s (%s), wanted %s", qerr_name(rc_),     \
				 (e)->msg, qerr_name(want));                   \
	} while (0)

/* the message of E contains S */
#define assert_has(e, s)                                                       \
	do {                                                                   \
		if (!strstr((e)->msg, (s)))                                    \
			fail_msg("message \"%s\" lacks \"%s\"", (e)->msg,      \
				 (s));                                         \
	} while (0)

#endif
