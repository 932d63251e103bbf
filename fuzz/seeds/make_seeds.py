#!/usr/bin/env python3
"""Builds the seed corpora in fuzz/corpus/<target>/ from the shared captures.

Run from fuzz/: python3 seeds/make_seeds.py ../../shared/captures
Needs tshark (only here: the committed corpus and the tests never do). Each seed is a
real input cut from a named capture, so fuzzing starts from well-formed bytes.
"""
import os, struct, subprocess, sys

cap = sys.argv[1] if len(sys.argv) > 1 else "../../shared/captures"
out = "corpus"

def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def fields(path, filt, *fs):
    r = subprocess.run(["tshark", "-r", path, "-Y", filt, "-T", "fields", "-E", "separator=|"]
                       + sum((["-e", f] for f in fs), []), capture_output=True, text=True)
    return [l.split("|") for l in r.stdout.splitlines() if l]

# Readers: small real files of every format and byte order.
for rel in ["zeek/empty.pcap", "tcpdump/tcp_rst_diag_payload.pcap", "tcpdump/LINKTYPE_RAW_ipv4.pcap",
            "pcap-parser/modified-format.pcap", "tcpdump/802.1ad_QinQ.pcap", "tcpdump/tcp-handshake-nano.pcap",
            "pcapng-test-generator/test006.pcapng", "pcapng-test-generator/test009.pcapng",
            "zeek/pcapng-multi-interface.pcapng", "pcap-parser/test001-be.pcapng", "zeek/linux_dlt_sll2.pcap"]:
    put("pcap_reader", rel.replace("/", "_"), open(os.path.join(cap, rel), "rb").read())

# Layers 2-4: first byte selects the link type (index into LINKS in src/lib.rs).
LINK = {1: 0, 0: 1, 101: 2, 108: 3, 113: 4, 276: 5, 228: 6, 229: 7, 9: 9, 51: 10, 105: 11, 127: 12}
for rel in ["tcpdump/802.1ad_QinQ.pcap", "zeek/ipv4-fragmented-4.pcap", "tcpdump/ipv6-routing-header.pcap",
            "tcpdump/icmpv6.pcap", "zeek/linux_dlt_sll2.pcap", "tcpdump/LINKTYPE_IPV6.pcap",
            "tcpdump/LINKTYPE_RAW_ipv4.pcap", "tcpdump/dns_tcp.pcap"]:
    rows = fields(os.path.join(cap, rel), "frame", "frame.number", "pcap.linktype", "frame.raw") or []
    data = open(os.path.join(cap, rel), "rb").read()
    # Frame bytes straight from the pcap records (pcap only here).
    magic = struct.unpack("<I", data[:4])[0]
    e = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    link = struct.unpack(e + "I", data[20:24])[0]
    off, n = 24, 0
    while off + 16 <= len(data) and n < 3:
        caplen = struct.unpack(e + "I", data[off + 8:off + 12])[0]
        frame = data[off + 16:off + 16 + caplen]
        put("decode_l2_l4", f"{rel.replace('/', '_')}-{n+1}", bytes([LINK.get(link, 0)]) + frame)
        off += 16 + caplen
        n += 1

def tunnel_seeds():
    """Tunnels and link encapsulations: the first 3 frames of each capture in
    tests/data/tunnels (pcap files, read here without tshark)."""
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "tunnels")
    for t in sorted(os.listdir(d)):
        if not t.endswith(".pcap"):
            continue
        data = open(os.path.join(d, t), "rb").read()
        magic = struct.unpack("<I", data[:4])[0]
        e = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
        link = struct.unpack(e + "I", data[20:24])[0]
        off, n = 24, 0
        while off + 16 <= len(data) and n < 3:
            caplen = struct.unpack(e + "I", data[off + 8:off + 12])[0]
            frame = data[off + 16:off + 16 + caplen]
            put("decode_l2_l4", f"tunnels_{t}-{n+1}", bytes([LINK.get(link, 0)]) + frame)
            off += 16 + caplen
            n += 1

