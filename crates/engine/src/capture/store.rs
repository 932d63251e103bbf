//! The frame store: random access to a capture's frames by [`PacketId`].
//!
//! The file is memory-mapped (standard input and gzip are first spooled to an unlinked
//! temporary file, then mapped) and indexed once. The index keeps about 4 bytes a packet,
//! where its bytes start ([`PacketIndex`]); `meta(id)` and `frame(id)` re-read the
//! record or block header in front of them from the map, O(1). Packets whose header would
//! not give back the walker's entry (SPBs, which carry no timestamp, and anything odd)
//! keep their whole [`IndexEntry`]. Memory grows with the number of packets, not with
//! their bytes: 4 bytes a packet instead of the 32 of a whole entry.
//!
//! Indexing is incremental: [`FrameStore::index_more`] walks at most `budget` packets and
//! returns. A UI that wants rows while a big file is indexed keeps the store in an
//! `Arc<RwLock<FrameStore>>`, lets a background thread call `index_more` in slices of
//! e.g. 65,536 packets under the write lock (each slice takes a few milliseconds), and
//! reads `len()` / `frame(id)` for the already indexed prefix under the read lock.
//!
//! A file that is still being written (live capture's spill file) is opened with
//! [`FrameStore::open_growing`]: an incomplete record at the end then means "not yet",
//! not damage; [`FrameStore::refresh`] maps the bytes appended since, and
//! [`FrameStore::finish_growing`] makes the end final once the writer has stopped.

use std::collections::BTreeMap;
use std::io::{self, Read, Seek};
use std::path::Path;

use super::error::{CaptureError, ErrorKind};
use super::file::{is_gzip, map_file, open_file, Mapped};
use super::packet_index::{Located, PacketIndex};
use super::walk::{DecryptionSecrets, FileFormat, InterfaceInfo, SectionInfo, Step, Walker};
use super::{pcap, pcapng};
use super::{Frame, FrameMeta};
use crate::base::{Anomaly, LinkType, PacketId, Timestamp};

/// What the walker found about one packet: 28 bytes of data, 32 with alignment. The
/// store keeps only `offset` for most packets ([`PacketIndex`]) and re-reads the rest.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// Byte offset of the packet's first captured byte in the (decompressed) file.
    pub offset: u64,
    pub ts: Timestamp,
    pub caplen: u32,
    pub origlen: u32,
    /// Global interface index.
    pub iface: u32,
}

/// Result of one [`FrameStore::index_more`] call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexProgress {
    /// Packets added by this call.
    pub added: usize,
    /// Indexing has finished (end of file or an error, see [`FrameStore::error`]).
    pub done: bool,
}

/// What indexing a whole file found, apart from its bytes: saved by the TUI's index
/// cache so that opening the same file again maps it and skips the walk
/// ([`FrameStore::index_snapshot`], [`FrameStore::restore`]).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct StoreIndex {
    index: PacketIndex,
    comments: BTreeMap<u32, Vec<String>>,
    secrets: Vec<(PacketId, DecryptionSecrets)>,
    anomalies: BTreeMap<u32, Anomaly>,
    error: Option<CaptureError>,
    format: Option<FileFormat>,
    interfaces: Vec<InterfaceInfo>,
    sections: Vec<SectionInfo>,
    /// Bytes walked (the file's length unless damage stopped the walk).
    pos: usize,
}

impl StoreIndex {
    /// Packets in the index.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

/// Random-access frame store; see the module docs.
pub struct FrameStore {
    bytes: Mapped,
    /// The file, kept for [`FrameStore::refresh`] when it may still grow.
    growing: Option<std::fs::File>,
    walker: Walker,
    pos: usize,
    index: PacketIndex,
    /// Packet comments, keyed by packet id (rare, so a sparse map).
    comments: BTreeMap<u32, Vec<String>>,
    /// Decryption secrets (pcapng DSBs), each with the first packet it serves.
    secrets: Vec<(PacketId, DecryptionSecrets)>,
    /// Non-fatal oddities, keyed by packet id (rare).
    anomalies: BTreeMap<u32, Anomaly>,
    error: Option<CaptureError>,
    done: bool,
}

impl FrameStore {
    /// Opens a capture for random access without indexing it yet (call
    /// [`index_more`](Self::index_more) or [`index_all`](Self::index_all)). `-` reads
    /// standard input to its end first.
    pub fn open(path: &Path) -> Result<FrameStore, CaptureError> {
        if path.as_os_str() == "-" {
            return Self::spool(io::stdin().lock(), "standard input");
        }
        let file = open_file(path)?;
        if is_gzip(&file, path)? {
            return Self::spool(
                flate2::read::MultiGzDecoder::new(file),
                &path.display().to_string(),
            );
        }
        Ok(Self::from_mapped(map_file(&file, path)?))
    }

