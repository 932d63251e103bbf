//! Drives the pipeline: frames in; per-packet summaries, finished connections and
//! application transactions out. No clock and no terminal: the CLI and the TUI are two
//! consumers of the same [`Engine`], so they always agree. The engine itself runs on the
//! caller's thread; the one place that starts threads is the re-filter
//! ([`index`]'s `filter_index_split`, scoped threads over ranges of packets, joined before
//! it returns), so the result never depends on the thread count.
//! [`records`] turns what the engine finds into the typed records of `--json` output.
//!
//! ```text
//! Frame ─► decode ─► (IP defragmentation) ─► flow::ConnTable ─► StreamSink = apps
//!                                                  │                 ├─ HTTP/1.x
//!                                                  │                 ├─ TLS hellos
//!                                                  │                 └─ DNS over TCP
//!                      UDP datagrams ─────────────────────────────────► DNS tracker
//! ```

mod apps;
pub mod chunked;
pub mod decrypted;
mod engine;
pub mod export_keys;
mod follow;
pub mod index;
mod limits;
mod notes;
pub mod packet_table;
pub mod packet_view;
mod presence;
pub mod quic_follow;
pub mod records;
pub mod select;
pub mod shard;

pub use crate::story::{AppKind, ConnRecord, HttpRecord, TlsSummary};
pub use engine::{Census, Decoders, Engine, EngineConfig, PacketSummary};
pub use follow::{Followed, Follower, Turn};
pub use index::{
    conn_app_verdict, filter_ids, filter_index, filter_index_bits, filter_index_conns,
    filter_index_split, filter_index_split_conns, filter_index_split_stats, ConnVerdicts,
    FilterContext, FilterIndex, MatchBits, PacketContext, PassStats, Redecoder,
};
pub use limits::{AppLimits, LimitTally, Limits, LIMIT_ANOMALIES};
pub use notes::{AppData, AppNote, H2FrameField, HttpNote, TlsField, TlsFields, TlsHandshakeField};
pub use packet_table::{PacketRow, PacketTable, RelNumbers};
pub use packet_view::{ConnOutcome, PacketView};
pub use select::PacketMatcher;
