//! Property tests for the QUIC layer (`proto::quic`): arbitrary datagrams, arbitrary
//! frames inside correctly protected Initials (so the bytes reach the frame, CRYPTO and
//! TLS hello parsers past the AEAD), and CRYPTO pieces in any order never panic; pieces
//! of a stream always reassemble to the stream. With a key log: arbitrary frames in
//! Handshake and 1-RTT packets sealed with the logged secrets, arbitrary datagrams, and
//! STREAM frames at arbitrary offsets never panic, and stream bytes come out in order.

use proptest::prelude::*;
use wiretale::base::{Direction, PacketId, Timestamp};
use wiretale::proto::quic::crypto_stream::CryptoStream;
use wiretale::proto::quic::frame::parse_frames;
use wiretale::proto::quic::header::{split_datagram, V1, V2};
use wiretale::proto::quic::initial::{Cipher, InitialKeys, PacketKey};
use wiretale::proto::quic::{info, tree, QuicConnState, QuicEvent};
use wiretale::proto::tls::keylog::KeyLog;
use wiretale::proto::tls::names::Hash;

const DCID: [u8; 8] = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];

/// A protected client or server Initial around `payload` (padded to 20 bytes).
fn sealed_initial(version: u32, client: bool, pn: u32, payload: &[u8]) -> Vec<u8> {
    let keys = InitialKeys::new(version, &DCID).unwrap();
    let mut payload = payload.to_vec();
    if payload.len() < 20 {
        payload.resize(20, 0);
    }
    let ty = if version == V2 { 0xd3 } else { 0xc3 };
    let mut h = vec![ty];
    h.extend(version.to_be_bytes());
    if client {
        h.push(8);
        h.extend(DCID);
        h.push(0);
    } else {
        h.push(0);
        h.push(4);
        h.extend([1, 2, 3, 4]);
    }
    h.push(0); // token length
    let len = payload.len() + 4 + 16;
    h.extend((0x8000_0000u32 | len as u32).to_be_bytes());
    h.extend(pn.to_be_bytes());
    let key = if client { &keys.client } else { &keys.server };
    key.seal(&h, u64::from(pn), &payload).unwrap()
}

fn dir(b: bool) -> Direction {
    if b {
        Direction::ClientToServer
    } else {
        Direction::ServerToClient
    }
}

/// The client random of RFC 9001 Appendix A.2's ClientHello, and two secrets.
const RANDOM: &str = "ebf8fa56f12939b9584a3896472ec40bb863cfd3e86804fe3a47f06a2b69484c";
const C_SECRET: &str = "9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b";
const S_SECRET: &str = "3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b";
const SERVER_CID: [u8; 8] = [0xf0, 0x67, 0xa5, 0x50, 0x2a, 0x42, 0x62, 0xb5];

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn key_log() -> KeyLog {
    let mut k = KeyLog::new();
    let mut text = String::new();
    for (label, secret) in [
        ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", C_SECRET),
        ("SERVER_HANDSHAKE_TRAFFIC_SECRET", S_SECRET),
        ("CLIENT_TRAFFIC_SECRET_0", C_SECRET),
        ("SERVER_TRAFFIC_SECRET_0", S_SECRET),
    ] {
        text += &format!("{label} {RANDOM} {secret}\n");
    }
    k.add_text(text.as_bytes());
    k
}

/// A connection after RFC 9001's Initials (ClientHello with RANDOM, suite 0x1301).
fn handshaken(log: &KeyLog) -> QuicConnState {
    let mut s = QuicConnState::new();
    for (d, hex) in [
        (
            Direction::ClientToServer,
            include_str!("../crates/engine/src/proto/quic/testdata/v1_client_initial.hex"),
        ),
        (
            Direction::ServerToClient,
            include_str!("../crates/engine/src/proto/quic/testdata/v1_server_initial.hex"),
        ),
    ] {
        let _ = s.datagram(d, PacketId(0), Timestamp(0), &unhex(hex), Some(log));
    }
    assert_eq!(s.report().cipher, Some(0x1301));
    s
}

