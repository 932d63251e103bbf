//! Per-connection application decoders, fed by the flow table through [`StreamSink`].
//!
//! A TCP connection's protocol is decided from its first bytes (HTTP request or status
//! line, TLS record header) and only then from its ports (53 → DNS over TCP), so HTTP on
//! port 8080 and TLS on 8443 are recognised, and a port-80 connection carrying something
//! else is not misparsed. Decoders live only as long as their connection: when the flow
//! table finishes a connection, its decoder is flushed and dropped, so memory follows
//! the live connections.

use super::limits::AppLimits;
use super::notes::{AppData, AppNote, HttpNote};
use crate::base::{AnomalyKind, ConnId, Direction, Endpoint, PacketId, Timestamp};
use crate::flow::{ConnProto, Connection, FxHashMap, StreamSink};
use crate::proto::dns::{self, DnsMeta, DnsTcpStream, DnsTracker};
use crate::proto::http::{looks_like_http, HttpConn};
use crate::proto::http2::{looks_like_h2, H2Conn};
use crate::proto::tls::{looks_like_tls, TlsConn, TlsEvent};
use crate::story::{AppKind, ConnRecord, HttpRecord, TlsSummary};

/// Bytes of a first delivery enough to decide what a connection carries (a request
/// line with its version, a TLS record header); fewer means "wait for more".
const PROBE_BYTES: usize = 16;
/// At most this much of a delivery is looked at when deciding.
const PROBE_WINDOW: usize = 2048;
/// Deliveries after which an undecided connection is given up as "other".
const PROBE_TRIES: u8 = 4;

enum Decoder {
    /// Not decided yet: the first bytes of each direction seen so far.
    Probe {
        tries: u8,
    },
    Http(Box<HttpConn>),
    /// HTTP/2 in the clear, by prior knowledge (RFC 9113 §3.3: the client preface).
    H2(Box<H2Conn>),
    Tls(Box<TlsConn>),
    Dns(Box<DnsTcpStream>),
    /// Something else: bytes are counted by flow, not decoded.
    Other,
}

struct ConnApp {
    client: Endpoint,
    server: Endpoint,
    tcp: bool,
    decoder: Decoder,
    app: Option<AppKind>,
    tls: Option<TlsSummary>,
    http_host: Option<String>,
    http_count: u32,
    /// First request and response `seq` not yet given a packet note.
    noted: [u32; 2],
}

/// Everything the application layer keeps, and what it has produced so far.
pub(super) struct Apps {
    /// Keyed by our own sequential ids (nothing from the wire), so the fast Fx hash.
    conns: FxHashMap<ConnId, ConnApp>,
    pub dns: DnsTracker,
    /// Notes for the packet being processed (several for pipelined messages).
    pub notes: Vec<AppNote>,
    /// Packet being processed (the sink attributes notes to it).
    pub cur_pkt: PacketId,
    pub done_conns: Vec<ConnRecord>,
    pub http: Vec<HttpRecord>,
    /// Keep each note's message fields ([`AppData`]) for display filters.
    pub want_fields: bool,
    limits: AppLimits,
}

impl Apps {
    pub fn new(want_fields: bool, limits: AppLimits) -> Self {
        Apps {
            conns: FxHashMap::default(),
            dns: DnsTracker::with_limits(limits.dns_pending, limits.dns_timeout_ns),
            limits,
            notes: Vec::new(),
            cur_pkt: PacketId(0),
            done_conns: Vec::new(),
            http: Vec::new(),
            want_fields,
        }
    }

