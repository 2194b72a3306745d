# SPDX-License-Identifier: GPL-2.0-or-later
# The i386 build, what Quest-V's Linux runs (a 32-bit Yocto image):
#   make i386         everything, with Debian's i686-linux-gnu cross compiler
#                     and the multiarch :i386 libraries, into $(I386_BUILD)
#   make check-i386   the unit and the mounted tests with those programs, run
#                     directly where this kernel can, else under qemu-i386
#                     (tests/i386/run.sh finds out by trying)
# Both first install what is missing (tools/deps-i386.sh).

I386_BUILD ?= build-i386
I386_HOST  ?= i686-linux-gnu
I386_VARS   = BUILD=$(I386_BUILD) CC=$(I386_HOST)-gcc AS=$(I386_HOST)-as \
	      LD=$(I386_HOST)-ld AR=$(I386_HOST)-ar PKG_CONFIG=$(I386_HOST)-pkg-config
I386_MAKE   = $(MAKE) --no-print-directory $(I386_VARS)

.PHONY: i386 deps-i386 check-i386
deps-i386:
	@sh tools/deps-i386.sh

i386: deps-i386
	$(I386_MAKE) all test-progs $(UNIT_SRC:tests/unit/%.c=$(I386_BUILD)/tests/%)

check-i386: deps all test-progs i386
	@bash tests/i386/run.sh $(I386_BUILD) '$(I386_VARS)'

# make check-i386-vm: the i386 build under Debian's 32-bit kernel
# (linux-image-686) in qemu-system-i386, software emulation: quest-sim and
# questfs, the examples copied into run/ with arguments, the channel's unit
# tests with the lock-recovery ones (tests/i386/vm.sh). The kernel and
# busybox are fetched with apt-get download into $(I386_BUILD)/vm/debs.
.PHONY: check-i386-vm deps-i386-vm
deps-i386-vm:
	@VM=1 sh tools/deps-i386.sh

check-i386-vm: deps-i386-vm i386
	@bash tests/i386/vm.sh $(I386_BUILD)

.PHONY: clean-i386
clean-i386:
	rm -rf $(I386_BUILD)
