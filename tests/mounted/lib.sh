# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers of the mounted tests: a fresh quest-sim and questfs per case, in a
# temporary directory, waits bounded by deadlines, and an EXIT trap that
# always unmounts (lazy), then TERMs and KILLs what is left.
# shellcheck shell=bash

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
B=${QUESTFS_BUILD:-$TOP/build}
QUESTFS=$B/questfs
SIM=$B/quest-sim
LOADER=$B/questbinloader
MKELF=$B/tests/mkelf
EX=$B/examples # hello and hello_argvs, built from examples/*.s
# make check-i386 under qemu-user (tests/i386/run.sh): $B holds scripts that
# run the programs of $BIN, the build itself, under $XRUN (qemu-i386-static);
# MAKEVARS make that build. Empty XRUN: programs run directly.
BIN=${QUESTFS_BIN:-$B}
XRUN=${QUESTFS_EXEC:-}
MAKEVARS=${QUESTFS_MAKEVARS:-BUILD=$B}
# the loader whose verdicts a case compares questfs's with (t_faults); under
# qemu-user the host's build, as 1000 emulator starts cost minutes
ORACLE=${QUESTFS_ORACLE:-$LOADER}
DEADLINE=${DEADLINE:-15} # seconds any single wait may take

# wait_for DESCRIPTION CMD...: run CMD until it succeeds or the deadline.
# CMD's arguments are expanded once: to wait on a changing value, name a
# function that computes it (saved_at_least, state_is).
wait_for() {
	local what=$1; shift
	local end=$((SECONDS + DEADLINE))
	until "$@" 2>/dev/null; do
		if ((SECONDS >= end)); then
			echo "timed out after ${DEADLINE}s waiting for: $what" >&2
			return 1
		fi
		sleep 0.05
	done
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# not_run REASON: this case cannot run here; run.sh prints REASON with the
# case's name and counts it apart (only for what the machine lacks)
not_run() {
	printf '%s\n' "$*" >"$QUESTFS_NOTRUN"
	exit 0
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

# run_fails WHAT REGEX CMD...: CMD must fail with a message matching REGEX
run_fails() {
	local what=$1 re=$2 out rc=0
	shift 2
	out=$("$@" 2>&1) || rc=$?
	[ "$rc" != 0 ] || fail "$what: succeeded, expected a failure"
	expect_match "$what: message" "$re" "$out"
}

# expect_match WHAT REGEX TEXT
expect_match() {
	[[ $3 =~ $2 ]] || fail "$1: '$3' does not match /$2/"
}

is_mounted() { grep -qs " $1 fuse.questfs " /proc/self/mounts; }

sim_pid=""
sim_runs=0
KEEP=${KEEP:-}
qfs_pid=""

# start_sim [ARGS...]: a quest-sim on this case's channel, saving into $SAVE
start_sim() {
	local log=$T/sim.$((++sim_runs)).log
	"$SIM" --channel "$CHAN" --save "$SAVE" "$@" >"$log" 2>&1 &
	sim_pid=$!
	wait_for "quest-sim attached" grep -q attached "$log" || fail "quest-sim did not start: $(cat "$log")"
}

stop_sim() {
	[ -n "$sim_pid" ] || return 0
	kill "$sim_pid" 2>/dev/null
	wait "$sim_pid" 2>/dev/null
	sim_pid=""
}

# start_qfs [-o OPTS]: questfs in the foreground, logging to $T/qfs.log
start_qfs() {
	"$QUESTFS" -f -o "channel=$CHAN,spool=$T/spool" "$@" "$MNT" >>"$T/qfs.log" 2>&1 &
	qfs_pid=$!
	wait_for "mount at $MNT" is_mounted "$MNT" || fail "questfs did not mount: $(cat "$T/qfs.log")"
}

# stop_qfs: a clean unmount and exit status 0 are part of every case
stop_qfs() {
	[ -n "$qfs_pid" ] || return 0
	fusermount3 -u "$MNT" || fail "unmount of $MNT failed"
	local rc=0
	wait "$qfs_pid" || rc=$?
	qfs_pid=""
	expect_eq "questfs exit status" 0 "$rc"
	if grep -E "AddressSanitizer|LeakSanitizer|runtime error|Segmentation|Aborted|double free" "$T/qfs.log"; then
		fail "questfs log shows a crash or sanitizer report"
	fi
}

cleanup() {
	if [ -n "$qfs_pid" ]; then
		fusermount3 -u -z "$MNT" 2>/dev/null
		kill -TERM "$qfs_pid" 2>/dev/null
		sleep 0.2
		kill -KILL "$qfs_pid" 2>/dev/null
	fi
	if [ -n "$sim_pid" ]; then
		kill -TERM "$sim_pid" 2>/dev/null
		kill -KILL "$sim_pid" 2>/dev/null
	fi
	wait 2>/dev/null
	rm -f "/dev/shm/questfs-shm-$KEY"
	[ -n "$KEEP" ] || rm -rf "$T"
}

# at_exit first|last CMD: add CMD to the EXIT trap, before or after what it
# already does. The trap runs after the case's function has returned, with
# its locals gone: expand them into CMD now ("kill $pid"), never later.
at_exit() {
	local prev
	prev=$(trap -p EXIT)
	prev=${prev#trap -- \'}
	prev=${prev%\' EXIT}
	# shellcheck disable=SC2064
	# the trap runs every command whatever fails (run.sh's cases run
	# with -e)
	if [ "$1" = first ]; then
		trap "set +e; $2; $prev" EXIT
	else
		trap "$prev; $2" EXIT
	fi
}

# setup: fresh temp dir, fixtures, channel key, quest-sim, questfs
setup() {
	T=$(mktemp -d /tmp/questfs-test.XXXXXX)
	MNT=$T/mnt
	SAVE=$T/save
	FX=$T/fx
	KEY=${QUESTFS_KEY:-$((300000 + (RANDOM * 32768 + RANDOM) % 600000))}
	# the case's channel: shm:KEY, or (run.sh's second pass over the
	# channel cases) a vshm: region in the case's directory
	if [ "${QUESTFS_BACKEND:-shm}" = vshm ]; then
		CHAN=vshm:$T/region
	else
		CHAN=shm:$KEY
	fi
	mkdir -p "$MNT" "$SAVE"
	trap 'set +e; cleanup' EXIT
	"$MKELF" "$FX" >/dev/null || fail "mkelf failed"
}

# delivered N: wait until quest-sim saved N programs
saved_count() { find "$SAVE" -name '*.elf' | wc -l; }
saved_at_least() { test "$(saved_count)" -ge "$1"; }
wait_saved() {
	wait_for "$1 programs received by quest-sim" saved_at_least "$1" ||
		fail "quest-sim got $(saved_count) programs, expected $1; status: $(cat "$MNT/status" 2>&1)"
}

# json_count STATE: jobs in that state per status.json
json_count() {
	grep -o "\"$1\": [0-9]*" "$MNT/status.json" | head -1 | grep -o '[0-9]*$'
}

# xattr FILE NAME: value of an extended attribute, or empty
xattr() { getfattr --only-values -n "$2" "$1" 2>/dev/null; }

# state_is FILE STATE: the file's job is in STATE (for wait_for: the
# command is run again at each try, unlike a "$(...)" argument)
state_is() { test "$(xattr "$1" user.quest.state)" = "$2"; }

# argv_of N: quest-sim's saved argv of program N, words on one line
argv_of() { tr '\0' ' ' <"$SAVE/$(printf %06d "$1").argv" | sed 's/ $//'; }

# writer W N: copies N distinct programs named wW-I, one after the other
writer() {
	local w=$1 n=$2 i
	for ((i = 1; i <= n; i++)); do
		cp "$T/src/w$w-$i" "$MNT/run/w$w-$i" || return 1
	done
}
