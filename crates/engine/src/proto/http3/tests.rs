//! HTTP/3 over real stream bytes: `tests/data/http3/session.streams`, written by two
//! aioquic 1.7.2 H3Connections (pylsqpack's QPACK encoder, dynamic table in use) over a
//! recording transport by `tests/data/http3/make-streams.py`, checked against what
//! aioquic itself decoded (`session.truth`); then hand-made streams for the rules
//! aioquic never breaks.

use super::frame::*;
use super::*;
use crate::base::{AnomalyKind, Direction, PacketId, Timestamp};
use crate::testutil::ROOT;

#[derive(Clone, Debug)]
enum Line {
    Data {
        dir: Direction,
        stream: u64,
        fin: bool,
        bytes: Vec<u8>,
    },
    Reset {
        dir: Direction,
        stream: u64,
        code: u64,
    },
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn dir(s: &str) -> Direction {
    match s {
        "c" => Direction::ClientToServer,
        "s" => Direction::ServerToClient,
        _ => panic!("bad direction {s}"),
    }
}

fn session() -> Vec<Line> {
    let text = std::fs::read_to_string(format!("{ROOT}/tests/data/http3/session.streams")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            match f[0] {
                "D" => Line::Data {
                    dir: dir(f[1]),
                    stream: f[2].parse().unwrap(),
                    fin: f[3] == "1",
                    bytes: unhex(f.get(4).copied().unwrap_or("")),
                },
                "R" => Line::Reset {
                    dir: dir(f[1]),
                    stream: f[2].parse().unwrap(),
                    code: f[3].parse().unwrap(),
                },
                x => panic!("bad line kind {x}"),
            }
        })
        .collect()
}

fn ts(i: usize) -> Timestamp {
    Timestamp(1_000_000 * i as i64)
}

/// Feeds the lines (line `i` is packet `i`, at `i` ms), each cut in `chunk`-byte pieces.
fn feed(c: &mut H3Conn, lines: &[(usize, Line)], chunk: usize) {
    for (i, l) in lines {
        let (pkt, t) = (PacketId(*i as u32), ts(*i));
        match l {
            Line::Data {
                dir,
                stream,
                fin,
                bytes,
            } => {
                if bytes.is_empty() {
                    c.stream(*stream, *dir, pkt, t, &[], *fin);
                }
                let n = bytes.chunks(chunk).count();
                for (k, part) in bytes.chunks(chunk).enumerate() {
                    c.stream(*stream, *dir, pkt, t, part, *fin && k + 1 == n);
                }
            }
            Line::Reset { dir, stream, code } => c.reset(*stream, *dir, *code, pkt, t),
        }
    }
}

fn run(lines: &[(usize, Line)], chunk: usize) -> (H3Conn, Vec<H3Exchange>) {
    let mut c = H3Conn::new();
    feed(&mut c, lines, chunk);
    c.finish(ts(10_000));
    let mut ex: Vec<H3Exchange> = c.drain().collect();
    ex.sort_by_key(|e| e.stream);
    (c, ex)
}

fn numbered(lines: Vec<Line>) -> Vec<(usize, Line)> {
    lines.into_iter().enumerate().collect()
}

