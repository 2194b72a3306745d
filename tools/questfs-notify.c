/* SPDX-License-Identifier: GPL-2.0-or-later */
/* questfs-notify: desktop notifications of one user's own jobs. It follows
 * the log of a questfs mount and posts, with libnotify, why a program of
 * this user was refused or failed (and, on request, that one was
 * delivered). FUSE gives no inotify events, so it looks at the log's size
 * once per interval: one stat(2), and a read only when the log grew. It
 * holds nothing open on the mount between looks, so that the mount can go
 * away (unmount) and come back; then it reads the new mount's log whole. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glib-unix.h>
#include <libnotify/notify.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "logline.h"
#include "num.h"

#define DEFAULTS_FILE	 "/etc/default/questfs"
#define FUSE_SUPER_MAGIC 0x65735546
#define MAX_LINE	 4096

static const char *prog = "questfs-notify";

struct follow {
	char *mnt, *log;
	dev_t dev;	     /* the mount whose log is followed; 0: none now */
	int started;	     /* a mount was seen: one that comes later is new */
	off_t off;	     /* read up to here (always after a newline) */
	char last[MAX_LINE]; /* the last line read, to find it again */
	char last_stamp[32];
	/* options */
	int delivered;
	unsigned expire_ms;
	uid_t uid;
	unsigned long long shown; /* notifications posted */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTION]... [MOUNTPOINT]\n"
		"Post a desktop notification when one of your programs is "
		"refused or fails\non the questfs mount MOUNTPOINT (default: "
		"QUESTFS_MOUNTPOINT of\n" DEFAULTS_FILE ", else /quest).\n\n"
		"  -d, --delivered      also when a program was delivered\n"
		"  -e, --expire SEC     notifications expire after SEC seconds "
		"(default 10)\n"
		"  -i, --interval MS    look at the log every MS milliseconds "
		"(default 1000)\n"
		"  -h, --help           this help\n"
		"  -V, --version        the version\n",
		prog);
}

/* QUESTFS_MOUNTPOINT=... of the units' options file, the last one wins,
 * quotes taken off as the shell would for a plain value; NULL: none */
static char *mount_from_defaults(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024], *found = NULL;

	if (!f)
		return NULL;
	while (fgets(line, sizeof line, f)) {
		char *v = line;
		while (*v == ' ' || *v == '\t')
			v++;
		if (strncmp(v, "QUESTFS_MOUNTPOINT=", 19))
			continue;
		v += 19;
		v[strcspn(v, "\r\n")] = '\0';
		size_t n = strlen(v);
		if (n >= 2 && (v[0] == '"' || v[0] == '\'') &&
		    v[n - 1] == v[0]) {
			v[n - 1] = '\0';
			v++;
		}
		if (*v) {
			free(found);
			found = strdup(v);
		}
	}
	fclose(f);
	return found;
}

static void post(struct follow *fw, const char *summary, const char *body,
		 NotifyUrgency urgency, const char *category, const char *icon)
{
	/* D-Bus carries UTF-8 only: a name cut at the end of its buffer may
	 * end inside a character. The body may be markup: a name or reason
	 * shows as written. */
	char *sum = g_utf8_make_valid(summary, -1);
	char *valid = g_utf8_make_valid(body, -1);
	char *text = g_markup_escape_text(valid, -1);
	NotifyNotification *n = notify_notification_new(sum, text, icon);
	GError *err = NULL;

	notify_notification_set_timeout(n, (gint)fw->expire_ms);
	/* not critical: notification daemons keep critical ones until they
	 * are clicked away, and refusals would pile up */
	notify_notification_set_urgency(n, urgency);
	notify_notification_set_category(n, category);
	notify_notification_set_app_name(n, "questfs");
	if (!notify_notification_show(n, &err)) {
		/* no notification service: the session's log still has it */
		fprintf(stderr, "%s: %s: %s (no notification: %s)\n", prog,
			summary, body, err->message);
		g_error_free(err);
	} else {
		fw->shown++;
	}
	g_object_unref(n);
	g_free(text);
	g_free(valid);
	g_free(sum);
}

