#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs, with apt-get, what building and testing questfs needs and this
# machine lacks. Quiet when everything is there; needs root otherwise.
set -e

missing=""
need_pkg() { # pkg-config-name debian-package
	pkg-config --exists "$1" 2>/dev/null || missing="$missing $2"
}
need_cmd() { # command debian-package
	command -v "$1" >/dev/null 2>&1 || missing="$missing $2"
}

need_cmd pkg-config pkg-config
need_cmd cc gcc
need_cmd make make
need_cmd as binutils
need_pkg fuse3 libfuse3-dev
need_pkg libelf libelf-dev
need_pkg cmocka libcmocka-dev
need_pkg json-c libjson-c-dev
need_pkg zlib zlib1g-dev
need_cmd fusermount3 fuse3
need_cmd rsync rsync
need_cmd setfattr attr
need_cmd gio libglib2.0-bin
need_cmd python3 python3
need_cmd valgrind valgrind
need_cmd clang clang
need_pkg unicorn libunicorn-dev
# the desktop: questfs-notify (libnotify), the tests' notification
# service (GIO), and Thunar under Xvfb on a private session bus
need_pkg libnotify libnotify-dev
need_pkg gio-2.0 libglib2.0-dev
need_cmd notify-send libnotify-bin
need_cmd zenity zenity
need_cmd thunar thunar
need_cmd Xvfb xvfb
need_cmd dbus-daemon dbus
need_cmd xdotool xdotool
need_cmd import imagemagick
need_cmd xwd x11-apps
need_cmd file file
[ -e /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a ] ||
	ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 ||
	missing="$missing libclang-rt-dev"

[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps: run as root (or install them yourself):$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
