/* SPDX-License-Identifier: GPL-2.0-or-later */
/* quest-emu: runs a Quest program on Linux, loaded as Quest's _exec loads
 * it and with its system calls answered as Quest's kernel answers them
 * (libquestemu). Like qemu-user, for Quest. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "emu.h"
#include "num.h"
#include "outfile.h"
#include "qopts.h"

#define MAX_IMAGE (64u << 20)

static const char *prog = "quest-emu";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTION]... PROGRAM [ARG]...\n"
		"Run a Quest program (a static i386 ELF executable) on Linux.\n"
		"\n"
		"      --profile P     master (2011) or galileo (2016, "
		"Quest-V; default)\n"
		"      --root DIR      what open, read and exec see as /\n"
		"                      (default: no files)\n"
		"      --stdin FILE    getchar's input (default: standard "
		"input)\n"
		"      --max-insns N   stop after N instructions (status %d)\n"
		"      --timeout SEC   stop after SEC seconds (status %d)\n"
		"      --vga FILE      write the 80x25 text screen to FILE at "
		"exit\n"
		"      --trace         system calls and port I/O on stderr\n"
		"      --quantum N     instructions per turn of a task "
		"(default %u)\n"
		"      --stats         instructions, tasks and time on stderr "
		"at exit\n"
		"      --list-syscalls the system calls answered, then exit\n"
		"  -h, --help, -V, --version\n"
		"\n"
		"Exit status: the first task's _exit status; %d an emulated "
		"fault,\n"
		"%d a limit reached, %d a usage error, %d refused by Quest's "
		"loader.\n",
		prog, EMU_STATUS_LIMIT, EMU_STATUS_LIMIT, EMU_QUANTUM_DEFAULT,
		EMU_STATUS_FAULT, EMU_STATUS_LIMIT, EMU_STATUS_USAGE,
		EMU_STATUS_REFUSED);
}

static void out_stdout(void *ctx, const char *buf, size_t len)
{
	(void)ctx;
	while (len) {
		ssize_t w = write(STDOUT_FILENO, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		len -= (size_t)w;
	}
}

static uint8_t *read_image(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *b = NULL;
	size_t n = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_IMAGE) {
		errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		goto fail;
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b)
		goto fail;
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, b + n, (size_t)st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*len = n;
	return b;
fail:
	if (fd >= 0)
		close(fd);
	free(b);
	return NULL;
}

/* Quest's command line: the program's name and its arguments joined by
 * single spaces, as questfs packs it; a word it cannot carry is refused. */
static int cmdline(char *dst, size_t cap, const char *path, char **args,
		   int nargs)
{
	const char *base = strrchr(path, '/');
	size_t n = 0;

	base = base ? base + 1 : path;
	for (int i = -1; i < nargs; i++) {
		const char *w = i < 0 ? base : args[i];
		size_t l = strlen(w);
		if (!l || strpbrk(w, " \t\n")) {
			fprintf(stderr,
				"%s: argument '%s' is empty or has a blank: "
				"Quest splits its command line at spaces\n",
				prog, w);
			return -1;
		}
		if (n + (n ? 1 : 0) + l >= cap) {
			fprintf(stderr,
				"%s: the command line does not fit Quest's "
				"%u-byte argv buffer\n",
				prog, EMU_CMDLINE_MAX);
			return -1;
		}
		if (n)
			dst[n++] = ' ';
		memcpy(dst + n, w, l);
		n += l;
	}
	dst[n] = '\0';
	return 0;
}

/* A --root that is not a directory is a usage error, not "no such file"
 * for every open of the program. */
