/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tests of the channel (core/chan.c, chan_shm.c, chan_dev.c): a sender and
 * a receiver in two processes over a real shm: segment, FIFOs and files;
 * faults are real deaths (SIGKILL) at the worst moments. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qassert.h"
#include "chan.h"
#include "chan_shm_internal.h"

#define SLOT 393216u
#define LONG_MS                                                                \
	5000 /* "never" for a healthy peer, bounded for a broken one           \
	      */
#define MAX_KIDS 4

/* Offsets of docs/PROTOCOL.md, read from outside to hold the doc to them. */
#define OFF_VERSION    4
#define OFF_ABI	       12
#define OFF_STATE      256
#define OFF_RECOVERIES 352

struct fx {
	uint32_t key;
	char spec[32];
	char dir[64];
	pid_t kids[MAX_KIDS];
};

static unsigned n_fixtures;

static int64_t now_ms(void)
{
	return qchan_mono_ms();
}

/* ---- fixture ---- */

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);

	if (!f)
		return -1;
	/* Unique per process and test, far from the real 1001. */
	f->key = 100000u + ((uint32_t)getpid() % 1000000u) * 32u +
		 (n_fixtures++ % 32u);
	snprintf(f->spec, sizeof f->spec, "shm:%" PRIu32, f->key);
	qchan_shm_unlink(f->key, NULL);
	strcpy(f->dir, "/tmp/test_chan.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	alarm(30); /* a hang fails the run instead of wedging it */
	*state = f;
	return 0;
}

static void path_in(const struct fx *f, const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", f->dir, name);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	static const char *const names[] = {"file", "fifo", "kick"};
	char p[128];

	for (int i = 0; i < MAX_KIDS; i++) {
		if (f->kids[i] > 0) {
			kill(f->kids[i], SIGKILL);
			waitpid(f->kids[i], NULL, 0);
		}
	}
	qchan_shm_unlink(f->key, NULL);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		path_in(f, names[i], p, sizeof p);
		unlink(p);
	}
	rmdir(f->dir);
	alarm(0);
	free(f);
	return 0;
}

/* ---- helpers ---- */

