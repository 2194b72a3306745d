#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# make check-spdx: every source file that git tracks (C, assembly, make, shell and
# python scripts, the Yocto layer's files) has an SPDX-License-Identifier
# line among its first ten lines; lists those that do not. Other files
# (documents, manual pages, units, XML) are not looked at.
cd "$(dirname "$0")/.." || exit 1
missing=0 n=0
for f in $(git ls-files); do
	case $f in
	*.c | *.h | *.s | *.sh | *.mk | *.py | *.bb | *.bbappend | */conf/layer.conf | Makefile | */Makefile) ;;
	*) head -c 2 "$f" 2>/dev/null | grep -q '^#!' || continue ;;
	esac
	n=$((n + 1))
	if ! head -n 10 "$f" | grep -q 'SPDX-License-Identifier: '; then
		echo "no SPDX-License-Identifier: $f"
		missing=$((missing + 1))
	fi
done
echo "spdx: $n source files, $missing without an SPDX-License-Identifier line"
[ "$missing" = 0 ]
