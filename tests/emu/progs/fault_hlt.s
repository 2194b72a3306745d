# SPDX-License-Identifier: GPL-2.0-or-later
# hlt is privileged: a general protection fault at user level.
	.code32
	.globl	_start
_start:	hlt
