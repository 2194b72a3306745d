/* SPDX-License-Identifier: GPL-2.0-or-later */
/* quest-sim: a stand-in for the Quest side of the channel. Takes packets
 * one by one, checks them as Quest's loader would, prints one line per
 * program and answers accepted or refused. Fault switches serve the tests. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chan.h"
#include "escape.h"
#include "elfcheck.h"
#include "num.h"
#include "outfile.h"
#include "packet.h"
#include "qload.h"
#include "qopts.h"
#ifdef QUEST_EMU
#include "sim_exec.h"
#endif

static const char *prog = "quest-sim";
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: %s [OPTION]...\n"
	    "Stand in for the Quest side: take programs from the channel, "
	    "check\n"
	    "them as Quest's loader would, print and answer each one.\n"
	    "\n"
	    "  -c, --channel SPEC    shm:KEY or vshm:PATH (default %s)\n"
	    "      --vshm-offset N   where a vshm: channel starts in its "
	    "region (0)\n"
	    "      --slot-size N     slot size in bytes (default %u)\n"
	    "  -s, --save DIR        keep each program as DIR/N.elf and its "
	    "argv as\n"
	    "                        DIR/N.argv (the packet's argv bytes)\n"
	    "      --quest-profile P check for master, galileo or both "
	    "(default both)\n"
	    "                        and show argv as each of them passes it\n"
	    "      --argv-format F   the sender's: line (default) or strings\n"
	    "  -n, --count N         exit after N programs\n"
	    "  -q, --quiet           print nothing per program (benchmarks)\n"
	    "      --unlink          remove the channel's segment and exit "
	    "(after\n"
	    "                        a version or slot-size mismatch)\n"
	    "      --stamps FILE     after each answer, append to FILE one "
	    "record of\n"
	    "                        two native uint64: the CLOCK_MONOTONIC ns "
	    "at\n"
	    "                        which the packet was taken, and its size\n"
	    "      --user-base ADDR  Quest's user window (default 0x%x, the "
	    "profile's)\n"
	    "      --user-limit ADDR (default 0x%x)\n"
	    "Fault switches:\n"
	    "      --delay MS        wait MS milliseconds before each answer\n"
	    "      --refuse[=WHY]    refuse every program\n"
	    "      --die-after N     exit, unanswered, while taking program N\n"
	    "Running programs (quest-emu's engine):\n"
	    "      --exec[=PROFILE]  run each accepted program, as Quest "
	    "master or\n"
	    "                        galileo (default) runs it; its output "
	    "goes to\n"
	    "                        stdout as '[#N NAME] ...' and to "
	    "DIR/N.out with\n"
	    "                        --save, then one result line\n"
	    "      --exec-jobs N     programs running at once (default 4); "
	    "more wait\n"
	    "      --exec-timeout S  seconds each may run (default 10)\n"
	    "      --exec-root DIR   what the programs' open, read and exec "
	    "see as /\n"
	    "  -h, --help, -V, --version\n",
	    prog, QCHAN_SPEC_DEFAULT, QPKT_SLOT_DEFAULT, QELF_USER_BASE_DEFAULT,
	    QELF_USER_LIMIT_DEFAULT);
}

/* s, quoted, with bytes other than printable ASCII as \xHH. */
static size_t quoted(char *dst, size_t n, const char *s)
{
	size_t o = 0;

	if (o + 1 < n)
		dst[o++] = '"';
	for (; *s && o + 5 < n; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
			o += (size_t)snprintf(dst + o, n - o, "\\x%02x", ch);
		else
			dst[o++] = (char)ch;
	}
	if (o + 1 < n)
		dst[o++] = '"';
	dst[o < n ? o : n - 1] = '\0';
	return o;
}

/* argv as the program will find it on each Quest kernel of mask (a command
 * line only: a receiver of argv_format=strings rebuilds it its own way). */
