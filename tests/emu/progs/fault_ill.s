# SPDX-License-Identifier: GPL-2.0-or-later
# An illegal instruction after one line of output.
	.code32
	.globl	_start
_start:	movl	$0, %eax
	movl	$'!', %ebx
	int	$0x30
	ud2
