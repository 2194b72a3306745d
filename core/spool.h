/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The spool: every queued job on disk, so that a crash of questfs loses no
 * program it accepted. A job is put before it counts as queued, marked
 * before it is sent, and done once it has ended; all three are appended to
 * a journal (docs/PROTOCOL.md, "The spool"), one write(2) each, or a done
 * with the record after it (qspool_done_later). */
#ifndef QUEST_SPOOL_H
#define QUEST_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "chan.h"
#include "packet.h"
#include "qerr.h"

struct qspool;

/* One job as stored. */
struct qspool_entry {
	uint64_t id;
	int64_t t_launch_ms;
	uid_t uid; /* who launched it (questfs's own user for an entry
		      written before questfs recorded it) */
	char name[256];
	char args[320];
	uint8_t hdr[QPKT_HDR_SIZE];
	uint8_t *image; /* malloc'd */
	size_t len;
	int marked; /* a send had begun: mark says where the channel stood */
	int mark_valid;
	struct qchan_mark mark;
};

/* Opens (creating it, mode 0700) the spool directory. sync: fdatasync
 * every record (and the directory when a journal file comes or goes), so
 * that the spool survives a machine crash too, not only a crash of
 * questfs; the image is then checksummed as well. Safe for concurrent
 * callers. */
enum qerr qspool_open(const char *dir, int sync, struct qspool **out,
		      struct qerror *err);
void qspool_close(struct qspool *sp);
/* What qspool_open checks (the directory is made if need be, and must be
 * ours and closed to group and others), without keeping it open: for a
 * daemon to refuse a bad spool before it mounts. */
enum qerr qspool_check(const char *dir, struct qerror *err);

/* Store a queued job. */
enum qerr qspool_put(struct qspool *sp, const struct qspool_entry *e,
		     struct qerror *err);
/* Store a job that is sent at once, with its mark (as qspool_mark) in the
 * same write. */
enum qerr qspool_put_marked(struct qspool *sp, const struct qspool_entry *e,
			    const struct qchan_mark *m, struct qerror *err);
/* Record that a send begins, and where the channel stood (qchan_mark;
 * NULL when it cannot tell). */
enum qerr qspool_mark(struct qspool *sp, uint64_t id,
		      const struct qchan_mark *m, struct qerror *err);
/* The send did not happen after all (no receiver): queued again. */
void qspool_unmark(struct qspool *sp, uint64_t id);
/* The job has ended: it is not sent again after a crash. Journal files
 * whose jobs have all ended are removed (or emptied). */
void qspool_done(struct qspool *sp, uint64_t id);
/* The same, its record written with the next record (one write for both,
 * as a stream of launches goes: the done of one with the next one's job)
 * or by qspool_flush; at once with sync. Only for a job whose mark was
 * known: until the record is written, a crash leaves the job marked, and
 * the channel's answer to the mark (qchan_taken_since) is what keeps it
 * from being sent twice. */
void qspool_done_later(struct qspool *sp, uint64_t id);
/* Writes the done records qspool_done_later left owed. */
void qspool_flush(struct qspool *sp);

/* Every job the spool holds (put and not done; from the journal files of
 * earlier runs, and entries ID.job/ID.mark of spool format 1), in id
 * order, through fn, which takes ownership of e->image. They are first
 * written again to a fresh journal file, which then holds them alone.
 * Damaged or partial records are reported through bad() and skipped; a
 * file that had any is kept aside as NAME.bad. Call once, after open and
 * before any put. Returns the number of jobs loaded. */
size_t qspool_load(struct qspool *sp,
		   void (*fn)(void *ctx, struct qspool_entry *e),
		   void (*bad)(void *ctx, const char *file, const char *why),
		   void *ctx);

#endif
