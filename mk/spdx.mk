# make check-spdx: every source file names its licence in an
# SPDX-License-Identifier line (tools/check-spdx.sh). Not part of make check
# until the lines are added to the sources.
.PHONY: check-spdx
check-spdx:
	@sh tools/check-spdx.sh
