/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tests of the vshm: channel (core/chan_vshm.c) against docs/PROTOCOL.md
 * §3b: our sender with our receiver (threads, processes), and with a
 * receiver written here from the document alone (32-bit loads and stores
 * at the documented offsets, one compare-and-exchange), so that a
 * receiver in another OS can be written from the same text. Faults are
 * played by that raw receiver: a heartbeat that stops, a restart, an
 * answer for another packet, a header made garbage. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qassert.h"
#include "chan.h"

#define SLOT	393216u
#define REGION	(1u << 20)
#define LONG_MS 8000

/* docs/PROTOCOL.md §3b, read from outside to hold the doc to the code. */
enum {
	MAGIC = 0,
	VERSION = 4,
	HDR_SIZE = 8,
	SLOT_SIZE = 12,
	REGION_EPOCH = 16,
	READY = 20,
	STATE = 64,
	SEQ = 68,
	LEN = 72,
	RX_EPOCH = 128,
	RX_STATE = 132,
	RX_BEAT = 136,
	RX_PERIOD = 140,
	TAKEN_SEQ = 144,
	TAKEN_COUNT = 148,
	ANS_SEQ = 152,
	RESULT = 156,
	CODE = 160,
	REASON_LEN = 164,
	REASON = 192,
	RX_NAME = 448,
	SLOT_AT = 4096,
};
enum { EMPTY, FULL, TAKEN, ANSWERED };

struct fx {
	char dir[64], path[96], spec[112];
	uint8_t *map; /* the region, as a raw receiver sees it */
	pthread_t beat;
	atomic_int beating, stop_beat;
};

/* ---- the raw side: nothing but aligned 32-bit words ---- */

static volatile uint32_t *W(struct fx *f, unsigned off)
{
	return (volatile uint32_t *)(void *)(f->map + off);
}
static uint32_t rd(struct fx *f, unsigned off)
{
	return __atomic_load_n(W(f, off), __ATOMIC_ACQUIRE);
}
static void wr(struct fx *f, unsigned off, uint32_t v)
{
	__atomic_store_n(W(f, off), v, __ATOMIC_RELEASE);
}

static void map_raw(struct fx *f)
{
	int fd = open(f->path, O_RDWR);
	assert_true(fd >= 0);
	f->map = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(f->map != MAP_FAILED);
	close(fd);
}

