#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the test programs of the fidelity matrix (test_fidelity) into DIR
# the way Quest developers build theirs: GNU as/ld, and C compiled freestanding
# for i386, linked with a script shaped like Quest's module.ld (text at 0x1000
# after the headers, data on the next page) or with ld's own script at a
# given text address. Nothing here is checked in as a binary.
# Usage: tests/quest/mkprogs.sh DIR
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"

# i686-linux-gnu-gcc (gcc-i686-linux-gnu) or a multilib gcc
if command -v i686-linux-gnu-gcc >/dev/null 2>&1; then
	cc32="i686-linux-gnu-gcc"
else
	cc32="gcc -m32"
fi
CFLAGS="-ffreestanding -nostdlib -static -fno-pie -no-pie -O1 -fno-asynchronous-unwind-tables -fcf-protection=none -Wl,--build-id=none"

cat >quest.ld <<'LD'
OUTPUT_FORMAT("elf32-i386")
OUTPUT_ARCH(i386)
ENTRY(_start)
SECTIONS
{
  . = 0x1000 + SIZEOF_HEADERS;
  .text : { *(.text .text.*) }
  .rodata : { *(.rodata .rodata.*) }
  . = DATA_SEGMENT_ALIGN(0x1000, 0x1000);
  .data : { *(.data .data.*) }
  .bss : { *(.bss .bss.*) *(COMMON) }
  /DISCARD/ : { *(.comment) *(.eh_frame) *(.note.GNU-stack) }
}
LD

# quest.ld with .bss in a segment of its own, on the .data page
cat >bss-seg.ld <<'LD'
OUTPUT_FORMAT("elf32-i386")
OUTPUT_ARCH(i386)
ENTRY(_start)
PHDRS { text PT_LOAD FILEHDR PHDRS; data PT_LOAD; bss PT_LOAD; }
SECTIONS
{
  . = 0x1000 + SIZEOF_HEADERS;
  .text : { *(.text .text.*) } :text
  . = ALIGN(0x1000);
  .data : { *(.data .data.*) } :data
  .bss : { *(.bss .bss.*) *(COMMON) } :bss
  /DISCARD/ : { *(.comment) *(.eh_frame) *(.note.GNU-stack) }
}
LD

# four PT_LOADs: text, rodata, data, and a second data segment
cat >four.ld <<'LD'
OUTPUT_FORMAT("elf32-i386")
OUTPUT_ARCH(i386)
ENTRY(_start)
PHDRS { text PT_LOAD FILEHDR PHDRS; ro PT_LOAD; data PT_LOAD; more PT_LOAD; }
SECTIONS
{
  . = 0x1000 + SIZEOF_HEADERS;
  .text : { *(.text .text.*) } :text
  . = ALIGN(0x1000);
  .rodata : { *(.rodata .rodata.*) } :ro
  . = ALIGN(0x1000);
  .data : { *(.data) } :data
  . = ALIGN(0x1000);
  .data2 : { *(.data2) } :more
  .bss : { *(.bss .bss.*) *(COMMON) } :more
  /DISCARD/ : { *(.comment) *(.eh_frame) *(.note.GNU-stack) }
}
LD

# exit(0) through int 0x3a, as Quest's libc does
cat >quest.h <<'C'
static inline __attribute__((noreturn)) void quest_exit(int status)
{
	__asm__ volatile("int $0x3a" : : "a"(status));
	for (;;)
		;
}
C

cat >hello.c <<'C'
#include "quest.h"
static const char msg[] = "hello from Quest\n";
volatile int calls = 1;
static volatile int seen;
void _start(void)
{
	for (const char *p = msg; *p; p++)
		__asm__ volatile("int $0x30" : : "a"(0), "b"(*p));
	seen = calls;
	quest_exit(0);
}
C

cat >only-bss.c <<'C'
#include "quest.h"
static volatile int counter;
void _start(void) { counter++; quest_exit(counter - 1); }
C

cat >big-bss.c <<'C'
#include "quest.h"
static volatile char big[3 << 20];
void _start(void) { big[0] = big[sizeof big - 1]; quest_exit(big[0]); }
C

cat >big-bss-data.c <<'C'
#include "quest.h"
volatile int seed = 7;
static volatile char big[3 << 20];
void _start(void) { big[sizeof big - 1] = (char)seed; quest_exit(big[0]); }
C

cat >rw-entry.s <<'S'
# the whole program in one writable segment: code in .data
	.section .data, "awx"
	.globl _start
_start:	movl	$0, %eax
	int	$0x3a
1:	jmp	1b
counter: .long 42
S

cat >page-edge-data.s <<'S'
# a page-aligned initialised table that fills its page exactly
	.text
	.globl _start
_start:	movl	table, %eax
	movl	$0, %eax
	int	$0x3a
	.section .data
	.balign 4096
table:	.fill	1024, 4, 0x51554553
S

cat >page-edge-text.s <<'S'
# code padded with nops to the end of its page
	.text
	.globl _start
_start:	movl	$0, %eax
	int	$0x3a
	.balign	4096, 0x90
S

cat >cross.s <<'S'
# text of more than a page: linked at 0x3EF000 it crosses 0x3F0000
	.text
	.globl _start
_start:	movl	$0, %eax
	int	$0x3a
	.fill	6000, 1, 0x90
	ret
S

cat >four.c <<'C'
#include "quest.h"
const int ro_table[4] = {1, 2, 3, 4};
volatile int data_word = 5;
__attribute__((section(".data2"))) volatile int more_word = 6;
static volatile int zero;
void _start(void) { zero = ro_table[1] + data_word + more_word; quest_exit(0); }
C

ld32() { ld -m elf_i386 -static --build-id=none "$@"; }
as32() { as --32 "$@"; }

$cc32 $CFLAGS -T quest.ld -o hello hello.c
$cc32 $CFLAGS -T quest.ld -o only-bss only-bss.c
$cc32 $CFLAGS -T quest.ld -o big-bss big-bss.c
$cc32 $CFLAGS -T quest.ld -o big-bss-data big-bss-data.c
$cc32 $CFLAGS -T bss-seg.ld -o bss-own-segment big-bss-data.c
$cc32 $CFLAGS -T bss-seg.ld -o bss-own-segment-small hello.c
$cc32 $CFLAGS -T four.ld -o four-loads four.c
$cc32 $CFLAGS -Wl,-z,separate-code -Wl,-Ttext-segment=0x1000 -o separate-code hello.c
$cc32 $CFLAGS -Wl,-z,noseparate-code -Wl,-Ttext-segment=0x1000 -o noseparate-code hello.c
$cc32 $CFLAGS -T quest.ld -o stripped hello.c
strip stripped
$cc32 -ffreestanding -nostdlib -static -fno-pie -no-pie -O1 -fcf-protection=full \
	-Wl,-z,noseparate-code -Wl,-Ttext-segment=0x1000 -o cf-protection hello.c
$cc32 $CFLAGS -o at-0x8048000 hello.c
$cc32 $CFLAGS -Wl,-Ttext-segment=0x400000 -o at-0x400000 hello.c
for s in rw-entry page-edge-data page-edge-text cross; do
	as32 -o "$s.o" "$s.s"
done
ld32 -T quest.ld -o rw-entry rw-entry.o
ld32 -T quest.ld -o page-edge-data page-edge-data.o
ld32 -T quest.ld -o page-edge-text page-edge-text.o
ld32 -z noseparate-code -Ttext-segment=0x3EF000 -o cross-0x3f0000 cross.o
rm -f ./*.o
