/* SPDX-License-Identifier: GPL-2.0-or-later */
/* questfs main: options, then the libfuse ladder (session, signals, mount,
 * daemonize, loop) and its unwinding in reverse. The -o options, their
 * defaults and --help are one table in fs/options.c: a new option is a
 * row there; configure() below turns them into the core's settings. */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "escape.h"
#include "options.h"
#include "packet.h"
#include "qload.h"
#include "questfs.h"
#include "spool.h"

static struct qfs the_fs;

/* Names in a message are the users': escaped, like the log's lines. */
void qfs_log(struct qfs *fs, int prio, const char *fmt, ...)
{
	char raw[1024], msg[QESC_SIZE(sizeof raw)];
	va_list ap;

	va_start(ap, fmt);
	int k = vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	size_t n = k < 0 ? 0 : (size_t)k;
	qesc(raw, n < sizeof raw ? n : sizeof raw - 1, msg, sizeof msg);
	if (fs->foreground)
		fprintf(stderr, "questfs: %s\n", msg);
	else
		syslog(prio, "%s", msg);
}

/* Keeps the positional arguments back: mount.fuse3 runs
 * `questfs SOURCE MOUNTPOINT -o ...`, and the SOURCE means nothing to us. */
static int opt_proc(void *data, const char *arg, int key,
		    struct fuse_args *outargs)
{
	struct qfs_opts *o = data;

	(void)outargs;
	if (key != FUSE_OPT_KEY_NONOPT)
		return 1;
	if (o->nonopts == 2) {
		fprintf(stderr, "questfs: unexpected argument '%s'\n", arg);
		return -1;
	}
	o->nonopt[o->nonopts++] = arg;
	return 0;
}

static void usage(const char *prog)
{
	printf("Usage: %s [options] MOUNTPOINT\n"
	       "Launch i386 programs on Quest by copying them into "
	       "MOUNTPOINT/run/.\n\n",
	       prog);
	qfs_opts_usage(stdout);
	printf("FUSE options:\n");
	fuse_cmdline_help();
	fuse_lowlevel_help();
}

/* Turns the parsed options into the core's configuration. */
static int configure(struct qfs *fs)
{
	struct qfs_opts *o = &fs->o;
	struct qjobs_cfg *c = &fs->jcfg;

	qjobs_cfg_default(c);
	c->spec = o->channel;
	c->chan.slot_size = o->slot_size;
	c->chan.kick = o->kick;
	c->chan.vshm_offset = o->vshm_offset;
	if (o->kick_cmd)
		c->chan.kick_cmd = o->kick_cmd;
	if (strcmp(o->argv0, "name") && strcmp(o->argv0, "none")) {
		fprintf(stderr,
			"questfs: argv0 takes 'name' or 'none', not '%s'\n",
			o->argv0);
		return -1;
	}
	c->argv0 = !strcmp(o->argv0, "name");
	if (qfs_opts_check(o) < 0)
		return -1;
	unsigned mask;
	enum qargv_format fmt;
	struct qerror e;
	if (qload_profile_parse(o->quest_profile, &mask, &e) != QE_OK ||
	    qargs_format_parse(o->argv_format, &fmt, &e) != QE_OK) {
		fprintf(stderr, "questfs: %s\n", e.msg);
		return -1;
	}
	c->argv_format = fmt;
	/* the window is the profile's unless given (-1: not given); an
	 * address is a long long so that all of 0..0xffffffff reads the
	 * same on a 32-bit host */
	if (qelf_profile_window(&c->prof, mask, o->user_base, o->user_limit,
				&e) != QE_OK) {
		fprintf(stderr, "questfs: %s\n", e.msg);
		return -1;
	}
	c->prof.max_size = qpkt_max_binary(o->slot_size);
	fs->lcfg.prof = &c->prof;
	fs->lcfg.argv0 = c->argv0;
	fs->lcfg.argv_format = c->argv_format;
	if (o->max_bytes < c->prof.max_size) {
		fprintf(stderr,
			"questfs: max_bytes must be at least %zu (one "
			"program)\n",
			c->prof.max_size);
		return -1;
	}
	c->max_queue = o->max_queue;
	c->max_bytes = o->max_bytes;
	c->user_max_queue = o->user_max_queue;
	c->user_max_bytes = o->user_max_bytes;
	c->user_max_files = o->user_max_files;
	c->admin = geteuid();
	c->history = o->history;
	c->send_timeout_ms = (int)o->send_timeout;
	c->log_max = o->log_max;
	o->run_mode &= 07777;
	/* sticky unless asked not to: in a run/ shared by a group, only a
	 * file's owner (or run/'s, or root) may remove or rename it */
	if (o->run_sticky)
		o->run_mode |= S_ISVTX;
	c->spool = strcmp(o->spool, "none") ? o->spool : NULL;
	c->spool_sync = o->spool_sync;
	return 0;
}

