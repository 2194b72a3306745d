#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench: runs bench/bench on a scratch directory and a fresh channel
# key, and whatever happens (failure, Ctrl-C, a hung run killed by the time
# limit) unmounts, stops the daemons it started and removes the segment.
set -u -o pipefail
B=${BUILD:-build}
# The time limit follows the run's length: a round of every path and size
# takes about 30 s plus 150 times --time (the rate passes, the parallel
# writers), twice that is allowed, and two minutes for the start (emu rows,
# programs, daemons, warm-up) and the end. BENCH_LIMIT=SEC overrides it.
rounds=3 secs=0.4 prev=
for a in "$@"; do
	case $prev in
	--rounds) rounds=$a ;;
	--time) secs=$a ;;
	esac
	case $a in
	--rounds=*) rounds=${a#*=} ;;
	--time=*) secs=${a#*=} ;;
	esac
	prev=$a
done
LIMIT=${BENCH_LIMIT:-$(awk -v r="$rounds" -v t="$secs" \
	'BEGIN { r += 0; t += 0; if (r < 1) r = 3; if (t <= 0) t = 0.4;
		 printf "%d", 120 + 2 * r * (30 + 150 * t) }')}

[ "$(id -u)" = 0 ] || { echo "bench: run as root (it mounts FUSE filesystems)" >&2; exit 1; }
[ -c /dev/fuse ] || { echo "bench: no /dev/fuse" >&2; exit 1; }

dir=$(mktemp -d /dev/shm/questfs-bench.XXXXXX) || exit 1
key=$((700000000 + RANDOM * 32768 + RANDOM))

cleanup() {
	local rc=$? sim=0 qfs=0 nfs=0 qfs2=0 nfsq=0 p m
	[ -r "$dir/pids" ] && read -r sim qfs nfs qfs2 nfsq <"$dir/pids"
	for m in "$dir/quest" "$dir/quest2" "$dir/null" "$dir/nullq"; do
		if grep -qs " $m fuse" /proc/self/mounts; then
			fusermount3 -u -z "$m" 2>/dev/null
		fi
	done
	for p in "$qfs" "$qfs2" "$nfs" "$nfsq" "$sim"; do
		[ "${p:-0}" -gt 0 ] && kill -TERM "$p" 2>/dev/null
	done
	sleep 0.2
	for p in "$qfs" "$qfs2" "$nfs" "$nfsq" "$sim"; do
		[ "${p:-0}" -gt 0 ] && kill -KILL "$p" 2>/dev/null
	done
	rm -f "/dev/shm/questfs-shm-$key"
	rm -rf "/var/lib/questfs/bench-$key" "/var/lib/questfs/bench-$key-2" \
		"/var/lib/questfs/bench-$key-3"
	if [ "$rc" != 0 ]; then
		mkdir -p "$B/bench/logs"
		cp "$dir"/*.log "$B/bench/logs/" 2>/dev/null &&
			echo "bench: failed; daemon logs kept in $B/bench/logs/" >&2
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

echo "bench: time limit ${LIMIT} s (BENCH_LIMIT)" >&2
timeout -k 10 "$LIMIT" "$B/bench/bench" --build "$B" --dir "$dir" --key "$key" "$@" |
	tee "$B/bench/result.txt" || exit
# The same table's channel paths over a vshm: region, beside shm:'s above
# (unless the run was asked for vshm: already).
case " $* " in *" --vshm "*) exit 0 ;; esac
echo
echo "== the channel paths again, over vshm: (a region file in $dir)"
timeout -k 10 "$LIMIT" "$B/bench/bench" --build "$B" --dir "$dir" --key "$key" "$@" \
	--vshm --no-sweep --no-scale --no-passes --paths abc | tee -a "$B/bench/result.txt"
