# SPDX-License-Identifier: GPL-2.0-or-later
# Fuzzing with libFuzzer (fuzz/): the core sources are compiled again with
# clang and -fsanitize=fuzzer,address,undefined into $(BUILD)/fuzz, separate
# from the gcc-built libquestcore.a; the seed corpora are generated there by
# fuzz/mkseeds.c (no binary files in git).
#   make fuzz         each target for FUZZ_TIME seconds (default 60)
#   make fuzz-smoke   each target for FUZZ_SMOKE_TIME seconds (default 7);
#                     fails on any crash, leak or broken invariant

FUZZ_CC         ?= clang
FUZZ_TIME       ?= 60
FUZZ_SMOKE_TIME ?= 7
FUZZ_DIR        := $(BUILD)/fuzz
FUZZ_SAN        := -fsanitize=fuzzer,address,undefined \
		   -fno-sanitize-recover=undefined
# No -Werror: gcc's -Werror build is the one that gates warnings; a warning
# only clang gives must not stop the fuzzers.
FUZZ_CFLAGS     := -O1 -g -fno-omit-frame-pointer -Wall -Wextra -std=gnu11 \
		   -D_GNU_SOURCE -DQUEST_VERSION='"$(VERSION)"' -Icore
FUZZ_TARGETS    := fuzz_elfcheck fuzz_args fuzz_packet fuzz_spool fuzz_qload \
		   fuzz_vshm fuzz_logline
# target:max_len; an ELF image or a packet is up to one 384 KiB slot
FUZZ_RUNS       := fuzz_elfcheck:400000 fuzz_packet:400000 fuzz_args:1024 \
		   fuzz_spool:20000 fuzz_qload:400000 fuzz_vshm:16385 \
		   fuzz_logline:4096
# fuzz_emu: random system calls under quest-emu's engine, where Unicorn
# is there (mk/emu.mk); a program image is 8 KiB
ifeq ($(EMU_HAVE_UC),1)
FUZZ_TARGETS    += fuzz_emu
FUZZ_RUNS       += fuzz_emu:4000
endif
FUZZ_CORE_OBJ   := $(CORE_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_BINS       := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)

.PHONY: fuzz fuzz-smoke fuzz-build
.SECONDARY: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/obj/fuzz/%.o) $(FUZZ_DIR)/obj/fuzz/mkseeds.o
fuzz-build: $(FUZZ_BINS) $(FUZZ_DIR)/seed/.stamp

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) $(FUZZ_SAN) -c -o $@ $<

$(FUZZ_DIR)/libquestcore-fuzz.a: $(FUZZ_CORE_OBJ)
	$(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/fuzz/fuzz_%.o $(FUZZ_DIR)/libquestcore-fuzz.a
	$(FUZZ_CC) $(FUZZ_SAN) -o $@ $^ $(LDLIBS_CORE)

ifeq ($(EMU_HAVE_UC),1)
FUZZ_EMU_OBJ    := $(EMU_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
$(FUZZ_EMU_OBJ): FUZZ_CFLAGS += -Iemu $(UC_CFLAGS)
$(FUZZ_DIR)/obj/fuzz/fuzz_emu.o: FUZZ_CFLAGS += -Iemu $(UC_CFLAGS)
$(FUZZ_DIR)/obj/emu/%.o: $(wildcard emu/*.h)
$(FUZZ_DIR)/fuzz_emu: $(FUZZ_DIR)/obj/fuzz/fuzz_emu.o $(FUZZ_EMU_OBJ) $(FUZZ_DIR)/libquestcore-fuzz.a
	$(FUZZ_CC) $(FUZZ_SAN) -o $@ $^ $(UC_LIBS) $(LDLIBS_CORE)
endif

# The seed generator has its own main: instrumented objects, no libFuzzer.
$(FUZZ_DIR)/mkseeds: $(FUZZ_DIR)/obj/fuzz/mkseeds.o $(FUZZ_DIR)/libquestcore-fuzz.a
	$(FUZZ_CC) -fsanitize=fuzzer-no-link,address,undefined -o $@ $^ $(LDLIBS_CORE)

$(FUZZ_DIR)/seed/.stamp: $(FUZZ_DIR)/mkseeds
	rm -rf $(FUZZ_DIR)/seed
	$(FUZZ_DIR)/mkseeds $(FUZZ_DIR)/seed
	@touch $@

fuzz: fuzz-build
	@sh fuzz/run.sh $(FUZZ_DIR) $(FUZZ_TIME) $(FUZZ_RUNS)

fuzz-smoke: fuzz-build
	@sh fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SMOKE_TIME) $(FUZZ_RUNS)
