# SPDX-License-Identifier: GPL-2.0-or-later
# questfs's option table (fs/options.c) against its man page; part of
# check-unit.
.PHONY: check-options
check-unit: check-options
check-options: $(BUILD)/questfs
	@sh tests/options.sh $(BUILD)/questfs docs/man/questfs.8
