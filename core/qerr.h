/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Error codes and messages of libquestcore.
 * The core never speaks errno to its callers: it returns an enum qerr and,
 * when the caller passes a struct qerror, a one-line message naming the fault.
 * Callers (questfs, questbinloader) map codes to errno or exit statuses. */
#ifndef QUEST_QERR_H
#define QUEST_QERR_H

#include <stddef.h>

enum qerr {
	QE_OK = 0,
	QE_NOMEM, /* out of memory */
	QE_SYS,	  /* a system call failed (message names it and errno) */
	QE_USAGE, /* a bad option value, spec or parameter */

	/* args */
	QE_ARGS_SYNTAX,	 /* unterminated quote, trailing backslash */
	QE_ARGS_TOO_BIG, /* packed argv larger than 80 bytes */
	QE_ARGS_WORD,	 /* a word the command line cannot carry */

	/* packet */
	QE_PKT_TOO_BIG,	  /* 88 + binary does not fit the slot */
	QE_PKT_MALFORMED, /* a packet that cannot be parsed */

	/* ELF checks (DESIGN.md §4); one code per rule, message says what was
	   found */
	QE_ELF_SHORT,	/* smaller than an ELF header */
	QE_ELF_MAGIC,	/* no \x7fELF */
	QE_ELF_CLASS,	/* not ELFCLASS32 */
	QE_ELF_DATA,	/* not ELFDATA2LSB */
	QE_ELF_VERSION, /* EV_CURRENT in e_ident and e_version */
	QE_ELF_EHSIZE,	/* e_ehsize != 52 */
	QE_ELF_MACHINE, /* not EM_386 */
	QE_ELF_TYPE,	/* not ET_EXEC */
	QE_ELF_INTERP,	/* has PT_INTERP */
	QE_ELF_PHDR,	/* e_phentsize, table outside file / wraps */
	QE_ELF_NOLOAD,	/* no PT_LOAD with p_memsz > 0 */
	QE_ELF_SEGSIZE, /* p_filesz > p_memsz */
	QE_ELF_SEGFILE, /* p_offset + p_filesz outside the file */
	QE_ELF_ALIGN,	/* p_offset % 4096 != p_vaddr % 4096 */
	QE_ELF_WRAP,	/* address wrap-around */
	QE_ELF_WINDOW,	/* PT_LOAD outside the user window */
	QE_ELF_OVERLAP, /* PT_LOAD memory ranges overlap */
	QE_ELF_ENTRY,	/* e_entry not in an executable PT_LOAD */
	QE_ELF_TOO_BIG, /* larger than the largest program */
	QE_ELF_CORRUPT, /* Quest's loader writes outside what it owns */
	QE_ELF_MISLOAD, /* Quest loads other bytes than the ELF asks for */
	QE_ELF_LIBELF,	/* libelf itself refused the image */

	/* channel */
	QE_CHAN_SPEC,	     /* unknown backend or malformed spec */
	QE_CHAN_VERSION,     /* shm layout of another version */
	QE_CHAN_TIMEOUT,     /* slot not free / no answer in time: withdrawn
			      * unless the receiver had taken it (chan.h) */
	QE_CHAN_NO_RECEIVER, /* no Quest side attached */
	QE_CHAN_GONE,	     /* the Quest side vanished mid-packet */
	QE_CHAN_REFUSED,     /* the Quest side refused (its reason) */
	QE_CHAN_IO,	     /* I/O error on the channel */

	/* questfs's files and jobs */
	QE_BUSY,	 /* another writer has the file open */
	QE_LIMIT,	 /* a soft limit (queue, bytes held): try again */
	QE_FILE_TOO_BIG, /* a write past the largest program */
	QE_STOPPED,	 /* questfs stopped before the job was sent */

	QE__COUNT
};

#define QERR_MSG_MAX 256

struct qerror {
	enum qerr code;
	char msg[QERR_MSG_MAX];
};

/* Record code and a printf-style message into err (if not NULL); returns code
 * so that callers can write `return qerr_set(err, QE_X, "...")`. */
enum qerr qerr_set(struct qerror *err, enum qerr code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Same, appending ": strerror(errno_val)". */
enum qerr qerr_sys(struct qerror *err, int errno_val, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Short stable name of a code, e.g. "elf-machine" (used in status.json). */
const char *qerr_name(enum qerr code);

/* True for the ELF codes, i.e. "this file is not a Quest program". */
int qerr_is_elf(enum qerr code);

/* True when a message of this code may quote the user's argument words
 * (QE_ARGS_WORD names the word it refuses): shown whole only to the
 * words' owner and root, like the arguments themselves. */
int qerr_quotes_args(enum qerr code);

#endif
