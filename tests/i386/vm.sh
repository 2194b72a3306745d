#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make check-i386-vm: the i386 build under a real 32-bit kernel. Debian's
# linux-image-686, busybox-static and fuse3 (i386) are fetched with
# apt-get download into BUILD_DIR/vm/debs (kept there as a cache, never in
# git); an initramfs is built from them, the i386 build and the i386
# libraries it links (from this machine's multiarch packages); qemu-system-
# i386 boots it under TCG with the serial console in BUILD_DIR/vm/console.log;
# its /init (tests/i386/vm-init.sh) runs the checks and prints the result,
# which is read from the console. VM_DEADLINE (600 s) bounds the boot.
# VM_INIT names another /init (make check-quest-vm's), VM_QEMU_ARGS adds
# arguments to QEMU's (its ivshmem device).
#   tests/i386/vm.sh BUILD_DIR
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "$1" && pwd) || exit 1
VM=$B/vm
DEADLINE=${VM_DEADLINE:-600}
LIBDIRS="/lib/i386-linux-gnu /usr/lib/i386-linux-gnu"

die() {
	echo "check-i386-vm: $*" >&2
	exit 1
}
qemu_pid=""
cleanup() {
	[ -z "$qemu_pid" ] || kill "$qemu_pid" 2>/dev/null
	rm -rf "$VM/root" "$VM/pkgs" "$VM/initrd.gz"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for f in questfs quest-sim questbinloader tests/test_chan examples/hello examples/hello_argvs; do
	[ -e "$B/$f" ] || die "$B/$f is missing (make i386)"
done

# ---- the Debian packages, once
kpkg=$(apt-cache depends linux-image-686:i386 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -1)
[ -n "$kpkg" ] || die "apt-cache knows no linux-image-686:i386 (dpkg --add-architecture i386; apt-get update)"
mkdir -p "$VM/debs"
for p in "$kpkg" busybox-static:i386 fuse3:i386; do
	ls "$VM/debs/${p%:i386}"_*_i386.deb >/dev/null 2>&1 && continue
	(cd "$VM/debs" && apt-get download -q -o APT::Sandbox::User=root "$p") ||
		die "apt-get download $p failed"
done

# ---- the initramfs
rm -rf "$VM/root" "$VM/pkgs"
mkdir -p "$VM/pkgs" "$VM/root"/{bin,lib/modules,qfs/examples,proc,sys,dev,tmp}
for d in "$VM"/debs/*.deb; do
	dpkg-deb -x "$d" "$VM/pkgs" || die "cannot unpack $d"
done
R=$VM/root
kernel=$(ls "$VM"/pkgs/boot/vmlinuz-* | head -1)
[ -f "$kernel" ] || die "no kernel in $kpkg"
cp "$VM/pkgs/bin/busybox" "$VM/pkgs/bin/fusermount3" "$R/bin/"
cp "$(find "$VM/pkgs/lib/modules" -name fuse.ko | head -1)" "$R/lib/modules/" || die "no fuse.ko in $kpkg"
cp "${VM_INIT:-$TOP/tests/i386/vm-init.sh}" "$R/init"
cp "$TOP/tests/i386/vm-lib.sh" "$R/vm-lib.sh"
chmod 755 "$R/init"
cp "$B/questfs" "$B/quest-sim" "$B/questbinloader" "$B/tests/test_chan" "$R/qfs/"
cp "$B/examples/hello" "$B/examples/hello_argvs" "$R/qfs/examples/"

# needed ELF...: copy the libraries it names, and theirs, into $R/lib
needed() {
	local lib d
	for lib in $(LC_ALL=C readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		[ -e "$R/lib/$lib" ] && continue
		for d in $LIBDIRS; do
			if [ -e "$d/$lib" ]; then
				cp -L "$d/$lib" "$R/lib/$lib"
				needed "$R/lib/$lib"
				continue 2
			fi
		done
		die "$1 needs $lib, which is not in $LIBDIRS (make deps-i386)"
	done
}
for f in "$R"/qfs/* "$R/bin/fusermount3"; do
	[ -f "$f" ] && needed "$f"
done
# glibc loads libgcc_s.so.1 with dlopen when a thread is cancelled, as
# libfuse cancels its workers when questfs is stopped by a signal: no
# NEEDED names it, and without it questfs aborts on SIGTERM
for d in $LIBDIRS; do
	[ -e "$d/libgcc_s.so.1" ] && { cp -L "$d/libgcc_s.so.1" "$R/lib/"; break; }
done
[ -e "$R/lib/libgcc_s.so.1" ] || die "no libgcc_s.so.1 in $LIBDIRS (libgcc-s1:i386)"
cp -L /lib/ld-linux.so.2 "$R/lib/ld-linux.so.2" || die "no /lib/ld-linux.so.2 (libc6:i386)"
(cd "$R" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$VM/initrd.gz" ||
	die "cannot build the initramfs"
echo "check-i386-vm: $(basename "$kernel"), initramfs $(($(stat -c %s "$VM/initrd.gz") / 1024)) KiB"

# ---- boot, and read the console
rm -f "$VM/console.log"
start=$SECONDS
# shellcheck disable=SC2086 # VM_QEMU_ARGS: words
qemu-system-i386 -machine pc -accel tcg -smp 2 -m 512 -no-reboot \
	-display none -monitor none -serial "file:$VM/console.log" \
	-kernel "$kernel" -initrd "$VM/initrd.gz" \
	-append "console=ttyS0 panic=-1 loglevel=3" ${VM_QEMU_ARGS:-} </dev/null &
qemu_pid=$!
# the result line, then up to 30 s for the power-off; past the deadline the
# machine is stopped and the run has failed
result=""
end=$((start + DEADLINE))
while kill -0 "$qemu_pid" 2>/dev/null; do
	[ -z "$result" ] && result=$(sed -n 's/^vm: RESULT \([a-z]*\).*/\1/p' "$VM/console.log" 2>/dev/null)
	[ -n "$result" ] && ((end > SECONDS + 30)) && end=$((SECONDS + 30))
	if ((SECONDS >= end)); then
		[ -n "$result" ] || echo "check-i386-vm: no result within ${DEADLINE}s: stopped" >&2
		break
	fi
	sleep 0.2
done
kill "$qemu_pid" 2>/dev/null
wait "$qemu_pid" 2>/dev/null
qemu_pid=""
# it may have printed its result and powered off between two looks
[ -n "$result" ] || result=$(sed -n 's/^vm: RESULT \([a-z]*\).*/\1/p' "$VM/console.log" 2>/dev/null)
tr -d '\r' <"$VM/console.log" | grep -v '^$'
echo "check-i386-vm: $((SECONDS - start)) s from boot to the end; console in $VM/console.log"
[ "$result" = pass ] || die "failed (result: ${result:-none})"
echo "check-i386-vm: passed"
