/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Jobs: launch order, one sender at a time (the sender thread, or the
 * committer of the next job when nothing else is being sent), states with
 * times and reasons, and the log of every state change. One mutex guards
 * it all; the channel and the spool are used only with it released. */
#include "jobs.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "escape.h"
#include "imgbuf.h"
#include "program.h"
#include "spool.h"

struct job {
	struct qjob_info info;
	uint8_t hdr[QPKT_HDR_SIZE];
	uint8_t *image; /* a buffer of q->images; NULL once the job ended */
	size_t len;
	int waiting_logged;
	/* begun, not yet committed: its image is the committer's to read,
	 * and nothing after it is sent before it */
	int pending;
	struct qargv uargs; /* the user's words, until the commit */
	int in_active;
	struct job *prev, *next;   /* every kept job, in launch order */
	struct job *aprev, *anext; /* the active ones (queued, sending) */
};

struct log_span {
	size_t off, len; /* in the log */
	uid_t uid;
};

struct qjobs {
	struct qjobs_cfg cfg;
	char *spec, *spool;
	struct qchan *ch;
	struct qspool *sp;
	struct qquota *quota;
	struct qimg_pool *images; /* every program's buffer (imgbuf.h) */
	/* Guards every field below and every struct job. Taken after
	 * questfs's tree lock, never before it; takes no other lock but
	 * the quota's (core/quota.c), a leaf.
	 * Released across a channel send, a spool call, a commit's checks
	 * and malloc_trim (DESIGN.md §10). */
	pthread_mutex_t lock;
	pthread_cond_t work;	  /* a job was queued, or stop */
	pthread_cond_t committed; /* the last commit in flight ended */
	pthread_t sender;
	int stopping, stopped;
	int sending;	  /* a job is being sent (sender or its committer) */
	int peer_ok;	  /* the last send reached a receiver */
	int commit_sends; /* cfg.commit_sends, and the channel allows it */
	struct job *head, *tail;   /* every kept job, in launch order */
	struct job *ahead, *atail; /* the active ones, in launch order */
	unsigned finished;	   /* kept jobs that have ended */
	unsigned active;	   /* queued + sending */
	unsigned committing;	   /* commits in flight */
	size_t held;		   /* program bytes held by active jobs */
	size_t held_peak;	   /* the most held since the queue drained */
	unsigned active_peak;	   /* the most active since then */
	uint64_t next_id;
	int64_t started_ms;
	int64_t last_launch_ms; /* the last qjobs_begin */
	int untrimmed; /* launches or listings since the last give-back */
	unsigned spool_problems; /* reported while loading the spool */
	char *log;
	size_t log_len, log_cap;
	/* where the log holds a job's arguments, whose they are: masked for
	 * readers who are neither their user nor all-seeing */
	struct log_span *spans;
	size_t nspans, capspans;
	time_t stamp_sec; /* the second that stamp[] spells */
	char stamp[24];	  /* "YYYY-MM-DDTHH:MM:SS" */
};

/* bytes held, or jobs queued, at the peak of a burst past which its
 * memory is given back once it has drained */
#define TRIM_AT	  (8u << 20)
#define TRIM_JOBS 256
/* the warm program buffers go back to the system once no program has come
 * for this long and none is queued */
#define IDLE_GIVE_BACK_MS 2000

static const char *const state_names[QJ__COUNT] = {
    [QJ_QUEUED] = "queued",	  [QJ_SENDING] = "sending",
    [QJ_DELIVERED] = "delivered", [QJ_REFUSED] = "refused",
    [QJ_FAILED] = "failed",
};

