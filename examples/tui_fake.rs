//! Runs the TUI over the deterministic fake source (test scaffolding, built only with the
//! `fake-source` feature), for trying the interface without a capture or root:
//!
//! ```sh
//! cargo run --features fake-source --example tui_fake          # ~10,000 packets
//! cargo run --features fake-source --example tui_fake -- live  # simulated live capture
//! ```

use std::time::Duration;

use wiretale::tui::{self, fake::FakeSource, TuiOptions};

fn main() -> anyhow::Result<()> {
    let live = std::env::args().nth(1).is_some_and(|a| a == "live");
    let source = if live {
        FakeSource::live(50, Duration::from_millis(100))
    } else {
        FakeSource::new()
    };
    let opts = TuiOptions {
        interface: live.then(|| "eth0".to_string()),
        ..TuiOptions::default()
    };
    tui::run(opts, Box::new(source))
}
