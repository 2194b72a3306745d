/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Per-user counts (quota.h): a hash table of uids with its own lock, a
 * leaf under every other lock of questfs. Users whose counts are all zero
 * keep their entry: there are few users on a machine. */
#include "quota.h"

#include <pthread.h>
#include <stdlib.h>

struct entry {
	uid_t uid;
	struct qquota_use use;
	struct entry *next;
};

#define NBUCKETS 64

struct qquota {
	pthread_mutex_t lock;
	struct entry *b[NBUCKETS];
};

struct qquota *qquota_new(void)
{
	struct qquota *qq = calloc(1, sizeof *qq);
	if (qq)
		pthread_mutex_init(&qq->lock, NULL);
	return qq;
}

void qquota_free(struct qquota *qq)
{
	if (!qq)
		return;
	for (size_t i = 0; i < NBUCKETS; i++)
		while (qq->b[i]) {
			struct entry *e = qq->b[i];
			qq->b[i] = e->next;
			free(e);
		}
	pthread_mutex_destroy(&qq->lock);
	free(qq);
}

static struct entry *find(struct qquota *qq, uid_t uid, int make)
{
	struct entry **b = &qq->b[uid % NBUCKETS], *e;

	for (e = *b; e; e = e->next)
		if (e->uid == uid)
			return e;
	if (!make || !(e = calloc(1, sizeof *e)))
		return NULL;
	e->uid = uid;
	e->next = *b;
	*b = e;
	return e;
}

static void bump(size_t *v, long d)
{
	if (d < 0 && (size_t)-d > *v)
		*v = 0;
	else
		*v += (size_t)d;
}

void qquota_add(struct qquota *qq, uid_t uid, struct qquota_delta d)
{
	if (!qq)
		return;
	pthread_mutex_lock(&qq->lock);
	struct entry *e = find(qq, uid, 1);
	if (e) {
		bump(&e->use.files, d.files);
		bump(&e->use.bytes, d.bytes);
		bump(&e->use.jobs, d.jobs);
		bump(&e->use.held, d.held);
	}
	pthread_mutex_unlock(&qq->lock);
}

void qquota_get(struct qquota *qq, uid_t uid, struct qquota_use *out)
{
	struct qquota_use zero = {0};

	*out = zero;
	if (!qq)
		return;
	pthread_mutex_lock(&qq->lock);
	struct entry *e = find(qq, uid, 0);
	if (e)
		*out = e->use;
	pthread_mutex_unlock(&qq->lock);
}
