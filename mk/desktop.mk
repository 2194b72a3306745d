# SPDX-License-Identifier: GPL-2.0-or-later
# The desktop: questfs-notify (desktop notifications of a user's own jobs,
# with libnotify) and the tests' recording notification service (GIO).
# Both are built by `all` where $(PKG_CONFIG) knows their libraries; a
# target without them (an i386 build without libnotify:i386, a Yocto image
# without a desktop) builds the rest, and the desktop tests then use the
# ones of the host's build/.
PKG_CONFIG    ?= pkg-config
have_pkg       = $(shell $(PKG_CONFIG) --exists $(1) 2>/dev/null && echo y)
NOTIFY_CFLAGS  = $(shell $(PKG_CONFIG) --cflags libnotify 2>/dev/null)
NOTIFY_LIBS    = $(shell $(PKG_CONFIG) --libs libnotify 2>/dev/null)
GIO_CFLAGS     = $(shell $(PKG_CONFIG) --cflags gio-2.0 2>/dev/null)
GIO_LIBS       = $(shell $(PKG_CONFIG) --libs gio-2.0 2>/dev/null)

# WITH_NOTIFY=no leaves questfs-notify and the tests' notification
# service out whatever is installed (the desktop tests then take them from
# build/); WITH_NOTIFY=yes fails without libnotify.
WITH_NOTIFY   ?= auto
ifeq ($(WITH_NOTIFY),no)
DESKTOP_PROGS :=
DESKTOP_TEST_TOOLS :=
else
DESKTOP_PROGS := $(if $(call have_pkg,libnotify),$(BUILD)/questfs-notify)
DESKTOP_TEST_TOOLS := $(if $(call have_pkg,gio-2.0),$(BUILD)/tests/notify-recorder)
ifeq ($(WITH_NOTIFY)$(DESKTOP_PROGS),yes)
$(error WITH_NOTIFY=yes: library 'libnotify' not found by '$(PKG_CONFIG)': install libnotify-dev)
endif
endif

all: $(DESKTOP_PROGS)
test-progs: $(DESKTOP_TEST_TOOLS)
check-mounted: $(DESKTOP_PROGS) $(DESKTOP_TEST_TOOLS)

$(BUILD)/tools/questfs-notify.o: tools/questfs-notify.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(DEPFLAGS) $(NOTIFY_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/questfs-notify: $(BUILD)/tools/questfs-notify.o $(BUILD)/libquestcore.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(NOTIFY_LIBS) $(LDLIBS_CORE)

$(BUILD)/tests/fixtures/notify-recorder.o: tests/fixtures/notify-recorder.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(GIO_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/notify-recorder: $(BUILD)/tests/fixtures/notify-recorder.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(GIO_LIBS)

# The autostart entry goes where the XDG autostart specification has
# sessions look ($XDG_CONFIG_DIRS/autostart, /etc/xdg/autostart), whatever
# PREFIX is: /usr/local/etc/xdg is read by no session.
AUTOSTARTDIR ?= /etc/xdg/autostart

.PHONY: install-desktop uninstall-desktop
install: install-desktop
uninstall: uninstall-desktop

ifneq ($(DESKTOP_PROGS),)
install-desktop: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(AUTOSTARTDIR) $(DESTDIR)$(MANDIR)/man1
	$(INSTALL) -m 755 $(BUILD)/questfs-notify $(DESTDIR)$(BINDIR)/questfs-notify
	$(INST_SUBST) mount-helper/questfs-notify.desktop >$(DESTDIR)$(AUTOSTARTDIR)/questfs-notify.desktop
	chmod 644 $(DESTDIR)$(AUTOSTARTDIR)/questfs-notify.desktop
	$(INST_SUBST) docs/man/questfs-notify.1 >$(DESTDIR)$(MANDIR)/man1/questfs-notify.1
	chmod 644 $(DESTDIR)$(MANDIR)/man1/questfs-notify.1
else
install-desktop:
	@echo "install: no libnotify for $(PKG_CONFIG): questfs-notify is not installed"
endif

uninstall-desktop:
	rm -f $(DESTDIR)$(BINDIR)/questfs-notify $(DESTDIR)$(MANDIR)/man1/questfs-notify.1
	rm -f $(DESTDIR)$(AUTOSTARTDIR)/questfs-notify.desktop

# CPU time of questfs-notify over an idle minute (IDLE_S seconds)
.PHONY: bench-notify
bench-notify: $(BUILD)/questfs $(BUILD)/questfs-notify
	@bash bench/notify-idle.sh

# Thunar's drop to the Quest side, single drops and 20 at once
.PHONY: bench-desktop
bench-desktop: all
	@bash bench/thunar-drop.sh
