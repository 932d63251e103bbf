//! The connection table: finds a packet's connection with one hash lookup, creates,
//! orients, updates and finishes connections.
//!
//! **Keying and VLANs.** The hash key is the protocol and the two endpoints in a
//! canonical order (so both directions hash alike); VLAN ids are a secondary
//! discriminator kept per connection *per direction*. A packet joins, in order of
//! preference: a connection whose same direction was seen with the same VLAN context;
//! else one whose same direction is still unseen and whose other direction carried
//! this VLAN context; else one whose same direction is still unseen (asymmetric
//! tagging: one direction tagged, the other not, is one connection). Otherwise it
//! starts a new connection. So `zeek/vlan-collisions.pcap` (one 4-tuple on three
//! VLANs, each seen both ways) gives three connections, and
//! `suricata-verify/syn_retransmit_with_ts.pcap` (one direction tagged) gives one.
//!
//! **New connection on a known tuple (port reuse).** A SYN without ACK starts a new
//! connection when the old one is closed (FIN both ways or RST), when the sender's ISN
//! is known (from its SYN, or implied by the peer's SYN/ACK) and differs, or when the
//! sender's ISN is unknown but the sender already sent non-SYN packets (mid-stream
//! connection). The old connection is finished first; the SYN gets `port_reuse`.
//!
//! **Lifetimes** are capture time only. UDP/ICMP flows end after `udp_timeout_ns`
//! idle, TCP connections after `tcp_idle_timeout_ns` idle, closed TCP connections
//! after `tcp_closed_linger_ns` (like TIME_WAIT, so late ACKs and retransmitted FINs
//! still join them). Expiry is checked on lookup and by a sweep every
//! `SWEEP_INTERVAL_NS` of capture time, so memory follows the live connections.

use std::net::IpAddr;

use super::analysis::{analyze, Seg, SeqInfo, TcpAnalysisFlags};
use super::conn::{Close, CloseHow, ConnProto, Connection, Handshake, IcmpInfo};
use super::hash::FxHashMap;
use super::history::EndpointState;
use super::reassembly::{Ctx, Limits, Reassembler};
use super::tcp_flags::{ACK, FIN, RST, SYN};
use super::{FlowConfig, FlowPacket, PacketVerdict, StreamSink, L4};
use crate::base::{ConnId, Direction, Endpoint, PacketId, Timestamp};

/// How often (capture time) idle connections are swept out.
const SWEEP_INTERVAL_NS: i64 = 1_000_000_000;

/// How long after its last packet a closed TCP connection's tuple is remembered, so a
/// SYN that reuses it is flagged `port_reuse` although the connection itself has been
/// finished (it lingers only `tcp_closed_linger_ns`). tshark remembers every tuple of
/// the file; 5 s (Zeek's close delay, this table's former linger) bounds the memory to
/// a small entry per connection closed in the last 5 s.
const REUSE_MEMORY_NS: i64 = 5_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    proto: u8,
    lo: (IpAddr, u16),
    hi: (IpAddr, u16),
}

/// Canonical key and the side (0: src is `lo`) of the packet.
fn make_key(proto: u8, src: Endpoint, dst: Endpoint) -> (Key, usize) {
    let (a, b) = ((src.ip, src.port), (dst.ip, dst.port));
    if a <= b {
        (
            Key {
                proto,
                lo: a,
                hi: b,
            },
            0,
        )
    } else {
        (
            Key {
                proto,
                lo: b,
                hi: a,
            },
            1,
        )
    }
}

type VlanCtx = (u8, [u16; 2]);

#[derive(Debug, Default)]
struct TcpDir {
    r: Reassembler,
    a: SeqInfo,
    isn: Option<u32>,
    syn_seen: bool,
    /// The window-scale option of this side's SYN (outer None: SYN not seen).
    wscale: Option<Option<u8>>,
    /// Non-SYN packets seen from this side.
    data_seen: bool,
}

