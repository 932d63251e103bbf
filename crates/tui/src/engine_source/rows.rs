//! Analysis records turned into the TUI's rows, formatted like the batch commands
//! (`conns`, `dns`, `http`, `story`) so the two faces read the same.

use crate::source::{ConnRow, DnsRow, HttpRow, Phase, StoryItem};
use wiretale_engine::analysis::{AppKind, ConnRecord, HttpRecord, TlsSummary};
use wiretale_engine::base::Timestamp;
use wiretale_engine::capture::FrameStore;
use wiretale_engine::flow::ConnProto;
use wiretale_engine::proto::dns::{self, DnsTransaction};
use wiretale_engine::story::{story_page, ConnName, Event, Story, StoryInput, StoryPage, Tally};

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
        state: k.state(),
        start: k.first_ts.secs_since(t0),
        duration: k.duration(),
        bytes_c2s: k.bytes[0],
        bytes_s2c: k.bytes[1],
        packets: k.packets[0].saturating_add(k.packets[1]),
        rtt: k.handshake.and_then(|h| h.rtt_ns()).map(|n| n as f64 / 1e9),
        app: c.app.map(app_label),
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
        number: t
            .query_pkt
            .or(t.response_pkt)
            .map_or(0, |p| p.frame_number()),
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
        ts_rel: t.request_ts.or(t.response_ts).unwrap_or(t0).secs_since(t0),
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

/// The story as a tree: one item per story (its header as the `story` command prints it), the
/// events under it, and the phase durations under each close. Events outside any page
/// become top-level items; a last item counts the stories (page loads, background,
/// others) as the `story` command's closing line does.
pub fn story_items(st: &Story, input: &StoryInput<'_>, _t0: Timestamp) -> Vec<StoryItem> {
    let mut out: Vec<StoryItem> = Vec::new();
    // Headers as the `story` command prints them: made from the told page, with its
    // events (the header counts DNS-over-TCP connections among them).
    let mut tally = Tally::default();
    let mut headers: Vec<String> = Vec::with_capacity(st.pages.len());
    let mut at = 0usize;
    for p in &st.pages {
        let end = st.events[at..]
            .iter()
            .position(|e| e.page != Some(p.id))
            .map_or(st.events.len(), |n| at + n);
        let sp = story_page(p, input, st.events[at..end].to_vec());
        at = end;
        if !sp.events.is_empty() {
            tally.add(&sp);
        }
        headers.push(sp.header());
    }
    // (page id, index in `out` of its header item)
    let mut cur: Option<(u32, usize)> = None;
    for e in &st.events {
        if e.quiet {
            continue;
        }
        if e.page.is_some() && e.page != cur.map(|c| c.0) {
            cur = None;
            if let Some(h) = e.page.and_then(|id| headers.get(id as usize)) {
                cur = Some((e.page.unwrap_or_default(), out.len()));
                out.push(StoryItem::line(h.clone()));
            }
        }
        let item = event_item(e);
        match (e.page, cur.and_then(|c| out.get_mut(c.1))) {
            (Some(_), Some(page)) => page.children.push(item),
            _ => out.push(item),
        }
    }
    // Last, as the `story` command ends: how many stories of each kind.
    out.extend(tally.line().map(StoryItem::line));
    shrink_items(&mut out);
    out
}

/// Gives back the room a story's lists and texts grew into: the TUI holds every line
/// of the story for the session (on manyflows.pcap 1.27 M of them), and children pushed
/// one by one leave up to half their list unused, `format!` some of each text's.
fn shrink_items(items: &mut Vec<StoryItem>) {
    items.shrink_to_fit();
    for i in items {
        i.text.shrink_to_fit();
        shrink_items(&mut i.children);
    }
}

/// One event of the story as the `story` command prints it, its phase line below.
fn event_item(e: &Event) -> StoryItem {
    let label = e.kind.label();
    let text = if label.is_empty() {
        format!("+{:.3}  {}", e.rel, e.text)
    } else {
        format!("+{:.3}  {:<8} {}", e.rel, label, e.text)
    };
    let mut item = StoryItem {
        text,
        conn: e.conn.map(|c| c.0),
        children: Vec::new(),
    };
    if let Some(p) = &e.phases {
        let s = p.summary();
        if !s.is_empty() {
            item.children.push(StoryItem {
                text: s,
                conn: item.conn,
                children: Vec::new(),
            });
        }
    }
    item
}

/// The story told page by page ([`wiretale_engine::story::StoryStream`], as `story -Y` tells it)
/// as tree items: one item per page (its header as the `story` command prints it) with
/// its events below, and the closing count line.
pub fn story_items_from_pages(pages: &[StoryPage]) -> Vec<StoryItem> {
    let mut tally = Tally::default();
    let mut out: Vec<StoryItem> = pages
        .iter()
        .filter(|p| !p.events.is_empty())
        .map(|p| {
            tally.add(p);
            StoryItem {
                text: p.header(),
                conn: None,
                children: p
                    .events
                    .iter()
                    .filter(|e| !e.quiet)
                    .map(event_item)
                    .collect(),
            }
        })
        .collect();
    out.extend(tally.line().map(StoryItem::line));
    shrink_items(&mut out);
    out
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
