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

run_fails() {
	local what=$1 re=$2 out rc=0
	shift 2
	out=$("$@" 2>&1) || rc=$?
	[ "$rc" != 0 ] || fail "$what: succeeded, expected a failure"
	expect_match "$what: message" "$re" "$out"
}
