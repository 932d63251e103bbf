//! The engine: one frame at a time through decode, defragmentation, the connection
//! table and the application decoders.

use std::collections::HashMap;
use std::net::IpAddr;

use super::apps::Apps;
use super::limits::{AppLimits, LimitTally};
use super::notes::{AppNote, TlsFields};
use crate::base::{
    Anomaly, AnomalyKind, ConnId, Direction, Endpoint, LinkType, PacketId, Timestamp,
};
use crate::capture::DecryptionSecrets;
use crate::capture::Frame;
use crate::decode::{self, Addr, DefragLimits, Defragmenter, Packet, TcpRel};
use crate::flow::{
    ConnProto, ConnTable, FlowConfig, FlowPacket, IcmpError, PacketVerdict, TableCensus, L4,
};
use crate::proto::dns::{self, DnsMeta, DnsTransaction};
use crate::proto::netbios;
use crate::proto::tls::KeyLog;
use crate::story::{AppKind, ConnRecord, HttpRecord, Pending};

/// Limits and switches of one analysis run.
#[derive(Clone, Copy, Debug, Default)]
pub struct EngineConfig {
    pub flow: FlowConfig,
    pub defrag: DefragLimits,
    /// Pending DNS and HTTP transactions (see `analysis::Limits`).
    pub apps: AppLimits,
    /// Render each packet's Info text (the `packets` command); other consumers leave
    /// it off and pay nothing for text.
    pub want_info: bool,
    /// Keep the filterable fields of application messages in each packet's notes
    /// ([`super::AppData`]); set when a display filter reads `dns.*`, `http.*`, `tls.*`.
    pub want_app_fields: bool,
}

/// What the engine says about one packet: numbers for every consumer, and the Info
/// text when [`EngineConfig::want_info`] is set.
#[derive(Clone, Debug)]
pub struct PacketSummary {
    pub id: PacketId,
    pub ts: Timestamp,
    pub caplen: u32,
    pub len: u32,
    pub iface: u32,
    pub link: LinkType,
    pub src: Option<Addr>,
    pub dst: Option<Addr>,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    /// Highest protocol decoded: "dns", "http", "tls", "tcp", "udp", "icmp", …
    pub proto: &'static str,
    pub conn: Option<ConnId>,
    pub verdict: Option<PacketVerdict>,
    /// Application notes this packet completed (several for pipelined messages).
    pub notes: Vec<AppNote>,
    /// The TLS this packet carried, for display filters (`tls.*`; kept only with
    /// [`EngineConfig::want_app_fields`]): `Some` when the packet shows as `tls`.
    pub tls: Option<TlsFields>,
    pub info: String,
    pub anomalies: Vec<Anomaly>,
    /// The packet completed an IP datagram from fragments: the transport fields above
    /// come from the reassembled datagram (as tshark shows it on the last fragment).
    pub reassembled: bool,
}

/// The whole analysis, one frame at a time. See the module docs.
pub struct Engine {
    cfg: EngineConfig,
    defrag: Defragmenter,
    table: ConnTable,
    apps: Apps,
    dns_probe: dns::DnsPortProbe,
    last_ts: Timestamp,
    /// Limit hits seen on packets and drained records (see [`Engine::limits_hit`]).
    limits: LimitTally,
    /// Finishing in chunks, more to come ([`Engine::finish_some`]).
    finishing: bool,
}

impl Engine {
    pub fn new(cfg: EngineConfig) -> Self {
        Engine {
            cfg,
            defrag: Defragmenter::new(cfg.defrag),
            table: ConnTable::new(cfg.flow),
            apps: {
                let mut a = Apps::new(cfg.want_app_fields, cfg.apps);
                // The TUI keeps every packet's notes (with their fields) and shows their
                // text itself; batch commands that print no packets want neither.
                a.want_info = cfg.want_info || cfg.want_app_fields;
                a
            },
            dns_probe: dns::DnsPortProbe::new(),
            last_ts: Timestamp::default(),
            limits: LimitTally::default(),
            finishing: false,
        }
    }

