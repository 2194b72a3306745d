# SPDX-License-Identifier: GPL-2.0-or-later
# Real second users for the mounted tests of who may do what: made with
# useradd for one case (named after its channel key) and removed at exit.
# shellcheck shell=bash

HARDEN_USERS=()

users_cleanup() {
	local u
	for u in "${HARDEN_USERS[@]}"; do
		userdel "$u" 2>/dev/null
	done
}

# new_user NAME [useradd options...]: a user without home, removed at exit
new_user() {
	local u=$1
	shift
	[ ${#HARDEN_USERS[@]} != 0 ] || at_exit first users_cleanup
	useradd -M -N -s /usr/sbin/nologin "$@" "$u" || fail "useradd $u"
	HARDEN_USERS+=("$u")
}

# as_user USER CMD...: run CMD as USER, with USER's groups
as_user() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@"
}
