# SPDX-License-Identifier: GPL-2.0-or-later
# make check-yocto: the Yocto layer contrib/meta-questfs without bitbake
# (tests/yocto/run.sh): its licence checksum, and its do_compile and
# do_install run as bitbake would for an i386 image, installing exactly the
# files its FILES name. Uses the i386 cross toolchain of make deps-i386.
.PHONY: check-yocto
check-yocto: deps-i386
	@bash tests/yocto/run.sh