    /// Opens a plain (not gzip) capture file that another thread or process is still
    /// appending to; see the module docs.
    pub fn open_growing(path: &Path) -> Result<FrameStore, CaptureError> {
        let file = open_file(path)?;
        let mut s = Self::from_mapped(map_file(&file, path)?);
        s.growing = Some(file);
        Ok(s)
    }

    /// Maps bytes appended to a growing file since the last map (O(1) in the file size
    /// apart from the kernel's mapping work). Returns whether there were new bytes.
    pub fn refresh(&mut self) -> Result<bool, CaptureError> {
        let Some(file) = &self.growing else {
            return Ok(false);
        };
        let len = file
            .metadata()
            .map_err(|e| CaptureError::io("growing capture", &e))?
            .len();
        if len <= self.file_len() {
            return Ok(false);
        }
        self.bytes = map_file(file, Path::new("growing capture"))?;
        Ok(true)
    }

    /// The writer has stopped: from now on an incomplete record at the end is damage.
    pub fn finish_growing(&mut self) -> Result<(), CaptureError> {
        self.refresh()?;
        self.growing = None;
        Ok(())
    }

    /// Spools any reader (a pipe, a decompressor) to an unlinked temporary file and maps
    /// it, so the bytes live in the page cache rather than in our heap.
    pub fn spool(mut r: impl Read, what: &str) -> Result<FrameStore, CaptureError> {
        let mut tmp = tempfile::tempfile()
            .map_err(|e| CaptureError::io("creating a temporary spool file", &e))?;
        io::copy(&mut r, &mut tmp).map_err(|e| CaptureError::io(format!("reading {what}"), &e))?;
        tmp.rewind()
            .map_err(|e| CaptureError::io("spool file", &e))?;
        Ok(Self::from_mapped(map_file(&tmp, Path::new("spool file"))?))
    }

    /// A store over bytes in memory (tests, small inputs).
    pub fn from_bytes(bytes: Vec<u8>) -> FrameStore {
        Self::from_mapped(Mapped::Owned(bytes))
    }

    fn from_mapped(bytes: Mapped) -> FrameStore {
        FrameStore {
            bytes,
            growing: None,
            walker: Walker::new(),
            pos: 0,
            index: PacketIndex::default(),
            comments: BTreeMap::new(),
            secrets: Vec::new(),
            anomalies: BTreeMap::new(),
            error: None,
            done: false,
        }
    }

    /// The finished index, to be given back to [`FrameStore::restore`] over the same
    /// bytes; `None` until indexing is complete (or for a file still growing).
    pub fn index_snapshot(&self) -> Option<StoreIndex> {
        (self.done && self.growing.is_none()).then(|| StoreIndex {
            index: self.index.clone(),
            comments: self.comments.clone(),
            secrets: self.secrets.clone(),
            anomalies: self.anomalies.clone(),
            error: self.error.clone(),
            format: self.walker.format,
            interfaces: self.walker.interfaces.clone(),
            sections: self.walker.sections.clone(),
            pos: self.pos,
        })
    }

    /// Opens `path` with a complete index saved by [`FrameStore::index_snapshot`] from
    /// the same bytes, without walking it. The caller vouches that the file did not
    /// change (the TUI's cache keys by its identity and a hash of its ends): most of a
    /// packet's metadata is re-read from the file's headers. An index that is not whole
    /// or points past the file's end is refused all the same, and every access is
    /// bounds-checked, so a stale snapshot can never hand out bytes from outside the map.
    pub fn restore(path: &Path, saved: StoreIndex) -> Result<FrameStore, CaptureError> {
        let file = open_file(path)?;
        if is_gzip(&file, path)? {
            return Err(CaptureError::new(
                0,
                0,
                ErrorKind::Io {
                    context: path.display().to_string(),
                    message: "a saved index is for plain files, not gzip".into(),
                },
            ));
        }
        Self::restore_mapped(map_file(&file, path)?, saved)
    }

