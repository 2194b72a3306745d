#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# questfs's option table against its man page: every option --help lists
# (from the table in fs/options.c) has a paragraph in questfs(8) that gives
# the same default, and every option the man page describes is in the
# table; and an address option reads the same on a 32-bit host, all of
# 0..0xffffffff. Usage: tests/options.sh QUESTFS MANPAGE
set -eu
QUESTFS=$1
MAN=$2
help=$("$QUESTFS" --help) || { echo "options: $QUESTFS --help failed" >&2; exit 1; }
printf '%s\n' "$help" | python3 -c '
import re, sys
man_path = sys.argv[1]
help_lines = sys.stdin.read().split("\n")
rows, inside = [], False
for l in help_lines:
    if l.startswith("questfs options"):
        inside = True
        continue
    if inside and not l.strip():
        break
    m = re.match(r"    (\w+)(=\S+)?\s+(.*)$", l) if inside else None
    if m:
        d = re.search(r"\(([^()]*)\)$", m.group(3))
        rows.append((m.group(1), d.group(1) if d else None))
if len(rows) < 10:
    sys.exit("options: --help lists %d questfs options" % len(rows))

text = open(man_path).read()
sect = text.split(".SS questfs options", 1)[1].split(".SS ", 1)[0]
def plain(s):
    s = re.sub(r"\\f[RBIP]", "", s).replace("\\-", "-").replace("\\(aq", "\x27")
    return re.sub(r"^\.[A-Z]+ ?", "", s, flags=re.M)
paras = [plain(p) for p in sect.split(".TP\n")[1:]]
heads = [p.split("\n", 1)[0] for p in paras]
man_names = set(re.findall(r"([a-z_0-9]+)(?==)", " ".join(heads)))
man_names |= {h.strip() for h in heads if re.fullmatch(r"\s*[a-z_0-9]+\s*", h)}

bad = []
names = {n for n, _ in rows}
for n, d in rows:
    hits = [p for p, h in zip(paras, heads) if re.search(r"\b%s\b" % n, h)]
    if not hits:
        bad.append("%s: no paragraph in %s" % (n, man_path))
    elif d and d.lower() not in hits[0].lower().replace("\n", " "):
        bad.append("%s: --help says the default is %s; %s does not" % (n, d, man_path))
for n in sorted(man_names - names):
    bad.append("%s: in %s, not in the option table" % (n, man_path))
for b in bad:
    print("options: " + b, file=sys.stderr)
print("options: %d options checked against %s, %d disagree" % (len(rows), man_path, len(bad)))
sys.exit(1 if bad else 0)
' "$MAN"

# user_base and user_limit above 0x7fffffff: an i386 long cannot hold them,
# and all-ones must not read as "not given". questfs stops at the window
# check, before it mounts anything.
dir=$(mktemp -d)
trap 'rmdir "$dir"' EXIT
for w in "0xc0000000 0xb0000000" "0xffffffff 0x80000000"; do
	set -- $w
	want="user window [$1, $2) is empty"
	got=$("$QUESTFS" -f -o "spool=none,user_base=$1,user_limit=$2" "$dir" 2>&1) && {
		echo "options: user_base=$1,user_limit=$2 accepted" >&2
		exit 1
	}
	case $got in
	*"$want"*) ;;
	*)
		echo "options: user_base=$1,user_limit=$2: expected '$want', got: $got" >&2
		exit 1
		;;
	esac
done
echo "options: user_base, user_limit up to 0xffffffff read as given"
