#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make profile: where questfs spends a launch. Mounts questfs (spool under
# /var/lib/questfs, as make bench) against quest-sim --quiet on a fresh
# key, writes one program into run/ again and again (open, one write,
# close; at most 64 in flight, as the bench's (c)), and prints questfs's
# processor time and page faults per launch, then the profile of
# `perf record -g` over the measured launches (perf report --no-children,
# by symbol). Always unmounts, stops what it started and removes the
# segment, the spool and the scratch directory.
#   bench/profile.sh [SIZE [LAUNCHES [QUESTFS]]]   (393128, 3000, build/questfs)
set -u -o pipefail
B=${BUILD:-build}
SIZE=${1:-393128}
N=${2:-3000}
QFS=${3:-$B/questfs}

[ "$(id -u)" = 0 ] || { echo "profile: run as root (it mounts a FUSE filesystem)" >&2; exit 1; }
command -v perf >/dev/null || { echo "profile: perf is missing (apt-get install linux-perf)" >&2; exit 1; }
for f in "$QFS" "$B/quest-sim" "$B/tests/mkelf"; do
	[ -x "$f" ] || { echo "profile: $f is missing (make all)" >&2; exit 1; }
done

dir=$(mktemp -d /dev/shm/questfs-profile.XXXXXX) || exit 1
key=$((700000000 + RANDOM * 32768 + RANDOM))
spool=/var/lib/questfs/profile-$key
sim=0 qfs=0
cleanup() {
	if grep -qs " $dir/m fuse" /proc/self/mounts; then
		fusermount3 -u -z "$dir/m" 2>/dev/null
	fi
	for p in "$qfs" "$sim"; do
		[ "$p" -gt 0 ] && kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -f "/dev/shm/questfs-shm-$key"
	rm -rf "$spool" "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

mkdir "$dir/m"
"$B/tests/mkelf" --seed 7 --size "$SIZE" "$dir/prog" || exit 1
cat >"$dir/loop.py" <<'PY'
import os, sys
run, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(path, 'rb').read()
for i in range(n):
    while True:
        try:
            fd = os.open(run + '/w0', os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.write(fd, data)
            os.close(fd)
            break
        except OSError:  # EAGAIN/EBUSY: the queue's limits, again
            os.sched_yield()
PY
"$B/quest-sim" --channel "shm:$key" --quiet >"$dir/sim.log" 2>&1 &
sim=$!
for _ in $(seq 100); do grep -qs attached "$dir/sim.log" && break; sleep 0.05; done
"$QFS" -f -o "channel=shm:$key,spool=$spool" "$dir/m" >"$dir/qfs.log" 2>&1 &
qfs=$!
for _ in $(seq 100); do grep -qs " $dir/m fuse" /proc/self/mounts && break; sleep 0.05; done
grep -qs " $dir/m fuse" /proc/self/mounts || { echo "profile: questfs did not mount" >&2; cat "$dir/qfs.log" >&2; exit 1; }

# cpu_faults: questfs's utime+stime (ticks) and minflt+majflt
cpu_faults() { sed 's/.*) //' "/proc/$qfs/stat" | awk '{print $12 + $13, $8 + $10}'; }

python3 "$dir/loop.py" "$dir/m/run" "$dir/prog" 300 || exit 1 # warm-up
read -r c0 f0 < <(cpu_faults)
t0=$(date +%s%N)
perf record -q -g -o "$dir/perf.data" -p "$qfs" -- \
	python3 "$dir/loop.py" "$dir/m/run" "$dir/prog" "$N" || exit 1
t1=$(date +%s%N)
read -r c1 f1 < <(cpu_faults)
echo "questfs $QFS, $N launches of $SIZE bytes, load average $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v c="$((c1 - c0))" -v f="$((f1 - f0))" -v n="$N" -v hz="$(getconf CLK_TCK)" \
	-v w="$(((t1 - t0) / 1000))" 'BEGIN {
	printf "per launch: %.0f us of questfs processor time, %.2f page faults, %.0f us wall (under perf)\n",
	       c * 1e6 / hz / n, f / n, w / n }'
# by symbol, with the callers (two levels) of those over 3 %: in a VM
# without a PMU, time under a disabled interrupt shows as pvm_irq_enable
perf report -i "$dir/perf.data" --no-children --stdio --sort sym \
	-g graph,3,callee --max-stack 3 --percent-limit 1.5 2>/dev/null |
	grep -v '^#' | grep -v '^$' | grep -v '^ *|* *$' | head -${PROFILE_LINES:-60}
