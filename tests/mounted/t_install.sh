# SPDX-License-Identifier: GPL-2.0-or-later
# make install and uninstall; the mount(8) helper (mount -t questfs, an
# fstab); quest-run as the Thunar actions run it; the merge of the actions
# into uca.xml. The mount cases link /sbin/mount.questfs and
# /sbin/mount.fuse.questfs to this case's installation and remove the links
# at exit (mount(8) looks for helpers in /sbin only).
# shellcheck shell=bash

QR=$TOP/mount-helper/quest-run
TIA=$TOP/mount-helper/thunar-install-actions

up() { start_sim; start_qfs; }

EXPECTED_USR="etc/xdg/autostart/questfs-notify.desktop
usr/bin/quest-emu
usr/bin/quest-run
usr/bin/quest-sim
usr/bin/questbinloader
usr/bin/questfs
usr/bin/questfs-notify
usr/lib/systemd/system/quest-sim.service
usr/lib/systemd/system/questfs.service
usr/sbin/mount.fuse.questfs
usr/sbin/mount.questfs
usr/share/doc/questfs/fstab.example
usr/share/doc/questfs/questfs.default
usr/share/man/man1/quest-emu.1
usr/share/man/man1/quest-run.1
usr/share/man/man1/quest-sim.1
usr/share/man/man1/questbinloader.1
usr/share/man/man1/questfs-notify.1
usr/share/man/man8/mount.questfs.8
usr/share/man/man8/questfs.8
usr/share/questfs/thunar-install-actions
usr/share/questfs/uca.xml"
# questfs-notify is built only where libnotify is found for the target (not
# in the i386 build): without it, install leaves its three files out
if [ ! -x "$BIN/questfs-notify" ]; then
	echo "note: $BIN has no questfs-notify (no libnotify for this build): not expected among the installed files"
	EXPECTED_USR=$(grep -v questfs-notify <<<"$EXPECTED_USR")
fi

# files and symbolic links under DIR, relative, sorted
tree_of() { (cd "$1" && find . \( -type f -o -type l \) | sed 's|^\./||' | LC_ALL=C sort); }

make_in() {
	# shellcheck disable=SC2086 # MAKEVARS is words
	make -s -C "$TOP" $MAKEVARS "$@" >"$T/make.log" 2>&1 || fail "make $*: $(cat "$T/make.log")"
}

# ---- the mount cases: an installation under $T/prefix, linked from /sbin

LINKED=()
MOUNTED=()

install_cleanup() {
	local m l p
	for m in "${MOUNTED[@]}"; do
		is_mounted "$m" || continue
		for p in $(daemons_at "$m"); do
			fusermount3 -u -z "$m" 2>/dev/null
			kill -TERM "$p" 2>/dev/null
		done
	done
	for l in "${LINKED[@]}"; do
		[[ $(readlink "$l") == "$T"/* ]] && rm -f "$l"
	done
}

# install_prefix: make install into $T/prefix, the helpers linked from /sbin.
# Test runs that go on at the same time take turns through a lock held until
# the case ends; a link left by a run that was killed is replaced.
install_prefix() {
	local h to lock=/run/lock
	[ -d "$lock" ] || lock=/tmp
	make_in install PREFIX="$T/prefix" MOUNTHELPERDIR="$T/prefix/sbin"
	xrun_installed "$T/prefix/bin"
	exec {HELPER_LOCK}>"$lock/questfs-test-mount-helper.lock" || fail "cannot open the lock in $lock"
	flock -w $((DEADLINE * 8)) "$HELPER_LOCK" || fail "another test run holds /sbin/mount.questfs for too long"
	at_exit first install_cleanup
	for h in mount.questfs mount.fuse.questfs; do
		if [ -e "/sbin/$h" ] || [ -L "/sbin/$h" ]; then
			to=$(readlink "/sbin/$h")
			[[ $to == /tmp/questfs-test.* ]] ||
				fail "/sbin/$h is installed (not a link of an earlier test run): this test will not replace it; uninstall questfs first"
			rm -f "/sbin/$h"
		fi
		ln -s "$T/prefix/sbin/$h" "/sbin/$h" || fail "cannot link /sbin/$h"
		LINKED+=("/sbin/$h")
	done
}

# xrun_installed BINDIR: under qemu-user, each installed program becomes a
# script that runs it, moved to BINDIR/../xrun/, under $XRUN, so that
# mount(8)'s helper can start the installed questfs
xrun_installed() {
	local p
	[ -n "$XRUN" ] || return 0
	mkdir -p "$1/../xrun"
	for p in questfs questbinloader quest-sim; do
		mv "$1/$p" "$1/../xrun/$p"
		printf '#!/bin/sh\nexec %s %s "$@"\n' "$XRUN" "$(cd "$1/../xrun" && pwd)/$p" >"$1/$p"
		chmod 755 "$1/$p"
	done
}

# the program a process runs: /proc/PID/exe, or the one qemu-user runs
prog_of() {
	local a
	if [ -n "$XRUN" ]; then
		mapfile -d '' a 2>/dev/null <"/proc/$1/cmdline" && echo "${a[1]}"
	else
		readlink "/proc/$1/exe"
	fi
}

# daemons_at DIR: pids of the questfs processes whose last argument is DIR
daemons_at() {
	local p a
	for p in /proc/[0-9]*; do
		mapfile -d '' a 2>/dev/null <"$p/cmdline" || continue
		[ -n "$XRUN" ] && [ "${#a[@]}" -ge 1 ] && [ "${a[0]}" = "$XRUN" ] && a=("${a[@]:1}")
		[ "${#a[@]}" -ge 2 ] && [[ ${a[0]} == */questfs ]] &&
			[ "${a[-1]}" = "$1" ] && echo "${p#/proc/}"
	done
}

