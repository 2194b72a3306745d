/* SPDX-License-Identifier: GPL-2.0-or-later */
/* quest-sim --exec (see sim_exec.h). Each program runs in a child process:
 * its output goes to quest-sim's stdout one line per write(2), prefixed
 * "[#N NAME] " with control characters shown as '?', and as it is to
 * DIR/N.out with --save; its result is one line. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emu.h"
#include "sim_exec.h"

static unsigned running;

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

void simx_reap(int wait_all)
{
	while (running) {
		pid_t p = waitpid(-1, NULL, wait_all ? 0 : WNOHANG);
		if (p > 0) {
			running--;
			continue;
		}
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			running = 0;
		break;
	}
}

void simx_wait_slot(const struct simx_opts *o,
		    const volatile sig_atomic_t *stop)
{
	simx_reap(0);
	while (running >= o->jobs && !*stop) {
		pid_t w = waitpid(-1, NULL, 0);
		if (w > 0)
			running--;
		else if (errno != EINTR)
			running = 0;
	}
}

int simx_start(const struct simx_opts *o, unsigned long n, const char *name,
	       const uint8_t *elf, size_t len, const char *argv, size_t size)
{
	char line[EMU_CMDLINE_MAX + 1];
	size_t k = 0;
	pid_t p;

	/* the words joined by single spaces: what Quest's _exec splits */
	for (size_t i = 0; i < size && k < sizeof line - 1; i++) {
		if (!argv[i] && i + 1 >= size)
			break;
		line[k++] = argv[i] ? argv[i] : ' ';
	}
	line[k] = '\0';
	simx_reap(0);
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
	running++;
	return 0;
}
