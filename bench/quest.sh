#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench's row for the genuine Quest kernel (with QUEST_SRC set): the
# hello case of check-quest, whose timings it reports: QEMU's start to
# proc_creat attached, and cp's return to the first byte on COM2 (the first
# program, then the median of the next five).
set -u -o pipefail
B=${BUILD:-build}
out=$(CASES='^hello$' BUILD=$B bash tests/quest/check.sh 2>&1) || {
	echo "$out" >&2
	exit 1
}
val() { sed -n "s/^  time $1: //p" <<<"$out"; }
median() { tr ' ' '\n' | sort -n | sed -n 3p; }
{
	echo "Quest master in qemu-system-i386 (TCG), vshm: over ivshmem"
	echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg)"
	printf '  %-48s %10s ms\n' "boot: QEMU start to proc_creat attached" "$(val boot1_ms)"
	printf '  %-48s %10s ms\n' "cp to first byte on COM2, first program" "$(val hello_cp_to_first_byte_ms)"
	printf '  %-48s %10s ms\n' "cp to first byte on COM2, median of 5 more" "$(val hello_2_to_6_cp_to_first_byte_ms | median)"
} | tee "$B/bench/quest.txt"
