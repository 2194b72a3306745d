/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The launch benchmark (`make bench`, docs/PERFORMANCE.md): how fast a
 * program reaches the Quest side by each path, all against one quest-sim
 * --quiet --stamps in the same run: the channel alone, questbinloader,
 * questfs written in-process or by cp, a do-nothing FUSE filesystem, and a
 * memcpy of the same bytes. Starts, and always stops, what it measures. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "args.h"
#include "chan.h"
#include "elfcheck.h"
#include "escape.h"
#include "packet.h"
#include "program.h"
#include "spool.h"

extern char **environ;

#define FUSE_MAGIC	0x65735546
#define NSIZES		8
#define LARGEST		393128u
#define SEND_TIMEOUT_MS 5000
#define WAIT_RX_MS	15000	    /* longest wait for receipts still due */
#define NMAX		2000000u    /* launches in one pass, at most */
#define LAT_MAX		400u	    /* latency samples per pass, at most */
#define HELD_MAX	(16u << 20) /* bytes a writer keeps in flight, at most */
#define LOAD_MAX	16	    /* --load N: busy loops, at most */

/* The program sizes: doubling from 4 KiB, then the largest. The table
 * shows three of them; the fit uses all. */
static const size_t sizes[NSIZES] = {4096,  8192,   16384,  32768,
				     65536, 131072, 262144, LARGEST};
static const int table_sizes[] = {0, 4, 7};
#define NTABLE (int)(sizeof table_sizes / sizeof *table_sizes)
static const int scale_sizes[] = {0, 7};
static const int writers[] = {1, 2, 4, 8};
#define NWRITERS (int)(sizeof writers / sizeof *writers)

/* P_QFS2: the loop of (c) into a second questfs (--questfs2), another
 * build of it, to compare two builds pass by pass under the same noise.
 * P_NULLQ: the loop of (c) into a nullfs that speaks FUSE as questfs does
 * (direct I/O, getxattr answered, run/ cached): the floor of questfs's
 * protocol. P_CPNULL, P_CPTMP: one cp per launch into nullfs, and into
 * tmpfs: what cp costs with FUSE and without, to read (d) against. */
enum path {
	P_CHAN,
	P_LOADER,
	P_QFS,
	P_CP,
	P_NULL,
	P_MEMCPY,
	P_QFS2,
	P_NULLQ,
	P_CPNULL,
	P_CPTMP,
	P__N
};
static const char *const path_names[P__N] = {
    "(a) channel, in-process",	    "(b) questbinloader/launch",
    "(c) questfs open/write/close", "(d) questfs cp/launch",
    "(e) FUSE floor (nullfs)",	    "    memcpy",
    "(c2) --questfs2, as (c)",	    "(e') nullfs as questfs speaks",
    "(d') cp into nullfs",	    "(d'') cp into tmpfs",
};
static const char path_letters[] = "abcdemfghi";
/* the order of the passes in a round and of the rows */
static const enum path order[P__N] = {P_CHAN,  P_LOADER, P_QFS,	  P_QFS2,
				      P_CP,    P_CPNULL, P_CPTMP, P_NULL,
				      P_NULLQ, P_MEMCPY};
/* has a receiver (ends at quest-sim's receipt); returns before it */
static const int has_rx[P__N] = {1, 1, 1, 1, 0, 0, 1, 0, 0, 0};
static const int async_rx[P__N] = {0, 0, 1, 1, 0, 0, 1, 0, 0, 0};

static struct {
	const char *build, *dir, *names, *qfs_opts, *nfs_opts, *paths, *qfs2;
	unsigned key, rounds, load;
	double secs;
	int scale, sweep, passes, vshm;
} cfg = {.passes = 1,
	 .build = "build",
	 .names = "same",
	 .paths = "abcdemfghi",
	 .rounds = 3,
	 .secs = 0.4,
	 .scale = 1,
	 .sweep = 1};

struct prog {
	size_t size;
	uint8_t *buf;
	char path[PATH_MAX], name[16];
};

static struct {
	pid_t sim, qfs, nfs, qfs2, nfsq;
	pid_t load[LOAD_MAX]; /* --load: busy loops */
	char qmnt[PATH_MAX], nmnt[PATH_MAX], stamps[PATH_MAX], spec[512];
	char nmntq[PATH_MAX], tmpdir[PATH_MAX];
	char spool[PATH_MAX], qmnt2[PATH_MAX], spool2[PATH_MAX];
	int stamps_fd, ino_fd;
	struct qchan *ch;
	struct prog progs[NSIZES];
	uint8_t *scratch;
	uint64_t seq;
} env = {.stamps_fd = -1, .ino_fd = -1};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void cleanup(void);

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
static void vnote(const char *fmt, va_list ap)
{
	fprintf(stderr, "bench: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote(fmt, ap);
	va_end(ap);
	cleanup();
	exit(1);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote(fmt, ap);
	va_end(ap);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_us(unsigned us)
{
	struct timespec ts = {0, (long)us * 1000};
	nanosleep(&ts, NULL);
}

/* ---- processes ---- */

/* A daemon of the run: its output to LOG, TERM when we die. */
static pid_t start_daemon(char *const argv[], const char *log)
{
	pid_t parent = getpid(), pid = fork();

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		/* Ctrl-C reaches the bench alone, which unmounts in order */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int nul = open("/dev/null", O_RDONLY);
		if (fd < 0 || nul < 0)
			_exit(126);
		dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Run argv to its end, output discarded; its exit status, or -1. */
static int run(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		return -1;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Wait up to ms for pid to end; 1 when it did. */
static int reap(pid_t pid, int ms)
{
	for (int i = 0; i <= ms / 10; i++) {
		pid_t r = waitpid(pid, NULL, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD))
			return 1;
		sleep_us(10000);
	}
	return 0;
}

static void stop_pid(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	if (!reap(*pid, 2000)) {
		kill(*pid, SIGKILL);
		reap(*pid, 2000);
	}
	*pid = 0;
}

static int is_fuse(const char *mnt)
{
	struct statfs sf;
	return statfs(mnt, &sf) == 0 && sf.f_type == FUSE_MAGIC;
}

static void unmount(const char *mnt, pid_t *pid)
{
	char *u[] = {"/bin/fusermount3", "-u", (char *)mnt, NULL};
	char *z[] = {"/bin/fusermount3", "-u", "-z", (char *)mnt, NULL};

	if (mnt[0] && is_fuse(mnt) && run(u) != 0)
		run(z);
	if (*pid > 0 && !reap(*pid, 5000))
		note("%s did not exit after unmount; killing it", mnt);
	stop_pid(pid);
}

static void write_pids(void)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/pids", cfg.dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	fprintf(f, "%d %d %d %d %d\n", (int)env.sim, (int)env.qfs, (int)env.nfs,
		(int)env.qfs2, (int)env.nfsq);
	fclose(f);
}

/* --load N: N processes that spin, each in its own process group and
 * killed with the bench (PR_SET_PDEATHSIG), so that "under load" is the
 * same load from one run to the next. */
static void start_load(void)
{
	pid_t parent = getpid();

	for (unsigned i = 0; i < cfg.load; i++) {
		pid_t pid = fork();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			setpgid(0, 0);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(1);
			for (volatile unsigned long x = 0;; x++)
				;
		}
		env.load[i] = pid;
	}
}

