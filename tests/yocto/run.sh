#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make check-yocto: what can be checked of contrib/meta-questfs without
# bitbake. (1) LIC_FILES_CHKSUM's md5 is LICENSE's. (2) The recipe's
# do_compile and do_install run as bitbake would run them for an i386
# (MACHINE qemux86) image: its EXTRA_OEMAKE and task bodies with bitbake's
# variables expanded, CC/LD with --sysroot, Yocto's default CFLAGS and
# LDFLAGS, pkg-config confined to the sysroot, on a copy of the sources, with
# Debian's i686 cross compiler and the multiarch i386 libraries standing in
# for Yocto's. They must install exactly the files FILES names, all of them
# i386 programs where they are programs, and never call apt-get.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
RECIPE=$TOP/contrib/meta-questfs/recipes-support/questfs/questfs_0.1.0.bb
T=$(mktemp -d /tmp/questfs-yocto.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 failed=0
ok() {
	echo "ok    $*"
	pass=$((pass + 1))
}
bad() {
	echo "FAIL  $*"
	failed=$((failed + 1))
}

# ---- (1) the licence checksum
want=$(sed -n 's/^LIC_FILES_CHKSUM = "file:\/\/LICENSE;md5=\([0-9a-f]*\)"$/\1/p' "$RECIPE")
got=$(md5sum <"$TOP/LICENSE" | cut -d' ' -f1)
if [ -n "$want" ] && [ "$want" = "$got" ]; then
	ok "LIC_FILES_CHKSUM md5 $want is LICENSE's"
else
	bad "LIC_FILES_CHKSUM md5 '${want}', LICENSE's is $got"
fi
grep -qx 'LICENSE = "GPL-2.0-or-later"' "$RECIPE" && ok "LICENSE = GPL-2.0-or-later" ||
	bad "the recipe's LICENSE is not GPL-2.0-or-later"

# ---- (2) do_compile and do_install as bitbake runs them
# A sysroot somewhere else than /: the multiarch i386 packages, seen
# through links, so that only --sysroot and pkg-config's sysroot find them.
SYSROOT=$T/recipe-sysroot
mkdir -p "$SYSROOT/usr"
ln -s /usr/include "$SYSROOT/usr/include"
ln -s /usr/lib "$SYSROOT/usr/lib"
ln -s /lib "$SYSROOT/lib"
ln -s /usr/i686-linux-gnu "$SYSROOT/usr/i686-linux-gnu"

S=$T/questfs
mkdir -p "$S" "$T/build" "$T/image" "$T/fakebin"
tar -C "$TOP" --exclude=./.git --exclude='./build*' --exclude=./fuzz-out -cf - . | tar -C "$S" -xf -
for tool in apt-get apt dpkg; do
	printf '#!/bin/sh\necho "%s $*" >>%s/network.log\nexit 1\n' "$tool" "$T" >"$T/fakebin/$tool"
	chmod 755 "$T/fakebin/$tool"
done

# bitbake's values for an i386 target (poky, MACHINE qemux86, no usrmerge)
XC="i686-linux-gnu"
cat >"$T/vars" <<VARS
PN=questfs
S=$S
B=$T/build
D=$T/image
WORKDIR=$T
prefix=/usr
exec_prefix=/usr
bindir=/usr/bin
sbindir=/usr/sbin
base_sbindir=/sbin
libdir=/usr/lib
datadir=/usr/share
mandir=/usr/share/man
docdir=/usr/share/doc
sysconfdir=/etc
systemd_system_unitdir=/lib/systemd/system
CC=$XC-gcc -m32 -march=i686 -fstack-protector-strong -O2 -D_FORTIFY_SOURCE=2 -Wformat -Wformat-security -Werror=format-security --sysroot=$SYSROOT
AS=$XC-as --32
LD=$XC-ld --sysroot=$SYSROOT -m elf_i386
AR=$XC-ar
CFLAGS=-O2 -pipe -g -feliminate-unused-debug-types -fmacro-prefix-map=$S=/usr/src/debug/questfs/0.1.0
CPPFLAGS=
LDFLAGS=-Wl,-O1 -Wl,--hash-style=gnu -Wl,--as-needed -fmacro-prefix-map=$S=/usr/src/debug/questfs/0.1.0 -Wl,-z,relro,-z,now
VARS

# The recipe, read as bitbake reads it (assignments, tasks, ${VAR}); a
# variable this test does not know is an error, not an empty string.
python3 - "$RECIPE" "$T/vars" "$T" <<'PY' || { bad "the recipe could not be read"; exit 1; }
import re, sys
recipe, varsfile, out = sys.argv[1:]
env = dict(l.rstrip('\n').split('=', 1) for l in open(varsfile) if '=' in l)
text = open(recipe).read().replace('\\\n', ' ')
rvars, tasks = {}, {}
def expand(s):
    for _ in range(20):
        n = re.sub(r'\$\{([A-Za-z0-9_]+)\}', lambda m: rvars.get(m.group(1), env[m.group(1)]) if (m.group(1) in rvars or m.group(1) in env) else sys.exit('unknown variable ' + m.group(1)), s)
        if n == s: return n
        s = n
    sys.exit('recursive expansion: ' + s)
lines = iter(text.split('\n'))
for line in lines:
    if not line.strip() or line.lstrip().startswith('#') or line.startswith('inherit'):
        continue
    m = re.match(r'^(do_\w+)\(\)\s*\{\s*$', line)
    if m:
        body = []
        for l in lines:
            if l == '}': break
            body.append(l)
        tasks[m.group(1)] = '\n'.join(body)
        continue
    m = re.match(r'^([A-Za-z0-9_:${}-]+)\s*(\?\?=|\?=|:=|\+=|=)\s*"(.*)"\s*$', line)
    if not m:
        sys.exit('cannot read: ' + line)
    key, op, val = expand(m.group(1)), m.group(2), m.group(3)
    if op == '+=': rvars[key] = rvars.get(key, '') + ' ' + val
    elif op in ('?=', '??='): rvars.setdefault(key, val)
    else: rvars[key] = val
for t in ('do_compile', 'do_install'):
    if t not in tasks: sys.exit('no ' + t)
with open(out + '/run.tasks', 'w') as f:
    f.write('set -e\n')
    f.write('oe_runmake() { make -j2 %s "$@"; }\n' % expand(rvars['EXTRA_OEMAKE']))
    for t in ('do_compile', 'do_install'):
        f.write('%s() {\n%s\n}\n' % (t, expand(tasks[t])))
    f.write('cd "%s"\ndo_compile\ndo_install\n' % env['B'])
with open(out + '/files', 'w') as f:
    for k in ('FILES:questfs', 'FILES:questfs-doc'):
        for p in expand(rvars.get(k, '')).split():
            f.write(p.lstrip('/') + '\n')
print('DEPENDS=' + rvars.get('DEPENDS', ''))
print('SYSTEMD_SERVICE=' + rvars.get('SYSTEMD_SERVICE:questfs', ''))
PY

if env -i PATH="$T/fakebin:$PATH" HOME="$T" \
	PKG_CONFIG_SYSROOT_DIR="$SYSROOT" PKG_CONFIG_PATH= \
	PKG_CONFIG_LIBDIR="$SYSROOT/usr/lib/i386-linux-gnu/pkgconfig:$SYSROOT/usr/share/pkgconfig" \
	bash "$T/run.tasks" >"$T/tasks.log" 2>&1; then
	ok "do_compile and do_install ran"
else
	bad "do_compile or do_install failed:"
	tail -30 "$T/tasks.log" | sed 's/^/      /'
fi
grep -q -- "--sysroot=$SYSROOT" "$T/tasks.log" && grep -q -- "-I$SYSROOT/usr/include/fuse3" "$T/tasks.log" &&
	ok "compiled with --sysroot and pkg-config's sysroot" || bad "the compiler did not get the sysroot"
[ ! -e "$T/network.log" ] && ok "make all and make install called no apt-get" ||
	bad "called: $(cat "$T/network.log")"
[ -z "$(cd "$S" && find . -newer "$T/vars" -type f | head -1)" ] &&
	ok "nothing was written into the source tree" ||
	bad "written into the sources: $(cd "$S" && find . -newer "$T/vars" -type f | head -5 | tr '\n' ' ')"

installed=$(cd "$T/image" && find . \( -type f -o -type l \) | sed 's|^\./||' | LC_ALL=C sort)
named=$(LC_ALL=C sort "$T/files")
if [ -n "$installed" ] && [ "$installed" = "$named" ]; then
	ok "installed exactly the $(echo "$named" | wc -l) files FILES names"
else
	bad "installed files and FILES differ (< installed, > FILES):"
	diff <(echo "$installed") <(echo "$named") | sed -n 's/^[<>]/      &/p'
fi
for p in usr/bin/questfs usr/bin/questbinloader usr/bin/quest-sim; do
	h=$(LC_ALL=C readelf -h "$T/image/$p" 2>/dev/null)
	[[ $h == *"ELF32"* && $h == *"Intel 80386"* ]] && ok "$p is an i386 program" ||
		bad "$p is not an i386 program"
done
grep -qx 'ExecStart=/usr/bin/questfs -f $QUESTFS_OPTIONS ${QUESTFS_MOUNTPOINT}' \
	"$T/image/lib/systemd/system/questfs.service" && ok "questfs.service names /usr/bin/questfs" ||
	bad "questfs.service: $(grep Exec "$T/image/lib/systemd/system/questfs.service" 2>&1)"

echo "yocto: $pass passed, $failed failed"
[ "$failed" = 0 ]
