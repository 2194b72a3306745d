/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The spool's journal (core/spool.c): what is put and not done comes back
 * after a restart, whole, in id order; rewinding, new files, damage, a
 * record cut short, the image checksum of spool_sync, format 1 entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "spool.h"

struct loaded {
	struct qspool_entry e[64];
	size_t n;
	char bad[8][256];
	size_t nbad;
};

struct fx {
	char dir[64];
	struct qspool *sp;
	struct loaded got;
	uint8_t *img;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);

	assert_non_null(f);
	strcpy(f->dir, "/tmp/test_spool.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->img = malloc(400000);
	assert_non_null(f->img);
	for (size_t i = 0; i < 400000; i++)
		f->img[i] = (uint8_t)(i * 7 + 3);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	qspool_close(f->sp);
	for (size_t i = 0; i < f->got.n; i++)
		free(f->got.e[i].image);
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f->img);
	free(f);
	return 0;
}

static void on_entry(void *ctx, struct qspool_entry *e)
{
	struct loaded *l = ctx;
	assert_true(l->n < 64);
	l->e[l->n++] = *e;
}

static void on_bad(void *ctx, const char *file, const char *why)
{
	struct loaded *l = ctx;
	assert_true(l->nbad < 8);
	snprintf(l->bad[l->nbad++], sizeof l->bad[0], "%s: %s", file, why);
}

static void open_spool(struct fx *f, int sync)
{
	struct qerror e;

	qspool_close(f->sp);
	f->sp = NULL;
	assert_int_equal(qspool_open(f->dir, sync, &f->sp, &e), QE_OK);
}

/* a restart: open again and load, into f->got (emptied first) */
static size_t reload(struct fx *f, int sync)
{
	for (size_t i = 0; i < f->got.n; i++)
		free(f->got.e[i].image);
	memset(&f->got, 0, sizeof f->got);
	open_spool(f, sync);
	size_t n = qspool_load(f->sp, on_entry, on_bad, &f->got);
	assert_int_equal(n, f->got.n);
	return n;
}

static struct qspool_entry entry(struct fx *f, uint64_t id, size_t len)
{
	struct qspool_entry e = {.id = id, .t_launch_ms = 1000 + (int64_t)id};

	snprintf(e.name, sizeof e.name, "prog%llu", (unsigned long long)id);
	snprintf(e.args, sizeof e.args, "a 'b c' %llu", (unsigned long long)id);
	for (unsigned i = 0; i < QPKT_HDR_SIZE; i++)
		e.hdr[i] = (uint8_t)(id + i);
	e.image = f->img + id; /* a different image for each */
	e.len = len;
	return e;
}

static void put(struct fx *f, uint64_t id, size_t len)
{
	struct qspool_entry e = entry(f, id, len);
	struct qerror err;

	assert_int_equal(qspool_put(f->sp, &e, &err), QE_OK);
}

/* got.e[i] is exactly what entry(id, len) put */
static void expect_entry(struct fx *f, size_t i, uint64_t id, size_t len)
{
	struct qspool_entry want = entry(f, id, len), *e = &f->got.e[i];

	assert_true(i < f->got.n);
	assert_int_equal(e->id, id);
	assert_int_equal(e->t_launch_ms, want.t_launch_ms);
	assert_string_equal(e->name, want.name);
	assert_string_equal(e->args, want.args);
	assert_memory_equal(e->hdr, want.hdr, QPKT_HDR_SIZE);
	assert_int_equal(e->len, len);
	assert_memory_equal(e->image, want.image, len);
}

static size_t count_files(struct fx *f, const char *suffix)
{
	DIR *d = opendir(f->dir);
	struct dirent *de;
	size_t n = 0, k = strlen(suffix);

	assert_non_null(d);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		n += len > k && !strcmp(de->d_name + len - k, suffix);
	}
	closedir(d);
	return n;
}

