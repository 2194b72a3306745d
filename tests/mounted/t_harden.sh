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
