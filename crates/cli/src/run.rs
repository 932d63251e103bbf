//! Reading a capture through the engine: the loop every file subcommand shares.

use std::path::Path;

use std::collections::VecDeque;
use std::sync::mpsc;

use super::select::Selection;
use wiretale_engine::analysis::shard::{
    Dispatcher, Merged, Merger, Records, Window, WindowOut, Worker, DRAIN_EVERY, FINISH_CHUNK,
};
use wiretale_engine::analysis::{Engine, EngineConfig, Limits, PacketSummary};
use wiretale_engine::base::Timestamp;
use wiretale_engine::capture::{self, BpfFilter, CaptureError};
use wiretale_engine::proto::dns::DnsTransaction;
use wiretale_engine::proto::tls::KeyLog;
use wiretale_engine::story::{ConnRecord, HttpRecord, Pending};

/// What the per-packet callback wants next.
pub enum Next {
    Continue,
    /// Stop reading (a count was reached, or the output pipe closed).
    Stop,
}

/// The per-packet step of the record commands (`conns`, `dns`, `http`): note which
/// packets the display filter matched (records are kept by their packets), and stop
/// once `stop` is set (the output pipe closed).
pub fn record_matches<'a>(
    matched: &'a std::cell::RefCell<super::select::Matched>,
    stop: &'a std::cell::Cell<bool>,
) -> impl FnMut(Timestamp, Option<(&PacketSummary, bool)>) -> Next + 'a {
    move |_, p| {
        if let Some((s, hit)) = p {
            matched.borrow_mut().record(s, hit);
        }
        if stop.get() {
            Next::Stop
        } else {
            Next::Continue
        }
    }
}

/// What the engine does with one frame. Every command analyses every frame
/// ([`Share::Own`]); `extract --split I/N` analyses only its share of the capture and,
/// of the rest, the name service traffic (so its connections are named from every
/// lookup in the capture, as the whole run names them), and takes only the time of
/// the other frames (the clock, and so every sweep, runs as it does over the whole
/// file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Share {
    /// Analysed, and its records are this run's.
    Own,
    /// Analysed for the names it carries (a DNS lookup of another part): its records
    /// are another run's.
    Names,
    /// Not analysed: its time moves the clock.
    Time,
}

/// Reads `path` frame by frame through a new engine, calling `each` for every packet
/// and `drain` every few thousand packets (so finished records stream out and memory
/// stays flat). `drain` must take (`take_conns`, `take_http`, `take_dns`) whatever it
/// wants at every call: what it leaves is discarded right after
/// ([`Engine::discard_untaken`]), so a command that ignores a kind of record does not
/// hold all of them until the end. Returns the engine (finished only if the whole input was read) and the
/// damage error, if the file was cut or corrupt: the caller prints it after the output.
///
/// With `-f` and `-Y` (`sel`): frames the capture filter rejects are skipped before
/// the engine (keeping the file's frame numbers); `each` is told whether the display
/// filter matched the packet (always true without one); `drain` also gets the
/// selection, to judge finished records (`Selection::keep_conn`).
pub fn drive_with(
    path: &Path,
    cfg: EngineConfig,
    sel: &mut Selection,
    mut each: impl FnMut(&mut Engine, &PacketSummary, bool) -> Next,
    drain: impl FnMut(&mut Engine, bool, &Selection),
) -> anyhow::Result<Option<CaptureError>> {
    drive_share(
        path,
        cfg,
        sel,
        |_| Share::Own,
        |engine, _, p| match p {
            Some((s, hit, _)) => each(engine, s, hit),
            None => Next::Continue,
        },
        drain,
    )
}

