# SPDX-License-Identifier: GPL-2.0-or-later
# questfs built from a working tree as it is, instead of the commit the
# recipe fetches: what `devtool modify questfs` sets up, and how
# make check-yocto builds the tree it runs in. QUESTFS_SRC (local.conf)
# names the tree; it is rebuilt whenever it changes.
inherit externalsrc
EXTERNALSRC = "${QUESTFS_SRC}"
EXTERNALSRC_BUILD = "${WORKDIR}/build"
