//! QPACK field compression for HTTP/3 (RFC 9204), decoding side: wiretale's own decoder,
//! sans-IO, bounded and panic-free.
//!
//! * [`QpackDecoder`] (`decoder`): one per direction of a connection. The peer's
//!   encoder stream (§4.3: Set Dynamic Table Capacity, Insert with Name Reference,
//!   Insert with Literal Name, Duplicate) feeds the dynamic table (§3.2: absolute
//!   indexing, eviction, the capacity limit of SETTINGS_QPACK_MAX_TABLE_CAPACITY);
//!   field sections (§4.5: Required Insert Count §4.5.1.1, Base §4.5.1.2, the five field
//!   line representations §4.5.2–§4.5.6) decode against it; a section that needs
//!   entries not yet received is held as a blocked stream (§2.1.2, at most
//!   SETTINGS_QPACK_BLOCKED_STREAMS) and returned by
//!   [`QpackDecoder::on_encoder_bytes`] once they arrive.
//! * [`DecoderStreamParser`]: the other side's decoder stream (§4.4: Section
//!   Acknowledgment, Stream Cancellation, Insert Count Increment), for completeness of a
//!   passive view; this decoder never sends one.
//! * `static_table`: Appendix A (99 entries, from 0). `wire`: prefixed integers and
//!   string literals (§4.1); Huffman strings use HPACK's decoder
//!   (`proto::http2::hpack::huffman`, RFC 7541 Appendix B, the same code).
//!
//! Why our own: h3's QPACK is private, quiche's has no dynamic table, and `ls-qpack`
//! binds a C library (PITFALLS.md).
//!
//! Bounds against hostile peers: table capacity ≤ [`MAX_TABLE_CAPACITY`] whatever was
//! announced; decoded section ≤ [`MAX_FIELD_SECTION_SIZE`] and [`MAX_FIELDS`] fields;
//! blocked sections hold ≤ [`MAX_BLOCKED_BYTES`] of encoded bytes in all; integers ≤ 62
//! bits; an incomplete encoder instruction longer than any complete one could be is an
//! error. Every failure is a [`QpackError`], never a panic.
//!
//! Leniency: §2.2.3 lets a decoder reject a Required Insert Count larger than the section
//! needs; a passive analyzer gains nothing by refusing it, so it is accepted.

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod decoder;
mod static_table;
mod table;
mod wire;

#[cfg(test)]
mod tests;

use std::fmt;

pub use decoder::QpackDecoder;

/// Largest dynamic table capacity honoured (1 MiB; browsers announce 64 KiB or less).
pub const MAX_TABLE_CAPACITY: u64 = 1 << 20;
/// Largest decoded field section (sum of name + value + 32 per field, RFC 9114 §4.2.2).
pub const MAX_FIELD_SECTION_SIZE: u64 = 256 * 1024;
/// Most fields in one section.
pub const MAX_FIELDS: usize = 4096;
/// Most encoded bytes held for all blocked sections together.
pub const MAX_BLOCKED_BYTES: usize = 1 << 20;

/// HTTP/3 error code for a field section that cannot be decoded (§6).
pub const QPACK_DECOMPRESSION_FAILED: u64 = 0x200;
/// HTTP/3 error code for a bad encoder stream (§6).
pub const QPACK_ENCODER_STREAM_ERROR: u64 = 0x201;
/// HTTP/3 error code for a bad decoder stream (§6).
pub const QPACK_DECODER_STREAM_ERROR: u64 = 0x202;

/// One decoded field line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// Raw name bytes (from the wire: escape before display).
    pub name: Vec<u8>,
    /// Raw value bytes (from the wire: escape before display).
    pub value: Vec<u8>,
    /// The N bit of a literal (§4.5.4–§4.5.6): intermediaries must not index it.
    pub never_indexed: bool,
}

impl Field {
    fn new(name: Vec<u8>, value: Vec<u8>, never_indexed: bool) -> Self {
        Self {
            name,
            value,
            never_indexed,
        }
    }
}

