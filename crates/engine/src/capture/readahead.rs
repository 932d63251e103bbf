//! Reading ahead on a second core: a thread runs any [`FrameSource`] (the `read()`
//! calls, the pcap/pcapng walk) and hands frames over in batches, while the caller's
//! thread analyses the previous batch.
//!
//! Why batches: one channel message per frame would cost more than the walk itself;
//! one per ~1 MiB of frames makes the hand-over negligible. Buffers travel back to the
//! reader for reuse, so steady state allocates nothing per packet.
//!
//! Why this is safe to switch on or off: the consumer sees exactly the frames, in the
//! same order, with the same metadata, comments, anomalies and the same final error as
//! from the wrapped source (tests compare them), so every output is identical whether
//! reading runs on its own thread or not.
//!
//! Bounds: at most [`DEPTH`] batches are in flight, each at most [`BATCH_BYTES`] of frame
//! data (or a single larger frame) and [`BATCH_FRAMES`] frames, so memory stays a few
//! MiB whatever the file.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use super::walk::{DecryptionSecrets, FileFormat, InterfaceInfo, SectionInfo};
use super::{CaptureError, Frame, FrameMeta, FrameSource};
use crate::base::Anomaly;

/// Frame bytes per batch before it is sent.
pub const BATCH_BYTES: usize = 1 << 20;
/// Frames per batch before it is sent.
pub const BATCH_FRAMES: usize = 4096;
/// Batches in flight between the threads.
pub const DEPTH: usize = 4;

/// Rare per-frame extras, kept out of the common path.
struct Extras {
    /// Index of the frame in the batch.
    at: usize,
    comments: Vec<String>,
    anomaly: Option<Anomaly>,
    secrets: Vec<DecryptionSecrets>,
}

/// Frames read ahead: their bytes back to back, and where each one is.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    /// Metadata, offset and length in `bytes`, and how many interfaces and sections the
    /// source had listed when it returned the frame.
    frames: Vec<(FrameMeta, usize, usize, (u32, u32))>,
    extras: Vec<Extras>,
    /// The source's interface and section lists when this batch was sent, if they
    /// changed during it (they only grow).
    interfaces: Option<Vec<InterfaceInfo>>,
    sections: Option<Vec<SectionInfo>>,
    format: Option<FileFormat>,
    /// The source's error; always the last message.
    error: Option<CaptureError>,
    /// Packets the source had returned after this batch.
    packets_read: u64,
}

impl Batch {
    fn clear(&mut self) {
        self.bytes.clear();
        self.frames.clear();
        self.extras.clear();
        self.interfaces = None;
        self.sections = None;
        self.error = None;
    }
}

/// A [`FrameSource`] whose frames are read by another thread. See the module docs.
pub struct ReadAhead {
    rx: Receiver<Batch>,
    recycle: SyncSender<Batch>,
    cur: Batch,
    next: usize,
    extra: usize,
    interfaces: Vec<InterfaceInfo>,
    sections: Vec<SectionInfo>,
    format: Option<FileFormat>,
    packets_read: u64,
    /// Interfaces and sections visible with the frame last returned.
    shown: (usize, usize),
    done: bool,
    thread: Option<JoinHandle<()>>,
}

