//! Records held as their postcard encoding, in zstd-compressed blocks, and decoded when
//! read (issue 18).
//!
//! The TUI keeps every finished connection and HTTP exchange, and the per-packet table
//! every packet's application notes, for the whole session (the detail view, the filters
//! and the story read them), but reads only a few at a time once the tables are built.
//! Whole, a connection record takes ~620 bytes and an exchange ~960 with its strings;
//! encoded (varints, no padding, strings inline) ~260 and ~150. Records of one list look
//! alike (the same fields, addresses, host names, header names), so blocks of them
//! compress several times over again: on a 20 M-packet capture with 2.1 M connections
//! the encodings alone were ~1 GB.
//!
//! Records are appended, each as its length and its encoding, to an open block; when
//! the open block reaches [`BLOCK`] bytes it is compressed (one zstd frame) and sealed.
//! A read decodes the record's block (the last few blocks read are kept decoded, so
//! reads in or near order decompress each block once); a walk ([`Packed::iter`])
//! decodes one block after another. Nothing is kept per record: a block's records are
//! found by walking their lengths.
//!
//! The encoding is serde's derive over the records' own types, so decoding gives back a
//! record equal in every field to the one pushed, whatever it holds (TLS and QUIC
//! summaries, tunnels, anomalies): nothing is left out, and nothing a view shows can
//! change. The story's own packing (`flow::pack`, `story::pack`) is smaller still but
//! leaves such records whole.

use std::borrow::{Borrow, Cow};
use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::leb128::{read_len, write_len};

/// Bytes of encodings an open block gathers before it is compressed: big enough that
/// the records' repetitions compress (a connection is ~260 bytes encoded), small enough
/// that reading one record decompresses little (~10 µs).
const BLOCK: usize = 16 * 1024;

/// zstd's level: its fastest standard level; higher ones gain little on blocks this size
/// and cost the thread that seals them.
const LEVEL: i32 = 1;

/// Blocks kept decoded for [`Packed::get`]: a view reads the records of its rows, a
/// re-filter every record in an order close to the list's (exchanges by start time,
/// pushed as their connections end).
const RECENT_BLOCKS: usize = 8;

thread_local! {
    /// One compression context per thread (making one per block was ~4 % of the story
    /// thread's time in the story's own blocks, see the TUI's `story.rs`).
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { RefCell::new(None) };
    /// Where a record is encoded before its length is known.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A sealed block: where its compressed frame ends in [`Packed::sealed`], how many
/// records the blocks up to it hold, and its size decompressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Sealed {
    end: u64,
    records: u64,
    raw: u32,
}

/// A list of records of type `T`, each held encoded, in compressed blocks.
pub struct Packed<T> {
    /// The sealed blocks' zstd frames, back to back.
    sealed: Vec<u8>,
    blocks: Vec<Sealed>,
    /// The records after the last sealed block, uncompressed: each its length (LEB128)
    /// and its encoding.
    open: Vec<u8>,
    /// Records in all.
    len: usize,
    /// The blocks [`Packed::get`] decoded last, the latest last.
    recent: Mutex<Vec<(usize, Arc<Block>)>>,
    _t: PhantomData<fn() -> T>,
}

/// A block's bytes decoded, and where each of its records' encodings lies in them.
struct Block {
    bytes: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

impl Block {
    fn new(bytes: Vec<u8>) -> Block {
        let spans = spans(&bytes);
        Block { bytes, spans }
    }

    fn record(&self, k: usize) -> Option<&[u8]> {
        let &(s, e) = self.spans.get(k)?;
        self.bytes.get(s..e)
    }
}

/// Where each record's encoding lies in a block's bytes (stops at a length that does not
/// fit: a damaged block's later records read as missing).
fn spans(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let Some((n, used)) = bytes.get(at..).and_then(read_len) else {
            break;
        };
        let start = at + used;
        let Some(end) = start.checked_add(n).filter(|&e| e <= bytes.len()) else {
            break;
        };
        out.push((start, end));
        at = end;
    }
    out
}

impl<T> Default for Packed<T> {
    fn default() -> Self {
        Packed {
            sealed: Vec::new(),
            blocks: Vec::new(),
            open: Vec::new(),
            len: 0,
            recent: Mutex::default(),
            _t: PhantomData,
        }
    }
}

