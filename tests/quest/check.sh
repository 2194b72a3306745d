#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make check-quest: questfs and the genuine Quest kernel (quest/, built by
# make quest into $BUILD/quest) end to end. Quest boots in
# qemu-system-i386 (TCG) with an ivshmem-plain device on a /dev/shm region;
# questfs mounts with channel=vshm: on the same region; COM1 (Quest's log)
# and COM2 (what programs print) go to files that tests/quest/qwatch.py
# watches. Every wait has a deadline, and every wait also watches COM1 for
# Quest's crash debugger, which ends the run at once with its report.
#   CASES=regex bash tests/quest/check.sh   only the matching cases
#   KEEP=1 ...                              keep the temporary directory
set -u
cd "$(dirname "$0")/../.." || exit 1
TOP=$PWD
BUILD=${BUILD:-build}
B=$TOP/$BUILD
QUEST=$B/quest
QUESTFS=$B/questfs
EMU=$B/quest-emu
EX=$B/examples
WATCH="python3 $TOP/tests/quest/qwatch.py"
RAW="python3 $TOP/tests/quest/region.py"
CASES=${CASES:-.}
KEEP=${KEEP:-}
BOOT_DEADLINE=${BOOT_DEADLINE:-90} # s: QEMU start to proc_creat attached
RUN_DEADLINE=${RUN_DEADLINE:-30}   # s: a program's output on COM2
t_start=$SECONDS

for f in "$QUEST/quest.iso" "$QUEST/iso/boot/proc_creat" "$QUESTFS" "$EMU" "$EX/hello"; do
	[ -e "$f" ] || {
		echo "check-quest: $f is missing: run make quest QUEST_SRC=... and make all first" >&2
		exit 2
	}
done

T=$(mktemp -d /tmp/questfs-quest.XXXXXX)
MNT=$T/mnt
REGION=/dev/shm/questfs-quest-$$
qemu_pid=""
qfs_pid=""
boot=0
pass=0
fail=0
known=0
failed=()
declare -A timing

cleanup() {
	if [ -n "$qemu_pid" ]; then
		kill -KILL "$qemu_pid" 2>/dev/null
		wait "$qemu_pid" 2>/dev/null
	fi
	if [ -n "$qfs_pid" ]; then
		fusermount3 -u -z "$MNT" 2>/dev/null
		kill -TERM "$qfs_pid" 2>/dev/null
	fi
	wait 2>/dev/null
	rm -f "$REGION"
	if [ -n "$KEEP" ]; then echo "check-quest: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "check-quest: $*"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- the test programs: tests/emu/progs, built as tests/emu/run.sh does
# for the master profile; every program there is run and compared with
# quest-emu unless listed below with the reason.
src=tests/emu/progs
CC32=${CC32:-gcc}
CFLAGS32="-m32 -march=i586 -ffreestanding -nostdlib -fno-pie -fno-stack-protector
	  -fno-asynchronous-unwind-tables -fno-builtin -O1 -Wall -Wextra -Werror"
# By name: fault_* stop Quest whole in crash> (or are refused by questfs);
# hang_* never end, and proc_creat waits for each program, so one would
# hold the channel; emu_* need what only quest-emu gives (input, a root of
# its own, its getcode). Others, with the reason:
declare -A EXCLUDE=(
	[shm]="Quest's _exit frees every frame the child mapped, the shared one too; the parent's attach can then fail (-1) and its read fault at 0xffffffff: crash> (measured; other runs read 0 where quest-emu reads 0x00c0ffee)"
)
excluded() {
	case $1 in
	fault_*) echo "faults: Quest stops whole in crash> (the crash case sends fault_segv, last), or questfs refuses it" ;;
	hang_*) echo "never ends: proc_creat waits for each program, so it would hold the channel (the lost-VM case uses hang_loop for that)" ;;
	emu_*) echo "needs what only quest-emu gives (keyboard input, its own root, its getcode)" ;;
	*) echo "${EXCLUDE[$1]:-}" ;;
	esac
}
# Lines where the two sides differ by design, rewritten alike on both
declare -A NORMALISE=(
	[forkwait]='s/child id [0-9]+/child id <pid>/'
)
# Known divergences of quest-emu's master profile from this kernel:
# reported with both outputs, not counted as failures.
declare -A KNOWN=(
	[openread]="Quest's iso9660 read continues where the previous read of the path ended; quest-emu reads from offset 0 each time"
	[forkwait]="Quest's scheduler may run the child to its end before the parent's waitpid, which then gives -1 (quest-emu: 0)"
	[shmfork]="as forkwait: Quest's scheduler may run the child to its end before the parent's waitpid, which then gives -1 (quest-emu: 0); the segment's value, read after it, is the same"
	[time]="TCG delivers the PIT's ticks late: 20 ms of usleep can count fewer than 10 ticks"
	[shmcopy]="Quest's shared_mem_detach and attach rewrite the page-table entry without invlpg (interrupt_handler.c 888-903): the child's TLB still maps 0x2000 to its own copy, so its write after a re-attach misses the segment (Quest: 5 0); quest-emu keeps no TLB (5 8)"
)

