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
#include "elfcheck.h"
#include "num.h"
#include "packet.h"

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
	    "                        DIR/N.argv (NUL-separated strings)\n"
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
	    "      --user-base ADDR  Quest's user window (default 0x%x)\n"
	    "      --user-limit ADDR (default 0x%x)\n"
	    "Fault switches:\n"
	    "      --delay MS        wait MS milliseconds before each answer\n"
	    "      --refuse[=WHY]    refuse every program\n"
	    "      --die-after N     exit, unanswered, while taking program N\n"
	    "  -h, --help, -V, --version\n",
	    prog, QCHAN_SPEC_DEFAULT, QPKT_SLOT_DEFAULT, QELF_USER_BASE_DEFAULT,
	    QELF_USER_LIMIT_DEFAULT);
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
		O_UNLINK
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
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *spec = QCHAN_SPEC_DEFAULT, *save = NULL, *refuse = NULL;
	unsigned long long slot = QPKT_SLOT_DEFAULT, count = 0, delay = 0,
			   die_after = 0, v;
	int quiet = 0, c, rc = 2, stamps = -1, unlink_only = 0;
	struct qelf_profile prof;
	struct qchan_rx *rx = NULL;
	struct qerror e;
	unsigned long n = 0;

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
			*(c == O_BASE ? &prof.user_base : &prof.user_limit) =
			    (uint32_t)v;
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
	if (save && mkdir(save, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "%s: %s: %s\n", prog, save, strerror(errno));
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
			qargs_format(&pv.argv, 0, args, sizeof args);
			printf("%s: #%lu %s: %u bytes, argv [%s], entry 0x%x: "
			       "%s%s\n",
			       prog, n, name, pv.binary_size, args, info.entry,
			       why[0] ? "refused: " : "accepted", why);
		}
		if (qchan_rx_answer(rx, !why[0], why[0] ? why : NULL, &e) !=
		    QE_OK)
			fprintf(stderr, "%s: %s\n", prog, e.msg);
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
	if (rx)
		qchan_rx_close(rx);
	if (stamps >= 0)
		close(stamps);
	return rc;
}
