/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Writing the tools' files without following what another user planted
 * (outfile.h): every open is O_NOFOLLOW and O_NONBLOCK, checked with
 * fstat before a byte is written or a file truncated. */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "who.h"

const char *qout_kind(mode_t m)
{
	return S_ISLNK(m)    ? "a symbolic link"
	       : S_ISFIFO(m) ? "a FIFO"
	       : S_ISDIR(m)  ? "a directory"
	       : S_ISSOCK(m) ? "a socket"
	       : S_ISREG(m)  ? "a regular file"
			     : "a device node";
}

/* The why of a refused path: whose it is, its mode, and what to do. */
static enum qerr not_ours(const char *path, const struct stat *st, int dir,
			  struct qerror *err)
{
	char owner[QWHO_NAME_MAX], me[QWHO_NAME_MAX];

	qwho_name(st->st_uid, owner, sizeof owner);
	qwho_name(geteuid(), me, sizeof me);
	return qerr_set(err, QE_USAGE,
			"%s is %s of %s with mode %04o: refused, as another "
			"user could turn the writes to a file they choose; "
			"give %s that %s owns%s",
			path, qout_kind(st->st_mode), owner,
			(unsigned)(st->st_mode & 07777),
			dir ? "a directory" : "a regular file", me,
			dir ? " and group and others cannot write "
			      "(chmod go-w)"
			    : ", or a new name");
}

enum qerr qout_dir_open(const char *dir, int *dirfd, struct qerror *err)
{
	struct stat st;
	int fd;

	*dirfd = -1;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return qerr_sys(err, errno, "%s", dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR) &&
	    lstat(dir, &st) == 0)
		return not_ours(dir, &st, 1, err);
	if (fd < 0)
		return qerr_sys(err, errno, "%s", dir);
	if (fstat(fd, &st) < 0) {
		qerr_sys(err, errno, "%s", dir);
		close(fd);
		return QE_SYS;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 022)) {
		not_ours(dir, &st, 1, err);
		close(fd);
		return QE_USAGE;
	}
	*dirfd = fd;
	return QE_OK;
}

static int write_iov(int fd, const struct iovec *iov, int n)
{
	for (int i = 0; i < n; i++) {
		const char *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;
		while (left) {
			ssize_t w = write(fd, p, left);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -1;
			p += w;
			left -= (size_t)w;
		}
	}
	return 0;
}

enum qerr qout_save(int dirfd, const char *dir, const char *name,
		    const struct iovec *iov, int n, struct qerror *err)
{
	const int flags =
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
	char tmp[512];
	int fd, e;

	if ((size_t)snprintf(tmp, sizeof tmp, ".%s.tmp", name) >= sizeof tmp)
		return qerr_set(err, QE_USAGE, "%s/%s: name too long", dir,
				name);
	fd = openat(dirfd, tmp, flags, 0644);
	/* a leftover of a run that stopped half-way: the entry goes (a
	 * symbolic link itself, never what it names), and we make ours */
	if (fd < 0 && errno == EEXIST && unlinkat(dirfd, tmp, 0) == 0)
		fd = openat(dirfd, tmp, flags, 0644);
	if (fd < 0)
		return qerr_sys(err, errno, "%s/%s", dir, tmp);
	if (write_iov(fd, iov, n) < 0) {
		e = errno;
		close(fd);
		unlinkat(dirfd, tmp, 0);
		return qerr_sys(err, e, "%s/%s", dir, tmp);
	}
	if (close(fd) < 0 || renameat(dirfd, tmp, dirfd, name) < 0) {
		e = errno;
		unlinkat(dirfd, tmp, 0);
		return qerr_sys(err, e, "%s/%s", dir, name);
	}
	return QE_OK;
}

int qout_open(const char *path, int append, struct qerror *err)
{
	struct stat st;
	int fd = open(path,
		      O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
			  (append ? O_APPEND : 0),
		      0644);

	if (fd < 0 && (errno == ELOOP || errno == ENXIO) &&
	    lstat(path, &st) == 0) {
		not_ours(path, &st, 0, err);
		return -1;
	}
	if (fd < 0) {
		qerr_sys(err, errno, "%s", path);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		qerr_sys(err, errno, "%s", path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		not_ours(path, &st, 0, err);
		close(fd);
		return -1;
	}
	if ((!append && ftruncate(fd, 0) < 0) ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		qerr_sys(err, errno, "%s", path);
		close(fd);
		return -1;
	}
	return fd;
}

enum qerr qout_write(const char *path, const struct iovec *iov, int n,
		     struct qerror *err)
{
	int fd = qout_open(path, 0, err), rc;

	if (fd < 0)
		return err->code;
	rc = write_iov(fd, iov, n);
	if (close(fd) < 0)
		rc = -1;
	return rc < 0 ? qerr_sys(err, errno, "%s", path) : QE_OK;
}
