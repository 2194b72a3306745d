# SPDX-License-Identifier: GPL-2.0-or-later
# The everyday path: cp and gio copy launch a program, status tells.
# shellcheck shell=bash

up() { start_sim; start_qfs "$@"; }

case_tree() {
	up
	expect_eq "root listing" "log run status status.json" "$(ls "$MNT" | tr '\n' ' ' | sed 's/ $//')"
	expect_eq "run/ is empty" "" "$(ls -A "$MNT/run")"
	grep -q '^questfs ' "$MNT/status" || fail "status has no header"
	grep -q 'quest side  attached' "$MNT/status" || fail "status does not see quest-sim"
	grep -q '"attached": true' "$MNT/status.json" || fail "status.json does not see quest-sim"
}

case_cp_launches() {
	up
	cp "$EX/hello" "$MNT/run/" || fail "cp failed"
	wait_saved 1
	cmp "$EX/hello" "$SAVE/000001.elf" || fail "bytes differ"
	expect_eq "argv" "hello" "$(argv_of 1)"
	wait_for "delivered in status" grep -q "delivered" "$MNT/status" || fail "status: $(cat "$MNT/status")"
	expect_eq "user.quest.state" "delivered" "$(xattr "$MNT/run/hello" user.quest.state)"
	grep -q "job 1 uid=0 hello queued" "$MNT/log" || fail "log: $(cat "$MNT/log")"
	grep -q "job 1 uid=0 hello delivered" "$MNT/log" || fail "log: $(cat "$MNT/log")"
}

case_gio_copy_new_and_over() {
	up
	gio copy "$EX/hello" "$MNT/run/hello" || fail "gio copy failed"
	wait_saved 1
	gio copy "$EX/hello_argvs" "$MNT/run/hello" 2>"$T/gio.err" || fail "gio copy over failed: $(cat "$T/gio.err")"
	wait_saved 2
	cmp "$EX/hello_argvs" "$SAVE/000002.elf" || fail "second copy's bytes differ"
	expect_eq "argv of the copy over" "hello" "$(argv_of 2)"
	expect_eq "hidden temp names never launch" 2 "$(saved_count)"
}

case_not_elf_refused_by_cp() {
	up
	printf '#!/bin/sh\necho hi\n' >"$T/script"
	local out rc=0
	out=$(cp "$T/script" "$MNT/run/script" 2>&1) || rc=$?
	expect_eq "cp exit status" 1 "$rc"
	expect_match "cp message" "Exec format error" "$out"
	[ ! -e "$MNT/run/script" ] || fail "refused file still listed"
	grep -q "refused" "$MNT/status" || fail "status does not show the refusal"
	grep -q "not an ELF file" "$MNT/log" || fail "log: $(cat "$MNT/log")"
	# a retry meets no 'file exists'
	out=$(cp "$EX/hello" "$MNT/run/script" 2>&1) || fail "retry failed: $out"
	wait_saved 1
}

case_mount_fuse3_source_form() {
	# fstab's `questfs#SOURCE /quest fuse` form: mount.fuse3 runs
	# `questfs SOURCE MOUNTPOINT -o ...`, and questfs ignores SOURCE
	start_sim
	PATH=$B:$PATH mount.fuse3 "questfs#questfs" "$MNT" -o "channel=$CHAN,spool=$T/spool" ||
		fail "mount.fuse3 failed"
	is_mounted "$MNT" || fail "not mounted"
	local pid
	pid=$(pgrep -f "questfs questfs $MNT") || fail "no daemon"
	cp "$EX/hello" "$MNT/run/"
	wait_saved 1
	fusermount3 -u "$MNT" || fail "unmount failed"
	wait_for "daemon exit" bash -c "! kill -0 $pid"
}

# A service manager stops questfs with SIGTERM, a closed terminal with
# SIGHUP, Ctrl-C with SIGINT: it unmounts, even with a file open in it, and
# exits 0; as root the mount is detached lazily. libfuse leaves a signal
# that questfs was started with ignored ignored (a script's background job
# ignores SIGINT, nohup SIGHUP): questfs gets the three at their defaults
# here, as from a terminal or systemd.
case_sigterm_unmounts_and_exits_0() {
	local sig rc
	[ -z "$XRUN" ] || not_run "under $XRUN, a multithreaded i386 questfs dies" \
		"when libfuse cancels its threads after a signal; check-i386-vm" \
		"checks this on an i386 kernel"
	exited() { [ ! -e "/proc/$1" ] || [ "$(cut -d' ' -f3 "/proc/$1/stat")" = Z ]; }
	printf '#!/bin/sh\nexec env --default-signal=TERM,HUP,INT "%s" "$@"\n' "$QUESTFS" >"$T/questfs"
	chmod +x "$T/questfs"
	QUESTFS=$T/questfs
	for sig in TERM HUP INT; do
		up
		# open at the stop, never released: a snapshot and a file being
		# written (the sanitized build checks questfs frees them)
		exec 3<"$MNT/status" 4>"$MNT/run/held"
		kill -"$sig" "$qfs_pid"
		wait_for "questfs to exit after SIG$sig" exited "$qfs_pid" ||
			fail "questfs still runs after SIG$sig: $(cat "$T/qfs.log")"
		rc=0
		wait "$qfs_pid" || rc=$?
		qfs_pid=""
		expect_eq "questfs exit status after SIG$sig" 0 "$rc"
		is_mounted "$MNT" && fail "still mounted after SIG$sig"
		grep -q "unmounted $MNT" "$T/qfs.log" || fail "no 'unmounted' in the log: $(cat "$T/qfs.log")"
		exec 3<&- 4>&-
		stop_sim
		: >"$T/qfs.log"
	done
}
