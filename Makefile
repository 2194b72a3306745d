# questfs — build, test, install.  `make run` and `make check` are the two
# commands of the README; both first install what is missing (make deps).

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
VERSION := 0.1.0

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror -std=gnu11
CPPFLAGS_ALL = $(WARN) -D_GNU_SOURCE -DQUEST_VERSION='"$(VERSION)"' -Icore $(CPPFLAGS)
PKG_CFLAGS = $(shell pkg-config --cflags fuse3 libelf json-c 2>/dev/null)
ELF_LIBS   = $(shell pkg-config --libs libelf 2>/dev/null || echo -lelf)
FUSE_LIBS  = $(shell pkg-config --libs fuse3 json-c 2>/dev/null || echo -lfuse3 -ljson-c)
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)
LDLIBS_CORE = $(ELF_LIBS) $(shell pkg-config --libs zlib 2>/dev/null || echo -lz) -lpthread -lrt

CORE_SRC := $(wildcard core/*.c)
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
FS_SRC   := $(wildcard fs/*.c)
FS_OBJ   := $(FS_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
EXAMPLES := examples/hello examples/hello_argvs

PROGS := $(BUILD)/questfs $(BUILD)/questbinloader $(BUILD)/quest-sim
TEST_TOOLS := $(BUILD)/tests/mkelf

.PHONY: all deps check check-unit check-mounted run install uninstall clean lint
all: $(PROGS) $(EXAMPLES) $(TEST_TOOLS)

deps:
	@sh tools/deps.sh

$(BUILD)/%.o: %.c $(wildcard core/*.h fs/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(PKG_CFLAGS) $(CFLAGS) -c -o $@ $<

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
examples/%: examples/%.s
	as --32 -o $(BUILD)/$*.o $<
	ld -m elf_i386 -static -z noseparate-code -Ttext-segment=0x1000 -e _start -o $@ $(BUILD)/$*.o

$(EXAMPLES): | $(BUILD)/.dir
$(BUILD)/.dir:
	@mkdir -p $(BUILD) && touch $@

check: deps
	$(MAKE) all $(UNIT_BIN)
	$(MAKE) check-unit
	$(MAKE) check-mounted
	$(MAKE) check-emu
	$(MAKE) check-valgrind
	$(MAKE) fuzz-smoke

check-unit: $(UNIT_BIN) $(TEST_TOOLS) $(PROGS) $(EXAMPLES)
	@sh tests/run-unit.sh $(UNIT_BIN)

check-mounted: $(PROGS) $(EXAMPLES) $(TEST_TOOLS)
	@bash tests/mounted/run.sh

run: deps
	$(MAKE) all
	@sh tools/run.sh

lint:
	clang-format --dry-run --Werror core/*.[ch] fs/*.[ch] tools/*.c tests/unit/*.c tests/fixtures/*.c \
		bench/*.c fuzz/*.c
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--suppress=missingIncludeSystem --suppress=ctuuninitvar -Icore core fs tools

clean:
	rm -rf $(BUILD) $(EXAMPLES)

# install, fuzz, bench and the rest: one file each under mk/
include $(wildcard mk/*.mk)
