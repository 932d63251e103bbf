//! IP fragment reassembly: IPv4 (RFC 791 §3.2, "Fragmentation and Reassembly") and IPv6
//! (RFC 8200 §4.5).
//!
//! Bounded in every dimension, because fragments are the classic way to make a
//! reassembler eat memory: a cap on datagrams pending, on bytes buffered across them, on
//! distinct pieces per datagram, and a timeout measured in *capture* time (the timestamp
//! of the packets pushed, never the wall clock, so live and offline runs agree). Hitting a
//! limit drops the affected datagram with an anomaly.
//!
//! Overlap policy: **first wins.** Bytes already received are never overwritten by a later
//! fragment; only the holes it covers are filled, and the overlap is reported. (This is
//! the BSD-right-opposite choice Linux made for IPv4; RFC 5722 tells IPv6 receivers to
//! drop overlapping datagrams entirely, which would hide the traffic from the user — we
//! keep it and flag it instead.)

use std::collections::HashMap;
use std::net::IpAddr;
use std::ops::Range;

use super::packet::Packet;
use crate::base::{Anomaly, AnomalyKind, LinkType, Timestamp};

/// Limits of a [`Defragmenter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DefragLimits {
    /// Datagrams being reassembled at once; the oldest is dropped to make room.
    pub max_pending: usize,
    /// Bytes buffered across all pending datagrams.
    pub max_bytes: usize,
    /// Distinct byte ranges held for one datagram (merged as they touch).
    pub max_pieces: usize,
    /// Capture-time nanoseconds a datagram may wait for its missing fragments.
    pub timeout_ns: i64,
}

impl Default for DefragLimits {
    /// 1024 datagrams, 16 MiB, 128 pieces each, 30 s (Linux's `ipfrag_time`).
    fn default() -> Self {
        DefragLimits {
            max_pending: 1024,
            max_bytes: 16 << 20,
            max_pieces: 128,
            timeout_ns: 30_000_000_000,
        }
    }
}

/// What happened to a pushed packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DefragResult {
    /// Not a fragment: decode it as it is.
    NotFragment,
    /// A fragment was stored; the datagram is not complete yet.
    Held { anomaly: Option<Anomaly> },
    /// The last missing fragment arrived: the whole IP datagram (header + payload), to be
    /// decoded with `decode(LinkType::RAW, &datagram)`.
    Complete {
        datagram: Vec<u8>,
        anomaly: Option<Anomaly>,
    },
    /// The fragment (and possibly its datagram) was dropped.
    Dropped(Anomaly),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    id: u32,
}

#[derive(Debug)]
struct Pending {
    first_seen: Timestamp,
    /// Unfragmentable part (IPv4 header; IPv6 header + extension headers before the
    /// fragment header), taken from the offset-0 fragment.
    header: Vec<u8>,
    /// For IPv6: where in `header` the Next Header byte pointing at the fragment header is.
    v6_next_at: Option<usize>,
    data: Vec<u8>,
    /// Sorted, merged ranges of `data` received.
    have: Vec<Range<usize>>,
    /// Known once the fragment with "more fragments" clear arrived.
    total: Option<usize>,
}

/// IPv4/IPv6 fragment reassembler. See the module docs for bounds and overlap policy.
#[derive(Debug, Default)]
pub struct Defragmenter {
    limits: DefragLimits,
    pending: HashMap<Key, Pending>,
    bytes: usize,
}

/// The largest reassembled payload: 65535 minus a minimal header (IPv4) or the 16-bit
/// payload length (IPv6).
const MAX_DATAGRAM: usize = 65_535;

impl Defragmenter {
    pub fn new(limits: DefragLimits) -> Self {
        Defragmenter {
            limits,
            pending: HashMap::new(),
            bytes: 0,
        }
    }

    pub fn limits(&self) -> DefragLimits {
        self.limits
    }

    /// Datagrams currently waiting for fragments.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Bytes currently buffered.
    pub fn buffered_bytes(&self) -> usize {
        self.bytes
    }