    /// Analyses one frame (first taking the decryption secrets that came before it).
    pub fn process(&mut self, frame: &Frame<'_>) -> PacketSummary {
        for s in frame.secrets {
            self.apps.add_secrets(s);
        }
        self.clock(frame.meta.ts);
        self.analyse_frame(frame)
    }

    /// The capture clock moves on to a frame's time: every frame, whatever it carries,
    /// advances it and may sweep idle connections out (the table's sweep runs every
    /// second of capture time). Driven by every frame, not only by those that reach the
    /// connection table, so that a sharded run (`analysis::shard`), whose workers see
    /// every frame's time but decode only their share, sweeps at the very same frames.
    pub fn clock(&mut self, ts: Timestamp) {
        self.last_ts = self.last_ts.max(ts);
        self.table.tick(ts, &mut self.apps);
    }

    /// [`Engine::process`] without the secrets and the [`Engine::clock`] step, for a
    /// sharded worker that took both already from the frame sequence of the whole file.
    pub fn analyse_frame(&mut self, frame: &Frame<'_>) -> PacketSummary {
        let mut defrag = std::mem::take(&mut self.defrag);
        let meta = frame.meta;
        let s = decode::decode_defragmented(
            &mut defrag,
            meta.ts,
            meta.link,
            frame.data,
            |pkt, whole, frag| {
                let mut anomalies = pkt.anomalies.clone();
                anomalies.extend(frag.anomaly().cloned());
                if let Some(w) = whole {
                    anomalies.extend(w.anomalies.iter().cloned());
                }
                match frag.analysable(pkt, whole) {
                    Some(p) => self.analyse(frame, p, anomalies, whole.is_some()),
                    None => self.summary(frame, pkt, anomalies, None, false),
                }
            },
        );
        self.defrag = defrag;
        self.limits.add(&s.anomalies);
        s
    }

    fn analyse(
        &mut self,
        frame: &Frame<'_>,
        pkt: &Packet<'_>,
        anomalies: Vec<Anomaly>,
        reassembled: bool,
    ) -> PacketSummary {
        let meta = frame.meta;
        self.apps.cur_pkt = meta.id;
        self.apps.notes.clear();
        self.apps.tls = None;
        let verdict = FlowPacket::from_decoded(meta.id, meta.ts, pkt).map(|fp| {
            let join = match fp.l4 {
                L4::Udp { payload, .. } => self.apps.quic_join(payload),
                _ => None,
            };
            let v = self.table.process_joining(&fp, join, &mut self.apps);
            if let (
                L4::Udp {
                    sport,
                    dport,
                    payload,
                },
                Some(conn),
            ) = (fp.l4, v.conn)
            {
                self.udp_payload(&fp, conn, sport, dport, payload);
            }
            if let (L4::Icmp { quote: Some(q), .. }, Some(conn)) = (fp.l4, v.conn) {
                if q.proto == 17 {
                    self.icmp_error(&fp, conn);
                }
            }
            v
        });
        let mut s = self.summary(frame, pkt, anomalies, verdict, reassembled);
        // Tracker-level anomalies (`dns_pending_limit`) belong to the packet that
        // caused them; draining here also keeps the tracker's list from growing.
        s.anomalies
            .extend(self.apps.dns.drain_anomalies().into_iter().map(|(_, a)| a));
        s.notes = std::mem::take(&mut self.apps.notes);
        s.tls = self.apps.tls.take().map(Vec::into_boxed_slice);
        if let Some(n) = s.notes.first() {
            s.proto = n.proto;
        }
        if self.cfg.want_info {
            s.info = render_info(pkt, verdict.as_ref(), &s.notes);
        }
        if let Some(v) = &verdict {
            for kind in v.analysis.kinds() {
                s.anomalies.push(Anomaly::new(kind, ""));
            }
        }
        s
    }

