//! The narrative: each page load as a timeline of the book's steps: lookup, answer,
//! connect (SYN, SYN/ACK, ACK), request, response, close, with durations.

use std::collections::HashMap;
use std::fmt::Write;

use super::digits::{push_endpoint, push_grouped, push_u64};
use super::events::{Event, EventKind, Facts, DNS_TCP_MARK};
use super::phases::{ms, phase_times, push_ms, secs};
use super::{ConnName, NameSource, Page, QuicEnd, QuicSummary, StoryInput};
use crate::base::elide::{list, value, LIST_ITEMS, VALUE_COLUMNS};
use crate::base::escape::{escape_owned, escape_str, escape_tail, is_safe};
use crate::base::{ConnId, Direction, Timestamp};
use crate::flow::{CloseHow, ConnProto, Connection, FxHashMap};
use crate::proto::dns::{self, RData};
use crate::proto::http::{HttpTransaction, Transfer};
use crate::proto::tls::session::NotDecrypted;
use crate::proto::tls::version_name;

/// `2,549` for 2549.
fn grouped(n: u64) -> String {
    let mut out = String::with_capacity(26);
    push_grouped(&mut out, n);
    out
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
    first_http: FxHashMap<ConnId, usize>,
    /// Tells only what the text shows (see [`Narrator::for_text`]).
    text_only: bool,
}

impl Narrator {
    pub fn new(input: &StoryInput<'_>) -> Self {
        let mut first_http: FxHashMap<ConnId, usize> = FxHashMap::default();
        for (i, h) in input.http.iter().enumerate() {
            let e = first_http.entry(h.conn).or_insert(i);
            if input.http[*e].tx.seq > h.tx.seq {
                *e = i;
            }
        }
        Narrator {
            first_http,
            text_only: false,
        }
    }

    /// Narrates only what the text timeline shows: events without their facts (the
    /// JSON's fields), and without the quiet lines of a connection's handshake and of a
    /// response (their text is already on the connect and request lines). The lines
    /// that are shown are the same; a page of many short connections makes half the
    /// strings.
    pub fn for_text(mut self, yes: bool) -> Self {
        self.text_only = yes;
        self
    }

    /// A narrator told each connection's first exchange (an index into the `http` of the
    /// input it will narrate): a packed page carries its own (see `story::pack`).
    pub(crate) fn with_first_http(first_http: FxHashMap<ConnId, usize>) -> Self {
        Narrator {
            first_http,
            text_only: false,
        }
    }

    /// The index of connection `id`'s first exchange in the input this was made for.
    pub(crate) fn first_http(&self, id: ConnId) -> Option<usize> {
        self.first_http.get(&id).copied()
    }

    /// The events of page `p` of `input`, in order.
    pub fn page(&self, input: &StoryInput<'_>, names: &[Option<ConnName>], p: &Page) -> Vec<Event> {
        // Room for the usual lines (an event is ~400 bytes: growing by doubling moved
        // them all): connect, established, close; request, response; query, answer
        // (for the text, no established and no response).
        let quiet = usize::from(!self.text_only);
        let mut ev: Vec<Event> = Vec::with_capacity(
            (2 + quiet) * p.conns.len() + (1 + quiet) * p.http.len() + 2 * p.dns.len() + 1,
        );
        let mk = |ts: Timestamp, kind: EventKind, conn: Option<ConnId>, text: String| Event {
            ts,
            kind,
            conn,
            page: Some(p.id),
            rel: secs(p.start, ts),
            text,
            quiet: false,
            phases: None,
            facts: Facts::None,
        };
        // Truncated UDP answers of this page retried over TCP, by `seq`: the retry
        // tells their cost (within one page, so the streaming story tells the same).
        let truncated: HashMap<u64, usize> = p
            .dns
            .iter()
            .filter(|&&di| input.dns[di].retried_over_tcp.is_some())
            .map(|&di| (input.dns[di].seq, di))
            .collect();
        for &di in &p.dns {
            dns_events(input, &truncated, di, &mk, &mut ev);
        }
        if p.background {
            // Told folded, one line per name: the single lookups stay for JSON.
            ev.iter_mut().for_each(|e| e.quiet = true);
            folded_lookups(input, p, &mk, &mut ev);
        }
        // Traceroutes first: their probes' own lines go quiet under the folded line.
        let probes = super::icmp::traceroutes(input, p, &mk, &mut ev);
        let told = ev.len();
        for &ci in &p.conns {
            let first = self
                .first_http
                .get(&input.conns[ci].conn.id)
                .map(|&i| &input.http[i].tx);
            let name = names.get(ci).and_then(|n| n.as_ref());
            conn_events(input, ci, name, first, !self.text_only, &mk, &mut ev);
        }
        for e in &mut ev[told..] {
            if e.conn.is_some_and(|c| probes.contains(&c)) {
                e.quiet = true;
            }
        }
        for &hi in &p.http {
            http_events(input, hi, !self.text_only, &mk, &mut ev);
        }
        // Both stable. A long page is sorted through its keys (each event moves once,
        // not log n times); a short one in place (no list of keys to allocate).
        if ev.len() > 20 {
            ev.sort_by_cached_key(|e| (e.ts, order(e.kind)));
        } else {
            ev.sort_by(|a, b| a.ts.cmp(&b.ts).then(order(a.kind).cmp(&order(b.kind))));
        }
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
        EventKind::Lookups => 1,
        EventKind::Anomaly => 8,
        EventKind::Close | EventKind::StillOpen => 9,
        EventKind::Traceroute => 2,
    }
}

