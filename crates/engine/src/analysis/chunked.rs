//! Finished records held in chunks of bounded size, so that a burst of them (one sweep
//! of the flow table finishing 20,000–50,000 lingering connections at once) never
//! lives in one multi-megabyte block.
//!
//! Why the block size matters and not only the bytes: glibc serves a block over its
//! mmap threshold (128 KiB at the start) with its own mapping, and when such a block
//! is freed it raises the threshold to that block's size (up to 32 MiB). From then on
//! every transient block below it comes from the main heap, which is only given back
//! from its top: the heap fills with holes and the peak RSS grows with the file
//! (docs/performance.md, "what grew with the file"). A `Vec` of 600-byte connection
//! records that doubles through a burst ends at 21 MB (manyflows.pcap, heaptrack); in
//! chunks of at most [`CHUNK_BYTES`] every block stays under the threshold and the
//! chunks of one drain are reused, size for size, by the next.

/// Bytes of records per chunk: half of glibc's starting mmap threshold (128 KiB), so a
/// chunk is never mapped on its own.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// Records in the order they were pushed, in chunks of at most `per_chunk` each.
#[derive(Debug)]
pub struct Chunked<T> {
    /// Full chunks, oldest first.
    full: Vec<Vec<T>>,
    /// The chunk being filled (no room reserved until the first push).
    last: Vec<T>,
    per_chunk: usize,
    len: usize,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Self::with_chunk(Self::records_per_chunk())
    }
}

impl<T> Chunked<T> {
    /// How many records fit in [`CHUNK_BYTES`] (at least one).
    pub fn records_per_chunk() -> usize {
        (CHUNK_BYTES / std::mem::size_of::<T>().max(1)).max(1)
    }

    /// Chunks of `per_chunk` records (tests force tiny chunks with it).
    pub fn with_chunk(per_chunk: usize) -> Self {
        Chunked {
            full: Vec::new(),
            last: Vec::new(),
            per_chunk: per_chunk.max(1),
            len: 0,
        }
    }

    pub fn push(&mut self, v: T) {
        // Room for a chunk up front (a chunk larger than `CHUNK_BYTES`, which only a
        // test asks for, grows as a `Vec` does).
        let room = self.per_chunk.min(Self::records_per_chunk());
        if self.last.len() == self.per_chunk {
            let next = Vec::with_capacity(room);
            self.full.push(std::mem::replace(&mut self.last, next));
        } else if self.last.capacity() == 0 {
            self.last.reserve_exact(room);
        }
        self.last.push(v);
        self.len += 1;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Drops every record (the chunk being filled keeps its room).
    pub fn clear(&mut self) {
        self.full.clear();
        self.last.clear();
        self.len = 0;
    }

    /// Every record, as its chunks in order (the last may be part full). The room of
    /// the chunk being filled goes with it: the next push reserves a new one.
    pub fn take_chunks(&mut self) -> Vec<Vec<T>> {
        let mut out = std::mem::take(&mut self.full);
        if !self.last.is_empty() {
            out.push(std::mem::take(&mut self.last));
        }
        self.len = 0;
        out
    }

    /// Every record in one `Vec` (for consumers that want a slice): the chunk itself
    /// when there is one, else exactly their room, filled in order.
    pub fn take_all(&mut self) -> Vec<T> {
        let mut chunks = self.take_chunks();
        if chunks.len() <= 1 {
            return chunks.pop().unwrap_or_default();
        }
        let mut all = Vec::with_capacity(chunks.iter().map(Vec::len).sum());
        for c in chunks {
            all.extend(c);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tiny chunks and the default: the same records in the same order, whichever way
    /// they are taken, and no chunk over its bound.
    #[test]
    fn chunks_keep_the_order_and_their_bound() {
        for per in [1, 3, 7, 1000, usize::MAX] {
            let mut c = Chunked::with_chunk(per);
            for i in 0..20u32 {
                c.push(i);
            }
            assert_eq!(c.len(), 20);
            let chunks = c.take_chunks();
            assert!(chunks.iter().all(|k| !k.is_empty() && k.len() <= per));
            let flat: Vec<u32> = chunks.into_iter().flatten().collect();
            assert_eq!(flat, (0..20).collect::<Vec<_>>());
            assert!(c.is_empty());
            for i in 20..25u32 {
                c.push(i);
            }
            assert_eq!(c.take_all(), (20..25).collect::<Vec<_>>());
            assert!(c.take_all().is_empty() && c.take_chunks().is_empty());
        }
    }

    /// The default chunk of 600-byte records stays under [`CHUNK_BYTES`].
    #[test]
    fn a_default_chunk_fits_its_bytes() {
        let n = Chunked::<[u8; 600]>::records_per_chunk();
        assert!(n * 600 <= CHUNK_BYTES && (n + 1) * 600 > CHUNK_BYTES);
        assert_eq!(Chunked::<[u8; 1 << 20]>::records_per_chunk(), 1);
        let mut c = Chunked::<u8>::default();
        c.push(1);
        c.clear();
        assert!(c.is_empty() && c.take_all().is_empty());
    }
}