    /// Offers one decoded packet (`pkt` = `decode(link, data)`). Expires timed-out
    /// datagrams first, using `ts` as the current capture time. `link` is not needed today
    /// (the IP header offsets in `pkt` already account for the link header); it is part of
    /// the signature so a caller never has to wonder which frame `pkt` came from.
    pub fn push(
        &mut self,
        ts: Timestamp,
        _link: LinkType,
        data: &[u8],
        pkt: &Packet<'_>,
    ) -> DefragResult {
        let Some(ip) = &pkt.ip else {
            return DefragResult::NotFragment;
        };
        if !ip.is_fragment() {
            return DefragResult::NotFragment;
        }
        self.expire(ts);
        let start = ip.header.start;
        let declared_end = start.saturating_add(ip.total_len as usize);
        // Fragment data and the unfragmentable part, per version.
        let (frag_start, unfrag_end) = match (ip.version, ip.v6_frag_header) {
            (4, _) => (ip.header.end, ip.header.end),
            (6, Some(fh)) => (fh.saturating_add(8), fh),
            _ => {
                return DefragResult::Dropped(Anomaly::new(
                    AnomalyKind::DefragBadFragment,
                    "IPv6 fragment without a fragment header",
                ))
            }
        };
        if declared_end > data.len() {
            return DefragResult::Dropped(Anomaly::new(
                AnomalyKind::DefragTruncatedFragment,
                format!(
                    "fragment cut by the capture ({} of {} bytes)",
                    data.len().saturating_sub(start),
                    ip.total_len
                ),
            ));
        }
        let Some(piece) = data.get(frag_start..declared_end) else {
            return DefragResult::Dropped(Anomaly::new(
                AnomalyKind::DefragBadFragment,
                "fragment length shorter than its headers",
            ));
        };
        let off = ip.frag_offset as usize;
        let end = off + piece.len();
        let key = Key {
            src: ip.src,
            dst: ip.dst,
            proto: ip.protocol,
            id: ip.id,
        };
        if end > MAX_DATAGRAM {
            self.remove(&key);
            return DefragResult::Dropped(Anomaly::new(
                AnomalyKind::DefragOversize,
                format!("fragment ends at byte {end}, beyond the 65535-byte datagram limit"),
            ));
        }
        let mut anomaly = None;
        if ip.more_fragments && piece.len() % 8 != 0 {
            anomaly = Some(Anomaly::new(
                AnomalyKind::DefragOddFragment,
                format!(
                    "non-final fragment of {} bytes is not a multiple of 8",
                    piece.len()
                ),
            ));
        }
        if !self.pending.contains_key(&key) {
            if self.pending.len() >= self.limits.max_pending.max(1) {
                self.evict_oldest();
            }
            self.pending.insert(
                key,
                Pending {
                    first_seen: ts,
                    header: Vec::new(),
                    v6_next_at: None,
                    data: Vec::new(),
                    have: Vec::new(),
                    total: None,
                },
            );
        }
        // Byte budget: evict other datagrams, oldest first, before refusing this one. What
        // this fragment adds is its data beyond what is buffered, plus the unfragmentable
        // header when it is the first fragment (offset 0) seen for the datagram.
        let buffered = self.pending.get(&key);
        let header_grow = match buffered {
            Some(p) if off == 0 && p.header.is_empty() => unfrag_end.saturating_sub(start),
            _ => 0,
        };
        let grow = end.saturating_sub(buffered.map_or(0, |p| p.data.len())) + header_grow;
        while self.bytes + grow > self.limits.max_bytes && self.pending.len() > 1 {
            if !self.evict_oldest_except(&key) {
                break;
            }
        }
        if self.bytes + grow > self.limits.max_bytes {
            self.remove(&key);
            return DefragResult::Dropped(Anomaly::new(
                AnomalyKind::DefragMemoryLimit,
                format!(
                    "reassembly buffer limit of {} bytes reached",
                    self.limits.max_bytes
                ),
            ));
        }
        let Some(p) = self.pending.get_mut(&key) else {
            return DefragResult::Dropped(Anomaly::new(
                AnomalyKind::DefragBadFragment,
                "internal: entry vanished",
            ));
        };
        if p.data.len() < end {
            self.bytes += end - p.data.len();
            p.data.resize(end, 0);
        }
        if off == 0 && p.header.is_empty() {
            let hdr = data.get(start..unfrag_end).unwrap_or(&[]);
            p.header.extend_from_slice(hdr);
            self.bytes += hdr.len();
            if ip.version == 6 {
                p.v6_next_at = v6_next_header_pos(hdr);
            }
        }
        if !ip.more_fragments {
            match p.total {
                Some(t) if t != end => {
                    anomaly = Some(Anomaly::new(
                        AnomalyKind::DefragConflict,
                        format!("two last fragments: datagram ends at {t} and at {end}"),
                    ));
                }
                Some(_) => {}
                None => p.total = Some(end),
            }
        }
        // First wins: copy only into the holes of [off, end).
        let mut overlapped = 0usize;
        let mut cursor = off;
        let holes: Vec<Range<usize>> = {
            let mut v = Vec::new();
            for h in p.have.iter() {
                if h.end <= cursor || h.start >= end {
                    continue;
                }
                if h.start > cursor {
                    v.push(cursor..h.start);
                }
                overlapped += h.end.min(end) - h.start.max(cursor);
                cursor = cursor.max(h.end);
            }
            if cursor < end {
                v.push(cursor..end);
            }
            v
        };
        for h in holes {
            if let (Some(dst), Some(src)) = (
                p.data.get_mut(h.clone()),
                piece.get(h.start - off..h.end - off),
            ) {
                dst.copy_from_slice(src);
            }
        }
        if overlapped > 0 {
            anomaly = Some(Anomaly::new(
                AnomalyKind::DefragOverlap,
                format!(
                    "{overlapped} bytes at offset {off} overlap earlier fragments (first kept)"
                ),
            ));
        }
        insert_range(&mut p.have, off..end);
        if p.have.len() > self.limits.max_pieces {
            self.remove(&key);
            return DefragResult::Dropped(Anomaly::new(
                AnomalyKind::DefragTooManyPieces,
                format!(
                    "more than {} separate pieces in one datagram",
                    self.limits.max_pieces
                ),
            ));
        }
        let complete = matches!((p.total, p.have.first()), (Some(t), Some(r)) if p.have.len() == 1 && r.start == 0 && r.end >= t)
            && !p.header.is_empty();
        if !complete {
            return DefragResult::Held { anomaly };
        }
        let Some(p) = self.take(&key) else {
            return DefragResult::Held { anomaly };
        };
        let total = p.total.unwrap_or(p.data.len()).min(p.data.len());
        match build(p, total, ip.version, key.proto) {
            Some(datagram) => DefragResult::Complete { datagram, anomaly },
            None => DefragResult::Dropped(Anomaly::new(
                AnomalyKind::DefragOversize,
                "reassembled datagram does not fit the IP length field",
            )),
        }
    }

