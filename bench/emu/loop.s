# SPDX-License-Identifier: GPL-2.0-or-later
# The tight loop of the instruction-rate row: 2 x 200000000 instructions.
	.code32
	.globl	_start
_start:	movl	$200000000, %ecx
1:	decl	%ecx
	jnz	1b
	movl	$0, %eax
	int	$0x3a
