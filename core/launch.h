/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The launch rule of run/ as one state machine (docs/DESIGN.md §7): the
 * events a file goes through between its first open for writing and its last
 * release, and what each one decides. No FUSE here: fs/ translates each
 * request into one event, carries out the decision (qlaunch_apply, with its
 * actions) and answers with its outcome; tests/unit/test_launch.c replays
 * the copying tools against it, through the same qlaunch_apply. */
#ifndef QUEST_LAUNCH_H
#define QUEST_LAUNCH_H

#include <stddef.h>
#include <stdint.h>

#include "elfcheck.h"
#include "qerr.h"

/* What the caller must do to the file once the event is decided. */
enum qlaunch_act {
	QL_NONE,   /* nothing (yet) */
	QL_LAUNCH, /* its bytes become a job now, under its name */
	QL_REFUSE, /* its bytes become a refused job (dec.why), under its name
		    */
	QL_RECORD, /* a refused job is recorded under dec.name; the file and its
		    * bytes stay as they are */
	QL_REMOVE, /* the refusal is recorded (a refused job; for a sidecar, a
		    * log line) and the file leaves run/ with its bytes */
	QL_DROP,   /* an unlinked file lost its last writer: its bytes go */
};

/* A decision: what to do, and what the request answers. */
struct qlaunch_dec {
	enum qlaunch_act act;
	enum qerr rc;	   /* the request's outcome: QE_OK or why it failed */
	struct qerror why; /* rc's message; the refusal of QL_REFUSE/RECORD/
			    * REMOVE (rc may be QE_OK then: decided earlier) */
	/* QL_RECORD: the name the refusal is recorded under */
	const char *name;
	int sidecar; /* QL_REMOVE: a sidecar (logged, no job) */
	int refused; /* this event refused the file or its arguments */
	int begins;  /* open: the first writer of a name that launches; the
		      * caller's queue and memory limits apply (EAGAIN) */
};

/* Per file of run/, guarded by the caller's lock (questfs: the tree lock). */
struct qlaunch {
	unsigned opens, writers;
	unsigned closing; /* writers whose user closed them (FLUSH came),
			   * their RELEASE still to come */
	int dirty;	  /* got data since it was created or launched */
	/* why it can never launch: refused at FLUSH or fsync, or a write or
	 * size change failed; it is removed at its last writer's release.
	 * NULL: nothing refused. Allocated only when there is a reason. */
	struct qerror *why;
	/* why its user.quest.args was refused: the launch must not go
	 * without the arguments the user asked for. NULL: none was */
	struct qerror *args_why;
};

/* Per open handle of such a file. */
struct qlaunch_handle {
	int writer;
	int wrote;  /* a write through it succeeded */
	int closed; /* FLUSH came: its user closed it; RELEASE may lag */
};

/* What an event may look at: the file's name at that moment (NULL once
 * unlinked) and the bytes it holds so far. */
struct qlaunch_file {
	const char *name;
	const uint8_t *data;
	size_t size;
};

struct qlaunch_cfg {
	const struct qelf_profile *prof;
	int argv0;	 /* 1: argv[0] is the program's name (counts in argv) */
	int argv_format; /* enum qargv_format: a word the command line cannot
			  * carry is refused */
};

/* Every event fills *d (act, rc, why) and returns d->rc. */

/* open (wr: for writing). A second writer while one is still writing:
 * QE_BUSY. A writer of a finished copy whose RELEASE has not come yet: that
 * copy is decided now, as its release would have. The handle counts once
 * qlaunch_attach is called (after the caller's own checks passed). */
enum qerr qlaunch_open(struct qlaunch *s, const struct qlaunch_file *f, int wr,
		       const struct qlaunch_cfg *c, struct qlaunch_dec *d);
void qlaunch_attach(struct qlaunch *s, struct qlaunch_handle *h, int wr);

/* write: qlaunch_write_may before the bytes are stored (QE_BUSY: a copy of
 * a closed descriptor, while a newer writer owns the file), then
 * qlaunch_wrote with how storing them went (stored: QE_OK or its code, with
 * why; `held` = bytes the file held before this write). A failed write
 * means the file can never launch. */
enum qerr qlaunch_write_may(struct qlaunch *s, struct qlaunch_handle *h,
			    struct qlaunch_dec *d);
