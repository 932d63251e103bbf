//! STREAM reassembly (RFC 9000 §2.2, §19.8): each stream and direction carries an ordered
//! byte stream whose frames may arrive out of order, overlap or repeat. Bytes are handed
//! on as soon as they are in order; out-of-order bytes wait, within a bound per stream
//! and per connection (like TCP reassembly's: a hostile or lossy peer cannot make the
//! analyzer buffer without end). When a bound is hit the first hole is given up as a
//! gap and what waited behind it is delivered.
//!
//! Stream id semantics (initiator, bidi/uni: RFC 9000 §2.1) are the consumer's business.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::base::Direction;

/// Bytes buffered ahead of a hole per stream and direction.
pub const STREAM_AHEAD_LIMIT: usize = 1 << 20;
/// Bytes buffered ahead of holes over all streams of a connection.
pub const CONN_AHEAD_LIMIT: usize = 8 << 20;
/// Streams with reassembly state at once (per connection); data of further streams is
/// dropped with an anomaly.
pub const MAX_OPEN_STREAMS: usize = 4096;
/// Finished streams remembered (so a late retransmission is not a new stream); the set
/// is forgotten when it grows past this.
pub const MAX_DONE_STREAMS: usize = 1 << 18;

/// What reassembly hands on, in stream order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamOut {
    /// In-order bytes; `offset` is the stream offset of `data[0]`.
    Data {
        offset: u64,
        data: Vec<u8>,
        fin: bool,
    },
    /// Bytes that will never come.
    Gap { len: u64 },
}

/// Why bytes were not taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamTrouble {
    /// A reassembly bound was hit; a hole was given up as a gap.
    BoundHit,
    /// Too many streams open at once: this stream's data was dropped.
    TooManyStreams,
    /// A FIN at a different final size than an earlier one (RFC 9000 §4.5).
    FinalSizeChanged,
}

#[derive(Debug, Default)]
struct OneStream {
    /// Offset of the next byte to deliver.
    next: u64,
    pending: BTreeMap<u64, Vec<u8>>,
    pending_bytes: usize,
    /// The final size, once a FIN told it.
    fin: Option<u64>,
}

/// Every stream of one connection, both directions.
#[derive(Debug, Default)]
pub struct Streams {
    open: HashMap<(u64, Direction), OneStream>,
    done: HashSet<(u64, Direction)>,
    pending_total: usize,
}

impl Streams {
    /// Takes one STREAM frame's data; what is now in order goes to `out`.
    pub fn insert(
        &mut self,
        id: u64,
        dir: Direction,
        offset: u64,
        data: &[u8],
        fin: bool,
        out: &mut Vec<StreamOut>,
    ) -> Option<StreamTrouble> {
        let key = (id, dir);
        if self.done.contains(&key) {
            return None; // a retransmission of a finished or reset stream
        }
        if !self.open.contains_key(&key) && self.open.len() >= MAX_OPEN_STREAMS {
            return Some(StreamTrouble::TooManyStreams);
        }
        let s = self.open.entry(key).or_default();
        let end = offset.saturating_add(data.len() as u64);
        let mut trouble = None;
        if fin {
            match s.fin {
                Some(f) if f != end => trouble = Some(StreamTrouble::FinalSizeChanged),
                _ => s.fin = Some(end),
            }
        }
        let before = out.len();
        if end > s.next || data.is_empty() {
            let skip = usize::try_from(s.next.saturating_sub(offset)).unwrap_or(usize::MAX);
            let data = data.get(skip..).unwrap_or(&[]);
            let offset = offset.max(s.next);
            if data.is_empty() {
                // An empty FIN frame: handled below.
            } else if offset == s.next {
                let mut buf = data.to_vec();
                s.next = end;
                self.pending_total -= drain(s, &mut buf);
                out.push(StreamOut::Data {
                    offset,
                    data: buf,
                    fin: false,
                });
            } else if s.pending_bytes + data.len() > STREAM_AHEAD_LIMIT
                || self.pending_total + data.len() > CONN_AHEAD_LIMIT
            {
                // Give the holes up: deliver what waits, with gaps, then this piece.
                trouble = Some(StreamTrouble::BoundHit);
                let mut pending = std::mem::take(&mut s.pending);
                self.pending_total -= s.pending_bytes;
                s.pending_bytes = 0;
                let slot = pending.entry(offset).or_default();
                if data.len() > slot.len() {
                    *slot = data.to_vec();
                }
                for (at, piece) in pending {
                    deliver_after_gap(s, at, &piece, out);
                }
            } else {
                let slot = s.pending.entry(offset).or_default();
                if data.len() > slot.len() {
                    let grow = data.len() - slot.len();
                    s.pending_bytes += grow;
                    self.pending_total += grow;
                    *slot = data.to_vec();
                }
            }
        }
        if s.fin == Some(s.next) {
            match out.get_mut(before..).and_then(<[StreamOut]>::last_mut) {
                Some(StreamOut::Data { fin, .. }) => *fin = true,
                _ => out.push(StreamOut::Data {
                    offset: s.next,
                    data: Vec::new(),
                    fin: true,
                }),
            }
            self.close(key);
        }
        trouble
    }