static void stop_load(void)
{
	for (unsigned i = 0; i < LOAD_MAX; i++)
		if (env.load[i] > 0) {
			kill(env.load[i], SIGKILL);
			waitpid(env.load[i], NULL, 0);
			env.load[i] = 0;
		}
}

static void cleanup(void)
{
	static int done;

	if (done++)
		return;
	if (env.ch)
		qchan_close(env.ch);
	env.ch = NULL;
	unmount(env.qmnt, &env.qfs);
	unmount(env.qmnt2, &env.qfs2);
	unmount(env.nmnt, &env.nfs);
	unmount(env.nmntq, &env.nfsq);
	stop_pid(&env.sim);
	stop_load();
	if (cfg.key)
		qchan_shm_unlink(cfg.key, NULL);
	if (cfg.key) {
		char dir[64];
		snprintf(dir, sizeof dir, "/var/lib/questfs/bench-%u-3",
			 cfg.key);
		char *rm[] = {"/bin/rm", "-rf", dir, NULL};
		run(rm);
	}
	for (int i = 0; i < 2; i++) {
		char *dir = i ? env.spool2 : env.spool;
		char *rm[] = {"/bin/rm", "-rf", dir, NULL};
		if (dir[0])
			run(rm);
	}
	write_pids();
}

/* ---- receipts: quest-sim --stamps appends {ns, packet size} per packet ----
 */

static uint64_t stamps_n(void)
{
	struct stat st;
	if (fstat(env.stamps_fd, &st) < 0)
		die("stamps: %s", strerror(errno));
	return (uint64_t)st.st_size / 16;
}

static uint64_t stamp_at(uint64_t i)
{
	uint64_t rec[2];
	if (pread(env.stamps_fd, rec, sizeof rec, (off_t)(i * 16)) !=
	    sizeof rec)
		die("stamps: record %llu missing", (unsigned long long)i);
	return rec[0];
}

/* Sleep (inotify, no polling) until quest-sim has taken n packets. */
static void wait_stamps(uint64_t n)
{
	uint64_t deadline = now_ns() + WAIT_RX_MS * 1000000ull;
	char buf[4096];

	while (stamps_n() < n) {
		if (stop)
			die("interrupted");
		if (now_ns() > deadline)
			die("quest-sim took %llu packets; %llu were due after "
			    "%d s "
			    "(see %s/*.log)",
			    (unsigned long long)stamps_n(),
			    (unsigned long long)n, WAIT_RX_MS / 1000, cfg.dir);
		struct pollfd p = {env.ino_fd, POLLIN, 0};
		if (poll(&p, 1, 100) > 0)
			while (read(env.ino_fd, buf, sizeof buf) > 0)
				;
	}
}

/* ---- memory ---- */

static long status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	long v = -1;
	size_t n = strlen(key);

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, key, n) && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

/* Peak RSS from now on: VmHWM is reset to the current RSS. */
static void reset_hwm(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/clear_refs", (int)pid);
	int fd = open(path, O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "5", 1) < 0)
			note("%s: %s", path, strerror(errno));
		close(fd);
	}
}

/* ---- processor time, ns, all threads ---- */

static uint64_t proc_cpu(pid_t pid)
{
	char path[64], line[128];
	uint64_t sum = 0;
	struct dirent *de;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%.16s/schedstat",
			 (int)pid, de->d_name);
		FILE *f = fopen(path, "r");
		if (f && fgets(line, sizeof line, f))
			sum += strtoull(line, NULL, 10);
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return sum;
}

/* page faults a process has taken, all its threads: fields 10 and 12 of
 * /proc/PID/stat (after the command, which may hold spaces, in parens) */
static uint64_t proc_faults(pid_t pid)
{
	char path[64], line[1024];
	uint64_t minflt = 0, majflt = 0;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	char *r = fgets(line, sizeof line, f);
	fclose(f);
	char *p = r ? strrchr(line, ')') : NULL;
	if (p && sscanf(p + 2,
			"%*c %*d %*d %*d %*d %*d %*u %" SCNu64 " %*u %" SCNu64,
			&minflt, &majflt) == 2)
		return minflt + majflt;
	return 0;
}

/* this process and the children it has reaped (cp, questbinloader) */
static uint64_t client_cpu(void)
{
	struct timespec ts;
	struct rusage ru;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	getrusage(RUSAGE_CHILDREN, &ru);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec +
	       ((uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
		(uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec)) *
		   1000u;
}

/* ---- one launch, by each path ---- */

static void dst_name(char *dst, size_t n, const char *mnt, int writer)
{
	if (!strcmp(cfg.names, "same"))
		snprintf(dst, n, "%s/run/w%d", mnt, writer);
	else
		snprintf(dst, n, "%s/run/w%d-%07llu", mnt, writer,
			 (unsigned long long)__atomic_add_fetch(
			     &env.seq, 1, __ATOMIC_RELAXED));
}

/* open/write/close; 0, or -errno of the step that failed */
static int write_file(const char *path, const struct prog *p, uint64_t *t_close)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < p->size;) {
		ssize_t w = write(fd, p->buf + off, p->size - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;
			close(fd);
			return -e;
		}
		off += (size_t)w;
	}
	if (close(fd) < 0)
		return -errno;
	*t_close = now_ns();
	return 0;
}

static int send_chan(const struct prog *p)
{
	struct qargv a;
	struct qerror e;
	uint8_t hdr[QPKT_HDR_SIZE];

	qargs_init(&a, p->name, NULL);
	qpkt_header(hdr, &a, (uint32_t)p->size);
	struct iovec iov[2] = {{hdr, sizeof hdr}, {p->buf, p->size}};
	if (qchan_send(env.ch, iov, 2, SEND_TIMEOUT_MS, &e) != QE_OK)
		die("(a) send: %s", e.msg);
	return 0;
}

static unsigned cp_failures;

