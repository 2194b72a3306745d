#!/bin/bash
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

# stats PROGRAM: "instructions seconds" of one run
stats() {
	"$EMU" --stats "$@" 2>&1 >/dev/null | awk '/instructions/ { print $2, $(NF - 1) }'
}
rate() {
	local best=0 i r
	for i in 1 2 3; do
		r=$(stats "$1" | awk '{ printf "%.1f", $1 / $2 / 1e6 }')
		best=$(awk -v a="$best" -v b="$r" 'BEGIN { print (b > a) ? b : a }')
	done
	echo "$best"
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
	printf '  %-44s %10s M instructions/s (target >= 100)\n' "tight loop (dec; jnz)" "$(rate "$tmp/loop")"
	printf '  %-44s %10s M instructions/s\n' "putchar-heavy (one int \$0x30 in 5)" "$(rate "$tmp/putchar")"
	printf '  %-44s %10s us (median of 21)\n' "start-up: a whole run of examples/hello" "$(startup)"
} | tee "$B/bench/emu.txt"
