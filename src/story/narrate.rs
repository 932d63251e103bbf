//! The narrative: each page load as a timeline of the book's steps: lookup, answer,
//! connect (SYN, SYN/ACK, ACK), request, response, close, with durations.

use std::collections::HashMap;
use std::fmt::Write;

use super::{ConnName, NameSource, Page, StoryInput};
use crate::base::{escape::escape_str, ConnId, Direction, Timestamp};
use crate::flow::{CloseHow, ConnProto, Connection};
use crate::proto::dns::{self, RData};
use crate::proto::http::HttpTransaction;
use crate::proto::tls::version_name;

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
            EventKind::Anomaly => "note",
        }
    }
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
    /// "dns 1.2 ms, wait 0.2 ms, connect 20.1 ms, …": the phases that happened, as the
    /// `story` command and the TUI print them.
    pub fn summary(&self) -> String {
        let f = |name: &str, v: Option<f64>| v.map(|s| format!("{name} {:.1} ms", s * 1e3));
        [
            f("dns", self.dns),
            f("wait", self.dns_to_connect),
            f("connect", self.connect),
            f("request", self.request),
            f("ttfb", self.ttfb),
            f("transfer", self.transfer),
            f("idle", self.idle),
            f("close", self.close),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
    }
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
}

/// A duration as people read it: `45 µs`, `1.4 ms`, `2.315 s`.
fn ms(s: f64) -> String {
    if s < 0.001 {
        format!("{:.0} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.3} s")
    }
}

/// `2,549` for 2549.
fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn secs(a: Timestamp, b: Timestamp) -> f64 {
    b.secs_since(a)
}

/// Narrates every page in order.
pub fn narrate(input: &StoryInput<'_>, names: &[Option<ConnName>], pages: &[Page]) -> Vec<Event> {
    let mut out = Vec::new();
    narrate_each(input, names, pages, |_, ev| {
        out.extend(ev);
        true
    });
    out
}

/// Narrates page by page, handing each page's events (in order, owned) to `each`: the
/// same events as [`narrate`], without holding all of them at once (a capture of
/// 250,000 short connections makes over a million events). `each` returns false to
/// stop early (e.g. the output pipe closed).
pub fn narrate_each(
    input: &StoryInput<'_>,
    names: &[Option<ConnName>],
    pages: &[Page],
    mut each: impl FnMut(&Page, Vec<Event>) -> bool,
) {
    let n = Narrator::new(input);
    for p in pages {
        if !each(p, n.page(input, names, p)) {
            return;
        }
    }
}

/// Narrates single pages of one input, in any order (the streaming story tells a
/// page only when its turn comes, so its events are never held waiting).
pub struct Narrator {
    /// Each connection's first exchange, found once (a scan per connection would make
    /// 250,000 connections cost 250,000²).
    first_http: HashMap<ConnId, usize>,
}

impl Narrator {
    pub fn new(input: &StoryInput<'_>) -> Self {
        let mut first_http: HashMap<ConnId, usize> = HashMap::new();
        for (i, h) in input.http.iter().enumerate() {
            let e = first_http.entry(h.conn).or_insert(i);
            if input.http[*e].tx.seq > h.tx.seq {
                *e = i;
            }
        }
        Narrator { first_http }
    }

    /// The events of page `p` of `input`, in order.
    pub fn page(&self, input: &StoryInput<'_>, names: &[Option<ConnName>], p: &Page) -> Vec<Event> {
        let mut ev: Vec<Event> = Vec::new();
        let mk = |ts: Timestamp, kind: EventKind, conn: Option<ConnId>, text: String| Event {
            ts,
            kind,
            conn,
            page: Some(p.id),
            rel: secs(p.start, ts),
            text,
            quiet: false,
            phases: None,
        };
        for &di in &p.dns {
            dns_events(input, di, &mk, &mut ev);
        }
        for &ci in &p.conns {
            let first = self
                .first_http
                .get(&input.conns[ci].conn.id)
                .map(|&i| &input.http[i].tx);
            let name = names.get(ci).and_then(|n| n.as_ref());
            conn_events(input, ci, name, first, &mk, &mut ev);
        }
        for &hi in &p.http {
            http_events(input, hi, &mk, &mut ev);
        }
        ev.sort_by(|a, b| a.ts.cmp(&b.ts).then(order(a.kind).cmp(&order(b.kind))));
        ev
    }
}

