#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# quest-emu's system call table against its man page: every row of
# --list-syscalls has its vector's paragraph in SYSTEM CALLS, which names
# the call (each part of a name such as getchar/getcode), and every vector
# the man page describes is in the table.
# Usage: tests/emu/syscalls.sh QUEST_EMU MANPAGE
set -eu
rows=$("$1" --list-syscalls) || { echo "syscalls: $1 --list-syscalls failed" >&2; exit 1; }
printf '%s\n' "$rows" | python3 -c '
import re, sys
man_path = sys.argv[1]
rows = [l.split() for l in sys.stdin.read().splitlines() if l.strip()]
if len(rows) < 20:
    sys.exit("syscalls: the table has %d rows" % len(rows))
text = open(man_path).read()
sect = text.split(".SH SYSTEM CALLS", 1)[1].split(".SH ", 1)[0]
def plain(s):
    s = re.sub(r"\\f[RBIP]", "", s).replace("\\-", "-").replace("\\(mu", "x")
    return re.sub(r"^\.[A-Z]+ ?", "", s, flags=re.M)
paras = [plain(p) for p in sect.split(".TP\n")[1:]]
vec_of = {}
for p in paras:
    head = p.split("\n", 1)[0]
    for v in re.findall(r"int \$(0x[0-9a-f]{2})", head):
        vec_of.setdefault(int(v, 16), []).append(p)
bad = []
table_vecs = set()
for r in rows:
    # int $0xNN eax N|* NAME PROFILES
    if len(r) != 6 or r[0] != "int" or r[2] != "eax":
        bad.append("bad row: %s" % " ".join(r))
        continue
    vec = int(r[1][1:], 16)
    table_vecs.add(vec)
    if vec not in vec_of:
        bad.append("int $0x%02x (%s): no paragraph in %s" % (vec, r[4], man_path))
        continue
    body = " ".join(vec_of[vec])
    for part in r[4].split("/"):
        if not re.search(r"(?<![A-Za-z_])%s(?![A-Za-z_])" % re.escape(part), body):
            bad.append("int $0x%02x: %s is not named in %s" % (vec, part, man_path))
for v in sorted(set(vec_of) - table_vecs):
    bad.append("int $0x%02x: in %s, not in the table" % (v, man_path))
for b in bad:
    print("syscalls: " + b, file=sys.stderr)
print("syscalls: %d rows checked against %s, %d disagree" % (len(rows), man_path, len(bad)))
sys.exit(1 if bad else 0)
' "$2"
