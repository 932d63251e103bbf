//! Per-connection application decoders, fed by the flow table through [`StreamSink`].
//!
//! A TCP connection's protocol is decided from its first bytes (HTTP request or status
//! line, TLS record header) and only then from its ports (53 → DNS over TCP), so HTTP on
//! port 8080 and TLS on 8443 are recognised, and a port-80 connection carrying something
//! else is not misparsed. Decoders live only as long as their connection: when the flow
//! table finishes a connection, its decoder is flushed and dropped, so memory follows
//! the live connections.

mod carried;
mod quic;
mod tls;

use std::collections::HashMap;

use carried::{Carried, HttpPool, HttpSeen};
use quic::QuicApp;
use tls::{Out, TlsApp};

use super::chunked::Chunked;
use super::limits::AppLimits;
use super::notes::{AppData, AppNote, TlsField};
use crate::base::{AnomalyKind, ConnId, Direction, Endpoint, PacketId, Timestamp};
use crate::capture::DecryptionSecrets;
use crate::flow::{ConnProto, Connection, FxHashMap, StreamSink};
use crate::proto::dns::{self, DnsMeta, DnsTcpStream, DnsTracker};
use crate::proto::http::looks_like_http;
use crate::proto::http2::looks_like_h2;
use crate::proto::quic::header::looks_like_quic;
use crate::proto::tls::{looks_like_tls, KeyLog};
use crate::story::{AppKind, ConnRecord, HttpRecord};

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
    /// HTTP/1.x, or HTTP/2 by prior knowledge (RFC 9113 §3.3: the client preface), in
    /// the clear.
    Http(Carried),
    Tls(Box<TlsApp>),
    Dns(Box<DnsTcpStream>),
    /// QUIC on UDP (RFC 9000).
    Quic(Box<QuicApp>),
    /// Something else: bytes are counted by flow, not decoded.
    Other,
}

struct ConnApp {
    client: Endpoint,
    server: Endpoint,
    tcp: bool,
    decoder: Decoder,
    app: Option<AppKind>,
    http: HttpSeen,
}

/// Everything the application layer keeps, and what it has produced so far.
pub(super) struct Apps {
    /// Keyed by our own sequential ids (nothing from the wire), so the fast Fx hash.
    conns: FxHashMap<ConnId, ConnApp>,
    pub dns: DnsTracker,
    /// Notes for the packet being processed (several for pipelined messages).
    pub notes: Vec<AppNote>,
    /// TLS facts for display filters of the packet being processed (see
    /// [`super::notes::TlsFields`]); filled only with `want_fields`.
    pub tls: Option<Vec<TlsField>>,
    /// Packet being processed (the sink attributes notes to it).
    pub cur_pkt: PacketId,
    /// Finished connections not taken yet, in chunks (a sweep finishes tens of
    /// thousands at once: see [`Chunked`]).
    pub done_conns: Chunked<ConnRecord>,
    pub http: Vec<HttpRecord>,
    /// Keep each note's message fields ([`AppData`]) for display filters.
    pub want_fields: bool,
    /// Write the Info text of notes whose text costs something to make (QUIC's, with
    /// every connection ID in hex): only a face that shows packets reads it.
    pub want_info: bool,
    limits: AppLimits,
    /// TLS secrets: the `--tls-keylog` file and pcapng Decryption Secrets Blocks.
    keys: Option<KeyLog>,
    /// Open QUIC connections by the connection IDs they chose (RFC 9000 §5.1), so a
    /// datagram on a new 4-tuple that carries one joins its connection. Connection IDs
    /// come from the wire: SipHash, not Fx, so crafted ones cannot collide on purpose.
    quic_cids: HashMap<Box<[u8]>, ConnId>,
    /// The lengths of those IDs: a short header does not say how long its DCID is.
    quic_cid_lens: Vec<usize>,
    /// HTTP/1 decoders of finished connections, reused by new ones.
    http_pool: HttpPool,
}

impl Apps {
    pub fn new(want_fields: bool, limits: AppLimits) -> Self {
        Apps {
            conns: FxHashMap::default(),
            dns: DnsTracker::with_limits(limits.dns_pending, limits.dns_timeout_ns),
            limits,
            notes: Vec::new(),
            tls: None,
            cur_pkt: PacketId(0),
            done_conns: Chunked::default(),
            http: Vec::new(),
            want_fields,
            want_info: true,
            keys: None,
            quic_cids: HashMap::new(),
            quic_cid_lens: Vec::new(),
            http_pool: HttpPool::default(),
        }
    }

