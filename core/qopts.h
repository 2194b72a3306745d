/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Quest options the tools share (questbinloader, quest-sim, quest-emu):
 * which kernels (--quest-profile, --profile), Quest's user window
 * (--user-base, --user-limit) and how argv is packed (--argv0,
 * --argv-format), read by one parser so that a new option or a fix lands
 * once. Each tool lists the ones it takes in its own getopt table, with
 * these codes, and hands every other option back to its own parser. */
#ifndef QUEST_QOPTS_H
#define QUEST_QOPTS_H

#include <getopt.h>
#include <stdio.h>

#include "args.h"
#include "elfcheck.h"
#include "qload.h"

/* getopt codes, above any tool's own */
enum {
	QOPT_QUEST_PROFILE = 0x1000, /* master, galileo or both */
	QOPT_PROFILE,		     /* one kernel: master or galileo */
	QOPT_USER_BASE,
	QOPT_USER_LIMIT,
	QOPT_ARGV0, /* name or none */
	QOPT_ARGV_FORMAT,
};

#define QOPTS_GO (-1) /* qopts_getopt: carry on */

struct qopts {
	unsigned mask;		       /* --quest-profile (QLOAD_MASK_*) */
	enum qload_profile_id profile; /* --profile */
	enum qargv_format fmt;	       /* --argv-format */
	int argv0;		       /* --argv0: 1 name, 0 none */
	long long base, limit;	       /* --user-base/--user-limit; -1 none */
};

/* both kernels, galileo for --profile, line, argv0 name, the profile's
 * window */
void qopts_default(struct qopts *q);

/* "master" or "galileo"; QE_USAGE otherwise, naming opt. */
enum qerr qopts_kernel(const char *opt, const char *arg,
		       enum qload_profile_id *id, struct qerror *err);

/* A tool, as qopts_getopt sees it. */
struct qopts_tool {
	const char *prog;	/* for messages: "prog: ..." */
	void (*usage)(FILE *f); /* --help */
	int ok_status;		/* after --help or --version */
	int usage_status;	/* an unknown option, a bad value */
	/* its own options: QOPTS_GO, or the status to exit with */
	int (*option)(void *ctx, int c, const char *arg);
	void *ctx;
};

/* The command line: the Quest options into q; -h, --help and -V,
 * --version (prog and QUEST_VERSION) answered here; an unknown option
 * refused with a pointer to --help; any other to tool->option. Stops at
 * the first non-option when shortopts starts with '+'. Returns QOPTS_GO
 * (optind is then the first operand) or the status to exit with. */
int qopts_getopt(int argc, char **argv, const char *shortopts,
		 const struct option *longopts, struct qopts *q,
		 const struct qopts_tool *tool);

/* The kernels and the user window the options give, into p. */
enum qerr qopts_window(const struct qopts *q, struct qelf_profile *p,
		       struct qerror *err);

#endif