/* the path of the only journal file */
static void journal(struct fx *f, char *path, size_t n)
{
	DIR *d = opendir(f->dir);
	struct dirent *de;
	int found = 0;

	assert_non_null(d);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len > 8 && !strcmp(de->d_name + len - 8, ".journal")) {
			snprintf(path, n, "%s/%s", f->dir, de->d_name);
			found++;
		}
	}
	closedir(d);
	assert_int_equal(found, 1);
}

static off_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* offset of the k-th (0: first) record header in the journal */
static off_t record_at(const char *path, int k)
{
	FILE *fp = fopen(path, "rb");
	static uint8_t b[1 << 20];
	size_t n;

	assert_non_null(fp);
	n = fread(b, 1, sizeof b, fp);
	fclose(fp);
	for (size_t i = 16; i + 4 <= n; i++)
		if (!memcmp(b + i, "QREC", 4) && k-- == 0)
			return (off_t)i;
	fail_msg("no record %d in %s", k, path);
	return -1;
}

static void poke(const char *path, off_t at, uint8_t v)
{
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &v, 1, at), 1);
	close(fd);
}

static void test_round_trip(void **state)
{
	struct fx *f = *state;
	struct qchan_mark m = {.epoch = 77, .seq = 5};
	struct qerror e;

	open_spool(f, 0);
	assert_int_equal(qspool_load(f->sp, on_entry, on_bad, &f->got), 0);
	put(f, 1, 4096);
	put(f, 2, 100);
	put(f, 3, 393128);
	put(f, 4, 52);
	assert_int_equal(qspool_mark(f->sp, 2, &m, &e), QE_OK);
	assert_int_equal(qspool_mark(f->sp, 4, NULL, &e), QE_OK);
	assert_int_equal(qspool_mark(f->sp, 3, &m, &e), QE_OK);
	qspool_unmark(f->sp, 3);
	qspool_done(f->sp, 1);
	qspool_done(f->sp, 99); /* never put: nothing */

	assert_int_equal(reload(f, 0), 3);
	assert_int_equal(f->got.nbad, 0);
	expect_entry(f, 0, 2, 100);
	expect_entry(f, 1, 3, 393128);
	expect_entry(f, 2, 4, 52);
	assert_true(f->got.e[0].marked && f->got.e[0].mark_valid);
	assert_int_equal(f->got.e[0].mark.epoch, 77);
	assert_int_equal(f->got.e[0].mark.seq, 5);
	assert_false(f->got.e[1].marked); /* unmarked again */
	assert_true(f->got.e[2].marked && !f->got.e[2].mark_valid);

	/* the load wrote them to a journal of its own, the old one went */
	assert_int_equal(count_files(f, ".journal"), 1);
	assert_int_equal(reload(f, 0), 3);
	expect_entry(f, 0, 2, 100);
	assert_int_equal(f->got.e[0].mark.seq, 5);
	assert_true(f->got.e[2].marked && !f->got.e[2].mark_valid);

	qspool_done(f->sp, 2);
	qspool_done(f->sp, 3);
	qspool_done(f->sp, 4);
	assert_int_equal(reload(f, 0), 0);
	assert_int_equal(f->got.nbad, 0);
}

/* The only journal, all done, is written again from its start: it stays
 * small, and nothing of the generations before comes back. */
static void test_rewind(void **state)
{
	struct fx *f = *state;
	char path[128];

	open_spool(f, 0);
	for (uint64_t id = 1; id <= 100; id++) {
		put(f, id, 65536);
		qspool_done(f->sp, id);
	}
	put(f, 101, 65536);
	put(f, 102, 300);
	qspool_done(f->sp, 101);
	journal(f, path, sizeof path);
	/* 100 x 64 KiB went through a file that never passed 1 MiB + one */
	assert_true(file_size(path) < (1 << 20) + 2 * 65536);
	assert_int_equal(reload(f, 0), 1);
	assert_int_equal(f->got.nbad, 0);
	expect_entry(f, 0, 102, 300);
}

/* Past 8 MiB a new file is begun while a job holds the old one; once that
 * job is done the old file goes. */