    /// [`FrameStore::restore`] over bytes in memory (tests).
    #[cfg(test)]
    pub(crate) fn restore_bytes(
        bytes: Vec<u8>,
        saved: StoreIndex,
    ) -> Result<FrameStore, CaptureError> {
        Self::restore_mapped(Mapped::Owned(bytes), saved)
    }

    fn restore_mapped(bytes: Mapped, saved: StoreIndex) -> Result<FrameStore, CaptureError> {
        let mut s = Self::from_mapped(bytes);
        let len = s.bytes.as_ref().len() as u64;
        if saved.pos as u64 > len || !saved.index.is_consistent(len) {
            return Err(CaptureError::new(
                saved.pos as u64,
                0,
                ErrorKind::Malformed {
                    what: "saved index",
                    detail: "it points past the end of the file".into(),
                },
            ));
        }
        s.walker.format = saved.format;
        s.walker.interfaces = saved.interfaces;
        s.walker.sections = saved.sections;
        s.walker.packets = saved.index.len() as u64;
        s.index = saved.index;
        s.comments = saved.comments;
        s.secrets = saved.secrets;
        s.anomalies = saved.anomalies;
        s.error = saved.error;
        s.pos = saved.pos;
        s.done = true;
        Ok(s)
    }

    /// Indexes up to `budget` more packets.
    pub fn index_more(&mut self, budget: usize) -> IndexProgress {
        let before = self.index.len();
        let all = self.bytes.as_ref();
        while !self.done && self.index.len() - before < budget {
            if self.index.len() >= u32::MAX as usize {
                self.error = Some(self.walker.err(
                    self.pos as u64,
                    ErrorKind::Malformed {
                        what: "capture",
                        detail: "more than 4294967295 packets".into(),
                    },
                ));
                self.done = true;
                break;
            }
            let buf = all.get(self.pos..).unwrap_or_default();
            let eof = self.growing.is_none();
            match self.walker.step(buf, self.pos as u64, eof) {
                Ok(Step::Skip(n)) => self.pos += n,
                Ok(Step::Packet(p)) => {
                    if !self.walker.comments.is_empty() {
                        self.comments.insert(
                            self.index.len() as u32,
                            std::mem::take(&mut self.walker.comments),
                        );
                    }
                    if let Some(a) = self.walker.anomaly.take() {
                        self.anomalies.insert(self.index.len() as u32, a);
                    }
                    if !self.walker.secrets.is_empty() {
                        let id = PacketId(self.index.len() as u32);
                        for s in std::mem::take(&mut self.walker.secrets) {
                            self.secrets.push((id, s));
                        }
                    }
                    let e = IndexEntry {
                        offset: (self.pos + p.data_start) as u64,
                        ts: p.ts,
                        caplen: p.caplen,
                        origlen: p.origlen,
                        iface: p.iface,
                    };
                    self.index.push(e, self.reread(all, e.offset));
                    self.pos += p.consumed;
                }
                // Growing file: wait for more bytes (call `refresh`).
                Ok(Step::Need { .. }) if !eof => break,
                Ok(Step::End | Step::Need { .. }) => self.done = true,
                Err(e) => {
                    self.error = Some(e);
                    self.done = true;
                }
            }
        }
        if self.done && self.growing.is_none() {
            // The index only grew by doubling: give back up to half of it.
            self.index.shrink_to_fit();
        }
        IndexProgress {
            added: self.index.len() - before,
            done: self.done,
        }
    }

    /// Indexes the whole file (for a growing file: what has been written so far);
    /// returns the error that stopped it early, if any.
    pub fn index_all(&mut self) -> Option<&CaptureError> {
        loop {
            let p = self.index_more(1 << 20);
            if p.done || p.added == 0 {
                break;
            }
        }
        self.error.as_ref()
    }

    /// Packets indexed so far.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Indexing has reached the end of the file or an error (never while growing).
    pub fn is_complete(&self) -> bool {
        self.done
    }

    /// The damage that stopped indexing, if any (all packets before it are indexed).
    pub fn error(&self) -> Option<&CaptureError> {
        self.error.as_ref()
    }

