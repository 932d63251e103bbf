//! TLS hello tests with real bytes (fixtures from tests/data/extract-streams.sh).

use super::*;
use proptest::prelude::*;

const C: Direction = Direction::ClientToServer;
const S: Direction = Direction::ServerToClient;

/// (frame, direction, offset, length, timestamp ns) of each payload packet.
type Pkt = (u32, Direction, usize, usize, i64);

fn fixture(name: &str) -> (Vec<u8>, Vec<u8>, Vec<Pkt>) {
    let base = format!("{}/tests/data/streams/{name}", crate::testutil::ROOT);
    let c2s = std::fs::read(format!("{base}.c2s.bin")).expect("fixture");
    let s2c = std::fs::read(format!("{base}.s2c.bin")).expect("fixture");
    let idx = std::fs::read_to_string(format!("{base}.idx")).expect("fixture");
    let pkts = idx
        .lines()
        .filter(|l| l.starts_with("P "))
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let d = if f[2] == "c" { C } else { S };
            (
                f[1].parse().unwrap(),
                d,
                f[3].parse().unwrap(),
                f[4].parse().unwrap(),
                f[5].parse().unwrap(),
            )
        })
        .collect();
    (c2s, s2c, pkts)
}

fn replay(name: &str) -> Vec<TlsEvent> {
    let (c2s, s2c, pkts) = fixture(name);
    let mut t = TlsConn::new();
    let mut out = Vec::new();
    for (frame, d, off, len, ts) in pkts {
        let src = if d == C { &c2s } else { &s2c };
        t.feed(d, Timestamp(ts), PacketId(frame - 1), &src[off..off + len]);
        out.extend(t.drain());
    }
    out
}

#[test]
fn chrome_client_and_server_hello() {
    // zeek/tls-chrome-34-google.pcap: ClientHello with SNI google.de (frame 4, as tshark truth says).
    let ev = replay("zeek__tls-chrome-34-google.pcap--0");
    let TlsEvent::ClientHello(ch) = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(ch.sni.as_deref(), Some("google.de"));
    assert_eq!(ch.pkt.frame_number(), 4);
    assert_eq!(ch.versions[0], 0x0303);
    assert!(ch.cipher_suites > 10);
    assert!(ch.alpn.iter().any(|a| a == "http/1.1"), "{:?}", ch.alpn);
    assert_eq!(ev[0].info(), "Client Hello (SNI=google.de)");
    let TlsEvent::ServerHello(sh) = &ev[1] else {
        panic!("{ev:?}")
    };
    assert_eq!(version_name(sh.version), "TLS 1.2");
    assert_eq!(ev[1].info(), "Server Hello");
}

#[test]
fn hello_split_byte_by_byte_and_across_records() {
    let (c2s, _, _) = fixture("zeek__tls-chrome-34-google.pcap--0");
    let mut t = TlsConn::new();
    for (i, b) in c2s.iter().enumerate() {
        t.feed(
            C,
            Timestamp(i as i64),
            PacketId(i as u32),
            std::slice::from_ref(b),
        );
    }
    let ev: Vec<_> = t.drain().collect();
    assert!(matches!(&ev[0], TlsEvent::ClientHello(c) if c.sni.as_deref() == Some("google.de")));
    // Re-frame the ClientHello message into records of 50 bytes each.
    let len = usize::from(c2s[3]) << 8 | usize::from(c2s[4]);
    let msg = &c2s[5..5 + len];
    let mut framed = Vec::new();
    for part in msg.chunks(50) {
        framed.extend_from_slice(&[22, 3, 1, 0, part.len() as u8]);
        framed.extend_from_slice(part);
    }
    let mut t = TlsConn::new();
    t.feed(C, Timestamp(0), PacketId(0), &framed);
    let ev: Vec<_> = t.drain().collect();
    assert!(matches!(&ev[0], TlsEvent::ClientHello(c) if c.sni.as_deref() == Some("google.de")));
}