static void *beat_main(void *arg)
{
	struct fx *f = arg;
	while (!f->stop_beat) {
		if (f->beating)
			wr(f, RX_BEAT, rd(f, RX_BEAT) + 1);
		struct timespec ts = {0, 5 * 1000000L};
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* A raw receiver attaches as §3b says; its heartbeat runs in a thread
 * until stop_raw(). */
static void attach_raw(struct fx *f, const char *name)
{
	wr(f, RX_EPOCH, rd(f, RX_EPOCH) + 1);
	strcpy((char *)f->map + RX_NAME, name);
	wr(f, RX_PERIOD, 10);
	wr(f, RX_STATE, 1);
	f->beating = 1;
	if (!f->beat)
		assert_int_equal(pthread_create(&f->beat, NULL, beat_main, f),
				 0);
}

/* Wait (bounded) for FULL and take it with the one locked instruction. */
static uint32_t take_raw(struct fx *f)
{
	int64_t end = qchan_mono_ms() + LONG_MS;
	uint32_t full = FULL;
	while (!__atomic_compare_exchange_n(
	    W(f, STATE), &full, TAKEN, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		full = FULL;
		if (qchan_mono_ms() > end)
			fail_msg("no packet within %d ms", LONG_MS);
		usleep(200);
	}
	uint32_t seq = rd(f, SEQ);
	wr(f, TAKEN_SEQ, seq);
	wr(f, TAKEN_COUNT, rd(f, TAKEN_COUNT) + 1);
	return seq;
}

static void answer_raw(struct fx *f, uint32_t seq, uint32_t result,
		       int32_t code, const char *reason)
{
	wr(f, ANS_SEQ, seq);
	wr(f, RESULT, result);
	wr(f, CODE, (uint32_t)code);
	strcpy((char *)f->map + REASON, reason);
	wr(f, REASON_LEN, (uint32_t)strlen(reason));
	wr(f, STATE, ANSWERED);
}

/* ---- fixture ---- */

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	strcpy(f->dir, "/dev/shm/test_vshm.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof f->path, "%s/region", f->dir);
	snprintf(f->spec, sizeof f->spec, "vshm:%s", f->path);
	alarm(60); /* a hang fails the run instead of wedging it */
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	if (f->beat) {
		f->stop_beat = 1;
		pthread_join(f->beat, NULL);
	}
	if (f->map)
		munmap(f->map, REGION);
	unlink(f->path);
	rmdir(f->dir);
	alarm(0);
	free(f);
	return 0;
}

static struct qchan *open_tx(struct fx *f)
{
	struct qchan *c = NULL;
	struct qerror e;
	assert_rc(qchan_open(f->spec, NULL, &c, &e), QE_OK, &e);
	return c;
}

static enum qerr send_bytes(struct qchan *c, uint8_t fill, size_t n,
			    int timeout_ms, struct qerror *e)
{
	uint8_t *b = malloc(n);
	assert_non_null(b);
	memset(b, fill, n);
	struct iovec v = {b, n};
	enum qerr rc = qchan_send(c, &v, 1, timeout_ms, e);
	free(b);
	return rc;
}

/* ---- layout ---- */

static void test_layout_is_the_documented_one(void **state)
{
	struct fx *f = *state;
	struct qchan *c = open_tx(f);
	struct stat sb;

	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(sb.st_size, REGION);
	map_raw(f);
	assert_memory_equal(f->map, "QVS1", 4);
	assert_int_equal(rd(f, VERSION), 1);
	assert_int_equal(rd(f, HDR_SIZE), 4096);
	assert_int_equal(rd(f, SLOT_SIZE), REGION - 4096);
	assert_int_not_equal(rd(f, REGION_EPOCH), 0);
	assert_int_equal(rd(f, READY), rd(f, MAGIC));
	assert_int_equal(rd(f, STATE), EMPTY);
	assert_int_equal(rd(f, RX_EPOCH), 0);
	qchan_close(c);
}

/* A second open adopts the header; it never initialises it again. */
static void test_reopen_keeps_the_header(void **state)
{
	struct fx *f = *state;
	struct qchan *a = open_tx(f);
	map_raw(f);
	uint32_t epoch = rd(f, REGION_EPOCH);
	struct qchan *b = open_tx(f);
	assert_int_equal(rd(f, REGION_EPOCH), epoch);
	qchan_close(a);
	qchan_close(b);
}

/* ---- our sender, our receiver ---- */

struct rx_job {
	struct fx *f;
	int n;
	enum qerr rc;
	char msg[QERR_MSG_MAX];
};

/* Takes n packets, checks each is filled with its number, and refuses
 * the odd ones with a reason. */
static void *rx_main(void *arg)
{
	struct rx_job *j = arg;
	struct qchan_rx *rx;
	struct qerror e;

	j->rc = qchan_rx_open(j->f->spec, 0, &rx, &e);
	for (int i = 0; j->rc == QE_OK && i < j->n; i++) {
		const uint8_t *p;
		size_t len;
		j->rc = qchan_rx_take(rx, &p, &len, LONG_MS, &e);
		if (j->rc != QE_OK)
			break;
		int ok = len == (size_t)(100 + i * 977);
		for (size_t k = 0; ok && k < len; k++)
			ok = p[k] == (uint8_t)i;
		if (!ok) {
			j->rc = QE_CHAN_IO;
			snprintf(e.msg, sizeof e.msg, "packet %d damaged", i);
		}
		j->rc = qchan_rx_answer(rx, !(i & 1) && ok,
					ok ? "odd\none out" : "damaged", &e);
	}
	if (j->rc != QE_OK)
		snprintf(j->msg, sizeof j->msg, "%s", e.msg);
	if (rx)
		qchan_rx_close(rx);
	return NULL;
}

static void test_threads_deliver_in_order(void **state)
{
	struct fx *f = *state;
	struct qchan *c = open_tx(f);
	struct rx_job j = {.f = f, .n = 40};
	struct qerror e;
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, rx_main, &j), 0);
	assert_rc(qchan_wait_peer(c, LONG_MS, &e), QE_OK, &e);
	for (int i = 0; i < j.n; i++) {
		enum qerr rc =
		    send_bytes(c, (uint8_t)i, 100 + i * 977, LONG_MS, &e);
		if (i & 1) {
			assert_rc(rc, QE_CHAN_REFUSED, &e);
			/* one line: the newline became a space */
			assert_has(&e,
				   "refused by the Quest side: odd one out");
		} else {
			assert_rc(rc, QE_OK, &e);
		}
	}
	pthread_join(t, NULL);
	if (j.rc != QE_OK)
		fail_msg("receiver: %s", j.msg);
	struct qchan_peer p;
	qchan_peer(c, &p);
	assert_int_equal(p.taken, 40);
	qchan_close(c);
}

static void test_processes_deliver(void **state)
{
	struct fx *f = *state;
	struct qchan *c = open_tx(f);
	struct rx_job j = {.f = f, .n = 6};
	struct qerror e;
	int st;

	pid_t kid = fork();
	if (!kid) {
		rx_main(&j);
		_exit(j.rc == QE_OK ? 0 : 1);
	}
	assert_rc(qchan_wait_peer(c, LONG_MS, &e), QE_OK, &e);
	for (int i = 0; i < j.n; i++)
		assert_rc(send_bytes(c, (uint8_t)i, 100 + i * 977, LONG_MS, &e),
			  i & 1 ? QE_CHAN_REFUSED : QE_OK, &e);
	assert_int_equal(waitpid(kid, &st, 0), kid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* detached cleanly: the next send finds nobody, writes nothing */
	assert_rc(send_bytes(c, 1, 10, LONG_MS, &e), QE_CHAN_NO_RECEIVER, &e);
	qchan_close(c);
}

static void test_one_receiver_at_a_time(void **state)
{
	struct fx *f = *state;
	struct qchan_rx *a, *b;
	struct qerror e;

	assert_rc(qchan_rx_open(f->spec, 0, &a, &e), QE_OK, &e);
	assert_rc(qchan_rx_open(f->spec, 0, &b, &e), QE_CHAN_IO, &e);
	assert_has(&e, "already has a receiver");
	qchan_rx_close(a);
	assert_rc(qchan_rx_open(f->spec, 0, &b, &e), QE_OK, &e);
	qchan_rx_close(b);
}

/* ---- our sender, a receiver written from the document ---- */

struct raw_job {
	struct fx *f;
	uint32_t seq, len;
	uint8_t first, last;
};

static void *raw_refuser(void *arg)
{
	struct raw_job *j = arg;
	j->seq = take_raw(j->f);
	j->len = rd(j->f, LEN);
	j->first = j->f->map[SLOT_AT];
	j->last = j->f->map[SLOT_AT + j->len - 1];
	answer_raw(j->f, j->seq, 2, -7, "_exec: no such program");
	return NULL;
}

static void test_raw_receiver_from_the_document(void **state)
{
	struct fx *f = *state;
	struct qchan *c = open_tx(f);
	struct raw_job j = {.f = f};
	struct qerror e;
	pthread_t t;
	uint8_t pkt[5000];

	map_raw(f);
	attach_raw(f, "raw");
	memset(pkt, 0x11, sizeof pkt);
	pkt[0] = 0xAA;
	pkt[sizeof pkt - 1] = 0x55;
	assert_int_equal(pthread_create(&t, NULL, raw_refuser, &j), 0);
	struct iovec v[2] = {{pkt, 100}, {pkt + 100, sizeof pkt - 100}};
	assert_rc(qchan_send(c, v, 2, LONG_MS, &e), QE_CHAN_REFUSED, &e);
	assert_has(&e, "_exec: no such program");
	pthread_join(t, NULL);
	assert_int_equal(j.seq, 1);
	assert_int_equal(j.len, sizeof pkt);
	assert_int_equal(j.first, 0xAA);
	assert_int_equal(j.last, 0x55);
	assert_int_equal(rd(f, STATE), EMPTY); /* the sender emptied it */
	struct qchan_peer p;
	qchan_peer(c, &p);
	assert_true(p.attached);
	assert_string_equal(p.name, "raw");
	qchan_close(c);
}

static void test_no_receiver_writes_nothing(void **state)
{
	struct fx *f = *state;
	struct qchan *c = open_tx(f);
	struct qerror e;

	map_raw(f);
	assert_rc(send_bytes(c, 1, 64, LONG_MS, &e), QE_CHAN_NO_RECEIVER, &e);
	assert_int_equal(rd(f, STATE), EMPTY);
	assert_int_equal(rd(f, SEQ), 0);
	qchan_close(c);
}

/* The receiver stops beating while the packet is FULL (a VM killed): the
 * sender withdraws it, and says the packet did not run. */
static void test_receiver_vanishes_while_full(void **state)
{
	struct fx *f = *state;
	struct qchan *c = open_tx(f);
	struct qerror e;

	map_raw(f);
	attach_raw(f, "raw");
	f->beating = 0;
	assert_rc(send_bytes(c, 1, 64, LONG_MS, &e), QE_CHAN_NO_RECEIVER, &e);
	assert_has(&e, "was not seen for");
	assert_int_equal(rd(f, STATE), EMPTY);
	struct qchan_peer p;
	qchan_peer(c, &p);
	assert_false(p.attached);
	assert_true(p.unseen_ms >= 3000);
	qchan_close(c);
}

struct take_job {
	struct fx *f;
	uint32_t seq;
};
static void *take_and_die(void *arg)
{
	struct take_job *j = arg;
	j->seq = take_raw(j->f);
	j->f->beating = 0; /* holds the packet, never answers */
	return NULL;
}

/* Stopped while TAKEN: the packet may have run; a receiver that starts
 * afterwards ends it as gone, "restarted". */
static void test_receiver_vanishes_while_taken(void **state)
{
	struct fx *f = *state;
	struct qchan *c = open_tx(f);
	struct take_job j = {.f = f};
	struct qchan_rx *rx;
	struct qerror e;
	pthread_t t;

	map_raw(f);
	attach_raw(f, "raw");
	assert_int_equal(pthread_create(&t, NULL, take_and_die, &j), 0);
	/* stale (3 s) before the deadline: gone, not merely late */
	assert_rc(send_bytes(c, 1, 64, 4000, &e), QE_CHAN_GONE, &e);
	assert_has(&e, "went away (not seen for ");
	assert_has(&e, "may have run");
	pthread_join(t, NULL);
	assert_int_equal(rd(f, STATE), TAKEN);
	uint32_t old_epoch = rd(f, RX_EPOCH);
	assert_rc(qchan_rx_open(f->spec, 0, &rx, &e), QE_OK, &e);
	assert_int_equal(rd(f, RX_EPOCH), old_epoch + 1);
	assert_int_equal(rd(f, STATE), ANSWERED);
	assert_int_equal(rd(f, RESULT), 3);
	assert_int_equal(rd(f, ANS_SEQ), j.seq);
	assert_non_null(strstr((char *)f->map + REASON, "restarted"));
	/* the next send empties that answer and goes through */
	struct rx_job rj = {.f = f, .n = 1};
	qchan_rx_close(rx);
	pthread_t t2;
	f->beating = 0;
	assert_int_equal(pthread_create(&t2, NULL, rx_main, &rj), 0);
	assert_rc(qchan_wait_peer(c, LONG_MS, &e), QE_OK, &e);
	assert_rc(send_bytes(c, 0, 100, LONG_MS, &e), QE_OK, &e);
	pthread_join(t2, NULL);
	assert_int_equal(rj.rc, QE_OK);
	qchan_close(c);
}

static void *take_late(void *arg)
{
	struct take_job *j = arg;
	struct qchan_rx *rx;
	struct qerror e;
	const uint8_t *p;
	size_t len;

	usleep(300 * 1000); /* the first receiver is stuck meanwhile */
	if (qchan_rx_open(j->f->spec, 0, &rx, &e) != QE_OK)
		return NULL;
	if (qchan_rx_take(rx, &p, &len, LONG_MS, &e) == QE_OK) {
		j->seq = 1;
		qchan_rx_answer(rx, 1, NULL, &e);
	}
	qchan_rx_close(rx);
	return NULL;
}

/* A receiver that restarts while the packet is FULL takes it: nothing is
 * lost, nothing runs twice. */
static void test_restart_while_full_loses_nothing(void **state)
{
	struct fx *f = *state;
	struct qchan *c = open_tx(f);
	struct take_job j = {.f = f};
	struct qerror e;
	pthread_t t;

	map_raw(f);
	attach_raw(f, "stuck"); /* beats but never takes */
	assert_int_equal(pthread_create(&t, NULL, take_late, &j), 0);
	assert_rc(send_bytes(c, 1, 64, LONG_MS, &e), QE_OK, &e);
	pthread_join(t, NULL);
	assert_int_equal(j.seq, 1);
	assert_int_equal(rd(f, TAKEN_COUNT), 1);
	qchan_close(c);
}

static void *answer_wrong_then_right(void *arg)
{
	struct take_job *j = arg;
	j->seq = take_raw(j->f);
	answer_raw(j->f, j->seq + 5, 1, 0, "");
	usleep(100 * 1000);
	answer_raw(j->f, j->seq, 1, 0, "");
	return NULL;
}

static void test_answer_for_another_packet_is_ignored(void **state)
{
	struct fx *f = *state;
	struct qchan *c = open_tx(f);
	struct take_job j = {.f = f};
	struct qerror e;
	pthread_t t;

	map_raw(f);
	attach_raw(f, "raw");
	assert_int_equal(pthread_create(&t, NULL, answer_wrong_then_right, &j),
			 0);
	int64_t t0 = qchan_mono_ms();
	assert_rc(send_bytes(c, 1, 64, LONG_MS, &e), QE_OK, &e);
	/* it waited for its own answer, past the wrong one */
	assert_true(qchan_mono_ms() - t0 >= 100);
	pthread_join(t, NULL);
	qchan_close(c);
}

static void test_timeout_while_full_withdraws(void **state)
{
	struct fx *f = *state;
	struct qchan *c = open_tx(f);
	struct qerror e;

	map_raw(f);
	attach_raw(f, "slow");
	assert_rc(send_bytes(c, 1, 64, 300, &e), QE_CHAN_TIMEOUT, &e);
	assert_has(&e, "withdrawn, it will not run");
	assert_int_equal(rd(f, STATE), EMPTY);
	qchan_close(c);
}

/* ---- a hostile or corrupt region ---- */

static void test_foreign_region_is_not_overwritten(void **state)
{
	struct fx *f = *state;
	struct qchan *c;
	struct qerror e;
	int fd = open(f->path, O_RDWR | O_CREAT | O_EXCL, 0600);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, REGION), 0);
	assert_int_equal(pwrite(fd, "someone else's", 14, 40), 14);
	close(fd);
	assert_rc(qchan_open(f->spec, NULL, &c, &e), QE_CHAN_IO, &e);
	assert_has(&e, "holds no vshm channel");
	map_raw(f);
	assert_memory_equal(f->map + 40, "someone else's", 14);
	assert_int_equal(rd(f, MAGIC), 0);
}

