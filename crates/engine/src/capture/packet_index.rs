//! The frame store's per-packet index: about 2 bytes a packet instead of a 32-byte
//! [`IndexEntry`].
//!
//! Everything in an entry but where the packet's bytes start is in the mapped file
//! already: the pcap record header (ts, caplen, origlen) or the pcapng EPB/PB header
//! (interface id, ts, caplen, origlen) sits right in front of the bytes. So the index
//! keeps only the offset, and the store re-reads the header on access (`pcap::reread`,
//! `pcapng::reread`: a few loads next to the bytes a frame access touches anyway).
//!
//! Packets follow one another in the file, so an offset is kept as the gap from the
//! packet before it: a `u16` (the record's header and bytes; a full-size Ethernet frame
//! is ~1.5 KB), with a `u64` base per block of [`BLOCK`] packets. Finding a packet sums
//! the gaps before it in its block (at most `BLOCK - 1` of them, ~a cache line). A gap
//! that does not fit (a jumbo or a 256 KiB loopback frame before it, or pcapng blocks
//! in between) is kept whole in a short list of far offsets. This halves the earlier
//! layout (a `u32` offset in the block per packet): 41 MB instead of 81 MB on a
//! 20-million-packet capture.
//!
//! What a re-read would not reproduce is kept whole in a short list of exceptions: an
//! SPB (no timestamp: the walker repeats the previous packet's), a block the re-read
//! does not recognise. The store decides at indexing time by re-reading every packet
//! once and comparing with the walker's entry, so an access always gives exactly what
//! the walker produced.

use serde::{Deserialize, Serialize};

use super::store::IndexEntry;

/// Packets per offset base: a packet's offset sums at most `BLOCK - 1` gaps.
pub const BLOCK: usize = 1 << BLOCK_SHIFT;
const BLOCK_SHIFT: u32 = 5;
/// The gap of a packet whose offset is in `far` (or of a block's first packet, whose
/// offset is its block's base, the gap is 0 and unused).
const FAR: u16 = u16::MAX;

/// Where a packet is, as [`PacketIndex::locate`] says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Located {
    /// Its bytes start here; the rest of its entry is re-read from the file.
    Offset(u64),
    /// Its entry, kept whole.
    Entry(IndexEntry),
}

/// See the module docs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacketIndex {
    /// Offset of the first packet of each block of [`BLOCK`] packets.
    bases: Vec<u64>,
    /// Per packet: its offset minus the previous packet's (same block), or [`FAR`].
    gaps: Vec<u16>,
    /// (packet id, offset) of the packets whose gap is [`FAR`], by id.
    far: Vec<(u32, u64)>,
    /// (packet id, entry) of the packets a re-read does not reproduce, by id.
    exceptions: Vec<(u32, IndexEntry)>,
    /// Offset of the last packet pushed (the next gap counts from it).
    last: u64,
}

impl PacketIndex {
    pub fn len(&self) -> usize {
        self.gaps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.gaps.is_empty()
    }

    /// Adds the next packet: `e` is the walker's entry, `reread` what re-reading its
    /// header from the file gives (`None` when it cannot).
    pub fn push(&mut self, e: IndexEntry, reread: Option<IndexEntry>) {
        let id = self.gaps.len();
        if id.is_multiple_of(BLOCK) {
            self.bases.push(e.offset);
            self.gaps.push(0);
        } else {
            let gap = e
                .offset
                .checked_sub(self.last)
                .and_then(|d| u16::try_from(d).ok())
                .filter(|&d| d != FAR);
            match gap {
                Some(d) => self.gaps.push(d),
                None => {
                    self.far.push((id as u32, e.offset));
                    self.gaps.push(FAR);
                }
            }
        }
        self.last = e.offset;
        if reread != Some(e) {
            self.exceptions.push((id as u32, e));
        }
    }

    /// Packet `id`'s offset: its block's base plus the gaps after it, or from the
    /// last far offset in between.
    #[inline]
    fn offset(&self, id: usize) -> Option<u64> {
        let base = *self.bases.get(id >> BLOCK_SHIFT)?;
        let start = id & !(BLOCK - 1);
        let gaps = self.gaps.get(start + 1..=id)?;
        let sum = |g: &[u16]| g.iter().map(|&d| u64::from(d)).sum::<u64>();
        if self.far.is_empty() {
            return Some(base + sum(gaps));
        }
        match gaps.iter().rposition(|&d| d == FAR) {
            None => Some(base + sum(gaps)),
            Some(p) => {
                let k = (start + 1 + p) as u32;
                let i = self.far.binary_search_by_key(&k, |&(j, _)| j).ok()?;
                let (_, at) = *self.far.get(i)?;
                Some(at + sum(gaps.get(p + 1..)?))
            }
        }
    }

    /// Where packet `id` is; `None` past the end.
    #[inline]
    pub fn locate(&self, id: usize) -> Option<Located> {
        if id >= self.gaps.len() {
            return None;
        }
        if !self.exceptions.is_empty() {
            if let Ok(i) = self
                .exceptions
                .binary_search_by_key(&(id as u32), |&(k, _)| k)
            {
                return self.exceptions.get(i).map(|&(_, e)| Located::Entry(e));
            }
        }
        self.offset(id).map(Located::Offset)
    }

    /// Packets kept whole.
    pub fn exceptions(&self) -> usize {
        self.exceptions.len()
    }