impl ReadAhead {
    /// Starts reading `src` on a new thread.
    pub fn new(src: Box<dyn FrameSource + Send>) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel::<Batch>(DEPTH);
        let (recycle, spare) = sync_channel::<Batch>(DEPTH + 2);
        let thread = std::thread::Builder::new()
            .name("wiretale-read".into())
            .spawn(move || reader(src, tx, spare))?;
        Ok(ReadAhead {
            rx,
            recycle,
            cur: Batch::default(),
            next: 0,
            extra: 0,
            interfaces: Vec::new(),
            sections: Vec::new(),
            format: None,
            packets_read: 0,
            shown: (0, 0),
            done: false,
            thread: Some(thread),
        })
    }

    /// Moves to the next batch; false at the end.
    fn advance(&mut self) -> Result<bool, CaptureError> {
        if self.done {
            return Ok(false);
        }
        let Ok(b) = self.rx.recv() else {
            // The reader ended without an error message: end of input.
            self.done = true;
            self.shown = (self.interfaces.len(), self.sections.len());
            return Ok(false);
        };
        let old = std::mem::replace(&mut self.cur, b);
        let _ = self.recycle.try_send(old);
        self.next = 0;
        self.extra = 0;
        if let Some(i) = self.cur.interfaces.take() {
            self.interfaces = i;
        }
        if let Some(s) = self.cur.sections.take() {
            self.sections = s;
        }
        self.format = self.cur.format.or(self.format);
        self.packets_read = self.cur.packets_read;
        if self.cur.frames.is_empty() {
            if let Some(e) = self.cur.error.take() {
                self.done = true;
                self.shown = (self.interfaces.len(), self.sections.len());
                return Err(e);
            }
        }
        Ok(true)
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        // Stop the reader: it sees the closed channel at its next send and returns.
        let (_, dead) = sync_channel::<Batch>(0);
        drop(std::mem::replace(&mut self.rx, dead));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn reader(mut src: Box<dyn FrameSource + Send>, tx: SyncSender<Batch>, spare: Receiver<Batch>) {
    let mut seen = (0usize, 0usize);
    loop {
        let mut b = spare.try_recv().unwrap_or_default();
        b.clear();
        let mut end = false;
        while b.frames.len() < BATCH_FRAMES && b.bytes.len() < BATCH_BYTES {
            match src.next_frame() {
                Ok(Some(f)) => {
                    let at = b.bytes.len();
                    b.bytes.extend_from_slice(f.data);
                    let (meta, len) = (f.meta, f.data.len());
                    let secrets = f.secrets.to_vec();
                    let lists = (src.interfaces().len() as u32, src.sections().len() as u32);
                    b.frames.push((meta, at, len, lists));
                    let (comments, anomaly) = (src.comments(), src.anomaly());
                    if !comments.is_empty() || anomaly.is_some() || !secrets.is_empty() {
                        b.extras.push(Extras {
                            at: b.frames.len() - 1,
                            comments: comments.to_vec(),
                            anomaly: anomaly.cloned(),
                            secrets,
                        });
                    }
                }
                Ok(None) => {
                    end = true;
                    break;
                }
                Err(e) => {
                    b.error = Some(e);
                    end = true;
                    break;
                }
            }
        }
        if src.interfaces().len() != seen.0 {
            seen.0 = src.interfaces().len();
            b.interfaces = Some(src.interfaces().to_vec());
        }
        if src.sections().len() != seen.1 {
            seen.1 = src.sections().len();
            b.sections = Some(src.sections().to_vec());
        }
        b.format = src.format();
        b.packets_read = src.packets_read();
        // An error goes alone in a message after the frames before it.
        let err = if b.frames.is_empty() {
            None
        } else {
            b.error.take()
        };
        if tx.send(b).is_err() {
            return;
        }
        if let Some(e) = err {
            let last = Batch {
                error: Some(e),
                packets_read: src.packets_read(),
                format: src.format(),
                ..Batch::default()
            };
            let _ = tx.send(last);
            return;
        }
        if end {
            return;
        }
    }
}

impl FrameSource for ReadAhead {
    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        while self.next >= self.cur.frames.len() {
            if !self.advance()? {
                return Ok(None);
            }
        }
        let i = self.next;
        self.next += 1;
        while self.cur.extras.get(self.extra).is_some_and(|e| e.at < i) {
            self.extra += 1;
        }
        let (meta, at, len, lists) = self.cur.frames[i];
        self.shown = (lists.0 as usize, lists.1 as usize);
        let data = self.cur.bytes.get(at..at + len).unwrap_or_default();
        let secrets = self.current_extras().map_or(&[][..], |e| &e.secrets[..]);
        Ok(Some(Frame {
            meta,
            data,
            secrets,
        }))
    }
    fn interfaces(&self) -> &[InterfaceInfo] {
        self.interfaces
            .get(..self.shown.0)
            .unwrap_or(&self.interfaces)
    }
    fn sections(&self) -> &[SectionInfo] {
        self.sections.get(..self.shown.1).unwrap_or(&self.sections)
    }
    fn format(&self) -> Option<FileFormat> {
        self.format
    }
    fn comments(&self) -> &[String] {
        self.current_extras().map_or(&[], |e| &e.comments)
    }
    fn anomaly(&self) -> Option<&Anomaly> {
        self.current_extras().and_then(|e| e.anomaly.as_ref())
    }
    fn packets_read(&self) -> u64 {
        // Frames handed out so far (the reader may be ahead).
        let pending = (self.cur.frames.len() - self.next.min(self.cur.frames.len())) as u64;
        self.packets_read.saturating_sub(pending)
    }
}