static void test_garbage_fields_are_refused(void **state)
{
	struct fx *f = *state;
	struct qchan *c = open_tx(f);
	struct qerror e;

	map_raw(f);
	attach_raw(f, "raw");
	wr(f, STATE, 9);
	assert_rc(send_bytes(c, 1, 64, LONG_MS, &e), QE_CHAN_IO, &e);
	assert_has(&e, "corrupt header: state 9");
	wr(f, LEN, 0xFFFFFFF0u);
	wr(f, STATE, TAKEN);
	assert_rc(send_bytes(c, 1, 64, LONG_MS, &e), QE_CHAN_IO, &e);
	assert_has(&e, "corrupt header: len");
	wr(f, STATE, ANSWERED);
	wr(f, RESULT, 77);
	assert_rc(send_bytes(c, 1, 64, LONG_MS, &e), QE_CHAN_IO, &e);
	assert_has(&e, "result 77");
	qchan_close(c);
}

static void *reinit_soon(void *arg)
{
	struct fx *f = arg;
	usleep(100 * 1000);
	wr(f, REGION_EPOCH, rd(f, REGION_EPOCH) + 1);
	return NULL;
}

static void test_region_initialised_again_under_the_sender(void **state)
{
	struct fx *f = *state;
	struct qchan *c = open_tx(f);
	struct qerror e;
	pthread_t t;

	map_raw(f);
	attach_raw(f, "raw");
	assert_int_equal(pthread_create(&t, NULL, reinit_soon, f), 0);
	assert_rc(send_bytes(c, 1, 64, LONG_MS, &e), QE_CHAN_GONE, &e);
	assert_has(&e, "initialised again");
	pthread_join(t, NULL);
	qchan_close(c);
}

