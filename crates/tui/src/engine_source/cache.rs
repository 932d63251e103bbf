//! The persisted index: what the worker computed over a capture file (the frame store's
//! index, the per-packet table, the records, the filter index and the told story),
//! saved in the user's cache directory so that opening the same file again shows the
//! whole analysis at once instead of re-running the engine.
//!
//! **Where**: `$XDG_CACHE_HOME/wiretale/` (else `~/.cache/wiretale/`), one file per
//! capture path, named by a hash of the canonical path (`<hash>.idx`).
//!
//! **What keys it** (all must match, or the file is indexed again and the entry
//! replaced): the canonical path, device, inode, size and modification time of the
//! capture, a CRC-32 of its first and of its last 64 KiB, and the build of wiretale
//! that wrote it (version plus the executable's size and modification time: the
//! encoding is serde's derive over the engine's own types, so another build's file is
//! never read). The body carries its own length and CRC-32: a truncated, corrupt or
//! foreign file is ignored (the status line says so once) and rewritten.
//!
//! **Not cached**: standard input, gzip files (their bytes are decompressed to a spool
//! file at every open, which a saved index could not point into without decompressing
//! again; a cached `.gz` would save little and need the spool kept), live captures, and
//! runs with `--tls-keylog` (the key log changes what is decrypted, and plaintext from
//! a user's keys is not written to disk behind their back).
//!
//! **Writes** go to a temporary name in the cache directory and are renamed into place,
//! so a second TUI on the same file reads the old entry or the new one, never half of
//! one. A directory that cannot be created or written is no error: the status line says
//! the index was not saved.
//!
//! **Bound**: after a write the directory keeps the [`KEEP_ENTRIES`] most recently used
//! entries whose sizes add up to at most [`KEEP_BYTES`] (the entry just written always
//! stays); a hit refreshes its entry's modification time. Clearing it by hand:
//! `rm -r ~/.cache/wiretale`.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::producer::KeyState;
use crate::story::Story;
use wiretale_engine::analysis::{FilterIndex, HttpRecord, PacketTable};
use wiretale_engine::base::packed::Packed;
use wiretale_engine::capture::StoreIndex;
use wiretale_engine::proto::dns::DnsTransaction;
use wiretale_engine::story::ConnName;

/// Bumped whenever the layout below changes (the build stamp covers the types).
/// 2: connections and exchanges saved as they are held, encoded ([`Packed`]).
/// 3: the story as compressed text and a record per line ([`Story`]); connection
/// names encoded ([`Packed`]).
/// 4: 8-byte packet rows (each connection side's ISN instead of every packet's relative
/// numbers); the filter index's outcomes by connection and `dns.time` as sorted lists;
/// the frame store's index as offsets only (a base per 1024 packets, a delta per
/// packet) plus the few entries kept whole.
/// 5: the filter index's irregular packets (those a re-filter decodes one by one).
/// 6: [`Packed`] lists as zstd-compressed blocks of records (saved as they are held).
/// 7: the story's lines without text offsets, its texts a [`Packed`] list.
/// 8: the frame store's index as a `u16` gap from the packet before (a base per 32
/// packets, the gaps that do not fit kept whole); the packet table's notes found by
/// their rank among the rows (a count per 64 rows instead of each noted packet's id).
/// 9: the filter index's protocol-presence bits of the packets with notes, and which
/// connections are UDP on port 53 (re-filtering `http`, `dns`, ... without decodes).
pub const FORMAT: u32 = 9;
/// First bytes of every cache file.
const MAGIC: &[u8; 8] = b"WTIDX\x00\x01\n";
/// Entries kept at most.
pub const KEEP_ENTRIES: usize = 16;
/// Bytes kept at most over all entries (the newest entry is kept whatever its size).
pub const KEEP_BYTES: u64 = 4 << 30;
/// Bytes hashed at each end of the capture.
const END_BYTES: u64 = 64 * 1024;

/// The capture's identity; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileKey {
    pub path: Vec<u8>,
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_s: i64,
    pub mtime_ns: i64,
    pub head_crc: u32,
    pub tail_crc: u32,
}

