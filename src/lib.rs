//! # wiretale
//!
//! The `wiretale` package is the binary (`main.rs` picks the face) and this facade,
//! which re-exports the workspace's crates under one name so the integration tests,
//! benches, examples and fuzz targets say `wiretale::flow::…`:
//!
//! * [`wiretale_engine`] (crates/engine): the whole analysis, no terminal code: `base`,
//!   `capture`, `decode`, `flow`, `proto`, `story`, `filter`, `analysis`.
//! * [`cli`] (crates/cli) and [`tui`] (crates/tui): the two faces. Each depends on the
//!   engine and never on the other; cargo enforces it, since neither lists the other.

pub use wiretale_cli as cli;
pub use wiretale_engine::{analysis, base, capture, decode, filter, flow, proto, story};
pub use wiretale_tui as tui;
