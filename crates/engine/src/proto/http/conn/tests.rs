//! Tests of the HTTP connection state machine: every framing case, gaps, limits,
//! real streams from the shared corpus (fixtures in tests/data/streams, made by
//! tests/data/extract-streams.sh), truncation sweeps and random splits.

use super::*;
use crate::base::{Direction, PacketId, Timestamp};
use crate::proto::http::{parse, Version};
use proptest::prelude::*;

const C: Direction = Direction::ClientToServer;
const S: Direction = Direction::ServerToClient;

/// Feeds a script of (direction, bytes) as packets 0, 1, 2… at times 1000, 2000, …
fn run(script: &[(Direction, &[u8])]) -> (Vec<HttpTransaction>, HttpConn) {
    let mut c = HttpConn::new();
    let mut out = Vec::new();
    for (i, (d, b)) in script.iter().enumerate() {
        c.feed(*d, Timestamp((i as i64 + 1) * 1000), PacketId(i as u32), b);
        out.extend(c.drain());
    }
    c.finish(Timestamp(1_000_000));
    out.extend(c.drain());
    (out, c)
}

/// One event of a fixture index (see tests/data/extract-streams.sh).
#[derive(Clone, Debug)]
pub(crate) enum Ev {
    P {
        frame: u32,
        dir: Direction,
        off: usize,
        len: usize,
        ts: i64,
    },
    G {
        dir: Direction,
        len: u64,
        ts: i64,
    },
    F {
        dir: Direction,
        ts: i64,
    },
}

pub(crate) fn fixture(name: &str) -> (Vec<u8>, Vec<u8>, Vec<Ev>) {
    let base = format!("{}/tests/data/streams/{name}", crate::testutil::ROOT);
    let c2s = std::fs::read(format!("{base}.c2s.bin")).expect("c2s fixture");
    let s2c = std::fs::read(format!("{base}.s2c.bin")).expect("s2c fixture");
    let idx = std::fs::read_to_string(format!("{base}.idx")).expect("idx fixture");
    let dir = |s: &str| if s == "c" { C } else { S };
    let evs = idx
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            match f[0] {
                "P" => Ev::P {
                    frame: f[1].parse().unwrap(),
                    dir: dir(f[2]),
                    off: f[3].parse().unwrap(),
                    len: f[4].parse().unwrap(),
                    ts: f[5].parse().unwrap(),
                },
                "G" => Ev::G {
                    dir: dir(f[2]),
                    len: f[3].parse().unwrap(),
                    ts: f[4].parse().unwrap(),
                },
                _ => Ev::F {
                    dir: dir(f[2]),
                    ts: f[3].parse().unwrap(),
                },
            }
        })
        .collect();
    (c2s, s2c, evs)
}

/// Replays a fixture packet by packet (PacketId = frame − 1).
pub(crate) fn replay(name: &str) -> (Vec<HttpTransaction>, HttpConn) {
    let (c2s, s2c, evs) = fixture(name);
    let mut c = HttpConn::new();
    let mut out = Vec::new();
    let mut last = 0;
    for e in evs {
        match e {
            Ev::P {
                frame,
                dir,
                off,
                len,
                ts,
            } => {
                let src = if dir == C { &c2s } else { &s2c };
                c.feed(
                    dir,
                    Timestamp(ts),
                    PacketId(frame - 1),
                    &src[off..off + len],
                );
                last = ts;
            }
            Ev::G { dir, len, ts } => c.gap(dir, Timestamp(ts), len),
            Ev::F { dir, ts } => c.end(dir, Timestamp(ts)),
        }
        out.extend(c.drain());
    }
    c.finish(Timestamp(last));
    out.extend(c.drain());
    (out, c)
}

#[test]
fn content_length_keep_alive() {
    let (t, _) = run(&[
        (C, b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"),
        (
            S,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhel",
        ),
        (S, b"lo"),
        (C, b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n"),
        (S, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
    ]);
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].uri.as_deref(), Some("/a"));
    assert_eq!(t[0].status, Some(200));
    assert_eq!(t[0].response_body_len, 5);
    assert_eq!(t[0].transfer, Transfer::Length);
    assert_eq!(t[0].response_first_pkt, Some(PacketId(1)));
    assert_eq!(t[0].response_last_pkt, Some(PacketId(2)));
    assert_eq!(t[0].response_end_ts, Some(Timestamp(3000)));
    assert_eq!(t[0].ttfb(), Some(1000));
    assert_eq!(t[0].response_body, Some(63..68));
    assert_eq!(
        t[0].response_info().unwrap(),
        "HTTP/1.1 200 OK  (text/html)"
    );
    assert_eq!((t[1].seq, t[1].status), (1, Some(404)));
    assert!(!t[0].partial && !t[1].partial);
}

#[test]
fn chunked_with_extensions_and_trailers() {
    let (t, _) = run(&[
        (
            C,
            b"POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\n\r\n",
        ),
        (
            S,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWi",
        ),
        (S, b"ki\r\n5;x=\"y\"\r\npedia\r\n0\r\nExpires: never\r\n"),
        (S, b"\r\n"),
    ]);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].request_body_len, 3);
    assert_eq!(t[0].response_body_len, 9);
    assert_eq!(t[0].transfer, Transfer::Chunked);
    assert_eq!(t[0].response_last_pkt, Some(PacketId(3)));
    assert!(!t[0].partial, "{:?}", t[0].anomalies);
}

#[test]
fn close_delimited_and_http10() {
    let mut c = HttpConn::new();
    c.feed(C, Timestamp(1), PacketId(0), b"GET / HTTP/1.0\r\n\r\n");
    c.feed(
        S,
        Timestamp(2),
        PacketId(1),
        b"HTTP/1.0 200 OK\r\n\r\nbody bytes",
    );
    assert_eq!(c.drain().count(), 0);
    c.end(S, Timestamp(3));
    let t: Vec<_> = c.drain().collect();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].transfer, Transfer::Close);
    assert_eq!(t[0].response_body_len, 10);
    assert_eq!(t[0].version, Some(Version::HTTP_1_0));
    assert!(!t[0].partial);
}

