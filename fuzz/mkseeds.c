/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Writes the seed corpora of the fuzz targets at build time, so that no
 * binary file lives in git: DIR/elfcheck (every mkelf fixture, valid and
 * broken), DIR/packet (the valid fixtures packed with a few argv lists),
 * DIR/args (argument strings using every quoting rule) and DIR/logline
 * (log lines of every kind questfs writes). */
#define MKELF_NO_MAIN
#include "../tests/fixtures/mkelf.c"

#include "args.h"
#include "packet.h"
#include "spool.h"

static int put_file(const char *dir, const char *name, const void *b,
		    size_t len)
{
	char path[4096];
	FILE *f;
	int ok;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	ok = f && (len == 0 || fwrite(b, 1, len, f) == len);
	if (f && fclose(f) != 0)
		ok = 0;
	if (!ok)
		fprintf(stderr, "mkseeds: %s: %s\n", path, strerror(errno));
	return ok;
}

static int make_dir(const char *top, const char *sub, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", top, sub);
	if (mkdir(out, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "mkseeds: %s: %s\n", out, strerror(errno));
		return 0;
	}
	return 1;
}

static const char *const arg_seeds[] = {
    "",
    "one",
    "one two  three",
    "'single quoted' \"double quoted\"",
    "back\\ slash \\\"q\\\" line\\\ncontinued",
    "\"\\$HOME \\` \\\\ \\\" \\x\" '' \"\"",
    "it'\\''s \t tab\nnewline",
    "0123456789012345678901234567890123456789012345678901234567890123456789"
    "012345678",
    "0123456789012345678901234567890123456789012345678901234567890123456789"
    "0123456789",
    "unterminated 'quote",
    "trailing \\",
};

static const char *const logline_seeds[] = {
    "2026-12-01T19:17:31.123Z job 12 uid=1000 x86 prog refused: ELF machine "
    "is x86-64 (62); Quest runs i386 (3) programs\n",
    "2026-12-01T19:17:31.123Z job 4 uid=7 hello world delivered",
    "2026-12-01T19:17:31.123Z job 3 uid=0 hello failed: no Quest side",
    "2026-12-01T19:17:31.123Z job 4 uid=7 a\\\\b queued: 232 bytes, args: "
    "x\\x1b",
    "2026-12-01T19:17:31.123Z file uid=1000 run/s1.args removed: ********",
    "2026-12-01T19:17:31.123Z questfs 0.1.0 mounted at /quest, channel "
    "shm:1, spool none",
};

static const char *const packet_args[] = {"", "a", "hello 'two words' \"\"",
					  "x y z w v u t s r q p o n m l k"};

/* A journal as questfs writes it, through the spool itself, into a
 * scratch directory, copied to DIR/journal-N: jobs put, marked (the
 * channel's place known or not), unmarked and done; N = 1 with
 * spool_sync (image checksums). */
static int spool_seed(const char *dir, int n)
{
	char tmp[] = "/tmp/mkseeds.XXXXXX", path[4200], name[64];
	struct mkelf_img im = mkelf_sized(300, 1, (uint32_t)n);
	struct qspool_entry e = {.t_launch_ms = 1700000000000};
	struct qchan_mark m = {.epoch = 3, .seq = 9};
	struct qspool *sp = NULL;
	uint8_t *b = NULL;
	size_t len = 0;
	int ok;

	ok = mkdtemp(tmp) && im.b &&
	     qspool_open(tmp, n == 1, &sp, NULL) == QE_OK;
	e.image = im.b;
	e.len = im.len;
	memcpy(e.hdr, "\x10\0\0\0prog", 8);
	snprintf(e.args, sizeof e.args, "a 'b c'");
	for (uint64_t id = 1; ok && id <= 6; id++) {
		e.id = id;
		snprintf(e.name, sizeof e.name, "prog%llu",
			 (unsigned long long)id);
		ok = qspool_put(sp, &e, NULL) == QE_OK &&
		     qspool_mark(sp, id, id % 2 ? &m : NULL, NULL) == QE_OK;
		if (id % 3 == 0)
			qspool_unmark(sp, id);
		if (id % 4 == 1)
			qspool_done(sp, id);
	}
	qspool_close(sp);
	snprintf(path, sizeof path, "%s/00000001.journal", tmp);
	FILE *f = fopen(path, "rb");
	if (f) {
		b = malloc(1 << 16);
		len = b ? fread(b, 1, 1 << 16, f) : 0;
		fclose(f);
	}
	snprintf(name, sizeof name, "journal-%d", n);
	ok = ok && b && len && put_file(dir, name, b, len);
	free(b);
	free(im.b);
	snprintf(path, sizeof path, "rm -rf %s", tmp);
	if (system(path) != 0)
		ok = 0;
	return ok;
}