    /// Marks a UDP connection as DNS (its datagrams parsed as DNS).
    pub fn mark_dns(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.app = Some(AppKind::Dns);
        }
    }

    /// A DNS message in a UDP datagram: into the tracker, and a note for the packet.
    pub fn udp_dns(&mut self, meta: DnsMeta, msg: &dns::Message) {
        let mdns = meta.src.port == 5353 || meta.dst.port == 5353;
        let mut info = if mdns {
            dns::text::info_mdns(msg)
        } else {
            dns::text::info(msg)
        };
        if msg
            .anomalies
            .iter()
            .any(|a| a.kind == AnomalyKind::DnsTruncated)
        {
            info.push_str(" [truncated by the capture]");
        }
        let mut note = AppNote::new("dns", info);
        if self.want_fields {
            note.data = AppData::Dns(Box::new(msg.clone()));
        }
        self.notes.push(note);
        self.dns.on_message(meta, msg);
    }

    fn decide(c: &ConnApp, bytes: &[u8], limits: &AppLimits) -> Option<Decoder> {
        // The HTTP/2 preface reads as an HTTP/1 request line (`PRI * HTTP/2.0`): first.
        if looks_like_h2(bytes) {
            return Some(Decoder::H2(Box::new(H2Conn::new().keep_frames(true))));
        }
        if looks_like_http(bytes) {
            return Some(Decoder::Http(Box::new(HttpConn::with_max_pending(
                limits.http_pending,
            ))));
        }
        if looks_like_tls(bytes) {
            return Some(Decoder::Tls(Box::default()));
        }
        if dns::is_dns_port(c.server.port) || dns::is_dns_port(c.client.port) {
            return Some(Decoder::Dns(Box::default()));
        }
        None
    }

    fn feed(&mut self, conn: ConnId, dir: Direction, ts: Timestamp, pkt: PacketId, bytes: &[u8]) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if !c.tcp {
            return;
        }
        if let Decoder::Probe { tries } = &mut c.decoder {
            *tries += 1;
            let probe = &bytes[..bytes.len().min(PROBE_WINDOW)];
            match Self::decide(c, probe, &self.limits) {
                Some(d) => c.decoder = d,
                None if c.decoder_tries() >= PROBE_TRIES || bytes.len() >= PROBE_BYTES => {
                    c.decoder = Decoder::Other
                }
                None => return,
            }
            c.app = match c.decoder {
                Decoder::Http(_) | Decoder::H2(_) => Some(AppKind::Http),
                Decoder::Tls(_) => Some(AppKind::Tls),
                Decoder::Dns(_) => Some(AppKind::Dns),
                _ => None,
            };
        }
        match &mut c.decoder {
            Decoder::Http(h) => {
                h.feed(dir, ts, pkt, bytes);
                note_http(h, &mut c.noted, &mut self.notes, self.want_fields);
                drain_http(conn, c, &mut self.http);
            }
            Decoder::H2(h) => {
                h.feed(dir, ts, pkt, bytes);
                note_h2(h, &mut self.notes);
                drain_h2(conn, c, &mut self.http);
            }
            Decoder::Tls(t) => {
                t.feed(dir, ts, pkt, bytes);
                for ev in t.drain() {
                    let mut note = AppNote::new("tls", ev.info());
                    if self.want_fields {
                        note.data = AppData::tls(&ev);
                    }
                    self.notes.push(note);
                    absorb_tls(&mut c.tls, ev);
                }
            }
            Decoder::Dns(d) => {
                for m in d.feed(dir, ts, pkt, bytes) {
                    let Ok(msg) = &m.message else { continue };
                    let (src, dst) = match m.dir {
                        Direction::ClientToServer => (c.client, c.server),
                        Direction::ServerToClient => (c.server, c.client),
                    };
                    let mut note = AppNote::new("dns", dns::text::info(msg));
                    if self.want_fields {
                        note.data = AppData::Dns(Box::new(msg.clone()));
                    }
                    self.notes.push(note);
                    let meta = DnsMeta {
                        ts: m.ts,
                        pkt: m.pkt,
                        conn: Some(conn),
                        transport: dns::Transport::Tcp,
                        src,
                        dst,
                        after_gap: m.after_gap,
                    };
                    self.dns.on_message(meta, msg);
                }
            }
            Decoder::Probe { .. } | Decoder::Other => {}
        }
    }

    /// Flushes everything still open (end of input).
    pub fn finish(&mut self, ts: Timestamp) {
        for (id, c) in self.conns.iter_mut() {
            finish_decoder(*id, c, ts, &mut self.http);
        }
    }
}

impl ConnApp {
    fn decoder_tries(&self) -> u8 {
        match self.decoder {
            Decoder::Probe { tries } => tries,
            _ => 0,
        }
    }
}

/// Notes for HTTP messages this packet completed: tshark shows a message's Info on the
/// packet that completed it (its last byte, or the FIN that ended a close-delimited
/// body). `noted` holds, for requests and responses, the `seq` of the first message not
/// yet noted, so each message is noted once, on the packet being processed when it
/// became complete.
/// `fields`: also keep the message's filterable fields ([`HttpNote`]).
fn note_http(h: &HttpConn, noted: &mut [u32; 2], notes: &mut Vec<AppNote>, fields: bool) {
    for (tx, req_done, resp_done) in h.in_flight() {
        if req_done && tx.seq >= noted[0] {
            noted[0] = tx.seq + 1;
            if let Some(info) = tx.request_info() {
                let mut note = AppNote::new("http", info);
                if fields {
                    note.data = AppData::Http(Box::new(HttpNote::request(tx)));
                }
                notes.push(note);
            }
        }
        if resp_done && tx.seq >= noted[1] {
            noted[1] = tx.seq + 1;
            if let Some(info) = tx.response_info() {
                let mut note = AppNote::new("http", info);
                if fields {
                    note.data = AppData::Http(Box::new(HttpNote::response(tx)));
                }
                notes.push(note);
            }
        }
    }
}

fn drain_http(conn: ConnId, c: &mut ConnApp, out: &mut Vec<HttpRecord>) {
    let Decoder::Http(h) = &mut c.decoder else {
        return;
    };
    for tx in h.drain() {
        if c.http_host.is_none() {
            c.http_host = tx.host.clone();
        }
        c.http_count += 1;
        out.push(HttpRecord { conn, tx });
    }
}

/// One note per packet for the HTTP/2 frames it completed, as tshark's Info lists them
/// (`HEADERS[1]: GET /, WINDOW_UPDATE[0]`).
fn note_h2(h: &mut H2Conn, notes: &mut Vec<AppNote>) {
    let infos: Vec<String> = h.drain_frames().map(|f| f.info()).collect();
    if !infos.is_empty() {
        notes.push(AppNote::new("http2", infos.join(", ")));
    }
}