impl ReadAhead {
    /// Extras of the frame last returned.
    fn current_extras(&self) -> Option<&Extras> {
        let last = self.next.checked_sub(1)?;
        self.cur.extras.get(self.extra).filter(|e| e.at == last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::open;
    use crate::testutil::shared_capture;

    /// Everything a consumer can observe, frame by frame, then the end or the error.
    fn observe(mut s: Box<dyn FrameSource + Send>) -> Vec<String> {
        let mut v = Vec::new();
        loop {
            match s.next_frame() {
                Ok(Some(f)) => {
                    let (meta, data) = (f.meta, f.data.to_vec());
                    v.push(format!(
                        "{meta:?} {data:?} {:?} {:?} {} {:?}",
                        s.comments(),
                        s.anomaly(),
                        s.packets_read(),
                        s.interfaces().len()
                    ));
                }
                Ok(None) => {
                    v.push(format!("end {:?} {:?}", s.format(), s.sections()));
                    return v;
                }
                Err(e) => {
                    v.push(format!("error {e:?}"));
                    return v;
                }
            }
        }
    }

    fn same_as_direct(path: &std::path::Path) {
        let direct = observe(open(path).expect("open"));
        let ahead = observe(Box::new(
            ReadAhead::new(open(path).expect("open")).expect("thread"),
        ));
        assert_eq!(direct.len(), ahead.len(), "{}", path.display());
        for (i, (a, b)) in direct.iter().zip(&ahead).enumerate() {
            assert_eq!(a, b, "{} item {i}", path.display());
        }
    }

    #[test]
    fn identical_to_direct_reading() {
        // Several interfaces and sections, comments, a damaged tail, many batches.
        for rel in [
            "zeek/http-206_example_b.pcap",
            "pcapng-test-generator/test202.pcapng",
            "pcapng-test-generator/test009.pcapng",
            "pcap-parser/test001-be.pcapng",
            "suricata-verify/http-mime-truncated.pcap",
        ] {
            same_as_direct(&shared_capture(rel));
        }
    }

    #[test]
    fn every_truncation_gives_the_same_frames_and_error() {
        // zeek/http-get-gzip.pcap cut at every length: the same frames, then the same
        // error (or end) as reading directly.
        let bytes = std::fs::read(shared_capture("zeek/http-get-gzip.pcap")).expect("read");
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("cut.pcap");
        for n in (0..bytes.len()).step_by(7).chain([bytes.len()]) {
            std::fs::write(&p, &bytes[..n]).expect("write");
            same_as_direct(&p);
        }
    }

    #[test]
    fn dropping_early_stops_the_reader() {
        let p = shared_capture("zeek/http-206_example_b.pcap");
        let mut r = ReadAhead::new(open(&p).expect("open")).expect("thread");
        assert!(r.next_frame().expect("frame").is_some());
        drop(r); // joins the thread: must not hang
    }
}