#[test]
fn no_body_rules_head_204_304() {
    let (t, _) = run(&[
        (C, b"HEAD / HTTP/1.1\r\n\r\nGET /n HTTP/1.1\r\n\r\nGET /m HTTP/1.1\r\n\r\n"),
        (S, b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"),
        (S, b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n"),
    ]);
    assert_eq!(t.len(), 3);
    assert_eq!(t[0].content_length, Some(1000));
    assert_eq!(t[0].response_body_len, 0);
    assert_eq!(t[0].transfer, Transfer::None);
    assert_eq!((t[1].status, t[2].status), (Some(204), Some(304)));
    assert!(t.iter().all(|t| !t.partial));
}

#[test]
fn interim_and_100_continue() {
    let (t, _) = run(&[
        (
            C,
            b"POST /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
        ),
        (S, b"HTTP/1.1 100 Continue\r\n\r\n"),
        (C, b"data"),
        (S, b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"),
    ]);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].interim, vec![100]);
    assert_eq!(t[0].status, Some(201));
    assert_eq!(t[0].request_body_len, 4);
    assert_eq!(t[0].request_last_pkt, Some(PacketId(2)));
    assert_eq!(t[0].response_first_pkt, Some(PacketId(3)));
}

#[test]
fn upgrade_stops_parsing() {
    let (t, c) = run(&[
        (
            C,
            b"GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        ),
        (
            S,
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello",
        ),
        (C, b"\x81\x85GET / HTTP/1.1\r\n\r\n"),
    ]);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].status, Some(101));
    let u = c.upgraded().unwrap();
    assert_eq!(
        (u.protocol.as_deref(), u.tunnel, u.pkt),
        (Some("websocket"), false, PacketId(1))
    );
}

/// RFC 7540 §3.2: after `101` to `h2c`, what each side sent past the HTTP/1 messages
/// (here the server's SETTINGS in the 101's own segment) is kept for HTTP/2, once; a
/// WebSocket upgrade keeps nothing.
#[test]
fn an_h2c_upgrade_keeps_the_bytes_after_the_switch() {
    let mut c = HttpConn::new();
    c.feed(
        C,
        Timestamp(1),
        PacketId(0),
        b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAA\r\n\r\n",
    );
    assert!(c.take_h2c().is_none(), "no switch yet");
    let settings = b"\0\0\0\x04\0\0\0\0\0";
    let mut resp = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n".to_vec();
    resp.extend_from_slice(settings);
    c.feed(S, Timestamp(2), PacketId(1), &resp);
    c.feed(
        C,
        Timestamp(3),
        PacketId(2),
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    );
    let (tx, after) = c.take_h2c().expect("switched to h2c");
    assert_eq!((tx.uri.as_deref(), tx.status), (Some("/"), Some(101)));
    let [client, server] = after;
    let server = server.expect("server bytes");
    assert_eq!(
        (server.bytes.as_slice(), server.pkt),
        (&settings[..], PacketId(1))
    );
    assert_eq!(
        client.expect("client bytes").bytes,
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    );
    assert!(c.take_h2c().is_none(), "taken once");
    assert_eq!(
        c.drain().count(),
        1,
        "the 101 is still an HTTP/1.1 exchange"
    );

    let mut ws = HttpConn::new();
    ws.feed(
        C,
        Timestamp(1),
        PacketId(0),
        b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
    );
    ws.feed(
        S,
        Timestamp(2),
        PacketId(1),
        b"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n\r\nxx",
    );
    assert!(ws.take_h2c().is_none());
}

#[test]
fn connect_tunnel() {
    let (t, c) = run(&[
        (
            C,
            b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
        ),
        (S, b"HTTP/1.1 200 Connection established\r\n\r\n"),
        (C, b"\x16\x03\x01\x00\x05hello"),
        (S, b"\x16\x03\x03\x00\x01x"),
    ]);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].uri.as_deref(), Some("example.com:443"));
    assert!(c.upgraded().unwrap().tunnel);
    assert!(c.anomalies().is_empty());
}

