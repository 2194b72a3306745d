# SPDX-License-Identifier: GPL-2.0-or-later
# Runtime checkers.
#   make check-sanitize   everything built again in $(SAN_BUILD) with ASan and
#                         UBSan (leaks, any UB fatal), then the unit and the
#                         mounted tests run against those binaries
#   make check-valgrind   the tools of $(BUILD) under valgrind's memcheck
#                         (tests/valgrind.sh)

SAN_BUILD ?= $(BUILD)/san
SAN_FLAGS ?= -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	     -fno-sanitize-recover=undefined
SAN_SUPP  := $(abspath $(SAN_BUILD))/asan.supp
# Leaks are fatal (the daemon's too: its exit status is part of every mounted
# case); the first error stops the program.
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:suppressions=$(SAN_SUPP) \
	   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
SAN_MAKE = $(MAKE) --no-print-directory BUILD=$(SAN_BUILD) \
	   CFLAGS="$(SAN_FLAGS)" LDFLAGS="$(SAN_FLAGS)"

.PHONY: check-sanitize check-sanitize-unit check-sanitize-mounted check-valgrind
check-sanitize: $(SAN_SUPP)
	$(SAN_MAKE) all test-progs $(UNIT_SRC:tests/unit/%.c=$(SAN_BUILD)/tests/%)
	$(MAKE) --no-print-directory check-sanitize-unit
	$(MAKE) --no-print-directory check-sanitize-mounted

check-sanitize-unit: $(SAN_SUPP)
	$(SAN_ENV) $(SAN_MAKE) check-unit

# run.sh is a bash script, run by bash whatever check-mounted does.
# QUESTFS_SANITIZED tells a case that ASan's quarantine inflates RSS and
# that everything runs a few times slower.
check-sanitize-mounted: $(SAN_SUPP)
	$(SAN_MAKE) all test-progs
	$(SAN_ENV) QUESTFS_SANITIZED=1 QUESTFS_BUILD=$(abspath $(SAN_BUILD)) \
		bash tests/mounted/run.sh

# ASan checks the buffers of writev(2) after the call returns. For a FUSE
# reply, the kernel has by then completed the request, and the reader may
# have closed the file: the RELEASE that frees the buffer (a status snapshot)
# can run in another thread before the check, which then reports a
# use-after-free that never happened. libfuse is not instrumented, so its
# interceptor calls are all that is suppressed.
$(SAN_SUPP):
	@mkdir -p $(dir $@)
	printf 'interceptor_via_lib:libfuse3.so\n' >$@

check-valgrind: $(BUILD)/questbinloader $(BUILD)/quest-sim $(TEST_TOOLS)
	QUESTFS_BUILD=$(abspath $(BUILD)) bash tests/valgrind.sh
