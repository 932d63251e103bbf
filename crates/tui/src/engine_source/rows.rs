//! Analysis records turned into the TUI's rows, formatted like the batch commands
//! (`conns`, `dns`, `http`, `story`) so the two faces read the same.

use crate::source::{ConnRow, DnsRow, HttpRow, Phase};
use crate::story::{Story, StoryBuilder};
use wiretale_engine::analysis::{AppKind, ConnRecord, HttpRecord, TlsSummary};
use wiretale_engine::base::Timestamp;
use wiretale_engine::capture::FrameStore;
use wiretale_engine::flow::ConnProto;
use wiretale_engine::proto::dns::{self, DnsTransaction};
use wiretale_engine::story::{ConnName, Event, StoryPage, Tally};

/// "TCP", "UDP" or "ICMP".
pub fn conn_proto(c: &ConnRecord) -> &'static str {
    match c.conn.proto {
        ConnProto::Tcp => "TCP",
        ConnProto::Udp => "UDP",
        ConnProto::Icmp => "ICMP",
    }
}

pub fn app_label(a: AppKind) -> &'static str {
    match a {
        AppKind::Http => "HTTP",
        AppKind::Tls => "TLS",
        AppKind::Dns => "DNS",
        AppKind::Quic => "QUIC",
    }
}

/// One row of the connection table.
pub fn conn_row(c: &ConnRecord, name: Option<&ConnName>, first_pkt: u32, t0: Timestamp) -> ConnRow {
    let k = &c.conn;
    let analysis: u32 = k.analysis.iter().fold(0u32, |a, &n| a.saturating_add(n));
    ConnRow {
        id: k.id.0,
        proto: conn_proto(c),
        client: k.client,
        server: k.server,
        name: name.map(|n| n.qname.clone()),
        state: k.state().to_string(),
        start: k.first_ts.secs_since(t0),
        duration: k.duration(),
        bytes_c2s: k.bytes[0],
        bytes_s2c: k.bytes[1],
        packets: k.packets[0].saturating_add(k.packets[1]),
        rtt: k.handshake.and_then(|h| h.rtt_ns()).map(|n| n as f64 / 1e9),
        app: c.app.map(|a| app_label(a).to_string()),
        first_packet: if first_pkt == u32::MAX {
            0
        } else {
            u64::from(first_pkt) + 1
        },
        anomalies: analysis.saturating_add(k.anomalies.len() as u32),
    }
}

/// Captured length on the wire of packet `id`, from the index.
fn frame_len(store: &FrameStore, id: Option<wiretale_engine::base::PacketId>) -> Option<u32> {
    id.and_then(|p| store.entry(p)).map(|e| e.origlen)
}

/// One row of the DNS table (answers as the `dns` command prints them).
pub fn dns_row(t: &DnsTransaction, store: &FrameStore, t0: Timestamp) -> DnsRow {
    let when = t.query_ts.or(t.response_ts).unwrap_or(t0);
    let answers = dns::text::typed_data_texts(t.answers());
    DnsRow {
        conn: t.conn.map(|c| c.0),
        number: dns_number(t),
        ts_rel: when.secs_since(t0),
        client: t.client,
        server: t.server,
        // As `dns --json`: no question is no name (not the root), types and rcodes as
        // the service names them (NetBIOS NB, NBSTAT, ACT_ERR …).
        qname: if t.questions.is_empty() {
            String::new()
        } else {
            dns::text::display_name(&t.qname).to_string()
        },
        qtype: dns::text::service_type_name(t.service, t.qtype),
        rcode: t.rcode().map(|r| dns::text::service_rcode(t.service, r)),
        answers: answers.join(", "),
        latency: t.rtt(),
        query_len: frame_len(store, t.query_pkt).unwrap_or(0),
        response_len: frame_len(store, t.response_pkt),
    }
}

/// When an exchange started, in seconds since `t0` (the HTTP table's order).
pub fn http_ts_rel(r: &HttpRecord, t0: Timestamp) -> f64 {
    let t = &r.tx;
    t.request_ts.or(t.response_ts).unwrap_or(t0).secs_since(t0)
}

/// The frame number a DNS transaction is listed by (its query's, else its
/// response's; 0 for neither).
pub fn dns_number(t: &DnsTransaction) -> u64 {
    t.query_pkt
        .or(t.response_pkt)
        .map_or(0, |p| p.frame_number())
}

