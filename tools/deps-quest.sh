#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs, with apt-get, what building and booting the genuine Quest kernel
# needs (make quest, check-quest, run-quest): QEMU for i386, genisoimage for
# its GRUB CD, patch, and the tools that unpack Quest's sources. Quiet when
# everything is there; needs root otherwise.
set -e

missing=""
need_cmd() { # command debian-package
	command -v "$1" >/dev/null 2>&1 || missing="$missing $2"
}
need_cmd qemu-system-i386 qemu-system-x86
need_cmd genisoimage genisoimage
need_cmd patch patch
need_cmd xz xz-utils
need_cmd bzip2 bzip2
need_cmd gcc gcc
need_cmd ld binutils
need_cmd python3 python3

[ -z "$missing" ] && exit 0
echo "deps-quest: installing:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps-quest: run as root (or install them yourself):$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
