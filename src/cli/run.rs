//! Reading a capture through the engine: the loop every file subcommand shares.

use std::path::Path;

use crate::analysis::{Engine, EngineConfig, PacketSummary};
use crate::capture::{self, CaptureError};

/// What the per-packet callback wants next.
pub enum Next {
    Continue,
    /// Stop reading (a count was reached, or the output pipe closed).
    Stop,
}

/// Reads `path` frame by frame through a new engine, calling `each` for every packet
/// and `drain` every few thousand packets (so finished records stream out and memory
/// stays flat). `drain` must take (`take_conns`, `take_http`, `take_dns`) whatever it
/// wants at every call: what it leaves is discarded right after
/// ([`Engine::discard_untaken`]), so a command that ignores a kind of record does not
/// hold all of them until the end. Returns the engine (finished only if the whole input was read) and the
/// damage error, if the file was cut or corrupt: the caller prints it after the output.
pub fn drive(
    path: &Path,
    cfg: EngineConfig,
    mut each: impl FnMut(&mut Engine, &PacketSummary) -> Next,
    mut drain: impl FnMut(&mut Engine, bool),
) -> anyhow::Result<Option<CaptureError>> {
    let src = capture::open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut src = read_ahead(src)?;
    let mut engine = Engine::new(cfg);
    let mut damage = None;
    let mut n: u64 = 0;
    let mut stopped = false;
    loop {
        match src.next_frame() {
            Ok(Some(frame)) => {
                let s = engine.process(&frame);
                n += 1;
                if let Next::Stop = each(&mut engine, &s) {
                    stopped = true;
                    break;
                }
                if n.is_multiple_of(4096) {
                    drain(&mut engine, false);
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
        drain(&mut engine, true);
    }
    Ok(damage)
}

/// Threads to use: `WIRETALE_THREADS` if set, else 1.
///
/// Why not all cores by default: the only parallel stage so far is reading ahead
/// ([`capture::ReadAhead`]), and measured on the benchmark captures it costs more (one
/// more copy of every frame, cache traffic between cores) than the reading it takes
/// off this thread: `conns` on manyflows.pcap took 3.3 s with it and 3.1 s without.
/// It stays selectable (`WIRETALE_THREADS=2`) and tested, for slow storage and as the
/// place a sharded analysis would plug in.
pub fn threads() -> usize {
    std::env::var("WIRETALE_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1)
}

/// With two or more threads, reading (the `read()` calls and the format walk) moves to
/// its own thread ([`capture::ReadAhead`]); the frames and errors are the same, so the
/// output is too (`tests/threads.rs` compares them).
fn read_ahead(
    src: Box<dyn capture::FrameSource + Send>,
) -> anyhow::Result<Box<dyn capture::FrameSource>> {
    if threads() < 2 {
        return Ok(src);
    }
    let ahead = capture::ReadAhead::new(src)
        .map_err(|e| anyhow::anyhow!("cannot start the reader thread: {e}"))?;
    Ok(Box::new(ahead))
}

/// Prints the damage error (after all output) and gives the exit status.
pub fn finish_status(damage: Option<CaptureError>) -> i32 {
    match damage {
        Some(e) => {
            eprintln!("wiretale: {e}");
            super::EXIT_DAMAGED
        }
        None => 0,
    }
}
