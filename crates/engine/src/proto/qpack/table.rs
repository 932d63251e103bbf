//! The QPACK dynamic table (RFC 9204 §3.2): FIFO entries with absolute indices counted
//! from the first insertion (§3.2.4), a size of name + value + 32 per entry (§3.2.1), a
//! capacity set by the encoder within the decoder's maximum (§3.2.3), and eviction of the
//! oldest entries to make room (§3.2.2).

use std::collections::VecDeque;

use super::QpackError;

/// Per-entry overhead of §3.2.1.
pub(crate) const ENTRY_OVERHEAD: u64 = 32;

/// One direction's dynamic table, as the decoder sees it.
#[derive(Debug, Default)]
pub(crate) struct DynamicTable {
    entries: VecDeque<(Vec<u8>, Vec<u8>)>,
    /// Absolute index of `entries[0]` = number of entries evicted so far.
    dropped: u64,
    /// Sum of the entries' sizes.
    size: u64,
    /// Current capacity (Set Dynamic Table Capacity), ≤ `max_capacity`.
    capacity: u64,
    /// SETTINGS_QPACK_MAX_TABLE_CAPACITY this decoder announced.
    max_capacity: u64,
}

impl DynamicTable {
    pub(crate) fn new(max_capacity: u64) -> Self {
        Self {
            max_capacity,
            ..Self::default()
        }
    }

    /// Insert Count (§3.2.4 "total number of insertions").
    pub(crate) fn insert_count(&self) -> u64 {
        self.dropped + self.entries.len() as u64
    }

    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    pub(crate) fn capacity(&self) -> u64 {
        self.capacity
    }

    pub(crate) fn max_capacity(&self) -> u64 {
        self.max_capacity
    }

    /// §4.3.1: a capacity above the maximum is an error; lowering it evicts.
    pub(crate) fn set_capacity(&mut self, capacity: u64) -> Result<(), QpackError> {
        if capacity > self.max_capacity {
            return Err(QpackError::CapacityExceeded {
                requested: capacity,
                max: self.max_capacity,
            });
        }
        self.evict_to(capacity);
        self.capacity = capacity;
        Ok(())
    }

    fn evict_to(&mut self, limit: u64) {
        while self.size > limit {
            let Some((n, v)) = self.entries.pop_front() else {
                break;
            };
            self.size -= n.len() as u64 + v.len() as u64 + ENTRY_OVERHEAD;
            self.dropped += 1;
        }
    }

    /// §3.2.2: an entry larger than the capacity is an error; otherwise the oldest
    /// entries are evicted until it fits. The caller has already copied any name it
    /// took from an entry this may evict.
    pub(crate) fn insert(&mut self, name: Vec<u8>, value: Vec<u8>) -> Result<(), QpackError> {
        let size = name.len() as u64 + value.len() as u64 + ENTRY_OVERHEAD;
        if size > self.capacity {
            return Err(QpackError::EntryTooLarge {
                size,
                capacity: self.capacity,
            });
        }
        self.evict_to(self.capacity - size);
        self.size += size;
        self.entries.push_back((name, value));
        Ok(())
    }

    /// The entry of absolute index `abs`, if still in the table (§3.2.4).
    pub(crate) fn get(&self, abs: u64) -> Result<(&[u8], &[u8]), QpackError> {
        abs.checked_sub(self.dropped)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.entries.get(i))
            .map(|(n, v)| (n.as_slice(), v.as_slice()))
            .ok_or(QpackError::BadDynamicIndex {
                absolute: abs,
                insert_count: self.insert_count(),
                dropped: self.dropped,
            })
    }

    /// §3.2.5: relative index `rel` on the encoder stream is `insert_count - 1 - rel`.
    pub(crate) fn relative(&self, rel: u64) -> Result<u64, QpackError> {
        self.insert_count()
            .checked_sub(1)
            .and_then(|last| last.checked_sub(rel))
            .ok_or(QpackError::BadDynamicIndex {
                absolute: u64::MAX,
                insert_count: self.insert_count(),
                dropped: self.dropped,
            })
    }

    /// Entries oldest first with their absolute index (for tests and display).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, &[u8], &[u8])> {
        (self.dropped..)
            .zip(&self.entries)
            .map(|(i, (n, v))| (i, n.as_slice(), v.as_slice()))
    }
}
