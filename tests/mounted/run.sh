#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs the mounted tests: every case_* function of tests/mounted/t_*.sh, each
# in its own subshell with a fresh quest-sim and questfs (see lib.sh).
# CASES=REGEX runs a subset. Missing FUSE is a failure, never a silent skip.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
export TOP
. "$TOP/tests/mounted/lib.sh"

for need in fusermount3 rsync setfattr getfattr gio dd install; do
	command -v "$need" >/dev/null || { echo "mounted tests: '$need' is missing (run make deps)" >&2; exit 1; }
done
if [ ! -c /dev/fuse ]; then
	echo "mounted tests: /dev/fuse is missing: cannot run them" >&2
	exit 1
fi

# left_by ID: the processes still running with QUESTFS_CASE=ID in their
# environment, as "pid command" lines (zombies have none)
left_by() {
	local e p
	for e in $(grep -lzx "QUESTFS_CASE=$1" /proc/[0-9]*/environ 2>/dev/null); do
		p=${e%/environ}
		printf '%s %s\n' "${p#/proc/}" "$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)"
	done
}
# nothing_left ID KEY: a case leaves no process and not its channel's
# segment behind (what it leaves would hold a key, a mount, a user's files)
nothing_left() {
	local id=$1 seg=/dev/shm/questfs-shm-$2 procs p
	wait_for "the case's processes to exit" test -z "$(left_by "$id")"
	procs=$(left_by "$id")
	[ -z "$procs" ] && [ ! -e "$seg" ] && return 0
	echo "left behind: ${procs:+processes: $procs }$([ ! -e "$seg" ] || echo "segment $seg")"
	for p in $(printf '%s\n' "$procs" | cut -d' ' -f1); do kill -KILL "$p" 2>/dev/null; done
	rm -f "$seg"
	return 1
}

pass=0 failed=0 notrun=0 names=""
# The channel cases run a second time over a vshm: region (PROTOCOL.md
# §3b) instead of shm:KEY: everything between questfs and the Quest side.
VSHM_CASES=${VSHM_CASES:-^case_(tree|cp_launches|parallel_writers_100|no_quest_side_then_attach|refused_by_quest_side|quest_side_dies_mid_packet|unmount_with_jobs_queued|kill9_.*|loader_round_trip_examples|loader_exit_statuses|quest_side_dies_five_times|quest_side_stopped_status_answers)$}
# a case that cannot run here says why in this file (not_run in lib.sh)
LOGS=$(mktemp -d /tmp/questfs-cases.XXXXXX) || exit 1
export QUESTFS_NOTRUN=$LOGS/notrun
for file in "$TOP"/tests/mounted/t_*.sh; do
	for c in $(bash -c ". '$file'; declare -F" | awk '$3 ~ /^case_/ {print $3}'); do
		[[ $c =~ ${CASES:-.} ]] || continue
		backends=shm
		[[ $c =~ $VSHM_CASES ]] && backends="shm vshm"
		for backend in $backends; do
		shown=$c
		[ "$backend" = shm ] || shown="$c [$backend]"
		start=$SECONDS
		id=$$.$c
		# the case's channel key (lib.sh's setup)
		key=$((300000 + (RANDOM * 32768 + RANDOM) % 600000))
		ok=1
		rm -f "$QUESTFS_NOTRUN"
		# -e: a helper that fails unguarded ends the case there, as a
		# failure, instead of letting it run on
		(
			set -eu
			export QUESTFS_CASE=$id QUESTFS_KEY=$key QUESTFS_BACKEND=$backend
			. "$file"
			setup
			"$c"
			stop_qfs
		) >"$LOGS/case.log" 2>&1 || ok=0
		nothing_left "$id" "$key" >>"$LOGS/case.log" 2>&1 || ok=0
		if [ "$ok" = 1 ] && [ -e "$QUESTFS_NOTRUN" ]; then
			notrun=$((notrun + 1))
			echo "n/a   $shown: not run: $(cat "$QUESTFS_NOTRUN")"
		elif [ "$ok" = 1 ]; then
			pass=$((pass + 1))
			echo "ok    $shown ($((SECONDS - start))s)"
		else
			failed=$((failed + 1))
			names="$names $c${backend#shm}"
			echo "FAIL  $shown ($((SECONDS - start))s)"
			sed 's/^/      /' "$LOGS/case.log"
		fi
		done
	done
done
rm -rf "$LOGS"
echo "mounted: $pass passed, $failed failed$([ "$notrun" = 0 ] || echo ", $notrun not run")"
if [ $((pass + failed)) = 0 ]; then
	echo "mounted tests: no case ran" >&2
	exit 1
fi
[ "$failed" = 0 ] || { echo "failed:$names"; exit 1; }
