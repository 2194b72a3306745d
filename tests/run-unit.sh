#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs each cmocka test binary; fails if any fails.
rc=0
for t in "$@"; do
	"$t" || rc=1
done
exit $rc
