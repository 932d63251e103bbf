//! The facts the story joins: finished connections with what the application decoders
//! found on them, and HTTP exchanges tied to their connection. The engine in `analysis`
//! produces them; the story and the outputs read them.

use crate::base::ConnId;
use crate::flow::Connection;
use crate::proto::http::HttpTransaction;

/// The application protocol found on a connection (by content first, ports second).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AppKind {
    Http,
    Tls,
    Dns,
}

impl AppKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AppKind::Http => "http",
            AppKind::Tls => "tls",
            AppKind::Dns => "dns",
        }
    }
}

/// The TLS hellos of a connection, reduced to what users look for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSummary {
    pub sni: Option<String>,
    /// ALPN protocols the client offered.
    pub alpn_offered: Vec<String>,
    /// ALPN protocol the server chose.
    pub alpn: Option<String>,
    /// Version the server chose (supported_versions overrides the legacy field).
    pub version: Option<u16>,
    /// Highest version the client offered.
    pub client_version: Option<u16>,
}

/// A finished connection: the flow summary plus what the application decoders found.
#[derive(Clone, Debug)]
pub struct ConnRecord {
    pub conn: Connection,
    pub app: Option<AppKind>,
    pub tls: Option<TlsSummary>,
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
#[derive(Clone, Debug)]
pub struct HttpRecord {
    pub conn: ConnId,
    pub tx: HttpTransaction,
}
