/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The calls no other program makes. master: int $0x30 with another EAX
 * is answered 0 by handle_syscall0 (413-423), and the stub at
 * kernel/interrupt.S 320-329 pops EAX back, so the caller sees its own
 * EAX. galileo (no genuine run: Quest-V needs VT-x): getpid, a device
 * call, pressed_keys, write, close and another socket call. */
#include "qsys.h"

static unsigned sys(unsigned vec_is_3d, unsigned eax, unsigned ebx,
		    unsigned ecx, unsigned edx)
{
	unsigned r;

	if (vec_is_3d)
		asm volatile("int $0x3d"
			     : "=a"(r)
			     : "a"(eax), "b"(ebx), "c"(ecx), "d"(edx)
			     : "memory", "cc", "esi", "edi");
	else
		asm volatile("int $0x30"
			     : "=a"(r)
			     : "a"(eax), "b"(ebx), "c"(ecx), "d"(edx)
			     : "memory", "cc", "esi", "edi");
	return r;
}

void _start(void)
{
#ifdef GALILEO
	char keys[4];
	int f = open("/etc/data.txt");

	print("getpid: ");
	putu(sys(0, 3, 0, 0, 0));
	print("\ndevice call: ");
	print(sys(0, 5, 0, 0, 0) == 0xffffffffu ? "-1" : "?");
	print("\npressed_keys: ");
	{
		int r;
		asm volatile("int $0x34"
			     : "=a"(r)
			     : "a"(keys), "b"(4)
			     : "memory", "cc", "ecx", "edx", "esi", "edi");
		putu((unsigned)r);
	}
	print("\nwrite: ");
	putu(sys(1, 6, 1, (unsigned)"[written]", 9));
	print("\nwrite to a file: ");
	print(sys(1, 6, (unsigned)f, (unsigned)"x", 1) == 0xffffffffu ? "-1"
								      : "?");
	print("\nclose: ");
	putu(sys(1, 1, (unsigned)f, 0, 0));
	print(" again: ");
	print(sys(1, 1, (unsigned)f, 0, 0) == 0xffffffffu ? "-1" : "?");
	print("\nanother socket call: ");
	print(sys(1, 2, 0, 0, 0) == 0xffffffffu ? "-1\n" : "?\n");
#else
	print("syscall0 eax 7: ");
	putu(sys(0, 7, 0, 0, 0));
	print("\nuname returns: ");
	{
		char v[16];
		putu((unsigned)uname(v));
	}
	putchar('\n');
#endif
	_exit(0);
}