/// [`drive_with`] with a choice per frame (`share`, see [`Share`]): `each` gets every
/// frame's time, and for an analysed frame its summary, whether `-Y` matched it and
/// its share. Drains fall every [`DRAIN_EVERY`] frames whatever their share, as in a
/// run that analyses them all.
pub fn drive_share(
    path: &Path,
    cfg: EngineConfig,
    sel: &mut Selection,
    mut share: impl FnMut(&capture::Frame<'_>) -> Share,
    mut each: impl FnMut(&mut Engine, Timestamp, Option<(&PacketSummary, bool, Share)>) -> Next,
    mut drain: impl FnMut(&mut Engine, bool, &Selection),
) -> anyhow::Result<Option<CaptureError>> {
    let src = capture::open(path).map_err(|e| open_error(path, &e))?;
    let mut bpf = capture_filter(sel.bpf.as_deref(), src.as_ref())?;
    let mut src = read_ahead(src)?;
    let mut engine = Engine::new(cfg);
    if let Some(p) = &sel.keylog {
        engine.set_tls_keys(read_keylog(p, false)?);
    }
    let mut damage = None;
    let mut n: u64 = 0;
    let mut stopped = false;
    loop {
        match src.next_frame() {
            Ok(Some(frame)) => {
                if !bpf_keeps(&mut bpf, &frame)? {
                    continue;
                }
                let ts = frame.meta.ts;
                let next = match share(&frame) {
                    Share::Time => {
                        for s in frame.secrets {
                            engine.add_secrets(s);
                        }
                        engine.clock(ts);
                        each(&mut engine, ts, None)
                    }
                    kind => {
                        let s = engine.process(&frame);
                        let matched = match &mut sel.matcher {
                            Some(m) => m.matches(&frame, &s),
                            None => true,
                        };
                        each(&mut engine, ts, Some((&s, matched, kind)))
                    }
                };
                n += 1;
                if let Next::Stop = next {
                    stopped = true;
                    break;
                }
                if n.is_multiple_of(DRAIN_EVERY) {
                    drain(&mut engine, false, sel);
                    engine.discard_untaken();
                }
            }
            Ok(None) => break,
            // Not a capture at all (unknown format, unreadable): a plain error, exit 1.
            Err(e) if !e.is_damage() => return Err(anyhow::anyhow!("{}: {e}", path.display())),
            Err(e) => {
                damage = Some(e);
                break;
            }
        }
    }
    if !stopped {
        // The connections still open are finished a chunk at a time, each chunk drained
        // before the next: the end never holds all their records at once.
        while !engine.finish_some(FINISH_CHUNK) {
            drain(&mut engine, false, sel);
            engine.discard_untaken();
        }
        drain(&mut engine, true, sel);
    }
    super::limits::report(&engine.limits_hit());
    Ok(damage)
}

/// For a consumer that needs every record of the end in one drain (sorted together,
/// or named by the end's lookups): keeps the connections and HTTP exchanges of the
/// end's chunks ([`Records::finishing`]) and hands them, before the last drain's own,
/// to that drain, so the consumer sees the end as one `finish` gives it.
#[derive(Default)]
pub struct WholeEnd {
    /// The end's connections in the chunks they were taken in (never one block of all
    /// of them: see `wiretale_engine::analysis::chunked`).
    conns: Vec<Vec<ConnRecord>>,
    http: Vec<HttpRecord>,
}

impl WholeEnd {
    /// Runs the consumer's drain `f`, or keeps a chunk of the end for the last drain.
    pub fn drain(
        &mut self,
        r: &mut dyn Records,
        at_end: bool,
        f: impl FnOnce(&mut dyn Records, bool),
    ) {
        if r.finishing() {
            self.conns.append(&mut r.take_conn_chunks());
            self.http.append(&mut r.take_http());
            return;
        }
        if self.conns.is_empty() && self.http.is_empty() {
            return f(r, at_end);
        }
        let mut whole = Replay {
            inner: r,
            conns: std::mem::take(&mut self.conns),
            http: std::mem::take(&mut self.http),
        };
        f(&mut whole, at_end);
    }
}

/// The last drain of the end with the chunks kept before it ([`WholeEnd`]).
struct Replay<'a> {
    inner: &'a mut dyn Records,
    conns: Vec<Vec<ConnRecord>>,
    http: Vec<HttpRecord>,
}

