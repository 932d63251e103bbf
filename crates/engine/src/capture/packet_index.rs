//! The frame store's per-packet index: about 4 bytes a packet instead of a 32-byte
//! [`IndexEntry`].
//!
//! Everything in an entry but where the packet's bytes start is in the mapped file
//! already: the pcap record header (ts, caplen, origlen) or the pcapng EPB/PB header
//! (interface id, ts, caplen, origlen) sits right in front of the bytes. So the index
//! keeps only the offset, as a `u64` base per block of [`BLOCK`] packets plus a `u32`
//! delta per packet, and the store re-reads the header on access (`pcap::reread`,
//! `pcapng::reread`: a few loads next to the bytes a frame access touches anyway).
//!
//! What a re-read would not reproduce is kept whole in a short list of exceptions: an
//! SPB (no timestamp: the walker repeats the previous packet's), a block the re-read
//! does not recognise, a delta over 4 GiB. The store decides at indexing time by
//! re-reading every packet once and comparing with the walker's entry, so an access
//! always gives exactly what the walker produced.

use serde::{Deserialize, Serialize};

use super::store::IndexEntry;

/// Packets per offset base. A block spans at most 4 GiB of file for its deltas to fit
/// (1024 packets of 4 MiB each); past that, packets become exceptions.
pub const BLOCK: usize = 1 << BLOCK_SHIFT;
const BLOCK_SHIFT: u32 = 10;
/// The delta of a packet kept in the exceptions.
const EXCEPTION: u32 = u32::MAX;

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
    /// Per packet: its offset minus its block's base, or [`EXCEPTION`].
    deltas: Vec<u32>,
    /// (packet id, entry) of the packets whose delta is [`EXCEPTION`], by id.
    exceptions: Vec<(u32, IndexEntry)>,
}

impl PacketIndex {
    pub fn len(&self) -> usize {
        self.deltas.len()
    }

    pub fn is_empty(&self) -> bool {
        self.deltas.is_empty()
    }

    /// Adds the next packet: `e` is the walker's entry, `reread` what re-reading its
    /// header from the file gives (`None` when it cannot).
    pub fn push(&mut self, e: IndexEntry, reread: Option<IndexEntry>) {
        let id = self.deltas.len();
        if id.is_multiple_of(BLOCK) {
            self.bases.push(e.offset);
        }
        let delta = self
            .bases
            .last()
            .and_then(|&base| e.offset.checked_sub(base))
            .and_then(|d| u32::try_from(d).ok())
            .filter(|&d| d != EXCEPTION && reread == Some(e));
        match delta {
            Some(d) => self.deltas.push(d),
            None => {
                self.exceptions.push((id as u32, e));
                self.deltas.push(EXCEPTION);
            }
        }
    }

    /// Where packet `id` is; `None` past the end.
    #[inline]
    pub fn locate(&self, id: usize) -> Option<Located> {
        let delta = *self.deltas.get(id)?;
        if delta == EXCEPTION {
            let i = self
                .exceptions
                .binary_search_by_key(&(id as u32), |&(k, _)| k)
                .ok()?;
            return self.exceptions.get(i).map(|&(_, e)| Located::Entry(e));
        }
        let base = *self.bases.get(id >> BLOCK_SHIFT)?;
        Some(Located::Offset(base + u64::from(delta)))
    }

    /// Packets kept whole.
    pub fn exceptions(&self) -> usize {
        self.exceptions.len()
    }

    /// Heap bytes held (capacity, not length).
    pub fn heap_bytes(&self) -> usize {
        self.bases.capacity() * size_of::<u64>()
            + self.deltas.capacity() * size_of::<u32>()
            + self.exceptions.capacity() * size_of::<(u32, IndexEntry)>()
    }

    /// Gives back what growing by doubling left unused.
    pub fn shrink_to_fit(&mut self) {
        self.bases.shrink_to_fit();
        self.deltas.shrink_to_fit();
        self.exceptions.shrink_to_fit();
    }

    /// Whether an index read back from elsewhere (the TUI's cache) is whole and points
    /// nowhere past `file_len`: one base per block, one exception per exception delta,
    /// in id order, and every offset (and an exception's bytes) inside the file.
    pub fn is_consistent(&self, file_len: u64) -> bool {
        if self.bases.len() != self.deltas.len().div_ceil(BLOCK) {
            return false;
        }
        let mut exceptions = self.exceptions.iter();
        for (id, &d) in self.deltas.iter().enumerate() {
            let fits = if d == EXCEPTION {
                match exceptions.next() {
                    Some(&(k, e)) => {
                        k as usize == id && e.offset.saturating_add(u64::from(e.caplen)) <= file_len
                    }
                    None => false,
                }
            } else {
                self.bases
                    .get(id >> BLOCK_SHIFT)
                    .is_some_and(|&b| b.saturating_add(u64::from(d)) <= file_len)
            };
            if !fits {
                return false;
            }
        }
        exceptions.next().is_none()
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

    #[test]
    fn offsets_round_trip_and_mismatches_are_kept_whole() {
        let mut x = PacketIndex::default();
        let mut want = Vec::new();
        // Three blocks; every 7th packet's re-read differs, one jump of 5 GiB.
        let mut off = 24u64;
        for i in 0..(2 * BLOCK + 5) {
            let e = entry(off, 60);
            let reread = if i % 7 == 3 {
                Some(IndexEntry { caplen: 61, ..e })
            } else {
                Some(e)
            };
            x.push(e, reread);
            want.push((e, reread == Some(e)));
            off += if i == BLOCK + 10 { 5 << 30 } else { 76 };
        }
        for (i, &(e, same)) in want.iter().enumerate() {
            let got = x.locate(i).unwrap();
            if same && !(BLOCK + 11..2 * BLOCK).contains(&i) {
                assert_eq!(got, Located::Offset(e.offset), "{i}");
            } else {
                assert_eq!(got, Located::Entry(e), "{i}");
            }
        }
        assert!(x.locate(want.len()).is_none());
        assert!(x.is_consistent(off));
        assert!(!x.is_consistent(off - 100));
        let mut y = x.clone();
        y.exceptions.pop();
        assert!(!y.is_consistent(off));
        let mut y = x.clone();
        y.bases.pop();
        assert!(!y.is_consistent(off));
    }

    #[test]
    fn four_bytes_a_packet() {
        let mut x = PacketIndex::default();
        for i in 0..100 * BLOCK as u64 {
            let e = entry(24 + i * 100, 84);
            x.push(e, Some(e));
        }
        x.shrink_to_fit();
        assert_eq!(x.exceptions(), 0);
        assert_eq!(x.heap_bytes(), 100 * BLOCK * 4 + 100 * 8);
    }
}
