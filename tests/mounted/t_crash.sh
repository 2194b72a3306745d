# Crash safety: the spool keeps every queued program across a kill -9 of
# questfs, and a program the Quest side already took is not sent twice.
# shellcheck shell=bash

spool_empty() { test -z "$(ls "$T/spool")"; }

# crash_qfs: kill -9 the daemon and clear its dead mount
crash_qfs() {
	kill -KILL "$qfs_pid"
	wait "$qfs_pid" 2>/dev/null
	qfs_pid=""
	fusermount3 -u -z "$MNT" || fail "cannot clear the dead mount"
	wait_for "mount gone" bash -c "! grep -qs ' $MNT ' /proc/self/mounts"
}

case_kill9_with_queued_jobs() {
	start_qfs
	mkdir "$T/src"
	local i
	for i in 1 2 3 4 5; do
		"$MKELF" --seed "$i" --size $((1000 * i)) "$T/src/p$i" || fail mkelf
		cp "$T/src/p$i" "$MNT/run/p$i" || fail "cp p$i"
	done
	expect_eq "queued before the crash" 5 "$(json_count queued)"
	crash_qfs
	expect_eq "spool entries" 5 "$(ls "$T/spool" | grep -c '\.job$')"
	start_qfs
	grep -q "job 1 p1 recovered from the spool" "$MNT/log" || fail "log: $(cat "$MNT/log")"
	start_sim
	wait_saved 5
	for i in 1 2 3 4 5; do
		cmp "$T/src/p$i" "$SAVE/00000$i.elf" || fail "p$i: bytes or order differ"
		expect_eq "argv $i" "p$i" "$(argv_of "$i")"
	done
	wait_for "spool emptied" spool_empty
	# a sixth program after them proves no duplicate is still coming
	cp "$TOP/examples/hello" "$MNT/run/last"
	wait_saved 6
	expect_eq "the sixth is 'last'" last "$(argv_of 6)"
	expect_eq "exactly six received" 6 "$(saved_count)"
}

case_kill9_after_quest_side_took_it() {
	start_sim --delay 1500 # takes the packet, answers 1.5 s later
	start_qfs -o send_timeout=20000
	cp "$TOP/examples/hello" "$MNT/run/taken"
	wait_saved 1 # quest-sim saves it before it answers: it has it
	expect_eq "still sending" sending "$(xattr "$MNT/run/taken" user.quest.state)"
	crash_qfs
	start_qfs -o send_timeout=20000
	grep -q "job 1 taken was taken by the Quest side before questfs stopped" "$MNT/log" ||
		fail "log: $(cat "$MNT/log")"
	cp "$TOP/examples/hello_argvs" "$MNT/run/next"
	wait_saved 2
	expect_eq "the second received is 'next', not 'taken' again" next "$(argv_of 2)"
	wait_for "next delivered" grep -q "job 2 next delivered" "$MNT/log"
	expect_eq "exactly two received" 2 "$(saved_count)"
}

case_kill9_before_quest_side_took_it() {
	start_sim
	kill -STOP "$sim_pid" # attached, but takes nothing
	start_qfs
	cp "$TOP/examples/hello" "$MNT/run/full"
	wait_for "sending" state_is "$MNT/run/full" sending
	crash_qfs
	start_qfs
	kill -CONT "$sim_pid"
	wait_saved 1
	wait_for "delivered" grep -q "job 1 full delivered" "$MNT/log" || fail "log: $(cat "$MNT/log")"
	cp "$TOP/examples/hello_argvs" "$MNT/run/after"
	wait_saved 2
	expect_eq "second is 'after'" after "$(argv_of 2)"
	expect_eq "exactly two received" 2 "$(saved_count)"
}

case_corrupt_spool_entries_skipped() {
	mkdir -p "$T/spool"
	head -c 300 /dev/urandom >"$T/spool/0000000000000007.job"
	printf 'QFSSPOOL' >"$T/spool/0000000000000008.job"
	start_sim
	start_qfs
	grep -q "0000000000000007.job skipped" "$MNT/log" || fail "log: $(cat "$MNT/log")"
	grep -q "0000000000000008.job skipped" "$MNT/log" || fail "log: $(cat "$MNT/log")"
	[ -e "$T/spool/0000000000000007.job.bad" ] || fail "bad entry not kept aside"
	cp "$TOP/examples/hello" "$MNT/run/ok"
	wait_saved 1
}
