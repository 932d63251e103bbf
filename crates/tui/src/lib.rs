//! The terminal face: a ratatui + crossterm UI over a [`DataSource`].
//!
//! Structure (ARCHITECTURE.md "TUI structure"): the main thread owns the terminal and
//! the model ([`app::App`]); an input thread reads crossterm events; the data source
//! runs its own worker and hands over update batches when polled. Keys become
//! [`action::Action`]s through the [`keymap`] table, views render and never mutate the
//! model, and every string from the wire is escaped before it becomes terminal text.
//!
//! ## Plugging in a source
//!
//! The TUI knows the capture only through [`DataSource`]. A real implementation wraps
//! the analysis in a [`worker::Worker`] (a producer thread sending update batches over a
//! bounded channel, paused and stopped by commands), absorbs the batches in
//! `DataSource::poll`, and answers row queries from its frame store and summaries.
//! `fake::FakeSource` (tests only, or the non-default `fake-source` feature for
//! `examples/tui_fake.rs`) is a deterministic made-up capture the view tests use. Entry points: [`run`] with an opened source, or
//! [`run_with`] to open it only after the terminal check.
//!
//! ## Files
//!
//! `app` (model: `update(Action)`, `apply_updates()`), `action`, `keymap` (the one key
//! table; footer and help come from it), `event` (terminal, input thread, loop),
//! `layout` (geometry in plain numbers, shared by model and views), `engine_source`
//! (the engine-backed source: frame store + analysis on a worker), `flatten` (trees and
//! streams as lines), `views/*` (one per screen), `widgets/*` (virtual table, hex pane,
//! tree, ladder, timeline, filter bar), `theme` (colours, `NO_COLOR`).

pub mod action;
pub mod app;
pub mod engine_source;
pub mod event;
#[cfg(any(test, feature = "fake-source"))]
pub mod fake;
pub mod flatten;
pub mod keymap;
pub mod layout;
pub mod source;
pub mod story;
pub mod theme;
pub mod timings;
pub mod views;
pub mod widgets;
pub mod worker;

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

pub use source::DataSource;

/// What the user asked to open: a file (or `-` for standard input) or a live interface.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TuiOptions {
    /// Capture file; `-` means standard input.
    pub file: Option<PathBuf>,
    /// Live capture interface.
    pub interface: Option<String>,
    /// BPF capture filter for live capture.
    pub bpf: Option<String>,
    /// Where a live capture is written (`-w FILE`).
    pub write: Option<PathBuf>,
    /// TLS key log (`--tls-keylog`): read at open (a missing file is an error before the
    /// TUI starts); a live capture re-reads it as the browser appends.
    pub tls_keylog: Option<PathBuf>,
    /// Bytes of libpcap's ring for a live capture (`-B`); `None`: the engine's default.
    pub buffer_size: Option<u32>,
    /// Use the persisted index in the user's cache directory for a capture file
    /// (`engine_source::cache`); `wiretale --no-cache` turns it off. Off by default
    /// here, so that tests and embedders never touch the user's cache unasked.
    pub cache: bool,
}

/// The hint printed instead of the TUI when standard output is not a terminal.
pub const NOT_A_TERMINAL_HINT: &str =
    "wiretale: standard output is not a terminal; use a batch subcommand (try `wiretale --help`)";

/// Opens the engine-backed source that `opts` names and runs the TUI on it until the
/// user quits (what `wiretale FILE` and `wiretale -i IFACE` do). A live capture's file
/// outlives the TUI: where it is is said after quitting. Returns the exit status.
pub fn main(opts: TuiOptions) -> anyhow::Result<i32> {
    let mut kept: Option<PathBuf> = None;
    let mut live = None;
    run_with(opts, |o| {
        let s = engine_source::EngineSource::open(o)?;
        kept = s.capture_file();
        live = s.live_status();
        Ok(Box::new(s))
    })?;
    if let Some(p) = kept {
        // The kernel's final counts, as `capture` and tcpdump end with.
        let st = live.and_then(|l| l.lock().ok().map(|s| s.stats));
        let kernel = st.map_or_else(String::new, |s| {
            format!(
                "kernel: {} received, {} dropped ({} by the interface); ",
                s.received, s.dropped, s.if_dropped
            )
        });
        // Not `eprintln!`: it panics when the terminal is gone (the TUI ended by a hangup).
        let _ = writeln!(
            io::stderr(),
            "wiretale: {kernel}the capture is saved in {}",
            p.display()
        );
    }
    Ok(0)
}

/// Runs the TUI over `source` until the user quits. When stdout is not a terminal it
/// prints [`NOT_A_TERMINAL_HINT`] to stderr and returns at once.
pub fn run(opts: TuiOptions, source: Box<dyn DataSource>) -> anyhow::Result<()> {
    run_with(opts, |_| Ok(source))
}

/// Like [`run`], but opens the source only once the terminal check passed, so that
/// `wiretale FILE | less` does not start indexing a file it will never show.
pub fn run_with<F>(opts: TuiOptions, open: F) -> anyhow::Result<()>
where
    F: FnOnce(&TuiOptions) -> anyhow::Result<Box<dyn DataSource>>,
{
    if !io::stdout().is_terminal() {
        eprintln!("{NOT_A_TERMINAL_HINT}");
        return Ok(());
    }
    timings::start();
    let source = open(&opts)?;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let mut app = app::App::new(source);
    app.no_color = no_color;
    event::run_terminal(&mut app)
}