gone() { ! kill -0 "$1" 2>/dev/null; }

# mounted_by_helper DIR: mounted, by the installed questfs, in the background
mounted_by_helper() {
	local pids
	MOUNTED+=("$1")
	is_mounted "$1" || fail "$1 is not mounted: $(grep " $1 " /proc/self/mounts)"
	pids=$(daemons_at "$1")
	[ -n "$pids" ] || fail "no questfs process serves $1"
	expect_eq "questfs processes at $1" 1 "$(echo "$pids" | wc -l)"
	local want=$T/prefix/bin/questfs
	[ -z "$XRUN" ] || want=$T/prefix/xrun/questfs
	expect_eq "the questfs that runs" "$want" "$(prog_of "$pids")"
	DAEMON=$pids
}

# unmount_clean DIR PID: umount(8) works and the daemon ends
unmount_clean() {
	umount "$1" || fail "umount $1 failed"
	wait_for "questfs $2 to exit after umount" gone "$2" || fail "questfs $2 still runs after umount"
	! is_mounted "$1" || fail "$1 is still mounted"
}

case_install_file_list_and_uninstall() {
	local root=$T/root v f
	make_in install DESTDIR="$root" PREFIX=/usr
	expect_eq "installed files" "$EXPECTED_USR" "$(tree_of "$root")"
	# the autostart entry goes where sessions look for it
	expect_eq "nothing outside usr/ but the autostart entry" "$(grep -q '^etc/' <<<"$EXPECTED_USR" && echo 'etc ')usr" \
		"$(ls "$root" | tr '\n' ' ' | sed 's/ $//')"
	expect_eq "mount.fuse.questfs" "mount.questfs" "$(readlink "$root/usr/sbin/mount.fuse.questfs")"
	for f in bin/questfs bin/questbinloader bin/quest-sim bin/quest-run sbin/mount.questfs share/questfs/thunar-install-actions; do
		[ -x "$root/usr/$f" ] || fail "usr/$f is not executable"
	done
	for f in questfs questbinloader quest-sim; do
		cmp "$BIN/$f" "$root/usr/bin/$f" || fail "usr/bin/$f is not the built one"
	done
	if grep -rl '@BINDIR@\|@VERSION@' "$root"; then
		fail "placeholders left in the files above"
	fi
	grep -qx "installed_questfs='/usr/bin/questfs'" "$root/usr/sbin/mount.questfs" ||
		fail "mount.questfs does not name /usr/bin/questfs"
	grep -qx "installed_quest_run='/usr/bin/quest-run'" "$root/usr/share/questfs/thunar-install-actions" ||
		fail "thunar-install-actions does not name /usr/bin/quest-run"
	# shellcheck disable=SC2016
	grep -qx 'ExecStart=/usr/bin/questfs -f $QUESTFS_OPTIONS ${QUESTFS_MOUNTPOINT}' \
		"$root/usr/lib/systemd/system/questfs.service" || fail "questfs.service: $(grep Exec "$root/usr/lib/systemd/system/questfs.service")"
	# shellcheck disable=SC2016
	grep -qx 'ExecStart=/usr/bin/quest-sim $QUEST_SIM_OPTIONS' \
		"$root/usr/lib/systemd/system/quest-sim.service" || fail "quest-sim.service: $(grep Exec "$root/usr/lib/systemd/system/quest-sim.service")"
	v=$("$B/questfs" --version | head -1 | cut -d' ' -f2)
	for f in $(sed -n 's|^usr/share/man/||p' <<<"$EXPECTED_USR"); do
		grep -q "^\.TH .* \"questfs $v\"" "$root/usr/share/man/$f" || fail "$f: no .TH with version $v"
	done
	$XRUN "$root/usr/bin/questbinloader" --check "$EX/hello" >/dev/null || fail "the installed questbinloader does not run"

	make_in install DESTDIR="$root" PREFIX=/usr
	expect_eq "installed twice: same files" "$EXPECTED_USR" "$(tree_of "$root")"
	make_in uninstall DESTDIR="$root" PREFIX=/usr
	expect_eq "files left after uninstall" "" "$(tree_of "$root")"

	# the default PREFIX: programs in /usr/local, the helper where mount(8) looks
	make_in install DESTDIR="$T/root2"
	tree_of "$T/root2" | grep -qx "usr/local/bin/questfs" || fail "no usr/local/bin/questfs: $(tree_of "$T/root2")"
	tree_of "$T/root2" | grep -qx "sbin/mount.questfs" || fail "no sbin/mount.questfs: $(tree_of "$T/root2")"
	grep -qx "installed_questfs='/usr/local/bin/questfs'" "$T/root2/sbin/mount.questfs" || fail "helper names the wrong questfs"
	make_in uninstall DESTDIR="$T/root2"
	expect_eq "files left after uninstall (/usr/local)" "" "$(tree_of "$T/root2")"
}