static void quest_view(const struct qargv *a, enum qargv_format fmt,
		       unsigned mask, char *dst, size_t n)
{
	size_t o = 0;

	dst[0] = '\0';
	if (fmt != QARGV_LINE || !a->size)
		return;
	for (int g = 0; g < QLOAD__NPROFILES && o + 1 < n; g++) {
		struct qargs_seen s;
		if (!(mask & (1u << g)))
			continue;
		qargs_seen_by_quest(a->buf, a->size, g == QLOAD_GALILEO, &s);
		o += (size_t)snprintf(dst + o, n - o, "; %s: argc %d, argv[0] ",
				      qload_profile(g)->name, s.argc);
		if (o < n)
			o += quoted(dst + o, n - o, s.line + s.argv0_off);
		if (g == QLOAD_GALILEO && o < n) {
			o += (size_t)snprintf(dst + o, n - o, ", argv[1] ");
			if (o < n)
				o += quoted(dst + o, n - o,
					    s.line + s.argv1_off);
			if (s.argc == 3 && o < n)
				o += (size_t)snprintf(dst + o, n - o,
						      " (argv[2] is not set)");
			else if (s.argc > 3 && o < n)
				o += (size_t)snprintf(
				    dst + o, n - o,
				    " (argv[2]..argv[%d] are not set)",
				    s.argc - 1);
		}
	}
}

static int num(const char *opt, const char *s, unsigned long long max,
	       unsigned long long *out)
{
	if (qnum_parse(s, max, out) == 0)
		return 0;
	fprintf(stderr, "%s: bad %s '%s'\n", prog, opt, s);
	return -1;
}

/* Saves DIR/NNNNNN.EXT atomically (outfile.h: temp + rename, nothing
 * followed), so that a watcher never sees half a file. */
static int save_file(int dirfd, const char *dir, unsigned long n,
		     const char *ext, const void *buf, size_t len)
{
	struct iovec iov = {(void *)buf, len};
	struct qerror e;
	char name[64];

	snprintf(name, sizeof name, "%06lu.%s", n, ext);
	if (qout_save(dirfd, dir, name, &iov, 1, &e) == QE_OK)
		return 0;
	fprintf(stderr, "%s: saving: %s\n", prog, e.msg);
	return -1;
}

static void sleep_ms(unsigned long long ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !stop)
		;
}

/* Exit statuses */
enum {
	SIM_OK = 0,
	SIM_FAIL = 1,  /* the channel failed */
	SIM_USAGE = 2, /* bad options, or what they name cannot be used */
	SIM_DIED = 3,  /* --die-after */
	SIM_GO = -1,   /* not an exit status: carry on */
};

enum {
	O_SLOT = 256,
	O_DELAY,
	O_REFUSE,
	O_DIE,
	O_STAMPS,
	O_UNLINK,
	O_EXEC,
	O_EXEC_JOBS,
	O_EXEC_TIMEOUT,
	O_EXEC_ROOT,
	O_VSHMOFF
};