#[test]
fn truncation_sweep() {
    let (c2s, _, _) = fixture("zeek__tls-chrome-34-google.pcap--0");
    let len = 5 + (usize::from(c2s[3]) << 8 | usize::from(c2s[4]));
    for n in 0..=c2s.len().min(len + 10) {
        let mut t = TlsConn::new();
        t.feed(C, Timestamp(0), PacketId(0), &c2s[..n]);
        let got = t.drain().count();
        assert_eq!(got, usize::from(n >= len), "prefix {n}");
    }
}

#[test]
fn der_incomplete_header_no_panic() {
    // suricata-verify/tls_DER-incomplete-header.pcap: a broken certificate after the hellos.
    let ev = replay("suricata-verify__tls_DER-incomplete-header.pcap--0");
    assert!(
        ev.iter().any(|e| matches!(e, TlsEvent::ServerHello(_))),
        "{ev:?}"
    );
}

#[test]
fn recognition_and_names() {
    let (c2s, _, _) = fixture("zeek__tls-chrome-34-google.pcap--0");
    assert!(looks_like_tls(&c2s));
    assert!(!looks_like_tls(b"GET / HTTP/1.1\r\n"));
    assert!(!looks_like_tls(&[22, 3, 1, 0xff, 0xff, 1]));
    assert_eq!(version_name(0x0304), "TLS 1.3");
    assert_eq!(version_name(0x0a0a), "GREASE (0x0a0a)");
}

#[test]
fn gap_stops_direction() {
    let (c2s, _, _) = fixture("zeek__tls-chrome-34-google.pcap--0");
    let mut t = TlsConn::new();
    t.feed(C, Timestamp(0), PacketId(0), &c2s[..20]);
    t.gap(C, Timestamp(1), 10);
    t.feed(C, Timestamp(2), PacketId(1), &c2s[30..]);
    assert_eq!(t.drain().count(), 0);
    assert_eq!(t.anomalies()[0].name(), "tls_gap");
}

#[test]
fn tls13_server_hello_supported_versions_and_alpn() {
    // RFC 8446 §4.1.3 layout: legacy_version 0x0303, random, empty session id,
    // TLS_AES_128_GCM_SHA256, null compression; extensions supported_versions (0x0304)
    // and ALPN "h2".
    let mut body = vec![3, 3];
    body.extend_from_slice(&[0x11; 32]);
    body.extend_from_slice(&[0, 0x13, 0x01, 0]);
    let ext: &[u8] = &[
        0, 0x2b, 0, 2, 3, 4, 0, 0x10, 0, 5, 0, 3, 2, b'h', b'2', 0xff, 0xff, 0, 1,
    ];
    body.extend_from_slice(&[0, ext.len() as u8]);
    body.extend_from_slice(ext);
    let mut rec = vec![22, 3, 3, 0, body.len() as u8 + 4, 2, 0, 0, body.len() as u8];
    rec.extend_from_slice(&body);
    let mut t = TlsConn::new();
    t.feed(S, Timestamp(5), PacketId(9), &rec);
    let ev: Vec<_> = t.drain().collect();
    let [TlsEvent::ServerHello(sh)] = ev.as_slice() else {
        panic!("{ev:?}")
    };
    assert_eq!(version_name(sh.version), "TLS 1.3");
    assert_eq!(sh.alpn.as_deref(), Some("h2"));
    assert_eq!((sh.cipher, sh.pkt), (0x1301, PacketId(9)));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(
        (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..300)), 0..20)) {
        let mut t = TlsConn::new();
        for (i, (d, b)) in chunks.iter().enumerate() {
            let d = if *d { C } else { S };
            t.feed(d, Timestamp(0), PacketId(i as u32), b);
            if i % 3 == 0 { t.gap(d, Timestamp(0), 7); }
        }
        let _ = t.drain().count();
    }

    #[test]
    fn handshake_shaped_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400), ty in 1u8..3) {
        let mut msg = vec![ty, 0, (body.len() >> 8) as u8, body.len() as u8];
        msg.extend_from_slice(&body);
        let mut rec = vec![22, 3, 3, (msg.len() >> 8) as u8, msg.len() as u8];
        rec.extend_from_slice(&msg);
        let mut t = TlsConn::new();
        t.feed(C, Timestamp(0), PacketId(0), &rec);
        let _ = t.drain().count();
    }
}