/// Tie-break for events at the same instant: the book's order.
fn order(k: EventKind) -> u8 {
    match k {
        EventKind::DnsQuery => 0,
        EventKind::DnsAnswer => 1,
        EventKind::Connect => 2,
        EventKind::Refused => 3,
        EventKind::Established => 4,
        EventKind::TlsHello => 5,
        EventKind::HttpRequest => 6,
        EventKind::HttpResponse => 7,
        EventKind::Anomaly => 8,
        EventKind::Close => 9,
    }
}

fn dns_events(
    input: &StoryInput<'_>,
    di: usize,
    mk: &dyn Fn(Timestamp, EventKind, Option<ConnId>, String) -> Event,
    ev: &mut Vec<Event>,
) {
    let tx = &input.dns[di];
    let qtype = dns::text::type_name(tx.qtype);
    let qname = dns::text::display_name(&tx.qname);
    if let Some(qt) = tx.query_ts {
        let mut text = format!(
            "{} → {}  {} {}?  ({}, id 0x{:04x})",
            tx.client.ip,
            tx.server.ip,
            qtype,
            qname,
            tx.transport.as_str(),
            tx.id
        );
        if tx.retransmissions > 0 {
            let _ = write!(text, ", sent {} times", tx.retransmissions + 1);
        }
        if tx.tc_retry_of.is_some() {
            text.push_str(", retrying a truncated UDP answer");
        }
        ev.push(mk(qt, EventKind::DnsQuery, tx.conn, text));
    }
    match (tx.response_ts, tx.response.as_deref()) {
        (Some(rt), Some(resp)) => {
            let took = tx
                .rtt()
                .map(|r| format!(", in {}", ms(r)))
                .unwrap_or_default();
            let rcode = resp.flags.rcode;
            let mut text = String::new();
            if rcode != 0 {
                let _ = write!(text, "{qname}: {}{took}", rcode_text(rcode));
            } else {
                let mut parts: Vec<String> = Vec::new();
                let mut ttl = None;
                for r in &resp.answers {
                    match &r.data {
                        RData::Cname(t) => parts.push(format!("CNAME {t}")),
                        RData::A(a) => {
                            ttl.get_or_insert(r.ttl);
                            parts.push(a.to_string())
                        }
                        RData::Aaaa(a) => {
                            ttl.get_or_insert(r.ttl);
                            parts.push(a.to_string())
                        }
                        _ => parts.push(format!(
                            "{} {}",
                            dns::text::type_name(r.rtype),
                            dns::text::data_text(r)
                        )),
                    }
                }
                if parts.is_empty() {
                    let _ = write!(text, "{qname}: no {qtype} records{took}");
                } else {
                    const SHOW: usize = 6;
                    let more = parts.len().saturating_sub(SHOW);
                    parts.truncate(SHOW);
                    let _ = write!(text, "{qname} = {}", parts.join(" = "));
                    if more > 0 {
                        let _ = write!(text, " (+{more} more)");
                    }
                    if let Some(t) = ttl {
                        let _ = write!(text, "  TTL {t}");
                    }
                    text.push_str(&took);
                }
            }
            if resp.flags.tc {
                text.push_str("  (truncated: TC=1");
                text.push_str(if tx.retried_over_tcp.is_some() {
                    ", retried over TCP)"
                } else {
                    ")"
                });
            }
            ev.push(mk(rt, EventKind::DnsAnswer, tx.conn, escape_str(&text)));
        }
        _ => {
            if let Some(qt) = tx.query_ts {
                ev.push(mk(
                    qt,
                    EventKind::Anomaly,
                    tx.conn,
                    format!("no answer to {qtype} {qname} in the capture"),
                ));
            } else if let Some(rt) = tx.response_ts {
                ev.push(mk(
                    rt,
                    EventKind::Anomaly,
                    tx.conn,
                    format!("answer for {qtype} {qname} without a query in the capture"),
                ));
            }
        }
    }
}

fn rcode_text(rcode: u16) -> String {
    match rcode {
        3 => "NXDOMAIN (no such name)".into(),
        2 => "SERVFAIL (the resolver failed)".into(),
        5 => "REFUSED (the resolver refused)".into(),
        r => dns::text::rcode_mnemonic(r),
    }
}

fn name_text(n: Option<&ConnName>) -> String {
    match n {
        None => "(no lookup in capture: cached, hosts file, or resolved before the capture began)"
            .into(),
        Some(n) => {
            let mut s = format!("({}", n.qname);
            match n.source {
                NameSource::Dns => {}
                NameSource::Sni => s.push_str(", from the TLS SNI; no lookup in capture"),
                NameSource::Host => s.push_str(", from the HTTP Host; no lookup in capture"),
            }
            if n.ttl_expired {
                s.push_str(", TTL had expired");
            }
            if !n.also.is_empty() {
                let _ = write!(s, "; also answered for {}", n.also.join(", "));
            }
            if let Some(m) = &n.mismatch {
                let _ = write!(s, "; but the client said {m}");
            }
            s.push(')');
            escape_str(&s)
        }
    }
}

