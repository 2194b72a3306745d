#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make check-yocto: what can be checked of contrib/meta-questfs without
# bitbake. (1) LIC_FILES_CHKSUM's md5 is LICENSE's. (2) The recipe's
# do_compile and do_install run as bitbake would run them for an i386
# (MACHINE qemux86) image: its EXTRA_OEMAKE and task bodies with bitbake's
# variables expanded, CC/LD with --sysroot, Yocto's default CFLAGS and
# LDFLAGS, pkg-config confined to the sysroot, with Debian's i686 cross
# compiler and the multiarch i386 libraries standing in for Yocto's. They
# must install exactly the files FILES names, all of them i386 programs
# where they are programs, and never call apt-get. Twice: (2a) on the
# commit the recipe fetches (SRC_URI, SRCREV: cloned with git from this
# repository, as the layer's default says), (2b) on a copy of the tree
# under test, through tests/yocto/questfs_%.bbappend (externalsrc).
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
mkdir -p "$T/fakebin"
for tool in apt-get apt dpkg; do
	printf '#!/bin/sh\necho "%s $*" >>%s/network.log\nexit 1\n' "$tool" "$T" >"$T/fakebin/$tool"
	chmod 755 "$T/fakebin/$tool"
done

# bitbake's values for an i386 target (poky, MACHINE qemux86, no usrmerge);
# WORKDIR is the recipe's work directory of the build at hand
XC="i686-linux-gnu"
vars() {
	cat <<VARS
PN=questfs
PV=0.1.0
WORKDIR=$1
D=$1/image
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
CFLAGS=-O2 -pipe -g -feliminate-unused-debug-types -fmacro-prefix-map=$1/git=/usr/src/debug/questfs/0.1.0
CPPFLAGS=
LDFLAGS=-Wl,-O1 -Wl,--hash-style=gnu -Wl,--as-needed -fmacro-prefix-map=$1/git=/usr/src/debug/questfs/0.1.0 -Wl,-z,relro,-z,now
VARS
	# local.conf's, for the bbappend of a working tree
	[ -z "${QUESTFS_SRC:-}" ] || echo "QUESTFS_SRC=$QUESTFS_SRC"
}

# read_recipe WORKDIR FILE...: the layer's conf, the recipe and any
# bbappend, read as bitbake reads them (assignments, tasks, ${VAR},
# externalsrc's S and B); a variable this test does not know is an error,
# not an empty string. Writes WORKDIR/run.tasks (do_compile, do_install),
# WORKDIR/files (what FILES names) and WORKDIR/fetch (SRC_URI, SRCREV, S).
read_recipe() {
	local w=$1
	shift
	vars "$w" >"$w/vars"
	python3 - "$w/vars" "$w" "$@" <<'PY'
import re, sys
varsfile, out, files = sys.argv[1], sys.argv[2], sys.argv[3:]
env = dict(l.rstrip('\n').split('=', 1) for l in open(varsfile) if '=' in l)
rvars, tasks, inherits = {}, {}, []
def expand(s):
    for _ in range(20):
        n = re.sub(r'\$\{([A-Za-z0-9_]+)\}', lambda m: rvars[m.group(1)] if m.group(1) in rvars else env[m.group(1)] if m.group(1) in env else sys.exit('unknown variable ' + m.group(1)), s)
        if n == s: return n
        s = n
    sys.exit('recursive expansion: ' + s)
for path in files:
    if path.endswith('layer.conf'):
        env['LAYERDIR'] = path.rsplit('/conf/', 1)[0]
    lines = iter(open(path).read().replace('\\\n', ' ').split('\n'))
    for line in lines:
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        if line.startswith('inherit '):
            inherits += line.split()[1:]
            continue
        m = re.match(r'^(do_\w+)\(\)\s*\{\s*$', line)
        if m:
            body = []
            for l in lines:
                if l == '}': break
                body.append(l)
            tasks[m.group(1)] = '\n'.join(body)
            continue
        m = re.match(r'^([A-Za-z0-9_:${}-]+)\s*(\?\?=|\?=|:=|\+=|\.=|=)\s*"(.*)"\s*$', line)
        if not m:
            sys.exit('cannot read: ' + line)
        key, op, val = expand(m.group(1)), m.group(2), m.group(3)
        if op == ':=' or 'LAYERDIR' in val: val = expand(val)  # bitbake expands LAYERDIR at once
        if op == '+=': rvars[key] = rvars.get(key, '') + ' ' + val
        elif op == '.=': rvars[key] = rvars.get(key, '') + val
        elif op in ('?=', '??='): rvars.setdefault(key, val)
        else: rvars[key] = val
if 'externalsrc' in inherits:
    rvars['S'] = rvars['EXTERNALSRC']
    rvars['B'] = rvars['EXTERNALSRC_BUILD']
for t in ('do_compile', 'do_install'):
    if t not in tasks: sys.exit('no ' + t)
with open(out + '/run.tasks', 'w') as f:
    f.write('set -e\n')
    f.write('oe_runmake() { make -j2 %s "$@"; }\n' % expand(rvars['EXTRA_OEMAKE']))
    for t in ('do_compile', 'do_install'):
        f.write('%s() {\n%s\n}\n' % (t, expand(tasks[t])))
    f.write('mkdir -p "%s"\ncd "%s"\ndo_compile\ndo_install\n' % ((expand(rvars['B']),) * 2))
with open(out + '/files', 'w') as f:
    for k in ('FILES:questfs', 'FILES:questfs-doc'):
        for p in expand(rvars.get(k, '')).split():
            f.write(p.lstrip('/') + '\n')
with open(out + '/fetch', 'w') as f:
    for k in ('SRC_URI', 'SRCREV', 'S'):
        f.write('%s=%s\n' % (k, expand(rvars.get(k, '')) if k != 'SRC_URI' or 'externalsrc' not in inherits else ''))
PY
}