case_install_mount_helper_options() {
	local h=$TOP/mount-helper/mount.questfs out rc
	out=$("$h" questfs /quest -f -o defaults,rw,auto,noauto,user,users,nofail,_netdev,x-systemd.automount,x-gvfs-show,comment=x,channel=shm:7,ro,allow_other 2>&1) ||
		fail "helper -f failed: $out"
	expect_match "questfs command" "'-o' 'channel=shm:7,ro,allow_other' '/quest'$" "$out"
	out=$("$h" questfs /quest -s -n -v -f -o defaults 2>&1) || fail "helper -snvf failed: $out"
	expect_match "only noise: no -o" "questfs' '/quest'$" "$out"
	out=$(QUESTFS=/bin/true "$h" questfs /quest -f 2>&1) || fail "helper -f failed: $out"
	expect_match "QUESTFS chooses the program" "^mount.questfs: '/bin/true' '/quest'$" "$out"
	rc=0
	out=$(QUESTFS=/bin/false "$h" questfs "$T/mnt" -o channel=shm:1 2>&1) || rc=$?
	expect_eq "status when questfs fails" 32 "$rc"
	rc=0
	out=$("$h" questfs 2>&1) || rc=$?
	expect_eq "status without a mount point" 1 "$rc"
	rc=0
	out=$("$h" questfs /quest -x 2>&1) || rc=$?
	expect_eq "status of an unknown flag" 1 "$rc"
	expect_match "unknown flag" "unknown option -x" "$out"
}

case_install_mount_t_questfs() {
	install_prefix
	start_sim
	mount -t questfs questfs "$MNT" -o "channel=shm:$KEY,spool=$T/spool,nofail,_netdev,comment=test" {HELPER_LOCK}>&- 2>"$T/mount.err" ||
		fail "mount -t questfs failed: $(cat "$T/mount.err")"
	mounted_by_helper "$MNT"
	grep -q "^channel *shm:$KEY," "$MNT/status" || fail "wrong channel: $(cat "$MNT/status")"
	cp "$EX/hello" "$MNT/run/" || fail "cp failed"
	wait_saved 1
	cmp "$EX/hello" "$SAVE/000001.elf" || fail "bytes differ"
	expect_eq "argv" "hello" "$(argv_of 1)"
	unmount_clean "$MNT" "$DAEMON"
}