    /// RESET_STREAM (RFC 9000 §19.4): nothing more of this stream will be delivered.
    pub fn reset(&mut self, id: u64, dir: Direction) {
        self.close((id, dir));
    }

    fn close(&mut self, key: (u64, Direction)) {
        if let Some(s) = self.open.remove(&key) {
            self.pending_total -= s.pending_bytes;
        }
        if self.done.len() >= MAX_DONE_STREAMS {
            self.done.clear();
        }
        self.done.insert(key);
    }

    /// The connection ended: every stream with a hole delivers what waited behind it,
    /// after gaps, and a gap up to a known final size. In stream id order.
    pub fn finish(&mut self) -> Vec<(u64, Direction, StreamOut)> {
        let mut keys: Vec<_> = self
            .open
            .iter()
            .filter(|(_, s)| !s.pending.is_empty() || s.fin.is_some_and(|f| f > s.next))
            .map(|(k, _)| *k)
            .collect();
        keys.sort_unstable();
        let mut all = Vec::new();
        for key in keys {
            let Some(mut s) = self.open.remove(&key) else {
                continue;
            };
            self.pending_total -= s.pending_bytes;
            let mut out = Vec::new();
            for (at, piece) in std::mem::take(&mut s.pending) {
                deliver_after_gap(&mut s, at, &piece, &mut out);
            }
            if let Some(f) = s.fin {
                if f > s.next {
                    out.push(StreamOut::Gap { len: f - s.next });
                    s.next = f;
                }
                if let Some(StreamOut::Data { fin, .. }) = out.last_mut() {
                    *fin = true;
                }
            }
            self.done.insert(key);
            all.extend(out.into_iter().map(|o| (key.0, key.1, o)));
        }
        all
    }

    /// Bytes waiting behind holes, over all streams.
    pub fn pending_bytes(&self) -> usize {
        self.pending_total
    }
}

/// Appends to `buf` the pending pieces that are now in order; returns the bytes taken
/// out of `pending`.
fn drain(s: &mut OneStream, buf: &mut Vec<u8>) -> usize {
    let mut freed = 0;
    while let Some(entry) = s.pending.first_entry() {
        let start = *entry.key();
        if start > s.next {
            break;
        }
        let piece = entry.remove();
        freed += piece.len();
        let skip = usize::try_from(s.next - start).unwrap_or(usize::MAX);
        if let Some(new) = piece.get(skip..).filter(|n| !n.is_empty()) {
            buf.extend_from_slice(new);
            s.next += new.len() as u64;
        }
    }
    s.pending_bytes -= freed;
    freed
}