    /// A UDP datagram: DNS on its ports (53, 5353, 5355), or on any other port once a
    /// clean query and the response answering it were seen (`dns::DnsPortProbe`).
    /// An ICMP error the table attached to UDP flow `conn`: a destination unreachable
    /// finishes the flow's waiting DNS queries with its outcome ("refused (ICMP port
    /// unreachable)").
    fn icmp_error(&mut self, fp: &FlowPacket<'_>, conn: ConnId) {
        let L4::Icmp {
            v6,
            kind,
            code,
            quote: Some(q),
            ..
        } = fp.l4
        else {
            return;
        };
        let e = IcmpError {
            ts: fp.ts,
            pkt: fp.id,
            from: fp.src,
            v6,
            kind,
            code,
            mtu: q.mtu,
            quoted_ttl: q.ttl,
            about: Direction::ClientToServer,
        };
        if let Some(outcome) = e.outcome(q.dst) {
            self.apps.dns.on_icmp_error(conn, &outcome, fp.ts, fp.id);
        }
    }

    fn udp_payload(
        &mut self,
        fp: &FlowPacket<'_>,
        conn: ConnId,
        sport: u16,
        dport: u16,
        payload: &[u8],
    ) {
        let src = Endpoint::new(fp.src, sport);
        let dst = Endpoint::new(fp.dst, dport);
        if self.apps.app_of(conn) == Some(AppKind::Quic) {
            self.apps.quic_path(conn, src, dst, fp.ts);
            return;
        }
        let meta = |ts, src, dst| DnsMeta {
            ts,
            pkt: fp.id,
            conn: Some(conn),
            transport: dns::Transport::Udp,
            src,
            dst,
            after_gap: false,
        };
        // The NetBIOS name service (RFC 1002 §4.2): DNS-shaped, decoded by its own parser.
        if sport == netbios::NBNS_PORT || dport == netbios::NBNS_PORT {
            if let Ok(msg) = netbios::parse_nbns(payload) {
                self.apps.udp_nbns(meta(fp.ts, src, dst), &msg);
            }
            return;
        }
        if !(dns::is_dns_port(sport) || dns::is_dns_port(dport)) {
            match self.dns_probe.observe(fp.ts, src, dst, payload) {
                dns::Probe::Unknown => {}
                dns::Probe::Known(msg) => {
                    self.apps.mark_dns(conn);
                    self.apps.udp_dns(meta(fp.ts, src, dst), &msg);
                }
                dns::Probe::Confirmed {
                    query_ts,
                    query,
                    response,
                } => {
                    // The query's packet went by before the port was believed: it is
                    // accounted now, with its own time (its note stays on this packet).
                    self.apps.mark_dns(conn);
                    self.apps.dns.on_message(meta(query_ts, dst, src), &query);
                    self.apps.udp_dns(meta(fp.ts, src, dst), &response);
                }
            }
            return;
        }
        let msg = match dns::parse_message(payload) {
            Ok(m) => m,
            // Cut by the snaplen: show what is there, as tshark does.
            Err(dns::DnsError::Truncated) => match dns::parse_prefix(payload) {
                Some(m) => m,
                None => return,
            },
            Err(_) => return,
        };
        self.apps.mark_dns(conn);
        self.apps.udp_dns(meta(fp.ts, src, dst), &msg);
    }

    fn summary(
        &self,
        frame: &Frame<'_>,
        pkt: &Packet<'_>,
        anomalies: Vec<Anomaly>,
        verdict: Option<PacketVerdict>,
        reassembled: bool,
    ) -> PacketSummary {
        let meta = frame.meta;
        let ports = pkt.ports();
        let mut s = PacketSummary {
            id: meta.id,
            ts: meta.ts,
            caplen: meta.caplen,
            len: meta.origlen,
            iface: meta.iface,
            link: meta.link,
            src: pkt.src(),
            dst: pkt.dst(),
            sport: ports.map(|p| p.0),
            dport: ports.map(|p| p.1),
            proto: pkt.proto_name(),
            conn: verdict.and_then(|v| v.conn),
            verdict,
            notes: Vec::new(),
            tls: None,
            info: String::new(),
            anomalies,
            reassembled,
        };
        if self.cfg.want_info && verdict.is_none() {
            s.info = decode::info(pkt);
        }
        s
    }

