/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for the wire format (DESIGN.md §3): qpkt_parse on arbitrary
 * bytes (what quest-sim receives); whatever it accepts, qpkt_build must rebuild
 * byte for byte, so the format has exactly one encoding per packet. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfcheck.h"
#include "packet.h"
#include "program.h"
#include "qerr.h"

static void violation(const char *what, size_t len, const struct qerror *e)
{
	fprintf(stderr, "fuzz_packet: %s (len %zu; %s: %s)\n", what, len,
		e ? qerr_name(e->code) : "-", e ? e->msg : "");
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qpkt_view v;
	struct qerror e;
	enum qerr rc;
	uint8_t *out;
	size_t len = 0;
	int nuls = 0;

	memset(&e, 0, sizeof e);
	rc = qpkt_parse(data, size, &v, &e);
	if (rc != QE_OK) {
		if (rc != QE_PKT_MALFORMED || e.code != rc || !e.msg[0])
			violation("refusal without its code or message", size,
				  &e);
		return 0;
	}
	if (v.argv.size > QARGV_MAX || v.binary_size != size - QPKT_HDR_SIZE ||
	    v.binary != data + QPKT_HDR_SIZE)
		violation("parsed view out of bounds", size, &e);
	for (size_t i = 0; i < v.argv.size; i++)
		nuls += v.argv.buf[i] == '\0';
	if (nuls != v.argv.argc)
		violation("argc differs from the number of strings", size, &e);

	out = malloc(size);
	if (!out)
		return 0;
	rc = qpkt_build(out, size, &v.argv, v.binary, v.binary_size, &len, &e);
	if (rc != QE_OK)
		violation("qpkt_build refuses what qpkt_parse accepted", size,
			  &e);
	if (len != size || memcmp(out, data, size) != 0)
		violation("rebuilt packet differs from the input", size, &e);

	/* What quest-sim does next: judge the image, render the argv. A
	 * header made by qprog_prepare for an accepted image is the input's. */
	struct qelf_profile p;
	uint8_t hdr[QPKT_HDR_SIZE];
	char args[4 * QARGV_MAX];
	qelf_profile_default(&p);
	if (qprog_prepare(v.binary, v.binary_size, &v.argv, &p, hdr, NULL,
			  &e) == QE_OK &&
	    memcmp(hdr, data, QPKT_HDR_SIZE) != 0)
		violation("qprog_prepare header differs from the input", size,
			  &e);
	qargs_format(&v.argv, 0, args, sizeof args);
	free(out);
	return 0;
}
