# SPDX-License-Identifier: GPL-2.0-or-later
# The putchar-heavy row: 2000000 system calls, 5 instructions each.
	.code32
	.globl	_start
_start:	movl	$2000000, %esi
1:	movl	$0, %eax
	movl	$'x', %ebx
	int	$0x30
	decl	%esi
	jnz	1b
	movl	$0, %eax
	int	$0x3a