    /// Heap bytes held (capacity, not length).
    pub fn heap_bytes(&self) -> usize {
        self.bases.capacity() * size_of::<u64>()
            + self.gaps.capacity() * size_of::<u16>()
            + self.far.capacity() * size_of::<(u32, u64)>()
            + self.exceptions.capacity() * size_of::<(u32, IndexEntry)>()
    }

    /// Gives back what growing by doubling left unused.
    pub fn shrink_to_fit(&mut self) {
        self.bases.shrink_to_fit();
        self.gaps.shrink_to_fit();
        self.far.shrink_to_fit();
        self.exceptions.shrink_to_fit();
    }

    /// Whether an index read back from elsewhere (the TUI's cache) is whole and points
    /// nowhere past `file_len`: one base per block, one far offset per far gap and the
    /// exceptions in id order (ids in range), and every offset (and an exception's
    /// bytes) inside the file.
    pub fn is_consistent(&self, file_len: u64) -> bool {
        if self.bases.len() != self.gaps.len().div_ceil(BLOCK) {
            return false;
        }
        let len = self.gaps.len();
        let increasing = |ids: &[u32]| {
            ids.windows(2).all(|w| w[0] < w[1]) && ids.last().is_none_or(|&k| (k as usize) < len)
        };
        let far_ids: Vec<u32> = self.far.iter().map(|e| e.0).collect();
        let exception_ids: Vec<u32> = self.exceptions.iter().map(|e| e.0).collect();
        if !increasing(&far_ids) || !increasing(&exception_ids) {
            return false;
        }
        let mut far = self.far.iter();
        let mut at = 0u64;
        for (id, &d) in self.gaps.iter().enumerate() {
            if id.is_multiple_of(BLOCK) {
                match self.bases.get(id >> BLOCK_SHIFT) {
                    Some(&b) => at = b,
                    None => return false,
                }
            } else if d == FAR {
                match far.next() {
                    Some(&(k, o)) if k as usize == id => at = o,
                    _ => return false,
                }
            } else {
                at = at.saturating_add(u64::from(d));
            }
            if at > file_len {
                return false;
            }
        }
        far.next().is_none()
            && self
                .exceptions
                .iter()
                .all(|&(_, e)| e.offset.saturating_add(u64::from(e.caplen)) <= file_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::Timestamp;

    fn entry(offset: u64, caplen: u32) -> IndexEntry {
        IndexEntry {
            offset,
            ts: Timestamp(offset as i64),
            caplen,
            origlen: caplen,
            iface: 0,
        }
    }

    /// Every packet's offset comes back, whatever its gap: small, the largest that
    /// fits, one over it, one of 5 GiB; re-reads that differ are kept whole; block
    /// edges all along (three blocks and a part).
    #[test]
    fn offsets_round_trip_and_mismatches_are_kept_whole() {
        let mut x = PacketIndex::default();
        let mut want = Vec::new();
        let mut off = 24u64;
        for i in 0..(3 * BLOCK + 5) {
            let e = entry(off, 60);
            let reread = if i % 7 == 3 {
                Some(IndexEntry { caplen: 61, ..e })
            } else {
                Some(e)
            };
            x.push(e, reread);
            want.push((e, reread == Some(e)));
            off += match i % 11 {
                _ if i == BLOCK + 10 => 5 << 30,
                4 => u64::from(FAR) - 1,
                5 => u64::from(FAR),
                6 => u64::from(FAR) + 1,
                _ => 76,
            };
        }
        assert!(!x.far.is_empty());
        for (i, &(e, same)) in want.iter().enumerate() {
            let got = x.locate(i).unwrap();
            if same {
                assert_eq!(got, Located::Offset(e.offset), "{i}");
            } else {
                assert_eq!(got, Located::Entry(e), "{i}");
            }
        }
        assert!(x.locate(want.len()).is_none());
        assert!(x.is_consistent(off));
        assert!(!x.is_consistent(off - 100 - (5 << 30)));
        let back: PacketIndex = postcard::from_bytes(&postcard::to_allocvec(&x).unwrap()).unwrap();
        assert_eq!(back, x);
        let mut y = x.clone();
        y.far.pop();
        assert!(!y.is_consistent(off));
        let mut y = x.clone();
        y.bases.pop();
        assert!(!y.is_consistent(off));
        let mut y = x.clone();
        y.exceptions.reverse();
        assert!(!y.is_consistent(off));
    }

    /// A packet pushed after the index went through the cache's encoding counts its
    /// gap from the last one (a growing file indexed further).
    #[test]
    fn pushes_go_on_after_a_round_trip() {
        let mut x = PacketIndex::default();
        for i in 0..(BLOCK as u64 + 3) {
            let e = entry(24 + i * 100, 84);
            x.push(e, Some(e));
        }
        let mut back: PacketIndex =
            postcard::from_bytes(&postcard::to_allocvec(&x).unwrap()).unwrap();
        let e = entry(24 + (BLOCK as u64 + 3) * 100, 84);
        back.push(e, Some(e));
        assert_eq!(back.locate(BLOCK + 3), Some(Located::Offset(e.offset)));
    }

    #[test]
    fn two_bytes_a_packet() {
        let mut x = PacketIndex::default();
        for i in 0..100 * BLOCK as u64 {
            let e = entry(24 + i * 100, 84);
            x.push(e, Some(e));
        }
        x.shrink_to_fit();
        assert_eq!(x.exceptions(), 0);
        assert_eq!(x.heap_bytes(), 100 * BLOCK * 2 + 100 * 8);
    }
}
