//! One direction of a TCP byte stream, put back in order (RFC 9293 §3.10.7.4: data is
//! delivered in sequence-number order).
//!
//! Policy, chosen to be predictable and cheap:
//! - **In-order data is never copied**: it goes from the packet slice straight to the
//!   sink. Only segments that arrive ahead of a hole are buffered.
//! - **First-seen wins** on overlap (as most IDSs do): bytes already buffered are kept
//!   and a retransmission carrying different bytes for the same sequence numbers is
//!   reported as `overlap_mismatch`. Bytes already delivered are not retained, so a
//!   mismatch against delivered data cannot be seen; it is counted as retransmitted.
//! - **Gaps are lengths, never zeros**: a hole the capture will never fill (peer ACKed
//!   past it and the sender moved on, a limit was hit, a packet was cut by the
//!   snaplen, end of input) is handed to the sink as `gap(len)` and delivery
//!   continues after it. An ACK alone does not declare the gap, because captures
//!   reorder: the data may still arrive right after the ACK.
//! - **Bounded**: per-direction buffered bytes, buffered segments (holes) and a global
//!   byte budget shared by all connections. Hitting one flushes what is buffered (data,
//!   with gaps between) and carries on; the caller records a `reassembly_limit` anomaly.
//! - Sequence numbers are unwrapped to 64-bit stream offsets relative to the next
//!   expected byte, so a stream crossing 2^32 needs no special casing.

use std::collections::BTreeMap;

use super::seq;
use super::StreamSink;
use crate::base::{ConnId, Direction, PacketId, Timestamp};

/// Where delivered bytes are attributed: the connection, direction and the packet
/// being processed when they became deliverable.
#[derive(Clone, Copy, Debug)]
pub struct Ctx {
    pub conn: ConnId,
    pub dir: Direction,
    pub ts: Timestamp,
    pub pkt: PacketId,
}

/// Buffering limits (see `FlowConfig`).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub dir_bytes: usize,
    pub total_bytes: usize,
    pub holes: usize,
}

/// What one segment did to the stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SegOutcome {
    /// Bytes of this segment at offsets already delivered or buffered.
    pub retrans_bytes: u64,
    /// Retransmitted bytes differ from the buffered copy (first copy kept).
    pub overlap_mismatch: bool,
    /// A buffering limit was hit; buffered data was flushed with gaps.
    pub limit_hit: bool,
}

/// Reassembly state of one direction.
#[derive(Debug, Default)]
pub struct Reassembler {
    started: bool,
    /// Sequence number of the byte at `next`.
    next_seq: u32,
    /// Stream offset of the next byte to deliver.
    next: u64,
    /// Stream offset of the FIN, when seen.
    fin: Option<u64>,
    /// Highest offset the peer acknowledged: bytes before it were sent even if this
    /// capture never saw them. Acted on lazily (see `acked`).
    acked_to: u64,
    ended: bool,
    /// Out-of-order segments by stream offset; never overlapping.
    buf: BTreeMap<u64, Vec<u8>>,
    buffered: usize,
    /// Bytes handed to the sink as data.
    pub delivered: u64,
    /// Bytes handed to the sink as gaps.
    pub gap_bytes: u64,
}

impl Reassembler {
    /// Sets the first sequence number of the data (ISN + 1 after a SYN). Later calls
    /// are ignored: the stream's origin never moves.
    pub fn start(&mut self, first_seq: u32) {
        if !self.started {
            self.started = true;
            self.next_seq = first_seq;
        }
    }

    /// Appends this state to `e` (see `table::linger`); None when segments are
    /// buffered (a lingering connection with buffered bytes is left whole).
    pub(crate) fn pack(&self, e: &mut super::pack::Enc) -> Option<()> {
        if !self.buf.is_empty() || self.buffered != 0 {
            return None;
        }
        e.bool(self.started);
        e.u64(u64::from(self.next_seq));
        e.u64(self.next);
        e.opt_u64(self.fin);
        e.u64(self.acked_to);
        e.bool(self.ended);
        e.u64(self.delivered);
        e.u64(self.gap_bytes);
        Some(())
    }

