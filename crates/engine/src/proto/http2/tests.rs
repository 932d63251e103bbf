//! Engine tests over hand-built connections: every frame type, splits at every byte
//! boundary, hostile HPACK, gaps and limits.

use super::frame::flags::*;
use super::*;
use crate::base::{AnomalyKind, Direction, PacketId, Timestamp};

const C: Direction = Direction::ClientToServer;
const S: Direction = Direction::ServerToClient;

fn frame(t: u8, f: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut b = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    b.push(t);
    b.push(f);
    b.extend_from_slice(&stream.to_be_bytes());
    b.extend_from_slice(payload);
    b
}

fn settings(params: &[(u16, u32)]) -> Vec<u8> {
    let mut p = Vec::new();
    for (id, v) in params {
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(&v.to_be_bytes());
    }
    frame(4, 0, 0, &p)
}

fn enc(e: &mut loona_hpack::Encoder, h: &[(&str, &str)]) -> Vec<u8> {
    e.encode(h.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())))
}

/// A complete connection: client bytes and server bytes, each a list of "packets".
struct Conv {
    client: Vec<Vec<u8>>,
    server: Vec<Vec<u8>>,
}

/// Two requests (one POST with a body in two DATA frames, padded), interim 103, a
/// response in DATA frames, trailers, a PING, WINDOW_UPDATE, PRIORITY.
fn sample() -> Conv {
    let mut ce = loona_hpack::Encoder::new();
    let mut se = loona_hpack::Encoder::new();
    let req1 = enc(
        &mut ce,
        &[
            (":method", "GET"),
            (":scheme", "https"),
            (":authority", "example.test"),
            (":path", "/index.html"),
            ("user-agent", "t/1"),
        ],
    );
    let req3 = enc(
        &mut ce,
        &[
            (":method", "POST"),
            (":scheme", "https"),
            (":authority", "example.test"),
            (":path", "/form"),
        ],
    );
    let early = enc(
        &mut se,
        &[(":status", "103"), ("link", "</a.css>; rel=preload")],
    );
    let resp1 = enc(
        &mut se,
        &[
            (":status", "200"),
            ("content-type", "text/html"),
            ("content-length", "11"),
        ],
    );
    let resp3 = enc(&mut se, &[(":status", "201")]);
    let trailers = enc(&mut se, &[("grpc-status", "0")]);
    let mut client = vec![PREFACE.to_vec()];
    let mut c1 = settings(&[(1, 65536), (4, 6291456)]);
    c1.extend(frame(8, 0, 0, &[0, 0xef, 0, 1]));
    // HEADERS with END_STREAM, priority and padding (as nghttp2 sends).
    let mut hp = vec![3, 0, 0, 0, 0, 15];
    hp.extend(&req1);
    hp.extend([0, 0, 0]);
    c1.extend(frame(
        1,
        END_STREAM | END_HEADERS | PADDED | PRIORITY,
        1,
        &hp,
    ));
    client.push(c1);
    // POST: HEADERS split into HEADERS + CONTINUATION, body in two DATA frames.
    let (a, b) = req3.split_at(3);
    let mut c2 = frame(1, 0, 3, a);
    c2.extend(frame(9, END_HEADERS, 3, b));
    c2.extend(frame(2, 0, 3, &[0, 0, 0, 1, 200]));
    c2.extend(frame(0, PADDED, 3, &[2, b'a', b'=', 0, 0]));
    client.push(c2);
    client.push(frame(0, END_STREAM, 3, b"1"));
    client.push(frame(4, ACK, 0, &[]));
    client.push(frame(6, 0, 0, &[1, 2, 3, 4, 5, 6, 7, 8]));
    let mut server = vec![settings(&[(3, 100), (5, 16384)])];
    let mut s1 = frame(4, ACK, 0, &[]);
    s1.extend(frame(1, END_HEADERS, 1, &early));
    server.push(s1);
    server.push(frame(1, END_HEADERS, 1, &resp1));
    server.push(frame(0, 0, 1, b"hello "));
    server.push(frame(0, END_STREAM, 1, b"world"));
    let mut s3 = frame(1, END_HEADERS, 3, &resp3);
    s3.extend(frame(0, 0, 3, b"ok"));
    s3.extend(frame(1, END_HEADERS | END_STREAM, 3, &trailers));
    server.push(s3);
    server.push(frame(6, ACK, 0, &[1, 2, 3, 4, 5, 6, 7, 8]));
    server.push(frame(7, 0, 0, &[0, 0, 0, 3, 0, 0, 0, 0]));
    Conv { client, server }
}

