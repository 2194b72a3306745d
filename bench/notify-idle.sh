#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# CPU time questfs-notify (and the questfs it polls) use over an idle
# minute: a fresh questfs with nothing launched, questfs-notify following
# its log at the default interval, utime+stime from /proc/PID/stat before
# and after. IDLE_S changes the minute.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=${QUESTFS_BUILD:-$TOP/build}
IDLE_S=${IDLE_S:-60}
T=$(mktemp -d /tmp/questfs-idle.XXXXXX)
mkdir "$T/mnt"
qpid="" npid=""
done_() {
	[ -z "$npid" ] || kill "$npid" 2>/dev/null
	fusermount3 -u -z "$T/mnt" 2>/dev/null
	[ -z "$qpid" ] || wait "$qpid" 2>/dev/null
	rm -rf "$T"
}
trap done_ EXIT
die() {
	echo "notify-idle: $*" >&2
	exit 1
}

# cpu PID: utime+stime in clock ticks (fields 14 and 15 of /proc/PID/stat)
cpu() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

"$B/questfs" -f -o "channel=dev:$T/sink,spool=none" "$T/mnt" 2>"$T/qfs.log" &
qpid=$!
for _ in $(seq 200); do
	grep -qs " $T/mnt fuse.questfs " /proc/self/mounts && break
	sleep 0.05
done
grep -qs " $T/mnt fuse.questfs " /proc/self/mounts || die "questfs did not mount: $(cat "$T/qfs.log")"
# no session bus is needed: nothing is posted while idle
DBUS_SESSION_BUS_ADDRESS=unix:path=$T/nobus "$B/questfs-notify" "$T/mnt" 2>"$T/notify.log" &
npid=$!
for _ in $(seq 200); do
	grep -qs following "$T/notify.log" && break
	sleep 0.05
done
grep -qs following "$T/notify.log" || die "questfs-notify did not start: $(cat "$T/notify.log")"
# run time in ns, finer than clock ticks, where the kernel keeps it
ns() { [ -r "/proc/$1/schedstat" ] && awk '{ print $1 }' "/proc/$1/schedstat" || echo 0; }
hz=$(getconf CLK_TCK)
n0=$(cpu "$npid") q0=$(cpu "$qpid") ns0=$(ns "$npid")
sleep "$IDLE_S"
n1=$(cpu "$npid") q1=$(cpu "$qpid") ns1=$(ns "$npid")
awk -v n=$((n1 - n0)) -v q=$((q1 - q0)) -v hz="$hz" -v s="$IDLE_S" 'BEGIN {
	printf "questfs-notify idle %d s: %.2f s CPU (questfs answering its stats: %.2f s); clock tick %.3f s\n",
		s, n / hz, q / hz, 1 / hz }'
[ "$ns1" = 0 ] || awk -v d=$((ns1 - ns0)) 'BEGIN { printf "questfs-notify on CPU (schedstat, main thread): %.4f s\n", d / 1e9 }'