case_install_mount_fstab() {
	local mnt2=$T/mnt2 d1
	install_prefix
	start_sim
	mkdir "$mnt2"
	{
		echo "# a temporary fstab: both ways of naming the type"
		echo "questfs $MNT questfs defaults,channel=shm:$KEY,spool=$T/spool 0 0"
		echo "questfs $mnt2 fuse.questfs noauto,channel=shm:$KEY,spool=$T/spool2,argv0=none 0 0"
	} >"$T/fstab"
	mount -T "$T/fstab" "$MNT" {HELPER_LOCK}>&- 2>"$T/mount.err" || fail "mount -T fstab $MNT failed: $(cat "$T/mount.err")"
	mounted_by_helper "$MNT"
	d1=$DAEMON
	mount -T "$T/fstab" "$mnt2" {HELPER_LOCK}>&- 2>"$T/mount.err" || fail "mount -T fstab $mnt2 (fuse.questfs) failed: $(cat "$T/mount.err")"
	mounted_by_helper "$mnt2"
	cp "$EX/hello" "$MNT/run/" || fail "cp into $MNT failed"
	wait_saved 1
	expect_eq "argv through questfs" "hello" "$(argv_of 1)"
	echo 'lorem ipsum' >"$mnt2/run/hello_argvs.args" || fail "sidecar write failed"
	cp "$EX/hello_argvs" "$mnt2/run/" || fail "cp into $mnt2 failed"
	wait_saved 2
	expect_eq "argv through fuse.questfs with argv0=none" "lorem ipsum" "$(argv_of 2)"
	unmount_clean "$mnt2" "$DAEMON"
	unmount_clean "$MNT" "$d1"
}

# ---- quest-run, as the Thunar actions run it

# fakes NAME...: a directory of fake desktop tools, first in PATH; each logs
# its arguments to $T/NAME.log. zenity answers $ZENITY_ANSWER, exits
# $ZENITY_RC (default 0).
fakes() {
	local n
	mkdir -p "$T/fake"
	for n in "$@"; do
		case $n in
		zenity)
			cat >"$T/fake/zenity" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >>"$T/zenity.log"
[ "\${ZENITY_RC:-0}" = 0 ] || exit "\$ZENITY_RC"
printf '%s\n' "\$ZENITY_ANSWER"
EOF
			;;
		notify-send)
			cat >"$T/fake/notify-send" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >>"$T/notify-send.log"
EOF
			;;
		esac
		chmod +x "$T/fake/$n"
	done
}

# bare_path: a PATH with the tools quest-run needs and none of the optional
# ones (zenity, notify-send, getfattr) but the fakes
bare_path() {
	local c
	mkdir -p "$T/bare"
	for c in cp rm mktemp awk sed cut cat sleep; do
		ln -sf "$(command -v "$c")" "$T/bare/$c" || fail "no $c"
	done
	echo "$T/fake:$T/bare"
}

# thunar_command ACTION-ID: the command of that action in a merged uca.xml
thunar_command() {
	awk -v id="$1" '
		/<action>/ { cmd = "" }
		/<command>/ { cmd = $0; sub(/.*<command>/, "", cmd); sub(/<\/command>.*/, "", cmd) }
		index($0, "<unique-id>" id "</unique-id>") { found = 1 }
		/<\/action>/ && found { print cmd; exit }
	' "$T/home/.config/Thunar/uca.xml"
}

