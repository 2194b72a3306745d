/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /quest/status (a text table for people) and /quest/status.json (the same
 * data with stable keys, for scripts), rendered whole at open so that a
 * reader always sees one consistent snapshot. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "escape.h"
#include "questfs.h"

struct snapshot {
	struct qjobs_summary sum;
	unsigned writing;
	size_t writing_bytes;
};

static void take(struct qfs *fs, struct snapshot *s)
{
	memset(s, 0, sizeof *s);
	qjobs_summary(fs->jobs, &s->sum);
	pthread_mutex_lock(&fs->lock);
	for (struct qfile *f = fs->files; f; f = f->next)
		s->writing += f->name && f->launch.writers;
	s->writing_bytes = fs->writing_bytes;
	pthread_mutex_unlock(&fs->lock);
}

static void fmt_time(int64_t ms, const char *fmt, char *dst, size_t n)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(dst, n, fmt, &tm);
}

static void iso(int64_t ms, char *dst, size_t n)
{
	char s[32];
	fmt_time(ms, "%Y-%m-%dT%H:%M:%S", s, sizeof s);
	snprintf(dst, n, "%s.%03dZ", s, (int)(ms % 1000));
}

/* ---- text ---- */

/* What users named, escaped (escape.h): none of it can forge a line,
 * reach a terminal, or break JSON. */
struct shown {
	char user[QESC_SIZE(QWHO_NAME_MAX)];
	char name[QESC_SIZE(QJOB_NAME_MAX + 1)];
	char args[QESC_SIZE(4 * QARGV_MAX)];
	char detail[QESC_SIZE(QERR_MSG_MAX)];
};

/* hide: the reader is neither the job's user nor all-seeing, and reads
 * no reason that quotes the arguments */
static void show(const struct qjob_info *j, int hide, struct shown *s)
{
	qesc_str(j->user, s->user, sizeof s->user);
	qesc_str(j->name, s->name, sizeof s->name);
	qesc_str(j->args, s->args, sizeof s->args);
	qesc_str(hide && qerr_quotes_args(j->code) ? QFS_HIDDEN_REASON
						   : j->detail,
		 s->detail, sizeof s->detail);
}

struct render {
	void *out; /* FILE *, or the JSON array */
	uid_t reader;
	int all; /* the reader sees every job's arguments */
};

#define HIDDEN "(hidden)"

static void row(void *ctx, const struct qjob_info *j)
{
	struct render *r = ctx;
	FILE *f = r->out;
	struct shown s;
	char t[16];

	show(j, !r->all && j->uid != r->reader, &s);
	if (!r->all && j->uid != r->reader && s.args[0])
		snprintf(s.args, sizeof s.args, HIDDEN);
	fmt_time(j->t_state_ms, "%H:%M:%S", t, sizeof t);
	fprintf(f, "%-5llu %-9s %-10s %-24s %7zu  %s  %s\n",
		(unsigned long long)j->id, qjob_state_name(j->state), s.user,
		s.name, j->size, t, s.args);
	/* the reason on a line of its own: it is often long */
	if (j->detail[0])
		fprintf(f, "      %s\n", s.detail);
}

