/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Who may see and set what when several users share questfs (DESIGN.md §6):
 * root and the user questfs runs as see everything; a job's arguments show only
 * to its own user besides; run/'s default arguments are set only by root or
 * run/'s owner; a sidecar counts only for its owner's programs. */
#include "questfs.h"

int qfs_sees_all(const struct qfs *fs, uid_t reader)
{
	return reader == 0 || reader == fs->uid;
}

int qfs_owns_run(const struct qfs *fs, uid_t uid)
{
	uid_t owner = fs->o.run_uid >= 0 ? (uid_t)fs->o.run_uid : fs->uid;
	return uid == 0 || uid == owner;
}

int qfs_sidecar_counts(const struct qfile *prog, const struct qfile *side)
{
	return side->uid == prog->uid || side->uid == 0;
}
