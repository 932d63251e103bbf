//! The story's vocabulary: what each event is ([`EventKind`]), what it says as data
//! ([`Facts`]) and the event itself ([`Event`]), as the text, `story --json` and the TUI
//! show them. The narration that makes them is `narrate.rs`.

use super::phases::PhaseTimes;
use crate::base::{ConnId, Endpoint, Timestamp};

/// What an event is, as `story --json` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    DnsQuery,
    DnsAnswer,
    Connect,
    Established,
    Refused,
    HttpRequest,
    HttpResponse,
    TlsHello,
    Close,
    /// A connection still open when the capture ended (no close to tell).
    StillOpen,
    /// A background page's repeated lookups of one name, folded into one line.
    Lookups,
    /// A traceroute's probes to one destination folded into one line: the routers that
    /// answered TTL exceeded, in probe order, and whether the destination answered.
    Traceroute,
    Anomaly,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::DnsQuery => "dns_query",
            EventKind::DnsAnswer => "dns_answer",
            EventKind::Connect => "connect",
            EventKind::Established => "established",
            EventKind::Refused => "refused",
            EventKind::HttpRequest => "http_request",
            EventKind::HttpResponse => "http_response",
            EventKind::TlsHello => "tls_hello",
            EventKind::Close => "close",
            EventKind::StillOpen => "still_open",
            EventKind::Lookups => "dns_lookups",
            EventKind::Traceroute => "traceroute",
            EventKind::Anomaly => "anomaly",
        }
    }

    /// The column label in the text timeline.
    pub fn label(self) -> &'static str {
        match self {
            EventKind::DnsQuery => "lookup",
            EventKind::DnsAnswer => "answer",
            EventKind::Connect => "connect",
            EventKind::Established => "established",
            EventKind::Refused => "refused",
            EventKind::HttpRequest | EventKind::HttpResponse => "",
            EventKind::TlsHello => "tls",
            EventKind::Close => "close",
            EventKind::StillOpen => "open",
            EventKind::Lookups => "lookups",
            EventKind::Traceroute => "trace",
            EventKind::Anomaly => "note",
        }
    }
}

/// How a connection to the resolver carrying DNS over TCP is named on its connect line
/// (the page header counts these apart from the page's own connections).
pub const DNS_TCP_MARK: &str = "(DNS over TCP to the resolver)";

/// The facts of an event, for `story --json` (strings as they came from the wire:
/// the writer escapes them). Durations in seconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Facts {
    #[default]
    None,
    Lookup {
        qname: String,
        qtype: String,
        transport: &'static str,
        id: u16,
        client: Endpoint,
        server: Endpoint,
        sent: u32,
    },
    Answer {
        qname: String,
        qtype: String,
        rcode: String,
        /// Answer records as `TYPE data` (`A 198.18.1.80`, `CNAME web.example`).
        answers: Vec<String>,
        ttl: Option<u32>,
        rtt: Option<f64>,
        truncated: bool,
        /// On the TCP retry of a truncated UDP answer: seconds from that answer to this.
        retry_cost: Option<f64>,
    },
    /// Folded lookups of one name (background).
    Lookups {
        qname: String,
        qtypes: Vec<String>,
        count: usize,
        /// `NOERROR`, `NXDOMAIN`, `REFUSED`, … or `none` when no answer came.
        rcode: String,
        answers: Vec<String>,
    },
    Connect {
        client: Endpoint,
        server: Endpoint,
        proto: &'static str,
        /// The looked-up name (or SNI/Host) that named the connection.
        name: Option<String>,
        handshake: Option<f64>,
    },
    Refused {
        client: Endpoint,
        server: Endpoint,
        after: f64,
    },
    Tls {
        sni: Option<String>,
        alpn_offered: Vec<String>,
        version: Option<String>,
        alpn: Option<String>,
    },
    Exchange {
        method: Option<String>,
        host: Option<String>,
        uri: Option<String>,
        status: Option<u16>,
        reason: Option<String>,
        content_type: Option<String>,
        body_bytes: Option<u64>,
        ttfb: Option<f64>,
        done: Option<f64>,
    },
    Traceroute {
        client: std::net::IpAddr,
        server: std::net::IpAddr,
        /// `udp` or `icmp`.
        proto: &'static str,
        probes: u64,
        /// Each router that answered TTL exceeded, in probe order, with the fastest
        /// probe → answer time when a probe's send time is known.
        hops: Vec<(std::net::IpAddr, Option<f64>)>,
        /// How the destination answered (`port unreachable`, `echo reply`), or None.
        reached: Option<&'static str>,
        /// The destination's fastest answer.
        reached_rtt: Option<f64>,
    },
    Close {
        /// `fin`, `rst` or `idle` (a flow without a close that ended).
        how: &'static str,
        /// `client` or `server`; None for `idle`.
        by: Option<&'static str>,
    },
}

/// One line of the story.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub ts: Timestamp,
    pub kind: EventKind,
    pub conn: Option<ConnId>,
    pub page: Option<u32>,
    /// Seconds since the page load began.
    pub rel: f64,
    /// The line as a person reads it (already escaped).
    pub text: String,
    /// Shown in JSON only: its text is already part of another line (a response is told
    /// on its request's line, the handshake on the connect line).
    pub quiet: bool,
    /// On `close` events: the connection's phase durations.
    pub phases: Option<PhaseTimes>,
    /// What the line says, as data.
    pub facts: Facts,
}
