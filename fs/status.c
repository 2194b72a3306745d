/* /quest/status (a text table for people) and /quest/status.json (the same
 * data with stable keys, for scripts), rendered whole at open so that a
 * reader always sees one consistent snapshot. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
		s->writing += f->name && f->ls.writers;
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

static void row(void *ctx, const struct qjob_info *j)
{
	FILE *f = ctx;
	char t[16];

	fmt_time(j->t_state_ms, "%H:%M:%S", t, sizeof t);
	fprintf(f, "%-5llu %-9s %-24s %7zu  %s  %s\n",
		(unsigned long long)j->id, qjob_state_name(j->state), j->name,
		j->size, t, j->args);
	/* the reason on a line of its own: it is often long */
	if (j->detail[0])
		fprintf(f, "      %s\n", j->detail);
}

char *qfs_status_text(struct qfs *fs, size_t *len)
{
	struct snapshot s;
	char *buf = NULL, since[40];
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	take(fs, &s);
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
		fprintf(f, "quest side  attached (pid %ld) since %s\n",
			(long)s.sum.peer.pid, since);
	} else
		fprintf(
		    f,
		    "quest side  not attached: programs wait in the queue\n");
	fprintf(f,
		"jobs        writing %u, queued %u, sending %u, delivered %u, "
		"refused %u, failed %u\n",
		s.writing, s.sum.count[QJ_QUEUED], s.sum.count[QJ_SENDING],
		s.sum.count[QJ_DELIVERED], s.sum.count[QJ_REFUSED],
		s.sum.count[QJ_FAILED]);
	fprintf(f, "held        %zu of %lu bytes\n\n",
		s.sum.held_bytes + s.writing_bytes, fs->o.max_bytes);
	fprintf(f, "%-5s %-9s %-24s %7s  %-8s  %s\n", "ID", "STATE", "NAME",
		"SIZE", "TIME", "ARGS");
	qjobs_foreach(fs->jobs, row, f);
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

static void json_row(void *ctx, const struct qjob_info *j)
{
	json_object *o = json_object_new_object();
	char t[40];

	add_int(o, "id", (int64_t)j->id);
	add_str(o, "state", qjob_state_name(j->state));
	add_str(o, "name", j->name);
	add_int(o, "size", (int64_t)j->size);
	add_str(o, "args", j->args);
	iso(j->t_launch_ms, t, sizeof t);
	add_str(o, "launched", t);
	iso(j->t_state_ms, t, sizeof t);
	add_str(o, "changed", t);
	add_str(o, "code", qerr_name(j->code));
	add_str(o, "detail", j->detail);
	json_object_array_add(ctx, o);
}

char *qfs_status_json(struct qfs *fs, size_t *len)
{
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

	o = json_object_new_array();
	qjobs_foreach(fs->jobs, json_row, o);
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
