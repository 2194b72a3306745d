/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The table of questfs's -o options. A new option is one row here (and a
 * field in struct qfs_opts, and a paragraph in docs/man/questfs.8, which
 * tests/options.sh checks). */
#include "options.h"

#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "elfcheck.h"
#include "packet.h"

enum kind {
	K_STR,	/* char *, strdup'd default or NULL */
	K_UL,	/* unsigned long */
	K_ADDR, /* long long (32 bits of address on any host), in hex */
	K_U,	/* unsigned */
	K_OCT,	/* unsigned, octal */
	K_INT,	/* int; NONE: not set */
	K_FLAG, /* int, 1 when given */
};

#define NONE (-1L) /* a K_INT default that means "not set" */

struct row {
	const char *tmpl; /* fuse_opt template: "name=%lu" */
	size_t off;	  /* in struct qfs_opts */
	enum kind kind;
	const char *arg;  /* what the value is, for --help */
	long long def;	  /* numbers */
	const char *sdef; /* strings */
	long long min, max;
	const char *help; /* one line; the default is appended */
};

#define F(field) offsetof(struct qfs_opts, field)
#define STR(t, fld, arg, def, help)                                            \
	{                                                                      \
		t, F(fld), K_STR, arg, 0, def, 0, 0, help                      \
	}
#define NUM(t, fld, k, arg, def, min, max, help)                               \
	{                                                                      \
		t, F(fld), k, arg, def, NULL, min, max, help                   \
	}

static const struct row rows[] = {
    STR("channel=%s", channel, "SPEC", QCHAN_SPEC_DEFAULT,
	"shm:KEY, vshm:PATH or dev:PATH"),
    NUM("vshm_offset=%lu", vshm_offset, K_UL, "N", 0, 0, 0xfffff000UL,
	"where a vshm: channel starts in its region\n"
	"                         (a multiple of 4096)"),
    NUM("slot_size=%lu", slot_size, K_UL, "N", QPKT_SLOT_DEFAULT, QPKT_SLOT_MIN,
	QPKT_SLOT_MAX, "channel slot in bytes"),
    STR("argv0=%s", argv0, "name|none", "name",
	"argv[0] is the file's name, or left out"),
    STR("quest_profile=%s", quest_profile, "P", "both",
	"Quest kernel(s) to load right on: master,\n"
	"                         galileo or both"),
    STR("argv_format=%s", argv_format, "F", "line",
	"line (Quest's command line) or strings\n"
	"                         (NUL-separated words)"),
    NUM("user_base=%lli", user_base, K_ADDR, "ADDR", NONE, 0, 0xffffffffLL,
	"Quest's user window start, else the profile's"),
    NUM("user_limit=%lli", user_limit, K_ADDR, "ADDR", NONE, 1, 0xffffffffLL,
	"Quest's user window end, else the profile's"),
    STR("kick=%s", kick, "PATH", NULL,
	"write kick_cmd to PATH before each program"),
    STR("kick_cmd=%s", kick_cmd, "CMD", QCHAN_KICK_CMD_DEFAULT,
	"the line written to kick"),
    NUM("max_queue=%u", max_queue, K_U, "N", QJOBS_MAX_QUEUE_DEFAULT, 1,
	UINT_MAX, "programs waiting for the Quest side"),
    NUM("max_bytes=%lu", max_bytes, K_UL, "N", QJOBS_MAX_BYTES_DEFAULT, 1,
	LONG_MAX, "program bytes held in memory"),
    NUM("history=%u", history, K_U, "N", QJOBS_HISTORY_DEFAULT, 0, UINT_MAX,
	"finished jobs listed in status"),
    NUM("linger=%u", linger, K_U, "SEC", 30, 0, UINT_MAX,
	"a launched file stays listed this long"),
    NUM("send_timeout=%u", send_timeout, K_U, "MS",
	QJOBS_SEND_TIMEOUT_MS_DEFAULT, 1, INT_MAX,
	"one send to the Quest side"),
    NUM("log_max=%lu", log_max, K_UL, "N", QJOBS_LOG_MAX_DEFAULT, 1, LONG_MAX,
	"bytes of /log kept"),
    NUM("run_mode=%o", run_mode, K_OCT, "OCTAL", 0755, 0, 07777,
	"mode of run/"),
    NUM("run_uid=%d", run_uid, K_INT, "N", NONE, NONE, INT_MAX,
	"owner of run/, else who mounted"),
    NUM("run_gid=%d", run_gid, K_INT, "N", NONE, NONE, INT_MAX,
	"group of run/, else who mounted"),
    NUM("run_sticky=%u", run_sticky, K_U, "0|1", 1, 0, 1,
	"the sticky bit on run/"),
    NUM("user_max_queue=%u", user_max_queue, K_U, "N",
	QJOBS_USER_MAX_QUEUE_DEFAULT, 1, UINT_MAX,
	"max_queue for each user but root"),
    NUM("user_max_bytes=%lu", user_max_bytes, K_UL, "N",
	QJOBS_USER_MAX_BYTES_DEFAULT, 1, LONG_MAX, "max_bytes for each user"),
    NUM("user_max_files=%u", user_max_files, K_U, "N",
	QJOBS_USER_MAX_FILES_DEFAULT, 1, UINT_MAX,
	"files one user may have in run/"),
    STR("spool=%s", spool, "DIR|none", NULL,
	"queued programs kept on disk across a crash\n"
	"                         (/var/lib/questfs/MOUNT as root, else\n"
	"                         $XDG_STATE_HOME/questfs/MOUNT)"),
    NUM("spool_sync", spool_sync, K_FLAG, NULL, 0, 0, 1,
	"fsync the spool: survive machine crashes too"),
};

