//! Property tests for the QUIC layer (`proto::quic`): arbitrary datagrams, arbitrary
//! frames inside correctly protected Initials (so the bytes reach the frame, CRYPTO and
//! TLS hello parsers past the AEAD), and CRYPTO pieces in any order never panic; pieces
//! of a stream always reassemble to the stream.

use proptest::prelude::*;
use wiretale::base::{Direction, PacketId, Timestamp};
use wiretale::proto::quic::crypto_stream::CryptoStream;
use wiretale::proto::quic::frame::parse_frames;
use wiretale::proto::quic::header::{split_datagram, V1, V2};
use wiretale::proto::quic::initial::InitialKeys;
use wiretale::proto::quic::QuicConnState;

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
}
