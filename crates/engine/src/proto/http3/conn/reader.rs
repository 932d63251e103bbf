//! Cutting one direction of one QUIC stream into HTTP/3 frames (RFC 9114 §7.1) over any
//! split of its bytes: the header (two varints) is collected byte-exactly, then the
//! payload is either buffered (HEADERS, PUSH_PROMISE, control frames: the caller decides
//! at [`Ev::Begin`]) or streamed by count (DATA and ignored frames: never buffered).

use crate::base::{PacketId, Timestamp};
use crate::proto::quic::varint;

use super::super::frame::FrameHeader;

/// The frame being read.
#[derive(Debug)]
pub(super) struct CurFrame {
    pub hdr: FrameHeader,
    /// Payload bytes still to come.
    pub remaining: u64,
    /// The payload so far, when buffered.
    pub buf: Option<Vec<u8>>,
    /// Bytes of the payload were missing (a gap): a buffered payload is unusable.
    pub lost: bool,
    /// Stream offset of the frame's first header byte.
    pub offset: u64,
    pub first_pkt: PacketId,
    pub first_ts: Timestamp,
}

impl CurFrame {
    pub fn wire_len(&self) -> u64 {
        self.hdr.len as u64 + self.hdr.payload_len
    }
}

/// What one step found.
#[derive(Debug)]
pub(super) enum Ev {
    /// Nothing complete yet (header bytes collected or payload buffered).
    None,
    /// A frame header was read: decide whether to buffer (set `cur.buf`).
    Begin,
    /// `n` payload bytes of a streamed frame.
    Chunk(u64),
    /// The frame is complete.
    End(CurFrame),
}

#[derive(Debug, Default)]
pub(super) struct FrameReader {
    /// Stream offset of the next byte.
    pub pos: u64,
    hdr: Vec<u8>,
    hdr_start: u64,
    hdr_pkt: PacketId,
    hdr_ts: Timestamp,
    pub cur: Option<CurFrame>,
    /// Framing lost (a gap across frames): the rest is not read.
    pub dead: bool,
}

/// How a gap fell.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum GapAt {
    /// Inside a frame's payload whose length is known: framing survives. `buffered`:
    /// that payload is now unusable.
    Inside { ty: u64, buffered: bool },
    /// Across a frame boundary or inside a header: the rest of this direction is lost.
    Lost,
}

impl FrameReader {
    pub fn at(pos: u64) -> Self {
        FrameReader {
            pos,
            ..Default::default()
        }
    }

    /// Bytes still needed to complete the header in `hdr`.
    fn header_need(&self) -> usize {
        let Some(&b0) = self.hdr.first() else {
            return 1;
        };
        let n1 = 1usize << (b0 >> 6);
        match self.hdr.get(n1) {
            None => n1 + 1 - self.hdr.len(),
            Some(&b1) => n1 + (1usize << (b1 >> 6)) - self.hdr.len(),
        }
    }

    /// Consumes what it can of `bytes`; returns the count and what happened. Call again
    /// (even with no bytes left) until it returns `(0, Ev::None)`.
    pub fn step(&mut self, bytes: &[u8], pkt: PacketId, ts: Timestamp) -> (usize, Ev) {
        if self.dead {
            self.pos += bytes.len() as u64;
            return (bytes.len(), Ev::None);
        }
        if let Some(cur) = &mut self.cur {
            if cur.remaining == 0 {
                let Some(f) = self.cur.take() else {
                    return (0, Ev::None);
                };
                return (0, Ev::End(f));
            }
            if bytes.is_empty() {
                return (0, Ev::None);
            }
            let n = cur.remaining.min(bytes.len() as u64);
            cur.remaining -= n;
            self.pos += n;
            let nu = n as usize;
            return match &mut cur.buf {
                Some(buf) => {
                    buf.extend_from_slice(bytes.get(..nu).unwrap_or_default());
                    (nu, Ev::None)
                }
                None => (nu, Ev::Chunk(n)),
            };
        }
        if bytes.is_empty() {
            return (0, Ev::None);
        }
        // Fast path: a whole header at hand.
        if self.hdr.is_empty() {
            self.hdr_start = self.pos;
            self.hdr_pkt = pkt;
            self.hdr_ts = ts;
            if let Some(h) = FrameHeader::parse(bytes) {
                self.pos += h.len as u64;
                self.begin(h);
                return (h.len, Ev::Begin);
            }
        }
        let n = self.header_need().min(bytes.len());
        self.hdr
            .extend_from_slice(bytes.get(..n).unwrap_or_default());
        self.pos += n as u64;
        if self.header_need() == 0 {
            if let Some(h) = FrameHeader::parse(&self.hdr) {
                self.hdr.clear();
                self.begin(h);
                return (n, Ev::Begin);
            }
        }
        (n, Ev::None)
    }

