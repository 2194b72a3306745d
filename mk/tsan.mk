# SPDX-License-Identifier: GPL-2.0-or-later
# ThreadSanitizer.
#   make check-tsan   everything built again in $(TSAN_BUILD) with
#                     -fsanitize=thread, then the unit and the mounted tests
#                     run against those binaries; any report fails them

TSAN_BUILD ?= $(BUILD)/tsan
TSAN_FLAGS ?= -O1 -g -fsanitize=thread -fno-omit-frame-pointer
TSAN_SUPP  := $(abspath $(TSAN_BUILD))/tsan.supp
# halt_on_error: a report ends the program with exitcode 66, which every
# test sees (the daemon's exit status is part of every mounted case).
TSAN_ENV := TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1:suppressions=$(TSAN_SUPP)
# GLib is not built with TSan: its own locks (its thread pool, g_slice)
# are invisible to TSan, which then reports races inside GLib in any
# program that links it. questfs-notify and the tests' notification service
# are such programs, and not questfs's threads: the desktop tests take them
# from the regular build (WITH_NOTIFY=no here).
TSAN_MAKE = $(MAKE) --no-print-directory BUILD=$(TSAN_BUILD) \
	    CFLAGS="$(TSAN_FLAGS)" LDFLAGS="$(TSAN_FLAGS)" WITH_NOTIFY=no

.PHONY: check-tsan check-tsan-unit check-tsan-mounted
check-tsan: $(TSAN_SUPP)
	$(TSAN_MAKE) all test-progs $(UNIT_SRC:tests/unit/%.c=$(TSAN_BUILD)/tests/%)
	$(MAKE) --no-print-directory check-tsan-unit
	$(MAKE) --no-print-directory check-tsan-mounted

check-tsan-unit: $(TSAN_SUPP) $(TSAN_BUILD)/tests/writev-after-free
	$(TSAN_ENV) $(TSAN_MAKE) check-unit
	@sh tests/tsan-supp.sh $(TSAN_BUILD)/tests/writev-after-free $(TSAN_SUPP)

$(TSAN_BUILD)/tests/writev-after-free: tests/fixtures/writev-after-free.c
	@mkdir -p $(dir $@)
	$(CC) $(TSAN_FLAGS) -o $@ $< -lpthread

# QUESTFS_SANITIZED: everything runs a few times slower, RSS is larger.
# QUESTFS_TSAN: the one check TSan's slowness defeats, the order of a
# Thunar drop (t_desktop.sh says why).
check-tsan-mounted: $(TSAN_SUPP)
	$(MAKE) --no-print-directory all test-progs
	$(TSAN_MAKE) all test-progs
	$(TSAN_ENV) QUESTFS_SANITIZED=1 QUESTFS_TSAN=1 QUESTFS_BUILD=$(abspath $(TSAN_BUILD)) \
		QUESTFS_MAKEVARS="BUILD=$(abspath $(TSAN_BUILD)) WITH_NOTIFY=no" \
		bash tests/mounted/run.sh

# The one suppression, the same false positive as ASan's (mk/sanitize.mk):
# libfuse replies with writev(2), and TSan's writev interceptor reads the
# buffers only after the real call has returned, when the kernel has
# completed the request. By then the reader may have closed the file and
# our RELEASE, in another thread, freed the buffer (a status snapshot), or
# malloc handed it to the next snapshot: TSan reports a use after free or
# a race whose first access is that late read in writev. No memory is
# touched after the kernel took it. race_top matches only reports whose
# reported access is at the top of the stack in writev, which questfs
# itself never calls (its spool writes with pwritev); it covers the use
# after free too (TSan files it as a race). A suppression matches the
# interceptor's own symbol, __interceptor_writev in GCC 12's libtsan
# (___interceptor_writev in later ones), not the "writev" the report
# prints.
$(TSAN_SUPP): mk/tsan.mk
	@mkdir -p $(dir $@)
	printf 'race_top:^__interceptor_writev$$\nrace_top:^___interceptor_writev$$\n' >$@