case_install_quest_run_as_thunar() {
	local cmd
	up
	fakes notify-send
	HOME=$T/home XDG_CONFIG_HOME='' XDG_CONFIG_DIRS=$T/none "$TIA" >"$T/tia.log" 2>&1 ||
		fail "thunar-install-actions: $(cat "$T/tia.log")"
	cmd=$(thunar_command questfs-run-on-quest)
	expect_eq "the action's command" "$QR %F" "$cmd"
	mkdir "$T/my dir"
	cp "$EX/hello" "$T/my dir/prog"
	# Thunar replaces %F with the quoted paths and runs the line with sh -c
	QUEST_MOUNT=$MNT PATH="$T/fake:$PATH" sh -c "${cmd%\%F}'$T/my dir/prog' '$EX/hello'" 2>"$T/qr.err" ||
		fail "Run on Quest failed: $(cat "$T/qr.err")"
	expect_eq "programs received" 2 "$(saved_count)"
	expect_eq "argv of the first" "prog" "$(argv_of 1)"
	expect_eq "argv of the second" "hello" "$(argv_of 2)"
	grep -q "^-u normal -t 10000 -i dialog-information prog runs on Quest taken by the Quest side$" "$T/notify-send.log" ||
		fail "no notification of success: $(cat "$T/notify-send.log")"
	# a name with a space cannot be argv[0] of Quest's command line: the
	# refusal says why, on stderr and in the notification
	cp "$EX/hello" "$T/my prog"
	QUEST_MOUNT=$MNT PATH="$T/fake:$PATH" sh -c "${cmd%\%F}'$T/my prog'" 2>"$T/qr.err" &&
		fail "a name with a space ran"
	grep -q 'argument 0 "my prog" contains a space' "$T/qr.err" || fail "stderr: $(cat "$T/qr.err")"
	grep -q 'argument 0 "my prog" contains a space' "$T/notify-send.log" ||
		fail "notification: $(cat "$T/notify-send.log")"
	expect_eq "programs received" 2 "$(saved_count)"
	# without getfattr the outcome comes from status.json
	PATH=$(bare_path) "$QR" --mount "$MNT" "$EX/hello" 2>"$T/qr.err" ||
		fail "quest-run without getfattr failed: $(cat "$T/qr.err")"
	wait_saved 3
	grep -q "hello runs on Quest: taken by the Quest side" "$T/qr.err" || fail "stderr: $(cat "$T/qr.err")"
}

case_install_quest_run_arguments() {
	local cmd rc before
	up
	fakes zenity notify-send
	HOME=$T/home XDG_CONFIG_HOME='' XDG_CONFIG_DIRS=$T/none "$TIA" >"$T/tia.log" 2>&1 ||
		fail "thunar-install-actions: $(cat "$T/tia.log")"
	cmd=$(thunar_command questfs-run-on-quest-args)
	expect_eq "the action's command" "$QR --ask %F" "$cmd"
	QUEST_MOUNT=$MNT ZENITY_ANSWER='lorem "ipsum" dolor' PATH="$T/fake:$PATH" \
		sh -c "${cmd%\%F}'$EX/hello_argvs'" 2>"$T/qr.err" ||
		fail "Run on Quest with arguments failed: $(cat "$T/qr.err")"
	wait_saved 1
	expect_eq "argv" "hello_argvs lorem ipsum dolor" "$(argv_of 1)"
	# one command line: a single NUL, after the last word
	expect_eq "NULs in argv" 1 "$(tr -cd '\0' <"$SAVE/000001.argv" | wc -c)"
	grep -q -- "--entry .*hello__argvs" "$T/zenity.log" || fail "zenity was asked: $(cat "$T/zenity.log")"
	[ ! -e "$MNT/run/hello_argvs.args" ] || fail "the sidecar was left in run/"

	# cancelled: nothing is copied
	before=$(grep -c '"id":' "$MNT/status.json")
	rc=0
	ZENITY_RC=1 PATH="$T/fake:$PATH" "$QR" --mount "$MNT" --ask "$EX/hello_argvs" 2>"$T/qr.err" || rc=$?
	expect_eq "status when cancelled" 1 "$rc"
	grep -q "cancelled" "$T/qr.err" || fail "stderr: $(cat "$T/qr.err")"
	expect_eq "jobs after a cancel" "$before" "$(grep -c '"id":' "$MNT/status.json")"

	# --args, for scripts
	PATH="$T/fake:$PATH" "$QR" --mount "$MNT" --args "a 'b' c" "$EX/hello_argvs" 2>"$T/qr.err" ||
		fail "quest-run --args failed: $(cat "$T/qr.err")"
	wait_saved 2
	expect_eq "argv with --args" "hello_argvs a b c" "$(argv_of 2)"

	# arguments that do not fit: refused before the program is copied
	rc=0
	PATH="$T/fake:$PATH" "$QR" --mount "$MNT" --args "$(printf 'x%.0s' $(seq 90))" "$EX/hello_argvs" 2>"$T/qr.err" || rc=$?
	expect_eq "status of too long arguments" 1 "$rc"
	grep -q "arguments refused: .*(Argument list too long)" "$T/qr.err" || fail "stderr: $(cat "$T/qr.err")"
	grep -q "Argument list too long" "$T/notify-send.log" || fail "not notified: $(cat "$T/notify-send.log")"
	expect_eq "programs after refused arguments" 2 "$(saved_count)"

	# no zenity: refused, and said so
	rm "$T/fake/zenity"
	rc=0
	PATH=$(bare_path) "$QR" --mount "$MNT" --ask "$EX/hello_argvs" 2>"$T/qr.err" || rc=$?
	expect_eq "status without zenity" 2 "$rc"
	grep -q "zenity is not installed" "$T/qr.err" || fail "stderr: $(cat "$T/qr.err")"
	grep -q "^-u normal -t 10000 -i dialog-error Run on Quest cannot ask for arguments: zenity is not installed" "$T/notify-send.log" ||
		fail "not notified: $(cat "$T/notify-send.log")"
	expect_eq "programs without zenity" 2 "$(saved_count)"
}