/* One launch; 0, or -EAGAIN/-EBUSY (questfs says: later) to retry. */
static int launch(enum path path, const struct prog *p, int writer,
		  uint64_t *t_close)
{
	char dst[PATH_MAX + 64], loader[PATH_MAX];
	int rc = 0;

	switch (path) {
	case P_CHAN:
		rc = send_chan(p);
		break;
	case P_LOADER:
		snprintf(loader, sizeof loader, "%s/questbinloader", cfg.build);
		char *la[] = {loader, "--channel", env.spec, (char *)p->path,
			      NULL};
		if ((rc = run(la)) != 0)
			die("(b) questbinloader %s exited %d", p->path, rc);
		break;
	case P_QFS:
	case P_QFS2:
	case P_NULL:
	case P_NULLQ:
		dst_name(dst, sizeof dst,
			 path == P_QFS	   ? env.qmnt
			 : path == P_QFS2  ? env.qmnt2
			 : path == P_NULLQ ? env.nmntq
					   : env.nmnt,
			 writer);
		rc = write_file(dst, p, t_close);
		if (rc && rc != -EAGAIN && rc != -EBUSY)
			die("%s: %s", dst, strerror(-rc));
		return rc;
	case P_CP:
	case P_CPNULL:
	case P_CPTMP:
		dst_name(dst, sizeof dst,
			 path == P_CP	    ? env.qmnt
			 : path == P_CPNULL ? env.nmnt
					    : env.tmpdir,
			 writer);
		char *ca[] = {"/bin/cp", (char *)p->path, dst, NULL};
		/* cp says why on stderr, which is discarded: a failure is
		 * retried as EBUSY, and counted; a lasting one ends the run */
		if ((rc = run(ca)) != 0 && ++cp_failures > 20)
			die("(d) cp %s %s keeps failing (exit %d)", p->path,
			    dst, rc);
		if (rc)
			return -EBUSY;
		break;
	case P_MEMCPY:
		memcpy(env.scratch, p->buf, p->size);
		__asm__ volatile("" ::"r"(env.scratch) : "memory");
		break;
	default:
		break;
	}
	*t_close = now_ns();
	return rc;
}

/* ---- passes ---- */

struct pass {
	uint64_t n;
	uint64_t cpu[3];   /* ns: client, file system, quest-sim */
	uint64_t faults;   /* the file system's page faults (minor+major) */
	double secs;	   /* first start to last receipt (or return) */
	uint64_t inflight; /* most launches closed and not yet received */
	unsigned retries;  /* EAGAIN/EBUSY from questfs */
};

/* In-flight launches a writer allows itself: enough to keep the pipeline
 * full, few enough to stay far from questfs's max_queue and max_bytes. */
static uint64_t window(size_t size)
{
	uint64_t w = HELD_MAX / size;
	return w < 2 ? 2 : w > 64 ? 64 : w;
}

/* Back to back for cfg.secs: launches/s and MB/s. */
static void pass_rate(enum path path, const struct prog *p, pid_t fs,
		      struct pass *out)
{
	uint64_t base = has_rx[path] ? stamps_n() : 0, n = 0, t_close = 0;
	uint64_t w = window(p->size), t0 = now_ns(), t = t0;
	uint64_t tend = t0 + (uint64_t)(cfg.secs * 1e9);

	memset(out, 0, sizeof *out);
	uint64_t cpu0[3] = {client_cpu(), proc_cpu(fs),
			    has_rx[path] ? proc_cpu(env.sim) : 0};
	uint64_t faults0 = proc_faults(fs);
	while (t < tend && n < NMAX) {
		if (stop)
			die("interrupted");
		if (async_rx[path] && n - (stamps_n() - base) >= w)
			wait_stamps(base + n - w + 1);
		if (launch(path, p, 0, &t_close) < 0) {
			out->retries++;
			sleep_us(100);
			t = now_ns();
			continue;
		}
		n++;
		if (async_rx[path]) {
			uint64_t in = n - (stamps_n() - base);
			if (in > out->inflight)
				out->inflight = in;
		}
		/* the clock costs as much as a small memcpy */
		if (path != P_MEMCPY || !(n & 255))
			t = now_ns();
	}
	if (has_rx[path]) {
		wait_stamps(base + n);
		t = stamp_at(base + n - 1);
	} else if (path == P_MEMCPY) {
		t = now_ns();
	}
	out->n = n;
	out->secs = (double)(t - t0) / 1e9;
	out->cpu[0] = client_cpu() - cpu0[0];
	out->cpu[1] = proc_cpu(fs) - cpu0[1];
	out->cpu[2] = has_rx[path] ? proc_cpu(env.sim) - cpu0[2] : 0;
	out->faults = proc_faults(fs) - faults0;
}

struct samples {
	double *v;
	size_t n, cap;
};

static void add(struct samples *s, double v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->v = realloc(s->v, s->cap * sizeof *s->v);
		if (!s->v)
			die("out of memory");
	}
	s->v[s->n++] = v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(struct samples *s, double q)
{
	if (!s->n)
		return NAN;
	qsort(s->v, s->n, sizeof *s->v, cmp_double);
	size_t i = (size_t)ceil(q * (double)s->n) - 1;
	return s->v[i < s->n ? i : s->n - 1];
}

/* One launch at a time, each waited for: start to receipt (or return),
 * and close to receipt, in µs. */
static void pass_latency(enum path path, const struct prog *p,
			 struct samples *lat, struct samples *after)
{
	uint64_t base = has_rx[path] ? stamps_n() : 0, t_close = 0, done = 0;
	uint64_t tend = now_ns() + (uint64_t)(cfg.secs * 1e9);

	for (unsigned i = 0; i < LAT_MAX && now_ns() < tend; i++) {
		if (stop)
			die("interrupted");
		uint64_t t0 = now_ns();
		if (launch(path, p, 0, &t_close) < 0) {
			sleep_us(100);
			continue;
		}
		if (!has_rx[path]) {
			add(lat, (double)(t_close - t0) / 1e3);
			continue;
		}
		wait_stamps(base + ++done);
		uint64_t rx = stamp_at(base + done - 1);
		add(lat, (double)(rx - t0) / 1e3);
		/* (d): cp may exit after the receipt; its close is unknown */
		if (async_rx[path] && path != P_CP)
			add(after, ((double)rx - (double)t_close) / 1e3);
	}
}

/* ---- parallel writers ---- */

struct writer {
	pthread_t th;
	enum path path;
	const struct prog *p;
	int id;
	uint64_t tend, base, n, retries;
};

static _Atomic uint64_t launched;

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	uint64_t t_close, win = window(w->p->size);

	while (now_ns() < w->tend && !stop) {
		if (has_rx[w->path] &&
		    atomic_load(&launched) - (stamps_n() - w->base) >= win) {
			sleep_us(50);
			continue;
		}
		if (launch(w->path, w->p, w->id, &t_close) < 0) {
			w->retries++;
			sleep_us(100);
			continue;
		}
		w->n++;
		atomic_fetch_add(&launched, 1);
	}
	return NULL;
}

static double pass_parallel(enum path path, const struct prog *p, int nw,
			    unsigned *retries)
{
	struct writer w[8];
	uint64_t base = has_rx[path] ? stamps_n() : 0, t0 = now_ns(), n = 0, t;

	atomic_store(&launched, 0);
	for (int i = 0; i < nw; i++) {
		w[i] = (struct writer){.path = path,
				       .p = p,
				       .id = i + 1,
				       .tend = t0 + (uint64_t)(cfg.secs * 1e9),
				       .base = base};
		if (pthread_create(&w[i].th, NULL, writer_main, &w[i]))
			die("pthread_create failed");
	}
	for (int i = 0; i < nw; i++) {
		pthread_join(w[i].th, NULL);
		n += w[i].n;
		*retries += (unsigned)w[i].retries;
	}
	if (stop)
		die("interrupted");
	t = now_ns();
	if (has_rx[path]) {
		wait_stamps(base + n);
		t = stamp_at(base + n - 1);
	}
	return (double)n / ((double)(t - t0) / 1e9);
}

