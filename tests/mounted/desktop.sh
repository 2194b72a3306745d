# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers of the desktop cases: a desktop of the case's own (Xvfb, a private
# session bus, the tests' recording notification service, Thunar), driven
# through Thunar's D-Bus API as a drag-and-drop is, with a screenshot of the
# screen to build/ when a case fails. Source after lib.sh, call
# start_desktop after setup. Nothing here skips: a missing tool fails.
# shellcheck shell=bash

# a build for another machine (i386) may have neither: the host's then
RECORDER=$B/tests/notify-recorder
[ -x "$RECORDER" ] || RECORDER=$TOP/build/tests/notify-recorder
NOTIFY=$B/questfs-notify
[ -x "$NOTIFY" ] || NOTIFY=$TOP/build/questfs-notify
SHOTS=${SHOTS:-$B/screenshots}
desk_pids=""

# bus_has NAME: someone owns NAME on the session bus (no activation)
bus_has() {
	gdbus call --session --dest org.freedesktop.DBus \
		--object-path /org/freedesktop/DBus \
		--method org.freedesktop.DBus.NameHasOwner "$1" 2>/dev/null |
		grep -q true
}

# bus_can_start NAME: the session bus would activate NAME on demand
bus_can_start() {
	gdbus call --session --dest org.freedesktop.DBus \
		--object-path /org/freedesktop/DBus \
		--method org.freedesktop.DBus.ListActivatableNames 2>/dev/null |
		grep -q "'$1'"
}

# shot WHY: the whole screen as PNG in $SHOTS, named after the case
shot() {
	mkdir -p "$SHOTS"
	local f=$SHOTS/${CASE:-case}-$1.png
	if import -display "$DISPLAY" -window root "$f" 2>/dev/null ||
		{ xwd -display "$DISPLAY" -root -silent >"${f%.png}.xwd" && f=${f%.png}.xwd; }; then
		echo "screenshot: $f" >&2
	fi
}

desktop_cleanup() {
	local p
	# a failing case leaves its screen behind to look at
	[ "${1:-0}" = 0 ] || [ -z "${DISPLAY:-}" ] || shot failed
	for p in $desk_pids; do kill -TERM "$p" 2>/dev/null; done
	for p in $desk_pids; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	desk_pids=""
}

# the case running, for the names of its screenshots
case_name() {
	local f
	for f in "${FUNCNAME[@]:1}"; do
		[[ $f != case_* ]] || { echo "$f"; return; }
	done
	echo case
}

# start_desktop: Xvfb on a free display, a session bus of this case, the
# recorder writing to $NOTES, and Thunar as a daemon, ready on the bus
start_desktop() {
	local need
	for need in Xvfb dbus-daemon gdbus thunar xdotool import xwd; do
		command -v "$need" >/dev/null || fail "desktop tests: '$need' is missing (run make deps)"
	done
	[ -x "$RECORDER" ] || fail "desktop tests: $RECORDER is missing (make all)"
	D=$T/desktop
	CASE=$(case_name)
	NOTES=$T/notes
	mkdir -p "$D/home" "$D/run" "$D/fifo"
	chmod 700 "$D/run"
	: >"$NOTES"
	trap 'rc=$?; set +e; desktop_cleanup $rc; cleanup; exit $rc' EXIT

	mkfifo "$D/fifo/display"
	Xvfb -displayfd 9 -screen 0 1024x768x24 -nolisten tcp 9>"$D/fifo/display" \
		>"$D/xvfb.log" 2>&1 &
	desk_pids="$desk_pids $!"
	local n
	read -r -t "$DEADLINE" n <"$D/fifo/display" || fail "Xvfb did not start: $(cat "$D/xvfb.log")"
	export DISPLAY=:$n

	export HOME=$D/home XDG_CONFIG_HOME=$D/home/.config
	export XDG_CACHE_HOME=$D/home/.cache XDG_DATA_HOME=$D/home/.local/share
	export XDG_RUNTIME_DIR=$D/run
	# The test's own bus: its configuration names no service directory of
	# the machine's, so what an XFCE desktop has installed (xfce4-notifyd,
	# activated on demand) cannot answer in a test's place.
	mkdir -p "$D/services"
	cat >"$D/bus.conf" <<-CONF
		<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
		 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
		<busconfig>
		  <type>session</type>
		  <keep_umask/>
		  <listen>unix:path=$D/bus</listen>
		  <servicedir>$D/services</servicedir>
		  <policy context="default">
		    <allow send_destination="*" eavesdrop="true"/>
		    <allow eavesdrop="true"/>
		    <allow own="*"/>
		  </policy>
		</busconfig>
	CONF
	dbus-daemon --config-file="$D/bus.conf" --nofork >"$D/bus.log" 2>&1 &
	desk_pids="$desk_pids $!"
	export DBUS_SESSION_BUS_ADDRESS=unix:path=$D/bus
	wait_for "the session bus" test -S "$D/bus" || fail "dbus-daemon did not start: $(cat "$D/bus.log")"
	wait_for "the session bus answers" bus_has org.freedesktop.DBus ||
		fail "the session bus does not answer"

	# NO_RECORDER=1: a session without a notification service
	if [ -z "${NO_RECORDER:-}" ]; then
		"$RECORDER" "$NOTES" >"$D/recorder.log" 2>&1 &
		desk_pids="$desk_pids $!"
		wait_for "the notification recorder" grep -q owns "$D/recorder.log" ||
			fail "notify-recorder: $(cat "$D/recorder.log")"
	fi

	thunar --daemon >"$D/thunar.log" 2>&1 &
	thunar_pid=$!
	desk_pids="$desk_pids $thunar_pid"
	wait_for "Thunar on the bus" bus_has org.xfce.FileManager ||
		fail "Thunar did not start: $(cat "$D/thunar.log")"
}