const char *qjob_state_name(enum qjob_state s)
{
	return (unsigned)s < QJ__COUNT ? state_names[s] : "unknown";
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void qjobs_cfg_default(struct qjobs_cfg *c)
{
	memset(c, 0, sizeof *c);
	c->spec = QCHAN_SPEC_DEFAULT;
	qchan_opts_default(&c->chan);
	qelf_profile_default(&c->prof);
	c->send_timeout_ms = QJOBS_SEND_TIMEOUT_MS_DEFAULT;
	c->max_queue = QJOBS_MAX_QUEUE_DEFAULT;
	c->max_bytes = QJOBS_MAX_BYTES_DEFAULT;
	c->history = QJOBS_HISTORY_DEFAULT;
	c->log_max = QJOBS_LOG_MAX_DEFAULT;
	c->user_max_queue = QJOBS_USER_MAX_QUEUE_DEFAULT;
	c->user_max_bytes = QJOBS_USER_MAX_BYTES_DEFAULT;
	c->user_max_files = QJOBS_USER_MAX_FILES_DEFAULT;
	c->admin = 0;
	c->argv0 = 1;
}

/* ---- log ---- */

/* 0 when the line is in, -1 when it was lost (out of memory) */
static int log_append_locked(struct qjobs *q, const char *line, size_t n)
{
	if (q->log_len + n > q->cfg.log_max && q->log_len) {
		/* drop the oldest half, at a line boundary */
		size_t cut = q->log_len / 2;
		char *nl = memchr(q->log + cut, '\n', q->log_len - cut);
		cut = nl ? (size_t)(nl - q->log) + 1 : q->log_len;
		memmove(q->log, q->log + cut, q->log_len - cut);
		q->log_len -= cut;
		size_t keep = 0;
		for (size_t i = 0; i < q->nspans; i++)
			if (q->spans[i].off >= cut) {
				q->spans[keep] = q->spans[i];
				q->spans[keep++].off -= cut;
			}
		q->nspans = keep;
	}
	if (q->log_len + n > q->log_cap) {
		size_t cap = q->log_cap ? q->log_cap : 4096;
		while (cap < q->log_len + n)
			cap *= 2;
		char *p = realloc(q->log, cap);
		if (!p)
			return -1; /* a lost log line is better than a lost
				      job */
		q->log = p;
		q->log_cap = cap;
	}
	memcpy(q->log + q->log_len, line, n);
	q->log_len += n;
	return 0;
}

/* Records that the log's bytes [off, off + len) are uid's arguments. A
 * span that cannot be recorded is masked for everyone: arguments never
 * show to the wrong reader. */
static void log_span_locked(struct qjobs *q, size_t off, size_t len, uid_t uid)
{
	if (q->nspans == q->capspans) {
		size_t cap = q->capspans ? 2 * q->capspans : 64;
		struct log_span *p = realloc(q->spans, cap * sizeof *p);
		if (!p) {
			memset(q->log + off, '*', len);
			return;
		}
		q->spans = p;
		q->capspans = cap;
	}
	q->spans[q->nspans++] = (struct log_span){off, len, uid};
}

/* Names, arguments and reasons in a line are the users': the whole line
 * is escaped (escape.h), so that none can forge a line or reach a
 * terminal through tail -f. */
static void vlog_priv_locked(struct qjobs *q, uid_t uid, const char *priv,
			     const char *fmt, va_list ap)
{
	char line[1024], raw[1024];
	size_t p0 = 0;
	int64_t ms = now_ms();
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	/* a few lines per launch: the date is spelt once a second */
	if (s != q->stamp_sec || !q->stamp[0]) {
		gmtime_r(&s, &tm);
		strftime(q->stamp, sizeof q->stamp, "%Y-%m-%dT%H:%M:%S", &tm);
		q->stamp_sec = s;
	}
	n = (size_t)snprintf(line, sizeof line, "%s.%03dZ ", q->stamp,
			     (int)(ms % 1000));
	int k = vsnprintf(raw, sizeof raw, fmt, ap);
	size_t rn = k < 0 ? 0 : (size_t)k;
	if (rn >= sizeof raw)
		rn = sizeof raw - 1;
	n += qesc(raw, rn, line + n, sizeof line - n - 1);
	if (priv) {
		p0 = n;
		n += qesc_str(priv, line + n, sizeof line - n - 1);
	}
	line[n++] = '\n';
	if (log_append_locked(q, line, n) == 0 && priv && n - 1 > p0)
		log_span_locked(q, q->log_len - n + p0, n - 1 - p0, uid);
}

static void vlog_locked(struct qjobs *q, const char *fmt, va_list ap)
{
	vlog_priv_locked(q, 0, NULL, fmt, ap);
}

/* A line whose end, priv, is uid's arguments (see qjobs_log_read_as). */
static void log_priv_locked(struct qjobs *q, uid_t uid, const char *priv,
			    const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void log_priv_locked(struct qjobs *q, uid_t uid, const char *priv,
			    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog_priv_locked(q, uid, priv, fmt, ap);
	va_end(ap);
}

static void log_locked(struct qjobs *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void log_locked(struct qjobs *q, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog_locked(q, fmt, ap);
	va_end(ap);
}

void qjobs_log(struct qjobs *q, const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&q->lock);
	va_start(ap, fmt);
	vlog_locked(q, fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&q->lock);
}

void qjobs_log_file(struct qjobs *q, uid_t uid, const char *name,
		    const char *what, const struct qerror *why)
{
	int priv = qerr_quotes_args(why->code);

	pthread_mutex_lock(&q->lock);
	log_priv_locked(q, uid, priv ? why->msg : NULL,
			"file uid=%lu run/%s %s: %s", (unsigned long)uid, name,
			what, priv ? "" : why->msg);
	pthread_mutex_unlock(&q->lock);
}

size_t qjobs_log_size(struct qjobs *q)
{
	pthread_mutex_lock(&q->lock);
	size_t n = q->log_len;
	pthread_mutex_unlock(&q->lock);
	return n;
}

size_t qjobs_log_read(struct qjobs *q, void *buf, size_t len, off_t off)
{
	return qjobs_log_read_as(q, 0, 1, buf, len, off);
}

size_t qjobs_log_read_as(struct qjobs *q, uid_t reader, int all, void *buf,
			 size_t len, off_t off)
{
	size_t n = 0, lo = 0, hi;

	pthread_mutex_lock(&q->lock);
	if (off >= 0 && (size_t)off < q->log_len) {
		n = q->log_len - (size_t)off;
		if (n > len)
			n = len;
		memcpy(buf, q->log + off, n);
	}
	/* the spans are in log order: the first that ends past off, then
	 * every one that begins before off + n */
	for (hi = q->nspans; !all && n && lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		if (q->spans[mid].off + q->spans[mid].len <= (size_t)off)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; !all && n && i < q->nspans; i++) {
		const struct log_span *sp = &q->spans[i];
		if (sp->off >= (size_t)off + n)
			break;
		if (sp->uid == reader)
			continue;
		size_t a = sp->off > (size_t)off ? sp->off : (size_t)off;
		size_t b = sp->off + sp->len < (size_t)off + n
			       ? sp->off + sp->len
			       : (size_t)off + n;
		memset((char *)buf + (a - (size_t)off), '*', b - a);
	}
	pthread_mutex_unlock(&q->lock);
	return n;
}

/* ---- jobs ---- */

static void log_state_locked(struct qjobs *q, const struct job *j)
{
	const struct qjob_info *i = &j->info;

	switch (i->state) {
	case QJ_QUEUED:
		log_priv_locked(q, i->uid, i->args[0] ? i->args : NULL,
				"job %llu uid=%lu %s queued: %zu bytes%s",
				(unsigned long long)i->id,
				(unsigned long)i->uid, i->name, i->size,
				i->args[0] ? ", args: " : "");
		break;
	case QJ_REFUSED:
	case QJ_FAILED:
		/* a reason that quotes the arguments is theirs to read */
		log_priv_locked(
		    q, i->uid, qerr_quotes_args(i->code) ? i->detail : NULL,
		    "job %llu uid=%lu %s %s: %s", (unsigned long long)i->id,
		    (unsigned long)i->uid, i->name, qjob_state_name(i->state),
		    qerr_quotes_args(i->code) ? "" : i->detail);
		break;
	default:
		log_locked(q, "job %llu uid=%lu %s %s",
			   (unsigned long long)i->id, (unsigned long)i->uid,
			   i->name, qjob_state_name(i->state));
		break;
	}
}

static void unlink_job(struct qjobs *q, struct job *j)
{
	*(j->prev ? &j->prev->next : &q->head) = j->next;
	*(j->next ? &j->next->prev : &q->tail) = j->prev;
}

/* Forget the oldest ended jobs beyond the history size. */
static void trim_locked(struct qjobs *q)
{
	for (struct job *j = q->head; j && q->finished > q->cfg.history;) {
		struct job *next = j->next;
		if (j->info.state >= QJ_DELIVERED) {
			unlink_job(q, j);
			qimg_put(q->images, j->image);
			free(j);
			q->finished--;
		}
		j = next;
	}
}

/* Counts a job as queued or sending, last in launch order. */
static void activate_locked(struct qjobs *q, struct job *j)
{
	j->in_active = 1;
	j->aprev = q->atail;
	*(q->atail ? &q->atail->anext : &q->ahead) = j;
	q->atail = j;
	q->active++;
	q->held += j->len;
	qquota_add(q->quota, j->info.uid,
		   (struct qquota_delta){.jobs = 1, .held = (long)j->len});
	if (q->held > q->held_peak)
		q->held_peak = q->held;
	if (q->active > q->active_peak)
		q->active_peak = q->active;
}

static void deactivate_locked(struct qjobs *q, struct job *j)
{
	*(j->aprev ? &j->aprev->anext : &q->ahead) = j->anext;
	*(j->anext ? &j->anext->aprev : &q->atail) = j->aprev;
	j->in_active = 0;
	q->active--;
	q->held -= j->len;
	qquota_add(q->quota, j->info.uid,
		   (struct qquota_delta){.jobs = -1, .held = -(long)j->len});
}

/* The spool entry of a job that ends here is the caller's to remove, once
 * the lock is released. */
static void set_state_locked(struct qjobs *q, struct job *j, enum qjob_state s,
			     const struct qerror *why)
{
	j->info.state = s;
	j->info.t_state_ms = now_ms();
	if (why) {
		j->info.code = why->code;
		snprintf(j->info.detail, sizeof j->info.detail, "%s", why->msg);
	} else if (s != QJ_QUEUED) {
		j->info.code = QE_OK;
		j->info.detail[0] = '\0';
	}
	if (s >= QJ_DELIVERED) {
		if (j->in_active)
			deactivate_locked(q, j);
		qimg_put(q->images, j->image);
		j->image = NULL;
		q->finished++;
	}
	log_state_locked(q, j);
	if (s >= QJ_DELIVERED)
		trim_locked(q);
}

/* user: uid's name, looked up by the caller before it took the lock */
static struct job *new_job_locked(struct qjobs *q, const char *name, size_t len,
				  uint64_t tag, uid_t uid, const char *user)
{
	struct job *j = calloc(1, sizeof *j);

	if (!j)
		return NULL;
	j->info.id = ++q->next_id;
	j->info.tag = tag;
	j->info.uid = uid;
	snprintf(j->info.user, sizeof j->info.user, "%s", user);
	snprintf(j->info.name, sizeof j->info.name, "%s", name);
	j->info.size = len;
	j->info.t_launch_ms = j->info.t_state_ms = now_ms();
	j->prev = q->tail;
	*(q->tail ? &q->tail->next : &q->head) = j;
	q->tail = j;
	return j;
}

/* What the spool keeps of a job (the header comes with the commit). */
static void spool_entry_locked(const struct job *j, struct qspool_entry *e)
{
	memset(e, 0, sizeof *e);
	e->id = j->info.id;
	e->t_launch_ms = j->info.t_launch_ms;
	e->image = j->image;
	e->len = j->len;
	e->uid = j->info.uid;
	snprintf(e->name, sizeof e->name, "%s", j->info.name);
	snprintf(e->args, sizeof e->args, "%s", j->info.args);
}

/* argv[0] (unless argv0=none), then the user's words. */
static enum qerr full_argv(const struct qjobs *q, const char *name,
			   const struct qargv *user, struct qargv *out,
			   struct qerror *err)
{
	enum qerr rc = qargs_init(out, q->cfg.argv0 ? name : NULL, err);
	size_t need = out->size + user->size;

	out->format = (enum qargv_format)q->cfg.argv_format;

	if (rc == QE_OK && need > QARGV_MAX)
		rc =
		    qerr_set(err, QE_ARGS_TOO_BIG,
			     "arguments take %zu bytes with the name; the argv "
			     "buffer holds %u",
			     need, QARGV_MAX);
	if (rc == QE_OK) {
		memcpy(out->buf + out->size, user->buf, user->size);
		out->size = need;
		out->argc += user->argc;
	}
	return rc;
}

/* From the newest: the jobs asked for are mostly recent ones. */
static struct job *find_locked(struct qjobs *q, uint64_t id)
{
	for (struct job *j = q->tail; j; j = j->prev)
		if (j->info.id == id)
			return j;
	return NULL;
}

uint64_t qjobs_record_refusal(struct qjobs *q, const char *name, size_t len,
			      uint64_t tag, uid_t uid, const struct qerror *why)
{
	char user[QWHO_NAME_MAX];
	uint64_t id = 0;

	qwho_name(uid, user, sizeof user);
	pthread_mutex_lock(&q->lock);
	struct job *j = new_job_locked(q, name, len, tag, uid, user);
	if (j) {
		id = j->info.id;
		set_state_locked(q, j, QJ_REFUSED, why);
	}
	pthread_mutex_unlock(&q->lock);
	return id;
}

enum qerr qjobs_room(struct qjobs *q, size_t len, struct qerror *err)
{
	enum qerr rc = QE_OK;

	pthread_mutex_lock(&q->lock);
	if (q->active >= q->cfg.max_queue)
		rc = qerr_set(err, QE_LIMIT,
			      "%u programs are waiting for the Quest side, the "
			      "most questfs queues (max_queue)",
			      q->active);
	else if (q->held + len > q->cfg.max_bytes)
		rc = qerr_set(
		    err, QE_LIMIT,
		    "queued programs hold %zu bytes; %zu more would pass "
		    "the limit of %zu (max_bytes)",
		    q->held, len, q->cfg.max_bytes);
	pthread_mutex_unlock(&q->lock);
	return rc;
}

/* root and questfs's own user answer to the global limits only */
static int limited(const struct qjobs *q, uid_t uid)
{
	return uid != 0 && uid != q->cfg.admin;
}

enum qerr qjobs_room_for(struct qjobs *q, uid_t uid, size_t user_len,
			 size_t len, struct qerror *err)
{
	struct qquota_use u;
	enum qerr rc = qjobs_room(q, len, err);

	if (rc != QE_OK || !limited(q, uid))
		return rc;
	qquota_get(q->quota, uid, &u);
	if (u.jobs >= q->cfg.user_max_queue)
		return qerr_set(
		    err, QE_LIMIT,
		    "uid %lu has %zu programs waiting for the Quest "
		    "side, the most one user queues "
		    "(user_max_queue)",
		    (unsigned long)uid, u.jobs);
	if (u.held + u.bytes + user_len > q->cfg.user_max_bytes)
		return qerr_set(err, QE_LIMIT,
				"uid %lu holds %zu bytes; %zu more would pass "
				"the limit of %zu per user (user_max_bytes)",
				(unsigned long)uid, u.held + u.bytes, user_len,
				q->cfg.user_max_bytes);
	return QE_OK;
}

enum qerr qjobs_room_file(struct qjobs *q, uid_t uid, struct qerror *err)
{
	struct qquota_use u;

	if (!limited(q, uid))
		return QE_OK;
	qquota_get(q->quota, uid, &u);
	if (u.files >= q->cfg.user_max_files)
		return qerr_set(err, QE_LIMIT,
				"uid %lu has %zu files in run/, the most one "
				"user may have (user_max_files)",
				(unsigned long)uid, u.files);
	return QE_OK;
}

struct qquota *qjobs_quota(struct qjobs *q)
{
	return q->quota;
}

uint8_t *qjobs_image(struct qjobs *q, size_t len)
{
	return qimg_get(q->images, len);
}

void qjobs_image_put(struct qjobs *q, uint8_t *image)
{
	qimg_put(q->images, image);
}

void qjobs_images(struct qjobs *q, struct qimg_stats *out)
{
	qimg_pool_stats(q->images, out);
}

int qjobs_get(struct qjobs *q, uint64_t id, struct qjob_info *out)
{
	pthread_mutex_lock(&q->lock);
	struct job *j = find_locked(q, id);
	if (j)
		*out = j->info;
	pthread_mutex_unlock(&q->lock);
	return j ? 0 : -1;
}

int qjobs_state(struct qjobs *q, uint64_t id, enum qjob_state *state,
		int64_t *t_state_ms)
{
	pthread_mutex_lock(&q->lock);
	struct job *j = find_locked(q, id);
	if (j) {
		*state = j->info.state;
		*t_state_ms = j->info.t_state_ms;
	}
	pthread_mutex_unlock(&q->lock);
	return j ? 0 : -1;
}

ssize_t qjobs_read(struct qjobs *q, uint64_t id, void *buf, size_t len,
		   off_t off)
{
	ssize_t n = -1;

	pthread_mutex_lock(&q->lock);
	struct job *j = find_locked(q, id);
	if (j && j->image) {
		n = 0;
		if (off >= 0 && (size_t)off < j->len) {
			size_t k = j->len - (size_t)off;
			n = (ssize_t)(k < len ? k : len);
			memcpy(buf, j->image + off, (size_t)n);
		}
	}
	pthread_mutex_unlock(&q->lock);
	return n;
}

void qjobs_summary(struct qjobs *q, struct qjobs_summary *out)
{
	memset(out, 0, sizeof *out);
	qchan_peer(q->ch, &out->peer);
	pthread_mutex_lock(&q->lock);
	for (struct job *j = q->head; j; j = j->next)
		out->count[j->info.state]++;
	out->held_bytes = q->held;
	out->launched = q->next_id;
	out->started_ms = q->started_ms;
	out->spool_problems = q->spool_problems;
	pthread_mutex_unlock(&q->lock);
}

void qjobs_foreach(struct qjobs *q,
		   void (*fn)(void *ctx, const struct qjob_info *j), void *ctx)
{
	pthread_mutex_lock(&q->lock);
	for (struct job *j = q->head; j; j = j->next)
		fn(ctx, &j->info);
	/* a listing of the history (status, status.json) allocates and
	 * frees 0.5-1 MB of small blocks: the idle give-back trims after it */
	q->untrimmed = 1;
	pthread_mutex_unlock(&q->lock);
}

/* ---- the sender ---- */

/* The next job to send, in launch order: none while the first one not yet
 * sent is still being committed. */
static struct job *next_to_send_locked(struct qjobs *q)
{
	for (struct job *j = q->ahead; j; j = j->anext) {
		if (j->pending)
			return NULL;
		if (j->info.state == QJ_QUEUED)
			return j;
	}
	return NULL;
}

/* Before a send: where the channel stands goes to the spool, so that after
 * a crash the packet is neither lost nor sent twice. */
static enum qerr mark_sending(struct qjobs *q, struct job *j, int *known,
			      struct qerror *err)
{
	struct qchan_mark m;

	*known = 0;
	if (!q->sp)
		return QE_OK;
	*known = qchan_mark(q->ch, &m) == 0;
	return qspool_mark(q->sp, j->info.id, *known ? &m : NULL, err);
}

/* Sends j, the next job in launch order, and records how it went (lock
 * held; released during the send, and once more for the spool and a
 * trim; q->sending set by the caller). premarked: its mark is in the
 * spool already, known (1) or not (0); NULL: marked here. The image of a
 * sending job is freed by its sender alone: safe unlocked. */
static void send_one_locked(struct qjobs *q, struct job *j,
			    const int *premarked)
{
	struct iovec iov[2] = {{j->hdr, sizeof j->hdr}, {j->image, j->len}};
	uint64_t id = j->info.id;
	struct qerror e;
	enum qerr r = QE_OK;
	int known = premarked ? *premarked : 0;

	set_state_locked(q, j, QJ_SENDING, NULL);
	pthread_mutex_unlock(&q->lock);
	if (!premarked)
		r = mark_sending(q, j, &known, &e);
	if (r == QE_OK)
		r = qchan_send(q->ch, iov, 2, q->cfg.send_timeout_ms, &e);
	pthread_mutex_lock(&q->lock);
	q->peer_ok = r == QE_OK || r == QE_CHAN_REFUSED;
	switch (r) {
	case QE_OK:
		set_state_locked(q, j, QJ_DELIVERED, NULL);
		break;
	case QE_CHAN_REFUSED:
		set_state_locked(q, j, QJ_REFUSED, &e);
		break;
	case QE_CHAN_NO_RECEIVER:
		/* none (any more): queued again, sent once one is */
		j->waiting_logged = 0;
		set_state_locked(q, j, QJ_QUEUED, NULL);
		break;
	default:
		set_state_locked(q, j, QJ_FAILED, &e);
		break;
	}
	/* A queue of many programs, drained: malloc keeps what it freed
	 * among the small blocks allocated meanwhile (a burst of 56 MB left
	 * questfs at 28-43 MB); give it back. */
	int trim = !q->active &&
		   (q->held_peak >= TRIM_AT || q->active_peak >= TRIM_JOBS);
	if (trim) {
		q->held_peak = 0;
		q->active_peak = 0;
	}
	if (!q->sp && !trim)
		return;
	/* j may be gone (history): only its id from here on. The lock is
	 * dropped a second time, once, for the spool and the trim. */
	pthread_mutex_unlock(&q->lock);
	if (q->sp && r == QE_CHAN_NO_RECEIVER)
		qspool_unmark(q->sp, id);
	else if (q->sp && known && r == QE_OK)
		/* with the next launch's record, one write for both: until
		 * then the channel's answer to the mark says it arrived */
		qspool_done_later(q->sp, id);
	else if (q->sp)
		qspool_done(q->sp, id);
	if (trim) {
		qimg_pool_drain(q->images);
		malloc_trim(0);
	}
	pthread_mutex_lock(&q->lock);
}

/* The sender thread's sleep while nothing is to be sent: once questfs has
 * been idle for IDLE_GIVE_BACK_MS (no launch, nothing queued), the warm
 * program buffers go back to the system, so that questfs idle holds none,
 * and so does what malloc keeps free: each launch allocates and frees its
 * small blocks (names, log lines, replies, the jobs history's turnover)
 * across two arenas, and 1 500 small launches left 1.3-1.6 MB of free
 * but touched pages in them, around 0.4 MB in use (malloc_info). */
static void idle_wait_locked(struct qjobs *q)
{
	struct qimg_stats st;
	struct timespec dl;
	int64_t now = now_ms(), due = q->last_launch_ms + IDLE_GIVE_BACK_MS;

	/* the done record of the last launch, if no launch took it along
	 * (qspool_done_later): written within IDLE_GIVE_BACK_MS */
	if (q->sp && now >= due) {
		pthread_mutex_unlock(&q->lock);
		qspool_flush(q->sp);
		pthread_mutex_lock(&q->lock);
	}
	qimg_pool_stats(q->images, &st);
	if ((st.warm || q->untrimmed) && !q->active && !q->committing &&
	    now >= due) {
		q->untrimmed = 0;
		pthread_mutex_unlock(&q->lock);
		qimg_pool_drain(q->images);
		malloc_trim(0);
		pthread_mutex_lock(&q->lock);
		return;
	}
	/* committers send without waking this thread: it looks again at
	 * least every IDLE_GIVE_BACK_MS */
	if (now >= due)
		due = now + IDLE_GIVE_BACK_MS;
	dl.tv_sec = (time_t)(due / 1000);
	dl.tv_nsec = (long)(due % 1000) * 1000000;
	pthread_cond_timedwait(&q->work, &q->lock, &dl);
}

/* The sender thread sends whatever its committer did not: every job while
 * no receiver has answered yet, or after one went away (it waits for the
 * next), and those that queue up while another is being sent. */
static void *sender_main(void *arg)
{
	struct qjobs *q = arg;
	struct qerror e;

	pthread_mutex_lock(&q->lock);
	while (!q->stopping) {
		struct job *j = next_to_send_locked(q);
		if (!j || q->sending) {
			idle_wait_locked(q);
			continue;
		}
		q->sending = 1;
		enum qerr r = QE_OK;
		if (!q->peer_ok) {
			pthread_mutex_unlock(&q->lock);
			r = qchan_wait_peer(q->ch, 500, &e);
			pthread_mutex_lock(&q->lock);
		}
		if (!q->stopping && r != QE_OK && !j->waiting_logged) {
			j->waiting_logged = 1;
			snprintf(j->info.detail, sizeof j->info.detail,
				 "waiting for the Quest side: %.220s", e.msg);
			log_locked(q, "job %llu uid=%lu %s waiting: %s",
				   (unsigned long long)j->info.id,
				   (unsigned long)j->info.uid, j->info.name,
				   e.msg);
		}
		if (!q->stopping && r == QE_OK)
			send_one_locked(q, j, NULL);
		q->sending = 0;
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

/* ---- launching ---- */

uint64_t qjobs_begin(struct qjobs *q, const char *name, uint8_t *image,
		     size_t len, const struct qargv *args, uint64_t tag,
		     uid_t uid)
{
	char user[QWHO_NAME_MAX];
	uint64_t id = 0;

	qwho_name(uid, user, sizeof user);
	pthread_mutex_lock(&q->lock);
	struct job *j = new_job_locked(q, name, len, tag, uid, user);
	if (j) {
		id = j->info.id;
		q->last_launch_ms = j->info.t_launch_ms;
		q->untrimmed = 1;
		j->pending = 1;
		j->image = image;
		j->len = len;
		j->uargs = *args;
		qargs_format(args, 0, j->info.args, sizeof j->info.args);
		activate_locked(q, j);
		q->committing++;
	}
	pthread_mutex_unlock(&q->lock);
	if (!j)
		qimg_put(q->images, image);
	return id;
}

/* j, still being committed, is next in launch order: no job ahead of it
 * waits to be sent or is being committed. */
static int first_unsent_locked(struct qjobs *q, const struct job *j)
{
	for (const struct job *a = q->ahead; a; a = a->anext) {
		if (a == j)
			return 1;
		if (a->pending || a->info.state == QJ_QUEUED)
			return 0;
	}
	return 0;
}

enum qerr qjobs_commit(struct qjobs *q, uint64_t id, struct qerror *err)
{
	struct qerror e = {0};
	struct qspool_entry se;
	struct qargv argv, user;
	struct qchan_mark m;
	enum qerr rc;
	struct job *j;
	int known = 0;

	pthread_mutex_lock(&q->lock);
	j = find_locked(q, id);
	if (!j || !j->pending) {
		pthread_mutex_unlock(&q->lock);
		return qerr_set(err, QE_USAGE, "job %llu is not being launched",
				(unsigned long long)id);
	}
	user = j->uargs;
	spool_entry_locked(j, &se);
	/* Next in line, nothing being sent, a receiver that answered the
	 * last one: sent from here, without waking the sender thread (a
	 * wake-up per launch was a fifth of a small launch's cost), its mark
	 * in the spool with the job (one write, not two). The caller's
	 * request is answered already. */
	int here = q->commit_sends && !q->sending && q->peer_ok &&
		   !q->stopping && first_unsent_locked(q, j);
	if (here)
		q->sending = 1;
	pthread_mutex_unlock(&q->lock);

	/* j stays: a pending job is neither sent, trimmed nor stopped */
	rc = full_argv(q, se.name, &user, &argv, &e);
	if (rc == QE_OK)
		rc = qprog_prepare(se.image, se.len, &argv, &q->cfg.prof,
				   se.hdr, NULL, &e);
	enum qjob_state bad = QJ_REFUSED;
	/* on disk before it counts as queued (and before it is sent) */
	if (rc == QE_OK && q->sp) {
		if (here)
			known = qchan_mark(q->ch, &m) == 0;
		rc = here ? qspool_put_marked(q->sp, &se, known ? &m : NULL, &e)
			  : qspool_put(q->sp, &se, &e);
		if (rc != QE_OK)
			bad = QJ_FAILED;
	}

	pthread_mutex_lock(&q->lock);
	j->pending = 0;
	if (rc == QE_OK) {
		memcpy(j->hdr, se.hdr, sizeof j->hdr);
		set_state_locked(q, j, QJ_QUEUED, NULL);
		if (here && !q->stopping) {
			send_one_locked(q, j, q->sp ? &known : NULL);
		} else if (here && q->sp) {
			/* stopping meanwhile: it stays queued in the spool,
			 * its send not begun */
			pthread_mutex_unlock(&q->lock);
			qspool_unmark(q->sp, id);
			pthread_mutex_lock(&q->lock);
		}
	} else {
		set_state_locked(q, j, bad, &e);
		if (err)
			*err = e;
	}
	/* Those queued meanwhile behind it: sent from here too while the
	 * receiver answers, rather than handed to the sender thread (a
	 * wake-up each, where a stream of launches keeps one being sent
	 * while the next is committed). One worker sends at a time; the
	 * others serve the file system. */
	struct job *next;
	while (here && !q->stopping && q->peer_ok &&
	       (next = next_to_send_locked(q)))
		send_one_locked(q, next, NULL);
	if (here)
		q->sending = 0;
	/* What is left (this one, or those after it) is the sender thread's;
	 * whoever is sending now looks for more when done. */
	if (!q->sending && next_to_send_locked(q))
		pthread_cond_signal(&q->work);
	if (!--q->committing)
		pthread_cond_broadcast(&q->committed);
	pthread_mutex_unlock(&q->lock);
	return rc;
}

/* Nothing read back from disk is trusted: a job of the spool is checked
 * like a new program, and its packet header built again from its image
 * and arguments (the stored one is ignored). A job that fails is refused,
 * with the reason, and leaves the spool. */
static enum qerr recheck(struct qjobs *q, struct job *j,
			 const struct qspool_entry *e)
{
	struct qargv user, argv;
	struct qerror why, said;
	enum qerr rc = qargs_init(&user, NULL, &why);

	if (rc == QE_OK)
		rc = qargs_split(e->args, strlen(e->args), &user, NULL, &why);
	if (rc == QE_OK)
		rc = full_argv(q, e->name, &user, &argv, &why);
	if (rc == QE_OK)
		rc = qprog_prepare(j->image, j->len, &argv, &q->cfg.prof,
				   j->hdr, NULL, &why);
	if (rc == QE_OK)
		return QE_OK;
	qerr_set(&said, rc, "read back from the spool: %s", why.msg);
	q->spool_problems++;
	set_state_locked(q, j, QJ_REFUSED, &said);
	qspool_done(q->sp, e->id);
	return rc;
}

/* A job found in the spool at start: queued again, unless the channel
 * says its send had reached the Quest side before the crash. */
static void recover_one(void *ctx, struct qspool_entry *e)
{
	struct qjobs *q = ctx;
	struct job *j = calloc(1, sizeof *j);
	uint8_t *image = qimg_get(q->images, e->len);
	int taken = -1;

	/* the spool's copy moves into a program buffer, as a new launch's */
	if (image)
		memcpy(image, e->image, e->len);
	free(e->image);
	e->image = NULL;
	if (!j || !image) {
		q->spool_problems++;
		log_locked(q,
			   "job %llu uid=%lu %s: out of memory while "
			   "reading the spool; kept there for the next start",
			   (unsigned long long)e->id, (unsigned long)e->uid,
			   e->name);
		free(j);
		qimg_free(image);
		return;
	}
	j->info.id = e->id;
	j->info.uid = e->uid;
	qwho_name(e->uid, j->info.user, sizeof j->info.user);
	snprintf(j->info.name, sizeof j->info.name, "%s", e->name);
	snprintf(j->info.args, sizeof j->info.args, "%s", e->args);
	j->info.size = j->len = e->len;
	j->info.t_launch_ms = e->t_launch_ms;
	j->info.t_state_ms = now_ms();
	memcpy(j->hdr, e->hdr, sizeof j->hdr);
	j->image = image;
	if (q->next_id < e->id)
		q->next_id = e->id;
	j->prev = q->tail;
	*(q->tail ? &q->tail->next : &q->head) = j;
	q->tail = j;
	activate_locked(q, j);
	if (e->marked && e->mark_valid)
		taken = qchan_taken_since(q->ch, &e->mark);
	if (e->marked && taken == 1) {
		log_locked(q,
			   "job %llu uid=%lu %s was taken by the Quest side "
			   "before questfs stopped",
			   (unsigned long long)e->id, (unsigned long)e->uid,
			   e->name);
		set_state_locked(q, j, QJ_DELIVERED, NULL);
		qspool_done(q->sp, e->id);
		return;
	}
	if (recheck(q, j, e) != QE_OK)
		return;
	if (e->marked)
		log_locked(q,
			   "job %llu uid=%lu %s recovered from the spool; its "
			   "send had begun and %s: sent again",
			   (unsigned long long)e->id, (unsigned long)e->uid,
			   e->name,
			   taken == 0 ? "the Quest side never took it"
				      : "the channel cannot tell whether it "
					"arrived");
	else
		log_locked(q, "job %llu uid=%lu %s recovered from the spool",
			   (unsigned long long)e->id, (unsigned long)e->uid,
			   e->name);
	set_state_locked(q, j, QJ_QUEUED, NULL);
}

static void recover_bad(void *ctx, const char *file, const char *why)
{
	struct qjobs *q = ctx;

	q->spool_problems++;
	if (*file)
		log_locked(q, "spool %s/%s: %s", q->cfg.spool, file, why);
	else
		log_locked(q, "spool %s: %s", q->cfg.spool, why);
}

enum qerr qjobs_new(const struct qjobs_cfg *cfg, struct qjobs **out,
		    struct qerror *err)
{
	struct qjobs *q = calloc(1, sizeof *q);
	enum qerr rc;

	*out = NULL;
	if (!q)
		return qerr_set(err, QE_NOMEM, "out of memory");
	q->cfg = *cfg;
	q->spec = strdup(cfg->spec);
	q->cfg.spec = q->spec;
	q->spool = cfg->spool ? strdup(cfg->spool) : NULL;
	q->cfg.spool = q->spool;
	q->started_ms = now_ms();
	q->images = qimg_pool_new(cfg->prof.max_size, QIMG_KEEP_DEFAULT);
	if (!(q->quota = qquota_new()) || !q->images) {
		qquota_free(q->quota);
		qimg_pool_free(q->images);
		free(q->spool);
		free(q->spec);
		free(q);
		return qerr_set(err, QE_NOMEM, "out of memory");
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->work, NULL);
	pthread_cond_init(&q->committed, NULL);
	rc = qchan_open(q->spec, &cfg->chan, &q->ch, err);
	if (rc != QE_OK)
		goto fail;
	struct qchan_peer peer;
	qchan_peer(q->ch, &peer);
	q->commit_sends = cfg->commit_sends && peer.known;
	if (cfg->spool) {
		rc = qspool_open(cfg->spool, cfg->spool_sync, &q->sp, err);
		if (rc != QE_OK)
			goto fail;
		qspool_load(q->sp, recover_one, recover_bad, q);
	}
	int e = pthread_create(&q->sender, NULL, sender_main, q);
	if (e) {
		rc = qerr_sys(err, e, "cannot start the sender thread");
		goto fail;
	}
	*out = q;
	return QE_OK;
fail:
	if (q->ch)
		qchan_close(q->ch);
	qspool_close(q->sp);
	qquota_free(q->quota);
	qimg_pool_free(q->images);
	free(q->spool);
	free(q->spec);
	free(q);
	return rc;
}

void qjobs_stop(struct qjobs *q)
{
	struct qerror why;

	pthread_mutex_lock(&q->lock);
	if (q->stopped) {
		pthread_mutex_unlock(&q->lock);
		return;
	}
	q->stopping = 1;
	pthread_cond_broadcast(&q->work);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->sender, NULL);

	pthread_mutex_lock(&q->lock);
	while (q->committing)
		pthread_cond_wait(&q->committed, &q->lock);
	pthread_mutex_unlock(&q->lock);
	if (q->sp)
		qerr_set(
		    &why, QE_STOPPED,
		    "questfs stopped before it was sent; kept in the spool "
		    "%s for the next mount",
		    q->cfg.spool);
	else
		qerr_set(&why, QE_STOPPED,
			 "questfs stopped before it was sent");
	pthread_mutex_lock(&q->lock);
	q->stopped = 1;
	/* their spool entries stay, for the next mount */
	while (q->ahead)
		set_state_locked(q, q->ahead, QJ_FAILED, &why);
	pthread_mutex_unlock(&q->lock);
}

void qjobs_free(struct qjobs *q)
{
	if (!q)
		return;
	qjobs_stop(q);
	while (q->head) {
		struct job *j = q->head;
		q->head = j->next;
		qimg_free(j->image);
		free(j);
	}
	qchan_close(q->ch);
	qspool_close(q->sp);
	free(q->spool);
	pthread_cond_destroy(&q->work);
	pthread_cond_destroy(&q->committed);
	pthread_mutex_destroy(&q->lock);
	free(q->log);
	free(q->spans);
	qquota_free(q->quota);
	qimg_pool_free(q->images);
	free(q->spec);
	free(q);
}