static void fill(uint8_t *b, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

static int matches(const uint8_t *b, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		if (b[i] != (uint8_t)(seed + i * 7 + (i >> 9)))
			return 0;
	return 1;
}

/* Send len pattern bytes in three pieces, as questfs does (header, ELF). */
static enum qerr send_pattern(struct qchan *c, size_t len, uint8_t seed,
			      int timeout_ms, struct qerror *e)
{
	uint8_t *b = malloc(len ? len : 1);
	size_t a = len < 88 ? len : 88, m = (len - a) / 2;
	struct iovec v[3] = {
	    {b, a},
	    {b + a, m},
	    {b + a + m, len - a - m},
	};
	enum qerr rc;

	fill(b, len, seed);
	rc = qchan_send(c, v, 3, timeout_ms, e);
	free(b);
	return rc;
}

/* -1 on timeout or EOF, else the byte. */
static int read_byte(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	unsigned char b;

	if (poll(&p, 1, timeout_ms) != 1 || read(fd, &b, 1) != 1)
		return -1;
	return b;
}

static void write_byte(int fd, int b)
{
	unsigned char c = (unsigned char)b;
	if (write(fd, &c, 1) != 1)
		_exit(99);
}

struct kid {
	pid_t pid;
	int ready; /* read end: the child writes one byte when set up */
	int go;	   /* write end: the child may wait for one byte */
};

/* Fork fn(arg) into a child that reports with its exit status. */
static struct kid spawn(struct fx *f, int (*fn)(struct fx *, int, int, void *),
			void *arg)
{
	int r[2], g[2];
	struct kid k;

	assert_int_equal(pipe2(r, O_CLOEXEC), 0);
	assert_int_equal(pipe2(g, O_CLOEXEC), 0);
	k.pid = fork();
	assert_true(k.pid >= 0);
	if (k.pid == 0) {
		alarm(20);
		close(r[0]);
		close(g[1]);
		_exit(fn(f, r[1], g[0], arg));
	}
	close(r[1]);
	close(g[0]);
	k.ready = r[0];
	k.go = g[1];
	for (int i = 0; i < MAX_KIDS; i++) {
		if (f->kids[i] <= 0) {
			f->kids[i] = k.pid;
			break;
		}
	}
	return k;
}

static void await_ready(struct kid *k)
{
	if (read_byte(k->ready, LONG_MS) < 0)
		fail_msg("child %d never got ready", (int)k->pid);
}

/* Reap the child; its exit code, or 128 + signal. */
static int reap(struct fx *f, struct kid *k)
{
	int st;

	close(k->ready);
	close(k->go);
	if (waitpid(k->pid, &st, 0) != k->pid)
		return -1;
	for (int i = 0; i < MAX_KIDS; i++)
		if (f->kids[i] == k->pid)
			f->kids[i] = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static uint32_t peek_u32(uint32_t key, size_t off)
{
	char name[40];
	uint32_t v = 0;
	int fd;

	snprintf(name, sizeof name, "/questfs-shm-%" PRIu32, key);
	fd = shm_open(name, O_RDONLY, 0);
	assert_true(fd >= 0);
	uint8_t *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(p != MAP_FAILED);
	memcpy(&v, p + off, sizeof v);
	munmap(p, 4096);
	return v;
}

static void poke_u32(uint32_t key, size_t off, uint32_t v)
{
	char name[40];
	int fd;

	snprintf(name, sizeof name, "/questfs-shm-%" PRIu32, key);
	fd = shm_open(name, O_RDWR, 0);
	assert_true(fd >= 0);
	uint8_t *p =
	    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(p != MAP_FAILED);
	memcpy(p + off, &v, sizeof v);
	munmap(p, 4096);
}

/* Wait (bounded) until pid sleeps: after its ready byte, the only place
 * the child can block is the channel's wait. */
static void await_sleeping(pid_t pid)
{
	char path[64], buf[512], *rp;
	int64_t end = now_ms() + LONG_MS;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	while (now_ms() < end) {
		int fd = open(path, O_RDONLY);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = '\0';
			rp = strrchr(buf, ')');
			if (rp && rp[1] == ' ' && rp[2] == 'S')
				return;
		}
		poll(NULL, 0, 5);
	}
	fail_msg("child %d never went to sleep", (int)pid);
}

/* ---- children ---- */

/* A well-behaved receiver: takes job->n packets, checks their bytes. */
struct rxjob {
	int n;
	size_t len[4];
	uint8_t seed[4];
	int accept;
	const char *reason;
	int probe_ms;	 /* first: no packet may arrive within this */
	int wait_go;	 /* after ready, block until the parent says go */
	int slow_ms;	 /* between taking packet 0 and answering it */
	int die_on_take; /* SIGKILL itself holding packet 0 */
};

static int child_rx(struct fx *f, int ready, int go, void *arg)
{
	const struct rxjob *j = arg;
	struct qchan_rx *rx;
	struct qerror e;
	const uint8_t *p;
	size_t len;

	if (qchan_rx_open(f->spec, SLOT, &rx, &e) != QE_OK)
		return 10;
	if (j->probe_ms > 0 &&
	    qchan_rx_take(rx, &p, &len, j->probe_ms, &e) != QE_CHAN_TIMEOUT)
		return 11;
	write_byte(ready, 'r');
	if (j->wait_go) {
		if (read_byte(go, LONG_MS) < 0)
			return 12;
		/* The packet the parent withdrew must not be here. */
		if (qchan_rx_take(rx, &p, &len, 300, &e) != QE_CHAN_TIMEOUT)
			return 13;
		write_byte(ready, 'g');
	}
	for (int i = 0; i < j->n; i++) {
		if (qchan_rx_take(rx, &p, &len, LONG_MS, &e) != QE_OK)
			return 20 + i;
		if (len != j->len[i] || !matches(p, len, j->seed[i]))
			return 30 + i;
		if (i == 0 && j->die_on_take)
			kill(getpid(), SIGKILL);
		if (i == 0 && j->slow_ms)
			usleep((useconds_t)j->slow_ms * 1000);
		if (qchan_rx_answer(rx, j->accept, j->reason, &e) != QE_OK)
			return 40 + i;
	}
	qchan_rx_close(rx);
	return 0;
}

static struct kid start_rx(struct fx *f, struct rxjob *j)
{
	struct kid k = spawn(f, child_rx, j);
	await_ready(&k);
	return k;
}

/* ---- tests ---- */

static void test_spec(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {
	    "",	      "shm:",	       "shm:abc", "shm:-1",
	    "shm:+5", "shm:12x",       "shm: 1",  "shm:4294967296",
	    "dev:",   "tcp:127.0.0.1", "shm1001", "SHM:1001",
	};
	struct qchan_opts o;
	struct qchan_peer pr;
	struct qchan_rx *rx;
	struct qchan *c;
	struct qerror e;
	char spec[48];

	qchan_opts_default(&o);
	assert_int_equal(o.slot_size, SLOT);
	assert_null(o.kick);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		c = (struct qchan *)&e; /* must be reset to NULL */
		e.msg[0] = '\0';
		assert_rc(qchan_open(bad[i], &o, &c, &e), QE_CHAN_SPEC, &e);
		assert_null(c);
		assert_true(strlen(e.msg) > 10);
	}
	assert_rc(qchan_open(NULL, &o, &c, &e), QE_CHAN_SPEC, &e);
	assert_rc(qchan_open("tcp:1", &o, &c, &e), QE_CHAN_SPEC, &e);
	assert_has(&e, "shm:KEY");
	assert_has(&e, "dev:PATH");
	assert_rc(qchan_open("shm:12x", &o, &c, &e), QE_CHAN_SPEC, &e);
	assert_has(&e, "decimal");

	/* Leading zeros name the same segment. */
	snprintf(spec, sizeof spec, "shm:000%" PRIu32, f->key);
	assert_rc(qchan_open(spec, NULL, &c, &e), QE_OK, &e);
	assert_int_equal(peek_u32(f->key, 0), 0x31534651u);
	qchan_peer(c, &pr);
	assert_int_equal(pr.known, 1);
	assert_int_equal(pr.attached, 0);
	assert_int_equal(pr.taken, 0);
	qchan_close(c);

	assert_rc(qchan_open("dev:/nonexistent/qSB1", NULL, &c, &e), QE_OK, &e);
	qchan_peer(c, &pr);
	assert_int_equal(pr.known, 0);
	assert_rc(qchan_wait_peer(c, 0, &e), QE_OK, &e);
	qchan_close(c);

	o.slot_size = 10;
	assert_rc(qchan_open(f->spec, &o, &c, &e), QE_USAGE, &e);
	assert_rc(qchan_rx_open("dev:/dev/null", 0, &rx, &e), QE_CHAN_SPEC, &e);
	assert_rc(qchan_rx_open("shm:x", 0, &rx, &e), QE_CHAN_SPEC, &e);
}

