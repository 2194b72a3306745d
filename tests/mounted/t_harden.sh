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