fn hv(h: &[crate::proto::http2::Header]) -> String {
    h.iter()
        .map(|x| {
            format!(
                "{}={}",
                String::from_utf8_lossy(&x.name),
                String::from_utf8_lossy(&x.value)
            )
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// The exchanges in the truth file's columns.
fn as_truth(ex: &[H3Exchange]) -> String {
    let mut out = String::new();
    for e in ex {
        let dash = |s: String| if s.is_empty() { "-".to_string() } else { s };
        out.push_str(
            &[
                e.stream.to_string(),
                e.method.clone().unwrap_or_default(),
                e.authority.clone().unwrap_or_default(),
                e.path.clone().unwrap_or_default(),
                e.status.map_or("-".into(), |s| s.to_string()),
                e.request_body_len.to_string(),
                e.response_body_len.to_string(),
                e.content_type.clone().unwrap_or("-".into()),
                dash(hv(&e.response_trailers)),
                dash(
                    e.interim
                        .iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>()
                        .join(";"),
                ),
                e.reset.map_or("-".into(), |r| format!("{:#x}", r.error)),
            ]
            .join("\t"),
        );
        out.push('\n');
    }
    out
}

fn truth() -> String {
    std::fs::read_to_string(format!("{ROOT}/tests/data/http3/session.truth")).unwrap()
}

/// Index of the first line matching.
fn find(lines: &[(usize, Line)], pred: impl Fn(&Line) -> bool) -> usize {
    lines.iter().position(|(_, l)| pred(l)).unwrap()
}

fn is_data(l: &Line, d: Direction, s: u64) -> bool {
    matches!(l, Line::Data { dir, stream, .. } if *dir == d && *stream == s)
}

const C: Direction = Direction::ClientToServer;
const S: Direction = Direction::ServerToClient;

#[test]
fn session_matches_what_aioquic_decoded() {
    let lines = numbered(session());
    let (mut c, ex) = run(&lines, usize::MAX);
    assert_eq!(as_truth(&ex), truth());
    assert_eq!(c.anomalies(), &[], "connection anomalies");
    for e in &ex {
        if e.stream == 20 {
            assert!(e.partial);
            assert_eq!(e.anomalies.len(), 1);
            assert_eq!(e.anomalies[0].kind, AnomalyKind::H3StreamReset);
            assert_eq!(e.reset.unwrap().by, C);
            assert_eq!(
                error_code_text(e.reset.unwrap().error),
                "H3_REQUEST_CANCELLED"
            );
        } else {
            assert!(!e.partial, "stream {} partial: {:?}", e.stream, e.anomalies);
            assert!(e.anomalies.is_empty(), "{:?}", e.anomalies);
        }
        assert!(!e.headers_unreliable);
        assert_eq!(
            e.user_agent.as_deref(),
            Some("wiretale-lab/1.0 (aioquic fake transport)")
        );
    }
    // SETTINGS both ways, GREASE id 0x21 kept; the server's GOAWAY.
    let want = [(1, 4096), (7, 16), (8, 1), (0x21, 1)];
    assert_eq!(c.settings(C), Some(&want[..]));
    assert_eq!(c.settings(S), Some(&want[..]));
    let g = c.goaway().unwrap();
    assert_eq!((g.by, g.id), (S, 24));
    assert_eq!(c.max_push_id(), Some(8));
    // The dynamic tables were used: the client's encoder inserted entries.
    assert!(c.qpack(C).unwrap().insert_count() >= 4);
    assert_eq!(c.qpack(S).unwrap().insert_count(), 1);

    // Timestamps and packets as H2Exchange: stream 4's HEADERS came in three deliveries.
    let first = find(&lines, |l| is_data(l, C, 4));
    let e4 = ex.iter().find(|e| e.stream == 4).unwrap();
    assert_eq!(e4.request_first_pkt, Some(PacketId(first as u32)));
    assert_eq!(e4.request_ts, Some(ts(first)));
    assert_eq!(e4.request_head_pkt, Some(PacketId(first as u32 + 2)));
    assert_eq!(e4.request_last_pkt, Some(PacketId(first as u32 + 2)));
    assert_eq!(
        e4.referer.as_deref(),
        Some("https://quic.lab.glasscom.com/")
    );
    let resp = find(&lines, |l| is_data(l, S, 4));
    assert_eq!(e4.response_first_pkt, Some(PacketId(resp as u32)));
    assert_eq!(e4.response_head_pkt, Some(PacketId(resp as u32 + 1)));
    let last = lines.iter().rposition(|(_, l)| is_data(l, S, 4)).unwrap();
    assert_eq!(e4.response_last_pkt, Some(PacketId(last as u32)));
    assert_eq!(e4.ttfb(), Some(ts(resp).0 - ts(first + 2).0));
    // Stream 0: a 103 before the 200; TTFB runs to the final response.
    let e0 = &ex[0];
    assert_eq!(e0.interim, vec![103]);
    assert!(e0.interim_ts.unwrap() < e0.response_ts.unwrap());
    assert_eq!(e0.content_length, Some(373));
    // Stream 12 was blocked: its head packet is its HEADERS frame's, not the late
    // encoder bytes'.
    let e12 = ex.iter().find(|e| e.stream == 12).unwrap();
    let h12 = lines.iter().rposition(|(_, l)| is_data(l, C, 12)).unwrap();
    assert_eq!(e12.request_head_pkt, Some(PacketId(h12 as u32)));
    assert_eq!(
        hv(&e12.request_headers[5..]),
        "accept=application/json;x-lab-token=token-value-blocked-7"
    );
    // Trailers of the POST; its transaction.
    let e16 = ex.iter().find(|e| e.stream == 16).unwrap();
    let t = e16.to_http_transaction();
    assert_eq!(t.version, Some(crate::proto::http::Version::HTTP_3));
    assert_eq!(t.version.unwrap().to_string(), "HTTP/3");
    assert_eq!(t.stream, Some(16));
    assert_eq!((t.request_body_len, t.response_body_len), (8, 11));
    assert_eq!(t.status, Some(201));
    // Exchange order: by first byte.
    let seqs: Vec<u32> = ex.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![0, 1, 2, 3, 4, 5]);

    // Frame records: the notes a packet list shows.
    let frames: Vec<H3FrameInfo> = c.drain_frames().collect();
    let infos: Vec<String> = frames.iter().map(|f| f.info()).collect();
    for want in [
        "control stream",
        "QPACK encoder stream",
        "QPACK decoder stream",
        "GREASE(0x5f) stream",
        "SETTINGS",
        "MAX_PUSH_ID 8",
        "HEADERS GET /",
        "HEADERS 103",
        "HEADERS GET /static/site.css",
        "HEADERS 200",
        "DATA 1160",
        "GREASE(0x7e)",
        "HEADERS (blocked: waits for QPACK encoder instructions)",
        "HEADERS unblocked GET /api/items?page=2",
        "HEADERS POST /api/items",
        "HEADERS 201",
        "GOAWAY 24",
        "QPACK encoder: 0 inserts, capacity 4096",
    ] {
        assert!(
            infos.iter().any(|i| i == want),
            "no record {want:?} in {infos:#?}"
        );
    }
    assert!(infos.iter().any(|i| i.starts_with("QPACK decoder: ")));
    assert!(infos
        .iter()
        .any(|i| i.starts_with("QPACK encoder: 2 inserts")));
    // The unblocked record sits on the packet of the late encoder bytes.
    let late = lines
        .iter()
        .position(|(i, l)| *i > h12 && is_data(l, C, 6))
        .unwrap();
    let u = frames
        .iter()
        .find(|f| f.detail == H3FrameDetail::HeadersUnblocked)
        .unwrap();
    assert_eq!((u.stream, u.pkt), (12, PacketId(late as u32)));
    // Records of one stream-direction tile its bytes: offsets follow lengths.
    for s in [0u64, 2, 3, 4, 8, 12, 16] {
        for d in [C, S] {
            let mut at = 0;
            for f in frames.iter().filter(|f| {
                f.stream == s && f.dir == d && f.detail != H3FrameDetail::HeadersUnblocked
            }) {
                assert_eq!(f.offset, at, "stream {s} {d:?} {}", f.info());
                at += f.len;
            }
        }
    }
}

#[test]
fn any_split_of_the_deliveries_decodes_the_same() {
    let lines = numbered(session());
    let (_, whole) = run(&lines, usize::MAX);
    for chunk in [1, 2, 3, 7, 64] {
        let (c, ex) = run(&lines, chunk);
        assert_eq!(ex, whole, "chunks of {chunk}");
        assert_eq!(c.anomalies(), &[]);
    }
}

#[test]
fn sections_wait_for_the_receivers_settings() {
    // The server's control stream (its SETTINGS configure the decoder of the client's
    // sections) arrives last: the client's encoder bytes and dynamic sections wait.
    let lines = numbered(session());
    let (ctrl, rest): (Vec<_>, Vec<_>) = lines.into_iter().partition(|(_, l)| is_data(l, S, 3));
    let mut lines = rest;
    lines.extend(ctrl);
    let (c, ex) = run(&lines, usize::MAX);
    assert_eq!(as_truth(&ex), truth());
    assert_eq!(c.anomalies(), &[]);
    assert!(ex.iter().all(|e| !e.headers_unreliable));
}

#[test]
fn without_the_receivers_settings_the_capacity_is_guessed() {
    let lines: Vec<_> = numbered(session())
        .into_iter()
        .filter(|(_, l)| !is_data(l, S, 3))
        .collect();
    let (c, ex) = run(&lines, usize::MAX);
    // The headers still decode (no wrap of the Required Insert Count this early) but
    // are flagged.
    let t = truth();
    let got = as_truth(&ex);
    assert_eq!(
        got.lines()
            .map(|l| l.split('\t').nth(3))
            .collect::<Vec<_>>(),
        t.lines().map(|l| l.split('\t').nth(3)).collect::<Vec<_>>()
    );
    assert!(c
        .anomalies()
        .iter()
        .any(|a| a.kind == AnomalyKind::H3HeadersUnreliable));
    let e4 = ex.iter().find(|e| e.stream == 4).unwrap();
    assert!(e4.headers_unreliable);
    assert!(e4
        .anomalies
        .iter()
        .any(|a| a.kind == AnomalyKind::H3HeadersUnreliable));
    assert!(c.goaway().is_none());
}

#[test]
fn a_lost_encoder_chunk_loses_only_the_sections_that_need_it() {
    let lines = numbered(session());
    let h12 = lines.iter().rposition(|(_, l)| is_data(l, C, 12)).unwrap();
    let late = lines
        .iter()
        .position(|(i, l)| *i > h12 && is_data(l, C, 6))
        .unwrap();
    let Line::Data { bytes, .. } = &lines[late].1 else {
        unreachable!()
    };
    let len = bytes.len() as u64;
    let mut c = H3Conn::new();
    feed(&mut c, &lines[..late], usize::MAX);
    c.stream_gap(6, C, len);
    feed(&mut c, &lines[late + 1..], usize::MAX);
    c.finish(ts(10_000));
    let mut ex: Vec<H3Exchange> = c.drain().collect();
    ex.sort_by_key(|e| e.stream);
    assert!(c.anomalies().iter().any(|a| a.kind == AnomalyKind::H3Gap));
    let e12 = ex.iter().find(|e| e.stream == 12).unwrap();
    assert!(e12.partial && e12.headers_unreliable);
    assert_eq!(e12.method, None);
    assert!(e12
        .anomalies
        .iter()
        .any(|a| a.kind == AnomalyKind::H3QpackError));
    // Its response and the later requests still decode: they need no lost insertion.
    assert_eq!(e12.status, Some(200));
    let want: Vec<&str> = truth()
        .lines()
        .map(|l| l.to_string())
        .filter(|l| !l.starts_with("12\t"))
        .map(|l| Box::leak(l.into_boxed_str()) as &str)
        .collect();
    let got = as_truth(&ex);
    let got: Vec<&str> = got.lines().filter(|l| !l.starts_with("12\t")).collect();
    assert_eq!(got, want);
}

#[test]
fn a_gap_inside_data_counts_the_body_and_marks_the_exchange() {
    let lines = numbered(session());
    let at = find(&lines, |l| is_data(l, S, 8)) + 2;
    let Line::Data { bytes, .. } = &lines[at].1 else {
        unreachable!()
    };
    let len = bytes.len() as u64;
    let mut c = H3Conn::new();
    feed(&mut c, &lines[..at], usize::MAX);
    c.stream_gap(8, S, len);
    feed(&mut c, &lines[at + 1..], usize::MAX);
    c.finish(ts(10_000));
    let e8 = c.drain().find(|e| e.stream == 8).unwrap();
    assert!(e8.partial);
    assert_eq!(e8.response_body_len, 8197);
    assert_eq!(e8.anomalies[0].kind, AnomalyKind::H3Gap);
    assert_eq!(e8.status, Some(200));
}

#[test]
fn a_gap_across_frames_stops_that_direction() {
    let lines = numbered(session());
    let mut c = H3Conn::new();
    let at = find(&lines, |l| is_data(l, S, 4));
    feed(&mut c, &lines[..at], usize::MAX);
    c.stream_gap(4, S, 5);
    feed(&mut c, &lines[at..], usize::MAX);
    c.finish(ts(10_000));
    let e4 = c.drain().find(|e| e.stream == 4).unwrap();
    assert!(e4.partial);
    assert_eq!(e4.status, None);
    assert_eq!(e4.response_body_len, 0);
    assert!(e4.anomalies.iter().any(|a| a.kind == AnomalyKind::H3Gap));
}

// Hand-made streams. Field sections use the static table only (Required Insert Count 0,
// RFC 9204 Appendix A): 0xd1 :method GET, 0xd7 :scheme https, 0xc1 :path /, 0xd9
// :status 200; 0x50 + literal = :authority.

fn frame(t: u64, p: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for x in [t, p.len() as u64] {
        if x < 64 {
            v.push(x as u8);
        } else if x < 16384 {
            v.extend_from_slice(&(0x4000 | x as u16).to_be_bytes());
        } else {
            v.extend_from_slice(&(0x8000_0000 | x as u32).to_be_bytes());
        }
    }
    v.extend_from_slice(p);
    v
}

const GET: &[u8] = &[0, 0, 0xd1, 0xd7, 0xc1, 0x50, 3, b'a', b'.', b'b'];
const OK: &[u8] = &[0, 0, 0xd9];

fn control(c: &mut H3Conn, d: Direction) {
    let id = if d == C { 2 } else { 3 };
    let mut b = vec![STREAM_CONTROL as u8];
    b.extend(frame(SETTINGS, &[]));
    c.stream(id, d, PacketId(0), ts(0), &b, false);
}

#[test]
fn static_only_exchange_and_server_push() {
    let mut c = H3Conn::new();
    control(&mut c, C);
    control(&mut c, S);
    c.stream(0, C, PacketId(1), ts(1), &frame(HEADERS, GET), true);
    // PUSH_PROMISE push id 0 on stream 0, then the push stream 15 (type 1, push id 0).
    let mut pp = vec![0u8];
    pp.extend_from_slice(GET);
    c.stream(0, S, PacketId(2), ts(2), &frame(PUSH_PROMISE, &pp), false);
    c.stream(0, S, PacketId(2), ts(2), &frame(HEADERS, OK), false);
    c.stream(0, S, PacketId(3), ts(3), &frame(DATA, b"hello"), true);
    let mut push = vec![STREAM_PUSH as u8, 0];
    push.extend(frame(HEADERS, OK));
    push.extend(frame(DATA, b"pushed"));
    c.stream(15, S, PacketId(4), ts(4), &push, true);
    c.finish(ts(5));
    let ex: Vec<H3Exchange> = c.drain().collect();
    assert_eq!(ex.len(), 2, "{ex:#?}");
    assert_eq!(ex[0].stream, 0);
    assert_eq!(ex[0].authority.as_deref(), Some("a.b"));
    assert_eq!((ex[0].status, ex[0].response_body_len), (Some(200), 5));
    let p = &ex[1];
    assert_eq!((p.stream, p.push_id, p.pushed_on), (15, Some(0), Some(0)));
    assert_eq!(p.path.as_deref(), Some("/"));
    assert_eq!((p.status, p.response_body_len), (Some(200), 6));
    assert_eq!(p.request_head_pkt, Some(PacketId(2)));
    assert!(!p.partial, "{:?}", p.anomalies);
    assert_eq!(c.anomalies(), &[]);
}

#[test]
fn rule_breaking_streams_are_anomalies_not_panics() {
    let mut c = H3Conn::new();
    // A control stream that starts with GOAWAY, then a second control stream.
    let mut b = vec![STREAM_CONTROL as u8];
    b.extend(frame(GOAWAY, &[0x40, 64]));
    b.extend(frame(DATA, b"x"));
    c.stream(3, S, PacketId(0), ts(0), &b, false);
    c.stream(7, S, PacketId(0), ts(0), &[STREAM_CONTROL as u8], false);
    // A client push stream; a server-initiated bidirectional stream; a uni stream sent
    // by the wrong side.
    c.stream(2, C, PacketId(0), ts(0), &[STREAM_PUSH as u8, 0], false);
    c.stream(1, S, PacketId(0), ts(0), b"abc", false);
    c.stream(6, S, PacketId(0), ts(0), b"abc", false);
    let kinds: Vec<AnomalyKind> = c.anomalies().iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        vec![
            AnomalyKind::H3BadFrame, // GOAWAY first
            AnomalyKind::H3BadFrame, // DATA on control
            AnomalyKind::H3BadStream,
            AnomalyKind::H3BadStream,
            AnomalyKind::H3BadStream,
            AnomalyKind::H3BadStream,
        ],
        "{:#?}",
        c.anomalies()
    );
    // On a request stream: DATA before HEADERS, a SETTINGS frame, FIN inside a frame.
    let mut r = frame(DATA, b"body");
    r.extend(frame(SETTINGS, &[]));
    r.extend(&frame(HEADERS, GET)[..4]);
    c.stream(0, C, PacketId(1), ts(1), &r, true);
    c.finish(ts(2));
    let e = c.drain().next().unwrap();
    let kinds: Vec<AnomalyKind> = e.anomalies.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        vec![
            AnomalyKind::H3BadFrame,
            AnomalyKind::H3BadFrame,
            AnomalyKind::H3Truncated,
            AnomalyKind::H3Truncated,
        ]
    );
    assert!(e.partial);
}

