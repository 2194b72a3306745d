/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Test hooks of the shm: backend, for tests/unit/test_chan.c only: they let
 * a test kill a side at the worst moments. Nothing in questfs calls them. */
#ifndef QUEST_CHAN_SHM_INTERNAL_H
#define QUEST_CHAN_SHM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "qerr.h"

/* Attach to shm:KEY, lock its mutex, overwrite the first `scribble` bytes
 * of the slot (a sender dying mid-copy), and return with the lock held: the
 * caller is expected to die holding it. */
enum qerr qchan_shm_debug_lock(uint32_t key, size_t scribble,
			       struct qerror *err);

/* When set, a sender calls it right after marking its packet FULL, with the
 * lock released (a sender dying before it could collect the answer). */
extern void (*qchan_shm_debug_after_full)(void);

#endif