#define NROWS (sizeof rows / sizeof *rows)

static const struct fuse_opt tail[] = {
    {"-h", offsetof(struct qfs_opts, show_help), 1},
    {"--help", offsetof(struct qfs_opts, show_help), 1},
    {"-V", offsetof(struct qfs_opts, show_version), 1},
    {"--version", offsetof(struct qfs_opts, show_version), 1},
    /* mount(8) and fstab noise */
    FUSE_OPT_KEY("_netdev", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("auto", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("noauto", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("user", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("users", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("nouser", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("nofail", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("defaults", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_KEY("x-systemd.", FUSE_OPT_KEY_DISCARD),
    FUSE_OPT_END,
};

static struct fuse_opt spec[NROWS + sizeof tail / sizeof *tail];

const struct fuse_opt *qfs_opts_spec(void)
{
	for (size_t i = 0; i < NROWS; i++)
		spec[i] = (struct fuse_opt){rows[i].tmpl, rows[i].off, 1};
	memcpy(spec + NROWS, tail, sizeof tail);
	return spec;
}

static void *at(const struct qfs_opts *o, const struct row *r)
{
	return (char *)o + r->off;
}

static long long get(const struct qfs_opts *o, const struct row *r)
{
	switch (r->kind) {
	case K_UL:
		return (long long)*(unsigned long *)at(o, r);
	case K_ADDR:
		return *(long long *)at(o, r);
	case K_U:
	case K_OCT:
		return *(unsigned *)at(o, r);
	default:
		return *(int *)at(o, r);
	}
}

int qfs_opts_init(struct qfs_opts *o)
{
	memset(o, 0, sizeof *o);
	for (const struct row *r = rows; r < rows + NROWS; r++) {
		switch (r->kind) {
		case K_STR:
			if (r->sdef && !(*(char **)at(o, r) = strdup(r->sdef)))
				return -1;
			break;
		case K_UL:
			*(unsigned long *)at(o, r) = (unsigned long)r->def;
			break;
		case K_ADDR:
			*(long long *)at(o, r) = r->def;
			break;
		case K_U:
		case K_OCT:
			*(unsigned *)at(o, r) = (unsigned)r->def;
			break;
		case K_INT:
		case K_FLAG:
			*(int *)at(o, r) = (int)r->def;
			break;
		}
	}
	return 0;
}

/* The option's name: its template up to '='. */
static int name_len(const struct row *r)
{
	return (int)strcspn(r->tmpl, "=");
}

/* A value as --help and messages show it: hex addresses, octal modes. */
static void show(const struct row *r, long long v, char *dst, size_t n)
{
	if (r->kind == K_ADDR)
		snprintf(dst, n, "0x%llx", v);
	else if (r->kind == K_OCT)
		snprintf(dst, n, "%04llo", v);
	else
		snprintf(dst, n, "%lld", v);
}

int qfs_opts_check(const struct qfs_opts *o)
{
	char lo[32], hi[32];

	for (const struct row *r = rows; r < rows + NROWS; r++) {
		long long v = get(o, r);
		if (r->kind == K_STR || r->kind == K_FLAG ||
		    (v >= r->min && v <= r->max) ||
		    (r->def == NONE && v == NONE))
			continue;
		show(r, r->min, lo, sizeof lo);
		show(r, r->max, hi, sizeof hi);
		fprintf(stderr, "questfs: %.*s must be between %s and %s\n",
			name_len(r), r->tmpl, lo, hi);
		return -1;
	}
	return 0;
}

/* " (default)" for --help, or "" when there is none to show. */
static void show_default(const struct row *r, char *dst, size_t n)
{
	char v[32];

	*dst = '\0';
	if (r->kind == K_STR && r->sdef)
		snprintf(dst, n, " (%s)", r->sdef);
	else if (r->kind != K_STR && r->kind != K_FLAG && r->def != NONE) {
		show(r, r->def, v, sizeof v);
		snprintf(dst, n, " (%s)", v);
	}
}

void qfs_opts_usage(FILE *out)
{
	char opt[64], def[64];

	fprintf(out, "questfs options (-o name=value,...):\n");
	for (const struct row *r = rows; r < rows + NROWS; r++) {
		snprintf(opt, sizeof opt, "%.*s%s%s", name_len(r), r->tmpl,
			 r->arg ? "=" : "", r->arg ? r->arg : "");
		show_default(r, def, sizeof def);
		fprintf(out, "    %-20s %s%s\n", opt, r->help, def);
	}
	fprintf(out, "\n");
}

void qfs_opts_free(struct qfs_opts *o)
{
	for (const struct row *r = rows; r < rows + NROWS; r++)
		if (r->kind == K_STR) {
			free(*(char **)at(o, r));
			*(char **)at(o, r) = NULL;
		}
}
