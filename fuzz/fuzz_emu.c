/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for quest-emu's system calls (emu/): the input is a
 * program of system calls with random vectors and registers, built into
 * an i386 image and run by emu_run under both profiles. Pointers are often
 * aimed inside the image or at the names of the two files under the root,
 * so that calls get past their first check. The run must end (a limit is
 * set), never trap the host (SIGFPE, ASan, UBSan) and report an end the
 * enum knows, with the instructions under the limit and the exit
 * status of that end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu.h"

#define BASE	  0x1000u /* the image's one PT_LOAD */
#define IMG	  0x2000u
#define CODE	  0x100u /* offset of the calls */
#define STRS	  0x80u	 /* offset of "/a" and "/d" */
#define REC	  18u	 /* vector, flags, EAX, EBX, ECX, EDX */
#define MAX_INSNS 200000u

static char root[64];

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* a file under the root: "/a" a program that exits, "/d" data */
static void make_root(void)
{
	FILE *f;

	snprintf(root, sizeof root, "/tmp/fuzz-emu-root.%ld", (long)getpid());
	mkdir(root, 0700);
	snprintf(root + strlen(root), sizeof root - strlen(root), "/d");
	f = fopen(root, "w");
	if (f) {
		fputs("0123456789abcdefghijklmnopqrstuvwxyz", f);
		fclose(f);
	}
	root[strlen(root) - 2] = '\0';
}

static uint8_t *image(const uint8_t *in, size_t len, size_t *out)
{
	uint8_t *b = calloc(1, IMG);
	size_t at = CODE, forks = 0;

	if (!b)
		return NULL;
	memcpy(b,
	       "\x7f"
	       "ELF\1\1\1",
	       7);
	b[16] = 2; /* ET_EXEC */
	b[18] = 3; /* EM_386 */
	b[20] = 1;
	put32(b + 24, BASE + CODE); /* entry */
	put32(b + 28, 52);	    /* phoff */
	b[40] = 52;		    /* ehsize */
	b[42] = 32;		    /* phentsize */
	b[44] = 1;		    /* phnum */
	put32(b + 52, 1);	    /* PT_LOAD */
	put32(b + 60, BASE);
	put32(b + 64, BASE);
	put32(b + 68, IMG);
	put32(b + 72, IMG);
	put32(b + 76, 7);
	put32(b + 80, 0x1000);
	memcpy(b + STRS, "/a\0/d\0", 6);
	for (size_t r = 0; r + REC <= len && at + 32 < IMG; r += REC) {
		const uint8_t *x = in + r;
		uint8_t vec = (uint8_t)(0x30 + x[0] % 15), flags = x[1];
		uint32_t v[4];
		for (int i = 0; i < 4; i++) {
			v[i] = (uint32_t)x[2 + 4 * i] |
			       (uint32_t)x[3 + 4 * i] << 8 |
			       (uint32_t)x[4 + 4 * i] << 16 |
			       (uint32_t)x[5 + 4 * i] << 24;
			/* a pointer into the image, or at a file's name */
			if (flags & (1u << i))
				v[i] = BASE + v[i] % IMG;
			if (flags & (16u << i))
				v[i] = BASE + STRS + (v[i] & 1) * 3;
		}
		/* bounded runs: few forks, short sleeps */
		if (vec == 0x31 && ++forks > 3)
			vec = 0x39;
		if (vec == 0x30 && v[0] == 1)
			v[1] %= 2000;
		b[at++] = 0xb8, put32(b + at, v[0]), at += 4;
		b[at++] = 0xbb, put32(b + at, v[1]), at += 4;
		b[at++] = 0xb9, put32(b + at, v[2]), at += 4;
		b[at++] = 0xba, put32(b + at, v[3]), at += 4;
		b[at++] = 0xcd, b[at++] = vec;
	}
	/* _exit(0), then a loop */
	b[at++] = 0xb8, put32(b + at, 0), at += 4;
	b[at++] = 0xcd, b[at++] = 0x3a;
	b[at++] = 0xeb, b[at++] = 0xfe;
	*out = IMG;
	return b;
}

/* Debian's Unicorn 2 leaks the bitmap of a code page that the guest
 * writes into (tb_invalidate_phys_page_fast: self-modifying code, which
 * these programs do) when the engine is closed: its leak, not ours. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libunicorn.so\n";
}

static void discard(void *ctx, const char *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	(void)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct emu_result r;
	size_t len;
	uint8_t *img;

	if (!root[0])
		make_root();
	if (size < 1)
		return 0;
	img = image(data + 1, size - 1, &len);
	if (!img)
		return 0;
	struct emu_opts o = {.profile =
				 data[0] & 1 ? QLOAD_GALILEO : QLOAD_MASTER,
			     .root = root,
			     .in_fd = -1,
			     .max_insns = MAX_INSNS,
			     .timeout_ms = 2000,
			     .quantum = 1000,
			     .out = discard};
	if (emu_run(img, len, "prog", &o, &r) == 0) {
		int st = emu_exit_status(&r);
		if (r.end > EMU_ERROR || r.insns > MAX_INSNS || st < 0 ||
		    st > 255 ||
		    (r.end != EMU_EXITED && (st < 123 || st > 126))) {
			fprintf(stderr, "fuzz_emu: end %d, %llu instructions\n",
				(int)r.end, (unsigned long long)r.insns);
			abort();
		}
	}
	free(img);
	return 0;
}
