//! The QPACK decoder of one direction of an HTTP/3 connection (RFC 9204 §2.2): encoder
//! stream instructions (§4.3) applied to the dynamic table, field sections (§4.5)
//! decoded against it, and sections that refer to entries not yet received held as
//! blocked streams (§2.1.2) until the encoder stream catches up.

use super::static_table;
use super::table::{DynamicTable, ENTRY_OVERHEAD};
use super::wire::Reader;
use super::{
    Decoded, Field, FieldSection, QpackError, MAX_BLOCKED_BYTES, MAX_FIELDS,
    MAX_FIELD_SECTION_SIZE, MAX_TABLE_CAPACITY,
};

/// A field section waiting for the encoder stream (§2.1.2).
#[derive(Debug)]
struct BlockedSection {
    stream_id: u64,
    required_insert_count: u64,
    base: u64,
    /// The field lines after the prefix.
    lines: Vec<u8>,
}

/// A field section's decoded prefix (§4.5.1).
#[derive(Clone, Copy, Debug)]
struct Prefix {
    required_insert_count: u64,
    base: u64,
}

/// Stateful QPACK decoder: feed it the peer's encoder stream with
/// [`on_encoder_bytes`](Self::on_encoder_bytes) and each HEADERS frame's payload with
/// [`decode`](Self::decode). Sans-IO and passive: it computes the decoder-stream
/// instructions a real decoder would send, but sends nothing.
#[derive(Debug)]
pub struct QpackDecoder {
    table: DynamicTable,
    max_blocked_streams: u64,
    max_field_section_size: u64,
    blocked: Vec<BlockedSection>,
    blocked_bytes: usize,
    /// Encoder-stream bytes of an instruction not yet complete.
    pending: Vec<u8>,
    /// The encoder-stream error that ended this decoder (a connection error,
    /// QPACK_ENCODER_STREAM_ERROR): every later encoder-stream call returns it.
    failed: Option<QpackError>,
}

impl QpackDecoder {
    /// A decoder that announced SETTINGS_QPACK_MAX_TABLE_CAPACITY = `max_table_capacity`
    /// and SETTINGS_QPACK_BLOCKED_STREAMS = `max_blocked_streams` (RFC 9114 §7.2.4.1;
    /// both 0 when absent). The capacity is clamped to [`MAX_TABLE_CAPACITY`]: a bigger
    /// announcement is accepted but a peer that really used it is refused (bounded
    /// memory beats decoding a hostile table).
    pub fn new(max_table_capacity: u64, max_blocked_streams: u64) -> Self {
        Self {
            table: DynamicTable::new(max_table_capacity.min(MAX_TABLE_CAPACITY)),
            max_blocked_streams,
            max_field_section_size: MAX_FIELD_SECTION_SIZE,
            blocked: Vec::new(),
            blocked_bytes: 0,
            pending: Vec::new(),
            failed: None,
        }
    }

    /// Lowers the decoded field section size limit (SETTINGS_MAX_FIELD_SECTION_SIZE,
    /// RFC 9114 §4.2.2: name + value + 32 per field); never above
    /// [`MAX_FIELD_SECTION_SIZE`].
    pub fn with_max_field_section_size(mut self, size: u64) -> Self {
        self.max_field_section_size = size.min(MAX_FIELD_SECTION_SIZE);
        self
    }

    /// Total insertions so far (§3.2.4 Insert Count).
    pub fn insert_count(&self) -> u64 {
        self.table.insert_count()
    }

    /// Current size of the dynamic table (§3.2.1).
    pub fn table_size(&self) -> u64 {
        self.table.size()
    }

    /// Current capacity set by the encoder (§3.2.3).
    pub fn table_capacity(&self) -> u64 {
        self.table.capacity()
    }

    /// Entries in the table now, oldest first, with their absolute indices.
    pub fn table_entries(&self) -> Vec<(u64, Vec<u8>, Vec<u8>)> {
        self.table
            .iter()
            .map(|(i, n, v)| (i, n.to_vec(), v.to_vec()))
            .collect()
    }

