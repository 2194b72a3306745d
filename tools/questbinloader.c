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
#include "outfile.h"
#include "program.h"
#include "qload.h"
#include "qopts.h"

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
	    "  -c, --channel SPEC     channel: shm:KEY, vshm:PATH or dev:PATH "
	    "(default\n"
	    "                         %s)\n"
	    "      --vshm-offset N    where a vshm: channel starts in its "
	    "region (0)\n"
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

/* parse_options's "carry on": any other value is the exit status */
#define QBL_GO QOPTS_GO

enum { O_SLOT = 256, O_KICK, O_KICKCMD, O_VSHMOFF };

static const struct option longopts[] = {
    {"channel", required_argument, NULL, 'c'},
    {"timeout", required_argument, NULL, 't'},
    {"check", no_argument, NULL, 'n'},
    {"out", required_argument, NULL, 'o'},
    {"argv0", required_argument, NULL, QOPT_ARGV0},
    {"slot-size", required_argument, NULL, O_SLOT},
    {"user-base", required_argument, NULL, QOPT_USER_BASE},
    {"user-limit", required_argument, NULL, QOPT_USER_LIMIT},
    {"quest-profile", required_argument, NULL, QOPT_QUEST_PROFILE},
    {"argv-format", required_argument, NULL, QOPT_ARGV_FORMAT},
    {"kick", required_argument, NULL, O_KICK},
    {"kick-cmd", required_argument, NULL, O_KICKCMD},
    {"vshm-offset", required_argument, NULL, O_VSHMOFF},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* Everything the command line decides. */
struct qbl_opts {
	const char *spec, *out;
	unsigned long long timeout_s;
	struct qopts q; /* kernels, user window, argv */
	int check_only;
	struct qchan_opts copts;
	struct qelf_profile prof;
	const char *path; /* BINARY */
	char **words;	  /* its ARGs */
	int nwords;
};

/* The program, read and checked, and the header that goes before it. */
struct qbl_packet {
	uint8_t hdr[QPKT_HDR_SIZE], *elf;
	size_t elf_len;
	struct qelf_info info;
};

/* One option; QBL_GO, or the status to exit with. */
static int parse_option(void *ctx, int c, const char *arg)
{
	struct qbl_opts *o = ctx;
	unsigned long long v;

	switch (c) {
	case 'c':
		o->spec = arg;
		break;
	case 't':
		if (qnum_parse(arg, 86400, &o->timeout_s) < 0) {
			fprintf(stderr,
				"%s: bad --timeout '%s' (seconds, up to "
				"86400)\n",
				prog, arg);
			return EX_USAGE;
		}
		break;
	case 'n':
		o->check_only = 1;
		break;
	case 'o':
		o->out = arg;
		break;
	case O_SLOT:
		if (qnum_parse(arg, QPKT_SLOT_MAX, &v) < 0 ||
		    qpkt_slot_check((size_t)v, NULL) != QE_OK) {
			fprintf(stderr,
				"%s: bad --slot-size '%s' (bytes, %u to %u)\n",
				prog, arg, QPKT_SLOT_MIN, QPKT_SLOT_MAX);
			return EX_USAGE;
		}
		o->copts.slot_size = (size_t)v;
		break;
	case O_KICK:
		o->copts.kick = arg;
		break;
	case O_KICKCMD:
		o->copts.kick_cmd = arg;
		break;
	case O_VSHMOFF:
		if (qnum_parse(arg, 0xfffff000u, &v) < 0 || v % 4096) {
			fprintf(stderr,
				"%s: bad --vshm-offset '%s' (bytes, a "
				"multiple of 4096)\n",
				prog, arg);
			return EX_USAGE;
		}
		o->copts.vshm_offset = (size_t)v;
		break;
	default: /* not in its table: getopt_long said so */
		return EX_USAGE;
	}
	return QBL_GO;
}

/* Fills o, defaults first; QBL_GO, or the status to exit with. Options
 * end at BINARY: what follows are its ARGs. */
static int parse_options(int argc, char **argv, struct qbl_opts *o)
{
	int rc;
	const struct qopts_tool tool = {.prog = prog,
					.usage = usage,
					.ok_status = EX_SENT,
					.usage_status = EX_USAGE,
					.option = parse_option,
					.ctx = o};

	*o = (struct qbl_opts){.spec = QCHAN_SPEC_DEFAULT, .timeout_s = 5};
	qopts_default(&o->q);
	qchan_opts_default(&o->copts);
	qelf_profile_default(&o->prof);
	rc = qopts_getopt(argc, argv, "+c:t:no:hV", longopts, &o->q, &tool);
	if (rc != QBL_GO)
		return rc;
	if (optind >= argc) {
		fprintf(stderr,
			"%s: missing BINARY\nTry '%s --help' for more "
			"information.\n",
			prog, prog);
		return EX_USAGE;
	}
	o->path = argv[optind];
	o->words = argv + optind + 1;
	o->nwords = argc - optind - 1;
	return QBL_GO;
}

/* Quest's user window is the profile's unless given; the largest program
 * is what the slot carries. */
static int set_window(struct qbl_opts *o)
{
	struct qerror e;

	if (qopts_window(&o->q, &o->prof, &e) != QE_OK) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		return EX_USAGE;
	}
	o->prof.max_size = qpkt_max_binary(o->copts.slot_size);
	return EX_SENT;
}