#[derive(Debug, Default)]
struct TcpLive {
    dir: [TcpDir; 2],
    irtt: Option<i64>,
    /// Client ISN implied by the server's SYN/ACK (ack - 1).
    implied_client_isn: Option<u32>,
}

#[derive(Debug)]
struct Entry {
    conn: Connection,
    tcp: Option<Box<TcpLive>>,
    key: Key,
    vlan_side: [Option<VlanCtx>; 2],
    closed: bool,
    last_pkt: PacketId,
}

/// Counters about the table itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableStats {
    pub conns_created: u64,
    pub conns_evicted: u64,
    pub limit_hits: u64,
}

/// All live connections.
pub struct ConnTable {
    cfg: FlowConfig,
    map: FxHashMap<Key, Vec<u32>>,
    slab: Vec<Option<Entry>>,
    free: Vec<u32>,
    next_id: u32,
    live: usize,
    total_buffered: usize,
    last_sweep: Option<Timestamp>,
    /// Tuples of recently finished closed TCP connections, with their last packet's
    /// time, oldest first (see [`REUSE_MEMORY_NS`]).
    recent: std::collections::VecDeque<(Key, i64)>,
    recent_last: FxHashMap<Key, i64>,
    pub stats: TableStats,
}

/// Wraps the caller's sink to count gaps per direction (history letter `G`).
struct Counting<'a, S: StreamSink> {
    inner: &'a mut S,
    gaps: [u32; 2],
}

impl<S: StreamSink> StreamSink for Counting<'_, S> {
    fn data(&mut self, c: ConnId, d: Direction, ts: Timestamp, p: PacketId, b: &[u8]) {
        self.inner.data(c, d, ts, p, b);
    }
    fn gap(&mut self, c: ConnId, d: Direction, ts: Timestamp, len: u64) {
        self.gaps[d.index()] += 1;
        self.inner.gap(c, d, ts, len);
    }
    fn end(&mut self, c: ConnId, d: Direction, ts: Timestamp) {
        self.inner.end(c, d, ts);
    }
}

/// Which side looks like the server when no SYN says so: a well-known port (< 1024)
/// against a non-well-known one, else the lower port. True when `sport` is the server.
fn src_is_server(sport: u16, dport: u16) -> bool {
    match (sport < 1024, dport < 1024) {
        (true, false) => true,
        (false, true) => false,
        _ => sport < dport,
    }
}

fn vlan_ctx(p: &FlowPacket) -> VlanCtx {
    match p.vlan_count {
        0 => (0, [0, 0]),
        1 => (1, [p.vlans[0], 0]),
        _ => (2, p.vlans),
    }
}

impl ConnTable {
    pub fn new(cfg: FlowConfig) -> Self {
        ConnTable {
            cfg,
            map: FxHashMap::default(),
            slab: Vec::new(),
            free: Vec::new(),
            next_id: 0,
            live: 0,
            total_buffered: 0,
            last_sweep: None,
            recent: std::collections::VecDeque::new(),
            recent_last: FxHashMap::default(),
            stats: TableStats::default(),
        }
    }

    /// Connections currently open.
    pub fn live(&self) -> usize {
        self.live
    }