impl Records for Replay<'_> {
    fn take_conns(&mut self) -> Vec<ConnRecord> {
        let chunks = self.take_conn_chunks();
        let mut v = Vec::with_capacity(chunks.iter().map(Vec::len).sum());
        for c in chunks {
            v.extend(c);
        }
        v
    }
    fn take_conn_chunks(&mut self) -> Vec<Vec<ConnRecord>> {
        let mut v = std::mem::take(&mut self.conns);
        v.append(&mut self.inner.take_conn_chunks());
        v
    }
    fn take_http(&mut self) -> Vec<HttpRecord> {
        let mut v = std::mem::take(&mut self.http);
        v.append(&mut self.inner.take_http());
        v
    }
    fn take_dns(&mut self, at_end: bool) -> Vec<DnsTransaction> {
        self.inner.take_dns(at_end)
    }
    fn now(&self) -> Timestamp {
        self.inner.now()
    }
    fn pending(&self) -> Pending {
        self.inner.pending()
    }
    fn finishing(&self) -> bool {
        false
    }
}

/// The record commands' loop (`conns`, `dns`, `http`, `story`): [`drive_with`] on one
/// engine, or the engine sharded across [`threads`] workers ([`drive_sharded`]) when
/// sharding keeps the output: not with `-Y` (the display filter matches packets as one
/// engine sees them, then connections by their packets), nor with a limit flag that
/// counts across the whole run (`--max-conns`, `--max-reassembly-bytes`,
/// `--max-frag-bytes`, `--max-dns-pending`: each shard would apply it to its share).
///
/// `each` gets every frame's time, with the packet's summary and whether `-Y` matched
/// it on one engine (`None` sharded, where no filter runs). `drain` is as in
/// [`drive_with`]. `pending_every`: the capture time between the drains where `drain`
/// asks for [`Records::pending`] (the story's rhythm), so that shards bring it then.
pub fn drive_records(
    path: &Path,
    cfg: EngineConfig,
    sel: &mut Selection,
    pending_every: Option<i64>,
    each: impl FnMut(Timestamp, Option<(&PacketSummary, bool)>) -> Next,
    drain: impl FnMut(&mut dyn Records, bool, &Selection),
) -> anyhow::Result<Option<CaptureError>> {
    drive_records_on(threads(), path, cfg, sel, pending_every, each, drain)
}

/// [`drive_records`] on `shards` engines (`extract` runs several files at once and
/// shares the threads out between them).
pub fn drive_records_on(
    shards: usize,
    path: &Path,
    cfg: EngineConfig,
    sel: &mut Selection,
    pending_every: Option<i64>,
    mut each: impl FnMut(Timestamp, Option<(&PacketSummary, bool)>) -> Next,
    mut drain: impl FnMut(&mut dyn Records, bool, &Selection),
) -> anyhow::Result<Option<CaptureError>> {
    if shards < 2 || sel.is_filtering() || counts_across_the_run(&cfg) {
        return drive_with(
            path,
            cfg,
            sel,
            |_, s, hit| each(s.ts, Some((s, hit))),
            |e, at_end, sel| drain(e, at_end, sel),
        );
    }
    drive_sharded(path, cfg, sel, shards, pending_every, each, drain)
}

/// Whether a limit that counts across all connections differs from its default
/// (sharded, each shard would count its own share against it).
fn counts_across_the_run(cfg: &EngineConfig) -> bool {
    let d = Limits::default();
    cfg.flow.max_conns != d.flow.max_conns
        || cfg.flow.max_total_buffered != d.flow.max_total_buffered
        || cfg.defrag.max_bytes != d.defrag.max_bytes
        || cfg.defrag.max_pending != d.defrag.max_pending
        || cfg.apps.dns_pending != d.apps.dns_pending
}

/// Windows (of [`DRAIN_EVERY`] frames) read ahead of the merge: the reader waits when
/// the workers are this far behind, so memory stays a few windows deep.
const WINDOWS_AHEAD: usize = 4;

