//! Reading a capture through the engine: the loop every file subcommand shares.

use std::path::Path;

use super::select::Selection;
use wiretale_engine::analysis::{Engine, EngineConfig, PacketSummary};
use wiretale_engine::capture::{self, BpfFilter, CaptureError};
use wiretale_engine::proto::tls::KeyLog;

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
) -> impl FnMut(&mut Engine, &PacketSummary, bool) -> Next + 'a {
    move |_, s, hit| {
        matched.borrow_mut().record(s, hit);
        if stop.get() {
            Next::Stop
        } else {
            Next::Continue
        }
    }
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
                let s = engine.process(&frame);
                let matched = match &mut sel.matcher {
                    Some(m) => m.matches(&frame, &s),
                    None => true,
                };
                n += 1;
                if let Next::Stop = each(&mut engine, &s, matched) {
                    stopped = true;
                    break;
                }
                if n.is_multiple_of(4096) {
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
        engine.finish();
        drain(&mut engine, true, sel);
    }
    super::limits::report(&engine.limits_hit());
    Ok(damage)
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
/// What each count buys: 1 = everything on one thread; 2 = `story` tells and prints
/// on a second thread while the engine reads and analyses (`story` on the 250,000-
/// connection capture: see docs/performance.md); 3 or more = also reading ahead on its
/// own thread ([`capture::ReadAhead`]), which measured slower than reading inline on
/// two cores (one more copy of every frame for a small share of the work), so it waits
/// for a third core. `tests/threads.rs` checks that every count gives the same output.
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