/// Feeds client packets then server packets interleaved (client i, server i), packet
/// ids in order, times 1 ms apart.
fn run(c: &Conv, conn: &mut H2Conn) -> Vec<H2Exchange> {
    let mut out = Vec::new();
    let mut pkt = 0u32;
    let n = c.client.len().max(c.server.len());
    for i in 0..n {
        for (dir, side) in [(C, &c.client), (S, &c.server)] {
            if let Some(b) = side.get(i) {
                conn.feed(dir, Timestamp(pkt as i64 * 1_000_000), PacketId(pkt), b);
                pkt += 1;
            }
        }
        out.extend(conn.drain());
    }
    conn.finish(Timestamp(pkt as i64 * 1_000_000));
    out.extend(conn.drain());
    out
}

#[test]
fn sample_connection_pairs_exchanges() {
    let mut conn = H2Conn::new().keep_frames(true);
    let ex = run(&sample(), &mut conn);
    assert!(conn.anomalies().is_empty(), "{:?}", conn.anomalies());
    assert_eq!(ex.len(), 2, "{ex:#?}");
    let get = ex.iter().find(|e| e.stream == 1).unwrap();
    assert_eq!(get.method.as_deref(), Some("GET"));
    assert_eq!(get.path.as_deref(), Some("/index.html"));
    assert_eq!(get.authority.as_deref(), Some("example.test"));
    assert_eq!(get.user_agent.as_deref(), Some("t/1"));
    assert_eq!(get.status, Some(200));
    assert_eq!(get.interim, vec![103]);
    assert_eq!(get.content_type.as_deref(), Some("text/html"));
    assert_eq!(get.content_length, Some(11));
    assert_eq!(get.response_body_len, 11);
    assert!(!get.partial && get.anomalies.is_empty(), "{get:#?}");
    // Packets: c0 preface=0, s0=1, c1 (GET)=2, s1 (103)=3, c2=4, s2 (200 HEADERS)=5,
    // c3=6, s3 (hello)=7, c4=8, s4 (world)=9.
    assert_eq!(get.request_end_ts, Some(Timestamp(2_000_000)));
    assert_eq!(get.interim_ts, Some(Timestamp(3_000_000)));
    assert_eq!(get.response_ts, Some(Timestamp(5_000_000)));
    assert_eq!(get.ttfb(), Some(3_000_000));
    assert_eq!(get.response_last_pkt, Some(PacketId(9)));
    let post = ex.iter().find(|e| e.stream == 3).unwrap();
    assert_eq!(post.method.as_deref(), Some("POST"));
    assert_eq!(post.request_body_len, 3, "padding excluded");
    assert_eq!(post.request_last_pkt, Some(PacketId(6)));
    assert_eq!(post.status, Some(201));
    assert_eq!(post.response_body_len, 2);
    assert_eq!(
        post.response_trailers,
        vec![Header::new("grpc-status", "0")]
    );
    assert_eq!((get.seq, post.seq), (0, 1));
    let t = post.to_http_transaction();
    assert_eq!(t.version.unwrap().to_string(), "HTTP/2");
    assert_eq!(t.stream, Some(post.stream));
    assert_eq!(t.uri.as_deref(), Some("/form"));
    // Frame log: types per direction, in order.
    let frames: Vec<FrameInfo> = conn.drain_frames().collect();
    let kinds = |d: Direction| -> Vec<&str> {
        frames
            .iter()
            .filter(|f| f.dir == d)
            .map(|f| f.header.kind.name())
            .collect()
    };
    assert_eq!(
        kinds(C),
        [
            "SETTINGS",
            "WINDOW_UPDATE",
            "HEADERS",
            "HEADERS",
            "CONTINUATION",
            "PRIORITY",
            "DATA",
            "DATA",
            "SETTINGS",
            "PING"
        ]
    );
    assert_eq!(kinds(S).len(), 11);
    let h = frames
        .iter()
        .find(|f| f.header.stream == 1 && f.dir == C)
        .unwrap();
    assert_eq!(h.info(), "HEADERS[1]: GET /index.html");
    assert_eq!(h.offset, 24 + 21 + 13);
    let cont = frames
        .iter()
        .find(|f| f.header.kind == FrameType::Continuation)
        .unwrap();
    assert_eq!(cont.info(), "CONTINUATION[3]: POST /form");
    assert!(frames.iter().any(|f| f.info() == "PING[0] ACK"));
    assert!(frames.iter().any(|f| f.info() == "GOAWAY[0]: NO_ERROR"));
    assert_eq!(conn.goaway().unwrap().last_stream, 3);
}

