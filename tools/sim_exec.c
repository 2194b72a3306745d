/* SPDX-License-Identifier: GPL-2.0-or-later */
/* quest-sim --exec (see sim_exec.h). Each program runs in a child process:
 * its output goes to quest-sim's stdout one line per write(2), prefixed
 * "[#N NAME] " with control characters shown as '?', and as it is to
 * DIR/N.out with --save; its result is one line, which quest-sim writes
 * for a child that died without one. A child past its time limit is
 * killed: by its own alarm, and by quest-sim's watchdog if that fails. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emu.h"
#include "sim_exec.h"

/* a program running: the watchdog kills it at kill_ms */
struct kid {
	pid_t pid;
	int pidfd; /* -1: none (the watchdog then looks every 100 ms) */
	unsigned long n;
	char name[40];
	uint64_t kill_ms;
	int killed;
};

/* beyond --exec-timeout, what the child's engine has to end by itself */
#define SIMX_GRACE_MS 2000u

static struct kid *kids;
static unsigned running, cap;

/* what one program may print, to the screen and to DIR/N.out: its output
 * comes from any local user, quest-sim's log and disk are shared */
#define SIMX_OUT_MAX (1u << 20)

struct sink {
	char prefix[64];
	char line[512];
	size_t len;
	size_t total;
	int save_fd;
};

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* one prefixed line in one write(2): children never cut into each other */
static void emit(struct sink *s)
{
	char buf[sizeof s->prefix + sizeof s->line + 1];
	size_t n = strlen(s->prefix);

	memcpy(buf, s->prefix, n);
	memcpy(buf + n, s->line, s->len);
	n += s->len;
	buf[n++] = '\n';
	write_all(STDOUT_FILENO, buf, n);
	s->len = 0;
}

static void sink_out(void *ctx, const char *buf, size_t len)
{
	struct sink *s = ctx;

	if (s->total >= SIMX_OUT_MAX)
		return;
	if (len > SIMX_OUT_MAX - s->total)
		len = SIMX_OUT_MAX - s->total;
	s->total += len;
	if (s->save_fd >= 0)
		write_all(s->save_fd, buf, len);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c == '\n') {
			emit(s);
			continue;
		}
		if (s->len == sizeof s->line)
			emit(s);
		s->line[s->len++] =
		    (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c;
	}
}

