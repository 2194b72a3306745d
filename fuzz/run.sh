#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs libFuzzer targets one after the other for SECONDS each, on their
# corpus (DIR/corpus/T, grown in place) and seeds (DIR/seed/T). Prints the
# executions of each target; fails if any target crashes, leaks, times out
# or breaks an invariant (its input is kept as DIR/artifacts/T-*).
# Usage: fuzz/run.sh DIR SECONDS TARGET:MAXLEN...
set -u
dir=$1 secs=$2
shift 2
mkdir -p "$dir/artifacts"
failed=0 names=""
for spec in "$@"; do
	t=${spec%%:*} maxlen=${spec#*:}
	log=$dir/$t.log
	mkdir -p "$dir/corpus/$t"
	rc=0
	"$dir/$t" -max_total_time="$secs" -max_len="$maxlen" -timeout=20 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$dir/artifacts/$t-" \
		"$dir/corpus/$t" "$dir/seed/${t#fuzz_}" >"$log" 2>&1 || rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	secs_done=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
	files=$(find "$dir/corpus/$t" -type f | wc -l)
	if [ "$rc" = 0 ]; then
		echo "$t: ${runs:-?} executions in ${secs_done:-$secs} s, corpus $files files"
	else
		failed=$((failed + 1))
		names="$names $t"
		echo "$t: FAILED (exit $rc) after ${runs:-?} executions; log $log"
		grep -E 'ERROR|SUMMARY|runtime error|fuzz_[a-z]+: |Test unit written|^ *#[0-9]+ 0x' "$log" |
			head -30 | sed 's/^/    /'
	fi
done
[ "$failed" = 0 ] || { echo "fuzz: $failed target(s) failed:$names"; exit 1; }
