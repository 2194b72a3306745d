/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Quest's system calls, answered inside Unicorn's interrupt hook: `int
 * $0x30`..`$0x3c` (and galileo's `$0x3d`) with the registers and results of
 * kernel/interrupt.S and kernel/interrupt_handler.c of the chosen profile.
 * Calls that change tasks are left to the scheduler (emu.c). Any other
 * vector is a fault: Quest's user code cannot reach it, and an exception in
 * user code makes Quest's kernel stop. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "emu_int.h"

#define SHM_BASE 0x01000000u /* the ids handed out: fake frame addresses */
#define HZ	 500u	     /* Quest's timer: 500 ticks a second */

static uint32_t reg(struct emu_task *t, int r)
{
	uint32_t v = 0;

	uc_reg_read(t->uc, r, &v);
	return v;
}

static void set(struct emu_task *t, int r, uint32_t v)
{
	uc_reg_write(t->uc, r, &v);
}

static void trace(struct emu_task *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void trace(struct emu_task *t, const char *fmt, ...)
{
	FILE *f = t->e->o->trace;
	va_list ap;

	if (!f)
		return;
	fprintf(f, "quest-emu: task %u: ", t->id);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

/* The kernel touching user memory that is not there: a page fault in the
 * kernel, which stops Quest. */
static int gread(struct emu_task *t, uint32_t a, void *buf, size_t n)
{
	if (uc_mem_read(t->uc, a, buf, n) == UC_ERR_OK)
		return 0;
	emu_fault(t, "page fault in the kernel: %s reads %zu bytes at 0x%08x",
		  t->last_sys, n, a);
	return -1;
}

static int gwrite(struct emu_task *t, uint32_t a, const void *buf, size_t n)
{
	if (uc_mem_write(t->uc, a, buf, n) == UC_ERR_OK)
		return 0;
	emu_fault(t, "page fault in the kernel: %s writes %zu bytes at 0x%08x",
		  t->last_sys, n, a);
	return -1;
}

/* A NUL-terminated user string of at most max-1 bytes (longer: cut). */
static char *gstring(struct emu_task *t, uint32_t a, size_t max)
{
	char *s = malloc(max);
	size_t i;

	if (!s)
		return NULL;
	for (i = 0; i + 1 < max; i++) {
		if (gread(t, a + (uint32_t)i, &s[i], 1) < 0) {
			free(s);
			return NULL;
		}
		if (!s[i])
			break;
	}
	s[i] = '\0';
	return s;
}

void emu_flush(struct emu *e)
{
	if (e->outlen && e->o->out)
		e->o->out(e->o->out_ctx, e->outbuf, e->outlen);
	e->outlen = 0;
}

/* Quest's console: putchar writes cells at y*80+x with no wrap of x, so a
 * long line runs on into the next rows; '\n' starts a row, and scrolls on
 * the last one; writes past the 4 KiB page are dropped. */
static void console(struct emu *e, unsigned char c)
{
	char(*s)[EMU_SCREEN_COLS] = e->r->screen;

	if (c == '\n') {
		e->cx = 0;
		if (++e->cy > EMU_SCREEN_ROWS - 1) {
			memmove(s[0], s[1],
				(EMU_SCREEN_ROWS - 1) * sizeof s[0]);
			memset(s[EMU_SCREEN_ROWS - 1], ' ', sizeof s[0]);
			e->cy = EMU_SCREEN_ROWS - 1;
		}
		return;
	}
	int cell = e->cy * EMU_SCREEN_COLS + e->cx;
	if (cell * 2 >= 0x1000)
		return;
	if (cell < EMU_SCREEN_ROWS * EMU_SCREEN_COLS)
		s[cell / EMU_SCREEN_COLS][cell % EMU_SCREEN_COLS] =
		    (c >= 0x20 && c < 0x7f) ? (char)c : '.';
	e->cx++;
}

static void out_bytes(struct emu *e, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (e->outlen == sizeof e->outbuf)
			emu_flush(e);
		e->outbuf[e->outlen++] = p[i];
		console(e, (unsigned char)p[i]);
	}
}

/* Next byte of input; -1 at its end (Quest's keyboard would wait). */
static int in_byte(struct emu *e)
{
	unsigned char c;

	emu_flush(e);
	if (e->o->in_fd < 0 || e->in_eof)
		return -1;
	for (;;) {
		ssize_t r = read(e->o->in_fd, &c, 1);
		if (r == 1)
			return c;
		if (r < 0 && errno == EINTR)
			continue;
		e->in_eof = 1;
		return -1;
	}
}

static uint32_t ticks(struct emu *e)
{
	struct timespec ts;
	uint64_t us;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000 -
	     e->start_ms * 1000;
	return (uint32_t)(us * HZ / 1000000);
}

/* A whole file under --root; NULL (and *len -1) when there is none. */
static uint8_t *root_file(struct emu *e, const char *path, long *len)
{
	int fd = emu_root_open(e->o->root, path);
	uint8_t *b = NULL;
	size_t cap = 0, n = 0;

	*len = -1;
	if (fd < 0)
		return NULL;
	for (;;) {
		ssize_t r;
		if (n == cap) {
			uint8_t *nb = cap >= (64u << 20)
					  ? NULL
					  : realloc(b, cap ? cap * 2 : 65536);
			if (!nb)
				break;
			b = nb;
			cap = cap ? cap * 2 : 65536;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				*len = (long)n;
			break;
		}
		n += (size_t)r;
	}
	close(fd);
	if (*len < 0) {
		free(b);
		return NULL;
	}
	return b ? b : malloc(1);
}

/* read: at most count bytes of the file into buf; the bytes read or -1 */
static uint32_t read_into(struct emu_task *t, const char *path, uint32_t pos,
			  uint32_t buf, int32_t count)
{
	long len;
	uint8_t *b = root_file(t->e, path, &len);
	uint32_t n = 0;

	if (!b)
		return (uint32_t)-1;
	if (count > 0 && pos < (uint64_t)len) {
		n = (uint32_t)len - pos;
		if ((uint32_t)count < n)
			n = (uint32_t)count;
		if (gwrite(t, buf, b + pos, n) < 0)
			n = 0;
	}
	free(b);
	return n;
}

static uint32_t shm_call(struct emu_task *t, uint32_t op, uint32_t edx)
{
	struct emu *e = t->e;
	uint32_t i = (edx >> 12) - (SHM_BASE >> 12);

	switch (op) {
	case 0:
		return EMU_MEMINFO_FREE;
	case 1:
		for (i = 0; i < EMU_MAX_SHM; i++) {
			if (e->shm[i].page)
				continue;
			if (posix_memalign((void **)&e->shm[i].page, QLOAD_PAGE,
					   QLOAD_PAGE)) {
				e->shm[i].page = NULL;
				return (uint32_t)-1;
			}
			memset(e->shm[i].page, 0, QLOAD_PAGE);
			return SHM_BASE + i * QLOAD_PAGE;
		}
		return (uint32_t)-1;
	case 2:
		if (edx < SHM_BASE || i >= EMU_MAX_SHM || !e->shm[i].page ||
		    e->shm[i].freed)
			return (uint32_t)-1;
		/* the first free entry of the first page table, from 1 */
		for (uint32_t p = 1; p < 1024; p++) {
			if (emu_task_mapped(t, p * QLOAD_PAGE))
				continue;
			if (emu_task_map(t, p * QLOAD_PAGE, 1, e->shm[i].page))
				return (uint32_t)-1;
			return p * QLOAD_PAGE;
		}
		return (uint32_t)-1;
	case 3:
		/* clears entry (edx >> 12) & 0x3ff of the first page table */
		emu_task_unmap_page(t, ((edx >> 12) & 0x3ff) * QLOAD_PAGE);
		return 0;
	case 4:
		if (edx >= SHM_BASE && i < EMU_MAX_SHM && e->shm[i].page)
			e->shm[i].freed = 1;
		return 0;
	}
	return (uint32_t)-1;
}

static int file_fd(struct emu_task *t, const char *path)
{
	for (int fd = 3; fd < EMU_MAX_FD; fd++) {
		if (t->fd[fd].path)
			continue;
		t->fd[fd].path = strdup(path);
		t->fd[fd].pos = 0;
		return t->fd[fd].path ? fd : -1;
	}
	return -1;
}

static const char *const names[] = {
    "putchar/usleep", "fork",	 "switch_to",	   "exec",	  "getchar",
    "open",	      "read",	 "uname",	   "meminfo/shm", "time",
    "_exit",	      "waitpid", "sched_setparam", "socket"};

static void sys_0x30(struct emu_task *t, int galileo)
{
	uint32_t eax = reg(t, UC_X86_REG_EAX), ebx = reg(t, UC_X86_REG_EBX);
	uint32_t res = 0;
	char c = (char)ebx;

	switch (eax) {
	case 0:
		out_bytes(t->e, &c, 1);
		break;
	case 1:
		t->defer = D_SLEEP;
		t->defer_a = ebx;
		res = ebx;
		break;
	case 3:
		if (galileo) /* getpid */
			res = t->id;
		break;
	default:
		/* galileo's devices (usb, vcpu, video, gpio, i2c...) */
		if (galileo && eax < 14) {
			trace(t, "int 0x30 eax=%u: not emulated, -1", eax);
			res = (uint32_t)-1;
		}
	}
	/* master pops eax and ebx back; galileo returns the result */
	if (galileo)
		set(t, UC_X86_REG_EAX, res);
}

static void sys_socket(struct emu_task *t)
{
	uint32_t eax = reg(t, UC_X86_REG_EAX), ebx = reg(t, UC_X86_REG_EBX),
		 ecx = reg(t, UC_X86_REG_ECX), edx = reg(t, UC_X86_REG_EDX);
	uint32_t res = (uint32_t)-1;

	if (eax == 6 && (ebx == 1 || ebx == 2)) { /* write to the console */
		char buf[512];
		for (uint32_t done = 0; done < edx;) {
			uint32_t n =
			    edx - done < sizeof buf ? edx - done : sizeof buf;
			if (gread(t, ecx + done, buf, n) < 0)
				return;
			out_bytes(t->e, buf, n);
			done += n;
		}
		res = edx;
	} else if (eax == 1 && ebx < EMU_MAX_FD && ebx > 2 &&
		   t->fd[ebx].path) { /* close */
		free(t->fd[ebx].path);
		t->fd[ebx].path = NULL;
		res = 0;
	} else {
		trace(t, "int 0x3d eax=%u: not emulated, -1", eax);
	}
	set(t, UC_X86_REG_EAX, res);
}

static void do_syscall(struct emu_task *t, uint32_t n)
{
	struct emu *e = t->e;
	int galileo = e->prof->id == QLOAD_GALILEO;
	uint32_t eax = reg(t, UC_X86_REG_EAX), ebx = reg(t, UC_X86_REG_EBX);
	uint32_t ecx = reg(t, UC_X86_REG_ECX), edx = reg(t, UC_X86_REG_EDX);
	uint32_t res = 0;
	char *s;

	t->last_sys = names[n - 0x30];
	if (e->o->trace)
		trace(t, "int 0x%x %s eax=0x%x ebx=0x%x ecx=0x%x edx=0x%x", n,
		      t->last_sys, eax, ebx, ecx, edx);
	switch (n) {
	case 0x30:
		sys_0x30(t, galileo);
		return;
	case 0x31:
		/* galileo forks onto a VCPU: 0 is the best-effort one */
		if (galileo && eax != 0) {
			res = (uint32_t)-1;
			break;
		}
		t->defer = D_FORK;
		return;
	case 0x32:
	case 0x3b:
		t->defer = D_WAIT;
		t->defer_a = eax;
		return;
	case 0x33:
		/* _exec: argv and argv[0] first, then the line, then the path
		 */
		if (!ebx) {
			res = (uint32_t)-1;
			break;
		}
		if (gread(t, ebx, &ecx, 4) < 0)
			return;
		if (!ecx) {
			res = (uint32_t)-1;
			break;
		}
		t->exec_line = gstring(t, ecx, EMU_CMDLINE_MAX);
		t->exec_path = t->exec_line ? gstring(t, eax, 256) : NULL;
		if (!t->exec_path) {
			free(t->exec_line);
			t->exec_line = NULL;
			return;
		}
		t->defer = D_EXEC;
		return;
	case 0x34:
		/* galileo: pressed_keys(buf, max): no key is ever down */
		res = galileo ? 0 : (uint32_t)in_byte(e);
		break;
	case 0x35:
		s = gstring(t, eax, 256);
		if (!s)
			return;
		{
			long len;
			uint8_t *b = root_file(e, s, &len);
			free(b);
			res = (uint32_t)len;
			if (galileo && len >= 0)
				res = (uint32_t)file_fd(t, s);
		}
		free(s);
		break;
	case 0x36:
		if (!galileo) {
			s = gstring(t, eax, 256);
			if (!s)
				return;
			res = read_into(t, s, 0, ebx, (int32_t)ecx);
			free(s);
		} else if (eax == 0) {
			uint32_t i = 0;
			int c;
			while (i < ecx && (c = in_byte(e)) >= 0) {
				char ch = (char)c;
				if (gwrite(t, ebx + i, &ch, 1) < 0)
					return;
				i++;
				if (ch == '\n')
					break;
			}
			res = i;
		} else if (eax < EMU_MAX_FD && eax > 2 && t->fd[eax].path) {
			res = read_into(t, t->fd[eax].path, t->fd[eax].pos, ebx,
					(int32_t)ecx);
			if ((int32_t)res > 0)
				t->fd[eax].pos += res;
		} else {
			res = (uint32_t)-1;
		}
		break;
	case 0x37: {
		const char *v = galileo ? "0.9.00" : "0.1a";
		if (gwrite(t, eax, v, strlen(v) + 1) < 0)
			return;
		break;
	}
	case 0x38:
		res = shm_call(t, eax, edx);
		break;
	case 0x39:
		res = ticks(e);
		if (galileo) {
			/* times(): tms_utime in CLOCKS_PER_SEC (3640) */
			uint32_t tms[4] = {
			    (uint32_t)((uint64_t)res * 3640 / HZ), 0, 0, 0};
			res = tms[0];
			if (gwrite(t, eax, tms, sizeof tms) < 0)
				return;
		}
		break;
	case 0x3a:
		t->defer = D_EXIT;
		t->defer_a = eax;
		return;
	case 0x3c: {
		int32_t p[5];
		uint32_t pid = (galileo && eax == (uint32_t)-1) ? t->id : eax;
		if (pid == 0 || pid > e->ntask || !e->task[pid - 1] ||
		    e->task[pid - 1]->state == T_EXITED) {
			res = (uint32_t)-1;
			break;
		}
		if (gread(t, ebx, p, sizeof p) < 0)
			return;
		if (p[0] == -1 && p[3] == 0) {
			emu_fault(t, "divide error in the kernel: "
				     "sched_setparam with m = 0");
			return;
		}
		e->task[pid - 1]->priority =
		    p[0] == -1 ? p[4] * p[2] / p[3] : p[0];
		t->defer = D_YIELD;
		break;
	}
	case 0x3d:
		sys_socket(t);
		return;
	}
	set(t, UC_X86_REG_EAX, res);
}

static const char *exception_name(uint32_t v)
{
	switch (v) {
	case 0:
		return "divide error";
	case 1:
		return "debug exception";
	case 3:
		return "breakpoint (int3)";
	case 4:
		return "overflow (into)";
	case 5:
		return "bound range exceeded";
	case 6:
		return "invalid opcode";
	case 7:
		return "device not available";
	case 13:
		return "general protection fault";
	case 14:
		return "page fault";
	case 16:
		return "x87 floating-point error";
	case 17:
		return "alignment check";
	case 19:
		return "SIMD floating-point exception";
	}
	return "exception";
}

void emu_hook_intr(uc_engine *uc, uint32_t intno, void *ud)
{
	struct emu_task *t = ud;
	int galileo = t->e->prof->id == QLOAD_GALILEO;
	uint32_t eip = reg(t, UC_X86_REG_EIP);
	uint8_t op[2] = {0, 0};
	uint32_t last = galileo ? 0x3d : 0x3c;

	/* `int imm8` leaves EIP after itself; an exception at the insn */
	uc_mem_read(uc, eip - 2, op, 2);
	if (op[0] == 0xcd && op[1] == intno) {
		if (intno >= 0x30 && intno <= last) {
			do_syscall(t, intno);
			if (t->defer != D_NONE)
				uc_emu_stop(uc);
			return;
		}
		emu_fault(t,
			  "general protection fault: int $0x%x is no "
			  "system call",
			  intno);
		return;
	}
	emu_fault(t, "%s (vector %u)", exception_name(intno), intno);
}

/* Port I/O (IOPL 3): nothing answers, so reads float high. */
uint32_t emu_hook_in(uc_engine *uc, uint32_t port, int size, void *ud)
{
	struct emu_task *t = ud;
	uint32_t v = size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffffu;

	(void)uc;
	trace(t, "in%c 0x%x -> 0x%x",
	      size == 1	  ? 'b'
	      : size == 2 ? 'w'
			  : 'l',
	      port, v);
	return v;
}

void emu_hook_out(uc_engine *uc, uint32_t port, int size, uint32_t value,
		  void *ud)
{
	struct emu_task *t = ud;

	(void)uc;
	t->e->r->outs++;
	trace(t, "out%c 0x%x <- 0x%x",
	      size == 1	  ? 'b'
	      : size == 2 ? 'w'
			  : 'l',
	      port, value);
}
