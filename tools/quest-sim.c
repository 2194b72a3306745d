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
#include "packet.h"
#include "qload.h"
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
	    "  -c, --channel SPEC    shm:KEY (default %s)\n"
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

/* Writes path atomically (temp + rename) so that a watcher never sees half
 * a file. */
static int save_file(const char *dir, unsigned long n, const char *ext,
		     const void *buf, size_t len)
{
	char tmp[4096], dst[4096];
	int fd, rc = -1;

	snprintf(tmp, sizeof tmp, "%s/.%06lu.%s.tmp", dir, n, ext);
	snprintf(dst, sizeof dst, "%s/%06lu.%s", dir, n, ext);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		goto out;
	for (const char *p = buf; len;) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			close(fd);
			goto out;
		}
		p += w;
		len -= (size_t)w;
	}
	if (close(fd) == 0 && rename(tmp, dst) == 0)
		rc = 0;
out:
	if (rc < 0)
		fprintf(stderr, "%s: saving %s: %s\n", prog, dst,
			strerror(errno));
	return rc;
}

static void sleep_ms(unsigned long long ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !stop)
		;
}

int main(int argc, char **argv)
{
	enum {
		O_SLOT = 256,
		O_BASE,
		O_LIMIT,
		O_DELAY,
		O_REFUSE,
		O_DIE,
		O_STAMPS,
		O_UNLINK,
		O_PROFILE,
		O_FORMAT,
		O_EXEC,
		O_EXEC_JOBS,
		O_EXEC_TIMEOUT,
		O_EXEC_ROOT
	};
	static const struct option longopts[] = {
	    {"channel", required_argument, NULL, 'c'},
	    {"slot-size", required_argument, NULL, O_SLOT},
	    {"save", required_argument, NULL, 's'},
	    {"count", required_argument, NULL, 'n'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"user-base", required_argument, NULL, O_BASE},
	    {"user-limit", required_argument, NULL, O_LIMIT},
	    {"delay", required_argument, NULL, O_DELAY},
	    {"refuse", optional_argument, NULL, O_REFUSE},
	    {"die-after", required_argument, NULL, O_DIE},
	    {"stamps", required_argument, NULL, O_STAMPS},
	    {"unlink", no_argument, NULL, O_UNLINK},
	    {"quest-profile", required_argument, NULL, O_PROFILE},
	    {"argv-format", required_argument, NULL, O_FORMAT},
	    {"exec", optional_argument, NULL, O_EXEC},
	    {"exec-jobs", required_argument, NULL, O_EXEC_JOBS},
	    {"exec-timeout", required_argument, NULL, O_EXEC_TIMEOUT},
	    {"exec-root", required_argument, NULL, O_EXEC_ROOT},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *spec = QCHAN_SPEC_DEFAULT, *save = NULL, *refuse = NULL;
	unsigned long long slot = QPKT_SLOT_DEFAULT, count = 0, delay = 0,
			   die_after = 0, v;
	int quiet = 0, c, rc = 2, stamps = -1, unlink_only = 0;
	struct qelf_profile prof;
	unsigned mask = QLOAD_MASK_BOTH;
	enum qargv_format fmt = QARGV_LINE;
	int have_base = 0, have_limit = 0;
	uint32_t ubase = 0, ulimit = 0;
	struct qchan_rx *rx = NULL;
	struct qerror e;
	unsigned long n = 0;
	int exec = 0;
#ifdef QUEST_EMU
	struct simx_opts xo = {.profile = 1, /* galileo */
			       .jobs = SIMX_JOBS_DEFAULT,
			       .timeout_ms = SIMX_TIMEOUT_DEFAULT * 1000};
#endif

	qelf_profile_default(&prof);
	while ((c = getopt_long(argc, argv, "c:s:n:qhV", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'c':
			spec = optarg;
			break;
		case O_SLOT:
			if (num("--slot-size", optarg, QPKT_SLOT_MAX, &slot) <
			    0)
				goto out;
			break;
		case 's':
			save = optarg;
			break;
		case 'n':
			if (num("--count", optarg, ~0ull, &count) < 0)
				goto out;
			break;
		case 'q':
			quiet = 1;
			break;
		case O_BASE:
		case O_LIMIT:
			if (num("address", optarg, 0xffffffffu, &v) < 0)
				goto out;
			*(c == O_BASE ? &ubase : &ulimit) = (uint32_t)v;
			*(c == O_BASE ? &have_base : &have_limit) = 1;
			break;
		case O_PROFILE:
			if (qload_profile_parse(optarg, &mask, &e) != QE_OK) {
				fprintf(stderr, "%s: %s\n", prog, e.msg);
				goto out;
			}
			break;
		case O_FORMAT:
			if (qargs_format_parse(optarg, &fmt, &e) != QE_OK) {
				fprintf(stderr, "%s: %s\n", prog, e.msg);
				goto out;
			}
			break;
		case O_DELAY:
			if (num("--delay", optarg, 3600000, &delay) < 0)
				goto out;
			break;
		case O_REFUSE:
			refuse = optarg ? optarg
					: "quest-sim was started with --refuse";
			break;
		case O_DIE:
			if (num("--die-after", optarg, ~0ull, &die_after) < 0)
				goto out;
			break;
		case O_STAMPS:
			if (stamps >= 0)
				close(stamps);
			stamps = open(optarg,
				      O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
				      0644);
			if (stamps < 0) {
				fprintf(stderr, "%s: %s: %s\n", prog, optarg,
					strerror(errno));
				goto out;
			}
			break;
		case O_UNLINK:
			unlink_only = 1;
			break;
		case O_EXEC:
		case O_EXEC_JOBS:
		case O_EXEC_TIMEOUT:
		case O_EXEC_ROOT:
#ifdef QUEST_EMU
			if (c == O_EXEC) {
				exec = 1;
				if (optarg && strcmp(optarg, "galileo") &&
				    strcmp(optarg, "master")) {
					fprintf(stderr,
						"%s: --exec takes master or "
						"galileo, not '%s'\n",
						prog, optarg);
					goto out;
				}
				xo.profile =
				    optarg && !strcmp(optarg, "master") ? 0 : 1;
			} else if (c == O_EXEC_ROOT) {
				xo.root = optarg;
			} else if (num(c == O_EXEC_JOBS ? "--exec-jobs"
							: "--exec-timeout",
				       optarg, 86400, &v) < 0 ||
				   !v) {
				goto out;
			} else if (c == O_EXEC_JOBS) {
				xo.jobs = (unsigned)v;
			} else {
				xo.timeout_ms = v * 1000;
			}
			break;
#else
			fprintf(stderr,
				"%s: built without Unicorn: no --exec\n", prog);
			goto out;
#endif
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		case 'V':
			printf("quest-sim %s\n", QUEST_VERSION);
			rc = 0;
			goto out;
		default:
			fprintf(stderr,
				"Try '%s --help' for more information.\n",
				prog);
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog,
			argv[optind]);
		goto out;
	}
	if (unlink_only) {
		char *end;
		unsigned long key =
		    strncmp(spec, "shm:", 4) ? 0 : strtoul(spec + 4, &end, 10);
		if (!key || *end || key > UINT32_MAX) {
			fprintf(
			    stderr,
			    "%s: --unlink takes a shm:KEY channel, not '%s'\n",
			    prog, spec);
			goto out;
		}
		if (qchan_shm_unlink((uint32_t)key, &e) != QE_OK) {
			fprintf(stderr, "%s: %s\n", prog, e.msg);
			goto out;
		}
		printf("%s: removed %s\n", prog, spec);
		rc = 0;
		goto out;
	}
	if (qpkt_slot_check((size_t)slot, &e) != QE_OK) {
		fprintf(stderr, "%s: --slot-size: %s\n", prog, e.msg);
		goto out;
	}
#ifdef QUEST_EMU
	xo.save = save;
#endif
	if (save && mkdir(save, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "%s: %s: %s\n", prog, save, strerror(errno));
		goto out;
	}
	/* the window is the profile's unless given */
	qelf_profile_quest(&prof, mask);
	if (have_base)
		prof.user_base = ubase;
	if (have_limit)
		prof.user_limit = ulimit;
	if (prof.user_base >= prof.user_limit) {
		fprintf(stderr, "%s: empty user window [0x%x, 0x%x)\n", prog,
			prof.user_base, prof.user_limit);
		goto out;
	}
	prof.max_size = qpkt_max_binary(slot);

	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	rc = 1;
	if (qchan_rx_open(spec, slot, &rx, &e) != QE_OK) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		goto out;
	}
	printf("%s: attached to %s (slot %llu bytes), pid %ld\n", prog, spec,
	       slot, (long)getpid());

	while (!stop && (!count || n < count)) {
		const uint8_t *pkt;
		size_t len;
		struct qpkt_view pv;
		struct qelf_info info = {0};
		char why[QERR_MSG_MAX + 64] = "", args[4 * QARGV_MAX];
		const char *name;
		struct timespec taken;

#ifdef QUEST_EMU
		if (exec) {
			simx_wait_slot(&xo, &stop);
			if (stop)
				break;
		}
#endif
		enum qerr r = qchan_rx_take(rx, &pkt, &len, 250, &e);
		if (r == QE_CHAN_TIMEOUT)
			continue;
		if (r != QE_OK) {
			fprintf(stderr, "%s: %s\n", prog, e.msg);
			goto out;
		}
		clock_gettime(CLOCK_MONOTONIC, &taken);
		n++;
		if (die_after && n == die_after) {
			fprintf(stderr,
				"%s: dying while taking program %lu "
				"(--die-after)\n",
				prog, n);
			_exit(3);
		}
		if (qpkt_parse(pkt, len, &pv, &e) != QE_OK) {
			snprintf(why, sizeof why, "malformed packet: %s",
				 e.msg);
			name = "?";
		} else {
			name = pv.argv.size ? pv.argv.buf : "(no argv)";
			if (qelf_check(pv.binary, pv.binary_size, &prof,
				       QELF_WHOLE, &info, &e) != QE_OK)
				snprintf(why, sizeof why, "%s", e.msg);
			else if (refuse)
				snprintf(why, sizeof why, "%s", refuse);
		}
		if (save && !why[0] &&
		    (save_file(save, n, "elf", pv.binary, pv.binary_size) < 0 ||
		     save_file(save, n, "argv", pv.argv.buf, pv.argv.size) < 0))
			snprintf(why, sizeof why,
				 "quest-sim could not save the program");
		if (delay)
			sleep_ms(delay);
		if (!quiet) {
			/* the sender's bytes: escaped for the terminal */
			char seen[8 * QARGV_MAX];
			char shown_name[QESC_SIZE(QARGV_MAX)],
			    shown_args[QESC_SIZE(sizeof args)],
			    shown_seen[QESC_SIZE(sizeof seen)];
			qargs_format(&pv.argv, 0, args, sizeof args);
			quest_view(&pv.argv, fmt, mask, seen, sizeof seen);
			qesc_str(name, shown_name, sizeof shown_name);
			qesc_str(args, shown_args, sizeof shown_args);
			qesc_str(seen, shown_seen, sizeof shown_seen);
			printf(
			    "%s: #%lu %s: %u bytes, argv [%s]%s, entry 0x%x: "
			    "%s%s\n",
			    prog, n, shown_name, pv.binary_size, shown_args,
			    shown_seen, info.entry,
			    why[0] ? "refused: " : "accepted", why);
		}
		/* the slot is the sender's again after the answer: what is
		 * run is a copy */
		uint8_t *run = exec && !why[0] ? malloc(pv.binary_size) : NULL;
		if (run)
			memcpy(run, pv.binary, pv.binary_size);
		if (qchan_rx_answer(rx, !why[0], why[0] ? why : NULL, &e) !=
		    QE_OK)
			fprintf(stderr, "%s: %s\n", prog, e.msg);
#ifdef QUEST_EMU
		if (run)
			simx_start(&xo, n, name, run, pv.binary_size,
				   pv.argv.buf, pv.argv.size);
		else if (exec && !why[0])
			fprintf(stderr, "%s: #%lu: out of memory, not run\n",
				prog, n);
		simx_reap(0);
#endif
		free(run);
		/* written after the answer, so that it does not delay it; one
		 * write(2) per record: a reader never sees half of one */
		if (stamps >= 0) {
			uint64_t rec[2] = {(uint64_t)taken.tv_sec *
						   1000000000u +
					       (uint64_t)taken.tv_nsec,
					   len};
			if (write(stamps, rec, sizeof rec) !=
			    (ssize_t)sizeof rec)
				fprintf(stderr, "%s: --stamps: %s\n", prog,
					strerror(errno));
		}
	}
	rc = 0;
out:
#ifdef QUEST_EMU
	simx_reap(1);
#endif
	if (rx)
		qchan_rx_close(rx);
	if (stamps >= 0)
		close(stamps);
	return rc;
}
