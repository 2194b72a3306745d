#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench's quest-emu rows: guest instructions per second on a tight
# loop and on a putchar-heavy program, and the wall time of a whole run of
# examples/hello (the median of 21), as quest-emu --stats reports them.
set -u -o pipefail
B=${BUILD:-build}
EMU=$B/quest-emu
tmp=$(mktemp -d /tmp/quest-emu-bench.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

for p in loop putchar; do
	as --32 -o "$tmp/$p.o" "bench/emu/$p.s" &&
		ld -m elf_i386 -static -z noseparate-code -Ttext-segment=0x1000 \
			-e _start -o "$tmp/$p" "$tmp/$p.o" || exit 1
done

# stats PROGRAM: "instructions wall-seconds cpu-seconds" of one run
stats() {
	"$EMU" --stats "$@" 2>&1 >/dev/null |
		awk '/instructions/ { print $2, $(NF - 4), $(NF - 2) }'
}
# rate PROGRAM: the best of 3, per second of wall time and of CPU time
# (the CPU figure holds when other work shares the machine)
rate() {
	local bw=0 bc=0 i w c
	for i in 1 2 3; do
		read -r w c < <(stats "$1" | awk '{ printf "%.1f %.1f", $1 / $2 / 1e6, $1 / $3 / 1e6 }')
		bw=$(awk -v a="$bw" -v b="$w" 'BEGIN { print (b > a) ? b : a }')
		bc=$(awk -v a="$bc" -v b="$c" 'BEGIN { print (b > a) ? b : a }')
	done
	echo "$bw wall, $bc CPU"
}
startup() {
	local i
	for i in $(seq 21); do
		s=$(date +%s%N)
		"$EMU" "$B/examples/hello" >/dev/null
		e=$(date +%s%N)
		echo $(((e - s) / 1000))
	done | sort -n | sed -n 11p
}

{
	echo "quest-emu (Unicorn $(pkg-config --modversion unicorn 2>/dev/null)), best of 3"
	echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg)"
	printf '  %-40s %24s M instructions/s (target >= 100)\n' "tight loop (dec; jnz)" "$(rate "$tmp/loop")"
	printf '  %-40s %24s M instructions/s\n' "putchar-heavy (one int \$0x30 in 5)" "$(rate "$tmp/putchar")"
	printf '  %-40s %24s us (median of 21)\n' "start-up: a run of examples/hello" "$(startup)"
} | tee "$B/bench/emu.txt"