/// A decoded field section (one HEADERS frame).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldSection {
    /// Fields in order.
    pub fields: Vec<Field>,
    /// Its Required Insert Count (§4.5.1.1); non-zero means it used the dynamic table,
    /// and a decoder would acknowledge it (§4.4.1).
    pub required_insert_count: u64,
    /// Its Base (§4.5.1.2).
    pub base: u64,
}

impl FieldSection {
    /// (name, value) pairs, for tests and simple callers.
    pub fn pairs(&self) -> Vec<(&[u8], &[u8])> {
        self.fields
            .iter()
            .map(|f| (f.name.as_slice(), f.value.as_slice()))
            .collect()
    }
}

/// What [`QpackDecoder::decode`] made of a section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// Decoded now.
    Done(FieldSection),
    /// Held until the table has `required_insert_count` insertions (§2.1.2).
    Blocked {
        /// The section's Required Insert Count.
        required_insert_count: u64,
    },
}

/// Why QPACK input is invalid. Field-section errors are QPACK_DECOMPRESSION_FAILED,
/// encoder-stream errors QPACK_ENCODER_STREAM_ERROR, decoder-stream errors
/// QPACK_DECODER_STREAM_ERROR (§6); all are connection errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QpackError {
    /// The bytes end inside an integer, string or section prefix.
    Truncated,
    /// An integer beyond 62 bits (§4.1.1).
    IntegerOverflow,
    /// A string literal longer than this context allows.
    StringTooLong {
        /// Its encoded length.
        len: u64,
        /// The bound.
        max: usize,
    },
    /// A Huffman-coded string with EOS or bad padding (RFC 7541 §5.2).
    Huffman,
    /// A static index past Appendix A's 99 entries.
    BadStaticIndex {
        /// The index.
        index: u64,
    },
    /// A dynamic reference to an entry evicted or never inserted (§2.2.3, §4.3).
    BadDynamicIndex {
        /// The absolute index computed (u64::MAX when the relative index underflows).
        absolute: u64,
        /// The table's Insert Count.
        insert_count: u64,
        /// Entries evicted so far.
        dropped: u64,
    },
    /// A field line referring at or past the section's Required Insert Count (§2.2.3).
    BeyondRequiredInsertCount {
        /// The section's Base.
        base: u64,
        /// The section's Required Insert Count.
        required_insert_count: u64,
    },
    /// Set Dynamic Table Capacity above the decoder's maximum (§4.3.1).
    CapacityExceeded {
        /// Requested capacity.
        requested: u64,
        /// The maximum.
        max: u64,
    },
    /// An insertion larger than the table's capacity (§3.2.2).
    EntryTooLarge {
        /// The entry's size.
        size: u64,
        /// The capacity.
        capacity: u64,
    },
    /// An encoded Required Insert Count no conformant encoder produces (§4.5.1.1).
    BadRequiredInsertCount {
        /// The encoded value.
        encoded: u64,
    },
    /// A Base below zero (§4.5.1.2).
    BadBase {
        /// The Required Insert Count.
        required_insert_count: u64,
        /// The Delta Base.
        delta: u64,
    },
    /// More blocked streams than SETTINGS_QPACK_BLOCKED_STREAMS (§2.1.2).
    TooManyBlockedStreams {
        /// The setting.
        max: u64,
    },
    /// Blocked sections would hold more than [`MAX_BLOCKED_BYTES`].
    BlockedBytesExceeded {
        /// The bound.
        max: usize,
    },
    /// A decoded section past the field section size limit.
    FieldSectionTooLarge {
        /// The limit.
        max: u64,
    },
    /// More than [`MAX_FIELDS`] fields in one section.
    TooManyFields {
        /// The limit.
        max: usize,
    },
    /// An incomplete stream instruction longer than any complete one could be.
    InstructionTooLong {
        /// Bytes held.
        len: usize,
    },
    /// Insert Count Increment of 0 on the decoder stream (§4.4.3).
    ZeroInsertCountIncrement,
}

