# SPDX-License-Identifier: GPL-2.0-or-later
# Each everyday tool launches a program exactly once, with the right bytes
# and arguments.
# shellcheck shell=bash

up() { start_sim; start_qfs "$@"; }

# launched_once NAME SRC: exactly one program received, equal to SRC
launched_once() {
	wait_saved 1
	cmp "$2" "$SAVE/000001.elf" || fail "$1: bytes differ"
	# give a second, wrong launch the time to show up: the job list is the
	# witness, not the clock
	wait_for "job settled" grep -q '"delivered": 1' "$MNT/status.json"
	expect_eq "$1: programs received" 1 "$(saved_count)"
	expect_eq "$1: jobs launched" 1 "$(grep -c '"id":' "$MNT/status.json")"
}

case_cp_preserve_xattr_args() {
	up
	cp "$EX/hello_argvs" "$T/prog"
	setfattr -n user.quest.args -v "lorem 'ipsum' dolor" "$T/prog"
	cp --preserve=xattr "$T/prog" "$MNT/run/" || fail "cp --preserve=xattr failed"
	launched_once "cp --preserve=xattr" "$T/prog"
	expect_eq "argv" "prog lorem ipsum dolor" "$(argv_of 1)"
	# Quest's command line: the words joined by spaces, one NUL
	expect_eq "argv bytes" "prog lorem ipsum dolor" "$(tr -d '\0' <"$SAVE/000001.argv")"
	expect_eq "NULs in argv" 1 "$(tr -cd '\0' <"$SAVE/000001.argv" | wc -c)"
}

case_sidecar_then_cp() {
	up
	echo 'first "second" third' >"$MNT/run/hello_argvs.args" || fail "sidecar write failed"
	cp "$EX/hello_argvs" "$MNT/run/" || fail "cp failed"
	launched_once "sidecar" "$EX/hello_argvs"
	expect_eq "argv" "hello_argvs first second third" "$(argv_of 1)"
}

case_run_dir_default_args() {
	up
	setfattr -n user.quest.args -v "dflt" "$MNT/run" || fail "setfattr on run/ failed"
	cp "$EX/hello_argvs" "$MNT/run/a"
	wait_saved 1
	expect_eq "default argv" "a dflt" "$(argv_of 1)"
	# the file's own xattr wins over run/'s
	cp "$EX/hello_argvs" "$T/b"
	setfattr -n user.quest.args -v "own" "$T/b"
	cp --preserve=xattr "$T/b" "$MNT/run/b"
	wait_saved 2
	expect_eq "own argv" "b own" "$(argv_of 2)"
}

case_argv0_none() {
	up -o argv0=none
	echo 'x y' >"$MNT/run/p.args"
	cp "$EX/hello_argvs" "$MNT/run/p"
	wait_saved 1
	expect_eq "argv without the name" "x y" "$(argv_of 1)"
}

case_mv_from_other_fs() {
	up
	cp "$EX/hello" "$T/moved"
	mv "$T/moved" "$MNT/run/" || fail "mv failed"
	launched_once "mv" "$EX/hello"
	[ ! -e "$T/moved" ] || fail "mv left the source"
}

case_install() {
	up
	install -m 755 "$EX/hello" "$MNT/run/inst" || fail "install failed"
	launched_once "install" "$EX/hello"
}

case_rsync_a() {
	up
	cp "$EX/hello" "$T/rs"
	rsync -a "$T/rs" "$MNT/run/" || fail "rsync -a failed"
	launched_once "rsync -a" "$EX/hello"
	expect_eq "argv" "rs" "$(argv_of 1)"
}

case_rsync_inplace() {
	up
	rsync --inplace "$EX/hello" "$MNT/run/" || fail "rsync --inplace failed"
	launched_once "rsync --inplace" "$EX/hello"
}

case_dd_512() {
	up
	"$MKELF" --size 5000 "$T/big" || fail mkelf
	dd if="$T/big" of="$MNT/run/dd" bs=512 status=none || fail "dd failed"
	launched_once "dd bs=512" "$T/big"
}

case_shell_redirection() {
	up
	cat "$EX/hello" >"$MNT/run/redir" || fail "cat > failed"
	launched_once "cat >" "$EX/hello"
}

case_setfattr_getfattr() {
	up
	cp "$EX/hello" "$MNT/run/x"
	wait_saved 1
	# after the launch, tools still set attributes (GIO does, after close)
	setfattr -n user.note -v hi "$MNT/run/x" || fail "user.* setfattr"
	expect_eq "user.note" "hi" "$(xattr "$MNT/run/x" user.note)"
	chmod 600 "$MNT/run/x" || fail "chmod after launch"
	touch -d '2020-01-01' "$MNT/run/x" || fail "touch after launch"
	wait_for "state delivered" state_is "$MNT/run/x" delivered
	expect_eq "job id" 1 "$(xattr "$MNT/run/x" user.quest.job)"
	getfattr -d -m user "$MNT/run/x" | grep -q 'user.quest.state="delivered"' || fail "listxattr misses user.quest.state"
	setfattr -x user.note "$MNT/run/x" || fail "removexattr"
	[ -z "$(xattr "$MNT/run/x" user.note)" ] || fail "user.note still there"
}

case_hidden_names_never_launch() {
	up
	for n in .hidden x~ x.partial~ x.swp .goutputstream-ABC123 .x.AbCdEf; do
		cp "$EX/hello" "$MNT/run/$n" || fail "cp to $n failed"
	done
	echo 'a b' >"$MNT/run/some.args"
	: >"$MNT/run/empty"
	# a program copied after them is the first and only one launched
	cp "$EX/hello" "$MNT/run/real"
	wait_saved 1
	wait_for "job settled" grep -q '"delivered": 1' "$MNT/status.json"
	expect_eq "only 'real' launched" "real" "$(argv_of 1)"
	expect_eq "jobs" 1 "$(grep -c '"id":' "$MNT/status.json")"
	# a hidden file renamed to a final name launches (rsync's way)
	mv "$MNT/run/.hidden" "$MNT/run/renamed" || fail "rename failed"
	wait_saved 2
	expect_eq "renamed" "renamed" "$(argv_of 2)"
}

case_same_name_again_and_again() {
	# close(2) returns before the kernel's RELEASE: a loop that copies the
	# same name must neither meet EBUSY nor lose a copy
	start_sim
	start_qfs
	mkdir "$T/src"
	local i
	for i in $(seq 1 30); do
		"$MKELF" --seed "$i" --size $((700 + i * 13)) "$T/src/p$i" || fail mkelf
	done
	for i in $(seq 1 30); do
		cp "$T/src/p$i" "$MNT/run/same" || fail "copy $i failed"
	done
	wait_saved 30
	for i in $(seq 1 30); do
		cmp "$T/src/p$i" "$SAVE/$(printf %06d "$i").elf" || fail "copy $i: bytes or order differ"
	done
	wait_for "all delivered" grep -q '"delivered": 30' "$MNT/status.json"
	expect_eq "jobs" 30 "$(grep -c '"id":' "$MNT/status.json")"
}