/// Summary of what came out, independent of packet boundaries.
fn summary(ex: &[H2Exchange], conn: &H2Conn) -> String {
    let mut ex: Vec<_> = ex.to_vec();
    ex.sort_by_key(|e| e.stream);
    let mut s = String::new();
    for e in ex {
        s.push_str(&format!(
            "{} {:?} {:?} {:?} {:?} {} {} {:?} {:?} {:?}|",
            e.stream,
            e.method,
            e.path,
            e.status,
            e.interim,
            e.request_body_len,
            e.response_body_len,
            e.response_trailers,
            e.partial,
            e.anomalies
        ));
    }
    s.push_str(&format!("{:?}", conn.anomalies()));
    s
}

/// Each direction's bytes cut in two at every byte boundary give the same result, and
/// so does feeding one byte at a time.
#[test]
fn any_split_gives_the_same_result() {
    let c = sample();
    let mut reference = H2Conn::new();
    let want = summary(&run(&c, &mut reference), &reference);
    let cbytes: Vec<u8> = c.client.concat();
    let sbytes: Vec<u8> = c.server.concat();
    for (which, all) in [(0, &cbytes), (1, &sbytes)] {
        for k in 0..=all.len() {
            let (a, b) = all.split_at(k);
            // The split side is fed as two packets, then the other side whole.
            let mut conn = H2Conn::new();
            let mut ex = Vec::new();
            let (d, o) = if which == 0 { (C, S) } else { (S, C) };
            // Requests first so responses find their streams.
            if which == 0 {
                conn.feed(d, Timestamp(0), PacketId(0), a);
                conn.feed(d, Timestamp(1), PacketId(1), b);
                for p in &c.server {
                    conn.feed(o, Timestamp(2), PacketId(2), p);
                }
            } else {
                for p in &c.client {
                    conn.feed(o, Timestamp(0), PacketId(0), p);
                }
                conn.feed(d, Timestamp(1), PacketId(1), a);
                conn.feed(d, Timestamp(2), PacketId(2), b);
            }
            conn.finish(Timestamp(3));
            ex.extend(conn.drain());
            let mut r2 = H2Conn::new();
            let ordered = Conv {
                client: vec![cbytes.clone()],
                server: vec![sbytes.clone()],
            };
            let ref_ordered = summary(&run(&ordered, &mut r2), &r2);
            assert_eq!(summary(&ex, &conn), ref_ordered, "split {which} at {k}");
        }
    }
    // One byte at a time, both sides.
    let mut conn = H2Conn::new();
    let mut ex = Vec::new();
    let per_byte = |v: &Vec<Vec<u8>>| -> Vec<Vec<u8>> {
        v.iter().flat_map(|p| p.iter().map(|&b| vec![b])).collect()
    };
    let bytes = Conv {
        client: per_byte(&c.client),
        server: per_byte(&c.server),
    };
    let mut pkt = 0;
    for p in &bytes.client {
        conn.feed(C, Timestamp(pkt), PacketId(pkt as u32), p);
        pkt += 1;
    }
    for p in &bytes.server {
        conn.feed(S, Timestamp(pkt), PacketId(pkt as u32), p);
        pkt += 1;
    }
    conn.finish(Timestamp(pkt));
    ex.extend(conn.drain());
    assert_eq!(summary(&ex, &conn), want);
}

