//! The story event record (`story --json`, `capture --story --json`); docs/story.md
//! says which facts each `kind` carries.

use schemars::JsonSchema;
use serde::Serialize;

use super::{guard, wire, EndpointRecord, Wire};
use crate::story::{Event, Facts, PhaseTimes};

/// One line of the story and its facts as data. The facts' fields sit beside the
/// event's own (flattened), so this record is written through a sorted map: its keys
/// come out in alphabetical order like every other record's.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[schemars(
    title = "story event",
    description = "One event of the story: a line of `wiretale story --json` (docs/story.md)."
)]
pub struct EventJson<'a> {
    /// The connection id (`conns`' `id`, the text's `#N`), or null.
    pub conn: Option<u32>,
    /// What happened: `dns_query`, `dns_answer`, `dns_lookups`, `connect`,
    /// `established`, `refused`, `traceroute`, `tls_hello`, `http_request`, `http_response`, `close`,
    /// `still_open`, `anomaly`.
    #[schemars(extend("enum" = ["dns_query", "dns_answer", "dns_lookups", "connect", "established", "refused", "traceroute", "tls_hello", "http_request", "http_response", "close", "still_open", "anomaly"]))]
    pub kind: &'static str,
    /// The story it belongs to, numbered as the text numbers them (1-based).
    pub page: Option<u32>,
    /// On `close` and `still_open`: the connection's phase durations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phases: Option<PhaseTimesRecord>,
    /// Seconds since its story began.
    pub rel: f64,
    /// The line as the text prints it (escaped for a terminal).
    pub text: Wire<'a>,
    /// Seconds since the epoch.
    pub ts: f64,
    /// What the line says, by kind (absent on kinds without facts).
    #[serde(flatten)]
    pub facts: Option<FactsRecord<'a>>,
}

/// Per-connection phase durations in seconds (null where the phase did not happen).
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct PhaseTimesRecord {
    pub close: Option<f64>,
    pub connect: Option<f64>,
    pub dns: Option<f64>,
    /// Answer → SYN (the text's `wait`).
    pub dns_to_connect: Option<f64>,
    pub idle: Option<f64>,
    pub request: Option<f64>,
    pub tls: Option<f64>,
    pub transfer: Option<f64>,
    /// Last request byte → first response byte (the text's `first byte`).
    pub ttfb: Option<f64>,
}

impl From<&PhaseTimes> for PhaseTimesRecord {
    fn from(p: &PhaseTimes) -> Self {
        PhaseTimesRecord {
            close: p.close,
            connect: p.connect,
            dns: p.dns,
            dns_to_connect: p.dns_to_connect,
            idle: p.idle,
            request: p.request,
            tls: p.tls,
            transfer: p.transfer,
            ttfb: p.ttfb,
        }
    }
}

/// The facts of an event, by kind (see docs/story.md). Durations in seconds.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum FactsRecord<'a> {
    /// `dns_query`.
    Lookup {
        client: EndpointRecord,
        id: u16,
        qname: Wire<'a>,
        qtype: &'a str,
        /// Times the query was sent.
        sent: u32,
        server: EndpointRecord,
        /// `udp` or `tcp`.
        #[schemars(extend("enum" = ["udp", "tcp"]))]
        transport: &'static str,
    },
    /// `dns_answer`.
    Answer {
        /// Answer records as `TYPE data`.
        answers: Vec<Wire<'a>>,
        qname: Wire<'a>,
        qtype: &'a str,
        rcode: &'a str,
        /// On the TCP retry of a truncated UDP answer: seconds from that answer to this.
        retry_cost: Option<f64>,
        rtt: Option<f64>,
        /// TC=1.
        truncated: bool,
        /// Of the first address.
        ttl: Option<u32>,
    },
    /// `dns_lookups`: a background story's lookups of one name with one outcome.
    Lookups {
        answers: Vec<Wire<'a>>,
        count: usize,
        qname: Wire<'a>,
        qtypes: &'a [String],
        /// `none` when no answer came.
        rcode: &'a str,
    },
    /// `connect`.
    Connect {
        client: EndpointRecord,
        handshake: Option<f64>,
        /// What named the connection: its lookup, or the SNI/Host.
        name: Option<Wire<'a>>,
        /// `tcp`, `udp` or `icmp`.
        #[schemars(extend("enum" = ["tcp", "udp", "icmp"]))]
        proto: &'static str,
        server: EndpointRecord,
    },
    /// `refused`.
    Refused {
        /// SYN → RST, or query/datagram → ICMP destination unreachable.
        after: f64,
        client: EndpointRecord,
        server: EndpointRecord,
    },
    /// `tls_hello`.
    Tls {
        alpn: Option<Wire<'a>>,
        alpn_offered: Vec<Wire<'a>>,
        sni: Option<Wire<'a>>,
        /// Chosen by the server.
        version: Option<&'a str>,
    },
    /// `http_request` (with its response's facts).
    Exchange {
        /// Response body on the wire.
        body_bytes: Option<u64>,
        content_type: Option<Wire<'a>>,
        /// Last request byte → last response byte.
        done: Option<f64>,
        host: Option<Wire<'a>>,
        method: Option<Wire<'a>>,
        reason: Option<Wire<'a>>,
        status: Option<u16>,
        /// Last request byte → first response byte.
        ttfb: Option<f64>,
        uri: Option<Wire<'a>>,
    },
    /// `traceroute`.
    Traceroute {
        client: String,
        /// The routers that answered TTL exceeded, in probe order.
        hops: Vec<HopRecord>,
        /// Probes sent.
        probes: u64,
        /// `udp` or `icmp`.
        #[schemars(extend("enum" = ["udp", "icmp"]))]
        proto: &'static str,
        /// How the destination answered (`port unreachable`, `echo reply`), or null.
        reached: Option<&'static str>,
        /// The destination's fastest answer, seconds.
        reached_rtt: Option<f64>,
        server: String,
    },
    /// `close` and `still_open`.
    Close {
        /// `client` or `server`; null for `idle` and `open`.
        #[schemars(extend("enum" = ["client", "server", null]))]
        by: Option<&'static str>,
        /// `fin`, `rst`, `idle` (a flow without a close that ended) or `open`.
        #[schemars(extend("enum" = ["fin", "rst", "idle", "open"]))]
        how: &'static str,
    },
}

