# SPDX-License-Identifier: GPL-2.0-or-later
SUMMARY = "Start Quest RTOS programs from Linux on Quest-V by copying them into a FUSE filesystem"
DESCRIPTION = "questfs mounts /quest: a program copied into /quest/run/ is \
checked as Quest's loader would, packed with its arguments and sent to the \
Quest side; /quest/status says what happened. With questbinloader, \
quest-sim (a stand-in Quest side), a mount(8) helper, systemd units and \
Thunar actions."
SECTION = "utils"
LICENSE = "GPL-2.0-or-later"
LIC_FILES_CHKSUM = "file://LICENSE;md5=b234ee4d69f5fce4486a80fdaf4a4263"

# Fetched as a layer fetches its sources: questfs's git repository at the
# commit this version was made from. QUESTFS_GIT and QUESTFS_GIT_PROTOCOL
# say where that repository is (conf/layer.conf: by default the clone this
# layer is in; a distribution names its mirror in local.conf). A new
# version moves SRCREV and the file's name together. To build a working
# tree as it is instead, a bbappend inherits externalsrc
# (docs/I386-YOCTO.md), as `devtool modify questfs` does.
SRC_URI = "git://${QUESTFS_GIT};protocol=${QUESTFS_GIT_PROTOCOL};branch=main"
SRCREV = "e7ca44117e1bd08769c2b611084daf02d291bc8b"
S = "${WORKDIR}/git"
B = "${WORKDIR}/build"

DEPENDS = "fuse3 elfutils json-c zlib"
# fusermount3 unmounts; libgcc_s.so.1, which glibc loads (dlopen, so no
# shlibdeps) when libfuse cancels its worker threads at a SIGTERM: without
# it questfs aborts and leaves /quest mounted; getfattr lets quest-run read
# a program's state; notify-send and zenity serve the Thunar actions where
# the image has XFCE.
RDEPENDS:${PN} = "fuse3-utils libgcc"
RRECOMMENDS:${PN} = "attr"
RSUGGESTS:${PN} = "libnotify zenity"

inherit pkgconfig systemd

SYSTEMD_SERVICE:${PN} = "questfs.service quest-sim.service"
# Which side serves /quest is the image's choice (fstab or the unit, the
# real Quest side or quest-sim): nothing starts by itself.
SYSTEMD_AUTO_ENABLE = "disable"

# questfs's Makefile takes the toolchain and flags bitbake sets. Objects go
# to ${B}, never into the source tree. -Werror is for questfs's own CI: a
# newer compiler's new warning must not stop an image build. mount(8) finds
# helpers in /sbin only, so mount.questfs goes to ${base_sbindir}.
# quest-emu needs Unicorn, a build host's tool that the image does not
# carry; questfs-notify needs libnotify: an image with a desktop builds it
# in a bbappend (docs/I386-YOCTO.md).
EXTRA_OEMAKE = "\
    'CC=${CC}' 'AS=${AS}' 'LD=${LD}' 'AR=${AR}' 'PKG_CONFIG=pkg-config' \
    'CFLAGS=${CFLAGS}' 'CPPFLAGS=${CPPFLAGS}' 'LDFLAGS=${LDFLAGS}' \
    'WERROR=' 'BUILD=${B}' 'PREFIX=${prefix}' 'BINDIR=${bindir}' \
    'MOUNTHELPERDIR=${base_sbindir}' 'SYSTEMDUNITDIR=${systemd_system_unitdir}' \
    'DATADIR=${datadir}' 'MANDIR=${mandir}' 'DOCDIR=${docdir}/questfs' \
    'WITH_EMU=no' 'WITH_NOTIFY=no' \
"

do_compile() {
	oe_runmake -C ${S} all
}

do_install() {
	oe_runmake -C ${S} install DESTDIR=${D}
}

FILES:${PN} = "\
    ${bindir}/questfs ${bindir}/questbinloader ${bindir}/quest-sim \
    ${bindir}/quest-run \
    ${base_sbindir}/mount.questfs ${base_sbindir}/mount.fuse.questfs \
    ${systemd_system_unitdir}/questfs.service \
    ${systemd_system_unitdir}/quest-sim.service \
    ${datadir}/questfs/uca.xml ${datadir}/questfs/thunar-install-actions \
"
FILES:${PN}-doc = "\
    ${mandir}/man1/questbinloader.1 ${mandir}/man1/quest-sim.1 \
    ${mandir}/man1/quest-run.1 \
    ${mandir}/man8/questfs.8 ${mandir}/man8/mount.questfs.8 \
    ${docdir}/questfs/fstab.example ${docdir}/questfs/questfs.default \
"