    /// Advances the clock to `now` without a packet, for a live capture whose interface
    /// is quiet: connections idle or closed long enough are finished and DNS queries
    /// time out, so their records come out now and not at the next packet. `now` must
    /// be wall-clock time the capture has certainly delivered every packet up to
    /// (packet timestamps are the same clock). Earlier than the last packet: nothing.
    pub fn tick(&mut self, now: Timestamp) {
        if now <= self.last_ts {
            return;
        }
        self.last_ts = now;
        self.table.tick(now, &mut self.apps);
    }

    /// Decrypts TLS with these secrets (`--tls-keylog`; [`KeyLog::follow`] for a file
    /// a browser still writes, then [`Engine::refresh_keys`] now and then).
    pub fn set_tls_keys(&mut self, keys: KeyLog) {
        self.apps.set_keys(keys);
    }

    /// Secrets from a pcapng Decryption Secrets Block: they serve the packets after it.
    /// Frames read in order carry them ([`Frame::secrets`], taken by [`Engine::process`]);
    /// this is for frames read out of a store, whose secrets are indexed apart.
    pub fn add_secrets(&mut self, secrets: &DecryptionSecrets) {
        self.apps.add_secrets(secrets);
    }

    /// Reads what a browser appended to the followed key log; returns how many secrets
    /// were added. Connections waiting for keys are decrypted then.
    pub fn refresh_keys(&mut self) -> std::io::Result<usize> {
        self.apps.refresh_keys()
    }

    /// Lines of the key log that did not parse (`line N: …`; never the secret).
    pub fn key_warnings(&self) -> Vec<String> {
        self.apps.key_warnings()
    }

    /// End of input: flushes every connection and decoder.
    pub fn finish(&mut self) {
        self.finish_some(usize::MAX);
    }

    /// [`Engine::finish`] in chunks: finishes the next `n` connections still open (in
    /// connection-id order, the order `finish` gives) and returns true once every
    /// connection and decoder is finished. The caller takes each chunk's connection and
    /// HTTP records before asking for the next (`run.rs` drains between chunks), so the
    /// end of a capture with tens of thousands of open connections (~600 bytes of record
    /// each) never holds all of them at once.
    ///
    /// Between the chunks [`Engine::finishing`] is true and DNS transactions are held
    /// back ([`Engine::take_dns`] gives none before the last drain), so every DNS
    /// transaction of the end still comes out at once, after the last chunk: their
    /// order, and the names the end's connections get from them, are those of one
    /// `finish`. No frame may come between the chunks.
    pub fn finish_some(&mut self, n: usize) -> bool {
        self.finishing = true;
        if self.table.finish_some(n, &mut self.apps) {
            return false;
        }
        self.apps.finish(self.last_ts);
        self.finishing = false;
        true
    }

    /// Whether the input is being finished in chunks ([`Engine::finish_some`]) and
    /// more chunks are to come: a consumer that needs every record of the end at once
    /// (sorted together, or named by the end's DNS transactions) keeps what it takes
    /// until the last drain.
    pub fn finishing(&self) -> bool {
        self.finishing
    }

    /// Connections finished since the last call (in the order they finished).
    pub fn take_conns(&mut self) -> Vec<ConnRecord> {
        let v = self.apps.done_conns.take_all();
        for c in &v {
            self.limits.add(&c.conn.anomalies);
        }
        v
    }