    /// The open QUIC connection whose connection ID this UDP payload's header carries
    /// as its DCID, if any (for [`crate::flow::ConnTable::process_joining`]).
    pub fn quic_join(&self, payload: &[u8]) -> Option<ConnId> {
        if self.quic_cids.is_empty() {
            return None;
        }
        let first = *payload.first()?;
        if first & 0x80 != 0 {
            // Long header: the DCID's length is at byte 5 (RFC 9000 §17.2).
            let len = usize::from(*payload.get(5)?);
            return self.quic_cids.get(payload.get(6..6 + len)?).copied();
        }
        if first & 0x40 == 0 {
            return None;
        }
        // Short header (RFC 9000 §17.3): the DCID starts at byte 1; try each known length.
        self.quic_cid_lens
            .iter()
            .find_map(|&l| self.quic_cids.get(payload.get(1..1 + l)?).copied())
    }

    /// A QUIC datagram's addresses: the client's address is remembered when it is new.
    pub fn quic_path(&mut self, conn: ConnId, src: Endpoint, dst: Endpoint, ts: Timestamp) {
        if let Some(Decoder::Quic(q)) = self.conns.get_mut(&conn).map(|c| &mut c.decoder) {
            q.path(src, dst, ts);
        }
    }

    /// A UDP datagram of an undecided or QUIC connection.
    fn udp(&mut self, conn: ConnId, dir: Direction, ts: Timestamp, pkt: PacketId, bytes: &[u8]) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if let Decoder::Probe { tries } = &mut c.decoder {
            let dns_port = dns::is_dns_port(c.server.port) || dns::is_dns_port(c.client.port);
            if c.app.is_none() && !dns_port && looks_like_quic(bytes) {
                c.decoder = Decoder::Quic(Box::new(QuicApp::new(c.server)));
                c.app = Some(AppKind::Quic);
            } else {
                *tries += 1;
                if *tries >= PROBE_TRIES {
                    c.decoder = Decoder::Other;
                }
                return;
            }
        }
        let Decoder::Quic(q) = &mut c.decoder else {
            return;
        };
        let (note, tls) = q.datagram(
            (dir, pkt, ts),
            bytes,
            self.keys.as_ref(),
            (self.want_info, self.want_fields),
        );
        self.notes.push(note);
        // tshark shows `tls` on the packets whose CRYPTO frames completed a hello only.
        if !tls.is_empty() {
            self.tls.get_or_insert_with(Vec::new).extend(tls);
        }
        self.quic_events(conn, true);
    }

    /// A QUIC connection's events: its new connection IDs join the index, its stream
    /// bytes go to HTTP/3, whose exchanges become records and, with `notes`, whose
    /// frames become notes of the packet being processed.
    fn quic_events(&mut self, conn: ConnId, notes: bool) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let Decoder::Quic(q) = &mut c.decoder else {
            return;
        };
        q.events();
        let frame_notes = notes && (self.want_info || self.want_fields);
        if let Some(h3) = q.h3.as_mut() {
            for f in h3.drain_frames() {
                if frame_notes {
                    let info = if self.want_info {
                        crate::base::escape::escape_str(&f.info())
                    } else {
                        String::new()
                    };
                    self.notes.push(AppNote::new("http3", info));
                }
            }
            for x in h3.drain() {
                let tx = x.to_http_transaction();
                if c.http.host.is_none() {
                    c.http.host = tx.host.clone();
                }
                c.http.count += 1;
                self.http.push(HttpRecord { conn, tx });
            }
        }
        // Register what it chose, so its datagrams on another path join it (only when
        // its list grew: comparing every ID on every datagram was most of the time).
        let known = q.cids().count();
        if known == q.cids_seen {
            return;
        }
        q.cids_seen = known;
        let new: Vec<Box<[u8]>> = q
            .cids()
            .filter(|c| !c.is_empty() && !q.registered.iter().any(|r| **r == ***c))
            .map(|c| c.clone().into_boxed_slice())
            .collect();
        for cid in new {
            if q.registered.len() >= 2 * quic::MAX_CIDS {
                break;
            }
            if !self.quic_cid_lens.contains(&cid.len()) {
                self.quic_cid_lens.push(cid.len());
            }
            self.quic_cids.entry(cid.clone()).or_insert(conn);
            q.registered.push(cid);
        }
    }

    /// Decrypts TLS with these secrets (a `--tls-keylog` file).
    pub fn set_keys(&mut self, keys: KeyLog) {
        self.keys = Some(keys);
        self.retry_tls();
    }

    /// A pcapng Decryption Secrets Block: its TLS key log joins the keys.
    pub fn add_secrets(&mut self, s: &DecryptionSecrets) {
        if self
            .keys
            .get_or_insert_with(KeyLog::new)
            .add_dsb(s.kind, &s.data)
        {
            self.retry_tls();
        }
    }

    /// Reads what was appended to a followed key log (live capture: the browser writes
    /// secrets after their packets); connections waiting for keys are tried again.
    pub fn refresh_keys(&mut self) -> std::io::Result<usize> {
        let n = match &mut self.keys {
            Some(k) => k.refresh()?,
            None => 0,
        };
        if n > 0 {
            self.retry_tls();
        }
        Ok(n)
    }

    /// The key log's warnings (lines that did not parse), for the faces to report.
    pub fn key_warnings(&self) -> Vec<String> {
        self.keys
            .as_ref()
            .map(|k| k.warnings().iter().map(|w| w.to_string()).collect())
            .unwrap_or_default()
    }

    fn retry_tls(&mut self) {
        let tls: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| matches!(c.decoder, Decoder::Tls(_)))
            .map(|(id, _)| *id)
            .collect();
        for id in tls {
            if let Some((Decoder::Tls(t), out, keys)) = self.out(id) {
                t.retry(keys, out);
            }
        }
        let quic: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| matches!(c.decoder, Decoder::Quic(_)))
            .map(|(id, _)| *id)
            .collect();
        for id in quic {
            if let (Some(Decoder::Quic(q)), Some(keys)) = (
                self.conns.get_mut(&id).map(|c| &mut c.decoder),
                self.keys.as_ref(),
            ) {
                q.state.retry_keys(keys);
            }
            self.quic_events(id, false);
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
        let mut info = String::new();
        if self.want_info {
            info = if mdns {
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
        }
        let mut note = AppNote::new("dns", info);
        if self.want_fields {
            note.data = AppData::Dns(Box::new(msg.clone()));
        }
        self.notes.push(note);
        self.dns.on_message(meta, msg);
    }

    /// A NetBIOS name service packet (UDP 137, RFC 1002 §4.2) decoded into the DNS
    /// message shape: into the tracker only (service `nbns` in `dns`). It adds no packet
    /// note, so the packet list and the connection's app stay as they were.
    pub fn udp_nbns(&mut self, meta: DnsMeta, msg: &dns::Message) {
        self.dns.on_message(meta, msg);
    }

    fn decide(
        c: &ConnApp,
        bytes: &[u8],
        limits: &AppLimits,
        pool: &mut HttpPool,
    ) -> Option<Decoder> {
        // The HTTP/2 preface reads as an HTTP/1 request line (`PRI * HTTP/2.0`): first.
        if looks_like_h2(bytes) {
            return Some(Decoder::Http(Carried::h2()));
        }
        if looks_like_http(bytes) {
            return Some(Decoder::Http(pool.take(limits.http_pending)));
        }
        if looks_like_tls(bytes) {
            return Some(Decoder::Tls(Box::new(TlsApp::new())));
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
            self.udp(conn, dir, ts, pkt, bytes);
            return;
        }
        if let Decoder::Probe { tries } = &mut c.decoder {
            *tries += 1;
            let probe = &bytes[..bytes.len().min(PROBE_WINDOW)];
            match Self::decide(c, probe, &self.limits, &mut self.http_pool) {
                Some(d) => c.decoder = d,
                None if c.decoder_tries() >= PROBE_TRIES || bytes.len() >= PROBE_BYTES => {
                    c.decoder = Decoder::Other
                }
                None => return,
            }
            c.app = match c.decoder {
                Decoder::Http(_) => Some(AppKind::Http),
                Decoder::Tls(_) => Some(AppKind::Tls),
                Decoder::Dns(_) => Some(AppKind::Dns),
                _ => None,
            };
        }
        if matches!(c.decoder, Decoder::Http(_) | Decoder::Tls(_)) {
            if let Some((decoder, mut out, keys)) = self.out(conn) {
                match decoder {
                    Decoder::Http(h) => h.feed(dir, ts, pkt, bytes, out.sink()),
                    Decoder::Tls(t) => t.feed(dir, ts, pkt, bytes, keys, out),
                    _ => {}
                }
            }
            return;
        }
        match &mut c.decoder {
            Decoder::Dns(d) => {
                for m in d.feed(dir, ts, pkt, bytes) {
                    let Ok(msg) = &m.message else { continue };
                    let (src, dst) = match m.dir {
                        Direction::ClientToServer => (c.client, c.server),
                        Direction::ServerToClient => (c.server, c.client),
                    };
                    let info = if self.want_info {
                        dns::text::info(msg)
                    } else {
                        String::new()
                    };
                    let mut note = AppNote::new("dns", info);
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
            // HTTP and TLS went to `out` above.
            Decoder::Http(_)
            | Decoder::Tls(_)
            | Decoder::Quic(_)
            | Decoder::Probe { .. }
            | Decoder::Other => {}
        }
    }

    /// Flushes everything still open (end of input).
    pub fn finish(&mut self, ts: Timestamp) {
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            self.finish_decoder(id, ts);
        }
        // The room of the most connections ever open at once (~15 MB after ~100 k)
        // goes back before the consumer tells the end's story.
        self.conns.shrink_to_fit();
        self.quic_cids.shrink_to_fit();
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

impl Apps {
    /// Where a connection's HTTP and TLS output goes.
    fn out<'a>(
        &'a mut self,
        conn: ConnId,
    ) -> Option<(&'a mut Decoder, Out<'a>, Option<&'a KeyLog>)> {
        let c = self.conns.get_mut(&conn)?;
        let out = Out {
            conn,
            notes: &mut self.notes,
            http: &mut self.http,
            seen: &mut c.http,
            fields: self.want_fields,
            info: self.want_info,
            http_pending: self.limits.http_pending,
            tls: &mut self.tls,
        };
        Some((&mut c.decoder, out, self.keys.as_ref()))
    }

    /// The connection or the input ended: what its decoder still holds comes out.
    fn finish_decoder(&mut self, id: ConnId, ts: Timestamp) {
        if let Some(Decoder::Quic(q)) = self.conns.get_mut(&id).map(|c| &mut c.decoder) {
            q.state.finish();
            q.events();
            if let Some(h3) = q.h3.as_mut() {
                h3.finish(ts);
            }
            self.quic_events(id, false);
        }
        match self.out(id) {
            Some((Decoder::Http(h), mut out, _)) => h.finish(ts, out.sink()),
            Some((Decoder::Tls(t), out, keys)) => t.finish(ts, keys, out),
            _ => {}
        }
    }
}

impl StreamSink for Apps {
    fn data(&mut self, conn: ConnId, dir: Direction, ts: Timestamp, pkt: PacketId, bytes: &[u8]) {
        self.feed(conn, dir, ts, pkt, bytes);
    }

    fn gap(&mut self, conn: ConnId, dir: Direction, ts: Timestamp, len: u64) {
        let pkt = self.cur_pkt;
        let Some((decoder, mut out, keys)) = self.out(conn) else {
            return;
        };
        match decoder {
            Decoder::Http(h) => h.gap(dir, ts, len, out.sink()),
            Decoder::Tls(t) => t.gap(dir, (pkt, ts), len, keys, out),
            Decoder::Dns(d) => d.gap(dir, len.min(usize::MAX as u64) as usize),
            Decoder::Quic(_) | Decoder::Probe { .. } | Decoder::Other => {}
        }
    }

    fn end(&mut self, conn: ConnId, dir: Direction, ts: Timestamp) {
        let Some((decoder, mut out, _)) = self.out(conn) else {
            return;
        };
        match decoder {
            Decoder::Http(h) => h.end(dir, ts, out.sink()),
            Decoder::Tls(t) => t.end(dir, ts, out),
            _ => {}
        }
        // A closed connection lingers in the flow table (late ACKs, retransmitted FINs)
        // for seconds of capture time; with thousands of connections a second, holding
        // each one's HTTP state until then was most of the memory. Once both sides have
        // ended and everything is drained, the decoder has nothing left to say.
        let spent = match decoder {
            Decoder::Http(h) if h.is_spent() => Some(std::mem::replace(decoder, Decoder::Other)),
            _ => None,
        };
        if let Some(Decoder::Http(h)) = spent {
            self.http_pool.give(h, self.limits.http_pending);
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
                http: HttpSeen::default(),
            },
        );
    }

    fn conn_done(&mut self, conn: &Connection) {
        self.conn_done_inner(conn.clone());
    }

    fn conn_finished(&mut self, conn: Connection) {
        self.conn_done_inner(conn);
    }
}

impl Apps {
    /// Per-connection application states by decoder: `[undecided, http, tls, dns, quic,
    /// other]`.
    pub fn census(&self) -> [usize; 6] {
        let mut n = [0; 6];
        for c in self.conns.values() {
            let i = match c.decoder {
                Decoder::Probe { .. } => 0,
                Decoder::Http(_) => 1,
                Decoder::Tls(_) => 2,
                Decoder::Dns(_) => 3,
                Decoder::Quic(_) => 4,
                Decoder::Other => 5,
            };
            n[i] += 1;
        }
        n
    }

    /// HTTP/1 decoders kept for reuse (see [`HttpPool`]).
    pub fn http_pool_len(&self) -> usize {
        self.http_pool.len()
    }

    /// The application found on an open connection so far.
    pub fn app_of(&self, id: ConnId) -> Option<AppKind> {
        self.conns.get(&id).and_then(|a| a.app)
    }

    /// What is known so far about a connection that has not finished (a live view).
    pub fn snapshot(&self, conn: &Connection) -> ConnRecord {
        let app = self.conns.get(&conn.id);
        ConnRecord {
            conn: conn.clone(),
            app: app.and_then(|a| a.app),
            tls: app.and_then(|a| a.tls()).map(Box::new),
            tls_anomalies: app.map(|a| a.tls_anomalies()).unwrap_or_default(),
            quic: app.and_then(|a| a.quic()).map(Box::new),
            http_host: app.and_then(|a| a.http.host.clone()),
            http_count: app.map_or(0, |a| a.http.count),
        }
    }

    fn conn_done_inner(&mut self, conn: Connection) {
        self.finish_decoder(conn.id, conn.last_ts);
        let mut app = self.conns.remove(&conn.id);
        if let Some(Decoder::Quic(q)) = app.as_ref().map(|a| &a.decoder) {
            for cid in &q.registered {
                if self.quic_cids.get(cid) == Some(&conn.id) {
                    self.quic_cids.remove(cid);
                }
            }
        }
        self.done_conns.push(ConnRecord {
            conn,
            app: app.as_ref().and_then(|a| a.app),
            tls: app.as_ref().and_then(|a| a.tls()).map(Box::new),
            tls_anomalies: app.as_ref().map(|a| a.tls_anomalies()).unwrap_or_default(),
            quic: app.as_ref().and_then(|a| a.quic()).map(Box::new),
            http_host: app.as_mut().and_then(|a| a.http.host.take()),
            http_count: app.as_ref().map_or(0, |a| a.http.count),
        });
        if let Some(Decoder::Http(h)) = app.map(|a| a.decoder) {
            self.http_pool.give(h, self.limits.http_pending);
        }
    }
}

impl ConnApp {
    fn tls(&self) -> Option<crate::proto::tls::TlsSummary> {
        match &self.decoder {
            Decoder::Tls(t) => t.summary(),
            Decoder::Quic(q) => q.tls(),
            _ => None,
        }
    }

    fn quic(&self) -> Option<crate::story::QuicSummary> {
        match &self.decoder {
            Decoder::Quic(q) => Some(q.summary()),
            _ => None,
        }
    }

    fn tls_anomalies(&self) -> Vec<crate::base::Anomaly> {
        match &self.decoder {
            Decoder::Tls(t) => t.anomalies.clone(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod size_tests {
    use std::mem::size_of;

    /// One of these exists per live connection (held in a hash map, moved on growth):
    /// kept small, the decoders boxed behind it.
    #[test]
    fn per_connection_app_state_stays_small() {
        assert!(size_of::<super::Decoder>() <= 16);
        assert!(
            size_of::<super::ConnApp>() <= 104,
            "{}",
            size_of::<super::ConnApp>()
        );
    }
}
