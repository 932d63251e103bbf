//! Fuzzing entry points, shared by the cargo-fuzz targets (`fuzz_targets/*.rs`) and by
//! `tests/fuzz_regressions.rs`, which replays the committed corpus and every crasher
//! through these same functions under plain `cargo test`.
//!
//! Each function takes arbitrary bytes, must never panic, hang or allocate without
//! bound, and checks the cheap invariants its module promises (noted per function).
//! Inputs are capped (`MAX_INPUT`) so one execution stays fast.

use wiretale::analysis::{Engine, EngineConfig};
use wiretale::base::{ConnId, Direction, LinkType, PacketId, Timestamp};
use wiretale::capture::{FrameSource, MemReader, StreamReader};
use wiretale::flow::{ConnTable, FlowConfig, FlowPacket, StreamSink, L4};

/// Larger inputs are cut: the parsers are linear, so more bytes only slow fuzzing down.
pub const MAX_INPUT: usize = 1 << 16;

fn cap(data: &[u8]) -> &[u8] {
    &data[..data.len().min(MAX_INPUT)]
}

/// pcap and pcapng reader. Property: the memory-mapped reader and the streaming reader
/// (stdin, `.gz`) return the same frames and the same error at the same offset.
pub fn pcap_reader(data: &[u8]) {
    let data = cap(data);
    let mut mem = MemReader::new(data);
    let mut stream = StreamReader::new(std::io::Cursor::new(data.to_vec()));
    // Every frame has at least a 16-byte record header, so this bounds the loop.
    for _ in 0..=data.len() / 8 + 1 {
        let a = mem
            .next_frame()
            .map(|f| f.map(|f| (f.meta, f.data.to_vec())));
        let b = stream
            .next_frame()
            .map(|f| f.map(|f| (f.meta, f.data.to_vec())));
        match (&a, &b) {
            (Ok(x), Ok(y)) => assert_eq!(x, y, "readers disagree on a frame"),
            (Err(x), Err(y)) => assert_eq!(x.to_string(), y.to_string(), "readers disagree"),
            _ => panic!("one reader failed, the other did not: {a:?} vs {b:?}"),
        }
        match a {
            Ok(Some((meta, bytes))) => {
                assert_eq!(bytes.len() as u32, meta.caplen);
                let _ = mem.comments();
                let _ = mem.anomaly();
            }
            Ok(None) | Err(_) => return,
        }
    }
    panic!("reader did not end within its input length");
}

/// The link types the decoder knows, chosen by the first input byte.
const LINKS: [LinkType; 13] = [
    LinkType::ETHERNET,
    LinkType::NULL,
    LinkType::RAW,
    LinkType::LOOP,
    LinkType::LINUX_SLL,
    LinkType::LINUX_SLL2,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::RAW_12,
    LinkType::PPP,
    LinkType::PPP_ETHER,
    LinkType::IEEE802_11,
    LinkType::IEEE802_11_RADIOTAP,
];

/// Layers 2–4: the fast slice decoder, the field tree and the Info text on one frame.
/// Property: every field-tree range lies inside the frame.
pub fn decode_l2_l4(data: &[u8]) {
    let data = cap(data);
    let Some((&sel, frame)) = data.split_first() else {
        return;
    };
    let link = LINKS[sel as usize % LINKS.len()];
    let pkt = wiretale::decode::decode(link, frame);
    let _ = wiretale::decode::info(&pkt);
    let tree = wiretale::decode::field_tree(link, frame);
    check_ranges(&tree, frame.len(), 0);
}

fn check_ranges(n: &wiretale::base::FieldNode, len: usize, depth: usize) {
    assert!(depth < 64, "field tree deeper than 64");
    assert!(
        n.range.start <= n.range.end && n.range.end <= len,
        "field {:?} range {:?} outside a {len}-byte frame",
        n.label,
        n.range
    );
    for c in &n.children {
        check_ranges(c, len, depth + 1);
    }
}

