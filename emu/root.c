/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Files a program may open, read and exec: only those under --root, which
 * the program's paths name as if it were "/". openat2's RESOLVE_IN_ROOT
 * keeps "..", absolute symlinks and magic links inside it; where the kernel
 * lacks openat2 every ".." is refused and no symlink is followed. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "emu_int.h"

static int open_beneath(int dirfd, const char *path)
{
	struct open_how how = {
	    .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
	const char *p;

	if (fd >= 0 || errno != ENOSYS)
		return (int)fd;
	for (p = path; (p = strstr(p, "..")); p += 2)
		if ((p == path || p[-1] == '/') && (p[2] == '/' || !p[2]))
			return -1;
	while (*path == '/')
		path++;
	return openat(dirfd, *path ? path : ".",
		      O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
			  O_NOFOLLOW);
}

int emu_root_open(const char *root, const char *path)
{
	int dir, fd;
	struct stat st;

	if (!root || !*path)
		return -1;
	dir = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -1;
	fd = open_beneath(dir, path);
	close(dir);
	/* regular files only: no FIFO or device may block or feed forever */
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	if (fd >= 0)
		fcntl(fd, F_SETFL, 0);
	return fd;
}
