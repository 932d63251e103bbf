//! DNS over TCP: each message is preceded by a two-byte length (RFC 1035 §4.2.2,
//! RFC 7766 §8). One segment may carry several messages, and one message may span
//! several segments; this decoder turns a direction's reassembled byte stream back into
//! messages.
//!
//! Buffering is bounded: a direction holds at most one incomplete message (≤ 65,537
//! bytes) — or, while resynchronising after a gap, at most [`MAX_RESYNC_BUFFER`] bytes.
//! When the flow layer reports a gap, the decoder skips exactly the rest of the current
//! message when its length is known; otherwise it scans for the next offset where a
//! length prefix is followed by a plausible, completely parsing DNS message, and marks
//! the next message `after_gap` so its transaction can be flagged partial.

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::detect::looks_like_dns;
use super::message::Message;
use super::parse::{header, parse_message, DnsError};
use crate::base::{Anomaly, AnomalyKind, Direction, PacketId, Timestamp};

/// Bytes kept at most while searching for a message boundary after a gap.
pub const MAX_RESYNC_BUFFER: usize = 2 * (65_535 + 2);

/// One DNS message recovered from a TCP stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpDnsMessage {
    pub dir: Direction,
    /// Time and packet of the segment that completed the message.
    pub ts: Timestamp,
    pub pkt: PacketId,
    /// Packet where the message (its length prefix) started.
    pub first_pkt: PacketId,
    /// The message's length without its prefix.
    pub len: usize,
    /// True for the first message after a gap in this direction.
    pub after_gap: bool,
    pub message: Result<Message, DnsError>,
}

#[derive(Debug, Default)]
struct Side {
    buf: Vec<u8>,
    first_pkt: Option<PacketId>,
    /// Bytes of a message cut by a gap still to be skipped.
    skip: usize,
    /// Boundary unknown after a gap: searching.
    resync: bool,
    after_gap: bool,
}

/// Length-prefixed DNS stream decoder for one TCP connection (both directions).
#[derive(Debug, Default)]
pub struct DnsTcpStream {
    sides: [Side; 2],
    anomalies: Vec<Anomaly>,
}

/// Whether `b` starts like a DNS header worth waiting for (used while resynchronising).
fn plausible_header(b: &[u8]) -> bool {
    match header(b) {
        Ok((_, (_, f, [qd, ..]))) => f.opcode <= 5 && !f.z && (1..=4).contains(&qd),
        Err(_) => false,
    }
}

impl DnsTcpStream {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds in-order stream bytes of one direction; returns the messages they complete.
    pub fn feed(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        pkt: PacketId,
        bytes: &[u8],
    ) -> Vec<TcpDnsMessage> {
        let mut out = Vec::new();
        let side = side_of(&mut self.sides, dir);
        let mut data = bytes;
        if side.skip > 0 {
            let n = side.skip.min(data.len());
            side.skip -= n;
            data = data.get(n..).unwrap_or_default();
        }
        if data.is_empty() {
            return out;
        }
        if side.resync {
            side.buf.extend_from_slice(data);
            data = &[];
            match find_boundary(&side.buf) {
                Scan::Found(p) => {
                    side.buf.drain(..p);
                    side.resync = false;
                    side.first_pkt = Some(pkt);
                }
                Scan::Wait(p) => {
                    side.buf.drain(..p);
                    if side.buf.len() > MAX_RESYNC_BUFFER {
                        let cut = side.buf.len() - MAX_RESYNC_BUFFER / 2;
                        side.buf.drain(..cut);
                    }
                    return out;
                }
            }
        }
        // Fast path: nothing buffered, parse straight from the segment.
        if side.buf.is_empty() {
            while data.len() >= 2 {
                let len = be16(data);
                let Some(m) = data.get(2..2 + len) else { break };
                out.push(TcpDnsMessage {
                    dir,
                    ts,
                    pkt,
                    first_pkt: pkt,
                    len,
                    after_gap: std::mem::take(&mut side.after_gap),
                    message: parse_message(m),
                });
                data = data.get(2 + len..).unwrap_or_default();
            }
            if !data.is_empty() {
                side.buf.extend_from_slice(data);
                side.first_pkt = Some(pkt);
            }
            return out;
        }
        side.buf.extend_from_slice(data);
        let mut at = 0;
        while let Some(p) = side.buf.get(at..at + 2) {
            let len = be16(p);
            let Some(m) = side.buf.get(at + 2..at + 2 + len) else {
                break;
            };
            out.push(TcpDnsMessage {
                dir,
                ts,
                pkt,
                first_pkt: side.first_pkt.unwrap_or(pkt),
                len,
                after_gap: std::mem::take(&mut side.after_gap),
                message: parse_message(m),
            });
            side.first_pkt = Some(pkt);
            at += 2 + len;
        }
        side.buf.drain(..at);
        if side.buf.is_empty() {
            side.first_pkt = None;
        }
        out
    }