static const struct option longopts[] = {
    {"channel", required_argument, NULL, 'c'},
    {"slot-size", required_argument, NULL, O_SLOT},
    {"save", required_argument, NULL, 's'},
    {"count", required_argument, NULL, 'n'},
    {"quiet", no_argument, NULL, 'q'},
    {"user-base", required_argument, NULL, QOPT_USER_BASE},
    {"user-limit", required_argument, NULL, QOPT_USER_LIMIT},
    {"delay", required_argument, NULL, O_DELAY},
    {"refuse", optional_argument, NULL, O_REFUSE},
    {"die-after", required_argument, NULL, O_DIE},
    {"stamps", required_argument, NULL, O_STAMPS},
    {"unlink", no_argument, NULL, O_UNLINK},
    {"vshm-offset", required_argument, NULL, O_VSHMOFF},
    {"quest-profile", required_argument, NULL, QOPT_QUEST_PROFILE},
    {"argv-format", required_argument, NULL, QOPT_ARGV_FORMAT},
    {"exec", optional_argument, NULL, O_EXEC},
    {"exec-jobs", required_argument, NULL, O_EXEC_JOBS},
    {"exec-timeout", required_argument, NULL, O_EXEC_TIMEOUT},
    {"exec-root", required_argument, NULL, O_EXEC_ROOT},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* Everything the options decide. */
struct sim_opts {
	const char *spec, *save, *refuse;
	unsigned long long slot, count, delay, die_after, vshm_off;
	int quiet, stamps, unlink_only, exec;
	int save_fd;	/* --save's directory */
	struct qopts q; /* kernels, user window, argv format */
	struct qelf_profile prof;
#ifdef QUEST_EMU
	struct simx_opts xo;
#endif
};

#define WHY_MAX (QERR_MSG_MAX + 64)

static int open_stamps(struct sim_opts *o, const char *path)
{
	if (o->stamps >= 0)
		close(o->stamps);
	struct qerror e;
	o->stamps = qout_open(path, 1, &e);
	if (o->stamps < 0) {
		fprintf(stderr, "%s: --stamps: %s\n", prog, e.msg);
		return SIM_USAGE;
	}
	return SIM_GO;
}

/* --exec and its companions, which need quest-emu's engine built in. */
static int exec_option(struct sim_opts *o, int c, const char *arg)
{
#ifdef QUEST_EMU
	unsigned long long v;

	if (c == O_EXEC) {
		enum qload_profile_id id = QLOAD_GALILEO;
		struct qerror e;
		o->exec = 1;
		if (arg && qopts_kernel("--exec", arg, &id, &e) != QE_OK) {
			fprintf(stderr, "%s: %s\n", prog, e.msg);
			return SIM_USAGE;
		}
		o->xo.profile = (int)id;
	} else if (c == O_EXEC_ROOT) {
		o->xo.root = arg;
	} else if (num(c == O_EXEC_JOBS ? "--exec-jobs" : "--exec-timeout", arg,
		       86400, &v) < 0 ||
		   !v) {
		return SIM_USAGE;
	} else if (c == O_EXEC_JOBS) {
		o->xo.jobs = (unsigned)v;
	} else {
		o->xo.timeout_ms = v * 1000;
	}
	return SIM_GO;
#else
	(void)o;
	(void)c;
	(void)arg;
	fprintf(stderr, "%s: built without Unicorn: no --exec\n", prog);
	return SIM_USAGE;
#endif
}

/* One option; SIM_GO, or the status to exit with. */
static int parse_option(void *ctx, int c, const char *arg)
{
	struct sim_opts *o = ctx;

	switch (c) {
	case 'c':
		o->spec = arg;
		break;
	case O_SLOT:
		if (num("--slot-size", arg, QPKT_SLOT_MAX, &o->slot) < 0)
			return SIM_USAGE;
		break;
	case O_VSHMOFF:
		if (num("--vshm-offset", arg, 0xfffff000u, &o->vshm_off) < 0)
			return SIM_USAGE;
		break;
	case 's':
		o->save = arg;
		break;
	case 'n':
		if (num("--count", arg, ~0ull, &o->count) < 0)
			return SIM_USAGE;
		break;
	case 'q':
		o->quiet = 1;
		break;
	case O_DELAY:
		if (num("--delay", arg, 3600000, &o->delay) < 0)
			return SIM_USAGE;
		break;
	case O_REFUSE:
		o->refuse = arg ? arg : "quest-sim was started with --refuse";
		break;
	case O_DIE:
		if (num("--die-after", arg, ~0ull, &o->die_after) < 0)
			return SIM_USAGE;
		break;
	case O_STAMPS:
		return open_stamps(o, arg);
	case O_UNLINK:
		o->unlink_only = 1;
		break;
	case O_EXEC:
	case O_EXEC_JOBS:
	case O_EXEC_TIMEOUT:
	case O_EXEC_ROOT:
		return exec_option(o, c, arg);
	default: /* not in its table: getopt_long said so */
		return SIM_USAGE;
	}
	return SIM_GO;
}

/* Fills o, defaults first; SIM_GO, or the status to exit with (o->stamps
 * is then open or -1 either way). */
static int parse_options(int argc, char **argv, struct sim_opts *o)
{
	const struct qopts_tool tool = {.prog = prog,
					.usage = usage,
					.ok_status = SIM_OK,
					.usage_status = SIM_USAGE,
					.option = parse_option,
					.ctx = o};
	int rc;

	*o = (struct sim_opts){.spec = QCHAN_SPEC_DEFAULT,
			       .slot = QPKT_SLOT_DEFAULT,
			       .stamps = -1,
			       .save_fd = -1};
	qopts_default(&o->q);
#ifdef QUEST_EMU
	o->xo = (struct simx_opts){.profile = 1, /* galileo */
				   .jobs = SIMX_JOBS_DEFAULT,
				   .timeout_ms = SIMX_TIMEOUT_DEFAULT * 1000};
#endif
	qelf_profile_default(&o->prof);
	rc = qopts_getopt(argc, argv, "c:s:n:qhV", longopts, &o->q, &tool);
	if (rc != SIM_GO)
		return rc;
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog,
			argv[optind]);
		return SIM_USAGE;
	}
	return SIM_GO;
}