#[test]
fn hostile_hpack_marks_later_headers_unreliable() {
    let mut conn = H2Conn::new();
    conn.feed(C, Timestamp(0), PacketId(0), PREFACE);
    conn.feed(C, Timestamp(0), PacketId(0), &settings(&[]));
    conn.feed(S, Timestamp(0), PacketId(1), &settings(&[]));
    // Stream 1: a huge table size update, then index 0.
    let bad = frame(
        1,
        END_HEADERS | END_STREAM,
        1,
        &[0x3f, 0xff, 0xff, 0xff, 0x0f, 0x80],
    );
    conn.feed(C, Timestamp(1), PacketId(2), &bad);
    // Stream 3: a valid static-only block, but the table is now unknown.
    let ok = frame(
        1,
        END_HEADERS | END_STREAM,
        3,
        &[0x82, 0x86, 0x84, 0x41, 1, b'h'],
    );
    conn.feed(C, Timestamp(2), PacketId(3), &ok);
    conn.feed(
        S,
        Timestamp(3),
        PacketId(4),
        &frame(1, END_HEADERS | END_STREAM, 3, &[0x88]),
    );
    conn.finish(Timestamp(4));
    let ex: Vec<_> = conn.drain().collect();
    let s1 = ex.iter().find(|e| e.stream == 1).unwrap();
    assert!(s1
        .anomalies
        .iter()
        .any(|a| a.kind == AnomalyKind::H2HpackError));
    assert!(s1.headers_unreliable && s1.partial);
    let s3 = ex.iter().find(|e| e.stream == 3).unwrap();
    assert_eq!(s3.method.as_deref(), Some("GET"));
    assert_eq!(s3.status, Some(200));
    assert!(s3.headers_unreliable);
    assert!(s3
        .anomalies
        .iter()
        .any(|a| a.kind == AnomalyKind::H2HeadersUnreliable));
    assert!(conn.headers_unreliable(C));
    assert!(!conn.headers_unreliable(S));
}

#[test]
fn reset_and_truncation_are_partial() {
    let mut conn = H2Conn::new();
    conn.feed(C, Timestamp(0), PacketId(0), PREFACE);
    let mut c = settings(&[]);
    c.extend(frame(
        1,
        END_HEADERS | END_STREAM,
        1,
        &[0x82, 0x86, 0x84, 0x41, 1, b'h'],
    ));
    c.extend(frame(
        1,
        END_HEADERS | END_STREAM,
        3,
        &[0x82, 0x86, 0x85, 0xbe],
    ));
    c.extend(frame(3, 0, 1, &[0, 0, 0, 8]));
    conn.feed(C, Timestamp(1), PacketId(1), &c);
    conn.feed(S, Timestamp(2), PacketId(2), &settings(&[]));
    conn.feed(
        S,
        Timestamp(2),
        PacketId(2),
        &frame(1, END_HEADERS, 3, &[0x88]),
    );
    conn.end(C, Timestamp(3));
    conn.end(S, Timestamp(3));
    let ex: Vec<_> = conn.drain().collect();
    assert_eq!(ex.len(), 2);
    let r = &ex[0];
    assert_eq!(r.stream, 1);
    assert_eq!(r.reset.unwrap().error, 8);
    assert!(r.partial);
    assert_eq!(r.anomalies[0].kind, AnomalyKind::H2StreamReset);
    assert!(r.anomalies[0].detail.contains("CANCEL"));
    let t = &ex[1];
    assert_eq!((t.stream, t.status), (3, Some(200)));
    assert_eq!(t.path.as_deref(), Some("/index.html"));
    assert_eq!(t.authority.as_deref(), Some("h"), "dynamic table entry 62");
    assert!(t.partial);
    assert_eq!(t.anomalies[0].kind, AnomalyKind::H2Truncated);
    assert!(conn.is_spent());
}

