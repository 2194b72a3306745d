/* The spool: every queued job as a file, so that a crash of questfs loses
 * no program it accepted. A job's file is written before the job counts as
 * queued, marked before it is sent, and removed once it has ended. */
#ifndef QUEST_SPOOL_H
#define QUEST_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "chan.h"
#include "packet.h"
#include "qerr.h"

struct qspool;

/* One job as stored. */
struct qspool_entry {
	uint64_t id;
	int64_t t_launch_ms;
	char name[256];
	char args[320];
	uint8_t hdr[QPKT_HDR_SIZE];
	uint8_t *image; /* malloc'd */
	size_t len;
	int marked; /* a send had begun: mark says where the channel stood */
	int mark_valid;
	struct qchan_mark mark;
};

/* Opens (creating it, mode 0700) the spool directory. sync: fsync each
 * entry and the directory, so that entries survive a machine crash too,
 * not only a crash of questfs. */
enum qerr qspool_open(const char *dir, int sync, struct qspool **out,
		      struct qerror *err);
void qspool_close(struct qspool *sp);

/* Store a queued job (temporary file, then rename: never half an entry). */
enum qerr qspool_put(struct qspool *sp, const struct qspool_entry *e,
		     struct qerror *err);
/* Record that a send begins, and where the channel stood (qchan_mark;
 * NULL when it cannot tell). */
enum qerr qspool_mark(struct qspool *sp, uint64_t id,
		      const struct qchan_mark *m, struct qerror *err);
/* The send did not happen after all (no receiver): queued again. */
void qspool_unmark(struct qspool *sp, uint64_t id);
/* The job has ended: remove it. */
void qspool_done(struct qspool *sp, uint64_t id);

/* Every valid entry, in id order, through fn (which takes ownership of
 * e->image). Corrupt or partial entries are reported through bad() and
 * moved aside as NAME.bad, never loaded. Returns the number loaded. */
size_t qspool_load(struct qspool *sp,
		   void (*fn)(void *ctx, struct qspool_entry *e),
		   void (*bad)(void *ctx, const char *file, const char *why),
		   void *ctx);

#endif