#[test]
fn oversized_sections_are_skipped_and_goaway_explains_unanswered_requests() {
    let mut c = H3Conn::new();
    control(&mut c, C);
    control(&mut c, S);
    // A HEADERS frame of 70,000 bytes (above the 64 KiB default) on stream 0, fed in
    // pieces: skipped, never buffered; the DATA after it still counts.
    let mut big = vec![0u8, 0];
    big.resize(70_000, 0x20);
    let f = frame(HEADERS, &big);
    for p in f.chunks(1200) {
        c.stream(0, C, PacketId(1), ts(1), p, false);
    }
    c.stream(0, C, PacketId(2), ts(2), &frame(DATA, b"abc"), true);
    c.stream(4, C, PacketId(3), ts(3), &frame(HEADERS, GET), true);
    c.stream(0, S, PacketId(4), ts(4), &frame(HEADERS, OK), true);
    // GOAWAY 4: stream 4 was not processed.
    c.stream(3, S, PacketId(5), ts(5), &frame(GOAWAY, &[4]), false);
    c.finish(ts(6));
    let ex: Vec<H3Exchange> = c.drain().collect();
    let e0 = ex.iter().find(|e| e.stream == 0).unwrap();
    assert!(e0.partial && e0.headers_unreliable);
    assert_eq!(e0.request_body_len, 3);
    assert_eq!(e0.status, Some(200));
    assert_eq!(e0.anomalies[0].kind, AnomalyKind::H3FrameTooLarge);
    let e4 = ex.iter().find(|e| e.stream == 4).unwrap();
    assert_eq!(e4.anomalies[0].kind, AnomalyKind::H3NotProcessed);
    assert!(!e4.partial);
}

