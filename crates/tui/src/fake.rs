//! A deterministic in-memory [`DataSource`] with realistic traffic, for tests and for
//! trying the TUI without a capture (`examples/tui_fake.rs`, with the non-default
//! `fake-source` feature). It is test scaffolding: not built into the product.
//!
//! It models 50 page-load connections (DNS lookup, handshake, one HTTP/1.1 exchange or a
//! TLS session, teardown), about 10,000 packets in all, with:
//! * connection 7: a retransmission and a lost segment (a gap when followed),
//! * connection 13: hostile strings (ANSI escapes, a bidi override) in its name, URI,
//!   headers and payload, to prove the views escape what comes off the wire,
//! * connection 21: reset by the server; connection 42: SYN never answered.
//!
//! Frames are synthesised on demand as real Ethernet/IPv4/TCP|UDP bytes with a field
//! tree whose ranges point into them, so the hex pane can be exercised for real. Live
//! capture is simulated either by [`FakeSource::feed`] (tests) or by a worker thread
//! that sends batches over a bounded channel ([`FakeSource::live`]).
//!
//! Display filters are the product's ([`wiretale_engine::filter`]), evaluated on the synthesised
//! frames through the same [`PacketView`] the engine-backed source uses, with the
//! generator's connection, direction and TCP analysis in the [`PacketRow`] (`conn.id`,
//! `tcp.analysis.*`) and its HTTP/TLS messages as application notes (`http`, `tls`).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

use wiretale_engine::analysis::{AppNote, PacketRow as TableRow, PacketView, RelNumbers};
use wiretale_engine::base::{ConnId, Direction, Endpoint, FieldNode, LinkType, PacketId};
use wiretale_engine::filter::Filter;
use wiretale_engine::flow::TcpAnalysisFlags;

use super::source::{
    Arrow, ConnDetail, ConnRow, DataSource, DnsRow, HttpRow, PacketDetail, PacketRow, Phase,
    SourceStatus, Story, StoryItem, Turn,
};
use super::worker::{Command, Produced, Worker};

/// Number of connections the fake capture contains.
pub const FAKE_CONNS: u32 = 50;
/// The connection with hostile strings.
pub const HOSTILE_CONN: u32 = 13;
/// The connection with a retransmission and a lost segment.
pub const ANOMALY_CONN: u32 = 7;
const RESET_CONN: u32 = 21;
const SILENT_CONN: u32 = 42;
const MSS: u32 = 1448;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    DnsQuery,
    DnsResponse,
    Syn,
    SynAck,
    Ack,
    Data,
    Fin,
    Rst,
}

#[derive(Clone, Debug)]
struct Pkt {
    ts: f64,
    conn: u32,
    c2s: bool,
    kind: Kind,
    /// Relative sequence/ack numbers (payload offsets + 1 after the SYN).
    seq: u32,
    ack: u32,
    len: u32,
    anomaly: Option<&'static str>,
    /// Filled in after sorting: 1-based frame number.
    number: u64,
}

/// Per-connection facts the generator decided.
#[derive(Clone, Debug)]
struct Spec {
    id: u32,
    client: Endpoint,
    server: Endpoint,
    dns_client: Endpoint,
    name: String,
    tls: bool,
    start: f64,
    rtt: f64,
    uri: String,
    segments: u32,
}

impl Spec {
    fn new(i: u32) -> Spec {
        let client_ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        let server_ip = IpAddr::V4(Ipv4Addr::new(93, 184, 216, 10 + (i % 20) as u8));
        let tls = i % 3 == 2;
        let name = if i == HOSTILE_CONN {
            "evil\x1b[31m.example\u{202e}moc".to_string()
        } else {
            format!("host{i}.example.com")
        };
        let uri = if i == HOSTILE_CONN {
            "/\x1b[2J\u{202e}gnp.exe".to_string()
        } else {
            format!("/assets/page{i}/index.html")
        };
        Spec {
            id: i,
            client: Endpoint::new(client_ip, 49152 + i as u16),
            server: Endpoint::new(server_ip, if tls { 443 } else { 80 }),
            dns_client: Endpoint::new(client_ip, 53000 + i as u16),
            name,
            tls,
            start: 0.05 + i as f64 * 0.35 + (i % 7) as f64 * 0.013,
            rtt: 0.010 + (i % 5) as f64 * 0.004,
            uri,
            segments: 90 + (i * 37) % 80,
        }
    }