static void test_new_file_and_removal(void **state)
{
	struct fx *f = *state;

	open_spool(f, 0);
	put(f, 1, 1000); /* stays queued while the others pass */
	for (uint64_t id = 2; id <= 30; id++) {
		put(f, id, 393128);
		qspool_done(f->sp, id);
	}
	assert_int_equal(count_files(f, ".journal"), 2);
	put(f, 31, 2000);
	assert_int_equal(reload(f, 0), 2);
	expect_entry(f, 0, 1, 1000);
	expect_entry(f, 1, 31, 2000);

	qspool_done(f->sp, 1);
	qspool_done(f->sp, 31);
	put(f, 40, 10);
	for (uint64_t id = 41; id <= 70; id++) {
		put(f, id, 393128);
		qspool_done(f->sp, id);
	}
	assert_int_equal(count_files(f, ".journal"), 2);
	qspool_done(f->sp, 40); /* the first file holds nothing now */
	assert_int_equal(count_files(f, ".journal"), 1);
	assert_int_equal(reload(f, 0), 0);
	assert_int_equal(f->got.nbad, 0);
}

/* A crash in the middle of a put: that record is lost, the others stay. */
static void test_cut_short(void **state)
{
	struct fx *f = *state;
	char path[128];

	open_spool(f, 0);
	put(f, 1, 5000);
	put(f, 2, 6000);
	journal(f, path, sizeof path);
	assert_int_equal(truncate(path, file_size(path) - 3000), 0);
	assert_int_equal(reload(f, 0), 1);
	expect_entry(f, 0, 1, 5000);
	assert_int_equal(f->got.nbad,
			 2); /* the reason, then where the file went */
	assert_non_null(strstr(f->got.bad[1], "kept as"));
	assert_non_null(strstr(f->got.bad[0], "cut short"));
	/* kept aside for whoever wants to look */
	assert_int_equal(count_files(f, ".journal.bad"), 1);
}

/* One damaged record costs that record only. */
static void test_damaged_record(void **state)
{
	struct fx *f = *state;
	char path[128];

	open_spool(f, 0);
	put(f, 1, 3000);
	put(f, 2, 3000);
	put(f, 3, 3000);
	journal(f, path, sizeof path);
	poke(path, record_at(path, 1) + 17, 0xee); /* job 2's id */
	assert_int_equal(reload(f, 0), 2);
	expect_entry(f, 0, 1, 3000);
	expect_entry(f, 1, 3, 3000);
	assert_int_equal(f->got.nbad,
			 2); /* the reason, then where the file went */
	assert_non_null(strstr(f->got.bad[1], "kept as"));
	assert_non_null(strstr(f->got.bad[0], "checksum mismatch"));
}

/* With spool_sync the image is checksummed too. */
static void test_sync_image_checksum(void **state)
{
	struct fx *f = *state;
	char path[128];

	open_spool(f, 1);
	put(f, 1, 3000);
	put(f, 2, 3000);
	journal(f, path, sizeof path);
	/* a byte of job 1's image: header 40, meta 8+4+5+4+9+88 */
	poke(path, record_at(path, 0) + 40 + 118 + 100, 0x55);
	assert_int_equal(reload(f, 1), 1);
	expect_entry(f, 0, 2, 3000);
	assert_int_equal(f->got.nbad,
			 2); /* the reason, then where the file went */
	assert_non_null(strstr(f->got.bad[1], "kept as"));
	assert_non_null(strstr(f->got.bad[0], "image checksum mismatch"));
}

/* A job found twice (a start stopped before it removed the old files) is
 * one job. */
static void test_same_job_twice(void **state)
{
	struct fx *f = *state;
	char path[128], copy[160], cmd[400];

	open_spool(f, 0);
	put(f, 1, 700);
	journal(f, path, sizeof path);
	qspool_close(f->sp);
	f->sp = NULL;
	snprintf(copy, sizeof copy, "%s/00000009.journal", f->dir);
	snprintf(cmd, sizeof cmd, "cp %s %s", path, copy);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(reload(f, 0), 1);
	expect_entry(f, 0, 1, 700);
	assert_int_equal(f->got.nbad, 0);
	assert_int_equal(count_files(f, ".journal"), 1);
}

