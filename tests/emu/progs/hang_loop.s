# SPDX-License-Identifier: GPL-2.0-or-later
# A runaway loop: only --max-insns or --timeout ends it.
	.code32
	.globl	_start
_start:	jmp	_start