    /// Reports `len` bytes missing from direction `dir` at the current stream position.
    pub fn gap(&mut self, dir: Direction, len: usize) {
        if len == 0 {
            return;
        }
        let side = side_of(&mut self.sides, dir);
        side.after_gap = true;
        self.anomalies.push(Anomaly::new(
            AnomalyKind::DnsTcpGap,
            format!("{len} bytes missing from the {} stream", dir.sender()),
        ));
        if side.resync {
            return;
        }
        if side.skip > 0 {
            // Still inside a message whose end is known.
            if len < side.skip {
                side.skip -= len;
                return;
            }
            side.skip = 0;
            side.resync = true;
            side.buf.clear();
            return;
        }
        if let Some(p) = side.buf.get(..2) {
            let total = 2 + be16(p);
            let need = total.saturating_sub(side.buf.len());
            side.buf.clear();
            side.first_pkt = None;
            if len < need {
                side.skip = need - len;
                return;
            }
        }
        side.buf.clear();
        side.first_pkt = None;
        side.resync = true;
    }

    /// Bytes currently held for direction `dir` (at most one incomplete message, or
    /// [`MAX_RESYNC_BUFFER`] while resynchronising).
    pub fn buffered(&self, dir: Direction) -> usize {
        let [c, s] = &self.sides;
        match dir {
            Direction::ClientToServer => c.buf.len(),
            Direction::ServerToClient => s.buf.len(),
        }
    }

    /// Anomalies noted so far (gaps), leaving the list empty.
    pub fn drain_anomalies(&mut self) -> Vec<Anomaly> {
        std::mem::take(&mut self.anomalies)
    }
}

/// What a scan of the resynchronisation buffer found.
enum Scan {
    /// A length prefix at this offset introduces a complete message that
    /// [`looks_like_dns`].
    Found(usize),
    /// Nothing complete yet; bytes before this offset can never start a message.
    Wait(usize),
}

/// Scans for the first offset whose length prefix introduces a complete, clean DNS
/// message. Offsets whose message is not complete yet but whose header is plausible are
/// remembered so the bytes from the first of them are kept.
/// Direction `dir`'s framing state.
fn side_of(sides: &mut [Side; 2], dir: Direction) -> &mut Side {
    let [c, s] = sides;
    match dir {
        Direction::ClientToServer => c,
        Direction::ServerToClient => s,
    }
}

/// The two-byte big-endian length prefix at the start of `p` (RFC 1035 §4.2.2); 0 when
/// fewer than two bytes are there (callers take `p` from a `get(..2)` that has them).
fn be16(p: &[u8]) -> usize {
    p.first_chunk::<2>()
        .map_or(0, |b| usize::from(u16::from_be_bytes(*b)))
}

