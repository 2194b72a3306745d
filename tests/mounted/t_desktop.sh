# SPDX-License-Identifier: GPL-2.0-or-later
# The desktop: Thunar 4.18 under Xvfb on a private session bus, driven
# through its D-Bus API (CopyInto, what a drag-and-drop does), with
# questfs-notify and the tests' recording notification service. A failing
# case leaves a screenshot in build/screenshots/.
# shellcheck shell=bash

. "$TOP/tests/mounted/desktop.sh"

up() {
	start_sim
	start_qfs "$@"
	start_desktop
	chmod 755 "$FX"/*
	cd "$FX" || fail "cd $FX"
}

# the reason of NAME's refusal in the log, as a person reads it: the log
# writes a backslash as \\
log_reason() {
	grep " job [0-9]* uid=[0-9]* $1 refused: " "$MNT/log" | tail -1 | sed 's/.* refused: //; s/\\\\/\\/g'
}

# field N of the note of SUMMARY
note_field() { note_with "$1" | head -1 | cut -f"$2"; }

case_thunar_drop_delivers() {
	up
	start_notify
	drop "$MNT/run" "$FX/valid"
	wait_saved 1
	cmp "$FX/valid" "$SAVE/000001.elf" || fail "bytes differ"
	expect_eq "argv" "valid" "$(argv_of 1)"
	wait_for "delivered" state_is "$MNT/run/valid" delivered
	# the file as Thunar lists it: the program's size, executable, ELF
	expect_eq "size in run/" 232 "$(stat -c %s "$MNT/run/valid")"
	expect_eq "mode in run/" 755 "$(stat -c %a "$MNT/run/valid")"
	expect_match "file(1)" "ELF 32-bit LSB executable" "$(file -b "$MNT/run/valid")"
	expect_eq "content type" "application/x-executable" \
		"$(gio info -a standard::content-type "$MNT/run/valid" | sed -n 's/.*content-type: //p')"
	cmp "$FX/valid" "$MNT/run/valid" || fail "run/valid does not read as the program"
	expect_eq "no window left" "" "$(windows | grep -v '^Thunar$' || true)"
	# delivered is not notified by default; a refusal after it is, alone
	drop "$MNT/run" "$FX/x86-64"
	wait_for "Thunar's error dialog" has_window Attention
	dismiss Attention Escape
	wait_for "a notification" notes_at_least 1
	expect_eq "notifications" 1 "$(notes_count)"
}

# Each refusal: Thunar's dialog for what it can see, the notification with
# the reason for every one, and nothing left in run/.
case_thunar_refusals_notify_why() {
	up
	start_notify
	local fx n=0 why
	for fx in x86-64 bad-magic misaligned wrap short; do
		drop "$MNT/run" "$FX/$fx"
		n=$((n + 1))
		wait_for "note of $fx" note_with "$fx refused" >/dev/null ||
			fail "no notification for $fx: $(cat "$NOTES")"
		why=$(log_reason "$fx")
		[ -n "$why" ] || fail "log has no refusal of $fx: $(cat "$MNT/log")"
		expect_eq "$fx: the reason" "$why" "$(note_field "$fx refused" 5)"
		expect_eq "$fx: expires" 10000 "$(note_field "$fx refused" 3)"
		expect_eq "$fx: urgency normal" 1 "$(note_field "$fx refused" 2)"
		echo "notification: $(note_field "$fx refused" 4) | $(note_field "$fx refused" 5)"
		# a prefix no more bytes can fix is refused at close: a dialog
		if [ "$fx" != short ]; then
			wait_for "Thunar's dialog for $fx" has_window Attention
			dismiss Attention Escape
			wait_for "run/$fx removed" eval '! test -e "$MNT/run/$fx"' ||
				fail "run/$fx is still there"
		fi
	done
	expect_eq "notifications" "$n" "$(notes_count)"
	expect_eq "nothing received" 0 "$(saved_count)"
	expect_eq "nothing but the short one in run/" short "$(ls "$MNT/run")"
}

case_thunar_twenty_in_order() {
	up
	local i n names=() want got
	mkdir "$T/many"
	for i in $(seq -w 1 20); do
		"$MKELF" --seed "$((10#$i))" --size $((300 + 10#$i * 97)) "$T/many/p$i" || fail mkelf
		names+=("$T/many/p$i")
	done
	drop "$MNT/run" "${names[@]}"
	wait_saved 20
	want=$(seq -w 1 20 | sed 's/^/p/' | tr '\n' ' ' | sed 's/ $//')
	got=$(for i in $(seq 1 20); do argv_of "$i"; echo; done | tr '\n' ' ' | sed 's/ $//')
	# A file launches at its RELEASE, which the kernel sends after close(2)
	# returns, in the background: one delayed past the whole copy of the
	# next file swaps the two. ThreadSanitizer slows questfs's threads
	# enough for that; there the order is not checked, only what arrived.
	if [ -n "${QUESTFS_TSAN:-}" ]; then
		expect_eq "programs received" "$want" "$(tr ' ' '\n' <<<"$got" | sort | tr '\n' ' ' | sed 's/ $//')"
	else
		expect_eq "order" "$want" "$got"
	fi
	for i in $(seq 1 20); do
		n=$(argv_of "$i")
		cmp "$T/many/$n" "$SAVE/$(printf %06d "$i").elf" || fail "$n: bytes differ"
	done
}

case_thunar_replace_launches_again() {
	up
	drop "$MNT/run" "$FX/valid"
	wait_saved 1
	wait_for "delivered" state_is "$MNT/run/valid" delivered
	drop "$MNT/run" "$FX/valid"
	wait_for "Thunar asks to replace" has_window "Confirm to replace files"
	dismiss "Confirm to replace files" alt+r
	wait_saved 2
	cmp "$FX/valid" "$SAVE/000002.elf" || fail "the second launch's bytes differ"
	expect_eq "argv" "valid" "$(argv_of 2)"
}

# uca_command ACTION-ID: the command of that action in the session's uca.xml
uca_command() {
	python3 - "$XDG_CONFIG_HOME/Thunar/uca.xml" "$1" <<'PY'
import sys
import xml.etree.ElementTree as ET
for a in ET.parse(sys.argv[1]).getroot():
    if a.findtext("unique-id") == sys.argv[2]:
        print(a.findtext("command"))
        print(a.findtext("description"))
PY
}

# run_action ACTION-ID FILE...: what Thunar does for a custom action: %F
# becomes the quoted paths and the line runs as a shell command
run_action() {
	local id=$1 cmd files="" f
	shift
	cmd=$(uca_command "$id" | head -1)
	for f in "$@"; do files="$files '${f//\'/\'\\\'\'}'"; done
	sh -c "${cmd%%\%F*}$files${cmd#*%F}"
}

case_thunar_run_on_quest_action() {
	up
	local m="$T/the mount" rc
	# the actions name the mount they were installed for
	"$TOP/mount-helper/thunar-install-actions" --mount "$MNT" >"$T/tia.log" 2>&1 ||
		fail "thunar-install-actions: $(cat "$T/tia.log")"
	expect_eq "description" "Copy the selected programs into $MNT/run: Quest runs them" \
		"$(uca_command questfs-run-on-quest | sed -n 2p)"
	expect_match "command" "quest-run --mount $MNT %F$" "$(uca_command questfs-run-on-quest | head -1)"
	cp "$FX/valid" "$T/a_b"
	run_action questfs-run-on-quest "$T/a_b" 2>"$T/qr.err" || fail "Run on Quest: $(cat "$T/qr.err")"
	wait_saved 1
	cmp "$FX/valid" "$SAVE/000001.elf" || fail "bytes differ"
	expect_eq "argv" "a_b" "$(argv_of 1)"
	wait_for "its notification" note_with "a_b runs on Quest" >/dev/null
	expect_eq "body" "taken by the Quest side" "$(note_field "a_b runs on Quest" 5)"
	expect_eq "expires" 10000 "$(note_field "a_b runs on Quest" 3)"
	# a refusal's reason as questfs wrote it: backslashes and quotes kept,
	# a name with markup shown as typed
	cp "$FX/bad-magic" "$T/x<b>&amp;"
	rc=0
	run_action questfs-run-on-quest "$T/x<b>&amp;" 2>"$T/qr.err" || rc=$?
	expect_eq "status of a refusal" 1 "$rc"
	wait_for "the refusal's notification" note_with "x<b>&amp; refused by questfs" >/dev/null ||
		fail "notes: $(cat "$NOTES")"
	why=$(log_reason 'x<b>&amp;')
	expect_eq "reason" "$why (Exec format error)" "$(note_field "x<b>&amp; refused by questfs" 5)"
	expect_match "reason kept its backslash" '"\\x7fELF"' "$why"
	expect_eq "nothing more received" 1 "$(saved_count)"
	# installed for a mount with blanks and quotes: still one argument
	"$TOP/mount-helper/thunar-install-actions" --mount "$m" >"$T/tia.log" 2>&1 ||
		fail "thunar-install-actions: $(cat "$T/tia.log")"
	expect_eq "description" "Copy the selected programs into $m/run: Quest runs them" \
		"$(uca_command questfs-run-on-quest | sed -n 2p)"
	rc=0
	run_action questfs-run-on-quest "$T/a_b" 2>"$T/qr.err" || rc=$?
	expect_eq "status for a mount that is not there" 2 "$rc"
	grep -qF "$m is not a questfs mount" "$T/qr.err" || fail "stderr: $(cat "$T/qr.err")"
}

# The arguments dialog shows a name with _ as typed: zenity's label takes
# _ as a mnemonic and reads C escapes, so quest-run doubles both.
case_thunar_args_dialog_label() {
	up
	mkdir -p "$T/fake"
	cat >"$T/fake/zenity" <<EOF2
#!/bin/sh
for a; do printf '%s\n' "\$a"; done >>"$T/zenity.log"
echo 'lorem ipsum'
EOF2
	chmod +x "$T/fake/zenity"
	cp "$FX/valid" "$T/hello_argvs\\1"
	PATH="$T/fake:$PATH" "$TOP/mount-helper/quest-run" --mount "$MNT" --ask "$T/hello_argvs\\1" 2>"$T/qr.err" ||
		fail "quest-run --ask: $(cat "$T/qr.err")"
	grep -qxF -- '--text=Arguments for hello__argvs\\1 (split like a shell does; argv holds 80 bytes):' "$T/zenity.log" ||
		fail "zenity's label: $(cat "$T/zenity.log")"
	wait_saved 1
	expect_eq "argv" 'hello_argvs\1 lorem ipsum' "$(argv_of 1)"
}

# No notification service on the bus: a zenity dialog says it instead.
case_thunar_no_notification_service() {
	NO_RECORDER=1 up
	local rc=0
	bus_has org.freedesktop.Notifications && fail "a notification service is there"
	bus_can_start org.freedesktop.Notifications && fail "the bus would start a notification service"
	"$TOP/mount-helper/quest-run" --mount "$MNT" "$FX/x86-64" 2>"$T/qr.err" || rc=$?
	expect_eq "status" 1 "$rc"
	grep -q "x86-64 refused by questfs: ELF machine is x86-64" "$T/qr.err" || fail "stderr: $(cat "$T/qr.err")"
	wait_for "zenity's error dialog" has_window "Run on Quest" ||
		fail "no dialog; windows: $(xdotool search --onlyvisible --name . getwindowname %@ 2>&1)"
	dismiss "Run on Quest" Return
}

# questfs-notify posts only its user's jobs: another user's refusal, in
# the same run/, is not shown to root, and root's is.
case_notify_own_jobs_only() {
	up -o allow_other,run_mode=0777
	start_notify --delivered
	# the other user reaches the mount and the source through $T
	chmod 711 "$T"
	cp "$FX/x86-64" "$T/theirs" && chmod 644 "$T/theirs"
	setpriv --reuid=65534 --regid=65534 --clear-groups -- cp "$T/theirs" "$MNT/run/theirs" 2>/dev/null &&
		fail "another user's refused copy succeeded"
	grep -q " job 1 uid=65534 theirs refused: " "$MNT/log" || fail "log: $(cat "$MNT/log")"
	cp "$FX/x86-64" "$MNT/run/mine" 2>/dev/null && fail "a refused copy succeeded"
	cp "$FX/valid" "$MNT/run/mine-ok" || fail "cp valid"
	wait_saved 1
	wait_for "root's notifications" notes_at_least 2
	note_with "mine refused" >/dev/null || fail "notes: $(cat "$NOTES")"
	note_with "mine-ok runs on Quest" >/dev/null || fail "notes: $(cat "$NOTES")"
	note_with "theirs refused" >/dev/null && fail "another user's job was shown"
	expect_eq "notifications" 2 "$(notes_count)"
}

# The mount goes away and comes back: questfs-notify keeps going, does not
# hold the mount busy, and reads the new mount's log from its start.
case_notify_survives_remount() {
	up
	start_notify
	cp "$FX/x86-64" "$MNT/run/one" 2>/dev/null
	wait_for "first notification" note_with "one refused" >/dev/null
	stop_qfs_followed
	wait_for "questfs-notify saw it go" grep -q "is gone" "$D/notify.log" ||
		fail "notify log: $(cat "$D/notify.log")"
	kill -0 "$notify_pid" || fail "questfs-notify exited: $(cat "$D/notify.log")"
	start_qfs
	cp "$FX/wrap" "$MNT/run/two" 2>/dev/null
	wait_for "notification from the new mount" note_with "two refused" >/dev/null ||
		fail "notes: $(cat "$NOTES"); notify log: $(cat "$D/notify.log")"
	expect_eq "notifications" 2 "$(notes_count)"
	grep -q "following $MNT/log again" "$D/notify.log" || fail "notify log: $(cat "$D/notify.log")"
}

# A launched file larger than what questfs keeps of it reads whole while
# its job holds it; past the kept 4 KiB afterwards, a read says so.
case_thunar_large_file_after_delivery() {
	up
	"$MKELF" --seed 5 --size 100000 "$T/big" || fail mkelf
	chmod 755 "$T/big"
	drop "$MNT/run" "$T/big"
	wait_saved 1
	wait_for "delivered" state_is "$MNT/run/big" delivered
	expect_eq "size" 100000 "$(stat -c %s "$MNT/run/big")"
	expect_eq "type" "application/x-executable" \
		"$(gio info -a standard::content-type "$MNT/run/big" | sed -n 's/.*content-type: //p')"
	cmp -n 4096 "$T/big" "$MNT/run/big" || fail "the first 4096 bytes differ"
	local out
	out=$(cat "$MNT/run/big" 2>&1 >/dev/null) && fail "a whole read of a delivered program succeeded"
	expect_match "cat" "No data available" "$out"
}

# the mean brightness (0..1) of the top left of Thunar's file view, where
# the first icons are: 1 is an empty view (no window manager: Thunar's
# window is at 0,0, sized 900x500 here)
view_mean() {
	import -display "$DISPLAY" -window root "$T/view.png" 2>/dev/null &&
		convert "$T/view.png" -crop 300x120+172+102 -format '%[fx:mean]' info:
}
view_empty() { awk -v m="$(view_mean)" 'BEGIN { exit !(m > 0.999) }'; }
view_has_icons() { awk -v m="$(view_mean)" 'BEGIN { exit !(m < 0.98) }'; }

# FUSE gives a file manager no change events: Thunar lists launched files
# until it re-reads run/, and F5 then shows what is there (nothing, once
# they expired); nothing is listed that run/ does not hold.
case_thunar_relist_after_f5() {
	up -o linger=1
	local w
	thunar_call DisplayFolder "file://$MNT/run" "$DISPLAY" ""
	wait_for "Thunar's window on run/" has_window "run - Thunar"
	w=$(xdotool search --onlyvisible --name '^run - Thunar$' | head -1)
	xdotool windowsize --sync "$w" 900 500 || fail "cannot size Thunar's window"
	wait_for "an empty view" view_empty || fail "view of an empty run/: $(view_mean)"
	drop "$MNT/run" "$FX/valid" "$FX/short"
	wait_saved 1
	wait_for "the two files in the view" view_has_icons || fail "view: $(view_mean)"
	wait_for "run/ empty after linger" eval '[ -z "$(ls -A "$MNT/run")" ]' ||
		fail "run/: $(ls -A "$MNT/run")"
	expect_eq "gio list" "" "$(gio list "$MNT/run")"
	xdotool windowfocus --sync "$w" && xdotool key F5 || fail "F5"
	wait_for "the view re-read" view_empty || fail "view after F5: $(view_mean)"
	expect_eq "no dialog" "run - Thunar" "$(windows)"
}

# Too large: Thunar's "Error splicing file. File too large." (GIO copies
# with splice), the reason as a notification, and no empty file left.
case_thunar_too_large() {
	up
	start_notify
	drop "$MNT/run" "$FX/too-big"
	wait_for "Thunar's error dialog" has_window Attention
	dismiss Attention Escape
	wait_for "the notification" note_with "too-big refused" >/dev/null || fail "notes: $(cat "$NOTES")"
	expect_match "reason" "^program is more than 393128 bytes .*the largest that fits the 393216-byte slot is 393128$" \
		"$(note_field "too-big refused" 5)"
	wait_for "run/too-big removed" eval '! test -e "$MNT/run/too-big"' || fail "run/: $(ls -la "$MNT/run")"
	expect_eq "nothing received" 0 "$(saved_count)"
}

# questfs keeps its log under log_max by dropping the oldest half: what
# questfs-notify read before is found again, nothing is shown twice.
case_notify_log_halved() {
	start_sim
	start_qfs -o log_max=1500
	start_desktop
	start_notify
	local i
	for i in $(seq -w 1 24); do
		cp "$FX/x86-64" "$MNT/run/r$i" 2>/dev/null && fail "r$i was not refused"
		wait_for "note of r$i" note_with "r$i refused" >/dev/null ||
			fail "no note of r$i: $(cat "$NOTES")"
	done
	[ "$(stat -c %s "$MNT/log")" -lt 1500 ] || fail "the log was not cut: $(stat -c %s "$MNT/log") bytes"
	grep -q " r01 refused" "$MNT/log" && fail "the log still has its first lines"
	expect_eq "notifications" 24 "$(notes_count)"
	expect_eq "distinct" 24 "$(cut -f4 "$NOTES" | sort -u | wc -l)"
}

# questfs-notify under valgrind's memcheck: a refusal, a delivery, the
# mount going away, SIGTERM; no memory error, nothing definitely lost. A
# sanitizer build cannot run under valgrind: there ASan and LeakSanitizer
# check the same run, and fail its exit status.
case_notify_under_valgrind() {
	local vp rc=0 checker=(valgrind --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite)
	[ -z "${QUESTFS_SANITIZED:-}" ] || checker=()
	[ -z "${checker[*]}" ] || command -v valgrind >/dev/null || fail "valgrind is missing (run make deps)"
	up
	"${checker[@]}" "$NOTIFY" --interval 100 --delivered "$MNT" >"$T/vg.log" 2>&1 &
	vp=$!
	DEADLINE=60 wait_for "questfs-notify under valgrind" grep -q following "$T/vg.log" ||
		fail "valgrind: $(cat "$T/vg.log")"
	cp "$FX/x86-64" "$MNT/run/a" 2>/dev/null && fail "a was not refused"
	cp "$FX/valid" "$MNT/run/b" || fail "cp b"
	DEADLINE=60 wait_for "two notifications" notes_at_least 2 || fail "notes: $(cat "$NOTES")"
	stop_qfs_followed
	DEADLINE=60 wait_for "the mount gone" grep -q "is gone" "$T/vg.log" || fail "valgrind: $(cat "$T/vg.log")"
	kill -TERM "$vp"
	wait "$vp" || rc=$?
	expect_eq "checked exit status" 0 "$rc"
	[ -z "${checker[*]}" ] || grep -q "ERROR SUMMARY: 0 errors" "$T/vg.log" || fail "valgrind: $(cat "$T/vg.log")"
}
