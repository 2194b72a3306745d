/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Who launched a job: the name the password database gives a uid when the
 * job is made, for status and log. */
#ifndef QUEST_WHO_H
#define QUEST_WHO_H

#include <stddef.h>
#include <sys/types.h>

#define QWHO_NAME_MAX 33 /* a name of up to 32 bytes, as useradd allows */

/* The user's name, else the number written out; never fails. */
void qwho_name(uid_t uid, char *dst, size_t n);

#endif
