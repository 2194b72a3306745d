# SPDX-License-Identifier: GPL-2.0-or-later
# make check-spdx: every source file names its licence in an
# SPDX-License-Identifier line (tools/check-spdx.sh); make check runs it.
.PHONY: check-spdx
check-spdx:
	@sh tools/check-spdx.sh
