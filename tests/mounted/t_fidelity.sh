# SPDX-License-Identifier: GPL-2.0-or-later
# Programs built as Quest developers build theirs (tests/quest/mkprogs.sh),
# copied through the mount: each one Quest misloads or corrupts itself on is
# refused, with the message of the ELF checks, where cp and status show it.
# shellcheck shell=bash

up() { start_sim; start_qfs "$@"; }

# the programs the default profile (both kernels) refuses
REFUSED="only-bss big-bss big-bss-data bss-own-segment bss-own-segment-small
page-edge-data page-edge-text at-0x8048000 at-0x400000 cross-0x3f0000"

case_fidelity_refused_through_mount() {
	local p msg out rc n=0
	sh "$TOP/tests/quest/mkprogs.sh" "$T/progs" >"$T/mkprogs.log" 2>&1 ||
		fail "mkprogs: $(cat "$T/mkprogs.log")"
	up
	for p in $REFUSED; do
		msg=$("$LOADER" --check "$T/progs/$p" 2>&1) && fail "$p: questbinloader accepts it"
		msg=${msg#"questbinloader: $T/progs/$p: "}
		rc=0
		out=$(cp "$T/progs/$p" "$MNT/run/$p" 2>&1) || rc=$?
		n=$((n + 1))
		if [ "$rc" != 0 ]; then
			# refused when it closed: ENOEXEC, and the reason in status
			expect_match "$p: cp" "failed to close .*Exec format error" "$out"
			[ ! -e "$MNT/run/$p" ] || fail "$p: refused file stays listed"
		else
			wait_for "$p refused" state_is "$MNT/run/$p" refused ||
				fail "$p: state $(xattr "$MNT/run/$p" user.quest.state)"
			expect_eq "$p: user.quest.error" "$msg" "$(xattr "$MNT/run/$p" user.quest.error)"
		fi
		grep -qF -- "$msg" "$MNT/log" || fail "$p: log lacks '$msg': $(cat "$MNT/log")"
	done
	expect_eq "refused jobs" "$n" "$(json_count refused)"
	expect_eq "programs that reached quest-sim" 0 "$(saved_count)"
	# what both kernels load right goes through
	for p in hello four-loads separate-code noseparate-code stripped cf-protection rw-entry; do
		cp "$T/progs/$p" "$MNT/run/$p" || fail "$p: cp failed"
	done
	wait_saved 7
}

# quest_profile=galileo takes what only master misloads
case_fidelity_profile_galileo() {
	sh "$TOP/tests/quest/mkprogs.sh" "$T/progs" >"$T/mkprogs.log" 2>&1 ||
		fail "mkprogs: $(cat "$T/mkprogs.log")"
	start_sim --quest-profile galileo
	start_qfs -o quest_profile=galileo
	for p in big-bss-data at-0x8048000 at-0x400000 cross-0x3f0000; do
		cp "$T/progs/$p" "$MNT/run/$p" || fail "$p: cp failed"
	done
	wait_saved 4
	cmp "$T/progs/at-0x8048000" "$SAVE/000002.elf" || fail "at-0x8048000 differs"
	run_fails "page-edge-data" "Exec format error" cp "$T/progs/page-edge-data" "$MNT/run/pe"
}

# argv is Quest's command line: words it cannot carry are refused where the
# user looks; argv_format=strings carries them
case_fidelity_argv_words() {
	up
	run_fails "setfattr with a blank in a word" "Invalid argument" \
		setfattr -n user.quest.args -v "lorem 'ipsum dolor'" "$MNT/run"
	run_fails "setfattr with an empty word" "Invalid argument" \
		setfattr -n user.quest.args -v "lorem ''" "$MNT/run"
	echo "a 'b c'" >"$T/p.args"
	run_fails "sidecar with a blank in a word" "failed to close .*Invalid argument" cp "$T/p.args" "$MNT/run/p.args"
	# the file's name is argv[0]: one with a space is refused at launch
	cp "$EX/hello" "$MNT/run/my prog" || fail "cp failed"
	wait_for "refusal recorded" state_is "$MNT/run/my prog" refused ||
		fail "state: $(xattr "$MNT/run/my prog" user.quest.state)"
	expect_eq "user.quest.error" 'argument 0 "my prog" contains a space: Quest splits its command line at spaces and would not see it as one word' \
		"$(xattr "$MNT/run/my prog" user.quest.error)"
	grep -q 'my prog refused: argument 0 "my prog" contains a space' "$MNT/log" || fail "log: $(cat "$MNT/log")"
	expect_eq "programs received" 0 "$(saved_count)"
	setfattr -n user.quest.args -v "lorem ipsum" "$MNT/run" || fail "setfattr of plain words"
	cp "$EX/hello_argvs" "$MNT/run/" || fail "cp failed"
	wait_saved 1
	expect_eq "argv bytes" "68656c6c6f5f6172677673206c6f72656d20697073756d00" \
		"$(od -An -tx1 "$SAVE/000001.argv" | tr -d ' \n')"
}

case_fidelity_argv_strings() {
	start_sim --argv-format strings
	start_qfs -o argv_format=strings
	setfattr -n user.quest.args -v "lorem 'ipsum dolor' ''" "$MNT/run" || fail "setfattr"
	cp "$EX/hello_argvs" "$MNT/run/" || fail "cp failed"
	wait_saved 1
	# hello_argvs\0lorem\0ipsum dolor\0\0
	expect_eq "argv bytes" "68656c6c6f5f6172677673006c6f72656d00697073756d20646f6c6f720000" \
		"$(od -An -tx1 "$SAVE/000001.argv" | tr -d ' \n')"
}
