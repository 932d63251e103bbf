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

use super::parse::{header, looks_like_dns, parse_message, DnsError, Message};
use crate::base::{Anomaly, Direction, PacketId, Timestamp};

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
        let side = &mut self.sides[dir.index()];
        let mut data = bytes;
        if side.skip > 0 {
            let n = side.skip.min(data.len());
            side.skip -= n;
            data = &data[n..];
        }
        if data.is_empty() {
            return out;
        }
        if side.resync {
            side.buf.extend_from_slice(data);
            data = &[];
            match find_boundary(&side.buf) {
                Some(p) => {
                    side.buf.drain(..p);
                    side.resync = false;
                    side.first_pkt = Some(pkt);
                }
                None => {
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
                let len = u16::from_be_bytes([data[0], data[1]]) as usize;
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
                data = &data[2 + len..];
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
            let len = u16::from_be_bytes([p[0], p[1]]) as usize;
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
        let side = &mut self.sides[dir.index()];
        side.after_gap = true;
        self.anomalies.push(Anomaly::new(
            "dns_tcp_gap",
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
            let total = 2 + u16::from_be_bytes([p[0], p[1]]) as usize;
            let need = total - side.buf.len();
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

    /// Anomalies noted so far (gaps), leaving the list empty.
    pub fn drain_anomalies(&mut self) -> Vec<Anomaly> {
        std::mem::take(&mut self.anomalies)
    }
}

/// First offset in `b` where a length prefix introduces a complete message that
/// [`looks_like_dns`]; `None` while no such offset exists yet. Stops at the first
/// plausible but incomplete candidate so the caller waits for more bytes.
fn find_boundary(b: &[u8]) -> Option<usize> {
    let mut p = 0;
    while let Some(h) = b.get(p..p + 2) {
        let len = u16::from_be_bytes([h[0], h[1]]) as usize;
        if len >= 12 {
            match b.get(p + 2..p + 2 + len) {
                Some(m) if looks_like_dns(m, None) => return Some(p),
                Some(_) => {}
                None => {
                    let hdr = b.get(p + 2..).unwrap_or_default();
                    if hdr.len() < 12 || plausible_header(hdr) {
                        // Might be the boundary: wait for more bytes.
                        return None;
                    }
                }
            }
        }
        p += 1;
    }
    None
}
