"""Helper of extract-streams.sh: tshark fields on stdin -> per-stream fixtures."""
import sys
from decimal import Decimal

MAX = 200_000
cap, out = sys.argv[1], sys.argv[2]
streams = {}
for line in sys.stdin:
    f = line.rstrip("\n").split("\t")
    if len(f) < 13 or not f[2]:
        continue
    frame, ts, st, ip4, ip6, sport, seq, ln, syn, ack, fin, rst, payload = f[:13]
    src = (ip4 or ip6) + ":" + sport
    payload = bytes.fromhex(payload.replace(":", ""))
    ts_ns = int(Decimal(ts) * 1_000_000_000)
    s = streams.setdefault(int(st), {"client": None, "first": src, "frames": []})
    if syn == "1" and ack == "0" and s["client"] is None:
        s["client"] = src
    s["frames"].append((int(frame), ts_ns, src, int(seq), int(ln or 0), syn == "1",
                        fin == "1" or rst == "1", payload))

def looks(b):
    return b[:1] == b"\x16" or any(b.startswith(m) for m in
        (b"GET ", b"POST ", b"HEAD ", b"PUT ", b"OPTIONS ", b"CONNECT ", b"DELETE ", b"HTTP/1."))

for st, s in sorted(streams.items()):
    client = s["client"] or s["first"]
    nxt = {"c": None, "s": None}
    data = {"c": bytearray(), "s": bytearray()}
    events = []
    for frame, ts, src, seq, ln, syn, fin, payload in s["frames"]:
        d = "c" if src == client else "s"
        if syn:
            nxt[d] = (seq + 1) & 0xFFFFFFFF
        if ln and payload:
            if nxt[d] is None:
                nxt[d] = seq
            delta = (seq - nxt[d]) & 0xFFFFFFFF
            if delta >= 0x80000000:  # starts before next expected byte
                back = 0x100000000 - delta
                if back >= len(payload):
                    payload = b""  # pure retransmission
                else:
                    payload = payload[back:]
                    seq = nxt[d]
                delta = 0
            if payload:
                if delta > 0:
                    events.append(f"G {frame} {d} {delta} {ts}")
                events.append(f"P {frame} {d} {len(data[d])} {len(payload)} {ts}")
                data[d] += payload
                nxt[d] = (seq + len(payload)) & 0xFFFFFFFF
        if fin:
            events.append(f"F {frame} {d} {ts}")
    total = len(data["c"]) + len(data["s"])
    if total == 0 or total > MAX:
        if total:
            print(f"skip {cap} stream {st}: {total} bytes", file=sys.stderr)
        continue
    if not (looks(bytes(data["c"][:8])) or looks(bytes(data["s"][:8]))):
        continue
    base = f"{out}/{cap.replace('/', '__')}--{st}"
    open(base + ".c2s.bin", "wb").write(data["c"])
    open(base + ".s2c.bin", "wb").write(data["s"])
    open(base + ".idx", "w").write("\n".join(events) + "\n")