    /// Drops datagrams older than the timeout at capture time `now`; one anomaly each.
    pub fn expire(&mut self, now: Timestamp) -> Vec<Anomaly> {
        let timeout = self.limits.timeout_ns;
        let old: Vec<Key> = self
            .pending
            .iter()
            .filter(|(_, p)| now.0.saturating_sub(p.first_seen.0) > timeout)
            .map(|(k, _)| *k)
            .collect();
        old.into_iter()
            .map(|k| {
                self.remove(&k);
                Anomaly::new(
                    AnomalyKind::DefragTimeout,
                    format!(
                        "fragments of {} → {} id {:#x} never completed",
                        k.src, k.dst, k.id
                    ),
                )
            })
            .collect()
    }

    fn take(&mut self, key: &Key) -> Option<Pending> {
        let p = self.pending.remove(key)?;
        self.bytes = self.bytes.saturating_sub(p.data.len() + p.header.len());
        Some(p)
    }

    fn remove(&mut self, key: &Key) {
        let _ = self.take(key);
    }

    fn evict_oldest(&mut self) {
        if let Some(k) = self
            .pending
            .iter()
            .min_by_key(|(_, p)| p.first_seen)
            .map(|(k, _)| *k)
        {
            self.remove(&k);
        }
    }

    fn evict_oldest_except(&mut self, keep: &Key) -> bool {
        match self
            .pending
            .iter()
            .filter(|(k, _)| *k != keep)
            .min_by_key(|(_, p)| p.first_seen)
            .map(|(k, _)| *k)
        {
            Some(k) => {
                self.remove(&k);
                true
            }
            None => false,
        }
    }
}