    /// The connections not finished yet, in no particular order: what a live display
    /// shows while traffic is still flowing.
    pub fn open_connections(&self) -> impl Iterator<Item = &Connection> + '_ {
        self.slab.iter().flatten().map(|e| &e.conn)
    }

    /// Out-of-order bytes buffered across all connections.
    pub fn buffered_bytes(&self) -> usize {
        self.total_buffered
    }

    fn limits(&self) -> Limits {
        Limits {
            dir_bytes: self.cfg.max_dir_buffered,
            total_bytes: self.cfg.max_total_buffered,
            holes: self.cfg.max_holes.max(1),
        }
    }

    /// Processes one packet; calls the sink for in-order stream data, gaps, direction
    /// ends and finished connections.
    pub fn process(&mut self, pkt: &FlowPacket, sink: &mut impl StreamSink) -> PacketVerdict {
        self.maybe_sweep(pkt.ts, sink);
        match pkt.l4 {
            L4::Tcp { .. } => self.tcp(pkt, sink),
            L4::Udp {
                sport,
                dport,
                payload,
            } => {
                let src = Endpoint::new(pkt.src, sport);
                let dst = Endpoint::new(pkt.dst, dport);
                let flip = src_is_server(sport, dport) && sport < 1024;
                self.datagram(pkt, 17, src, dst, flip, payload, None, sink)
            }
            L4::Icmp {
                v6,
                kind,
                code,
                echo: Some((id, _)),
            } => {
                let (req, rep) = if v6 { (128, 129) } else { (8, 0) };
                if kind != req && kind != rep {
                    return PacketVerdict::none();
                }
                let src = Endpoint::new(pkt.src, id);
                let dst = Endpoint::new(pkt.dst, id);
                let info = IcmpInfo { v6, id, kind, code };
                self.datagram(
                    pkt,
                    if v6 { 58 } else { 1 },
                    src,
                    dst,
                    kind == rep,
                    &[],
                    Some(info),
                    sink,
                )
            }
            _ => PacketVerdict::none(),
        }
    }

    /// Moves the table's clock to `now` without a packet (a live capture on a quiet
    /// interface): connections that have expired by then are finished, as the next
    /// packet's sweep would have done. Lifetimes stay capture time; the caller must pass
    /// a time no packet still to come is older than by a lifetime.
    pub fn tick(&mut self, now: Timestamp, sink: &mut impl StreamSink) {
        self.maybe_sweep(now, sink);
    }

    /// End of input: flush every open connection (buffered data after holes as
    /// gap + data), finish them all in connection-id order.
    pub fn finish(&mut self, sink: &mut impl StreamSink) {
        let mut slots: Vec<(u32, u32)> = self
            .slab
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|e| (e.conn.id.0, i as u32)))
            .collect();
        slots.sort_unstable();
        for (_, s) in slots {
            self.finish_slot(s, sink);
        }
    }

    fn find(&self, key: &Key, side: usize, vlan: VlanCtx) -> Option<u32> {
        let slots = self.map.get(key)?;
        let entry = |s: &u32| self.slab.get(*s as usize).and_then(|e| e.as_ref());
        let pick = |f: &dyn Fn(&Entry) -> bool| {
            slots
                .iter()
                .rev()
                .find(|s| entry(s).is_some_and(f))
                .copied()
        };
        pick(&|e| e.vlan_side[side] == Some(vlan))
            .or_else(|| {
                pick(&|e| e.vlan_side[side].is_none() && e.vlan_side[1 - side] == Some(vlan))
            })
            .or_else(|| pick(&|e| e.vlan_side[side].is_none()))
    }

    /// Whether a closed connection on `key` saw its last packet at most
    /// [`REUSE_MEMORY_NS`] before `now` (forgetting older ones on the way).
    fn recently_closed(&mut self, key: &Key, now: Timestamp) -> bool {
        let horizon = now.0.saturating_sub(REUSE_MEMORY_NS);
        while let Some(&(k, t)) = self.recent.front() {
            if t >= horizon {
                break;
            }
            self.recent.pop_front();
            if self.recent_last.get(&k) == Some(&t) {
                self.recent_last.remove(&k);
            }
        }
        self.recent_last.get(key).is_some_and(|&t| t >= horizon)
    }

    fn expired(&self, e: &Entry, now: Timestamp) -> bool {
        let idle = now.0.saturating_sub(e.conn.last_ts.0);
        match e.conn.proto {
            ConnProto::Tcp => {
                idle > self.cfg.tcp_idle_timeout_ns
                    || (e.closed && idle > self.cfg.tcp_closed_linger_ns)
            }
            _ => idle > self.cfg.udp_timeout_ns,
        }
    }

    fn maybe_sweep(&mut self, now: Timestamp, sink: &mut impl StreamSink) {
        let due = match self.last_sweep {
            None => {
                self.last_sweep = Some(now);
                false
            }
            Some(t) => now.0.saturating_sub(t.0) >= SWEEP_INTERVAL_NS,
        };
        if !due {
            return;
        }
        self.last_sweep = Some(now);
        let expired: Vec<u32> = (0..self.slab.len() as u32)
            .filter(|&i| {
                self.slab[i as usize]
                    .as_ref()
                    .is_some_and(|e| self.expired(e, now))
            })
            .collect();
        for s in expired {
            self.finish_slot(s, sink);
        }
    }

    /// Makes room when `max_conns` is reached: finishes the idlest 1/64 (at least one).
    fn evict(&mut self, sink: &mut impl StreamSink) {
        let mut by_age: Vec<(Timestamp, u32)> = self
            .slab
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_ref().map(|e| (e.conn.last_ts, i as u32)))
            .collect();
        let n = (by_age.len() / 64).max(1).min(by_age.len());
        if n == 0 {
            return;
        }
        by_age.select_nth_unstable(n - 1);
        for &(_, s) in &by_age[..n] {
            if let Some(e) = self.slab.get_mut(s as usize).and_then(|e| e.as_mut()) {
                e.conn.anomaly(
                    "conn_evicted",
                    "connection table full; idlest connections finished early",
                );
            }
            self.stats.conns_evicted += 1;
            self.finish_slot(s, sink);
        }
    }

    fn create(&mut self, key: Key, conn: Connection, tcp: bool, sink: &mut impl StreamSink) -> u32 {
        if self.live >= self.cfg.max_conns.max(1) {
            self.evict(sink);
        }
        let entry = Entry {
            conn,
            tcp: if tcp { Some(Box::default()) } else { None },
            key,
            vlan_side: [None, None],
            closed: false,
            last_pkt: PacketId(0),
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.slab[s as usize] = Some(entry);
                s
            }
            None => {
                self.slab.push(Some(entry));
                (self.slab.len() - 1) as u32
            }
        };
        self.map.entry(key).or_default().push(slot);
        self.live += 1;
        self.stats.conns_created += 1;
        slot
    }

    fn new_id(&mut self) -> ConnId {
        let id = ConnId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    /// Finishes a connection: ends both directions (flushing buffers as gap + data),
    /// hands the summary to the sink, frees the slot.
    fn finish_slot(&mut self, slot: u32, sink: &mut impl StreamSink) {
        let Some(mut e) = self.slab.get_mut(slot as usize).and_then(|e| e.take()) else {
            return;
        };
        if let Some(v) = self.map.get_mut(&e.key) {
            v.retain(|&s| s != slot);
            if v.is_empty() {
                self.map.remove(&e.key);
            }
        }
        self.free.push(slot);
        self.live -= 1;
        if e.closed && e.conn.proto == ConnProto::Tcp {
            let t = e.conn.last_ts.0;
            self.recent.push_back((e.key, t));
            self.recent_last.insert(e.key, t);
        }
        let conn = &mut e.conn;
        if let Some(t) = e.tcp.as_mut() {
            let mut cs = Counting {
                inner: sink,
                gaps: [0; 2],
            };
            for d in [Direction::ClientToServer, Direction::ServerToClient] {
                let ctx = Ctx {
                    conn: conn.id,
                    dir: d,
                    ts: conn.last_ts,
                    pkt: e.last_pkt,
                };
                t.dir[d.index()]
                    .r
                    .end(ctx, &mut cs, &mut self.total_buffered);
            }
            for d in [Direction::ClientToServer, Direction::ServerToClient] {
                for _ in 0..cs.gaps[d.index()] {
                    conn.history.counted(b'g', d);
                }
            }
            sync_bytes(conn, t);
        }
        sink.conn_done(conn);
    }

    #[allow(clippy::too_many_arguments)]
    fn datagram(
        &mut self,
        pkt: &FlowPacket,
        proto: u8,
        src: Endpoint,
        dst: Endpoint,
        flip: bool,
        payload: &[u8],
        icmp: Option<IcmpInfo>,
        sink: &mut impl StreamSink,
    ) -> PacketVerdict {
        let (key, side) = make_key(proto, src, dst);
        let vlan = vlan_ctx(pkt);
        let mut slot = self.find(&key, side, vlan);
        if let Some(s) = slot {
            if self.slab[s as usize]
                .as_ref()
                .is_some_and(|e| self.expired(e, pkt.ts))
            {
                self.finish_slot(s, sink);
                slot = None;
            }
        }
        let mut new_conn = false;
        let slot = match slot {
            Some(s) => s,
            None => {
                let (client, server) = if flip { (dst, src) } else { (src, dst) };
                let kind = if icmp.is_some() {
                    ConnProto::Icmp
                } else {
                    ConnProto::Udp
                };
                let id = self.new_id();
                let mut c =
                    Connection::new(id, kind, client, server, pkt.ts, self.cfg.community_id_seed);
                c.icmp = icmp;
                c.vlans = pkt.vlans;
                c.vlan_count = vlan.0;
                if flip {
                    c.orientation_guessed = true;
                    c.history.flipped();
                }
                new_conn = true;
                let s = self.create(key, c, false, sink);
                if let Some(e) = self.slab[s as usize].as_ref() {
                    sink.conn_new(&e.conn);
                }
                s
            }
        };
        let Some(e) = self.slab.get_mut(slot as usize).and_then(|e| e.as_mut()) else {
            return PacketVerdict::none();
        };
        if e.vlan_side[side].is_none() {
            e.vlan_side[side] = Some(vlan);
        }
        e.last_pkt = pkt.id;
        let c = &mut e.conn;
        let d = c.dir_of(src);
        let i = d.index();
        // A timestamp that jumps back (a clock step, a corrupt record) does not rewind
        // the connection: idleness is measured from the latest time seen.
        c.last_ts = c.last_ts.max(pkt.ts);
        c.packets[i] += 1;
        c.bytes[i] += payload.len() as u64;
        if !payload.is_empty() {
            c.history.once(b'd', d);
            c.phases.first_payload[i].get_or_insert(pkt.ts);
            c.phases.last_payload[i] = Some(pkt.ts);
            sink.data(c.id, d, pkt.ts, pkt.id, payload);
        }
        PacketVerdict {
            conn: Some(c.id),
            dir: d,
            new_conn,
            ..PacketVerdict::none()
        }
    }

    fn tcp(&mut self, pkt: &FlowPacket, sink: &mut impl StreamSink) -> PacketVerdict {
        let L4::Tcp {
            sport,
            dport,
            seq: sq,
            ack,
            flags,
            window,
            wscale,
            payload_len,
            payload,
            ..
        } = pkt.l4
        else {
            return PacketVerdict::none();
        };
        let src = Endpoint::new(pkt.src, sport);
        let dst = Endpoint::new(pkt.dst, dport);
        let (key, side) = make_key(6, src, dst);
        let vlan = vlan_ctx(pkt);
        let (syn, ackf, fin, rst) = (
            flags & SYN != 0,
            flags & ACK != 0,
            flags & FIN != 0,
            flags & RST != 0,
        );

        let mut slot = self.find(&key, side, vlan);
        let mut port_reuse = false;
        if let Some(s) = slot {
            let e = self.slab[s as usize].as_ref();
            if e.is_some_and(|e| self.expired(e, pkt.ts)) {
                self.finish_slot(s, sink);
                slot = None;
            } else if syn && !ackf && e.is_some_and(|e| is_new_syn(e, src, sq)) {
                self.finish_slot(s, sink);
                slot = None;
                port_reuse = true;
            }
        }
        if slot.is_none() && syn && !ackf {
            port_reuse |= self.recently_closed(&key, pkt.ts);
        }
        let mut new_conn = false;
        let slot = match slot {
            Some(s) => s,
            None => {
                let (client, server, guessed, flipped) = if syn && !ackf {
                    (src, dst, false, false)
                } else if (syn && ackf) || src_is_server(sport, dport) {
                    // A SYN/ACK comes from the server; else guess by port.
                    (dst, src, true, true)
                } else {
                    (src, dst, true, false)
                };
                let id = self.new_id();
                let mut c = Connection::new(
                    id,
                    ConnProto::Tcp,
                    client,
                    server,
                    pkt.ts,
                    self.cfg.community_id_seed,
                );
                c.orientation_guessed = guessed;
                c.vlans = pkt.vlans;
                c.vlan_count = vlan.0;
                if flipped {
                    c.history.flipped();
                }
                new_conn = true;
                let s = self.create(key, c, true, sink);
                if let Some(e) = self.slab[s as usize].as_ref() {
                    sink.conn_new(&e.conn);
                }
                s
            }
        };
        let limits = self.limits();
        let total = &mut self.total_buffered;
        let stats = &mut self.stats;
        let Some(e) = self.slab.get_mut(slot as usize).and_then(|e| e.as_mut()) else {
            return PacketVerdict::none();
        };
        if e.vlan_side[side].is_none() {
            e.vlan_side[side] = Some(vlan);
        }
        e.last_pkt = pkt.id;
        let Some(t) = e.tcp.as_mut() else {
            return PacketVerdict::none();
        };
        let c = &mut e.conn;
        let d = c.dir_of(src);
        let (i, o) = (d.index(), d.reverse().index());
        // A timestamp that jumps back (a clock step, a corrupt record) does not rewind
        // the connection: idleness is measured from the latest time seen.
        c.last_ts = c.last_ts.max(pkt.ts);
        c.packets[i] += 1;

        if syn && !ackf && d == Direction::ClientToServer {
            // A SYN from the side we picked as client confirms a guessed orientation
            // (SYN/ACK seen first); `^` stays in the history, as in Zeek.
            c.orientation_guessed = false;
        }
        // Initial sequence numbers and window scaling (RFC 7323 §2.2: scaling applies
        // only when both SYNs carried the option).
        if syn {
            let td = &mut t.dir[i];
            if !td.syn_seen {
                td.syn_seen = true;
                td.isn = Some(sq);
                td.wscale = Some(wscale);
                td.r.start(sq.wrapping_add(1));
            }
            if ackf && d == Direction::ServerToClient {
                t.implied_client_isn.get_or_insert(ack.wrapping_sub(1));
            }
            if let (Some(a), Some(b)) = (t.dir[0].wscale, t.dir[1].wscale) {
                let both = a.is_some() && b.is_some();
                t.dir[0].a.win_scale = Some(if both { a.unwrap_or(0).min(14) } else { 0 });
                t.dir[1].a.win_scale = Some(if both { b.unwrap_or(0).min(14) } else { 0 });
            }
        } else {
            t.dir[i].data_seen = true;
            if t.dir[i].isn.is_none() {
                // Like Wireshark: without a SYN, the first seq seen is relative 1.
                t.dir[i].isn = Some(sq.wrapping_sub(1));
            }
        }
        if ackf && t.dir[o].isn.is_none() {
            t.dir[o].isn = Some(ack.wrapping_sub(1));
        }

        // Wireshark's sequence analysis.
        let (fwd, rev) = split_dirs(&mut t.dir, i);
        let seg = Seg {
            seq: sq,
            ack,
            flags,
            seglen: payload_len,
            window,
        };
        let (mut af, dup) = analyze(&mut fwd.a, &mut rev.a, seg, pkt.ts, pkt.id, t.irtt);
        if port_reuse {
            af.insert(TcpAnalysisFlags::PORT_REUSE);
        }
        for b in af.bits() {
            c.analysis[b] = c.analysis[b].saturating_add(1);
        }
        let rel_seq = fwd.isn.map(|n| sq.wrapping_sub(n));
        let rel_ack = if ackf {
            rev.isn.map(|n| ack.wrapping_sub(n))
        } else {
            None
        };
        let win_shift = if syn { None } else { fwd.a.win_scale };

        // Zeek history and endpoint states.
        // Zeek's `update_history`: one of SYN/FIN/RST gives S/H, F (seq after the
        // data), R; more than one gives I (FIN+RST) or Q; none gives D or A.
        let h = &mut c.history;
        let ctl_bits = syn as u8 + fin as u8 + rst as u8;
        if ctl_bits > 1 {
            h.once(if fin && rst { b'i' } else { b'q' }, d);
        } else if ctl_bits == 1 {
            if syn {
                h.flag(if ackf { b'h' } else { b's' }, d, sq);
            }
            if fin {
                h.flag(b'f', d, sq.wrapping_add(payload_len));
            }
            if rst {
                h.flag(b'r', d, sq);
            }
        } else if payload_len > 0 {
            h.once(b'd', d);
        } else if ackf {
            h.once(b'a', d);
        }
        let retrans = TcpAnalysisFlags(
            TcpAnalysisFlags::RETRANSMISSION.0
                | TcpAnalysisFlags::FAST_RETRANSMISSION.0
                | TcpAnalysisFlags::SPURIOUS_RETRANSMISSION.0,
        );
        if af.0 & retrans.0 != 0 && payload_len > 0 {
            h.counted(b't', d);
        }
        if window == 0 && !syn && !rst {
            h.counted(b'w', d);
        }
        update_states(&mut c.ep_state, d, flags);

        // Handshake and phases.
        if syn && !ackf && d == Direction::ClientToServer {
            // The SYN that got answered is the last one before the SYN/ACK (Wireshark
            // measures the iRTT from it too).
            let hs = c.handshake.get_or_insert_with(Handshake::default);
            if hs.synack_ts.is_none() || hs.syn_ts.is_none() {
                hs.syn_ts = Some(pkt.ts);
            }
        }
        if syn && ackf && d == Direction::ServerToClient {
            c.handshake
                .get_or_insert_with(Handshake::default)
                .synack_ts
                .get_or_insert(pkt.ts);
        }
        if !syn && ackf && d == Direction::ClientToServer {
            if let Some(hs) = c.handshake.as_mut() {
                let acks_synack = rev.syn_seen && rev.isn.map(|n| n.wrapping_add(1)) == Some(ack);
                if hs.synack_ts.is_some() && hs.ack_ts.is_none() && acks_synack {
                    hs.ack_ts = Some(pkt.ts);
                    t.irtt = hs.rtt_ns();
                }
            }
        }
        if payload_len > 0 {
            c.phases.first_payload[i].get_or_insert(pkt.ts);
            c.phases.last_payload[i] = Some(pkt.ts);
        }
        if fin && c.phases.fin[i].is_none() {
            c.phases.fin[i] = Some(pkt.ts);
            if c.phases.fin[o].is_none() && c.phases.rst == [None, None] {
                c.phases.half_close.get_or_insert((d, pkt.ts));
            }
            c.close.get_or_insert(Close {
                by: d,
                how: CloseHow::Fin,
                ts: pkt.ts,
            });
        }
        if rst {
            c.phases.rst[i].get_or_insert(pkt.ts);
            c.close.get_or_insert(Close {
                by: d,
                how: CloseHow::Rst,
                ts: pkt.ts,
            });
        }

        // Reassembly.
        let (fwd, rev) = split_dirs(&mut t.dir, i);
        let mut cs = Counting {
            inner: sink,
            gaps: [0; 2],
        };
        let ctx = Ctx {
            conn: c.id,
            dir: d,
            ts: pkt.ts,
            pkt: pkt.id,
        };
        // RFC 9293 §3.5.3: a RST may carry (diagnostic) data; it is delivered, then
        // the direction ends.
        if payload_len > 0 || fin {
            let first = if syn { sq.wrapping_add(1) } else { sq };
            let out = fwd.r.segment(
                first,
                payload,
                payload_len,
                fin,
                ctx,
                &mut cs,
                total,
                limits,
            );
            c.retransmitted_bytes[i] += out.retrans_bytes;
            if out.overlap_mismatch {
                c.anomaly(
                    "overlap_mismatch",
                    "retransmitted bytes differ from the first copy (first copy kept)",
                );
            }
            if out.limit_hit {
                stats.limit_hits += 1;
                c.anomaly(
                    "reassembly_limit",
                    "out-of-order buffer limit hit; buffered data delivered after a gap",
                );
            }
        }
        if rst {
            fwd.r.end(ctx, &mut cs, total);
        }
        // A RST's ACK field is not trusted as evidence of missed data.
        if ackf && !rst {
            let rctx = Ctx {
                dir: d.reverse(),
                ..ctx
            };
            rev.r.acked(ack, rctx, &mut cs, total);
        }
        for dd in [Direction::ClientToServer, Direction::ServerToClient] {
            for _ in 0..cs.gaps[dd.index()] {
                c.history.counted(b'g', dd);
            }
        }
        sync_bytes(c, t);
        if rst || (c.phases.fin[0].is_some() && c.phases.fin[1].is_some()) {
            e.closed = true;
        }
        PacketVerdict {
            conn: Some(c.id),
            dir: d,
            analysis: af,
            rel_seq,
            rel_ack,
            new_conn,
            dup_ack: dup,
            win_shift,
        }
    }
}