enum qerr qlaunch_wrote(struct qlaunch *s, struct qlaunch_handle *h,
			enum qerr stored, const struct qerror *why,
			struct qlaunch_dec *d);

/* truncate (setattr size, not O_TRUNC): same outcome rules as a write. */
enum qerr qlaunch_truncated(struct qlaunch *s, uint64_t size, enum qerr stored,
			    const struct qerror *why, struct qlaunch_dec *d);

/* FLUSH: refuses what more bytes can never fix (an ELF prefix that can
 * never become a program; a sidecar that does not split or fit). */
enum qerr qlaunch_flush(struct qlaunch *s, struct qlaunch_handle *h,
			const struct qlaunch_file *f,
			const struct qlaunch_cfg *c, struct qlaunch_dec *d);

/* fsync: the same check as FLUSH, for temporary names too. */
enum qerr qlaunch_fsync(struct qlaunch *s, const struct qlaunch_file *f,
			const struct qlaunch_cfg *c, struct qlaunch_dec *d);

/* RELEASE: the last writer's release launches the file, or removes one
 * that was refused; the handle no longer counts. */
enum qerr qlaunch_release(struct qlaunch *s, struct qlaunch_handle *h,
			  const struct qlaunch_file *f, struct qlaunch_dec *d);

/* rename of a file to `newname` (decided before the name changes): a
 * finished file renamed to a final name launches (QL_LAUNCH, to be carried
 * out once renamed), unless it can never run: then the rename is refused
 * and the refusal recorded (QL_RECORD). */
enum qerr qlaunch_rename(struct qlaunch *s, const struct qlaunch_file *f,
			 const char *newname, const struct qlaunch_cfg *c,
			 struct qlaunch_dec *d);

/* setxattr/removexattr of user.quest.args on the file (s NULL: on run/,
 * a default for every file). A value that cannot split or fit is refused
 * (QE_ARGS_TOO_BIG, QE_ARGS_SYNTAX) and, on a file, refuses its launch
 * until a good value replaces it. */
enum qerr qlaunch_set_args(struct qlaunch *s, const char *fname,
			   const char *value, size_t size,
			   const struct qlaunch_cfg *c, struct qlaunch_dec *d);
void qlaunch_clear_args(struct qlaunch *s);
/* A good value of user.quest.args that could not be stored (why: a
 * user's limit): the file must not launch without the arguments asked
 * for, as with a refused value, until a good value is stored. */
enum qerr qlaunch_args_unstored(struct qlaunch *s, const struct qerror *why,
				struct qlaunch_dec *d);

/* The refusal waiting for the file's release, NULL when there is none (its
 * user.quest.state reads "refused" meanwhile). */
const struct qerror *qlaunch_pending(const struct qlaunch *s);

/* Frees what the state holds. */
void qlaunch_free(struct qlaunch *s);

/* How the caller carries a decision out: one action per effect, each given
 * the caller's ctx (questfs: the tree and the file). qlaunch_apply calls
 * them in the order the decision needs, so that every caller (fs/tree.c,
 * the replay of tests/unit/test_launch.c) carries it out the same way. */
struct qlaunch_actions {
	/* QL_LAUNCH: the file's bytes become a job under its name */
	void (*launch)(void *ctx);
	/* QL_REFUSE: the file's bytes leave it; no job will have them */
	void (*take)(void *ctx);
	/* QL_REFUSE, QL_REMOVE: the refusal d->why recorded for the file, a
	 * refused job under its name (d->sidecar: a log line) */
	void (*record)(void *ctx, const struct qlaunch_dec *d);
	/* QL_RECORD: a refused job recorded under `name`; the file and its
	 * bytes stay as they are */
	void (*record_as)(void *ctx, const char *name,
			  const struct qerror *why);
	/* QL_REMOVE, once recorded: the file leaves run/ with its bytes */
	void (*remove)(void *ctx);
	/* QL_DROP: the bytes of an unlinked file go */
	void (*drop)(void *ctx);
	/* d->refused, after the action: the refusal's log line, under `name`
	 * (NULL: the file's own name at that moment, NULL once unlinked) */
	void (*log_refused)(void *ctx, const char *name,
			    const struct qerror *why);
};

/* Carries d out through a, then returns d->rc. */
enum qerr qlaunch_apply(const struct qlaunch_dec *d,
			const struct qlaunch_actions *a, void *ctx);

#endif