fn drain_h2(conn: ConnId, c: &mut ConnApp, out: &mut Vec<HttpRecord>) {
    let Decoder::H2(h) = &mut c.decoder else {
        return;
    };
    for ex in h.drain() {
        let tx = ex.to_http_transaction();
        if c.http_host.is_none() {
            c.http_host = tx.host.clone();
        }
        c.http_count += 1;
        out.push(HttpRecord { conn, tx });
    }
}

/// The connection or the input ended: what its decoder still holds comes out.
fn finish_decoder(id: ConnId, c: &mut ConnApp, ts: Timestamp, out: &mut Vec<HttpRecord>) {
    match &mut c.decoder {
        Decoder::Http(h) => {
            h.finish(ts);
            drain_http(id, c, out);
        }
        Decoder::H2(h) => {
            h.finish(ts);
            drain_h2(id, c, out);
        }
        _ => {}
    }
}

fn absorb_tls(tls: &mut Option<TlsSummary>, ev: TlsEvent) {
    let t = tls.get_or_insert_with(TlsSummary::default);
    match ev {
        TlsEvent::ClientHello(ch) => {
            t.sni = ch.sni;
            t.alpn_offered = ch.alpn;
            t.client_version = ch.versions.iter().copied().max();
        }
        TlsEvent::ServerHello(sh) => {
            t.version = Some(sh.version);
            t.alpn = sh.alpn;
        }
    }
}

impl StreamSink for Apps {
    fn data(&mut self, conn: ConnId, dir: Direction, ts: Timestamp, pkt: PacketId, bytes: &[u8]) {
        self.feed(conn, dir, ts, pkt, bytes);
    }

    fn gap(&mut self, conn: ConnId, dir: Direction, ts: Timestamp, len: u64) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        match &mut c.decoder {
            Decoder::Http(h) => {
                h.gap(dir, ts, len);
                drain_http(conn, c, &mut self.http);
            }
            Decoder::H2(h) => {
                h.gap(dir, ts, len);
                drain_h2(conn, c, &mut self.http);
            }
            Decoder::Tls(t) => t.gap(dir, ts, len),
            Decoder::Dns(d) => d.gap(dir, len.min(usize::MAX as u64) as usize),
            Decoder::Probe { .. } | Decoder::Other => {}
        }
    }

    fn end(&mut self, conn: ConnId, dir: Direction, ts: Timestamp) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        match &mut c.decoder {
            Decoder::Http(h) => {
                h.end(dir, ts);
                note_http(h, &mut c.noted, &mut self.notes, self.want_fields);
                drain_http(conn, c, &mut self.http);
            }
            Decoder::H2(h) => {
                h.end(dir, ts);
                note_h2(h, &mut self.notes);
                drain_h2(conn, c, &mut self.http);
            }
            _ => {}
        }
        // A closed connection lingers in the flow table (late ACKs, retransmitted FINs)
        // for seconds of capture time; with thousands of connections a second, holding
        // each one's HTTP state until then was most of the memory. Once both sides have
        // ended and everything is drained, the decoder has nothing left to say.
        if let Decoder::Http(h) = &c.decoder {
            if h.is_spent() {
                c.decoder = Decoder::Other;
            }
        }
    }

    fn conn_new(&mut self, conn: &Connection) {
        self.conns.insert(
            conn.id,
            ConnApp {
                client: conn.client,
                server: conn.server,
                tcp: conn.proto == ConnProto::Tcp,
                decoder: Decoder::Probe { tries: 0 },
                app: None,
                tls: None,
                http_host: None,
                http_count: 0,
                noted: [0, 0],
            },
        );
    }

    fn conn_done(&mut self, conn: &Connection) {
        self.conn_done_inner(conn);
    }
}

impl Apps {
    /// What is known so far about a connection that has not finished (a live view).
    /// The application found on an open connection so far.
    pub fn app_of(&self, id: ConnId) -> Option<AppKind> {
        self.conns.get(&id).and_then(|a| a.app)
    }

    pub fn snapshot(&self, conn: &Connection) -> ConnRecord {
        let app = self.conns.get(&conn.id);
        ConnRecord {
            conn: conn.clone(),
            app: app.and_then(|a| a.app),
            tls: app.and_then(|a| a.tls.clone()),
            http_host: app.and_then(|a| a.http_host.clone()),
            http_count: app.map_or(0, |a| a.http_count),
        }
    }

    fn conn_done_inner(&mut self, conn: &Connection) {
        let mut app = self.conns.remove(&conn.id);
        if let Some(c) = app.as_mut() {
            finish_decoder(conn.id, c, conn.last_ts, &mut self.http);
        }
        self.done_conns.push(ConnRecord {
            conn: conn.clone(),
            app: app.as_ref().and_then(|a| a.app),
            tls: app.as_mut().and_then(|a| a.tls.take()),
            http_host: app.as_mut().and_then(|a| a.http_host.take()),
            http_count: app.as_ref().map_or(0, |a| a.http_count),
        });
    }
}
