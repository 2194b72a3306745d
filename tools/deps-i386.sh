#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs, with apt-get, what `make i386` and `make check-i386` need and
# this machine lacks: Debian's i686 cross compiler, the i386 (multiarch)
# -dev packages of questfs's libraries, their pkg-config and qemu-user;
# with VM=1 also qemu-system-i386 and cpio (make check-i386-vm).
# Adds the i386 architecture to dpkg first if it is not there. Quiet when
# everything is there; needs root otherwise.
set -e

missing=""
need_cmd() { # command debian-package
	command -v "$1" >/dev/null 2>&1 || missing="$missing $2"
}
need_deb() { # debian-package (with :i386)
	dpkg-query -W -f '${Status}\n' "$1" 2>/dev/null | grep -q ' installed$' ||
		missing="$missing $1"
}

need_cmd i686-linux-gnu-gcc gcc-i686-linux-gnu
need_cmd i686-linux-gnu-as binutils-i686-linux-gnu
need_cmd i686-linux-gnu-pkg-config pkgconf:i386
need_cmd qemu-i386-static qemu-user-static
if [ -n "${VM:-}" ]; then # make check-i386-vm
	need_cmd qemu-system-i386 qemu-system-x86
	need_cmd cpio cpio
fi
for p in libc6-dev libfuse3-dev libelf-dev libjson-c-dev zlib1g-dev libcmocka-dev libunicorn-dev; do
	need_deb "$p:i386"
done

[ -z "$missing" ] && exit 0
echo "deps-i386: installing:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps-i386: run as root (or install them yourself, after" \
		"dpkg --add-architecture i386 and apt-get update):$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! dpkg --print-foreign-architectures | grep -qx i386; then
	echo "deps-i386: dpkg --add-architecture i386"
	dpkg --add-architecture i386
fi
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