/// Delivers a piece at `at` after a gap from `s.next` (if any), trimming bytes already
/// delivered.
fn deliver_after_gap(s: &mut OneStream, at: u64, piece: &[u8], out: &mut Vec<StreamOut>) {
    if at > s.next {
        out.push(StreamOut::Gap { len: at - s.next });
        s.next = at;
    }
    let skip = usize::try_from(s.next - at).unwrap_or(usize::MAX);
    if let Some(new) = piece.get(skip..).filter(|n| !n.is_empty()) {
        out.push(StreamOut::Data {
            offset: s.next,
            data: new.to_vec(),
            fin: false,
        });
        s.next += new.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const C: Direction = Direction::ClientToServer;

    fn bytes(out: &[StreamOut]) -> Vec<u8> {
        out.iter()
            .flat_map(|o| match o {
                StreamOut::Data { data, .. } => data.clone(),
                StreamOut::Gap { .. } => Vec::new(),
            })
            .collect()
    }

    #[test]
    fn in_order_out_of_order_overlaps_retransmissions_and_fin() {
        let data: Vec<u8> = (0..100).collect();
        let mut s = Streams::default();
        let mut out = Vec::new();
        assert_eq!(s.insert(4, C, 50, &data[50..], true, &mut out), None);
        assert!(out.is_empty());
        assert_eq!(s.pending_bytes(), 50);
        s.insert(4, C, 0, &data[..20], false, &mut out);
        s.insert(4, C, 0, &data[..10], false, &mut out); // retransmission
        s.insert(4, C, 10, &data[10..60], false, &mut out); // overlaps both sides
        assert_eq!(bytes(&out), data);
        assert_eq!(
            out.last(),
            Some(&StreamOut::Data {
                offset: 20,
                data: data[20..].to_vec(),
                fin: true
            })
        );
        assert_eq!(s.pending_bytes(), 0);
        // The finished stream ignores a late copy.
        let n = out.len();
        s.insert(4, C, 0, &data[..20], false, &mut out);
        assert_eq!(out.len(), n);
        // An empty FIN frame ends a stream too; the other direction is its own stream.
        s.insert(0, C, 0, b"ab", false, &mut out);
        s.insert(0, Direction::ServerToClient, 0, b"xyz", false, &mut out);
        s.insert(0, C, 2, b"", true, &mut out);
        assert_eq!(
            out.last(),
            Some(&StreamOut::Data {
                offset: 2,
                data: vec![],
                fin: true
            })
        );
    }

    #[test]
    fn the_bound_gives_up_the_hole_as_a_gap() {
        let mut s = Streams::default();
        let mut out = Vec::new();
        s.insert(0, C, 0, b"abc", false, &mut out);
        let big = vec![7u8; STREAM_AHEAD_LIMIT];
        assert_eq!(s.insert(0, C, 10, &big, false, &mut out), None);
        assert_eq!(
            s.insert(0, C, 10 + big.len() as u64, b"z", true, &mut out),
            Some(StreamTrouble::BoundHit)
        );
        assert_eq!(out[1], StreamOut::Gap { len: 7 });
        assert!(
            matches!(&out[2], StreamOut::Data { offset: 10, data, fin: false } if data.len() == big.len())
        );
        assert_eq!(
            out[3],
            StreamOut::Data {
                offset: 10 + big.len() as u64,
                data: b"z".to_vec(),
                fin: true
            }
        );
        assert_eq!(s.pending_bytes(), 0);
    }

    #[test]
    fn finish_reports_holes_and_reset_forgets() {
        let mut s = Streams::default();
        let mut out = Vec::new();
        s.insert(8, C, 5, b"fgh", true, &mut out);
        s.insert(12, C, 3, b"x", false, &mut out);
        s.reset(12, C);
        s.insert(12, C, 0, b"abc", false, &mut out);
        assert!(out.is_empty());
        let end = s.finish();
        assert_eq!(
            end,
            [
                (8, C, StreamOut::Gap { len: 5 }),
                (
                    8,
                    C,
                    StreamOut::Data {
                        offset: 5,
                        data: b"fgh".to_vec(),
                        fin: true
                    }
                )
            ]
        );
        assert_eq!(s.pending_bytes(), 0);
        assert_eq!(s.insert(16, C, 0, b"a", true, &mut out), None);
        assert_eq!(
            s.insert(16, C, 0, b"ab", true, &mut out),
            None,
            "a finished stream ignores later frames"
        );
    }
}