#[test]
fn late_bytes_after_a_reset_do_not_open_an_exchange() {
    let mut c = H3Conn::new();
    c.stream(0, C, PacketId(1), ts(1), &frame(HEADERS, GET), true);
    c.reset(0, C, 0x10c, PacketId(2), ts(2));
    c.stream(0, S, PacketId(3), ts(3), &frame(HEADERS, OK), true);
    c.finish(ts(4));
    let ex: Vec<H3Exchange> = c.drain().collect();
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].status, None);
    assert_eq!(ex[0].anomalies[0].kind, AnomalyKind::H3StreamReset);
    // H3_NO_ERROR (a server stopping a body it does not need) does not end it.
    let mut c = H3Conn::new();
    c.stream(0, C, PacketId(1), ts(1), &frame(HEADERS, GET), false);
    c.reset(0, S, H3_NO_ERROR, PacketId(2), ts(2));
    c.stream(0, S, PacketId(3), ts(3), &frame(HEADERS, OK), true);
    c.stream(0, C, PacketId(4), ts(4), &[], true);
    let ex: Vec<H3Exchange> = c.drain().collect();
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].status, Some(200));
    assert!(!ex[0].partial);
}

#[test]
fn every_prefix_of_the_session_is_safe() {
    // Cut the whole session (all streams) at every line: finish must flush cleanly.
    let lines = numbered(session());
    for cut in 0..=lines.len() {
        let mut c = H3Conn::new();
        feed(&mut c, &lines[..cut], usize::MAX);
        c.finish(ts(10_000));
        let n = c.drain().count();
        assert!(n <= 6);
        let _ = c.drain_frames().count();
    }
}