/// What an answer said, in words and as facts.
struct Outcome {
    /// `= CNAME web.example = 198.18.1.80  TTL 300`, `: REFUSED (…)`,
    /// `: no AAAA records`, `= CNAME web.example; no AAAA records`.
    text: String,
    rcode: String,
    answers: Vec<String>,
    ttl: Option<u32>,
}

/// Reads an answer for a question of type `qtype`: the records in order (CNAME chain,
/// then addresses), and "no TYPE records" whenever none of the asked type came back
/// (also after a CNAME chain: the chain alone does not answer the question).
fn outcome(qtype: u16, resp: &dns::Message) -> Outcome {
    let rcode = resp.flags.rcode;
    if rcode != 0 {
        return Outcome {
            text: format!(": {}", rcode_text(rcode)),
            rcode: dns::text::rcode_mnemonic(rcode),
            answers: Vec::new(),
            ttl: None,
        };
    }
    let mut parts: Vec<String> = Vec::new();
    let mut answers: Vec<String> = Vec::new();
    let mut ttl = None;
    let mut of_type = false;
    for r in &resp.answers {
        let tname = dns::text::record_type_name(r);
        of_type |= r.rtype == qtype;
        match &r.data {
            RData::Cname(t) => {
                parts.push(format!("CNAME {t}"));
                answers.push(format!("CNAME {t}"));
            }
            RData::A(a) => {
                ttl.get_or_insert(r.ttl);
                parts.push(a.to_string());
                answers.push(format!("A {a}"));
            }
            RData::Aaaa(a) => {
                ttl.get_or_insert(r.ttl);
                parts.push(a.to_string());
                answers.push(format!("AAAA {a}"));
            }
            _ => {
                let d = dns::text::data_text(r);
                parts.push(format!("{tname} {d}"));
                answers.push(format!("{tname} {d}"));
            }
        }
    }
    // ANY (255) and CNAME questions are answered by whatever came back.
    // A response without a question (mDNS announcements) has type 0: nothing asked.
    let none = !of_type && !matches!(qtype, 0 | 5 | 255);
    let mut text = String::new();
    if !parts.is_empty() {
        let _ = write!(text, " = {}", list(&parts, " = ", LIST_ITEMS));
        if let Some(t) = ttl {
            let _ = write!(text, "  TTL {t}");
        }
    }
    if none {
        text.push_str(if parts.is_empty() { ": " } else { "; " });
        let _ = write!(text, "no {} records", dns::text::type_name(qtype));
    }
    Outcome {
        text,
        rcode: dns::text::rcode_mnemonic(0),
        answers,
        ttl,
    }
}

/// " +N more" after the first question's name when the query asked several (an mDNS
/// querier asks for many names in one message); the JSON facts keep the first.
fn more_questions(tx: &dns::DnsTransaction) -> String {
    match tx.questions.len() {
        0 | 1 => String::new(),
        n => format!(" +{} more", n - 1),
    }
}

/// How a lookup travelled: `udp`/`tcp` for DNS, the service for mDNS, LLMNR, NetBIOS.
fn via(tx: &dns::DnsTransaction) -> &'static str {
    match tx.service {
        dns::Service::Dns => tx.transport.as_str(),
        s => s.as_str(),
    }
}

