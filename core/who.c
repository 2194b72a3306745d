/* SPDX-License-Identifier: GPL-2.0-or-later */
/* User names for status and log. A launch asks for its user's name; the
 * password database is read again only when the answer is older than a few
 * seconds, so that a burst of launches costs one lookup, and a renamed user
 * shows under the new name soon after. */
#include "who.h"

#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define CACHE_N	  16
#define CACHE_SEC 10

static struct {
	uid_t uid;
	time_t at; /* CLOCK_MONOTONIC seconds; 0: empty */
	char name[QWHO_NAME_MAX];
} cache[CACHE_N];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static time_t mono_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + 1; /* never 0, which marks an empty entry */
}

static void lookup(uid_t uid, char *dst, size_t n)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res &&
	    strlen(res->pw_name) < QWHO_NAME_MAX)
		snprintf(dst, n, "%s", res->pw_name);
	else
		snprintf(dst, n, "%lu", (unsigned long)uid);
}

void qwho_name(uid_t uid, char *dst, size_t n)
{
	char name[QWHO_NAME_MAX];
	time_t now = mono_sec();
	unsigned slot = (unsigned)uid % CACHE_N;

	pthread_mutex_lock(&cache_lock);
	int hit = cache[slot].at && cache[slot].uid == uid &&
		  now - cache[slot].at < CACHE_SEC;
	if (hit)
		memcpy(name, cache[slot].name, sizeof name);
	pthread_mutex_unlock(&cache_lock);
	if (!hit) {
		/* unlocked: NSS may be slow, and is thread-safe */
		lookup(uid, name, sizeof name);
		pthread_mutex_lock(&cache_lock);
		cache[slot].uid = uid;
		cache[slot].at = now;
		memcpy(cache[slot].name, name, sizeof name);
		pthread_mutex_unlock(&cache_lock);
	}
	snprintf(dst, n, "%s", name);
}
