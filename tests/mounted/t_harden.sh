# Who may do what (multi-user): each attack of a hostile local user,
# tried with real second users, and what that user now meets.
# shellcheck shell=bash

. "$TOP/tests/mounted/users.sh"

# Each job records the uid that launched it: status (USER), status.json
# (uid, user) and every log line of the job (" uid=N" after "job ID").
case_job_records_its_uid() {
	local u=qfsa$KEY uid
	new_user "$u"
	uid=$(id -u "$u")
	chmod 755 "$T"
	start_sim
	start_qfs -o "allow_other,default_permissions,run_mode=0777"
	as_user "$u" cp "$TOP/examples/hello" "$MNT/run/p" || fail "$u cannot launch"
	cp "$TOP/examples/hello" "$MNT/run/r" || fail "root cannot launch"
	wait_saved 2
	wait_for "delivered" state_is "$MNT/run/r" delivered
	grep -q " job 1 uid=$uid p queued: " "$MNT/log" || fail "log: $(cat "$MNT/log")"
	grep -q " job 1 uid=$uid p delivered" "$MNT/log" || fail "log: $(cat "$MNT/log")"
	grep -q " job 2 uid=0 r delivered" "$MNT/log" || fail "log: $(cat "$MNT/log")"
	grep -Eq "^1 +delivered +$u +p " "$MNT/status" || fail "status: $(cat "$MNT/status")"
	grep -Eq "^ID +STATE +USER +NAME " "$MNT/status" || fail "status: $(cat "$MNT/status")"
	python3 - "$MNT/status.json" "$uid" "$u" <<'PY' || fail "status.json: $(cat "$MNT/status.json")"
import json, sys
jobs = {j["name"]: j for j in json.load(open(sys.argv[1]))["jobs"]}
assert jobs["p"]["uid"] == int(sys.argv[2]) and jobs["p"]["user"] == sys.argv[3], jobs["p"]
assert jobs["r"]["uid"] == 0 and jobs["r"]["user"] == "root", jobs["r"]
PY
}

# expect_refused_segment WHAT OUTPUT: the message names the path, its owner
# and mode, and what to do
expect_refused_segment() {
	expect_match "$1" "/dev/shm/questfs-shm-$KEY" "$2"
	expect_match "$1" "$3" "$2"
	expect_match "$1" "remove it" "$2"
}

