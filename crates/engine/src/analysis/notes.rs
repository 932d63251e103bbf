//! Per-packet application notes.

use crate::proto::dns;
use crate::proto::http::HttpTransaction;

/// An application-level label for one packet: the protocol it shows as and its Info.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AppNote {
    /// "dns", "http" or "tls".
    #[serde(deserialize_with = "crate::base::interned::deserialize")]
    pub proto: crate::base::interned::StaticStr,
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
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, Default, PartialEq, Eq)]
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
    /// The HTTP/2 frames this packet completed (plaintext h2c or decrypted), in order.
    Http2(Box<[H2FrameField]>),
    /// The QUIC packets of this datagram (coalesced ones in order).
    Quic(Box<[QuicPacketField]>),
}

/// One QUIC packet as display filters read it (`quic.*`).
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct QuicPacketField {
    /// Long header (RFC 9000 §17.2), else short.
    pub long: bool,
    /// Long header type in v1's numbering (0 Initial, 1 0-RTT, 2 Handshake, 3 Retry),
    /// whatever the version's bits (RFC 9369 §3.2 renumbers them for v2), as tshark.
    pub long_type: Option<u8>,
    pub version: Option<u32>,
    pub dcid: Vec<u8>,
    pub scid: Option<Vec<u8>>,
    pub pn: Option<u64>,
    /// Frame types of an opened packet, in order.
    pub frames: Vec<u64>,
}

/// One HTTP/2 frame as display filters read it (`http2.streamid`, `http2.type`, the
/// decoded header list of a field block). tshark shows a frame on the packet holding its
/// last byte; a header block's fields on the frame that ended it (END_HEADERS).
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct H2FrameField {
    pub stream: u32,
    /// Frame type code (RFC 9113 §6: 0 DATA, 1 HEADERS, ...).
    pub kind: u8,
    /// Decoded fields (pseudo-headers first), on the frame that ended a field block.
    pub headers: Vec<crate::proto::http2::Header>,
}

/// What display filters read of the TLS a packet carried (`tls.*`): the records, the
/// handshake messages and the alerts it completed, in stream order. A packet has this
/// list (maybe empty) when it completed a record or its bytes began one: that is where
/// tshark shows `tls`.
pub type TlsFields = Box<[TlsField]>;

/// One TLS fact of a packet (see [`TlsFields`]).
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum TlsField {
    /// A whole record: `tls.record.content_type` as tshark shows it (the outer type;
    /// the inner type of a decrypted TLS 1.3 record; none for a TLS 1.3 record not
    /// decrypted, which tshark shows with its opaque type only) and
    /// `tls.record.version`, the header's legacy version.
    Record {
        content_type: Option<u8>,
        version: u16,
    },
    /// A handshake message, in the clear or decrypted.
    Handshake(Box<TlsHandshakeField>),
    /// An alert's description (RFC 8446 §6), in the clear or decrypted.
    Alert(u8),
}

/// One handshake message's filterable fields.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsHandshakeField {
    /// `tls.handshake.type` (RFC 8446 §4: 1 ClientHello, 2 ServerHello, ...).
    pub kind: u8,
    /// `tls.handshake.version`: a hello's legacy_version field (0x0303 for TLS 1.3).
    pub version: Option<u16>,
    /// `tls.handshake.ciphersuite`: the suites a ClientHello offers (GREASE included),
    /// the one a ServerHello chose.
    pub ciphersuites: Vec<u16>,
    /// `tls.handshake.extensions_server_name`.
    pub sni: Option<String>,
    /// `tls.handshake.extensions_alpn_str`: offered (ClientHello) or chosen
    /// (ServerHello, EncryptedExtensions).
    pub alpn: Vec<String>,
}

/// One HTTP message as a display filter sees it. tshark shows request fields on the
/// packet that completed the request and response fields on the packet that completed
/// the response, so a note carries one side only.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, Default, PartialEq, Eq)]
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
