/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The shm: segment lives in /dev/shm, where every user may create names.
 * Another user who made questfs-shm-KEY first, open to all, would read
 * every program sent, send his own, and could wedge the channel by
 * writing its header. So a segment is created exclusively, or used only
 * when it is plainly ours: never through a symlink, a regular file owned
 * by our effective user, mode 0600, one link. */
#include "chan_shm_own.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfile.h"
#include "who.h"

#define SHM_DIR "/dev/shm"

static int refuse(const char *name, const struct stat *st, struct qerror *err)
{
	char owner[QWHO_NAME_MAX], me[QWHO_NAME_MAX], what[32] = "";

	qwho_name(st->st_uid, owner, sizeof owner);
	qwho_name(geteuid(), me, sizeof me);
	if (!S_ISREG(st->st_mode))
		snprintf(what, sizeof what, ", %s", qout_kind(st->st_mode));
	else if (st->st_nlink > 1)
		snprintf(what, sizeof what, ", several links");
	/* Any user may make names in /dev/shm, before questfs starts too:
	 * the message says how the administrator rules that out (vshm: on a
	 * path in a directory only root can write; TROUBLESHOOTING.md).
	 * Within QERR_MSG_MAX with short user names; the advice comes last. */
	qerr_set(err, QE_CHAN_IO,
		 "%s%s belongs to %s (uid %lu), mode %04o%s: refused, not "
		 "%s's with mode 0600; remove it, restart both sides, or use "
		 "vshm: on a path only root can write",
		 SHM_DIR, name, owner, (unsigned long)st->st_uid,
		 (unsigned)(st->st_mode & 07777), what, me);
	return -1;
}

/* Why an existing name cannot be opened: lstat says whose it is. */
static int cannot_open(const char *name, const char *spec, int e,
		       struct qerror *err)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof path, "%s%s", SHM_DIR, name);
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		qerr_set(err, QE_CHAN_IO,
			 "%s: %s is a symbolic link: refused (a segment is "
			 "never opened through one); remove it (rm %s), "
			 "restart both sides, or use vshm: on a path only "
			 "root can write",
			 spec, path, path);
		return -1;
	}
	if (e == EACCES && lstat(path, &st) == 0)
		return refuse(name, &st, err);
	qerr_set(err, QE_CHAN_IO, "%s: cannot open %s: %s", spec, path,
		 strerror(e));
	return -1;
}

int qshm_open_own(const char *name, const char *spec, struct qerror *err)
{
	struct stat st;
	int fd;

	/* a name removed between our two opens is simply made again */
	for (int tries = 0; tries < 8; tries++) {
		fd = shm_open(
		    name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
		if (fd >= 0) {
			/* the umask may have taken bits, never added any */
			if (fchmod(fd, 0600) < 0) {
				int e = errno;
				close(fd);
				qerr_set(err, QE_CHAN_IO,
					 "%s: cannot set mode 0600 on %s%s: %s",
					 spec, SHM_DIR, name, strerror(e));
				return -1;
			}
			return fd;
		}
		if (errno != EEXIST)
			return cannot_open(name, spec, errno, err);
		fd = shm_open(name,
			      O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
		if (fd >= 0)
			break;
		if (errno != ENOENT)
			return cannot_open(name, spec, errno, err);
	}
	if (fd < 0)
		return cannot_open(name, spec, ENOENT, err);
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		qerr_set(err, QE_CHAN_IO, "%s: fstat %s%s: %s", spec, SHM_DIR,
			 name, strerror(e));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 07777) != 0600 || st.st_nlink != 1) {
		close(fd);
		return refuse(name, &st, err);
	}
	return fd;
}