static void test_round_trip(void **state)
{
	struct fx *f = *state;
	struct rxjob j = {
	    .n = 2, .len = {SLOT, 100}, .seed = {1, 2}, .accept = 1};
	int64_t before = qchan_real_ms();
	struct qchan_peer pr;
	struct qchan *c;
	struct qerror e;

	assert_rc(qchan_open(f->spec, NULL, &c, &e), QE_OK, &e);
	struct kid k = start_rx(f, &j);
	assert_rc(qchan_wait_peer(c, LONG_MS, &e), QE_OK, &e);

	assert_rc(send_pattern(c, SLOT, 1, LONG_MS, &e), QE_OK, &e);
	qchan_peer(c, &pr);
	assert_int_equal(pr.known, 1);
	assert_int_equal(pr.attached, 1);
	assert_int_equal(pr.pid, k.pid);
	assert_int_equal(pr.taken, 1);
	assert_true(pr.since_ms >= before - 1000 &&
		    pr.since_ms <= qchan_real_ms() + 1000);

	assert_rc(send_pattern(c, SLOT + 1, 9, LONG_MS, &e), QE_PKT_TOO_BIG,
		  &e);
	assert_rc(send_pattern(c, 100, 2, LONG_MS, &e), QE_OK, &e);
	assert_int_equal(reap(f, &k), 0);
	qchan_close(c);
}

static void test_refused(void **state)
{
	struct fx *f = *state;
	struct rxjob j = {.n = 1,
			  .len = {200},
			  .seed = {4},
			  .accept = 0,
			  .reason = "entry point 0x0 is outside\nthe program"};
	struct qchan *c;
	struct qerror e;

	assert_rc(qchan_open(f->spec, NULL, &c, &e), QE_OK, &e);
	struct kid k = start_rx(f, &j);
	assert_rc(send_pattern(c, 200, 4, LONG_MS, &e), QE_CHAN_REFUSED, &e);
	assert_string_equal(e.msg, "refused by the Quest side: entry point "
				   "0x0 is outside the program");
	assert_int_equal(reap(f, &k), 0);
	qchan_close(c);
}

static int child_attach_then(struct fx *f, int ready, int go, void *arg)
{
	const char *what = arg;
	struct qchan_rx *rx;
	struct qerror e;

	(void)go;
	if (qchan_rx_open(f->spec, 0, &rx, &e) != QE_OK)
		return 10;
	if (!strcmp(what, "hold-lock") &&
	    qchan_shm_debug_lock(f->key, 0, &e) != QE_OK)
		return 11;
	if (!strcmp(what, "close"))
		qchan_rx_close(rx);
	write_byte(ready, 'r');
	if (!strcmp(what, "die"))
		kill(getpid(), SIGKILL);
	if (!strcmp(what, "hold-lock"))
		pause();
	return 0;
}