#[test]
fn sections_behind_a_blocked_one_are_bounded() {
    let mut c = H3Conn::new();
    control(&mut c, C);
    let mut b = vec![STREAM_CONTROL as u8];
    // The server allows a dynamic table: capacity 4096, 16 blocked streams.
    b.extend(frame(SETTINGS, &[0x01, 0x50, 0x00, 0x07, 0x10]));
    c.stream(3, S, PacketId(0), ts(0), &b, false);
    // A section that needs insertion 1 (encoded Required Insert Count 2, Base 0 after
    // the sign-bit delta), then 40 static-only trailers: 16 are kept waiting.
    let mut r = frame(HEADERS, &[0x02, 0x80, 0xd1]);
    for _ in 0..40 {
        r.extend(frame(HEADERS, OK));
    }
    c.stream(0, C, PacketId(1), ts(1), &r, true);
    // The insertion arrives: Insert With Literal Name "a" = "b".
    c.stream(
        6,
        C,
        PacketId(2),
        ts(2),
        &[STREAM_QPACK_ENCODER as u8, 0x3f, 0xe1, 0x1f],
        false,
    );
    c.stream(6, C, PacketId(3), ts(3), &[0x41, b'a', 0x01, b'b'], false);
    c.stream(0, S, PacketId(4), ts(4), &frame(HEADERS, OK), true);
    let e = c.drain().next().unwrap();
    assert_eq!(e.method.as_deref(), Some("GET"));
    assert_eq!(
        e.anomalies
            .iter()
            .filter(|a| a.kind == AnomalyKind::H3QpackError)
            .count(),
        25
    );
    assert_eq!(c.anomalies(), &[]);
}