/// DNS: whole-message parse, the snaplen-cut prefix parse, the Info text, and the
/// message over TCP (2-byte length framing) fed in two pieces.
pub fn dns(data: &[u8]) {
    use wiretale::proto::dns;
    let data = cap(data);
    if let Ok(m) = dns::parse_message(data) {
        let _ = dns::text::info(&m);
        let _ = dns::text::info_mdns(&m);
    }
    if let Some(m) = dns::parse_prefix(data) {
        let _ = dns::text::info(&m);
    }
    let mut tcp = dns::DnsTcpStream::default();
    let mid = data.len() / 2;
    tcp_dns_feed(&mut tcp, &data[..mid]);
    tcp_dns_feed(&mut tcp, &data[mid..]);
}

fn tcp_dns_feed(s: &mut wiretale::proto::dns::DnsTcpStream, bytes: &[u8]) {
    let _ = s.feed(Direction::ClientToServer, Timestamp(0), PacketId(0), bytes);
}

/// A tiny deterministic generator so split points come from the input itself.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

/// Splits `data` into (seed, client bytes, server bytes): the first 4 bytes seed the
/// split points, the rest is cut at the first `\0\0` (client before, server after).
fn two_streams(data: &[u8]) -> (Lcg, &[u8], &[u8]) {
    let (seed, rest) = data.split_at(data.len().min(4));
    let mut s = [0u8; 8];
    s[..seed.len()].copy_from_slice(seed);
    let cut = rest.windows(2).position(|w| w == b"\0\0");
    let (c, srv) = match cut {
        Some(i) => (&rest[..i], &rest[i + 2..]),
        None => (rest, &rest[rest.len()..]),
    };
    (Lcg(u64::from_le_bytes(s)), c, srv)
}

/// Feeds both directions in random-size pieces, interleaved; calls `gap` now and then.
fn interleave(
    data: &[u8],
    mut feed: impl FnMut(Direction, Timestamp, PacketId, &[u8]),
    mut gap: impl FnMut(Direction, Timestamp, u64),
) {
    let (mut rng, mut c, mut s) = two_streams(data);
    let mut t = 0i64;
    while !c.is_empty() || !s.is_empty() {
        t += 1_000_000;
        let (dir, side) = if (rng.next(2) == 0 && !c.is_empty()) || s.is_empty() {
            (Direction::ClientToServer, &mut c)
        } else {
            (Direction::ServerToClient, &mut s)
        };
        let n = 1 + rng.next(side.len().min(1500));
        let (piece, rest) = side.split_at(n.min(side.len()));
        *side = rest;
        if rng.next(64) == 0 {
            gap(dir, Timestamp(t), piece.len() as u64);
        } else {
            feed(dir, Timestamp(t), PacketId((t / 1_000_000) as u32), piece);
        }
    }
}

/// HTTP/1.x: a request stream and a response stream in random splits (with the odd
/// gap). Property: each side's transactions are drained in order and the decoder ends.
pub fn http_stream(data: &[u8]) {
    let data = cap(data);
    let mut h = wiretale::proto::http::HttpConn::new();
    let cell = std::cell::RefCell::new(&mut h);
    interleave(
        data,
        |d, ts, p, b| cell.borrow_mut().feed(d, ts, p, b),
        |d, ts, n| cell.borrow_mut().gap(d, ts, n),
    );
    h.end(Direction::ClientToServer, Timestamp(i64::MAX / 2));
    h.finish(Timestamp(i64::MAX / 2));
    let n = h.drain().count();
    let _ = h.anomalies().len() + n;
}

/// TLS record layer and hellos (the session engine without keys), both directions in
/// random splits.
pub fn tls_hello(data: &[u8]) {
    let data = cap(data);
    let mut t = wiretale::proto::tls::TlsSession::new();
    let cell = std::cell::RefCell::new(&mut t);
    interleave(
        data,
        |d, ts, p, b| cell.borrow_mut().feed(d, p, ts, b, None),
        |d, ts, n| cell.borrow_mut().gap(d, PacketId(0), ts, n, None),
    );
    t.finish(None);
    for e in t.drain() {
        let _ = format!("{e:?}");
    }
}

/// Counts delivered bytes per direction of every connection.
#[derive(Default)]
struct Delivered {
    bytes: [u64; 2],
    gaps: [u64; 2],
}

impl StreamSink for Delivered {
    fn data(&mut self, _: ConnId, dir: Direction, _: Timestamp, _: PacketId, b: &[u8]) {
        self.bytes[dir as usize] += b.len() as u64;
    }
    fn gap(&mut self, _: ConnId, dir: Direction, _: Timestamp, len: u64) {
        self.gaps[dir as usize] = self.gaps[dir as usize].saturating_add(len);
    }
}

