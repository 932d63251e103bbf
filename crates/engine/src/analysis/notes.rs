//! Per-packet application notes.

use crate::proto::dns;
use crate::proto::http::HttpTransaction;

/// An application-level label for one packet: the protocol it shows as and its Info.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppNote {
    /// "dns", "http" or "tls".
    pub proto: &'static str,
    /// Info text, already escaped for display.
    pub info: String,
    /// The message's fields, for display filters (`dns.qry.name`, `http.host`, ...).
    /// Filled only when [`super::EngineConfig::want_app_fields`] is set, so runs without
    /// a filter on application fields pay nothing for it.
    pub data: AppData,
}

impl AppNote {
    /// A note with no application data (also how made-up sources in the faces' tests build one).
    pub fn new(proto: &'static str, info: String) -> Self {
        AppNote {
            proto,
            info,
            data: AppData::None,
        }
    }
}

/// The filterable content of an [`AppNote`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AppData {
    /// Not kept (see [`super::EngineConfig::want_app_fields`]).
    #[default]
    None,
    /// A whole DNS message (RFC 1035 §4.1).
    Dns(Box<dns::Message>),
    /// The HTTP message this packet completed.
    Http(Box<HttpNote>),
    /// A TLS ClientHello (handshake type 1) with its SNI (RFC 6066 §3).
    TlsClientHello { sni: Option<String> },
    /// A TLS ServerHello (handshake type 2).
    TlsServerHello,
}

/// One HTTP message as a display filter sees it. tshark shows request fields on the
/// packet that completed the request and response fields on the packet that completed
/// the response, so a note carries one side only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpNote {
    /// A request (`http.request`); otherwise a response (`http.response`).
    pub request: bool,
    pub method: Option<String>,
    pub uri: Option<String>,
    pub host: Option<String>,
    pub user_agent: Option<String>,
    pub referer: Option<String>,
    pub status: Option<u16>,
    pub content_type: Option<String>,
    /// `http.time`: from the end of the request to the end of this response (ns).
    pub time_ns: Option<i64>,
}

impl HttpNote {
    pub(crate) fn request(tx: &HttpTransaction) -> Self {
        HttpNote {
            request: true,
            method: tx.method.clone(),
            uri: tx.uri.clone(),
            host: tx.host.clone(),
            user_agent: tx.user_agent.clone(),
            referer: tx.referer.clone(),
            ..HttpNote::default()
        }
    }

    pub(crate) fn response(tx: &HttpTransaction) -> Self {
        let time_ns = match (tx.request_end_ts, tx.response_end_ts) {
            (Some(a), Some(b)) => Some(b.0.saturating_sub(a.0)),
            _ => None,
        };
        HttpNote {
            request: false,
            status: tx.status,
            content_type: tx.content_type.clone(),
            time_ns,
            ..HttpNote::default()
        }
    }
}