/// One router on a traceroute's path.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct HopRecord {
    pub addr: String,
    /// Fastest probe → TTL exceeded, seconds (null when the probe's send time is not
    /// known: several probes on one flow).
    pub rtt: Option<f64>,
}

fn wires(v: &[String]) -> Vec<Wire<'_>> {
    v.iter().map(|s| guard(s)).collect()
}

impl<'a> FactsRecord<'a> {
    pub fn new(f: &'a Facts) -> Option<Self> {
        Some(match f {
            Facts::None => return None,
            Facts::Lookup {
                qname,
                qtype,
                transport,
                id,
                client,
                server,
                sent,
            } => FactsRecord::Lookup {
                client: client.into(),
                id: *id,
                qname: guard(qname),
                qtype,
                sent: *sent,
                server: server.into(),
                transport,
            },
            Facts::Answer {
                qname,
                qtype,
                rcode,
                answers,
                ttl,
                rtt,
                truncated,
                retry_cost,
            } => FactsRecord::Answer {
                answers: wires(answers),
                qname: guard(qname),
                qtype,
                rcode,
                retry_cost: *retry_cost,
                rtt: *rtt,
                truncated: *truncated,
                ttl: *ttl,
            },
            Facts::Lookups {
                qname,
                qtypes,
                count,
                rcode,
                answers,
            } => FactsRecord::Lookups {
                answers: wires(answers),
                count: *count,
                qname: guard(qname),
                qtypes,
                rcode,
            },
            Facts::Connect {
                client,
                server,
                proto,
                name,
                handshake,
            } => FactsRecord::Connect {
                client: client.into(),
                handshake: *handshake,
                name: wire(name.as_deref()),
                proto,
                server: server.into(),
            },
            Facts::Refused {
                client,
                server,
                after,
            } => FactsRecord::Refused {
                after: *after,
                client: client.into(),
                server: server.into(),
            },
            Facts::Tls {
                sni,
                alpn_offered,
                version,
                alpn,
            } => FactsRecord::Tls {
                alpn: wire(alpn.as_deref()),
                alpn_offered: wires(alpn_offered),
                sni: wire(sni.as_deref()),
                version: version.as_deref(),
            },
            Facts::Exchange {
                method,
                host,
                uri,
                status,
                reason,
                content_type,
                body_bytes,
                ttfb,
                done,
            } => FactsRecord::Exchange {
                body_bytes: *body_bytes,
                content_type: wire(content_type.as_deref()),
                done: *done,
                host: wire(host.as_deref()),
                method: wire(method.as_deref()),
                reason: wire(reason.as_deref()),
                status: *status,
                ttfb: *ttfb,
                uri: wire(uri.as_deref()),
            },
            Facts::Close { how, by } => FactsRecord::Close { by: *by, how },
            Facts::Traceroute {
                client,
                server,
                proto,
                probes,
                hops,
                reached,
                reached_rtt,
            } => FactsRecord::Traceroute {
                client: client.to_string(),
                hops: hops
                    .iter()
                    .map(|(a, r)| HopRecord {
                        addr: a.to_string(),
                        rtt: *r,
                    })
                    .collect(),
                probes: *probes,
                proto,
                reached: *reached,
                reached_rtt: *reached_rtt,
                server: server.to_string(),
            },
        })
    }
}

impl<'a> EventJson<'a> {
    pub fn new(e: &'a Event) -> Self {
        EventJson {
            conn: e.conn.map(|c| c.0),
            kind: e.kind.as_str(),
            page: e.page.map(|p| p + 1),
            phases: e.phases.as_ref().map(PhaseTimesRecord::from),
            rel: e.rel,
            text: guard(&e.text),
            ts: e.ts.as_secs_f64(),
            facts: FactsRecord::new(&e.facts),
        }
    }
}