impl FileKey {
    /// The key of the file at `path` as it is now.
    pub fn of(path: &Path) -> io::Result<FileKey> {
        let canon = fs::canonicalize(path)?;
        let mut f = File::open(&canon)?;
        let meta = f.metadata()?;
        let size = meta.len();
        let mut buf = vec![0; END_BYTES.min(size) as usize];
        f.read_exact(&mut buf)?;
        let head_crc = crc32fast::hash(&buf);
        f.seek(SeekFrom::Start(size.saturating_sub(END_BYTES)))?;
        f.read_exact(&mut buf)?;
        let tail_crc = crc32fast::hash(&buf);
        let (dev, ino, mtime_s, mtime_ns) = stat(&meta);
        Ok(FileKey {
            path: canon.as_os_str().as_encoded_bytes().to_vec(),
            dev,
            ino,
            size,
            mtime_s,
            mtime_ns,
            head_crc,
            tail_crc,
        })
    }
}

#[cfg(unix)]
fn stat(m: &fs::Metadata) -> (u64, u64, i64, i64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino(), m.mtime(), m.mtime_nsec())
}

#[cfg(not(unix))]
fn stat(m: &fs::Metadata) -> (u64, u64, i64, i64) {
    let t = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .unwrap_or_default();
    (0, 0, t.as_secs() as i64, i64::from(t.subsec_nanos()))
}

/// The build that writes and reads: see the module docs.
fn build_stamp() -> String {
    let exe = std::env::current_exe()
        .and_then(fs::metadata)
        .map(|m| {
            let (_, _, s, ns) = stat(&m);
            format!("{} {s}.{ns}", m.len())
        })
        .unwrap_or_default();
    format!("{} {exe}", env!("CARGO_PKG_VERSION"))
}

#[derive(Serialize, Deserialize)]
struct Header {
    format: u32,
    build: String,
    key: FileKey,
    /// Length and CRC-32 of each part of the body, in file order after the header.
    parts: Vec<(u64, u32)>,
}

/// What is saved, borrowed from where it lives (written by [`save`]).
pub struct BodyRef<'a> {
    pub store: &'a StoreIndex,
    pub table: &'a PacketTable,
    pub conns: &'a Packed<wiretale_engine::analysis::ConnRecord>,
    pub names: &'a Packed<Option<ConnName>>,
    pub first_pkt: &'a [u32],
    pub dns: &'a [DnsTransaction],
    pub http: &'a Packed<HttpRecord>,
    pub http_conn: &'a [u32],
    pub index: &'a FilterIndex,
    pub keys: &'a KeyState,
    pub story: &'a Story,
    pub error: &'a Option<String>,
}

/// What [`load`] gives back (the same fields, owned).
pub struct Body {
    pub store: StoreIndex,
    pub table: PacketTable,
    pub conns: Packed<wiretale_engine::analysis::ConnRecord>,
    pub names: Packed<Option<ConnName>>,
    pub first_pkt: Vec<u32>,
    pub dns: Vec<DnsTransaction>,
    pub http: Packed<HttpRecord>,
    pub http_conn: Vec<u32>,
    pub index: FilterIndex,
    pub keys: KeyState,
    pub story: Story,
    pub error: Option<String>,
}

// The body is two parts of about equal decoding time (manyflows.pcap: ~0.65 s each),
// read and decoded on two threads.

#[derive(Serialize)]
struct PartARef<'a> {
    store: &'a StoreIndex,
    table: &'a PacketTable,
    index: &'a FilterIndex,
    names: &'a Packed<Option<ConnName>>,
    first_pkt: &'a [u32],
    http_conn: &'a [u32],
    keys: &'a KeyState,
    error: &'a Option<String>,
}

#[derive(Deserialize)]
struct PartA {
    store: StoreIndex,
    table: PacketTable,
    index: FilterIndex,
    names: Packed<Option<ConnName>>,
    first_pkt: Vec<u32>,
    http_conn: Vec<u32>,
    keys: KeyState,
    error: Option<String>,
}

#[derive(Serialize)]
struct PartBRef<'a> {
    conns: &'a Packed<wiretale_engine::analysis::ConnRecord>,
    dns: &'a [DnsTransaction],
    http: &'a Packed<HttpRecord>,
    story: &'a Story,
}

#[derive(Deserialize)]
struct PartB {
    conns: Packed<wiretale_engine::analysis::ConnRecord>,
    dns: Vec<DnsTransaction>,
    http: Packed<HttpRecord>,
    story: Story,
}