fn conn_events(
    input: &StoryInput<'_>,
    ci: usize,
    name: Option<&ConnName>,
    first_http: Option<&HttpTransaction>,
    mk: &dyn Fn(Timestamp, EventKind, Option<ConnId>, String) -> Event,
    ev: &mut Vec<Event>,
) {
    let rec = &input.conns[ci];
    let c = &rec.conn;
    let id = Some(c.id);
    if rec.app == Some(super::AppKind::Dns) {
        return; // told by its lookups
    }
    let proto = match c.proto {
        ConnProto::Tcp => "",
        ConnProto::Udp => " (udp)",
        ConnProto::Icmp => " (icmp)",
    };
    let hs = c.handshake.unwrap_or_default();
    let start = hs.syn_ts.unwrap_or(c.first_ts);
    let mut text = format!(
        "#{} {} → {}{}  {}",
        c.id,
        c.client,
        c.server,
        proto,
        name_text(name)
    );
    if c.proto == ConnProto::Tcp && hs.syn_ts.is_none() {
        text.push_str("  already open when the capture began");
    }
    let state = c.state();
    let established = hs.ack_ts.is_some() || (hs.synack_ts.is_some() && c.bytes[0] > 0);
    if let Some(rtt) = hs.rtt_ns() {
        let _ = write!(text, "  handshake {}", ms(rtt as f64 / 1e9));
    }
    if state == "REJ" {
        let mut e = mk(start, EventKind::Connect, id, text);
        e.quiet = true;
        ev.push(e);
        let rst = c.close.map(|cl| cl.ts).unwrap_or(c.last_ts);
        ev.push(mk(
            rst,
            EventKind::Refused,
            id,
            format!(
                "{} → {}  refused: the server answered the SYN with RST in {}",
                c.client,
                c.server,
                ms(secs(start, rst))
            ),
        ));
        return;
    }
    ev.push(mk(start, EventKind::Connect, id, text));
    if let Some(ack) = hs.ack_ts {
        let mut e = mk(
            ack,
            EventKind::Established,
            id,
            format!(
                "SYN → SYN/ACK {}, SYN/ACK → ACK {}",
                hs.server_rtt_ns()
                    .map_or("-".into(), |n| ms(n as f64 / 1e9)),
                hs.client_rtt_ns()
                    .map_or("-".into(), |n| ms(n as f64 / 1e9))
            ),
        );
        e.quiet = true;
        ev.push(e);
    } else if c.proto == ConnProto::Tcp && hs.syn_ts.is_some() && hs.synack_ts.is_none() {
        ev.push(mk(
            c.last_ts,
            EventKind::Anomaly,
            id,
            "no answer to the SYN (retried or filtered)".into(),
        ));
    }
    if let Some(t) = &rec.tls {
        let mut s = String::from("Client Hello");
        if let Some(sni) = &t.sni {
            let _ = write!(s, " SNI={sni}");
        }
        if !t.alpn_offered.is_empty() {
            let _ = write!(s, " ALPN {}", t.alpn_offered.join(","));
        }
        if let Some(v) = t.version {
            let _ = write!(s, " → Server Hello {}", version_name(v));
            if let Some(a) = &t.alpn {
                let _ = write!(s, " {a}");
            }
        }
        let at = c.phases.first_payload[0].unwrap_or(start);
        ev.push(mk(at, EventKind::TlsHello, id, escape_str(&s)));
    }
    let total: u64 = c.bytes[0] + c.bytes[1];
    if c.proto == ConnProto::Tcp && established && total == 0 {
        ev.push(mk(
            hs.ack_ts.unwrap_or(start),
            EventKind::Anomaly,
            id,
            "connection opened but never used (a browser's preconnect?)".into(),
        ));
    }
    let mut close = format!("#{} {}", c.id, close_text(c));
    let phases = phase_times(input, ci, name, first_http);
    let at = c.close.map(|cl| cl.ts).unwrap_or(c.last_ts);
    if c.retransmitted_bytes.iter().sum::<u64>() > 0 || c.missed_bytes > 0 {
        let _ = write!(
            close,
            "  ({} B retransmitted, {} B missed)",
            c.retransmitted_bytes.iter().sum::<u64>(),
            c.missed_bytes
        );
    }
    let mut e = mk(at, EventKind::Close, id, close);
    e.phases = Some(phases);
    ev.push(e);
}

