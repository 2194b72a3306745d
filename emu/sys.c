/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Quest's system calls, answered inside Unicorn's interrupt hook: `int
 * $0x30`..`$0x3c` (and galileo's `$0x3d`) with the registers and results of
 * kernel/interrupt.S and kernel/interrupt_handler.c of the chosen profile,
 * looked up in one table (sys_table) of vector, EAX, profiles, name and
 * handler. Calls that change tasks are left to the scheduler (emu.c). A
 * vector the table lacks is a fault: Quest's user code cannot reach it,
 * and an exception in user code makes Quest's kernel stop. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "emu_int.h"

#define HZ 500u /* Quest's timer: 500 ticks a second */

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

/* Next byte of input; -1 at its end (Quest's keyboard would wait), -2
 * when the time limit ends the run while it waits. */
static int in_byte(struct emu_task *t)
{
	struct emu *e = t->e;
	unsigned char c;

	emu_flush(e);
	if (e->o->in_fd < 0 || e->in_eof)
		return -1;
	for (;;) {
		struct pollfd p = {.fd = e->o->in_fd, .events = POLLIN};
		int64_t left = emu_ms_left(e);
		ssize_t r;
		int ready =
		    left == 0 ? 0
			      : poll(&p, 1, left > INT32_MAX ? -1 : (int)left);

		if (ready == 0)
			return emu_over_time(t) ? -2 : -1;
		if (ready < 0 && errno == EINTR)
			continue;
		r = read(e->o->in_fd, &c, 1);
		if (r == 1)
			return c;
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
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

/* A long call's work counts against the task's turn, one instruction per
 * 64 bytes, and the time limit is looked at between chunks: no call holds
 * the emulator much past --timeout. */
#define CHUNK 65536u

static int chunk_done(struct emu_task *t, size_t bytes)
{
	t->slice += bytes / 64;
	t->charged += bytes / 64;
	return emu_over_time(t);
}

/* read: at most count bytes of the file from pos into buf; the bytes read,
 * or -1 when there is no such file. Only the bytes asked for are read. */
static uint32_t read_into(struct emu_task *t, const char *path, uint32_t pos,
			  uint32_t buf, int32_t count)
{
	int fd = emu_root_open(t->e->o->root, path);
	uint8_t *b;
	uint32_t n = 0;

	if (fd < 0)
		return (uint32_t)-1;
	b = count > 0 ? malloc(CHUNK) : NULL;
	while (b && n < (uint32_t)count) {
		uint32_t want =
		    (uint32_t)count - n < CHUNK ? (uint32_t)count - n : CHUNK;
		ssize_t r = pread(fd, b, want, (off_t)pos + n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || gwrite(t, buf + n, b, (size_t)r) < 0)
			break;
		n += (uint32_t)r;
		if (chunk_done(t, (size_t)r))
			break;
	}
	free(b);
	close(fd);
	return n;
}

/* open: the file's size (master) */
static long file_size(struct emu *e, const char *path)
{
	int fd = emu_root_open(e->o->root, path);
	struct stat st;
	long len = -1;

	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size <= INT32_MAX)
		len = (long)st.st_size;
	if (fd >= 0)
		close(fd);
	return len;
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

/* One system call: its registers in, its result out. */
struct sys_call {
	struct emu_task *t;
	uint32_t eax, ebx, ecx, edx;
	int galileo;
	uint32_t res; /* what goes to EAX */
	int keep;     /* EAX stays as it is (put back, or deferred) */
};

static void sys_putchar(struct sys_call *c)
{
	char ch = (char)c->ebx;

	out_bytes(c->t->e, &ch, 1);
	/* master pops EAX and EBX back; galileo returns the result */
	c->keep = !c->galileo;
}

static void sys_usleep(struct sys_call *c)
{
	c->t->defer = D_SLEEP;
	c->t->defer_a = c->ebx;
	c->res = c->ebx;
	c->keep = !c->galileo;
}

static void sys_getpid(struct sys_call *c)
{
	c->res = c->t->id;
}

/* master's handle_syscall0 answers 0 to any other EAX, then puts EAX
 * back; galileo's devices (usb, vcpu, video, gpio, i2c...) are absent */
static void sys_other0(struct sys_call *c)
{
	c->keep = !c->galileo;
	if (c->galileo && c->eax < 14) {
		trace(c->t, "int 0x30 eax=%u: not emulated, -1", c->eax);
		c->res = (uint32_t)-1;
	}
}

/* master's _fork takes nothing (its stub leaves EAX as it was); galileo
 * forks onto the VCPU EAX names, and only VCPU 0 is here */
static void sys_fork(struct sys_call *c)
{
	if (c->galileo && c->eax != 0) {
		trace(c->t, "fork onto VCPU %u: there is only VCPU 0, -1",
		      c->eax);
		c->res = (uint32_t)-1;
		return;
	}
	c->t->defer = D_FORK;
	c->keep = 1;
}

static void sys_waitpid(struct sys_call *c)
{
	c->t->defer = D_WAIT;
	c->t->defer_a = c->eax;
	c->keep = 1;
}

/* _exec: argv and argv[0] first, then the line, then the path */
static void sys_exec(struct sys_call *c)
{
	struct emu_task *t = c->t;
	uint32_t argv0;

	c->res = (uint32_t)-1;
	if (!c->ebx)
		return;
	c->keep = 1;
	if (gread(t, c->ebx, &argv0, 4) < 0)
		return;
	if (!argv0) {
		c->keep = 0;
		return;
	}
	t->exec_line = gstring(t, argv0, EMU_CMDLINE_MAX);
	t->exec_path = t->exec_line ? gstring(t, c->eax, 256) : NULL;
	if (!t->exec_path) {
		free(t->exec_line);
		t->exec_line = NULL;
		return;
	}
	t->defer = D_EXEC;
}

/* master: getchar (EBX 0) and getcode (EBX 1) both take the next byte */
static void sys_getchar(struct sys_call *c)
{
	int ch = in_byte(c->t);

	c->keep = ch == -2;
	c->res = (uint32_t)ch;
}

/* galileo: pressed_keys(buf, max): no key is ever down */
static void sys_pressed_keys(struct sys_call *c)
{
	c->res = 0;
}

static void sys_open(struct sys_call *c)
{
	char *s = gstring(c->t, c->eax, 256);
	long len;

	c->keep = !s;
	if (!s)
		return;
	len = file_size(c->t->e, s);
	c->res = (uint32_t)len;
	if (c->galileo && len >= 0)
		c->res = (uint32_t)file_fd(c->t, s);
	free(s);
}

/* galileo's read of descriptor 0: a line of input */
static void read_stdin(struct sys_call *c)
{
	uint32_t i = 0;
	int ch;

	while (i < c->ecx && (ch = in_byte(c->t)) >= 0) {
		char b = (char)ch;
		if (gwrite(c->t, c->ebx + i, &b, 1) < 0)
			return;
		i++;
		if (b == '\n')
			break;
	}
	c->keep = c->t->e->stop_all;
	c->res = i;
}

static void sys_read(struct sys_call *c)
{
	struct emu_task *t = c->t;
	char *s;

	c->res = (uint32_t)-1;
	if (c->galileo && c->eax == 0) {
		read_stdin(c);
	} else if (c->galileo) {
		if (c->eax >= EMU_MAX_FD || c->eax < 3 || !t->fd[c->eax].path)
			return;
		c->res = read_into(t, t->fd[c->eax].path, t->fd[c->eax].pos,
				   c->ebx, (int32_t)c->ecx);
		if ((int32_t)c->res > 0)
			t->fd[c->eax].pos += c->res;
	} else if ((s = gstring(t, c->eax, 256))) {
		c->res = read_into(t, s, 0, c->ebx, (int32_t)c->ecx);
		free(s);
	}
	c->keep = t->e->stop_all;
}

static void sys_uname(struct sys_call *c)
{
	const char *v = c->galileo ? "0.9.00" : "0.1a";

	c->keep = gwrite(c->t, c->eax, v, strlen(v) + 1) < 0;
}

static void sys_meminfo(struct sys_call *c)
{
	c->res = c->eax == 0 ? EMU_MEMINFO_FREE : (uint32_t)-1;
}

static void sys_shm_alloc(struct sys_call *c)
{
	c->res = emu_shm_alloc(c->t->e);
}

static void sys_shm_attach(struct sys_call *c)
{
	c->res = emu_shm_attach(c->t, c->edx);
}

static void sys_shm_detach(struct sys_call *c)
{
	c->res = emu_shm_detach(c->t, c->edx);
}

static void sys_shm_free(struct sys_call *c)
{
	c->res = emu_shm_free(c->t->e, c->edx);
}

static void sys_time(struct sys_call *c)
{
	c->res = ticks(c->t->e);
	if (c->galileo) {
		/* times(): tms_utime in CLOCKS_PER_SEC (3640) */
		uint32_t tms[4] = {(uint32_t)((uint64_t)c->res * 3640 / HZ), 0,
				   0, 0};
		c->res = tms[0];
		c->keep = gwrite(c->t, c->eax, tms, sizeof tms) < 0;
	}
}

static void sys_exit(struct sys_call *c)
{
	c->t->defer = D_EXIT;
	c->t->defer_a = c->eax;
	c->keep = 1;
}

/* Quest computes k*T/m with a 32-bit imul and idiv: the product wraps, and
 * m = 0 or INT_MIN / -1 is a divide error in the kernel, which stops
 * Quest. Here the same arithmetic never traps the host. */
static void sys_setparam(struct sys_call *c)
{
	struct emu_task *t = c->t, *w;
	uint32_t pid = (c->galileo && c->eax == (uint32_t)-1) ? t->id : c->eax;
	int32_t p[5];
	uint32_t kt;

	c->res = (uint32_t)-1;
	w = pid && pid <= t->e->ntask ? t->e->task[pid - 1] : NULL;
	if (!w || w->state == T_EXITED)
		return;
	c->keep = 1;
	if (gread(t, c->ebx, p, sizeof p) < 0)
		return;
	kt = (uint32_t)p[4] * (uint32_t)p[2];
	if (p[0] == -1 && (p[3] == 0 || (kt == 0x80000000u && p[3] == -1))) {
		emu_fault(t,
			  "divide error in the kernel: sched_setparam with "
			  "k*T = %d, m = %d",
			  (int32_t)kt, p[3]);
		return;
	}
	w->priority = p[0] == -1 ? (int32_t)kt / p[3] : p[0];
	t->defer = D_YIELD;
	c->keep = 0;
	c->res = 0;
}

/* galileo's write(1 or 2, buf, n) goes to the console, in chunks */
static void sys_write(struct sys_call *c)
{
	char *buf;
	uint32_t done = 0;

	c->res = (uint32_t)-1;
	if (c->ebx != 1 && c->ebx != 2)
		return;
	buf = malloc(CHUNK);
	while (buf && done < c->edx) {
		uint32_t n = c->edx - done < CHUNK ? c->edx - done : CHUNK;
		if (gread(c->t, c->ecx + done, buf, n) < 0)
			break;
		out_bytes(c->t->e, buf, n);
		done += n;
		if (chunk_done(c->t, n))
			break;
	}
	free(buf);
	c->res = buf ? done : (uint32_t)-1;
	c->keep = c->t->e->stop_all;
}

static void sys_close(struct sys_call *c)
{
	struct emu_fd *f = &c->t->fd[c->ebx < EMU_MAX_FD ? c->ebx : 0];

	c->res = (uint32_t)-1;
	if (c->ebx > 2 && c->ebx < EMU_MAX_FD && f->path) {
		free(f->path);
		f->path = NULL;
		c->res = 0;
	}
}

static void sys_enosys(struct sys_call *c)
{
	trace(c->t, "int 0x%x eax=%u: not emulated, -1", c->t->vec, c->eax);
	c->res = (uint32_t)-1;
}

#define ANY 0xffffffffu /* any EAX */
#define M   QLOAD_MASK_MASTER
#define G   QLOAD_MASK_GALILEO
#define B   (M | G)

/* Every system call quest-emu answers; the first row that matches the
 * vector, the profile and EAX is the call. (The man page's list is checked
 * against it: quest-emu --list-syscalls.) */
static const struct emu_sysrow {
	uint8_t vec;
	uint32_t eax;
	unsigned prof;
	const char *name;
	void (*fn)(struct sys_call *c);
} sys_table[] = {
    {0x30, 0, B, "putchar", sys_putchar},
    {0x30, 1, B, "usleep", sys_usleep},
    {0x30, 3, G, "getpid", sys_getpid},
    {0x30, ANY, B, "syscall0", sys_other0},
    {0x31, ANY, B, "fork", sys_fork},
    {0x32, ANY, B, "switch_to", sys_waitpid},
    {0x33, ANY, B, "exec", sys_exec},
    {0x34, ANY, M, "getchar/getcode", sys_getchar},
    {0x34, ANY, G, "pressed_keys", sys_pressed_keys},
    {0x35, ANY, B, "open", sys_open},
    {0x36, ANY, B, "read", sys_read},
    {0x37, ANY, B, "uname", sys_uname},
    {0x38, 0, B, "meminfo", sys_meminfo},
    {0x38, 1, B, "shared_mem_alloc", sys_shm_alloc},
    {0x38, 2, B, "shared_mem_attach", sys_shm_attach},
    {0x38, 3, B, "shared_mem_detach", sys_shm_detach},
    {0x38, 4, B, "shared_mem_free", sys_shm_free},
    {0x38, ANY, B, "meminfo", sys_meminfo},
    {0x39, ANY, B, "time", sys_time},
    {0x3a, ANY, B, "_exit", sys_exit},
    {0x3b, ANY, B, "waitpid", sys_waitpid},
    {0x3c, ANY, B, "sched_setparam", sys_setparam},
    {0x3d, 1, G, "close", sys_close},
    {0x3d, 6, G, "write", sys_write},
    {0x3d, ANY, G, "socket", sys_enosys},
};

static const struct emu_sysrow *sys_find(unsigned prof, uint32_t vec,
					 uint32_t eax)
{
	for (size_t i = 0; i < sizeof sys_table / sizeof *sys_table; i++) {
		const struct emu_sysrow *r = &sys_table[i];
		if (r->vec == vec && (r->prof & prof) &&
		    (r->eax == ANY || r->eax == eax))
			return r;
	}
	return NULL;
}

void emu_syscalls_write(FILE *f)
{
	for (size_t i = 0; i < sizeof sys_table / sizeof *sys_table; i++) {
		const struct emu_sysrow *r = &sys_table[i];
		char eax[16] = "*";
		if (r->eax != ANY)
			snprintf(eax, sizeof eax, "%u", r->eax);
		fprintf(f, "int $0x%02x eax %s %s %s\n", r->vec, eax, r->name,
			r->prof == B   ? "master,galileo"
			: r->prof == M ? "master"
				       : "galileo");
	}
}

/* One call, looked up in the table; 0, or -1 when the vector is none. */
static int do_syscall(struct emu_task *t, uint32_t vec)
{
	unsigned prof = 1u << t->e->prof->id;
	struct sys_call c = {.t = t,
			     .galileo = t->e->prof->id == QLOAD_GALILEO};
	const struct emu_sysrow *row;

	c.eax = reg(t, UC_X86_REG_EAX);
	c.ebx = reg(t, UC_X86_REG_EBX);
	c.ecx = reg(t, UC_X86_REG_ECX);
	c.edx = reg(t, UC_X86_REG_EDX);
	row = sys_find(prof, vec, c.eax);
	if (!row)
		return -1;
	t->last_sys = row->name;
	t->vec = vec;
	trace(t, "int 0x%x %s eax=0x%x ebx=0x%x ecx=0x%x edx=0x%x", vec,
	      row->name, c.eax, c.ebx, c.ecx, c.edx);
	row->fn(&c);
	if (!c.keep && !t->e->stop_all)
		set(t, UC_X86_REG_EAX, c.res);
	return 0;
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
	uint32_t eip = reg(t, UC_X86_REG_EIP);
	uint8_t op[2] = {0, 0};

	/* `int imm8` leaves EIP after itself; an exception at the insn */
	uc_mem_read(uc, eip - 2, op, 2);
	if (op[0] == 0xcd && op[1] == intno) {
		if (do_syscall(t, intno) == 0) {
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
