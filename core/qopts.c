/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Quest options of the tools, parsed once (qopts.h). */
#include <string.h>

#include "num.h"
#include "qopts.h"

void qopts_default(struct qopts *q)
{
	*q = (struct qopts){.mask = QLOAD_MASK_BOTH,
			    .profile = QLOAD_GALILEO,
			    .fmt = QARGV_LINE,
			    .argv0 = 1,
			    .base = -1,
			    .limit = -1};
}

enum qerr qopts_kernel(const char *opt, const char *arg,
		       enum qload_profile_id *id, struct qerror *err)
{
	if (arg && !strcmp(arg, "master"))
		*id = QLOAD_MASTER;
	else if (arg && !strcmp(arg, "galileo"))
		*id = QLOAD_GALILEO;
	else
		return qerr_set(err, QE_USAGE,
				"%s is master or galileo, not '%.40s'", opt,
				arg ? arg : "");
	return QE_OK;
}

/* One Quest option; QE_OK, or QE_USAGE with the reason. */
static enum qerr parse(struct qopts *q, int c, const char *arg,
		       struct qerror *err)
{
	unsigned long long v;

	switch (c) {
	case QOPT_QUEST_PROFILE:
		return qload_profile_parse(arg, &q->mask, err);
	case QOPT_PROFILE:
		return qopts_kernel("--profile", arg, &q->profile, err);
	case QOPT_ARGV_FORMAT:
		return qargs_format_parse(arg, &q->fmt, err);
	case QOPT_ARGV0:
		if (strcmp(arg, "name") && strcmp(arg, "none"))
			return qerr_set(err, QE_USAGE,
					"--argv0 takes 'name' or 'none', not "
					"'%.40s'",
					arg);
		q->argv0 = !strcmp(arg, "name");
		return QE_OK;
	default: /* QOPT_USER_BASE, QOPT_USER_LIMIT */
		if (qnum_parse(arg, 0xffffffffu, &v) < 0)
			return qerr_set(err, QE_USAGE,
					"bad address '%.40s' for --user-%s "
					"(0 to 0xffffffff)",
					arg,
					c == QOPT_USER_BASE ? "base" : "limit");
		*(c == QOPT_USER_BASE ? &q->base : &q->limit) = (long long)v;
		return QE_OK;
	}
}

int qopts_getopt(int argc, char **argv, const char *shortopts,
		 const struct option *longopts, struct qopts *q,
		 const struct qopts_tool *tool)
{
	struct qerror e;
	int c, rc;

	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (c == 'h') {
			tool->usage(stdout);
			return tool->ok_status;
		} else if (c == 'V') {
			printf("%s %s\n", tool->prog, QUEST_VERSION);
			return tool->ok_status;
		} else if (c == '?' || c == ':') {
			fprintf(stderr,
				"Try '%s --help' for more information.\n",
				tool->prog);
			return tool->usage_status;
		} else if (c < QOPT_QUEST_PROFILE || c > QOPT_ARGV_FORMAT) {
			rc = tool->option(tool->ctx, c, optarg);
			if (rc != QOPTS_GO)
				return rc;
		} else if (parse(q, c, optarg, &e) != QE_OK) {
			fprintf(stderr, "%s: %s\n", tool->prog, e.msg);
			return tool->usage_status;
		}
	}
	return QOPTS_GO;
}

enum qerr qopts_window(const struct qopts *q, struct qelf_profile *p,
		       struct qerror *err)
{
	return qelf_profile_window(p, q->mask, q->base, q->limit, err);
}