/// [`drive_with`] on `shards` engines (`analysis::shard`): this thread reads, applies
/// `-f`, keys each frame to a shard and hands the windows to one worker thread per
/// shard; then it merges the workers' records window by window into one engine's
/// order and numbering and hands each merged window to `drain`, as one engine would
/// at that drain (`tests/threads.rs` compares every command's output over the corpus).
fn drive_sharded(
    path: &Path,
    cfg: EngineConfig,
    sel: &mut Selection,
    shards: usize,
    pending_every: Option<i64>,
    mut each: impl FnMut(Timestamp, Option<(&PacketSummary, bool)>) -> Next,
    mut drain: impl FnMut(&mut dyn Records, bool, &Selection),
) -> anyhow::Result<Option<CaptureError>> {
    let mut src = capture::open(path).map_err(|e| open_error(path, &e))?;
    let mut bpf = capture_filter(sel.bpf.as_deref(), src.as_ref())?;
    // One key log per shard (read-only; warnings said once).
    let mut keys = Vec::with_capacity(shards);
    for i in 0..shards {
        keys.push(match &sel.keylog {
            Some(p) if i == 0 => Some(read_keylog(p, false)?),
            Some(p) => Some(KeyLog::read(p).map_err(|e| {
                anyhow::anyhow!("{}: cannot read the TLS key log: {e}", p.display())
            })?),
            None => None,
        });
    }
    let mut merger = Merger::new(shards);
    let result = std::thread::scope(|scope| -> anyhow::Result<Option<CaptureError>> {
        let mut to: Vec<mpsc::SyncSender<Window>> = Vec::with_capacity(shards);
        let mut from: Vec<mpsc::Receiver<WindowOut>> = Vec::with_capacity(shards);
        for (i, k) in keys.into_iter().enumerate() {
            let (tx, rx) = mpsc::sync_channel::<Window>(WINDOWS_AHEAD);
            let (otx, orx) = mpsc::sync_channel::<WindowOut>(WINDOWS_AHEAD);
            std::thread::Builder::new()
                .name(format!("shard-{i}"))
                .spawn_scoped(scope, move || {
                    let mut w = Worker::new(cfg, k);
                    for win in rx {
                        let mut out = w.run(win);
                        // The end comes in chunks: each sent as it is finished.
                        loop {
                            let more = out.more;
                            if otx.send(out).is_err() {
                                return;
                            }
                            if !more {
                                break;
                            }
                            out = w.more();
                        }
                    }
                })
                .map_err(|e| anyhow::anyhow!("cannot start a shard thread: {e}"))?;
            to.push(tx);
            from.push(orx);
        }
        let send = |ws: Vec<Window>| -> anyhow::Result<()> {
            for (tx, w) in to.iter().zip(ws) {
                tx.send(w)
                    .map_err(|_| anyhow::anyhow!("a shard worker stopped"))?;
            }
            Ok(())
        };
        // Merges the oldest window in flight and hands it to `drain`; the end's window
        // then the end's chunks, one drain each, until no worker has more.
        let mut collect = |merger: &mut Merger, at_end: bool, sel: &Selection| {
            let mut more = vec![true; from.len()];
            loop {
                let outs = from
                    .iter()
                    .zip(&more)
                    .map(|(r, &m)| if m { r.recv().map(Some) } else { Ok(None) })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| anyhow::anyhow!("a shard worker failed"))?;
                for (m, o) in more.iter_mut().zip(&outs) {
                    *m = o.as_ref().is_some_and(|o| o.more);
                }
                let mut m: Merged = merger.merge_some(outs, at_end);
                let last = !m.finishing();
                drain(&mut m, at_end && last, sel);
                merger.taken(&m);
                if last {
                    return anyhow::Ok(());
                }
            }
        };
        let mut d = Dispatcher::new(shards, pending_every);
        let mut in_flight: VecDeque<bool> = VecDeque::new();
        let mut damage = None;
        let mut stopped = false;
        loop {
            match src.next_frame() {
                Ok(Some(frame)) => {
                    if !bpf_keeps(&mut bpf, &frame)? {
                        continue;
                    }
                    if let Next::Stop = each(frame.meta.ts, None) {
                        stopped = true;
                        break;
                    }
                    if let Some(ws) = d.push(&frame) {
                        send(ws)?;
                        in_flight.push_back(false);
                        while in_flight.len() > WINDOWS_AHEAD {
                            in_flight.pop_front();
                            collect(&mut merger, false, sel)?;
                        }
                    }
                }
                Ok(None) => break,
                Err(e) if !e.is_damage() => return Err(anyhow::anyhow!("{}: {e}", path.display())),
                Err(e) => {
                    damage = Some(e);
                    break;
                }
            }
        }
        if !stopped {
            send(d.end())?;
            in_flight.push_back(true);
            while let Some(at_end) = in_flight.pop_front() {
                collect(&mut merger, at_end, sel)?;
            }
        }
        // Dropping the channels stops the workers (a stopped run leaves windows unread).
        drop(to);
        drop(from);
        Ok(damage)
    })?;
    super::limits::report(&merger.limits_hit());
    Ok(result)
}