    /// [`Engine::take_conns`] in the chunks they were kept in ([`Chunked`](super::chunked::Chunked)): for a
    /// consumer that handles records one by one, so a burst of them is never copied
    /// into one multi-megabyte block.
    pub fn take_conn_chunks(&mut self) -> Vec<Vec<ConnRecord>> {
        let v = self.apps.done_conns.take_chunks();
        for c in v.iter().flatten() {
            self.limits.add(&c.conn.anomalies);
        }
        v
    }

    /// HTTP exchanges finished since the last call.
    pub fn take_http(&mut self) -> Vec<HttpRecord> {
        let room = v_reserve(self.apps.http.len());
        let v = std::mem::replace(&mut self.apps.http, Vec::with_capacity(room));
        for h in &v {
            self.limits.add(&h.tx.anomalies);
        }
        v
    }

    /// DNS transactions finished since the last call (all of them after [`Engine::finish`]).
    pub fn take_dns(&mut self, at_end: bool) -> Vec<DnsTransaction> {
        if self.finishing {
            return Vec::new();
        }
        if at_end {
            self.apps.dns.finish()
        } else {
            self.apps.dns.expire(self.last_ts);
            self.apps.dns.drain_finished()
        }
    }

    /// How often each limit was hit so far. Connection-table limits come from the
    /// table's own counters (so they are right even when no one drains connections);
    /// the others from packets and from the records drained so far.
    pub fn limits_hit(&self) -> LimitTally {
        let mut t = self.limits;
        let st = &self.table.stats;
        t.set(AnomalyKind::ConnEvicted, st.conns_evicted);
        t.set(AnomalyKind::ReassemblyLimit, st.limit_hits);
        t
    }

    /// Drops every finished record nobody took (connections, HTTP exchanges, DNS
    /// transactions). A consumer that wants only some kinds (`packets` wants none,
    /// `dns` only DNS) calls this after taking them, so the rest does not pile up for
    /// the whole run: memory then follows the live connections, not the file.
    pub fn discard_untaken(&mut self) {
        self.apps.done_conns.clear();
        self.apps.http.clear();
        if self.finishing {
            // The end's DNS transactions all come out after the last chunk.
            return;
        }
        self.apps.dns.expire(self.last_ts);
        drop(self.apps.dns.drain_finished());
    }

    /// The connections still open, as records (sorted by id): what is known so far, for
    /// live displays. Their final state, close and application facts come when they end.
    pub fn open_conns(&self) -> Vec<ConnRecord> {
        let mut v: Vec<ConnRecord> = self
            .table
            .open_connections()
            .map(|c| self.apps.snapshot(&c))
            .collect();
        v.sort_by_key(|c| c.conn.id);
        v
    }

    /// Capture time of the latest packet.
    pub fn now(&self) -> Timestamp {
        self.last_ts
    }

    /// What may still become records, for a consumer that tells the story as it goes
    /// ([`StoryStream`](crate::story::StoryStream)): the time now, the earliest start
    /// of an open connection per client, the earliest DNS transaction still held.
    pub fn pending(&self) -> Pending {
        let mut open: HashMap<IpAddr, Timestamp> = HashMap::new();
        for (id, proto, client, first_ts) in self.table.open_starts() {
            // DNS's own UDP flows never join a page (their lookups do, as records); a
            // TCP connection to the resolver joins the page of its lookups (the story
            // shows that socket), so it holds its client's pages like any other.
            // (The protocol first: a TCP connection needs no look-up.)
            if proto != ConnProto::Tcp && self.apps.app_of(id) == Some(AppKind::Dns) {
                continue;
            }
            let e = open.entry(client).or_insert(first_ts);
            *e = (*e).min(first_ts);
        }
        Pending {
            now: self.last_ts,
            open,
            dns_held_since: self.apps.dns.held_since(),
        }
    }