/// A gzip file (not cached, see the module docs): its first two bytes.
pub fn is_gzip(path: &Path) -> bool {
    let mut b = [0u8; 2];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut b))
        .is_ok_and(|()| b == [0x1f, 0x8b])
}

/// The cache directory: `$XDG_CACHE_HOME/wiretale`, else `$HOME/.cache/wiretale`.
pub fn dir() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let base = xdg.or_else(|| {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .map(|h| h.join(".cache"))
    })?;
    Some(base.join("wiretale"))
}

/// The entry of the capture whose canonical path is `key.path`.
pub fn entry_path(dir: &Path, key: &FileKey) -> PathBuf {
    // FNV-1a: a stable name (std's hasher may change between Rust releases).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in &key.path {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    dir.join(format!("{h:016x}.idx"))
}

/// Why no saved index was used.
#[derive(Debug, PartialEq, Eq)]
pub enum Miss {
    /// No entry for this path.
    Absent,
    /// An entry for an earlier state of the file, or another build: silently replaced.
    Stale,
    /// An entry that is not a whole cache file of ours (truncated, flipped bytes, another
    /// program's): said on the status line, then replaced.
    Corrupt(String),
}

/// Reads the entry for `key` from `dir`; on a hit, refreshes its modification time (the
/// bound keeps the most recently used).
pub fn load(dir: &Path, key: &FileKey) -> Result<Body, Miss> {
    let path = entry_path(dir, key);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Miss::Absent),
        Err(e) => return Err(Miss::Corrupt(e.to_string())),
    };
    let len = file
        .metadata()
        .map_err(|e| Miss::Corrupt(e.to_string()))?
        .len();
    let body = decode_from(
        &|at, n| {
            use std::os::unix::fs::FileExt;
            let mut v = vec![0; n];
            file.read_exact_at(&mut v, at).map(|()| v).ok()
        },
        len,
        key,
    )?;
    let _ = file.set_modified(std::time::SystemTime::now());
    Ok(body)
}

/// Checks and decodes a cache file's bytes.
#[cfg(test)]
fn decode(bytes: &[u8], key: &FileKey) -> Result<Body, Miss> {
    let read = |at: u64, n: usize| {
        let at = usize::try_from(at).ok()?;
        bytes.get(at..at.checked_add(n)?).map(<[u8]>::to_vec)
    };
    decode_from(&read, bytes.len() as u64, key)
}

/// Checks and decodes a cache file of `len` bytes that `read(offset, n)` reads from;
/// the two parts of the body are read and decoded on two threads.
fn decode_from(
    read: &(dyn Fn(u64, usize) -> Option<Vec<u8>> + Sync),
    len: u64,
    key: &FileKey,
) -> Result<Body, Miss> {
    let corrupt = |what: &str| Miss::Corrupt(what.to_string());
    // MAGIC | part A | part B | header | header length (u32 LE) | MAGIC
    let m = MAGIC.len() as u64;
    let magic = read(0, MAGIC.len()).ok_or_else(|| corrupt("not a wiretale index"))?;
    if magic != MAGIC.as_slice() {
        return Err(corrupt("not a wiretale index"));
    }
    let tail_at = len
        .checked_sub(m + 4)
        .filter(|&t| t >= m)
        .ok_or_else(|| corrupt("truncated"))?;
    let tail = read(tail_at, 4 + MAGIC.len()).ok_or_else(|| corrupt("truncated"))?;
    let (hlen, end_magic) = tail.split_at(4);
    if end_magic != MAGIC.as_slice() {
        return Err(corrupt("truncated"));
    }
    let hlen = u64::from(
        hlen.first_chunk::<4>()
            .map_or(0, |b| u32::from_le_bytes(*b)),
    );
    let hstart = tail_at
        .checked_sub(hlen)
        .filter(|&h| h >= m)
        .ok_or_else(|| corrupt("unreadable header"))?;
    let hbytes = read(hstart, hlen as usize).ok_or_else(|| corrupt("truncated header"))?;
    let h: Header = postcard::from_bytes(&hbytes).map_err(|_| corrupt("unreadable header"))?;
    if h.format != FORMAT || h.build != build_stamp() || &h.key != key {
        return Err(Miss::Stale);
    }
    let [(alen, acrc), (blen, bcrc)] = h.parts[..] else {
        return Err(corrupt("unreadable header"));
    };
    let astart = m;
    let bstart = astart.saturating_add(alen);
    if bstart.checked_add(blen) != Some(hstart) {
        return Err(corrupt("truncated"));
    }
    let part = |at: u64, n: u64, crc: u32| -> Result<Vec<u8>, Miss> {
        let b = read(at, usize::try_from(n).unwrap_or(usize::MAX))
            .ok_or_else(|| corrupt("truncated"))?;
        if crc32fast::hash(&b) != crc {
            return Err(corrupt("checksum mismatch"));
        }
        Ok(b)
    };
    let unreadable = |e: postcard::Error| Miss::Corrupt(format!("unreadable body ({e})"));
    let (a, b) = std::thread::scope(|s| {
        let b = s.spawn(|| {
            let bytes = part(bstart, blen, bcrc)?;
            postcard::from_bytes::<PartB>(&bytes).map_err(unreadable)
        });
        let a = part(astart, alen, acrc)
            .and_then(|bytes| postcard::from_bytes::<PartA>(&bytes).map_err(unreadable));
        let b = b.join().unwrap_or_else(|_| Err(corrupt("unreadable body")));
        (a, b)
    });
    let (a, b) = (a?, b?);
    Ok(Body {
        store: a.store,
        table: a.table,
        conns: b.conns,
        names: a.names,
        first_pkt: a.first_pkt,
        dns: b.dns,
        http: b.http,
        http_conn: a.http_conn,
        index: a.index,
        keys: a.keys,
        story: b.story,
        error: a.error,
    })
}