/// Reads `--tls-keylog` (`follow`: a file the browser still appends to): a file that
/// cannot be read is a one-line error; lines that do not parse are warnings naming their
/// line (never the secret), and are skipped.
pub fn read_keylog(p: &Path, follow: bool) -> anyhow::Result<KeyLog> {
    let k = if follow {
        KeyLog::follow(p)
    } else {
        KeyLog::read(p)
    }
    .map_err(|e| anyhow::anyhow!("{}: cannot read the TLS key log: {e}", p.display()))?;
    for w in k.warnings() {
        eprintln!("wiretale: {}: {w}", p.display());
    }
    Ok(k)
}

/// One line naming the file once (some capture errors name it already).
pub fn open_error(path: &Path, e: &CaptureError) -> anyhow::Error {
    let msg = e.to_string();
    let p = path.display().to_string();
    if msg.starts_with(&p) {
        anyhow::anyhow!("{msg}")
    } else {
        anyhow::anyhow!("{p}: {msg}")
    }
}

/// Threads to use: `WIRETALE_THREADS` if set, else the cores available.
///
/// What each count buys: 1 = everything on one thread, one engine. N ≥ 2: `conns`,
/// `dns`, `http` and `story` run N shard engines on N threads while this thread reads
/// and merges ([`drive_records`]; `story` also tells and prints on a thread of its
/// own); `packets` keeps one engine and, from 3, reads ahead on its own thread
/// ([`capture::ReadAhead`], which measured slower than reading inline on two cores).
/// `tests/threads.rs` checks that every count gives the same output.
pub fn threads() -> usize {
    std::env::var("WIRETALE_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// With three or more threads, reading (the `read()` calls and the format walk) moves
/// to its own thread ([`capture::ReadAhead`]); the frames and errors are the same, so
/// the output is too (`tests/threads.rs` compares them).
fn read_ahead(
    src: Box<dyn capture::FrameSource + Send>,
) -> anyhow::Result<Box<dyn capture::FrameSource>> {
    if threads() < 3 {
        return Ok(src);
    }
    let ahead = capture::ReadAhead::new(src)
        .map_err(|e| anyhow::anyhow!("cannot start the reader thread: {e}"))?;
    Ok(Box::new(ahead))
}

/// Prints the damage error (after all output) and gives the exit status.
/// Ends a command that printed through `out`: flushes it, and gives the exit status. A
/// reader that went away (`| head`) is a clean exit whatever the capture held;
/// otherwise damage in the capture is reported ([`finish_status`]).
pub fn conclude(out: super::out::Out, damage: Option<CaptureError>) -> anyhow::Result<i32> {
    let pipe_closed = out.pipe_closed();
    out.finish()?;
    if pipe_closed {
        return Ok(0);
    }
    Ok(finish_status(damage))
}

pub fn finish_status(damage: Option<CaptureError>) -> i32 {
    match damage {
        Some(e) => {
            eprintln!("wiretale: {e}");
            super::EXIT_DAMAGED
        }
        None => 0,
    }
}

/// Compiles `-f` for the link types of the interfaces known once the file is open
/// (others compile on their first frame, in [`bpf_keeps`]).
pub fn capture_filter(
    expr: Option<&str>,
    src: &(dyn capture::FrameSource + Send),
) -> anyhow::Result<Option<BpfFilter>> {
    let Some(expr) = expr else {
        return Ok(None);
    };
    let links: Vec<_> = src.interfaces().iter().map(|i| i.link).collect();
    BpfFilter::compile_for(expr, &links)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("capture filter: {e}"))
}

/// Whether the capture filter (if any) keeps `frame`.
pub fn bpf_keeps(bpf: &mut Option<BpfFilter>, frame: &capture::Frame<'_>) -> anyhow::Result<bool> {
    match bpf {
        None => Ok(true),
        Some(b) => b
            .matches(frame.meta.link, frame.data)
            .map_err(|e| anyhow::anyhow!("capture filter: {e}")),
    }
}