impl<T> Clone for Packed<T> {
    fn clone(&self) -> Self {
        Packed {
            sealed: self.sealed.clone(),
            blocks: self.blocks.clone(),
            open: self.open.clone(),
            len: self.len,
            recent: Mutex::default(),
            _t: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Packed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packed")
            .field("records", &self.len)
            .field("blocks", &self.blocks.len())
            .field("sealed", &self.sealed.len())
            .field("open", &self.open.len())
            .finish()
    }
}

impl<T> Packed<T> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Records in the sealed blocks (the open block's come after them).
    fn sealed_records(&self) -> usize {
        self.blocks.last().map_or(0, |b| b.records as usize)
    }

    /// The first record of sealed block `b`.
    fn first_of(&self, b: usize) -> usize {
        match b.checked_sub(1) {
            Some(p) => self.blocks.get(p).map_or(0, |s| s.records as usize),
            None => 0,
        }
    }

    /// Sealed block `b`'s bytes, decompressed (`None`: damaged).
    fn decompress(&self, b: usize) -> Option<Vec<u8>> {
        let s = self.blocks.get(b)?;
        let start = b.checked_sub(1).map_or(0, |p| self.blocks[p].end) as usize;
        let frame = self.sealed.get(start..usize::try_from(s.end).ok()?)?;
        let raw = s.raw as usize;
        let bytes = DECOMPRESSOR.with_borrow_mut(|d| {
            if d.is_none() {
                *d = zstd::bulk::Decompressor::new().ok();
            }
            d.as_mut()?.decompress(frame, raw).ok()
        })?;
        (bytes.len() == raw).then_some(bytes)
    }

    /// Sealed block `b`, decoded, from the recent ones when it is there.
    fn block(&self, b: usize) -> Option<Arc<Block>> {
        let lock = || self.recent.lock().unwrap_or_else(|e| e.into_inner());
        {
            let mut recent = lock();
            if let Some(at) = recent.iter().position(|(k, _)| *k == b) {
                let hit = recent.remove(at);
                let block = hit.1.clone();
                recent.push(hit);
                return Some(block);
            }
        }
        let block = Arc::new(Block::new(self.decompress(b)?));
        let mut recent = lock();
        if recent.len() >= RECENT_BLOCKS {
            recent.remove(0);
        }
        recent.push((b, block.clone()));
        Some(block)
    }

    /// The block holding record `i` as a walk reads it: its first record, its bytes and
    /// its records' spans (the open block is borrowed, a sealed one decompressed).
    fn load(&self, i: usize) -> Option<Loaded<'_>> {
        if i >= self.len {
            return None;
        }
        let sealed_n = self.sealed_records();
        if i >= sealed_n {
            return Some(Loaded {
                first: sealed_n,
                spans: spans(&self.open),
                bytes: Cow::Borrowed(&self.open),
            });
        }
        let b = self.blocks.partition_point(|s| s.records as usize <= i);
        let bytes = self.decompress(b)?;
        Some(Loaded {
            first: self.first_of(b),
            spans: spans(&bytes),
            bytes: Cow::Owned(bytes),
        })
    }

    /// Compresses the open block into a sealed one. When zstd cannot (it could not
    /// allocate) the records stay in the open block, where they read as well.
    fn seal(&mut self) {
        if self.open.is_empty() {
            return;
        }
        let Ok(raw) = u32::try_from(self.open.len()) else {
            return;
        };
        let frame = COMPRESSOR.with_borrow_mut(|z| {
            if z.is_none() {
                *z = zstd::bulk::Compressor::new(LEVEL).ok();
            }
            z.as_mut()?.compress(&self.open).ok()
        });
        let Some(frame) = frame else {
            return;
        };
        self.sealed.extend_from_slice(&frame);
        self.blocks.push(Sealed {
            end: self.sealed.len() as u64,
            records: self.len as u64,
            raw,
        });
        self.open.clear();
    }

    /// Appends one record's encoding as it is.
    fn push_encoded(&mut self, enc: &[u8]) {
        write_len(&mut self.open, enc.len());
        self.open.extend_from_slice(enc);
        self.len += 1;
        if self.open.len() >= BLOCK {
            self.seal();
        }
    }

    /// Appends every record of `more`, in order. Its sealed blocks are taken as they
    /// are (after sealing this list's open block), not decompressed and sealed again.
    pub fn append(&mut self, more: Packed<T>) {
        if more.blocks.is_empty() {
            self.open.extend_from_slice(&more.open);
            self.len += more.len;
            if self.open.len() >= BLOCK {
                self.seal();
            }
            return;
        }
        self.seal();
        if !self.open.is_empty() {
            // Not sealed (zstd could not allocate): the records one by one, in order.
            for i in 0..more.len {
                match more.load(i) {
                    Some(l) => match l.spans.get(i - l.first) {
                        Some(&(s, e)) => self.push_encoded(&l.bytes[s..e]),
                        None => self.push_encoded(&[]),
                    },
                    None => self.push_encoded(&[]),
                }
            }
            return;
        }
        let (bytes, records) = (self.sealed.len() as u64, self.len as u64);
        self.blocks.extend(more.blocks.iter().map(|s| Sealed {
            end: s.end + bytes,
            records: s.records + records,
            raw: s.raw,
        }));
        self.sealed.extend_from_slice(&more.sealed);
        self.open = more.open;
        self.len += more.len;
    }

    /// Gives back the room the lists grew into.
    pub fn shrink_to_fit(&mut self) {
        self.sealed.shrink_to_fit();
        self.blocks.shrink_to_fit();
        self.open.shrink_to_fit();
    }

