/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Files the tools write (quest-sim --save and --stamps, questbinloader
 * --out, quest-emu --vga), written so that another local user cannot
 * turn them against whoever runs the tool, root included: no symbolic
 * link followed, no directory another user can write, no file of another
 * user's, and no open that can block (a FIFO in the file's place). */
#ifndef QUEST_OUTFILE_H
#define QUEST_OUTFILE_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "qerr.h"

/* Opens (with mkdir when absent, mode 0755) the directory dir, which must
 * be a directory, not a symbolic link, belong to the effective user and
 * not be writable by group or others (as questfs's spool): *dirfd, or an
 * error saying whose it is and what to do. */
enum qerr qout_dir_open(const char *dir, int *dirfd, struct qerror *err);

/* Writes the buffers to dirfd/name atomically: a new ".name.tmp"
 * (O_EXCL | O_NOFOLLOW; a leftover one is removed first, never followed),
 * then renamed over name. dir is the directory's name, for messages. */
enum qerr qout_save(int dirfd, const char *dir, const char *name,
		    const struct iovec *iov, int n, struct qerror *err);

/* Opens path for writing (append: at its end, else truncated), made with
 * mode 0644 when absent. Refused: a symbolic link, anything but a regular
 * file (without waiting on a FIFO), a file of another user's. Returns the
 * descriptor, or -1 with err set. */
int qout_open(const char *path, int append, struct qerror *err);

/* Writes the buffers to path, opened as qout_open does (truncated). */
enum qerr qout_write(const char *path, const struct iovec *iov, int n,
		     struct qerror *err);

/* What a file of mode m is, for a message that refuses it: "a FIFO", "a
 * symbolic link", "a directory", "a socket", "a device node", "a regular
 * file". */
const char *qout_kind(mode_t m);

#endif