    /// Packet `id`'s entry, exactly as the walker produced it: kept whole, or re-read
    /// from the map.
    #[inline]
    pub fn entry(&self, id: PacketId) -> Option<IndexEntry> {
        match self.index.locate(id.0 as usize)? {
            Located::Entry(e) => Some(e),
            Located::Offset(o) => self.reread(self.bytes.as_ref(), o),
        }
    }

    /// The entry the header in front of the bytes at `offset` gives, computed as the
    /// walker does (see [`PacketIndex`]).
    #[inline]
    fn reread(&self, all: &[u8], offset: u64) -> Option<IndexEntry> {
        let data = usize::try_from(offset).ok()?;
        match self.walker.format? {
            FileFormat::Pcap {
                byte_order,
                nanos,
                modified,
                ..
            } => pcap::reread(all, data, byte_order.is_be(), nanos, modified),
            FileFormat::Pcapng => {
                pcapng::reread(all, data, &self.walker.sections, &self.walker.interfaces)
            }
        }
    }

    /// Bytes the index holds on the heap (about 4 a packet; see [`PacketIndex`]).
    pub fn index_heap_bytes(&self) -> usize {
        self.index.heap_bytes()
    }

    /// Packets whose whole entry the index keeps (those a header re-read would not
    /// reproduce, e.g. SPBs).
    pub fn index_exceptions(&self) -> usize {
        self.index.exceptions()
    }

    pub fn meta(&self, id: PacketId) -> Option<FrameMeta> {
        self.entry(id).map(|e| self.meta_of(id, &e))
    }

    #[inline]
    fn meta_of(&self, id: PacketId, e: &IndexEntry) -> FrameMeta {
        FrameMeta {
            id,
            ts: e.ts,
            iface: e.iface,
            link: self
                .walker
                .interfaces
                .get(e.iface as usize)
                .map_or(LinkType(u32::MAX), |i| i.link),
            caplen: e.caplen,
            origlen: e.origlen,
        }
    }

    /// The frame `id`, O(1): metadata re-read or from the index, bytes from the map.
    pub fn frame(&self, id: PacketId) -> Option<Frame<'_>> {
        let e = self.entry(id)?;
        let meta = self.meta_of(id, &e);
        let start = usize::try_from(e.offset).ok()?;
        let data = self.bytes.as_ref().get(start..start + e.caplen as usize)?;
        // Secrets are indexed apart ([`FrameStore::secrets`]): a random access must not
        // hand them out again.
        Some(Frame {
            meta,
            data,
            secrets: &[],
        })
    }

    /// The decryption secrets indexed so far, in file order, each with the first packet
    /// it serves (a pcapng DSB comes before the packets it decrypts).
    pub fn secrets(&self) -> &[(PacketId, DecryptionSecrets)] {
        &self.secrets
    }

    /// Comments of packet `id` (empty for most packets).
    pub fn comments(&self, id: PacketId) -> &[String] {
        self.comments.get(&id.0).map_or(&[], |v| v.as_slice())
    }

    /// The non-fatal oddity of packet `id`, if any.
    pub fn anomaly(&self, id: PacketId) -> Option<&Anomaly> {
        self.anomalies.get(&id.0)
    }

    pub fn interfaces(&self) -> &[InterfaceInfo] {
        &self.walker.interfaces
    }

    pub fn sections(&self) -> &[SectionInfo] {
        &self.walker.sections
    }

    pub fn format(&self) -> Option<FileFormat> {
        self.walker.format
    }

    /// Bytes of the (decompressed) file that have been walked.
    pub fn bytes_indexed(&self) -> u64 {
        self.pos as u64
    }

