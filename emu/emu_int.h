/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Inside libquestemu: tasks, their memory, and what the system calls need
 * from the scheduler. Not installed; emu.h is the interface. */
#ifndef QUEST_EMU_INT_H
#define QUEST_EMU_INT_H

#include <unicorn/unicorn.h>

#include "emu.h"

#define EMU_MAX_TASKS                                                          \
	64 /* forks beyond this fail (-1), as when Quest runs                  \
	    * out of task slots */
#define EMU_MAX_SHM 256
#define EMU_MAX_FD  32

/* One run of guest pages backed by host memory. */
struct emu_region {
	uint32_t va, npages;
	uint8_t *host;
};

/* Host memory a task owns (freed with it); shared pages are not here. */
struct emu_alloc {
	uint8_t *p;
	size_t len;
};

enum emu_tstate {
	T_READY, /* in the run queue */
	T_WAIT,	 /* waitpid / switch_to on another task */
	T_SLEEP, /* usleep */
	T_EXITED,
};

/* galileo's per-task file table: a path and a position */
struct emu_fd {
	char *path; /* NULL: free */
	uint32_t pos;
};

/* What the interrupt hook leaves for the scheduler to do outside Unicorn. */
enum emu_defer {
	D_NONE,
	D_YIELD, /* end of the turn (sched_setparam) */
	D_FORK,
	D_EXEC,
	D_EXIT,
	D_WAIT, /* waitpid, switch_to */
	D_SLEEP,
	D_FAULT,
};

struct emu;

struct emu_task {
	struct emu *e;
	uc_engine *uc;
	uc_hook hooks[5];
	unsigned id;
	enum emu_tstate state;
	unsigned wait_for;    /* T_WAIT: the task id */
	uint64_t wake_ms;     /* T_SLEEP */
	int priority;	      /* sched_setparam, recorded only */
	const char *last_sys; /* for fault reports */
	uint32_t vec;	      /* its vector */
	struct emu_region *reg;
	size_t nreg;
	struct emu_alloc *alloc;
	size_t nalloc;
	struct emu_fd fd[EMU_MAX_FD];
	enum emu_defer defer;
	uint32_t defer_a;
	char *exec_path, *exec_line; /* D_EXEC */
	uint64_t slice, slice_end;
	uint64_t charged; /* of slice: system calls' work, not instructions */
	struct emu_task *next; /* run queue */
};

struct emu_shm {
	uint8_t *page; /* NULL: never allocated */
	int freed;
};

struct emu {
	const struct emu_opts *o;
	const struct qload_profile *prof;
	struct emu_result *r;
	struct emu_task **task; /* by id - 1; NULL once reaped */
	unsigned ntask;		/* ids handed out so far */
	unsigned nlive;		/* tasks not yet exited */
	unsigned reaped;	/* task[0..reaped) are all NULL */
	struct emu_task *rq_head, *rq_tail;
	struct emu_shm shm[EMU_MAX_SHM];
	uint64_t start_ms;
	uint64_t quantum;
	int stop_all;	  /* a fault or error ends the run */
	size_t mem_bytes; /* guest memory held by all tasks */
	int mem_out;	  /* an allocation went past EMU_MEMINFO_FREE */
	char outbuf[4096];
	size_t outlen;
	int in_eof;
	int cx, cy; /* console cursor */
};

uint64_t emu_now_ms(void);
/* ms before --timeout (INT64_MAX: none) */
int64_t emu_ms_left(const struct emu *e);
/* 1 when the run is over: the time limit ends it (and stops t's CPU) */
int emu_over_time(struct emu_task *t);

/* memory.c */
int emu_task_map(struct emu_task *t, uint32_t va, uint32_t npages,
		 uint8_t *host);
uint8_t *emu_task_alloc(struct emu_task *t, size_t len);
int emu_task_mapped(const struct emu_task *t, uint32_t va);
int emu_task_unmap_page(struct emu_task *t, uint32_t va);
int emu_load(struct emu_task *t, const uint8_t *elf, size_t len,
	     const char *cmdline, struct qerror *err);
int emu_copy_memory(struct emu_task *dst, const struct emu_task *src);
void emu_task_free_memory(struct emu_task *t);

/* sys.c */
void emu_hook_intr(uc_engine *uc, uint32_t intno, void *ud);
uint32_t emu_hook_in(uc_engine *uc, uint32_t port, int size, void *ud);
void emu_hook_out(uc_engine *uc, uint32_t port, int size, uint32_t value,
		  void *ud);
void emu_flush(struct emu *e);
void emu_fault(struct emu_task *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* shm.c: shared memory, int $0x38 EAX 1-4 */
uint32_t emu_shm_alloc(struct emu *e);
uint32_t emu_shm_attach(struct emu_task *t, uint32_t id);
uint32_t emu_shm_detach(struct emu_task *t, uint32_t addr);
uint32_t emu_shm_free(struct emu *e, uint32_t id);
/* the task's page tables go (exit, exec): the frames it has attached too */
void emu_shm_release(struct emu_task *t);

/* root.c: a file under --root, confined to it; -1 when there is none */
int emu_root_open(const char *root, const char *path);
#endif