    /// Bytes held (the blocks, their index and the open block).
    pub fn heap_bytes(&self) -> usize {
        self.sealed.capacity()
            + self.blocks.capacity() * std::mem::size_of::<Sealed>()
            + self.open.capacity()
    }
}

/// A block as a walk holds it (see [`Packed::load`]).
struct Loaded<'a> {
    first: usize,
    bytes: Cow<'a, [u8]>,
    spans: Vec<(usize, usize)>,
}

impl<T: Serialize + DeserializeOwned> Packed<T> {
    /// Appends `r` (a `T`, or what a `T` borrows as, such as a slice for a `Vec`: the
    /// encoding is the same). A record that cannot be encoded (none of the engine's:
    /// every field has a derived encoding) would be a bug; it is then held empty and
    /// reads as `None`, which the tests would catch, rather than panicking in the UI.
    pub fn push<Q: Serialize + ?Sized>(&mut self, r: &Q)
    where
        T: Borrow<Q>,
    {
        SCRATCH.with_borrow_mut(|buf| {
            buf.clear();
            if postcard::to_io(r, &mut *buf).is_err() {
                buf.clear();
            }
            self.push_encoded(buf);
        });
    }

    /// The record at `i`, decoded.
    pub fn get(&self, i: usize) -> Option<T> {
        if i >= self.len {
            return None;
        }
        let sealed_n = self.sealed_records();
        if i >= sealed_n {
            let &(s, e) = spans(&self.open).get(i - sealed_n)?;
            return postcard::from_bytes(self.open.get(s..e)?).ok();
        }
        let b = self.blocks.partition_point(|s| s.records as usize <= i);
        let block = self.block(b)?;
        postcard::from_bytes(block.record(i - self.first_of(b))?).ok()
    }

    /// Every record from `from` on, decoded in order (position `from + k` is the
    /// `k`-th: a record that would not decode ends the walk rather than shift them).
    pub fn iter_from(&self, from: usize) -> impl Iterator<Item = T> + '_ {
        Iter {
            p: self,
            next: from,
            cur: None,
        }
    }

    /// Every record, decoded in order.
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        self.iter_from(0)
    }
}

/// A walk over a [`Packed`], one block decoded at a time.
struct Iter<'a, T> {
    p: &'a Packed<T>,
    next: usize,
    cur: Option<Loaded<'a>>,
}

impl<T: DeserializeOwned> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        let i = self.next;
        let inside = |l: &Loaded<'_>| i >= l.first && i < l.first + l.spans.len();
        if !self.cur.as_ref().is_some_and(inside) {
            self.cur = self.p.load(i);
        }
        let r = self.cur.as_ref().and_then(|l| {
            let &(s, e) = l.spans.get(i.checked_sub(l.first)?)?;
            postcard::from_bytes(l.bytes.get(s..e)?).ok()
        });
        match r {
            Some(_) => self.next += 1,
            None => {
                // The walk ends here, for good.
                self.next = self.p.len;
                self.cur = None;
            }
        }
        r
    }
}

impl<T: Serialize + DeserializeOwned> FromIterator<T> for Packed<T> {
    fn from_iter<I: IntoIterator<Item = T>>(it: I) -> Self {
        let mut p = Packed::default();
        for r in it {
            p.push(&r);
        }
        p
    }
}

/// Saved (the persisted index) as the blocks as they are, their index, the open block
/// and the count: loading is a few copies, not a decode of every record.
impl<T> Serialize for Packed<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (
            Bytes(&self.sealed),
            &self.blocks,
            Bytes(&self.open),
            self.len as u64,
        )
            .serialize(s)
    }
}

impl<'de, T> Deserialize<'de> for Packed<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (ByteBuf(sealed), blocks, ByteBuf(open), len) =
            <(ByteBuf, Vec<Sealed>, ByteBuf, u64)>::deserialize(d)?;
        let in_order = blocks
            .windows(2)
            .all(|w| w[0].end <= w[1].end && w[0].records <= w[1].records);
        let sealed_n = blocks.last().map_or(0, |b| b.records);
        let fits = in_order
            && blocks.last().map_or(0, |b| b.end) == sealed.len() as u64
            && sealed_n.checked_add(spans(&open).len() as u64) == Some(len);
        let len = usize::try_from(len).ok().filter(|_| fits);
        let Some(len) = len else {
            return Err(serde::de::Error::custom("record blocks out of order"));
        };
        Ok(Packed {
            sealed,
            blocks,
            open,
            len,
            recent: Mutex::default(),
            _t: PhantomData,
        })
    }
}

/// Bytes serialized as one byte string (postcard: a length and the bytes), not as a
/// sequence of numbers.
struct Bytes<'a>(&'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

struct ByteBuf(Vec<u8>);

impl<'de> Deserialize<'de> for ByteBuf {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ByteBuf;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v))
            }
        }
        d.deserialize_byte_buf(V)
    }
}

#[cfg(test)]
mod tests;
