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

pass=0 failed=0 names=""
for file in "$TOP"/tests/mounted/t_*.sh; do
	for c in $(bash -c ". '$file'; declare -F" | awk '$3 ~ /^case_/ {print $3}'); do
		[[ $c =~ ${CASES:-.} ]] || continue
		start=$SECONDS
		if (
			set -u
			. "$file"
			setup
			"$c"
			stop_qfs
		) >"/tmp/questfs-case.$$.log" 2>&1; then
			pass=$((pass + 1))
			echo "ok    $c ($((SECONDS - start))s)"
		else
			failed=$((failed + 1))
			names="$names $c"
			echo "FAIL  $c ($((SECONDS - start))s)"
			sed 's/^/      /' "/tmp/questfs-case.$$.log"
		fi
	done
done
rm -f "/tmp/questfs-case.$$.log"
echo "mounted: $pass passed, $failed failed"
if [ $((pass + failed)) = 0 ]; then
	echo "mounted tests: no case ran" >&2
	exit 1
fi
[ "$failed" = 0 ] || { echo "failed:$names"; exit 1; }