impl fmt::Display for QpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => write!(f, "QPACK input truncated"),
            Self::IntegerOverflow => write!(f, "QPACK integer beyond 62 bits"),
            Self::StringTooLong { len, max } => {
                write!(f, "QPACK string of {len} bytes (at most {max})")
            }
            Self::Huffman => write!(f, "invalid Huffman-coded string"),
            Self::BadStaticIndex { index } => write!(f, "QPACK static index {index} (0-98)"),
            Self::BadDynamicIndex {
                absolute,
                insert_count,
                dropped,
            } => write!(
                f,
                "QPACK dynamic index {absolute} not in table (entries {dropped}..{insert_count})"
            ),
            Self::BeyondRequiredInsertCount {
                base,
                required_insert_count,
            } => write!(
                f,
                "QPACK reference past Required Insert Count {required_insert_count} (base {base})"
            ),
            Self::CapacityExceeded { requested, max } => {
                write!(f, "QPACK table capacity {requested} above maximum {max}")
            }
            Self::EntryTooLarge { size, capacity } => {
                write!(f, "QPACK entry of {size} bytes above capacity {capacity}")
            }
            Self::BadRequiredInsertCount { encoded } => {
                write!(f, "invalid encoded Required Insert Count {encoded}")
            }
            Self::BadBase {
                required_insert_count,
                delta,
            } => write!(
                f,
                "QPACK Base below 0 (Required Insert Count {required_insert_count}, delta {delta})"
            ),
            Self::TooManyBlockedStreams { max } => {
                write!(f, "more than {max} QPACK blocked streams")
            }
            Self::BlockedBytesExceeded { max } => {
                write!(f, "QPACK blocked sections above {max} bytes")
            }
            Self::FieldSectionTooLarge { max } => {
                write!(f, "field section above {max} bytes")
            }
            Self::TooManyFields { max } => write!(f, "more than {max} fields in a section"),
            Self::InstructionTooLong { len } => {
                write!(f, "QPACK instruction of {len} bytes still incomplete")
            }
            Self::ZeroInsertCountIncrement => write!(f, "QPACK Insert Count Increment of 0"),
        }
    }
}

impl std::error::Error for QpackError {}

/// An instruction on a decoder stream (§4.4), sent by a decoder to its peer's encoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecoderInstruction {
    /// §4.4.1: the section on this stream was decoded.
    SectionAcknowledgment {
        /// Stream id.
        stream_id: u64,
    },
    /// §4.4.2: the stream was abandoned.
    StreamCancellation {
        /// Stream id.
        stream_id: u64,
    },
    /// §4.4.3: this many more insertions were received.
    InsertCountIncrement {
        /// The increment (never 0).
        increment: u64,
    },
}

/// Parses a decoder stream (§4.4) whose instructions may span calls.
#[derive(Debug, Default)]
pub struct DecoderStreamParser {
    pending: Vec<u8>,
}

impl DecoderStreamParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the complete instructions in the bytes so far; keeps an incomplete tail.
    /// Errors are QPACK_DECODER_STREAM_ERROR.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<DecoderInstruction>, QpackError> {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut used = 0;
        while let Some(rest) = self.pending.get(used..).filter(|r| !r.is_empty()) {
            let mut r = wire::Reader::new(rest);
            let b = r.peek()?;
            let ins = if b & 0x80 != 0 {
                r.integer(7)
                    .map(|stream_id| DecoderInstruction::SectionAcknowledgment { stream_id })
            } else if b & 0x40 != 0 {
                r.integer(6)
                    .map(|stream_id| DecoderInstruction::StreamCancellation { stream_id })
            } else {
                r.integer(6)
                    .map(|increment| DecoderInstruction::InsertCountIncrement { increment })
            };
            match ins {
                Ok(DecoderInstruction::InsertCountIncrement { increment: 0 }) => {
                    return Err(QpackError::ZeroInsertCountIncrement)
                }
                Ok(i) => {
                    out.push(i);
                    used = self.pending.len() - r.buf.len();
                }
                Err(QpackError::Truncated) => break,
                Err(e) => return Err(e),
            }
        }
        self.pending.drain(..used);
        // An integer is at most 10 octets; anything longer pending was an error above.
        Ok(out)
    }
}
