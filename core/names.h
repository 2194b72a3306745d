/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which names in run/ launch (DESIGN.md §6): hidden, temporary, backup and swap
 * files never do, nor sidecars holding another file's arguments. */
#ifndef QUEST_NAMES_H
#define QUEST_NAMES_H

#include <stddef.h>

#define QNAME_SIDECAR_SUFFIX ".args"

/* Sidecars: "NAME.args" (NAME not empty). */
int qname_is_sidecar(const char *name);

/* A name a finished file is launched under. */
int qname_launches(const char *name);

/* A temporary name a tool renames to the final one when it is done
 * (rsync's .NAME.XXXXXX, GIO's .goutputstream-XXXXXX): judged at fsync,
 * since its bytes are the program's. Editors' swap and backup files are
 * not. */
int qname_is_temporary(const char *name);

/* For "NAME", writes "NAME.args" into dst; -1 when it does not fit. */
int qname_sidecar_of(const char *name, char *dst, size_t dstlen);

#endif
