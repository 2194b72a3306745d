# SPDX-License-Identifier: GPL-2.0-or-later
# Crash safety: the spool keeps every queued program across a kill -9 of
# questfs, and a program the Quest side already took is not sent twice.
# shellcheck shell=bash

# journal: the spool's one journal file (a fresh one at each start)
journal() {
	local j=("$T"/spool/*.journal)
	[ "${#j[@]}" = 1 ] && [ -f "${j[0]}" ] || fail "spool: $(ls -l "$T/spool")"
	echo "${j[0]}"
}

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
	# in the spool once the log says queued (close returns before)
	wait_for "all five spooled" grep -q "job 5 uid=0 p5 queued" "$MNT/log"
	crash_qfs
	start_qfs
	expect_eq "recovered" 5 "$(grep -c "recovered from the spool" "$MNT/log")"
	grep -q "job 1 uid=0 p1 recovered from the spool" "$MNT/log" || fail "log: $(cat "$MNT/log")"
	start_sim
	wait_saved 5
	for i in 1 2 3 4 5; do
		cmp "$T/src/p$i" "$SAVE/00000$i.elf" || fail "p$i: bytes or order differ"
		expect_eq "argv $i" "p$i" "$(argv_of "$i")"
	done
	wait_for "all five delivered" grep -q "job 5 uid=0 p5 delivered" "$MNT/log"
	# crashed again once they are delivered, questfs sends none of them
	# again: the spool knows they are done
	crash_qfs
	start_qfs
	grep -q "recovered from the spool" "$MNT/log" && fail "sent again: $(cat "$MNT/log")"
	# a sixth program after them proves no duplicate is still coming
	cp "$EX/hello" "$MNT/run/last"
	wait_saved 6
	expect_eq "the sixth is 'last'" last "$(argv_of 6)"
	expect_eq "exactly six received" 6 "$(saved_count)"
}

case_kill9_after_quest_side_took_it() {
	start_sim --delay 1500 # takes the packet, answers 1.5 s later
	start_qfs -o send_timeout=20000
	cp "$EX/hello" "$MNT/run/taken"
	wait_saved 1 # quest-sim saves it before it answers: it has it
	expect_eq "still sending" sending "$(xattr "$MNT/run/taken" user.quest.state)"
	crash_qfs
	start_qfs -o send_timeout=20000
	grep -q "job 1 uid=0 taken was taken by the Quest side before questfs stopped" "$MNT/log" ||
		fail "log: $(cat "$MNT/log")"
	cp "$EX/hello_argvs" "$MNT/run/next"
	wait_saved 2
	expect_eq "the second received is 'next', not 'taken' again" next "$(argv_of 2)"
	wait_for "next delivered" grep -q "job 2 uid=0 next delivered" "$MNT/log"
	expect_eq "exactly two received" 2 "$(saved_count)"
}

# Delivered, then killed at once: the job's done record is owed (it goes
# with the next launch's record, or 2 s later), so the restart finds the
# job marked and asks the channel, which says it was taken: not sent again.
case_kill9_right_after_delivery() {
	start_sim
	start_qfs
	cp "$EX/hello" "$MNT/run/once"
	wait_for "delivered" state_is "$MNT/run/once" delivered
	crash_qfs
	start_qfs
	cp "$EX/hello_argvs" "$MNT/run/next"
	wait_saved 2
	expect_eq "the second received is 'next', not 'once' again" next "$(argv_of 2)"
	wait_for "next delivered" grep -q "job 2 uid=0 next delivered" "$MNT/log"
	expect_eq "exactly two received" 2 "$(saved_count)"
}

case_kill9_before_quest_side_took_it() {
	start_sim
	kill -STOP "$sim_pid" # attached, but takes nothing
	start_qfs
	cp "$EX/hello" "$MNT/run/full"
	wait_for "sending" state_is "$MNT/run/full" sending
	crash_qfs
	start_qfs
	kill -CONT "$sim_pid"
	wait_saved 1
	wait_for "delivered" grep -q "job 1 uid=0 full delivered" "$MNT/log" || fail "log: $(cat "$MNT/log")"
	cp "$EX/hello_argvs" "$MNT/run/after"
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
	grep -q "0000000000000007.job: .*skipped" "$MNT/log" || fail "log: $(cat "$MNT/log")"
	grep -q "0000000000000008.job: .*skipped" "$MNT/log" || fail "log: $(cat "$MNT/log")"
	[ -e "$T/spool/0000000000000007.job.bad" ] || fail "bad entry not kept aside"
	cp "$EX/hello" "$MNT/run/ok"
	wait_saved 1
}

# A spool entry of questfs 0.1.0 (format 1: one file per job) still runs.
case_format1_entry_recovered() {
	start_qfs -o argv0=none
	cp "$EX/hello" "$MNT/run/old"
	wait_for "spooled" grep -q "job 1 uid=0 old queued" "$MNT/log"
	crash_qfs
	# the same job as 0.1.0 wrote it, from this journal's job record
	local j
	j=$(journal)
	python3 - "$j" "$T/spool/0000000000000001.job" <<'PY' || fail "cannot write a format 1 entry"
import struct, sys, zlib
b = open(sys.argv[1], 'rb').read()
o = 24
assert b[o:o + 4] == b'QREC'
_, _, _, mlen, jid, ilen = struct.unpack_from('<HHIIQI', b, o + 4)
meta, image = b[o + 40:o + 40 + mlen], b[o + 40 + mlen:o + 40 + mlen + ilen]
ms, nl = struct.unpack_from('<qI', meta, 0)
name = meta[12:12 + nl]
al, = struct.unpack_from('<I', meta, 12 + nl)
args = meta[16 + nl:16 + nl + al]
hdr = meta[16 + nl + al:16 + nl + al + 88]  # the uid follows
body = struct.pack('<qq', jid, ms) + struct.pack('<I', nl) + name + \
    struct.pack('<I', al) + args + hdr + struct.pack('<I', len(image)) + image
open(sys.argv[2], 'wb').write(b'QFSSPOOL' + struct.pack('<II', 1, zlib.crc32(body)) + body)
PY
	rm -f "$j"
	start_sim
	start_qfs -o argv0=none
	grep -q "job 1 uid=0 old recovered from the spool" "$MNT/log" || fail "log: $(cat "$MNT/log")"
	wait_saved 1
	cmp "$EX/hello" "$SAVE/000001.elf" || fail "bytes differ"
	[ -e "$T/spool/0000000000000001.job" ] && fail "the format 1 entry stayed"
	wait_for "delivered" grep -q "job 1 uid=0 old delivered" "$MNT/log"
}

# Damage in the journal costs the damaged records only: a flipped byte in
# one, the last one cut short by a crash mid-write.
case_damaged_journal_records_skipped() {
	start_qfs
	mkdir "$T/src"
	local i
	for i in 1 2 3; do
		"$MKELF" --seed "$i" --size $((1000 * i)) "$T/src/p$i" || fail mkelf
		cp "$T/src/p$i" "$MNT/run/p$i" || fail "cp p$i"
	done
	wait_for "three queued" grep -q "job 3 uid=0 p3 queued" "$MNT/log"
	crash_qfs
	local j at size
	j=$(journal)
	# the second record: one byte of its job id changed
	at=$(grep -obUa QREC "$j" | sed -n 2p | cut -d: -f1)
	[ -n "$at" ] || fail "no second record in $j"
	printf 'X' | dd of="$j" bs=1 seek=$((at + 17)) conv=notrunc status=none
	size=$(stat -c %s "$j")
	truncate -s $((size - 100)) "$j"
	start_sim
	start_qfs
	grep -q "damaged record at byte $at (checksum mismatch)" "$MNT/log" || fail "log: $(cat "$MNT/log")"
	grep -q "is cut short" "$MNT/log" || fail "log: $(cat "$MNT/log")"
	[ -e "$j.bad" ] || fail "the damaged journal was not kept aside: $(ls "$T/spool")"
	wait_saved 1
	cmp "$T/src/p1" "$SAVE/000001.elf" || fail "p1 differs"
	wait_for "p1 delivered" grep -q "job 1 uid=0 p1 delivered" "$MNT/log"
	cp "$EX/hello" "$MNT/run/after"
	wait_saved 2
	expect_eq "the second received is 'after'" after "$(argv_of 2)"
}