/// TCP reassembly: a sequence of 8-byte segment descriptors (flags, direction, relative
/// sequence number, length) for one connection, through a connection table with small
/// limits so the limit paths run too. Property: the connection never delivers more
/// bytes than were sent (counting retransmissions).
pub fn reassembly(data: &[u8]) {
    let data = cap(data);
    const PAYLOAD: [u8; 4096] = [b'x'; 4096];
    let cfg = FlowConfig {
        max_dir_buffered: 8 << 10,
        max_total_buffered: 12 << 10,
        max_holes: 16,
        max_conns: 4,
        ..FlowConfig::default()
    };
    let mut table = ConnTable::new(cfg);
    let mut sink = Delivered::default();
    let mut sent = [0u64; 2];
    let a: std::net::IpAddr = [10, 0, 0, 1].into();
    let b: std::net::IpAddr = [10, 0, 0, 2].into();
    for (i, d) in data.chunks_exact(8).enumerate() {
        let flags = u16::from(d[0]) & 0x1f; // FIN SYN RST PSH ACK
        let to_server = d[1] & 1 == 0;
        // A second client port now and then: several connections share the limits.
        let cport = 40000 + u16::from(d[1] >> 6);
        let seq = u32::from_le_bytes([d[2], d[3], d[4], d[1] & 0x3e]);
        let len = usize::from(u16::from_le_bytes([d[5], d[6]]) % 4097);
        let ack = u32::from(d[7]) << 8;
        let payload = &PAYLOAD[..len];
        let dir = if to_server { 0 } else { 1 };
        if cport == 40000 {
            sent[dir] += len as u64;
        }
        let (src, dst, sport, dport) = if to_server {
            (a, b, cport, 80)
        } else {
            (b, a, 80, cport)
        };
        let base = if to_server { 1_000_000u32 } else { 2_000_000 };
        let fp = FlowPacket {
            id: PacketId(i as u32),
            ts: Timestamp(i as i64 * 1_000_000),
            src,
            dst,
            vlans: [0; 2],
            vlan_count: 0,
            tunnel: 0,
            tunnels: &[],
            l4: L4::Tcp {
                sport,
                dport,
                seq: base.wrapping_add(seq),
                ack: ack.wrapping_add(if to_server { 2_000_000 } else { 1_000_000 }),
                flags,
                window: 65535,
                wscale: None,
                mss: None,
                sack_permitted: false,
                ts: None,
                payload_len: len as u32,
                payload,
            },
        };
        let _ = table.process(&fp, &mut sink);
    }
    table.finish(&mut sink);
    // With one client port only, all delivered bytes belong to that connection. Which
    // side is the "client" is the table's call (the first packet's sender when no SYN
    // says otherwise), so the check is on both directions together.
    if data.chunks_exact(8).all(|d| d[1] >> 6 == 0) {
        let delivered = sink.bytes[0] + sink.bytes[1];
        let total = sent[0] + sent[1];
        assert!(
            delivered <= total,
            "delivered {delivered} bytes but only {total} were sent"
        );
    }
}

/// The display-filter language: lexer, parser and type checker on arbitrary text.
pub fn display_filter(data: &[u8]) {
    let data = &data[..data.len().min(4096)];
    let text = String::from_utf8_lossy(data);
    if let Ok(f) = wiretale::filter::Filter::compile(&text) {
        let _ = f.fields_used().count();
        let _ = f.is_trivially_true();
    }
}

