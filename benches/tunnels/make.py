#!/usr/bin/env python3
# Usage: make.py COPIES SOURCE.pcap   (writes plain.pcap and vxlan.pcap here)
# Repeats the source capture (Ethernet) N times (timestamps shifted 120 s per copy) into
# plain.pcap, and the same frames wrapped in VXLAN (VNI 42, outer 198.18.60.11 ->
# 198.18.60.21, UDP 4789) into vxlan.pcap: the tunnel's decoding cost on equal traffic.
import struct, sys
N = int(sys.argv[1])
src = open(sys.argv[2], 'rb').read()
magic, vmaj, vmin, tz, sig, snap, link = struct.unpack('<IHHiIII', src[:24])
assert magic in (0xa1b2c3d4, 0xa1b23c4d) and link == 1
recs = []
off = 24
while off + 16 <= len(src):
    ts, us, incl, orig = struct.unpack('<IIII', src[off:off+16])
    recs.append((ts, us, src[off+16:off+16+incl], orig))
    off += 16 + incl
hdr = struct.pack('<IHHiIII', magic, 2, 4, 0, 0, 262144, 1)
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b)//2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return (~s) & 0xffff
with open('plain.pcap', 'wb') as p, open('vxlan.pcap', 'wb') as v:
    p.write(hdr); v.write(hdr)
    for i in range(N):
        for ts, us, data, orig in recs:
            t = ts + 120 * i
            p.write(struct.pack('<IIII', t, us, len(data), orig)); p.write(data)
            vx = struct.pack('!BBHI', 8, 0, 0, 42 << 8) + data
            udp = struct.pack('!HHHH', 40000 + (hash(data[26:38]) & 0xfff), 4789, 8 + len(vx), 0) + vx
            ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                             bytes([198, 18, 60, 11]), bytes([198, 18, 60, 21]))
            ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
            frame = bytes.fromhex('020000000002020000000001') + b'\x08\x00' + ip + udp
            v.write(struct.pack('<IIII', t, us, len(frame), orig + 50)); v.write(frame)
