# A runaway loop: only --max-insns or --timeout ends it.
	.code32
	.globl	_start
_start:	jmp	_start
