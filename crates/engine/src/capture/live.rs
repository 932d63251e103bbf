//! Live capture through libpcap (the `pcap` crate).
//!
//! A capture thread owns the libpcap handle in **non-blocking** mode and waits for it
//! with `poll(2)` on its descriptor (a blocking read never returns on an idle interface,
//! whatever the timeout; see PITFALLS.md), so the stop flag is honoured within one poll
//! interval and a packet is read as soon as the kernel hands it over. Every frame is
//! appended to a spill file (nanosecond pcap written by [`PcapWriter`]), which is what
//! `-w` saves. The consumer gets [`FrameBatch`]es through a bounded channel, in one of two
//! ways ([`Delivery`]): with the frames (one contiguous byte buffer per batch, no
//! allocation per packet; a consumer that falls behind makes the capture wait), or as
//! mere "the file grew" notices for a consumer that reads the spill file itself (the
//! capture then never waits for it).
//!
//! Keeping up at line rate (issue 18; `benches/live/replay.sh` measures it) rests on
//! libpcap's ring, not on this thread being fast: the kernel copies packets into a
//! shared ring of [`LiveOptions::buffer_size`] bytes and drops (and counts, `ps_drop`)
//! only when the ring is full. So the ring is large by default ([`DEFAULT_BUFFER_SIZE`],
//! a quarter second of 1 Gbit/s, where tcpdump's 2 MiB holds 17 ms) and not in
//! immediate mode: libpcap then uses TPACKET_V3, whose blocks pack packets by their
//! real size, while immediate mode falls back to TPACKET_V2, one fixed slot per packet
//! sized for the largest frame (with receive offloads on, 64 KiB: a 2 MiB ring then
//! holds 32 packets). Packets are delivered when a block fills or after
//! [`LiveOptions::batch_interval`], which bounds how late a live line is printed.

use std::io::BufWriter;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pcap::{Active, Capture, Device, Precision};

use super::error::{CaptureError, ErrorKind};
use super::write::PcapWriter;
use super::{Frame, FrameMeta};
use crate::base::{LinkType, PacketId, Timestamp};

/// A capture device as libpcap lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    pub name: String,
    pub description: Option<String>,
    pub addresses: Vec<IpAddr>,
    pub up: bool,
    pub running: bool,
    pub loopback: bool,
}

fn live_err(message: impl Into<String>) -> CaptureError {
    CaptureError::plain(ErrorKind::Live {
        message: message.into(),
    })
}

/// The devices libpcap can capture on.
pub fn devices() -> Result<Vec<DeviceInfo>, CaptureError> {
    let list = Device::list().map_err(|e| live_err(format!("listing devices: {e}")))?;
    Ok(list
        .into_iter()
        .map(|d| DeviceInfo {
            up: d.flags.is_up(),
            running: d.flags.is_running(),
            loopback: d.flags.is_loopback(),
            addresses: d.addresses.iter().map(|a| a.addr).collect(),
            description: d.desc,
            name: d.name,
        })
        .collect())
}

/// The kernel ring libpcap captures into by default (bytes): 32 MiB, about 270 ms of
/// traffic at 1 Gbit/s, so a consumer or a disk that stalls for a moment costs no packet.
/// tcpdump's default is 2 MiB (`-B 2048`).
pub const DEFAULT_BUFFER_SIZE: u32 = 32 << 20;

/// What the capture thread hands the consumer through [`LiveCapture::batches`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Batches carry the frames. A consumer that falls behind makes the capture wait
    /// (the kernel ring then fills and the kernel counts what it drops, as tcpdump
    /// reports): every frame the analysis sees is in the file and the other way round.
    Frames,
    /// Batches carry no frames: each says the spill file grew (it is flushed first), and
    /// the consumer reads the frames from the file ([`super::FrameStore::open_growing`]).
    /// The capture never waits for the consumer: a notice that does not fit the
    /// channel is skipped (the next one says the same), and a consumer that falls
    /// behind catches up from the file.
    FileOnly,
}

