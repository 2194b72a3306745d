/* SPDX-License-Identifier: GPL-2.0-or-later */
/* questfs's own -o options: one table (fs/options.c) gives each its
 * name, type, default, bounds and help line; the parser, the defaults and
 * --help all come from it, and tests/options.sh holds it against the man
 * page. */
#ifndef QUESTFS_OPTIONS_H
#define QUESTFS_OPTIONS_H

#include <stdio.h>

#include "questfs.h"

/* Every option at its default (strings strdup'd); -1 when out of
 * memory. */
int qfs_opts_init(struct qfs_opts *o);
/* The fuse_opt_parse spec: the table's rows, -h/--help, -V/--version and
 * the words mount(8) and fstab pass that mean nothing here. */
const struct fuse_opt *qfs_opts_spec(void);
/* Each value within its row's bounds; otherwise a message on stderr
 * naming the option and its range, and -1. */
int qfs_opts_check(const struct qfs_opts *o);
/* The "questfs options" part of --help. */
void qfs_opts_usage(FILE *out);
void qfs_opts_free(struct qfs_opts *o);

#endif
