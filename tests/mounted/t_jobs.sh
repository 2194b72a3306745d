# SPDX-License-Identifier: GPL-2.0-or-later
# Jobs and the Quest side: order, waiting, refusals, failures, unmount.
# shellcheck shell=bash

up() { start_sim "$@"; start_qfs; }

case_parallel_writers_100() {
	up
	mkdir "$T/src"
	local w i
	for w in 1 2 3 4; do
		for i in $(seq 1 25); do
			"$MKELF" --seed $((w * 1000 + i)) --size $((600 + (w * 37 + i * 101) % 20000)) "$T/src/w$w-$i" || fail mkelf
		done
	done
	local pids=""
	for w in 1 2 3 4; do
		writer "$w" 25 &
		pids="$pids $!"
	done
	for p in $pids; do wait "$p" || fail "a writer failed"; done
	wait_saved 100
	# map each received program back to its source by content
	declare -A seen
	local f h
	for f in "$T"/src/*; do seen[$(sha1sum <"$f" | cut -c1-40)]=$(basename "$f"); done
	local last1=0 last2=0 last3=0 last4=0 n name
	for f in "$SAVE"/*.elf; do
		h=$(sha1sum <"$f" | cut -c1-40)
		name=${seen[$h]:-}
		[ -n "$name" ] || fail "$f matches no source"
		unset "seen[$h]"
		expect_eq "argv of $f" "$name" "$(tr -d '\0' <"${f%.elf}.argv")"
		w=${name%%-*}; w=${w#w}; i=${name#*-}
		n=$(eval echo \$last$w)
		[ "$i" -gt "$n" ] || fail "writer $w: $name arrived after w$w-$n"
		eval last$w=$i
	done
	expect_eq "every program delivered exactly once" 0 "${#seen[@]}"
	expect_eq "delivered" 100 "$(json_count delivered)"
}

case_no_quest_side_then_attach() {
	start_qfs
	cp "$EX/hello" "$MNT/run/a"
	cp "$EX/hello_argvs" "$MNT/run/b"
	grep -q "not attached" "$MNT/status" || fail "status: $(cat "$MNT/status")"
	wait_for "waiting logged" grep -q "job 1 uid=0 a waiting" "$MNT/log"
	expect_eq "queued" 2 "$(json_count queued)"
	start_sim
	wait_saved 2
	expect_eq "first in order" a "$(argv_of 1)"
	expect_eq "second in order" b "$(argv_of 2)"
	wait_for "attached" grep -q "quest side  attached" "$MNT/status"
}

case_refused_by_quest_side() {
	up --refuse="no room for it"
	cp "$EX/hello" "$MNT/run/r"
	wait_for "refused" state_is "$MNT/run/r" refused
	expect_match "reason" "no room for it" "$(xattr "$MNT/run/r" user.quest.error)"
	grep -q "job 1 uid=0 r refused: .*no room for it" "$MNT/log" || fail "log: $(cat "$MNT/log")"
}

case_quest_side_dies_mid_packet() {
	up --die-after 2
	cp "$EX/hello" "$MNT/run/one"
	wait_saved 1
	cp "$EX/hello" "$MNT/run/two"
	wait_for "two failed" state_is "$MNT/run/two" failed
	expect_match "reason" "went away|gone|died" "$(xattr "$MNT/run/two" user.quest.error)"
	wait "$sim_pid" 2>/dev/null
	sim_pid=""
	cp "$EX/hello" "$MNT/run/three"
	grep -Eq "not attached|not seen for [0-9]+ s" "$MNT/status" || fail "status: $(cat "$MNT/status")"
	SAVE=$T/save2 start_sim
	wait_for "three delivered" state_is "$MNT/run/three" delivered
	cmp "$EX/hello" "$T/save2/000001.elf" || fail "three: bytes differ"
}

case_unmount_with_jobs_queued() {
	start_qfs
	cp "$EX/hello" "$MNT/run/q1"
	cp "$EX/hello" "$MNT/run/q2"
	expect_eq "queued" 2 "$(json_count queued)"
	fusermount3 -u "$MNT" || fail "unmount failed"
	local rc=0
	wait "$qfs_pid" || rc=$?
	qfs_pid=""
	expect_eq "exit status" 0 "$rc"
	grep -q "job 1 q1 was not delivered" "$T/qfs.log" || fail "not reported: $(cat "$T/qfs.log")"
	grep -q "job 2 q2 was not delivered" "$T/qfs.log" || fail "not reported: $(cat "$T/qfs.log")"
}

case_tail_f_log() {
	up
	tail -n +1 -f "$MNT/log" >"$T/tail.out" 2>&1 &
	local tp=$!
	wait_for "tail shows the mount line" grep -q mounted "$T/tail.out"
	cp "$EX/hello" "$MNT/run/tailed"
	wait_for "tail -f sees the new job" grep -q "job 1 uid=0 tailed delivered" "$T/tail.out" ||
		fail "tail saw: $(cat "$T/tail.out")"
	kill "$tp"
	wait "$tp" 2>/dev/null
	true
}
