/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for the ELF checks (DESIGN.md §4): every input is judged in
 * whole-file mode and in prefix mode, and the two must agree. Prefix mode is
 * what questfs uses at FLUSH to refuse a copy early; it may only refuse bytes
 * that no appended bytes can ever make valid, so it may never refuse a buffer
 * (or a prefix of a buffer) that whole mode accepts. Any disagreement aborts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfcheck.h"
#include "qerr.h"

static void violation(const char *what, size_t len, const struct qerror *e)
{
	fprintf(stderr, "fuzz_elfcheck: %s (len %zu; %s: %s)\n", what, len,
		qerr_name(e->code), e->msg);
	abort();
}

/* A refusal carries its code and a one-line message; an ELF verdict is one of
 * the ELF codes (QE_NOMEM aside, which a fuzzer does not provoke). */
static void check_refusal(enum qerr rc, const struct qerror *e, size_t len)
{
	if (rc == QE_OK)
		return;
	if (e->code != rc)
		violation("returned code differs from err->code", len, e);
	if (!qerr_is_elf(rc))
		violation("refusal is not an ELF code", len, e);
	if (!memchr(e->msg, '\0', sizeof e->msg) || !e->msg[0] ||
	    strchr(e->msg, '\n'))
		violation("refusal message is not one non-empty line", len, e);
}

static enum qerr judge(const uint8_t *b, size_t len,
		       const struct qelf_profile *p, enum qelf_mode mode,
		       struct qelf_info *info, struct qerror *e)
{
	enum qerr rc;

	memset(e, 0, sizeof *e);
	rc = qelf_check(b, len, p, mode, info, e);
	check_refusal(rc, e, len);
	return rc;
}

static void run(const uint8_t *data, size_t size, const struct qelf_profile *p)
{
	struct qelf_info wi, pi;
	struct qerror we, pe;
	enum qerr w = judge(data, size, p, QELF_WHOLE, &wi, &we);
	enum qerr pr = judge(data, size, p, QELF_PREFIX, &pi, &pe);

	if (pr != QE_OK && w == QE_OK)
		violation("prefix mode refuses what whole mode accepts", size,
			  &pe);
	/* With every byte the headers refer to present, nothing is missing:
	 * prefix mode then judges exactly what whole mode does. */
	if (pr == QE_OK && w != QE_OK && size >= 52 && pi.need <= size)
		violation(
		    "prefix mode accepts a complete image that whole mode "
		    "refuses",
		    size, &we);
	if (w != QE_OK)
		return;

	/* What Quest may run lies in the window, with its entry point. */
	if (wi.nloads == 0 || wi.lo < p->user_base || wi.hi > p->user_limit ||
	    wi.lo >= wi.hi || wi.need > size ||
	    (p->max_size && size > p->max_size))
		violation("accepted program with inconsistent info", size, &we);
	if (pi.entry != wi.entry || pi.nloads != wi.nloads || pi.lo != wi.lo ||
	    pi.hi != wi.hi)
		violation("prefix and whole mode report different info", size,
			  &pe);

	/* A copy in progress is never refused at FLUSH: every prefix of a
	 * valid program must pass prefix mode. Try the cut points that matter
	 * (inside the ELF header, around the program header table and the
	 * segment ends) and a spread of others. */
	size_t cuts[48], n = 0;
	static const size_t fixed[] = {0,  1,  3,  4,  5,  6,  7,  16,
				       17, 18, 19, 20, 24, 28, 32, 42,
				       44, 45, 46, 51, 52, 53, 84};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		cuts[n++] = fixed[i];
	if (wi.need)
		cuts[n++] = wi.need - 1;
	for (size_t i = 1; i <= 16; i++)
		cuts[n++] = size * i / 17;
	for (size_t i = 0; i < n; i++) {
		if (cuts[i] >= size)
			continue;
		struct qelf_info ci;
		struct qerror ce;
		if (judge(data, cuts[i], p, QELF_PREFIX, &ci, &ce) != QE_OK) {
			fprintf(stderr, "fuzz_elfcheck: cut at %zu of %zu\n",
				cuts[i], size);
			violation("prefix mode refuses a prefix of a valid "
				  "program",
				  size, &ce);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qelf_profile p;

	qelf_profile_default(&p);
	run(data, size, &p);

	/* No size limit, and a window of a different shape: the checks must
	 * hold for the options questfs accepts, not just the defaults. */
	p.max_size = 0;
	p.user_base = 0x400000;
	p.user_limit = 0x800000;
	run(data, size, &p);
	return 0;
}