/// Inserts `r` into sorted, merged `have`, merging neighbours that touch or overlap.
fn insert_range(have: &mut Vec<Range<usize>>, r: Range<usize>) {
    let mut merged = r;
    have.retain(|h| {
        if h.start <= merged.end && merged.start <= h.end {
            merged = merged.start.min(h.start)..merged.end.max(h.end);
            false
        } else {
            true
        }
    });
    let at = have.partition_point(|h| h.start < merged.start);
    have.insert(at, merged);
}

/// Position of the Next Header byte that names the fragment header: the IPv6 header's
/// byte 6 when no extension header precedes it, else the first byte of the last
/// extension header in the unfragmentable part (RFC 8200 §4.5).
fn v6_next_header_pos(hdr: &[u8]) -> Option<usize> {
    let mut pos = 6;
    let mut i = 40;
    while i < hdr.len() {
        let next = *hdr.get(pos)?;
        let len = match next {
            0 | 43 | 60 => (usize::from(*hdr.get(i + 1)?) + 1) * 8,
            51 => (usize::from(*hdr.get(i + 1)?) + 2) * 4,
            _ => return None,
        };
        pos = i;
        i += len;
    }
    Some(pos)
}

fn build(p: Pending, total: usize, version: u8, proto: u8) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(p.header.len() + total);
    out.extend_from_slice(&p.header);
    out.extend_from_slice(p.data.get(..total)?);
    if version == 4 {
        let len = u16::try_from(out.len()).ok()?;
        out.get_mut(2..4)?.copy_from_slice(&len.to_be_bytes());
        // Flags and offset cleared (keep DF), checksum recomputed (RFC 791 §3.1).
        let df = out.get(6).copied()? & 0x40;
        out.get_mut(6..8)?.copy_from_slice(&[df, 0]);
        out.get_mut(10..12)?.copy_from_slice(&[0, 0]);
        let hl = usize::from(out.first()? & 0xf) * 4;
        let sum = checksum(out.get(..hl)?);
        out.get_mut(10..12)?.copy_from_slice(&sum.to_be_bytes());
    } else {
        let plen = u16::try_from(out.len().checked_sub(40)?).ok()?;
        out.get_mut(4..6)?.copy_from_slice(&plen.to_be_bytes());
        // The fragment header is gone: its Next Header moves into the header before it.
        *out.get_mut(p.v6_next_at?)? = proto;
    }
    Some(out)
}