#[test]
fn server_push_is_its_own_exchange() {
    let mut conn = H2Conn::new();
    conn.feed(C, Timestamp(0), PacketId(0), PREFACE);
    let mut c = settings(&[]);
    c.extend(frame(
        1,
        END_HEADERS | END_STREAM,
        1,
        &[0x82, 0x86, 0x84, 0x41, 1, b'h'],
    ));
    conn.feed(C, Timestamp(1), PacketId(1), &c);
    let mut s = settings(&[]);
    // PUSH_PROMISE on 1 for stream 2: GET /style.css (literal path).
    let mut pp = vec![0, 0, 0, 2, 0x82, 0x86, 0x44, 10];
    pp.extend(b"/style.css");
    pp.extend([0x41, 1, b'h']);
    s.extend(frame(5, END_HEADERS, 1, &pp));
    s.extend(frame(1, END_HEADERS | END_STREAM, 1, &[0x88]));
    s.extend(frame(1, END_HEADERS, 2, &[0x88]));
    s.extend(frame(0, END_STREAM, 2, b"a{}"));
    conn.feed(S, Timestamp(2), PacketId(2), &s);
    conn.finish(Timestamp(3));
    let ex: Vec<_> = conn.drain().collect();
    assert!(conn.anomalies().is_empty(), "{:?}", conn.anomalies());
    let p = ex.iter().find(|e| e.stream == 2).unwrap();
    assert_eq!(p.pushed_on, Some(1));
    assert_eq!(p.path.as_deref(), Some("/style.css"));
    assert_eq!(p.authority.as_deref(), Some("h"));
    assert_eq!((p.status, p.response_body_len), (Some(200), 3));
    assert!(!p.partial, "{p:#?}");
}

#[test]
fn framing_violations_are_anomalies() {
    let mut conn = H2Conn::new();
    // Not a preface, and the server's first frame is not SETTINGS.
    conn.feed(C, Timestamp(0), PacketId(0), &frame(6, 0, 0, &[0; 8]));
    conn.feed(S, Timestamp(0), PacketId(1), &frame(6, ACK, 0, &[0; 8]));
    // A DATA frame larger than the default SETTINGS_MAX_FRAME_SIZE.
    conn.feed(
        C,
        Timestamp(0),
        PacketId(2),
        &frame(0, 0, 1, &vec![0; 20_000]),
    );
    // Bad WINDOW_UPDATE, SETTINGS on a stream, CONTINUATION out of nowhere.
    conn.feed(C, Timestamp(0), PacketId(3), &frame(8, 0, 0, &[0, 0, 0, 0]));
    conn.feed(C, Timestamp(0), PacketId(4), &frame(4, 0, 1, &[]));
    conn.feed(
        C,
        Timestamp(0),
        PacketId(5),
        &frame(9, END_HEADERS, 5, &[0x82]),
    );
    // A HEADERS block interrupted by a PING.
    conn.feed(C, Timestamp(0), PacketId(6), &frame(1, 0, 7, &[0x82]));
    conn.feed(C, Timestamp(0), PacketId(7), &frame(6, 0, 0, &[0; 8]));
    let kinds: Vec<_> = conn.anomalies().iter().map(|a| a.kind).collect();
    use AnomalyKind::*;
    assert_eq!(
        kinds,
        [
            H2BadPreface,
            H2BadPreface,
            H2FrameTooLarge,
            H2BadFrame,
            H2BadFrame,
            H2BadFrame,
            H2BadFrame,
        ],
        "{:#?}",
        conn.anomalies()
    );
    assert!(conn.headers_unreliable(C));
}

#[test]
fn oversized_frames_are_skipped_by_count() {
    let mut conn = H2Conn::new();
    conn.feed(C, Timestamp(0), PacketId(0), PREFACE);
    conn.feed(C, Timestamp(0), PacketId(0), &settings(&[]));
    conn.feed(S, Timestamp(0), PacketId(1), &settings(&[(5, 16_777_215)]));
    conn.feed(
        C,
        Timestamp(0),
        PacketId(2),
        &frame(1, END_HEADERS, 1, &[0x83, 0x86, 0x84, 0x41, 1, b'h']),
    );
    let big = frame(0, END_STREAM | PADDED, 1, &{
        let mut p = vec![4u8];
        p.resize(MAX_BUFFERED_FRAME + 10, 7);
        p
    });
    // Fed in 1000-byte pieces: nothing of it is buffered.
    for (i, ch) in big.chunks(1000).enumerate() {
        conn.feed(C, Timestamp(1), PacketId(3 + i as u32), ch);
    }
    conn.feed(
        S,
        Timestamp(2),
        PacketId(9999),
        &frame(1, END_HEADERS | END_STREAM, 1, &[0x88]),
    );
    let ex: Vec<_> = conn.drain().collect();
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].method.as_deref(), Some("POST"));
    assert_eq!(
        ex[0].request_body_len as usize,
        MAX_BUFFERED_FRAME + 10 - 1 - 4
    );
    assert_eq!(conn.anomalies()[0].kind, AnomalyKind::H2FrameTooLarge);
}

