# SPDX-License-Identifier: GPL-2.0-or-later
# The error table of DESIGN.md §6: each refusal reaches the user as the errno their
# tool prints, and nothing is lost.
# shellcheck shell=bash

up() { start_sim; start_qfs "$@"; }

case_efbig_too_large() {
	up
	"$MKELF" --size 393129 "$T/over" 2>/dev/null || head -c 393129 /dev/zero >"$T/over"
	run_fails "cp of 393129 bytes" "error writing .*File too large" cp "$T/over" "$MNT/run/over"
	# refused, recorded and removed, not left cut short in run/
	wait_for "run/over removed" eval '! test -e "$MNT/run/over"' || fail "run/over is still listed"
	grep -q " over refused: program is more than 393128 bytes" "$MNT/log" || fail "log: $(cat "$MNT/log")"
	"$MKELF" --size 393128 "$T/largest" || fail mkelf
	cp "$T/largest" "$MNT/run/largest" || fail "the largest program must copy"
	wait_saved 1
	cmp "$T/largest" "$SAVE/000001.elf" || fail "largest: bytes differ"
}

case_enoexec_each_tool() {
	up
	cp "$FX/x86-64" "$T/x64"
	run_fails "cp" "failed to close .*Exec format error" cp "$T/x64" "$MNT/run/x64"
	run_fails "install" "Exec format error" install "$T/x64" "$MNT/run/x64"
	run_fails "dd" "Exec format error" dd if="$T/x64" of="$MNT/run/x64" bs=512 status=none
	run_fails "cat >" "Exec format error" sh -c "cat '$T/x64' > '$MNT/run/x64'"
	run_fails "gio copy" "Exec format error" gio copy "$T/x64" "$MNT/run/x64"
	[ ! -e "$MNT/run/x64" ] || fail "a refused file stays listed"
	grep -q "x86-64 (62)" "$MNT/status" || fail "status lacks the reason: $(cat "$MNT/status")"
	expect_eq "refused jobs" 5 "$(json_count refused)"
}

case_rsync_refused_at_rename() {
	up
	cp "$FX/shared-object" "$T/so"
	run_fails "rsync" "Exec format error" rsync "$T/so" "$MNT/run/so"
	[ ! -e "$MNT/run/so" ] || fail "refused rename created the file"
	[ -e "$T/so" ] || fail "rsync lost the original"
	expect_eq "nothing delivered" 0 "$(saved_count)"
}

case_gio_over_existing_refused_keeps_original() {
	up
	cp "$EX/hello" "$MNT/run/keep"
	wait_saved 1
	run_fails "gio copy over" "Exec format error" gio copy "$FX/misaligned" "$MNT/run/keep"
	[ -e "$MNT/run/keep" ] || fail "the original went away"
	expect_eq "only the first delivered" 1 "$(saved_count)"
}

case_truncated_judged_at_launch() {
	up
	# the first 1000 bytes of a valid program may still become one: close
	# succeeds, the launch refuses it and says why
	"$MKELF" --size 5000 "$T/whole" || fail mkelf
	head -c 1000 "$T/whole" >"$T/trunc"
	cp "$T/trunc" "$MNT/run/trunc" || fail "a truncated copy must close cleanly"
	wait_for "refusal recorded" state_is "$MNT/run/trunc" refused
	expect_match "user.quest.error" "outside the 1000-byte file|past the end" "$(xattr "$MNT/run/trunc" user.quest.error)"
	grep -q "trunc refused" "$MNT/log" || fail "log: $(cat "$MNT/log")"
}

case_ebusy_second_writer() {
	up
	# the first writer lives in its own process: a descriptor shared by
	# fork would be "closed" (FLUSH) each time a copy of it closes
	mkfifo "$T/go"
	(
		exec 3>"$MNT/run/busy"
		read -r _ <"$T/go"
		cat "$EX/hello" >&3
	) &
	local holder=$!
	wait_for "first writer open" state_is "$MNT/run/busy" writing
	run_fails "second writer" "busy" sh -c "echo x > '$MNT/run/busy'"
	echo go >"$T/go"
	wait "$holder" || fail "first writer failed"
	wait_saved 1
	cmp "$EX/hello" "$SAVE/000001.elf" || fail "bytes differ"
}