/// Counts and checksums what goes through it (a part's length and CRC-32 are known
/// only once it is written: they go in the header, after the parts).
struct Summing<W> {
    inner: W,
    len: u64,
    crc: crc32fast::Hasher,
}

impl<W: Write> Write for Summing<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(b)?;
        let done = b.get(..n).unwrap_or_default();
        self.crc.update(done);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W> Summing<W> {
    /// The length and CRC-32 since the last call.
    fn take(&mut self) -> (u64, u32) {
        let crc = std::mem::take(&mut self.crc).finalize();
        (std::mem::take(&mut self.len), crc)
    }
}

/// Writes `body` for `key` as a whole cache file to `out`, streaming (no copy of the
/// encoding in memory: on manyflows.pcap it is 330 MB).
fn encode_to<W: Write>(out: W, body: &BodyRef<'_>, key: &FileKey) -> Result<W, String> {
    let err = |e: postcard::Error| e.to_string();
    let mut w = Summing {
        inner: out,
        len: 0,
        crc: crc32fast::Hasher::new(),
    };
    w.write_all(MAGIC).map_err(|e| e.to_string())?;
    w.take();
    let a = PartARef {
        store: body.store,
        table: body.table,
        index: body.index,
        names: body.names,
        first_pkt: body.first_pkt,
        http_conn: body.http_conn,
        keys: body.keys,
        error: body.error,
    };
    let mut w = postcard::to_io(&a, w).map_err(err)?;
    let pa = w.take();
    let b = PartBRef {
        conns: body.conns,
        dns: body.dns,
        http: body.http,
        story: body.story,
    };
    let mut w = postcard::to_io(&b, w).map_err(err)?;
    let pb = w.take();
    let h = Header {
        format: FORMAT,
        build: build_stamp(),
        key: key.clone(),
        parts: vec![pa, pb],
    };
    let hb = postcard::to_stdvec(&h).map_err(err)?;
    w.write_all(&hb)
        .and_then(|()| w.write_all(&(hb.len() as u32).to_le_bytes()))
        .and_then(|()| w.write_all(MAGIC))
        .and_then(|()| w.flush())
        .map_err(|e| e.to_string())?;
    Ok(w.inner)
}

