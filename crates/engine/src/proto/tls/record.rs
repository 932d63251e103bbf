//! The TLS record layer over one direction of a reassembled TCP stream (RFC 8446 §5.1,
//! RFC 5246 §6.2.1): a 5-byte header (content type, legacy version, 16-bit length) and
//! a body. A record may be split over many segments and a segment may hold many records;
//! at most one record body is buffered, and its length is bounded by RFC 8446 §5.2
//! (2^14 + 256 bytes of ciphertext) with TLS 1.2's allowance (2^14 + 2048, RFC 5246
//! §6.2.3), so memory per direction is bounded.
//!
//! A header that cannot be TLS (unknown content type, major version not 3, oversized
//! length) is an anomaly and stops the direction: no resynchronisation is attempted,
//! since any byte could look like a header. A gap inside a record body loses only that
//! record ([`Piece::Lost`], so decryption can still advance its sequence number); a gap
//! elsewhere loses the record boundaries and stops the direction.

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::base::{Anomaly, AnomalyKind, PacketId, Timestamp};

/// Largest record body accepted.
pub const MAX_RECORD: usize = (1 << 14) + 2048;

/// One whole record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub content_type: u8,
    pub version: u16,
    pub body: Vec<u8>,
    /// Packet that carried the header's first byte, and the one with the last byte.
    pub first_pkt: PacketId,
    pub pkt: PacketId,
    /// Time of the packet with the last byte.
    pub ts: Timestamp,
}

/// What the record layer produces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Record(Record),
    /// A record whose body had a gap: its header is known, its bytes are not.
    Lost {
        content_type: u8,
        len: usize,
        pkt: PacketId,
        ts: Timestamp,
    },
}

/// Record reader for one direction.
#[derive(Debug, Default)]
pub struct RecordReader {
    hdr: [u8; 5],
    hdr_len: usize,
    /// Inside a record: its header fields and the body so far.
    in_body: bool,
    ty: u8,
    version: u16,
    want: usize,
    body: Vec<u8>,
    first_pkt: PacketId,
    /// The current body had a gap.
    damaged: bool,
    stopped: bool,
}

impl RecordReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// True once the direction is no longer read (bad header or unrecoverable gap).
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// True when the next byte fed begins a record header (and reading goes on).
    pub fn at_record_start(&self) -> bool {
        !self.stopped && !self.in_body && self.hdr_len == 0
    }

    /// Stops reading (the caller decided the stream is not TLS any more).
    pub fn stop(&mut self) {
        self.stopped = true;
        self.body = Vec::new();
    }

    /// Feeds in-order bytes that arrived in packet `pkt` at `ts`; whole records go to `out`.
    pub fn feed(
        &mut self,
        pkt: PacketId,
        ts: Timestamp,
        mut bytes: &[u8],
        out: &mut Vec<Piece>,
        anomalies: &mut Vec<(PacketId, Anomaly)>,
    ) {
        while !bytes.is_empty() && !self.stopped {
            if !self.in_body {
                if self.hdr_len == 0 {
                    self.first_pkt = pkt;
                }
                let take = (5 - self.hdr_len).min(bytes.len());
                let (now, rest) = bytes.split_at_checked(take).unwrap_or((bytes, &[]));
                let free = self.hdr.get_mut(self.hdr_len..).unwrap_or_default();
                for (d, s) in free.iter_mut().zip(now) {
                    *d = *s;
                }
                self.hdr_len += take;
                bytes = rest;
                if self.hdr_len < 5 {
                    return;
                }
                self.hdr_len = 0;
                let [ty, major, minor, hi, lo] = self.hdr;
                let len = usize::from(hi) << 8 | usize::from(lo);
                if !(20..=24).contains(&ty) || major != 3 || len > MAX_RECORD {
                    self.stop();
                    anomalies.push((
                        pkt,
                        Anomaly::new(
                            AnomalyKind::TlsBadRecord,
                            format!(
                                "invalid record header (type {ty}, version {major}.{minor}, length {len}) in frame {}",
                                pkt.frame_number()
                            ),
                        ),
                    ));
                    return;
                }
                self.in_body = true;
                self.ty = ty;
                self.version = u16::from_be_bytes([major, minor]);
                self.want = len;
                self.body.clear();
                self.damaged = false;
            }
            let take = (self.want - self.body.len()).min(bytes.len());
            let (now, rest) = bytes.split_at_checked(take).unwrap_or((bytes, &[]));
            if !self.damaged {
                self.body.extend_from_slice(now);
            } else {
                // Count the bytes without keeping them.
                self.body.resize(self.body.len() + take, 0);
            }
            bytes = rest;
            if self.body.len() == self.want {
                self.in_body = false;
                let body = std::mem::take(&mut self.body);
                out.push(if self.damaged {
                    Piece::Lost {
                        content_type: self.ty,
                        len: self.want,
                        pkt,
                        ts,
                    }
                } else {
                    Piece::Record(Record {
                        content_type: self.ty,
                        version: self.version,
                        body,
                        first_pkt: self.first_pkt,
                        pkt,
                        ts,
                    })
                });
            }
        }
    }

    /// `len` bytes of this direction are missing after what was fed. Returns false when
    /// the record boundaries are lost (the direction stops).
    pub fn gap(&mut self, len: u64) -> bool {
        if self.stopped || len == 0 {
            return !self.stopped;
        }
        if self.in_body && (len as usize) <= self.want - self.body.len() {
            self.damaged = true;
            self.body.resize(self.body.len() + len as usize, 0);
            // The record may now be complete: a zero-length feed does not flush it, so
            // the caller's next bytes (or finish) do; see `flush_lost`.
            return true;
        }
        self.stop();
        false
    }

    /// After a gap that ended exactly at a record's end, yields that lost record.
    pub fn flush_lost(&mut self, pkt: PacketId, ts: Timestamp, out: &mut Vec<Piece>) {
        if self.in_body && self.damaged && self.body.len() == self.want {
            self.in_body = false;
            self.body.clear();
            out.push(Piece::Lost {
                content_type: self.ty,
                len: self.want,
                pkt,
                ts,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `at_record_start` (tshark's `tls` on a packet that begins a record): true before
    /// a header, false inside a header or a body, false once stopped.
    #[test]
    fn record_start_follows_the_boundaries() {
        let (mut out, mut anomalies) = (Vec::new(), Vec::new());
        let mut r = RecordReader::new();
        let ts = Timestamp(0);
        assert!(r.at_record_start());
        r.feed(PacketId(0), ts, &[23, 3, 3], &mut out, &mut anomalies);
        assert!(!r.at_record_start(), "inside a header");
        r.feed(PacketId(1), ts, &[0, 4, 1, 2], &mut out, &mut anomalies);
        assert!(!r.at_record_start(), "inside a body");
        r.feed(PacketId(2), ts, &[3, 4, 22], &mut out, &mut anomalies);
        assert!(!r.at_record_start(), "a new header began");
        assert_eq!(out.len(), 1);
        r.feed(PacketId(3), ts, &[3, 1, 0, 1, 9], &mut out, &mut anomalies);
        assert!(r.at_record_start());
        assert_eq!(out.len(), 2);
        r.feed(PacketId(4), ts, &[99, 3, 3, 0, 1], &mut out, &mut anomalies);
        assert!(!r.at_record_start(), "stopped on a bad header");
        assert_eq!(anomalies.len(), 1);
    }
}
