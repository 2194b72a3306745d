# SPDX-License-Identifier: GPL-2.0-or-later
# int $0x80 is no Quest system call: a general protection fault.
	.code32
	.globl	_start
_start:	movl	$1, %eax
	int	$0x80
	movl	$0, %eax
	int	$0x3a
