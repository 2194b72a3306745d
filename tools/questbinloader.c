/* SPDX-License-Identifier: GPL-2.0-or-later */
/* questbinloader: the original command-line loader, on libquestcore.
 * Reads an i386 ELF program, checks it as Quest's loader would, packs it
 * with its arguments into one packet and sends it to the Quest side. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chan.h"
#include "num.h"
#include "program.h"
#include "qload.h"

/* Exit statuses; documented in questbinloader(1). */
enum {
	EX_SENT = 0,
	EX_PROGRAM = 1, /* the program is not one Quest can run */
	EX_USAGE = 2,	/* bad options or arguments */
	EX_CHANNEL = 3, /* no Quest side, timeout, channel error */
	EX_REFUSED = 4, /* the Quest side refused the program */
};

static const char *prog = "questbinloader";

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: %s [OPTION]... BINARY [ARG]...\n"
	    "Send the i386 ELF program BINARY, with ARGs, to the Quest side.\n"
	    "\n"
	    "  -c, --channel SPEC     channel: shm:KEY or dev:PATH (default "
	    "%s)\n"
	    "  -t, --timeout SEC      give up after SEC seconds (default 5)\n"
	    "  -n, --check            only check the program and arguments\n"
	    "  -o, --out FILE         write the packet to FILE instead of "
	    "sending\n"
	    "      --argv0=name|none  pass the program's name as argv[0] "
	    "(default)\n"
	    "                         or leave it out\n"
	    "      --slot-size N      channel slot size in bytes (default %u)\n"
	    "      --argv-format F    line: one command line, words joined "
	    "by\n"
	    "                         spaces (default); strings: each word\n"
	    "                         NUL-terminated\n"
	    "      --quest-profile P  the Quest kernel(s) to load right on: "
	    "master,\n"
	    "                         galileo or both (default both)\n"
	    "      --user-base ADDR   lowest address of Quest's user window "
	    "(0x%x)\n"
	    "      --user-limit ADDR  end of Quest's user window (0x%x; the\n"
	    "                         profile's window by default)\n"
	    "      --kick PATH        write a command line to PATH before "
	    "sending\n"
	    "      --kick-cmd CMD     the command line (default proc_creat)\n"
	    "  -h, --help             this help\n"
	    "  -V, --version          version\n"
	    "\n"
	    "Exit status: 0 sent (and taken by the Quest side), checked or "
	    "written;\n"
	    "1 not a program Quest can run; 2 bad options or arguments;\n"
	    "3 no Quest side, timeout or channel error; 4 refused by the Quest "
	    "side.\n",
	    prog, QCHAN_SPEC_DEFAULT, QPKT_SLOT_DEFAULT, QELF_USER_BASE_DEFAULT,
	    QELF_USER_LIMIT_DEFAULT);
}

/* Reads the whole file, refusing one larger than the largest program before
 * reading it. */
static int read_program(const char *path, const struct qelf_profile *p,
			uint8_t **buf, size_t *len)
{
	struct qerror e;
	struct stat st;
	int rc = EX_PROGRAM, fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap, n = 0;

	*buf = NULL;
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		fprintf(stderr, "%s: %s: Is a directory\n", prog, path);
		goto out;
	}
	if (S_ISREG(st.st_mode) &&
	    qprog_check_size((uint64_t)st.st_size, p, &e) != QE_OK) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, e.msg);
		goto out;
	}
	cap = p->max_size + 1;
	*buf = malloc(cap);
	if (!*buf) {
		fprintf(stderr, "%s: out of memory\n", prog);
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, *buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "%s: %s: %s\n", prog, path,
				strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap) {
			qprog_check_size(n, p, &e);
			fprintf(stderr, "%s: %s: %s\n", prog, path, e.msg);
			goto out;
		}
	}
	*len = n;
	rc = EX_SENT;
out:
	if (fd >= 0)
		close(fd);
	if (rc != EX_SENT) {
		free(*buf);
		*buf = NULL;
	}
	return rc;
}

