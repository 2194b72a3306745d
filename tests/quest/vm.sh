#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make check-quest-vm: Quest-V's shape in two QEMU machines. The Quest VM
# (make quest's CD) and the Debian i386 VM of check-i386-vm (the i386
# build, tests/i386/vm.sh with tests/quest/vm-init.sh as its /init) attach
# one /dev/shm file as ivshmem-plain. Inside the Linux VM, questfs mounts
# with channel=vshm: on the device's resource2 and copies hello into
# run/; "Hello from Quest!" must come out of the Quest VM's COM2, and the
# Linux VM's status must say delivered. Both VMs run under TCG.
set -u
cd "$(dirname "$0")/../.." || exit 1
TOP=$PWD
BUILD=${BUILD:-build}
I386_BUILD=${I386_BUILD:-build-i386}
ISO=$TOP/$BUILD/quest/quest.iso
WATCH="python3 $TOP/tests/quest/qwatch.py"
[ -f "$ISO" ] || { echo "check-quest-vm: $ISO is missing (make quest QUEST_SRC=...)" >&2; exit 2; }

T=$(mktemp -d /tmp/questfs-quest-vm.XXXXXX)
REGION=/dev/shm/questfs-quest-vm-$$
quest_pid=""
cleanup() {
	[ -n "$quest_pid" ] && kill -KILL "$quest_pid" 2>/dev/null
	wait 2>/dev/null
	rm -f "$REGION"
	if [ -n "${KEEP:-}" ]; then echo "check-quest-vm: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

truncate -s 1M "$REGION" && chmod 600 "$REGION" || exit 1
IVSHMEM="-object memory-backend-file,id=m,size=1M,share=on,mem-path=$REGION -device ivshmem-plain,memdev=m"
start=$SECONDS
# shellcheck disable=SC2086 # IVSHMEM: words
qemu-system-i386 -accel tcg -m 256 -display none -no-reboot -cdrom "$ISO" -boot d \
	-serial "file:$T/com1" -serial "file:$T/com2" $IVSHMEM >"$T/qemu.log" 2>&1 &
quest_pid=$!

rc=0
VM_INIT=$TOP/tests/quest/vm-init.sh VM_QEMU_ARGS=$IVSHMEM bash tests/i386/vm.sh "$I386_BUILD" || rc=$?

echo "check-quest-vm: the Quest VM's log:"
grep -a 'ivshmem\|vshm' "$T/com1" | tr -d '\r' | sed 's/^/  COM1: /'
r=$($WATCH text "$T/com1" "$T/com2" 0 'Hello from Quest!\n' 30 2>&1) || rc=1
if [ "$rc" = 0 ]; then
	echo "check-quest-vm: the Quest VM's COM2: $(cat "$T/com2")"
	echo "check-quest-vm: passed in $((SECONDS - start)) s"
else
	echo "check-quest-vm: failed ($r); COM2: $(cat -A "$T/com2" 2>/dev/null)" >&2
fi
exit "$rc"