/// Writes the entry for `key` (temporary file, then rename) and trims the directory to
/// the bound. Returns the entry's path, or why it could not be written.
pub fn save(dir: &Path, key: &FileKey, body: &BodyRef<'_>) -> Result<PathBuf, String> {
    let at = entry_path(dir, key);
    create_private_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .suffix(".idx")
        .tempfile_in(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let w = encode_to(io::BufWriter::with_capacity(1 << 20, tmp), body, key)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let tmp = w
        .into_inner()
        .map_err(|e| format!("{}: {}", dir.display(), e.error()))?;
    tmp.as_file()
        .sync_data()
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    tmp.persist(&at)
        .map_err(|e| format!("{}: {}", at.display(), e.error))?;
    trim(dir, &at);
    Ok(at)
}

/// The cache holds what the captures said (decrypted with their own secrets blocks):
/// readable by its owner only.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// Keeps the most recently used entries within [`KEEP_ENTRIES`] and [`KEEP_BYTES`]
/// (`keep` always stays); removes what is left, and temporary files of writers that
/// died over an hour ago.
fn trim(dir: &Path, keep: &Path) {
    let Ok(rd) = fs::read_dir(dir) else {
        return;
    };
    let now = std::time::SystemTime::now();
    let mut entries: Vec<(std::time::SystemTime, u64, PathBuf)> = Vec::new();
    for e in rd.flatten() {
        let p = e.path();
        let Ok(m) = e.metadata() else { continue };
        let name = e.file_name();
        let name = name.to_string_lossy();
        let mtime = m.modified().unwrap_or(std::time::UNIX_EPOCH);
        if name.starts_with(".tmp-") {
            let old = now.duration_since(mtime).is_ok_and(|d| d.as_secs() > 3600);
            if old {
                let _ = fs::remove_file(&p);
            }
            continue;
        }
        if name.ends_with(".idx") && m.is_file() {
            entries.push((mtime, m.len(), p));
        }
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut total = entries.iter().find(|e| e.2 == keep).map_or(0, |e| e.1);
    let mut kept = 1usize;
    for (_, len, p) in entries {
        if p == keep {
            continue;
        }
        if kept < KEEP_ENTRIES && total + len <= KEEP_BYTES {
            total += len;
            kept += 1;
        } else {
            let _ = fs::remove_file(&p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_changes_with_the_bytes_at_either_end_and_with_mtime() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f.pcap");
        fs::write(&p, vec![7u8; 200_000]).unwrap();
        let k0 = FileKey::of(&p).unwrap();
        assert_eq!(k0, FileKey::of(&p).unwrap());
        // Same size, same mtime (set back), one byte changed at the end.
        let mtime = fs::metadata(&p).unwrap().modified().unwrap();
        let mut b = fs::read(&p).unwrap();
        *b.last_mut().unwrap() = 8;
        fs::write(&p, &b).unwrap();
        File::options()
            .append(true)
            .open(&p)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        let k1 = FileKey::of(&p).unwrap();
        assert_eq!(
            (k1.size, k1.mtime_s, k1.mtime_ns),
            (k0.size, k0.mtime_s, k0.mtime_ns)
        );
        assert_ne!(k1.tail_crc, k0.tail_crc);
        assert_ne!(k0, k1);
    }

    #[test]
    fn trim_keeps_the_newest_and_the_one_just_written() {
        let d = tempfile::tempdir().unwrap();
        let t0 = std::time::SystemTime::now();
        for i in 0..(KEEP_ENTRIES + 3) {
            let p = d.path().join(format!("{i:02}.idx"));
            fs::write(&p, b"x").unwrap();
            let f = File::options().append(true).open(&p).unwrap();
            f.set_modified(t0 - std::time::Duration::from_secs(100 - i as u64))
                .unwrap();
        }
        let oldest = d.path().join("00.idx");
        trim(d.path(), &oldest);
        let mut left: Vec<String> = fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left.len(), KEEP_ENTRIES);
        assert_eq!(left[0], "00.idx", "the entry just written stays");
        assert!(!left.contains(&"01.idx".to_string()));
        assert!(left.contains(&format!("{:02}.idx", KEEP_ENTRIES + 2)));
    }

    #[test]
    fn foreign_and_short_files_are_corrupt_not_panics() {
        let key = FileKey {
            path: b"/x".to_vec(),
            dev: 1,
            ino: 2,
            size: 3,
            mtime_s: 4,
            mtime_ns: 5,
            head_crc: 6,
            tail_crc: 7,
        };
        for bytes in [
            &b""[..],
            b"PK\x03\x04",
            MAGIC,
            b"WTIDX\x00\x01\n\xff\xff\xff\xff",
        ] {
            assert!(
                matches!(decode(bytes, &key), Err(Miss::Corrupt(_))),
                "{bytes:?}"
            );
        }
    }
}
