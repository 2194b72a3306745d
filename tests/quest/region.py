#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A raw sender on a vshm: region (docs/PROTOCOL.md §3b), for the Quest
receiver's fault cases in check-quest: it writes what questfs never would.
It takes the senders' lock (an OFD write lock on byte 0) like questfs, so a
mounted questfs waits meanwhile. Every wait has a deadline.

  region.py PATH bad KIND          a FULL packet with one defect; prints
                                   "RESULT CODE REASON" of the answer
      KIND: binsize (binary_size + 88 != len), argvsize (argv_size 81),
            argvnul (argv not NUL-terminated), emptybin (binary_size 0)
  region.py PATH badlen COM1       FULL with len > slot_size: the receiver
                                   must not take it; waits for its COM1
                                   line, then withdraws the packet
  region.py PATH taken DEADLINE_S  leaves the slot TAKEN with the next
                                   packet (as a Quest side that vanished
                                   would), keeps the lock, and waits up to
                                   DEADLINE_S for a receiver to answer it;
                                   prints "SEQ RESULT CODE REASON"
Exit status 0, or 1 with a message on stderr."""
import fcntl
import mmap
import os
import struct
import sys
import time

MAGIC = 0x31535651
EMPTY, FULL, TAKEN, ANSWERED = 0, 1, 2, 3
F_OFD_SETLK = 37
DEADLINE_S = 20


def die(msg):
    sys.stderr.write("region.py: %s\n" % msg)
    sys.exit(1)


class Region:
    def __init__(self, path):
        self.fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
        self.m = mmap.mmap(self.fd, os.fstat(self.fd).st_size)
        if self.u32(20) != MAGIC:
            die("%s holds no initialised vshm header" % path)
        self.slot = self.u32(12)
        self.end = time.monotonic() + DEADLINE_S

    def u32(self, off):
        return struct.unpack_from("<I", self.m, off)[0]

    def put(self, off, v):
        struct.pack_into("<I", self.m, off, v & 0xFFFFFFFF)

    def wait(self, what, cond):
        while not cond():
            if time.monotonic() >= self.end:
                die("deadline of %d s passed waiting for %s (state %d)"
                    % (DEADLINE_S, what, self.u32(64)))
            time.sleep(0.002)

    def lock(self):
        # struct flock: l_type, l_whence, l_start, l_len, l_pid (0 for OFD)
        fl = struct.pack("@hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 1, 0)
        while True:
            try:
                fcntl.fcntl(self.fd, F_OFD_SETLK, fl)
                return
            except OSError:
                if time.monotonic() >= self.end:
                    die("the senders' lock stayed taken for %d s" % DEADLINE_S)
                time.sleep(0.002)

    def take_empty_slot(self):
        self.lock()
        self.wait("an empty slot", lambda: self.u32(64) in (EMPTY, ANSWERED))
        self.put(64, EMPTY)

    def next_seq(self):
        seq = (self.u32(68) + 1) & 0xFFFFFFFF
        return seq or 1

    def full(self, packet, seq, length=None):
        self.m[4096:4096 + len(packet)] = packet
        self.put(72, len(packet) if length is None else length)
        self.put(68, seq)
        self.put(64, FULL)

    def answer(self, seq):
        self.wait("the answer to packet %d" % seq,
                  lambda: self.u32(64) == ANSWERED and self.u32(152) == seq)
        code = struct.unpack_from("<i", self.m, 160)[0]
        n = min(self.u32(164), 255)
        reason = self.m[192:192 + n].decode("latin-1")
        print(self.u32(156), code, reason)
        self.put(64, EMPTY)


def packet(argv_size, argv, binary):
    return (struct.pack("<i", argv_size) + argv.ljust(80, b"\0")[:80]
            + struct.pack("<I", len(binary)) + binary)


def main(argv):
    if len(argv) < 3:
        die("usage: see the header of region.py")
    r = Region(argv[1])
    op = argv[2]
    elf = b"\x7fELF" + bytes(60)
    if op == "bad":
        kind = argv[3]
        r.take_empty_slot()
        seq = r.next_seq()
        if kind == "binsize":
            p = packet(4, b"bad", elf)
            p = p[:84] + struct.pack("<I", len(elf) + 1) + p[88:]
        elif kind == "argvsize":
            p = packet(81, b"bad", elf)
        elif kind == "argvnul":
            p = packet(3, b"bad", elf)
        elif kind == "emptybin":
            p = packet(4, b"bad", b"")
        else:
            die("unknown defect " + kind)
        r.full(p, seq)
        r.answer(seq)
    elif op == "badlen":
        com1 = argv[3]
        r.take_empty_slot()
        seq = r.next_seq()
        r.full(packet(4, b"bad", elf), seq, length=r.slot + 1)
        want = b"FULL packet %d with len %d out of" % (seq, r.slot + 1)
        r.wait("Quest's COM1 line about packet %d" % seq,
               lambda: want in open(com1, "rb").read())
        if r.u32(64) != FULL:
            die("the receiver changed the slot to state %d" % r.u32(64))
        r.put(64, EMPTY)
        print("not taken")
    elif op == "taken":
        r.take_empty_slot()
        seq = r.next_seq()
        r.full(packet(4, b"old", elf), seq)
        r.put(64, TAKEN)
        sys.stdout.write("%d " % seq)
        r.end = time.monotonic() + float(argv[3])
        r.answer(seq)
    else:
        die("unknown operation " + op)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
