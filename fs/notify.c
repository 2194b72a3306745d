/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Names questfs takes out of run/ on its own (a launched file past its
 * linger, a file refused at close) are told to the kernel, which then
 * drops their entries and forgets their inodes, so that questfs can free
 * them: without it every program name ever launched stays in memory on
 * both sides until the kernel runs short. From a thread of its own: a
 * notification sent from a request's handler can deadlock on the
 * directory's lock (libfuse doc/README.notifications). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "questfs.h"

/* beyond this many waiting, names are left to the kernel's own pruning */
#define GONE_MAX 65536

struct gone {
	fuse_ino_t ino;
	struct gone *next;
	char name[];
};

static void *notifier_main(void *arg)
{
	struct qfs *fs = arg;

	pthread_mutex_lock(&fs->nlock);
	for (;;) {
		while (!fs->gone && !fs->nstop)
			pthread_cond_wait(&fs->ncv, &fs->nlock);
		struct gone *g = fs->gone;
		if (!g)
			break; /* stopping, and nothing left */
		fs->gone = g->next;
		if (!fs->gone)
			fs->gone_tail = NULL;
		fs->ngone--;
		pthread_mutex_unlock(&fs->nlock);
		/* ENOENT: the kernel had forgotten it, or the name is another
		 * file's by now (the inode must match): nothing to do */
		if (!fs->nstop)
			fuse_lowlevel_notify_delete(fs->se, INO_RUN, g->ino,
						    g->name, strlen(g->name));
		free(g);
		pthread_mutex_lock(&fs->nlock);
	}
	pthread_mutex_unlock(&fs->nlock);
	return NULL;
}

/* The FUSE connection of the mount at mnt: the minor number of its device,
 * from /proc/self/mountinfo (asking the mount itself would be a request);
 * -1 when not found. */
static long connection_of(const char *mnt)
{
	char real[PATH_MAX], line[PATH_MAX + 512], point[PATH_MAX];
	unsigned maj, min;
	long conn = -1;
	FILE *f;

	if (!realpath(mnt, real) || !(f = fopen("/proc/self/mountinfo", "r")))
		return -1;
	while (fgets(line, sizeof line, f)) {
		/* ID PARENT MAJ:MIN ROOT POINT ... - TYPE ... (octal escapes
		 * in POINT: a mount point with a blank is simply not found) */
		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &maj, &min,
			   point) == 3 &&
		    !strcmp(point, real) && strstr(line, " - fuse.questfs "))
			conn = (long)min;
	}
	fclose(f);
	return conn;
}

/* Ends every request of the connection: through fusectl, else as
 * `umount -f` does (which aborts a FUSE connection even when the mount is
 * busy; root only). */
static int abort_connection(long conn, const char *mnt)
{
	char path[64];
	int fd, ok = 0;

	snprintf(path, sizeof path, "/sys/fs/fuse/connections/%ld/abort", conn);
	if (conn >= 0 && (fd = open(path, O_WRONLY | O_CLOEXEC)) >= 0) {
		ok = write(fd, "1\n", 2) == 2;
		close(fd);
	}
	if (!ok && geteuid() == 0 && umount2(mnt, MNT_FORCE) == 0)
		ok = 1;
	/* busy, the forced umount still ended the requests: the join tells */
	return ok || geteuid() == 0 ? 0 : -1;
}

int qfs_notify_start(struct qfs *fs, const char *mountpoint)
{
	fs->conn = connection_of(mountpoint);
	fs->mountpoint = mountpoint;
	pthread_mutex_init(&fs->nlock, NULL);
	pthread_cond_init(&fs->ncv, NULL);
	if (pthread_create(&fs->notifier, NULL, notifier_main, fs))
		return -1;
	fs->nrunning = 1;
	return 0;
}

void qfs_notify_stop(struct qfs *fs)
{
	if (!fs->nrunning)
		return;
	struct timespec dl;

	pthread_mutex_lock(&fs->nlock);
	fs->nstop = 1;
	pthread_cond_signal(&fs->ncv);
	pthread_mutex_unlock(&fs->nlock);
	/* Stopped by a signal, the loop can leave a request unread that
	 * holds run/'s lock, which a notification in flight waits for: no
	 * one would ever answer it. Ending the connection's requests frees
	 * both. */
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 2;
	if (pthread_timedjoin_np(fs->notifier, NULL, &dl) != 0) {
		int aborted = abort_connection(fs->conn, fs->mountpoint);
		qfs_log(fs, LOG_WARNING,
			"a notification to the kernel waits on a request "
			"nobody will answer: %s",
			aborted == 0 ? "ended the connection's requests"
				     : "write 1 to /sys/fs/fuse/connections/"
				       "N/abort (N: the mount's device minor)");
		pthread_join(fs->notifier, NULL);
	}
	fs->nrunning = 0;
	pthread_cond_destroy(&fs->ncv);
	pthread_mutex_destroy(&fs->nlock);
}

void qfs_notify_gone(struct qfs *fs, fuse_ino_t ino, const char *name)
{
	size_t n = strlen(name) + 1;
	struct gone *g;

	if (!fs->nrunning || !(g = malloc(sizeof *g + n)))
		return;
	g->ino = ino;
	g->next = NULL;
	memcpy(g->name, name, n);
	pthread_mutex_lock(&fs->nlock);
	if (fs->ngone >= GONE_MAX || fs->nstop) {
		pthread_mutex_unlock(&fs->nlock);
		free(g);
		return;
	}
	*(fs->gone_tail ? &fs->gone_tail->next : &fs->gone) = g;
	fs->gone_tail = g;
	fs->ngone++;
	pthread_cond_signal(&fs->ncv);
	pthread_mutex_unlock(&fs->nlock);
}