/* The default spool: one per mount point, named after it like a systemd
 * unit ("/quest" -> "quest"), under /var/lib when root, else under
 * $XDG_STATE_HOME (~/.local/state). */
static char *default_spool(const char *mountpoint)
{
	char *abs = realpath(mountpoint, NULL), *name, *p, *dir = NULL;
	const char *base = getenv("XDG_STATE_HOME"), *home = getenv("HOME");

	if (!abs)
		return NULL;
	name = abs[1] ? abs + 1 : "root";
	for (p = name; *p; p++)
		if (*p == '/')
			*p = '-';
	if (geteuid() == 0)
		p = (asprintf(&dir, "/var/lib/questfs/%s", name) < 0) ? NULL
								      : dir;
	else if (base && *base)
		p = (asprintf(&dir, "%s/questfs/%s", base, name) < 0) ? NULL
								      : dir;
	else
		p = (asprintf(&dir, "%s/.local/state/questfs/%s",
			      home ? home : "/tmp", name) < 0)
			? NULL
			: dir;
	free(abs);
	return p;
}

static void report_undelivered(void *ctx, const struct qjob_info *j)
{
	struct qfs *fs = ctx;
	if (j->state == QJ_FAILED && j->code == QE_STOPPED)
		qfs_log(fs, LOG_WARNING, "job %llu %s was not delivered: %s",
			(unsigned long long)j->id, j->name, j->detail);
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts = {0};
	struct fuse_loop_config *loop = NULL;
	struct qfs *fs = &the_fs;
	struct qerror e;
	int ret = 1;

	if (qfs_opts_init(&fs->o) < 0)
		goto err_args;
	if (fuse_opt_parse(&args, &fs->o, qfs_opts_spec(), opt_proc) == -1)
		goto err_args;
	if (fs->o.nonopts &&
	    fuse_opt_add_arg(&args, fs->o.nonopt[fs->o.nonopts - 1]) == -1)
		goto err_args;
	if (fs->o.show_help) {
		usage(argv[0]);
		ret = 0;
		goto err_args;
	}
	if (fs->o.show_version) {
		printf("questfs %s\nlibfuse %s\n", QUEST_VERSION,
		       fuse_pkgversion());
		ret = 0;
		goto err_args;
	}
	/* Memory: every libfuse worker keeps a receive buffer the size of the
	 * largest write it saw, and glibc gives each thread its own arena.
	 * Four workers are plenty for one drop zone on a small machine, and
	 * two arenas keep freed programs from lingering per thread. A user's
	 * -o max_threads comes later and wins. */
	fuse_opt_insert_arg(&args, 1, "-omax_threads=4");
	mallopt(M_ARENA_MAX, 2);
	/* and glibc's thresholds fixed at their defaults: freeing a mapped
	 * block (the log's as it doubles up to log_max) otherwise raises the
	 * mmap threshold to its size and the trim threshold to twice that,
	 * and an arena's free top of up to 1 MiB then stays, touched, which
	 * malloc_trim does not give back (it trims only the main arena's) */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
	if (fuse_parse_cmdline(&args, &opts) != 0)
		goto err_args;
	if (!opts.mountpoint) {
		fprintf(stderr,
			"usage: %s [options] MOUNTPOINT\n"
			"Try '%s --help' for more information.\n",
			argv[0], argv[0]);
		goto err_args;
	}
	if (!fs->o.spool && !(fs->o.spool = default_spool(opts.mountpoint))) {
		fprintf(stderr, "questfs: %s: %s\n", opts.mountpoint,
			strerror(errno));
		goto err_args;
	}
	if (configure(fs) < 0)
		goto err_args;
	fs->foreground = opts.foreground;
	fs->uid = getuid();
	fs->gid = getgid();
	fs->next_ino = INO_FIRST_FILE;
	clock_gettime(CLOCK_REALTIME, &fs->mount_time);
	fs->run_mtime = fs->mount_time;
	pthread_mutex_init(&fs->lock, NULL);
	pthread_mutex_init(&fs->hlock, NULL);
	fuse_opt_add_arg(&args, "-osubtype=questfs");
	fuse_opt_add_arg(&args, "-ofsname=questfs");

	/* A worker may send the program it committed, once it has answered
	 * its request, when the others can serve the file system meanwhile */
	fs->jcfg.commit_sends = !opts.singlethread && opts.max_threads >= 2;

	/* A bad channel spec is reported here, before the daemon detaches. */
	struct qchan *probe;
	if (qchan_open(fs->jcfg.spec, &fs->jcfg.chan, &probe, &e) != QE_OK) {
		fprintf(stderr, "questfs: %s\n", e.msg);
		goto err_args;
	}
	qchan_close(probe);
	/* and a spool others could write, before anything is mounted */
	if (fs->jcfg.spool && qspool_check(fs->jcfg.spool, &e) != QE_OK) {
		fprintf(stderr, "questfs: %s\n", e.msg);
		goto err_args;
	}

	fs->se = fuse_session_new(&args, &qfs_ops, sizeof qfs_ops, fs);
	if (!fs->se)
		goto err_args;
	if (fuse_set_signal_handlers(fs->se) != 0)
		goto err_session;
	if (fuse_session_mount(fs->se, opts.mountpoint) != 0)
		goto err_signals;
	if (!opts.foreground)
		openlog("questfs", LOG_PID, LOG_DAEMON);
	fuse_daemonize(opts.foreground);

	/* after daemonizing: the sender thread would not survive the fork */
	if (qjobs_new(&fs->jcfg, &fs->jobs, &e) != QE_OK) {
		qfs_log(fs, LOG_ERR, "%s", e.msg);
		goto err_unmount;
	}
	qjobs_log(fs->jobs, "questfs %s mounted at %s, channel %s, spool %s",
		  QUEST_VERSION, opts.mountpoint, fs->jcfg.spec,
		  fs->jcfg.spool ? fs->jcfg.spool : "none");
	qfs_log(fs, LOG_INFO, "mounted at %s, channel %s", opts.mountpoint,
		fs->jcfg.spec);
	if (qfs_notify_start(fs, opts.mountpoint) < 0)
		qfs_log(fs, LOG_WARNING,
			"cannot start the notification thread: names of "
			"expired files stay with the kernel until it prunes "
			"them");

	if (opts.singlethread) {
		ret = fuse_session_loop(fs->se);
	} else if (!opts.clone_fd) {
		ret = qfs_loop(fs->se, opts.mountpoint, opts.max_threads);
	} else {
		loop = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(loop, opts.clone_fd);
		fuse_loop_cfg_set_max_threads(loop, opts.max_threads);
		ret = fuse_session_loop_mt(fs->se, loop);
		fuse_loop_cfg_destroy(loop);
	}
	/* stopped by SIGTERM, SIGINT or SIGHUP (the loop returns the signal):
	 * a stop a service manager asked for, and /quest is unmounted below,
	 * as cleanly as by fusermount3 -u */
	if (ret == SIGTERM || ret == SIGINT || ret == SIGHUP)
		ret = 0;
	ret = ret ? 1 : 0;
	qfs_notify_stop(fs);

err_unmount:
	fuse_session_unmount(fs->se);
	if (fs->jobs) {
		struct qjobs *jobs = fs->jobs;
		qjobs_stop(jobs);
		qjobs_foreach(jobs, report_undelivered, fs);
		qfs_log(fs, LOG_INFO, "unmounted %s", opts.mountpoint);
		qjobs_free(jobs);
	}
err_signals:
	fuse_remove_signal_handlers(fs->se);
err_session:
	fuse_session_destroy(fs->se);
err_args:
	qfs_free_handles(fs);
	qfs_free_all(fs);
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	qfs_opts_free(&fs->o);
	return ret;
}
