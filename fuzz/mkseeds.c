/* Writes the seed corpora of the fuzz targets at build time, so that no
 * binary file lives in git: DIR/elfcheck (every mkelf fixture, valid and
 * broken), DIR/packet (the valid fixtures packed with a few argv lists) and
 * DIR/args (argument strings using every quoting rule). */
#define MKELF_NO_MAIN
#include "../tests/fixtures/mkelf.c"

#include "args.h"
#include "packet.h"

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

static const char *const packet_args[] = {"", "a", "hello 'two words' \"\"",
					  "x y z w v u t s r q p o n m l k"};

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
					 &a, NULL, NULL) == QE_OK &&
			     qpkt_build(pkt, QPKT_SLOT_DEFAULT, &a, im.b,
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
	if (!ok)
		fprintf(stderr, "mkseeds: could not write the seeds\n");
	return ok ? 0 : 1;
}
