/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The tools' files (core/outfile.c) against what another user plants: a
 * symbolic link at the temporary name, a directory others may write, a
 * FIFO or another user's file in place of the output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfile.h"

struct fx {
	char dir[64], save[96], victim[96], path[160];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);

	assert_non_null(f);
	strcpy(f->dir, "/tmp/test_outfile.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->save, sizeof f->save, "%s/save", f->dir);
	snprintf(f->victim, sizeof f->victim, "%s/victim", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void put(const char *path, const char *s)
{
	FILE *o = fopen(path, "w");
	assert_non_null(o);
	fputs(s, o);
	assert_int_equal(fclose(o), 0);
}

static void expect_content(const char *path, const char *want)
{
	char buf[64] = "";
	FILE *i = fopen(path, "r");
	assert_non_null(i);
	size_t n = fread(buf, 1, sizeof buf - 1, i);
	buf[n] = '\0';
	fclose(i);
	assert_string_equal(buf, want);
}

/* A symbolic link planted at the temporary name is removed, never
 * followed: what it names keeps its bytes, the file is saved. */
static void test_planted_symlink_not_followed(void **state)
{
	struct fx *f = *state;
	struct iovec iov = {"words they chose", 16};
	struct qerror e;
	int dfd;

	put(f->victim, "root's");
	assert_int_equal(qout_dir_open(f->save, &dfd, &e), QE_OK);
	snprintf(f->path, sizeof f->path, "%s/.000001.argv.tmp", f->save);
	assert_int_equal(symlink(f->victim, f->path), 0);
	assert_int_equal(qout_save(dfd, f->save, "000001.argv", &iov, 1, &e),
			 QE_OK);
	expect_content(f->victim, "root's");
	snprintf(f->path, sizeof f->path, "%s/000001.argv", f->save);
	expect_content(f->path, "words they chose");
	/* a link at the final name is replaced, not written through */
	snprintf(f->path, sizeof f->path, "%s/000002.argv", f->save);
	assert_int_equal(symlink(f->victim, f->path), 0);
	assert_int_equal(qout_save(dfd, f->save, "000002.argv", &iov, 1, &e),
			 QE_OK);
	expect_content(f->victim, "root's");
	close(dfd);
}

/* A directory group or others may write, or a symbolic link to one, is
 * refused with its mode and what to do. */
static void test_directory_others_can_write_refused(void **state)
{
	struct fx *f = *state;
	struct qerror e;
	int dfd;

	assert_int_equal(mkdir(f->save, 0777), 0);
	assert_int_equal(chmod(f->save, 01777), 0);
	assert_int_equal(qout_dir_open(f->save, &dfd, &e), QE_USAGE);
	assert_int_equal(dfd, -1);
	assert_non_null(strstr(e.msg, "with mode 1777: refused"));
	assert_non_null(strstr(e.msg, "chmod go-w"));
	assert_int_equal(chmod(f->save, 0775), 0);
	assert_int_equal(qout_dir_open(f->save, &dfd, &e), QE_USAGE);
	assert_int_equal(chmod(f->save, 0755), 0);
	snprintf(f->path, sizeof f->path, "%s/link", f->dir);
	assert_int_equal(symlink(f->save, f->path), 0);
	assert_int_equal(qout_dir_open(f->path, &dfd, &e), QE_USAGE);
	assert_non_null(strstr(e.msg, "is a symbolic link"));
	assert_int_equal(qout_dir_open(f->save, &dfd, &e), QE_OK);
	close(dfd);
}

/* An output path that is a symbolic link, a FIFO (with no reader: the
 * open must not wait for one) or another user's file is refused and left
 * as it was; a regular file of ours is truncated or appended to. */
static void test_output_file_checked(void **state)
{
	struct fx *f = *state;
	struct qerror e;
	int fd;

	put(f->victim, "root's");
	snprintf(f->path, sizeof f->path, "%s/out", f->dir);
	assert_int_equal(symlink(f->victim, f->path), 0);
	assert_int_equal(qout_open(f->path, 0, &e), -1);
	assert_non_null(strstr(e.msg, "is a symbolic link"));
	expect_content(f->victim, "root's");
	assert_int_equal(unlink(f->path), 0);

	assert_int_equal(mkfifo(f->path, 0600), 0);
	assert_int_equal(qout_open(f->path, 0, &e), -1);
	assert_non_null(strstr(e.msg, "is a FIFO"));
	assert_int_equal(unlink(f->path), 0);

	put(f->path, "old bytes");
	assert_true((fd = qout_open(f->path, 1, &e)) >= 0);
	assert_int_equal(write(fd, "+", 1), 1);
	close(fd);
	expect_content(f->path, "old bytes+");
	assert_true((fd = qout_open(f->path, 0, &e)) >= 0);
	close(fd);
	expect_content(f->path, "");

	if (geteuid() != 0)
		return; /* another user's file needs root to make */
	put(f->path, "theirs");
	assert_int_equal(chown(f->path, 4000001, 4000001), 0);
	assert_int_equal(qout_open(f->path, 0, &e), -1);
	assert_non_null(strstr(e.msg, "is a regular file of 4000001"));
	expect_content(f->path, "theirs");
	assert_int_equal(qout_dir_open(f->dir, &fd, &e), QE_OK);
	close(fd);
	assert_int_equal(chown(f->dir, 4000001, 4000001), 0);
	assert_int_equal(qout_dir_open(f->dir, &fd, &e), QE_USAGE);
	assert_non_null(strstr(e.msg, "a directory of 4000001"));
	assert_int_equal(chown(f->dir, 0, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_planted_symlink_not_followed,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_directory_others_can_write_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_output_file_checked, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
