#!/usr/bin/env python3
"""Makes tests/data/http3/*.streams: real HTTP/3 stream bytes (RFC 9114) with real QPACK
(RFC 9204, pylsqpack's encoder, which uses the dynamic table), written by two aioquic
H3Connections talking over a fake QUIC transport that records every stream write.

Run with the lab venv (tests/setup.sh):
    /opt/wiretale-lab/venv/bin/python tests/data/http3/make-streams.py tests/data/http3

Output: `session.streams`, one delivery per line in the order a capture would show them:
    D <c|s> <stream id> <fin 0|1> <hex bytes>     stream bytes sent by the client or server
    R <c|s> <stream id> <error code>              RESET_STREAM sent by c or s
and `session.truth`, one line per request stream, tab-separated, from what aioquic's
server and client *decoded* (not from what the script meant to send):
    stream method authority path status request_body response_body content_type
    trailers(name=value;...) interim(;-separated) reset_code

Bytes that are not aioquic's own are added by hand, and say so in a comment line (`#`):
a GREASE unidirectional stream (RFC 9114 §6.2.3), a GREASE frame on a request stream and
a GREASE setting (§7.2.8, §7.2.4.1), a GOAWAY (§5.2). One request's HEADERS arrive before
the encoder-stream bytes they need (a blocked stream, RFC 9204 §2.1.2): the script moves
that encoder chunk after the request bytes and checks that pylsqpack's own decoder
reports the section blocked at that point. Some deliveries are split inside frames.
Deterministic apart from nothing: no randomness, no clock.
"""
import sys

import pylsqpack
from aioquic.buffer import encode_uint_var
from aioquic.h3.connection import H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic.events import StreamDataReceived, StreamReset


class Config:
    def __init__(self, is_client):
        self.is_client = is_client


class FakeQuic:
    """The part of aioquic's QuicConnection that H3Connection calls."""

    def __init__(self, is_client):
        self.configuration = Config(is_client)
        self._quic_logger = None
        self._remote_max_datagram_frame_size = None
        self.is_client = is_client
        self.next_bidi = 0 if is_client else 1
        self.next_uni = 2 if is_client else 3
        self.out = []  # (kind, stream, data/code, fin)

    def get_next_available_stream_id(self, is_unidirectional=False):
        if is_unidirectional:
            s = self.next_uni
            self.next_uni += 4
        else:
            s = self.next_bidi
            self.next_bidi += 4
        return s

    def send_stream_data(self, stream_id, data, end_stream=False):
        if data or end_stream:
            self.out.append(("D", stream_id, bytes(data), end_stream))

    def reset_stream(self, stream_id, error_code):
        self.out.append(("R", stream_id, error_code, False))

    def close(self, error_code=0, frame_type=None, reason_phrase=""):
        raise SystemExit(f"H3 closed the connection: {error_code:#x} {reason_phrase}")

    def send_datagram_frame(self, data):
        pass


def frame(t, payload):
    return encode_uint_var(t) + encode_uint_var(len(payload)) + payload


class Session:
    def __init__(self):
        self.cq = FakeQuic(True)
        self.sq = FakeQuic(False)
        self.client = H3Connection(self.cq)
        self.server = H3Connection(self.sq)
        self.lines = []
        self.events = {"c": [], "s": []}  # H3 events each side decoded
        self.hold = None  # (stream) encoder chunk of the client to deliver later

    def note(self, text):
        self.lines.append("# " + text)

    def emit(self, who, kind, stream, data, fin):
        if kind == "D":
            self.lines.append(f"D {who} {stream} {int(fin)} {data.hex()}")
        else:
            self.lines.append(f"R {who} {stream} {data}")

    def deliver(self, who, kind, stream, data, fin, split=None):
        """Records a delivery (optionally cut at `split` offsets) and gives it to the
        other side's H3Connection."""
        if kind == "D" and split:
            cuts = [0] + [c for c in split if 0 < c < len(data)] + [len(data)]
            for a, b in zip(cuts, cuts[1:]):
                self.emit(who, kind, stream, data[a:b], fin and b == len(data))
        else:
            self.emit(who, kind, stream, data, fin)
        peer = self.server if who == "c" else self.client
        other = "s" if who == "c" else "c"
        if kind == "D":
            ev = StreamDataReceived(data=data, end_stream=fin, stream_id=stream)
        else:
            ev = StreamReset(error_code=data, stream_id=stream)
        self.events[other].extend(peer.handle_event(ev))

    def pump(self, split=None, hold_client_encoder=False):
        while self.cq.out or self.sq.out:
            for who, q in (("c", self.cq), ("s", self.sq)):
                out, q.out = q.out, []
                for kind, stream, data, fin in out:
                    if who == "c" and hold_client_encoder and stream == 6 and kind == "D":
                        assert self.hold is None
                        self.hold = data
                        continue
                    self.deliver(who, kind, stream, data, fin, (split or {}).get(stream))

    def release_hold(self):
        data, self.hold = self.hold, None
        self.note("the client's encoder-stream bytes the previous request needs, late")
        self.deliver("c", "D", 6, data, False)