    fn begin(&mut self, h: FrameHeader) {
        self.cur = Some(CurFrame {
            hdr: h,
            remaining: h.payload_len,
            buf: None,
            lost: false,
            offset: self.hdr_start,
            first_pkt: self.hdr_pkt,
            first_ts: self.hdr_ts,
        });
    }

    /// `len` bytes will never arrive.
    pub fn gap(&mut self, len: u64) -> GapAt {
        self.pos += len;
        if self.dead {
            return GapAt::Lost;
        }
        match &mut self.cur {
            Some(cur) if len <= cur.remaining => {
                cur.remaining -= len;
                let buffered = cur.buf.is_some();
                if buffered {
                    cur.buf = None;
                    cur.lost = true;
                }
                GapAt::Inside {
                    ty: cur.hdr.ty,
                    buffered,
                }
            }
            _ => {
                self.kill();
                GapAt::Lost
            }
        }
    }

    /// Stops reading this direction.
    pub fn kill(&mut self) {
        self.dead = true;
        self.cur = None;
        self.hdr.clear();
    }

    /// A frame (or its header) is incomplete.
    pub fn mid_frame(&self) -> bool {
        !self.dead && (self.cur.is_some() || !self.hdr.is_empty())
    }
}

/// Reads one varint that may arrive split: `buf` collects its bytes. Returns the value
/// and the bytes of `bytes` used, or `None` with all of `bytes` used.
pub(super) fn split_varint(buf: &mut Vec<u8>, bytes: &[u8]) -> (Option<u64>, usize) {
    let need = match buf.first() {
        None => bytes.first().map_or(1, |&b| 1usize << (b >> 6)),
        Some(&b) => 1usize << (b >> 6),
    };
    let n = need.saturating_sub(buf.len()).min(bytes.len());
    buf.extend_from_slice(bytes.get(..n).unwrap_or_default());
    if buf.len() == need {
        let v = varint(buf).map(|(v, _)| v);
        buf.clear();
        (v, n)
    } else {
        (None, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(r: &mut FrameReader, mut b: &[u8], buffer: bool) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let (n, ev) = r.step(b, PacketId(1), Timestamp(0));
            b = &b[n..];
            match ev {
                Ev::None if n == 0 => break,
                Ev::None => {}
                Ev::Begin => {
                    if buffer {
                        r.cur.as_mut().unwrap().buf = Some(Vec::new());
                    }
                }
                Ev::Chunk(n) => out.push(format!("chunk {n}")),
                Ev::End(f) => out.push(format!(
                    "end {} {} {:?}",
                    f.hdr.ty,
                    f.offset,
                    f.buf.map(|b| b.len())
                )),
            }
        }
        out
    }

    #[test]
    fn frames_over_every_split_of_two_byte_varints() {
        // DATA with a 2-byte length (0x4005 = 5), then a HEADERS of 2 bytes.
        let bytes = [0x00, 0x40, 0x05, 1, 2, 3, 4, 5, 0x01, 0x02, 9, 9];
        for cut in 0..=bytes.len() {
            let mut r = FrameReader::default();
            let mut ev = run(&mut r, &bytes[..cut], true);
            ev.extend(run(&mut r, &bytes[cut..], true));
            assert_eq!(ev, vec!["end 0 0 Some(5)", "end 1 8 Some(2)"], "cut {cut}");
            assert_eq!(r.pos, bytes.len() as u64);
            assert!(!r.mid_frame());
        }
        let mut r = FrameReader::default();
        assert_eq!(
            run(&mut r, &bytes, false),
            vec!["chunk 5", "end 0 0 None", "chunk 2", "end 1 8 None"]
        );
    }

    #[test]
    fn gaps_inside_and_across() {
        let mut r = FrameReader::default();
        run(&mut r, &[0x00, 0x0a, 1, 2], false);
        assert_eq!(
            r.gap(3),
            GapAt::Inside {
                ty: 0,
                buffered: false
            }
        );
        assert_eq!(
            run(&mut r, &[1, 2, 3, 4, 5], false),
            vec!["chunk 5", "end 0 0 None"]
        );
        assert_eq!(r.gap(1), GapAt::Lost);
        assert!(r.dead);
        assert!(run(&mut r, &[0x00, 0x00], false).is_empty());
        assert_eq!(r.pos, 2 + 2 + 3 + 5 + 1 + 2);
    }

    #[test]
    fn split_varints() {
        let mut buf = Vec::new();
        assert_eq!(split_varint(&mut buf, &[0x40]), (None, 1));
        assert_eq!(split_varint(&mut buf, &[0x5f, 7]), (Some(0x5f), 1));
        assert_eq!(split_varint(&mut buf, &[0x00, 7]), (Some(0), 1));
        assert_eq!(split_varint(&mut buf, &[]), (None, 0));
    }
}
