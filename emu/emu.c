/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The scheduler of libquestemu: tasks in one thread, round-robin, each
 * running for a fixed number of instructions per turn (counted by a code
 * hook), so that a run is the same every time. System calls that change
 * tasks (fork, exec, _exit, waitpid, usleep) are left by the interrupt hook
 * for this loop, outside Unicorn. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "emu_int.h"

uint64_t emu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void emu_fault(struct emu_task *t, const char *fmt, ...)
{
	struct emu *e = t->e;
	char what[320];
	uint32_t eip = 0;
	va_list ap;

	if (e->stop_all)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	uc_reg_read(t->uc, UC_X86_REG_EIP, &eip);
	snprintf(e->r->msg, sizeof e->r->msg,
		 "task %u: %s at EIP 0x%08x (last system call: %s)", t->id,
		 what, eip, t->last_sys ? t->last_sys : "none");
	e->r->end = EMU_FAULT;
	e->stop_all = 1;
	t->defer = D_FAULT;
	uc_emu_stop(t->uc);
}

static void end_limit(struct emu *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

int64_t emu_ms_left(const struct emu *e)
{
	uint64_t used = emu_now_ms() - e->start_ms;

	if (!e->o->timeout_ms)
		return INT64_MAX;
	return used >= e->o->timeout_ms ? 0
					: (int64_t)(e->o->timeout_ms - used);
}

int emu_over_time(struct emu_task *t)
{
	struct emu *e = t->e;

	if (e->stop_all)
		return 1;
	if (emu_ms_left(e) > 0)
		return 0;
	end_limit(e, "time limit reached: %llu ms",
		  (unsigned long long)e->o->timeout_ms);
	uc_emu_stop(t->uc);
	return 1;
}

static void hook_code(uc_engine *uc, uint64_t addr, uint32_t size, void *ud)
{
	struct emu_task *t = ud;

	(void)addr;
	(void)size;
	if (++t->slice >= t->slice_end)
		uc_emu_stop(uc);
}

static bool hook_unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr,
			  int size, int64_t value, void *ud)
{
	const char *what = type == UC_MEM_FETCH_UNMAPPED   ? "fetch from"
			   : type == UC_MEM_WRITE_UNMAPPED ? "write to"
							   : "read from";
	(void)uc;
	(void)size;
	(void)value;
	emu_fault(ud, "page fault: %s unmapped address 0x%08x", what,
		  (uint32_t)addr);
	return false;
}

static void task_free(struct emu_task *t)
{
	emu_task_free_memory(t);
	if (t->uc)
		uc_close(t->uc);
	t->uc = NULL;
	for (int i = 0; i < EMU_MAX_FD; i++) {
		free(t->fd[i].path);
		t->fd[i].path = NULL;
	}
}

/* A fresh CPU for task t: flat 32-bit protected mode, and our hooks. */
static int task_cpu(struct emu_task *t)
{
	uc_engine *uc;

	if (uc_open(UC_ARCH_X86, UC_MODE_32, &uc) != UC_ERR_OK)
		return -1;
	t->uc = uc;
	/* no stop address: a jump to 0 must fault as on Quest */
	uc_ctl_exits_enable(uc);
	if (uc_hook_add(uc, &t->hooks[0], UC_HOOK_INTR, (void *)emu_hook_intr,
			t, 1, 0) ||
	    uc_hook_add(uc, &t->hooks[1], UC_HOOK_INSN, (void *)emu_hook_in, t,
			1, 0, UC_X86_INS_IN) ||
	    uc_hook_add(uc, &t->hooks[2], UC_HOOK_INSN, (void *)emu_hook_out, t,
			1, 0, UC_X86_INS_OUT) ||
	    uc_hook_add(uc, &t->hooks[3], UC_HOOK_CODE, (void *)hook_code, t, 1,
			0) ||
	    uc_hook_add(uc, &t->hooks[4], UC_HOOK_MEM_UNMAPPED,
			(void *)hook_unmapped, t, 1, 0))
		return -1;
	return 0;
}

static struct emu_task *task_new(struct emu *e)
{
	struct emu_task *t;

	struct emu_task **tab;

	if (e->nlive >= EMU_MAX_TASKS || e->ntask == UINT16_MAX)
		return NULL;
	tab = realloc(e->task, (e->ntask + 1) * sizeof *tab);
	if (!tab)
		return NULL;
	e->task = tab;
	t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->e = e;
	if (task_cpu(t) < 0) {
		task_free(t);
		free(t);
		return NULL;
	}
	t->id = ++e->ntask;
	e->task[t->id - 1] = t;
	e->nlive++;
	e->r->tasks = e->ntask;
	return t;
}

