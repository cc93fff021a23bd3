#!/usr/bin/env python3
"""Test helper: poke at SIMH .tap images (independent of tapevault's code).

  simh.py list IMAGE                 tape files and their record sizes
  simh.py flip IMAGE FILE REC [OFF [fix]]
                                     flip one bit of record REC of tape file FILE
                                     (OFF bytes into the record, default: middle);
                                     with "fix", recompute the record's CRC32C
                                     (and the content header's, in record 0) as an
                                     attacker would (format v2 layouts)
  simh.py cut IMAGE BYTES            truncate the image (power loss)
  simh.py replace-file IMAGE FILE FROM OUT
                                     OUT = IMAGE with its tape file FILE replaced by
                                     tape file FILE of FROM
  simh.py append-files IMAGE FROM FIRST COUNT
                                     append tape files FIRST.. of FROM to IMAGE,
                                     renumbering their records (file number, CRC)
                                     to their new place, as an attacker would
"""
import struct, sys

def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF

TABLE = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    TABLE.append(c)

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

def parse(data):
    """[[record bytes, ...] per tape file], records after the last filemark"""
    files, cur = [], []
    for kind, f, r, off, ln in records(data):
        if kind == "fm":
            files.append(cur); cur = []
        else:
            cur.append(bytes(data[off:off + ln]))
    return files, cur

def build(files, tail):
    b = bytearray()
    for f in files:
        for r in f:
            b += struct.pack("<I", len(r)) + r + (b"\0" if len(r) & 1 else b"") + struct.pack("<I", len(r))
        b += b"\0\0\0\0"
    for r in tail:
        b += struct.pack("<I", len(r)) + r + (b"\0" if len(r) & 1 else b"") + struct.pack("<I", len(r))
    return bytes(b)

def fix_record(rec, seq_zero_header=True):
    """Recompute a v2 record's CRCs: the content header's in record 0, then the record's."""
    rec = bytearray(rec)
    if len(rec) >= 32 + 40 and rec[16:24] == b"\0" * 8 and rec[32:36] == b"TVC2":
        (blen,) = struct.unpack_from(">I", rec, 32 + 32)
        hdr = rec[32:32 + 40 + blen]
        c = crc32c(bytes(hdr[:36]))
        c = crc32c(bytes(hdr[40:40 + blen]), c)
        struct.pack_into(">I", rec, 32 + 36, c)
    c = crc32c(bytes(rec[:28]))
    c = crc32c(bytes(rec[32:]), c)
    struct.pack_into(">I", rec, 28, c)
    return bytes(rec)

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
                if len(sys.argv) > 6 and sys.argv[6] == "fix":
                    data[off:off + ln] = fix_record(data[off:off + ln])
                open(img, "r+b").write(data)
                print(off + o)
                return
        sys.exit("no such record")
    elif cmd == "cut":
        with open(img, "r+b") as fh:
            fh.truncate(int(sys.argv[3]))
    elif cmd == "replace-file":
        n, src, out = int(sys.argv[3]), sys.argv[4], sys.argv[5]
        fa, ta = parse(data)
        fb, _ = parse(bytearray(open(src, "rb").read()))
        fa[n] = fb[n]
        open(out, "wb").write(build(fa, ta))
    elif cmd == "append-files":
        src, first, count = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        fa, ta = parse(data)
        fb, _ = parse(bytearray(open(src, "rb").read()))
        for f in fb[first:first + count]:
            new = []
            for r in f:
                r = bytearray(r)
                struct.pack_into(">I", r, 12, len(fa))
                new.append(fix_record(r))
            fa.append(new)
        open(img, "wb").write(build(fa, ta))
    else:
        sys.exit(__doc__)

main()