/// The whole pipeline on a synthesized capture: the input is cut into packets (a
/// length byte pair, then that many bytes), written as an Ethernet pcap in memory, read
/// back and analysed by the engine exactly as `wiretale conns|dns|http` do.
/// Property: the reader returns every synthesized packet.
pub fn pipeline(data: &[u8]) {
    let data = cap(data);
    let (link, mut rest) = match data.split_first() {
        Some((&b, r)) if b & 0x80 != 0 => (LinkType::RAW, r),
        Some((_, r)) => (LinkType::ETHERNET, r),
        None => return,
    };
    let mut file = Vec::with_capacity(data.len() + 24 + 16 * (data.len() / 2 + 1));
    file.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    file.extend_from_slice(&2u16.to_le_bytes());
    file.extend_from_slice(&4u16.to_le_bytes());
    file.extend_from_slice(&[0; 8]);
    file.extend_from_slice(&65535u32.to_le_bytes());
    file.extend_from_slice(&link.0.to_le_bytes());
    let mut n = 0u32;
    while rest.len() >= 2 {
        let want = usize::from(u16::from_le_bytes([rest[0], rest[1]]) % 1600);
        let pkt = &rest[2..];
        let take = want.min(pkt.len());
        let (p, r) = pkt.split_at(take);
        // Time moves by a second-ish per packet, so idle timeouts fire too.
        file.extend_from_slice(&(n * 7).to_le_bytes());
        file.extend_from_slice(&(n * 1000).to_le_bytes());
        file.extend_from_slice(&(take as u32).to_le_bytes());
        file.extend_from_slice(&(take as u32).to_le_bytes());
        file.extend_from_slice(p);
        rest = r;
        n += 1;
    }
    let mut src = MemReader::new(&file[..]);
    let mut engine = Engine::new(EngineConfig {
        want_info: true,
        ..EngineConfig::default()
    });
    let mut seen = 0u32;
    while let Ok(Some(frame)) = src.next_frame() {
        let s = engine.process(&frame);
        assert_eq!(s.id.0, seen);
        seen += 1;
    }
    assert_eq!(seen, n, "synthesized packets lost by the reader");
    engine.finish();
    let _ = engine.take_conns().len() + engine.take_http().len() + engine.take_dns(true).len();
}

/// The TLS engine (record layer, handshake analysis, key log, decryption). Input: 4 seed
/// bytes, a u32 LE client-stream length, a u16 LE key-log length, the key log text, the
/// client stream, then the server stream (seeds: `corpus/tls_session` from the OpenSSL
/// sessions in `src/proto/tls/testdata`, whose keys match). Both streams are fed in
/// random splits with the odd gap. Properties: decrypted data appears only once the
/// session says it decrypted, and never exceeds the protected bytes of its direction.
pub fn tls_session(data: &[u8]) {
    use wiretale::proto::tls::{Event, KeyLog, TlsSession};
    let data = cap(data);
    let Some((head, rest)) = data.split_at_checked(10) else {
        return;
    };
    let mut seed = [0u8; 8];
    seed[..4].copy_from_slice(&head[..4]);
    let clen = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
    let klen = usize::from(u16::from_le_bytes([head[8], head[9]]));
    let (keytext, rest) = rest.split_at(klen.min(rest.len()));
    let (mut c, mut s) = rest.split_at(clen.min(rest.len()));
    let mut keys = KeyLog::new();
    keys.add_text(keytext);
    let _ = format!("{keys:?}");
    let mut rng = Lcg(u64::from_le_bytes(seed));
    let mut t = TlsSession::new();
    let mut plain = [0u64; 2];
    let mut i = 0u32;
    let mut check = |t: &mut TlsSession| {
        for e in t.drain() {
            if let Event::AppData { dir, data, .. } = e {
                plain[dir as usize] += data.len() as u64;
            }
        }
        let sum = t.summary();
        for (p, enc) in plain.iter().zip(&sum.encrypted) {
            assert!(*p == 0 || sum.decrypted);
            assert!(*p <= enc.bytes);
        }
    };
    while !c.is_empty() || !s.is_empty() {
        i += 1;
        let (dir, side) = if (rng.next(2) == 0 && !c.is_empty()) || s.is_empty() {
            (Direction::ClientToServer, &mut c)
        } else {
            (Direction::ServerToClient, &mut s)
        };
        let n = 1 + rng.next(side.len().min(1500));
        let (piece, r) = side.split_at(n.min(side.len()));
        *side = r;
        let ts = Timestamp(i64::from(i));
        if rng.next(64) == 0 {
            t.gap(dir, PacketId(i), ts, piece.len() as u64, Some(&keys));
        } else {
            t.feed(dir, PacketId(i), ts, piece, Some(&keys));
        }
        check(&mut t);
    }
    t.finish(Some(&keys));
    check(&mut t);
}