# Thunar may still hold a file of the mount (its copy job, a thumbnail
# read) when the case ends, and questfs-notify opens the log now and then:
# they go first, so that the unmount every case ends with is not busy.
# (A case that unmounts and goes on uses stop_qfs_followed.)
thunar_pid=""
notify_pid=""
if declare -F stop_qfs >/dev/null; then # lib.sh's, when a case runs
	eval "mounted_$(declare -f stop_qfs)"
	stop_qfs() {
		local p
		for p in $thunar_pid $notify_pid; do
			kill -TERM "$p" 2>/dev/null
			wait "$p" 2>/dev/null
		done
		thunar_pid="" notify_pid=""
		mounted_stop_qfs
	}
fi

# stop_qfs_followed: stop_qfs while questfs-notify follows the log. Its
# look at the log opens it for a moment, and an unmount at that moment is
# busy (as with any reader): the unmount is tried again until the deadline.
stop_qfs_followed() {
	local rc=0
	wait_for "the unmount of $MNT" fusermount3 -u "$MNT" || fail "unmount of $MNT failed"
	wait "$qfs_pid" || rc=$?
	qfs_pid=""
	expect_eq "questfs exit status" 0 "$rc"
}

# thunar_call METHOD ARGS...: a method of org.xfce.FileManager
thunar_call() {
	local m=$1
	shift
	gdbus call --session --dest org.xfce.FileManager \
		--object-path /org/xfce/FileManager \
		--method "org.xfce.FileManager.$m" "$@" >/dev/null
}

# gv_strv FILE...: the GVariant text of an array of strings
gv_strv() {
	local s="[" sep="" f
	for f in "$@"; do
		f=${f//\\/\\\\}
		s="$s$sep'${f//\'/\\\'}'"
		sep=", "
	done
	echo "$s]"
}

# drop DIR FILE...: what a drag-and-drop onto DIR does (Thunar's CopyInto)
drop() {
	local dir=$1
	shift
	thunar_call CopyInto "$PWD" "$(gv_strv "$@")" "$dir" "$DISPLAY" ""
}

# windows: the names of Thunar's visible windows, one a line
windows() {
	local w
	for w in $(xdotool search --onlyvisible --class Thunar 2>/dev/null); do
		xdotool getwindowname "$w" 2>/dev/null
	done
}

# notes_count: notifications recorded so far
notes_count() { wc -l <"$NOTES"; }
notes_at_least() { test "$(notes_count)" -ge "$1"; }

# start_notify [OPTIONS]: questfs-notify on this case's mount, looking at
# the log every 100 ms (a second by default: the tests need not wait)
start_notify() {
	[ -x "$NOTIFY" ] || fail "desktop tests: $NOTIFY is missing (make all)"
	"$NOTIFY" --interval 100 "$@" "$MNT" >>"$D/notify.log" 2>&1 &
	notify_pid=$!
	desk_pids="$desk_pids $notify_pid"
	# what is logged before it first looks is not news to it
	wait_for "questfs-notify following the log" grep -q "following $MNT/log" "$D/notify.log" ||
		fail "questfs-notify: $(cat "$D/notify.log")"
}

# note_with SUMMARY: the recorded notification of that summary, or fail
note_with() {
	awk -F '\t' -v s="$1" '$4 == s { print; found = 1 } END { exit !found }' "$NOTES"
}

# dismiss TITLE KEY: the visible window TITLE gets KEY (as typed)
has_window() { xdotool search --onlyvisible --name "^$1\$" >/dev/null 2>&1; }
dismiss() {
	local w
	w=$(xdotool search --onlyvisible --name "^$1\$" | head -1)
	[ -n "$w" ] || fail "no window '$1'; windows: $(windows | tr '\n' '|')"
	xdotool windowfocus --sync "$w" && xdotool key "$2" ||
		fail "cannot send $2 to '$1'"
	wait_for "'$1' gone" eval '! has_window "$1"' ||
		fail "'$1' is still there after $2"
}
