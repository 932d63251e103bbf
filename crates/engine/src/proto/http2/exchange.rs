//! One HTTP/2 stream as a request/response exchange (RFC 9113 §8.1), in the vocabulary
//! of [`crate::proto::http::HttpTransaction`].

use super::hpack::Header;
use crate::base::{Anomaly, Direction, PacketId, Timestamp};
use crate::proto::http::{HttpTransaction, Transfer, Version};

/// How a stream ended early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reset {
    /// Who sent the RST_STREAM.
    pub by: Direction,
    /// Error code (RFC 9113 §7); name it with [`super::frame::error_code_text`].
    pub error: u32,
    pub pkt: PacketId,
    pub ts: Timestamp,
}

/// A request and its response on one stream.
///
/// Strings are lossy UTF-8 copies of decoded header values and are **untrusted**: print
/// them through [`crate::base::escape`]. Timestamps and packets follow
/// `HttpTransaction`: `*_ts`/`*_first_pkt` is where the first byte of the message's
/// first frame arrived, `*_head_pkt` the packet that completed its header block,
/// `*_end_ts`/`*_last_pkt` the packet that completed the frame carrying END_STREAM.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct H2Exchange {
    /// Order of the stream's opening within its connection, from 0.
    pub seq: u32,
    /// Stream identifier (RFC 9113 §5.1.1).
    pub stream: u32,
    /// Server push (RFC 9113 §8.4): the request came in a PUSH_PROMISE on this stream.
    pub pushed_on: Option<u32>,
    pub method: Option<String>,
    pub scheme: Option<String>,
    /// `:authority` (what HTTP/1 calls Host; a `host` field stands in when absent).
    pub authority: Option<String>,
    pub path: Option<String>,
    pub user_agent: Option<String>,
    pub referer: Option<String>,
    pub request_headers: Vec<Header>,
    pub request_trailers: Vec<Header>,
    pub request_ts: Option<Timestamp>,
    pub request_end_ts: Option<Timestamp>,
    pub request_first_pkt: Option<PacketId>,
    pub request_head_pkt: Option<PacketId>,
    pub request_last_pkt: Option<PacketId>,
    /// DATA payload bytes of the request, padding excluded.
    pub request_body_len: u64,
    /// Final status (`:status`, not 1xx).
    pub status: Option<u16>,
    /// Interim (1xx) statuses before the final one, e.g. 103 Early Hints.
    pub interim: Vec<u16>,
    /// When the first interim response began.
    pub interim_ts: Option<Timestamp>,
    pub response_headers: Vec<Header>,
    pub response_trailers: Vec<Header>,
    /// First byte of the final response's HEADERS frame.
    pub response_ts: Option<Timestamp>,
    pub response_end_ts: Option<Timestamp>,
    pub response_first_pkt: Option<PacketId>,
    pub response_head_pkt: Option<PacketId>,
    pub response_last_pkt: Option<PacketId>,
    /// DATA payload bytes of the response, padding excluded (the body as sent,
    /// before any content coding is undone).
    pub response_body_len: u64,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub content_length: Option<u64>,
    /// Response `alt-svc` (RFC 7838), e.g. announcing HTTP/3.
    pub alt_svc: Option<String>,
    pub reset: Option<Reset>,
    /// Headers were decoded after this direction's HPACK table was lost: they may be
    /// wrong or missing.
    pub headers_unreliable: bool,
    /// Something is missing: a reset, a truncated stream, lost headers.
    pub partial: bool,
    pub anomalies: Vec<Anomaly>,
}

fn find<'a>(h: &'a [Header], name: &str) -> Option<&'a Header> {
    h.iter()
        .find(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))
}

impl H2Exchange {
    /// Time to first byte in nanoseconds: first byte of the final response's HEADERS
    /// minus the packet that completed the request (END_STREAM).
    pub fn ttfb(&self) -> Option<i64> {
        Some(self.response_ts?.0 - self.request_end_ts?.0)
    }

    /// Request end → response end in nanoseconds.
    pub fn time_to_last_byte(&self) -> Option<i64> {
        Some(self.response_end_ts?.0 - self.request_end_ts?.0)
    }

    /// The first request field of this name (case-insensitive; HTTP/2 names are
    /// lowercase on the wire, RFC 9113 §8.2.1).
    pub fn request_header(&self, name: &str) -> Option<&Header> {
        find(&self.request_headers, name)
    }

    pub fn response_header(&self, name: &str) -> Option<&Header> {
        find(&self.response_headers, name)
    }

    /// Fills the request facts from a decoded request block.
    pub(super) fn set_request(&mut self, headers: Vec<Header>) {
        let get = |n: &str| find(&headers, n).map(Header::value_str);
        self.method = get(":method");
        self.scheme = get(":scheme");
        self.authority = get(":authority").or_else(|| get("host"));
        self.path = get(":path");
        self.user_agent = get("user-agent");
        self.referer = get("referer");
        self.request_headers = headers;
    }

    /// Fills the response facts from a decoded final response block.
    pub(super) fn set_response(&mut self, headers: Vec<Header>, status: u16) {
        let get = |n: &str| find(&headers, n).map(Header::value_str);
        self.status = Some(status);
        self.content_type = get("content-type");
        self.content_encoding = get("content-encoding");
        self.content_length = get("content-length").and_then(|v| v.trim().parse().ok());
        self.alt_svc = get("alt-svc");
        self.response_headers = headers;
    }

    /// The exchange as the transaction every printer and view reads: version
    /// `HTTP/2`, its `stream`, `host` from `:authority`, `uri` from `:path`, the body
    /// counted in DATA bytes (no stream offsets: `*_body` stay `None`).
    pub fn to_http_transaction(&self) -> HttpTransaction {
        let v2 = Version::HTTP_2;
        HttpTransaction {
            seq: self.seq,
            stream: Some(self.stream),
            method: self.method.clone(),
            uri: self.path.clone(),
            version: Some(v2),
            host: self.authority.clone(),
            user_agent: self.user_agent.clone(),
            referer: self.referer.clone(),
            request_ts: self.request_ts,
            request_end_ts: self.request_end_ts,
            request_body_len: self.request_body_len,
            request_body: None,
            request_first_pkt: self.request_first_pkt,
            request_head_pkt: self.request_head_pkt,
            request_last_pkt: self.request_last_pkt,
            status: self.status,
            reason: None,
            response_version: self.status.map(|_| v2),
            interim: self.interim.clone(),
            response_ts: self.response_ts,
            response_end_ts: self.response_end_ts,
            response_body_len: self.response_body_len,
            response_body: None,
            response_first_pkt: self.response_first_pkt,
            response_head_pkt: self.response_head_pkt,
            response_last_pkt: self.response_last_pkt,
            content_type: self.content_type.clone(),
            content_encoding: self.content_encoding.clone(),
            content_length: self.content_length,
            transfer_encoding: None,
            alt_svc: self.alt_svc.clone(),
            // HTTP/2 frames every body with DATA and END_STREAM (RFC 9113 §8.1).
            transfer: if self.response_body_len > 0 {
                Transfer::Length
            } else {
                Transfer::None
            },
            partial: self.partial,
            tunnel: None,
            anomalies: self.anomalies.clone(),
        }
    }
}