/* A plain sentence first, the technical reason after it (the body): what
 * a desktop user reads of a refusal. quest-run's plain() says the same. */
static void plain(const struct qlogl *l, char *out, size_t n)
{
	const char *d = l->detail;

	if (l->kind == QLOGL_FAILED)
		snprintf(out, n, "%s could not be sent to Quest", l->name);
	else if (!strncmp(d, "refused by the Quest side", 25))
		snprintf(out, n, "%s was refused by the Quest side", l->name);
	else if (!strncmp(d, "program is more than", 20))
		snprintf(out, n, "%s is too large to run on Quest", l->name);
	else if (!strncmp(d, "argument", 8))
		snprintf(out, n,
			 "%s was not run: Quest cannot take its arguments",
			 l->name);
	else
		snprintf(out, n, "%s is not a Quest program", l->name);
}

static void line(struct follow *fw, const char *s, size_t n)
{
	struct qlogl l;
	char summary[1200];

	if (qlogl_parse(s, n, &l) || l.uid < 0 || (uid_t)l.uid != fw->uid)
		return;
	switch (l.kind) {
	case QLOGL_REFUSED:
	case QLOGL_FAILED:
		plain(&l, summary, sizeof summary);
		post(fw, summary, l.detail, NOTIFY_URGENCY_NORMAL,
		     "transfer.error", "dialog-error");
		break;
	case QLOGL_DELIVERED:
		if (!fw->delivered)
			break;
		snprintf(summary, sizeof summary, "%s runs on Quest", l.name);
		post(fw, summary, "taken by the Quest side", NOTIFY_URGENCY_LOW,
		     "transfer.complete", "dialog-information");
		break;
	default:
		break;
	}
}

static void remember(struct follow *fw, const char *s, size_t n)
{
	if (n >= sizeof fw->last)
		n = sizeof fw->last - 1;
	memcpy(fw->last, s, n);
	fw->last[n] = '\0';
	size_t k = strcspn(fw->last, " ");
	if (k < sizeof fw->last_stamp) {
		memcpy(fw->last_stamp, fw->last, k);
		fw->last_stamp[k] = '\0';
	}
}

/* Lines of buf[0..len) up to its last newline; returns the bytes used.
 * resync: the log lost its oldest half (questfs keeps it under log_max),
 * so the lines already read are skipped: those up to the last one read,
 * or, when it went too, those not newer than it. */
static size_t lines(struct follow *fw, const char *buf, size_t len, int resync)
{
	size_t used = 0, skip_to = 0;

	if (resync && fw->last[0]) {
		size_t k = strlen(fw->last);
		for (size_t p = 0; p + k < len;) {
			const char *nl = memchr(buf + p, '\n', len - p);
			if (!nl)
				break;
			size_t e = (size_t)(nl - buf) + 1;
			if (e - p - 1 == k && !memcmp(buf + p, fw->last, k))
				skip_to = e;
			p = e;
		}
	}
	while (used < len) {
		const char *nl = memchr(buf + used, '\n', len - used);
		if (!nl)
			break;
		size_t n = (size_t)(nl - (buf + used));
		const char *s = buf + used;
		int old = used < skip_to;
		if (resync && !skip_to && fw->last_stamp[0]) {
			size_t k = strlen(fw->last_stamp);
			old = n >= k && memcmp(s, fw->last_stamp, k) <= 0;
		}
		if (!old)
			line(fw, s, n);
		remember(fw, s, n);
		used += n + 1;
	}
	return used;
}

