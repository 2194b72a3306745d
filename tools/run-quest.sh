#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# `make run-quest QUEST_SRC=...`: `make run` with the genuine Quest kernel
# (make quest's $BUILD/quest/quest.iso) in qemu-system-i386 as the Quest
# side. QEMU and questfs share a /dev/shm region (ivshmem-plain, vshm:);
# what Quest's programs print (COM2) is shown here; Quest's own log (COM1)
# goes to a file. Ctrl-C stops both and removes what they made.
#   QUEST_MOUNT (default /quest)   where questfs mounts
#   QUEST_ACCEL (default: kvm where /dev/kvm opens, else tcg)
B=${BUILD:-build}
MNT=${QUEST_MOUNT:-/quest}
ISO=$B/quest/quest.iso
TOP=$(cd "$(dirname "$0")/.." && pwd)

[ -f "$ISO" ] || {
	echo "run-quest: $ISO is missing: make quest QUEST_SRC=... first" >&2
	exit 1
}
mkdir -p "$MNT" || exit 1
if grep -qs " $MNT fuse.questfs " /proc/self/mounts; then
	echo "run-quest: questfs is already mounted at $MNT (fusermount3 -u $MNT)" >&2
	exit 1
fi
if [ -z "${QUEST_ACCEL:-}" ]; then
	QUEST_ACCEL=tcg
	[ -r /dev/kvm ] && [ -w /dev/kvm ] && QUEST_ACCEL=kvm
fi

D=$(mktemp -d /tmp/questfs-run-quest.XXXXXX) || exit 1
REGION=/dev/shm/questfs-run-quest-$$
qemu=""
tailp=""
watchp=""
stop() {
	[ -n "$qemu" ] && kill "$qemu" 2>/dev/null
	[ -n "$tailp" ] && kill "$tailp" 2>/dev/null
	[ -n "$watchp" ] && kill "$watchp" 2>/dev/null
	wait 2>/dev/null
	rm -f "$REGION"
	rm -rf "$D"
}
trap stop EXIT
trap 'exit 130' INT TERM

# the region: zeroed, 0600 (questfs refuses one others may open); questfs
# initialises its header, QEMU maps the same file as BAR 2
truncate -s 1M "$REGION" && chmod 600 "$REGION" || exit 1
: >"$D/com1.log"
: >"$D/com2.log"
qemu-system-i386 -accel "$QUEST_ACCEL" -m 256 -display none -no-reboot \
	-cdrom "$ISO" -boot d \
	-serial "file:$D/com1.log" -serial "file:$D/com2.log" \
	-object "memory-backend-file,id=m,size=1M,share=on,mem-path=$REGION" \
	-device ivshmem-plain,memdev=m >"$D/qemu.log" 2>&1 &
qemu=$!
tail -n +1 -f "$D/com2.log" &
tailp=$!
# Quest's crash debugger stops the whole system: say so, with its report
python3 "$TOP/tests/quest/qwatch.py" crash "$D/com1.log" "$qemu" &
watchp=$!

cat <<MSG

Quest is booting in QEMU ($QUEST_ACCEL; about 8 s under tcg) with an
ivshmem region $REGION, and questfs is mounting at $MNT with
channel=vshm:$REGION. What Quest's programs print appears below; Quest's
log is $D/com1.log. In another terminal:

    cp $B/examples/hello $MNT/run/
    cat $MNT/status
    echo 'lorem ipsum' > $MNT/run/hello_argvs.args
    cp $B/examples/hello_argvs $MNT/run/      # Quest master: argc 1
    tail -f $MNT/log

Ctrl-C stops questfs and QEMU and removes the region.

MSG
"$B/questfs" -f -o "channel=vshm:$REGION" "$MNT"
