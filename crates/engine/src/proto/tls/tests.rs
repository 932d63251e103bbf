//! Hello tests of the TLS engine ([`TlsSession`], without keys) with real bytes
//! (fixtures from tests/data/extract-streams.sh), and the recognition of TLS by content.

use super::handshake::{ClientHelloInfo, ServerHelloInfo};
use super::*;
use crate::base::{AnomalyKind, Direction, PacketId, Timestamp};
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

/// A hello and the packet that completed it.
#[derive(Debug)]
enum Hello {
    Client(Box<ClientHelloInfo>, PacketId),
    Server(Box<ServerHelloInfo>, PacketId),
}

/// The hellos among the session's events so far, and its anomalies.
fn hellos(t: &mut TlsSession) -> (Vec<Hello>, Vec<AnomalyKind>) {
    let (mut out, mut bad) = (Vec::new(), Vec::new());
    for e in t.drain() {
        match e {
            Event::Handshake {
                msg: HandshakeMsg::ClientHello(h),
                pkt,
                ..
            } => out.push(Hello::Client(h, pkt)),
            Event::Handshake {
                msg: HandshakeMsg::ServerHello(h),
                pkt,
                ..
            } => out.push(Hello::Server(h, pkt)),
            Event::Anomaly { anomaly, .. } => bad.push(anomaly.kind),
            _ => {}
        }
    }
    (out, bad)
}

fn replay(name: &str) -> Vec<Hello> {
    let (c2s, s2c, pkts) = fixture(name);
    let mut t = TlsSession::new();
    let mut out = Vec::new();
    for (frame, d, off, len, ts) in pkts {
        let src = if d == C { &c2s } else { &s2c };
        t.feed(
            d,
            PacketId(frame - 1),
            Timestamp(ts),
            &src[off..off + len],
            None,
        );
        out.extend(hellos(&mut t).0);
    }
    out
}

fn client_sni(h: &[Hello]) -> Option<&str> {
    match h.first() {
        Some(Hello::Client(c, _)) => c.sni.as_deref(),
        _ => None,
    }
}

#[test]
fn chrome_client_and_server_hello() {
    // zeek/tls-chrome-34-google.pcap: ClientHello with SNI google.de (frame 4, as tshark truth says).
    let ev = replay("zeek__tls-chrome-34-google.pcap--0");
    let Hello::Client(ch, pkt) = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(ch.sni.as_deref(), Some("google.de"));
    assert_eq!(pkt.frame_number(), 4);
    assert_eq!(ch.legacy_version, 0x0303);
    assert!(ch.cipher_suites.len() > 10);
    assert!(ch.alpn.iter().any(|a| a == "http/1.1"), "{:?}", ch.alpn);
    let Hello::Server(sh, _) = &ev[1] else {
        panic!("{ev:?}")
    };
    assert_eq!(version_name(sh.version), "TLS 1.2");
}

#[test]
fn hello_split_byte_by_byte_and_across_records() {
    let (c2s, _, _) = fixture("zeek__tls-chrome-34-google.pcap--0");
    let mut t = TlsSession::new();
    for (i, b) in c2s.iter().enumerate() {
        t.feed(
            C,
            PacketId(i as u32),
            Timestamp(i as i64),
            std::slice::from_ref(b),
            None,
        );
    }
    assert_eq!(client_sni(&hellos(&mut t).0), Some("google.de"));
    // Re-frame the ClientHello message into records of 50 bytes each.
    let len = usize::from(c2s[3]) << 8 | usize::from(c2s[4]);
    let msg = &c2s[5..5 + len];
    let mut framed = Vec::new();
    for part in msg.chunks(50) {
        framed.extend_from_slice(&[22, 3, 1, 0, part.len() as u8]);
        framed.extend_from_slice(part);
    }
    let mut t = TlsSession::new();
    t.feed(C, PacketId(0), Timestamp(0), &framed, None);
    assert_eq!(client_sni(&hellos(&mut t).0), Some("google.de"));
}

#[test]
fn truncation_sweep() {
    let (c2s, _, _) = fixture("zeek__tls-chrome-34-google.pcap--0");
    let len = 5 + (usize::from(c2s[3]) << 8 | usize::from(c2s[4]));
    for n in 0..=c2s.len().min(len + 10) {
        let mut t = TlsSession::new();
        t.feed(C, PacketId(0), Timestamp(0), &c2s[..n], None);
        let (got, bad) = hellos(&mut t);
        assert_eq!(got.len(), usize::from(n >= len), "prefix {n}");
        assert_eq!(bad, vec![], "prefix {n}");
    }
}

#[test]
fn der_incomplete_header_no_panic() {
    // suricata-verify/tls_DER-incomplete-header.pcap: a broken certificate after the hellos.
    let ev = replay("suricata-verify__tls_DER-incomplete-header.pcap--0");
    assert!(ev.iter().any(|e| matches!(e, Hello::Server(..))), "{ev:?}");
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
fn gap_inside_the_hello_loses_it_and_says_so() {
    let (c2s, _, _) = fixture("zeek__tls-chrome-34-google.pcap--0");
    let mut t = TlsSession::new();
    t.feed(C, PacketId(0), Timestamp(0), &c2s[..20], None);
    t.gap(C, PacketId(1), Timestamp(1), 10, None);
    t.feed(C, PacketId(1), Timestamp(2), &c2s[30..], None);
    let (got, bad) = hellos(&mut t);
    assert!(got.is_empty(), "{got:?}");
    assert_eq!(bad, vec![AnomalyKind::TlsRecordLost]);
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
        0, 0x2b, 0, 2, 3, 4, 0, 0x10, 0, 5, 0, 3, 2, b'h', b'2', 0xff, 0xff, 0, 1, 0,
    ];
    body.extend_from_slice(&[0, ext.len() as u8]);
    body.extend_from_slice(ext);
    let mut rec = vec![22, 3, 3, 0, body.len() as u8 + 4, 2, 0, 0, body.len() as u8];
    rec.extend_from_slice(&body);
    let mut t = TlsSession::new();
    t.feed(S, PacketId(9), Timestamp(5), &rec, None);
    let (ev, _) = hellos(&mut t);
    let [Hello::Server(sh, pkt)] = ev.as_slice() else {
        panic!("{ev:?}")
    };
    assert_eq!(version_name(sh.version), "TLS 1.3");
    assert_eq!(sh.alpn.as_deref(), Some("h2"));
    assert_eq!((sh.cipher, *pkt), (0x1301, PacketId(9)));
    assert_eq!(t.summary().version, Some(0x0304));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(
        (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..300)), 0..20)) {
        let mut t = TlsSession::new();
        for (i, (d, b)) in chunks.iter().enumerate() {
            let d = if *d { C } else { S };
            t.feed(d, PacketId(i as u32), Timestamp(0), b, None);
            if i % 3 == 0 { t.gap(d, PacketId(i as u32), Timestamp(0), 7, None); }
        }
        t.finish(None);
        let _ = t.drain().count();
    }

    #[test]
    fn handshake_shaped_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400), ty in 1u8..3) {
        let mut msg = vec![ty, 0, (body.len() >> 8) as u8, body.len() as u8];
        msg.extend_from_slice(&body);
        let mut rec = vec![22, 3, 3, (msg.len() >> 8) as u8, msg.len() as u8];
        rec.extend_from_slice(&msg);
        let mut t = TlsSession::new();
        t.feed(C, PacketId(0), Timestamp(0), &rec, None);
        let _ = t.drain().count();
    }
}