static void test_no_receiver(void **state)
{
	struct fx *f = *state;
	struct qchan *c;
	struct qerror e;
	siginfo_t si;
	int64_t t;

	assert_rc(qchan_open(f->spec, NULL, &c, &e), QE_OK, &e);
	t = now_ms();
	assert_rc(send_pattern(c, 100, 1, LONG_MS, &e), QE_CHAN_NO_RECEIVER,
		  &e);
	assert_true(now_ms() - t < 1000);
	assert_has(&e, "nothing was sent");
	t = now_ms();
	assert_rc(qchan_wait_peer(c, 200, &e), QE_CHAN_NO_RECEIVER, &e);
	assert_true(now_ms() - t >= 190);

	/* A receiver that left cleanly. */
	struct kid k = spawn(f, child_attach_then, "close");
	await_ready(&k);
	assert_int_equal(reap(f, &k), 0);
	assert_rc(send_pattern(c, 100, 1, LONG_MS, &e), QE_CHAN_NO_RECEIVER,
		  &e);

	/* One killed and not reaped yet: a zombie is not a receiver. */
	k = spawn(f, child_attach_then, "die");
	await_ready(&k);
	assert_int_equal(waitid(P_PID, (id_t)k.pid, &si, WEXITED | WNOWAIT), 0);
	t = now_ms();
	assert_rc(send_pattern(c, 100, 1, LONG_MS, &e), QE_CHAN_NO_RECEIVER,
		  &e);
	assert_true(now_ms() - t < 1000);
	char pid[32];
	snprintf(pid, sizeof pid, "pid %d", (int)k.pid);
	assert_has(&e, pid);
	assert_int_equal(reap(f, &k), 128 + SIGKILL);
	qchan_close(c);
}

static void test_timeout_withdraw(void **state)
{
	struct fx *f = *state;
	struct rxjob j = {
	    .n = 1, .len = {200}, .seed = {7}, .accept = 1, .wait_go = 1};
	struct qchan *c;
	struct qerror e;
	int64_t t;

	assert_rc(qchan_open(f->spec, NULL, &c, &e), QE_OK, &e);
	struct kid k = start_rx(f, &j);
	t = now_ms();
	assert_rc(send_pattern(c, 100, 3, 300, &e), QE_CHAN_TIMEOUT, &e);
	t = now_ms() - t;
	assert_true(t >= 290 && t < 2000);
	assert_has(&e, "withdrawn");
	assert_int_equal(peek_u32(f->key, OFF_STATE), 0); /* EMPTY */

	write_byte(k.go, 'g');
	if (read_byte(k.ready, LONG_MS) != 'g')
		fail_msg("receiver got the withdrawn packet (exit %d)",
			 reap(f, &k));
	assert_rc(send_pattern(c, 200, 7, LONG_MS, &e), QE_OK, &e);
	assert_int_equal(reap(f, &k), 0);
	qchan_close(c);
}

static void test_taken_timeout_abandoned(void **state)
{
	struct fx *f = *state;
	struct rxjob j = {.n = 2,
			  .len = {100, 300},
			  .seed = {1, 2},
			  .accept = 0,
			  .reason = "second",
			  .slow_ms = 700};
	struct qchan *c;
	struct qerror e;

	assert_rc(qchan_open(f->spec, NULL, &c, &e), QE_OK, &e);
	struct kid k = start_rx(f, &j);
	assert_rc(send_pattern(c, 100, 1, 300, &e), QE_CHAN_TIMEOUT, &e);
	assert_has(&e, "did not answer");
	/* The late answer to the first packet must not be taken for the
	 * second's: the second is refused with its own reason. */
	assert_rc(send_pattern(c, 300, 2, LONG_MS, &e), QE_CHAN_REFUSED, &e);
	assert_has(&e, "second");
	assert_int_equal(reap(f, &k), 0);
	qchan_close(c);
}

static void test_receiver_killed_mid_packet(void **state)
{
	struct fx *f = *state;
	struct rxjob j = {
	    .n = 1, .len = {SLOT}, .seed = {5}, .accept = 1, .die_on_take = 1};
	struct rxjob ok = {.n = 1, .len = {1000}, .seed = {6}, .accept = 1};
	struct qchan *c;
	struct qerror e;
	char want[128];
	int64_t t;

	assert_rc(qchan_open(f->spec, NULL, &c, &e), QE_OK, &e);
	struct kid k = start_rx(f, &j);
	t = now_ms();
	assert_rc(send_pattern(c, SLOT, 5, 10000, &e), QE_CHAN_GONE, &e);
	t = now_ms() - t;
	print_message("    receiver death detected in %lld ms\n", (long long)t);
	assert_true(t < 3000);
	snprintf(want, sizeof want,
		 "the Quest side (pid %d) went away while taking the program",
		 (int)k.pid);
	assert_string_equal(e.msg, want);
	assert_int_equal(reap(f, &k), 128 + SIGKILL);
	assert_int_equal(peek_u32(f->key, OFF_STATE), 0);

	k = start_rx(f, &ok);
	assert_rc(send_pattern(c, 1000, 6, LONG_MS, &e), QE_OK, &e);
	assert_int_equal(reap(f, &k), 0);
	qchan_close(c);
}

static int child_hold_lock(struct fx *f, int ready, int go, void *arg)
{
	struct qerror e;

	(void)go;
	(void)arg;
	/* Dies "mid-copy": half a slot of garbage, lock held. */
	if (qchan_shm_debug_lock(f->key, SLOT / 2, &e) != QE_OK)
		return 10;
	write_byte(ready, 'r');
	pause();
	return 0;
}