# refused FILE REGEX [OPTIONS...]: quest-run fails with status 1 and the
# reason on stderr and in the notification
refused() {
	local f=$1 re=$2 rc=0
	shift 2
	: >"$T/notify-send.log"
	PATH="$T/fake:$PATH" "$QR" --mount "$MNT" "$@" "$f" 2>"$T/qr.err" || rc=$?
	expect_eq "status of $f" 1 "$rc"
	grep -Eq "$re" "$T/qr.err" || fail "stderr for $f: '$(cat "$T/qr.err")' does not match /$re/"
	grep -Eq "^-u normal -t 10000 -i dialog-error .*$re" "$T/notify-send.log" ||
		fail "notification for $f: '$(cat "$T/notify-send.log")' does not match /$re/"
}

case_install_quest_run_refusals() {
	local rc
	up
	fakes notify-send
	printf 'not a program\n' >"$T/notes"
	refused "$T/notes" "not an ELF file.*\(Exec format error\)$"
	cp "$FX/x86-64" "$T/x64"
	refused "$T/x64" "ELF machine is x86-64 \(62\).*\(Exec format error\)$"
	# short, but could still grow into a program: cp succeeds, the launch refuses
	head -c 100 "$EX/hello" >"$T/short"
	refused "$T/short" "(outside|past the end)"
	expect_eq "programs received" 0 "$(saved_count)"
	refused "$T" "is a directory"
	cp "$EX/hello" "$T/.hidden"
	refused "$T/.hidden" "never launches a file named like this"
	# without getfattr: the reason from status.json
	: >"$T/notify-send.log"
	rc=0
	PATH=$(bare_path) "$QR" --mount "$MNT" "$T/short" 2>"$T/qr.err" || rc=$?
	expect_eq "status without getfattr" 1 "$rc"
	grep -Eq "short is not a Quest program: .*(outside|past the end)" "$T/qr.err" || fail "stderr: $(cat "$T/qr.err")"

	# refused by the Quest side
	stop_sim
	start_sim --refuse="no room on Quest"
	refused "$EX/hello" "refused by the Quest side: no room on Quest$"

	# no Quest side: still queued after the wait
	stop_sim
	rc=0
	PATH="$T/fake:$PATH" "$QR" --mount "$MNT" --wait 1 "$EX/hello" 2>"$T/qr.err" || rc=$?
	expect_eq "status while no Quest side is attached" 3 "$rc"
	grep -q "hello not yet run on Quest: still queued after 1s" "$T/qr.err" || fail "stderr: $(cat "$T/qr.err")"

	# not a questfs mount
	rc=0
	"$QR" --mount "$T/nowhere" "$EX/hello" 2>"$T/qr.err" || rc=$?
	expect_eq "status without questfs" 2 "$rc"
	grep -q "is not a questfs mount" "$T/qr.err" || fail "stderr: $(cat "$T/qr.err")"
}

# ---- the merge of the Thunar actions into uca.xml

USER_UCA='<?xml version="1.0" encoding="UTF-8"?>
<actions>
<action>
	<icon>utilities-terminal</icon>
	<name>Open Terminal Here</name>
	<submenu></submenu>
	<unique-id>1458233458286-1</unique-id>
	<command>exo-open --working-directory %f --launch TerminalEmulator</command>
	<description>Example for a custom action</description>
	<range></range>
	<patterns>*</patterns>
	<startup-notify/>
	<directories/>
</action>
</actions>'