    fn request(&self) -> Vec<u8> {
        if self.tls {
            let mut v = vec![
                0x16, 0x03, 0x01, 0x00, 0xc4, 0x01, 0x00, 0x00, 0xc0, 0x03, 0x03,
            ];
            v.extend((0..190u32).map(|k| (k * 31 + self.id * 7) as u8));
            v.extend_from_slice(self.name.as_bytes());
            return v;
        }
        let extra = if self.id == HOSTILE_CONN {
            "X-Evil: \x1b]0;pwned\x07\x1b[31mred\u{202e}\r\n"
        } else {
            ""
        };
        format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: wiretale-fake/1.0\r\nAccept: */*\r\n{extra}\r\n",
            self.uri, self.name
        )
        .into_bytes()
    }

    fn response_len(&self) -> u32 {
        self.segments * MSS - (self.id * 97) % MSS
    }

    fn response(&self) -> Vec<u8> {
        let total = self.response_len() as usize;
        let mut v = Vec::with_capacity(total);
        if self.tls {
            v.extend_from_slice(&[0x16, 0x03, 0x03, 0x00, 0x5a, 0x02, 0x00, 0x00, 0x56]);
            let mut x = self.id.wrapping_mul(2_654_435_761);
            while v.len() < total {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                v.push(x as u8);
            }
        } else {
            let body_len = total.saturating_sub(100);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {body_len:>10}\r\n\r\n"
            );
            v.extend_from_slice(head.as_bytes());
            let mut k = 0;
            while v.len() < total {
                let line = if self.id == HOSTILE_CONN && k == 3 {
                    "<p>\x1b[5mblink\x1b[0m \u{202e}reversed</p>\n".to_string()
                } else {
                    format!("<p>line {k} of page {}</p>\n", self.id)
                };
                v.extend_from_slice(line.as_bytes());
                k += 1;
            }
        }
        v.truncate(total);
        v
    }

    fn state(&self) -> &'static str {
        match self.id {
            RESET_CONN => "RSTR",
            SILENT_CONN => "S0",
            _ => "SF",
        }
    }
}

/// Builds every packet of one connection (unsorted).
fn conn_packets(s: &Spec, out: &mut Vec<Pkt>) {
    let mut p = |ts: f64,
                 c2s: bool,
                 kind: Kind,
                 seq: u32,
                 ack: u32,
                 len: u32,
                 anomaly: Option<&'static str>| {
        out.push(Pkt {
            ts,
            conn: s.id,
            c2s,
            kind,
            seq,
            ack,
            len,
            anomaly,
            number: 0,
        });
    };
    let t = s.start;
    p(t - 0.030, true, Kind::DnsQuery, 0, 0, 0, None);
    p(t - 0.018, false, Kind::DnsResponse, 0, 0, 0, None);
    p(t, true, Kind::Syn, 0, 0, 0, None);
    if s.id == SILENT_CONN {
        p(
            t + 1.0,
            true,
            Kind::Syn,
            0,
            0,
            0,
            Some("tcp_retransmission"),
        );
        return;
    }
    let req = s.request().len() as u32;
    let resp = s.response_len();
    p(t + s.rtt, false, Kind::SynAck, 0, 1, 0, None);
    p(t + s.rtt * 1.01, true, Kind::Ack, 1, 1, 0, None);
    p(t + s.rtt * 1.02, true, Kind::Data, 1, 1, req, None);
    let mut ts = t + s.rtt * 2.2;
    let mut off = 0u32;
    let mut k = 0u32;
    while off < resp {
        let len = MSS.min(resp - off);
        let seq = 1 + off;
        if !(s.id == ANOMALY_CONN && k == 20) {
            let lost = s.id == ANOMALY_CONN && k == 21;
            p(
                ts,
                false,
                Kind::Data,
                seq,
                1 + req,
                len,
                lost.then_some("tcp_previous_segment_not_captured"),
            );
        }
        if s.id == ANOMALY_CONN && k == 10 {
            p(
                ts + 0.2,
                false,
                Kind::Data,
                seq,
                1 + req,
                len,
                Some("tcp_retransmission"),
            );
        }
        if k % 2 == 1 {
            p(ts + 0.00005, true, Kind::Ack, 1 + req, seq + len, 0, None);
        }
        ts += 0.0002;
        off += len;
        k += 1;
    }
    let (cs, ss) = (1 + req, 1 + resp);
    if s.id == RESET_CONN {
        p(ts + 0.001, false, Kind::Rst, ss, cs, 0, None);
        return;
    }
    p(ts + 0.05, true, Kind::Fin, cs, ss, 0, None);
    p(ts + 0.05 + s.rtt, false, Kind::Fin, ss, cs + 1, 0, None);
    p(
        ts + 0.05 + s.rtt * 1.01,
        true,
        Kind::Ack,
        cs + 1,
        ss + 1,
        0,
        None,
    );
}

/// Announces newly "captured" packets to a [`FakeSource`] (see [`FakeSource::feeder`]).
#[derive(Clone, Debug)]
pub struct Feeder(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Feeder {
    pub fn feed(&self, n: usize) {
        self.0.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The deterministic fake source. See the module docs.
pub struct FakeSource {
    name: String,
    specs: Vec<Spec>,
    pkts: Vec<Pkt>,
    /// First packet index of each connection (sorted order).
    conn_first: Vec<usize>,
    all_conns: Vec<ConnRow>,
    all_dns: Vec<DnsRow>,
    all_http: Vec<HttpRow>,
    all_story: Vec<StoryItem>,
    /// Packets "read so far" (live simulation); `pkts.len()` for a finished file.
    available: usize,
    /// `available` when the lists were last rebuilt.
    seen: usize,
    live: bool,
    paused: bool,
    focus: Option<u32>,
    filter: Option<Filter>,
    /// Packet indices of the current view, or `None` for all available packets.
    view: Option<Vec<u32>>,
    conns: Vec<ConnRow>,
    dns: Vec<DnsRow>,
    http: Vec<HttpRow>,
    story: Story,
    worker: Option<Worker<usize>>,
    /// Packets announced by a [`Feeder`] and not yet absorbed by `poll`.
    pending: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Counts `packet_row` calls, so tests can prove lists are virtual.
    pub row_calls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Default for FakeSource {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeSource {
    /// A finished "file" with every packet available.
    pub fn new() -> FakeSource {
        let specs: Vec<Spec> = (0..FAKE_CONNS).map(Spec::new).collect();
        let mut pkts = Vec::new();
        for s in &specs {
            conn_packets(s, &mut pkts);
        }
        pkts.sort_by(|a, b| a.ts.total_cmp(&b.ts));
        for (i, p) in pkts.iter_mut().enumerate() {
            p.number = i as u64 + 1;
        }
        let mut conn_first = vec![usize::MAX; specs.len()];
        for (i, p) in pkts.iter().enumerate() {
            if p.kind != Kind::DnsQuery && p.kind != Kind::DnsResponse {
                let f = &mut conn_first[p.conn as usize];
                *f = (*f).min(i);
            }
        }
        let mut me = FakeSource {
            name: "fake-web.pcapng".to_string(),
            available: pkts.len(),
            seen: 0,
            specs,
            pkts,
            conn_first,
            all_conns: Vec::new(),
            all_dns: Vec::new(),
            all_http: Vec::new(),
            all_story: Vec::new(),
            live: false,
            paused: false,
            focus: None,
            filter: None,
            view: None,
            conns: Vec::new(),
            dns: Vec::new(),
            http: Vec::new(),
            story: Story::default(),
            worker: None,
            row_calls: Default::default(),
            pending: Default::default(),
        };
        me.build_tables();
        me.rebuild_view();
        me
    }

    /// A live capture that starts empty; packets arrive only through [`FakeSource::feed`].
    pub fn live_manual() -> FakeSource {
        let mut me = FakeSource::new();
        me.name = "eth0".to_string();
        me.live = true;
        me.available = 0;
        me.rebuild_view();
        me
    }

    /// A live capture fed by a [`Worker`] thread: `batch` packets every `every`, sent as
    /// batches over its bounded channel; pause/resume go back as commands.
    pub fn live(batch: usize, every: Duration) -> FakeSource {
        let mut me = FakeSource::live_manual();
        me.worker = Some(Worker::spawn(8, move || {
            thread::sleep(every);
            Produced::Batch(batch)
        }));
        me
    }

    /// Makes `n` more packets available (live simulation); `poll` then reports them.
    pub fn feed(&mut self, n: usize) {
        self.available = (self.available + n).min(self.pkts.len());
    }

    /// A handle that announces packets from outside (like a capture worker would); the
    /// next `poll` absorbs them. Lets tests drive a boxed source.
    pub fn feeder(&self) -> Feeder {
        Feeder(self.pending.clone())
    }

    /// Total packets of the whole fake capture.
    pub fn total_packets(&self) -> usize {
        self.pkts.len()
    }

    fn proto_of(&self, p: &Pkt) -> &'static str {
        let s = &self.specs[p.conn as usize];
        match p.kind {
            Kind::DnsQuery | Kind::DnsResponse => "DNS",
            Kind::Data if s.tls => "TLS",
            Kind::Data if p.c2s || p.seq == 1 => "HTTP",
            _ => "TCP",
        }
    }

    fn matches(&self, p: &Pkt) -> bool {
        let conn_of = |p: &Pkt| match p.kind {
            Kind::DnsQuery | Kind::DnsResponse => None,
            _ => Some(p.conn),
        };
        if let Some(f) = self.focus {
            if conn_of(p) != Some(f) {
                return false;
            }
        }
        match &self.filter {
            Some(f) => self.filter_matches(f, p, conn_of(p)),
            None => true,
        }
    }

    /// The product's filter on one synthesised frame (see the module docs).
    fn filter_matches(&self, filter: &Filter, p: &Pkt, conn: Option<u32>) -> bool {
        let bytes = self.frame(p).bytes;
        let pkt = wiretale_engine::decode::decode(LinkType(1), &bytes);
        let tcp = conn.is_some();
        let analysis = match p.anomaly {
            Some("tcp_retransmission") => TcpAnalysisFlags::RETRANSMISSION,
            Some(_) => TcpAnalysisFlags::LOST_SEGMENT,
            None => TcpAnalysisFlags::EMPTY,
        };
        let row = TableRow::from_parts(
            conn.map(ConnId),
            tcp.then_some(if p.c2s {
                Direction::ClientToServer
            } else {
                Direction::ServerToClient
            }),
            tcp,
            tcp && p.kind != Kind::Syn,
            analysis,
        );
        let tcp_rel = RelNumbers {
            seq: tcp.then_some(p.seq),
            ack: (tcp && p.kind != Kind::Syn).then_some(p.ack),
        };
        let notes: Vec<AppNote> = match self.proto_of(p) {
            "HTTP" => vec![AppNote::new("http", self.info(p))],
            "TLS" => vec![AppNote::new("tls", self.info(p))],
            _ => Vec::new(),
        };
        let len = bytes.len() as u32;
        filter.matches(&PacketView {
            id: PacketId(p.number.saturating_sub(1) as u32),
            len,
            caplen: len,
            rel: p.ts,
            delta: 0.0,
            pkt: &pkt,
            whole: None,
            row,
            tcp_rel,
            stream: conn,
            notes: &notes,
            tls: None,
            dns_time: None,
            outcome: None,
        })
    }

    fn rebuild_view(&mut self) {
        self.seen = self.available;
        self.view = if self.focus.is_none() && self.filter.is_none() {
            None
        } else {
            Some(
                (0..self.available)
                    .filter(|&i| self.matches(&self.pkts[i]))
                    .map(|i| i as u32)
                    .collect(),
            )
        };
        let arrived = |c: u32| {
            self.conn_first
                .get(c as usize)
                .is_some_and(|&f| f < self.available)
        };
        let keep = |c: u32| arrived(c) && self.focus.is_none_or(|f| f == c);
        self.conns = self
            .all_conns
            .iter()
            .filter(|r| keep(r.id))
            .cloned()
            .collect();
        self.dns = self
            .all_dns
            .iter()
            .filter(|r| r.conn.is_some_and(keep))
            .cloned()
            .collect();
        self.http = self
            .all_http
            .iter()
            .filter(|r| keep(r.conn))
            .cloned()
            .collect();
        let story: Vec<StoryItem> = self
            .all_story
            .iter()
            .filter_map(|item| {
                let children: Vec<StoryItem> = item
                    .children
                    .iter()
                    .filter(|c| c.conn.is_some_and(keep))
                    .cloned()
                    .collect();
                (!children.is_empty()).then(|| StoryItem {
                    text: item.text.clone(),
                    conn: item.conn,
                    children,
                })
            })
            .collect();
        self.story = Story::from_items(&story);
    }

    fn build_tables(&mut self) {
        let mut conns = Vec::new();
        let mut dns = Vec::new();
        let mut http = Vec::new();
        for s in &self.specs {
            let mine: Vec<&Pkt> = self.pkts.iter().filter(|p| p.conn == s.id).collect();
            let tcp: Vec<&&Pkt> = mine
                .iter()
                .filter(|p| !matches!(p.kind, Kind::DnsQuery | Kind::DnsResponse))
                .collect();
            let first = tcp.first().map(|p| p.ts).unwrap_or(s.start);
            let last = tcp.last().map(|p| p.ts).unwrap_or(s.start);
            let silent = s.id == SILENT_CONN;
            conns.push(ConnRow {
                id: s.id,
                proto: "TCP",
                client: s.client,
                server: s.server,
                name: Some(s.name.clone()),
                state: s.state().to_string(),
                start: first,
                duration: last - first,
                bytes_c2s: tcp.iter().filter(|p| p.c2s).map(|p| p.len as u64).sum(),
                bytes_s2c: tcp.iter().filter(|p| !p.c2s).map(|p| p.len as u64).sum(),
                packets: tcp.len() as u64,
                rtt: (!silent).then_some(s.rtt * 1.01),
                app: (!silent).then(|| if s.tls { "TLS" } else { "HTTP" }.to_string()),
                first_packet: tcp.first().map(|p| p.number).unwrap_or(0),
                anomalies: tcp.iter().filter(|p| p.anomaly.is_some()).count() as u32,
            });
            let q = mine.iter().find(|p| p.kind == Kind::DnsQuery);
            let r = mine.iter().find(|p| p.kind == Kind::DnsResponse);
            if let (Some(q), Some(r)) = (q, r) {
                dns.push(DnsRow {
                    conn: Some(s.id),
                    number: q.number,
                    ts_rel: q.ts,
                    client: s.dns_client,
                    server: dns_server(),
                    qname: s.name.clone(),
                    qtype: "A".to_string(),
                    rcode: Some("NOERROR".to_string()),
                    answers: s.server.ip.to_string(),
                    latency: Some(r.ts - q.ts),
                    query_len: dns_query(s, false).len() as u32,
                    response_len: Some(dns_query(s, true).len() as u32),
                });
            }
            if !s.tls && !silent {
                let req = tcp.iter().find(|p| p.c2s && p.kind == Kind::Data);
                let resp_first = tcp.iter().find(|p| !p.c2s && p.kind == Kind::Data);
                let resp_last = tcp.iter().rev().find(|p| !p.c2s && p.kind == Kind::Data);
                if let (Some(q), Some(a), Some(z)) = (req, resp_first, resp_last) {
                    http.push(HttpRow {
                        conn: s.id,
                        number: q.number,
                        ts_rel: q.ts,
                        method: "GET".to_string(),
                        host: s.name.clone(),
                        uri: s.uri.clone(),
                        status: Some(200),
                        reason: "OK".to_string(),
                        content_type: Some("text/html".to_string()),
                        req_size: q.len as u64,
                        resp_size: Some(s.response_len() as u64),
                        ttfb: Some(a.ts - q.ts),
                        total: Some(z.ts - q.ts),
                        version: Some("HTTP/1.1".to_string()),
                        stream: None,
                    });
                }
            }
        }
        let mut story = Vec::new();
        for (page, chunk) in conns.chunks(5).enumerate() {
            let Some(lead) = chunk.first() else { continue };
            let bytes: u64 = chunk.iter().map(|c| c.bytes_s2c).sum();
            let mut children = Vec::new();
            for c in chunk {
                let mut sub = Vec::new();
                if let Some(d) = dns.iter().find(|d| d.conn == Some(c.id)) {
                    sub.push(StoryItem {
                        text: format!(
                            "lookup {} → {} in {:.1} ms",
                            d.qname,
                            d.answers,
                            d.latency.unwrap_or(0.0) * 1e3
                        ),
                        conn: Some(c.id),
                        children: Vec::new(),
                    });
                }
                if let Some(h) = http.iter().find(|h| h.conn == c.id) {
                    sub.push(StoryItem {
                        text: format!(
                            "{} {} → {} {} ({} bytes, TTFB {:.1} ms)",
                            h.method,
                            h.uri,
                            h.status.unwrap_or(0),
                            h.reason,
                            h.resp_size.unwrap_or(0),
                            h.ttfb.unwrap_or(0.0) * 1e3
                        ),
                        conn: Some(c.id),
                        children: Vec::new(),
                    });
                }
                children.push(StoryItem {
                    text: format!(
                        "#{} {} → {} ({}) {} {}",
                        c.id,
                        c.client,
                        c.server,
                        c.name.as_deref().unwrap_or("no lookup seen"),
                        c.app.as_deref().unwrap_or("-"),
                        c.state
                    ),
                    conn: Some(c.id),
                    children: sub,
                });
            }
            story.push(StoryItem {
                text: format!(
                    "{:8.3}s page load {} of http://{}/ — {} connections, {} bytes",
                    lead.start,
                    page + 1,
                    lead.name.as_deref().unwrap_or("?"),
                    chunk.len(),
                    bytes
                ),
                conn: Some(lead.id),
                children,
            });
        }
        self.all_conns = conns;
        self.all_dns = dns;
        self.all_http = http;
        self.all_story = story;
    }

    fn pkt_at(&self, index: usize) -> Option<&Pkt> {
        let i = match &self.view {
            Some(v) => *v.get(index)? as usize,
            None if index < self.available => index,
            None => return None,
        };
        self.pkts.get(i)
    }

    fn endpoints(&self, p: &Pkt) -> (Endpoint, Endpoint) {
        let s = &self.specs[p.conn as usize];
        let (c, sv) = match p.kind {
            Kind::DnsQuery | Kind::DnsResponse => (s.dns_client, dns_server()),
            _ => (s.client, s.server),
        };
        if p.c2s {
            (c, sv)
        } else {
            (sv, c)
        }
    }

    fn flags(p: &Pkt) -> &'static str {
        match p.kind {
            Kind::Syn => "SYN",
            Kind::SynAck => "SYN, ACK",
            Kind::Ack => "ACK",
            Kind::Data => "PSH, ACK",
            Kind::Fin => "FIN, ACK",
            Kind::Rst => "RST, ACK",
            Kind::DnsQuery | Kind::DnsResponse => "",
        }
    }

    fn info(&self, p: &Pkt) -> String {
        let s = &self.specs[p.conn as usize];
        let (a, b) = self.endpoints(p);
        match p.kind {
            Kind::DnsQuery => format!("Standard query 0x{:04x} A {}", 0x1000 + s.id, s.name),
            Kind::DnsResponse => format!(
                "Standard query response 0x{:04x} A {} A {}",
                0x1000 + s.id,
                s.name,
                s.server.ip
            ),
            Kind::Data if s.tls && p.c2s => format!("Client Hello (SNI={})", s.name),
            Kind::Data if s.tls && p.seq == 1 => "Server Hello, Certificate".to_string(),
            Kind::Data if s.tls => "Application Data".to_string(),
            Kind::Data if p.c2s => format!("GET {} HTTP/1.1", s.uri),
            Kind::Data if p.seq == 1 => "HTTP/1.1 200 OK (text/html)".to_string(),
            _ => {
                let pre = match p.anomaly {
                    Some("tcp_retransmission") => "[TCP Retransmission] ",
                    Some("tcp_previous_segment_not_captured") => {
                        "[TCP Previous segment not captured] "
                    }
                    _ => "",
                };
                format!(
                    "{pre}{} → {} [{}] Seq={} Ack={} Win=64240 Len={}",
                    a.port,
                    b.port,
                    Self::flags(p),
                    p.seq,
                    p.ack,
                    p.len
                )
            }
        }
    }

    /// Synthesises the frame bytes and field tree of one packet.
    fn frame(&self, p: &Pkt) -> PacketDetail {
        let s = &self.specs[p.conn as usize];
        let (a, b) = self.endpoints(p);
        let payload: Vec<u8> = match p.kind {
            Kind::DnsQuery => dns_query(s, false),
            Kind::DnsResponse => dns_query(s, true),
            Kind::Data => {
                let stream = if p.c2s { s.request() } else { s.response() };
                let start = p.seq.saturating_sub(1) as usize;
                let end = (start + p.len as usize).min(stream.len());
                stream.get(start..end).unwrap_or_default().to_vec()
            }
            _ => Vec::new(),
        };
        let udp = matches!(p.kind, Kind::DnsQuery | Kind::DnsResponse);
        let l4 = if udp { 8 } else { 20 };
        let ip_len = 20 + l4 + payload.len();
        let mut f = Vec::with_capacity(14 + ip_len);
        f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00]);
        let (IpAddr::V4(sa), IpAddr::V4(da)) = (a.ip, b.ip) else {
            return PacketDetail::default();
        };
        f.extend_from_slice(&[0x45, 0, (ip_len >> 8) as u8, ip_len as u8, 0, 0, 0x40, 0]);
        f.extend_from_slice(&[64, if udp { 17 } else { 6 }, 0, 0]);
        f.extend_from_slice(&sa.octets());
        f.extend_from_slice(&da.octets());
        f.extend_from_slice(&a.port.to_be_bytes());
        f.extend_from_slice(&b.port.to_be_bytes());
        if udp {
            f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
            f.extend_from_slice(&[0, 0]);
        } else {
            let flags: u8 = match p.kind {
                Kind::Syn => 0x02,
                Kind::SynAck => 0x12,
                Kind::Data => 0x18,
                Kind::Fin => 0x11,
                Kind::Rst => 0x14,
                _ => 0x10,
            };
            f.extend_from_slice(&p.seq.to_be_bytes());
            f.extend_from_slice(&p.ack.to_be_bytes());
            f.extend_from_slice(&[0x50, flags, 0xfa, 0xf0, 0, 0, 0, 0]);
        }
        f.extend_from_slice(&payload);
        let n = f.len();
        let mut fields = vec![
            FieldNode::new(format!("Frame {}: {n} bytes on wire", p.number), 0..n),
            FieldNode::new(
                "Ethernet II, Src: 02:00:00:00:00:01, Dst: 02:00:00:00:00:02",
                0..14,
            )
            .with(FieldNode::new("Destination: 02:00:00:00:00:02", 0..6))
            .with(FieldNode::new("Source: 02:00:00:00:00:01", 6..12))
            .with(FieldNode::new("Type: IPv4 (0x0800)", 12..14)),
            FieldNode::new(
                format!("Internet Protocol Version 4, Src: {}, Dst: {}", a.ip, b.ip),
                14..34,
            )
            .with(FieldNode::new("Version: 4", 14..15))
            .with(FieldNode::new(format!("Total Length: {ip_len}"), 16..18))
            .with(FieldNode::new("Time to Live: 64", 22..23))
            .with(FieldNode::new(
                if udp {
                    "Protocol: UDP (17)"
                } else {
                    "Protocol: TCP (6)"
                },
                23..24,
            ))
            .with(FieldNode::new(format!("Source Address: {}", a.ip), 26..30))
            .with(FieldNode::new(
                format!("Destination Address: {}", b.ip),
                30..34,
            )),
        ];
        let l4node = if udp {
            FieldNode::new(
                format!(
                    "User Datagram Protocol, Src Port: {}, Dst Port: {}",
                    a.port, b.port
                ),
                34..42,
            )
            .with(FieldNode::new(format!("Source Port: {}", a.port), 34..36))
            .with(FieldNode::new(
                format!("Destination Port: {}", b.port),
                36..38,
            ))
            .with(FieldNode::new(
                format!("Length: {}", 8 + payload.len()),
                38..40,
            ))
        } else {
            FieldNode::new(
                format!(
                    "Transmission Control Protocol, Src Port: {}, Dst Port: {}, Seq: {}, Len: {}",
                    a.port, b.port, p.seq, p.len
                ),
                34..54,
            )
            .with(FieldNode::new(format!("Source Port: {}", a.port), 34..36))
            .with(FieldNode::new(
                format!("Destination Port: {}", b.port),
                36..38,
            ))
            .with(FieldNode::new(
                format!("Sequence Number: {} (relative)", p.seq),
                38..42,
            ))
            .with(FieldNode::new(
                format!("Acknowledgment Number: {} (relative)", p.ack),
                42..46,
            ))
            .with(FieldNode::new(
                format!("Flags: [{}]", Self::flags(p)),
                47..48,
            ))
            .with(FieldNode::new("Window: 64240", 48..50))
        };
        fields.push(l4node);
        let off = 14 + 20 + l4;
        if !payload.is_empty() {
            let mut app = match (self.proto_of(p), udp) {
                ("DNS", _) => FieldNode::new("Domain Name System", off..n)
                    .with(FieldNode::new(
                        format!("Transaction ID: 0x{:04x}", 0x1000 + s.id),
                        off..off + 2,
                    ))
                    .with(FieldNode::new(
                        format!("Query: {} type A, class IN", s.name),
                        off + 12..n,
                    )),
                ("HTTP", _) if p.c2s || p.seq == 1 => {
                    let mut node = FieldNode::new("Hypertext Transfer Protocol", off..n);
                    let mut pos = off;
                    for line in payload.split_inclusive(|&c| c == b'\n').take(8) {
                        let text = String::from_utf8_lossy(line).trim_end().to_string();
                        if text.is_empty() {
                            break;
                        }
                        node.push(text, pos..pos + line.len());
                        pos += line.len();
                    }
                    node
                }
                ("TLS", _) => FieldNode::new(
                    format!("Transport Layer Security: {}", self.info(p)),
                    off..n,
                ),
                _ => FieldNode::new(format!("TCP payload ({} bytes)", payload.len()), off..n),
            };
            if let Some(name) = p.anomaly {
                app.push(format!("Expert Info (Warning): {name}"), 0..0);
            }
            fields.push(app);
        } else if let Some(name) = p.anomaly {
            fields.push(FieldNode::new(
                format!("Expert Info (Warning): {name}"),
                0..0,
            ));
        }
        PacketDetail {
            number: p.number,
            fields,
            bytes: f,
        }
    }
}

fn dns_server() -> Endpoint {
    Endpoint::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 53)), 53)
}

/// A DNS query (or response with one A answer) for the connection's name, RFC 1035 §4.1.
fn dns_query(s: &Spec, response: bool) -> Vec<u8> {
    let id = (0x1000 + s.id) as u16;
    let mut v = id.to_be_bytes().to_vec();
    v.extend_from_slice(if response {
        &[0x81, 0x80]
    } else {
        &[0x01, 0x00]
    });
    v.extend_from_slice(&[0, 1, 0, response as u8, 0, 0, 0, 0]);
    for label in s.name.split('.') {
        let l = &label.as_bytes()[..label.len().min(63)];
        v.push(l.len() as u8);
        v.extend_from_slice(l);
    }
    v.extend_from_slice(&[0, 0, 1, 0, 1]);
    if response {
        v.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4]);
        if let IpAddr::V4(a) = s.server.ip {
            v.extend_from_slice(&a.octets());
        }
    }
    v
}

impl DataSource for FakeSource {
    fn packet_count(&self) -> usize {
        match &self.view {
            Some(v) => v.len(),
            None => self.available,
        }
    }

    fn packet_row(&self, index: usize) -> PacketRow {
        self.row_calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let Some(p) = self.pkt_at(index) else {
            return PacketRow {
                number: 0,
                time: 0.0,
                src: String::new(),
                dst: String::new(),
                proto: "",
                len: 0,
                info: String::new(),
                conn: None,
                anomaly: false,
            };
        };
        let (a, b) = self.endpoints(p);
        let dns = matches!(p.kind, Kind::DnsQuery | Kind::DnsResponse);
        let payload = match p.kind {
            Kind::DnsQuery => dns_query(&self.specs[p.conn as usize], false).len() as u32,
            Kind::DnsResponse => dns_query(&self.specs[p.conn as usize], true).len() as u32,
            _ => p.len,
        };
        PacketRow {
            number: p.number,
            time: p.ts,
            src: a.ip.to_string(),
            dst: b.ip.to_string(),
            proto: self.proto_of(p),
            len: payload + if dns { 42 } else { 54 },
            info: self.info(p),
            conn: (!dns).then_some(p.conn),
            anomaly: p.anomaly.is_some(),
        }
    }

    fn packet_detail(&self, index: usize) -> PacketDetail {
        match self.pkt_at(index) {
            Some(p) => self.frame(p),
            None => PacketDetail::default(),
        }
    }

    fn packet_index(&self, number: u64) -> Option<usize> {
        let i = usize::try_from(number.checked_sub(1)?).ok()?;
        if i >= self.available {
            return None;
        }
        match &self.view {
            None => Some(i),
            Some(v) => v.binary_search(&(i as u32)).ok(),
        }
    }

    fn conn_count(&self) -> usize {
        self.conns.len()
    }

    fn conn_id(&self, index: usize) -> Option<u32> {
        self.conns.get(index).map(|c| c.id)
    }

    fn conn_row(&self, index: usize) -> Option<ConnRow> {
        self.conns.get(index).cloned()
    }

    fn conn_detail(&self, conn: u32) -> ConnDetail {
        let Some(s) = self.specs.get(conn as usize) else {
            return ConnDetail::default();
        };
        let mine: Vec<&Pkt> = self.pkts[..self.available]
            .iter()
            .filter(|p| p.conn == conn)
            .collect();
        let find = |k: Kind, c2s: bool| mine.iter().find(|p| p.kind == k && p.c2s == c2s);
        let mut phases = Vec::new();
        let mut ph = |label: &str, ts: f64, duration: Option<f64>, detail: String| {
            phases.push(Phase {
                label: label.to_string(),
                ts_rel: ts,
                duration,
                detail,
            })
        };
        if let (Some(q), r) = (find(Kind::DnsQuery, true), find(Kind::DnsResponse, false)) {
            ph(
                "lookup",
                q.ts,
                r.map(|r| r.ts - q.ts),
                format!("{} A → {}", s.name, s.server.ip),
            );
        }
        let syn = find(Kind::Syn, true);
        let synack = find(Kind::SynAck, false);
        let ack = mine.iter().find(|p| p.kind == Kind::Ack && p.c2s);
        if let Some(p) = syn {
            ph(
                "SYN",
                p.ts,
                synack.map(|a| a.ts - p.ts),
                format!("{} → {}", s.client, s.server),
            );
        }
        if let Some(p) = synack {
            ph("SYN/ACK", p.ts, ack.map(|a| a.ts - p.ts), String::new());
        }
        if let Some(p) = ack {
            ph(
                "ACK",
                p.ts,
                None,
                format!("handshake RTT {:.1} ms", s.rtt * 1.01 * 1e3),
            );
        }
        let req = find(Kind::Data, true);
        let resp: Vec<&&Pkt> = mine
            .iter()
            .filter(|p| p.kind == Kind::Data && !p.c2s)
            .collect();
        if let Some(q) = req {
            let label = if s.tls { "TLS hello" } else { "request" };
            ph(label, q.ts, resp.first().map(|r| r.ts - q.ts), self.info(q));
        }
        if let (Some(a), Some(z)) = (resp.first(), resp.last()) {
            ph(
                "response",
                a.ts,
                Some(z.ts - a.ts),
                format!("{} bytes in {} segments", s.response_len(), resp.len()),
            );
        }
        if let Some(p) = mine
            .iter()
            .find(|p| matches!(p.kind, Kind::Fin | Kind::Rst))
        {
            let last = mine.last().map(|l| l.ts).unwrap_or(p.ts);
            let who = if p.c2s { "client" } else { "server" };
            let label = if p.kind == Kind::Rst { "RST" } else { "FIN" };
            ph(label, p.ts, Some(last - p.ts), format!("by {who}"));
        }
        let arrows = mine
            .iter()
            .filter(|p| !matches!(p.kind, Kind::DnsQuery | Kind::DnsResponse))
            .map(|p| Arrow {
                number: p.number,
                ts_rel: p.ts,
                c2s: p.c2s,
                flags: Self::flags(p).to_string(),
                tcp: (!Self::flags(p).is_empty()).then_some((p.seq, p.ack)),
                len: p.len,
                analysis: p.anomaly.into_iter().collect(),
                quic: None,
            })
            .collect();
        let anomalies = mine
            .iter()
            .filter_map(|p| p.anomaly.map(|a| format!("{a}: frame {}", p.number)))
            .collect();
        ConnDetail {
            phases,
            arrows,
            http: self.all_http.iter().filter(|h| h.conn == conn).cloned().collect(),
            tls: s.tls.then(|| {
                format!("TLS 1.3 ClientHello SNI={} ALPN=h2,http/1.1; ServerHello TLS_AES_128_GCM_SHA256", s.name)
            }),
            quic: Vec::new(),
            tunnel: Vec::new(),
            anomalies,
        }
    }

    fn follow(&self, conn: u32) -> Vec<Turn> {
        let Some(s) = self.specs.get(conn as usize) else {
            return Vec::new();
        };
        let mut turns = Vec::new();
        let req = s.request();
        let resp = s.response();
        let mut c2s_done = false;
        let mut resp_off = 0usize;
        let mut cur: Option<(u64, f64, Vec<u8>)> = None;
        for p in self.pkts[..self.available]
            .iter()
            .filter(|p| p.conn == conn && p.kind == Kind::Data)
        {
            if p.c2s {
                if !c2s_done {
                    turns.push(Turn::Data {
                        c2s: true,
                        first_packet: p.number,
                        ts_rel: p.ts,
                        bytes: req.clone(),
                    });
                    c2s_done = true;
                }
                continue;
            }
            let start = p.seq.saturating_sub(1) as usize;
            if start < resp_off {
                continue; // retransmission: already delivered
            }
            if start > resp_off {
                if let Some((n, t, b)) = cur.take() {
                    turns.push(Turn::Data {
                        c2s: false,
                        first_packet: n,
                        ts_rel: t,
                        bytes: b,
                    });
                }
                turns.push(Turn::Gap {
                    c2s: false,
                    len: (start - resp_off) as u64,
                });
            }
            let end = (start + p.len as usize).min(resp.len());
            let chunk = resp.get(start..end).unwrap_or_default();
            match &mut cur {
                Some((_, _, b)) => b.extend_from_slice(chunk),
                None => cur = Some((p.number, p.ts, chunk.to_vec())),
            }
            resp_off = end;
        }
        if let Some((n, t, b)) = cur {
            turns.push(Turn::Data {
                c2s: false,
                first_packet: n,
                ts_rel: t,
                bytes: b,
            });
        }
        turns
    }

    fn dns_count(&self) -> usize {
        self.dns.len()
    }

    fn dns_row(&self, index: usize) -> Option<DnsRow> {
        self.dns.get(index).cloned()
    }

    fn http_count(&self) -> usize {
        self.http.len()
    }

    fn http_row(&self, index: usize) -> Option<HttpRow> {
        self.http.get(index).cloned()
    }

    fn story(&self) -> &Story {
        &self.story
    }

    fn focus_conn(&mut self, conn: Option<u32>) {
        self.focus = conn;
        self.rebuild_view();
    }

    fn apply_filter(&mut self, expr: &str) -> Result<(), String> {
        self.filter = if expr.trim().is_empty() {
            None
        } else {
            Some(Filter::compile(expr).map_err(|e| e.render(expr))?)
        };
        self.rebuild_view();
        Ok(())
    }

    fn check_filter(&self, expr: &str) -> Result<(), String> {
        Filter::compile(expr)
            .map(|_| ())
            .map_err(|e| e.render(expr))
    }

    fn status(&self) -> SourceStatus {
        SourceStatus {
            name: self.name.clone(),
            packets: self.available as u64,
            indexed: if self.live {
                1.0
            } else {
                self.available as f64 / self.pkts.len().max(1) as f64
            },
            done: !self.live,
            live: self.live,
            paused: self.paused,
            drops: self.live.then_some(0),
            capture_file: self
                .live
                .then(|| PathBuf::from("/tmp/wiretale-live-fake.pcap")),
            error: None,
            notice: None,
        }
    }

    fn poll(&mut self) -> bool {
        if let Some(w) = &self.worker {
            for n in w.drain(64) {
                self.available = (self.available + n).min(self.pkts.len());
            }
        }
        let fed = self.pending.swap(0, std::sync::atomic::Ordering::Relaxed);
        self.available = (self.available + fed).min(self.pkts.len());
        // `feed` may also have advanced `available` since the last rebuild.
        let changed = self.available != self.seen;
        if changed {
            self.rebuild_view();
        }
        changed
    }

    fn save_view(&self) -> Result<String, String> {
        Err("the demonstration source has no capture file to save from".into())
    }

    fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
        if let Some(w) = &self.worker {
            w.send(Command::Pause(paused));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::ListRows;
    use proptest::prelude::*;

    #[test]
    fn shape_of_the_fake_capture() {
        let f = FakeSource::new();
        let n = f.packet_count();
        assert!((9_000..11_000).contains(&n), "{n} packets");
        assert_eq!(f.conns().len(), FAKE_CONNS as usize);
        assert_eq!(f.dns_rows().len(), FAKE_CONNS as usize);
        assert!(f.http_rows().len() > 25);
        assert_eq!(f.story().root_count(), 10);
        // Frames are numbered in time order.
        let times: Vec<f64> = (0..n).map(|i| f.packet_row(i).time).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(f.packet_row(n - 1).number, n as u64);
        // Out-of-range never panics.
        assert_eq!(f.packet_row(n).number, 0);
        assert_eq!(f.packet_detail(usize::MAX), PacketDetail::default());
        assert_eq!(f.conn_detail(9999), ConnDetail::default());
        assert!(f.follow(9999).is_empty());
        assert_eq!(f.packet_index(0), None);
        assert_eq!(f.packet_index(u64::MAX), None);
    }

    #[test]
    fn frames_and_field_ranges_agree() {
        let f = FakeSource::new();
        for i in [0, 1, 2, 5, 6, 100, f.packet_count() - 1] {
            let row = f.packet_row(i);
            let d = f.packet_detail(i);
            assert_eq!(d.number, row.number);
            assert_eq!(d.bytes.len(), row.len as usize, "frame {}", row.number);
            let mut ok = true;
            for n in &d.fields {
                n.walk(&mut |n, _| ok &= n.range.end <= d.bytes.len());
            }
            assert!(ok, "every field range lies inside the frame");
        }
        // The IPv4 source address field covers the address bytes.
        let d = f.packet_detail(2);
        let ip = &d.fields[2].children[4];
        assert!(ip.label.starts_with("Source Address: 10.0.0.2"));
        assert_eq!(&d.bytes[ip.range.clone()], &[10, 0, 0, 2]);
    }

    #[test]
    fn anomaly_conn_has_retransmission_and_gap() {
        let f = FakeSource::new();
        let d = f.conn_detail(ANOMALY_CONN);
        assert_eq!(d.anomalies.len(), 2);
        assert!(d
            .arrows
            .iter()
            .any(|a| a.analysis == ["tcp_retransmission"]));
        let turns = f.follow(ANOMALY_CONN);
        assert_eq!(
            turns
                .iter()
                .filter(|t| matches!(t, Turn::Gap { len: 1448, .. }))
                .count(),
            1
        );
        // Everything but the lost segment is delivered exactly once (bytes on the wire
        // count the retransmission instead of the lost segment).
        let s2c: usize = turns
            .iter()
            .filter_map(|t| match t {
                Turn::Data {
                    c2s: false, bytes, ..
                } => Some(bytes.len()),
                _ => None,
            })
            .sum();
        assert_eq!(
            s2c as u64 + 1448,
            f.conns()[ANOMALY_CONN as usize].bytes_s2c
        );
    }

    #[test]
    fn the_products_filter_selects_on_the_fake_capture() {
        let mut f = FakeSource::new();
        assert_eq!(f.check_filter("conn.id == 3 && tcp"), Ok(()));
        // Errors are the product's rendering: the text, a caret under the culprit, why.
        assert_eq!(
            f.check_filter("bogus"),
            Err("bogus\n^~~~~\n\"bogus\" is not a valid protocol or protocol field".into())
        );
        f.apply_filter("tcp.analysis.flags").expect("valid");
        assert_eq!(
            f.packet_count(),
            3,
            "2 in conn 7, the retransmitted SYN of conn 42"
        );
        f.apply_filter("tcp.analysis.retransmission && conn.id == 42")
            .expect("valid");
        assert_eq!(f.packet_count(), 1);
        f.apply_filter("conn.id == 3 and http").expect("valid");
        assert_eq!(f.packet_count(), 2, "the request and the response");
        assert!(f.apply_filter("and").is_err());
        assert_eq!(f.packet_count(), 2, "a failed filter leaves the view alone");
        // Fields of the synthesised bytes come from the real decoder.
        f.apply_filter("dns && ip.dst == 10.0.0.53").expect("valid");
        assert_eq!(f.packet_count(), FAKE_CONNS as usize, "one query each");
        f.apply_filter("").expect("clears");
        assert_eq!(f.packet_count(), f.total_packets());
    }

    #[test]
    fn live_feeding_is_bounded_and_reported_once() {
        let mut f = FakeSource::live_manual();
        let feed = f.feeder();
        assert!(!f.poll());
        feed.feed(10);
        assert!(f.poll());
        assert!(!f.poll(), "a batch is reported once");
        assert_eq!(f.packet_count(), 10);
        feed.feed(usize::MAX / 2);
        assert!(f.poll());
        assert_eq!(f.packet_count(), f.total_packets());
    }

    proptest! {
        #[test]
        fn filters_never_panic(s in "\\PC{0,40}") {
            let mut f = FakeSource::new();
            let checked = f.check_filter(&s);
            let applied = f.apply_filter(&s);
            prop_assert_eq!(checked.is_ok(), applied.is_ok());
        }
    }
}