static void safe_name(char *dst, size_t cap, const char *name)
{
	size_t i;

	/* the program's name: the command line's first word */
	for (i = 0; name[i] && name[i] != ' ' && i + 1 < cap && i < 32; i++)
		dst[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f
			     ? '?'
			     : name[i];
	dst[i] = '\0';
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *end_word(const struct emu_result *r)
{
	switch (r->end) {
	case EMU_EXITED:
		return "exited";
	case EMU_REFUSED:
		return "refused";
	case EMU_FAULT:
		return "fault";
	case EMU_LIMIT:
		return "limit";
	case EMU_ERROR:
		break;
	}
	return "error";
}

static void child(const struct simx_opts *o, unsigned long n, const char *name,
		  const uint8_t *elf, size_t len, const char *line)
{
	struct emu_opts eo = {.profile = (enum qload_profile_id)o->profile,
			      .root = o->root,
			      .in_fd = -1,
			      .timeout_ms = o->timeout_ms};
	struct sink s = {.save_fd = -1};
	struct emu_result *r = malloc(sizeof *r);
	char res[800], nm[40];
	double t0 = now_s();

	safe_name(nm, sizeof nm, name);
	snprintf(s.prefix, sizeof s.prefix, "[#%lu %s] ", n, nm);
	if (o->save) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%06lu.out", o->save, n);
		s.save_fd = open(
		    path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		    0644);
		if (s.save_fd < 0)
			fprintf(stderr, "quest-sim: %s: %s\n", path,
				strerror(errno));
	}
	eo.out = sink_out;
	eo.out_ctx = &s;
	if (!r)
		_exit(1);
	/* the kernel ends the run if the engine does not, SIGALRM */
	alarm((unsigned)((o->timeout_ms + SIMX_GRACE_MS / 2 + 999) / 1000));
	emu_run(elf, len, line, &eo, r);
	if (s.len)
		emit(&s);
	if (s.total >= SIMX_OUT_MAX) {
		s.len = (size_t)snprintf(s.line, sizeof s.line,
					 "(output cut after %u bytes)",
					 SIMX_OUT_MAX);
		emit(&s);
	}
	snprintf(res, sizeof res,
		 "quest-sim: #%lu %s: %s %d, %llu instructions, %.3f s%s%s\n",
		 n, nm, end_word(r), emu_exit_status(r),
		 (unsigned long long)r->insns, now_s() - t0,
		 r->end == EMU_EXITED ? "" : ": ",
		 r->end == EMU_EXITED ? "" : r->msg);
	write_all(STDOUT_FILENO, res, strlen(res));
	if (s.save_fd >= 0)
		close(s.save_fd);
	_exit(0);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void safe_name(char *dst, size_t cap, const char *name);

/* A child that ended without its result line gets one from here: killed
 * by a signal (128 + its number, as a shell says), or its engine failed. */
static void report(const struct kid *k, int status)
{
	char res[256];
	const char *abbrev;
	int sig;

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	if (!WIFSIGNALED(status)) {
		snprintf(res, sizeof res,
			 "quest-sim: #%lu %s: error %d: the run ended without "
			 "a result\n",
			 k->n, k->name,
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	} else {
		sig = WTERMSIG(status);
		abbrev = sigabbrev_np(sig);
		snprintf(res, sizeof res,
			 "quest-sim: #%lu %s: killed %d, by SIG%s%s\n", k->n,
			 k->name, 128 + sig, abbrev ? abbrev : "?",
			 k->killed || sig == SIGALRM
			     ? ": past its time limit (--exec-timeout)"
			     : "");
	}
	write_all(STDOUT_FILENO, res, strlen(res));
}

static void forget(unsigned i, int status)
{
	report(&kids[i], status);
	if (kids[i].pidfd >= 0)
		close(kids[i].pidfd);
	kids[i] = kids[--running];
}

/* Collects what has ended, then kills what is past its time. */
static void collect(void)
{
	uint64_t now;
	int status;
	pid_t p;

	while (running && (p = waitpid(-1, &status, WNOHANG)) != 0) {
		if (p < 0) {
			if (errno == EINTR)
				continue;
			running = 0; /* no children left at all */
			break;
		}
		for (unsigned i = 0; i < running; i++)
			if (kids[i].pid == p) {
				forget(i, status);
				break;
			}
	}
	now = now_ms();
	for (unsigned i = 0; i < running; i++)
		if (!kids[i].killed && now >= kids[i].kill_ms) {
			kill(kids[i].pid, SIGKILL);
			kids[i].killed = 1;
		}
}

/* Sleeps until a child ends, the watchdog is due, or a signal comes;
 * without a pidfd for every child, 100 ms at most. */
static void wait_some(void)
{
	struct pollfd fds[64];
	nfds_t nfd = 0;
	uint64_t now = now_ms(), due;
	int all = running <= sizeof fds / sizeof *fds;

	for (unsigned i = 0; i < running && all; i++) {
		all = kids[i].pidfd >= 0;
		fds[nfd++] = (struct pollfd){kids[i].pidfd, POLLIN, 0};
	}
	due = now + (all ? 60000 : 100);
	for (unsigned i = 0; i < running; i++)
		if (!kids[i].killed && kids[i].kill_ms < due)
			due = kids[i].kill_ms > now ? kids[i].kill_ms : now;
	poll(fds, all ? nfd : 0, (int)(due - now));
}

void simx_reap(int wait_all)
{
	collect();
	while (wait_all && running) {
		wait_some();
		collect();
	}
}

void simx_wait_slot(const struct simx_opts *o,
		    const volatile sig_atomic_t *stop)
{
	collect();
	while (running >= o->jobs && !*stop) {
		wait_some();
		collect();
	}
}

/* the child's entry in the table, before it is started */
static struct kid *new_kid(void)
{
	if (running == cap) {
		unsigned ncap = cap ? 2 * cap : 8;
		struct kid *k = realloc(kids, ncap * sizeof *k);
		if (!k)
			return NULL;
		kids = k;
		cap = ncap;
	}
	return &kids[running];
}

int simx_start(const struct simx_opts *o, unsigned long n, const char *name,
	       const uint8_t *elf, size_t len, const char *argv, size_t size)
{
	char line[EMU_CMDLINE_MAX + 1];
	size_t k = 0;
	struct kid *kid;
	pid_t p;

	/* the words joined by single spaces: what Quest's _exec splits */
	for (size_t i = 0; i < size && k < sizeof line - 1; i++) {
		if (!argv[i] && i + 1 >= size)
			break;
		line[k++] = argv[i] ? argv[i] : ' ';
	}
	line[k] = '\0';
	simx_reap(0);
	kid = new_kid();
	if (!kid) {
		fprintf(stderr, "quest-sim: cannot run #%lu: out of memory\n",
			n);
		return -1;
	}
	fflush(stdout);
	p = fork();
	if (p < 0) {
		fprintf(stderr, "quest-sim: cannot run #%lu: fork: %s\n", n,
			strerror(errno));
		return -1;
	}
	if (p == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		child(o, n, name, elf, len, line);
	}
	*kid =
	    (struct kid){.pid = p,
			 .pidfd = pidfd_open(p, 0),
			 .n = n,
			 .kill_ms = now_ms() + o->timeout_ms + SIMX_GRACE_MS};
	safe_name(kid->name, sizeof kid->name, name);
	running++;
	return 0;
}