/// DNS names and record data arrive already in safe presentation form (RFC 1035 §5.1
/// escapes, see `proto::dns::parse`): escaping them again would double each `\\`.
fn dns_events(
    input: &StoryInput<'_>,
    truncated: &HashMap<u64, usize>,
    di: usize,
    mk: &dyn Fn(Timestamp, EventKind, Option<ConnId>, String) -> Event,
    ev: &mut Vec<Event>,
) {
    let tx = &input.dns[di];
    let qtype = dns::text::service_type_name(tx.service, tx.qtype);
    let qname = dns::text::display_name(&tx.qname);
    let more = more_questions(tx);
    if let Some(qt) = tx.query_ts {
        let mut text = format!(
            "{} → {}  {} {}{more}?  ({}, id 0x{:04x})",
            tx.client.ip,
            tx.server.ip,
            qtype,
            value(qname, VALUE_COLUMNS),
            via(tx),
            tx.id
        );
        // Over TCP the lookup travels on a connection of its own (told beside it).
        if let (Some(c), dns::Transport::Tcp) = (tx.conn, tx.transport) {
            let _ = write!(text, " on #{c}");
        }
        if tx.retransmissions > 0 {
            let _ = write!(text, ", sent {} times", tx.retransmissions + 1);
        }
        if tx.tc_retry_of.is_some() {
            text.push_str(", retrying a truncated UDP answer");
        }
        let mut e = mk(qt, EventKind::DnsQuery, tx.conn, text);
        e.facts = Facts::Lookup {
            qname: qname.to_string(),
            qtype: qtype.to_string(),
            transport: tx.transport.as_str(),
            id: tx.id,
            client: tx.client,
            server: tx.server,
            sent: tx.retransmissions + 1,
        };
        ev.push(e);
    }
    match (tx.response_ts, tx.response.as_deref()) {
        (Some(rt), Some(resp)) => {
            let took = tx
                .rtt()
                .map(|r| format!(", in {}", ms(r)))
                .unwrap_or_default();
            let o = outcome(tx.qtype, resp);
            let mut text = format!(
                "{qtype} {}{more}{}{took}",
                value(qname, VALUE_COLUMNS),
                o.text
            );
            // The price of a truncated UDP answer: the time from it to this TCP answer
            // (connection set up, query sent again, answer whole).
            let retry_cost = tx
                .tc_retry_of
                .and_then(|seq| truncated.get(&seq))
                .map(|&i| &input.dns[i])
                .and_then(|udp| udp.response_ts)
                .map(|u| secs(u, rt));
            if let Some(c) = retry_cost {
                let _ = write!(
                    text,
                    "  (retried over TCP: {} more than the truncated UDP answer)",
                    ms(c)
                );
            }
            if resp.flags.tc {
                text.push_str("  (truncated: TC=1");
                text.push_str(if tx.retried_over_tcp.is_some() {
                    ", retried over TCP)"
                } else {
                    ")"
                });
            }
            let mut e = mk(rt, EventKind::DnsAnswer, tx.conn, text);
            e.facts = Facts::Answer {
                qname: qname.to_string(),
                qtype: qtype.to_string(),
                rcode: o.rcode,
                answers: o.answers,
                ttl: o.ttl,
                rtt: tx.rtt(),
                truncated: resp.flags.tc,
                retry_cost,
            };
            ev.push(e);
        }
        _ => {
            if let Some(e) = super::icmp::lookup_refused(tx, &qtype, qname, mk) {
                ev.push(e);
            } else if let Some(qt) = tx.query_ts {
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

/// A background page's lookups, one line per name and outcome: "update.googleapis.com
/// A, HTTPS ×14: REFUSED (the resolver refused)". The single lookups stay in the JSON
/// (quiet), so no fact is lost.
fn folded_lookups(
    input: &StoryInput<'_>,
    p: &Page,
    mk: &dyn Fn(Timestamp, EventKind, Option<ConnId>, String) -> Event,
    ev: &mut Vec<Event>,
) {
    // (name, outcome) → (first time, types in order of first use, count, facts)
    struct Fold {
        first: Timestamp,
        qname: String,
        types: Vec<String>,
        count: usize,
        text: String,
        rcode: String,
        answers: Vec<String>,
    }
    let mut folds: Vec<Fold> = Vec::new();
    let mut at: HashMap<(String, String), usize> = HashMap::new();
    for &di in &p.dns {
        let tx = &input.dns[di];
        let t = tx.query_ts.or(tx.response_ts).unwrap_or_default();
        let qname = format!(
            "{}{}",
            dns::text::display_name(&tx.qname),
            more_questions(tx)
        );
        let (text, rcode, answers) = match tx.response.as_deref() {
            Some(r) => {
                let o = outcome(tx.qtype, r);
                // The type is named once before the count: drop "no A records" words.
                let text = if r.flags.rcode == 0 && o.answers.is_empty() {
                    ": no records".to_string()
                } else {
                    o.text
                };
                (text, o.rcode, o.answers)
            }
            None => (
                match &tx.icmp_outcome {
                    Some(o) => format!(": {}", o.text),
                    None => ": no answer in the capture".to_string(),
                },
                "none".into(),
                Vec::new(),
            ),
        };
        let key = (qname.to_ascii_lowercase(), text.clone());
        let i = *at.entry(key).or_insert_with(|| {
            folds.push(Fold {
                first: t,
                qname: qname.clone(),
                types: Vec::new(),
                count: 0,
                text,
                rcode,
                answers,
            });
            folds.len() - 1
        });
        let f = &mut folds[i];
        f.first = f.first.min(t);
        f.count += 1;
        let ty = dns::text::service_type_name(tx.service, tx.qtype);
        if !f.types.contains(&ty) {
            f.types.push(ty);
        }
    }
    for f in folds {
        let times = if f.count > 1 {
            format!(" ×{}", f.count)
        } else {
            String::new()
        };
        let text = format!(
            "{}  {}{times}{}",
            value(&f.qname, VALUE_COLUMNS),
            f.types.join(", "),
            f.text
        );
        let mut e = mk(f.first, EventKind::Lookups, None, text);
        e.facts = Facts::Lookups {
            qname: f.qname,
            qtypes: f.types,
            count: f.count,
            rcode: f.rcode,
            answers: f.answers,
        };
        ev.push(e);
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

/// How a connection was named, at the end of `out`: `(web.example, TTL had expired)`.
fn push_name_text(out: &mut String, n: Option<&ConnName>) {
    match n {
        None => out.push_str(
            "(no lookup in capture: cached, hosts file, or resolved before the capture began)",
        ),
        Some(n) => {
            let from = out.len();
            out.push('(');
            out.push_str(&n.qname);
            match n.source {
                NameSource::Dns => {}
                NameSource::Sni => out.push_str(", from the TLS SNI; no lookup in capture"),
                NameSource::Host => out.push_str(", from the HTTP Host; no lookup in capture"),
            }
            if n.ttl_expired {
                out.push_str(", TTL had expired");
            }
            if !n.also.is_empty() {
                out.push_str("; also answered for ");
                out.push_str(&n.also.join(", "));
            }
            if let Some(m) = &n.mismatch {
                out.push_str("; but the client said ");
                out.push_str(m);
            }
            out.push(')');
            escape_tail(out, from);
        }
    }
}

/// A connection's lines; without `full`, no facts and no quiet handshake line (see
/// [`Narrator::for_text`]).
fn conn_events(
    input: &StoryInput<'_>,
    ci: usize,
    name: Option<&ConnName>,
    first_http: Option<&HttpTransaction>,
    full: bool,
    mk: &dyn Fn(Timestamp, EventKind, Option<ConnId>, String) -> Event,
    ev: &mut Vec<Event>,
) {
    let rec = &input.conns[ci];
    let c = &rec.conn;
    let id = Some(c.id);
    let dns_conn = rec.app == Some(super::AppKind::Dns);
    if dns_conn && c.proto != ConnProto::Tcp {
        return; // a UDP flow to the resolver: told by its lookups
    }
    let proto = match c.proto {
        ConnProto::Tcp => "",
        ConnProto::Udp => " (udp)",
        ConnProto::Icmp => " (icmp)",
    };
    let proto_name = match c.proto {
        ConnProto::Tcp => "tcp",
        ConnProto::Udp => "udp",
        ConnProto::Icmp => "icmp",
    };
    let hs = c.handshake.unwrap_or_default();
    let quic = rec.quic.as_deref();
    let start = quic
        .and_then(|q| q.client_initial)
        .or(hs.syn_ts)
        .unwrap_or(c.first_ts);
    let (proto, proto_name) = if quic.is_some() {
        ("", "quic")
    } else {
        (proto, proto_name)
    };
    let mut text = String::with_capacity(160);
    if quic.is_some() {
        text.push_str("(QUIC) ");
    }
    // `#{id} {client} → {server}{proto}  `
    text.push('#');
    push_u64(&mut text, c.id.0.into());
    text.push(' ');
    push_endpoint(&mut text, c.client);
    text.push_str(" → ");
    push_endpoint(&mut text, c.server);
    text.push_str(proto);
    text.push_str("  ");
    // DNS over TCP: the socket to the resolver, which its lookups travel on.
    if dns_conn {
        text.push_str(DNS_TCP_MARK);
    } else {
        push_name_text(&mut text, name);
    }
    if let Some(t) = c.tunnel.as_deref().filter(|t| !t.is_empty()) {
        // Innermost first: "in gre key 7 in vxlan VNI 42".
        let hops: Vec<String> = t.iter().rev().map(|h| h.short()).collect();
        let _ = write!(text, "  in {}", hops.join(" in "));
    }
    if c.proto == ConnProto::Tcp && hs.syn_ts.is_none() {
        text.push_str("  already open when the capture began");
    }
    let state = c.state();
    let established = hs.ack_ts.is_some() || (hs.synack_ts.is_some() && c.bytes[0] > 0);
    if let Some(rtt) = hs.rtt_ns() {
        text.push_str("  handshake ");
        push_ms(&mut text, rtt as f64 / 1e9);
    }
    let quic_handshake = quic.and_then(|q| {
        let end = q.established()?;
        (end >= start).then(|| secs(start, end))
    });
    if let Some(q) = quic {
        text.push_str(&escape_str(&quic_connect_text(
            q,
            rec.tls.as_deref(),
            quic_handshake,
        )));
    }
    // How the browser came to QUIC, and the TCP connection it raced, on a line of their
    // own (the connect line is long already).
    let how = [
        super::alt_transport::h3_announced(input, ci, name.map(|n| n.qname.as_str()))
            .map(|by| format!("HTTP/3 announced by {by}")),
        super::alt_transport::race(input, ci),
    ];
    let how: Vec<String> = how.into_iter().flatten().collect();
    let connect_facts = if full {
        Facts::Connect {
            client: c.client,
            server: c.server,
            proto: proto_name,
            name: name.map(|n| n.qname.clone()),
            handshake: hs.rtt_ns().map(|n| n as f64 / 1e9).or(quic_handshake),
        }
    } else {
        Facts::None
    };
    if state == "REJ" {
        let mut e = mk(start, EventKind::Connect, id, text);
        e.quiet = true;
        e.facts = connect_facts;
        ev.push(e);
        let rst = c.close.map(|cl| cl.ts).unwrap_or(c.last_ts);
        let mut e = mk(
            rst,
            EventKind::Refused,
            id,
            format!(
                "#{} {} → {}  the server answered the SYN with RST in {}",
                c.id,
                c.client,
                c.server,
                ms(secs(start, rst))
            ),
        );
        e.facts = Facts::Refused {
            client: c.client,
            server: c.server,
            after: secs(start, rst),
        };
        ev.push(e);
        return;
    }
    if c.proto != ConnProto::Tcp {
        if let Some(refused) = super::icmp::flow_refused(c, start, mk) {
            // Told like a TCP REJ: the connect line quiet, the refusal the line to read.
            let mut e = mk(start, EventKind::Connect, id, text);
            e.quiet = true;
            e.facts = connect_facts;
            ev.push(e);
            ev.push(refused);
            return;
        }
    }
    let mut e = mk(start, EventKind::Connect, id, text);
    e.facts = connect_facts;
    ev.push(e);
    if let Some(e) = super::icmp::errors_line(c, mk) {
        ev.push(e);
    }
    if !how.is_empty() {
        let text = format!("#{} {}", c.id, escape_str(&how.join("; ")));
        ev.push(mk(start, EventKind::Anomaly, id, text));
    }
    if let Some(ack) = hs.ack_ts {
        // Quiet: the connect line tells the handshake already.
        if full {
            let mut t = String::with_capacity(48);
            let rtt = |t: &mut String, ns: Option<i64>| match ns {
                Some(n) => push_ms(t, n as f64 / 1e9),
                None => t.push('-'),
            };
            t.push_str("SYN → SYN/ACK ");
            rtt(&mut t, hs.server_rtt_ns());
            t.push_str(", SYN/ACK → ACK ");
            rtt(&mut t, hs.client_rtt_ns());
            let mut e = mk(ack, EventKind::Established, id, t);
            e.quiet = true;
            ev.push(e);
        }
    } else if c.proto == ConnProto::Tcp && hs.syn_ts.is_some() && hs.synack_ts.is_none() {
        ev.push(mk(
            c.last_ts,
            EventKind::Anomaly,
            id,
            "no answer to the SYN (retried or filtered)".into(),
        ));
    }
    if let (Some(t), Some(q)) = (&rec.tls, quic) {
        let at = q.client_initial.unwrap_or(start);
        let mut e = mk(
            at,
            EventKind::TlsHello,
            id,
            escape_owned(quic_tls_line(t, q)),
        );
        e.facts = Facts::Tls {
            sni: t.sni.clone(),
            alpn_offered: t.alpn_offered.clone(),
            version: t.version.map(|v| version_name(v).to_string()),
            alpn: t.alpn.clone(),
        };
        ev.push(e);
    } else if let Some(t) = &rec.tls {
        let mut s = tls_line(t);
        let sent = t.encrypted[0].records + t.encrypted[1].records;
        if !t.decrypted && sent > 0 {
            // Say what is there and how to read it (or why the keys given did not),
            // rather than nothing.
            let how = match &t.not_decrypted {
                None | Some(NotDecrypted::NoKeyLog) => "--tls-keylog FILE decrypts".into(),
                Some(why) => format!("not decrypted: {}", why.reason()),
            };
            let _ = write!(
                s,
                " · encrypted ({sent} records, {} B); {how}",
                grouped(t.encrypted[0].bytes + t.encrypted[1].bytes)
            );
        }
        let at = c.phases.first_payload[0].unwrap_or(start);
        let mut e = mk(at, EventKind::TlsHello, id, escape_owned(s));
        e.facts = Facts::Tls {
            sni: t.sni.clone(),
            alpn_offered: t.alpn_offered.clone(),
            version: t.version.map(|v| version_name(v).to_string()),
            alpn: t.alpn.clone(),
        };
        ev.push(e);
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
    let mut close = String::with_capacity(96);
    close.push('#');
    push_u64(&mut close, c.id.0.into());
    close.push(' ');
    match quic {
        Some(q) => close.push_str(&escape_str(&quic_close_text(q))),
        None => push_close_text(&mut close, c),
    }
    let phases = phase_times(input, ci, name, first_http, rec.tls.is_some());
    let at = c
        .close
        .map(|cl| cl.ts)
        .or(quic.and_then(|q| q.end.as_ref()).map(|e| e.ts()))
        .unwrap_or(c.last_ts);
    if c.retransmitted_bytes.iter().sum::<u64>() > 0 || c.missed_bytes > 0 {
        let _ = write!(
            close,
            "  ({} B retransmitted, {} B missed)",
            c.retransmitted_bytes.iter().sum::<u64>(),
            c.missed_bytes
        );
    }
    // A TCP connection that never closed is not a close: it is told as still open.
    let open = c.close.is_none() && c.proto == ConnProto::Tcp;
    let kind = if open {
        EventKind::StillOpen
    } else {
        EventKind::Close
    };
    let mut e = mk(at, kind, id, close);
    e.phases = Some(phases);
    let quic_end = quic.and_then(|q| q.end.as_ref());
    e.facts = Facts::Close {
        how: match (c.close.map(|cl| cl.how), quic_end) {
            (Some(CloseHow::Fin), _) => "fin",
            (Some(CloseHow::Rst), _) => "rst",
            (None, Some(QuicEnd::Close { .. })) => "quic_close",
            (None, Some(QuicEnd::StatelessReset { .. })) => "stateless_reset",
            (None, None) if open => "open",
            (None, None) => "idle",
        },
        by: c
            .close
            .map(|cl| cl.by.sender())
            .or(quic_end.map(|e| match e {
                QuicEnd::Close { by, .. } | QuicEnd::StatelessReset { by, .. } => by.sender(),
            })),
    };
    ev.push(e);
}

/// How a connection ended, at the end of `out`: `client FIN, then server FIN`.
fn push_close_text(out: &mut String, c: &Connection) {
    let p = &c.phases;
    let who = |d: Direction| d.sender();
    match c.close {
        None if c.proto != ConnProto::Tcp => out.push_str("flow ended (idle)"),
        None => out.push_str("still open at the end of the capture"),
        Some(cl) => match cl.how {
            CloseHow::Rst => {
                out.push_str("reset by the ");
                out.push_str(who(cl.by));
                out.push_str(" (RST)");
            }
            CloseHow::Fin => {
                let other = cl.by.reverse();
                out.push_str(who(cl.by));
                out.push_str(" FIN");
                match (p.fin[other.index()], p.rst[other.index()]) {
                    (Some(_), _) => {
                        out.push_str(", then ");
                        out.push_str(who(other));
                        out.push_str(" FIN");
                    }
                    (None, Some(_)) => {
                        out.push_str(", then ");
                        out.push_str(who(other));
                        out.push_str(" RST");
                    }
                    (None, None) => {
                        // A browser that closed, then got more data, resets (RFC 9293
                        // §3.6.1 lets it): say so rather than end at the FIN.
                        if p.rst[cl.by.index()].is_some() {
                            out.push_str(", then ");
                            out.push_str(who(cl.by));
                            out.push_str(" RST");
                        }
                        out.push_str("; the ");
                        out.push_str(who(other));
                        out.push_str(" never closed its side");
                    }
                }
            }
        },
    }
}

/// An exchange's lines; without `full`, no facts and no quiet response line (see
/// [`Narrator::for_text`]).
fn http_events(
    input: &StoryInput<'_>,
    hi: usize,
    full: bool,
    mk: &dyn Fn(Timestamp, EventKind, Option<ConnId>, String) -> Event,
    ev: &mut Vec<Event>,
) {
    let h = &input.http[hi];
    let t = &h.tx;
    let conn = Some(h.conn);
    // The request's line and the response's are built in one buffer, `req → resp`:
    // the response's own (quiet) line is its tail (escaping works character by
    // character, so the tail of the escaped line is the escaped tail).
    let mut line = String::with_capacity(160);
    line.push_str(t.method.as_deref().unwrap_or("?"));
    line.push(' ');
    line.push_str(&value(t.uri.as_deref().unwrap_or("?"), VALUE_COLUMNS));
    match t.stream {
        // HTTP/2 and HTTP/3 multiplex: the stream says which of the connection's
        // exchanges.
        Some(stream) => {
            let v = if t.version.is_some_and(|v| v.major == 3) {
                "h3"
            } else {
                "h2"
            };
            let _ = write!(line, " (#{} stream {stream}, {v})", h.conn);
        }
        None => {
            line.push_str(" (#");
            push_u64(&mut line, h.conn.0.into());
            line.push_str(if t.seq > 0 { ", same connection)" } else { ")" });
        }
    }
    line.push_str(" → ");
    let resp_at = line.len();
    let raw = t.status.is_none() && t.response_ts.is_some() && t.transfer == Transfer::Close;
    if let Some(status) = t.status {
        push_u64(&mut line, status.into());
        line.push(' ');
        line.push_str(t.reason.as_deref().unwrap_or(""));
        if let Some(ct) = &t.content_type {
            line.push_str("  ");
            line.push_str(ct.split(';').next().unwrap_or(ct).trim());
        }
        line.push(' ');
        push_grouped(&mut line, t.response_body_len);
        line.push_str(" B");
        if let Some(enc) = &t.content_encoding {
            let _ = write!(line, " ({enc})");
        }
        if let Some(ttfb) = t.ttfb() {
            line.push_str("  first byte ");
            push_ms(&mut line, ttfb as f64 / 1e9);
        }
        if let Some(done) = t.time_to_last_byte() {
            line.push_str(", done ");
            push_ms(&mut line, done as f64 / 1e9);
        }
    } else if raw {
        // An HTTP/0.9 answer (RFC 1945 §4.1) or a headerless one: bytes until close.
        let what = if t.response_version.is_some_and(|v| v.major == 0) {
            "HTTP/0.9 response (no status line)"
        } else {
            "response without status line or headers"
        };
        line.push_str(what);
        line.push(' ');
        push_grouped(&mut line, t.response_body_len);
        line.push_str(" B");
    } else if t
        .anomalies
        .iter()
        .any(|a| a.kind == crate::base::AnomalyKind::H2NotProcessed)
    {
        line.push_str("not processed (refused by the server's GOAWAY)");
    } else {
        line.push_str("no response in the capture");
    }
    if let Some(tun) = &t.tunnel {
        // RFC 9110 §9.3.6: after a CONNECT's 2xx the connection is the tunnel's.
        let _ = write!(
            line,
            "  · tunnel: {}",
            tun.protocol.unwrap_or("unrecognised")
        );
        if let Some(sni) = &tun.sni {
            let _ = write!(line, " to {sni}");
        }
        if let Some(b) = &tun.banner {
            let _ = write!(line, " \"{}\"", value(b, VALUE_COLUMNS));
        }
        line.push_str(", ");
        push_grouped(&mut line, tun.bytes[0]);
        line.push_str(" B up, ");
        push_grouped(&mut line, tun.bytes[1]);
        line.push_str(" B down");
    }
    if t.partial {
        line.push_str("  (partial: bytes missing from the capture)");
    }
    let at = t.request_ts.or(t.response_ts).unwrap_or_default();
    let (line, resp) = if is_safe(&line) {
        // Only the response's line is copied; the request's takes the buffer.
        let resp = t
            .response_ts
            .filter(|_| full)
            .map(|_| line[resp_at..].to_string());
        (line, resp)
    } else {
        let resp = t
            .response_ts
            .filter(|_| full)
            .map(|_| escape_str(&line[resp_at..]));
        (escape_str(&line), resp)
    };
    let mut e = mk(at, EventKind::HttpRequest, conn, line);
    if full {
        e.facts = Facts::Exchange {
            method: t.method.clone(),
            host: t.host.clone(),
            uri: t.uri.clone(),
            status: t.status,
            reason: t.reason.clone(),
            content_type: t.content_type.clone(),
            body_bytes: (t.status.is_some() || raw).then_some(t.response_body_len),
            ttfb: t.ttfb().map(|n| n as f64 / 1e9),
            done: t.time_to_last_byte().map(|n| n as f64 / 1e9),
        };
    }
    ev.push(e);
    if let (Some(rt), Some(resp)) = (t.response_ts, resp) {
        let mut e = mk(rt, EventKind::HttpResponse, conn, resp);
        e.quiet = true;
        ev.push(e);
    }
}

/// What a QUIC connect line adds: "  handshake 1-RTT 2.1 ms, h3" (a Retry or a Version
/// Negotiation makes it 2-RTT and is named), the paths it moved to, the 0-RTT offer.
fn quic_connect_text(
    q: &QuicSummary,
    tls: Option<&crate::story::TlsSummary>,
    handshake: Option<f64>,
) -> String {
    let mut s = format!("  handshake {}-RTT", q.round_trips());
    if q.retry {
        s.push_str(" (Retry)");
    }
    if q.version_negotiation.is_some() {
        s.push_str(" (Version Negotiation)");
    }
    match handshake {
        Some(h) => {
            let _ = write!(s, " {}", ms(h));
        }
        None => s.push_str(" not completed in the capture"),
    }
    if let Some(a) = tls.and_then(|t| t.alpn.as_deref()) {
        let _ = write!(s, ", {a}");
    }
    if tls.is_some_and(|t| t.resumption.resumed) {
        s.push_str(", resumed");
    }
    if q.paths.len() > 1 {
        let moved: Vec<String> = q.paths.iter().skip(1).map(|(e, _)| e.to_string()).collect();
        let _ = write!(s, "  · client moved to {}", moved.join(", "));
    }
    s
}

/// The TLS line of a QUIC connection: "TLS 1.3 in QUIC v1 · SNI x · offered h3", and
/// how to see inside when its packets were not decrypted.
fn quic_tls_line(t: &crate::story::TlsSummary, q: &QuicSummary) -> String {
    let mut s = format!(
        "{} in QUIC {}",
        t.version
            .map_or_else(|| "TLS".to_string(), |v| version_name(v).to_string()),
        q.version_name().unwrap_or_default()
    );
    if let Some(v) = q.first_version {
        let _ = write!(
            s,
            " (the server switched from {})",
            crate::proto::quic::header::version_name(v)
        );
    }
    if let Some(sni) = &t.sni {
        let _ = write!(s, " · SNI {sni}");
    }
    if !t.alpn_offered.is_empty() {
        let _ = write!(s, " · offered {}", t.alpn_offered.join(","));
    }
    if !q.decrypted && q.first_short.iter().any(Option::is_some) {
        s.push_str(if q.keys_missing {
            " · not decrypted: no keys for this session in the key log"
        } else {
            " · Handshake and 1-RTT packets encrypted; --tls-keylog FILE decrypts"
        });
    }
    s
}

/// How a QUIC connection ended: its CONNECTION_CLOSE or stateless reset, else idle.
fn quic_close_text(q: &QuicSummary) -> String {
    match &q.end {
        Some(e) => e.text(),
        None => "no CONNECTION_CLOSE in the capture (idle timeout, or the flow went on)".into(),
    }
}

/// The story's TLS line: "TLS 1.3 handshake 1.2 ms, h2, resumed · SNI x · offered
/// h2,http/1.1".
///
/// The handshake runs from the Client Hello to its last Finished: the client's in TLS 1.3
/// (RFC 8446 §2), the later of the two in TLS 1.2 (the server's in a full handshake, the
/// client's in a resumed one). In TLS 1.3 without keys the Finished messages are not
/// visible, so the line gives only the time to the Server Hello.
fn tls_line(t: &crate::story::TlsSummary) -> String {
    let mut s = String::new();
    match (t.version, t.client_hello_ts, t.server_hello_ts) {
        (Some(v), Some(ch), sh) => {
            let end = t.handshake_end(v);
            let _ = write!(s, "{}", version_name(v));
            match (end.filter(|e| *e >= ch), sh) {
                (Some(end), _) => {
                    let _ = write!(s, " handshake {}", ms(secs(ch, end)));
                }
                (None, Some(sh)) if sh >= ch => {
                    let _ = write!(s, " Server Hello in {}", ms(secs(ch, sh)));
                }
                _ => {}
            }
            if let Some(a) = &t.alpn {
                let _ = write!(s, ", {a}");
            }
            if t.resumption.resumed {
                s.push_str(", resumed");
            }
        }
        (Some(v), None, _) => {
            let _ = write!(s, "{} (Client Hello not captured)", version_name(v));
        }
        (None, _, _) => s.push_str("Client Hello, no Server Hello"),
    }
    if let Some(sni) = &t.sni {
        let _ = write!(s, " · SNI {sni}");
    }
    if !t.alpn_offered.is_empty() {
        let _ = write!(s, " · offered {}", t.alpn_offered.join(","));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::dns::{fixture, parse_message};
    use crate::story::PhaseTimes;

    /// Byte counts read as `base::elide::thousands` writes them, at every length.
    #[test]
    fn grouped_digits_match_thousands() {
        let mut n = 0u64;
        for k in [
            0u64, 1, 9, 10, 99, 100, 999, 1_000, 12_345, 999_999, 1_000_000,
        ] {
            assert_eq!(grouped(k), crate::base::elide::thousands(k as usize));
        }
        while n < u64::MAX / 7 {
            n = n * 7 + 3;
            assert_eq!(grouped(n), crate::base::elide::thousands(n as usize));
        }
        assert_eq!(grouped(u64::MAX), "18,446,744,073,709,551,615");
    }

    /// Labelled, in the order of the legend, µs under a millisecond: never "0.0 ms".
    #[test]
    fn phase_summary_is_labelled_with_units_a_person_reads() {
        let p = PhaseTimes {
            dns: Some(0.0176),
            dns_to_connect: Some(0.0023),
            connect: Some(0.000057),
            request: Some(0.0),
            ttfb: Some(0.0039),
            transfer: Some(0.00017),
            idle: Some(0.2575),
            close: Some(1.5),
            ..PhaseTimes::default()
        };
        assert_eq!(
            p.summary(),
            "phases: dns 17.6 ms · wait 2.3 ms · connect 57 µs · request 0 µs · \
             first byte 3.9 ms · transfer 170 µs · idle 257.5 ms · close 1.500 s"
        );
        let tls = PhaseTimes {
            connect: Some(0.02),
            tls: Some(0.021),
            ..PhaseTimes::default()
        };
        assert_eq!(tls.summary(), "phases: connect 20.0 ms · tls 21.0 ms");
        assert_eq!(PhaseTimes::default().summary(), "");
    }

    /// Real answers from the shared captures (tests/data/dns-messages.tsv): an AAAA
    /// question answered only by a CNAME chain says there is no AAAA record; an A
    /// answer with addresses does not.
    #[test]
    fn an_answer_names_the_type_it_answers() {
        let mut cname_only = 0;
        let mut with_addresses = 0;
        for (_, bytes) in fixture::messages() {
            let Ok(m) = parse_message(&bytes) else {
                continue;
            };
            let Some(q) = m.questions.first() else {
                continue;
            };
            if !m.flags.qr || m.flags.rcode != 0 {
                continue;
            }
            let o = outcome(q.qtype, &m);
            let has = |t: u16| m.answers.iter().any(|r| r.rtype == t);
            if q.qtype == 28 && has(5) && !has(28) {
                cname_only += 1;
                assert!(o.text.starts_with(" = CNAME "), "{}", o.text);
                assert!(o.text.ends_with("; no AAAA records"), "{}", o.text);
            }
            if q.qtype == 1 && has(1) {
                with_addresses += 1;
                assert!(!o.text.contains("no A records"), "{}", o.text);
                assert!(o.answers.iter().any(|a| a.starts_with("A ")));
            }
            if q.qtype == 28 && m.answers.is_empty() {
                assert_eq!(o.text, ": no AAAA records");
            }
        }
        assert!(cname_only > 0 && with_addresses > 0);
    }
}
