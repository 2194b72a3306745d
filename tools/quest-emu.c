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

int main(int argc, char **argv)
{
	enum {
		O_PROFILE = 256,
		O_ROOT,
		O_STDIN,
		O_MAX,
		O_TIMEOUT,
		O_VGA,
		O_TRACE,
		O_QUANTUM,
		O_STATS
	};
	static const struct option longopts[] = {
	    {"profile", required_argument, NULL, O_PROFILE},
	    {"root", required_argument, NULL, O_ROOT},
	    {"stdin", required_argument, NULL, O_STDIN},
	    {"max-insns", required_argument, NULL, O_MAX},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"vga", required_argument, NULL, O_VGA},
	    {"trace", no_argument, NULL, O_TRACE},
	    {"quantum", required_argument, NULL, O_QUANTUM},
	    {"stats", no_argument, NULL, O_STATS},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct emu_opts o = {
	    .profile = QLOAD_GALILEO, .in_fd = STDIN_FILENO, .out = out_stdout};
	struct emu_result *r = NULL;
	const char *vga = NULL, *in = NULL;
	char line[EMU_CMDLINE_MAX];
	unsigned long long v;
	uint8_t *img = NULL;
	size_t len = 0;
	int c, rc = EMU_STATUS_USAGE, stats = 0;
	struct timespec t0, t1;

	while ((c = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
		switch (c) {
		case O_PROFILE:
			if (!strcmp(optarg, "master"))
				o.profile = QLOAD_MASTER;
			else if (!strcmp(optarg, "galileo"))
				o.profile = QLOAD_GALILEO;
			else {
				fprintf(stderr,
					"%s: --profile is master or galileo, "
					"not '%s'\n",
					prog, optarg);
				goto out;
			}
			break;
		case O_ROOT:
			o.root = optarg;
			break;
		case O_STDIN:
			in = optarg;
			break;
		case O_MAX:
		case O_TIMEOUT:
		case O_QUANTUM:
			if (qnum_parse(optarg,
				       c == O_TIMEOUT ? 86400000 : ~0ull,
				       &v) < 0 ||
			    (c == O_QUANTUM && !v)) {
				fprintf(stderr, "%s: bad number '%s'\n", prog,
					optarg);
				goto out;
			}
			if (c == O_MAX)
				o.max_insns = v;
			else if (c == O_TIMEOUT)
				o.timeout_ms = v * 1000;
			else
				o.quantum = v;
			break;
		case O_VGA:
			vga = optarg;
			break;
		case O_TRACE:
			o.trace = stderr;
			break;
		case O_STATS:
			stats = 1;
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		case 'V':
			printf("quest-emu %s\n", QUEST_VERSION);
			rc = 0;
			goto out;
		default:
			fprintf(stderr,
				"Try '%s --help' for more information.\n",
				prog);
			goto out;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "%s: no program given\n", prog);
		goto out;
	}
	if (cmdline(line, sizeof line, argv[optind], argv + optind + 1,
		    argc - optind - 1) < 0)
		goto out;
	if (root_check(o.root) < 0)
		goto out;
	img = read_image(argv[optind], &len);
	if (!img) {
		fprintf(stderr, "%s: %s: %s\n", prog, argv[optind],
			strerror(errno));
		goto out;
	}
	if (in) {
		o.in_fd = open(in, O_RDONLY | O_CLOEXEC);
		if (o.in_fd < 0) {
			fprintf(stderr, "%s: %s: %s\n", prog, in,
				strerror(errno));
			goto out;
		}
	}
	r = malloc(sizeof *r);
	if (!r) {
		fprintf(stderr, "%s: out of memory\n", prog);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	emu_run(img, len, line, &o, r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	rc = emu_exit_status(r);
	if (stats) {
		double s = (double)(t1.tv_sec - t0.tv_sec) +
			   (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		struct rusage ru;
		double cpu = 0;
		if (getrusage(RUSAGE_SELF, &ru) == 0)
			cpu = (double)ru.ru_utime.tv_sec +
			      (double)ru.ru_utime.tv_usec / 1e6 +
			      (double)ru.ru_stime.tv_sec +
			      (double)ru.ru_stime.tv_usec / 1e6;
		fprintf(stderr,
			"%s: %llu instructions, %u tasks, %llu out, %.6f s, "
			"%.6f s CPU\n",
			prog, (unsigned long long)r->insns, r->tasks,
			(unsigned long long)r->outs, s, cpu);
	}
	if (r->end != EMU_EXITED)
		fprintf(stderr, "%s: %s: %s\n", prog, argv[optind], r->msg);
	if (vga && r->end != EMU_REFUSED) {
		FILE *f = fopen(vga, "w");
		if (!f || (emu_screen_write(r, f), fclose(f)) != 0) {
			fprintf(stderr, "%s: %s: %s\n", prog, vga,
				strerror(errno));
			if (rc == 0)
				rc = EMU_STATUS_USAGE;
		}
	}
out:
	if (in && o.in_fd >= 0)
		close(o.in_fd);
	free(r);
	free(img);
	return rc;
}
