# SPDX-License-Identifier: GPL-2.0-or-later
# The genuine Quest kernel as the Quest side (quest/): QuestOS/quest master
# with questfs's patch series, booted in qemu-system-i386 with an
# ivshmem-plain device that shares a /dev/shm region with questfs (vshm:).
#   make quest QUEST_SRC=SRC       $(BUILD)/quest/quest.iso (quest/build.sh)
#   make check-quest QUEST_SRC=SRC the end-to-end cases (tests/quest/check.sh)
#   make run-quest QUEST_SRC=SRC   make run, with Quest in QEMU (tools/run-quest.sh)
#   make check-quest-vm QUEST_SRC=SRC  the Debian i386 VM and the Quest VM on
#                                  one region (tests/quest/vm.sh)
# SRC: a clone of https://github.com/QuestOS/quest (master) or a tarball of
# one. Quest's files are never copied into this tree.

QUEST_SRC ?=
QUEST_OUT := $(BUILD)/quest

.PHONY: quest deps-quest check-quest run-quest check-quest-vm
deps-quest:
	@sh tools/deps-quest.sh

quest: deps-quest
	@QUEST_SRC='$(QUEST_SRC)' sh quest/build.sh $(QUEST_OUT)

# Without QUEST_SRC, check-quest says it did not run and why; that is a
# failure under CI=true, where it must run.
check-quest: deps
	@if [ -z '$(QUEST_SRC)' ]; then \
		echo "check-quest: not run: QUEST_SRC is not set (pass QUEST_SRC=PATH, a clone of https://github.com/QuestOS/quest or a tarball of one)"; \
		if [ "$$CI" = true ]; then echo "check-quest: CI=true: it must run here" >&2; exit 1; fi; \
	else \
		$(MAKE) --no-print-directory quest all test-progs && \
		BUILD=$(BUILD) bash tests/quest/check.sh; \
	fi

run-quest: deps
	@[ -n '$(QUEST_SRC)' ] || { echo "run-quest: QUEST_SRC is not set: pass QUEST_SRC=PATH, a clone of https://github.com/QuestOS/quest or a tarball of one" >&2; exit 2; }
	$(MAKE) --no-print-directory quest all test-progs
	@BUILD=$(BUILD) sh tools/run-quest.sh

# Quest-V in a box: the Quest VM and the Debian i386 VM of check-i386-vm on
# one region (tests/quest/vm.sh)
check-quest-vm: deps-i386-vm
	@[ -n '$(QUEST_SRC)' ] || { echo "check-quest-vm: QUEST_SRC is not set: pass QUEST_SRC=PATH, a clone of https://github.com/QuestOS/quest or a tarball of one" >&2; exit 2; }
	$(MAKE) --no-print-directory quest i386
	@BUILD=$(BUILD) I386_BUILD=$(I386_BUILD) bash tests/quest/vm.sh

# make bench gains the genuine Quest's row (bench/quest.sh) when QUEST_SRC
# is given
.PHONY: bench-quest
ifneq ($(QUEST_SRC),)
bench: bench-quest
endif
bench-quest: deps
	$(MAKE) --no-print-directory quest all test-progs
	@mkdir -p $(BUILD)/bench
	@BUILD=$(BUILD) bash bench/quest.sh