    /// Streams whose field section is blocked, in arrival order.
    pub fn blocked_streams(&self) -> Vec<u64> {
        self.blocked.iter().map(|b| b.stream_id).collect()
    }

    /// Forgets a blocked section of `stream_id` (the stream was reset or abandoned,
    /// §2.2.2.2: a decoder would send Stream Cancellation). True if one was held.
    pub fn cancel_stream(&mut self, stream_id: u64) -> bool {
        let before = self.blocked.len();
        let mut freed = 0;
        self.blocked.retain(|b| {
            let keep = b.stream_id != stream_id;
            if !keep {
                freed += b.lines.len();
            }
            keep
        });
        self.blocked_bytes -= freed;
        self.blocked.len() != before
    }

    /// Decodes the field section of a HEADERS frame on `stream_id` (§4.5). If its
    /// Required Insert Count is beyond the instructions received, it is held and
    /// [`Decoded::Blocked`] returned; [`on_encoder_bytes`](Self::on_encoder_bytes)
    /// returns it decoded later. Errors are QPACK_DECOMPRESSION_FAILED (§2.2.3, §4.5.1),
    /// or the earlier encoder-stream error when the section would wait forever.
    pub fn decode(&mut self, stream_id: u64, section: &[u8]) -> Result<Decoded, QpackError> {
        let mut r = Reader::new(section);
        let prefix = self.prefix(&mut r)?;
        if prefix.required_insert_count <= self.table.insert_count() {
            return self.lines(prefix, r.buf).map(Decoded::Done);
        }
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.blocked.len() as u64 >= self.max_blocked_streams {
            return Err(QpackError::TooManyBlockedStreams {
                max: self.max_blocked_streams,
            });
        }
        if self.blocked_bytes + r.buf.len() > MAX_BLOCKED_BYTES {
            return Err(QpackError::BlockedBytesExceeded {
                max: MAX_BLOCKED_BYTES,
            });
        }
        self.blocked_bytes += r.buf.len();
        self.blocked.push(BlockedSection {
            stream_id,
            required_insert_count: prefix.required_insert_count,
            base: prefix.base,
            lines: r.buf.to_vec(),
        });
        Ok(Decoded::Blocked {
            required_insert_count: prefix.required_insert_count,
        })
    }