fn find_boundary(b: &[u8]) -> Scan {
    let mut keep_from = None;
    let mut p = 0;
    while let Some(h) = b.get(p..p + 2) {
        let len = be16(h);
        if len >= 12 {
            match b.get(p + 2..p + 2 + len) {
                Some(m) if looks_like_dns(m, None) => return Scan::Found(p),
                Some(_) => {}
                None => {
                    let hdr = b.get(p + 2..).unwrap_or_default();
                    if keep_from.is_none() && (hdr.len() < 12 || plausible_header(hdr)) {
                        keep_from = Some(p);
                    }
                }
            }
        }
        p += 1;
    }
    Scan::Wait(keep_from.unwrap_or(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::dns::fixture::{self, Row};
    use crate::proto::dns::transactions::Transport;
    use proptest::prelude::*;

    fn dir_of(r: &Row) -> Direction {
        if r.dst.port == 53 {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        }
    }

    /// TCP rows of the fixture grouped by capture (each capture's DNS/TCP rows).
    fn tcp_captures() -> Vec<Vec<Row>> {
        let mut by: std::collections::BTreeMap<String, Vec<Row>> = Default::default();
        for r in fixture::rows() {
            if r.transport == Transport::Tcp {
                by.entry(format!(
                    "{} {} {}",
                    r.capture,
                    r.src.min(r.dst),
                    r.src.max(r.dst)
                ))
                .or_default()
                .push(r);
            }
        }
        by.into_values().collect()
    }

    #[test]
    fn real_streams_match_the_naive_framer() {
        let expected: Vec<(String, u32, Vec<u8>)> = fixture::messages()
            .into_iter()
            .filter(|(r, _)| r.transport == Transport::Tcp)
            .map(|(r, b)| (r.capture, r.frame, b))
            .collect();
        let mut got = Vec::new();
        let mut multi = 0;
        for rows in tcp_captures() {
            let mut s = DnsTcpStream::new();
            for r in &rows {
                let out = s.feed(dir_of(r), r.ts, PacketId(r.frame - 1), &r.bytes);
                multi += usize::from(out.len() > 1);
                for m in out {
                    assert!(!m.after_gap);
                    assert_eq!(m.pkt.frame_number(), r.frame as u64);
                    got.push((r.capture.clone(), r.frame, m.message.expect("parses")));
                }
            }
            assert_eq!(s.buffered(Direction::ClientToServer), 0);
            assert_eq!(s.buffered(Direction::ServerToClient), 0);
        }
        assert!(multi > 0, "the corpus has several messages per segment");
        assert!(got.len() >= 40, "{}", got.len());
        let mut exp_sorted: Vec<_> = expected
            .into_iter()
            .map(|(c, f, b)| (c, f, crate::proto::dns::parse_message(&b).unwrap()))
            .collect();
        exp_sorted.sort_by(|a, b| (&a.0, a.1, a.2.id).cmp(&(&b.0, b.1, b.2.id)));
        got.sort_by(|a, b| (&a.0, a.1, a.2.id).cmp(&(&b.0, b.1, b.2.id)));
        assert_eq!(got, exp_sorted);
    }

    /// One direction of the busiest real stream as one byte string plus its messages.
    fn client_stream() -> (Vec<u8>, Vec<Message>) {
        let rows = tcp_captures()
            .into_iter()
            .find(|rs| rs[0].capture == "suricata-verify/dns-tcp-multirequest-buffer.pcap")
            .unwrap();
        let bytes: Vec<u8> = rows
            .iter()
            .filter(|r| dir_of(r) == Direction::ClientToServer)
            .flat_map(|r| r.bytes.iter().copied())
            .collect();
        let mut s = DnsTcpStream::new();
        let msgs = s
            .feed(Direction::ClientToServer, Timestamp(0), PacketId(0), &bytes)
            .into_iter()
            .map(|m| m.message.unwrap())
            .collect::<Vec<_>>();
        assert!(msgs.len() >= 20);
        (bytes, msgs)
    }

    #[test]
    fn byte_at_a_time() {
        let (bytes, msgs) = client_stream();
        let mut s = DnsTcpStream::new();
        let mut got = Vec::new();
        for (i, b) in bytes.iter().enumerate() {
            for m in s.feed(
                Direction::ClientToServer,
                Timestamp(i as i64),
                PacketId(i as u32),
                &[*b],
            ) {
                assert_eq!(
                    m.first_pkt.0 as usize + 2 + m.len - 1,
                    i,
                    "starts where it began"
                );
                got.push(m.message.unwrap());
            }
        }
        assert_eq!(got, msgs);
    }

    #[test]
    fn gap_inside_a_message_of_known_length_skips_exactly() {
        let (bytes, msgs) = client_stream();
        let first = 2 + u16::from_be_bytes([bytes[0], bytes[1]]) as usize;
        let mut s = DnsTcpStream::new();
        let d = Direction::ClientToServer;
        assert!(s.feed(d, Timestamp(0), PacketId(0), &bytes[..5]).is_empty());
        s.gap(d, 10);
        let out = s.feed(d, Timestamp(1), PacketId(1), &bytes[15..]);
        assert_eq!(out.len(), msgs.len() - 1);
        assert!(out[0].after_gap && !out[1].after_gap);
        assert_eq!(out[0].message.as_ref().unwrap(), &msgs[1]);
        assert_eq!(s.drain_anomalies()[0].name(), "dns_tcp_gap");
        assert!(first > 15);
    }

    #[test]
    fn gap_of_unknown_extent_resyncs_on_the_next_message() {
        let (bytes, msgs) = client_stream();
        let d = Direction::ClientToServer;
        // Lose the first message and half of the second: the decoder has nothing
        // buffered, so it must search for the next length prefix.
        let l0 = 2 + u16::from_be_bytes([bytes[0], bytes[1]]) as usize;
        let l1 = 2 + u16::from_be_bytes([bytes[l0], bytes[l0 + 1]]) as usize;
        let cut = l0 + l1 / 2;
        let mut s = DnsTcpStream::new();
        s.gap(d, cut);
        let mut out = Vec::new();
        for (i, chunk) in bytes[cut..].chunks(7).enumerate() {
            out.extend(s.feed(d, Timestamp(i as i64), PacketId(i as u32), chunk));
        }
        assert_eq!(out.len(), msgs.len() - 2);
        assert!(out[0].after_gap);
        let got: Vec<_> = out.into_iter().map(|m| m.message.unwrap()).collect();
        assert_eq!(got, msgs[2..]);
    }

    #[test]
    fn resync_buffer_is_bounded() {
        let mut s = DnsTcpStream::new();
        let d = Direction::ServerToClient;
        s.gap(d, 1);
        let junk = vec![0xffu8; 4096];
        for i in 0..100 {
            assert!(s
                .feed(d, Timestamp(i), PacketId(i as u32), &junk)
                .is_empty());
            assert!(s.buffered(d) <= MAX_RESYNC_BUFFER);
        }
    }

    proptest! {
        #[test]
        fn random_splits_yield_the_same_messages(cuts in proptest::collection::vec(0usize..2000, 0..40)) {
            let (bytes, msgs) = client_stream();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
            cuts.push(0);
            cuts.push(bytes.len());
            cuts.sort_unstable();
            let mut s = DnsTcpStream::new();
            let mut got = Vec::new();
            for (i, w) in cuts.windows(2).enumerate() {
                for m in s.feed(Direction::ClientToServer, Timestamp(i as i64), PacketId(i as u32), &bytes[w[0]..w[1]]) {
                    got.push(m.message.unwrap());
                }
            }
            prop_assert_eq!(got, msgs);
        }

        #[test]
        fn arbitrary_streams_with_gaps_never_panic(
            ops in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..300), 0usize..70000), 0..30)
        ) {
            let mut s = DnsTcpStream::new();
            for (i, (is_gap, data, gap)) in ops.into_iter().enumerate() {
                let d = if i % 3 == 0 { Direction::ServerToClient } else { Direction::ClientToServer };
                if is_gap {
                    s.gap(d, gap);
                } else {
                    let _ = s.feed(d, Timestamp(i as i64), PacketId(i as u32), &data);
                }
                prop_assert!(s.buffered(d) <= MAX_RESYNC_BUFFER + 300);
            }
        }
    }
}