def check_blocked(s, sid):
    """pylsqpack's own decoder, fed what a passive reader has at this point (the client's
    encoder stream without the held chunk), must report the section of `sid` blocked."""
    dec = pylsqpack.Decoder(4096, 16)
    enc = b"".join(bytes.fromhex(l.split()[4]) for l in s.lines if l.startswith("D c 6 "))
    dec.feed_encoder(enc[1:])  # after the stream type byte
    body = b"".join(bytes.fromhex(l.split()[4]) for l in s.lines
                    if l.startswith(f"D c {sid} "))
    # Skip the GREASE frame, then read the HEADERS frame.
    from aioquic.buffer import Buffer
    buf = Buffer(data=body)
    while True:
        t, n = buf.pull_uint_var(), buf.pull_uint_var()
        payload = buf.pull_bytes(n)
        if t == 0x01:
            break
    try:
        dec.feed_header(sid, payload)
    except pylsqpack.StreamBlocked:
        return
    raise SystemExit(f"stream {sid}'s HEADERS are not blocked without the held chunk")


def main(outdir):
    s = Session()
    ua = b"wiretale-lab/1.0 (aioquic fake transport)"
    host = b"quic.lab.glasscom.com"
    s.note("control, QPACK encoder and decoder streams of both sides (aioquic)")
    s.pump()
    s.note("GREASE unidirectional stream (hand-made, RFC 9114 §6.2.3): type 0x21+0x1f*2")
    s.deliver("c", "D", 14, encode_uint_var(0x21 + 0x1F * 2) + b"grease bytes, ignore", True)
    s.cq.next_uni = 18

    def request(method, path, extra=(), body=b"", split=None, hold=False):
        sid = s.cq.get_next_available_stream_id()
        s.cq.next_bidi -= 4
        headers = [
            (b":method", method),
            (b":scheme", b"https"),
            (b":authority", host),
            (b":path", path),
            (b"user-agent", ua),
        ] + list(extra)
        sid2 = s.cq.get_next_available_stream_id()
        assert sid == sid2
        s.client.send_headers(sid, headers, end_stream=not body)
        if body:
            s.client.send_data(sid, body, end_stream=True)
        s.pump(split=split, hold_client_encoder=hold)
        return sid

    def respond(sid, status, ctype, body, interim=(), trailers=None, chunks=1, split=None):
        for code in interim:
            s.server.send_headers(sid, [(b":status", code), (b"link", b"</static/site.css>; rel=preload")])
        s.server.send_headers(
            sid,
            [(b":status", status), (b"server", b"wiretale-lab"), (b"content-type", ctype),
             (b"content-length", str(len(body)).encode())],
        )
        step = max(1, -(-len(body) // chunks))
        parts = [body[i:i + step] for i in range(0, len(body), step)] or [b""]
        for i, p in enumerate(parts):
            s.server.send_data(sid, p, end_stream=trailers is None and i == len(parts) - 1)
        if trailers is not None:
            s.server.send_headers(sid, trailers, end_stream=True)
        s.pump(split=split)

    html = b"<!doctype html>" + b"x" * 358
    s.note("stream 0: GET / with a 103 Early Hints before the 200")
    sid = request(b"GET", b"/")
    respond(sid, b"200", b"text/html", html, interim=[b"103"])
    s.note("stream 4: GET a stylesheet (its header block refers to dynamic entries); "
           "the HEADERS frame is cut in three deliveries")
    sid = request(b"GET", b"/static/site.css", [(b"referer", b"https://quic.lab.glasscom.com/")],
                  split={4: [1, 5]})
    respond(sid, b"200", b"text/css", b"body{}" * 193 + b"xx", split={sid: [3, 40, 41]})
    s.note("stream 8: GET an image, the body in 3 DATA frames and cut across them")
    # The token's first use is a literal; its second (stream 12) makes lsqpack insert it
    # and refer to the new entry in the same section.
    sid = request(b"GET", b"/dir1/img/photo.png", [(b"referer", b"https://quic.lab.glasscom.com/"),
                                                    (b"x-lab-token", b"token-value-blocked-7")])
    respond(sid, b"200", b"image/png", bytes(range(256)) * 32 + b"12345", chunks=3,
            split={sid: [100, 2000, 4105, 4106, 8000]})

    s.note("stream 12: a request with new field values, its HEADERS sent before the "
           "encoder instructions it refers to (blocked), plus a GREASE frame before HEADERS")
    # Hand-made GREASE frame (type 0x21+0x1f*3, RFC 9114 §7.2.8) on the request stream.
    s.deliver("c", "D", 12, frame(0x21 + 0x1F * 3, b"\x00grease"), False)
    blocked = request(b"GET", b"/api/items?page=2",
                      [(b"accept", b"application/json"), (b"x-lab-token", b"token-value-blocked-7")],
                      hold=True)
    assert s.hold, "the client's encoder wrote nothing for the blocked request"
    # Check with pylsqpack's own decoder, fed exactly what a passive reader has seen so far,
    # that the section is blocked: replay the client's encoder stream minus the held chunk.
    check_blocked(s, blocked)
    s.release_hold()
    respond(blocked, b"200", b"application/json", b'{"items":[]}')

    s.note("stream 16: POST with a body; the response ends with trailers")
    sid = request(b"POST", b"/api/items", [(b"content-type", b"application/json")],
                  body=b'{"a":42}')
    respond(sid, b"201", b"application/json", b'{"id":"x1"}',
            trailers=[(b"x-checksum", b"abc123"), (b"server-timing", b"db;dur=3")])

    s.note("stream 20: GET /slow, the server answers headers, then the client resets it "
           "(H3_REQUEST_CANCELLED 0x10c) and the server stops too")
    sid = request(b"GET", b"/slow")
    s.server.send_headers(sid, [(b":status", b"200"), (b"content-type", b"text/plain")])
    s.server.send_data(sid, b"partial", end_stream=False)
    s.pump()
    s.deliver("c", "R", sid, 0x10C, False)
    s.deliver("s", "R", sid, 0x10C, False)

    s.note("GOAWAY from the server on its control stream (hand-made, RFC 9114 §5.2): id 24")
    s.deliver("s", "D", 3, frame(0x07, encode_uint_var(24)), False)

    # Truth from what each side decoded.
    req = {}
    for ev in s.events["s"]:
        r = req.setdefault(ev.stream_id, {"rb": 0, "sb": 0, "st": [], "tr": [], "hd": None})
        if isinstance(ev, HeadersReceived):
            r["hd"] = dict(ev.headers)
        elif isinstance(ev, DataReceived):
            r["rb"] += len(ev.data)
    for ev in s.events["c"]:
        if not hasattr(ev, "stream_id") or ev.stream_id not in req:
            continue
        r = req[ev.stream_id]
        if isinstance(ev, HeadersReceived):
            h = dict(ev.headers)
            if b":status" in h:
                r["st"].append((h[b":status"], h.get(b"content-type", b"-")))
            else:
                r["tr"] = ev.headers
        elif isinstance(ev, DataReceived):
            r["sb"] += len(ev.data)
    truth = []
    for sid in sorted(req):
        r = req[sid]
        hd = r["hd"]
        final = [x for x in r["st"] if not x[0].startswith(b"1")]
        interim = [x[0].decode() for x in r["st"] if x[0].startswith(b"1")]
        status, ctype = final[-1] if final else (b"-", b"-")
        tr = ";".join(f"{n.decode()}={v.decode()}" for n, v in r["tr"]) or "-"
        reset = "0x10c" if sid == 20 else "-"
        truth.append("\t".join([str(sid), hd[b":method"].decode(), hd[b":authority"].decode(),
                                hd[b":path"].decode(), status.decode(), str(r["rb"]),
                                str(r["sb"]), ctype.decode(), tr, ";".join(interim) or "-",
                                reset]))
    with open(f"{outdir}/session.streams", "w") as f:
        f.write("# made by tests/data/http3/make-streams.py (aioquic + pylsqpack "
                f"{pylsqpack.__version__ if hasattr(pylsqpack, '__version__') else ''})\n")
        f.write("\n".join(s.lines) + "\n")
    with open(f"{outdir}/session.truth", "w") as f:
        f.write("\n".join(truth) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
