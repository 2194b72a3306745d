# SPDX-License-Identifier: GPL-2.0-or-later
# quest-emu and libquestemu (emu/): Quest programs run on Linux with
# Unicorn (libunicorn-dev). questfs never links Unicorn; quest-emu and
# quest-sim (for --exec) do. Without Unicorn for the target (pkg-config
# finds none, as in a cross build lacking libunicorn-dev:i386), quest-emu is
# not built and quest-sim is built without --exec.
# WITH_EMU=no leaves them out whatever is installed (a Yocto image: Unicorn
# is a build host's tool there); WITH_EMU=yes fails without Unicorn.
#   make check-emu   the emulator's tests (tests/emu/run.sh) and its system
#                    call table against the man page (tests/emu/syscalls.sh),
#                    also run by make check

WITH_EMU ?= auto
EMU_PKG_CONFIG ?= $(or $(PKG_CONFIG),pkg-config)
ifeq ($(WITH_EMU),no)
EMU_HAVE_UC :=
else
EMU_HAVE_UC := $(shell $(EMU_PKG_CONFIG) --exists unicorn 2>/dev/null && echo 1)
ifeq ($(WITH_EMU)$(EMU_HAVE_UC),yes)
$(error WITH_EMU=yes: library 'unicorn' not found by '$(EMU_PKG_CONFIG)': install libunicorn-dev)
endif
endif
EMU_SRC     := $(wildcard emu/*.c)
EMU_OBJ     := $(EMU_SRC:%.c=$(BUILD)/%.o)
UC_CFLAGS   := $(shell $(EMU_PKG_CONFIG) --cflags unicorn 2>/dev/null)
UC_LIBS     := $(shell $(EMU_PKG_CONFIG) --libs unicorn 2>/dev/null || echo -lunicorn)

.PHONY: check-emu
ifeq ($(EMU_HAVE_UC),1)
all: $(BUILD)/quest-emu

$(BUILD)/emu/%.o: emu/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(DEPFLAGS) $(UC_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libquestemu.a: $(EMU_OBJ)
	$(AR) rcs $@ $^

EMU_TOOL_OBJ := $(BUILD)/tools/quest-emu.o $(BUILD)/tools/quest-sim.o $(BUILD)/tools/sim_exec.o
$(EMU_TOOL_OBJ): CPPFLAGS += -Iemu -DQUEST_EMU

$(BUILD)/quest-emu: $(BUILD)/tools/quest-emu.o $(BUILD)/libquestemu.a $(BUILD)/libquestcore.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(UC_LIBS) $(LDLIBS_CORE)

# quest-sim --exec: $^ lists sim_exec.o and the engine after libquestcore.a,
# so both archives are named again after them.
$(BUILD)/quest-sim: $(BUILD)/tools/sim_exec.o $(BUILD)/libquestemu.a
$(BUILD)/quest-sim: LDLIBS_CORE := $(BUILD)/libquestemu.a $(BUILD)/libquestcore.a \
	$(UC_LIBS) $(LDLIBS_CORE)

check-emu: $(BUILD)/quest-emu $(BUILD)/quest-sim $(TEST_TOOLS) $(EXAMPLES)
	@sh tests/emu/syscalls.sh $(BUILD)/quest-emu docs/man/quest-emu.1
	@BUILD=$(BUILD) bash tests/emu/run.sh

.PHONY: install-emu uninstall-emu
install: install-emu
uninstall: uninstall-emu
install-emu: $(BUILD)/quest-emu
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	$(INSTALL) -m 755 $(BUILD)/quest-emu $(DESTDIR)$(BINDIR)/quest-emu
	$(INST_SUBST) docs/man/quest-emu.1 >$(DESTDIR)$(MANDIR)/man1/quest-emu.1
	chmod 644 $(DESTDIR)$(MANDIR)/man1/quest-emu.1
uninstall-emu:
	rm -f $(DESTDIR)$(BINDIR)/quest-emu $(DESTDIR)$(MANDIR)/man1/quest-emu.1
else
check-emu:
	@echo "check-emu: Unicorn not found (pkg-config unicorn): install libunicorn-dev" >&2
	@exit 1
endif

# make bench gains the emulator's rows (bench/emu.sh), printed first
.PHONY: bench-emu
bench: bench-emu
bench-emu: deps
	$(MAKE) $(BUILD)/quest-emu $(BUILD)/examples/hello
	@mkdir -p $(BUILD)/bench
	@BUILD=$(BUILD) bash bench/emu.sh

# make lint covers the engine and the test programs too
.PHONY: lint-emu
lint: lint-emu
lint-emu:
	clang-format --dry-run --Werror emu/*.[ch] tools/sim_exec.h tests/emu/progs/*.[ch]
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--suppress=missingIncludeSystem -Icore -Iemu emu
