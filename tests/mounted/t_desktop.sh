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
		why=$(grep " job [0-9]* uid=0 $fx refused: " "$MNT/log" | sed 's/.* refused: //')
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
	local i names=() want
	mkdir "$T/many"
	for i in $(seq -w 1 20); do
		"$MKELF" --seed "$((10#$i))" --size $((300 + 10#$i * 97)) "$T/many/p$i" || fail mkelf
		names+=("$T/many/p$i")
	done
	drop "$MNT/run" "${names[@]}"
	wait_saved 20
	want=$(seq -w 1 20 | sed 's/^/p/' | tr '\n' ' ' | sed 's/ $//')
	expect_eq "order" "$want" "$(for i in $(seq 1 20); do argv_of "$i"; echo; done | tr '\n' ' ' | sed 's/ $//')"
	for i in $(seq -w 1 20); do
		cmp "$T/many/p$i" "$SAVE/0000$i.elf" || fail "p$i: bytes differ"
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