/* ---- set-up ---- */

static void make_progs(void)
{
	char mkelf[PATH_MAX], size[32];

	snprintf(mkelf, sizeof mkelf, "%s/tests/mkelf", cfg.build);
	for (int i = 0; i < NSIZES; i++) {
		struct prog *p = &env.progs[i];
		p->size = sizes[i];
		/* the name is argv[0] on every path: same length everywhere */
		snprintf(p->name, sizeof p->name, "p%07zu", p->size);
		snprintf(p->path, sizeof p->path, "%s/%s", cfg.dir, p->name);
		snprintf(size, sizeof size, "%zu", p->size);
		char *a[] = {mkelf, "--seed", "7", "--size",
			     size,  p->path,  NULL};
		if (run(a) != 0)
			die("%s --size %s %s failed", mkelf, size, p->path);
		p->buf = malloc(p->size);
		int fd = open(p->path, O_RDONLY);
		if (!p->buf || fd < 0 ||
		    read(fd, p->buf, p->size) != (ssize_t)p->size)
			die("reading %s failed", p->path);
		close(fd);
	}
	env.scratch = malloc(LARGEST);
	if (!env.scratch)
		die("out of memory");
	memset(env.scratch, 1, LARGEST);
}

static int log_has(const char *log, const char *what)
{
	char line[512];
	int found = 0;
	FILE *f = fopen(log, "r");

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, what) != NULL;
	fclose(f);
	return found;
}

static void wait_until(const char *what, pid_t pid, int (*ok)(const char *),
		       const char *arg)
{
	for (int i = 0; i < 1000; i++) {
		if (ok(arg))
			return;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			die("%s: it exited (see %s/*.log)", what, cfg.dir);
		sleep_us(10000);
	}
	die("%s: not ready after 10 s (see %s/*.log)", what, cfg.dir);
}

static char sim_log[PATH_MAX];
static int sim_attached(const char *log)
{
	return log_has(log, "attached");
}

static void start_all(void)
{
	char bin[3][PATH_MAX], log[PATH_MAX], opts[2 * PATH_MAX];
	struct qerror e;

	if (cfg.vshm) /* the channel in a region file (PROTOCOL.md §3b) */
		snprintf(env.spec, sizeof env.spec, "vshm:%.400s/region",
			 cfg.dir);
	else
		snprintf(env.spec, sizeof env.spec, "shm:%u", cfg.key);
	snprintf(env.stamps, sizeof env.stamps, "%s/stamps", cfg.dir);
	snprintf(env.qmnt, sizeof env.qmnt, "%s/quest", cfg.dir);
	snprintf(env.nmnt, sizeof env.nmnt, "%s/null", cfg.dir);
	snprintf(env.nmntq, sizeof env.nmntq, "%s/nullq", cfg.dir);
	/* (d''): a run/ directory on tmpfs, for dst_name */
	snprintf(env.tmpdir, sizeof env.tmpdir, "%s/tmp", cfg.dir);
	char tmprun[PATH_MAX + 8];
	snprintf(tmprun, sizeof tmprun, "%s/run", env.tmpdir);
	if ((mkdir(env.qmnt, 0755) && errno != EEXIST) ||
	    (mkdir(env.nmnt, 0755) && errno != EEXIST) ||
	    (mkdir(env.nmntq, 0755) && errno != EEXIST) ||
	    (mkdir(env.tmpdir, 0755) && errno != EEXIST) ||
	    (mkdir(tmprun, 0755) && errno != EEXIST))
		die("mkdir in %s: %s", cfg.dir, strerror(errno));

	/* quest-sim first: it makes the segment (no stale one of this key) */
	qchan_shm_unlink(cfg.key, NULL);
	snprintf(bin[0], sizeof bin[0], "%s/quest-sim", cfg.build);
	snprintf(sim_log, sizeof sim_log, "%s/quest-sim.log", cfg.dir);
	char *sa[] = {bin[0],	  "--channel", env.spec, "--quiet",
		      "--stamps", env.stamps,  NULL};
	env.sim = start_daemon(sa, sim_log);
	write_pids();
	wait_until("quest-sim", env.sim, sim_attached, sim_log);
	env.stamps_fd = open(env.stamps, O_RDONLY | O_CLOEXEC);
	env.ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (env.stamps_fd < 0 || env.ino_fd < 0 ||
	    inotify_add_watch(env.ino_fd, env.stamps, IN_MODIFY) < 0)
		die("%s: %s", env.stamps, strerror(errno));

	snprintf(bin[1], sizeof bin[1], "%s/questfs", cfg.build);
	snprintf(log, sizeof log, "%s/questfs.log", cfg.dir);
	/* questfs's default spool is under /var/lib/questfs for root: the same
	 * file system, in a directory of this run's that cleanup removes */
	if (!cfg.qfs_opts || !strstr(cfg.qfs_opts, "spool="))
		snprintf(env.spool, sizeof env.spool,
			 "/var/lib/questfs/bench-%u", cfg.key);
	snprintf(opts, sizeof opts, "channel=%s%s%s%s%s", env.spec,
		 env.spool[0] ? ",spool=" : "", env.spool,
		 cfg.qfs_opts ? "," : "", cfg.qfs_opts ? cfg.qfs_opts : "");
	char *qa[] = {bin[1], "-f", "-o", opts, env.qmnt, NULL};
	env.qfs = start_daemon(qa, log);
	write_pids();
	wait_until("questfs mount", env.qfs, is_fuse, env.qmnt);

	if (cfg.qfs2) {
		snprintf(env.qmnt2, sizeof env.qmnt2, "%s/quest2", cfg.dir);
		if (mkdir(env.qmnt2, 0755) && errno != EEXIST)
			die("mkdir %s: %s", env.qmnt2, strerror(errno));
		if (env.spool[0])
			snprintf(env.spool2, sizeof env.spool2, "%.4000s-2",
				 env.spool);
		snprintf(log, sizeof log, "%s/questfs2.log", cfg.dir);
		snprintf(opts, sizeof opts, "channel=%s%s%s%s%s", env.spec,
			 env.spool2[0] ? ",spool=" : "", env.spool2,
			 cfg.qfs_opts ? "," : "",
			 cfg.qfs_opts ? cfg.qfs_opts : "");
		char *q2[] = {(char *)cfg.qfs2, "-f", "-o", opts,
			      env.qmnt2,	NULL};
		env.qfs2 = start_daemon(q2, log);
		write_pids();
		wait_until("questfs2 mount", env.qfs2, is_fuse, env.qmnt2);
	}

	snprintf(bin[2], sizeof bin[2], "%s/bench/nullfs", cfg.build);
	snprintf(log, sizeof log, "%s/nullfs.log", cfg.dir);
	char nopts[1024];
	snprintf(nopts, sizeof nopts, "stats=%s/nullfs.stats%s%s", cfg.dir,
		 cfg.nfs_opts ? "," : "", cfg.nfs_opts ? cfg.nfs_opts : "");
	char *na[] = {bin[2], "-f", "-o", nopts, env.nmnt, NULL};
	env.nfs = start_daemon(na, log);
	write_pids();
	wait_until("nullfs mount", env.nfs, is_fuse, env.nmnt);

	snprintf(log, sizeof log, "%s/nullq.log", cfg.dir);
	snprintf(nopts, sizeof nopts,
		 "stats=%s/nullq.stats,direct_io,xattr,run_ttl=3600%s%s",
		 cfg.dir, cfg.nfs_opts ? "," : "",
		 cfg.nfs_opts ? cfg.nfs_opts : "");
	char *nq[] = {bin[2], "-f", "-o", nopts, env.nmntq, NULL};
	env.nfsq = start_daemon(nq, log);
	write_pids();
	wait_until("nullfs (questfs's protocol) mount", env.nfsq, is_fuse,
		   env.nmntq);

	struct qchan_opts co;
	qchan_opts_default(&co);
	if (qchan_open(env.spec, &co, &env.ch, &e) != QE_OK)
		die("(a) %s", e.msg);
}

