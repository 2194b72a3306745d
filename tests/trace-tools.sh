#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Prints the FUSE requests each copying tool sends to run/, as the rows of
# tests/unit/test_launch.c list them: questfs runs with -d on a scratch
# mount and every request of one tool's copy is picked from its output
# (LOOKUP, GETATTR, GETXATTR and directory reads left out: they are no
# events of the launch rule). Run it again when a tool changes and compare
# with the table. As root, with /dev/fuse; `make trace-tools`.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
B=${BUILD:-$TOP/build}
T=$(mktemp -d /tmp/questfs-trace.XXXXXX)
MNT=$T/mnt
KEY=$((800000000 + RANDOM))
mkdir -p "$MNT" "$T/save"
cleanup() {
	fusermount3 -u -z "$MNT" 2>/dev/null
	[ -n "${QFS:-}" ] && kill "$QFS" 2>/dev/null
	[ -n "${SIM:-}" ] && kill "$SIM" 2>/dev/null
	wait 2>/dev/null
	rm -f "/dev/shm/questfs-shm-$KEY"
	rm -rf "$T"
}
trap cleanup EXIT
"$B/quest-sim" --channel "shm:$KEY" --save "$T/save" >"$T/sim.log" 2>&1 &
SIM=$!
"$B/questfs" -d -o "channel=shm:$KEY,spool=none" "$MNT" >"$T/d.log" 2>&1 &
QFS=$!
end=$((SECONDS + 15))
until grep -qs " $MNT fuse.questfs" /proc/self/mounts; do
	((SECONDS < end)) || { echo "trace-tools: questfs did not mount" >&2; exit 1; }
	sleep 0.05
done
cp "$B/examples/hello" "$T/src"
setfattr -n user.quest.args -v "a b" "$T/src"

# trace NAME CMD...: runs CMD and prints the requests it caused
trace() {
	local name=$1 from
	shift
	from=$(wc -l <"$T/d.log")
	"$@" >/dev/null 2>&1
	sleep 0.3 # RELEASE comes after close(2) returns
	printf '%-22s' "$name"
	tail -n +"$((from + 1))" "$T/d.log" | awk '
		/^unique: .*opcode: / {
			op = $4; ino = $7; sub(/,/, "", ino)
			# an opcode libfuse 3.14 does not know (STATX of newer
			# kernels): answered ENOSYS, no event either
			if (op == "???") { op = "OP" $5; gsub(/[(),]/, "", op) }
			if (op ~ /^(LOOKUP|GETATTR|GETXATTR|LISTXATTR|OPENDIR|READDIR|READDIRPLUS|RELEASEDIR|STATFS|ACCESS|FORGET|BATCH_FORGET|INTERRUPT)$/)
				next
			printf " %s@%s", op, ino
		}
		END { print "" }'
}
trace cp cp "$T/src" "$MNT/run/p1"
trace "cp --preserve=xattr" cp --preserve=xattr "$T/src" "$MNT/run/p2"
trace "cp -a" cp -a "$T/src" "$MNT/run/p3"
cp "$T/src" "$T/mv"
trace mv mv "$T/mv" "$MNT/run/p4"
trace install install "$T/src" "$MNT/run/p5"
trace "rsync -a" rsync -a "$T/src" "$MNT/run/p6"
trace "rsync --inplace" rsync --inplace "$T/src" "$MNT/run/p7"
trace "dd bs=512" dd if="$T/src" of="$MNT/run/p8" bs=512
trace "cat >" sh -c "cat '$T/src' > '$MNT/run/p9'"
trace "gio copy (new)" gio copy "$T/src" "$MNT/run/p10"
trace "gio copy (over)" gio copy "$T/src" "$MNT/run/p10"
head -c 500000 /dev/zero | cat "$T/src" - >"$T/big"
trace "cp (EFBIG)" cp "$T/big" "$MNT/run/p11"
echo "(@N: the inode a request is for; @2 is run/ itself)"