fn close_text(c: &Connection) -> String {
    let p = &c.phases;
    let who = |d: Direction| d.sender();
    match c.close {
        None if c.proto != ConnProto::Tcp => "flow ended (idle)".into(),
        None => "still open at the end of the capture".into(),
        Some(cl) => match cl.how {
            CloseHow::Rst => format!("reset by the {} (RST)", who(cl.by)),
            CloseHow::Fin => {
                let other = cl.by.reverse();
                let mut s = format!("{} FIN", who(cl.by));
                match (p.fin[other.index()], p.rst[other.index()]) {
                    (Some(_), _) => {
                        let _ = write!(s, ", then {} FIN", who(other));
                    }
                    (None, Some(_)) => {
                        let _ = write!(s, ", then {} RST", who(other));
                    }
                    (None, None) => {
                        let _ = write!(s, "; the {} never closed its side", who(other));
                    }
                }
                s
            }
        },
    }
}

fn phase_times(
    input: &StoryInput<'_>,
    ci: usize,
    name: Option<&ConnName>,
    first_http: Option<&HttpTransaction>,
) -> PhaseTimes {
    let c = &input.conns[ci].conn;
    let hs = c.handshake.unwrap_or_default();
    let p = &c.phases;
    let first_req = p.first_payload[0];
    let last_payload = match (p.last_payload[0], p.last_payload[1]) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let close_start = c.close.map(|cl| cl.ts);
    // Request and response phases come from the first exchange on the connection.
    PhaseTimes {
        dns: name.and_then(|n| n.dns_rtt),
        dns_to_connect: name.and_then(|n| n.gap),
        connect: hs.rtt_ns().map(|n| n as f64 / 1e9),
        request: first_http
            .and_then(|t| Some(secs(t.request_ts?, t.request_end_ts?)))
            .or_else(|| Some(secs(first_req?, p.last_payload[0]?))),
        ttfb: first_http.and_then(|t| t.ttfb()).map(|n| n as f64 / 1e9),
        transfer: first_http.and_then(|t| Some(secs(t.response_ts?, t.response_end_ts?))),
        idle: match (last_payload, close_start) {
            (Some(l), Some(cs)) if cs >= l => Some(secs(l, cs)),
            _ => None,
        },
        close: close_start.map(|cs| secs(cs, c.last_ts)),
    }
}

fn http_events(
    input: &StoryInput<'_>,
    hi: usize,
    mk: &dyn Fn(Timestamp, EventKind, Option<ConnId>, String) -> Event,
    ev: &mut Vec<Event>,
) {
    let h = &input.http[hi];
    let t = &h.tx;
    let conn = Some(h.conn);
    let mut req = format!(
        "{} {}",
        t.method.as_deref().unwrap_or("?"),
        t.uri.as_deref().unwrap_or("?")
    );
    if t.seq > 0 {
        let _ = write!(req, " (#{}, same connection)", h.conn);
    } else {
        let _ = write!(req, " (#{})", h.conn);
    }
    let mut resp = String::new();
    if let Some(status) = t.status {
        let _ = write!(resp, "{status} {}", t.reason.as_deref().unwrap_or(""));
        if let Some(ct) = &t.content_type {
            let _ = write!(resp, "  {}", ct.split(';').next().unwrap_or(ct).trim());
        }
        let _ = write!(resp, " {} B", grouped(t.response_body_len));
        if let Some(enc) = &t.content_encoding {
            let _ = write!(resp, " ({enc})");
        }
        if let Some(ttfb) = t.ttfb() {
            let _ = write!(resp, "  first byte {}", ms(ttfb as f64 / 1e9));
        }
        if let Some(done) = t.time_to_last_byte() {
            let _ = write!(resp, ", done {}", ms(done as f64 / 1e9));
        }
    } else {
        resp.push_str("no response in the capture");
    }
    if t.partial {
        resp.push_str("  (partial: bytes missing from the capture)");
    }
    let at = t.request_ts.or(t.response_ts).unwrap_or_default();
    ev.push(mk(
        at,
        EventKind::HttpRequest,
        conn,
        escape_str(&format!("{req} → {resp}")),
    ));
    if let Some(rt) = t.response_ts {
        let mut e = mk(rt, EventKind::HttpResponse, conn, escape_str(&resp));
        e.quiet = true;
        ev.push(e);
    }
}