static int write_all(const char *path, const struct iovec *iov, int n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = 0;

	if (fd < 0)
		return -1;
	for (int i = 0; i < n && rc == 0; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;
		while (left) {
			ssize_t w = write(fd, p, left);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc = -1;
				break;
			}
			p += w;
			left -= (size_t)w;
		}
	}
	if (close(fd) < 0)
		rc = -1;
	return rc;
}

int main(int argc, char **argv)
{
	enum {
		O_ARGV0 = 256,
		O_SLOT,
		O_BASE,
		O_LIMIT,
		O_KICK,
		O_KICKCMD,
		O_PROFILE,
		O_FORMAT
	};
	static const struct option longopts[] = {
	    {"channel", required_argument, NULL, 'c'},
	    {"timeout", required_argument, NULL, 't'},
	    {"check", no_argument, NULL, 'n'},
	    {"out", required_argument, NULL, 'o'},
	    {"argv0", required_argument, NULL, O_ARGV0},
	    {"slot-size", required_argument, NULL, O_SLOT},
	    {"user-base", required_argument, NULL, O_BASE},
	    {"user-limit", required_argument, NULL, O_LIMIT},
	    {"quest-profile", required_argument, NULL, O_PROFILE},
	    {"argv-format", required_argument, NULL, O_FORMAT},
	    {"kick", required_argument, NULL, O_KICK},
	    {"kick-cmd", required_argument, NULL, O_KICKCMD},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *spec = QCHAN_SPEC_DEFAULT, *out = NULL;
	unsigned long long timeout_s = 5, v, ubase = 0, ulimit = 0;
	unsigned mask = QLOAD_MASK_BOTH;
	enum qargv_format fmt = QARGV_LINE;
	int have_base = 0, have_limit = 0;
	int check_only = 0, argv0 = 1, c, rc = EX_USAGE;
	struct qchan_opts copts;
	struct qelf_profile prof;
	struct qelf_info info;
	struct qargv args;
	struct qerror e;
	struct qchan *ch = NULL;
	uint8_t hdr[QPKT_HDR_SIZE], *elf = NULL;
	size_t elf_len = 0;

	qchan_opts_default(&copts);
	qelf_profile_default(&prof);
	while ((c = getopt_long(argc, argv, "+c:t:no:hV", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'c':
			spec = optarg;
			break;
		case 't':
			if (qnum_parse(optarg, 86400, &timeout_s) < 0) {
				fprintf(stderr,
					"%s: bad --timeout '%s' (seconds, up "
					"to 86400)\n",
					prog, optarg);
				goto out;
			}
			break;
		case 'n':
			check_only = 1;
			break;
		case 'o':
			out = optarg;
			break;
		case O_ARGV0:
			if (strcmp(optarg, "name") && strcmp(optarg, "none")) {
				fprintf(stderr,
					"%s: --argv0 takes 'name' or 'none', "
					"not '%s'\n",
					prog, optarg);
				goto out;
			}
			argv0 = !strcmp(optarg, "name");
			break;
		case O_SLOT:
			if (qnum_parse(optarg, QPKT_SLOT_MAX, &v) < 0 ||
			    qpkt_slot_check((size_t)v, NULL) != QE_OK) {
				fprintf(
				    stderr,
				    "%s: bad --slot-size '%s' (bytes, %u to "
				    "%u)\n",
				    prog, optarg, QPKT_SLOT_MIN, QPKT_SLOT_MAX);
				goto out;
			}
			copts.slot_size = (size_t)v;
			break;
		case O_BASE:
		case O_LIMIT:
			if (qnum_parse(optarg, 0xffffffffu, &v) < 0) {
				fprintf(stderr, "%s: bad address '%s'\n", prog,
					optarg);
				goto out;
			}
			if (c == O_BASE) {
				ubase = v;
				have_base = 1;
			} else {
				ulimit = v;
				have_limit = 1;
			}
			break;
		case O_FORMAT:
			if (qargs_format_parse(optarg, &fmt, &e) != QE_OK) {
				fprintf(stderr, "%s: %s\n", prog, e.msg);
				goto out;
			}
			break;
		case O_PROFILE:
			if (qload_profile_parse(optarg, &mask, &e) != QE_OK) {
				fprintf(stderr, "%s: %s\n", prog, e.msg);
				goto out;
			}
			break;
		case O_KICK:
			copts.kick = optarg;
			break;
		case O_KICKCMD:
			copts.kick_cmd = optarg;
			break;
		case 'h':
			usage(stdout);
			rc = EX_SENT;
			goto out;
		case 'V':
			printf("questbinloader %s\n", QUEST_VERSION);
			rc = EX_SENT;
			goto out;
		default:
			fprintf(stderr,
				"Try '%s --help' for more information.\n",
				prog);
			goto out;
		}
	}
	if (optind >= argc) {
		fprintf(stderr,
			"%s: missing BINARY\nTry '%s --help' for more "
			"information.\n",
			prog, prog);
		goto out;
	}
	/* the window is the profile's unless given */
	qelf_profile_quest(&prof, mask);
	if (have_base)
		prof.user_base = (uint32_t)ubase;
	if (have_limit)
		prof.user_limit = (uint32_t)ulimit;
	if (prof.user_base >= prof.user_limit) {
		fprintf(stderr, "%s: empty user window [0x%x, 0x%x)\n", prog,
			prof.user_base, prof.user_limit);
		goto out;
	}
	prof.max_size = qpkt_max_binary(copts.slot_size);

	const char *path = argv[optind], *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	qargs_init(&args, NULL, NULL);
	args.format = fmt;
	if (argv0 && qargs_add(&args, base, &e) != QE_OK) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		goto out;
	}
	for (int i = optind + 1; i < argc; i++) {
		if (qargs_add(&args, argv[i], &e) != QE_OK) {
			/* name the full size, not the size at the word that
			 * overflowed */
			size_t need = args.size;
			for (int j = i; j < argc; j++)
				need += strlen(argv[j]) + 1;
			fprintf(stderr,
				"%s: arguments take %zu bytes; the argv buffer "
				"holds %u\n",
				prog, need, QARGV_MAX);
			goto out;
		}
	}
	if (qargs_check_words(&args, &e) != QE_OK) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		goto out;
	}

	rc = read_program(path, &prof, &elf, &elf_len);
	if (rc != EX_SENT)
		goto out;
	if (qprog_prepare(elf, elf_len, &args, &prof, hdr, &info, &e) !=
	    QE_OK) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, e.msg);
		rc = EX_PROGRAM;
		goto out;
	}
	if (check_only) {
		printf("%s: ok: %zu bytes, entry 0x%x, %u PT_LOAD, %d argv "
		       "words (%zu bytes as %s)\n",
		       path, elf_len, info.entry, info.nloads, args.argc,
		       args.size,
		       fmt == QARGV_LINE ? "a command line" : "strings");
		goto out;
	}

	struct iovec iov[2] = {{hdr, sizeof hdr}, {elf, elf_len}};
	if (out) {
		if (write_all(out, iov, 2) < 0) {
			fprintf(stderr, "%s: %s: %s\n", prog, out,
				strerror(errno));
			rc = EX_CHANNEL;
		}
		goto out;
	}
	if (qchan_open(spec, &copts, &ch, &e) != QE_OK) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		rc = e.code == QE_CHAN_SPEC ? EX_USAGE : EX_CHANNEL;
		goto out;
	}
	switch (qchan_send(ch, iov, 2, (int)(timeout_s * 1000), &e)) {
	case QE_OK:
		break;
	case QE_CHAN_REFUSED:
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		rc = EX_REFUSED;
		break;
	default:
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		rc = EX_CHANNEL;
		break;
	}
out:
	if (ch)
		qchan_close(ch);
	free(elf);
	return rc;
}