    /// Applies the next bytes of the peer's encoder stream (§4.3; instructions may span
    /// calls) and returns the blocked sections that became decodable, in the order they
    /// were unblocked, each with its own result. An error in the stream itself is a
    /// connection error (QPACK_ENCODER_STREAM_ERROR): instructions before it stay
    /// applied, sections unblocked by them are lost with the connection, and every later
    /// call returns the same error.
    #[allow(clippy::type_complexity)]
    pub fn on_encoder_bytes(
        &mut self,
        bytes: &[u8],
    ) -> Result<Vec<(u64, Result<FieldSection, QpackError>)>, QpackError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let mut buf = std::mem::take(&mut self.pending);
        buf.extend_from_slice(bytes);
        let mut done = Vec::new();
        let mut used = 0;
        let result = loop {
            let Some(rest) = buf.get(used..).filter(|r| !r.is_empty()) else {
                break Ok(());
            };
            let mut r = Reader::new(rest);
            match self.instruction(&mut r) {
                Ok(inserted) => {
                    used = buf.len() - r.buf.len();
                    if inserted {
                        self.unblock(&mut done);
                    }
                }
                Err(QpackError::Truncated) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        if let Err(e) = result {
            self.failed = Some(e.clone());
            return Err(e);
        }
        buf.drain(..used);
        // A complete instruction is at most two strings of 4× the capacity each (the
        // worst Huffman expansion is 30 bits per octet) plus their integers.
        let bound = usize::try_from(self.table.max_capacity().saturating_mul(8))
            .unwrap_or(usize::MAX)
            .saturating_add(64);
        if buf.len() > bound {
            let e = QpackError::InstructionTooLong { len: buf.len() };
            self.failed = Some(e.clone());
            return Err(e);
        }
        self.pending = buf;
        Ok(done)
    }

    /// One encoder instruction (§4.3), applied only once complete. Ok(true) if it
    /// inserted an entry.
    fn instruction(&mut self, r: &mut Reader<'_>) -> Result<bool, QpackError> {
        let b = r.peek()?;
        let max = usize::try_from(self.table.capacity().saturating_mul(4)).unwrap_or(usize::MAX);
        if b & 0x80 != 0 {
            // §4.3.2 Insert with Name Reference: 1 T index(6) value(7).
            let is_static = b & 0x40 != 0;
            let index = r.integer(6)?;
            let value = r.string(7, max)?;
            let name = if is_static {
                static_table::get(index)
                    .ok_or(QpackError::BadStaticIndex { index })?
                    .0
                    .to_vec()
            } else {
                let abs = self.table.relative(index)?;
                self.table.get(abs)?.0.to_vec()
            };
            self.table.insert(name, value)?;
            Ok(true)
        } else if b & 0x40 != 0 {
            // §4.3.3 Insert with Literal Name: 01 H name(5) value(7).
            let name = r.string(5, max)?;
            let value = r.string(7, max)?;
            self.table.insert(name, value)?;
            Ok(true)
        } else if b & 0x20 != 0 {
            // §4.3.1 Set Dynamic Table Capacity: 001 capacity(5).
            let capacity = r.integer(5)?;
            self.table.set_capacity(capacity)?;
            Ok(false)
        } else {
            // §4.3.4 Duplicate: 000 index(5).
            let index = r.integer(5)?;
            let abs = self.table.relative(index)?;
            let (n, v) = self.table.get(abs)?;
            let (n, v) = (n.to_vec(), v.to_vec());
            self.table.insert(n, v)?;
            Ok(true)
        }
    }

    /// Decodes, in arrival order, every blocked section the table now satisfies.
    fn unblock(&mut self, done: &mut Vec<(u64, Result<FieldSection, QpackError>)>) {
        let count = self.table.insert_count();
        if !self
            .blocked
            .iter()
            .any(|b| b.required_insert_count <= count)
        {
            return;
        }
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.blocked)
            .into_iter()
            .partition(|b| b.required_insert_count <= count);
        self.blocked = waiting;
        for b in ready {
            self.blocked_bytes -= b.lines.len();
            let prefix = Prefix {
                required_insert_count: b.required_insert_count,
                base: b.base,
            };
            done.push((b.stream_id, self.lines(prefix, &b.lines)));
        }
    }

    /// §4.5.1: Required Insert Count (§4.5.1.1, decoded against the inserts received
    /// so far) and Base (§4.5.1.2).
    fn prefix(&self, r: &mut Reader<'_>) -> Result<Prefix, QpackError> {
        let encoded = r.integer(8)?;
        let ric = decode_required_insert_count(
            encoded,
            self.table.max_capacity(),
            self.table.insert_count(),
        )?;
        let sign = r.peek()? & 0x80 != 0;
        let delta = r.integer(7)?;
        let base = if sign {
            // Base = RIC - DeltaBase - 1; must not go below 0.
            ric.checked_sub(delta)
                .and_then(|b| b.checked_sub(1))
                .ok_or(QpackError::BadBase {
                    required_insert_count: ric,
                    delta,
                })?
        } else {
            ric.checked_add(delta).ok_or(QpackError::BadBase {
                required_insert_count: ric,
                delta,
            })?
        };
        Ok(Prefix {
            required_insert_count: ric,
            base,
        })
    }

    /// The dynamic entry of absolute index `abs`, which must be below the section's
    /// Required Insert Count and still in the table (§2.2.3).
    fn dynamic(&self, prefix: Prefix, abs: Option<u64>) -> Result<(&[u8], &[u8]), QpackError> {
        let ric = prefix.required_insert_count;
        match abs {
            Some(a) if a < ric => self.table.get(a),
            _ => Err(QpackError::BeyondRequiredInsertCount {
                base: prefix.base,
                required_insert_count: ric,
            }),
        }
    }