static int root_check(const char *root)
{
	struct stat st;

	if (!root)
		return 0;
	if (stat(root, &st) < 0) {
		fprintf(stderr, "%s: --root %s: %s\n", prog, root,
			strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return 0;
	fprintf(stderr, "%s: --root %s: %s\n", prog, root, strerror(ENOTDIR));
	return -1;
}

/* parse_options's "carry on": any other value is the exit status */
#define CLI_GO QOPTS_GO

enum {
	O_ROOT = 256,
	O_STDIN,
	O_MAX,
	O_TIMEOUT,
	O_VGA,
	O_TRACE,
	O_QUANTUM,
	O_STATS,
	O_LIST
};

static const struct option longopts[] = {
    {"profile", required_argument, NULL, QOPT_PROFILE},
    {"root", required_argument, NULL, O_ROOT},
    {"stdin", required_argument, NULL, O_STDIN},
    {"max-insns", required_argument, NULL, O_MAX},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {"vga", required_argument, NULL, O_VGA},
    {"trace", no_argument, NULL, O_TRACE},
    {"quantum", required_argument, NULL, O_QUANTUM},
    {"stats", no_argument, NULL, O_STATS},
    {"list-syscalls", no_argument, NULL, O_LIST},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* Everything the command line decides. */
struct cli_opts {
	struct emu_opts run; /* what the engine is given */
	const char *vga, *in;
	int stats;
	const char *path; /* PROGRAM */
	char **words;	  /* its ARGs */
	int nwords;
};

/* One option; CLI_GO, or the status to exit with. */
static int parse_option(void *ctx, int c, const char *arg)
{
	struct cli_opts *o = ctx;
	unsigned long long v;

	switch (c) {
	case O_ROOT:
		o->run.root = arg;
		break;
	case O_STDIN:
		o->in = arg;
		break;
	case O_MAX:
	case O_TIMEOUT:
	case O_QUANTUM:
		if (qnum_parse(arg, c == O_TIMEOUT ? 86400000 : ~0ull, &v) <
			0 ||
		    (c == O_QUANTUM && !v)) {
			fprintf(stderr, "%s: bad number '%s'\n", prog, arg);
			return EMU_STATUS_USAGE;
		}
		if (c == O_MAX)
			o->run.max_insns = v;
		else if (c == O_TIMEOUT)
			o->run.timeout_ms = v * 1000;
		else
			o->run.quantum = v;
		break;
	case O_VGA:
		o->vga = arg;
		break;
	case O_TRACE:
		o->run.trace = stderr;
		break;
	case O_STATS:
		o->stats = 1;
		break;
	case O_LIST:
		emu_syscalls_write(stdout);
		return 0;
	default: /* not in its table: getopt_long said so */
		return EMU_STATUS_USAGE;
	}
	return CLI_GO;
}

/* Fills o, defaults first; CLI_GO, or the status to exit with. Options
 * end at PROGRAM: what follows are its ARGs. */
static int parse_options(int argc, char **argv, struct cli_opts *o)
{
	struct qopts q;
	const struct qopts_tool tool = {.prog = prog,
					.usage = usage,
					.ok_status = 0,
					.usage_status = EMU_STATUS_USAGE,
					.option = parse_option,
					.ctx = o};
	int rc;

	*o = (struct cli_opts){
	    .run = {.in_fd = STDIN_FILENO, .out = out_stdout}};
	qopts_default(&q);
	rc = qopts_getopt(argc, argv, "+hV", longopts, &q, &tool);
	o->run.profile = q.profile;
	if (rc != CLI_GO)
		return rc;
	if (optind >= argc) {
		fprintf(stderr, "%s: no program given\n", prog);
		return EMU_STATUS_USAGE;
	}
	o->path = argv[optind];
	o->words = argv + optind + 1;
	o->nwords = argc - optind - 1;
	return CLI_GO;
}

static uint8_t *load_program(const char *path, size_t *len)
{
	uint8_t *img = read_image(path, len);

	if (!img)
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
	return img;
}

/* --stdin: getchar's input from a file instead of standard input. */
static int open_stdin(struct cli_opts *o)
{
	if (!o->in)
		return 0;
	o->run.in_fd = open(o->in, O_RDONLY | O_CLOEXEC);
	if (o->run.in_fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, o->in, strerror(errno));
		return -1;
	}
	return 0;
}

/* --stats: the engine's counts, wall-clock and CPU time. */
static void print_stats(const struct emu_result *r, const struct timespec *t0,
			const struct timespec *t1)
{
	double s = (double)(t1->tv_sec - t0->tv_sec) +
		   (double)(t1->tv_nsec - t0->tv_nsec) / 1e9;
	struct rusage ru;
	double cpu = 0;

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = (double)ru.ru_utime.tv_sec +
		      (double)ru.ru_utime.tv_usec / 1e6 +
		      (double)ru.ru_stime.tv_sec +
		      (double)ru.ru_stime.tv_usec / 1e6;
	fprintf(stderr,
		"%s: %llu instructions, %u tasks, %llu out, %.6f s, %.6f s "
		"CPU\n",
		prog, (unsigned long long)r->insns, r->tasks,
		(unsigned long long)r->outs, s, cpu);
}

/* --vga: the text screen as the program left it. */
static int write_vga(const char *path, const struct emu_result *r)
{
	struct qerror e;
	int fd = qout_open(path, 0, &e);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");

	if (fd < 0) {
		fprintf(stderr, "%s: --vga: %s\n", prog, e.msg);
		return -1;
	}
	if (!f || (emu_screen_write(r, f), fclose(f)) != 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		if (!f)
			close(fd);
		return -1;
	}
	return 0;
}

/* Runs the program and reports how it ended; returns the exit status. */
static int run_program(const struct cli_opts *o, const uint8_t *img, size_t len,
		       const char *line, struct emu_result *r)
{
	struct timespec t0, t1;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	emu_run(img, len, line, &o->run, r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	rc = emu_exit_status(r);
	if (o->stats)
		print_stats(r, &t0, &t1);
	if (r->end != EMU_EXITED)
		fprintf(stderr, "%s: %s: %s\n", prog, o->path, r->msg);
	if (o->vga && r->end != EMU_REFUSED && write_vga(o->vga, r) < 0 &&
	    rc == 0)
		rc = EMU_STATUS_USAGE;
	return rc;
}

int main(int argc, char **argv)
{
	struct cli_opts o;
	struct emu_result *r;
	char line[EMU_CMDLINE_MAX];
	uint8_t *img;
	size_t len = 0;
	int rc = parse_options(argc, argv, &o);

	if (rc != CLI_GO)
		goto out;
	rc = EMU_STATUS_USAGE;
	if (cmdline(line, sizeof line, o.path, o.words, o.nwords) < 0 ||
	    root_check(o.run.root) < 0)
		goto out;
	img = load_program(o.path, &len);
	if (!img)
		goto out;
	if (open_stdin(&o) < 0)
		goto out_img;
	r = malloc(sizeof *r);
	if (!r) {
		fprintf(stderr, "%s: out of memory\n", prog);
		goto out_stdin;
	}

	rc = run_program(&o, img, len, line, r);

	free(r);
out_stdin:
	if (o.in)
		close(o.run.in_fd);
out_img:
	free(img);
out:
	return rc;
}
