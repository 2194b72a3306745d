/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What each user holds in questfs, so that one user at his limits gets
 * EAGAIN while the others still launch (DESIGN.md §6): files in run/, bytes of
 * files and xattrs not yet launched, and queued jobs with their bytes. */
#ifndef QUEST_QUOTA_H
#define QUEST_QUOTA_H

#include <stddef.h>
#include <sys/types.h>

struct qquota_use {
	size_t files; /* named files in run/ */
	size_t bytes; /* held by files not launched yet, and their xattrs */
	size_t jobs;  /* queued and sending */
	size_t held;  /* program bytes of those jobs */
};

struct qquota;

struct qquota *qquota_new(void);
void qquota_free(struct qquota *qq);

/* A change to a user's counts, named field by field:
 * qquota_add(qq, uid, (struct qquota_delta){.files = 1}). */
struct qquota_delta {
	long files, bytes, jobs, held;
};

/* Add (or, negative, take away) to a user's counts; a count never goes
 * below zero. Out of memory, a user's first count is lost: he is then
 * limited by the global limits only. */
void qquota_add(struct qquota *qq, uid_t uid, struct qquota_delta d);
void qquota_get(struct qquota *qq, uid_t uid, struct qquota_use *out);

#endif