    /// The field lines of a section whose prefix is `prefix` (§4.5.2–§4.5.6).
    fn lines(&self, prefix: Prefix, lines: &[u8]) -> Result<FieldSection, QpackError> {
        let mut r = Reader::new(lines);
        let base = prefix.base;
        let mut fields = Vec::new();
        let mut size: u64 = 0;
        // Strings are bounded by the section's bytes (a longer one is Truncated); the
        // decoded size is checked per field.
        let max = usize::MAX;
        while !r.is_empty() {
            let b = r.peek()?;
            let field = if b & 0x80 != 0 {
                // §4.5.2 Indexed Field Line: 1 T index(6).
                let index = r.integer(6)?;
                let (n, v) = if b & 0x40 != 0 {
                    static_table::get(index).ok_or(QpackError::BadStaticIndex { index })?
                } else {
                    self.dynamic(
                        prefix,
                        base.checked_sub(index).and_then(|x| x.checked_sub(1)),
                    )?
                };
                Field::new(n.to_vec(), v.to_vec(), false)
            } else if b & 0x40 != 0 {
                // §4.5.4 Literal Field Line with Name Reference: 01 N T index(4) value(7).
                let never = b & 0x20 != 0;
                let index = r.integer(4)?;
                let name = if b & 0x10 != 0 {
                    static_table::get(index)
                        .ok_or(QpackError::BadStaticIndex { index })?
                        .0
                } else {
                    self.dynamic(
                        prefix,
                        base.checked_sub(index).and_then(|x| x.checked_sub(1)),
                    )?
                    .0
                }
                .to_vec();
                Field::new(name, r.string(7, max)?, never)
            } else if b & 0x20 != 0 {
                // §4.5.6 Literal Field Line with Literal Name: 001 N H name(3) value(7).
                let never = b & 0x10 != 0;
                let name = r.string(3, max)?;
                Field::new(name, r.string(7, max)?, never)
            } else if b & 0x10 != 0 {
                // §4.5.3 Indexed Field Line with Post-Base Index: 0001 index(4).
                let index = r.integer(4)?;
                let (n, v) = self.dynamic(prefix, base.checked_add(index))?;
                Field::new(n.to_vec(), v.to_vec(), false)
            } else {
                // §4.5.5 Literal Field Line with Post-Base Name Reference:
                // 0000 N index(3) value(7).
                let never = b & 0x08 != 0;
                let index = r.integer(3)?;
                let name = self.dynamic(prefix, base.checked_add(index))?.0.to_vec();
                Field::new(name, r.string(7, max)?, never)
            };
            size = size
                .saturating_add(field.name.len() as u64 + field.value.len() as u64)
                .saturating_add(ENTRY_OVERHEAD);
            if size > self.max_field_section_size {
                return Err(QpackError::FieldSectionTooLarge {
                    max: self.max_field_section_size,
                });
            }
            if fields.len() >= MAX_FIELDS {
                return Err(QpackError::TooManyFields { max: MAX_FIELDS });
            }
            fields.push(field);
        }
        Ok(FieldSection {
            fields,
            required_insert_count: prefix.required_insert_count,
            base,
        })
    }
}

/// §4.5.1.1: the Required Insert Count from its encoding modulo 2 × MaxEntries, given
/// the decoder's maximum capacity and the inserts received so far.
pub(crate) fn decode_required_insert_count(
    encoded: u64,
    max_table_capacity: u64,
    total_inserts: u64,
) -> Result<u64, QpackError> {
    if encoded == 0 {
        return Ok(0);
    }
    let bad = QpackError::BadRequiredInsertCount { encoded };
    let max_entries = max_table_capacity / 32;
    let full_range = 2 * max_entries;
    if encoded > full_range {
        return Err(bad);
    }
    let max_value = total_inserts + max_entries;
    let max_wrapped = max_value / full_range * full_range;
    let mut ric = max_wrapped + encoded - 1;
    if ric > max_value {
        if ric <= full_range {
            return Err(bad);
        }
        ric -= full_range;
    }
    if ric == 0 {
        return Err(bad);
    }
    Ok(ric)
}
