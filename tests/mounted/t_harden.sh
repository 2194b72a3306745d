# SPDX-License-Identifier: GPL-2.0-or-later
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
	as_user "$u" cp "$EX/hello" "$MNT/run/p" || fail "$u cannot launch"
	cp "$EX/hello" "$MNT/run/r" || fail "root cannot launch"
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
	out=$(timeout 10 "$LOADER" --channel "shm:$KEY" "$EX/hello" 2>&1) || rc=$?
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
	out=$(timeout 10 "$LOADER" --channel "shm:$KEY" "$EX/hello" 2>&1) || rc=$?
	expect_eq "questbinloader exit status" 3 "$rc"
	expect_refused_segment "mode 0644" "$out" "mode 0644"
	# a symlink to a file of ours
	rm -f "$seg"
	: >"$T/target"
	ln -s "$T/target" "$seg"
	rc=0
	out=$(timeout 10 "$LOADER" --channel "shm:$KEY" "$EX/hello" 2>&1) || rc=$?
	expect_eq "questbinloader exit status" 3 "$rc"
	expect_match "symlink" "symbolic link" "$out"
	expect_eq "target untouched" 0 "$(stat -c %s "$T/target")"
	rm -f "$seg"

	# once removed, all is as before
	start_sim
	start_qfs
	cp "$EX/hello" "$MNT/run/p" || fail "cp"
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
		"1:planted:a b:$EX/hello:0x7fffffff:0xffffffff" \
		"2:script::$T/script" || fail mkjournal
	mkfifo -m 0600 "$j/00000002.journal"
	python3 "$TOP/tests/mounted/mkjournal.py" "$T/elsewhere/00000003.journal" \
		"3:linked::$EX/hello" || fail mkjournal
	ln -s "$T/elsewhere/00000003.journal" "$j/00000003.journal"
	python3 "$TOP/tests/mounted/mkjournal.py" "$j/00000004.journal" --cut 44 \
		"4:cut::$EX/hello" || fail mkjournal
	start_sim
	start_qfs
	wait_saved 1
	cmp "$EX/hello" "$SAVE/000001.elf" || fail "bytes differ"
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
	# names with blanks are argv[0]: Quest's command line (argv_format=line)
	# cannot carry them and refuses them (t_fidelity.sh); the escaping of
	# names that run is what this case checks
	start_sim --argv-format strings
	start_qfs -o argv_format=strings
	cp "$EX/hello" "$MNT/run/$forge_status" || fail "cp 1"
	cp "$EX/hello" "$MNT/run/$forge_log" || fail "cp 2"
	cp "$EX/hello" "$MNT/run/$esc" || fail "cp 3"
	cp "$EX/hello" "$T/h"
	setfattr -n user.quest.args -v $'a\e[31mred \xff\\b' "$T/h" || fail setfattr
	cp --preserve=xattr "$T/h" "$MNT/run/$bad" || fail "cp 4"
	# a quoted newline inside an argument
	printf "'one\n2026-12-01T00:00:00.000Z job 98 uid=0 z delivered'" >"$MNT/run/nl.args"
	cp "$EX/hello" "$MNT/run/nl" || fail "cp 5"
	wait_saved 5
	wait_for "five delivered" grep -q '"delivered": 5' "$MNT/status.json"
	cat "$MNT/status" >"$T/status.out"
	cat "$MNT/log" >"$T/log.out"
	local f
	for f in "$T/status.out" "$T/log.out"; do
		LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$f" && fail "control characters in $f: $(cat -v "$f")"
		LC_ALL=C grep -q $'[\x80-\xff]' "$f" && fail "bytes that are not ASCII in $f: $(cat -v "$f")"
	done
	grep -q "^42 " "$T/status.out" && fail "a forged status line: $(cat "$T/status.out")"
	grep -q '^2026-12-01T00:00:00.000Z job 9[89]' "$T/log.out" && fail "a forged log line: $(cat "$T/log.out")"
	grep -qF "nl queued: 568 bytes, args: 'one\n2026-12-01T00:00:00.000Z job 98 uid=0 z delivered'" "$T/log.out" ||
		fail "newline in args: $(cat -v "$T/log.out")"
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

