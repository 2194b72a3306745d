# SPDX-License-Identifier: GPL-2.0-or-later
# Who may launch: run/ with the mode and group of the mount options, checked
# by the kernel (default_permissions) for real second users, created here
# and removed at exit.
# shellcheck shell=bash

ACCESS_USERS=()
ACCESS_GROUPS=()

access_cleanup() {
	local u g
	for u in "${ACCESS_USERS[@]}"; do userdel "$u" 2>/dev/null; done
	for g in "${ACCESS_GROUPS[@]}"; do groupdel "$g" 2>/dev/null; done
}

# as USER CMD...: run CMD as USER, with USER's groups from /etc/group
as() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@"
}

case_run_group_members_only() {
	# names unique to this case: the channel key is
	local g=qfsg$KEY member=qfsm$KEY outsider=qfso$KEY
	at_exit first access_cleanup
	groupadd "$g" || fail "groupadd $g"
	ACCESS_GROUPS+=("$g")
	useradd -M -N -s /usr/sbin/nologin -G "$g" "$member" || fail "useradd $member"
	ACCESS_USERS+=("$member")
	useradd -M -N -s /usr/sbin/nologin "$outsider" || fail "useradd $outsider"
	ACCESS_USERS+=("$outsider")
	local gid
	gid=$(getent group "$g" | cut -d: -f3)
	chmod 755 "$T" # the mount point lies inside
	start_sim
	start_qfs -o "allow_other,default_permissions,run_mode=0770,run_gid=$gid"
	expect_eq "run/" "drwxrwx--T root $g" "$(stat -c '%A %U %G' "$MNT/run")"

	local out rc=0
	out=$(as "$outsider" cp "$EX/hello" "$MNT/run/theirs" 2>&1) || rc=$?
	[ "$rc" != 0 ] || fail "$outsider copied into run/"
	expect_match "outsider's cp" "Permission denied" "$out"
	rc=0
	out=$(as "$outsider" ls "$MNT/run" 2>&1) || rc=$?
	[ "$rc" != 0 ] || fail "$outsider listed run/"
	expect_match "outsider's ls" "Permission denied" "$out"
	as "$outsider" cat "$MNT/status" >"$T/status.out" || fail "$outsider cannot read status"
	grep -q "^questfs " "$T/status.out" || fail "status as $outsider: $(cat "$T/status.out")"
	as "$outsider" cat "$MNT/status.json" >/dev/null || fail "$outsider cannot read status.json"
	as "$outsider" cat "$MNT/log" >/dev/null || fail "$outsider cannot read log"

	as "$member" cp "$EX/hello" "$MNT/run/mine" || fail "$member cannot launch"
	wait_saved 1
	cmp "$EX/hello" "$SAVE/000001.elf" || fail "bytes differ"
	expect_eq "argv" mine "$(argv_of 1)"
	expect_eq "owner of run/mine" "$member" "$(stat -c %U "$MNT/run/mine")"
	wait_for "delivered" state_is "$MNT/run/mine" delivered
	expect_eq "state as $member" delivered "$(as "$member" getfattr --absolute-names --only-values -n user.quest.state "$MNT/run/mine" 2>&1)"
	expect_eq "nothing from $outsider" 1 "$(saved_count)"
	grep -q "theirs" "$MNT/log" && fail "the refused copy reached questfs: $(cat "$MNT/log")"
	true
}

# Written by someone else than root, a set-id file loses its set-id bits,
# as on any file system; the kernel leaves that to questfs (direct I/O).
case_write_clears_set_id_bits() {
	local u=qfsw$KEY
	at_exit first access_cleanup
	useradd -M -N -s /usr/sbin/nologin "$u" || fail "useradd $u"
	ACCESS_USERS+=("$u")
	chmod 755 "$T"
	start_sim
	start_qfs -o "allow_other,default_permissions,run_mode=0777"
	as "$u" cp "$EX/hello" "$MNT/run/p" || fail "$u cannot launch"
	wait_for "delivered" state_is "$MNT/run/p" delivered
	as "$u" chmod 6755 "$MNT/run/p" || fail "chmod 6755"
	expect_eq "before" 6755 "$(stat -c %a "$MNT/run/p")"
	as "$u" cp "$EX/hello_argvs" "$MNT/run/p" || fail "$u cannot write p again"
	expect_eq "after a write by $u" 755 "$(stat -c %a "$MNT/run/p")"
	# root keeps them, as CAP_FSETID does elsewhere
	chmod 6755 "$MNT/run/p" || fail "chmod as root"
	wait_for "second delivered" state_is "$MNT/run/p" delivered
	cp "$EX/hello" "$MNT/run/p" || fail "cp as root"
	expect_eq "after a write by root" 6755 "$(stat -c %a "$MNT/run/p")"
	wait_saved 3
}