static void test_region_owner_and_kind_are_checked(void **state)
{
	struct fx *f = *state;
	struct qchan *c;
	struct qerror e;
	char other[128];

	int fd = open(f->path, O_RDWR | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0644), 0);
	close(fd);
	assert_rc(qchan_open(f->spec, NULL, &c, &e), QE_CHAN_IO, &e);
	assert_has(&e, "mode 0644");
	unlink(f->path);

	snprintf(other, sizeof other, "%s/target", f->dir);
	assert_int_equal(symlink(other, f->path), 0);
	assert_rc(qchan_open(f->spec, NULL, &c, &e), QE_CHAN_IO, &e);
	assert_has(&e, "symbolic link");
	unlink(f->path);

	/* a FIFO: refused at once, never waited on */
	assert_int_equal(mkfifo(f->path, 0600), 0);
	assert_rc(qchan_open(f->spec, NULL, &c, &e), QE_CHAN_IO, &e);
	assert_has(&e, "not a regular file nor a device node");
	unlink(f->path);

	assert_rc(qchan_open("vshm:relative/path", NULL, &c, &e), QE_CHAN_SPEC,
		  &e);
}

static void test_offset_leaves_the_start_alone(void **state)
{
	struct fx *f = *state;
	struct qchan_opts o;
	struct qchan *c;
	struct qerror e;

	qchan_opts_default(&o);
	o.vshm_offset = 3;
	assert_rc(qchan_open(f->spec, &o, &c, &e), QE_CHAN_SPEC, &e);
	assert_has(&e, "multiple of 4096");
	o.vshm_offset = 4 * 4096;
	assert_rc(qchan_open(f->spec, &o, &c, &e), QE_OK, &e);
	map_raw(f);
	assert_int_equal(rd(f, 0), 0); /* nothing before the channel */
	assert_memory_equal(f->map + 4 * 4096, "QVS1", 4);
	assert_int_equal(rd(f, 4 * 4096 + SLOT_SIZE), REGION - 5 * 4096);
	qchan_close(c);
}

