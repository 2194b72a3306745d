# SPDX-License-Identifier: GPL-2.0-or-later
# A division by zero: a divide error at the div.
	.code32
	.globl	_start
_start:	xorl	%ecx, %ecx
	divl	%ecx