    /// Total bytes of the (decompressed) file.
    pub fn file_len(&self) -> u64 {
        self.bytes.as_ref().len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::capture::open;
    use crate::capture::testbytes::{epb, idb, shb, Dribble};
    use crate::testutil::shared_capture;
    use std::sync::{Arc, RwLock};

    #[test]
    fn index_entry_is_at_most_32_bytes() {
        assert!(std::mem::size_of::<IndexEntry>() <= 32);
    }

    #[test]
    fn incremental_index_matches_sequential_read_and_is_o1() {
        let path = shared_capture("zeek/http-206_example_b.pcap");
        let mut store = FrameStore::open(&path).unwrap();
        assert!(store.is_empty() && !store.is_complete());
        let p = store.index_more(1000);
        assert_eq!(
            p,
            IndexProgress {
                added: 1000,
                done: false
            }
        );
        let p = store.index_more(1000);
        assert_eq!(
            p,
            IndexProgress {
                added: 556,
                done: true
            }
        );
        assert_eq!(store.error(), None);
        assert_eq!(store.bytes_indexed(), store.file_len());
        let mut src = open(&path).unwrap();
        let mut i = 0;
        while let Some(f) = src.next_frame().unwrap() {
            let g = store.frame(PacketId(i)).unwrap();
            assert_eq!((g.meta, g.data), (f.meta, f.data));
            i += 1;
        }
        assert_eq!(i as usize, store.len());
        assert!(store.frame(PacketId(i)).is_none());
        assert!(store.meta(PacketId(u32::MAX)).is_none());
    }

    /// What the walker itself hands out for `bytes` (the memory reader): per packet its
    /// meta and bytes, then the error.
    fn walked(bytes: &[u8]) -> (Vec<(FrameMeta, Vec<u8>)>, Option<CaptureError>) {
        let mut r = crate::capture::MemReader::new(bytes);
        let mut out = Vec::new();
        loop {
            match crate::capture::FrameSource::next_frame(&mut r) {
                Ok(Some(f)) => out.push((f.meta, f.data.to_vec())),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    /// Asserts that `store` gives exactly `want`, frame by frame.
    fn same(store: &FrameStore, want: &[(FrameMeta, Vec<u8>)], what: &str) {
        assert_eq!(store.len(), want.len(), "{what}");
        for (i, (m, d)) in want.iter().enumerate() {
            let id = PacketId(i as u32);
            let f = store
                .frame(id)
                .unwrap_or_else(|| panic!("{what}: frame {i}"));
            assert_eq!((&f.meta, f.data), (m, d.as_slice()), "{what}: frame {i}");
            assert_eq!(store.meta(id).as_ref(), Some(m), "{what}: meta {i}");
            let e = store.entry(id).unwrap();
            assert_eq!(
                (e.ts, e.caplen, e.origlen, e.iface),
                (m.ts, m.caplen, m.origlen, m.iface),
                "{what}: entry {i}"
            );
        }
        assert!(store.frame(PacketId(want.len() as u32)).is_none());
    }

    /// The compact index re-reads headers instead of keeping them: for every capture of
    /// the corpus, every packet's meta and bytes are the walker's, when indexed in odd
    /// slices and after a snapshot went through the cache's encoding and was restored.
    /// Only SPBs (no timestamp to re-read) are kept whole, so a re-read that stopped
    /// matching cannot hide behind the exceptions.
    #[test]
    fn every_capture_reads_back_exactly_what_the_walker_produced() {
        let mut packets = 0;
        let mut spb_files = Vec::new();
        for path in crate::testutil::all_captures() {
            let what = path.display().to_string();
            let bytes = std::fs::read(&path).unwrap();
            let (want, err) = walked(&bytes);
            let mut store = FrameStore::from_bytes(bytes.clone());
            while !store.index_more(999).done {}
            assert_eq!(store.error(), err.as_ref(), "{what}");
            same(&store, &want, &what);
            let spbs = spb_count(&bytes);
            assert_eq!(store.index_exceptions(), spbs, "{what}");
            if spbs > 0 {
                spb_files.push(what.clone());
            }
            let saved = store.index_snapshot().unwrap();
            let saved: StoreIndex =
                postcard::from_bytes(&postcard::to_stdvec(&saved).unwrap()).unwrap();
            let restored = FrameStore::restore_bytes(bytes, saved).unwrap();
            same(&restored, &want, &format!("{what} (restored)"));
            assert_eq!(restored.error(), err.as_ref(), "{what}");
            packets += want.len();
        }
        assert!(packets > 5_000, "{packets} packets");
        assert!(!spb_files.is_empty(), "no SPB in the corpus");
    }

    /// Simple Packet Blocks (type 3) walked before the first damage, by a walk apart
    /// from the reader's (block lengths only, pcapng §3.1).
    fn spb_count(b: &[u8]) -> usize {
        if b.get(..4) != Some(&[0x0a, 0x0d, 0x0d, 0x0a][..]) {
            return 0;
        }
        let (mut pos, mut be, mut n) = (0, false, 0);
        let u32_at = |at: usize, be: bool| {
            let w: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
            Some(if be {
                u32::from_be_bytes(w)
            } else {
                u32::from_le_bytes(w)
            })
        };
        while pos + 12 <= b.len() {
            if b[pos..pos + 4] == [0x0a, 0x0d, 0x0d, 0x0a] {
                be = b[pos + 8..pos + 12] == [0x1a, 0x2b, 0x3c, 0x4d];
            }
            let (Some(ty), Some(len)) = (u32_at(pos, be), u32_at(pos + 4, be)) else {
                break;
            };
            let len = len as usize;
            if len < 12 || pos + len > b.len() {
                break;
            }
            n += usize::from(ty == 3);
            pos += len;
        }
        n
    }

    #[test]
    fn damaged_file_keeps_prefix_and_error() {
        let bytes = std::fs::read(shared_capture("zeek/web.pcap")).unwrap();
        let mut store = FrameStore::from_bytes(bytes[..bytes.len() - 10].to_vec());
        let e = store.index_all().cloned().unwrap();
        assert_eq!(store.len(), 23);
        assert_eq!(e.packets_before, 23);
        assert!(store.is_complete());
        assert!(store.frame(PacketId(22)).is_some());
    }

    #[test]
    fn comments_sections_and_spooled_reader() {
        let mut f = shb(false, &["hi"]);
        f.extend(idb(false, 1, 0, None, None, None));
        f.extend(epb(false, 0, 1, b"a", 1, &[], false));
        f.extend(epb(false, 0, 2, b"b", 1, &["note"], false));
        let mut store = FrameStore::spool(
            Dribble {
                bytes: f,
                pos: 0,
                n: 3,
            },
            "test",
        )
        .unwrap();
        assert!(store.index_all().is_none());
        assert_eq!(store.len(), 2);
        assert!(store.comments(PacketId(0)).is_empty());
        assert_eq!(store.comments(PacketId(1)), ["note"]);
        assert_eq!(store.sections()[0].comments, ["hi"]);
        assert_eq!(store.format(), Some(crate::capture::FileFormat::Pcapng));
    }

    #[test]
    fn growing_file_is_indexed_as_it_is_written() {
        use crate::capture::PcapWriter;
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grow.pcap");
        let mut w = PcapWriter::new(
            std::fs::File::create(&path).unwrap(),
            crate::base::LinkType::ETHERNET,
            65535,
            true,
        )
        .unwrap();
        let mut store = FrameStore::open_growing(&path).unwrap();
        assert_eq!(store.index_more(10).added, 0);
        assert!(!store.is_complete());
        for i in 0..3u8 {
            w.write_packet(crate::base::Timestamp(i64::from(i)), &[i; 40], 40)
                .unwrap();
        }
        w.flush().unwrap();
        // Half a record more: not damage while growing.
        let mut f = w.into_inner();
        f.write_all(&[1, 0, 0, 0, 0, 0]).unwrap();
        f.flush().unwrap();
        assert!(store.refresh().unwrap());
        store.index_all();
        assert_eq!(
            (store.len(), store.error(), store.is_complete()),
            (3, None, false)
        );
        assert_eq!(store.frame(PacketId(2)).unwrap().data, &[2; 40]);
        // Writer stops with the half record: now it is a truncation after 3 packets.
        store.finish_growing().unwrap();
        let e = store.index_all().cloned().unwrap();
        assert_eq!((e.packets_before, store.len()), (3, 3));
        assert!(store.is_complete());
    }

    /// The documented way to show rows while indexing: a background thread indexes in
    /// slices under the write lock; the reader sees a growing, always-valid prefix.
    #[test]
    fn background_indexing_behind_a_rwlock() {
        let store = Arc::new(RwLock::new(
            FrameStore::open(&shared_capture("zeek/http-206_example_b.pcap")).unwrap(),
        ));
        let bg = {
            let store = store.clone();
            std::thread::spawn(move || while !store.write().unwrap().index_more(64).done {})
        };
        let mut last = 0;
        loop {
            let s = store.read().unwrap();
            let n = s.len();
            assert!(n >= last);
            if n > 0 {
                assert!(s.frame(PacketId(n as u32 - 1)).is_some());
            }
            last = n;
            if s.is_complete() {
                break;
            }
        }
        bg.join().unwrap();
        assert_eq!(store.read().unwrap().len(), 1556);
    }
}
