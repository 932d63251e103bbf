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
/// stays flat). Returns the engine (finished only if the whole input was read) and the
/// damage error, if the file was cut or corrupt: the caller prints it after the output.
pub fn drive(
    path: &Path,
    cfg: EngineConfig,
    mut each: impl FnMut(&mut Engine, &PacketSummary) -> Next,
    mut drain: impl FnMut(&mut Engine, bool),
) -> anyhow::Result<Option<CaptureError>> {
    let mut src = capture::open(path).map_err(|e| open_error(path, &e))?;
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
                if n % 4096 == 0 {
                    drain(&mut engine, false);
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
    super::limits::report(&engine.limits_hit());
    Ok(damage)
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