    /// Connections created so far (their ids are `0..conns_created()`): a sharded
    /// worker learns from it which frame created which of its connections.
    pub fn conns_created(&self) -> u64 {
        self.table.stats.conns_created
    }

    /// Sequence number the next DNS transaction will get (`DnsTransaction::seq`).
    pub fn dns_next_seq(&self) -> u64 {
        self.apps.dns.next_seq()
    }

    /// Connections and HTTP exchanges finished since the last call, without counting
    /// their limit anomalies: a sharded worker's records are counted by the merge when
    /// its consumer takes them, as [`Engine::take_conns`] does. The connections in
    /// their chunks (see [`Engine::take_conn_chunks`]).
    pub fn take_finished_untallied(&mut self) -> (Vec<Vec<ConnRecord>>, Vec<HttpRecord>) {
        (
            self.apps.done_conns.take_chunks(),
            std::mem::take(&mut self.apps.http),
        )
    }

    /// Every finished DNS transaction, not only those no open one precedes (expiring
    /// first, or closing all `at_end`), with the smallest `seq` still held open (none at
    /// the end): a sharded merge holds back by the smallest open `seq` of all shards.
    pub fn take_dns_all(&mut self, at_end: bool) -> (Vec<DnsTransaction>, Option<u64>) {
        if at_end {
            (self.apps.dns.finish(), None)
        } else {
            self.apps.dns.expire(self.last_ts);
            self.apps.dns.take_all_done()
        }
    }

    /// Open connections right now (for status displays and memory checks).
    pub fn live_conns(&self) -> usize {
        self.table.live()
    }
    /// What the engine holds right now, counted (for memory checks and the
    /// performance notes): the state is meant to follow the open connections.
    pub fn census(&self) -> Census {
        let d = self.apps.census();
        let (dns_open, dns_done) = self.apps.dns.held();
        Census {
            table: self.table.census(),
            app_states: d.iter().sum(),
            decoders: Decoders {
                undecided: d[0],
                http: d[1],
                tls: d[2],
                dns: d[3],
                quic: d[4],
            },
            dns_open,
            dns_done,
            pooled_http: self.apps.http_pool_len(),
            conn_records: self.apps.done_conns.len(),
            http_records: self.apps.http.len(),
        }
    }
}

/// What the engine holds (see [`Engine::census`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Census {
    pub table: TableCensus,
    /// Per-connection application states (one per live connection).
    pub app_states: usize,
    /// Of those, the ones holding a decoder.
    pub decoders: Decoders,
    /// DNS transactions waiting for a response, and finished ones not taken yet.
    pub dns_open: usize,
    pub dns_done: usize,
    /// HTTP/1 decoders of finished connections kept for new ones (bounded).
    pub pooled_http: usize,
    /// Finished connection and HTTP records not taken yet.
    pub conn_records: usize,
    pub http_records: usize,
}

/// Live per-connection decoders by protocol (see [`Census`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Decoders {
    /// Not decided yet (no payload, or too little to tell).
    pub undecided: usize,
    pub http: usize,
    pub tls: usize,
    pub dns: usize,
    pub quic: usize,
}

/// Room for the next batch of records after a batch of `n` was taken: batches drained
/// every few thousand packets are alike, so the next one grows without reallocating (and
/// moving 600-byte records) a dozen times; bounded, so the one large batch at the end of
/// input reserves nothing large.
fn v_reserve(n: usize) -> usize {
    n.min(1024)
}