static void rq_push(struct emu *e, struct emu_task *t)
{
	t->state = T_READY;
	t->next = NULL;
	if (e->rq_tail)
		e->rq_tail->next = t;
	else
		e->rq_head = t;
	e->rq_tail = t;
}

static struct emu_task *rq_pop(struct emu *e)
{
	struct emu_task *t = e->rq_head;

	if (t) {
		e->rq_head = t->next;
		if (!e->rq_head)
			e->rq_tail = NULL;
	}
	return t;
}

static struct emu_task *live_task(struct emu *e, uint32_t id)
{
	if (id == 0 || id > e->ntask || !e->task[id - 1])
		return NULL;
	return e->task[id - 1]->state == T_EXITED ? NULL : e->task[id - 1];
}

static void set_eax(struct emu_task *t, uint32_t v)
{
	uc_reg_write(t->uc, UC_X86_REG_EAX, &v);
}

static void task_exit(struct emu_task *t, uint32_t status)
{
	struct emu *e = t->e;

	if (t->id == 1)
		e->r->status = (int)status;
	t->state = T_EXITED;
	e->nlive--;
	emu_shm_release(t);
	/* everyone waiting for it goes back to the run queue, in id order */
	for (unsigned i = e->reaped; i < e->ntask; i++) {
		struct emu_task *w = e->task[i];
		if (w && w->state == T_WAIT && w->wait_for == t->id) {
			set_eax(w, 0);
			rq_push(e, w);
		}
	}
	task_free(t);
}

/* Quest's fork: the child gets a copy of every page and of the registers;
 * it is put at the tail of the run queue and the parent goes on with its
 * turn, as Quest's wakeup() does. */
static void do_fork(struct emu_task *t)
{
	struct emu *e = t->e;
	struct emu_task *c = task_new(e);
	uc_context *ctx = NULL;

	if (!c) {
		set_eax(t, (uint32_t)-1);
		return;
	}
	c->priority = t->priority;
	if (emu_copy_memory(c, t) < 0 ||
	    uc_context_alloc(t->uc, &ctx) != UC_ERR_OK ||
	    uc_context_save(t->uc, ctx) != UC_ERR_OK ||
	    uc_context_restore(c->uc, ctx) != UC_ERR_OK) {
		if (e->mem_out) {
			end_limit(e,
				  "task %u: fork: memory limit reached: the "
				  "tasks need more than Quest's 126 MiB",
				  t->id);
		} else {
			snprintf(e->r->msg, sizeof e->r->msg,
				 "task %u: fork: out of memory", t->id);
			e->r->end = EMU_ERROR;
			e->stop_all = 1;
		}
	} else {
		set_eax(c, 0);
		set_eax(t, c->id);
		rq_push(e, c);
	}
	if (ctx)
		uc_context_free(ctx);
}

