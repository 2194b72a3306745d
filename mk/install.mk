# SPDX-License-Identifier: GPL-2.0-or-later
# make install / make uninstall, honouring PREFIX (default /usr/local) and
# DESTDIR. mount(8) looks for its helpers in /sbin only (util-linux's fixed
# search path /sbin:/sbin/fs.d:/sbin/fs), so mount.questfs goes to
# $(PREFIX)/sbin when PREFIX is /usr and to /sbin otherwise (as ntfs-3g and
# libfuse's mount.fuse3 do); MOUNTHELPERDIR overrides it. Systemd units go
# to $(PREFIX)/lib/systemd/system: systemd reads /usr/local/lib/systemd/system
# and /usr/lib/systemd/system (= /lib/systemd/system on Debian 12).

BINDIR         ?= $(PREFIX)/bin
DATADIR        ?= $(PREFIX)/share
MANDIR         ?= $(DATADIR)/man
DOCDIR         ?= $(DATADIR)/doc/questfs
QUESTDATADIR   ?= $(DATADIR)/questfs
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
MOUNTHELPERDIR ?= $(if $(filter /usr /usr/,$(PREFIX)),$(PREFIX)/sbin,/sbin)
INSTALL        ?= install

# @BINDIR@ and @VERSION@ in scripts, units and man pages become the real ones
INST_SUBST = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@VERSION@|$(VERSION)|g'

INST_PROGS   := questfs questbinloader quest-sim
INST_MAN1    := questbinloader.1 quest-sim.1 quest-run.1
INST_MAN8    := questfs.8 mount.questfs.8
INST_UNITS   := questfs.service quest-sim.service
INST_DOCS    := fstab.example questfs.default

.PHONY: install uninstall
install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MOUNTHELPERDIR) \
		$(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(QUESTDATADIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 755 $(INST_PROGS:%=$(BUILD)/%) $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 755 mount-helper/quest-run $(DESTDIR)$(BINDIR)/quest-run
	$(INST_SUBST) mount-helper/mount.questfs >$(DESTDIR)$(MOUNTHELPERDIR)/mount.questfs
	chmod 755 $(DESTDIR)$(MOUNTHELPERDIR)/mount.questfs
	ln -sf mount.questfs $(DESTDIR)$(MOUNTHELPERDIR)/mount.fuse.questfs
	set -e; for u in $(INST_UNITS); do \
		$(INST_SUBST) mount-helper/$$u >$(DESTDIR)$(SYSTEMDUNITDIR)/$$u; \
		chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u; done
	$(INSTALL) -m 644 mount-helper/uca.xml $(DESTDIR)$(QUESTDATADIR)/uca.xml
	$(INST_SUBST) mount-helper/thunar-install-actions >$(DESTDIR)$(QUESTDATADIR)/thunar-install-actions
	chmod 755 $(DESTDIR)$(QUESTDATADIR)/thunar-install-actions
	set -e; for m in $(INST_MAN1); do \
		$(INST_SUBST) docs/man/$$m >$(DESTDIR)$(MANDIR)/man1/$$m; \
		chmod 644 $(DESTDIR)$(MANDIR)/man1/$$m; done
	set -e; for m in $(INST_MAN8); do \
		$(INST_SUBST) docs/man/$$m >$(DESTDIR)$(MANDIR)/man8/$$m; \
		chmod 644 $(DESTDIR)$(MANDIR)/man8/$$m; done
	$(INSTALL) -m 644 $(INST_DOCS:%=mount-helper/%) $(DESTDIR)$(DOCDIR)/

uninstall:
	rm -f $(INST_PROGS:%=$(DESTDIR)$(BINDIR)/%) $(DESTDIR)$(BINDIR)/quest-run
	rm -f $(DESTDIR)$(MOUNTHELPERDIR)/mount.questfs $(DESTDIR)$(MOUNTHELPERDIR)/mount.fuse.questfs
	rm -f $(INST_UNITS:%=$(DESTDIR)$(SYSTEMDUNITDIR)/%)
	rm -f $(DESTDIR)$(QUESTDATADIR)/uca.xml $(DESTDIR)$(QUESTDATADIR)/thunar-install-actions
	rm -f $(INST_MAN1:%=$(DESTDIR)$(MANDIR)/man1/%) $(INST_MAN8:%=$(DESTDIR)$(MANDIR)/man8/%)
	rm -f $(INST_DOCS:%=$(DESTDIR)$(DOCDIR)/%)
	rmdir $(DESTDIR)$(QUESTDATADIR) $(DESTDIR)$(DOCDIR) 2>/dev/null || true
