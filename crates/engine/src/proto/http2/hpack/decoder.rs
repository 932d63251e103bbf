//! Field-block decoding (RFC 7541 §3, §5, §6) and the dynamic table (§4), bounded.
//!
//! Every read checks the block's length first; integers are limited to 4 continuation
//! octets; the
//! table's maximum never exceeds what [`super::HpackDecoder`] allows (at most
//! [`super::MAX_TABLE_SIZE`]), so neither input nor settings make it panic or grow
//! without bound.

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::VecDeque;
use std::fmt;

use super::huffman::{self, HuffmanError};
use super::static_table::STATIC_TABLE;

/// Entry overhead counted by the table size (RFC 7541 §4.1).
const ENTRY_OVERHEAD: usize = 32;

/// Why a block did not decode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// The block ended inside a representation.
    Truncated,
    /// An integer of more than 4 continuation octets (§5.1: an implementation limit).
    IntegerOverflow,
    /// Index 0 (§6.1).
    IndexZero,
    /// An index past the static and dynamic tables (§2.3.3).
    IndexPastTable {
        index: u64,
        len: usize,
    },
    /// A string longer than the rest of the block (§5.2).
    StringPastBlock {
        len: u64,
        left: usize,
    },
    Huffman(HuffmanError),
    /// A dynamic table size update after a field representation (§4.2).
    SizeUpdateNotFirst,
    /// A size update above the allowed maximum (§6.3).
    SizeUpdateTooLarge {
        size: u64,
        allowed: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str("block ends inside a field (RFC 7541 §6)"),
            DecodeError::IntegerOverflow => f.write_str("integer too large (RFC 7541 §5.1)"),
            DecodeError::IndexZero => f.write_str("index 0 (RFC 7541 §6.1)"),
            DecodeError::IndexPastTable { index, len } => write!(
                f,
                "index {index} past the tables ({len} entries) (RFC 7541 §2.3.3)"
            ),
            DecodeError::StringPastBlock { len, left } => write!(
                f,
                "string of {len} bytes with {left} left in the block (RFC 7541 §5.2)"
            ),
            DecodeError::Huffman(HuffmanError::Eos) => {
                f.write_str("Huffman EOS inside a string (RFC 7541 §5.2)")
            }
            DecodeError::Huffman(HuffmanError::Padding) => f.write_str(
                "Huffman padding longer than 7 bits or not the EOS prefix (RFC 7541 §5.2)",
            ),
            DecodeError::SizeUpdateNotFirst => {
                f.write_str("dynamic table size update after a field (RFC 7541 §4.2)")
            }
            DecodeError::SizeUpdateTooLarge { size, allowed } => write!(
                f,
                "dynamic table size update to {size}, above the limit {allowed} (RFC 7541 §6.3)"
            ),
        }
    }
}

/// One dynamic table entry.
#[derive(Clone, Debug)]
struct Entry {
    name: Vec<u8>,
    value: Vec<u8>,
}

/// The dynamic table (RFC 7541 §2.3.2, §4): newest entry first.
#[derive(Debug, Default)]
pub(crate) struct DynamicTable {
    entries: VecDeque<Entry>,
    /// Sum of the entries' sizes (§4.1).
    size: usize,
    /// The maximum set by the last size update or setting (§4.2).
    max: usize,
}

impl DynamicTable {
    pub(crate) fn new(max: usize) -> Self {
        DynamicTable {
            entries: VecDeque::new(),
            size: 0,
            max,
        }
    }

    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Sets the maximum, evicting the oldest entries until the rest fit (§4.3).
    pub(crate) fn set_max(&mut self, max: usize) {
        self.max = max;
        self.evict_to(max);
    }

    fn evict_to(&mut self, limit: usize) {
        while self.size > limit {
            match self.entries.pop_back() {
                Some(e) => self.size -= entry_size(&e.name, &e.value),
                None => {
                    self.size = 0;
                    break;
                }
            }
        }
    }

    /// Adds an entry (§4.4): evicts until it fits; one larger than the maximum empties
    /// the table and is not added (not an error).
    fn insert(&mut self, name: Vec<u8>, value: Vec<u8>) {
        let size = entry_size(&name, &value);
        if size > self.max {
            self.entries.clear();
            self.size = 0;
            return;
        }
        self.evict_to(self.max - size);
        self.size += size;
        self.entries.push_front(Entry { name, value });
    }