#[test]
fn pipelining_pairs_in_order() {
    let (t, _) = run(&[
        (C, b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n"),
        (S, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nAHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nBB"),
        (S, b"HTTP/1.1 500 Oops\r\nContent-Length: 3\r\n\r\nCCC"),
    ]);
    let got: Vec<_> = t
        .iter()
        .map(|t| {
            (
                t.seq,
                t.uri.clone().unwrap(),
                t.status.unwrap(),
                t.response_body_len,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (0, "/1".into(), 200, 1),
            (1, "/2".into(), 200, 2),
            (2, "/3".into(), 500, 3)
        ]
    );
}

#[test]
fn obs_fold_and_bare_lf() {
    let (t, _) = run(&[
        (C, b"GET / HTTP/1.1\nHost: a\nUser-Agent: x\n  y\n\n"),
        (S, b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok"),
    ]);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].user_agent.as_deref(), Some("x y"));
    assert!(t[0].anomalies.iter().any(|a| a.name() == "http_obs_fold"));
    assert_eq!(t[0].response_body_len, 2);
}

#[test]
fn oversize_head_is_limit_anomaly() {
    let mut big = b"GET / HTTP/1.1\r\n".to_vec();
    while big.len() < parse::MAX_HEAD_BYTES + 100 {
        big.extend_from_slice(b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    let mut c = HttpConn::new();
    for (i, ch) in big.chunks(1000).enumerate() {
        c.feed(C, Timestamp(1), PacketId(i as u32), ch);
    }
    c.feed(
        C,
        Timestamp(2),
        PacketId(999),
        b"\r\nGET /next HTTP/1.1\r\n\r\n",
    );
    c.finish(Timestamp(3));
    let t: Vec<_> = c.drain().collect();
    assert!(
        t[0].anomalies
            .iter()
            .any(|a| a.name() == "http_header_limit"),
        "{t:?}"
    );
    assert!(t[0].partial);
    assert_eq!(t.last().unwrap().uri.as_deref(), Some("/next"));
    // The buffer never holds more than the limit.
    assert!(c
        .sides
        .iter()
        .all(|s| s.buf.capacity() <= 2 * parse::MAX_HEAD_BYTES));
}

#[test]
fn gap_in_body_of_known_length() {
    let mut c = HttpConn::new();
    c.feed(C, Timestamp(1), PacketId(0), b"GET / HTTP/1.1\r\n\r\n");
    c.feed(
        S,
        Timestamp(2),
        PacketId(1),
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",
    );
    c.gap(S, Timestamp(3), 50);
    // Body bytes that look like a status line must not be taken for a message.
    c.feed(
        S,
        Timestamp(4),
        PacketId(3),
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab",
    );
    c.feed(C, Timestamp(5), PacketId(4), b"GET /2 HTTP/1.1\r\n\r\n");
    c.feed(
        S,
        Timestamp(6),
        PacketId(5),
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    );
    let t: Vec<_> = c.drain().collect();
    assert_eq!(t.len(), 2);
    assert!(t[0].partial);
    assert_eq!(t[0].response_body_len, 100);
    assert!(t[0]
        .anomalies
        .iter()
        .any(|a| a.name() == "http_gap_in_body"));
    assert!(!t[1].partial);
    assert_eq!(t[1].response_ts, Some(Timestamp(6)));
}

#[test]
fn gap_in_headers_then_resync() {
    let mut c = HttpConn::new();
    c.feed(
        C,
        Timestamp(1),
        PacketId(0),
        b"GET /1 HTTP/1.1\r\nHost: a\r\n",
    );
    c.gap(C, Timestamp(2), 30);
    c.feed(
        C,
        Timestamp(3),
        PacketId(2),
        b"ignored-tail: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: b\r\n\r\n",
    );
    c.feed(
        S,
        Timestamp(4),
        PacketId(3),
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA",
    );
    c.feed(
        S,
        Timestamp(5),
        PacketId(4),
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB",
    );
    let t: Vec<_> = c.drain().collect();
    assert_eq!(t.len(), 2, "{t:?}");
    assert!(t[0].partial && t[0].method.is_none());
    assert_eq!(t[1].uri.as_deref(), Some("/2"));
    assert_eq!(t[1].host.as_deref(), Some("b"));
}

#[test]
fn gap_in_chunked_resyncs_on_status_line() {
    let mut c = HttpConn::new();
    c.feed(
        C,
        Timestamp(1),
        PacketId(0),
        b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n",
    );
    c.feed(
        S,
        Timestamp(2),
        PacketId(1),
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
    );
    c.gap(S, Timestamp(3), 1000);
    c.feed(
        S,
        Timestamp(4),
        PacketId(3),
        b"junk\r\n0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    );
    c.finish(Timestamp(5));
    let t: Vec<_> = c.drain().collect();
    assert_eq!(t.len(), 2);
    assert!(t[0].partial);
    assert_eq!(t[1].status, Some(204));
}

#[test]
fn response_without_request() {
    let (t, _) = run(&[(S, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")]);
    assert_eq!(t.len(), 1);
    assert!(t[0].partial && t[0].method.is_none());
    assert_eq!(t[0].anomalies[0].name(), "http_response_without_request");
}

#[test]
fn malformed_start_is_anomaly_and_recovers() {
    let (t, c) = run(&[
        (C, b"\x16\x03\x01garbage\r\nGET /ok HTTP/1.1\r\n\r\n"),
        (S, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ]);
    assert_eq!(c.anomalies()[0].name(), "http_malformed_head");
    assert_eq!(t.len(), 1);
    assert!(t
        .iter()
        .any(|t| t.uri.as_deref() == Some("/ok") && t.status.is_some()));
}

// --- real streams -----------------------------------------------------------------

#[test]
fn real_get_gzip() {
    // zeek/http-get-gzip.pcap: GET /gzip (frame 4), 200 gzip 165 bytes (frame 8).
    let (t, _) = replay("zeek__http-get-gzip.pcap--0");
    assert_eq!(t.len(), 1);
    let t = &t[0];
    assert_eq!(t.request_info().unwrap(), "GET /gzip HTTP/1.1");
    assert_eq!(t.host.as_deref(), Some("httpbin.org"));
    assert_eq!(t.request_head_pkt.unwrap().frame_number(), 4);
    assert_eq!(t.response_last_pkt.unwrap().frame_number(), 8);
    assert_eq!((t.status, t.response_body_len), (Some(200), 165));
    assert_eq!(t.content_encoding.as_deref(), Some("gzip"));
    // tshark http.time for frame 8 is 0.035297 s: request last byte → response last byte.
    assert_eq!(t.time_to_last_byte(), Some(35_297_000));
    assert!(!t.partial);
}

#[test]
fn real_chunked() {
    // suricata-verify/http-event-chunk.pcap.
    // suricata-verify/http-event-chunk.pcap: a chunked POST with chunk extensions,
    // whitespace after the size and trailers (frame 5); close-delimited response.
    let (t, _) = replay("suricata-verify__http-event-chunk.pcap--0");
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].request_body_len, 12);
    assert_eq!(t[0].transfer, Transfer::Close);
    assert!(!t[0].partial, "{:?}", t[0]);
    let (c2s, _, _) = fixture("suricata-verify__http-event-chunk.pcap--0");
    let r = t[0].request_body.clone().unwrap();
    let raw = &c2s[r.start as usize..r.end as usize];
    assert_eq!(
        super::super::body::dechunk(raw, 100).unwrap(),
        b"tototatatiti"
    );
}

#[test]
fn real_pipelined() {
    // zeek/http-pipelined-requests.pcap: 5 pipelined requests and their responses.
    let (t, _) = replay("zeek__http-pipelined-requests.pcap--0");
    assert_eq!(t.len(), 5, "{t:#?}");
    assert!(t.iter().all(|t| t.status == Some(200) && !t.partial));
}

#[test]
fn real_upgrade() {
    // zeek/http-docker-http-upgrade.pcap: a 101 switches to a raw stream.
    let mut any = false;
    for s in 0..3 {
        let (t, c) = replay(&format!("zeek__http-docker-http-upgrade.pcap--{s}"));
        if let Some(u) = c.upgraded() {
            any = true;
            assert_eq!(t.iter().find(|t| t.seq == u.seq).unwrap().status, Some(101));
        }
    }
    assert!(any);
}

const SAMPLES: &[&str] = &[
    "zeek__http-get-gzip.pcap--0",
    "zeek__http-post.pcap--0",
    "zeek__http-pipelined-requests.pcap--0",
    "suricata-verify__http-event-chunk.pcap--0",
    "zeek__http-get_nosyn.pcap--0",
];

/// Feeds each direction's whole stream split at the given points, interleaving
/// directions the same way the capture did (requests before the responses they get).
fn replay_split(name: &str, cuts: &[usize]) -> Vec<HttpTransaction> {
    let (c2s, s2c, evs) = fixture(name);
    let mut c = HttpConn::new();
    let mut out = Vec::new();
    // Packet order from the index, but each packet re-split at `cuts` (mod its length).
    for (k, e) in evs.into_iter().enumerate() {
        match e {
            Ev::P {
                frame,
                dir,
                off,
                len,
                ts,
            } => {
                let src = if dir == C { &c2s } else { &s2c };
                let bytes = &src[off..off + len];
                let cut = cuts.get(k % cuts.len().max(1)).copied().unwrap_or(0) % (len + 1);
                c.feed(dir, Timestamp(ts), PacketId(frame - 1), &bytes[..cut]);
                c.feed(dir, Timestamp(ts), PacketId(frame - 1), &bytes[cut..]);
            }
            Ev::G { dir, len, ts } => c.gap(dir, Timestamp(ts), len),
            Ev::F { dir, ts } => c.end(dir, Timestamp(ts)),
        }
        out.extend(c.drain());
    }
    c.finish(Timestamp(i64::MAX / 2));
    out.extend(c.drain());
    out
}

#[test]
fn truncation_sweep_real_streams() {
    // Every prefix of each direction: no panic, and transactions found in a prefix are
    // a prefix of the full result (apart from the last, which may be cut).
    for name in SAMPLES {
        let (c2s, s2c, _) = fixture(name);
        let (full, _) = replay(name);
        for n in 0..=c2s.len().max(s2c.len()) {
            let mut c = HttpConn::new();
            c.feed(C, Timestamp(1), PacketId(0), &c2s[..n.min(c2s.len())]);
            c.feed(S, Timestamp(2), PacketId(1), &s2c[..n.min(s2c.len())]);
            c.finish(Timestamp(3));
            let t: Vec<_> = c.drain().collect();
            for (a, b) in t.iter().zip(full.iter()).filter(|(a, _)| !a.partial) {
                assert_eq!(a.uri, b.uri, "{name} prefix {n}");
                assert_eq!(a.status, b.status, "{name} prefix {n}");
            }
        }
    }
}

fn key(t: &HttpTransaction) -> impl PartialEq + std::fmt::Debug {
    (
        t.seq,
        t.method.clone(),
        t.uri.clone(),
        t.status,
        t.request_body_len,
        t.response_body_len,
        t.response_body.clone(),
        t.transfer,
        t.partial,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_splits_give_identical_transactions(
        which in 0..SAMPLES.len(),
        cuts in proptest::collection::vec(0usize..2000, 1..20),
    ) {
        let name = SAMPLES[which];
        let (full, _) = replay(name);
        let split = replay_split(name, &cuts);
        let a: Vec<_> = full.iter().map(key).collect();
        let b: Vec<_> = split.iter().map(key).collect();
        prop_assert_eq!(a, b);
    }

    #[test]
    fn arbitrary_chunking_of_whole_streams(
        which in 0..SAMPLES.len(),
        sizes in proptest::collection::vec(1usize..700, 1..40),
    ) {
        // Requests first, then responses (pairing is by order, so this is equivalent),
        // each direction cut into arbitrary chunk sizes.
        let name = SAMPLES[which];
        let (full, _) = replay(name);
        let (c2s, s2c, evs) = fixture(name);
        let mut c = HttpConn::new();
        for (d, src) in [(C, &c2s), (S, &s2c)] {
            let mut pos = 0;
            let mut k = 0;
            while pos < src.len() {
                let n = sizes[k % sizes.len()].min(src.len() - pos);
                c.feed(d, Timestamp(k as i64), PacketId(k as u32), &src[pos..pos + n]);
                pos += n;
                k += 1;
            }
        }
        for e in evs {
            if let Ev::F { dir, ts } = e {
                c.end(dir, Timestamp(ts));
            }
        }
        c.finish(Timestamp(0));
        let a: Vec<_> = full.iter().map(key).collect();
        let b: Vec<_> = c.drain().map(|t| key(&t)).collect();
        prop_assert_eq!(a, b);
    }

    #[test]
    fn real_streams_with_random_gaps_stay_consistent(
        which in 0..SAMPLES.len(),
        holes in proptest::collection::vec((0usize..4000, 1usize..600, any::<bool>()), 0..6),
    ) {
        // Cut holes into a real stream: the decoder must keep seq order, valid ranges,
        // and mark something partial whenever a hole hit a message.
        let (c2s, s2c, _) = fixture(SAMPLES[which]);
        let mut c = HttpConn::new();
        for (d, src) in [(C, &c2s), (S, &s2c)] {
            let mut pos = 0;
            let mut hs: Vec<_> = holes.iter().filter(|h| h.2 == (d == C)).collect();
            hs.sort();
            for (start, len, _) in hs {
                let start = (*start).min(src.len());
                if start < pos { continue; }
                c.feed(d, Timestamp(1), PacketId(1), &src[pos..start]);
                let end = (start + len).min(src.len());
                c.gap(d, Timestamp(2), (end - start) as u64);
                pos = end;
            }
            c.feed(d, Timestamp(3), PacketId(3), &src[pos..]);
            c.end(d, Timestamp(4));
        }
        c.finish(Timestamp(5));
        let t: Vec<_> = c.drain().collect();
        for (i, t) in t.iter().enumerate() {
            prop_assert_eq!(t.seq as usize, i);
            for r in [&t.request_body, &t.response_body].into_iter().flatten() {
                prop_assert!(r.start <= r.end && r.end <= (c2s.len().max(s2c.len())) as u64);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        chunks in proptest::collection::vec(
            (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..200), 0u64..50), 0..30),
    ) {
        let mut c = HttpConn::new();
        for (i, (dir, bytes, gap)) in chunks.iter().enumerate() {
            let d = if *dir { C } else { S };
            if *gap > 45 { c.gap(d, Timestamp(i as i64), *gap); }
            c.feed(d, Timestamp(i as i64), PacketId(i as u32), bytes);
            let _ = c.drain().count();
        }
        c.finish(Timestamp(0));
        let _ = c.drain().count();
    }

    #[test]
    fn http_shaped_bytes_never_panic(
        parts in proptest::collection::vec(prop_oneof![
            Just(&b"GET / HTTP/1.1\r\n"[..]), Just(&b"HTTP/1.1 200 OK\r\n"[..]),
            Just(&b"Content-Length: 5\r\n"[..]), Just(&b"Transfer-Encoding: chunked\r\n"[..]),
            Just(&b"\r\n"[..]), Just(&b"5\r\nhello\r\n"[..]), Just(&b"0\r\n\r\n"[..]),
            Just(&b"HTTP/1.1 100 Continue\r\n\r\n"[..]), Just(&b" fold\r\n"[..]), Just(&b"\n"[..]),
        ], 0..40),
        dirs in proptest::collection::vec(any::<bool>(), 40),
    ) {
        let mut c = HttpConn::new();
        for (i, p) in parts.iter().enumerate() {
            let d = if dirs[i] { C } else { S };
            c.feed(d, Timestamp(i as i64), PacketId(i as u32), p);
        }
        c.end(C, Timestamp(99));
        c.finish(Timestamp(100));
        for t in c.drain() {
            prop_assert!(t.request_body.as_ref().is_none_or(|r| r.start <= r.end));
        }
    }
}

#[test]
fn byte_by_byte_trickle_is_linear_and_correct() {
    // A 60 KiB head fed one byte per call must not rescan the buffer each time.
    let mut head = b"GET / HTTP/1.1\r\n".to_vec();
    while head.len() < 60_000 {
        head.extend_from_slice(b"X-A: ");
        head.extend_from_slice(&[b'b'; 400]);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    let mut c = HttpConn::new();
    for (i, b) in head.iter().enumerate() {
        c.feed(
            C,
            Timestamp(i as i64),
            PacketId(i as u32),
            std::slice::from_ref(b),
        );
    }
    c.feed(
        S,
        Timestamp(0),
        PacketId(0),
        b"HTTP/1.1 204 No Content\r\n\r\n",
    );
    let t: Vec<_> = c.drain().collect();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].request_first_pkt, Some(PacketId(0)));
    assert_eq!(t[0].request_head_pkt, Some(PacketId(head.len() as u32 - 1)));
}

#[test]
fn long_request_line_trickle() {
    let mut head = b"GET /".to_vec();
    head.extend_from_slice(&[b'a'; 60_000]);
    head.extend_from_slice(b" HTTP/1.1\r\n\r\n");
    let mut c = HttpConn::new();
    for (i, b) in head.iter().enumerate() {
        c.feed(
            C,
            Timestamp(i as i64),
            PacketId(i as u32),
            std::slice::from_ref(b),
        );
    }
    c.finish(Timestamp(0));
    let t: Vec<_> = c.drain().collect();
    assert_eq!(t[0].uri.as_ref().map(String::len), Some(60_001));
}

#[test]
fn spent_means_finish_adds_nothing() {
    // For every real stream: once `is_spent` says so (both sides ended, all drained),
    // `finish` must produce nothing more and change nothing: the engine frees the
    // decoder at that point instead of holding it while the closed connection lingers.
    let mut seen_spent = 0;
    for name in SAMPLES {
        let (c2s, s2c, evs) = fixture(name);
        let mut c = HttpConn::new();
        let mut spent_at = None;
        for (i, e) in evs.iter().enumerate() {
            match e.clone() {
                Ev::P {
                    frame,
                    dir,
                    off,
                    len,
                    ts,
                } => {
                    let src = if dir == C { &c2s } else { &s2c };
                    c.feed(
                        dir,
                        Timestamp(ts),
                        PacketId(frame - 1),
                        &src[off..off + len],
                    );
                }
                Ev::G { dir, len, ts } => c.gap(dir, Timestamp(ts), len),
                Ev::F { dir, ts } => c.end(dir, Timestamp(ts)),
            }
            let _ = c.drain().count();
            if c.is_spent() && spent_at.is_none() {
                spent_at = Some(i);
            }
            // Never spent before both directions have ended.
            let ended = evs[..=i]
                .iter()
                .filter_map(|e| match e {
                    Ev::F { dir, .. } => Some(*dir),
                    _ => None,
                })
                .collect::<std::collections::HashSet<_>>();
            if ended.len() < 2 {
                assert!(!c.is_spent(), "{name}: spent before both ends (event {i})");
            }
        }
        if spent_at.is_some() {
            seen_spent += 1;
            c.finish(Timestamp(i64::MAX));
            assert_eq!(
                c.drain().count(),
                0,
                "{name}: finish after spent added records"
            );
        }
    }
    assert!(
        seen_spent > 0,
        "no sample closes both ways: the test checks nothing"
    );
}

// ---- Lenient HTTP (issue 17 item 4): forms Zeek and Wireshark accept. ----

fn anomaly_names(t: &HttpTransaction) -> Vec<&'static str> {
    t.anomalies.iter().map(|a| a.name()).collect()
}

/// Like `run`, ending both directions (FIN) after the script, before `finish`.
fn run_closed(script: &[(Direction, &[u8])]) -> (Vec<HttpTransaction>, HttpConn) {
    let mut c = HttpConn::new();
    let mut out = Vec::new();
    for (i, (d, b)) in script.iter().enumerate() {
        c.feed(*d, Timestamp((i as i64 + 1) * 1000), PacketId(i as u32), b);
        out.extend(c.drain());
    }
    c.end(S, Timestamp(500_000));
    c.end(C, Timestamp(600_000));
    out.extend(c.drain());
    c.finish(Timestamp(1_000_000));
    out.extend(c.drain());
    (out, c)
}

#[test]
fn http09_answer_is_the_bytes_until_close() {
    // zeek http_09.pcap, connection 0.
    let (t, c) = run_closed(&[
        (C, b"GET /zeek.html\n"),
        (S, b"<html>\n  The Zeek Network Security Monitor\n"),
        (S, b"</html>\n"),
    ]);
    assert_eq!(t.len(), 1, "{t:#?}");
    let t = &t[0];
    assert_eq!(t.version, Some(Version { major: 0, minor: 9 }));
    assert_eq!(t.response_version, Some(Version { major: 0, minor: 9 }));
    assert_eq!(
        (t.status, t.response_body_len, t.transfer),
        (None, 51, Transfer::Close)
    );
    assert_eq!(t.response_body, Some(0..51));
    assert_eq!(
        (t.response_first_pkt, t.response_last_pkt),
        (Some(PacketId(1)), Some(PacketId(2)))
    );
    assert!(!t.partial);
    assert_eq!(anomaly_names(t), ["http_09_request"]);
    assert!(c.anomalies().is_empty());
}

#[test]
fn http09_request_answered_with_a_status_line_is_read_as_one() {
    let (t, _) = run_closed(&[
        (C, b"GET /x\r\n"),
        (
            S,
            b"HTTP/1.0 400 Bad Request\r\nContent-Length: 3\r\n\r\nbad",
        ),
    ]);
    assert_eq!((t[0].status, t[0].response_body_len), (Some(400), 3));
    assert_eq!(t[0].version, Some(Version { major: 0, minor: 9 }));
}

#[test]
fn headerless_answer_to_a_1x_request_is_a_body() {
    // zeek curl_http_09.pcap: the whole answer is the body, to the close.
    let (t, _) = run_closed(&[
        (C, b"GET /zeek.html HTTP/1.1\r\nHost: localhost\r\n\r\n"),
        (S, b"<html>\n  The Zeek"),
        (S, b" Network Security Monitor\n</html>\n"),
    ]);
    assert_eq!(t.len(), 1);
    assert_eq!((t[0].status, t[0].response_version), (None, None));
    assert_eq!(
        (t[0].response_body_len, t[0].transfer),
        (51, Transfer::Close)
    );
    assert_eq!(anomaly_names(&t[0]), ["http_headerless_response"]);
    assert!(!t[0].partial);
    // Too short for a line: decided when the server closes.
    let (t, _) = run_closed(&[(C, b"GET / HTTP/1.1\r\n\r\n"), (S, b"bad")]);
    assert_eq!(
        (t[0].response_body_len, anomaly_names(&t[0])),
        (3, vec!["http_headerless_response"])
    );
    // A lost status line is not taken for a headerless answer.
    let (t, _) = run_closed(&[(C, b"GET / HTTP/1.1\r\n\r\n"), (S, b"HTTP/1.1 20")]);
    assert_eq!(t[0].response_body_len, 0);
    assert!(anomaly_names(&t[0]).contains(&"http_truncated"), "{t:#?}");
}

#[test]
fn only_a_first_answer_may_be_headerless() {
    // After a proper response, junk is not a body: it is flagged on the connection.
    let (t, c) = run_closed(&[
        (C, b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"),
        (S, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"),
        (S, b"garbage here\r\n\r\n"),
    ]);
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].status, Some(200));
    assert_eq!((t[1].status, t[1].response_body_len), (None, 0));
    assert!(t[1].partial);
    assert_eq!(c.anomalies()[0].name(), "http_malformed_head");
}

#[test]
fn http09_request_cuts_a_response_that_answered_nothing() {
    // zeek http-09-content-length-confusion.pcap, packet by packet.
    let (t, _) = run_closed(&[
        (S, b"HTTP/1.1 200 OK\r\n"),
        (S, b"Content-Length: 4\r\n"),
        (S, b"\r\n"),
        (C, b"GET /\r\n"),
        (C, b"\r\n"),
        (S, b"this is too much.\r\n"),
    ]);
    assert_eq!(t.len(), 2, "{t:#?}");
    assert_eq!((t[0].method.as_deref(), t[0].status), (None, Some(200)));
    assert_eq!(t[0].response_body_len, 0);
    assert_eq!(
        anomaly_names(&t[0]),
        ["http_response_without_request", "http_cut_by_09_request"]
    );
    assert_eq!(
        (t[1].method.as_deref(), t[1].uri.as_deref()),
        (Some("GET"), Some("/"))
    );
    assert_eq!((t[1].status, t[1].response_body_len), (None, 19));
}

#[test]
fn bad_request_lines_are_flagged_and_read_on() {
    // zeek http-11-request-then-cruft.pcap: `T / HTTP` is no request (Zeek's
    // bad_HTTP_request); the 400 answering it stays an exchange without request.
    let (t, c) = run_closed(&[
        (C, b"GET / HTTP/1.1\nHost: zeek.org\n\n"),
        (
            S,
            b"HTTP/1.1 301 Moved Permanently\r\nContent-Length: 0\r\n\r\n",
        ),
        (C, b"T / HTTP\n\n"),
        (
            S,
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ),
    ]);
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].status, Some(301));
    assert_eq!(t[1].status, Some(400));
    assert_eq!(anomaly_names(&t[1]), ["http_response_without_request"]);
    let a = &c.anomalies()[0];
    assert_eq!(a.name(), "http_malformed_head");
    assert!(a.detail.contains("not an HTTP/0.9 request"), "{a:?}");
}

#[test]
fn lenient_heads_through_the_state_machine() {
    let (t, _) = run_closed(&[
        (C, b"GET / HTTP/1.\r\nHost: a\r\n\r\n"),
        (S, b"http/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"),
        (C, b"GET HTTP/1.1\r\n\r\n"),
        (S, b"HTTP/1.0 200OK\r\nContent-Length: 0\r\n\r\n"),
    ]);
    assert_eq!(t.len(), 2);
    assert_eq!((t[0].version, t[0].response_body_len), (None, 2));
    assert_eq!(
        anomaly_names(&t[0]),
        ["http_bad_version", "http_lowercase_keyword"]
    );
    assert_eq!((t[1].uri.as_deref(), t[1].status), (Some(""), Some(200)));
    assert_eq!(
        anomaly_names(&t[1]),
        ["http_missing_uri", "http_odd_status_line"]
    );
}

#[test]
fn lenient_forms_do_not_resync_after_a_gap() {
    // After a gap only strict start lines are believed, so body bytes like `GET /x`
    // at a line start are not taken for an HTTP/0.9 request.
    let mut c = HttpConn::new();
    c.feed(
        C,
        Timestamp(1),
        PacketId(0),
        b"POST /a HTTP/1.1\r\nContent-Length: 100\r\n\r\nab",
    );
    c.gap(C, Timestamp(2), 200);
    c.feed(C, Timestamp(3), PacketId(1), b"GET /x\nmore\n");
    c.finish(Timestamp(4));
    let t: Vec<_> = c.drain().collect();
    assert_eq!(t.len(), 1, "{t:#?}");
    assert_eq!(t[0].uri.as_deref(), Some("/a"));
}

#[test]
fn connect_tunnel_counts_and_recognises_what_it_carried() {
    // zeek connect-with-smtp.pcap: the tunnel's bytes are not a response body nor
    // requests; the exchange waits for the connection's end to report them.
    let mut c = HttpConn::new();
    let mut t = Vec::new();
    let script: &[(Direction, &[u8])] = &[
        (
            C,
            b"CONNECT mailin03.sul.t-online.de:25 / HTTP/1.0\r\nMozilla 4.0 (compatible)\r\n\r\n",
        ),
        (S, b"HTTP/1.0 200 Connection established\r\n\r\n"),
        (S, b"220 mailin03.sul.t-online.de ESMTP ready.\r\n"),
        (C, b"HELO 208.191.73.21\r\n"),
        (S, b"250 Ok.\r\n"),
        (C, b"GET / HTTP/1.1\r\n\r\n"),
    ];
    for (i, (d, b)) in script.iter().enumerate() {
        c.feed(*d, Timestamp(i as i64), PacketId(i as u32), b);
        t.extend(c.drain());
    }
    c.gap(S, Timestamp(7), 10);
    t.extend(c.drain());
    assert!(t.is_empty(), "held until the end: {t:#?}");
    // The packet-list view still sees it complete.
    assert!(c
        .in_flight()
        .any(|(t, req, resp)| t.seq == 0 && req && resp));
    c.end(C, Timestamp(8));
    t.extend(c.drain());
    assert!(t.is_empty());
    c.end(S, Timestamp(9));
    t.extend(c.drain());
    assert_eq!(t.len(), 1);
    assert!(c.is_spent());
    let tun = t[0].tunnel.as_ref().expect("tunnel");
    // Client: HELO (20) + the GET (18); server: greeting (43) + 250 (9) + the gap (10).
    assert_eq!(tun.bytes, [20 + 18, 43 + 9 + 10]);
    assert_eq!(tun.protocol, Some("smtp"));
    assert_eq!(
        tun.banner.as_deref(),
        Some("220 mailin03.sul.t-online.de ESMTP ready.")
    );
    assert_eq!(t[0].status, Some(200));
    // A refused CONNECT opens no tunnel.
    let (t, _) = run_closed(&[
        (C, b"CONNECT h:443 HTTP/1.1\r\n\r\n"),
        (S, b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"),
    ]);
    assert_eq!((t[0].status, t[0].tunnel.is_none()), (Some(403), true));
}

#[test]
fn connect_tunnel_bytes_in_the_packet_of_the_200() {
    // Bytes right after the 2xx's empty line are already the tunnel's (Zeek:
    // protocol_data_with_HTTP_CONNECT_reply).
    let (t, _) = run_closed(&[
        (C, b"CONNECT h:22 HTTP/1.1\r\n\r\n"),
        (S, b"HTTP/1.1 200 OK\r\n\r\nSSH-2.0-OpenSSH_9.2\r\n"),
    ]);
    let tun = t[0].tunnel.as_ref().unwrap();
    assert_eq!((tun.bytes, tun.protocol), ([0, 21], Some("ssh")));
}

/// The lenient scripts give the same exchanges however their bytes are split into
/// segments (a line check that waits for whole lines, a 0.9 answer's first bytes).
fn split_feed(script: &[(Direction, &[u8])], cuts: &[usize]) -> Vec<HttpTransaction> {
    let mut c = HttpConn::new();
    let mut n = 0u32;
    for (d, b) in script {
        let mut rest: &[u8] = b;
        for &k in cuts {
            if rest.is_empty() {
                break;
            }
            let (a, r) = rest.split_at(k.clamp(1, rest.len()));
            c.feed(*d, Timestamp(n as i64), PacketId(n), a);
            n += 1;
            rest = r;
        }
        if !rest.is_empty() {
            c.feed(*d, Timestamp(n as i64), PacketId(n), rest);
            n += 1;
        }
    }
    c.end(S, Timestamp(1_000));
    c.end(C, Timestamp(1_001));
    c.finish(Timestamp(1_002));
    c.drain().collect()
}

/// What must not depend on segmentation.
fn essence(t: &[HttpTransaction]) -> Vec<String> {
    t.iter()
        .map(|t| {
            format!(
                "{:?} {:?} {:?} {:?} {:?} {} {} {:?} {:?}",
                t.method,
                t.uri,
                t.version,
                t.status,
                t.response_version,
                t.request_body_len,
                t.response_body_len,
                anomaly_names(t),
                t.tunnel.as_ref().map(|u| (u.bytes, u.protocol))
            )
        })
        .collect()
}

const LENIENT_SCRIPTS: &[&[(Direction, &[u8])]] = &[
    &[(C, b"GET /zeek.html\n"), (S, b"<html>\n  The Zeek Network Security Monitor\n</html>\n")],
    &[(C, b"GET /x\r\n"), (S, b"HTTP/1.0 400 Bad Request\r\nContent-Length: 3\r\n\r\nbad")],
    &[(C, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"), (S, b"<html>\nhello\n</html>\n")],
    &[
        (S, b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"),
        (C, b"GET /\r\n\r\n"),
        (S, b"this is too much.\r\n"),
    ],
    &[
        (C, b"GET / HTTP/1.\r\nHost: a\r\n\r\nGET HTTP/1.1\r\n\r\n"),
        (S, b"http/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.0 200OK\r\nContent-Length: 0\r\n\r\n"),
    ],
    &[
        (C, b"CONNECT h:25 / HTTP/1.0\r\nMozilla 4.0\r\n\r\n"),
        (S, b"HTTP/1.0 200 Connection established\r\n\r\n220 smtp ready\r\n"),
        (C, b"HELO x\r\n"),
    ],
];

proptest! {
    #[test]
    fn lenient_forms_do_not_depend_on_segmentation(
        cuts in proptest::collection::vec(1usize..12, 0..12),
    ) {
        for script in LENIENT_SCRIPTS {
            let whole = essence(&split_feed(script, &[]));
            prop_assert_eq!(essence(&split_feed(script, &cuts)), whole);
        }
    }
}

#[test]
fn lenient_scripts_fed_whole() {
    // The reference the split runs are compared with is itself right.
    let t = split_feed(LENIENT_SCRIPTS[0], &[]);
    assert_eq!((t[0].response_body_len, t[0].status), (51, None));
    let t = split_feed(LENIENT_SCRIPTS[1], &[]);
    assert_eq!(t[0].status, Some(400));
    let t = split_feed(LENIENT_SCRIPTS[5], &[]);
    assert_eq!(t[0].tunnel.as_ref().unwrap().bytes, [8, 16]);
}

/// A decoder recycled after serving a connection — one left mid-message, upgraded
/// and with a partial head buffered — decodes the next connection exactly as a new one.
#[test]
fn a_recycled_decoder_decodes_like_a_new_one() {
    let first: &[(Direction, &[u8])] = &[
        (
            C,
            b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHo",
        ),
        (
            S,
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
        ),
        (C, b"\x81\x05hello"),
    ];
    let second: &[(Direction, &[u8])] = &[
        (
            C,
            b"POST /p HTTP/1.1\r\nHost: y\r\nContent-Length: 3\r\n\r\nabc",
        ),
        (S, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        (C, b"GET /q HTTP/1.1\r\nHost: y\r\n\r\n"),
        (
            S,
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ),
    ];
    let feed = |c: &mut HttpConn, script: &[(Direction, &[u8])]| {
        let mut out = Vec::new();
        for (i, (d, b)) in script.iter().enumerate() {
            c.feed(*d, Timestamp((i as i64 + 1) * 1000), PacketId(i as u32), b);
            out.extend(c.drain());
        }
        c.end(C, Timestamp(9_000));
        c.end(S, Timestamp(9_000));
        c.finish(Timestamp(10_000));
        out.extend(c.drain());
        out
    };
    let mut used = HttpConn::with_max_pending(7);
    let first_out = feed(&mut used, first);
    assert!(!first_out.is_empty());
    // Left with state: not spent before recycling.
    let mut half = HttpConn::with_max_pending(7);
    half.feed(C, Timestamp(1), PacketId(0), b"GET /x HTTP/1.1\r\nHo");
    for mut c in [used, half] {
        c.recycle(7);
        let mut fresh = HttpConn::with_max_pending(7);
        assert_eq!(feed(&mut c, second), feed(&mut fresh, second));
        assert_eq!(format!("{c:?}"), format!("{fresh:?}"));
    }
}