/// Borrows direction `i` mutably as "forward" and the other as "reverse".
fn split_dirs(dirs: &mut [TcpDir; 2], i: usize) -> (&mut TcpDir, &mut TcpDir) {
    let [a, b] = dirs;
    if i == 0 {
        (a, b)
    } else {
        (b, a)
    }
}

fn sync_bytes(c: &mut Connection, t: &TcpLive) {
    for i in 0..2 {
        let r = &t.dir[i].r;
        c.bytes[i] = r.delivered + r.gap_bytes;
    }
    c.missed_bytes = t.dir[0].r.gap_bytes + t.dir[1].r.gap_bytes;
}

/// Does a SYN (no ACK) from `src` with sequence `sq` start a new connection?
fn is_new_syn(e: &Entry, src: Endpoint, sq: u32) -> bool {
    if e.closed {
        return true;
    }
    let Some(t) = e.tcp.as_ref() else {
        return false;
    };
    let d = e.conn.dir_of(src);
    let td = &t.dir[d.index()];
    if td.syn_seen {
        return td.isn != Some(sq);
    }
    if d == Direction::ClientToServer {
        if let Some(isn) = t.implied_client_isn {
            return isn != sq;
        }
    }
    td.data_seen
}

/// Zeek's endpoint state machine, reduced to what `conn_state` reads.
fn update_states(st: &mut [EndpointState; 2], d: Direction, flags: u16) {
    use EndpointState::*;
    let (me, peer) = (d.index(), d.reverse().index());
    let (syn, ack, fin, rst) = (
        flags & SYN != 0,
        flags & ACK != 0,
        flags & FIN != 0,
        flags & RST != 0,
    );
    if rst {
        st[me] = Reset;
        return;
    }
    if syn {
        if ack {
            if d == Direction::ServerToClient {
                if matches!(st[peer], SynSent | SynAckSent) {
                    st[peer] = Established;
                }
                if !matches!(st[me], Closed | Reset) {
                    st[me] = Established;
                }
            } else if st[me] == Inactive {
                st[me] = SynAckSent;
            }
        } else if matches!(st[me], Inactive | Partial) {
            st[me] = SynSent;
        }
    } else if st[me] == Inactive {
        st[me] = Partial;
    } else if ack && st[me] == SynSent && st[peer] == Established {
        st[me] = Established;
    }
    if fin && st[me] != Reset {
        st[me] = Closed;
    }
}
