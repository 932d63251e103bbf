//! Per-connection phases, as the story's phase line shows them (`phases: dns 17.6 ms ·
//! wait 2.3 ms · connect 57 µs · …`): the durations ([`PhaseTimes`]), their legend, and how
//! they are measured from a connection, its lookup and its first exchange.

use super::{ConnName, StoryInput};
use crate::base::Timestamp;
use crate::flow::ConnProto;
use crate::proto::http::HttpTransaction;

/// A duration as people read it: `45 µs`, `1.4 ms`, `2.315 s`.
pub(crate) fn ms(s: f64) -> String {
    if s < 0.001 {
        format!("{:.0} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.3} s")
    }
}

pub(crate) fn secs(a: Timestamp, b: Timestamp) -> f64 {
    b.secs_since(a)
}

/// Per-connection phase durations in seconds (None where the phase did not happen).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PhaseTimes {
    /// The lookup that named the connection (query → answer).
    pub dns: Option<f64>,
    /// Answer → SYN: the client's own delay before connecting.
    pub dns_to_connect: Option<f64>,
    /// SYN → handshake ACK.
    pub connect: Option<f64>,
    /// TLS: the client's first bytes (its Client Hello) → the server's first bytes
    /// (its Server Hello, or the first encrypted data).
    pub tls: Option<f64>,
    /// First request byte → last request byte.
    pub request: Option<f64>,
    /// Last request byte → first response byte.
    pub ttfb: Option<f64>,
    /// First response byte → last response byte.
    pub transfer: Option<f64>,
    /// Last payload byte → first FIN/RST.
    pub idle: Option<f64>,
    /// First FIN/RST → last packet.
    pub close: Option<f64>,
}

impl PhaseTimes {
    /// The phases' labels, in the order of [`summary`](Self::summary), with what each
    /// one measures (`story --help` and the README define them with these words).
    pub const LEGEND: [(&'static str, &'static str); 9] = [
        (
            "dns",
            "the lookup that named the connection: query → answer",
        ),
        ("wait", "answer → the client's SYN (the client's own delay)"),
        (
            "connect",
            "the handshake: SYN → the client's ACK (QUIC: Initial → confirmed)",
        ),
        (
            "tls",
            "TLS hello: Client Hello → Server Hello (or first encrypted data)",
        ),
        ("request", "first → last byte of the first request"),
        ("first byte", "last request byte → first response byte"),
        ("transfer", "first → last byte of the first response"),
        ("idle", "last payload byte → the first FIN or RST"),
        ("close", "first FIN or RST → the connection's last packet"),
    ];

    /// "phases: dns 1.2 ms · wait 230 µs · connect 20.1 ms · …": the phases that
    /// happened, as the `story` command and the TUI print them (under a millisecond in
    /// µs).
    pub fn summary(&self) -> String {
        let parts: Vec<String> = [
            self.dns,
            self.dns_to_connect,
            self.connect,
            self.tls,
            self.request,
            self.ttfb,
            self.transfer,
            self.idle,
            self.close,
        ]
        .into_iter()
        .zip(Self::LEGEND)
        .filter_map(|(v, (name, _))| v.map(|s| format!("{name} {}", ms(s))))
        .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!("phases: {}", parts.join(" · "))
        }
    }
}

pub(crate) fn phase_times(
    input: &StoryInput<'_>,
    ci: usize,
    name: Option<&ConnName>,
    first_http: Option<&HttpTransaction>,
    tls: bool,
) -> PhaseTimes {
    let c = &input.conns[ci].conn;
    let quic = input.conns[ci].quic.as_deref();
    let hs = c.handshake.unwrap_or_default();
    let p = &c.phases;
    let first_req = p.first_payload[0];
    let last_payload = match (p.last_payload[0], p.last_payload[1]) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let close_start = c
        .close
        .map(|cl| cl.ts)
        .or(quic.and_then(|q| q.end.as_ref()).map(|e| e.ts()));
    // QUIC's handshake is its transport's and TLS's at once (RFC 9001 §4): one phase.
    let quic_connect = quic.and_then(|q| Some(secs(q.client_initial?, q.established()?)));
    // Request and response phases come from the first exchange on the connection.
    PhaseTimes {
        dns: name.and_then(|n| n.dns_rtt),
        dns_to_connect: name.and_then(|n| n.gap),
        connect: hs
            .rtt_ns()
            .map(|n| n as f64 / 1e9)
            .or(quic_connect.filter(|d| *d >= 0.0)),
        // TLS: the hello exchange is what can be seen; requests inside are encrypted.
        tls: (tls && quic.is_none() && first_http.is_none())
            .then(|| Some(secs(first_req?, p.first_payload[1]?)))
            .flatten()
            .filter(|d| *d >= 0.0),
        request: first_http
            .and_then(|t| Some(secs(t.request_ts?, t.request_end_ts?)))
            .or_else(|| {
                // A UDP flow's "request" would be all its client's datagrams.
                if tls || c.proto != ConnProto::Tcp {
                    return None;
                }
                Some(secs(first_req?, p.last_payload[0]?))
            }),
        ttfb: first_http.and_then(|t| t.ttfb()).map(|n| n as f64 / 1e9),
        transfer: first_http.and_then(|t| Some(secs(t.response_ts?, t.response_end_ts?))),
        idle: match (last_payload, close_start) {
            (Some(l), Some(cs)) if cs >= l => Some(secs(l, cs)),
            _ => None,
        },
        close: close_start.map(|cs| secs(cs, c.last_ts)),
    }
}
