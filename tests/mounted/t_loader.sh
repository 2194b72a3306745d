# SPDX-License-Identifier: GPL-2.0-or-later
# questbinloader and quest-sim end to end over shm: (no mount needed): the
# seed's command on the core, its exit statuses and messages.
# shellcheck shell=bash

# loader_rc EXPECTED REGEX ARGS...: questbinloader exits EXPECTED, and its
# stderr matches REGEX
loader_rc() {
	local want=$1 re=$2 out rc=0
	shift 2
	out=$("$LOADER" "$@" 2>&1) || rc=$?
	expect_eq "questbinloader $* exit status" "$want" "$rc"
	expect_match "questbinloader $* message" "$re" "$out"
}

case_loader_round_trip_examples() {
	start_sim
	"$LOADER" --channel "$CHAN" "$EX/hello" || fail "hello not sent"
	"$LOADER" --channel "$CHAN" "$EX/hello_argvs" lorem ipsum dolor || fail "hello_argvs not sent"
	wait_saved 2
	cmp "$EX/hello" "$SAVE/000001.elf" || fail "hello differs"
	cmp "$EX/hello_argvs" "$SAVE/000002.elf" || fail "hello_argvs differs"
	expect_eq "argv" "hello_argvs lorem ipsum dolor" "$(argv_of 2)"
	# the packet on the wire: header + the file, byte for byte
	"$LOADER" --out "$T/pkt" "$EX/hello_argvs" lorem || fail "--out"
	cmp <(tail -c +89 "$T/pkt") "$EX/hello_argvs" || fail "--out body differs"
	expect_eq "argv_size field" "18" "$(od -An -tu4 -N4 "$T/pkt" | tr -d ' ')"
	expect_eq "binary_size field" "$(stat -c %s "$EX/hello_argvs")" \
		"$(od -An -tu4 -j84 -N4 "$T/pkt" | tr -d ' ')"
}

case_loader_exit_statuses() {
	loader_rc 1 "ELF machine is x86-64 \(62\)" --check "$FX/x86-64"
	loader_rc 1 "not an ELF file" --check "$FX/bad-magic"
	loader_rc 1 "largest that fits the 393216-byte slot is 393128" --check "$FX/too-big"
	loader_rc 1 "No such file" --check "$T/missing"
	loader_rc 2 "argv buffer holds 80" --check "$EX/hello" "$(printf 'x%.0s' $(seq 1 80))"
	loader_rc 2 "Try" --bogus
	loader_rc 3 "no Quest side|not attached|No such" --channel "$CHAN" --timeout 1 "$EX/hello"
	loader_rc 0 "" --check "$FX/valid"
	"$LOADER" --check "$FX/largest" >/dev/null || fail "largest refused"
	start_sim --refuse="not today"
	loader_rc 4 "refused by the Quest side: not today" --channel "$CHAN" "$EX/hello"
}

case_loader_every_fixture() {
	local name code rc
	while IFS=$'\t' read -r name code; do
		rc=0
		"$LOADER" --check "$FX/$name" >/dev/null 2>"$T/err" || rc=$?
		if [ "$code" = ok ]; then
			expect_eq "$name" 0 "$rc"
		else
			expect_eq "$name exit status" 1 "$rc"
			[ -s "$T/err" ] || fail "$name: no message"
			[ "$(wc -l <"$T/err")" = 1 ] || fail "$name: more than one line: $(cat "$T/err")"
		fi
	done <"$FX/INDEX"
}

# argv on the wire, both formats: the bytes of `--out pkt prog lorem ipsum`
case_loader_argv_formats() {
	cp "$EX/hello_argvs" "$T/prog"
	"$LOADER" --out "$T/line" "$T/prog" lorem ipsum || fail "--out (line)"
	"$LOADER" --argv-format strings --out "$T/strings" "$T/prog" lorem ipsum || fail "--out (strings)"
	expect_eq "line form" "11000000 70726f67 206c6f72 656d2069 7073756d 00000000" \
		"$(od -An -tx1 -N24 "$T/line" | tr -d ' \n' | sed 's/\(........\)/\1 /g; s/ $//')"
	expect_eq "strings form" "11000000 70726f67 006c6f72 656d0069 7073756d 00000000" \
		"$(od -An -tx1 -N24 "$T/strings" | tr -d ' \n' | sed 's/\(........\)/\1 /g; s/ $//')"
	cmp <(tail -c +89 "$T/line") "$T/prog" || fail "line: body differs"
	# words the command line cannot carry: exit 2, naming the word
	loader_rc 2 'argument 2 "ipsum dolor" contains a space: Quest splits its command line at spaces' \
		--check "$T/prog" lorem 'ipsum dolor'
	loader_rc 2 "argument 1 is empty" --check "$T/prog" ''
	loader_rc 0 "" --argv-format strings --check "$T/prog" 'ipsum dolor' ''
	loader_rc 2 "argv_format takes 'line' or 'strings', not 'nul'" --argv-format nul --check "$T/prog"
	loader_rc 2 "unknown Quest profile \"2011\"" --quest-profile 2011 --check "$T/prog"
	# quest-sim shows argv as each kernel passes it to the program
	start_sim
	"$LOADER" --channel "$CHAN" "$T/prog" lorem ipsum dolor || fail "not sent"
	wait_saved 1
	wait_for "quest-sim's line" grep -q '#1 ' "$T/sim.1.log"
	grep -qF 'master: argc 1, argv[0] "prog lorem ipsum dolor"; galileo: argc 4, argv[0] "prog", argv[1] "lorem" (argv[2]..argv[3] are not set)' "$T/sim.1.log" ||
		fail "quest-sim: $(cat "$T/sim.1.log")"
}
