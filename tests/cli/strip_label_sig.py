#!/usr/bin/env python3
"""Test helper: make a tape image look as a tapevault from before writer
signatures wrote it (docs/FORMAT.md 9.2, 9.4), independent of tapevault's code.

  strip_label_sig.py IMAGE [--catalog]

removes the writer signature (tag 7, the body's last item) from the media
set label (tape file 1, record 0) of a plaintext tape, and recomputes the
content header's and the record's CRC32C, as an older writer would have
written them.  With --catalog, the tape's catalog files (the tape files
after the data files holding a catalog content header) are also dropped,
so a reader must scan the data files; without it they stay, signed.
"""
import struct, sys

TABLE = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    TABLE.append(c)

def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF

def parse(data):
    files, cur, pos = [], [], 0
    while pos + 4 <= len(data):
        (n,) = struct.unpack_from("<I", data, pos)
        if n == 0:
            files.append(cur); cur = []; pos += 4; continue
        if n == 0xFFFFFFFF:
            break
        ln = n & 0x7FFFFFFF
        cur.append(bytes(data[pos + 4:pos + 4 + ln]))
        pos += 4 + ln + (ln & 1) + 4
    return files, cur

def build(files, tail):
    b = bytearray()
    for f in files + ([tail] if tail else []):
        for r in f:
            b += struct.pack("<I", len(r)) + r + (b"\0" if len(r) & 1 else b"") + struct.pack("<I", len(r))
        if f is not tail:
            b += b"\0\0\0\0"
    return bytes(b)

def strip(rec):
    if rec[:4] != b"TVR2" or rec[4] & 0x04:
        sys.exit("not a plaintext tapevault v2 label record")
    hdr = rec[32:]
    if hdr[:4] != b"TVC2":
        sys.exit("no content header")
    (blen,) = struct.unpack_from(">I", hdr, 32)
    body = hdr[40:40 + blen]
    items, off = [], 0
    while off < len(body):
        tag, ln = struct.unpack_from(">HI", body, off)
        items.append((tag, body[off:off + 6 + ln])); off += 6 + ln
    if not items or items[-1][0] != 7:
        sys.exit("the media set label carries no writer signature")
    nb = b"".join(i for t, i in items if t != 7)
    ch = bytearray(hdr[:40]) + nb
    struct.pack_into(">I", ch, 32, len(nb))
    struct.pack_into(">I", ch, 36, crc32c(bytes(ch[40:]), crc32c(bytes(ch[:36]))))
    r = bytearray(rec[:32]) + ch
    struct.pack_into(">I", r, 8, len(ch))
    struct.pack_into(">I", r, 28, crc32c(bytes(r[32:]), crc32c(bytes(r[:28]))))
    return bytes(r)

CATALOG = bytes.fromhex("46feb78561a2e42e")

def main():
    img = sys.argv[1]
    files, tail = parse(open(img, "rb").read())
    files[1][0] = strip(files[1][0])
    if "--catalog" in sys.argv[2:]:
        files = files[:2] + [f for f in files[2:] if not (f and f[0][32 + 8:32 + 16] == CATALOG)]
    open(img, "wb").write(build(files, tail))

main()