/// tshark-like Info: the TCP analysis prefix, then the application's text when this
/// packet completed a message, else the transport line with relative sequence numbers.
fn render_info(pkt: &Packet<'_>, verdict: Option<&PacketVerdict>, notes: &[AppNote]) -> String {
    let mut s = verdict.map(|v| v.info_prefix()).unwrap_or_default();
    if !notes.is_empty() {
        for (i, n) in notes.iter().enumerate() {
            if i > 0 {
                s.push_str(" , ");
            }
            s.push_str(&n.info);
        }
        return s;
    }
    let rel = verdict.and_then(|v| {
        let t = pkt.tcp()?;
        Some(TcpRel {
            seq_base: t.seq.wrapping_sub(v.rel_seq?),
            ack_base: t.ack.wrapping_sub(v.rel_ack.unwrap_or(0)),
            window_shift: v.win_shift,
        })
    });
    s.push_str(&decode::info_with(pkt, rel.as_ref()));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{FrameSource, MemReader};
    use crate::testutil::bundled_capture;

    /// Packing closed connections while they linger (`flow::table::linger`) changes
    /// nothing: with each closed connection packed as soon as the next packet comes,
    /// and with none packed, every capture gives the same packets, records and order
    /// (the table also checks that each one unpacks equal to what it packed).
    #[test]
    fn packing_lingering_connections_changes_nothing_on_every_capture() {
        let mut packs = 0;
        for path in crate::testutil::all_captures() {
            let run = |pack_after: i64| -> (String, u64) {
                let Ok(mut src) = crate::capture::open(&path) else {
                    return (String::new(), 0);
                };
                let mut e = Engine::new(EngineConfig::default());
                e.table.set_pack_after(pack_after);
                let mut out = String::new();
                let take = |e: &mut Engine, out: &mut String, at_end: bool| {
                    let (c, h, d) = (e.take_conns(), e.take_http(), e.take_dns(at_end));
                    let p = e.pending();
                    let open: std::collections::BTreeMap<_, _> = p.open.into_iter().collect();
                    let p = (p.now, open, p.dns_held_since);
                    out.push_str(&format!("{c:?}\n{h:?}\n{d:?}\n{p:?}\n"));
                };
                while let Ok(Some(f)) = src.next_frame() {
                    let s = e.process(&f);
                    out.push_str(&format!("{s:?}\n"));
                    if s.id.0.is_multiple_of(64) {
                        take(&mut e, &mut out, false);
                    }
                }
                e.finish();
                take(&mut e, &mut out, true);
                (out, e.table.packs())
            };
            let (whole, none) = run(i64::MAX);
            let (packed, n) = run(0);
            assert_eq!(none, 0);
            assert!(whole == packed, "{}", path.display());
            packs += n;
        }
        assert!(packs > 50, "{packs} connections packed");
    }

    /// Finished connections kept in chunks ([`Chunked`](super::chunked::Chunked)): with
    /// chunks of one record taken chunk by chunk (`take_conn_chunks`), and with one
    /// chunk of them all taken whole (`take_conns`), every capture gives the same
    /// connections in the same order, and the same limit tally.
    #[test]
    fn connections_in_tiny_chunks_are_those_of_one_block_on_every_capture() {
        let mut split = 0;
        for path in crate::testutil::all_captures() {
            let mut run = |per_chunk: usize| -> (Vec<String>, String) {
                let Ok(mut src) = crate::capture::open(&path) else {
                    return Default::default();
                };
                let mut e = Engine::new(EngineConfig::default());
                e.apps.done_conns = super::super::chunked::Chunked::with_chunk(per_chunk);
                let mut out = Vec::new();
                let mut take = |e: &mut Engine| {
                    if per_chunk == 1 {
                        let chunks = e.take_conn_chunks();
                        split += usize::from(chunks.len() > 1);
                        assert!(chunks.iter().all(|c| c.len() == 1));
                        out.extend(chunks.iter().flatten().map(|c| format!("{c:?}")));
                    } else {
                        out.extend(e.take_conns().iter().map(|c| format!("{c:?}")));
                    }
                };
                while let Ok(Some(f)) = src.next_frame() {
                    if e.process(&f).id.0.is_multiple_of(64) {
                        take(&mut e);
                        e.discard_untaken();
                    }
                }
                e.finish();
                take(&mut e);
                (out, format!("{:?}", e.limits_hit()))
            };
            let whole = run(usize::MAX);
            let chunked = run(1);
            assert!(whole == chunked, "{}", path.display());
        }
        assert!(split > 20, "{split} drains of several chunks");
    }

    /// Finishing in chunks ([`Engine::finish_some`]) gives the records `finish` gives,
    /// in the same order, on every capture: the connections and HTTP exchanges chunk by
    /// chunk, the DNS transactions of the end all after the last chunk.
    #[test]
    fn finishing_in_chunks_gives_what_finish_gives_on_every_capture() {
        let mut chunks = 0;
        for path in crate::testutil::all_captures() {
            let mut run = |n: usize| -> [Vec<String>; 3] {
                let Ok(mut src) = crate::capture::open(&path) else {
                    return Default::default();
                };
                let mut e = Engine::new(EngineConfig::default());
                while let Ok(Some(f)) = src.next_frame() {
                    if e.process(&f).id.0.is_multiple_of(64) {
                        e.take_dns(false);
                        e.discard_untaken();
                    }
                }
                // Connections, HTTP exchanges, DNS transactions.
                let mut end: [Vec<String>; 3] = Default::default();
                let take = |e: &mut Engine, end: &mut [Vec<String>; 3]| {
                    end[0].extend(e.take_conns().iter().map(|c| format!("{c:?}")));
                    end[1].extend(e.take_http().iter().map(|h| format!("{h:?}")));
                };
                while !e.finish_some(n) {
                    assert!(e.finishing());
                    assert!(e.take_dns(false).is_empty());
                    take(&mut e, &mut end);
                    chunks += 1;
                }
                assert!(!e.finishing());
                take(&mut e, &mut end);
                end[2].extend(e.take_dns(true).iter().map(|t| format!("{t:?}")));
                let c = e.census();
                assert_eq!((c.table.live, c.app_states), (0, 0), "{c:?}");
                end
            };
            let whole = run(usize::MAX);
            let chunked = run(2);
            assert!(whole == chunked, "{}", path.display());
        }
        assert!(chunks > 50, "{chunks} chunks");
    }

    /// The engine's state follows the open connections: one application state per live
    /// connection, decoders only on connections that carry their protocol, nothing
    /// left once the input is finished; HTTP/1 decoders of finished connections are
    /// kept for reuse, and the records are what a fresh decoder per connection gives
    /// (the truth and snapshot tests compare them on every capture).
    #[test]
    fn state_follows_the_open_connections() {
        let bytes = std::fs::read(bundled_capture("lab-page.pcap")).expect("capture");
        let mut src = MemReader::new(bytes);
        let mut e = Engine::new(EngineConfig::default());
        let (mut most_live, mut most_http, mut conns, mut http) = (0, 0, 0, 0);
        while let Ok(Some(f)) = src.next_frame() {
            e.process(&f);
            let c = e.census();
            assert_eq!(c.app_states, c.table.live, "{c:?}");
            assert_eq!(c.table.keys, c.table.live, "{c:?}");
            let d = c.decoders;
            assert!(d.undecided + d.http + d.tls + d.dns + d.quic <= c.app_states);
            assert!(c.table.closed <= c.table.tcp_live && c.table.tcp_live <= c.table.live);
            most_live = most_live.max(c.table.live);
            most_http = most_http.max(d.http);
            conns += e.take_conns().len();
            http += e.take_http().len();
        }
        assert!(most_live > 10 && most_http > 1, "{most_live} {most_http}");
        e.finish();
        conns += e.take_conns().len();
        http += e.take_http().len();
        let c = e.census();
        assert_eq!(
            (c.table.live, c.app_states, c.table.keys),
            (0, 0, 0),
            "{c:?}"
        );
        assert_eq!(conns as u64, e.table.stats.conns_created);
        assert!(http > 0, "{http}");
        assert!(
            e.apps.http_pool_len() > 0,
            "no HTTP/1 decoder came back for reuse"
        );
    }
}