#[test]
fn gaps_inside_and_across_frames() {
    let mut conn = H2Conn::new();
    conn.feed(C, Timestamp(0), PacketId(0), PREFACE);
    let mut c = settings(&[]);
    c.extend(frame(
        1,
        END_HEADERS | END_STREAM,
        1,
        &[0x82, 0x86, 0x84, 0x41, 1, b'h'],
    ));
    conn.feed(C, Timestamp(0), PacketId(1), &c);
    conn.feed(S, Timestamp(1), PacketId(2), &settings(&[]));
    let mut s = frame(1, END_HEADERS, 1, &[0x88]);
    let data = frame(0, END_STREAM, 1, &[b'x'; 100]);
    s.extend(&data[..30]);
    conn.feed(S, Timestamp(1), PacketId(3), &s);
    // 50 bytes of the DATA payload are lost; the frame's end still arrives.
    conn.gap(S, Timestamp(2), 50);
    conn.feed(S, Timestamp(3), PacketId(4), &data[80..]);
    let ex: Vec<_> = conn.drain().collect();
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].response_body_len, 100);
    assert!(ex[0].partial);
    assert_eq!(ex[0].anomalies[0].kind, AnomalyKind::H2Gap);
    assert_eq!(ex[0].response_last_pkt, Some(PacketId(4)));
    // A gap across a frame boundary stops the direction.
    conn.gap(S, Timestamp(4), 100);
    conn.feed(S, Timestamp(5), PacketId(5), &frame(6, 0, 0, &[0; 8]));
    assert_eq!(conn.frame_count(S), 3);
    assert_eq!(conn.anomalies()[0].kind, AnomalyKind::H2Gap);
}

#[test]
fn stream_limit_and_header_limits_bound_memory() {
    let mut conn = H2Conn::new();
    conn.feed(C, Timestamp(0), PacketId(0), PREFACE);
    conn.feed(C, Timestamp(0), PacketId(0), &settings(&[]));
    for i in 0..(MAX_OPEN_STREAMS as u32 + 10) {
        let f = frame(1, END_HEADERS, 2 * i + 1, &[0x82, 0x86, 0x84]);
        conn.feed(C, Timestamp(1), PacketId(1), &f);
    }
    assert_eq!(conn.in_flight().count(), MAX_OPEN_STREAMS);
    let given_up: Vec<_> = conn.drain().collect();
    assert_eq!(given_up.len(), 10);
    assert_eq!(given_up[0].stream, 1);
    assert_eq!(given_up[0].anomalies[0].kind, AnomalyKind::H2StreamLimit);
    // A field block bigger than MAX_HEADER_BLOCK, in CONTINUATIONs.
    let mut conn = H2Conn::new();
    conn.feed(C, Timestamp(0), PacketId(0), PREFACE);
    conn.feed(C, Timestamp(0), PacketId(0), &settings(&[]));
    conn.feed(
        C,
        Timestamp(0),
        PacketId(0),
        &frame(1, END_STREAM, 1, &[0x82]),
    );
    for _ in 0..(MAX_HEADER_BLOCK / 16_000 + 2) {
        conn.feed(
            C,
            Timestamp(0),
            PacketId(0),
            &frame(9, 0, 1, &[0x82; 16_000]),
        );
    }
    conn.feed(
        C,
        Timestamp(0),
        PacketId(0),
        &frame(9, END_HEADERS, 1, &[0x82]),
    );
    conn.finish(Timestamp(1));
    let ex: Vec<_> = conn.drain().collect();
    assert!(ex[0]
        .anomalies
        .iter()
        .any(|a| a.kind == AnomalyKind::H2HeaderLimit));
    assert!(conn.headers_unreliable(C));
}