#[test]
fn field_tree_of_stream_data_with_the_connections_records() {
    let lines = numbered(session());
    let mut c = H3Conn::new();
    feed(&mut c, &lines, usize::MAX);
    let frames: Vec<H3FrameInfo> = c.drain_frames().collect();
    let of = |s: u64, d: Direction| -> Vec<H3FrameInfo> {
        frames
            .iter()
            .filter(|f| f.stream == s && f.dir == d)
            .cloned()
            .collect()
    };
    // Stream 4's request HEADERS came in three deliveries: the middle one starts
    // mid-frame, and still shows the decoded request.
    let first = find(&lines, |l| is_data(l, C, 4));
    let Line::Data { bytes, .. } = &lines[first + 1].1 else {
        unreachable!()
    };
    let t = tree::http3_tree(4, bytes, 1, &of(4, C)).unwrap();
    assert_eq!(t.children.len(), 1);
    let h = &t.children[0];
    assert!(
        h.label
            .starts_with("HEADERS GET /static/site.css [bytes 0.."),
        "{}",
        h.label
    );
    assert_eq!(h.range, 0..bytes.len());
    let fields = h
        .children
        .iter()
        .find(|n| n.label.starts_with("Header fields"))
        .unwrap();
    assert!(fields
        .children
        .iter()
        .any(|n| n.label == ":path: /static/site.css"));
    // The blocked HEADERS of stream 12 shows the fields decoded later, and where.
    let h12 = lines.iter().rposition(|(_, l)| is_data(l, C, 12)).unwrap();
    let Line::Data { bytes, .. } = &lines[h12].1 else {
        unreachable!()
    };
    let grease = frames
        .iter()
        .find(|f| f.stream == 12 && f.dir == C)
        .unwrap()
        .len;
    let t = tree::http3_tree(12, bytes, grease, &of(12, C)).unwrap();
    let h = &t.children[0];
    assert!(h
        .children
        .iter()
        .any(|n| n.label.starts_with("[Blocked on QPACK; decoded at frame ")));
    assert!(h.children.iter().any(|n| n
        .children
        .iter()
        .any(|f| f.label == "x-lab-token: token-value-blocked-7")));
    // The client's control stream: type, SETTINGS with names.
    let ctl: Vec<u8> = lines
        .iter()
        .filter_map(|(_, l)| match l {
            Line::Data {
                dir,
                stream: 2,
                bytes,
                ..
            } if *dir == C => Some(bytes.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let t = tree::http3_tree(2, &ctl, 0, &of(2, C)).unwrap();
    let labels: Vec<&str> = t.children.iter().map(|n| n.label.as_str()).collect();
    assert_eq!(labels, vec!["control stream", "SETTINGS", "MAX_PUSH_ID 8"]);
    assert!(t.children[1]
        .children
        .iter()
        .any(|n| n.label == "SETTINGS_QPACK_MAX_TABLE_CAPACITY: 4096"));
    assert_eq!(t.children[2].range, ctl.len() - 3..ctl.len());
}
