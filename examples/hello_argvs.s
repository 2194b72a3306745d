# SPDX-License-Identifier: GPL-2.0-or-later
# hello_argvs: prints its first argument. Quest's loader puts the return
# address, argc and argv on the stack before _start; argv[0] is the name.
	.code32
	.text
	.globl	_start
_start:
	movl	4(%esp), %ecx		# argc
	movl	8(%esp), %edx		# argv
	movl	$noarg, %esi
	cmpl	$2, %ecx
	jl	print
	movl	4(%edx), %esi		# argv[1]
print:	movl	$hello, %edi
	call	puts
	movl	%esi, %edi
	call	puts
	movl	$nl, %edi
	call	puts
	movl	$0, %eax
	int	$0x3a
1:	jmp	1b

# puts: print the NUL-terminated string at %edi
puts:	movzbl	(%edi), %ebx
	testl	%ebx, %ebx
	jz	2f
	movl	$0, %eax
	int	$0x30
	incl	%edi
	jmp	puts
2:	ret

	.section .rodata
hello:	.asciz	"Hello, "
noarg:	.asciz	"(no argument)"
nl:	.asciz	"\n"