# Another user makes the channel's segment first (mode 0666): questfs,
# quest-sim and questbinloader would have read and sent through it. Each
# refuses it, saying whose it is and what to do; a symlink in its place
# and a segment of ours that others may open are refused too.
case_foreign_shm_segment_refused() {
	local u=qfsb$KEY seg=/dev/shm/questfs-shm-$KEY out rc
	new_user "$u"
	as_user "$u" sh -c "umask 0; : >$seg" || fail "cannot plant $seg"
	expect_eq "planted" "-rw-rw-rw- $u" "$(stat -c '%A %U' "$seg")"

	rc=0
	out=$(timeout 10 "$SIM" --channel "shm:$KEY" --count 1 2>&1) || rc=$?
	[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "quest-sim used it (rc $rc): $out"
	expect_refused_segment quest-sim "$out" "belongs to $u .*mode 0666"
	rc=0
	out=$(timeout 10 "$LOADER" --channel "shm:$KEY" "$TOP/examples/hello" 2>&1) || rc=$?
	expect_eq "questbinloader exit status" 3 "$rc"
	expect_refused_segment questbinloader "$out" "belongs to $u .*mode 0666"
	rc=0
	timeout 10 "$QUESTFS" -f -o "channel=shm:$KEY,spool=$T/spool" "$MNT" >"$T/q1.log" 2>&1 || rc=$?
	is_mounted "$MNT" && fusermount3 -u -z "$MNT"
	[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "questfs used it (rc $rc): $(cat "$T/q1.log")"
	expect_refused_segment questfs "$(cat "$T/q1.log")" "belongs to $u .*mode 0666"
	expect_eq "left as it was" "0 $u" "$(stat -c '%s %U' "$seg")"

	# ours, but others may open it
	rm -f "$seg"
	(umask 0 && : >"$seg") && chmod 0644 "$seg"
	rc=0
	out=$(timeout 10 "$LOADER" --channel "shm:$KEY" "$TOP/examples/hello" 2>&1) || rc=$?
	expect_eq "questbinloader exit status" 3 "$rc"
	expect_refused_segment "mode 0644" "$out" "mode 0644"
	# a symlink to a file of ours
	rm -f "$seg"
	: >"$T/target"
	ln -s "$T/target" "$seg"
	rc=0
	out=$(timeout 10 "$LOADER" --channel "shm:$KEY" "$TOP/examples/hello" 2>&1) || rc=$?
	expect_eq "questbinloader exit status" 3 "$rc"
	expect_match "symlink" "symbolic link" "$out"
	expect_eq "target untouched" 0 "$(stat -c %s "$T/target")"
	rm -f "$seg"

	# once removed, all is as before
	start_sim
	start_qfs
	cp "$TOP/examples/hello" "$MNT/run/p" || fail "cp"
	wait_saved 1
	expect_eq "segment" "-rw------- root" "$(stat -c '%A %U' "$seg")"
}

# questfs_fails WHAT REGEX [-o OPTS]: questfs refuses to start (it never
# mounts) with a message matching REGEX
questfs_fails() {
	local what=$1 re=$2 rc=0
	shift 2
	timeout 10 "$QUESTFS" -f -o "channel=shm:$KEY,spool=$T/spool" "$@" "$MNT" >"$T/fail.log" 2>&1 || rc=$?
	if is_mounted "$MNT"; then
		fusermount3 -u -z "$MNT"
		fail "$what: questfs mounted: $(cat "$T/fail.log")"
	fi
	[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "$what: questfs exit status $rc: $(cat "$T/fail.log")"
	expect_match "$what" "$re" "$(cat "$T/fail.log")"
}

# A spool directory that another user owns, or that group or others may
# write, is refused at start, as ssh's StrictModes does: whoever can write
# it could plant jobs that run in questfs's name.
case_spool_of_another_user_refused() {
	local u=qfsc$KEY
	new_user "$u"
	mkdir -m 0700 "$T/spool"
	chown "$u" "$T/spool"
	questfs_fails "owned by $u" "spool $T/spool belongs to $u .*mode 0700"
	chown root "$T/spool"
	chmod 0770 "$T/spool"
	questfs_fails "group-writable" "spool $T/spool .*mode 0770.*group or others"
	chmod 0757 "$T/spool"
	questfs_fails "world-writable" "mode 0757"
	rmdir "$T/spool"
	ln -s "$T" "$T/spool"
	questfs_fails "a symlink" "spool $T/spool .*symbolic link"
	rm "$T/spool"
	mkdir -m 0755 "$T/spool"
	start_qfs
}

# What the spool holds is not trusted: a FIFO or a symlink in place of a
# journal is set aside, never waited on; a planted job whose packet header
# lies (argv_size 0x7fffffff, binary_size 0xffffffff) is checked like a new
# program and its packet built again; a program that fails the checks is
# refused; a journal cut inside its first record header is reported.
case_spool_contents_not_trusted() {
	local j=$T/spool
	mkdir -m 0700 "$j" "$T/elsewhere"
	printf '#!/bin/sh\necho hi\n' >"$T/script"
	python3 "$TOP/tests/mounted/mkjournal.py" "$j/00000001.journal" \
		"1:planted:a b:$TOP/examples/hello:0x7fffffff:0xffffffff" \
		"2:script::$T/script" || fail mkjournal
	mkfifo -m 0600 "$j/00000002.journal"
	python3 "$TOP/tests/mounted/mkjournal.py" "$T/elsewhere/00000003.journal" \
		"3:linked::$TOP/examples/hello" || fail mkjournal
	ln -s "$T/elsewhere/00000003.journal" "$j/00000003.journal"
	python3 "$TOP/tests/mounted/mkjournal.py" "$j/00000004.journal" --cut 44 \
		"4:cut::$TOP/examples/hello" || fail mkjournal
	start_sim
	start_qfs
	wait_saved 1
	cmp "$TOP/examples/hello" "$SAVE/000001.elf" || fail "bytes differ"
	expect_eq "argv rebuilt" "planted a b" "$(argv_of 1)"
	wait_for "script refused" grep -q "job 2 uid=0 script refused: .*not an ELF file" "$MNT/log" ||
		fail "log: $(cat "$MNT/log")"
	grep -q "00000002.journal: .*FIFO.*set aside as 00000002.journal.bad" "$MNT/log" ||
		fail "fifo: $(cat "$MNT/log")"
	grep -q "00000003.journal: .*symbolic link.*set aside" "$MNT/log" ||
		fail "symlink: $(cat "$MNT/log")"
	grep -q "00000004.journal: .*cut short" "$MNT/log" || fail "cut: $(cat "$MNT/log")"
	grep -q "linked" "$MNT/log" && fail "the symlinked journal was read: $(cat "$MNT/log")"
	grep -Eq "^spool .*problems" "$MNT/status" || fail "status: $(cat "$MNT/status")"
	[ -p "$j/00000002.journal.bad" ] || fail "fifo not set aside: $(ls -l "$j")"
	expect_eq "received" 1 "$(saved_count)"
}

# Names and arguments are printed escaped: a name with a newline cannot
# forge a line of status or log, escape sequences never reach a terminal
# through cat status or tail -f log, and status.json stays valid JSON for
# names and arguments that are not UTF-8.
case_names_and_args_escaped() {
	local forge_status=$'x\n42    delivered forged'
	local forge_log=$'y\n2026-12-01T00:00:00.000Z job 99 uid=0 forged delivered'
	local esc=$'\e]0;pwned\a\e[2Jclear' bad=$'caf\xff\xfe'
	start_sim
	start_qfs
	cp "$TOP/examples/hello" "$MNT/run/$forge_status" || fail "cp 1"
	cp "$TOP/examples/hello" "$MNT/run/$forge_log" || fail "cp 2"
	cp "$TOP/examples/hello" "$MNT/run/$esc" || fail "cp 3"
	cp "$TOP/examples/hello" "$T/h"
	setfattr -n user.quest.args -v $'a\e[31mred \xff\\b' "$T/h" || fail setfattr
	cp --preserve=xattr "$T/h" "$MNT/run/$bad" || fail "cp 4"
	wait_saved 4
	wait_for "four delivered" grep -q '"delivered": 4' "$MNT/status.json"
	cat "$MNT/status" >"$T/status.out"
	cat "$MNT/log" >"$T/log.out"
	local f
	for f in "$T/status.out" "$T/log.out"; do
		LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$f" && fail "control characters in $f: $(cat -v "$f")"
		LC_ALL=C grep -q $'[\x80-\xff]' "$f" && fail "bytes that are not ASCII in $f: $(cat -v "$f")"
	done
	grep -q "^42 " "$T/status.out" && fail "a forged status line: $(cat "$T/status.out")"
	grep -q '^2026-12-01T00:00:00.000Z job 99' "$T/log.out" && fail "a forged log line: $(cat "$T/log.out")"
	grep -qF 'x\n42    delivered forged' "$T/status.out" || fail "status: $(cat -v "$T/status.out")"
	grep -qF 'y\n2026-12-01T00:00:00.000Z job 99 uid=0 forged delivered delivered' "$T/log.out" ||
		fail "log: $(cat -v "$T/log.out")"
	grep -qF '\x1b]0;pwned\x07\x1b[2Jclear' "$T/log.out" || fail "log: $(cat -v "$T/log.out")"
	grep -qF 'caf\xff\xfe' "$T/status.out" || fail "status: $(cat -v "$T/status.out")"
	grep -qF 'a\x1b[31mred' "$T/status.out" || fail "args: $(cat -v "$T/status.out")"
	grep -qF 'args: a\x1b[31mred \xffb' "$T/log.out" || fail "args in log: $(cat -v "$T/log.out")"
	python3 - "$MNT/status.json" <<'PY' || fail "status.json: $(cat -v "$MNT/status.json")"
import json, sys
names = {j["name"]: j for j in json.load(open(sys.argv[1], encoding="utf-8"))["jobs"]}
assert "x\\n42    delivered forged" in names, names.keys()
assert "\\x1b]0;pwned\\x07\\x1b[2Jclear" in names, names.keys()
j = names["caf\\xff\\xfe"]
assert j["args"].startswith("a\\x1b[31mred"), j["args"]
PY
}
