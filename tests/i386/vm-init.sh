#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=dash
# /init of the initramfs of make check-i386-vm (tests/i386/vm.sh), run by a
# real i386 kernel under qemu-system-i386: mounts questfs with quest-sim,
# copies the examples into run/ with arguments, checks status, runs the
# channel's unit tests (the lock-recovery ones included) and unmounts. Each
# step prints "vm: ok …" or "vm: FAIL …" on the serial console; the last
# line is "vm: RESULT pass" or "vm: RESULT fail", which the host reads.
/bin/busybox --install -s /bin
export PATH=/bin:/qfs LD_LIBRARY_PATH=/lib
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/shm /tmp /quest /run
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /etc
ln -s /proc/mounts /etc/mtab # fusermount3 locks /etc/mtab.fuselock

. /vm-lib.sh # ok, bad, until_ok, finish

echo "vm: kernel $(uname -r) $(uname -m), $(grep -c ^processor /proc/cpuinfo) cpu"
insmod /lib/modules/fuse.ko && [ -c /dev/fuse ] && ok "fuse.ko loaded, /dev/fuse" || {
	bad "no /dev/fuse"
	finish
}
questfs --version | head -1

quest-sim --channel shm:1001 --save /tmp/save >/tmp/sim.log 2>&1 &
sim=$!
until_ok 300 grep -q attached /tmp/sim.log && ok "quest-sim attached" || bad "quest-sim: $(cat /tmp/sim.log)"

questfs -o channel=shm:1001,spool=/tmp/spool /quest 2>/tmp/qfs.log &&
	until_ok 300 grep -q " /quest fuse.questfs " /proc/mounts && ok "questfs mounted at /quest" || {
	bad "questfs did not mount: $(cat /tmp/qfs.log)"
	finish
}

cp /qfs/examples/hello /quest/run/ && ok "cp hello" || bad "cp hello"
echo 'lorem ipsum' >/quest/run/hello_argvs.args && ok "sidecar hello_argvs.args" || bad "sidecar"
cp /qfs/examples/hello_argvs /quest/run/ && ok "cp hello_argvs" || bad "cp hello_argvs"
printf 'not a program' >/tmp/junk
if cp /tmp/junk /quest/run/junk 2>/tmp/cp.err; then
	bad "cp of a text file succeeded"
elif grep -q 'Exec format error' /tmp/cp.err; then
	ok "cp of a text file refused: $(cat /tmp/cp.err)"
else
	bad "cp of a text file: $(cat /tmp/cp.err)"
fi
delivered() { grep -q '^jobs .* delivered 2, refused 1, failed 0$' /quest/status; }
until_ok 600 delivered && ok "status: 2 delivered, 1 refused" || bad "status: not 2 delivered, 1 refused"
cat /quest/status
grep -q '#2 hello_argvs: .*galileo: argc 3, argv\[0\] "hello_argvs", argv\[1\] "lorem".*: accepted' /tmp/sim.log &&
	ok "quest-sim got the command line 'hello_argvs lorem ipsum'" || bad "quest-sim: $(cat /tmp/sim.log)"
cmp /qfs/examples/hello /tmp/save/000001.elf && ok "hello arrived byte for byte" || bad "hello differs"

fusermount3 -u /quest && ok "fusermount3 -u /quest" || bad "fusermount3 -u /quest"
until_ok 300 sh -c '! pidof questfs >/dev/null' && ok "questfs exited" || bad "questfs still runs"
# a service manager stops questfs with SIGTERM: it unmounts and exits 0.
# libfuse cancels its worker threads, for which glibc loads libgcc_s.so.1
# (an image without it aborts here). Under qemu-user, a multithreaded i386
# questfs dies of SIGSEGV here (with -s, which cancels nothing, it does
# not): this kernel is what tells how questfs itself behaves.
questfs -f -o channel=shm:1001,spool=none /quest 2>/tmp/qfs2.log &
qfs=$!
until_ok 300 grep -q " /quest fuse.questfs " /proc/mounts || bad "questfs -f did not mount: $(cat /tmp/qfs2.log)"
kill -TERM "$qfs"
wait "$qfs"
rc=$?
if [ "$rc" = 0 ] && ! grep -q " /quest fuse.questfs " /proc/mounts; then
	ok "SIGTERM: questfs unmounted /quest and exited 0"
else
	bad "SIGTERM: questfs exit status $rc; $(grep ' /quest ' /proc/mounts) $(cat /tmp/qfs2.log)"
fi
kill "$sim"
wait "$sim"

echo "vm: the channel's unit tests, natively on this kernel"
test_chan >/tmp/chan.log 2>&1
rc=$?
cat /tmp/chan.log
[ "$rc" = 0 ] && ok "test_chan passed" || bad "test_chan: exit $rc"
for t in test_sender_dies_holding_lock test_receiver_dies_holding_lock; do
	grep -q "OK \] $t\$" /tmp/chan.log && ok "$t ran and passed" || bad "$t did not run and pass"
done
finish