# fetch W: do_fetch and do_unpack of the recipe's git SRC_URI, with git, as
# bitbake's git fetcher does them: a clone of the repository, SRCREV on its
# branch, checked out into S
fetch() {
	local w=$1 uri rev s repo proto branch
	uri=$(sed -n 's/^SRC_URI=//p' "$w/fetch")
	rev=$(sed -n 's/^SRCREV=//p' "$w/fetch")
	s=$(sed -n 's/^S=//p' "$w/fetch")
	[[ $uri =~ ^git://([^\;]+)\;protocol=([a-z]+)\;branch=([A-Za-z0-9._/-]+)$ ]] || {
		bad "SRC_URI is not git://REPO;protocol=P;branch=B: '$uri'"
		return 1
	}
	repo=${BASH_REMATCH[1]} proto=${BASH_REMATCH[2]} branch=${BASH_REMATCH[3]}
	[[ $rev =~ ^[0-9a-f]{40}$ ]] || {
		bad "SRCREV is not a commit id: '$rev'"
		return 1
	}
	[ "$proto" = file ] && [ "$(cd "$repo" 2>/dev/null && pwd)" = "$TOP" ] ||
		{ bad "SRC_URI does not default to the clone the layer is in: $uri"; return 1; }
	if ! git -C "$TOP" cat-file -e "$rev^{commit}" 2>/dev/null; then
		if [ "$(git -C "$TOP" rev-parse --is-shallow-repository 2>/dev/null)" = true ]; then
			echo "SKIP  SRCREV $rev is not in this shallow clone: the fetched build is not checked (git fetch --unshallow)"
			return 1
		fi
		bad "SRCREV $rev is not a commit of this repository"
		return 1
	fi
	git -C "$TOP" merge-base --is-ancestor "$rev" HEAD &&
		ok "SRCREV ${rev:0:12} is in the history of the tree under test" ||
		bad "SRCREV $rev is not an ancestor of HEAD (branch $branch)"
	git clone -q --no-checkout "$repo" "$s" && git -C "$s" checkout -q "$rev" ||
		{ bad "git could not fetch $uri at $rev"; return 1; }
	local pv
	pv=$(sed -n 's/^VERSION[ :?]*= *//p' "$s/Makefile" | head -1)
	[ "$pv" = 0.1.0 ] && ok "SRCREV's Makefile says version $pv, the recipe's" ||
		bad "SRCREV's Makefile says version '$pv', the recipe's file name 0.1.0"
}

# build W HOW: the tasks of W run as bitbake runs them; what they install
# is checked against FILES
build() {
	local w=$1 how=$2 s
	s=$(sed -n 's/^S=//p' "$w/fetch")
	touch "$w/vars"
	if env -i PATH="$T/fakebin:$PATH" HOME="$T" \
		PKG_CONFIG_SYSROOT_DIR="$SYSROOT" PKG_CONFIG_PATH= \
		PKG_CONFIG_LIBDIR="$SYSROOT/usr/lib/i386-linux-gnu/pkgconfig:$SYSROOT/usr/share/pkgconfig" \
		bash "$w/run.tasks" >"$w/tasks.log" 2>&1; then
		ok "$how: do_compile and do_install ran"
	else
		bad "$how: do_compile or do_install failed:"
		tail -30 "$w/tasks.log" | sed 's/^/      /'
	fi
	grep -q -- "--sysroot=$SYSROOT" "$w/tasks.log" && grep -q -- "-I$SYSROOT/usr/include/fuse3" "$w/tasks.log" &&
		ok "$how: compiled with --sysroot and pkg-config's sysroot" ||
		bad "$how: the compiler did not get the sysroot"
	[ ! -e "$T/network.log" ] && ok "$how: make all and make install called no apt-get" ||
		bad "$how: called: $(cat "$T/network.log")"
	[ -z "$(cd "$s" && find . -path ./.git -prune -o -newer "$w/vars" -type f -print | head -1)" ] &&
		ok "$how: nothing was written into the source tree" ||
		bad "$how: written into the sources: $(cd "$s" && find . -path ./.git -prune -o -newer "$w/vars" -type f -print | head -5 | tr '\n' ' ')"

	local installed named p h
	installed=$(cd "$w/image" && find . \( -type f -o -type l \) | sed 's|^\./||' | LC_ALL=C sort)
	named=$(LC_ALL=C sort "$w/files")
	if [ -n "$installed" ] && [ "$installed" = "$named" ]; then
		ok "$how: installed exactly the $(echo "$named" | wc -l) files FILES names"
	else
		bad "$how: installed files and FILES differ (< installed, > FILES):"
		diff <(echo "$installed") <(echo "$named") | sed -n 's/^[<>]/      &/p'
	fi
	for p in usr/bin/questfs usr/bin/questbinloader usr/bin/quest-sim; do
		h=$(LC_ALL=C readelf -h "$w/image/$p" 2>/dev/null)
		[[ $h == *"ELF32"* && $h == *"Intel 80386"* ]] && ok "$how: $p is an i386 program" ||
			bad "$how: $p is not an i386 program"
	done
	grep -qx 'ExecStart=/usr/bin/questfs -f $QUESTFS_OPTIONS ${QUESTFS_MOUNTPOINT}' \
		"$w/image/lib/systemd/system/questfs.service" && ok "$how: questfs.service names /usr/bin/questfs" ||
		bad "$how: questfs.service: $(grep Exec "$w/image/lib/systemd/system/questfs.service" 2>&1)"
}

LAYER=$TOP/contrib/meta-questfs
# (2a) the recipe as a layer has it: questfs fetched at SRCREV
W=$T/fetched
mkdir -p "$W"
if read_recipe "$W" "$LAYER/conf/layer.conf" "$RECIPE" >"$W/read.log" 2>&1; then
	fetch "$W" && build "$W" "at SRCREV"
else
	bad "the recipe could not be read: $(cat "$W/read.log")"
fi

# (2b) the tree under test, through the bbappend of a working tree
W=$T/tree
mkdir -p "$W/src"
tar -C "$TOP" --exclude=./.git --exclude='./build*' --exclude=./fuzz-out -cf - . | tar -C "$W/src" -xf -
if QUESTFS_SRC=$W/src read_recipe "$W" "$LAYER/conf/layer.conf" "$RECIPE" \
	"$TOP/tests/yocto/questfs_%.bbappend" >"$W/read.log" 2>&1; then
	build "$W" "this tree"
else
	bad "the recipe and the bbappend could not be read: $(cat "$W/read.log")"
fi

echo "yocto: $pass passed, $failed failed"
[ "$failed" = 0 ]
