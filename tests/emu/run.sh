#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The emulator's tests (make check-emu): Quest-style programs, written for
# these tests in freestanding C and assembly, are built here for each
# profile and run under quest-emu; each is checked by its exact output and
# exit status, and faults by the one line quest-emu prints.
#   CASES=regex bash tests/emu/run.sh    only the matching cases
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
EMU=$(realpath "$BUILD/quest-emu")
MKELF=$(realpath "$BUILD/tests/mkelf")
EXB=$(realpath "$BUILD/examples") # hello and hello_argvs
CASES=${CASES:-.}
src=tests/emu/progs
tmp=$(mktemp -d /tmp/quest-emu-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
failed=()

CC32=${CC32:-gcc}
CFLAGS32="-m32 -march=i586 -ffreestanding -nostdlib -fno-pie -fno-stack-protector
	  -fno-asynchronous-unwind-tables -fno-builtin -O1 -Wall -Wextra -Werror"

# build PROFILE NAME: $tmp/PROFILE/NAME from progs/NAME.c or .s
build() {
	local p=$1 n=$2 d=$tmp/$1 def=
	mkdir -p "$d"
	[ "$p" = galileo ] && def=-DGALILEO
	if [ -f "$src/$n.c" ]; then
		# shellcheck disable=SC2086
		$CC32 $CFLAGS32 $def -c -o "$d/$n.o" "$src/$n.c" || return 1
	else
		as --32 -o "$d/$n.o" "$src/$n.s" || return 1
	fi
	ld -m elf_i386 -static -T tests/emu/quest.ld -o "$d/$n" "$d/$n.o"
}

for p in master galileo; do
	for f in "$src"/*.c "$src"/*.s; do
		n=$(basename "${f%.*}")
		build "$p" "$n" || { echo "emu: cannot build $n for $p" >&2; exit 1; }
	done
done
mkdir -p "$tmp/root/bin" "$tmp/root/etc"
printf '0123456789abcdefXYZ' >"$tmp/root/etc/data.txt"
# 60 MiB that a program reads a byte at a time (hang_readbig)
truncate -s 60M "$tmp/root/big"
"$MKELF" "$tmp/fixtures" >/dev/null || { echo "emu: mkelf failed" >&2; exit 1; }

# check NAME STATUS EXPECTED_STDOUT STDERR_REGEX -- COMMAND...
# STDERR_REGEX empty: stderr must be empty.
check() {
	local name=$1 want_rc=$2 want_out=$3 want_err=$4 rc out err
	shift 5
	[[ $name =~ $CASES ]] || return 0
	out=$(timeout 60 "$@" 2>"$tmp/err"; echo "rc=$?")
	rc=${out##*rc=}
	out=${out%rc=*}
	err=$(cat "$tmp/err")
	if [ "$rc" = "$want_rc" ] && [ "$out" = "$want_out" ] &&
		{ [ -z "$want_err" ] && [ -z "$err" ] ||
			{ [ -n "$want_err" ] && [[ $err =~ $want_err ]]; }; }; then
		pass=$((pass + 1))
		echo "ok   $name"
	else
		fail=$((fail + 1))
		failed+=("$name")
		echo "FAIL $name: status $rc (want $want_rc)"
		echo "  stdout: $(printf %q "$out")"
		echo "  want:   $(printf %q "$want_out")"
		echo "  stderr: $err"
		[ -n "$want_err" ] && echo "  want stderr matching: $want_err"
	fi
	return 0
}
nl=$'\n'

# the first page of the first page table that no PT_LOAD covers: where
# Quest's shared-memory attach maps
first_free_page() {
	local used=" " type off va pa fsz msz p
	while read -r type off va pa fsz msz _; do
		[ "$type" = LOAD ] || continue
		for ((p = va / 4096; p * 4096 < va + msz; p++)); do
			used+="$p "
		done
	done < <(readelf -lW "$1")
	for ((p = 1; p < 1024; p++)); do
		[[ $used == *" $p "* ]] || { printf '0x%08x' $((p * 4096)); return; }
	done
}

# entry_plus PROGRAM N: its entry point plus N, as quest-emu prints EIP
entry_plus() {
	local e
	e=$(readelf -hW "$1" | awk '/Entry point/ { print $NF }')
	printf '0x%08x' $((e + $2))
}

for p in master galileo; do
	E=("$EMU" --profile "$p")
	B=$tmp/$p
	check "$p/examples-hello" 0 "Hello from Quest!$nl" "" -- \
		"${E[@]}" "$EXB"/hello
	if [ $p = master ]; then arg="(no argument)"; else arg=lorem; fi
	check "$p/examples-hello_argvs" 0 "Hello, $arg$nl" "" -- \
		"${E[@]}" "$EXB"/hello_argvs lorem ipsum
	check "$p/hello" 0 "Hello from C on Quest$nl" "" -- "${E[@]}" "$B/hello"
	if [ $p = master ]; then
		check "$p/args" 1 "argc=1 argv[0]=args lorem ipsum argv[1]=NULL$nl" "" -- \
			"${E[@]}" "$B/args" lorem ipsum
		check "$p/args-none" 1 "argc=1 argv[0]=args argv[1]=NULL$nl" "" -- \
			"${E[@]}" "$B/args"
	else
		check "$p/args" 3 "argc=3 argv[0]=args argv[1]=lorem$nl" "" -- \
			"${E[@]}" "$B/args" lorem ipsum
		# galileo points argv[1] at the first word when there is no other
		check "$p/args-none" 1 "argc=1 argv[0]=args argv[1]=args$nl" "" -- \
			"${E[@]}" "$B/args"
	fi
	check "$p/fork-waitpid" 0 "parent runs first, child id 2${nl}waitpid: child runs${nl}0${nl}waitpid again: -1$nl" "" -- \
		"${E[@]}" "$B/forkwait"
	check "$p/fork-copies-memory" 0 "child sees 2${nl}parent sees 1$nl" "" -- \
		"${E[@]}" "$B/forkcopy"
	cp "$B/execd" "$tmp/root/bin/execd"
	if [ $p = master ]; then words="argc=1 argv[0]=execd one two"; else words="argc=3 argv[0]=execd"; fi
	check "$p/exec" 5 "exec of a missing file: -1${nl}In exec'd program: $words$nl" "" -- \
		"${E[@]}" --root "$tmp/root" "$B/exec"
	check "$p/exec-without-root" 1 "exec of a missing file: -1${nl}still here$nl" "" -- \
		"${E[@]}" "$B/exec"
	if [ $p = master ]; then
		want="open: 19${nl}missing: -1$nl[01234]$nl[01234]$nl[0123456789abcdef]$nl"
	else
		want="open: 3${nl}missing: -1$nl[01234]$nl[56789]$nl[abcdefXYZ]$nl"
	fi
	check "$p/open-read" 0 "$want" "" -- "${E[@]}" --root "$tmp/root" "$B/openread"
	check "$p/shared-memory" 0 "parent attached at $(first_free_page "$B/shm") and reads 0x00c0ffee${nl}detach: 0${nl}attach after free: -1${nl}meminfo: 0x07e00000$nl" "" -- \
		"${E[@]}" "$B/shm"
	# the issue's program: fork right after shared_mem_alloc
	check "$p/shm-fork" 0 "child attached at 0x00002000${nl}waitpid: 0${nl}parent attached at 0x00002000 and reads 1$nl" "" -- \
		"${E[@]}" "$B/shmfork"
	check "$p/shm-exit-frees" 0 "attach after the child exited attached: -1${nl}attach after the child detached: reads 9$nl" "" -- \
		"${E[@]}" "$B/shmexit"
	check "$p/shm-fork-copies" 0 "after the child: 5 8${nl}detach twice: 0${nl}a new segment reads 0$nl" "" -- \
		"${E[@]}" "$B/shmcopy"
	check "$p/waitpid-exited-child" 0 "waitpid of an exited child: -1${nl}second child runs${nl}switch_to returned after the child$nl" "" -- \
		"${E[@]}" "$B/waitdone"
	check "$p/setparam-overflow" 123 "asking$nl" \
		"task 1: divide error in the kernel: sched_setparam with k\\*T = -2147483648, m = -1" -- \
		"${E[@]}" "$B/fault_setparam_overflow"
	# a call's work is bounded and the time limit looked at inside it
	check "$p/timeout-inside-read" 124 "" "time limit reached: 1000 ms$" -- \
		timeout -s KILL 20 "${E[@]}" --timeout 1 --root "$tmp/root" "$B/hang_readbig"
	check "$p/timeout-inside-write" 124 "" "time limit reached: 1000 ms$" -- \
		bash -c 'exec "$@" >/dev/null' - timeout -s KILL 20 "${E[@]}" --timeout 1 "$B/hang_write"
	if [ $p = master ]; then v=0.1a; else v=0.9.00; fi
	check "$p/time-usleep-uname" 0 "usleep(20000): time advanced${nl}monotonic${nl}uname: 0 $v$nl" "" -- \
		"${E[@]}" "$B/time"
	check "$p/segfault" 123 "about to fault$nl" \
		"^quest-emu: .*/fault_segv: task 1: page fault: write to unmapped address 0x00800000 at EIP 0x[0-9a-f]{8} \(last system call: putchar\)$" -- \
		"${E[@]}" "$B/fault_segv"
	check "$p/illegal-instruction" 123 "!" \
		"^quest-emu: .*/fault_ill: task 1: invalid opcode at EIP 0x[0-9a-f]{8} \(last system call: putchar\)$" -- \
		"${E[@]}" "$B/fault_ill"
	check "$p/int-0x80" 123 "" \
		"task 1: general protection fault: int \\\$0x80 is no system call" -- \
		"${E[@]}" "$B/fault_int80"
	check "$p/hlt" 123 "" \
		"task 1: general protection fault \(hlt\) at EIP $(entry_plus "$B/fault_hlt" 0) \(last" -- \
		"${E[@]}" "$B/fault_hlt"
	check "$p/divide-error" 123 "" "task 1: divide error \(vector 0\) at EIP $(entry_plus "$B/fault_divide" 2) \(last" -- \
		"${E[@]}" "$B/fault_divide"
	check "$p/fork-slots-reused" 0 "forked and waited: 100${nl}then live children until fork fails: 63$nl" "" -- \
		"${E[@]}" "$B/emu_forkmany"
	check "$p/sched-setparam" 123 "self: 0${nl}no such task: -1$nl" \
		"task 1: divide error in the kernel: sched_setparam with k\\*T = 20, m = 0" -- \
		"${E[@]}" "$B/fault_setparam"
	if [ $p = master ]; then
		# one page table: the model refuses anything above 4 MiB
		check "$p/memory-limit" 126 "" "^quest-emu: .*/fault_bigbss: " -- "${E[@]}" "$B/fault_bigbss"
	else
		check "$p/memory-limit" 124 "" \
			"^quest-emu: .*/fault_bigbss: memory limit reached: the program needs more than Quest's 126 MiB$" -- \
			"${E[@]}" "$B/fault_bigbss"
	fi
	check "$p/max-insns" 124 "" "^quest-emu: .*/hang_loop: instruction limit reached: 1000000$" -- \
		"${E[@]}" --max-insns 1000000 "$B/hang_loop"
	check "$p/timeout" 124 "" "^quest-emu: .*/hang_loop: time limit reached: 1000 ms$" -- \
		"${E[@]}" --timeout 1 "$B/hang_loop"
	check "$p/port-io" 15 "" "outb 0x3d4 <- 0xe.*inb 0x60 -> 0xff" -- \
		"${E[@]}" --trace "$B/emu_io"
	check "$p/waitpid-self" 124 "waiting for myself$nl" "every task waits for another \(task 1 waits for 1\)" -- \
		"${E[@]}" "$B/hang_waitself"
	check "$p/refused-bss-only-segment" 126 "" \
		"^quest-emu: .*/fault_bssonly: PT_LOAD 2 has no file bytes at offset 0: .*1048576 pages" -- \
		"${E[@]}" "$B/fault_bssonly"
	check "$p/refused-misaligned" 126 "" "^quest-emu: .*/misaligned: .+" -- \
		"${E[@]}" "$tmp/fixtures/misaligned"
	check "$p/usage-no-program" 125 "" "no program given" -- "${E[@]}"
	check "$p/usage-missing-file" 125 "" "No such file or directory" -- \
		"${E[@]}" "$tmp/none"
	check "$p/usage-blank-argument" 125 "" "has a blank" -- \
		"${E[@]}" "$B/hello" "a b"
done

check "master/getchar-stdin" 0 "<a><b>${nl}end of input: -1$nl" "" -- \
	"$EMU" --profile master --stdin <(printf ab) "$tmp/master/emu_getchar"
check "master/getchar-no-input" 0 "${nl}end of input: -1$nl" "" -- \
	"$EMU" --profile master "$tmp/master/emu_getchar" </dev/null
check "galileo/read-stdin" 0 "(3)(2) end: 0$nl" "" -- \
	"$EMU" --profile galileo --stdin <(printf 'ab\ncd') "$tmp/galileo/emu_readin"
# --trace names each call from the table; master's fork after
# shared_mem_alloc finds the id in EAX and ignores it
check "master/trace-shm-fork" 0 "child attached at 0x00002000${nl}waitpid: 0${nl}parent attached at 0x00002000 and reads 1$nl" \
	"task 1: int 0x38 shared_mem_alloc eax=0x1 .*task 1: int 0x31 fork eax=0x1000000 .*task 2: int 0x38 shared_mem_attach eax=0x2 ebx=0x[0-9a-f]+ ecx=0x[0-9a-f]+ edx=0x1000000" -- \
	"$EMU" --profile master --trace "$tmp/master/shmfork"
# the same program under galileo: EAX names a VCPU there
check "galileo/master-stub-fork" 1 "fork: -1$nl" "fork onto VCPU 16777216: there is only VCPU 0, -1" -- \
	"$EMU" --profile galileo --trace "$tmp/master/shmfork"
check "master/calls" 0 "syscall0 eax 7: 7${nl}uname returns: 0$nl" "" -- \
	"$EMU" --profile master "$tmp/master/calls"
check "galileo/calls" 0 "getpid: 1${nl}device call: -1${nl}pressed_keys: 0${nl}write: [written]9${nl}write to a file: -1${nl}close: 0 again: -1${nl}another socket call: -1$nl" "" -- \
	"$EMU" --profile galileo --root "$tmp/root" "$tmp/galileo/calls"
check "master/getcode" 0 "getcode: 65 getchar: 66 end: -1$nl" "" -- \
	"$EMU" --profile master --stdin <(printf AB) "$tmp/master/emu_getcode"
# input that never comes: the time limit still ends the run
check "master/timeout-inside-getchar" 124 "" "time limit reached: 1000 ms$" -- \
	timeout -s KILL 20 "$EMU" --profile master --timeout 1 --stdin <(sleep 30) "$tmp/master/emu_getcode"
check "master/vga" 0 "stored to VGA memory${nl}second line$nl" "" -- \
	"$EMU" --profile master --vga "$tmp/screen" "$tmp/master/vga"
if [[ master/vga-screen =~ $CASES ]]; then
	want=$(printf 'stored to VGA memory\nsecond line\n'; for ((i = 0; i < 23; i++)); do echo; done)
	if [ "$(cat "$tmp/screen")" = "$want" ] && [ "$(wc -l <"$tmp/screen")" = 25 ]; then
		pass=$((pass + 1)); echo "ok   master/vga-screen"
	else
		fail=$((fail + 1)); failed+=(master/vga-screen)
		echo "FAIL master/vga-screen:"; cat -A "$tmp/screen" | head -5
	fi
fi
check "galileo/no-vga" 123 "" "write to unmapped address 0x00200000" -- \
	"$EMU" --profile galileo "$tmp/galileo/vga"
check "usage-bad-profile" 125 "" "master or galileo" -- \
	"$EMU" --profile both "$tmp/master/hello"

echo "emu: $pass passed, $fail failed"
[ "$fail" = 0 ] || { echo "emu: failed: ${failed[*]}"; exit 1; }