char *qfs_status_text(struct qfs *fs, uid_t reader, size_t *len)
{
	struct render r = {NULL, reader, qfs_sees_all(fs, reader)};
	struct snapshot s;
	char *buf = NULL, since[40], pname[4 * sizeof s.sum.peer.name];
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	take(fs, &s);
	/* a vshm: receiver names itself: escaped like every name */
	qesc_str(s.sum.peer.name, pname, sizeof pname);
	fprintf(f, "questfs %s\n", QUEST_VERSION);
	fprintf(f,
		"channel     %s, slot %zu bytes, largest program %zu bytes\n",
		fs->jcfg.spec, fs->jcfg.chan.slot_size, fs->jcfg.prof.max_size);
	if (!s.sum.peer.known)
		fprintf(f, "quest side  unknown (the %s channel cannot tell)\n",
			fs->jcfg.spec);
	else if (s.sum.peer.attached) {
		fmt_time(s.sum.peer.since_ms, "%Y-%m-%d %H:%M:%S UTC", since,
			 sizeof since);
		if (s.sum.peer.pid)
			fprintf(f, "quest side  attached (pid %ld) since %s\n",
				(long)s.sum.peer.pid, since);
		else
			fprintf(f,
				"quest side  attached (%s, epoch %lu) since "
				"%s\n",
				pname, (unsigned long)s.sum.peer.epoch, since);
	} else if (s.sum.peer.unseen_ms)
		fprintf(f,
			"quest side  not seen for %lld s (%s, epoch %lu): "
			"programs wait in the queue\n",
			(long long)(s.sum.peer.unseen_ms / 1000), pname,
			(unsigned long)s.sum.peer.epoch);
	else
		fprintf(
		    f,
		    "quest side  not attached: programs wait in the queue\n");
	fprintf(f,
		"jobs        writing %u, queued %u, sending %u, delivered %u, "
		"refused %u, failed %u\n",
		s.writing, s.sum.count[QJ_QUEUED], s.sum.count[QJ_SENDING],
		s.sum.count[QJ_DELIVERED], s.sum.count[QJ_REFUSED],
		s.sum.count[QJ_FAILED]);
	if (s.sum.spool_problems)
		fprintf(f,
			"spool       %s: %u problems found at start, see the "
			"log\n",
			fs->jcfg.spool, s.sum.spool_problems);
	fprintf(f, "held        %zu of %lu bytes\n\n",
		s.sum.held_bytes + s.writing_bytes, fs->o.max_bytes);
	fprintf(f, "%-5s %-9s %-10s %-24s %7s  %-8s  %s\n", "ID", "STATE",
		"USER", "NAME", "SIZE", "TIME", "ARGS");
	r.out = f;
	qjobs_foreach(fs->jobs, row, &r);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- JSON ---- */

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void add_int(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

/* The strings are escaped as in status: valid UTF-8 whatever the bytes
 * of a name, so the document stays valid JSON (json-c copies bytes). */
static void json_row(void *ctx, const struct qjob_info *j)
{
	struct render *r = ctx;
	json_object *o = json_object_new_object();
	struct shown s;
	char t[40];
	int hide = !r->all && j->uid != r->reader;

	show(j, hide, &s);

	add_int(o, "id", (int64_t)j->id);
	add_str(o, "state", qjob_state_name(j->state));
	add_int(o, "uid", (int64_t)j->uid);
	add_str(o, "user", s.user);
	add_str(o, "name", s.name);
	add_int(o, "size", (int64_t)j->size);
	if (hide) /* another user's: null, whether or not there were any */
		json_object_object_add(o, "args", NULL);
	else
		add_str(o, "args", s.args);
	iso(j->t_launch_ms, t, sizeof t);
	add_str(o, "launched", t);
	iso(j->t_state_ms, t, sizeof t);
	add_str(o, "changed", t);
	add_str(o, "code", qerr_name(j->code));
	add_str(o, "detail", s.detail);
	json_object_array_add(r->out, o);
}

char *qfs_status_json(struct qfs *fs, uid_t reader, size_t *len)
{
	struct render r = {NULL, reader, qfs_sees_all(fs, reader)};
	struct snapshot s;
	json_object *root = json_object_new_object(), *o;
	char t[40];

	take(fs, &s);
	add_str(root, "version", QUEST_VERSION);
	o = json_object_new_object();
	add_str(o, "spec", fs->jcfg.spec);
	add_int(o, "slot_size", (int64_t)fs->jcfg.chan.slot_size);
	add_int(o, "max_program", (int64_t)fs->jcfg.prof.max_size);
	json_object_object_add(root, "channel", o);

	o = json_object_new_object();
	json_object_object_add(o, "known",
			       json_object_new_boolean(s.sum.peer.known));
	json_object_object_add(o, "attached",
			       json_object_new_boolean(s.sum.peer.attached));
	add_int(o, "pid", s.sum.peer.pid);
	if (s.sum.peer.name[0]) {
		char pname[4 * sizeof s.sum.peer.name];
		qesc_str(s.sum.peer.name, pname, sizeof pname);
		add_str(o, "name", pname);
	}
	if (s.sum.peer.epoch)
		add_int(o, "epoch", s.sum.peer.epoch);
	if (s.sum.peer.unseen_ms)
		add_int(o, "unseen_s", s.sum.peer.unseen_ms / 1000);
	if (s.sum.peer.attached && s.sum.peer.since_ms) {
		iso(s.sum.peer.since_ms, t, sizeof t);
		add_str(o, "since", t);
	} else {
		json_object_object_add(o, "since", NULL);
	}
	json_object_object_add(root, "quest_side", o);

	o = json_object_new_object();
	add_int(o, "writing", s.writing);
	for (int i = 0; i < QJ__COUNT; i++)
		add_int(o, qjob_state_name(i), s.sum.count[i]);
	json_object_object_add(root, "counts", o);
	add_int(root, "held_bytes",
		(int64_t)(s.sum.held_bytes + s.writing_bytes));
	add_int(root, "max_bytes", (int64_t)fs->o.max_bytes);
	add_int(root, "spool_problems", s.sum.spool_problems);

	o = json_object_new_array();
	r.out = o;
	qjobs_foreach(fs->jobs, json_row, &r);
	json_object_object_add(root, "jobs", o);

	const char *txt = json_object_to_json_string_ext(
	    root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
		      JSON_C_TO_STRING_NOSLASHESCAPE);
	char *out = NULL;
	if (txt) {
		*len = strlen(txt) + 1;
		out = malloc(*len);
		if (out) {
			memcpy(out, txt, *len - 1);
			out[*len - 1] = '\n';
		}
	}
	json_object_put(root);
	return out;
}