/// Options for [`LiveCapture::start`].
#[derive(Clone, Debug)]
pub struct LiveOptions {
    pub device: String,
    pub snaplen: u32,
    pub promisc: bool,
    /// Deliver each packet as it arrives (TPACKET_V2 in libpcap: fixed-size slots, far
    /// fewer packets in the same ring; see the module docs) instead of by blocks of the
    /// ring, at most [`LiveOptions::batch_interval`] late. Off by default.
    pub immediate: bool,
    /// Bytes of the kernel ring libpcap captures into ([`DEFAULT_BUFFER_SIZE`]).
    pub buffer_size: u32,
    /// Frames in the batches, or only notices (see [`Delivery`]).
    pub delivery: Delivery,
    /// BPF expression applied in the kernel.
    pub filter: Option<String>,
    /// Where the spill file goes (what `-w` names, overwritten like tcpdump's `-w`);
    /// `None`: see [`LiveOptions::keep_in`].
    pub savefile: Option<PathBuf>,
    /// Without `savefile`: directories, in order of preference, where a new file named
    /// after the interface and the start time is created and kept ([`new_capture_file`];
    /// an existing file is never overwritten; the next directory is tried when one
    /// refuses). Empty too: a temporary file deleted when the [`LiveCapture`] is dropped
    /// (see [`LiveCapture::spill_path`]).
    pub keep_in: Vec<PathBuf>,
    /// Most frames per batch.
    pub batch_frames: usize,
    /// A batch is sent at least this often when it has frames; also libpcap's read
    /// timeout (how long a partly filled block of the ring may wait).
    pub batch_interval: Duration,
    /// Batches the channel holds before the consumer is considered behind.
    pub channel_batches: usize,
    /// Longest wait for the device when nothing is ready (the stop flag is checked
    /// at least this often).
    pub poll_interval: Duration,
}

impl LiveOptions {
    pub fn new(device: impl Into<String>) -> Self {
        LiveOptions {
            device: device.into(),
            snaplen: 262_144,
            promisc: true,
            immediate: false,
            buffer_size: DEFAULT_BUFFER_SIZE,
            delivery: Delivery::Frames,
            filter: None,
            savefile: None,
            keep_in: Vec::new(),
            batch_frames: 1024,
            batch_interval: Duration::from_millis(50),
            channel_batches: 64,
            poll_interval: Duration::from_millis(20),
        }
    }
}

/// Frames captured together: metadata plus one shared byte buffer.
#[derive(Clone, Debug, Default)]
pub struct FrameBatch {
    metas: Vec<FrameMeta>,
    ends: Vec<usize>,
    bytes: Vec<u8>,
}

impl FrameBatch {
    pub fn len(&self) -> usize {
        self.metas.len()
    }
    pub fn is_empty(&self) -> bool {
        self.metas.is_empty()
    }
    fn push(&mut self, meta: FrameMeta, data: &[u8]) {
        self.bytes.extend_from_slice(data);
        self.ends.push(self.bytes.len());
        self.metas.push(meta);
    }
    pub fn get(&self, i: usize) -> Option<Frame<'_>> {
        let start = if i == 0 { 0 } else { *self.ends.get(i - 1)? };
        let end = *self.ends.get(i)?;
        Some(Frame {
            meta: *self.metas.get(i)?,
            data: self.bytes.get(start..end)?,
            secrets: &[],
        })
    }
    pub fn iter(&self) -> impl Iterator<Item = Frame<'_>> {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// Counters of a live capture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// libpcap's received / dropped (kernel buffer full) / dropped by the interface.
    pub received: u32,
    pub dropped: u32,
    pub if_dropped: u32,
    /// Frames read from libpcap (all are in the spill file).
    pub frames: u64,
    /// Batches the consumer did not take in time (their frames are only in the spill file).
    pub batches_not_delivered: u64,
}

/// A running live capture; see the module docs. Dropping it stops the capture.
pub struct LiveCapture {
    rx: Receiver<FrameBatch>,
    stop: Arc<AtomicBool>,
    stats: Arc<Mutex<LiveStats>>,
    error: Arc<Mutex<Option<CaptureError>>>,
    thread: Option<JoinHandle<()>>,
    link: LinkType,
    savefile: Option<PathBuf>,
    spill: PathBuf,
    /// Deletes the temporary spill file on drop (after the thread has stopped).
    _temp: Option<tempfile::TempPath>,
}

