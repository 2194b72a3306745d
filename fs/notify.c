/* Names questfs takes out of run/ on its own (a launched file past its
 * linger, a file refused at close) are told to the kernel, which then
 * drops their entries and forgets their inodes, so that questfs can free
 * them: without it every program name ever launched stays in memory on
 * both sides until the kernel runs short. From a thread of its own: a
 * notification sent from a request's handler can deadlock on the
 * directory's lock (libfuse doc/README.notifications). */
#include <stdlib.h>
#include <string.h>

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

int qfs_notify_start(struct qfs *fs)
{
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
	pthread_mutex_lock(&fs->nlock);
	fs->nstop = 1;
	pthread_cond_signal(&fs->ncv);
	pthread_mutex_unlock(&fs->nlock);
	pthread_join(fs->notifier, NULL);
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