static int read_all(int fd, uint8_t **buf, size_t *len)
{
	size_t cap = 65536, n = 0;
	uint8_t *b = malloc(cap);

	for (;;) {
		ssize_t r;
		if (!b)
			return -1;
		if (n == cap) {
			uint8_t *nb =
			    cap >= (64u << 20) ? NULL : realloc(b, cap *= 2);
			if (!nb) {
				free(b);
				return -1;
			}
			b = nb;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(b);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*buf = b;
	*len = n;
	return 0;
}

/* exec: the file under --root replaces the task's memory, loaded through
 * the model again; -1 in eax when there is no such file. */
static void do_exec(struct emu_task *t, char *path, char *line)
{
	struct emu *e = t->e;
	uint8_t *img = NULL;
	size_t len = 0;
	struct qerror err = {0};
	int fd = emu_root_open(e->o->root, path);
	uint32_t regs[6];
	int ids[6] = {UC_X86_REG_EBX, UC_X86_REG_ECX, UC_X86_REG_EDX,
		      UC_X86_REG_ESI, UC_X86_REG_EDI, UC_X86_REG_EBP};

	if (fd < 0 || read_all(fd, &img, &len) < 0) {
		set_eax(t, (uint32_t)-1);
		goto out;
	}
	for (int i = 0; i < 6; i++)
		uc_reg_read(t->uc, ids[i], &regs[i]);
	emu_shm_release(t);
	task_free(t);
	if (task_cpu(t) < 0) {
		snprintf(e->r->msg, sizeof e->r->msg,
			 "task %u: exec: cannot start a CPU", t->id);
		e->r->end = EMU_ERROR;
		e->stop_all = 1;
		goto out;
	}
	for (int i = 0; i < 6; i++)
		uc_reg_write(t->uc, ids[i], &regs[i]);
	switch (emu_load(t, img, len, line, &err)) {
	case 0:
		break;
	case -1:
		/* the old memory is gone already: Quest panics or worse */
		snprintf(e->r->msg, sizeof e->r->msg, "task %u: exec %s: %s",
			 t->id, path, err.msg);
		e->r->end = EMU_REFUSED;
		e->stop_all = 1;
		break;
	default:
		snprintf(e->r->msg, sizeof e->r->msg, "task %u: exec %s: %s",
			 t->id, path, err.msg);
		e->r->end = e->mem_out ? EMU_LIMIT : EMU_ERROR;
		e->stop_all = 1;
	}
out:
	if (fd >= 0)
		close(fd);
	free(img);
	free(path);
	free(line);
}

/* What the interrupt hook deferred. Returns 1 when the task goes on. */
static int do_deferred(struct emu_task *t)
{
	struct emu *e = t->e;
	enum emu_defer d = t->defer;

	t->defer = D_NONE;
	switch (d) {
	case D_NONE:
		return 1;
	case D_FORK:
		do_fork(t);
		return !e->stop_all;
	case D_EXEC:
		do_exec(t, t->exec_path, t->exec_line);
		t->exec_path = t->exec_line = NULL;
		return !e->stop_all;
	case D_EXIT:
		task_exit(t, t->defer_a);
		return 0;
	case D_WAIT:
		if (t->defer_a == t->id || live_task(e, t->defer_a)) {
			t->state = T_WAIT;
			t->wait_for = t->defer_a;
		} else {
			set_eax(t, (uint32_t)-1);
			return 1;
		}
		return 0;
	case D_SLEEP:
		t->state = T_SLEEP;
		t->wake_ms = emu_now_ms() + (t->defer_a + 999) / 1000;
		return 0;
	case D_YIELD:
		rq_push(e, t);
		return 0;
	case D_FAULT:
		return 0;
	}
	return 0;
}

static void end_limit(struct emu *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->r->msg, sizeof e->r->msg, fmt, ap);
	va_end(ap);
	e->r->end = EMU_LIMIT;
	e->stop_all = 1;
}

/* One turn of task t: up to a quantum of instructions, system calls
 * included, until it blocks, ends or the quantum is used up. */
static void run_turn(struct emu *e, struct emu_task *t)
{
	uint64_t budget = e->quantum;

	if (e->o->max_insns && e->o->max_insns - e->r->insns < budget)
		budget = e->o->max_insns - e->r->insns;
	t->slice = t->charged = 0;
	t->slice_end = budget;
	for (;;) {
		uint32_t eip = 0;
		uc_err err;

		uc_reg_read(t->uc, UC_X86_REG_EIP, &eip);
		err = uc_emu_start(t->uc, eip, 0, 0, 0);
		if (err != UC_ERR_OK && !e->stop_all) {
			if (err == UC_ERR_INSN_INVALID)
				emu_fault(t, "invalid opcode");
			else
				emu_fault(t, "CPU error: %s", uc_strerror(err));
		}
		if (e->stop_all || t->defer == D_FAULT)
			break;
		if (t->defer == D_NONE && t->slice < t->slice_end) {
			/* Unicorn stops by itself only at hlt, which is
			 * privileged: a general protection fault on Quest,
			 * reported at the instruction */
			uint8_t op = 0;
			uc_reg_read(t->uc, UC_X86_REG_EIP, &eip);
			if (uc_mem_read(t->uc, eip - 1, &op, 1) == UC_ERR_OK &&
			    op == 0xf4) {
				eip--;
				uc_reg_write(t->uc, UC_X86_REG_EIP, &eip);
			}
			emu_fault(t, "general protection fault (hlt)");
			break;
		}
		if (!do_deferred(t))
			break;
		if (t->slice >= t->slice_end) {
			rq_push(e, t);
			break;
		}
	}
	e->r->insns += t->slice - t->charged;
}

static void wake_sleepers(struct emu *e, uint64_t now, uint64_t *next)
{
	*next = 0;
	for (unsigned i = e->reaped; i < e->ntask; i++) {
		struct emu_task *t = e->task[i];
		if (!t || t->state != T_SLEEP)
			continue;
		if (t->wake_ms <= now)
			rq_push(e, t);
		else if (!*next || t->wake_ms < *next)
			*next = t->wake_ms;
	}
}

/* Exited tasks are freed between turns, never while one runs. */
static void reap(struct emu *e)
{
	for (unsigned i = e->reaped; i < e->ntask; i++) {
		struct emu_task *t = e->task[i];
		if (t && t->state == T_EXITED) {
			free(t);
			e->task[i] = NULL;
		}
	}
	while (e->reaped < e->ntask && !e->task[e->reaped])
		e->reaped++;
}

static void schedule(struct emu *e)
{
	while (!e->stop_all) {
		uint64_t now = emu_now_ms(), next;
		struct emu_task *t;

		if (!emu_ms_left(e)) {
			end_limit(e, "time limit reached: %llu ms",
				  (unsigned long long)e->o->timeout_ms);
			break;
		}
		if (e->o->max_insns && e->r->insns >= e->o->max_insns) {
			end_limit(e, "instruction limit reached: %llu",
				  (unsigned long long)e->o->max_insns);
			break;
		}
		reap(e);
		wake_sleepers(e, now, &next);
		t = rq_pop(e);
		if (t) {
			run_turn(e, t);
			continue;
		}
		if (next) {
			uint64_t until = next;
			struct timespec ts;
			if (e->o->timeout_ms &&
			    e->start_ms + e->o->timeout_ms < until)
				until = e->start_ms + e->o->timeout_ms;
			emu_flush(e);
			ts.tv_sec = (time_t)((until - now) / 1000);
			ts.tv_nsec = (long)((until - now) % 1000) * 1000000;
			nanosleep(&ts, NULL);
			continue;
		}
		for (unsigned i = 0; i < e->ntask; i++) {
			t = e->task[i];
			if (t && t->state == T_WAIT) {
				end_limit(e,
					  "every task waits for another "
					  "(task %u waits for %u): Quest "
					  "would hang here",
					  t->id, t->wait_for);
				break;
			}
		}
		break;
	}
}

int emu_run(const uint8_t *elf, size_t len, const char *cmdline,
	    const struct emu_opts *o, struct emu_result *r)
{
	struct emu *e = calloc(1, sizeof *e);
	struct emu_task *t;
	struct qerror err = {0};
	int rc = -1;

	memset(r, 0, sizeof *r);
	memset(r->screen, ' ', sizeof r->screen);
	r->end = EMU_ERROR;
	if (!e) {
		snprintf(r->msg, sizeof r->msg, "out of memory");
		return -1;
	}
	e->o = o;
	e->r = r;
	e->prof = qload_profile(o->profile);
	e->quantum = o->quantum ? o->quantum : EMU_QUANTUM_DEFAULT;
	e->start_ms = emu_now_ms();
	if (!e->prof) {
		snprintf(r->msg, sizeof r->msg, "unknown profile");
		goto out;
	}
	t = task_new(e);
	if (!t) {
		snprintf(r->msg, sizeof r->msg, "cannot start Unicorn");
		goto out;
	}
	switch (emu_load(t, elf, len, cmdline, &err)) {
	case 0:
		break;
	case -1:
		r->end = EMU_REFUSED;
		snprintf(r->msg, sizeof r->msg, "%s", err.msg);
		rc = 0;
		goto out;
	default:
		snprintf(r->msg, sizeof r->msg, "%s", err.msg);
		if (e->mem_out) {
			r->end = EMU_LIMIT;
			rc = 0;
		}
		goto out;
	}
	r->end = EMU_EXITED;
	rq_push(e, t);
	schedule(e);
	if (r->end == EMU_EXITED && e->task[0] && e->task[0]->state != T_EXITED)
		end_limit(e, "task 1 did not exit");
	rc = 0;
out:
	emu_flush(e);
	for (unsigned i = 0; i < e->ntask; i++) {
		if (e->task[i]) {
			task_free(e->task[i]);
			free(e->task[i]);
		}
	}
	free(e->task);
	for (int i = 0; i < EMU_MAX_SHM; i++)
		free(e->shm[i].page);
	free(e);
	return rc;
}

int emu_exit_status(const struct emu_result *r)
{
	switch (r->end) {
	case EMU_EXITED:
		return r->status & 0xff;
	case EMU_REFUSED:
		return EMU_STATUS_REFUSED;
	case EMU_FAULT:
		return EMU_STATUS_FAULT;
	case EMU_LIMIT:
		return EMU_STATUS_LIMIT;
	case EMU_ERROR:
		break;
	}
	return EMU_STATUS_USAGE;
}

void emu_screen_write(const struct emu_result *r, FILE *f)
{
	for (int y = 0; y < EMU_SCREEN_ROWS; y++) {
		int n = EMU_SCREEN_COLS;
		while (n > 0 && r->screen[y][n - 1] == ' ')
			n--;
		fprintf(f, "%.*s\n", n, r->screen[y]);
	}
}
