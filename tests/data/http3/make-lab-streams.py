#!/usr/bin/env python3
"""Makes tests/data/http3/lab/NAME.streams from the HTTP/3 lab captures
(tests/data/quic/lab/NAME.pcapng + NAME.keys): the decrypted QUIC STREAM frames as
tshark 4.0 shows them with the key log, reassembled per connection, stream and direction
by offset (retransmissions dropped, out-of-order data held until contiguous), one line
per in-order delivery:

    C <client port>                                   a connection starts
    D <c|s> <stream id> <fin 0|1> <hex bytes> <frame>  bytes delivered at frame number
    R <c|s> <stream id> <error code> <frame>          RESET_STREAM / STOP_SENDING

Tests then feed these to proto::http3 and compare with NAME.h3.tsv (the server's own log
of each request), so the HTTP/3 layer is checked on real Chromium and aioquic bytes
without QUIC decryption. Run from the repository root (needs tshark):
    python3 tests/data/http3/make-lab-streams.py
"""
import json
import os
import subprocess

LAB = "tests/data/quic/lab"
OUT = "tests/data/http3/lab"


def frames_of(name):
    out = subprocess.run(
        ["tshark", "-r", f"{LAB}/{name}.pcapng", "-o", f"tls.keylog_file:{LAB}/{name}.keys",
         "-T", "json", "-J", "quic udp frame"],
        check=True, capture_output=True, text=True).stdout
    # Keep repeated keys (several QUIC frames in one packet): pairs, not dicts.
    return json.loads(out, object_pairs_hook=lambda p: p)


def get(pairs, key):
    return [v for k, v in pairs if k == key]


def walk(pairs, key):
    """Every value under `key` at any depth, in order."""
    found = []
    for k, v in pairs:
        if k == key:
            found.append(v)
        elif isinstance(v, list) and v and isinstance(v[0], tuple):
            found.extend(walk(v, key))
    return found


def main():
    os.makedirs(OUT, exist_ok=True)
    # aioquic-retry is left out: tshark 4.0 cannot decrypt it past the Retry (see the
    # lab README), so it has no stream data to give.
    for name in ["aioquic-h3", "chromium-h3"]:
        lines = [f"# {name}: made by tests/data/http3/make-lab-streams.py from "
                 f"tests/data/quic/lab/{name}.pcapng with tshark"]
        conns = {}  # client port -> {(dir, stream): state}
        for pkt in frames_of(name):
            layers = get(get(pkt, "_source")[0], "layers")[0]
            frame_no = int(get(get(layers, "frame")[0], "frame.number")[0])
            if not get(layers, "udp") or not get(layers, "quic"):
                continue
            udp = get(layers, "udp")[0]
            sport = int(get(udp, "udp.srcport")[0])
            dport = int(get(udp, "udp.dstport")[0])
            d, port = ("s", dport) if sport == 443 else ("c", sport)
            if port not in conns:
                conns[port] = {}
                lines.append(f"C {port}")
            for quic in get(layers, "quic"):
                for fr in walk(quic, "quic.frame"):
                    ty = int(get(fr, "quic.frame_type")[0])
                    if 0x08 <= ty <= 0x0f:
                        sid = int(get(fr, "quic.stream.stream_id")[0])
                        off = get(fr, "quic.stream.offset")
                        off = int(off[0]) if off else 0
                        data = get(fr, "quic.stream_data")
                        data = bytes.fromhex(data[0].replace(":", "")) if data else b""
                        fin = ty & 1 == 1
                        st = conns[port].setdefault((d, sid), {"next": 0, "held": {}, "fin": None})
                        if fin:
                            st["fin"] = off + len(data)
                        st["held"][off] = max(st["held"].get(off, b""), data, key=len)
                        out = b""
                        progress = True
                        while progress:
                            progress = False
                            for o in sorted(st["held"]):
                                b = st["held"][o]
                                if o <= st["next"] < o + len(b) or (o == st["next"] and not b):
                                    out += b[st["next"] - o:]
                                    st["next"] = o + len(b)
                                    del st["held"][o]
                                    progress = True
                                    break
                                if o + len(b) <= st["next"]:
                                    del st["held"][o]  # a retransmission
                                    progress = True
                                    break
                        done = st["fin"] is not None and st["next"] >= st["fin"] and not st.get("ended")
                        if out or done:
                            if done:
                                st["ended"] = True
                            lines.append(f"D {d} {sid} {int(done)} {out.hex()} {frame_no}")
                    elif ty in (0x04, 0x05):
                        sid = walk(fr, "quic.rsts.stream_id") or walk(fr, "quic.ss.stream_id")
                        code = (walk(fr, "quic.rsts.application_error_code")
                                or walk(fr, "quic.ss.application_error_code"))
                        if sid and code:
                            lines.append(f"R {d} {int(sid[0])} {int(code[0])} {frame_no}")
        with open(f"{OUT}/{name}.streams", "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