# merged FILE: the user's action once, ours once each, well-formed
merged() {
	expect_eq "user's action in $1" 1 "$(grep -c '<unique-id>1458233458286-1</unique-id>' "$1")"
	expect_eq "Run on Quest in $1" 1 "$(grep -c '<unique-id>questfs-run-on-quest</unique-id>' "$1")"
	expect_eq "Run on Quest with arguments in $1" 1 "$(grep -c '<unique-id>questfs-run-on-quest-args</unique-id>' "$1")"
	grep -q "<command>/opt/q/quest-run --ask %F</command>" "$1" || fail "$1: wrong command: $(grep command "$1")"
	python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$1" || fail "$1 is not well-formed"
}

case_install_thunar_actions_merge() {
	local uca=$T/home/.config/Thunar/uca.xml first m
	command -v python3 >/dev/null || fail "python3 is missing (apt-get install python3)"
	for m in python awk; do
		mkdir -p "$T/home/.config/Thunar"
		printf '%s\n' "$USER_UCA" >"$uca"
		set -- --quest-run /opt/q/quest-run
		[ "$m" = python ] || set -- "$@" --awk
		HOME=$T/home XDG_CONFIG_HOME='' "$TIA" "$@" >"$T/tia.log" 2>&1 || fail "$m: $(cat "$T/tia.log")"
		merged "$uca"
		printf '%s\n' "$USER_UCA" | cmp - "$uca.bak" || fail "$m: the backup is not the user's file"
		first=$(cat "$uca")
		HOME=$T/home XDG_CONFIG_HOME='' "$TIA" "$@" >"$T/tia.log" 2>&1 || fail "$m, twice: $(cat "$T/tia.log")"
		grep -q "nothing changed" "$T/tia.log" || fail "$m, twice: $(cat "$T/tia.log")"
		expect_eq "$m: the second run changes nothing" "$first" "$(cat "$uca")"
		merged "$uca"
		HOME=$T/home XDG_CONFIG_HOME='' "$TIA" "$@" --remove >"$T/tia.log" 2>&1 || fail "$m --remove: $(cat "$T/tia.log")"
		expect_eq "$m --remove: our actions" 0 "$(grep -c questfs-run-on-quest "$uca")"
		expect_eq "$m --remove: the user's" 1 "$(grep -c '<unique-id>1458233458286-1</unique-id>' "$uca")"
		rm -rf "${T:?}/home"
	done
	# awk keeps Thunar's own formatting byte for byte
	mkdir -p "$T/home/.config/Thunar"
	printf '%s\n' "$USER_UCA" >"$uca"
	HOME=$T/home XDG_CONFIG_HOME='' "$TIA" --awk --quest-run /opt/q/quest-run >/dev/null 2>&1 || fail "awk merge"
	HOME=$T/home XDG_CONFIG_HOME='' "$TIA" --awk --remove >/dev/null 2>&1 || fail "awk remove"
	printf '%s\n' "$USER_UCA" | cmp - "$uca" || fail "awk: add then remove is not the original"

	# no uca.xml of the user's: start from the system's, lose nothing
	rm -rf "${T:?}/home"
	mkdir -p "$T/xdg/Thunar"
	printf '%s\n' "$USER_UCA" >"$T/xdg/Thunar/uca.xml"
	HOME=$T/home XDG_CONFIG_HOME='' XDG_CONFIG_DIRS=$T/none:$T/xdg "$TIA" --quest-run /opt/q/quest-run >"$T/tia.log" 2>&1 ||
		fail "from the system's uca.xml: $(cat "$T/tia.log")"
	merged "$uca"
	[ ! -e "$uca.bak" ] || fail "a backup of a file that did not exist"

	# a broken uca.xml is left alone
	printf '<actions>\n<action>\n' >"$uca"
	cp "$uca" "$T/broken"
	for m in python awk; do
		set -- --quest-run /opt/q/quest-run
		[ "$m" = python ] || set -- "$@" --awk
		HOME=$T/home XDG_CONFIG_HOME='' "$TIA" "$@" >"$T/tia.log" 2>&1 &&
			fail "merging into a broken uca.xml ($m) succeeded"
		grep -q "cannot merge" "$T/tia.log" || fail "broken uca.xml ($m): $(cat "$T/tia.log")"
		cmp "$T/broken" "$uca" || fail "the broken uca.xml was changed ($m)"
	done
}