#[test]
fn upgrade_from_http1_answers_stream_1() {
    let req = crate::proto::http::HttpTransaction {
        method: Some("GET".into()),
        uri: Some("/up".into()),
        host: Some("h".into()),
        request_end_ts: Some(Timestamp(5)),
        ..Default::default()
    };
    let mut conn = H2Conn::after_upgrade(&req);
    conn.feed(C, Timestamp(6), PacketId(1), PREFACE);
    conn.feed(C, Timestamp(6), PacketId(1), &settings(&[]));
    let mut s = settings(&[]);
    s.extend(frame(1, END_HEADERS, 1, &[0x88]));
    s.extend(frame(0, END_STREAM, 1, b"up!"));
    conn.feed(S, Timestamp(9), PacketId(2), &s);
    let ex: Vec<_> = conn.drain().collect();
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].path.as_deref(), Some("/up"));
    assert_eq!(ex[0].ttfb(), Some(4));
    assert!(conn.anomalies().is_empty());
}

#[test]
fn tree_shows_frames_with_ranges_and_headers() {
    let c = sample();
    let mut conn = H2Conn::new().keep_frames(true);
    run(&c, &mut conn);
    let frames: Vec<FrameInfo> = conn.drain_frames().filter(|f| f.dir == C).collect();
    // The second client packet (offset 24), with records: decoded headers shown.
    let p = &c.client[1];
    let t = tree::http2_tree(p, 24, &frames).unwrap();
    let mut labels = Vec::new();
    t.walk(&mut |n, depth| {
        assert!(
            n.range.end <= p.len() && n.range.start <= n.range.end,
            "{n:?}"
        );
        labels.push(format!("{}{}", "  ".repeat(depth), n.label));
    });
    let text = labels.join("\n");
    for want in [
        "SETTINGS frame, stream 0, length 12",
        "SETTINGS_HEADER_TABLE_SIZE (0x1): 65536",
        "Window Size Increment: 15663105",
        "HEADERS frame, stream 1, length",
        "[END_STREAM|END_HEADERS|PADDED|PRIORITY]",
        "Pad Length: 3",
        "Weight: 16 (wire 15)",
        "Header: :path: /index.html",
    ] {
        assert!(text.contains(want), "{want} missing from\n{text}");
    }
    // Without records, from the first byte; the preface at offset 0.
    let t = tree::http2_tree(&c.client[0], 0, &[]).unwrap();
    assert!(t.children[0]
        .label
        .starts_with("Connection Preface: PRI * HTTP/2.0"));
    // A segment starting mid-frame, with records.
    let all: Vec<u8> = c.client.concat();
    let off = 24 + 21 + 5;
    let t = tree::http2_tree(&all[off..off + 10], off as u64, &frames).unwrap();
    assert!(
        t.children[0]
            .label
            .contains("(begins in an earlier segment)"),
        "{t:#?}"
    );
    assert!(tree::http2_tree(&[], 0, &[]).is_none());
}

/// Random and mutated input never panics and keeps its buffers bounded.
#[test]
fn random_input_never_panics() {
    let c = sample();
    let base: Vec<u8> = c.client.concat();
    let sbase: Vec<u8> = c.server.concat();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..3000 {
        let mut a = base.clone();
        let mut b = sbase.clone();
        for _ in 0..(rnd() % 8 + 1) {
            let i = (rnd() as usize) % a.len();
            a[i] = rnd() as u8;
            let j = (rnd() as usize) % b.len();
            b[j] = rnd() as u8;
        }
        if round % 3 == 0 {
            a = (0..(rnd() % 300)).map(|_| rnd() as u8).collect();
        }
        let mut conn = H2Conn::new().keep_frames(true);
        let cut = (rnd() as usize) % (a.len() + 1);
        conn.feed(C, Timestamp(0), PacketId(0), &a[..cut]);
        conn.feed(S, Timestamp(1), PacketId(1), &b);
        conn.feed(C, Timestamp(2), PacketId(2), &a[cut..]);
        if round % 5 == 0 {
            conn.gap(C, Timestamp(3), rnd() % 50);
        }
        conn.finish(Timestamp(4));
        let _ = conn.drain().count();
        let frames: Vec<_> = conn.drain_frames().collect();
        let _ = tree::http2_tree(&a, 0, &[]);
        let cf: Vec<_> = frames.into_iter().filter(|f| f.dir == C).collect();
        let _ = tree::http2_tree(&a[cut..], cut as u64, &cf);
    }
}