# run/ shared by a group (run_mode=0770): a member cannot remove or rename
# another's file (run/ is sticky), set run/'s default arguments (root or
# run/'s owner only), or plant NAME.args for another's program (a sidecar
# counts only for its owner's programs); others' arguments are hidden
# from him in status, status.json and log; a sidecar still open for
# writing is never used half-written.
case_group_members_cannot_act_for_each_other() {
	local g=qfsg$KEY a=qfsd$KEY b=qfse$KEY gid out rc
	groupadd "$g" || fail "groupadd $g"
	new_user "$a" -G "$g"
	new_user "$b" -G "$g"
	at_exit last "groupdel $g 2>/dev/null"
	gid=$(getent group "$g" | cut -d: -f3)
	chmod 755 "$T"
	start_sim
	start_qfs -o "allow_other,default_permissions,run_mode=0770,run_gid=$gid"
	expect_eq "run/" "drwxrwx--T" "$(stat -c %A "$MNT/run")"

	as_user "$a" cp "$EX/hello" "$MNT/run/p" || fail "$a cannot launch"
	wait_saved 1
	rc=0
	out=$(as_user "$b" rm -f "$MNT/run/p" 2>&1) || rc=$?
	expect_match "rm by $b" "Operation not permitted" "$out"
	rc=0
	out=$(as_user "$b" mv "$MNT/run/p" "$MNT/run/q" 2>&1) || rc=$?
	expect_match "mv by $b" "Operation not permitted" "$out"
	[ -e "$MNT/run/p" ] || fail "$b removed $a's file"

	rc=0
	out=$(as_user "$b" setfattr -n user.quest.args -v evil "$MNT/run" 2>&1) || rc=$?
	expect_match "setfattr on run/ by $b" "Operation not permitted" "$out"
	setfattr -n user.quest.args -v "by root" "$MNT/run" || fail "root cannot set run/'s arguments"
	setfattr -x user.quest.args "$MNT/run" || fail "root cannot remove run/'s arguments"

	echo evil | as_user "$b" tee "$MNT/run/p2.args" >/dev/null || fail "$b cannot write a sidecar"
	as_user "$a" cp "$EX/hello_argvs" "$MNT/run/p2" || fail "$a cannot launch p2"
	wait_saved 2
	expect_eq "argv of p2: the planted sidecar is ignored" p2 "$(argv_of 2)"
	grep -q " file uid=$(id -u "$b") run/p2.args ignored for run/p2 of uid $(id -u "$a")" "$MNT/log" || fail "log: $(cat "$MNT/log")"

	echo 'secret words' | as_user "$a" tee "$MNT/run/p3.args" >/dev/null || fail "sidecar p3"
	as_user "$a" cp "$EX/hello_argvs" "$MNT/run/p3" || fail "$a cannot launch p3"
	wait_saved 3
	expect_eq "argv of p3" "p3 secret words" "$(argv_of 3)"
	wait_for "p3 delivered" state_is "$MNT/run/p3" delivered
	as_user "$b" cat "$MNT/status" >"$T/b.status" || fail "status as $b"
	as_user "$b" cat "$MNT/log" >"$T/b.log" || fail "log as $b"
	as_user "$b" cat "$MNT/status.json" >"$T/b.json" || fail "status.json as $b"
	as_user "$a" cat "$MNT/status" >"$T/a.status" || fail "status as $a"
	as_user "$a" cat "$MNT/log" >"$T/a.log" || fail "log as $a"
	grep -q secret "$T/b.status" "$T/b.log" "$T/b.json" && fail "$b sees $a's arguments: $(cat "$T/b.status" "$T/b.log")"
	grep -Eq "^3 +delivered +$a +p3 .*\(hidden\)" "$T/b.status" || fail "status as $b: $(cat "$T/b.status")"
	grep -q "p3 queued: [0-9]* bytes, args: \*\*\*\*\*\*\*\*\*\*\*\*$" "$T/b.log" || fail "log as $b: $(cat "$T/b.log")"
	python3 -c 'import json,sys; j=[x for x in json.load(open(sys.argv[1]))["jobs"] if x["name"]=="p3"][0]; assert j["args"] is None, j' "$T/b.json" ||
		fail "status.json as $b: $(cat "$T/b.json")"
	grep -q "p3 .*secret words" "$T/a.status" || fail "status as $a: $(cat "$T/a.status")"
	grep -q "p3 queued: [0-9]* bytes, args: secret words$" "$T/a.log" || fail "log as $a: $(cat "$T/a.log")"
	grep -q "p3 queued: [0-9]* bytes, args: secret words$" "$MNT/log" || fail "log as root: $(cat "$MNT/log")"
	expect_eq "log sizes agree" "$(wc -c <"$T/a.log")" "$(wc -c <"$T/b.log")"

	# a sidecar its writer still holds open is not used half-written
	mkfifo "$T/go"
	chmod 666 "$T/go"
	timeout 30 setpriv --reuid="$a" --regid="$(id -g "$a")" --init-groups -- \
		/usr/bin/python3 -c "
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b'half')
open(sys.argv[2]).read()
os.write(fd, b' done')
os.close(fd)
" "$MNT/run/p4.args" "$T/go" &
	local wp=$!
	half_written() { test "$(stat -c %s "$MNT/run/p4.args" 2>/dev/null)" = 4; }
	wait_for "half a sidecar" half_written || fail "the sidecar's writer did not start"
	as_user "$a" cp "$EX/hello_argvs" "$MNT/run/p4" || fail "$a cannot launch p4"
	wait_for "p4 refused" state_is "$MNT/run/p4" refused || fail "p4: $(cat "$MNT/status")"
	expect_match "p4's reason" "p4.args is still open for writing" "$(xattr "$MNT/run/p4" user.quest.error)"
	echo go >"$T/go"
	wait "$wp"
	expect_eq "received" 3 "$(saved_count)"
}

