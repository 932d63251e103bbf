#!/usr/bin/env python3
"""Concatenates classic pcap files in time: each input follows the previous one, its
timestamps shifted so it starts GAP seconds after the previous input ended.

Used to make the scale benchmarks of issue 18 from ../shared/bench/gen.sh's captures:

    benches/scale/concat.py -o manyflows-x4.pcap manyflows.pcap manyflows.pcap manyflows.pcap manyflows.pcap
    benches/scale/concat.py -o big5g.pcap $(for i in 1 2 3 4 5 6 7; do echo manyflows.pcap web.pcap; done)

The gap (default 10 s, above the flow table's 5 s memory of closed tuples) makes a
repeated 4-tuple a new connection rather than a port reuse, as a capture that simply
went on would. Inputs must share one link type and timestamp precision (the first
input's header is written); pcapng is not supported (convert with editcap -F pcap).
Streams records in 8 MiB reads: memory stays flat whatever the size.
"""
import argparse
import struct
import sys

MAGICS = {
    0xA1B2C3D4: ("<", 1_000_000),
    0xA1B23C4D: ("<", 1_000_000_000),
    0xD4C3B2A1: (">", 1_000_000),
    0x4D3CB2A1: (">", 1_000_000_000),
}


def header(f, path):
    h = f.read(24)
    if len(h) < 24:
        sys.exit(f"{path}: shorter than a pcap header")
    (magic,) = struct.unpack("<I", h[:4])
    if magic not in MAGICS:
        sys.exit(f"{path}: not a classic pcap file (magic {magic:#x})")
    endian, ticks = MAGICS[magic]
    (link,) = struct.unpack(endian + "I", h[20:24])
    return h, endian, ticks, link


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--gap", type=float, default=10.0, help="seconds between inputs")
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()
    shift = 0  # ticks added to the current input
    next_start = None  # earliest start (ticks) for the next input
    first = None
    total = 0
    with open(a.out, "wb") as out:
        for path in a.inputs:
            with open(path, "rb") as f:
                h, endian, ticks, link = header(f, path)
                if first is None:
                    first = (endian, ticks, link)
                    out.write(h)
                elif first != (endian, ticks, link):
                    sys.exit(f"{path}: byte order, precision or link type differs from the first input")
                rec = struct.Struct(endian + "IIII")
                buf = b""
                pos = 0
                shift_set = False
                last = 0
                chunks = []
                while True:
                    data = f.read(8 << 20)
                    buf = buf[pos:] + data
                    pos = 0
                    while len(buf) - pos >= 16:
                        sec, frac, incl, orig = rec.unpack_from(buf, pos)
                        if len(buf) - pos < 16 + incl:
                            break
                        t = sec * ticks + frac
                        if not shift_set:
                            shift = 0 if next_start is None else next_start - t
                            shift_set = True
                        t += shift
                        last = max(last, t)
                        chunks.append(rec.pack(t // ticks, t % ticks, incl, orig))
                        chunks.append(buf[pos + 16 : pos + 16 + incl])
                        pos += 16 + incl
                        total += 1
                    out.write(b"".join(chunks))
                    chunks.clear()
                    if not data:
                        if len(buf) - pos:
                            print(f"{path}: {len(buf) - pos} trailing bytes of a cut record skipped", file=sys.stderr)
                        break
                next_start = last + int(a.gap * ticks)
    print(f"{a.out}: {total} packets from {len(a.inputs)} inputs", file=sys.stderr)


if __name__ == "__main__":
    main()
