//! CRYPTO stream reassembly (RFC 9000 §19.6, §7.5): each packet number space carries
//! one ordered byte stream; frames may arrive out of order, overlap or repeat, and a
//! ClientHello may span several packets and datagrams. Out-of-order bytes are buffered
//! up to a bound; handshake messages (type u8, length u24, RFC 8446 §4) are cut from
//! the contiguous prefix.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

/// Bytes buffered ahead of the contiguous prefix, and the prefix itself, are capped:
/// RFC 9000 §7.5 asks endpoints to buffer at least 4096 bytes; a post-quantum
/// ClientHello with certificates around it stays well under this.
pub const DEFAULT_LIMIT: usize = 64 * 1024;

#[derive(Clone, Debug)]
pub struct CryptoStream {
    /// Bytes from offset 0, in order.
    contiguous: Vec<u8>,
    /// Out-of-order pieces by offset (all past `contiguous`).
    pending: BTreeMap<u64, Vec<u8>>,
    pending_bytes: usize,
    limit: usize,
    /// Set when bytes were dropped because of the limit.
    pub overflowed: bool,
    /// How much of `contiguous` handshake messages have been taken from.
    consumed: usize,
}

impl Default for CryptoStream {
    fn default() -> Self {
        CryptoStream::with_limit(DEFAULT_LIMIT)
    }
}

impl CryptoStream {
    pub fn with_limit(limit: usize) -> Self {
        CryptoStream {
            contiguous: Vec::new(),
            pending: BTreeMap::new(),
            pending_bytes: 0,
            limit,
            overflowed: false,
            consumed: 0,
        }
    }

    /// The in-order bytes received so far.
    pub fn contiguous(&self) -> &[u8] {
        &self.contiguous
    }

    /// Adds the data of one CRYPTO frame.
    pub fn insert(&mut self, offset: u64, data: &[u8]) {
        let have = self.contiguous.len() as u64;
        let end = offset.saturating_add(data.len() as u64);
        if end <= have {
            return; // a retransmission of what we hold
        }
        // Drop the part already held.
        let skip = usize::try_from(have.saturating_sub(offset)).unwrap_or(usize::MAX);
        let data = data.get(skip..).unwrap_or(&[]);
        let offset = offset.max(have);
        if self.contiguous.len() + self.pending_bytes + data.len() > self.limit {
            self.overflowed = true;
            return;
        }
        // Keep the longer piece at one offset.
        let slot = self.pending.entry(offset).or_default();
        if data.len() > slot.len() {
            self.pending_bytes = self.pending_bytes + data.len() - slot.len();
            *slot = data.to_vec();
        }
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(entry) = self.pending.first_entry() {
            let have = self.contiguous.len() as u64;
            let start = *entry.key();
            if start > have {
                break;
            }
            let piece = entry.remove();
            self.pending_bytes -= piece.len();
            let skip = usize::try_from(have - start).unwrap_or(usize::MAX);
            if let Some(new) = piece.get(skip..) {
                self.contiguous.extend_from_slice(new);
            }
        }
    }

    /// Whether bytes are waiting for a gap to fill.
    pub fn has_gap(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The next complete handshake message (type, body) not yet returned.
    pub fn next_message(&mut self) -> Option<(u8, Vec<u8>)> {
        let rest = self.contiguous.get(self.consumed..)?;
        let ty = *rest.first()?;
        let len = rest
            .get(1..4)?
            .iter()
            .fold(0usize, |a, &b| a << 8 | usize::from(b));
        let body = rest.get(4..4 + len)?.to_vec();
        self.consumed += 4 + len;
        Some((ty, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_order_overlapping_and_repeated_pieces() {
        let msg: Vec<u8> = [1u8, 0, 0, 10].into_iter().chain(0..10).collect();
        let mut s = CryptoStream::default();
        s.insert(8, &msg[8..]);
        s.insert(3, &msg[3..10]); // overlaps the piece above
        assert!(s.contiguous().is_empty() && s.has_gap());
        assert_eq!(s.next_message(), None);
        s.insert(0, &msg[..5]);
        s.insert(0, &msg[..2]); // a retransmission
        assert_eq!(s.contiguous(), msg.as_slice());
        assert!(!s.has_gap());
        assert_eq!(s.next_message(), Some((1, (0..10).collect())));
        assert_eq!(s.next_message(), None);
    }

    #[test]
    fn every_permutation_of_four_pieces_reassembles() {
        let data: Vec<u8> = (0..40).collect();
        let pieces = [(0u64, 0..12), (10, 10..25), (25, 25..30), (28, 28..40)];
        let mut idx = [0usize, 1, 2, 3];
        // Heap's algorithm over all 24 orders.
        let mut c = [0usize; 4];
        let check = |order: &[usize; 4]| {
            let mut s = CryptoStream::default();
            for &i in order {
                let (off, r) = pieces[i].clone();
                s.insert(off, &data[r]);
            }
            assert_eq!(s.contiguous(), data.as_slice(), "{order:?}");
        };
        check(&idx);
        let mut i = 0;
        while i < 4 {
            if c[i] < i {
                if i % 2 == 0 {
                    idx.swap(0, i);
                } else {
                    idx.swap(c[i], i);
                }
                check(&idx);
                c[i] += 1;
                i = 0;
            } else {
                c[i] = 0;
                i += 1;
            }
        }
    }

    #[test]
    fn the_bound_drops_and_says_so() {
        let mut s = CryptoStream::with_limit(100);
        s.insert(1000, &[0; 60]);
        s.insert(2000, &[0; 60]);
        assert!(s.overflowed);
        s.insert(u64::MAX - 1, &[0; 10]);
        let mut s = CryptoStream::with_limit(100);
        s.insert(0, &[0; 100]);
        assert!(!s.overflowed);
        s.insert(100, &[0; 1]);
        assert!(s.overflowed);
    }
}
