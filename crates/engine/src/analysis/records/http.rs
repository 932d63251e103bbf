//! The HTTP exchange record (`http --json`).

use schemars::JsonSchema;
use serde::Serialize;

use super::{secs, wire, Wire};
use crate::story::HttpRecord;

/// One HTTP request and its response (README, "JSON Lines output").
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[schemars(
    title = "http exchange",
    description = "One HTTP request and its response: a line of `wiretale http --json`."
)]
pub struct HttpJson<'a> {
    /// The response's `Alt-Svc` header (RFC 7838), e.g. `h3=":443"; ma=86400`, which
    /// sends a browser to HTTP/3.
    pub alt_svc: Option<Wire<'a>>,
    pub anomalies: Vec<&'static str>,
    /// The connection id.
    pub conn: u32,
    pub content_encoding: Option<Wire<'a>>,
    pub content_length: Option<u64>,
    pub content_type: Option<Wire<'a>>,
    pub host: Option<Wire<'a>>,
    pub method: Option<Wire<'a>>,
    pub partial: bool,
    pub reason: Option<Wire<'a>>,
    pub referer: Option<Wire<'a>>,
    pub request_body_len: u64,
    pub request_end_ts: Option<f64>,
    pub request_frame: Option<u64>,
    pub request_ts: Option<f64>,
    /// Body length on the wire after de-chunking, before decompression.
    pub response_body_len: u64,
    pub response_end_ts: Option<f64>,
    pub response_frame: Option<u64>,
    /// First byte of the response.
    pub response_ts: Option<f64>,
    pub response_version: Option<String>,
    /// Index within the connection.
    pub seq: u32,
    pub status: Option<u16>,
    /// The HTTP/2 stream id; null for HTTP/1.
    pub stream: Option<u32>,
    /// Request last byte → response last byte (tshark's `http.time`).
    pub time: Option<f64>,
    /// `length`, `chunked`, `close` or `none`.
    #[schemars(extend("enum" = ["length", "chunked", "close", "none"]))]
    pub transfer: &'static str,
    /// Response first byte − request last byte.
    pub ttfb: Option<f64>,
    /// The tunnel a successful CONNECT opened (RFC 9110 §9.3.6); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<TunnelJson<'a>>,
    pub uri: Option<Wire<'a>>,
    pub user_agent: Option<Wire<'a>>,
    pub version: Option<String>,
}

/// What a CONNECT tunnel carried: the connection's bytes after the 2xx.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct TunnelJson<'a> {
    /// The server's greeting (SMTP, FTP, POP3, IMAP) or the SSH identification line.
    pub banner: Option<Wire<'a>>,
    /// Tunnel bytes from the server to the client (gaps included).
    pub bytes_to_client: u64,
    /// Tunnel bytes from the client to the server (gaps included).
    pub bytes_to_server: u64,
    /// The tunnelled protocol, recognised from its first bytes; null when unknown.
    #[schemars(extend("enum" = ["tls", "smtp", "ftp", "pop3", "imap", "ssh", "http", null]))]
    pub protocol: Option<&'static str>,
    /// The server name of the TLS ClientHello sent through the tunnel.
    pub sni: Option<Wire<'a>>,
}

impl<'a> HttpJson<'a> {
    pub fn new(r: &'a HttpRecord) -> Self {
        let t = &r.tx;
        HttpJson {
            anomalies: t.anomalies.iter().map(|a| a.name()).collect(),
            conn: r.conn.0,
            content_encoding: wire(t.content_encoding.as_deref()),
            alt_svc: wire(t.alt_svc.as_deref()),
            content_length: t.content_length,
            content_type: wire(t.content_type.as_deref()),
            host: wire(t.host.as_deref()),
            method: wire(t.method.as_deref()),
            partial: t.partial,
            reason: wire(t.reason.as_deref()),
            referer: wire(t.referer.as_deref()),
            request_body_len: t.request_body_len,
            request_end_ts: t.request_end_ts.map(|t| t.as_secs_f64()),
            request_frame: t.request_first_pkt.map(|p| p.frame_number()),
            request_ts: t.request_ts.map(|t| t.as_secs_f64()),
            response_body_len: t.response_body_len,
            response_end_ts: t.response_end_ts.map(|t| t.as_secs_f64()),
            response_frame: t.response_first_pkt.map(|p| p.frame_number()),
            response_ts: t.response_ts.map(|t| t.as_secs_f64()),
            response_version: t.response_version.map(|v| v.to_string()),
            seq: t.seq,
            status: t.status,
            stream: t.stream,
            time: secs(t.time_to_last_byte()),
            transfer: t.transfer.as_str(),
            ttfb: secs(t.ttfb()),
            tunnel: t.tunnel.as_ref().map(|u| TunnelJson {
                banner: wire(u.banner.as_deref()),
                bytes_to_client: u.bytes[1],
                bytes_to_server: u.bytes[0],
                protocol: u.protocol,
                sni: wire(u.sni.as_deref()),
            }),
            uri: wire(t.uri.as_deref()),
            user_agent: wire(t.user_agent.as_deref()),
            version: t.version.map(|v| v.to_string()),
        }
    }
}
