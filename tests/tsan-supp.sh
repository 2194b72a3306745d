#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The TSan suppression file suppresses the one false positive it is for:
# without it, writev-after-free is reported (exit 66); with it, not.
# usage: tsan-supp.sh build/tsan/tests/writev-after-free build/tsan/tsan.supp
prog=$1 supp=$2
rc=0
TSAN_OPTIONS=halt_on_error=1:exitcode=66 "$prog" 2>/dev/null || rc=$?
if [ "$rc" != 66 ]; then
	echo "FAIL  tsan-supp: writev after free not reported without suppressions (exit $rc)"
	exit 1
fi
rc=0
out=$(TSAN_OPTIONS=halt_on_error=1:exitcode=66:suppressions=$supp "$prog" 2>&1) || rc=$?
if [ "$rc" != 0 ]; then
	echo "FAIL  tsan-supp: $supp does not suppress writev after free (exit $rc)"
	printf '%s\n' "$out" | sed -n '1,12p'
	exit 1
fi
echo "ok    tsan-supp: $supp suppresses writev after free, and only with it"