    /// The entry at an index of the combined address space (§2.3.3): 1–61 static,
    /// 62 and up dynamic.
    fn get(&self, index: u64) -> Result<(&[u8], &[u8]), DecodeError> {
        if index == 0 {
            return Err(DecodeError::IndexZero);
        }
        let past = || DecodeError::IndexPastTable {
            index,
            len: STATIC_TABLE.len() + self.entries.len(),
        };
        let i = usize::try_from(index - 1).map_err(|_| past())?;
        if let Some(&(n, v)) = STATIC_TABLE.get(i) {
            return Ok((n, v));
        }
        self.entries
            .get(i - STATIC_TABLE.len())
            .map(|e| (e.name.as_slice(), e.value.as_slice()))
            .ok_or_else(past)
    }

    #[cfg(test)]
    pub(crate) fn size(&self) -> usize {
        self.size
    }
}

fn entry_size(name: &[u8], value: &[u8]) -> usize {
    name.len() + value.len() + ENTRY_OVERHEAD
}

/// A cursor over one block.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// An integer with an `n`-bit prefix (§5.1), the first octet's high bits ignored.
    fn integer(&mut self, n: u32) -> Result<u64, DecodeError> {
        let (&first, rest) = self.buf.split_first().ok_or(DecodeError::Truncated)?;
        self.buf = rest;
        let mask = (1u8 << n) - 1;
        let mut value = u64::from(first & mask);
        if value < u64::from(mask) {
            return Ok(value);
        }
        // At most 4 continuation octets (28 bits, as loona-hpack): plenty for any length,
        // index or size a 64 KiB block can use, and the loop is bounded.
        for shift in [0u32, 7, 14, 21] {
            let (&b, rest) = self.buf.split_first().ok_or(DecodeError::Truncated)?;
            self.buf = rest;
            value += u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::IntegerOverflow)
    }

    /// A string literal (§5.2), Huffman-decoded if its H bit is set.
    fn string(&mut self) -> Result<Vec<u8>, DecodeError> {
        let huffman = self.buf.first().is_some_and(|b| b & 0x80 != 0);
        let len = self.integer(7)?;
        let left = self.buf.len();
        let n = usize::try_from(len)
            .ok()
            .filter(|&n| n <= left)
            .ok_or(DecodeError::StringPastBlock { len, left })?;
        let (s, rest) = self.buf.split_at(n);
        self.buf = rest;
        if huffman {
            let mut out = Vec::new();
            huffman::decode(s, &mut out).map_err(DecodeError::Huffman)?;
            Ok(out)
        } else {
            Ok(s.to_vec())
        }
    }
}

/// Decodes `block` (§3.2), calling `emit` with each field in order, and updating
/// `table`. A size update may ask for at most `allowed`. On error, fields before it
/// were emitted and the table holds the block's insertions before it.
pub(crate) fn decode_block(
    table: &mut DynamicTable,
    allowed: usize,
    block: &[u8],
    mut emit: impl FnMut(&[u8], &[u8]),
) -> Result<(), DecodeError> {
    let mut r = Reader { buf: block };
    // §4.2: size updates only before the first field representation.
    let mut at_start = true;
    while let Some(&b) = r.buf.first() {
        if b & 0x80 != 0 {
            // §6.1 Indexed Header Field.
            let index = r.integer(7)?;
            let (n, v) = table.get(index)?;
            emit(n, v);
        } else if b & 0xc0 == 0x40 {
            // §6.2.1 Literal with Incremental Indexing: enters the table even when the
            // list is past the caller's limits, so the table stays in step.
            let index = r.integer(6)?;
            let name = if index == 0 {
                r.string()?
            } else {
                // Copied before the insertion, which may evict it (§4.4).
                table.get(index)?.0.to_vec()
            };
            let value = r.string()?;
            emit(&name, &value);
            table.insert(name, value);
        } else if b & 0xe0 == 0x20 {
            // §6.3 Dynamic Table Size Update.
            if !at_start {
                return Err(DecodeError::SizeUpdateNotFirst);
            }
            let size = r.integer(5)?;
            match usize::try_from(size) {
                Ok(s) if s <= allowed => table.set_max(s),
                _ => return Err(DecodeError::SizeUpdateTooLarge { size, allowed }),
            }
            continue;
        } else {
            // §6.2.2 without indexing (0000), §6.2.3 never indexed (0001).
            let index = r.integer(4)?;
            if index == 0 {
                let name = r.string()?;
                let value = r.string()?;
                emit(&name, &value);
            } else {
                let (n, _) = table.get(index)?;
                let value = r.string()?;
                emit(n, &value);
            }
        }
        at_start = false;
    }
    Ok(())
}
