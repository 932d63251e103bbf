//! Drives the pipeline: frames in; per-packet summaries, finished connections and
//! application transactions out. No threads, no clock, no terminal: the CLI and the TUI
//! are two consumers of the same [`Engine`], so they always agree.
//!
//! ```text
//! Frame ─► decode ─► (IP defragmentation) ─► flow::ConnTable ─► StreamSink = apps
//!                                                  │                 ├─ HTTP/1.x
//!                                                  │                 ├─ TLS hellos
//!                                                  │                 └─ DNS over TCP
//!                      UDP datagrams ─────────────────────────────────► DNS tracker
//! ```

mod apps;
mod engine;
mod follow;
mod limits;
mod notes;

pub use crate::story::{AppKind, ConnRecord, HttpRecord, TlsSummary};
pub use engine::{Engine, EngineConfig, PacketSummary};
pub use follow::{Follower, Turn};
pub use limits::{AppLimits, LimitTally, Limits, LIMIT_ANOMALIES};
pub use notes::AppNote;
