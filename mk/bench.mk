# SPDX-License-Identifier: GPL-2.0-or-later
# make bench: the launch benchmark (bench/, docs/PERFORMANCE.md). Runs as
# root in a few minutes: quest-sim, questfs and bench/nullfs are started on a
# scratch directory in /dev/shm and always stopped and removed afterwards.
# The table also goes to $(BUILD)/bench/result.txt.
#   make bench BENCH_ARGS='--rounds 5 --time 1'     longer, steadier
#   make bench BENCH_ARGS='--no-sweep --no-scale'   the table only
#   make bench BENCH_ARGS='--load 2'                 with two busy loops
# make profile: questfs's processor time, page faults and perf profile
# per launch (bench/profile.sh; PROFILE_ARGS='SIZE LAUNCHES QUESTFS').

BENCH_ARGS ?=
BENCH_BINS := $(BUILD)/bench/bench $(BUILD)/bench/nullfs

PROFILE_ARGS ?=

.PHONY: bench bench-build profile
bench: deps
	$(MAKE) bench-build
	@BUILD=$(BUILD) bash bench/run.sh $(BENCH_ARGS)

bench-build: $(PROGS) $(TEST_TOOLS) $(BENCH_BINS)

profile: deps
	$(MAKE) $(PROGS) $(TEST_TOOLS)
	@BUILD=$(BUILD) bash bench/profile.sh $(PROFILE_ARGS)

$(BUILD)/bench/bench: $(BUILD)/bench/bench.o $(BUILD)/libquestcore.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_CORE) -lm

$(BUILD)/bench/nullfs: $(BUILD)/bench/nullfs.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ \
		$(call pkg_libs,fuse3) -lpthread
