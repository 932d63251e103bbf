//! `WIRETALE_TIMINGS=FILE`: a debugging trace of how long the TUI takes to answer, for
//! measuring it like a user does (in a real terminal, with tmux sending the keys).
//!
//! Appends one line per event to FILE, each with the seconds since the TUI started
//! opening the capture: `first-screen S` (the first frame drawn), `done S` (the first
//! frame drawn once the whole file was analysed), and `key NAME S MS` for every key
//! handled (MS: from reading the key to the end of the frame that shows its effect).
//! Nothing is written, nor any clock read, when the variable is not set.

use std::io::Write;
use std::sync::OnceLock;
use std::time::Instant;

use crossterm::event::Event;

/// When the TUI started opening its source (set by [`start`]).
static START: OnceLock<Instant> = OnceLock::new();

/// Marks the start of the measured run (before the source is opened).
pub fn start() {
    let _ = START.get_or_init(Instant::now);
}

fn since_start() -> f64 {
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

/// The trace of one event loop; every method is a no-op when tracing is off.
pub struct Trace {
    out: Option<std::fs::File>,
    first: bool,
    done: bool,
    /// A key handled, waiting for its frame: its name and when it was read.
    pending: Option<(String, Instant)>,
}

impl Trace {
    /// The trace `WIRETALE_TIMINGS` asks for (off when it is unset or cannot be opened).
    pub fn from_env() -> Trace {
        let out = std::env::var_os("WIRETALE_TIMINGS").and_then(|p| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .ok()
        });
        Trace {
            out,
            first: false,
            done: false,
            pending: None,
        }
    }

    fn line(&mut self, s: &str) {
        if let Some(f) = &mut self.out {
            let _ = writeln!(f, "{s}");
        }
    }

    /// A key was read and is about to be handled.
    pub fn key(&mut self, ev: &Event) {
        if self.out.is_none() {
            return;
        }
        if let Event::Key(k) = ev {
            let name = format!("{:?}", k.code).replace(' ', "");
            self.pending = Some((name, Instant::now()));
        }
    }

    /// A frame was drawn; `done`: the source had analysed everything.
    pub fn drawn(&mut self, done: bool) {
        if self.out.is_none() {
            return;
        }
        let now = since_start();
        if !self.first {
            self.first = true;
            self.line(&format!("first-screen {now:.3}"));
        }
        if done && !self.done {
            self.done = true;
            self.line(&format!("done {now:.3}"));
        }
        if let Some((k, t)) = self.pending.take() {
            let ms = t.elapsed().as_secs_f64() * 1e3;
            self.line(&format!("key {k} {now:.3} {ms:.1}"));
        }
    }
}