mkdir -p "$T/progs" "$T/root/bin" "$T/root/etc" "$MNT" "$T/cd"
progs=()
for f in "$src"/*.c "$src"/*.s; do
	n=$(basename "${f%.*}")
	if [ "${f##*.}" = c ]; then
		# shellcheck disable=SC2086
		$CC32 $CFLAGS32 -c -o "$T/progs/$n.o" "$f" || { say "cannot build $n"; exit 1; }
	else
		as --32 -o "$T/progs/$n.o" "$f" || { say "cannot build $n"; exit 1; }
	fi
	ld -m elf_i386 -static -T tests/emu/quest.ld -o "$T/root/bin/$n" "$T/progs/$n.o" || exit 1
	why=$(excluded "$n")
	if [ -n "$why" ]; then
		echo "not run on Quest: $n: $why"
	else
		progs+=("$n")
	fi
done
# the file openread reads, in quest-emu's root and on the CD
printf '0123456789abcdefXYZ' >"$T/root/etc/data.txt"

# the CD: make quest's, plus /bin (the programs, so that exec.c finds
# /bin/execd) and /etc (8.3 names, as Quest's iso9660 reads them)
cp -a "$QUEST/iso/." "$T/cd/"
cp -a "$T/root/bin" "$T/root/etc" "$T/cd/"
genisoimage -quiet -R -b boot/grub/eltorito.img -no-emul-boot -boot-load-size 4 \
	-boot-info-table -o "$T/quest.iso" "$T/cd" || { say "genisoimage failed"; exit 1; }

# ---- the VM and questfs
com1() { echo "$T/com1.$boot"; }
com2() { echo "$T/com2.$boot"; }

boot_vm() {
	boot=$((boot + 1))
	local t0=$SECONDS
	qemu-system-i386 -accel tcg -m 256 -display none -no-reboot \
		-cdrom "$T/quest.iso" -boot d \
		-serial "file:$(com1)" -serial "file:$(com2)" \
		-object "memory-backend-file,id=m,size=1M,share=on,mem-path=$REGION" \
		-device ivshmem-plain,memdev=m >"$T/qemu.$boot.log" 2>&1 &
	qemu_pid=$!
	local t1
	t1=$(now_ms)
	if ! $WATCH com1 "$(com1)" 0 "vshm: receiver attached" "$BOOT_DEADLINE" >/dev/null; then
		say "Quest (boot $boot) did not attach to the region; qemu: $(cat "$T/qemu.$boot.log")"
		exit 1
	fi
	timing[boot${boot}_ms]=$(($(now_ms) - t1))
	say "boot $boot: proc_creat attached ${timing[boot${boot}_ms]} ms after QEMU started"
	: "$t0"
	pos=0
}

kill_vm() {
	kill -KILL "$qemu_pid" 2>/dev/null
	wait "$qemu_pid" 2>/dev/null
	qemu_pid=""
}

# the region: questfs initialises its header; QEMU maps the same file
truncate -s 1M "$REGION" && chmod 600 "$REGION" || exit 1
"$QUESTFS" -f -o "channel=vshm:$REGION,spool=$T/spool" "$MNT" >"$T/qfs.log" 2>&1 &
qfs_pid=$!
end=$((SECONDS + 15))
until grep -qs " $MNT fuse.questfs " /proc/self/mounts; do
	((SECONDS < end)) || { say "questfs did not mount: $(cat "$T/qfs.log")"; exit 1; }
	kill -0 "$qfs_pid" 2>/dev/null || { say "questfs exited: $(cat "$T/qfs.log")"; exit 1; }
	sleep 0.05
done
boot_vm

# ---- helpers of the cases
ok() {
	pass=$((pass + 1))
	echo "ok   $1"
}
bad() {
	fail=$((fail + 1))
	failed+=("$1")
	echo "FAIL $1: $2"
}
want() { [[ $1 =~ $CASES ]]; }
pos=0 # COM2 bytes already accounted for

# wait_out TEXT [SRC DST]: until TEXT is on COM2 after $pos (copying SRC
# to DST first, if given); the bytes from $pos to the end of TEXT go to
# $T/seg, and (NULs dropped) to $got; sets $first_ms and $all_ms (from the
# copy's return), moves $pos. Quest's crash debugger ends the whole run
# here, with COM1's report.
wait_out() {
	local r rc=0
	if [ $# = 3 ]; then
		r=$($WATCH cp "$2" "$3" "$(com1)" "$(com2)" "$pos" "$1" "$RUN_DEADLINE") || rc=$?
	else
		r=$($WATCH text "$(com1)" "$(com2)" "$pos" "$1" "$RUN_DEADLINE") || rc=$?
	fi
	if [ "$rc" = 3 ]; then
		bad "${case_name:-?}" "Quest crashed (see above)"
		summary
		exit 1
	fi
	[ "$rc" = 0 ] || return 1
	local end
	read -r end first_ms all_ms <<<"$r"
	tail -c +$((pos + 1)) "$(com2)" | head -c $((end - pos)) >"$T/seg"
	got=$(tr -d '\0' <"$T/seg"; echo x)
	got=${got%x}
	pos=$end
}

state_of() { getfattr --only-values -n user.quest.state "$MNT/run/$1" 2>/dev/null; }
# wait_state NAME STATE: the job of run/NAME reaches STATE (deadline)
wait_state() {
	local end=$((SECONDS + RUN_DEADLINE))
	until [ "$(state_of "$1")" = "$2" ]; do
		((SECONDS < end)) || return 1
		sleep 0.05
	done
}

summary() {
	echo "check-quest: $pass passed, $fail failed, $known known differences; $((SECONDS - t_start)) s in all"
	for k in "${!timing[@]}"; do echo "  time $k: ${timing[$k]}"; done | sort
	((fail == 0)) || echo "check-quest: failed: ${failed[*]}"
}

# ---- cases
end=$((SECONDS + RUN_DEADLINE))
until grep -q '^quest side  attached' "$MNT/status"; do
	((SECONDS < end)) || { say "questfs never saw Quest attached: $(cat "$MNT/status")"; exit 1; }
	sleep 0.05
done
say "$(grep -m1 '^quest side' "$MNT/status")"

case_name=hello
if want hello; then
	if wait_out 'Hello from Quest!\n' "$EX/hello" "$MNT/run/hello"; then
		timing[hello_cp_to_first_byte_ms]=$first_ms
		timing[hello_cp_to_line_ms]=$all_ms
		if [ "$got" = $'Hello from Quest!\n' ] && wait_state hello delivered; then
			ok "hello: COM2 $(printf %q "$got"), job $(state_of hello) (accepted by Quest); status: $(grep -m1 '^quest side' "$MNT/status")"
		else
			bad hello "COM2 $(printf %q "$got"), state $(state_of hello)"
		fi
	else
		bad hello "no 'Hello from Quest!' on COM2; status: $(cat "$MNT/status")"
	fi
	# the same, 5 times more, for the latency once questfs has sent before
	for i in 2 3 4 5 6; do
		wait_out 'Hello from Quest!\n' "$EX/hello" "$MNT/run/hello$i" ||
			{ bad hello "hello$i: no output"; break; }
		lat+=("$first_ms")
	done
	timing[hello_2_to_6_cp_to_first_byte_ms]=${lat[*]}
fi

case_name=hello_argvs
if want hello_argvs; then
	want_out=$("$EMU" --profile master "$EX/hello_argvs" lorem ipsum; echo x)
	want_out=${want_out%x}
	echo 'lorem ipsum' >"$MNT/run/hello_argvs.args"
	cp "$EX/hello_argvs" "$MNT/run/hello_argvs"
	if wait_out "$want_out" && [ "$got" = "$want_out" ] && wait_state hello_argvs delivered; then
		ok "hello_argvs with 'lorem ipsum': COM2 $(printf %q "$got") (master: argc 1)"
	else
		bad hello_argvs "COM2 $(printf %q "$got"), want $(printf %q "$want_out")"
	fi
fi

case_name=twenty
if want twenty; then
	# 20 copies of args, each printing its own name (argv[0]): drop order
	mkdir -p "$T/twenty"
	expect=""
	names=()
	for i in $(seq -w 1 20); do
		cp "$T/root/bin/args" "$T/twenty/a$i"
		names+=("$T/twenty/a$i")
		expect+="argc=1 argv[0]=a$i argv[1]=NULL"$'\n'
	done
	t0=$SECONDS
	cp "${names[@]}" "$MNT/run/"
	if wait_out "argv[0]=a20 argv[1]=NULL\n" && [ "$got" = "$expect" ]; then
		timing[twenty_s]=$((SECONDS - t0))
		ok "twenty: 20 programs dropped with one cp, 20 lines in drop order"
	else
		bad twenty "COM2: $(printf %q "$got")"
	fi
fi

# packets questfs never sends, written raw into the region (region.py, under
# the senders' lock): each must be refused with its reason, or, with a len
# out of range, left alone; Quest must run programs after them
case_name=rx-bounds
if want rx-bounds; then
	declare -A why=(
		[binsize]="malformed packet: binary_size \+ 88 differs from len"
		[argvsize]="malformed packet: argv_size out of 0..80"
		[argvnul]="malformed packet: argv does not end with NUL within argv_size"
		[emptybin]="malformed packet: binary_size is 0"
	)
	bounds_ok=1
	for k in binsize argvsize argvnul emptybin; do
		r=$($RAW "$REGION" bad "$k" 2>&1)
		if [[ $r =~ ^2\ -1\ ${why[$k]}$ ]]; then
			echo "  $k: refused, code -1: ${r#2 -1 }"
		else
			bad rx-bounds "$k: answer '$r', want refused with '${why[$k]}'"
			bounds_ok=""
		fi
	done
	r=$($RAW "$REGION" badlen "$(com1)" 2>&1)
	if [ "$r" = "not taken" ]; then
		echo "  len > slot_size: not taken ($(grep -a -m1 'out of 1\.\.' "$(com1)" | tr -d '\r'))"
	else
		bad rx-bounds "len > slot_size: $r"
		bounds_ok=""
	fi
	if [ -n "$bounds_ok" ] && wait_out 'Hello from Quest!\n' "$EX/hello" "$MNT/run/after-raw"; then
		ok "rx-bounds: 4 malformed packets refused with their reason, a len out of range left alone; Quest runs the next program"
	elif [ -n "$bounds_ok" ]; then
		bad rx-bounds "no program ran after the raw packets"
	fi
fi

# each program of tests/emu/progs, then hello as a fence: proc_creat runs
# one program at a time, so the fence's line marks the end of its output
case_name=progs
for n in "${progs[@]}"; do
	want "prog-$n" || continue
	case_name=prog-$n
	(cd "$T/root" && "$EMU" --profile master --root "$T/root" "bin/$n" >"$T/emu.out" 2>/dev/null)
	cp "$T/root/bin/$n" "$MNT/run/$n"
	cp "$EX/hello" "$MNT/run/fence-$n"
	if ! wait_out 'Hello from Quest!\n'; then
		bad "prog-$n" "no output and no fence on COM2"
		continue
	fi
	# the lines before the fence's, as a sorted set, NULs shown as \0
	head -c -18 "$T/seg" >"$T/quest.out"
	norm=${NORMALISE[$n]:-}
	a=$(sed -E "${norm:-s/^//}"'; s/\x0/\\0/g' "$T/emu.out" | sort)
	b=$(sed -E "${norm:-s/^//}"'; s/\x0/\\0/g' "$T/quest.out" | sort)
	if [ "$(tail -c 18 "$T/seg" | tr -d '\0')" != "Hello from Quest!" ]; then
		bad "prog-$n" "the fence's line is not where expected: $(cat -A "$T/seg" | tail -3)"
	elif [ "$a" = "$b" ]; then
		ok "prog-$n: $(grep -c '' "$T/quest.out") lines, as quest-emu"
	elif [ -n "${KNOWN[$n]:-}" ]; then
		known=$((known + 1))
		echo "KNOWN prog-$n: ${KNOWN[$n]}"
		diff <(echo "$a") <(echo "$b") | sed -n 's/^</  quest-emu:/p; s/^>/  Quest:    /p'
	else
		bad "prog-$n" "Quest and quest-emu differ:"
		diff <(echo "$a") <(echo "$b") | sed -n 's/^</  quest-emu:/p; s/^>/  Quest:    /p'
	fi
done

# the VM killed while programs are queued: loop holds proc_creat, k1 waits
# in the slot, k2 and k3 in questfs's queue
case_name=lost-vm
status_matches() { grep -Eq "$1" "$MNT/status"; }
wait_status() { # REGEX: status matches it (deadline)
	local end=$((SECONDS + RUN_DEADLINE))
	until status_matches "$1"; do
		((SECONDS < end)) || return 1
		sleep 0.05
	done
}
if want lost-vm; then
	mkdir -p "$T/lost"
	for k in k1 k2 k3; do cp "$T/root/bin/args" "$T/lost/$k"; done
	cp "$T/root/bin/hang_loop" "$MNT/run/loop"
	if ! wait_state loop delivered; then
		bad lost-vm "loop was not accepted: $(state_of loop)"
	else
		cp "$T/lost/k1" "$T/lost/k2" "$T/lost/k3" "$MNT/run/"
		wait_state k1 sending || bad lost-vm "k1 never went to the Quest side: $(state_of k1)"
		kill_vm
		t0=$(now_ms)
		if wait_status 'quest side +(not seen|detached)'; then
			timing[lost_vm_status_ms]=$(($(now_ms) - t0))
			line=$(grep -m1 '^quest side' "$MNT/status")
			st="$(state_of k1) $(state_of k2) $(state_of k3)"
			if [[ $st =~ ^((queued|sending)\ ?){3}$ ]]; then
				ok "lost-vm: status '$line'; k1 k2 k3: $st"
			else
				bad lost-vm "after the VM was killed, k1 k2 k3 are: $st"
			fi
		else
			bad lost-vm "status never said the Quest side is gone: $(cat "$MNT/status")"
		fi
		# the slot left TAKEN, as by a Quest side that vanished holding a
		# packet: the next receiver must end it as gone
		$RAW "$REGION" taken $((BOOT_DEADLINE + RUN_DEADLINE)) >"$T/taken.out" 2>&1 &
		raw_pid=$!
		boot_vm
		if wait "$raw_pid" && [[ $(cat "$T/taken.out") =~ ^([0-9]+)\ 3\ 0\ the\ Quest\ side\ restarted\ while\ it\ had\ packet\ ([0-9]+)$ ]] &&
			[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]; then
			ok "taken-at-start: packet ${BASH_REMATCH[1]}, TAKEN when Quest started, answered gone: '$(cut -d' ' -f4- "$T/taken.out")'"
		else
			bad taken-at-start "$(cat "$T/taken.out")"
		fi
		case_name=restart
		if wait_out 'argv[0]=k3 argv[1]=NULL\n' &&
			[ "$got" = $'argc=1 argv[0]=k1 argv[1]=NULL\nargc=1 argv[0]=k2 argv[1]=NULL\nargc=1 argv[0]=k3 argv[1]=NULL\n' ] &&
			wait_state k3 delivered; then
			ok "restart: the queued k1 k2 k3 ran once each, in order, after Quest came back (new rx_epoch); status '$(grep -m1 '^quest side' "$MNT/status")'"
		else
			bad restart "COM2 of boot $boot: $(printf %q "$got"); k1 k2 k3: $(state_of k1) $(state_of k2) $(state_of k3)"
		fi
		if grep -aq 'argv\[0\]=k' "$T/com2.$((boot - 1))"; then
			bad restart "a k program ran before the VM was killed: $(grep -a 'argv\[0\]=k' "$T/com2.$((boot - 1))")"
		fi
	fi
fi

# a program that faults: Quest stops in crash>; the watch must see it at
# once and report COM1's lines, not wait out its deadline
case_name=crash
if want crash; then
	cp "$T/root/bin/fault_segv" "$MNT/run/segv"
	t0=$SECONDS
	rc=0
	$WATCH text "$(com1)" "$(com2)" "$pos" "text that never comes" "$RUN_DEADLINE" 2>"$T/crash.txt" >/dev/null || rc=$?
	took=$((SECONDS - t0))
	if [ "$rc" = 3 ] && ((took < RUN_DEADLINE)) && grep -q 'crash>' "$T/crash.txt" &&
		grep -q 'Page Fault' "$T/crash.txt"; then
		timing[crash_detected_s]=$took
		ok "crash: detected after ${took} s (deadline ${RUN_DEADLINE} s), COM1's report:"
		sed 's/^/  COM1: /' "$T/crash.txt"
	else
		bad crash "exit $rc after ${took} s; $(cat "$T/crash.txt")"
	fi
fi

summary
((fail == 0))
