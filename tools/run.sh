#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# `make run`: quest-sim as the Quest side on shm:1001 and questfs mounted in
# the foreground at /quest (QUEST_MOUNT to change it). Ctrl-C stops both.
B=${BUILD:-build}
MNT=${QUEST_MOUNT:-/quest}
SPEC=${QUEST_CHANNEL:-shm:1001}

mkdir -p "$MNT" || exit 1
if grep -qs " $MNT fuse.questfs " /proc/self/mounts; then
	echo "run: questfs is already mounted at $MNT (fusermount3 -u $MNT)" >&2
	exit 1
fi
"$B/quest-sim" --channel "$SPEC" &
sim=$!
trap 'kill $sim 2>/dev/null; wait $sim 2>/dev/null' EXIT
trap 'exit 130' INT TERM

cat <<MSG

questfs is mounting at $MNT with quest-sim as the Quest side ($SPEC).
In another terminal:

    cp $B/examples/hello $MNT/run/
    cat $MNT/status
    echo 'lorem ipsum' > $MNT/run/hello_argvs.args
    cp $B/examples/hello_argvs $MNT/run/
    gio copy $B/examples/hello $MNT/run/hello2
    printf 'not a program' > /tmp/x && cp /tmp/x $MNT/run/   # Exec format error
    tail -f $MNT/log

quest-sim prints a line for each program it receives. Ctrl-C unmounts.

MSG
"$B/questfs" -f -o "channel=$SPEC" "$MNT"
