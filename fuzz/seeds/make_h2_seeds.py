#!/usr/bin/env python3
"""Builds the seed corpora of the HTTP/2 targets in fuzz/corpus/{h2_frames,hpack}/.

Run from fuzz/: python3 seeds/make_h2_seeds.py
Needs tshark (only here: the committed corpus and the tests never do).
* h2_frames: each TCP connection of tests/data/h2/h2c.pcap as the target's layout
  (flags 0, u16 LE client length, 4 seed bytes, client stream, server stream), plus one
  with the preface left to the flag and the streams cut short.
* hpack: the RFC 7541 Appendix C.3-C.6 block sequences (table setting 4096 or 256) and
  a few hostile blocks, in the target's layout (u32 LE setting, u16 LE length + block).
"""
import os, struct, subprocess

PCAP = "../tests/data/h2/h2c.pcap"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

def put(target, name, data):
    d = os.path.join("corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

rows = subprocess.run(["tshark", "-r", PCAP, "-Y", "tcp.len > 0", "-T", "fields", "-E", "separator=|",
                       "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.payload"],
                      capture_output=True, text=True).stdout.splitlines()
streams = {}
for r in rows:
    s, port, hexb = r.split("|")
    c, srv = streams.setdefault(s, [b"", b""])
    if port == "18089":
        streams[s][1] += bytes.fromhex(hexb)
    else:
        streams[s][0] += bytes.fromhex(hexb)
for s, (c, srv) in sorted(streams.items()):
    assert len(c) < 65536
    put("h2_frames", f"h2c-conn{s}", bytes([0]) + struct.pack("<H", len(c)) + bytes([1, 2, 3, int(s)]) + c + srv)
c, srv = streams["0"]
c = c[len(PREFACE):300]
put("h2_frames", "h2c-conn0-preface-flag-short", bytes([1]) + struct.pack("<H", len(c)) + b"\x07\x00\x00\x00" + c + srv[:500])

def blocks(setting, hexes):
    out = struct.pack("<I", setting)
    for h in hexes:
        b = bytes.fromhex(h.replace(" ", ""))
        out += struct.pack("<H", len(b)) + b
    return out

put("hpack", "rfc7541-c3", blocks(4096, [
    "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    "8286 84be 5808 6e6f 2d63 6163 6865",
    "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65"]))
put("hpack", "rfc7541-c4", blocks(4096, [
    "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
    "8286 84be 5886 a8eb 1064 9cbf",
    "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"]))
put("hpack", "rfc7541-c5", blocks(256, [
    "3fe1 01 4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    "4803 3330 37c1 c0bf"]))
put("hpack", "rfc7541-c6", blocks(256, [
    "3fe1 01 4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
    "4883 640e ffc1 c0bf"]))
put("hpack", "hostile", blocks(0xffffffff, [
    "3fff ffff 0f82", "80", "ffff ffff ffff 7f", "4084 ffff ffff 00", "0082 3fff 00", "8220",
    "3fc2 ff03 4001 78 7f81 17" + "61" * 200 + "be" * 100]))