/// One row of the HTTP table.
pub fn http_row(r: &HttpRecord, t0: Timestamp) -> HttpRow {
    let t = &r.tx;
    let s = |ns: Option<i64>| ns.map(|n| n as f64 / 1e9);
    HttpRow {
        conn: r.conn.0,
        number: t
            .request_first_pkt
            .or(t.response_first_pkt)
            .map_or(0, |p| p.frame_number()),
        ts_rel: http_ts_rel(r, t0),
        method: t.method.clone().unwrap_or_else(|| "-".into()),
        host: t.host.clone().unwrap_or_default(),
        uri: t.uri.clone().unwrap_or_default(),
        status: t.status,
        reason: t.reason.clone().unwrap_or_default(),
        content_type: t.content_type.clone(),
        req_size: t.request_body_len,
        resp_size: t.status.map(|_| t.response_body_len),
        ttfb: s(t.ttfb()),
        total: s(t.time_to_last_byte()),
        version: t.version.map(|v| v.to_string()),
        stream: t.stream,
    }
}

/// The story told page by page (as the `story` command tells it, and `story -Y` with a
/// filter) into a [`Story`]: one line per page (its header as the `story` command
/// prints it) with its events below (and each event's phase line below it), and the
/// closing count line.
#[derive(Default)]
pub struct StoryLines {
    tally: Tally,
    story: StoryBuilder,
    /// An event's line as it is written (reused).
    line: String,
}

impl StoryLines {
    /// One told page. `skip_quiet`: a page whose events are all quiet gets no line
    /// (it still counts in the closing line), as the whole story has always shown it;
    /// the filtered story shows its header alone.
    pub fn add(&mut self, p: &StoryPage, skip_quiet: bool) {
        if p.events.is_empty() {
            return;
        }
        self.tally.add(p);
        if skip_quiet && p.events.iter().all(|e| e.quiet) {
            return;
        }
        self.story.push(&p.header(), None, 0);
        for e in p.events.iter().filter(|e| !e.quiet) {
            self.event(e);
        }
    }

    /// One event as the `story` command prints it, its phase line below.
    fn event(&mut self, e: &Event) {
        use std::fmt::Write;
        let label = e.kind.label();
        let conn = e.conn.map(|c| c.0);
        self.line.clear();
        // Writing to a String cannot fail.
        let _ = if label.is_empty() {
            write!(self.line, "+{:.3}  {}", e.rel, e.text)
        } else {
            write!(self.line, "+{:.3}  {:<8} {}", e.rel, label, e.text)
        };
        self.story.push(&self.line, conn, 1);
        if let Some(p) = &e.phases {
            let s = p.summary();
            if !s.is_empty() {
                self.story.push(&s, conn, 2);
            }
        }
    }

    /// The story, with the closing count line.
    pub fn finish(mut self) -> Story {
        if let Some(l) = self.tally.line() {
            self.story.push(&l, None, 0);
        }
        self.story.finish()
    }
}

/// The TLS phases of a connection's timeline: Client Hello (lasting until the Server
/// Hello), Server Hello (until the client's first application data), and the first
/// application data each way, each placed among the other phases by time. In TLS 1.3
/// without keys the first application data is not known (handshake and data records
/// look alike), so those lines are absent then.
pub fn add_tls_phases(phases: &mut Vec<Phase>, t: &TlsSummary, t0: Timestamp) {
    use wiretale_engine::proto::tls::{names, version_name};
    let rel = |ts: Timestamp| ts.secs_since(t0);
    let dur = |a: Timestamp, b: Option<Timestamp>| b.map(|b| (b.0 - a.0) as f64 / 1e9);
    let [c2s, s2c] = t.first_app_data;
    let mut add = |label: &str, ts: Timestamp, duration: Option<f64>, detail: String| {
        let p = Phase {
            label: label.to_string(),
            ts_rel: rel(ts),
            duration: duration.filter(|d| *d >= 0.0),
            detail,
        };
        let at = phases
            .iter()
            .position(|q| q.ts_rel > p.ts_rel)
            .unwrap_or(phases.len());
        phases.insert(at, p);
    };
    if let Some(ch) = t.client_hello_ts {
        let mut d = "Client Hello".to_string();
        if let Some(s) = &t.sni {
            d.push_str(&format!(" SNI {s}"));
        }
        if !t.alpn_offered.is_empty() {
            d.push_str(&format!(" ALPN {}", t.alpn_offered.join(",")));
        }
        add("TLS hello", ch, dur(ch, t.server_hello_ts), d);
    }
    if let Some(sh) = t.server_hello_ts {
        let mut d = "Server Hello".to_string();
        if let Some(v) = t.version {
            d.push_str(&format!(" {}", version_name(v)));
        }
        if let Some(c) = t.cipher {
            d.push_str(&format!(" {}", names::cipher_suite_name(c)));
        }
        if let Some(a) = &t.alpn {
            d.push_str(&format!(" {a}"));
        }
        if t.resumption.resumed {
            d.push_str(", resumed");
        }
        add("TLS server", sh, dur(sh, c2s), d);
    }
    if let Some(ts) = c2s {
        add(
            "data →",
            ts,
            None,
            "first application data, client → server".into(),
        );
    }
    if let Some(ts) = s2c {
        add(
            "data ←",
            ts,
            None,
            "first application data, server → client".into(),
        );
    }
}
