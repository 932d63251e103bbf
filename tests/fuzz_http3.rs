//! Property tests of the HTTP/3 connection (`proto::http3`, RFC 9114): arbitrary stream
//! bytes, gaps, resets and FINs on any stream ids never panic and stay within the
//! bounds; the real aioquic session (`tests/data/http3/session.streams`) decodes the
//! same under any cutting of its deliveries, and mutated copies of it never panic.

use proptest::prelude::*;
use wiretale::base::{Direction, PacketId, Timestamp};
use wiretale::proto::http3::{H3Conn, H3Exchange, MAX_OPEN_STREAMS, MAX_PENDING_FRAMES};

const C: Direction = Direction::ClientToServer;
const S: Direction = Direction::ServerToClient;

/// (direction, stream, fin, bytes) per data line; resets as (dir, stream, code) with
/// empty bytes and `fin` false are kept apart by `Op`.
#[derive(Clone, Debug)]
enum Op {
    Data(Direction, u64, bool, Vec<u8>),
    Reset(Direction, u64, u64),
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn session() -> Vec<Op> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/http3/session.streams"
    );
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let d = if f[1] == "c" { C } else { S };
            match f[0] {
                "D" => Op::Data(
                    d,
                    f[2].parse().unwrap(),
                    f[3] == "1",
                    unhex(f.get(4).copied().unwrap_or("")),
                ),
                _ => Op::Reset(d, f[2].parse().unwrap(), f[3].parse().unwrap()),
            }
        })
        .collect()
}

/// Runs the ops, cutting each delivery at the given points; returns the exchanges by
/// stream.
fn run(ops: &[Op], cuts: &[usize]) -> Vec<H3Exchange> {
    let mut c = H3Conn::new();
    for (i, op) in ops.iter().enumerate() {
        let (pkt, ts) = (PacketId(i as u32), Timestamp(i as i64 * 1000));
        match op {
            Op::Data(d, s, fin, b) => {
                let cut = cuts.get(i % cuts.len().max(1)).copied().unwrap_or(0) % (b.len() + 1);
                c.stream(*s, *d, pkt, ts, &b[..cut], false);
                c.stream(*s, *d, pkt, ts, &b[cut..], *fin);
            }
            Op::Reset(d, s, code) => c.reset(*s, *d, *code, pkt, ts),
        }
        assert!(c.in_flight().count() <= MAX_OPEN_STREAMS);
    }
    c.finish(Timestamp(1 << 40));
    let mut ex: Vec<H3Exchange> = c.drain().collect();
    ex.sort_by_key(|e| e.stream);
    ex
}

fn small_stream() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..24, Just(u64::MAX >> 2), any::<u64>()]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_streams_never_panic(
        ops in prop::collection::vec(
            (0u8..8, small_stream(), any::<bool>(), prop::collection::vec(any::<u8>(), 0..96)),
            0..40),
    ) {
        let mut c = H3Conn::new();
        for (i, (kind, id, fin, bytes)) in ops.iter().enumerate() {
            let d = if id & 1 == 1 || kind & 1 == 1 { S } else { C };
            let (pkt, ts) = (PacketId(i as u32), Timestamp(i as i64));
            match kind {
                0..=4 => c.stream(*id, d, pkt, ts, bytes, *fin),
                5 => c.stream_gap(*id, d, bytes.len() as u64 + 1),
                6 => c.reset(*id, d, u64::from(bytes.first().copied().unwrap_or(0)) + 0x100, pkt, ts),
                _ => { let _ = c.drain().count(); }
            }
            prop_assert!(c.frames_dropped() == 0 || i > MAX_PENDING_FRAMES);
            prop_assert!(c.anomalies().len() <= 32);
        }
        c.finish(Timestamp(1 << 40));
        for e in c.drain() {
            // Every exchange that leaves is complete or says why not.
            prop_assert!(!e.partial || !e.anomalies.is_empty() || e.headers_unreliable);
        }
        for f in c.drain_frames() {
            // Info text reaches terminals: wire bytes in it are escaped.
            prop_assert!(!f.info().chars().any(char::is_control), "{:?}", f.info());
        }
    }

    #[test]
    fn structured_streams_never_panic(
        streams in prop::collection::vec(
            (0u64..16,
             prop_oneof![Just(None), (0u8..4).prop_map(Some), Just(Some(0x21))],
             prop::collection::vec(
                 (prop_oneof![0u64..8, Just(0x0d), Just(0x21), Just(0x5f), any::<u64>()],
                  prop::collection::vec(any::<u8>(), 0..40)),
                 0..6),
             0usize..64),
            0..12),
    ) {
        // Unidirectional streams that open with a real type, and frames with real types
        // and random payloads (QPACK sections included), each stream cut once.
        let mut c = H3Conn::new();
        for (i, (id, ty, frames, cut)) in streams.iter().enumerate() {
            let mut b = Vec::new();
            if let Some(t) = ty { b.push(*t); }
            for (t, p) in frames {
                let t = (*t).min((1 << 62) - 1);
                for v in [t, p.len() as u64] {
                    if v < 64 { b.push(v as u8) } else { b.extend_from_slice(&(0xc000_0000_0000_0000u64 | v).to_be_bytes()) }
                }
                b.extend_from_slice(p);
            }
            let id = if ty.is_some() { (id << 2) | 2 | (id & 1) } else { id << 2 };
            let d = if id & 1 == 1 || (ty.is_none() && i % 2 == 1) { S } else { C };
            let k = cut % (b.len() + 1);
            let (pkt, ts) = (PacketId(i as u32), Timestamp(i as i64));
            c.stream(id, d, pkt, ts, &b[..k], false);
            c.stream(id, d, pkt, ts, &b[k..], i % 3 == 0);
        }
        c.finish(Timestamp(1 << 40));
        let _ = c.drain().count();
        for f in c.drain_frames() {
            // Info text reaches terminals: wire bytes in it are escaped.
            prop_assert!(!f.info().chars().any(char::is_control), "{:?}", f.info());
        }
    }

    #[test]
    fn the_session_decodes_the_same_under_any_cutting(
        cuts in prop::collection::vec(any::<usize>(), 1..32),
    ) {
        let ops = session();
        prop_assert_eq!(run(&ops, &cuts), run(&ops, &[0]));
    }

    #[test]
    fn mutated_sessions_never_panic(
        flips in prop::collection::vec((any::<usize>(), any::<usize>(), any::<u8>()), 1..8),
        drop_line in any::<usize>(),
    ) {
        let mut ops = session();
        let n = ops.len();
        for (line, at, x) in flips {
            if let Op::Data(_, _, _, b) = &mut ops[line % n] {
                if !b.is_empty() {
                    let k = at % b.len();
                    b[k] ^= x | 1;
                }
            }
        }
        ops.remove(drop_line % n);
        let ex = run(&ops, &[7]);
        prop_assert!(ex.len() <= 8);
    }
}