/// Turns a libpcap open error into one line; permission problems name the two fixes,
/// the second with the path of the binary actually running (so it can be pasted as is).
fn open_error(device: &str, e: &pcap::Error) -> CaptureError {
    let text = e.to_string();
    let lower = text.to_lowercase();
    if lower.contains("not permitted") || lower.contains("permission") {
        let exe = std::env::current_exe().ok();
        live_err(permission_message(device, &text, exe.as_deref()))
    } else if lower.contains("no such device") || lower.contains("doesn't exist") {
        live_err(format!("no capture device named {device:?} ({text})"))
    } else {
        live_err(format!("opening {device}: {text}"))
    }
}

/// The no-permission line: both fixes, `setcap` with `exe` (the running binary, as
/// `std::env::current_exe` resolves it: capabilities belong to the real file, not to a
/// symlink to it), quoted for a POSIX shell when it needs to be.
fn permission_message(device: &str, cause: &str, exe: Option<&Path>) -> String {
    let path = exe.map_or_else(
        || "\"$(command -v wiretale)\"".to_string(),
        |p| shell_quote(&p.to_string_lossy()),
    );
    format!(
        "no permission to capture on {device} ({cause}): run as root, or give this binary capture rights once with `sudo setcap cap_net_raw,cap_net_admin=eip {path}`"
    )
}

