#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make check-i386: the unit and mounted tests, run with the i386 build in
# BUILD_DIR (build-i386). A program runs as the kernel runs it where it can
# (an i386 or x86-64 kernel with IA32 emulation, or binfmt_misc), else under
# qemu-i386-static: which one is found by trying, not assumed. Under qemu the
# tests see small scripts in BUILD_DIR/qemu/ that run each program under it.
#   tests/i386/run.sh BUILD_DIR 'MAKE VARIABLES OF THAT BUILD'
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "$1" && pwd) || exit 1
MAKEVARS=$2
QEMU=${QEMU_I386:-qemu-i386-static}

probe="$B/questbinloader --version"
if $probe >/dev/null 2>&1; then
	EXEC=""
	echo "i386: this kernel runs i386 programs: the tests run them directly"
elif $QEMU $probe >/dev/null 2>&1; then
	EXEC=$(command -v "$QEMU")
	echo "i386: this kernel cannot run i386 programs ($($probe 2>&1 | head -1));" \
		"the tests run them under $EXEC"
else
	echo "i386: $B/questbinloader runs neither directly nor under $QEMU:" \
		"$($probe 2>&1 | head -1) (make deps-i386 installs qemu-user-static)" >&2
	exit 1
fi

RUN=$B
if [ -n "$EXEC" ]; then
	RUN=$B/qemu
	rm -rf "$RUN"
	mkdir -p "$RUN/tests"
	emu=
	[ -x "$B/quest-emu" ] && emu=quest-emu
	for p in questfs quest-sim questbinloader $emu tests/mkelf "$B"/tests/test_*; do
		p=${p#"$B"/}
		printf '#!/bin/sh\nexec %s %s "$@"\n' "$EXEC" "$B/$p" >"$RUN/$p"
		chmod 755 "$RUN/$p"
	done
	ln -s "$B/examples" "$RUN/examples"
	# The fixture generator is a test tool, not questfs: where this machine
	# has its own build of it, the tests use that one (1600 emulator starts
	# cost minutes), once it is shown to write the same files as the i386 one.
	host_mkelf=$TOP/build/tests/mkelf
	# Likewise the loader whose verdicts a case compares questfs's with.
	[ -x "$TOP/build/questbinloader" ] && export QUESTFS_ORACLE=$TOP/build/questbinloader
	if [ -x "$host_mkelf" ]; then
		d=$(mktemp -d)
		"$RUN/tests/mkelf" "$d/i386" >/dev/null && "$host_mkelf" "$d/host" >/dev/null &&
			"$RUN/tests/mkelf" --seed 7 --size 20000 "$d/i386/p" &&
			"$host_mkelf" --seed 7 --size 20000 "$d/host/p" &&
			diff -r "$d/i386" "$d/host" >/dev/null && same=1 || same=0
		rm -rf "$d"
		if [ "$same" = 1 ]; then
			echo "i386: fixtures from $host_mkelf (it writes the same files as the i386 mkelf)"
			printf '#!/bin/sh\nexec %s "$@"\n' "$host_mkelf" >"$RUN/tests/mkelf"
		else
			echo "i386: $host_mkelf and the i386 mkelf write different fixtures: the i386 one is used"
		fi
	fi
fi

# wait_attached PID LOG: quest-sim PID says "attached" in LOG within 15 s
wait_attached() {
	local end=$((SECONDS + 15))
	until grep -q attached "$2"; do
		if ((SECONDS >= end)) || ! kill -0 "$1" 2>/dev/null; then
			echo "FAIL  quest-sim did not attach: $(cat "$2")"
			return 1
		fi
		sleep 0.05
	done
}

# abi_meet SIM LOADER: a quest-sim of one word size holds a shm: channel; a
# questbinloader of the other must refuse it with one message naming both.
abi_meet() {
	local key=$((700000 + $$ % 100000)) dir out sim
	dir=$(mktemp -d)
	"$1" --unlink --channel "shm:$key" >/dev/null 2>&1
	"$1" --channel "shm:$key" --count 1 >"$dir/sim.log" 2>&1 &
	sim=$!
	if ! wait_attached "$sim" "$dir/sim.log"; then
		kill "$sim" 2>/dev/null
		rm -rf "$dir"
		return 1
	fi
	out=$("$2" --channel "shm:$key" --timeout 2 "$B/examples/hello" 2>&1)
	local got=$?
	kill "$sim" 2>/dev/null
	wait "$sim" 2>/dev/null
	"$1" --unlink --channel "shm:$key" >/dev/null 2>&1
	rm -rf "$dir"
	if [ "$got" = 3 ] && [[ $out == *"32-bit i386"* ]] && [[ $out == *"64-bit x86-64"* ]]; then
		echo "ok    $out"
	else
		echo "FAIL  exit $got (wanted 3): $out"
		return 1
	fi
}

# vshm_meet SIM LOADER: the same two sides on one vshm: region, which has
# no ABI of its own: the loader's programs reach quest-sim and are accepted.
vshm_meet() {
	local dir out sim got
	dir=$(mktemp -d /dev/shm/questfs-i386.XXXXXX)
	"$1" --channel "vshm:$dir/region" --count 2 >"$dir/sim.log" 2>&1 &
	sim=$!
	if ! wait_attached "$sim" "$dir/sim.log"; then
		kill "$sim" 2>/dev/null
		rm -rf "$dir"
		return 1
	fi
	out=$("$2" --channel "vshm:$dir/region" --timeout 10 "$B/examples/hello" 2>&1 &&
		"$2" --channel "vshm:$dir/region" --timeout 10 "$B/examples/hello_argvs" lorem ipsum 2>&1)
	got=$?
	wait "$sim" 2>/dev/null
	if [ "$got" = 0 ] && grep -q '#1 hello: .*accepted' "$dir/sim.log" &&
		grep -q "#2 hello_argvs: .*argv \['hello_argvs lorem ipsum'\].*accepted" "$dir/sim.log"; then
		echo "ok    vshm: $(basename "$(dirname "$2")")/questbinloader to $(basename "$(dirname "$1")")/quest-sim: both accepted"
		rm -rf "$dir"
	else
		echo "FAIL  vshm: loader exit $got: $out; quest-sim: $(cat "$dir/sim.log")"
		kill "$sim" 2>/dev/null
		rm -rf "$dir"
		return 1
	fi
}

rc=0
if [ -x "$TOP/build/quest-sim" ] && [ "$("$TOP/build/questbinloader" --version >/dev/null 2>&1 && getconf LONG_BIT)" = 64 ]; then
	echo "== a 64-bit and a 32-bit side on one shm: channel"
	abi_meet "$TOP/build/quest-sim" "$RUN/questbinloader" || rc=1
	abi_meet "$RUN/quest-sim" "$TOP/build/questbinloader" || rc=1
	echo "== a 64-bit and a 32-bit side on one vshm: region"
	vshm_meet "$TOP/build/quest-sim" "$RUN/questbinloader" || rc=1
	vshm_meet "$RUN/quest-sim" "$TOP/build/questbinloader" || rc=1
else
	echo "FAIL  the 64-bit build (build/) is missing: make all" >&2
	rc=1
fi
echo "== unit tests ($B)"
sh "$TOP/tests/run-unit.sh" "$RUN"/tests/test_* || rc=1
sh "$TOP/tests/options.sh" "$RUN/questfs" "$TOP/docs/man/questfs.8" || rc=1
echo "== mounted tests ($B)"
QUESTFS_BUILD=$RUN QUESTFS_EXEC=$EXEC QUESTFS_BIN=$B QUESTFS_MAKEVARS=$MAKEVARS \
	bash "$TOP/tests/mounted/run.sh" || rc=1
exit $rc
