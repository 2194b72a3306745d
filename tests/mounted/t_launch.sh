# SPDX-License-Identifier: GPL-2.0-or-later
# The launch rule's refusals that come from writes: nothing partial is ever
# launched, and a file that got a write error leaves run/ at its release
# with the reason in status, log and (while it is open) its xattrs.
# shellcheck shell=bash

# big_program FILE SIZE: $EX/hello padded with zeros to SIZE bytes; its
# first 262144 bytes are a valid program too
big_program() {
	{
		cat "$EX/hello"
		head -c $(($2 - $(stat -c %s "$EX/hello"))) /dev/zero
	} >"$1"
}

# refused_in_log NAME: the log says NAME was refused
refused_in_log() { grep -q "$1 refused" "$MNT/log"; }

case_efbig_cp_nothing_partial_launches() {
	start_sim
	start_qfs
	big_program "$T/big" 500000
	local out rc=0
	out=$(cp "$T/big" "$MNT/run/big" 2>&1) || rc=$?
	[ "$rc" != 0 ] || fail "cp of 500000 bytes succeeded"
	expect_match "cp's message" "File too large" "$out"
	wait_for "refusal in the log" refused_in_log big || fail "log: $(cat "$MNT/log")"
	expect_match "log: bytes written and the limit" \
		"big refused: .*262144 bytes .*393128" "$(grep 'big refused' "$MNT/log")"
	grep -q "393128" "$MNT/status" || fail "status lacks the reason: $(cat "$MNT/status")"
	[ ! -e "$MNT/run/big" ] || fail "the refused file stays in run/ ($(stat -c %s "$MNT/run/big") bytes)"
	# the same name copies again without "File exists" or a stale file
	cp "$EX/hello" "$MNT/run/big" || fail "a retry under the same name failed"
	wait_saved 1
	cmp "$EX/hello" "$SAVE/000001.elf" || fail "the retry's bytes differ"
	expect_eq "programs received (no partial one)" 1 "$(saved_count)"
	expect_eq "jobs delivered" 1 "$(json_count delivered)"
}

case_efbig_killed_writer_nothing_launches() {
	start_sim
	start_qfs
	big_program "$T/big" 500000
	mkfifo "$T/go"
	(
		exec 3>"$MNT/run/killed"
		head -c 262144 "$T/big" >&3
		# 262144 + 131072 bytes pass the largest program: EFBIG
		tail -c +262145 "$T/big" | head -c 131072 >&3 && exit 9
		# bounded: a failing case must not leave it waiting for ever
		read -r -t "$DEADLINE" _ <>"$T/go"
		kill -KILL $BASHPID
	) &
	local holder=$!
	at_exit first "kill -KILL $holder 2>/dev/null"
	wait_for "write refused" state_is "$MNT/run/killed" refused ||
		fail "state while the writer holds it: $(xattr "$MNT/run/killed" user.quest.state)"
	expect_match "user.quest.error while open" "393216 bytes.*393128" \
		"$(xattr "$MNT/run/killed" user.quest.error)"
	echo go >"$T/go"
	wait "$holder"
	wait_for "refusal in the log" refused_in_log killed || fail "log: $(cat "$MNT/log")"
	wait_for "removed from run/" test ! -e "$MNT/run/killed"
	expect_eq "programs received" 0 "$(saved_count)"
	expect_eq "jobs refused" 1 "$(json_count refused)"
}

case_dd_efbig_removed() {
	start_sim
	start_qfs
	big_program "$T/big" 400000
	local rc=0
	dd if="$T/big" of="$MNT/run/dd" bs=65536 status=none 2>"$T/dd.err" || rc=$?
	[ "$rc" != 0 ] || fail "dd of 400000 bytes succeeded"
	grep -q "File too large" "$T/dd.err" || fail "dd: $(cat "$T/dd.err")"
	wait_for "refusal in the log" refused_in_log dd || fail "log: $(cat "$MNT/log")"
	[ ! -e "$MNT/run/dd" ] || fail "the refused file stays in run/"
	expect_eq "programs received" 0 "$(saved_count)"
}
