# SPDX-License-Identifier: GPL-2.0-or-later
# quest-sim --exec: what make run's pair does with a program copied in.
# shellcheck shell=bash

# results_at_least N: quest-sim printed N result lines
results_at_least() {
	test "$(grep -cE '^quest-sim: #[0-9]+ [^:]+: (exited|fault|limit|refused|error|killed) ' "$T/sim.1.log")" -ge "$1"
}

# build_loop: $T/loop, a program that runs for ever
build_loop() {
	printf '.code32\n.globl _start\n_start: jmp _start\n' >"$T/loop.s"
	as --32 -o "$T/loop.o" "$T/loop.s" &&
		ld -m elf_i386 -static -z noseparate-code -Ttext-segment=0x1000 -e _start -o "$T/loop" "$T/loop.o" ||
		fail "cannot build loop"
}

# running_child: quest-sim's one child process (the program running)
running_child() {
	local c
	c=$(pgrep -P "$sim_pid") && [ "$(printf '%s\n' "$c" | wc -l)" = 1 ] && echo "$c"
}

case_exec_runs_copied_program() {
	start_sim --exec
	start_qfs
	cp "$EX/hello" "$MNT/run/" || fail "cp failed"
	wait_for "hello's result line" grep -q '^quest-sim: #1 hello: exited 0, ' "$T/sim.1.log" ||
		fail "no result line: $(cat "$T/sim.1.log")"
	grep -qx '\[#1 hello\] Hello from Quest!' "$T/sim.1.log" || fail "no output: $(cat "$T/sim.1.log")"
	expect_eq "DIR/N.out" "Hello from Quest!" "$(cat "$SAVE/000001.out")"
}

case_exec_sidecar_argument_appears() {
	start_sim --exec
	start_qfs
	echo 'lorem ipsum' >"$MNT/run/hello_argvs.args" || fail "sidecar"
	cp "$EX/hello_argvs" "$MNT/run/" || fail "cp failed"
	wait_for "hello_argvs's result line" grep -q '^quest-sim: #1 hello_argvs: exited 0, ' "$T/sim.1.log" ||
		fail "no result line: $(cat "$T/sim.1.log")"
	grep -qx '\[#1 hello_argvs\] Hello, lorem' "$T/sim.1.log" || fail "argument not in the output: $(cat "$T/sim.1.log")"
}

case_exec_fault_and_limit_reported() {
	start_sim --exec --exec-timeout 1
	start_qfs
	# a runaway loop and a program that faults, built with binutils
	printf '.code32\n.globl _start\n_start: jmp _start\n' >"$T/loop.s"
	printf '.code32\n.globl _start\n_start: ud2\n' >"$T/ill.s"
	for p in loop ill; do
		as --32 -o "$T/$p.o" "$T/$p.s" &&
			ld -m elf_i386 -static -z noseparate-code -Ttext-segment=0x1000 -e _start -o "$T/$p" "$T/$p.o" ||
			fail "cannot build $p"
	done
	cp "$T/loop" "$T/ill" "$MNT/run/" || fail "cp failed"
	wait_for "two result lines" results_at_least 2 ||
		fail "result lines: $(cat "$T/sim.1.log")"
	grep -q '^quest-sim: #1 loop: limit 124, [0-9]* instructions, .*: time limit reached: 1000 ms$' "$T/sim.1.log" ||
		fail "loop: $(cat "$T/sim.1.log")"
	grep -q '^quest-sim: #2 ill: fault 123, .*task 1: invalid opcode at EIP 0x' "$T/sim.1.log" ||
		fail "ill: $(cat "$T/sim.1.log")"
}

case_exec_jobs_bound() {
	# one program at a time: the second packet is taken only once the
	# first program has ended (here by its time limit)
	start_sim --exec --exec-jobs 1 --exec-timeout 1
	start_qfs
	printf '.code32\n.globl _start\n_start: jmp _start\n' >"$T/loop.s"
	as --32 -o "$T/loop.o" "$T/loop.s" &&
		ld -m elf_i386 -static -z noseparate-code -Ttext-segment=0x1000 -e _start -o "$T/loop" "$T/loop.o" ||
		fail "cannot build loop"
	cp "$T/loop" "$MNT/run/one" && cp "$T/loop" "$MNT/run/two" || fail "cp failed"
	wait_for "two result lines" results_at_least 2 || fail "result lines: $(cat "$T/sim.1.log")"
	local first_end second_taken
	first_end=$(grep -n '^quest-sim: #1 one: limit 124' "$T/sim.1.log" | cut -d: -f1)
	second_taken=$(grep -n '^quest-sim: #2 two: .*accepted' "$T/sim.1.log" | cut -d: -f1)
	[ -n "$first_end" ] && [ -n "$second_taken" ] && [ "$first_end" -lt "$second_taken" ] ||
		fail "#2 taken while #1 ran: $(cat "$T/sim.1.log")"
}

case_exec_child_killed_by_signal_reported() {
	# a child that dies without its result line still gets one, naming
	# the signal
	start_sim --exec --exec-timeout 60
	start_qfs
	build_loop
	cp "$T/loop" "$MNT/run/" || fail "cp failed"
	wait_for "the program's process" running_child || fail "no child of quest-sim"
	# SIGUSR1, not SIGSEGV: a sanitizer build's own handler would catch
	# a SEGV and exit instead of dying by it
	kill -USR1 "$(running_child)"
	wait_for "loop's result line" grep -q '^quest-sim: #1 loop: killed 138, by SIGUSR1$' "$T/sim.1.log" ||
		fail "no result line: $(cat "$T/sim.1.log")"
}

case_exec_watchdog_kills_stuck_child() {
	# a child that cannot end by itself (stopped here; an engine stuck in
	# a call) is killed by quest-sim past its time limit
	start_sim --exec --exec-timeout 1
	start_qfs
	build_loop
	cp "$T/loop" "$MNT/run/" || fail "cp failed"
	wait_for "the program's process" running_child || fail "no child of quest-sim"
	kill -STOP "$(running_child)"
	wait_for "loop's result line" grep -q '^quest-sim: #1 loop: killed 137, by SIGKILL: past its time limit (--exec-timeout)$' "$T/sim.1.log" ||
		fail "no result line: $(cat "$T/sim.1.log")"
}

case_exec_slot_not_held_by_long_write() {
	# galileo's write of 1 MiB in a loop held an exec slot far past
	# --exec-timeout, and the next launch was never taken
	start_sim --exec --exec-jobs 1 --exec-timeout 1
	start_qfs
	gcc -m32 -march=i586 -ffreestanding -nostdlib -fno-pie -fno-stack-protector \
		-fno-asynchronous-unwind-tables -fno-builtin -O1 -DGALILEO \
		-c -o "$T/w.o" "$TOP/tests/emu/progs/hang_write.c" &&
		ld -m elf_i386 -static -T "$TOP/tests/emu/quest.ld" -o "$T/writer" "$T/w.o" ||
		fail "cannot build writer"
	cp "$T/writer" "$MNT/run/" || fail "cp writer failed"
	cp "$EX/hello" "$MNT/run/" || fail "cp hello failed"
	wait_for "hello's result line" grep -q '^quest-sim: #2 hello: exited 0, ' "$T/sim.1.log" ||
		fail "hello did not run: $(grep -v '^\[' "$T/sim.1.log")"
	grep -q '^quest-sim: #1 writer: limit 124, .*time limit reached: 1000 ms$' "$T/sim.1.log" ||
		fail "writer: $(grep -v '^\[' "$T/sim.1.log")"
}