/* ---- the report ---- */

struct cell {
	double rate[16]; /* launches/s per round */
	unsigned rounds, retries;
	uint64_t inflight;
	long hwm_kb; /* most VmHWM of the file system, over rounds */
	struct samples lat, after;
	uint64_t cpu[3], launches; /* summed over rounds */
	uint64_t faults;	   /* the file system's, summed over rounds */
};

static struct cell cells[P__N][NSIZES];

static double median(const double *v, unsigned n)
{
	double s[16];
	memcpy(s, v, n * sizeof *v);
	qsort(s, n, sizeof *s, cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static double dmin(const double *v, unsigned n)
{
	double m = v[0];
	for (unsigned i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static double dmax(const double *v, unsigned n)
{
	double m = v[0];
	for (unsigned i = 1; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

static double rate_of(enum path p, int s)
{
	return median(cells[p][s].rate, cells[p][s].rounds);
}

static const char *human_size(size_t n, char *buf, size_t len)
{
	if (n % 1024 == 0)
		snprintf(buf, len, "%zu KiB", n / 1024);
	else
		snprintf(buf, len, "%zu B", n);
	return buf;
}

static void fmt_num(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (v >= 100)
		snprintf(buf, len, "%.0f", v);
	else if (v >= 10)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.2f", v);
}

static void print_table(void)
{
	char sz[32], r[32], lo[32], hi[32], mb[32], p50[32], p99[32], af[32],
	    rate[128], rss[48];

	printf("\n%-8s %-30s %-24s %7s %8s %8s %9s  %s\n", "size", "path",
	       "launches/s (min-max)", "MB/s", "p50 us", "p99 us", "close->rx",
	       "RSS MiB (held)");
	for (int t = 0; t < NTABLE; t++) {
		int s = table_sizes[t], shown = 0;
		for (int o = 0; o < P__N; o++) {
			enum path p = order[o];
			struct cell *c = &cells[p][s];
			if (!c->rounds)
				continue;
			double m = rate_of(p, s);
			fmt_num(m, r, sizeof r);
			fmt_num(dmin(c->rate, c->rounds), lo, sizeof lo);
			fmt_num(dmax(c->rate, c->rounds), hi, sizeof hi);
			snprintf(rate, sizeof rate, "%s (%s-%s)", r, lo, hi);
			fmt_num(m * (double)sizes[s] / 1e6, mb, sizeof mb);
			fmt_num(pct(&c->lat, 0.50), p50, sizeof p50);
			fmt_num(pct(&c->lat, 0.99), p99, sizeof p99);
			fmt_num(pct(&c->after, 0.50), af, sizeof af);
			if (c->hwm_kb > 0)
				snprintf(rss, sizeof rss, "%.1f (%.1f)",
					 (double)c->hwm_kb / 1024,
					 (double)(c->inflight * sizes[s]) /
					     (1 << 20));
			else
				snprintf(rss, sizeof rss, "-");
			printf("%-8s %-30s %-24s %7s %8s %8s %9s  %s\n",
			       !shown++ ? human_size(sizes[s], sz, sizeof sz)
					: "",
			       path_names[p], rate, mb, p50, p99, af, rss);
		}
	}
}

/* (c2) against (c) round by round: they ran back to back */
static const char *wins(int s)
{
	static char buf[64];
	unsigned n = cells[P_QFS][s].rounds, w = 0;

	for (unsigned r = 0; r < n; r++)
		w += cells[P_QFS2][s].rate[r] > cells[P_QFS][s].rate[r];
	snprintf(buf, sizeof buf, "(c2) faster in %u of %u", w, n);
	return buf;
}

/* rate of p over rate of q at size s; NAN unless both were measured */
static double ratio(enum path p, enum path q, int s)
{
	if (!cells[p][s].rounds || !cells[q][s].rounds)
		return NAN;
	return rate_of(p, s) / rate_of(q, s);
}

static void print_ratio(double v)
{
	if (isnan(v))
		printf(" %9s", "-");
	else
		printf(" %9.2f", v);
}

static void print_targets(void)
{
	char sz[32];
	int ok_e = 1, ok_b = 1, ok_m = 1, checked = 0;

	printf("\nratios of launches/s; for cp, of time per launch (lower is "
	       "better)\n");
	printf("%-8s %9s %9s %9s | %9s %9s %9s %9s\n", "size", "(c)/(e)",
	       "(c)/(e')", "(c)/(a)", "(d)/(b)", "(d)/(d')", "(d')/(b)",
	       "(d'')/(b)");
	for (int t = 0; t < NTABLE; t++) {
		int s = table_sizes[t];
		double ce = ratio(P_QFS, P_NULL, s);
		double db = ratio(P_LOADER, P_CP, s);
		printf("%-8s", human_size(sizes[s], sz, sizeof sz));
		print_ratio(ce);
		print_ratio(ratio(P_QFS, P_NULLQ, s));
		print_ratio(ratio(P_QFS, P_CHAN, s));
		printf(" |");
		print_ratio(db);
		print_ratio(ratio(P_CPNULL, P_CP, s));
		print_ratio(ratio(P_LOADER, P_CPNULL, s));
		print_ratio(ratio(P_LOADER, P_CPTMP, s));
		printf("\n");
		if (isnan(ce) || isnan(db))
			continue;
		checked++;
		ok_e &= ce >= 0.8;
		ok_b &= db <= 1.2;
		for (int p = P_QFS; p <= P_CP; p++) {
			struct cell *c = &cells[p][s];
			double held =
			    (double)(c->inflight + 1) * (double)sizes[s];
			if (c->hwm_kb > 0 &&
			    (double)c->hwm_kb * 1024 > 8.0 * (1 << 20) + held)
				ok_m = 0;
		}
	}
	printf("(e'): nullfs with questfs's direct I/O, getxattr and cached "
	       "run/; (d'), (d''): cp into nullfs, into tmpfs\n");
	for (int t = 0; cfg.qfs2 && t < NTABLE; t++) {
		int s = table_sizes[t];
		if (cells[P_QFS][s].rounds && cells[P_QFS2][s].rounds)
			printf("%-8s (c2)/(c) %.2f (rounds: %s)\n",
			       human_size(sizes[s], sz, sizeof sz),
			       rate_of(P_QFS2, s) / rate_of(P_QFS, s), wins(s));
	}
	if (checked < NTABLE) {
		printf(
		    "targets: not judged (needs every path at every size)\n");
		return;
	}
	printf("\ntargets: (c) >= 0.8x (e) launches/s at every size: %s\n",
	       ok_e ? "met" : "MISSED");
	printf("         (d) within 1.2x of (b) per launch:            %s\n",
	       ok_b ? "met" : "MISSED");
	printf("         questfs peak RSS < 8 MiB + program bytes held: %s\n",
	       ok_m ? "met" : "MISSED");
}

/* time per launch = a + b * size, least squares over the sizes */
static void print_fit(void)
{
	printf(
	    "\ncost per launch and per byte: time/launch = a + b*size, least "
	    "squares over %d sizes (4 KiB..%u B, median of rounds)\n",
	    NSIZES, LARGEST);
	printf("%-30s %10s %12s %10s %6s   us/launch at each size\n", "path",
	       "a (us)", "b (ns/KiB)", "1/b MB/s", "R^2");
	for (int o = 0; o < P__N; o++) {
		enum path p = order[o];
		double sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0, y[NSIZES];
		int n = 0;
		for (int s = 0; s < NSIZES; s++) {
			if (!cells[p][s].rounds)
				continue;
			double x = (double)sizes[s];
			y[s] = 1e6 / rate_of(p, s);
			sx += x, sy += y[s], sxx += x * x, sxy += x * y[s];
			syy += y[s] * y[s];
			n++;
		}
		if (n < NSIZES)
			continue;
		double b = (n * sxy - sx * sy) / (n * sxx - sx * sx);
		double a = (sy - b * sx) / n;
		double r = (n * sxy - sx * sy) /
			   sqrt((n * sxx - sx * sx) * (n * syy - sy * sy));
		printf("%-30s %10.1f %12.1f %10.0f %6.3f  ", path_names[p], a,
		       b * 1e3 * 1024, b > 0 ? 1.0 / b : NAN, r * r);
		for (int s = 0; s < NSIZES; s++)
			printf(" %.1f", y[s]);
		printf("\n");
	}
}

/* what bounds each path: processor time per launch, where it is spent */
static void print_cpu(void)
{
	char sz[32];

	printf("\nprocessor time per launch, us (all threads; client = this "
	       "process + its cp/questbinloader children);\nfs faults: the "
	       "file system's page faults per launch\n");
	printf("%-8s %-30s %8s %8s %9s %8s %8s %9s\n", "size", "path", "client",
	       "fs", "quest-sim", "total", "wall", "fs faults");
	for (int t = 0; t < NTABLE; t++) {
		int s = table_sizes[t], shown = 0;
		for (int o = 0; o < P__N; o++) {
			enum path p = order[o];
			struct cell *c = &cells[p][s];
			if (!c->launches)
				continue;
			double n = (double)c->launches * 1e3, tot = 0;
			for (int k = 0; k < 3; k++)
				tot += (double)c->cpu[k] / n;
			printf(
			    "%-8s %-30s %8.1f %8.1f %9.1f %8.1f %8.1f %9.2f\n",
			    !shown++ ? human_size(sizes[s], sz, sizeof sz) : "",
			    path_names[p], (double)c->cpu[0] / n,
			    (double)c->cpu[1] / n, (double)c->cpu[2] / n, tot,
			    1e6 / rate_of(p, s),
			    (double)c->faults / (double)c->launches);
		}
	}
}

/* rows: (c), (e), (c2) */
static const enum path scale_paths[3] = {P_QFS, P_NULL, P_QFS2};
static double scale_rate[2][NWRITERS][3][16];

static void print_scale(void)
{
	char sz[32];

	printf("\nparallel writers (open/write/close loops, distinct files per "
	       "writer): launches/s, median (min-max)\n");
	printf("%-8s %-30s", "size", "path");
	for (int w = 0; w < NWRITERS; w++)
		printf(" %14d%s", writers[w], w ? "" : " writer");
	printf("\n");
	for (int s = 0; s < 2; s++)
		for (int f = 0; f < (cfg.qfs2 ? 3 : 2); f++) {
			printf("%-8s %-30s",
			       f ? ""
				 : human_size(sizes[scale_sizes[s]], sz,
					      sizeof sz),
			       path_names[scale_paths[f]]);
			for (int w = 0; w < NWRITERS; w++) {
				double *v = scale_rate[s][w][f];
				printf(" %6.0f (%3.0f%%)%s",
				       median(v, cfg.rounds),
				       100 *
					   (dmax(v, cfg.rounds) -
					    dmin(v, cfg.rounds)) /
					   median(v, cfg.rounds),
				       w ? "" : "       ");
			}
			printf("\n");
		}
	printf("(%% = spread max-min over the median)\n");
}

/* the machine's load average (1, 5, 15 min), as uptime shows it: a run's
 * figures are read beside it */
static void print_loadavg(const char *when)
{
	char line[128] = "?";
	FILE *f = fopen("/proc/loadavg", "r");

	if (f && fgets(line, sizeof line, f)) {
		char *sp = line;
		for (int k = 0; k < 3 && sp; k++)
			sp = strchr(sp + 1, ' ');
		if (sp)
			*sp = '\0';
	}
	if (f)
		fclose(f);
	printf("load average %s: %s%s\n", when, line,
	       cfg.load ? " (with the bench's busy loops)" : "");
}

static void print_header(void)
{
	struct utsname u;
	char model[256] = "?", line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "model name", 10)) {
			char *c = strchr(line, ':');
			snprintf(model, sizeof model, "%.200s",
				 c ? c + 2 : line);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	if (f)
		fclose(f);
	uname(&u);
	printf("questfs launch benchmark: %ld cores (%s), Linux %s\n",
	       sysconf(_SC_NPROCESSORS_ONLN), model, u.release);
	printf("%u rounds of %.2f s per path and size; median (min-max) of the "
	       "rounds; latencies pooled over rounds\n",
	       cfg.rounds, cfg.secs);
	printf("quest-sim --quiet --stamps (count-only); questfs -o "
	       "channel=%s%s%s%s%s; "
	       "writes into run/ use %s names\n",
	       env.spec, env.spool[0] ? ",spool=" : "", env.spool,
	       cfg.qfs_opts ? "," : "", cfg.qfs_opts ? cfg.qfs_opts : "",
	       cfg.names);
}

/* ---- main ---- */

static void one_round(unsigned r)
{
	for (int s = 0; s < NSIZES; s++) {
		int in_table = 0;
		for (int t = 0; t < NTABLE; t++)
			in_table |= table_sizes[t] == s;
		if (!in_table && !cfg.sweep)
			continue;
		for (int o = 0; o < P__N; o++) {
			enum path p = order[o];
			struct cell *c = &cells[p][s];
			struct pass ps;
			if (!strchr(cfg.paths, path_letters[p]))
				continue;
			if (p == P_QFS2 && !cfg.qfs2)
				continue;
			pid_t fs = p == P_QFS || p == P_CP	  ? env.qfs
				   : p == P_QFS2		  ? env.qfs2
				   : p == P_NULL || p == P_CPNULL ? env.nfs
				   : p == P_NULLQ		  ? env.nfsq
								  : 0;
			if (fs)
				reset_hwm(fs);
			pass_rate(p, &env.progs[s], fs, &ps);
			c->rate[r] = (double)ps.n / ps.secs;
			for (int k = 0; k < 3; k++)
				c->cpu[k] += ps.cpu[k];
			c->launches += ps.n;
			c->faults += ps.faults;
			c->rounds = r + 1;
			c->retries += ps.retries;
			if (ps.inflight > c->inflight)
				c->inflight = ps.inflight;
			if (fs) {
				long kb = status_kb(fs, "VmHWM");
				c->hwm_kb = kb > c->hwm_kb ? kb : c->hwm_kb;
			}
			if (in_table)
				pass_latency(p, &env.progs[s], &c->lat,
					     &c->after);
		}
	}
	if (!cfg.scale)
		return;
	for (int s = 0; s < 2; s++)
		for (int w = 0; w < NWRITERS; w++)
			for (int f = 0; f < (cfg.qfs2 ? 3 : 2); f++) {
				unsigned retries = 0;
				scale_rate[s][w][f][r] = pass_parallel(
				    scale_paths[f], &env.progs[scale_sizes[s]],
				    writers[w], &retries);
				cells[scale_paths[f]][scale_sizes[s]].retries +=
				    retries;
			}
}

/* ---- the per-byte passes of a launch, each alone, in this process ---- */

enum bpass { B_MEMCPY, B_CRC, B_PREFIX, B_WHOLE, B_SPOOL, B_ESC, B__N };
static const char *const bpass_names[B__N] = {
    "memcpy (the reference)",	     "crc32, zlib (spool_sync only)",
    "ELF check of a prefix (FLUSH)", "ELF and loader checks (commit)",
    "spool: put + done, page cache", "escape (log lines), per byte",
};

struct bctx {
	const struct prog *p;
	struct qelf_profile prof;
	struct qargv argv;
	struct qspool *sp;
	uint8_t *dst;
	uint64_t id;
	volatile uint32_t sink;
};

static void bpass_once(enum bpass b, struct bctx *c)
{
	struct qspool_entry e;
	struct qerror err;
	uint8_t hdr[QPKT_HDR_SIZE];
	size_t n = c->p->size;

	switch (b) {
	case B_MEMCPY:
		memcpy(c->dst, c->p->buf, n);
		c->sink += c->dst[n / 2];
		break;
	case B_CRC:
		c->sink += (uint32_t)crc32(0L, c->p->buf, (uInt)n);
		break;
	case B_PREFIX:
		if (qelf_check(c->p->buf, n, &c->prof, QELF_PREFIX, NULL,
			       &err) != QE_OK)
			die("ELF check of %s: %s", c->p->path, err.msg);
		break;
	case B_WHOLE:
		if (qprog_prepare(c->p->buf, n, &c->argv, &c->prof, hdr, NULL,
				  &err) != QE_OK)
			die("checks of %s: %s", c->p->path, err.msg);
		break;
	case B_SPOOL:
		memset(&e, 0, sizeof e);
		e.id = ++c->id;
		snprintf(e.name, sizeof e.name, "w0");
		e.image = c->p->buf;
		e.len = n;
		if (qspool_put(c->sp, &e, &err) != QE_OK)
			die("spool: %s", err.msg);
		qspool_done(c->sp, e.id);
		break;
	case B_ESC:
		/* the program's bytes as if they were a name: the worst case
		 * (most bytes need an escape) */
		c->sink +=
		    (uint32_t)qesc((const char *)c->p->buf, n < 4096 ? n : 4096,
				   (char *)c->dst, 4 * 4096 + 1);
		break;
	default:
		break;
	}
}

/* Each pass over each table size, repeated for 50 ms, best of three: what
 * one launch's bytes cost it, and at what speed. */
static void print_passes(void)
{
	struct bctx c = {0};
	struct qerror err;
	char dir[64], sz[32];

	snprintf(dir, sizeof dir, "/var/lib/questfs/bench-%u-3", cfg.key);
	if (qspool_open(dir, 0, &c.sp, &err) != QE_OK)
		die("%s", err.msg);
	qelf_profile_default(&c.prof);
	c.prof.max_size = qpkt_max_binary(QPKT_SLOT_DEFAULT);
	if (qargs_init(&c.argv, "w0", &err) != QE_OK)
		die("%s", err.msg);
	if (!(c.dst = malloc(LARGEST > 4 * 4096 + 1 ? LARGEST : 4 * 4096 + 1)))
		die("out of memory");
	printf("\nper-byte passes of a launch, in this process: us per "
	       "program (MB/s), best of 3 x 50 ms\n");
	printf("%-32s", "pass");
	for (int t = 0; t < NTABLE; t++)
		printf(" %20s",
		       human_size(sizes[table_sizes[t]], sz, sizeof sz));
	printf("\n");
	for (int b = 0; b < B__N; b++) {
		printf("%-32s", bpass_names[b]);
		for (int t = 0; t < NTABLE; t++) {
			c.p = &env.progs[table_sizes[t]];
			size_t bytes =
			    b == B_ESC && c.p->size > 4096 ? 4096 : c.p->size;
			double best = 1e30;
			for (int r = 0; r < 3; r++) {
				uint64_t n = 0, t0 = now_ns(), t1;
				do {
					bpass_once((enum bpass)b, &c);
					n++;
					t1 = now_ns();
				} while (t1 - t0 < 50000000u);
				double us = (double)(t1 - t0) / 1e3 / (double)n;
				best = us < best ? us : best;
			}
			char cellbuf[32];
			snprintf(cellbuf, sizeof cellbuf, "%.2f (%.0f)", best,
				 (double)bytes / best);
			printf(" %20s", cellbuf);
		}
		printf("\n");
	}
	printf("(escape: of 4 KiB at most, the bytes of a name or argument "
	       "line; spool: one job record and its done record, no "
	       "fdatasync)\n");
	free(c.dst);
	qspool_close(c.sp);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bench --dir DIR --key KEY [OPTION]...\n"
		"Measure how fast programs reach quest-sim by each path.\n"
		"  --dir DIR         scratch directory (mount points, logs)\n"
		"  --key KEY         shm:KEY channel of this run\n"
		"  --vshm            the channel is vshm:DIR/region instead\n"
		"  --build DIR       questfs, quest-sim, questbinloader, "
		"tests/mkelf,\n"
		"                    bench/nullfs (default build)\n"
		"  --rounds N        rounds (default 3, at most 15)\n"
		"  --time SEC        seconds per pass (default 0.4)\n"
		"  --names same|distinct  file names written into run/ (same)\n"
		"  --qfs-opts OPTS   more -o options for questfs\n"
		"  --nullfs-opts OPTS more -o options for nullfs\n"
		"  --paths LETTERS   which of a b c d e m(emcpy) f(=c2) to "
		"measure\n"
		"  --questfs2 PATH   another questfs build, mounted too: (c2) "
		"is (c)\n"
		"                    into it, pass by pass with (c)\n"
		"  --no-sweep        only the table's sizes\n"
		"  --no-scale        no parallel writers\n"
		"  --no-passes       no table of the per-byte passes\n"
		"  --load N          N busy loops (processes) during the run, "
		"at most %d\n",
		LOAD_MAX);
}

int main(int argc, char **argv)
{
	enum {
		O_DIR = 256,
		O_KEY,
		O_BUILD,
		O_ROUNDS,
		O_TIME,
		O_NAMES,
		O_QOPTS,
		O_NOPTS,
		O_NOSWEEP,
		O_NOSCALE,
		O_PATHS,
		O_QFS2,
		O_VSHM,
		O_NOPASSES,
		O_LOAD
	};
	static const struct option lo[] = {
	    {"dir", required_argument, NULL, O_DIR},
	    {"key", required_argument, NULL, O_KEY},
	    {"vshm", no_argument, NULL, O_VSHM},
	    {"build", required_argument, NULL, O_BUILD},
	    {"rounds", required_argument, NULL, O_ROUNDS},
	    {"time", required_argument, NULL, O_TIME},
	    {"names", required_argument, NULL, O_NAMES},
	    {"qfs-opts", required_argument, NULL, O_QOPTS},
	    {"nullfs-opts", required_argument, NULL, O_NOPTS},
	    {"paths", required_argument, NULL, O_PATHS},
	    {"questfs2", required_argument, NULL, O_QFS2},
	    {"no-sweep", no_argument, NULL, O_NOSWEEP},
	    {"no-scale", no_argument, NULL, O_NOSCALE},
	    {"no-passes", no_argument, NULL, O_NOPASSES},
	    {"load", required_argument, NULL, O_LOAD},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_DIR:
			cfg.dir = optarg;
			break;
		case O_KEY:
			cfg.key = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case O_VSHM:
			cfg.vshm = 1;
			break;
		case O_BUILD:
			cfg.build = optarg;
			break;
		case O_ROUNDS:
			cfg.rounds = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case O_TIME:
			cfg.secs = strtod(optarg, NULL);
			break;
		case O_NAMES:
			cfg.names = optarg;
			break;
		case O_QOPTS:
			cfg.qfs_opts = optarg;
			break;
		case O_NOPTS:
			cfg.nfs_opts = optarg;
			break;
		case O_PATHS:
			cfg.paths = optarg;
			break;
		case O_QFS2:
			cfg.qfs2 = optarg;
			break;
		case O_NOSWEEP:
			cfg.sweep = 0;
			break;
		case O_NOSCALE:
			cfg.scale = 0;
			break;
		case O_NOPASSES:
			cfg.passes = 0;
			break;
		case O_LOAD:
			cfg.load = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!cfg.dir || !cfg.key || !cfg.rounds || cfg.rounds > 15 ||
	    cfg.secs <= 0 || cfg.secs > 60 || cfg.load > LOAD_MAX ||
	    (strcmp(cfg.names, "same") && strcmp(cfg.names, "distinct"))) {
		usage(stderr);
		return 2;
	}

	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	make_progs();
	start_all();
	long idle_kb = status_kb(env.qfs, "VmHWM");
	print_header();

	/* warm-up: page cache, libelf, the daemons' threads */
	uint64_t tc, due = stamps_n();
	for (int i = 0; i < 2 * NSIZES; i++)
		for (int p = 0; p < P__N; p++) {
			if (!strchr(cfg.paths, path_letters[p]) ||
			    (p == P_QFS2 && !cfg.qfs2))
				continue;
			while (launch(p, &env.progs[i % NSIZES], 0, &tc) < 0)
				sleep_us(1000);
			due += has_rx[p];
		}
	wait_stamps(due);

	print_loadavg("before the rounds");
	start_load();
	if (cfg.load)
		printf("--load %u: %u busy loops during the rounds\n", cfg.load,
		       cfg.load);
	for (unsigned r = 0; r < cfg.rounds; r++) {
		uint64_t t0 = now_ns();
		one_round(r);
		note("round %u/%u done in %.1f s", r + 1, cfg.rounds,
		     (double)(now_ns() - t0) / 1e9);
	}

	print_loadavg("after the rounds");
	stop_load();
	print_table();
	printf("\n(a) qchan_send of qpkt_header + program, in this process; "
	       "(b) one questbinloader per launch;\n"
	       "(c) open/write/close into questfs run/, in this process; (d) "
	       "one cp per launch; (e) the loop of (c) into nullfs;\n"
	       "(e') the same into a nullfs with questfs's FUSE choices "
	       "(direct I/O, getxattr answered, run/ cached);\n"
	       "(d'), (d'') one cp per launch into nullfs, into tmpfs.\n"
	       "p50/p99: one launch at a time, start to quest-sim's receipt "
	       "((e), memcpy: to close's return);\n"
	       "close->rx: p50 from close (cp's exit) to receipt. RSS: "
	       "questfs's VmHWM (nullfs's for (e)), most over rounds;\n"
	       "held: most program bytes in flight (closed, not yet received). "
	       "questfs idle: %.1f MiB.\n",
	       (double)idle_kb / 1024);
	for (int p = 0; p < P__N; p++)
		for (int s = 0; s < NSIZES; s++)
			if (cells[p][s].retries)
				printf(
				    "note: %s %zu B: %u EAGAIN/EBUSY retries\n",
				    path_names[p], sizes[s],
				    cells[p][s].retries);
	print_targets();
	print_cpu();
	if (cfg.sweep)
		print_fit();
	if (cfg.scale)
		print_scale();
	if (cfg.passes)
		print_passes();
	cleanup();
	return 0;
}
