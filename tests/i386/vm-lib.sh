# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=dash
# What each /init of the i386 VMs (tests/i386/vm-init.sh,
# tests/quest/vm-init.sh) reports with: tests/i386/vm.sh puts this file
# at /vm-lib.sh in the initramfs. Each step prints "vm: ok …" or
# "vm: FAIL …" on the serial console; finish prints the last line,
# "vm: RESULT pass" or "vm: RESULT fail", which the host reads.
failed=0
ok() { echo "vm: ok    $*"; }
bad() {
	echo "vm: FAIL  $*"
	failed=1
}
# until_ok TENTHS CMD...: CMD until it succeeds, at most TENTHS tenths of
# a second (the emulated machine is slow: deadlines are generous)
until_ok() {
	n=$1
	shift
	until "$@" 2>/dev/null; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}
finish() {
	[ "$failed" = 0 ] && echo "vm: RESULT pass" || echo "vm: RESULT fail"
	sync
	poweroff -f
}