# rss_kb: questfs's resident memory
rss_kb() { ps -o rss= -p "$qfs_pid" | tr -d ' '; }

# eagain_count USER N PREFIX: USER creates N empty files PREFIX1..N in
# run/; prints how many got "Resource temporarily unavailable"
eagain_count() {
	: >"$T/eagain.$1"
	chmod 666 "$T/eagain.$1"
	as_user "$1" bash -c '
		n=0
		for ((i = 1; i <= $1; i++)); do
			{ : >"$2$i"; } 2>>"$3" || n=$((n + 1))
		done
		echo $n' _ "$2" "$MNT/run/$3" "$T/eagain.$1"
}

# One user cannot starve the others: per-user queue, bytes and file
# limits answer him EAGAIN while another user still launches; hidden
# files that never launch count and expire after linger; xattr bytes
# count; 10,000 empty files leave questfs's memory bounded.
case_per_user_limits() {
	local a=qfsf$KEY b=qfsh$KEY c=qfsi$KEY out rc i
	new_user "$a"
	new_user "$b"
	new_user "$c"
	chmod 755 "$T"
	mkdir "$T/src"
	for i in 1 2 3 4 5 6; do "$MKELF" --seed "$i" --size 20000 "$T/src/p$i" || fail mkelf; done
	chmod -R a+rX "$T/src"
	# no Quest side: everything stays queued
	start_qfs -o "allow_other,default_permissions,run_mode=0777,linger=2,user_max_queue=5,user_max_bytes=300000,user_max_files=1000"
	for i in 1 2 3 4 5; do
		as_user "$a" cp "$T/src/p$i" "$MNT/run/a$i" || fail "$a's program $i"
	done
	rc=0
	out=$(as_user "$a" cp "$T/src/p6" "$MNT/run/a6" 2>&1) || rc=$?
	expect_match "$a's sixth" "Resource temporarily unavailable" "$out"
	as_user "$b" cp "$T/src/p6" "$MNT/run/b1" || fail "$b cannot launch while $a is at his limit"
	expect_eq "queued" 6 "$(json_count queued)"
	grep -q "user_max_queue" "$T/qfs.log" || fail "no reason logged: $(cat "$T/qfs.log")"

	# bytes of files that never launch count (with b's queued program),
	# then expire after linger
	rc=0
	out=$(as_user "$b" dd if=/dev/zero of="$MNT/run/.hidden" bs=100000 count=3 2>&1) || rc=$?
	expect_match "$b's hidden file past user_max_bytes" "Resource temporarily unavailable" "$out"
	grep -q "user_max_bytes" "$T/qfs.log" || fail "no reason logged: $(cat "$T/qfs.log")"
	gone() { ! ls -A "$MNT/run" | grep -q '^\.hidden$'; }
	wait_for "the hidden file expires" gone || fail "still there: $(ls -la "$MNT/run")"

	# xattr bytes count toward the same limit
	as_user "$b" touch "$MNT/run/.x" || fail "touch"
	local v
	v=$(head -c 60000 /dev/zero | tr '\0' a)
	rc=0
	for i in 1 2 3 4 5 6 7 8; do
		as_user "$b" setfattr -n "user.big$i" -v "$v" "$MNT/run/.x" 2>"$T/setfattr.err" || { rc=$i; break; }
	done
	[ "$rc" -gt 1 ] || fail "no xattr limit, or none allowed (rc $rc)"
	expect_match "setfattr past user_max_bytes" "Disk quota exceeded" "$(cat "$T/setfattr.err")"

	# 10,000 empty files: EAGAIN past user_max_files, memory bounded
	# (a linger of an hour: none of them may expire during the loop, however
	# slow the machine is)
	stop_qfs
	start_qfs -o "allow_other,default_permissions,run_mode=0777,linger=3600,user_max_files=1000"
	local before after n
	before=$(rss_kb)
	n=$(eagain_count "$c" 10000 e)
	after=$(rss_kb)
	echo "RSS with 10,000 empty files tried: ${before} kB before, ${after} kB after ($n refused)"
	expect_eq "refused past user_max_files" 9000 "$n"
	grep -q "Resource temporarily unavailable" "$T/eagain.$c" || fail "not EAGAIN: $(head -3 "$T/eagain.$c")"
	grep -q "user_max_files" "$T/qfs.log" || fail "no reason logged"
	# ASan's quarantine holds freed memory: the bound is checked by the
	# unsanitized run (make check), not by check-sanitize
	[ -n "${QUESTFS_SANITIZED:-}" ] || [ $((after - before)) -lt 20000 ] ||
		fail "questfs grew by $((after - before)) kB"
	as_user "$b" touch "$MNT/run/still" || fail "$b cannot create a file while $c is at his limit"
}
