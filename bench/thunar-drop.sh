#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Thunar's drop to the Quest side: the time from Thunar's CopyInto (what a
# drag-and-drop does) to quest-sim having saved the program, for ROUNDS
# single drops, then for 20 programs in one drop. Thunar 4.18 under Xvfb
# on a private session bus, as in the desktop tests (tests/mounted/).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
export TOP
ROUNDS=${ROUNDS:-20}
. "$TOP/tests/mounted/lib.sh"
. "$TOP/tests/mounted/desktop.sh"

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# until_saved N: wait, polling every 2 ms, for quest-sim's Nth program
until_saved() {
	local end=$((SECONDS + DEADLINE))
	until [ -e "$SAVE/$(printf %06d "$1").elf" ]; do
		((SECONDS < end)) || fail "program $1 not received"
		sleep 0.002
	done
}

setup
start_sim --quiet
start_qfs
start_desktop
mkdir "$T/src"
for i in $(seq 1 $((ROUNDS + 20))); do
	"$MKELF" --seed "$i" --size 4000 "$T/src/p$i" >/dev/null || fail mkelf
done
cd "$T/src" || exit 1
# one drop warms Thunar up (its first copy loads GIO's modules)
drop "$MNT/run" "$T/src/p1"
until_saved 1
times=()
for i in $(seq 2 "$ROUNDS"); do
	t0=$(now_ms)
	drop "$MNT/run" "$T/src/p$i"
	until_saved "$i"
	times+=($(($(now_ms) - t0)))
done
printf '%s\n' "${times[@]}" | sort -n | awk -v n="${#times[@]}" '
	{ v[NR] = $1 }
	END { printf "one program per drop (%d drops): min %d ms, median %d ms, max %d ms\n",
		n, v[1], v[int((n + 1) / 2)], v[n] }'
# what the measuring costs: one gdbus call to Thunar that copies nothing
ping=()
for i in $(seq 1 "$ROUNDS"); do
	t0=$(now_ms)
	gdbus call --session --dest org.xfce.FileManager --object-path /org/xfce/FileManager \
		--method org.freedesktop.DBus.Peer.Ping >/dev/null || fail "ping"
	ping+=($(($(now_ms) - t0)))
done
printf '%s\n' "${ping[@]}" | sort -n | awk -v n="${#ping[@]}" '
	{ v[NR] = $1 }
	END { printf "of which the gdbus call alone (Ping, %d calls): min %d ms, median %d ms\n",
		n, v[1], v[int((n + 1) / 2)] }'
names=()
for i in $(seq $((ROUNDS + 1)) $((ROUNDS + 20))); do names+=("$T/src/p$i"); done
t0=$(now_ms)
drop "$MNT/run" "${names[@]}"
until_saved $((ROUNDS + 20))
echo "20 programs in one drop: the last received after $(($(now_ms) - t0)) ms"
stop_qfs