/* A lock whose owner died is recovered only if the kernel keeps the robust
 * futex list glibc registers for each thread. qemu-user does not
 * (get_robust_list fails with ENOSYS there): such a lock stays held for
 * ever, so the two tests that kill an owner are not run, and say why. They
 * run under a real kernel (make check, and make check-i386-vm for i386). */
static void skip_without_robust_lists(void)
{
	void *head;
	size_t len;

	if (syscall(SYS_get_robust_list, 0, &head, &len) == 0)
		return;
	print_message("    not run: this kernel keeps no robust futex lists "
		      "(get_robust_list: %s; qemu-user), so a dead owner's "
		      "lock is never released\n",
		      strerror(errno));
	skip();
}

static void test_sender_dies_holding_lock(void **state)
{
	struct fx *f = *state;
	struct rxjob j = {
	    .n = 1, .len = {SLOT}, .seed = {8}, .accept = 1, .probe_ms = 300};
	struct qchan *c;
	struct qerror e;

	skip_without_robust_lists();
	assert_rc(qchan_open(f->spec, NULL, &c, &e), QE_OK, &e);
	struct kid k = spawn(f, child_hold_lock, NULL);
	await_ready(&k);
	kill(k.pid, SIGKILL);
	assert_int_equal(reap(f, &k), 128 + SIGKILL);
	assert_int_equal(peek_u32(f->key, OFF_RECOVERIES), 0);

	/* The receiver recovers the lock and finds no half packet (probe),
	 * then a full round trip works. */
	k = start_rx(f, &j);
	assert_int_equal(peek_u32(f->key, OFF_RECOVERIES), 1);
	assert_rc(send_pattern(c, SLOT, 8, LONG_MS, &e), QE_OK, &e);
	assert_int_equal(reap(f, &k), 0);
	qchan_close(c);
}

static void test_receiver_dies_holding_lock(void **state)
{
	struct fx *f = *state;
	struct rxjob ok = {.n = 1, .len = {500}, .seed = {9}, .accept = 1};
	struct qchan *c;
	struct qerror e;
	int64_t t;

	skip_without_robust_lists();
	assert_rc(qchan_open(f->spec, NULL, &c, &e), QE_OK, &e);
	struct kid k = spawn(f, child_attach_then, "hold-lock");
	await_ready(&k);
	kill(k.pid, SIGKILL);
	assert_int_equal(reap(f, &k), 128 + SIGKILL);

	t = now_ms();
	assert_rc(send_pattern(c, 500, 9, LONG_MS, &e), QE_CHAN_NO_RECEIVER,
		  &e);
	assert_true(now_ms() - t < 1000);
	assert_int_equal(peek_u32(f->key, OFF_RECOVERIES), 1);

	k = start_rx(f, &ok);
	assert_rc(send_pattern(c, 500, 9, LONG_MS, &e), QE_OK, &e);
	assert_int_equal(reap(f, &k), 0);
	qchan_close(c);
}

static void die_now(void)
{
	kill(getpid(), SIGKILL);
}

static int child_tx(struct fx *f, int ready, int go, void *arg)
{
	const int *how = arg; /* [0]: die after FULL; [1]: packets; [2]: seed */
	struct qchan *c;
	struct qerror e;

	(void)go;
	if (qchan_open(f->spec, NULL, &c, &e) != QE_OK)
		return 10;
	if (how[0])
		qchan_shm_debug_after_full = die_now;
	write_byte(ready, 'r');
	for (int i = 0; i < how[1]; i++) {
		size_t len = 1000 + (size_t)how[2] * 100 + (size_t)i * 37;
		if (send_pattern(c, len, (uint8_t)(how[2] + i), LONG_MS, &e) !=
		    QE_OK)
			return 20 + i;
	}
	qchan_close(c);
	return 0;
}

static void test_sender_dies_after_full(void **state)
{
	struct fx *f = *state;
	int dies[3] = {1, 1, 40}, lives[3] = {0, 1, 50};
	struct qchan_rx *rx;
	struct qerror e;
	const uint8_t *p;
	size_t len;

	assert_rc(qchan_rx_open(f->spec, 0, &rx, &e), QE_OK, &e);
	struct kid k = spawn(f, child_tx, dies);
	await_ready(&k);
	assert_int_equal(reap(f, &k), 128 + SIGKILL);
	assert_int_equal(peek_u32(f->key, OFF_STATE), 1); /* FULL, orphan */
	/* Nobody would hear its outcome: withdrawn, not taken. */
	assert_rc(qchan_rx_take(rx, &p, &len, 300, &e), QE_CHAN_TIMEOUT, &e);
	assert_int_equal(peek_u32(f->key, OFF_STATE), 0);

	k = spawn(f, child_tx, lives);
	await_ready(&k);
	assert_rc(qchan_rx_take(rx, &p, &len, LONG_MS, &e), QE_OK, &e);
	assert_int_equal(len, 1000 + 50 * 100);
	assert_true(matches(p, len, 50));
	assert_rc(qchan_rx_answer(rx, 1, NULL, &e), QE_OK, &e);
	assert_int_equal(reap(f, &k), 0);
	qchan_rx_close(rx);
}

