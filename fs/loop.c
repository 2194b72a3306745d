// SPDX-License-Identifier: GPL-2.0-or-later
/* The FUSE workers' loop: libfuse's multi-threaded loop, with one thing
 * more. Each worker reads requests into a receive buffer of its own (1 MiB
 * and a page), touched as far as the largest request it served: a
 * 393128-byte program is one WRITE. libfuse 3.14 keeps these pages for
 * good, or, with max_idle_threads, ends a worker after each request that
 * leaves others idle, so that a steady stream of launches maps and touches
 * a fresh buffer for most of them (10 583 page faults in 100 launches of
 * 393128 bytes, where the steady-launch case allows none). Here a worker
 * that has served no request for IDLE_MS gives its buffer back, and only
 * then: after a burst of large programs that is 1.1-1.2 MB of idle RSS.
 * Workers start as libfuse's do, up to max_threads, and stay.
 *
 * Only the worker frees its buffer, between two requests, never while the
 * kernel may be copying a request into it. An idle worker sleeps in
 * read(): the main thread wakes it with a request of its own, a statfs(2)
 * of the mount point, which the kernel gives to the reader that has waited
 * longest; one per idle worker reaches each of them. (A signal that ends
 * the read costs two sigprocmask calls around every read of a worker that
 * may be woken, 15-25 us of a launch; a retrieve of nothing is refused
 * with EINVAL by this kernel.) */
#include "questfs.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <time.h>

/* a worker that has read no request for this long gives its buffer back
 * (the program buffers' idle give-back waits as long, core/jobs.c) */
#define IDLE_MS 2000
/* and only a buffer touched this far: below it, the few pages of small
 * requests are not worth a request of their own */
#define GIVE_BACK_MIN (64u << 10)

struct loop;

struct worker {
	pthread_t thread;
	struct loop *l;
	struct fuse_buf buf;   /* only this worker touches it */
	atomic_size_t touched; /* the largest request read into buf */
	atomic_int reading;    /* waiting for a request */
	atomic_int give_back;  /* asked to free buf.mem */
	atomic_llong last_ms;  /* when its last request ended */
	int error;	       /* a read that failed, -errno */
};

struct loop {
	struct fuse_session *se;
	const char *mnt;      /* where statfs(2) wakes an idle worker */
	sem_t finish;	      /* a worker ended */
	atomic_int free;      /* workers not serving a request */
	pthread_mutex_t lock; /* guards n and stopping */
	unsigned n, max;
	int stopping;
	struct worker *ws;
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int start_worker(struct loop *l);

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct loop *l = w->l;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	while (!fuse_session_exited(l->se)) {
		if (atomic_load(&w->give_back) &&
		    atomic_exchange(&w->give_back, 0) && w->buf.mem) {
			free(w->buf.mem);
			w->buf.mem = NULL;
			w->buf.size = 0;
			atomic_store(&w->touched, 0);
		}
		atomic_store(&w->reading, 1);
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		int res = fuse_session_receive_buf(l->se, &w->buf);
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		atomic_store(&w->reading, 0);
		if (res == -EINTR || res == -EAGAIN || res == 0)
			continue;
		if (res < 0) {
			w->error = res;
			fuse_session_exit(l->se);
			break;
		}
		if ((size_t)res > atomic_load(&w->touched))
			atomic_store(&w->touched, (size_t)res);
		/* as libfuse: one more worker only when none is free */
		if (atomic_fetch_sub(&l->free, 1) == 1)
			start_worker(l);
		fuse_session_process_buf(l->se, &w->buf);
		atomic_store(&w->last_ms, mono_ms());
		atomic_fetch_add(&l->free, 1);
	}
	sem_post(&l->finish);
	return NULL;
}

/* A worker more, if there is room and none is free. As libfuse's, it
 * leaves the signals that stop questfs to the main thread
 * (fuse_set_signal_handlers). */
static int start_worker(struct loop *l)
{
	sigset_t stop, old;
	int r = 0;

	pthread_mutex_lock(&l->lock);
	if (l->stopping || l->n >= l->max || atomic_load(&l->free) > 0)
		goto out;
	struct worker *w = &l->ws[l->n];
	w->l = l;
	atomic_store(&w->last_ms, mono_ms());
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	sigaddset(&stop, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &stop, &old);
	r = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r == 0) {
		l->n++;
		atomic_fetch_add(&l->free, 1);
	}
out:
	pthread_mutex_unlock(&l->lock);
	return r;
}

int qfs_loop(struct fuse_session *se, const char *mountpoint, unsigned nworkers)
{
	struct loop l = {
	    .se = se, .mnt = mountpoint, .max = nworkers ? nworkers : 1};
	int err = 0;

	l.ws = calloc(l.max, sizeof *l.ws);
	if (!l.ws)
		return -ENOMEM;
	sem_init(&l.finish, 0, 0);
	pthread_mutex_init(&l.lock, NULL);
	if (start_worker(&l) != 0) {
		err = -EAGAIN;
		fuse_session_exit(se);
	}
	while (!fuse_session_exited(se)) {
		struct timespec dl;

		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_nsec += IDLE_MS / 2 * 1000000L;
		dl.tv_sec += dl.tv_nsec / 1000000000L;
		dl.tv_nsec %= 1000000000L;
		/* EINTR: a signal that may have stopped the session */
		if (sem_timedwait(&l.finish, &dl) == 0)
			continue;
		long long now = mono_ms();
		unsigned asked = 0, idle = 0;
		pthread_mutex_lock(&l.lock);
		for (unsigned i = 0; i < l.n; i++) {
			struct worker *w = &l.ws[i];
			if (!atomic_load(&w->reading))
				continue;
			idle++;
			/* asked again at each turn while it still holds its
			 * buffer: another worker may have taken the wake-up */
			if (atomic_load(&w->touched) >= GIVE_BACK_MIN &&
			    now - atomic_load(&w->last_ms) >= IDLE_MS) {
				atomic_store(&w->give_back, 1);
				asked++;
			}
		}
		pthread_mutex_unlock(&l.lock);
		/* a request for each idle worker: the kernel hands each to
		 * the one that has waited longest, so every one of them
		 * reads one and looks at its give_back */
		struct statfs st;
		for (unsigned k = 0;
		     asked && k < idle && !fuse_session_exited(se); k++)
			statfs(l.mnt, &st);
	}
	pthread_mutex_lock(&l.lock);
	l.stopping = 1;
	for (unsigned i = 0; i < l.n; i++)
		pthread_cancel(l.ws[i].thread);
	pthread_mutex_unlock(&l.lock);
	for (unsigned i = 0; i < l.n; i++) {
		pthread_join(l.ws[i].thread, NULL);
		free(l.ws[i].buf.mem);
		if (l.ws[i].error && !err)
			err = l.ws[i].error;
	}
	pthread_mutex_destroy(&l.lock);
	sem_destroy(&l.finish);
	free(l.ws);
	fuse_session_reset(se);
	return err;
}