fn key(c2s: bool) -> PacketKey {
    let secret = unhex(if c2s { C_SECRET } else { S_SECRET });
    PacketKey::from_secret_with(V1, Cipher::Aes128Gcm, Hash::Sha256, &secret).unwrap()
}

/// A Handshake (long) or 1-RTT (short) packet around `payload`, sealed with the logged
/// secrets; 2-byte packet numbers.
fn sealed(c2s: bool, handshake: bool, pn: u16, payload: &[u8]) -> Vec<u8> {
    let mut payload = payload.to_vec();
    payload.resize(payload.len().max(20), 0);
    let dcid: &[u8] = if c2s { &SERVER_CID } else { &[] };
    let mut h;
    if handshake {
        h = vec![0xe1];
        h.extend(V1.to_be_bytes());
        h.push(dcid.len() as u8);
        h.extend(dcid);
        if c2s {
            h.push(0);
        } else {
            h.push(8);
            h.extend(SERVER_CID);
        }
        h.extend((0x4000u16 | (payload.len() + 2 + 16) as u16).to_be_bytes());
    } else {
        h = vec![0x41];
        h.extend(dcid);
    }
    h.extend(pn.to_be_bytes());
    key(c2s).seal(&h, u64::from(pn), &payload).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_datagrams_never_panic(
        datagrams in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 0..300)), 1..8),
        cid_len in 0usize..24,
    ) {
        let mut s = QuicConnState::new();
        for (i, (c2s, d)) in datagrams.iter().enumerate() {
            let _ = split_datagram(d, cid_len);
            let _ = parse_frames(d);
            let _ = s.datagram(dir(*c2s), PacketId(i as u32), Timestamp(i as i64), d, None);
        }
        let _ = s.report();
    }

    #[test]
    fn arbitrary_frames_inside_valid_initials_never_panic(
        packets in prop::collection::vec((any::<bool>(), any::<bool>(), prop::collection::vec(any::<u8>(), 0..400)), 1..6),
    ) {
        let mut s = QuicConnState::new();
        // The client's first Initial sets the keys.
        let mut seen = s.datagram(Direction::ClientToServer, PacketId(0), Timestamp(0), &sealed_initial(V1, true, 0, &[1]), None);
        for (i, (c2s, v2, payload)) in packets.iter().enumerate() {
            let p = sealed_initial(if *v2 { V2 } else { V1 }, *c2s, i as u32 + 1, payload);
            seen.extend(s.datagram(dir(*c2s), PacketId(i as u32 + 1), Timestamp(i as i64), &p, None));
        }
        prop_assert!(seen.len() == packets.len() + 1);
    }

    #[test]
    fn crypto_frames_carrying_random_handshake_bytes_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..600),
        ty in 1u8..3,
        cuts in prop::collection::vec(0usize..700, 0..6),
    ) {
        // A handshake message header of the right length around random bytes, cut into
        // CRYPTO frames sent last piece first.
        let mut msg = vec![ty, 0, (body.len() >> 8) as u8, body.len() as u8];
        msg.extend(&body);
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (msg.len() + 1)).collect();
        points.extend([0, msg.len()]);
        points.sort_unstable();
        points.dedup();
        let mut s = QuicConnState::new();
        let _ = s.datagram(Direction::ClientToServer, PacketId(99), Timestamp(0), &sealed_initial(V1, true, 99, &[1]), None);
        for (i, w) in points.windows(2).rev().enumerate() {
            let piece = &msg[w[0]..w[1]];
            let mut f = vec![0x06, 0x80, 0, 0, 0];
            f[1..5].copy_from_slice(&(0x8000_0000u32 | w[0] as u32).to_be_bytes());
            f.extend((0x4000u16 | piece.len() as u16).to_be_bytes());
            f.extend(piece);
            let c2s = ty == 1;
            let _ = s.datagram(dir(c2s), PacketId(i as u32), Timestamp(0), &sealed_initial(V1, c2s, i as u32, &f), None);
        }
        // Every Initial opened: the bytes reached the frame and hello parsers.
        prop_assert!(!s.report().anomalies.iter().any(|a| a.what.starts_with("undecryptable")));
    }

    #[test]
    fn crypto_pieces_in_any_order_reassemble(
        len in 1usize..2000,
        cuts in prop::collection::vec((0usize..2000, 0usize..2000), 0..12),
        seed in any::<u64>(),
    ) {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
        // Pieces covering the whole stream plus arbitrary overlapping ones.
        let mut pieces: Vec<(usize, usize)> = vec![(0, len / 2), (len / 2, len)];
        pieces.extend(cuts.iter().map(|&(a, b)| {
            let (a, b) = (a % len, b % len);
            (a.min(b), a.max(b))
        }));
        // A deterministic shuffle from the seed.
        let mut x = seed | 1;
        for i in (1..pieces.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            pieces.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let mut s = CryptoStream::default();
        for (a, b) in pieces {
            s.insert(a as u64, &data[a..b]);
        }
        prop_assert_eq!(s.contiguous(), data.as_slice());
        prop_assert!(!s.has_gap());
    }

    #[test]
    fn arbitrary_frames_in_handshake_and_1rtt_packets_with_keys_never_panic(
        packets in prop::collection::vec(
            (any::<bool>(), any::<bool>(), any::<bool>(), prop::collection::vec(any::<u8>(), 0..300)),
            1..8,
        ),
    ) {
        let log = key_log();
        let mut s = handshaken(&log);
        for (i, (c2s, handshake, raw, bytes)) in packets.iter().enumerate() {
            let d = if *raw { bytes.clone() } else { sealed(*c2s, *handshake, i as u16, bytes) };
            let seen = s.datagram(dir(*c2s), PacketId(i as u32 + 1), Timestamp(i as i64), &d, Some(&log));
            if !*raw {
                prop_assert!(seen.iter().all(|p| p.decrypted), "{seen:?}");
            }
            let _ = info(&seen);
            let _ = tree(&seen, 42);
            let _ = s.drain_events().count();
        }
        s.retry_keys(&log);
        s.finish();
        let _ = s.drain_events().count();
        prop_assert!(s.report().anomalies.len() <= 64);
    }

    #[test]
    fn stream_frames_at_any_offset_come_out_in_order(
        frames in prop::collection::vec((0u64..3, 0usize..600, 0usize..200, any::<bool>()), 1..30),
    ) {
        let log = key_log();
        let mut s = handshaken(&log);
        let byte = |id: u64, at: usize| (at as u64 * 31 + id * 7) as u8;
        let mut next: std::collections::BTreeMap<u64, (u64, bool)> = Default::default();
        for (i, &(idx, off, len, fin)) in frames.iter().enumerate() {
            let id = idx * 4;
            let data: Vec<u8> = (off..off + len).map(|at| byte(id, at)).collect();
            // STREAM with OFF and LEN bits (0x0e), FIN when asked; 2-byte varints.
            let mut f = vec![0x0e | u8::from(fin), id as u8];
            f.extend((0x4000u16 | off as u16).to_be_bytes());
            f.extend((0x4000u16 | len as u16).to_be_bytes());
            f.extend(&data);
            let p = sealed(true, false, i as u16, &f);
            let seen = s.datagram(Direction::ClientToServer, PacketId(i as u32), Timestamp(0), &p, Some(&log));
            prop_assert!(seen[0].decrypted);
            for e in s.drain_events() {
                if let QuicEvent::Stream { id, offset, data, fin, .. } = e {
                    let n = next.entry(id).or_default();
                    prop_assert_eq!(offset, n.0);
                    prop_assert!(!n.1, "bytes after FIN");
                    for (k, b) in data.iter().enumerate() {
                        prop_assert_eq!(*b, byte(id, offset as usize + k));
                    }
                    n.0 += data.len() as u64;
                    n.1 = fin;
                }
            }
        }
    }
}