static int child_rx_idle(struct fx *f, int ready, int go, void *arg)
{
	struct qchan_rx *rx;
	struct qerror e;
	const uint8_t *p;
	size_t len;

	(void)go;
	(void)arg;
	if (qchan_rx_open(f->spec, 0, &rx, &e) != QE_OK)
		return 10;
	write_byte(ready, 'r');
	qchan_rx_take(rx, &p, &len, -1, &e);
	return 11;
}

/* Sides killed while asleep in the channel's wait (quest-sim or
 * questbinloader interrupted) must not wedge the next ones: waking the
 * sleepers of a dead waiter's queue has to return. */
static void test_killed_while_waiting(void **state)
{
	struct fx *f = *state;
	struct rxjob ok = {.n = 1, .len = {700}, .seed = {3}, .accept = 1};
	int tx_waits[3] = {0, 1, 60}, tx_ok[3] = {0, 1, 70};
	struct qchan_rx *rx;
	struct qchan *c;
	struct qerror e;
	const uint8_t *p;
	size_t len;

	assert_rc(qchan_open(f->spec, NULL, &c, &e), QE_OK, &e);
	for (int i = 0; i < 3; i++) {
		struct kid k = spawn(f, child_rx_idle, NULL);
		await_ready(&k);
		await_sleeping(k.pid);
		kill(k.pid, SIGKILL);
		assert_int_equal(reap(f, &k), 128 + SIGKILL);
	}
	struct kid k = start_rx(f, &ok);
	assert_rc(send_pattern(c, 700, 3, LONG_MS, &e), QE_OK, &e);
	assert_int_equal(reap(f, &k), 0);
	qchan_close(c);

	/* A sender asleep waiting for its answer. */
	assert_rc(qchan_rx_open(f->spec, 0, &rx, &e), QE_OK, &e);
	k = spawn(f, child_tx, tx_waits);
	await_ready(&k);
	await_sleeping(k.pid);
	kill(k.pid, SIGKILL);
	assert_int_equal(reap(f, &k), 128 + SIGKILL);
	/* Its packet may be FULL (withdrawn at the next look) or not yet
	 * written; either way it never reaches us. */
	assert_rc(qchan_rx_take(rx, &p, &len, 300, &e), QE_CHAN_TIMEOUT, &e);
	k = spawn(f, child_tx, tx_ok);
	await_ready(&k);
	assert_rc(qchan_rx_take(rx, &p, &len, LONG_MS, &e), QE_OK, &e);
	assert_true(matches(p, len, 70));
	assert_rc(qchan_rx_answer(rx, 1, NULL, &e), QE_OK, &e);
	assert_int_equal(reap(f, &k), 0);
	qchan_rx_close(rx);
}

static void test_concurrent_senders(void **state)
{
	struct fx *f = *state;
	int a[3] = {0, 3, 10}, b[3] = {0, 3, 20};
	int seen[32] = {0};
	struct qchan_rx *rx, *rx2;
	struct qerror e;
	const uint8_t *p;
	size_t len;

	assert_rc(qchan_rx_open(f->spec, SLOT, &rx, &e), QE_OK, &e);
	/* One receiver at a time. */
	assert_rc(qchan_rx_open(f->spec, SLOT, &rx2, &e), QE_CHAN_IO, &e);
	char pid[32];
	snprintf(pid, sizeof pid, "pid %d", (int)getpid());
	assert_has(&e, pid);

	struct kid ka = spawn(f, child_tx, a);
	struct kid kb = spawn(f, child_tx, b);
	for (int i = 0; i < 6; i++) {
		assert_rc(qchan_rx_take(rx, &p, &len, LONG_MS, &e), QE_OK, &e);
		int seed = p[0];
		assert_true(seed >= 10 && seed < 23);
		int base = seed >= 20 ? 20 : 10, n = seed - base;
		assert_int_equal(len,
				 1000 + (size_t)base * 100 + (size_t)n * 37);
		assert_true(matches(p, len, (uint8_t)seed));
		seen[seed]++;
		assert_rc(qchan_rx_answer(rx, 1, NULL, &e), QE_OK, &e);
	}
	for (int s = 10; s < 13; s++) {
		assert_int_equal(seen[s], 1);
		assert_int_equal(seen[s + 10], 1);
	}
	assert_int_equal(reap(f, &ka), 0);
	assert_int_equal(reap(f, &kb), 0);
	qchan_rx_close(rx);
}

