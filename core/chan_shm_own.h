/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Opening the shm: segment safely: a segment is used only when this
 * process created it, or when it belongs to our effective user with mode
 * 0600, so that no other user can read, inject or wedge the channel. */
#ifndef QUEST_CHAN_SHM_OWN_H
#define QUEST_CHAN_SHM_OWN_H

#include "qerr.h"

/* shm_open(name) read-write, creating it (O_EXCL, mode 0600) when it does
 * not exist; an existing one is refused unless it is a regular file of
 * ours, mode 0600, with one link. The fd, or -1 with err set (QE_CHAN_IO,
 * naming the path, its owner and mode, and what to do). */
int qshm_open_own(const char *name, const char *spec, struct qerror *err);

#endif
