//! One request/response exchange as the CLI prints it (`wiretale http --json`).

use std::ops::Range;

use super::parse::Version;
use crate::base::escape::escape_str;
use crate::base::{Anomaly, PacketId, Timestamp};

/// How a message body was delimited (RFC 9112 §6.3).
#[derive(
    serde::Serialize, serde::Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash,
)]
pub enum Transfer {
    /// `Content-Length`.
    Length,
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Read until the server closed the connection.
    Close,
    /// No body by rule (HEAD, 1xx, 204, 304, a request without length) or not seen.
    #[default]
    None,
}

impl Transfer {
    /// The `transfer` field's JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Transfer::Length => "length",
            Transfer::Chunked => "chunked",
            Transfer::Close => "close",
            Transfer::None => "none",
        }
    }
}

/// A request and the response paired with it (in order: HTTP/1.1 answers pipelined
/// requests in the order they were sent, RFC 9112 §9.3.2).
///
/// Strings are lossy UTF-8 copies of wire bytes and are **untrusted**: print them through
/// [`crate::base::escape`] (the `*_info` methods already do). Offsets in `*_body` are
/// byte offsets into the per-direction reassembled stream (gaps counted), raw as on the
/// wire (chunk framing included), so a viewer can fetch and decode a body on demand.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpTransaction {
    /// Index of this transaction within its connection, from 0.
    pub seq: u32,
    /// The HTTP/2 stream that carried it (RFC 9113 §5.1.1); `None` for HTTP/1.
    pub stream: Option<u32>,
    pub method: Option<String>,
    pub uri: Option<String>,
    /// Request version.
    pub version: Option<Version>,
    pub host: Option<String>,
    pub user_agent: Option<String>,
    pub referer: Option<String>,
    /// First byte of the request.
    pub request_ts: Option<Timestamp>,
    /// Last byte of the request (end of head or body).
    pub request_end_ts: Option<Timestamp>,
    pub request_body_len: u64,
    pub request_body: Option<Range<u64>>,
    pub request_first_pkt: Option<PacketId>,
    /// Packet that completed the request head (tshark shows the Info there).
    pub request_head_pkt: Option<PacketId>,
    pub request_last_pkt: Option<PacketId>,
    pub status: Option<u16>,
    pub reason: Option<String>,
    pub response_version: Option<Version>,
    /// Interim (1xx, not 101) responses seen before the final one, e.g. 100 Continue.
    pub interim: Vec<u16>,
    /// First byte of the final response.
    pub response_ts: Option<Timestamp>,
    pub response_end_ts: Option<Timestamp>,
    /// Message body length on the wire after de-chunking, before decompression.
    pub response_body_len: u64,
    pub response_body: Option<Range<u64>>,
    pub response_first_pkt: Option<PacketId>,
    pub response_head_pkt: Option<PacketId>,
    pub response_last_pkt: Option<PacketId>,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    /// Response `Content-Length` header value.
    pub content_length: Option<u64>,
    /// Raw response `Transfer-Encoding` header value.
    pub transfer_encoding: Option<String>,
    /// Response `Alt-Svc` header (RFC 7838): where else the origin is served, e.g.
    /// `h3=":443"; ma=86400`, which sends browsers to HTTP/3.
    pub alt_svc: Option<String>,
    /// How the response body was delimited.
    pub transfer: Transfer,
    /// Something is missing: a gap, a truncated message, no response, a lost head.
    pub partial: bool,
    /// The tunnel a successful CONNECT opened (RFC 9110 §9.3.6): the bytes after the
    /// 2xx each way and what they carried. The exchange is reported when the
    /// connection ends, so the counts are final.
    pub tunnel: Option<super::tunnel::Tunnel>,
    pub anomalies: Vec<Anomaly>,
}

impl HttpTransaction {
    /// The packets that began, headed and ended the request and the response: a
    /// filter that matched any of them selects the exchange.
    pub fn packets(&self) -> [Option<PacketId>; 6] {
        [
            self.request_first_pkt,
            self.request_head_pkt,
            self.request_last_pkt,
            self.response_first_pkt,
            self.response_head_pkt,
            self.response_last_pkt,
        ]
    }

    /// Time to first byte in nanoseconds: response first byte − request last byte.
    pub fn ttfb(&self) -> Option<i64> {
        Some(self.response_ts?.0 - self.request_end_ts?.0)
    }

    /// Request last byte → response last byte in nanoseconds. tshark's `http.time` is
    /// measured to the frame that completed the response, i.e. this.
    pub fn time_to_last_byte(&self) -> Option<i64> {
        Some(self.response_end_ts?.0 - self.request_end_ts?.0)
    }

    /// Info text of the request as tshark shows it: `GET /index.html HTTP/1.1` (escaped).
    pub fn request_info(&self) -> Option<String> {
        let m = self.method.as_deref()?;
        let mut s = format!("{} {}", escape_str(m), escape_str(self.uri.as_deref()?));
        // An HTTP/0.9 Simple-Request has no version on the wire (RFC 1945 §4.1): shown
        // as sent, as tshark shows it.
        if let Some(v) = self.version.filter(|v| v.major > 0) {
            s.push(' ');
            s.push_str(&v.to_string());
        }
        Some(s)
    }

    /// Info text of the response as tshark shows it: `HTTP/1.1 200 OK  (text/html)`.
    pub fn response_info(&self) -> Option<String> {
        let code = self.status?;
        let v = self.response_version.unwrap_or(Version::HTTP_1_1);
        let mut s = format!("{v} {code}");
        if let Some(r) = self.reason.as_deref().filter(|r| !r.is_empty()) {
            s.push(' ');
            s.push_str(&escape_str(r));
        }
        if let Some(ct) = self.content_type.as_deref() {
            s.push_str("  (");
            s.push_str(&escape_str(ct));
            s.push(')');
        }
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_texts_and_timings() {
        let t = HttpTransaction {
            method: Some("GET".into()),
            uri: Some("/a\x1b[2J".into()),
            version: Some(Version::HTTP_1_1),
            status: Some(200),
            reason: Some("OK".into()),
            content_type: Some("text/html".into()),
            request_end_ts: Some(Timestamp(1_000)),
            response_ts: Some(Timestamp(1_500)),
            response_end_ts: Some(Timestamp(3_000)),
            ..Default::default()
        };
        assert_eq!(t.request_info().unwrap(), "GET /a\\x1b[2J HTTP/1.1");
        assert_eq!(t.response_info().unwrap(), "HTTP/1.1 200 OK  (text/html)");
        assert_eq!(t.ttfb(), Some(500));
        assert_eq!(t.time_to_last_byte(), Some(2_000));
        assert_eq!(HttpTransaction::default().ttfb(), None);
        let simple = HttpTransaction {
            method: Some("GET".into()),
            uri: Some("/".into()),
            version: Some(Version { major: 0, minor: 9 }),
            ..Default::default()
        };
        assert_eq!(simple.request_info().unwrap(), "GET /");
    }
}
