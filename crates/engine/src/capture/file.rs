//! Opening captures: a path, `-` for standard input, gzip (sniffed by its magic, not the
//! file name), plain files through a memory map.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use super::error::{CaptureError, ErrorKind};
use super::walk::{FileFormat, InterfaceInfo, SectionInfo, Step, Walker};
use super::{Frame, FrameMeta, FrameSource};
use crate::base::{LinkType, PacketId};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Opens a capture for sequential reading. `-` is standard input (streamed, so
/// `tcpdump -w - | wiretale packets -` works); gzip input (by magic) is streamed through a
/// decoder; a plain file is read with large `read()` calls into one reused buffer.
///
/// Why not a memory map here: every page of a map that has been touched counts in the
/// process's resident set until the kernel reclaims it, so a sequential pass over a
/// 500 MB capture "used" 500 MB. Reading into a buffer costs one copy per byte (far
/// below the analysis cost) and keeps memory flat whatever the file size. Random access
/// ([`super::FrameStore`]) still maps the file. Errors (missing file, directory, unknown
/// format) are one line.
pub fn open(path: &Path) -> Result<Box<dyn FrameSource + Send>, CaptureError> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(open_reader(io::stdin())?));
    }
    let file = open_file(path)?;
    if is_gzip(&file, path)? {
        return Ok(Box::new(StreamReader::new(
            flate2::read::MultiGzDecoder::new(file),
        )));
    }
    Ok(Box::new(StreamReader::new(file)))
}

/// A streaming reader over any `Read` (stdin, a pipe, a socket); gzip is detected and
/// decoded.
pub fn open_reader<R: Read + Send + 'static>(
    mut r: R,
) -> Result<StreamReader<Box<dyn Read + Send>>, CaptureError> {
    let mut head = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        match r.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(CaptureError::io("reading standard input", &e)),
        }
    }
    let chained: Box<dyn Read + Send> = Box::new(io::Cursor::new(head[..got].to_vec()).chain(r));
    if got == 2 && head == GZIP_MAGIC {
        Ok(StreamReader::new(Box::new(
            flate2::read::MultiGzDecoder::new(chained),
        )))
    } else {
        Ok(StreamReader::new(chained))
    }
}

pub(crate) fn open_file(path: &Path) -> Result<File, CaptureError> {
    let shown = path.display().to_string();
    match std::fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(CaptureError::plain(ErrorKind::NotFound { path: shown }))
        }
        Err(e) => return Err(CaptureError::io(shown, &e)),
        Ok(m) if m.is_dir() => {
            return Err(CaptureError::plain(ErrorKind::IsDirectory { path: shown }))
        }
        Ok(_) => {}
    }
    File::open(path).map_err(|e| CaptureError::io(shown, &e))
}

pub(crate) fn is_gzip(file: &File, path: &Path) -> Result<bool, CaptureError> {
    use std::os::unix::fs::FileExt;
    let mut head = [0u8; 2];
    let n = file
        .read_at(&mut head, 0)
        .map_err(|e| CaptureError::io(path.display().to_string(), &e))?;
    Ok(n == 2 && head == GZIP_MAGIC)
}

/// Bytes of a file: a memory map, or nothing for an empty file (mapping zero bytes fails
/// on some systems).
pub(crate) enum Mapped {
    Map(memmap2::Mmap),
    Owned(Vec<u8>),
    Empty,
}

impl AsRef<[u8]> for Mapped {
    fn as_ref(&self) -> &[u8] {
        match self {
            Mapped::Map(m) => m,
            Mapped::Owned(v) => v,
            Mapped::Empty => &[],
        }
    }
}

pub(crate) fn map_file(file: &File, path: &Path) -> Result<Mapped, CaptureError> {
    let len = file
        .metadata()
        .map_err(|e| CaptureError::io(path.display().to_string(), &e))?
        .len();
    if len == 0 {
        return Ok(Mapped::Empty);
    }
    // SAFETY: the map is read-only and we only ever read it as plain bytes; every length
    // and offset taken from it is bounds-checked. The one hazard is another process
    // truncating the file while it is mapped (SIGBUS on access), which no safe API can
    // rule out; captures are not rewritten in place in normal use.
    #[allow(unsafe_code)]
    let map = unsafe { memmap2::Mmap::map(file) };
    let map = map.map_err(|e| CaptureError::io(format!("{}: memory map", path.display()), &e))?;
    #[cfg(unix)]
    let _ = map.advise(memmap2::Advice::Sequential);
    Ok(Mapped::Map(map))
}

#[inline]
fn make_frame<'a>(w: &'a Walker, id: u64, p: &super::walk::PacketRec, data: &'a [u8]) -> Frame<'a> {
    let link = w
        .interfaces
        .get(p.iface as usize)
        .map_or(LinkType(u32::MAX), |i| i.link);
    Frame {
        meta: FrameMeta {
            id: PacketId(id as u32),
            ts: p.ts,
            iface: p.iface,
            link,
            caplen: p.caplen,
            origlen: p.origlen,
        },
        data,
        secrets: &w.secrets,
    }
}

