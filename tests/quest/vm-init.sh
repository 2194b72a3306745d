#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=dash
# /init of make check-quest-vm (tests/quest/vm.sh): the Debian i386 VM of
# check-i386-vm, with an ivshmem-plain device on the region the Quest VM
# maps too. questfs mounts with channel=vshm: on the device's BAR 2 as
# Linux shows it (/sys/bus/pci/devices/D/resource2), waits for Quest's
# proc_creat, and cp hello /quest/run/ must end "delivered" in status;
# the host reads "Hello from Quest!" on the Quest VM's COM2. Each step
# prints "vm: ok …" or "vm: FAIL …"; the last line is "vm: RESULT pass" or
# "vm: RESULT fail".
/bin/busybox --install -s /bin
export PATH=/bin:/qfs LD_LIBRARY_PATH=/lib
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/shm /tmp /quest /run /etc
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
ln -s /proc/mounts /etc/mtab

. /vm-lib.sh # ok, bad, until_ok, finish

echo "vm: kernel $(uname -r) $(uname -m)"
insmod /lib/modules/fuse.ko && [ -c /dev/fuse ] || {
	bad "no /dev/fuse"
	finish
}
dev=""
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1af4 ] && [ "$(cat "$d/device")" = 0x1110 ] && dev=$d
done
[ -n "$dev" ] && [ -e "$dev/resource2" ] || {
	bad "no ivshmem device (1af4:1110) with a BAR 2 in /sys/bus/pci/devices"
	finish
}
echo 1 >"$dev/enable" 2>/dev/null
ok "ivshmem at $dev, BAR 2: $(sed -n 3p "$dev/resource")"

questfs -o "channel=vshm:$dev/resource2,spool=/tmp/spool" /quest 2>/tmp/qfs.log &&
	until_ok 300 grep -q " /quest fuse.questfs " /proc/mounts && ok "questfs mounted, channel=vshm:$dev/resource2" || {
	bad "questfs did not mount: $(cat /tmp/qfs.log)"
	finish
}
# the Quest VM boots meanwhile (GRUB, then proc_creat attaches)
until_ok 1800 grep -q '^quest side  attached (Quest' /quest/status &&
	ok "$(grep '^quest side' /quest/status)" || bad "Quest never attached: $(cat /quest/status)"
cp /qfs/examples/hello /quest/run/ && ok "cp hello /quest/run/" || bad "cp hello"
until_ok 600 grep -q '^jobs .* delivered 1, refused 0, failed 0$' /quest/status &&
	ok "status: hello delivered (Quest accepted it)" || bad "status: hello not delivered"
cat /quest/status
cat /quest/log
fusermount3 -u /quest && ok "fusermount3 -u /quest" || bad "fusermount3 -u /quest"
finish