/* Reads the log from fw->off to its end; resync: see lines() */
static void read_log(struct follow *fw, int resync)
{
	int fd = open(fw->log, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	size_t len = 0, cap = 0;
	off_t at = fw->off;

	if (fd < 0)
		return;
	for (;;) {
		if (cap - len < 65536) {
			char *p = realloc(buf, cap + 65536);
			if (!p)
				break;
			buf = p;
			cap += 65536;
		}
		ssize_t r = pread(fd, buf + len, cap - len, at);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		at += r;
	}
	close(fd);
	if (buf)
		fw->off += (off_t)lines(fw, buf, len, resync);
	free(buf);
}

static int is_fuse(const char *path)
{
	struct statfs sf;
	return statfs(path, &sf) == 0 && sf.f_type == FUSE_SUPER_MAGIC;
}

static gboolean tick(gpointer data)
{
	struct follow *fw = data;
	struct stat st;
	int resync = 0;

	if (stat(fw->log, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fw->dev)
			fprintf(stderr,
				"%s: %s is gone; waiting for it to come back\n",
				prog, fw->mnt);
		fw->dev = 0;
		return G_SOURCE_CONTINUE;
	}
	if (st.st_dev != fw->dev) {
		if (!is_fuse(fw->log))
			return G_SOURCE_CONTINUE;
		/* a mount seen at start: what it logged before is old news.
		 * One that came later: all of its log is news. */
		fw->off = fw->started ? 0 : st.st_size;
		fprintf(stderr, "%s: following %s%s\n", prog, fw->log,
			fw->started ? " again" : "");
		fw->dev = st.st_dev;
		fw->started = 1;
		fw->last[0] = fw->last_stamp[0] = '\0';
	}
	if (st.st_size < fw->off) {
		fw->off = 0;
		resync = 1;
	}
	if (st.st_size > fw->off)
		read_log(fw, resync);
	return G_SOURCE_CONTINUE;
}

static gboolean on_signal(gpointer loop)
{
	g_main_loop_quit(loop);
	return G_SOURCE_REMOVE;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"delivered", no_argument, NULL, 'd'},
	    {"expire", required_argument, NULL, 'e'},
	    {"interval", required_argument, NULL, 'i'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct follow fw = {.expire_ms = 10000, .uid = getuid()};
	unsigned long long v, interval = 1000;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "de:i:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			fw.delivered = 1;
			break;
		case 'e':
			if (qnum_parse(optarg, 86400, &v) || v == 0) {
				fprintf(stderr,
					"%s: --expire takes 1 to 86400 "
					"seconds, not '%s'\n",
					prog, optarg);
				return 2;
			}
			fw.expire_ms = (unsigned)v * 1000;
			break;
		case 'i':
			if (qnum_parse(optarg, 60000, &v) || v < 10) {
				fprintf(stderr,
					"%s: --interval takes 10 to 60000 "
					"milliseconds, not '%s'\n",
					prog, optarg);
				return 2;
			}
			interval = v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("questfs-notify %s\n", QUEST_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind > 1) {
		usage(stderr);
		return 2;
	}
	if (optind < argc) {
		fw.mnt = strdup(argv[optind]);
	} else {
		const char *d = getenv("QUESTFS_DEFAULTS");
		fw.mnt = mount_from_defaults(d && *d ? d : DEFAULTS_FILE);
		if (!fw.mnt)
			fw.mnt = strdup("/quest");
	}
	if (!fw.mnt || asprintf(&fw.log, "%s/log", fw.mnt) < 0) {
		fw.log = NULL; /* asprintf leaves it undefined on failure */
		fprintf(stderr, "%s: out of memory\n", prog);
		goto out;
	}
	if (!notify_init("questfs")) {
		fprintf(stderr, "%s: cannot initialise libnotify\n", prog);
		goto out;
	}
	GMainLoop *loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGTERM, on_signal, loop);
	g_unix_signal_add(SIGINT, on_signal, loop);
	g_unix_signal_add(SIGHUP, on_signal, loop);
	tick(&fw);
	if (!fw.dev)
		fprintf(stderr, "%s: %s is not mounted (yet); waiting for it\n",
			prog, fw.mnt);
	g_timeout_add((guint)interval, tick, &fw);
	g_main_loop_run(loop);
	g_main_loop_unref(loop);
	notify_uninit();
	rc = 0;
out:
	free(fw.log);
	free(fw.mnt);
	return rc;
}
