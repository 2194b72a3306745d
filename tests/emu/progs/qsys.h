/* SPDX-License-Identifier: GPL-2.0-or-later */
/* System call stubs for the test programs: Quest's `int` interface with
 * the registers of kernel/interrupt.S. Built once per profile: -DGALILEO
 * selects the 2016 calls where they differ from 2011's (fork takes a VCPU,
 * open gives a descriptor, read takes one, time fills a struct tms).
 * Line numbers in the programs' comments are those of Quest master
 * 2aff5fbf: kernel/interrupt_handler.c unless another file is named.
 * Names: fault_* stop Quest (a fault), hang_* never end there (they need a
 * time limit), emu_* need what only quest-emu gives (input, a large file,
 * galileo's calls); every other program runs on the genuine kernel too. */
#ifndef QSYS_H
#define QSYS_H

#define CLOB "memory", "cc", "ecx", "edx", "esi", "edi"

static inline void putchar(int c)
{
	asm volatile("int $0x30" ::"a"(0), "b"(c) : CLOB);
}

static inline void usleep(unsigned us)
{
	asm volatile("int $0x30" ::"a"(1), "b"(us) : CLOB);
}

/* master's stub (libc/include/syscall.h) sets no EAX: whatever the last
 * call left there goes in, and _fork (432) ignores it; galileo takes the
 * VCPU in EAX, 0 the best-effort one */
static inline int fork(void)
{
	int r;
#ifdef GALILEO
	asm volatile("int $0x31"
		     : "=a"(r)
		     : "a"(0)
		     : "memory", "cc", "ebx", "ecx", "edx", "esi", "edi");
#else
	asm volatile("int $0x31"
		     : "=a"(r)
		     :
		     : "memory", "cc", "ebx", "ecx", "edx", "esi", "edi");
#endif
	return r;
}

static inline void switch_to(int pid)
{
	asm volatile("int $0x32" ::"a"(pid) : CLOB, "ebx");
}

static inline int exec(const char *path, char **argv)
{
	int r;
	asm volatile("int $0x33" : "=a"(r) : "a"(path), "b"(argv) : CLOB);
	return r;
}

static inline int getchar(void)
{
	int r;
	asm volatile("int $0x34" : "=a"(r) : "a"(0), "b"(0) : CLOB);
	return r;
}

/* master: the key's scan code (EBX 1, _getchar 758) */
static inline int getcode(void)
{
	int r;
	asm volatile("int $0x34" : "=a"(r) : "a"(0), "b"(1) : CLOB);
	return r;
}

static inline int open(const char *path)
{
	int r;
	asm volatile("int $0x35" : "=a"(r) : "a"(path), "b"(0) : CLOB);
	return r;
}

/* master reads by path from offset 0; galileo by descriptor */
static inline int read(int file, void *buf, int n)
{
	int r;
	asm volatile("int $0x36"
		     : "=a"(r)
		     : "a"(file), "b"(buf), "c"(n)
		     : "memory", "cc", "edx", "esi", "edi");
	return r;
}

static inline int uname(char *buf)
{
	int r;
	asm volatile("int $0x37" : "=a"(r) : "a"(buf) : CLOB, "ebx");
	return r;
}

static inline unsigned meminfo(unsigned op, unsigned arg)
{
	unsigned r;
	asm volatile("int $0x38"
		     : "=a"(r)
		     : "a"(op), "d"(arg)
		     : "memory", "cc", "ebx", "ecx", "esi", "edi");
	return r;
}

static inline unsigned shared_mem_alloc(void)
{
	return meminfo(1, 0);
}

static inline volatile unsigned *shared_mem_attach(unsigned id)
{
	return (volatile unsigned *)meminfo(2, id);
}

static inline unsigned shared_mem_detach(volatile unsigned *p)
{
	return meminfo(3, (unsigned)p);
}

static inline unsigned shared_mem_free(unsigned id)
{
	return meminfo(4, id);
}

static inline unsigned quest_time(void)
{
	unsigned r;
#ifdef GALILEO
	unsigned tms[4];
	asm volatile("int $0x39" : "=a"(r) : "a"(tms) : CLOB, "ebx");
#else
	asm volatile("int $0x39" : "=a"(r) : : CLOB, "ebx");
#endif
	return r;
}

static inline void _exit(int status)
{
	asm volatile("int $0x3a" ::"a"(status) : CLOB, "ebx");
	for (;;)
		;
}

static inline int waitpid(int pid)
{
	int r;
	asm volatile("int $0x3b" : "=a"(r) : "a"(pid) : CLOB, "ebx");
	return r;
}

struct sched_param {
	int prio, C, T, m, k;
};

static inline int sched_setparam(int pid, const struct sched_param *p)
{
	int r;
	asm volatile("int $0x3c"
		     : "=a"(r)
		     : "a"(pid), "b"(p)
		     : "memory", "cc", "ecx", "edx", "esi", "edi");
	return r;
}

static inline void print(const char *s)
{
	while (*s)
		putchar(*s++);
}

static inline void putu(unsigned v)
{
	char b[12];
	int i = 0;
	do
		b[i++] = (char)('0' + v % 10);
	while (v /= 10);
	while (i)
		putchar(b[--i]);
}

static inline void putx(unsigned v)
{
	print("0x");
	for (int i = 7; i >= 0; i--)
		putchar("0123456789abcdef"[(v >> (4 * i)) & 15]);
}

#endif