case_read_while_writing() {
	up
	exec 5>"$MNT/run/rw"
	head -c 100 "$EX/hello" >&5
	expect_eq "read-only open of a file being written" 100 "$(wc -c <"$MNT/run/rw")"
	tail -c +101 "$EX/hello" >&5
	exec 5>&-
	wait_saved 1
}

case_eperm_eacces() {
	up
	run_fails "mkdir" "Operation not permitted" mkdir "$MNT/run/d"
	run_fails "symlink" "Operation not permitted" ln -s /bin/true "$MNT/run/l"
	cp "$EX/hello" "$MNT/run/h"
	run_fails "link" "Operation not permitted" ln "$MNT/run/h" "$MNT/run/h2"
	run_fails "mkfifo" "Operation not permitted" mkfifo "$MNT/run/f"
	run_fails "write status" "Permission denied" sh -c "echo x > '$MNT/status'"
	run_fails "write log" "Permission denied" sh -c "echo x >> '$MNT/log'"
	run_fails "create in root" "Permission denied" touch "$MNT/newfile"
	run_fails "rm status" "Operation not permitted" rm -f "$MNT/status"
}

case_acl_enotsup_other_xattrs_stored() {
	up
	cp "$EX/hello" "$MNT/run/a"
	run_fails "ACL" "Operation not supported" setfattr -n system.posix_acl_access -v 0sAgAAAAEABgD/////BAAEAP////8gAAQA/////w== "$MNT/run/a"
	setfattr -n user.anything -v 42 "$MNT/run/a" || fail "user.* must be stored"
	expect_eq "user.anything" 42 "$(xattr "$MNT/run/a" user.anything)"
	run_fails "user.quest.state is questfs's" "Operation not permitted" setfattr -n user.quest.state -v x "$MNT/run/a"
	# cp -a falls back to chmod when ACLs are refused, and still launches
	cp "$EX/hello" "$T/acl"
	chmod 750 "$T/acl"
	cp -a "$T/acl" "$MNT/run/" || fail "cp -a failed"
	wait_saved 2
}

case_e2big_args() {
	up
	local long
	long=$(printf 'w%.0s' $(seq 1 90))
	run_fails "setfattr on run/" "Argument list too long" setfattr -n user.quest.args -v "$long" "$MNT/run"
	cp "$EX/hello" "$T/p"
	# 78 + 1 bytes fit alone, not after "p\0"
	setfattr -n user.quest.args -v "$(printf 'w%.0s' $(seq 1 78))" "$T/p"
	run_fails "cp --preserve=xattr" "Argument list too long" cp --preserve=xattr "$T/p" "$MNT/run/p"
	run_fails "setfattr unterminated" "Invalid argument" setfattr -n user.quest.args -v "'open" "$MNT/run"
	# a sidecar too big is refused when it closes
	echo "$long" >"$T/q.args"
	run_fails "sidecar" "failed to close.*Argument list too long" cp "$T/q.args" "$MNT/run/q.args"
	[ ! -e "$MNT/run/q.args" ] || fail "refused sidecar still listed"
	grep -q " file uid=0 run/q.args removed: arguments take 91 bytes" "$MNT/log" || fail "log: $(cat "$MNT/log")"
}

case_probes_and_statfs() {
	up
	for p in .Trash .Trash-0 .hidden .sh_thumbnails .xdg-volume-info autorun.inf; do
		[ ! -e "$MNT/$p" ] || fail "$p exists"
		[ ! -e "$MNT/run/$p" ] || fail "run/$p exists"
	done
	local total free
	total=$(stat -f -c %b "$MNT")
	free=$(stat -f -c %a "$MNT")
	expect_eq "statfs total blocks (64 MiB / 4096)" 16384 "$total"
	expect_eq "statfs free blocks" 16384 "$free"
	expect_eq "fs type" "fuse.questfs" "$(findmnt -n -o FSTYPE "$MNT")"
}