/// `s` as one POSIX shell word: unchanged when it has only safe characters, else in
/// single quotes (a quote inside becomes `'\''`).
fn shell_quote(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+,:@%=".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Creates a new, empty capture file in `dir` named after the interface and the start
/// time in UTC, e.g. `wiretale-eth0-20261205-173502Z.pcap`, never overwriting one that
/// exists (`-1`, `-2`, … are added until a name is free). The name sorts by time and
/// says where the packets came from.
pub fn new_capture_file(
    dir: &Path,
    iface: &str,
    now: std::time::SystemTime,
) -> std::io::Result<(std::fs::File, PathBuf)> {
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let iface: String = iface
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stem = format!("wiretale-{iface}-{}", utc_stamp(secs));
    for n in 0..1000u32 {
        let name = if n == 0 {
            format!("{stem}.pcap")
        } else {
            format!("{stem}-{n}.pcap")
        };
        let p = dir.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)
        {
            Ok(f) => return Ok((f, p)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        format!("1000 files named {stem}*.pcap exist"),
    ))
}

/// `YYYYMMDD-HHMMSSZ` for seconds since the epoch (UTC; days to a civil date by Howard
/// Hinnant's algorithm, proleptic Gregorian).
fn utc_stamp(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = crate::base::time::civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// LINKTYPE for a DLT: equal except DLT_RAW (12, 14) which files call 101.
fn linktype_of(dlt: i32) -> LinkType {
    match dlt {
        12 | 14 => LinkType::RAW,
        n => LinkType(n as u32),
    }
}

impl LiveCapture {
    /// Opens the device and starts the capture thread.
    pub fn start(opts: LiveOptions) -> Result<LiveCapture, CaptureError> {
        let dev = opts.device.clone();
        let cap = Capture::from_device(dev.as_str())
            .map_err(|e| open_error(&dev, &e))?
            .snaplen(opts.snaplen.min(i32::MAX as u32) as i32)
            .promisc(opts.promisc)
            .immediate_mode(opts.immediate)
            .buffer_size(opts.buffer_size.min(i32::MAX as u32) as i32)
            .precision(Precision::Nano)
            .timeout(opts.batch_interval.as_millis().clamp(1, 1000) as i32)
            .open()
            .map_err(|e| open_error(&dev, &e))?;
        let mut cap = cap.setnonblock().map_err(|e| open_error(&dev, &e))?;
        if let Some(f) = &opts.filter {
            cap.filter(f, true).map_err(|e| {
                CaptureError::plain(ErrorKind::Filter {
                    expr: f.clone(),
                    message: e.to_string(),
                })
            })?;
        }
        let link = linktype_of(cap.get_datalink().0);
        let (file, spill, temp) = match &opts.savefile {
            Some(p) => (
                std::fs::File::create(p)
                    .map_err(|e| CaptureError::io(p.display().to_string(), &e))?,
                p.clone(),
                None,
            ),
            None if !opts.keep_in.is_empty() => {
                let now = std::time::SystemTime::now();
                let mut made = Err(CaptureError::plain(ErrorKind::Live {
                    message: "no directory for the capture file".into(),
                }));
                for dir in &opts.keep_in {
                    made = new_capture_file(dir, &dev, now).map_err(|e| {
                        CaptureError::io(
                            format!("creating a capture file in {}", dir.display()),
                            &e,
                        )
                    });
                    if made.is_ok() {
                        break;
                    }
                }
                let (f, p) = made?;
                (f, p, None)
            }
            None => {
                let t = tempfile::Builder::new()
                    .prefix("wiretale-live-")
                    .suffix(".pcap")
                    .tempfile()
                    .map_err(|e| CaptureError::io("creating the spill file", &e))?;
                let (f, tp) = t.into_parts();
                (f, tp.to_path_buf(), Some(tp))
            }
        };
        let writer = PcapWriter::new(
            BufWriter::with_capacity(1 << 20, file),
            link,
            opts.snaplen,
            true,
        )?;
        let (tx, rx) = sync_channel(opts.channel_batches.max(1));
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Mutex::new(LiveStats::default()));
        let error = Arc::new(Mutex::new(None));
        let worker = Worker {
            cap,
            writer,
            tx,
            stop: stop.clone(),
            stats: stats.clone(),
            error: error.clone(),
            link,
            opts: opts.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("capture {dev}"))
            .spawn(move || worker.run())
            .map_err(|e| CaptureError::io("starting the capture thread", &e))?;
        Ok(LiveCapture {
            rx,
            stop,
            stats,
            error,
            thread: Some(thread),
            link,
            savefile: opts.savefile,
            spill,
            _temp: temp,
        })
    }

    /// Batches as they are captured; disconnected once the capture has stopped.
    pub fn batches(&self) -> &Receiver<FrameBatch> {
        &self.rx
    }

    pub fn link(&self) -> LinkType {
        self.link
    }

    /// The named spill file (`-w`), if one was asked for.
    pub fn savefile(&self) -> Option<&Path> {
        self.savefile.as_deref()
    }

    /// The spill file (nanosecond pcap, flushed before each batch is sent): open it with
    /// [`super::FrameStore::open_growing`] for random access to everything captured.
    pub fn spill_path(&self) -> &Path {
        &self.spill
    }

    /// Counters so far (libpcap's are refreshed about twice a second).
    pub fn stats(&self) -> LiveStats {
        self.stats.lock().map(|s| *s).unwrap_or_default()
    }

    /// The error that ended the capture thread, if any.
    pub fn error(&self) -> Option<CaptureError> {
        self.error.lock().ok().and_then(|e| e.clone())
    }

    /// Asks the capture thread to stop (it does within one poll interval).
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Stops, waits for the thread (which flushes the spill file) and returns the final
    /// counters, or the error that ended the capture.
    pub fn stop(mut self) -> Result<LiveStats, CaptureError> {
        self.request_stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        match self.error() {
            Some(e) => Err(e),
            None => Ok(self.stats()),
        }
    }
}

impl Drop for LiveCapture {
    fn drop(&mut self) {
        self.request_stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Worker {
    cap: Capture<Active>,
    writer: PcapWriter<BufWriter<std::fs::File>>,
    tx: SyncSender<FrameBatch>,
    stop: Arc<AtomicBool>,
    stats: Arc<Mutex<LiveStats>>,
    error: Arc<Mutex<Option<CaptureError>>>,
    link: LinkType,
    opts: LiveOptions,
}

impl Worker {
    fn run(mut self) {
        if let Err(e) = self.lp() {
            if let Ok(mut slot) = self.error.lock() {
                *slot = Some(e);
            }
        }
        let _ = self.writer.flush();
        self.refresh_stats(0, 0);
    }

    fn refresh_stats(&mut self, frames: u64, not_delivered: u64) {
        let st = self.cap.stats().ok();
        if let Ok(mut s) = self.stats.lock() {
            if let Some(st) = st {
                s.received = st.received;
                s.dropped = st.dropped;
                s.if_dropped = st.if_dropped;
            }
            s.frames += frames;
            s.batches_not_delivered += not_delivered;
        }
    }

    /// Hands what was read since the last call to the consumer, the spill file flushed
    /// first (so a consumer reading the file finds every frame it is told about).
    fn send(
        &mut self,
        batch: &mut FrameBatch,
        pending: &mut usize,
        not_delivered: &mut u64,
    ) -> Result<(), CaptureError> {
        if *pending == 0 {
            return Ok(());
        }
        *pending = 0;
        self.writer.flush()?;
        if self.opts.delivery == Delivery::FileOnly {
            // A notice already waiting says the same; nobody listening is fine too.
            let _ = self.tx.try_send(FrameBatch::default());
            return Ok(());
        }
        // A slow consumer makes the capture wait (the kernel's buffer then fills and the
        // kernel counts what it drops, as tcpdump reports): every frame the analysis
        // sees is in the file and the other way round, so live and offline agree.
        let mut pending = std::mem::take(batch);
        loop {
            match self.tx.try_send(pending) {
                Ok(()) => break,
                Err(TrySendError::Full(b)) => {
                    if self.stop.load(Ordering::Relaxed) {
                        *not_delivered += 1;
                        break;
                    }
                    pending = b;
                    std::thread::sleep(Duration::from_millis(1));
                }
                // Nobody listens: keep capturing into the spill file until told to stop.
                Err(TrySendError::Disconnected(_)) => break,
            }
        }
        Ok(())
    }

    /// Waits until the device has packets for us, at most `poll_interval` (an error
    /// such as an interrupted call just ends the wait early).
    fn wait_readable(&self) {
        use nix::poll::{poll, PollFd, PollFlags};
        use std::os::fd::AsFd;
        let ms = self
            .opts
            .poll_interval
            .as_millis()
            .min(u128::from(u16::MAX)) as u16;
        let mut fds = [PollFd::new(self.cap.as_fd(), PollFlags::POLLIN)];
        let _ = poll(&mut fds, ms);
    }

    fn lp(&mut self) -> Result<(), CaptureError> {
        let mut batch = FrameBatch::default();
        let frames_too = self.opts.delivery == Delivery::Frames;
        // Frames read but not yet announced to the consumer.
        let mut pending = 0usize;
        let mut batch_start = Instant::now();
        let mut last_stats = Instant::now();
        let (mut frames, mut not_delivered) = (0u64, 0u64);
        let mut id: u64 = 0;
        while !self.stop.load(Ordering::Relaxed) {
            match self.cap.next_packet() {
                Ok(p) => {
                    // Precision::Nano: the field named tv_usec holds nanoseconds.
                    // time_t is i32 on some targets, hence the conversion.
                    #[allow(clippy::useless_conversion)]
                    let secs = i64::from(p.header.ts.tv_sec);
                    let ts = Timestamp::from_parts(
                        secs,
                        u64::try_from(p.header.ts.tv_usec).unwrap_or(0),
                        1_000_000_000,
                    );
                    id += 1;
                    frames += 1;
                    self.writer.write_packet(ts, p.data, p.header.len)?;
                    if pending == 0 {
                        batch_start = Instant::now();
                    }
                    pending += 1;
                    if frames_too {
                        let meta = FrameMeta {
                            id: PacketId((id - 1).min(u64::from(u32::MAX)) as u32),
                            ts,
                            iface: 0,
                            link: self.link,
                            caplen: p.data.len() as u32,
                            origlen: p.header.len,
                        };
                        batch.push(meta, p.data);
                    }
                    // Under steady traffic libpcap may never say "nothing ready": the
                    // batch still goes out within `batch_interval`, so what is printed
                    // live is never held longer than that.
                    if pending >= self.opts.batch_frames
                        || batch_start.elapsed() >= self.opts.batch_interval
                    {
                        self.send(&mut batch, &mut pending, &mut not_delivered)?;
                    }
                }
                Err(pcap::Error::TimeoutExpired) => {
                    // Nothing more is ready (libpcap hands over the ring a block at a
                    // time, or a packet at a time in immediate mode): what was read goes
                    // out now, then we wait for the kernel to fill the next block.
                    self.send(&mut batch, &mut pending, &mut not_delivered)?;
                    self.wait_readable();
                }
                Err(e) => return Err(live_err(format!("reading from {}: {e}", self.opts.device))),
            }
            if last_stats.elapsed() >= Duration::from_millis(500) {
                self.refresh_stats(
                    std::mem::take(&mut frames),
                    std::mem::take(&mut not_delivered),
                );
                last_stats = Instant::now();
            }
        }
        self.send(&mut batch, &mut pending, &mut not_delivered)?;
        self.refresh_stats(frames, not_delivered);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::open;

    fn is_root() -> bool {
        std::fs::read_to_string("/proc/self/status")
            .map(|s| {
                s.lines()
                    .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
            })
            .unwrap_or(false)
    }

    /// A capture on `lo` of the UDP datagrams to a fresh port, saved in a temporary
    /// file: the socket (bound, so the port stays ours), its port, the directory, the
    /// file and the options. Fails (never passes) without root.
    fn lo_udp_capture(
        test: &str,
    ) -> (
        std::net::UdpSocket,
        u16,
        tempfile::TempDir,
        std::path::PathBuf,
        LiveOptions,
    ) {
        assert!(
            is_root(),
            "{test} needs root (or cap_net_raw): run the tests as root, as CI does"
        );
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = sock.local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        let save = dir.path().join("live.pcap");
        let mut opts = LiveOptions::new("lo");
        opts.filter = Some(format!("udp dst port {port}"));
        opts.savefile = Some(save.clone());
        (sock, port, dir, save, opts)
    }

    #[test]
    fn captures_udp_on_loopback() {
        let (_sock, port, _dir, save, opts) = lo_udp_capture("captures_udp_on_loopback");
        let devs = devices().unwrap();
        assert!(
            devs.iter().any(|d| d.name == "lo" && d.loopback),
            "{devs:?}"
        );
        let live = LiveCapture::start(opts).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..5u8 {
            sender
                .send_to(&[b'w', b't', i], ("127.0.0.1", port))
                .unwrap();
        }
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while got.len() < 5 && Instant::now() < deadline {
            if let Ok(b) = live.batches().recv_timeout(Duration::from_millis(100)) {
                for f in b.iter() {
                    got.push((f.meta, f.data.to_vec()));
                }
            }
        }
        // The spill file is readable while capturing, through a growing store.
        let mut grow = crate::capture::FrameStore::open_growing(live.spill_path()).unwrap();
        grow.refresh().unwrap();
        grow.index_all();
        assert_eq!(grow.len(), 5);
        assert_eq!(grow.frame(PacketId(4)).unwrap().data, got[4].1.as_slice());
        let stats = live.stop().unwrap();
        assert_eq!(got.len(), 5, "captured {got:?}");
        for (i, (m, d)) in got.iter().enumerate() {
            assert!(d.ends_with(&[b'w', b't', i as u8]), "frame {i}: {d:?}");
            assert_eq!(m.caplen as usize, d.len());
        }
        assert!(stats.frames >= 5 && stats.received >= 5, "{stats:?}");
        // The spill file holds the same frames.
        let mut src = open(&save).unwrap();
        let mut n = 0;
        while let Some(f) = src.next_frame().unwrap() {
            assert_eq!(f.data, got[n].1.as_slice());
            assert_eq!(f.meta.ts, got[n].0.ts);
            n += 1;
        }
        assert_eq!(n, 5);
    }

    /// `Delivery::FileOnly`: the capture never waits for its consumer. Nobody reads the
    /// notices here and the channel holds one, yet every packet reaches the file while
    /// the capture runs (with `Delivery::Frames` the thread would wait on the full
    /// channel and leave the later packets in the kernel's ring).
    #[test]
    fn file_only_capture_never_waits_for_its_consumer() {
        let (_sock, port, _dir, _save, mut opts) =
            lo_udp_capture("file_only_capture_never_waits_for_its_consumer");
        opts.delivery = Delivery::FileOnly;
        opts.channel_batches = 1;
        opts.batch_frames = 1;
        opts.batch_interval = Duration::from_millis(1);
        opts.buffer_size = 1 << 20;
        let live = LiveCapture::start(opts).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..40u8 {
            sender
                .send_to(&[b'f', b'o', i], ("127.0.0.1", port))
                .unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
        let mut grow = crate::capture::FrameStore::open_growing(live.spill_path()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while grow.len() < 40 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            grow.refresh().unwrap();
            grow.index_all();
        }
        assert_eq!(grow.len(), 40, "frames in the file while capturing");
        // The notice that fit carries no frames.
        let notice = live.batches().try_recv().unwrap();
        assert!(notice.is_empty());
        let stats = live.stop().unwrap();
        assert_eq!(stats.frames, 40, "{stats:?}");
        assert_eq!(stats.batches_not_delivered, 0, "{stats:?}");
        assert_eq!(stats.dropped, 0, "{stats:?}");
    }

    #[test]
    fn unknown_device_is_one_clear_line() {
        let e = LiveCapture::start(LiveOptions::new("no-such-dev0"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("live capture: "), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn permission_message_names_both_fixes_with_the_running_binary() {
        let e = open_error(
            "eth0",
            &pcap::Error::PcapError("socket: Operation not permitted".into()),
        );
        let s = e.to_string();
        // The path of this very test binary (what current_exe resolves), not a placeholder.
        let exe = std::env::current_exe().unwrap();
        let want = format!(
            "`sudo setcap cap_net_raw,cap_net_admin=eip {}`",
            shell_quote(&exe.to_string_lossy())
        );
        assert!(s.contains("run as root") && s.ends_with(&want), "{s}");
        assert!(!s.contains("/path/to/"), "{s}");
        assert!(!s.contains('\n'));
    }

    #[test]
    fn permission_message_quotes_odd_paths_and_has_a_fallback() {
        let m = permission_message(
            "lo",
            "socket: Operation not permitted",
            Some(Path::new("/home/a b/it's/wiretale")),
        );
        assert_eq!(
            m,
            "no permission to capture on lo (socket: Operation not permitted): run as root, or give this binary capture rights once with `sudo setcap cap_net_raw,cap_net_admin=eip '/home/a b/it'\\''s/wiretale'`"
        );
        let m = permission_message("lo", "x", Some(Path::new("/usr/local/bin/wiretale")));
        assert!(m.ends_with("eip /usr/local/bin/wiretale`"), "{m}");
        let m = permission_message("lo", "x", None);
        assert!(m.ends_with("eip \"$(command -v wiretale)\"`"), "{m}");
    }

    #[test]
    fn utc_stamps_are_civil_dates() {
        assert_eq!(utc_stamp(0), "19700101-000000Z");
        // 2000-02-29 (a leap day of a century year) 23:59:59.
        assert_eq!(utc_stamp(951_868_799), "20000229-235959Z");
        assert_eq!(utc_stamp(1_796_492_102), "20261205-173502Z");
        assert_eq!(utc_stamp(-1), "19691231-235959Z");
    }

    #[test]
    fn new_capture_files_never_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let t = std::time::UNIX_EPOCH + Duration::from_secs(1_796_492_102);
        let (_, a) = new_capture_file(dir.path(), "eth0", t).unwrap();
        assert_eq!(
            a.file_name().unwrap().to_str().unwrap(),
            "wiretale-eth0-20261205-173502Z.pcap"
        );
        std::fs::write(&a, b"keep me").unwrap();
        let (_, b) = new_capture_file(dir.path(), "eth0", t).unwrap();
        assert_eq!(
            b.file_name().unwrap().to_str().unwrap(),
            "wiretale-eth0-20261205-173502Z-1.pcap"
        );
        assert_eq!(std::fs::read(&a).unwrap(), b"keep me");
        // Odd interface names cannot make a path of their own.
        let (_, c) = new_capture_file(dir.path(), "../x y", t).unwrap();
        assert_eq!(c.parent(), Some(dir.path()));
        assert!(
            c.ends_with("wiretale-.._x_y-20261205-173502Z.pcap"),
            "{c:?}"
        );
        // A directory that cannot take a file is an error, not a panic.
        assert!(new_capture_file(&dir.path().join("missing"), "lo", t).is_err());
    }

    #[test]
    fn batch_holds_frames_contiguously() {
        let mut b = FrameBatch::default();
        let m = |i| FrameMeta {
            id: PacketId(i),
            ts: Timestamp(0),
            iface: 0,
            link: LinkType::ETHERNET,
            caplen: 0,
            origlen: 0,
        };
        b.push(m(0), b"ab");
        b.push(m(1), b"");
        b.push(m(2), b"cde");
        let v: Vec<&[u8]> = b.iter().map(|f| f.data).collect();
        assert_eq!(v, [&b"ab"[..], b"", b"cde"]);
        assert!(b.get(3).is_none());
    }
}