/* argv[0] (BINARY's name, unless --argv0=none) and the ARGs, checked
 * before the program is read. */
static int build_argv(const struct qbl_opts *o, struct qargv *args)
{
	const char *base = strrchr(o->path, '/');
	struct qerror e;

	base = base ? base + 1 : o->path;
	qargs_init(args, NULL, NULL);
	args->format = o->q.fmt;
	if (o->q.argv0 && qargs_add(args, base, &e) != QE_OK) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		return EX_USAGE;
	}
	for (int i = 0; i < o->nwords; i++) {
		if (qargs_add(args, o->words[i], &e) != QE_OK) {
			/* name the full size, not the size at the word that
			 * overflowed */
			size_t need = args->size;
			for (int j = i; j < o->nwords; j++)
				need += strlen(o->words[j]) + 1;
			fprintf(stderr,
				"%s: arguments take %zu bytes; the argv buffer "
				"holds %u\n",
				prog, need, QARGV_MAX);
			return EX_USAGE;
		}
	}
	if (qargs_check_words(args, &e) != QE_OK) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		return EX_USAGE;
	}
	return EX_SENT;
}

/* Checks the whole program as Quest's loader would and writes its
 * header. */
static int check_program(const struct qbl_opts *o, const struct qargv *args,
			 struct qbl_packet *pk)
{
	struct qerror e;

	if (qprog_prepare(pk->elf, pk->elf_len, args, &o->prof, pk->hdr,
			  &pk->info, &e) != QE_OK) {
		fprintf(stderr, "%s: %s: %s\n", prog, o->path, e.msg);
		return EX_PROGRAM;
	}
	return EX_SENT;
}

/* --check: what was checked. */
static void print_checked(const struct qbl_opts *o, const struct qargv *args,
			  const struct qbl_packet *pk)
{
	printf("%s: ok: %zu bytes, entry 0x%x, %u PT_LOAD, %d argv words "
	       "(%zu bytes as %s)\n",
	       o->path, pk->elf_len, pk->info.entry, pk->info.nloads,
	       args->argc, args->size,
	       o->q.fmt == QARGV_LINE ? "a command line" : "strings");
}

/* --out: the packet into a file instead of the channel, a regular file
 * of ours (outfile.h): never through a symbolic link, a FIFO or another
 * user's file. */
static int write_out(const char *path, const struct qbl_packet *pk)
{
	struct iovec iov[2] = {{(void *)pk->hdr, sizeof pk->hdr},
			       {pk->elf, pk->elf_len}};
	struct qerror e;

	if (qout_write(path, iov, 2, &e) != QE_OK) {
		fprintf(stderr, "%s: --out: %s\n", prog, e.msg);
		return EX_CHANNEL;
	}
	return EX_SENT;
}

/* Sends the packet and waits for the Quest side's answer. */
static int send_program(const struct qbl_opts *o, const struct qbl_packet *pk)
{
	struct iovec iov[2] = {{(void *)pk->hdr, sizeof pk->hdr},
			       {pk->elf, pk->elf_len}};
	struct qchan *ch = NULL;
	struct qerror e;
	int rc = EX_SENT;

	if (qchan_open(o->spec, &o->copts, &ch, &e) != QE_OK) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		return e.code == QE_CHAN_SPEC ? EX_USAGE : EX_CHANNEL;
	}
	switch (qchan_send(ch, iov, 2, (int)(o->timeout_s * 1000), &e)) {
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
	qchan_close(ch);
	return rc;
}

int main(int argc, char **argv)
{
	struct qbl_opts o;
	struct qargv args;
	struct qbl_packet pk = {.elf = NULL};
	int rc = parse_options(argc, argv, &o);

	if (rc != QBL_GO)
		goto out;
	rc = set_window(&o);
	if (rc != EX_SENT)
		goto out;
	rc = build_argv(&o, &args);
	if (rc != EX_SENT)
		goto out;
	rc = read_program(o.path, &o.prof, &pk.elf, &pk.elf_len);
	if (rc != EX_SENT)
		goto out;
	rc = check_program(&o, &args, &pk);
	if (rc != EX_SENT)
		goto out_program;

	if (o.check_only)
		print_checked(&o, &args, &pk);
	else if (o.out)
		rc = write_out(o.out, &pk);
	else
		rc = send_program(&o, &pk);

out_program:
	free(pk.elf);
out:
	return rc;
}
