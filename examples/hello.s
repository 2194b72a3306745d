# SPDX-License-Identifier: GPL-2.0-or-later
# hello: the smallest Quest program. Prints a line with Quest's putchar
# system call (int $0x30, eax=0, ebx=character) and exits (int $0x3a).
	.code32
	.text
	.globl	_start
_start:
	movl	$msg, %esi
1:	movzbl	(%esi), %ebx
	testl	%ebx, %ebx
	jz	2f
	movl	$0, %eax
	int	$0x30
	incl	%esi
	jmp	1b
2:	movl	$0, %eax
	int	$0x3a
3:	jmp	3b

	.section .rodata
msg:	.asciz	"Hello from Quest!\n"
