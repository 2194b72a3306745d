# SPDX-License-Identifier: GPL-2.0-or-later
# questfs — build, test, install.  `make run` and `make check` are the two
# commands of the README; both first install what is missing (make deps).
# `make all` and `make install` never install anything nor reach the
# network: a missing library stops them with its name.
#
# A cross build (a Yocto recipe, `make i386`) sets the tools and flags:
#   CC AS LD AR PKG_CONFIG CFLAGS CPPFLAGS LDFLAGS WERROR DESTDIR PREFIX

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
VERSION := 0.1.0

CC      ?= cc
AS      ?= as
LD      ?= ld
PKG_CONFIG ?= pkg-config
CFLAGS  ?= -O2 -g
# Warnings stop the build only where we ask: `make check` and CI set
# WERROR=-Werror; a packager's newer compiler must not fail on a new warning.
WERROR  ?=
WARN    := -Wall -Wextra $(WERROR) -std=gnu11
# Each object's header dependencies, written by the compiler beside it.
DEPFLAGS := -MMD -MP
# libfuse refuses a 32-bit off_t; the rest of questfs wants it 64-bit too.
# Not _TIME_BITS=64: Debian 12's i386 libfuse3 is built with a 32-bit
# time_t, and its struct stat would then disagree with ours.
CPPFLAGS_ALL = $(WARN) -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
	-DQUEST_VERSION='"$(VERSION)"' -Icore $(CPPFLAGS)

# pkg_* NAMES: flags of the pkg-config packages NAMES, asked once per make,
# when a recipe first needs them; a package pkg-config does not know stops
# the build with its name and the Debian package that has it.
pkg_deb_fuse3  := libfuse3-dev
pkg_deb_libelf := libelf-dev
pkg_deb_json-c := libjson-c-dev
pkg_deb_zlib   := zlib1g-dev
pkg_deb_cmocka := libcmocka-dev
pkg_check = $(foreach p,$(1),$(if $(shell $(PKG_CONFIG) --exists $(p) && echo y),,$(error \
	library '$(p)' not found by '$(PKG_CONFIG)': install $(or $(pkg_deb_$(p)),its -dev package) \
	(make deps does), or set PKG_CONFIG / PKG_CONFIG_PATH)))
pkg_ask = $(call pkg_check,$(2))$(shell $(PKG_CONFIG) $(1) $(2))
_sp := $() $()
pkg_memo = $(or $(pkg_$(1)_$(subst $(_sp),_,$(2))),$(eval pkg_$(1)_$(subst $(_sp),_,$(2)) := \
	$(call pkg_ask,--$(1),$(2)))$(pkg_$(1)_$(subst $(_sp),_,$(2))))
pkg_cflags = $(call pkg_memo,cflags,$(1))
pkg_libs = $(call pkg_memo,libs,$(1))

PKG_CFLAGS  = $(call pkg_cflags,fuse3 libelf json-c zlib)
ELF_LIBS    = $(call pkg_libs,libelf)
FUSE_LIBS   = $(call pkg_libs,fuse3 json-c)
CMOCKA_LIBS = $(call pkg_libs,cmocka)
LDLIBS_CORE = $(ELF_LIBS) $(call pkg_libs,zlib) -lpthread -lrt

CORE_SRC := $(wildcard core/*.c)
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
FS_SRC   := $(wildcard fs/*.c)
FS_OBJ   := $(FS_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
EXAMPLES := $(BUILD)/examples/hello $(BUILD)/examples/hello_argvs

PROGS := $(BUILD)/questfs $(BUILD)/questbinloader $(BUILD)/quest-sim
TEST_TOOLS := $(BUILD)/tests/mkelf

.PHONY: all test-progs deps check check-unit check-mounted run install uninstall clean lint
# all: what `make install` installs; the i386 example programs and the
# fixture generator are the tests' (test-progs).
all: $(PROGS)
test-progs: $(EXAMPLES) $(TEST_TOOLS)

deps:
	@sh tools/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(DEPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libquestcore.a: $(CORE_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/questfs: $(FS_OBJ) $(BUILD)/libquestcore.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(FUSE_LIBS) $(LDLIBS_CORE)

$(BUILD)/questbinloader: $(BUILD)/tools/questbinloader.o $(BUILD)/libquestcore.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_CORE)

$(BUILD)/quest-sim: $(BUILD)/tools/quest-sim.o $(BUILD)/libquestcore.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_CORE)

$(BUILD)/tests/mkelf: $(BUILD)/tests/fixtures/mkelf.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

$(BUILD)/tests/test_%: $(BUILD)/tests/unit/test_%.o $(BUILD)/libquestcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LDLIBS_CORE)

# i386 Quest programs, with binutils only (no multilib), linked at 0x1000.
$(BUILD)/examples/%: examples/%.s
	@mkdir -p $(dir $@)
	$(AS) --32 -o $@.o $<
	$(LD) -m elf_i386 -static -z noseparate-code -Ttext-segment=0x1000 -e _start -o $@ $@.o

check: export WERROR := -Werror
check: deps
	$(MAKE) all test-progs $(UNIT_BIN)
	$(MAKE) check-unit
	$(MAKE) check-mounted
	$(MAKE) check-emu
	$(MAKE) check-valgrind
	$(MAKE) fuzz-smoke
	$(MAKE) check-spdx

check-unit: $(UNIT_BIN) $(TEST_TOOLS) $(PROGS) $(EXAMPLES)
	@sh tests/run-unit.sh $(UNIT_BIN)

check-mounted: $(PROGS) $(EXAMPLES) $(TEST_TOOLS)
	@bash tests/mounted/run.sh

run: deps
	$(MAKE) all test-progs
	@sh tools/run.sh

lint:
	clang-format --dry-run --Werror core/*.[ch] fs/*.[ch] tools/*.c tests/unit/*.c tests/fixtures/*.c \
		bench/*.c fuzz/*.c
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--suppress=missingIncludeSystem --suppress=ctuuninitvar -Icore core fs tools

clean:
	rm -rf $(BUILD)

# install, fuzz, bench and the rest: one file each under mk/
include $(wildcard mk/*.mk)
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