/// The Internet checksum (RFC 1071) over `b`.
fn checksum(b: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in b.chunks(2) {
        let w = u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]);
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;
    use proptest::prelude::*;

    /// A raw IPv4 fragment: 20-byte header (protocol UDP) + `data`.
    fn v4(id: u16, off: usize, more: bool, data: &[u8]) -> Vec<u8> {
        let mut h = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let total = (20 + data.len()) as u16;
        h[2..4].copy_from_slice(&total.to_be_bytes());
        h[4..6].copy_from_slice(&id.to_be_bytes());
        let fo = ((off / 8) as u16) | if more { 0x2000 } else { 0 };
        h[6..8].copy_from_slice(&fo.to_be_bytes());
        h.extend_from_slice(data);
        h
    }

    /// A raw IPv6 fragment: fixed header + fragment header (next header UDP) + `data`.
    fn v6(id: u32, off: usize, more: bool, data: &[u8]) -> Vec<u8> {
        let mut h = vec![0x60, 0, 0, 0, 0, 0, 44, 64];
        h[4..6].copy_from_slice(&((8 + data.len()) as u16).to_be_bytes());
        h.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        h.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        let fo = (off as u16 & !7) | u16::from(more);
        h.extend_from_slice(&[17, 0]);
        h.extend_from_slice(&fo.to_be_bytes());
        h.extend_from_slice(&id.to_be_bytes());
        h.extend_from_slice(data);
        h
    }

    fn push(d: &mut Defragmenter, ts: i64, f: &[u8]) -> DefragResult {
        let p = decode(LinkType::RAW, f);
        d.push(Timestamp(ts), LinkType::RAW, f, &p)
    }

    /// Found by `arbitrary_fragments_stay_bounded`: 4,840 bytes of one IPv4 datagram, then
    /// a first IPv6 fragment of 1,121 bytes fits the 6,000-byte budget by its data alone;
    /// its 40-byte header must count too.
    #[test]
    fn a_first_fragments_header_counts_against_the_byte_budget() {
        let limits = DefragLimits {
            max_pending: 3,
            max_bytes: 6000,
            max_pieces: 4,
            timeout_ns: 50,
        };
        let mut d = Defragmenter::new(limits);
        let _ = push(&mut d, 0, &v4(0, 3768, false, &vec![0xab; 1072]));
        let _ = push(&mut d, 0, &v6(0, 0, true, &vec![0xab; 1121]));
        assert!(d.buffered_bytes() <= 6000, "{}", d.buffered_bytes());
    }

    #[test]
    fn ipv6_reassembly_restores_next_header() {
        let payload: Vec<u8> = (0..40u8).collect();
        let mut d = Defragmenter::default();
        assert!(matches!(
            push(&mut d, 0, &v6(7, 16, false, &payload[16..])),
            DefragResult::Held { anomaly: None }
        ));
        let DefragResult::Complete {
            datagram,
            anomaly: None,
        } = push(&mut d, 1, &v6(7, 0, true, &payload[..16]))
        else {
            panic!()
        };
        assert_eq!(datagram.len(), 40 + 40);
        assert_eq!(
            datagram[6], 17,
            "fragment header removed, next header is UDP"
        );
        assert_eq!(&datagram[4..6], &40u16.to_be_bytes());
        assert_eq!(&datagram[40..], &payload[..]);
    }

    #[test]
    fn limits_drop_with_anomalies() {
        let limits = DefragLimits {
            max_pending: 2,
            max_bytes: 1000,
            max_pieces: 3,
            timeout_ns: 10,
        };
        let mut d = Defragmenter::new(limits);
        for id in 0..5u16 {
            push(&mut d, 0, &v4(id, 0, true, &[0; 8]));
        }
        assert_eq!(d.pending(), 2, "oldest datagrams evicted");
        // Too many separate pieces.
        let mut last = DefragResult::NotFragment;
        for i in 0..4 {
            last = push(&mut d, 0, &v4(99, 16 * i + 16, true, &[1; 8]));
        }
        assert!(
            matches!(last, DefragResult::Dropped(ref a) if a.name() == "defrag_too_many_pieces"),
            "{last:?}"
        );
        // Beyond the byte budget.
        let r = push(&mut d, 0, &v4(100, 1600, true, &[1; 8]));
        assert!(
            matches!(r, DefragResult::Dropped(ref a) if a.name() == "defrag_memory_limit"),
            "{r:?}"
        );
        assert!(d.buffered_bytes() <= 1000);
        // Beyond 65535 bytes.
        let r = push(&mut d, 0, &v4(101, 65528, false, &[1; 16]));
        assert!(
            matches!(r, DefragResult::Dropped(ref a) if a.name() == "defrag_oversize"),
            "{r:?}"
        );
        // Timeout by capture time only.
        assert_eq!(
            d.pending(),
            0,
            "the memory limit evicted the older datagrams"
        );
        push(&mut d, 0, &v4(200, 0, true, &[0; 8]));
        push(&mut d, 5, &v4(201, 0, true, &[0; 8]));
        let before = d.pending();
        assert_eq!(before, 2);
        assert!(
            d.expire(Timestamp(10)).is_empty(),
            "not older than the timeout yet"
        );
        assert_eq!(
            d.expire(Timestamp(11)).len(),
            1,
            "only the one pushed at 0 is too old"
        );
        let gone = d.expire(Timestamp(16));
        assert_eq!(gone.len(), before - 1);
        assert!(gone.iter().all(|a| a.name() == "defrag_timeout"));
        assert_eq!((d.pending(), d.buffered_bytes()), (0, 0));
        // A snaplen-cut fragment cannot be reassembled.
        let f = v4(5, 0, true, &[0; 16]);
        let r = push(&mut d, 0, &f[..30]);
        assert!(
            matches!(r, DefragResult::Dropped(ref a) if a.name() == "defrag_truncated_fragment"),
            "{r:?}"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any split into 8-byte-aligned pieces, pushed in any order with duplicates,
        /// reassembles to the same bytes.
        #[test]
        fn order_and_duplicates_do_not_matter(
            payload in prop::collection::vec(any::<u8>(), 9..3000),
            cuts in prop::collection::vec(1usize..400, 1..12),
            order in prop::collection::vec(any::<prop::sample::Index>(), 1..30),
            ipv6 in any::<bool>(),
        ) {
            let mut pieces = Vec::new();
            let mut at = 0;
            for c in cuts {
                if at >= payload.len() { break; }
                let end = (at + c * 8).min(payload.len());
                pieces.push((at, end));
                at = end;
            }
            if at < payload.len() { pieces.push((at, payload.len())); }
            // One piece covering everything is not a fragment; split it.
            if pieces.len() == 1 { pieces = vec![(0, 8), (8, payload.len())]; }
            let n = pieces.len();
            let make = |(s, e): (usize, usize)| {
                let more = e < payload.len();
                if ipv6 { v6(3, s, more, &payload[s..e]) } else { v4(3, s, more, &payload[s..e]) }
            };
            let mut d = Defragmenter::default();
            let mut seq: Vec<usize> = order.iter().map(|i| i.index(n)).collect();
            seq.extend(0..n); // every piece at least once
            let mut got = None;
            for (t, i) in seq.into_iter().enumerate() {
                match push(&mut d, t as i64, &make(pieces[i])) {
                    DefragResult::Complete { datagram, .. } => { got = Some(datagram); break; }
                    DefragResult::Dropped(a) => prop_assert!(false, "dropped: {a}"),
                    _ => {}
                }
            }
            let dg = got.expect("complete");
            let hl = if ipv6 { 40 } else { 20 };
            prop_assert_eq!(&dg[hl..], &payload[..]);
            let p = decode(LinkType::RAW, &dg);
            prop_assert!(!p.ip.as_ref().unwrap().is_fragment());
            prop_assert_eq!(d.pending(), 0);
        }

        /// Arbitrary fragment streams never panic and never exceed the limits (a first
        /// fragment's header counts too: proptest found 5,961 data bytes + a 40-byte IPv6
        /// header over a 6,000-byte budget).
        #[test]
        fn arbitrary_fragments_stay_bounded(
            frags in prop::collection::vec((0u16..4, 0usize..9000, 0usize..1500, any::<bool>(), any::<bool>(), 0i64..100), 0..60)
        ) {
            let limits = DefragLimits { max_pending: 3, max_bytes: 6000, max_pieces: 4, timeout_ns: 50 };
            let mut d = Defragmenter::new(limits);
            for (id, off, len, more, ipv6, ts) in frags {
                let data = vec![0xab; len];
                let f = if ipv6 { v6(u32::from(id), off, more, &data) } else { v4(id, off & !7, more, &data) };
                let _ = push(&mut d, ts, &f);
                prop_assert!(d.pending() <= 3);
                prop_assert!(d.buffered_bytes() <= 6000);
            }
        }
    }
}
