# SPDX-License-Identifier: GPL-2.0-or-later
# make bench: the launch benchmark (bench/, docs/PERFORMANCE.md). Runs as
# root in a few minutes: quest-sim, questfs and bench/nullfs are started on a
# scratch directory in /dev/shm and always stopped and removed afterwards.
# The table also goes to $(BUILD)/bench/result.txt.
#   make bench BENCH_ARGS='--rounds 5 --time 1'     longer, steadier
#   make bench BENCH_ARGS='--no-sweep --no-scale'   the table only

BENCH_ARGS ?=
BENCH_BINS := $(BUILD)/bench/bench $(BUILD)/bench/nullfs

.PHONY: bench bench-build
bench: deps
	$(MAKE) bench-build
	@BUILD=$(BUILD) bash bench/run.sh $(BENCH_ARGS)

bench-build: $(PROGS) $(TEST_TOOLS) $(BENCH_BINS)

$(BUILD)/bench/bench: $(BUILD)/bench/bench.o $(BUILD)/libquestcore.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_CORE) -lm

$(BUILD)/bench/nullfs: $(BUILD)/bench/nullfs.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ \
		$(call pkg_libs,fuse3) -lpthread
