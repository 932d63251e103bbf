//! Runs the TUI over the deterministic fake source, for trying the interface before the
//! real analysis source exists:
//!
//! ```sh
//! cargo run --example tui_fake           # a finished "file" of ~10,000 packets
//! cargo run --example tui_fake -- live   # a simulated live capture (50 packets / 100 ms)
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