static void le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* An entry of questfs 0.1.0 (format 1) is loaded and moved into the
 * journal. */
static void test_format1_entry(void **state)
{
	struct fx *f = *state;
	struct qspool_entry want = entry(f, 7, 1234);
	uint8_t b[4096], *p = b + 16;
	char path[128];
	size_t nl = strlen(want.name), al = strlen(want.args);

	memcpy(b, "QFSSPOOL", 8);
	le(b + 8, 1, 4);
	le(p, 7, 8);
	le(p + 8, (uint64_t)want.t_launch_ms, 8);
	le(p + 16, nl, 4);
	memcpy(p + 20, want.name, nl);
	p += 20 + nl;
	le(p, al, 4);
	memcpy(p + 4, want.args, al);
	p += 4 + al;
	memcpy(p, want.hdr, QPKT_HDR_SIZE);
	p += QPKT_HDR_SIZE;
	le(p, want.len, 4);
	memcpy(p + 4, want.image, want.len);
	p += 4 + want.len;
	le(b + 12, crc32(0L, b + 16, (uInt)(p - b - 16)), 4);
	snprintf(path, sizeof path, "%s/0000000000000007.job", f->dir);
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(b, 1, (size_t)(p - b), fp), (size_t)(p - b));
	fclose(fp);

	assert_int_equal(reload(f, 0), 1);
	expect_entry(f, 0, 7, 1234);
	assert_false(f->got.e[0].marked);
	assert_int_equal(count_files(f, ".job"), 0);
	assert_int_equal(reload(f, 0), 1); /* now from the journal */
	expect_entry(f, 0, 7, 1234);
}

static void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A record as the journal writes it, under a salt guessed by whoever
 * makes a program: what a program's bytes could pretend to be. */
static size_t forge(uint8_t *b, unsigned type, uint64_t id, uint32_t gen,
		    uint64_t salt)
{
	uint8_t sb[8];

	memset(b, 0, 48);
	memcpy(b, "QREC", 4);
	b[4] = (uint8_t)type;
	le32(b + 8, gen);
	for (int i = 0; i < 8; i++) {
		b[16 + i] = (uint8_t)(id >> (8 * i));
		sb[i] = (uint8_t)(salt >> (8 * i));
	}
	uLong crc = crc32(crc32(0L, sb, 8), b, 36);
	le32(b + 36, (uint32_t)crc);
	memcpy(b + 40, "QEND", 4);
	le32(b + 44, (uint32_t)crc);
	return 48;
}

/* After a rewind, what follows the new records is older programs' bytes:
 * records forged in them (done records of queued jobs, made-up jobs) are
 * never read, whatever salt and generation they guess. */
static void test_program_bytes_are_no_records(void **state)
{
	struct fx *f = *state;
	size_t len = (1u << 20) + 4096, off;
	uint8_t *img = calloc(1, len);
	struct qerror e;

	assert_non_null(img);
	for (off = 4096; off + 48 * 4 < len; off += 48 * 4)
		for (uint32_t g = 1; g <= 2; g++) {
			forge(img + off + 96 * (g - 1), 4 /* done */, 2, g, 0);
			forge(img + off + 96 * (g - 1) + 48, 4, 3, g, 0);
		}
	open_spool(f, 0);
	struct qspool_entry big = entry(f, 1, 0);
	big.image = img;
	big.len = len;
	assert_int_equal(qspool_put(f->sp, &big, &e), QE_OK);
	qspool_done(f->sp, 1); /* past 1 MiB, all done: rewound */
	put(f, 2, 100);
	put(f, 3, 100);
	assert_int_equal(reload(f, 0), 2);
	assert_int_equal(f->got.nbad, 0);
	expect_entry(f, 0, 2, 100);
	expect_entry(f, 1, 3, 100);
	free(img);
}

