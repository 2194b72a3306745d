#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Writes a spool journal file (format 2, docs/PROTOCOL.md) holding the
jobs given, each with a packet header of the test's choosing, so that the
mounted tests can plant what a damaged disk or a hostile writer would.

usage: mkjournal.py OUT [--cut N] JOB...
  JOB = id:name:args:image-file[:argv_size:binary_size]
  --cut N  keep only the first N bytes of the file
"""
import struct
import sys
import time
import zlib

SALT = 0x5A17_5A17_1234_5678


def record(rtype, rid, meta, image=b""):
    h = b"QREC" + struct.pack("<HHIIQII", rtype, 0, 1, len(meta), rid,
                              len(image), 0) + b"\0\0\0\0"
    crc = zlib.crc32(h[:36], zlib.crc32(struct.pack("<Q", SALT)))
    crc = zlib.crc32(meta, crc)
    h = h[:36] + struct.pack("<I", crc)
    return h + meta + image + b"QEND" + struct.pack("<I", crc)


def job(spec):
    parts = spec.split(":")
    rid, name, args, path = int(parts[0]), parts[1], parts[2], parts[3]
    image = open(path, "rb").read()
    argv_size = int(parts[4], 0) if len(parts) > 4 else len(name) + 1
    binary_size = int(parts[5], 0) if len(parts) > 5 else len(image)
    argv = (name.encode() + b"\0").ljust(80, b"\0")[:80]
    hdr = struct.pack("<i", argv_size) + argv + struct.pack("<I", binary_size)
    n, a = name.encode(), args.encode()
    meta = (struct.pack("<qI", int(time.time() * 1000), len(n)) + n +
            struct.pack("<I", len(a)) + a + hdr + struct.pack("<I", 0))
    return record(1, rid, meta, image)


def main():
    out, args, cut = sys.argv[1], sys.argv[2:], None
    if args[:1] == ["--cut"]:
        cut, args = int(args[1]), args[2:]
    data = b"QFSSPOOL" + struct.pack("<IIQ", 2, 1, SALT)
    for spec in args:
        data += job(spec)
    if cut is not None:
        data = data[:cut]
    with open(out, "wb") as f:
        f.write(data)


main()
