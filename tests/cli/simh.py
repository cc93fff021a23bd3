#!/usr/bin/env python3
"""Test helper: poke at SIMH .tap images (independent of tapevault's code).

  simh.py list IMAGE                 tape files and their record sizes
  simh.py flip IMAGE FILE REC [OFF]  flip one byte of record REC of tape file FILE
                                     (OFF bytes into the record, default: middle)
  simh.py cut IMAGE BYTES            truncate the image (power loss)
"""
import struct, sys

def records(data):
    pos, fileno, rec = 0, 0, 0
    while pos + 4 <= len(data):
        (n,) = struct.unpack_from("<I", data, pos)
        if n == 0:
            yield ("fm", fileno, rec, pos, 0)
            fileno += 1; rec = 0; pos += 4; continue
        if n == 0xFFFFFFFF:
            return
        ln = n & 0x7FFFFFFF
        yield ("rec", fileno, rec, pos + 4, ln)
        rec += 1
        pos += 4 + ln + (ln & 1) + 4

def main():
    cmd, img = sys.argv[1], sys.argv[2]
    data = bytearray(open(img, "rb").read())
    if cmd == "list":
        for kind, f, r, off, ln in records(data):
            print(kind, f, r, off, ln)
    elif cmd == "flip":
        want_f, want_r = int(sys.argv[3]), int(sys.argv[4])
        for kind, f, r, off, ln in records(data):
            if kind == "rec" and f == want_f and r == want_r:
                o = int(sys.argv[5]) if len(sys.argv) > 5 else ln // 2
                data[off + o] ^= 0x01
                open(img, "r+b").write(data)
                print(off + o)
                return
        sys.exit("no such record")
    elif cmd == "cut":
        with open(img, "r+b") as fh:
            fh.truncate(int(sys.argv[3]))
    else:
        sys.exit(__doc__)

main()