/* ---- crash bookkeeping ---- */

/* The sender is killed after FULL: a restarted sender that finds the
 * packet untaken withdraws it (it will never run: send it again); one
 * that finds it taken knows it got there. */
static void test_sender_killed_resolved_by_seq(void **state)
{
	struct fx *f = *state;
	struct qchan *c = open_tx(f);
	struct qchan_mark m;
	struct qerror e;

	map_raw(f);
	attach_raw(f, "raw");
	for (int round = 0; round < 2; round++) {
		assert_int_equal(qchan_mark(c, &m), 0);
		pid_t kid = fork();
		if (!kid) {
			struct qchan *k;
			if (qchan_open(f->spec, NULL, &k, &e) != QE_OK)
				_exit(2);
			send_bytes(k, 1, 64, -1, &e);
			_exit(3);
		}
		int64_t end = qchan_mono_ms() + LONG_MS;
		while (rd(f, STATE) != FULL && qchan_mono_ms() < end)
			usleep(200);
		assert_int_equal(rd(f, STATE), FULL);
		if (round == 1)
			take_raw(f);
		kill(kid, SIGKILL);
		waitpid(kid, NULL, 0);
		assert_int_equal(qchan_taken_since(c, &m), round);
		assert_int_equal(rd(f, STATE), round ? TAKEN : EMPTY);
		if (round == 1)
			answer_raw(f, rd(f, SEQ), 1, 0, "");
	}
	/* the orphan answer is emptied by the next send */
	struct take_job j = {.f = f};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, answer_wrong_then_right, &j),
			 0);
	assert_rc(send_bytes(c, 1, 64, LONG_MS, &e), QE_OK, &e);
	pthread_join(t, NULL);
	m.epoch ^= 1;
	assert_int_equal(qchan_taken_since(c, &m), -1);
	qchan_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
	    T(test_layout_is_the_documented_one),
	    T(test_reopen_keeps_the_header),
	    T(test_threads_deliver_in_order),
	    T(test_processes_deliver),
	    T(test_one_receiver_at_a_time),
	    T(test_raw_receiver_from_the_document),
	    T(test_no_receiver_writes_nothing),
	    T(test_receiver_vanishes_while_full),
	    T(test_receiver_vanishes_while_taken),
	    T(test_restart_while_full_loses_nothing),
	    T(test_answer_for_another_packet_is_ignored),
	    T(test_timeout_while_full_withdraws),
	    T(test_foreign_region_is_not_overwritten),
	    T(test_garbage_fields_are_refused),
	    T(test_region_initialised_again_under_the_sender),
	    T(test_region_owner_and_kind_are_checked),
	    T(test_offset_leaves_the_start_alone),
	    T(test_sender_killed_resolved_by_seq),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
