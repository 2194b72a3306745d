/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libquestemu: runs a Quest program on Linux the way Quest runs it. The
 * task's memory is the page map of Quest's loader model (qload.h); the CPU is
 * Unicorn's i386; the `int` system calls are answered as Quest's kernel of
 * the chosen profile answers them. No FUSE, no channel: quest-emu and
 * quest-sim --exec drive it. */
#ifndef QUEST_EMU_H
#define QUEST_EMU_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "qload.h"

/* quest-emu's exit statuses besides the program's own (0..255). */
#define EMU_STATUS_FAULT   123 /* the emulated CPU faulted (Quest crashes) */
#define EMU_STATUS_LIMIT   124 /* --max-insns, --timeout, or a deadlock */
#define EMU_STATUS_USAGE   125 /* bad options, unreadable program */
#define EMU_STATUS_REFUSED 126 /* the loader model refuses the program */

#define EMU_QUANTUM_DEFAULT 100000u	/* instructions per turn of a task */
#define EMU_CMDLINE_MAX	    80u		/* Quest's command_args[80] */
#define EMU_MEMINFO_FREE    0x07e00000u /* what meminfo answers, always */

enum emu_end {
	EMU_EXITED,  /* the first task called _exit (status holds it) */
	EMU_REFUSED, /* not loaded: the model refuses the image */
	EMU_FAULT,   /* a task faulted: Quest would crash */
	EMU_LIMIT,   /* instruction or time limit reached, or all tasks wait */
	EMU_ERROR,   /* the emulator itself failed (memory, Unicorn) */
};

struct emu_opts {
	enum qload_profile_id profile;
	const char *root;    /* directory that open, read and exec see; NULL:
			      * none (they fail as for a missing file) */
	int in_fd;	     /* getchar's input; -1: none (end of input) */
	uint64_t max_insns;  /* 0: no limit */
	uint64_t timeout_ms; /* wall clock; 0: no limit */
	uint64_t quantum;    /* instructions per turn; 0: the default */
	FILE *trace;	     /* system calls and port I/O; NULL: none */
	/* program output (putchar, write): called with whole batches */
	void (*out)(void *ctx, const char *buf, size_t len);
	void *out_ctx;
};

#define EMU_SCREEN_ROWS 25
#define EMU_SCREEN_COLS 80

struct emu_result {
	enum emu_end end;
	int status;	/* EMU_EXITED: the first task's _exit status */
	uint64_t insns; /* guest instructions run, all tasks */
	unsigned tasks; /* tasks that ever ran (1 + forks) */
	uint64_t outs;	/* `out` instructions recorded */
	char msg[512];	/* not EXITED: one line saying what happened */
	/* the 80x25 text console as Quest's putchar leaves it */
	char screen[EMU_SCREEN_ROWS][EMU_SCREEN_COLS];
};

/* Runs the ELF image with the command line cmdline (Quest's argv[0]: the
 * program's name and its arguments joined by single spaces) until every
 * task has ended or a limit is reached. Returns 0 when it ran (see r->end),
 * -1 when it could not start (r->msg says why, r->end is EMU_ERROR). */
int emu_run(const uint8_t *elf, size_t len, const char *cmdline,
	    const struct emu_opts *o, struct emu_result *r);

/* The exit status quest-emu gives a result. */
int emu_exit_status(const struct emu_result *r);

/* The system calls answered, one line each: "int $0xNN eax N|* NAME
 * PROFILES" (the table in sys.c). */
void emu_syscalls_write(FILE *f);

/* The screen as 25 lines of text, trailing blanks cut. */
void emu_screen_write(const struct emu_result *r, FILE *f);

#endif
