//! The facts the story joins: finished connections with what the application decoders
//! found on them, and HTTP exchanges tied to their connection. The engine in `analysis`
//! produces them; the story and the outputs read them.

use crate::base::ConnId;
use crate::flow::Connection;
use crate::proto::http::HttpTransaction;

/// The application protocol found on a connection (by content first, ports second).
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AppKind {
    Http,
    Tls,
    Dns,
    Quic,
}

impl AppKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AppKind::Http => "http",
            AppKind::Tls => "tls",
            AppKind::Dns => "dns",
            AppKind::Quic => "quic",
        }
    }
}

/// What the TLS session found on a connection (hellos, certificates, timings,
/// decryption): the engine's own summary.
pub use crate::proto::tls::TlsSummary;

/// A finished connection: the flow summary plus what the application decoders found.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug)]
pub struct ConnRecord {
    pub conn: Connection,
    pub app: Option<AppKind>,
    /// Boxed: most connections are not TLS, and a summary is ~400 bytes.
    pub tls: Option<Box<TlsSummary>>,
    /// What went wrong reading its TLS (a gap, a record that failed to decrypt).
    pub tls_anomalies: Vec<crate::base::Anomaly>,
    /// What QUIC found (boxed for the same reason as `tls`).
    pub quic: Option<Box<super::QuicSummary>>,
    /// First HTTP Host header seen on the connection (for naming and mismatch checks).
    pub http_host: Option<String>,
    /// Number of HTTP exchanges on it.
    pub http_count: u32,
}

impl ConnRecord {
    pub fn id(&self) -> ConnId {
        self.conn.id
    }
}

/// One HTTP exchange and the connection it travelled on.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug)]
pub struct HttpRecord {
    pub conn: ConnId,
    pub tx: HttpTransaction,
}
