#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs the command-line tools under valgrind's memcheck: questbinloader
# --check on every mkelf fixture, --out on the valid ones, and a quest-sim
# receiving a few packets over a shm: channel of its own. Any memcheck error
# or definite/indirect leak fails the run (as does a wrong verdict).
# QUESTFS_BUILD: the build directory (default build/; not a sanitizer build).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=${QUESTFS_BUILD:-$TOP/build}
LOADER=$B/questbinloader
SIM=$B/quest-sim
MKELF=$B/tests/mkelf
DEADLINE=${DEADLINE:-60} # seconds: programs start slowly under valgrind

for f in "$LOADER" "$SIM" "$MKELF"; do
	[ -x "$f" ] || { echo "valgrind: $f is missing (make all)" >&2; exit 1; }
done
command -v valgrind >/dev/null || { echo "valgrind: valgrind is missing (run make deps)" >&2; exit 1; }

T=$(mktemp -d /tmp/questfs-valgrind.XXXXXX)
KEY=$((1000000 + (RANDOM * 32768 + RANDOM) % 1000000))
sim_pid=""
cleanup() {
	[ -z "$sim_pid" ] || kill -KILL "$sim_pid" 2>/dev/null
	wait 2>/dev/null
	rm -f "/dev/shm/questfs-shm-$KEY"
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

VG=(valgrind -q --error-exitcode=99 --leak-check=full
	--errors-for-leak-kinds=definite,indirect
	--show-leak-kinds=definite,indirect --num-callers=30)
pass=0 failed=0 n=0

# result NAME RC EXPECTED LOG: exit status 99 is valgrind's verdict
result() {
	if [ "$2" = "$3" ]; then
		pass=$((pass + 1))
		return
	fi
	failed=$((failed + 1))
	if [ "$2" = 99 ]; then
		echo "FAIL  $1: valgrind reports errors:"
	else
		echo "FAIL  $1: exit status $2, expected $3:"
	fi
	sed 's/^/      /' "$4" | head -60
}

# vg NAME EXPECTED CMD...: run CMD under memcheck, expecting exit EXPECTED
vg() {
	local name=$1 want=$2 log=$T/vg.$((++n)).log rc=0
	shift 2
	"${VG[@]}" --log-file="$log.vg" "$@" >"$log" 2>&1 || rc=$?
	cat "$log.vg" >>"$log"
	result "$name" "$rc" "$want" "$log"
}

vg "mkelf" 0 "$MKELF" "$T/fx"
[ -s "$T/fx/INDEX" ] || { echo "valgrind: mkelf wrote no fixtures" >&2; exit 1; }
valid=()
while IFS=$'\t' read -r name expect; do
	if [ "$expect" = ok ]; then
		valid+=("$name")
		vg "check $name" 0 "$LOADER" --check "$T/fx/$name" one two
		vg "check $name (strings)" 0 "$LOADER" --argv-format strings \
			--check "$T/fx/$name" one 'two words' ''
		vg "out $name" 0 "$LOADER" --out "$T/$name.pkt" "$T/fx/$name" a b
		size=$(stat -c %s "$T/fx/$name")
		[ "$(stat -c %s "$T/$name.pkt" 2>/dev/null)" = $((size + 88)) ] ||
			{ failed=$((failed + 1)); echo "FAIL  out $name: packet is not $((size + 88)) bytes"; }
	else
		vg "check $name ($expect)" 1 "$LOADER" --check "$T/fx/$name"
	fi
done <"$T/fx/INDEX"
# an argv that does not fit (exit 2), a file that is not there (exit 1)
vg "args too big" 2 "$LOADER" --check "$T/fx/valid" "$(printf '%090d' 0)"
vg "a word with a space" 2 "$LOADER" --check "$T/fx/valid" 'two words'
vg "missing file" 1 "$LOADER" --check "$T/fx/no-such-file"

# quest-sim under memcheck takes the valid programs, and refuses one that the
# loader lets through with another profile and a wider window than quest-sim's.
count=$((${#valid[@]} + 1))
simlog=$T/sim.log
"${VG[@]}" --log-file="$simlog.vg" "$SIM" --channel "shm:$KEY" --count "$count" \
	--save "$T/save" >"$simlog" 2>&1 &
sim_pid=$!
end=$((SECONDS + DEADLINE))
until grep -q attached "$simlog" 2>/dev/null; do
	if ((SECONDS >= end)) || ! kill -0 "$sim_pid" 2>/dev/null; then
		echo "FAIL  quest-sim did not attach within ${DEADLINE}s:"
		cat "$simlog" "$simlog.vg" | sed 's/^/      /'
		echo "valgrind: $pass passed, $((failed + 1)) failed"
		exit 1
	fi
	sleep 0.1
done
for name in "${valid[@]}"; do
	vg "send $name" 0 "$LOADER" --timeout 60 --channel "shm:$KEY" "$T/fx/$name" x y
done
# galileo loads a program at 4 MiB; quest-sim judges for both kernels
vg "send above-window (refused)" 4 "$LOADER" --timeout 60 --channel "shm:$KEY" \
	--quest-profile galileo --user-limit 0x500000 "$T/fx/above-window"
rc=0
wait "$sim_pid" || rc=$?
sim_pid=""
cat "$simlog.vg" >>"$simlog"
result "quest-sim --count $count" "$rc" 0 "$simlog"
got=$(grep -c ': accepted$' "$simlog")
if [ "$got" != "${#valid[@]}" ]; then
	failed=$((failed + 1))
	echo "FAIL  quest-sim accepted $got programs, expected ${#valid[@]}:"
	sed 's/^/      /' "$simlog"
fi

echo "valgrind: $pass passed, $failed failed"
[ "$failed" = 0 ]