/// A reader whose file-level facts are its [`Walker`]'s: the readers here differ only
/// in where the bytes come from, so they say how to get the next frame and the walker,
/// and the rest of [`FrameSource`] is read off the walker once, below.
trait Walked {
    fn next_walked(&mut self) -> Result<Option<Frame<'_>>, CaptureError>;
    fn walker(&self) -> &Walker;
}

impl<T: Walked> FrameSource for T {
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        self.next_walked()
    }
    fn interfaces(&self) -> &[InterfaceInfo] {
        &self.walker().interfaces
    }
    fn sections(&self) -> &[SectionInfo] {
        &self.walker().sections
    }
    fn format(&self) -> Option<FileFormat> {
        self.walker().format
    }
    fn comments(&self) -> &[String] {
        &self.walker().comments
    }
    fn anomaly(&self) -> Option<&crate::base::Anomaly> {
        self.walker().anomaly.as_ref()
    }
    fn packets_read(&self) -> u64 {
        self.walker().packets
    }
}

/// A reader over bytes already in memory: a memory map, a `Vec`, a static slice.
pub struct MemReader<B> {
    bytes: B,
    pos: usize,
    walker: Walker,
}

impl<B: AsRef<[u8]>> MemReader<B> {
    pub fn new(bytes: B) -> Self {
        MemReader {
            bytes,
            pos: 0,
            walker: Walker::new(),
        }
    }

    /// Byte offset of the next record or block.
    pub fn position(&self) -> u64 {
        self.pos as u64
    }
}

impl<B: AsRef<[u8]>> Walked for MemReader<B> {
    fn next_walked(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        let all = self.bytes.as_ref();
        loop {
            let buf = all.get(self.pos..).unwrap_or_default();
            match self.walker.step(buf, self.pos as u64, true)? {
                Step::Skip(n) => self.pos += n,
                Step::Packet(p) => {
                    let start = self.pos + p.data_start;
                    self.pos += p.consumed;
                    let data = all
                        .get(start..start + p.caplen as usize)
                        .unwrap_or_default();
                    return Ok(Some(make_frame(
                        &self.walker,
                        self.walker.packets - 1,
                        &p,
                        data,
                    )));
                }
                Step::End | Step::Need { .. } => return Ok(None),
            }
        }
    }
    fn walker(&self) -> &Walker {
        &self.walker
    }
}

/// Initial read size of the streaming reader.
const CHUNK: usize = 256 << 10;

/// A streaming reader over any `Read`: a growable buffer that holds at least one whole
/// record or block (records split across reads are completed by reading more), compacted
/// as it is consumed. Memory is bounded by the largest accepted block
/// (64 MiB) plus one chunk.
pub struct StreamReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Absolute stream offset of `buf[start]`.
    offset: u64,
    eof: bool,
    walker: Walker,
}

impl<R: Read> StreamReader<R> {
    pub fn new(inner: R) -> Self {
        StreamReader {
            inner,
            buf: Vec::new(),
            start: 0,
            end: 0,
            offset: 0,
            eof: false,
            walker: Walker::new(),
        }
    }

    /// Reads until `need` bytes are buffered past `start`, or end of input.
    fn fill(&mut self, need: usize) -> Result<(), CaptureError> {
        if self.start > 0
            && (self.start >= self.buf.len() / 2 || self.buf.len() - self.start < need)
        {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let want = self.start + need.max(CHUNK);
        while self.end - self.start < need {
            // Grow by doubling as bytes actually arrive, so a garbage length near the
            // 64 MiB bound in a short input does not allocate 64 MiB up front.
            if self.end == self.buf.len() {
                let grown = (self.buf.len() * 2)
                    .max(CHUNK)
                    .min(want.max(self.buf.len() + 1));
                self.buf.resize(grown, 0);
            }
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.walker.state = super::walk::State::Done;
                    return Err(CaptureError::new(
                        self.offset + (self.end - self.start) as u64,
                        self.walker.packets,
                        ErrorKind::Io {
                            context: "reading capture".into(),
                            message: e.to_string(),
                        },
                    ));
                }
            }
        }
        Ok(())
    }
}

impl<R: Read> Walked for StreamReader<R> {
    fn next_walked(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        loop {
            let buf = self.buf.get(self.start..self.end).unwrap_or_default();
            match self.walker.step(buf, self.offset, self.eof)? {
                Step::Skip(n) => {
                    self.start += n;
                    self.offset += n as u64;
                }
                Step::Packet(p) => {
                    let s = self.start + p.data_start;
                    self.start += p.consumed;
                    self.offset += p.consumed as u64;
                    let data = self.buf.get(s..s + p.caplen as usize).unwrap_or_default();
                    return Ok(Some(make_frame(
                        &self.walker,
                        self.walker.packets - 1,
                        &p,
                        data,
                    )));
                }
                Step::Need { need, .. } => self.fill(need)?,
                Step::End => return Ok(None),
            }
        }
    }
    fn walker(&self) -> &Walker {
        &self.walker
    }
}