/* A done record that cannot be written (the disk is full) is written
 * later; until then the journal keeps the job's file, and a restart does
 * not send the job again. */
static void test_done_written_once_it_can_be(void **state)
{
	struct fx *f = *state;
	struct rlimit was, full;
	char path[128];

	signal(SIGXFSZ, SIG_IGN);
	open_spool(f, 0);
	put(f, 1, 2000);
	journal(f, path, sizeof path);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &was), 0);
	full = was;
	full.rlim_cur = (rlim_t)file_size(path); /* no byte more */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &full), 0);
	qspool_done(f->sp, 1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &was), 0);
	put(f, 2, 300); /* writes the pending done first */
	assert_int_equal(reload(f, 0), 1);
	expect_entry(f, 0, 2, 300);
}

/* A done left for later goes with the next record, in the same write: a
 * record of 48 bytes before the job's. */
static void test_done_later_goes_with_the_next_record(void **state)
{
	struct fx *f = *state;
	char path[128];

	open_spool(f, 0);
	put(f, 1, 2000);
	journal(f, path, sizeof path);
	off_t one = file_size(path);
	qspool_done_later(f->sp, 1);
	assert_int_equal(file_size(path), one); /* nothing written yet */
	put(f, 2, 2000);
	off_t job = one - 24; /* the file's 24-byte header, then job 1 */
	assert_int_equal(file_size(path), one + 48 + job);
	qspool_done_later(f->sp, 2);
	qspool_flush(f->sp);
	assert_int_equal(file_size(path), one + 48 + job + 48);
	assert_int_equal(reload(f, 0), 0);
	assert_int_equal(f->got.nbad, 0);
}

/* questfs killed while a done is owed: the job (put with its mark in one
 * write) is found marked, with its mark, for the channel to say whether
 * it was taken; one whose done went with the next record is not found. */
static void test_done_later_then_killed(void **state)
{
	struct fx *f = *state;
	struct qchan_mark m = {.epoch = 77, .seq = 5};
	struct qerror e;
	pid_t pid;
	int st;

	open_spool(f, 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		put(f, 1, 1000);
		qspool_mark(f->sp, 1, &m, &e);
		qspool_done_later(f->sp, 1);
		struct qspool_entry two = entry(f, 2, 1000);
		qspool_put_marked(f->sp, &two, &m, &e); /* sent at once */
		qspool_done_later(f->sp, 2);
		_exit(0); /* as kill -9: nothing flushed, nothing closed */
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(reload(f, 0), 1);
	expect_entry(f, 0, 2, 1000);
	assert_true(f->got.e[0].marked && f->got.e[0].mark_valid);
	assert_int_equal(f->got.e[0].mark.epoch, 77);
	assert_int_equal(f->got.e[0].mark.seq, 5);
}

/* A stream of launches whose dones are left for later still rewinds the
 * file: 100 x 64 KiB through a file that never passes 1 MiB + one. */
static void test_done_later_stream_rewinds(void **state)
{
	struct fx *f = *state;
	struct qchan_mark m = {.epoch = 1};
	struct qerror e;
	char path[128];

	open_spool(f, 0);
	for (uint64_t id = 1; id <= 100; id++) {
		put(f, id, 65536);
		m.seq = id;
		assert_int_equal(qspool_mark(f->sp, id, &m, &e), QE_OK);
		qspool_done_later(f->sp, id);
	}
	journal(f, path, sizeof path);
	assert_true(file_size(path) < (1 << 20) + 2 * 65536);
	assert_int_equal(count_files(f, ".journal"), 1);
	assert_int_equal(reload(f, 0), 0);
	assert_int_equal(f->got.nbad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rewind, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_new_file_and_removal, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_cut_short, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_damaged_record, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sync_image_checksum, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_same_job_twice, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_format1_entry, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_program_bytes_are_no_records,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_done_written_once_it_can_be,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_done_later_goes_with_the_next_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_done_later_then_killed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_done_later_stream_rewinds,
					    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