static void test_version_mismatch(void **state)
{
	struct fx *f = *state;
	struct qchan_opts o;
	struct qchan_rx *rx;
	struct qchan *c, *c2;
	struct qerror e;

	assert_rc(qchan_open(f->spec, NULL, &c, &e), QE_OK, &e);
	qchan_opts_default(&o);
	o.slot_size = 4096;
	assert_rc(qchan_open(f->spec, &o, &c2, &e), QE_CHAN_VERSION, &e);
	assert_has(&e, "393216");
	assert_has(&e, "4096");
	assert_rc(qchan_rx_open(f->spec, 4096, &rx, &e), QE_CHAN_VERSION, &e);
	assert_rc(qchan_rx_open(f->spec, 0, &rx, &e), QE_OK, &e);
	qchan_rx_close(rx);

	poke_u32(f->key, OFF_VERSION, 99);
	assert_rc(qchan_open(f->spec, NULL, &c2, &e), QE_CHAN_VERSION, &e);
	assert_has(&e, "version 99");
	assert_has(&e, "version 1");
	assert_rc(qchan_rx_open(f->spec, 0, &rx, &e), QE_CHAN_VERSION, &e);
	poke_u32(f->key, OFF_VERSION, 1);
	assert_rc(qchan_open(f->spec, NULL, &c2, &e), QE_OK, &e);
	qchan_close(c2);

	/* A side of the other word size (x86-64 against i386, or back): one
	 * message that names both. */
	uint32_t mine = peek_u32(f->key, OFF_ABI);
	poke_u32(f->key, OFF_ABI,
		 sizeof(long) == 8 ? (4u | 24u << 8) : (8u | 40u << 8));
	assert_rc(qchan_open(f->spec, NULL, &c2, &e), QE_CHAN_VERSION, &e);
	assert_has(&e, "32-bit i386");
	assert_has(&e, "64-bit x86-64");
	assert_has(&e, "same ABI");
	assert_rc(qchan_rx_open(f->spec, 0, &rx, &e), QE_CHAN_VERSION, &e);
	assert_has(&e, "same ABI");
	poke_u32(f->key, OFF_ABI, mine);
	assert_rc(qchan_open(f->spec, NULL, &c2, &e), QE_OK, &e);
	qchan_close(c2);
	qchan_close(c);
}

static void test_dev_file(void **state)
{
	struct fx *f = *state;
	char path[128], spec[140], junk[1000], got[2000];
	struct qchan *c;
	struct qerror e;
	uint8_t want[300];
	ssize_t n;
	int fd;

	path_in(f, "file", path, sizeof path);
	snprintf(spec, sizeof spec, "dev:%s", path);
	memset(junk, 'X', sizeof junk);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(write(fd, junk, sizeof junk), sizeof junk);
	close(fd);

	assert_rc(qchan_open(spec, NULL, &c, &e), QE_OK, &e);
	assert_rc(send_pattern(c, 300, 3, LONG_MS, &e), QE_OK, &e);
	fd = open(path, O_RDONLY);
	n = read(fd, got, sizeof got);
	close(fd);
	fill(want, 300, 3);
	assert_int_equal(n, 300);
	assert_memory_equal(got, want, 300);

	assert_rc(send_pattern(c, 100, 4, LONG_MS, &e), QE_OK, &e);
	fd = open(path, O_RDONLY);
	n = read(fd, got, sizeof got);
	close(fd);
	assert_int_equal(n, 100);
	assert_true(matches((uint8_t *)got, 100, 4));
	qchan_close(c);

	path_in(f, "missing", path, sizeof path);
	snprintf(spec, sizeof spec, "dev:%s", path);
	assert_rc(qchan_open(spec, NULL, &c, &e), QE_OK, &e);
	assert_rc(send_pattern(c, 100, 4, LONG_MS, &e), QE_CHAN_IO, &e);
	assert_has(&e, path);
	qchan_close(c);
}

/* Reads a FIFO: `want` bytes (then EOF unless keep_open), checks them. */
struct fifo_job {
	const char *path;
	int rdwr; /* also a writer: no EOF between kick and packet */
	size_t len;
	uint8_t seed;
	int kick;
};

