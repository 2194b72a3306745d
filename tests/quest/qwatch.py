#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Waits on the Quest VM's serial output files, with a deadline, and
watches COM1 for Quest's crash debugger all the while.

  qwatch.py text COM1 COM2 OFFSET TEXT DEADLINE_S [SINCE]
      until TEXT appears in COM2 after byte OFFSET. Prints
      "END FIRST_MS ALL_MS": the offset just past TEXT, and the times from
      SINCE (a time.time() value; default: now) to the first byte after
      OFFSET and to TEXT.
  qwatch.py cp SRC DST COM1 COM2 OFFSET TEXT DEADLINE_S
      copies SRC to DST (as cp does: one open, write, close), then waits
      as "text" does, with SINCE the moment the copy returned: the time
      from cp's return to the program's first byte on COM2, measured
      without a process start in between.
  qwatch.py crash COM1 PID
      for as long as process PID (QEMU) lives: if Quest enters its crash
      debugger, prints its report on stdout and exits 3 (make run-quest).
  qwatch.py com1 COM1 OFFSET TEXT DEADLINE_S
      until TEXT appears in COM1 after byte OFFSET; prints the offset
      just past it.

Exit status: 0 found; 1 deadline passed (what is there goes to stderr);
3 Quest entered its crash debugger: the COM1 lines from its report on go
to stderr, at once, without waiting out the deadline.
Files are polled every 2 ms (serial output is written by QEMU; there is
nothing to wait on but the file's size)."""
import os
import sys
import time

CRASH = b"Entering crash debug"
POLL_S = 0.002


def read_from(path, off):
    try:
        with open(path, "rb") as f:
            f.seek(off)
            return f.read()
    except FileNotFoundError:
        return b""


def crash_report(com1):
    data = read_from(com1, 0)
    at = data.find(CRASH)
    if at < 0:
        return None
    # from the fault's first line (Quest prints registers, then the line)
    lines = data[:at].split(b"\n")
    start = max(0, len(lines) - 16)
    rep = b"\n".join(lines[start:]) + data[at:]
    return rep.decode("latin-1")


def watch_crash(com1, pid):
    while os.path.exists("/proc/%d" % pid):
        rep = crash_report(com1)
        if rep is not None:
            print("\nQuest stopped in its crash debugger; COM1 says:\n" + rep)
            return 3
        time.sleep(0.05)
    return 0


def main(argv):
    mode = argv[1]
    if mode == "crash":
        return watch_crash(argv[2], int(argv[3]))
    if mode == "text":
        com1, path, off, text, deadline = argv[2:7]
        since = float(argv[7]) if len(argv) > 7 else time.time()
    elif mode == "cp":
        src, dst = argv[2:4]
        com1, path, off, text, deadline = argv[4:9]
        with open(src, "rb") as f:
            image = f.read()
        with open(dst, "wb") as f:
            f.write(image)
        since = time.time()
    elif mode == "com1":
        com1, off, text, deadline = argv[2:6]
        path, since = com1, time.time()
    else:
        sys.exit("usage: see the header of qwatch.py")
    off = int(off)
    want = text.encode().decode("unicode_escape").encode("latin-1")
    end = time.monotonic() + float(deadline)
    first = None
    while True:
        data = read_from(path, off)
        if data and first is None:
            first = time.time()
        at = data.find(want)
        if at >= 0:
            done = time.time()
            if mode in ("text", "cp"):
                print(off + at + len(want),
                      round((first - since) * 1000, 1),
                      round((done - since) * 1000, 1))
            else:
                print(off + at + len(want))
            return 0
        rep = crash_report(com1)
        if rep is not None:
            sys.stderr.write("Quest entered its crash debugger; COM1:\n" + rep + "\n")
            return 3
        if time.monotonic() >= end:
            sys.stderr.write("deadline of %s s passed waiting for %r; after byte %d there is: %r\n"
                             % (deadline, text, off, data[-400:].decode("latin-1")))
            return 1
        time.sleep(POLL_S)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
