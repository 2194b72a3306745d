# SPDX-License-Identifier: GPL-2.0-or-later
# make trace-tools: the FUSE requests of each copying tool on a scratch
# mount, to hold against the replay table of tests/unit/test_launch.c.
.PHONY: trace-tools
trace-tools: $(PROGS) $(EXAMPLES)
	@BUILD=$(BUILD) bash tests/trace-tools.sh