/* --unlink: removes a segment left behind, which only shm:KEY has. */
static int unlink_channel(const char *spec)
{
	struct qerror e;
	char *end;
	unsigned long key =
	    strncmp(spec, "shm:", 4) ? 0 : strtoul(spec + 4, &end, 10);

	if (!key || *end || key > UINT32_MAX) {
		fprintf(stderr,
			"%s: --unlink takes a shm:KEY channel, not '%s'\n",
			prog, spec);
		return SIM_USAGE;
	}
	if (qchan_shm_unlink((uint32_t)key, &e) != QE_OK) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		return SIM_USAGE;
	}
	printf("%s: removed %s\n", prog, spec);
	return SIM_OK;
}

/* What the options name must be usable before the channel is opened: the
 * slot size, the save directory and Quest's user window. */
static int prepare(struct sim_opts *o)
{
	struct qerror e;

	if (qpkt_slot_check((size_t)o->slot, &e) != QE_OK) {
		fprintf(stderr, "%s: --slot-size: %s\n", prog, e.msg);
		return SIM_USAGE;
	}
#ifdef QUEST_EMU
	o->xo.save = o->save;
#endif
	if (o->save && qout_dir_open(o->save, &o->save_fd, &e) != QE_OK) {
		fprintf(stderr, "%s: --save: %s\n", prog, e.msg);
		return SIM_USAGE;
	}
	/* the window is the profile's unless given */
	if (qopts_window(&o->q, &o->prof, &e) != QE_OK) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		return SIM_USAGE;
	}
	o->prof.max_size = qpkt_max_binary(o->slot);
	return SIM_GO;
}

/* INT and TERM end the receive loop, so that cleanup runs. */
static void catch_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static int open_channel(const struct sim_opts *o, struct qchan_rx **rx)
{
	struct qerror e;

	if (qchan_rx_open_at(o->spec, o->slot, o->vshm_off, rx, &e) != QE_OK) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		return -1;
	}
	printf("%s: attached to %s (slot %llu bytes), pid %ld\n", prog, o->spec,
	       o->slot, (long)getpid());
	return 0;
}

/* Checks program n as Quest's loader would and, with --save, keeps it.
 * Returns its name; why stays empty if it is accepted. */
static const char *judge(const struct sim_opts *o, unsigned long n,
			 const uint8_t *pkt, size_t len, struct qpkt_view *pv,
			 struct qelf_info *info, char *why,
			 char namebuf[QARGV_MAX])
{
	struct qerror e;
	const char *name;

	if (qpkt_parse(pkt, len, pv, &e) != QE_OK) {
		snprintf(why, WHY_MAX, "malformed packet: %s", e.msg);
		name = "?";
	} else {
		/* the program's name is argv[0]: a command line's first word */
		size_t k =
		    strcspn(pv->argv.buf, o->q.fmt == QARGV_LINE ? " " : "");
		snprintf(namebuf, QARGV_MAX, "%.*s", (int)k, pv->argv.buf);
		name = pv->argv.size ? namebuf : "(no argv)";
		if (qelf_check(pv->binary, pv->binary_size, &o->prof,
			       QELF_WHOLE, info, &e) != QE_OK)
			snprintf(why, WHY_MAX, "%s", e.msg);
		else if (o->refuse)
			snprintf(why, WHY_MAX, "%s", o->refuse);
	}
	if (o->save && !why[0] &&
	    (save_file(o->save_fd, o->save, n, "elf", pv->binary,
		       pv->binary_size) < 0 ||
	     save_file(o->save_fd, o->save, n, "argv", pv->argv.buf,
		       pv->argv.size) < 0))
		snprintf(why, WHY_MAX, "quest-sim could not save the program");
	return name;
}

/* The line for program n; the sender's bytes escaped for the terminal. */
static void show(const struct sim_opts *o, unsigned long n, const char *name,
		 const struct qpkt_view *pv, const struct qelf_info *info,
		 const char *why)
{
	char args[4 * QARGV_MAX], seen[8 * QARGV_MAX];
	char shown_name[QESC_SIZE(QARGV_MAX)],
	    shown_args[QESC_SIZE(sizeof args)],
	    shown_seen[QESC_SIZE(sizeof seen)];

	qargs_format(&pv->argv, 0, args, sizeof args);
	quest_view(&pv->argv, o->q.fmt, o->q.mask, seen, sizeof seen);
	qesc_str(name, shown_name, sizeof shown_name);
	qesc_str(args, shown_args, sizeof shown_args);
	qesc_str(seen, shown_seen, sizeof shown_seen);
	printf("%s: #%lu %s: %u bytes, argv [%s]%s, entry 0x%x: %s%s\n", prog,
	       n, shown_name, pv->binary_size, shown_args, shown_seen,
	       info->entry, why[0] ? "refused: " : "accepted", why);
}

