/* SPDX-License-Identifier: GPL-2.0-or-later */
/* quest-sim --exec: every accepted program run by libquestemu in a child
 * process of its own, after its packet is answered, so that a running
 * program never holds the channel. */
#ifndef QUEST_SIM_EXEC_H
#define QUEST_SIM_EXEC_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define SIMX_JOBS_DEFAULT    4	/* programs running at once */
#define SIMX_TIMEOUT_DEFAULT 10 /* seconds a program may run */

struct simx_opts {
	int profile;	     /* enum qload_profile_id */
	const char *root;    /* --exec-root, or NULL: no files */
	const char *save;    /* --save DIR: DIR/N.out, or NULL */
	unsigned jobs;	     /* bound on programs running at once */
	uint64_t timeout_ms; /* per program */
};

/* Starts program n in a child process (after simx_wait_slot).
 * argv is the packet's argv buffer (size bytes of NUL-terminated words):
 * Quest's command line is its words joined by spaces. 0, or -1 (said on
 * stderr) when no process could be started. */
int simx_start(const struct simx_opts *o, unsigned long n, const char *name,
	       const uint8_t *elf, size_t len, const char *argv, size_t size);

/* Waits until fewer than opts->jobs programs run, so that no packet is
 * taken that could not run at once; returns early once *stop is set. */
void simx_wait_slot(const struct simx_opts *o,
		    const volatile sig_atomic_t *stop);

/* Collects the programs that have ended; with wait_all, all of them. */
void simx_reap(int wait_all);

#endif