tunnel_seeds()

# DNS messages (UDP payloads).
for rel in ["tcpdump/dns_udp.pcap", "tcpdump/dnssec.pcap", "zeek/dns-https.pcap", "tcpdump/edns-opts.pcap",
            "suricata-verify/dns-additionals-with-cname.pcap"]:
    for i, (num, p) in enumerate(fields(os.path.join(cap, rel), "udp.port==53", "frame.number", "udp.payload")[:4]):
        put("dns", f"{rel.replace('/', '_')}-frame{num}", bytes.fromhex(p))

def streams(rel, port):
    """Client and server byte streams of the first TCP connection on `port`."""
    c, s = b"", b""
    for src, p in fields(os.path.join(cap, rel), f"tcp.port=={port} && tcp.len>0 && tcp.stream==0",
                         "tcp.srcport", "tcp.payload"):
        if int(src) == port:
            s += bytes.fromhex(p)
        else:
            c += bytes.fromhex(p)
    return c, s

# HTTP and TLS: 4 seed bytes for the splits, client bytes, \0\0, server bytes.
for rel in ["zeek/http-post.pcap", "zeek/http-pipelined-requests.pcap", "suricata-verify/http-event-chunk.pcap",
            "zeek/http-get-gzip.pcap", "zeek/http-docker-http-upgrade.pcap"]:
    c, s = streams(rel, 80)
    put("http_stream", rel.replace("/", "_"), b"\x01\x02\x03\x04" + c[:8000] + b"\0\0" + s[:8000])
for rel in ["zeek/tls-chrome-34-google.pcap", "suricata-verify/tls_DER-incomplete-header.pcap"]:
    c, s = streams(rel, 443)
    put("tls_hello", rel.replace("/", "_"), b"\x05\x06\x07\x08" + c[:6000] + b"\0\0" + s[:6000])

# Display filters.
for i, f in enumerate(["ip.addr == 198.18.0.10 && tcp.port == 80", "http.request.method == \"GET\"",
                       "dns.qry.name contains \"example\" || !udp", "tcp.flags.syn == 1 and tcp.flags.ack == 0",
                       "frame.len > 100 && ip.ttl in {64 128}", "ipv6.src == fe80::1", "eth.addr == 00:11:22:33:44:55"]):
    put("display_filter", f"filter{i}", f.encode())

# Reassembly: 8-byte segment descriptors (see reassembly() in src/lib.rs): a handshake,
# data out of order, a retransmission, FINs.
def seg(flags, to_server, seq, ln, ack=0):
    return bytes([flags, 0 if to_server else 1]) + struct.pack("<I", seq)[:3] + struct.pack("<H", ln) + bytes([ack])
put("reassembly", "handshake-ooo", seg(2, 1, 0, 0) + seg(0x12, 0, 0, 0) + seg(0x10, 1, 1, 0)
    + seg(0x18, 1, 101, 100) + seg(0x18, 1, 1, 100) + seg(0x18, 1, 1, 100) + seg(0x11, 1, 201, 0) + seg(0x11, 0, 1, 0))

# Pipeline: first byte link (0x00 Ethernet, 0x80 raw IP), then (u16 length, bytes) packets.
for rel in ["zeek/http-post.pcap", "tcpdump/dns_udp.pcap", "zeek/ipv4-fragmented-4.pcap"]:
    data = open(os.path.join(cap, rel), "rb").read()
    off, blob = 24, b"\x00"
    while off + 16 <= len(data):
        caplen = struct.unpack("<I", data[off + 8:off + 12])[0]
        frame = data[off + 16:off + 16 + caplen]
        blob += struct.pack("<H", len(frame)) + frame
        off += 16 + caplen
    put("pipeline", rel.replace("/", "_"), blob)