/* Answers program n and, with --exec, runs it if it was accepted. */
static void answer(const struct sim_opts *o, struct qchan_rx *rx,
		   unsigned long n, const char *name,
		   const struct qpkt_view *pv, const char *why)
{
	struct qerror e;
	/* the slot is the sender's again after the answer: what is run is a
	 * copy */
	uint8_t *run = o->exec && !why[0] ? malloc(pv->binary_size) : NULL;

	if (run)
		memcpy(run, pv->binary, pv->binary_size);
	if (qchan_rx_answer(rx, !why[0], why[0] ? why : NULL, &e) != QE_OK)
		fprintf(stderr, "%s: %s\n", prog, e.msg);
#ifdef QUEST_EMU
	if (run)
		simx_start(&o->xo, n, name, run, pv->binary_size, pv->argv.buf,
			   pv->argv.size);
	else if (o->exec && !why[0])
		fprintf(stderr, "%s: #%lu: out of memory, not run\n", prog, n);
	simx_reap(0);
#else
	(void)n;
	(void)name;
#endif
	free(run);
}

/* One record per program, written after the answer so that it does not
 * delay it; one write(2) per record: a reader never sees half of one. */
static void write_stamp(int fd, const struct timespec *taken, size_t len)
{
	uint64_t rec[2] = {(uint64_t)taken->tv_sec * 1000000000u +
			       (uint64_t)taken->tv_nsec,
			   len};

	if (fd >= 0 && write(fd, rec, sizeof rec) != (ssize_t)sizeof rec)
		fprintf(stderr, "%s: --stamps: %s\n", prog, strerror(errno));
}

/* Program n, just taken from the channel. */
static void handle_packet(const struct sim_opts *o, struct qchan_rx *rx,
			  unsigned long n, const uint8_t *pkt, size_t len)
{
	struct qpkt_view pv;
	struct qelf_info info = {0};
	char why[WHY_MAX] = "";
	char namebuf[QARGV_MAX];
	const char *name = judge(o, n, pkt, len, &pv, &info, why, namebuf);

	if (o->delay)
		sleep_ms(o->delay);
	if (!o->quiet)
		show(o, n, name, &pv, &info, why);
	answer(o, rx, n, name, &pv, why);
}

/* Takes programs until a signal, --count or a channel error; returns the
 * exit status. */
static int receive_loop(const struct sim_opts *o, struct qchan_rx *rx)
{
	unsigned long n = 0;
	struct qerror e;

	while (!stop && (!o->count || n < o->count)) {
		const uint8_t *pkt;
		size_t len;
		struct timespec taken;

#ifdef QUEST_EMU
		if (o->exec) {
			simx_wait_slot(&o->xo, &stop);
			if (stop)
				break;
		}
#endif
		enum qerr r = qchan_rx_take(rx, &pkt, &len, 250, &e);
		if (r == QE_CHAN_TIMEOUT)
			continue;
		if (r != QE_OK) {
			fprintf(stderr, "%s: %s\n", prog, e.msg);
			return SIM_FAIL;
		}
		clock_gettime(CLOCK_MONOTONIC, &taken);
		n++;
		if (o->die_after && n == o->die_after) {
			fprintf(stderr,
				"%s: dying while taking program %lu "
				"(--die-after)\n",
				prog, n);
			_exit(SIM_DIED);
		}
		handle_packet(o, rx, n, pkt, len);
		write_stamp(o->stamps, &taken, len);
	}
	return SIM_OK;
}

/* Programs started with --exec still running: wait for them. */
static void wait_programs(void)
{
#ifdef QUEST_EMU
	simx_reap(1);
#endif
}

int main(int argc, char **argv)
{
	struct sim_opts o;
	struct qchan_rx *rx = NULL;
	int rc = parse_options(argc, argv, &o);

	if (rc != SIM_GO)
		goto out_opts;
	if (o.unlink_only) {
		rc = unlink_channel(o.spec);
		goto out_opts;
	}
	rc = prepare(&o);
	if (rc != SIM_GO)
		goto out_opts;
	catch_signals();
	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = SIM_FAIL;
	if (open_channel(&o, &rx) < 0)
		goto out_opts;

	rc = receive_loop(&o, rx);

	wait_programs();
	qchan_rx_close(rx);
out_opts:
	if (o.stamps >= 0)
		close(o.stamps);
	if (o.save_fd >= 0)
		close(o.save_fd);
	return rc;
}