static int child_fifo(struct fx *f, int ready, int go, void *arg)
{
	const struct fifo_job *j = arg;
	size_t want = j->len + (j->kick ? 11 : 0), got = 0;
	uint8_t *b = malloc(want + 1);
	struct pollfd p;
	int fd, rc = 0;

	(void)f;
	(void)go;
	/* Non-blocking open: be a reader before telling the parent. */
	fd = open(j->path, (j->rdwr ? O_RDWR : O_RDONLY) | O_NONBLOCK);
	if (fd < 0 || !b) {
		rc = 10;
		goto out;
	}
	write_byte(ready, 'r');
	p.fd = fd;
	p.events = POLLIN;
	if (poll(&p, 1, LONG_MS) != 1) {
		rc = 11;
		goto out;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	/* A plain reader reads on to EOF, to see that nothing follows. */
	while (got < want + !j->rdwr) {
		ssize_t n = read(fd, b + got, want + 1 - got);
		if (n <= 0) {
			rc = n < 0 ? 12 : 0;
			break;
		}
		got += (size_t)n;
	}
	if (!rc && got != want)
		rc = 13;
	else if (!rc && j->kick && memcmp(b, "proc_creat\n", 11))
		rc = 14;
	else if (!rc && !matches(b + (j->kick ? 11 : 0), j->len, j->seed))
		rc = 15;
out:
	free(b);
	return rc;
}

/* A FIFO reader that never reads: the writer must give up in time. */
static int child_fifo_stall(struct fx *f, int ready, int go, void *arg)
{
	int fd;

	(void)f;
	fd = open(arg, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return 10;
	write_byte(ready, 'r');
	read_byte(go, LONG_MS); /* EOF when the parent reaps us */
	close(fd);
	return 0;
}

static void test_dev_fifo(void **state)
{
	struct fx *f = *state;
	char path[128], spec[140];
	struct fifo_job j = {.path = path, .len = SLOT, .seed = 6};
	struct qchan *c;
	struct qerror e;
	int64_t t;

	path_in(f, "fifo", path, sizeof path);
	snprintf(spec, sizeof spec, "dev:%s", path);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_rc(qchan_open(spec, NULL, &c, &e), QE_OK, &e);

	t = now_ms();
	assert_rc(send_pattern(c, 100, 1, LONG_MS, &e), QE_CHAN_NO_RECEIVER,
		  &e);
	assert_true(now_ms() - t < 1000);

	struct kid k = spawn(f, child_fifo, &j);
	await_ready(&k);
	assert_rc(send_pattern(c, SLOT, 6, LONG_MS, &e), QE_OK, &e);
	assert_int_equal(reap(f, &k), 0);

	k = spawn(f, child_fifo_stall, path);
	await_ready(&k);
	t = now_ms();
	assert_rc(send_pattern(c, SLOT, 6, 300, &e), QE_CHAN_TIMEOUT, &e);
	t = now_ms() - t;
	assert_true(t >= 290 && t < 3000);
	assert_int_equal(reap(f, &k), 0);
	qchan_close(c);
}

static void test_kick(void **state)
{
	struct fx *f = *state;
	char fifo[128], spec[140], file[128], got[16];
	struct fifo_job j = {
	    .path = fifo, .rdwr = 1, .len = 1000, .seed = 2, .kick = 1};
	struct qchan_opts o;
	struct qchan *c;
	struct qerror e;
	int fd;

	path_in(f, "fifo", fifo, sizeof fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	snprintf(spec, sizeof spec, "dev:%s", fifo);
	qchan_opts_default(&o);
	o.kick = fifo;
	o.kick_cmd = "proc_creat";

	/* Kick line and packet through the same FIFO: order is visible. */
	assert_rc(qchan_open(spec, &o, &c, &e), QE_OK, &e);
	struct kid k = spawn(f, child_fifo, &j);
	await_ready(&k);
	assert_rc(send_pattern(c, 1000, 2, LONG_MS, &e), QE_OK, &e);
	assert_int_equal(reap(f, &k), 0);
	/* Nobody reads the kick FIFO now. */
	assert_rc(send_pattern(c, 1000, 2, LONG_MS, &e), QE_CHAN_IO, &e);
	assert_has(&e, fifo);
	qchan_close(c);

	/* A kick that fails stops the packet. */
	path_in(f, "file", file, sizeof file);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(write(fd, "old", 3), 3);
	close(fd);
	snprintf(spec, sizeof spec, "dev:%s", file);
	path_in(f, "kick", fifo, sizeof fifo); /* does not exist */
	o.kick_cmd = NULL;
	assert_rc(qchan_open(spec, &o, &c, &e), QE_OK, &e);
	assert_rc(send_pattern(c, 100, 1, LONG_MS, &e), QE_CHAN_IO, &e);
	assert_has(&e, fifo);
	qchan_close(c);
	fd = open(file, O_RDONLY);
	assert_int_equal(read(fd, got, sizeof got), 3);
	close(fd);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_spec),
	    T(test_round_trip),
	    T(test_refused),
	    T(test_no_receiver),
	    T(test_timeout_withdraw),
	    T(test_taken_timeout_abandoned),
	    T(test_receiver_killed_mid_packet),
	    T(test_sender_dies_holding_lock),
	    T(test_receiver_dies_holding_lock),
	    T(test_sender_dies_after_full),
	    T(test_killed_while_waiting),
	    T(test_concurrent_senders),
	    T(test_version_mismatch),
	    T(test_dev_file),
	    T(test_dev_fifo),
	    T(test_kick),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
