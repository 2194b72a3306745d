#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the genuine Quest kernel with questfs's Quest side (quest/patches)
# and a GRUB CD that boots it with proc_creat as the first module.
#   QUEST_SRC=SRC sh quest/build.sh OUT
# SRC is a QuestOS/quest master tree (git clone
# https://github.com/QuestOS/quest) or a tarball of one (.tar, .tar.gz,
# .tar.xz, .tar.bz2). Its files are extracted or copied into OUT/src,
# never changed where they are. Results: OUT/quest.iso, OUT/build.log.
# Nothing is rebuilt when the source, the patches and this script are
# those of the last build.
set -eu
OUT=${1:?usage: QUEST_SRC=SRC sh quest/build.sh OUT}
TOP=$(cd "$(dirname "$0")/.." && pwd)
PATCHES=$TOP/quest/patches
SRC=${QUEST_SRC:-}

say() { echo "quest: $*"; }
die() {
	echo "quest: $*" >&2
	exit 2
}
what_to_pass="pass QUEST_SRC=PATH, PATH being a clone of https://github.com/QuestOS/quest (branch master) or a tarball of one"

[ -n "$SRC" ] || die "QUEST_SRC is not set: $what_to_pass"
[ -e "$SRC" ] || die "QUEST_SRC=$SRC does not exist: $what_to_pass"
SRC=$(realpath "$SRC")

# key of this build: the source's identity, the patches, this script
if [ -d "$SRC" ]; then
	id=$(cd "$SRC" && { git rev-parse HEAD 2>/dev/null && git status --porcelain 2>/dev/null; } |
		sha256sum | cut -c1-16)
	id="dir $SRC $id $(find "$SRC" -path "$SRC/.git" -prune -o -type f -newer "$PATCHES" -print 2>/dev/null | wc -l)"
else
	id="file $SRC $(stat -c '%s %Y' "$SRC")"
fi
key=$(printf '%s\n' "$id" | cat - "$PATCHES"/*.patch "$0" | sha256sum | cut -c1-32)
if [ -f "$OUT/quest.iso" ] && [ "$(cat "$OUT/build.key" 2>/dev/null)" = "$key" ]; then
	say "$OUT/quest.iso is up to date"
	exit 0
fi

# the tree's top holds kernel/ and libc/, possibly one directory down
find_top() {
	for d in "$1" "$1"/*; do
		if [ -f "$d/kernel/interrupt_handler.c" ] && [ -f "$d/libc/src/stdio.c" ]; then
			echo "$d"
			return
		fi
	done
}
no_tree="QUEST_SRC=$SRC holds no Quest tree (kernel/interrupt_handler.c and libc/src/stdio.c): $what_to_pass"

rm -rf "$OUT/src" "$OUT/src.new" "$OUT/iso" "$OUT/quest.iso" "$OUT/build.key"
mkdir -p "$OUT/src.new"
if [ -d "$SRC" ]; then
	top=$(find_top "$SRC")
	[ -n "$top" ] || die "$no_tree"
	(cd "$top" && tar --exclude=.git -cf - .) | tar -C "$OUT/src.new" -xf -
	mv "$OUT/src.new" "$OUT/src"
else
	case $SRC in
	*.tar | *.tar.gz | *.tgz | *.tar.xz | *.txz | *.tar.bz2 | *.tbz2) ;;
	*) die "QUEST_SRC=$SRC is neither a directory nor a .tar, .tar.gz, .tar.xz or .tar.bz2 file: $what_to_pass" ;;
	esac
	tar -C "$OUT/src.new" -xaf "$SRC" || die "QUEST_SRC=$SRC: tar could not extract it"
	top=$(find_top "$OUT/src.new")
	[ -n "$top" ] || die "$no_tree"
	mv "$top" "$OUT/src"
	rm -rf "$OUT/src.new"
fi
for f in kernel/grub2/eltorito.img kernel/grub2/mods.tar.bz2 kernel/default-config.mk kernel/ldscripts/module.ld; do
	[ -f "$OUT/src/$f" ] || die "QUEST_SRC=$SRC lacks $f: not the QuestOS/quest master tree this series is for"
done

log=$OUT/build.log
: >"$log"
for p in "$PATCHES"/[0-9][0-9][0-9][0-9]-*.patch; do
	if ! patch -d "$OUT/src" -p1 --forward --batch -s <"$p" >>"$log" 2>&1; then
		die "$(basename "$p") does not apply to QUEST_SRC=$SRC (QuestOS/quest master 2aff5fbf is the tree it is for); see $log"
	fi
done
say "source from $SRC, $(ls "$PATCHES"/[0-9]*.patch | wc -l) patches applied"

# the flags of a gcc 12 build: -fno-pie (else .bss lands in no segment),
# -fcommon and -fgnu89-inline (sched/ipc.c's plain inline)
JOBS=${QUEST_JOBS:-2}
(
	cd "$OUT/src/libc"
	gcc -m32 -nostdinc -I../libc/include -I../kernel -fno-builtin \
		-fno-stack-protector -g -fno-pie -c src/stdio.c -o src/stdio.o
	ar rcs libc.a src/stdio.o
	cd ../kernel
	cp default-config.mk config.mk
	make -j"$JOBS" quest sysprogs/proc_creat \
		EXTRA_CFLAGS="-fno-pie -fcommon -fgnu89-inline"
) >>"$log" 2>&1 || die "the build failed; the end of $log:
$(tail -n 20 "$log")"
say "kernel and proc_creat built ($(grep -c 'warning:' "$log") compiler warnings in Quest's own code, see $log)"

K=$OUT/src/kernel
I=$OUT/iso
mkdir -p "$I/boot/grub"
cp "$K/iso-grub.cfg" "$I/boot/grub/grub.cfg"
cp "$K/grub2/eltorito.img" "$I/boot/grub/"
tar -C "$I/boot/grub" -xjf "$K/grub2/mods.tar.bz2"
cp "$K/quest" "$K/welcome.raw" "$K/sysprogs/proc_creat" "$I/boot/"
genisoimage -quiet -R -b boot/grub/eltorito.img -no-emul-boot \
	-boot-load-size 4 -boot-info-table -o "$OUT/quest.iso.new" "$I" >>"$log" 2>&1 ||
	die "genisoimage failed; see $log"
mv "$OUT/quest.iso.new" "$OUT/quest.iso"
echo "$key" >"$OUT/build.key"
say "$OUT/quest.iso made (GRUB CD: quest, proc_creat as module 0)"