    /// Reads what [`Reassembler::pack`] wrote.
    pub(crate) fn unpack(d: &mut super::pack::Dec<'_>) -> Self {
        Reassembler {
            started: d.bool(),
            next_seq: d.u32(),
            next: d.u64(),
            fin: d.opt_u64(),
            acked_to: d.u64(),
            ended: d.bool(),
            buf: BTreeMap::new(),
            buffered: 0,
            delivered: d.u64(),
            gap_bytes: d.u64(),
        }
    }

    /// Bytes currently held for out-of-order delivery.
    #[cfg(test)]
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// Number of buffered segments (each sits after a hole or another segment).
    #[cfg(test)]
    pub fn segments(&self) -> usize {
        self.buf.len()
    }

    /// Stream offset for `s` (may be negative for bytes before the origin).
    fn offset(&self, s: u32) -> i64 {
        self.next as i64 + seq::diff(s, self.next_seq)
    }

    fn advance_to(&mut self, off: u64) {
        if off > self.next {
            self.next_seq = self.next_seq.wrapping_add((off - self.next) as u32);
            self.next = off;
        }
    }

    fn emit_data(&mut self, ctx: Ctx, sink: &mut impl StreamSink, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.delivered += bytes.len() as u64;
            sink.data(ctx.conn, ctx.dir, ctx.ts, ctx.pkt, bytes);
        }
    }

    fn emit_gap(&mut self, ctx: Ctx, sink: &mut impl StreamSink, len: u64) {
        if len > 0 {
            self.gap_bytes += len;
            sink.gap(ctx.conn, ctx.dir, ctx.ts, len);
        }
    }

    /// Handles one segment: `payload` is what was captured, `wire_len` what the IP
    /// length says was sent (longer when the snaplen cut the packet). `fin` marks the
    /// end of this direction after the segment's bytes.
    #[allow(clippy::too_many_arguments)]
    pub fn segment(
        &mut self,
        seq_no: u32,
        payload: &[u8],
        wire_len: u32,
        fin: bool,
        ctx: Ctx,
        sink: &mut impl StreamSink,
        total: &mut usize,
        lim: Limits,
    ) -> SegOutcome {
        let mut out = SegOutcome::default();
        self.start(seq_no);
        if self.ended {
            out.retrans_bytes = wire_len as u64;
            return out;
        }
        let start = self.offset(seq_no);
        let end = start + wire_len as i64;
        // The sender moved on past bytes the peer acknowledged: they are lost to
        // this capture, so the hole becomes a gap now.
        if self.acked_to > self.next && start >= self.acked_to as i64 {
            let to = self.acked_to;
            self.skip_to(to, ctx, sink, total);
        }
        let cap = payload.get(..wire_len as usize).unwrap_or(payload);
        if fin && end >= 0 && self.fin.is_none() {
            self.fin = Some(end as u64);
        }
        if end <= self.next as i64 {
            out.retrans_bytes = wire_len as u64;
        } else if start <= self.next as i64 {
            // In order (possibly overlapping delivered bytes): deliver straight from
            // the packet, no copy.
            let skip = (self.next as i64 - start) as u64;
            out.retrans_bytes = skip;
            let fresh = cap.get(skip as usize..).unwrap_or(&[]);
            self.emit_data(ctx, sink, fresh);
            let missing = (end - self.next as i64) as u64 - fresh.len() as u64;
            self.emit_gap(ctx, sink, missing);
            self.advance_to(end as u64);
            self.drain(ctx, sink, total);
        } else {
            let s = start as u64;
            let inserted = self.insert(s, cap, total, lim);
            if let Some((dup, mismatch)) = inserted {
                out.retrans_bytes = dup;
                out.overlap_mismatch = mismatch;
            } else {
                // A limit would be broken: deliver what is buffered (with gaps), then
                // this segment after a gap, and carry on.
                out.limit_hit = true;
                self.flush(ctx, sink, total);
                if s > self.next {
                    let g = s - self.next;
                    self.emit_gap(ctx, sink, g);
                    self.advance_to(s);
                }
                let skip = (self.next - s) as usize;
                let fresh = cap.get(skip..).unwrap_or(&[]);
                self.emit_data(ctx, sink, fresh);
                let missing = (end as u64).saturating_sub(self.next + fresh.len() as u64);
                self.emit_gap(ctx, sink, missing);
                self.advance_to(end as u64);
            }
        }
        self.check_end(ctx, sink, total);
        out
    }

    /// Buffers `data` at offset `s`, keeping bytes already buffered (first-seen wins).
    /// Returns (bytes already present, whether any of them differed), or `None`
    /// without buffering anything when the new bytes or pieces would break a limit.
    fn insert(
        &mut self,
        s: u64,
        data: &[u8],
        total: &mut usize,
        lim: Limits,
    ) -> Option<(u64, bool)> {
        let e = s + data.len() as u64;
        let mut overlaps: Vec<(u64, u64)> = Vec::new();
        for (&a, v) in self.buf.range(..e).rev() {
            let b = a + v.len() as u64;
            if b <= s {
                break;
            }
            overlaps.push((a, b));
        }
        overlaps.reverse();
        let covered: u64 = overlaps.iter().map(|&(a, b)| b.min(e) - a.max(s)).sum();
        let new_bytes = data.len() - covered as usize;
        let pieces = overlaps.len() + 1;
        if self.buffered + new_bytes > lim.dir_bytes
            || total.saturating_add(new_bytes) > lim.total_bytes
            || self.buf.len() + pieces > lim.holes
        {
            return None;
        }
        let mut dup = 0u64;
        let mut mismatch = false;
        let mut cur = s;
        for &(a, b) in &overlaps {
            if a > cur {
                self.put(cur, &data[(cur - s) as usize..(a - s) as usize], total);
            }
            let (os, oe) = (a.max(s), b.min(e));
            dup += oe - os;
            if let Some(old) = self.buf.get(&a) {
                let old_part = old.get((os - a) as usize..(oe - a) as usize);
                let new_part = data.get((os - s) as usize..(oe - s) as usize);
                if old_part != new_part {
                    mismatch = true;
                }
            }
            cur = cur.max(b);
        }
        if cur < e {
            self.put(cur, &data[(cur - s) as usize..], total);
        }
        Some((dup, mismatch))
    }

    fn put(&mut self, at: u64, bytes: &[u8], total: &mut usize) {
        if !bytes.is_empty() {
            self.buffered += bytes.len();
            *total += bytes.len();
            self.buf.insert(at, bytes.to_vec());
        }
    }

    /// Delivers buffered segments that have become contiguous.
    fn drain(&mut self, ctx: Ctx, sink: &mut impl StreamSink, total: &mut usize) {
        while let Some(entry) = self.buf.first_entry() {
            if *entry.key() > self.next {
                break;
            }
            let (a, v) = entry.remove_entry();
            self.release(v.len(), total);
            let end = a + v.len() as u64;
            if end > self.next {
                let fresh = v.get((self.next - a) as usize..).unwrap_or(&[]);
                self.emit_data(ctx, sink, fresh);
                self.advance_to(end);
            }
        }
    }

    fn release(&mut self, n: usize, total: &mut usize) {
        self.buffered -= n.min(self.buffered);
        *total -= n.min(*total);
    }

    /// Delivers everything buffered, with gaps for the holes between.
    pub fn flush(&mut self, ctx: Ctx, sink: &mut impl StreamSink, total: &mut usize) {
        while let Some((a, v)) = self.buf.pop_first() {
            self.release(v.len(), total);
            if a > self.next {
                self.emit_gap(ctx, sink, a - self.next);
                self.advance_to(a);
            }
            let end = a + v.len() as u64;
            if end > self.next {
                let fresh = v.get((self.next - a) as usize..).unwrap_or(&[]);
                self.emit_data(ctx, sink, fresh);
                self.advance_to(end);
            }
        }
    }

    /// The peer acknowledged up to `ack` (RFC 9293 §3.4: an ACK covers all preceding
    /// sequence numbers), so a hole before it was sent and will not be filled unless
    /// the capture merely reordered it. The hole becomes a gap lazily: when this
    /// side's next segment starts at or after the ACKed point, when this side has
    /// FINed (nothing newer will come), or when the direction ends.
    pub fn acked(&mut self, ack: u32, ctx: Ctx, sink: &mut impl StreamSink, total: &mut usize) {
        if !self.started || self.ended {
            return;
        }
        let mut off = self.offset(ack);
        // No receive window exceeds 2^30 bytes (RFC 7323 §2.3): an ACK further ahead
        // is not evidence of missed data, just a broken or crafted packet.
        if off - self.next as i64 > 1 << 30 {
            return;
        }
        if let Some(f) = self.fin {
            off = off.min(f as i64);
        }
        if off > self.acked_to as i64 {
            self.acked_to = off as u64;
        }
        if self.fin.is_some_and(|f| self.acked_to >= f) {
            let to = self.acked_to;
            self.skip_to(to, ctx, sink, total);
            self.check_end(ctx, sink, total);
        }
    }

    /// Delivers everything before `off`: buffered data, and gaps for the holes.
    fn skip_to(&mut self, off: u64, ctx: Ctx, sink: &mut impl StreamSink, total: &mut usize) {
        let off = off as i64;
        while off > self.next as i64 {
            match self.buf.first_key_value() {
                Some((&a, _)) if (a as i64) < off => {
                    if a > self.next {
                        self.emit_gap(ctx, sink, a - self.next);
                        self.advance_to(a);
                    }
                    self.drain(ctx, sink, total);
                }
                _ => {
                    let g = off as u64 - self.next;
                    self.emit_gap(ctx, sink, g);
                    self.advance_to(off as u64);
                    self.drain(ctx, sink, total);
                }
            }
        }
    }

    fn check_end(&mut self, ctx: Ctx, sink: &mut impl StreamSink, total: &mut usize) {
        if let Some(f) = self.fin {
            if self.next >= f && !self.ended {
                self.end(ctx, sink, total);
            }
        }
    }

    /// Ends the direction now (RST, end of input, eviction): buffered data is
    /// delivered after gaps, then `end`. Idempotent.
    pub fn end(&mut self, ctx: Ctx, sink: &mut impl StreamSink, total: &mut usize) {
        if self.ended {
            return;
        }
        let to = self.acked_to;
        self.skip_to(to, ctx, sink, total);
        self.flush(ctx, sink, total);
        self.ended = true;
        sink.end(ctx.conn, ctx.dir, ctx.ts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::tests::{Ev, Rec};
    use proptest::prelude::*;

    const LIM: Limits = Limits {
        dir_bytes: 1 << 20,
        total_bytes: 1 << 30,
        holes: 1 << 10,
    };

    fn ctx() -> Ctx {
        Ctx {
            conn: ConnId(0),
            dir: Direction::ClientToServer,
            ts: Timestamp(0),
            pkt: PacketId(0),
        }
    }

    /// Feeds (seq, bytes) segments; returns the stream as text with `[gap N]`.
    fn feed(
        first: u32,
        segs: &[(u32, &[u8])],
        lim: Limits,
    ) -> (String, Reassembler, Vec<SegOutcome>) {
        let mut r = Reassembler::default();
        r.start(first);
        let mut rec = Rec::default();
        let mut total = 0;
        let mut outs = Vec::new();
        for (s, b) in segs {
            outs.push(r.segment(
                *s,
                b,
                b.len() as u32,
                false,
                ctx(),
                &mut rec,
                &mut total,
                lim,
            ));
            assert_eq!(total, r.buffered());
        }
        (rec.stream(0, Direction::ClientToServer), r, outs)
    }

    #[test]
    fn in_order_out_of_order_duplicates() {
        let (s, _, _) = feed(1, &[(1, b"ab"), (3, b"cd")], LIM);
        assert_eq!(s, "abcd");
        let (s, r, o) = feed(1, &[(5, b"ef"), (3, b"cd"), (3, b"cd"), (1, b"ab")], LIM);
        assert_eq!(s, "abcdef");
        assert_eq!(r.buffered(), 0);
        assert_eq!(o[2].retrans_bytes, 2);
        assert!(!o[2].overlap_mismatch);
    }

    #[test]
    fn overlap_with_different_data_keeps_first() {
        let (s, _, o) = feed(1, &[(3, b"CDEF"), (2, b"xyzw"), (1, b"a")], LIM);
        // "yzw" at 3..6 differ from the buffered "CDE": first copy wins.
        assert_eq!(s, "axCDEF");
        assert!(o[1].overlap_mismatch);
        assert_eq!(o[1].retrans_bytes, 3);
    }

    #[test]
    fn wraparound_across_2_pow_32() {
        let f = u32::MAX - 1;
        let (s, _, _) = feed(f, &[(f.wrapping_add(4), b"efg"), (f, b"abcd")], LIM);
        assert_eq!(s, "abcdefg");
    }

    #[test]
    fn gaps_are_exact_and_fin_ends() {
        let mut r = Reassembler::default();
        let mut rec = Rec::default();
        let mut total = 0;
        r.segment(100, b"abc", 3, false, ctx(), &mut rec, &mut total, LIM);
        r.segment(110, b"xy", 2, true, ctx(), &mut rec, &mut total, LIM);
        assert_eq!(rec.ended(0, Direction::ClientToServer), 0);
        r.acked(113, ctx(), &mut rec, &mut total); // FIN consumes 112; ack clipped to it
        assert_eq!(rec.stream(0, Direction::ClientToServer), "abc[gap 7]xy");
        assert_eq!(rec.ended(0, Direction::ClientToServer), 1);
        assert_eq!((r.delivered, r.gap_bytes), (5, 7));
        // Data after the end is ignored, end is not repeated.
        r.segment(112, b"zz", 2, false, ctx(), &mut rec, &mut total, LIM);
        r.end(ctx(), &mut rec, &mut total);
        assert_eq!(rec.ended(0, Direction::ClientToServer), 1);
    }

    #[test]
    fn absurd_ack_is_ignored() {
        let mut r = Reassembler::default();
        let mut rec = Rec::default();
        let mut total = 0;
        r.segment(1, b"ab", 2, false, ctx(), &mut rec, &mut total, LIM);
        r.acked(1u32.wrapping_add(0x7000_0000), ctx(), &mut rec, &mut total);
        r.segment(3, b"cd", 2, false, ctx(), &mut rec, &mut total, LIM);
        assert_eq!(rec.stream(0, Direction::ClientToServer), "abcd");
    }

    #[test]
    fn snaplen_cut_segment_is_data_then_gap() {
        let mut r = Reassembler::default();
        let mut rec = Rec::default();
        let mut total = 0;
        r.segment(1, b"ab", 10, false, ctx(), &mut rec, &mut total, LIM);
        r.segment(11, b"z", 1, false, ctx(), &mut rec, &mut total, LIM);
        assert_eq!(rec.stream(0, Direction::ClientToServer), "ab[gap 8]z");
    }

    #[test]
    fn end_flushes_buffer_after_holes() {
        let mut r = Reassembler::default();
        let mut rec = Rec::default();
        let mut total = 0;
        r.start(1);
        r.segment(5, b"ef", 2, false, ctx(), &mut rec, &mut total, LIM);
        r.segment(9, b"ij", 2, false, ctx(), &mut rec, &mut total, LIM);
        assert_eq!(total, 4);
        r.end(ctx(), &mut rec, &mut total);
        assert_eq!(
            rec.stream(0, Direction::ClientToServer),
            "[gap 4]ef[gap 2]ij"
        );
        assert_eq!(total, 0);
        assert!(matches!(rec.ev.last(), Some(Ev::End(..))));
    }

    #[test]
    fn limits_hit_flush_with_gap_and_continue() {
        let lim = Limits {
            dir_bytes: 4,
            total_bytes: 1 << 20,
            holes: 8,
        };
        let (s, r, o) = feed(1, &[(3, b"cd"), (6, b"fg"), (9, b"ij"), (1, b"ab")], lim);
        assert!(o[2].limit_hit);
        assert_eq!(s, "[gap 2]cd[gap 1]fg[gap 1]ij");
        assert_eq!(r.buffered(), 0);
        let lim = Limits {
            dir_bytes: 1 << 20,
            total_bytes: 1 << 20,
            holes: 1,
        };
        let (s, _, o) = feed(1, &[(3, b"c"), (5, b"e"), (4, b"d")], lim);
        assert!(o[1].limit_hit);
        assert_eq!(s, "[gap 2]c[gap 1]e");
        // Global budget, shared across connections.
        let lim = Limits {
            dir_bytes: 1 << 20,
            total_bytes: 3,
            holes: 8,
        };
        let (_, _, o) = feed(1, &[(3, b"cd"), (6, b"fg")], lim);
        assert!(o[1].limit_hit);
    }

    proptest! {
        /// Any consistent segmentation of a byte string, delivered in any order with
        /// duplicates and overlaps, reassembles to the original.
        #[test]
        fn any_order_gives_original(
            data in proptest::collection::vec(any::<u8>(), 1..400),
            cuts in proptest::collection::vec((0usize..400, 1usize..60), 1..40),
            order in proptest::collection::vec(any::<u16>(), 0..80),
            isn in any::<u32>(),
        ) {
            let n = data.len();
            let mut segs: Vec<(usize, usize)> = cuts.iter().map(|&(a, l)| (a % n, ((a % n) + l).min(n))).collect();
            // Make sure everything is covered at least once.
            let mut i = 0;
            while i < n {
                let e = (i + 37).min(n);
                segs.push((i, e));
                i = e;
            }
            let mut order_idx: Vec<usize> = (0..segs.len()).collect();
            for (k, o) in order.iter().enumerate() {
                let a = k % order_idx.len();
                let b = *o as usize % order_idx.len();
                order_idx.swap(a, b);
            }
            let mut r = Reassembler::default();
            r.start(isn);
            let mut rec = Rec::default();
            let mut total = 0;
            for &k in &order_idx {
                let (a, e) = segs[k];
                let s = isn.wrapping_add(a as u32);
                let o = r.segment(s, &data[a..e], (e - a) as u32, false, ctx(), &mut rec, &mut total, LIM);
                prop_assert!(!o.limit_hit && !o.overlap_mismatch);
            }
            r.end(ctx(), &mut rec, &mut total);
            let mut got = Vec::new();
            for ev in &rec.ev {
                match ev {
                    Ev::Data(_, _, b) => got.extend_from_slice(b),
                    Ev::Gap(..) => prop_assert!(false, "unexpected gap"),
                    Ev::End(..) => {}
                }
            }
            prop_assert_eq!(got, data);
            prop_assert_eq!(total, 0);
        }

        /// Arbitrary segments, ACKs and limits never panic; buffers stay bounded.
        #[test]
        fn arbitrary_segments_stay_bounded(
            ops in proptest::collection::vec((any::<u32>(), 0usize..300, any::<u32>(), 0u8..4), 0..120),
            dir_bytes in 1usize..2000, holes in 1usize..20,
        ) {
            let lim = Limits { dir_bytes, total_bytes: 3000, holes };
            let buf = [7u8; 300];
            let mut r = Reassembler::default();
            let mut rec = Rec::default();
            let mut total = 0;
            for (s, len, wire, kind) in ops {
                match kind {
                    0 | 1 => { r.segment(s, &buf[..len], wire % 400, kind == 1, ctx(), &mut rec, &mut total, lim); }
                    2 => r.acked(s, ctx(), &mut rec, &mut total),
                    _ => {
                        r.segment(s % 64, &buf[..len], len as u32, false, ctx(), &mut rec, &mut total, lim);
                    }
                }
                prop_assert!(r.buffered() <= dir_bytes);
                prop_assert!(r.segments() <= holes);
                prop_assert_eq!(total, r.buffered());
            }
            r.end(ctx(), &mut rec, &mut total);
            prop_assert_eq!(total, 0);
        }
    }
}