int main(int argc, char **argv)
{
	char dir[4096], name[256];
	int ok = 1;

	if (argc != 2 || (mkdir(argv[1], 0777) != 0 && errno != EEXIST)) {
		fprintf(stderr, "usage: mkseeds DIR\n");
		return 2;
	}
	ok = make_dir(argv[1], "elfcheck", dir, sizeof dir);
	for (size_t i = 0; ok && i < MKELF_NFIXTURES; i++) {
		struct mkelf_img im = mkelf_fixtures[i].build();
		ok =
		    im.b && put_file(dir, mkelf_fixtures[i].name, im.b, im.len);
		free(im.b);
	}

	/* the model of Quest's loader walks the same images */
	ok = ok && make_dir(argv[1], "qload", dir, sizeof dir);
	for (size_t i = 0; ok && i < MKELF_NFIXTURES; i++) {
		struct mkelf_img im = mkelf_fixtures[i].build();
		ok =
		    im.b && put_file(dir, mkelf_fixtures[i].name, im.b, im.len);
		free(im.b);
	}

	ok = ok && make_dir(argv[1], "packet", dir, sizeof dir);
	for (size_t i = 0; ok && i < MKELF_NFIXTURES; i++) {
		if (strcmp(mkelf_fixtures[i].expect, "ok") != 0)
			continue;
		struct mkelf_img im = mkelf_fixtures[i].build();
		uint8_t *pkt = malloc(QPKT_SLOT_DEFAULT);
		for (size_t j = 0; ok && im.b && pkt &&
				   j < sizeof packet_args / sizeof *packet_args;
		     j++) {
			struct qargv a;
			size_t len;
			ok = qargs_init(&a, j ? mkelf_fixtures[i].name : NULL,
					NULL) == QE_OK &&
			     qargs_split(packet_args[j], strlen(packet_args[j]),
					 &a, NULL, NULL) == QE_OK;
			/* both argv forms: the command line where it can
			 * carry the words, NUL-separated strings otherwise */
			if (qargs_check_words(&a, NULL) != QE_OK)
				a.format = QARGV_STRINGS;
			ok = ok && qpkt_build(pkt, QPKT_SLOT_DEFAULT, &a, im.b,
					      im.len, &len, NULL) == QE_OK;
			snprintf(name, sizeof name, "%s-%zu",
				 mkelf_fixtures[i].name, j);
			ok = ok && put_file(dir, name, pkt, len);
		}
		ok = ok && im.b && pkt;
		free(pkt);
		free(im.b);
	}

	ok = ok && make_dir(argv[1], "args", dir, sizeof dir);
	for (size_t i = 0; ok && i < sizeof arg_seeds / sizeof *arg_seeds;
	     i++) {
		snprintf(name, sizeof name, "seed-%zu", i);
		ok = put_file(dir, name, arg_seeds[i], strlen(arg_seeds[i]));
	}
	ok = ok && make_dir(argv[1], "logline", dir, sizeof dir);
	for (size_t i = 0;
	     ok && i < sizeof logline_seeds / sizeof *logline_seeds; i++) {
		snprintf(name, sizeof name, "seed-%zu", i);
		ok = put_file(dir, name, logline_seeds[i],
			      strlen(logline_seeds[i]));
	}
	ok = ok && make_dir(argv[1], "spool", dir, sizeof dir);
	for (int i = 0; ok && i < 2; i++)
		ok = spool_seed(dir, i);
	/* vshm: a mode byte, then region images (PROTOCOL.md §3b): zero, a
	 * valid empty header with a receiver attached, a FULL and an
	 * ANSWERED slot */
	ok = ok && make_dir(argv[1], "vshm", dir, sizeof dir);
	for (int i = 0; ok && i < 8; i++) {
		static uint8_t img[1 + 4096 + 64];
		uint32_t w[][2] = {{64, (uint32_t)(i >> 1) & 3},
				   {68, 1},
				   {72, 40},
				   {128, 1},
				   {132, 1},
				   {140, 100},
				   {152, 1},
				   {156, 1 + (uint32_t)(i & 1)}};
		memset(img, 0, sizeof img);
		img[0] = (uint8_t)(2 | (i & 1));
		for (size_t k = 0; i && k < sizeof w / sizeof *w; k++)
			memcpy(img + 1 + w[k][0], &w[k][1], 4);
		snprintf(name, sizeof name, "region-%d", i);
		ok = put_file(dir, name, img, sizeof img);
	}
	/* quest-emu: a profile byte, then records of vector, flags and four
	 * registers (fuzz_emu.c); the seeds call each vector once */
	ok = ok && make_dir(argv[1], "emu", dir, sizeof dir);
	for (int p = 0; ok && p < 2; p++) {
		uint8_t s[1 + 15 * 18] = {(uint8_t)p};
		for (int v = 0; v < 15; v++) {
			s[1 + v * 18] = (uint8_t)v;
			s[2 + v * 18] =
			    0x22; /* EBX into the image, ECX a name */
			s[3 + v * 18] = (uint8_t)(v % 5);
			s[7 + v * 18] = 0x40;
			s[11 + v * 18] = 8;
		}
		snprintf(name, sizeof name, "calls-%d", p);
		ok = put_file(dir, name, s, sizeof s);
	}
	if (!ok)
		fprintf(stderr, "mkseeds: could not write the seeds\n");
	return ok ? 0 : 1;
}
