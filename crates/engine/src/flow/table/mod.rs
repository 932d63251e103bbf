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

use super::conn::{note_tunnel, Close, CloseHow, ConnProto, Connection, Handshake, IcmpInfo};
use super::hash::FxHashMap;
use super::history::{zeek_tcp_flip, zeek_udp_flip, EndpointState};
use super::reassembly::{Ctx, Limits, Reassembler};
use super::tcp_analysis::{analyze, Seg, SeqInfo, TcpAnalysisFlags};
use super::tcp_flags::{ACK, FIN, RST, SYN};
use super::{FlowConfig, FlowPacket, PacketVerdict, StreamSink, L4};
use crate::base::{AnomalyKind, ConnId, Direction, Endpoint, PacketId, Timestamp};

mod icmp;
mod linger;
mod segment;
mod slots;

use linger::{Lingering, PACK_AFTER_NS};
use slots::Slots;

use segment::{sync_bytes, TcpLive};

/// Most 4-tuples one connection may be joined on (see [`ConnTable::process_joining`]).
const MAX_ALIASES: usize = 16;

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
    /// The tunnel context ([`FlowPacket::tunnel`]), 0 when not tunnelled.
    tunnel: u64,
}

/// Canonical key and the side (0: src is `lo`) of the packet.
fn make_key(proto: u8, src: Endpoint, dst: Endpoint, tunnel: u64) -> (Key, usize) {
    let (a, b) = ((src.ip, src.port), (dst.ip, dst.port));
    let (lo, hi, side) = if a <= b { (a, b, 0) } else { (b, a, 1) };
    (
        Key {
            proto,
            lo,
            hi,
            tunnel,
        },
        side,
    )
}

type VlanCtx = (u8, [u16; 2]);

#[derive(Debug)]
struct Entry {
    conn: Connection,
    tcp: Option<Box<TcpLive>>,
    key: Key,
    vlan_side: [Option<VlanCtx>; 2],
    closed: bool,
    last_pkt: PacketId,
    /// Other 4-tuples this connection was joined on (a QUIC connection that moved to a
    /// new client address, see [`ConnTable::process_joining`]); empty otherwise.
    aliases: Vec<Key>,
}

/// What the table holds right now (see [`ConnTable::census`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableCensus {
    pub live: usize,
    /// Live TCP connections (each with its reassembly and sequence state).
    pub tcp_live: usize,
    /// Closed TCP connections lingering for late packets (`tcp_closed_linger_ns`).
    pub closed: usize,
    /// Slab slots: the most connections ever live at once.
    pub slots: usize,
    pub keys: usize,
    pub remembered_tuples: usize,
    /// Of the closed ones, those held packed (`linger.rs`).
    pub packed: usize,
}

/// Counters about the table itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableStats {
    pub conns_created: u64,
    pub conns_evicted: u64,
    pub limit_hits: u64,
}

/// All live connections.
///
/// Entries are boxed in the slab: a slot then costs 8 bytes when free, the slab's
/// growth moves pointers instead of 650-byte entries (and never holds two copies of
/// every entry while it reallocates), and finishing a connection moves a pointer out.
pub struct ConnTable {
    cfg: FlowConfig,
    map: FxHashMap<Key, Slots>,
    slab: Vec<Option<Box<Entry>>>,
    /// Closed connections held packed, by slot (`linger.rs`): a slot is free, whole in
    /// `slab`, or packed here.
    packed: Vec<Option<Box<Lingering>>>,
    /// Connections that closed, with their last packet's time, about in that order:
    /// packed once quiet for [`PACK_AFTER_NS`].
    closing: std::collections::VecDeque<(i64, u32, ConnId)>,
    /// [`PACK_AFTER_NS`] unless a test says otherwise.
    pack_after_ns: i64,
    /// Connections packed so far (a test reads it).
    packs: u64,
    free: Vec<u32>,
    next_id: u32,
    live: usize,
    total_buffered: usize,
    last_sweep: Option<Timestamp>,
    /// Tuples of recently finished closed TCP connections, with their last packet's
    /// time, oldest first (see [`REUSE_MEMORY_NS`]).
    recent: std::collections::VecDeque<(Key, i64)>,
    recent_last: FxHashMap<Key, i64>,
    /// While the input is being finished in chunks ([`ConnTable::finish_some`]): the
    /// slots still to finish, the next one last.
    finishing: Option<Vec<u32>>,
    /// The input has ended: connections are being finished (see [`ConnTable::finish_some`]).
    ending: bool,
    pub stats: TableStats,
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
            packed: Vec::new(),
            closing: std::collections::VecDeque::new(),
            pack_after_ns: PACK_AFTER_NS,
            packs: 0,
            free: Vec::new(),
            next_id: 0,
            live: 0,
            total_buffered: 0,
            last_sweep: None,
            recent: std::collections::VecDeque::new(),
            recent_last: FxHashMap::default(),
            finishing: None,
            ending: false,
            stats: TableStats::default(),
        }
    }

    /// Connections currently open.
    pub fn live(&self) -> usize {
        self.live
    }

    /// What the table holds: live connections, their slab slots (the most ever live),
    /// keys, and tuples of closed connections remembered for `port_reuse`.
    pub fn census(&self) -> TableCensus {
        let packed = self.packed.iter().flatten().count();
        TableCensus {
            live: self.live,
            tcp_live: self
                .slab
                .iter()
                .flatten()
                .filter(|e| e.tcp.is_some())
                .count()
                + packed,
            closed: self.slab.iter().flatten().filter(|e| e.closed).count() + packed,
            slots: self.slab.len(),
            keys: self.map.len(),
            remembered_tuples: self.recent.len(),
            packed,
        }
    }

    /// The connections not finished yet, in no particular order: what a live display
    /// shows while traffic is still flowing (packed ones unpacked for it).
    pub fn open_connections(&self) -> impl Iterator<Item = std::borrow::Cow<'_, Connection>> {
        let whole = self
            .slab
            .iter()
            .flatten()
            .map(|e| std::borrow::Cow::Borrowed(&e.conn));
        let packed = self
            .packed
            .iter()
            .flatten()
            .map(|l| std::borrow::Cow::Owned(l.conn()));
        whole.chain(packed)
    }

    /// Of each connection not finished yet: its id, protocol, client address and
    /// first packet's time (what [`open_connections`](Self::open_connections) gives,
    /// without unpacking anything).
    pub fn open_starts(&self) -> impl Iterator<Item = (ConnId, ConnProto, IpAddr, Timestamp)> + '_ {
        let whole = self
            .slab
            .iter()
            .flatten()
            .map(|e| (e.conn.id, e.conn.proto, e.conn.client.ip, e.conn.first_ts));
        let packed = self
            .packed
            .iter()
            .flatten()
            .map(|l| (l.id, ConnProto::Tcp, l.client, l.first_ts));
        whole.chain(packed)
    }

    /// Packs the closed connections quiet since [`PACK_AFTER_NS`] before `now`.
    fn pack_lingering(&mut self, now: Timestamp) {
        let cut = now.0.saturating_sub(self.pack_after_ns);
        while let Some(&(t, s, id)) = self.closing.front() {
            if t >= cut {
                break;
            }
            self.closing.pop_front();
            let Some(slot) = self.slab.get_mut(s as usize) else {
                continue;
            };
            let Some(e) = slot.take_if(|e| e.conn.id == id) else {
                continue;
            };
            if e.conn.last_ts.0 >= cut {
                // A late packet since: it waits again.
                self.closing.push_back((e.conn.last_ts.0, s, id));
                *slot = Some(e);
                continue;
            }
            #[cfg(test)]
            let whole = format!("{e:?}");
            match Lingering::pack(e) {
                Ok(l) => {
                    #[cfg(test)]
                    assert_eq!(format!("{:?}", l.unpack()), whole, "packing lost something");
                    self.packed[s as usize] = Some(l);
                    self.packs += 1;
                }
                Err(e) => *slot = Some(e),
            }
        }
    }

    /// Packs closed connections once quiet for `ns` (`i64::MAX`: never), for tests that
    /// compare the two ways.
    #[cfg(test)]
    pub(crate) fn set_pack_after(&mut self, ns: i64) {
        self.pack_after_ns = ns;
    }

    /// How many connections were packed so far.
    #[cfg(test)]
    pub(crate) fn packs(&self) -> u64 {
        self.packs
    }

    /// Makes a packed connection whole again (nothing when slot `s` is not packed).
    fn unpack_slot(&mut self, s: u32) {
        if let Some(l) = self.packed.get_mut(s as usize).and_then(Option::take) {
            let e = l.unpack();
            self.closing.push_back((e.conn.last_ts.0, s, e.conn.id));
            self.slab[s as usize] = Some(e);
        }
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
        self.process_joining(pkt, None, sink)
    }

    /// [`Self::process`], for a UDP datagram the caller already knows belongs to the
    /// open connection `join` although its 4-tuple may be new: a QUIC packet whose
    /// connection ID names a connection (RFC 9000 §9: a client that migrated, or a NAT
    /// that rebound its port). When no connection has this datagram's 4-tuple, the
    /// 4-tuple becomes another key of `join`, so the datagram and those after it join
    /// that connection instead of starting a new flow. A 4-tuple that already has its
    /// own connection keeps it.
    pub fn process_joining(
        &mut self,
        pkt: &FlowPacket,
        join: Option<ConnId>,
        sink: &mut impl StreamSink,
    ) -> PacketVerdict {
        self.maybe_sweep(pkt.ts, sink);
        self.pack_lingering(pkt.ts);
        match pkt.l4 {
            L4::Tcp { .. } => self.tcp(pkt, sink),
            L4::Udp {
                sport,
                dport,
                payload,
            } => {
                let src = Endpoint::new(pkt.src, sport);
                let dst = Endpoint::new(pkt.dst, dport);
                // Zeek's orientation: the first sender is the originator unless only
                // the source port is a likely server port.
                let flip = zeek_udp_flip(pkt.dst, sport, dport);
                self.datagram(pkt, 17, src, dst, flip, payload, None, join, sink)
            }
            L4::Icmp {
                v6,
                kind,
                code,
                quote: Some(q),
                ..
            } => self.icmp_error(pkt, v6, kind, code, &q, sink),
            L4::Icmp {
                v6,
                kind,
                code,
                echo: Some((id, _)),
                ..
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
                    None,
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
        self.pack_lingering(now);
    }

    /// End of input: flush every open connection (buffered data after holes as
    /// gap + data), finish them all in connection-id order.
    pub fn finish(&mut self, sink: &mut impl StreamSink) {
        self.finish_some(usize::MAX, sink);
    }

    /// [`finish`](Self::finish) a few at a time: finishes the next `n` open connections
    /// in connection-id order and says whether any are left. The order is fixed at the
    /// first call (the connections open then, by id), so finishing in chunks finishes
    /// the same connections in the same order as finishing them all at once; a caller
    /// takes each chunk's records before the next, and the end of a capture with tens
    /// of thousands of open connections never holds all their records at once. No
    /// packet may come between the calls.
    pub fn finish_some(&mut self, n: usize, sink: &mut impl StreamSink) -> bool {
        let mut order = match self.finishing.take() {
            Some(o) => o,
            None => {
                let mut slots: Vec<(u32, u32)> = (0..self.slab.len())
                    .filter_map(|i| Some((self.id_at(i)?.0, i as u32)))
                    .collect();
                // Largest id first: the next one to finish is popped off the end.
                slots.sort_unstable_by(|a, b| b.cmp(a));
                slots.into_iter().map(|(_, s)| s).collect()
            }
        };
        let chunk = order.split_off(order.len() - n.min(order.len()));
        let more = !order.is_empty();
        if more {
            self.finishing = Some(order);
        }
        self.ending = true;
        for s in chunk.into_iter().rev() {
            self.finish_slot(s, sink);
        }
        if !more {
            self.release();
        }
        more
    }

    /// Every connection is finished (the end of input): the table's maps, slab and
    /// remembered tuples give their room back (the largest ever needed, ~50 MB after
    /// ~100 k connections at once), so the consumer that tells the story of the end
    /// does not do it beside an empty table's peak. No packet comes after the end.
    fn release(&mut self) {
        if self.live > 0 {
            return;
        }
        self.map = FxHashMap::default();
        self.slab = Vec::new();
        self.packed = Vec::new();
        self.free = Vec::new();
        self.closing = std::collections::VecDeque::new();
        self.recent = std::collections::VecDeque::new();
        self.recent_last = FxHashMap::default();
    }

    fn find(&self, key: &Key, side: usize, vlan: VlanCtx) -> Option<u32> {
        let slots = self.map.get(key)?.as_slice();
        let vlans = |s: &u32| match self.slab.get(*s as usize).and_then(|e| e.as_deref()) {
            Some(e) => Some(e.vlan_side),
            None => self
                .packed
                .get(*s as usize)
                .and_then(|l| l.as_deref())
                .map(|l| l.vlan_side),
        };
        let pick = |f: &dyn Fn(&[Option<VlanCtx>; 2]) -> bool| {
            slots
                .iter()
                .rev()
                .find(|s| vlans(s).is_some_and(|v| f(&v)))
                .copied()
        };
        pick(&|v| v[side] == Some(vlan))
            .or_else(|| pick(&|v| v[side].is_none() && v[1 - side] == Some(vlan)))
            .or_else(|| pick(&|v| v[side].is_none()))
    }

    /// The connection id at slot `i`, whole or packed (None when free).
    fn id_at(&self, i: usize) -> Option<ConnId> {
        match self.slab.get(i).and_then(|e| e.as_deref()) {
            Some(e) => Some(e.conn.id),
            None => self.packed.get(i).and_then(|l| l.as_deref()).map(|l| l.id),
        }
    }

    /// Whether a closed connection on `key` saw its last packet at most
    /// [`REUSE_MEMORY_NS`] before `now` (forgetting older ones on the way).
    fn recently_closed(&mut self, key: &Key, now: Timestamp) -> bool {
        let horizon = self.forget_old_tuples(now);
        self.recent_last.get(key).is_some_and(|&t| t >= horizon)
    }

    /// Forgets the tuples of closed connections older than [`REUSE_MEMORY_NS`] before
    /// `now`; returns that horizon. Run at every new SYN and at every sweep, so the
    /// tuples held follow the last 5 s and not the file. Their map and queue give
    /// room back once four times too large: a hash map never shrinks by itself, and
    /// with the churn of a long capture it grows to twice the most tuples ever held
    /// (its deleted slots count until a resize), which grew with the input.
    fn forget_old_tuples(&mut self, now: Timestamp) -> i64 {
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
        horizon
    }

    /// Gives the remembered tuples' room back when it is four times what they need
    /// (at a sweep: once a second of capture time at most).
    fn shrink_tuples(&mut self) {
        const SLACK: usize = 4096;
        if self.recent_last.capacity() > 4 * self.recent_last.len() + SLACK {
            self.recent_last.shrink_to(2 * self.recent_last.len());
        }
        if self.recent.capacity() > 4 * self.recent.len() + SLACK {
            self.recent.shrink_to(2 * self.recent.len());
        }
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
        self.forget_old_tuples(now);
        self.shrink_tuples();
        // Finished in connection-id order, not slot order: slots depend on which
        // connections lived in this table, ids on the order of first packets, so a
        // sharded run (`analysis::shard`) can merge its tables' sweeps into this order.
        let linger = self
            .cfg
            .tcp_closed_linger_ns
            .min(self.cfg.tcp_idle_timeout_ns);
        let mut expired: Vec<(ConnId, u32)> = (0..self.slab.len())
            .filter_map(|i| match &self.slab[i] {
                Some(e) => self.expired(e, now).then_some((e.conn.id, i as u32)),
                // Packed: closed TCP connections.
                None => self.packed[i]
                    .as_ref()
                    .filter(|l| now.0.saturating_sub(l.last_ts.0) > linger)
                    .map(|l| (l.id, i as u32)),
            })
            .collect();
        expired.sort_unstable();
        for (_, s) in expired {
            self.finish_slot(s, sink);
        }
    }

    /// Makes room when `max_conns` is reached: finishes the idlest 1/64 (at least one).
    fn evict(&mut self, sink: &mut impl StreamSink) {
        let mut by_age: Vec<(Timestamp, u32)> = (0..self.slab.len())
            .filter_map(|i| {
                let last = match &self.slab[i] {
                    Some(e) => e.conn.last_ts,
                    None => self.packed[i].as_ref()?.last_ts,
                };
                Some((last, i as u32))
            })
            .collect();
        let n = (by_age.len() / 64).max(1).min(by_age.len());
        if n == 0 {
            return;
        }
        by_age.select_nth_unstable(n - 1);
        for &(_, s) in &by_age[..n] {
            self.unpack_slot(s);
            if let Some(e) = self.slab.get_mut(s as usize).and_then(|e| e.as_mut()) {
                e.conn.anomaly(
                    AnomalyKind::ConnEvicted,
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
        let entry = Box::new(Entry {
            conn,
            tcp: if tcp { Some(Box::default()) } else { None },
            key,
            vlan_side: [None, None],
            closed: false,
            last_pkt: PacketId(0),
            aliases: Vec::new(),
        });
        let slot = match self.free.pop() {
            Some(s) => {
                self.slab[s as usize] = Some(entry);
                s
            }
            None => {
                self.slab.push(Some(entry));
                self.packed.push(None);
                (self.slab.len() - 1) as u32
            }
        };
        self.add_key(key, slot);
        self.live += 1;
        self.stats.conns_created += 1;
        slot
    }

    fn add_key(&mut self, key: Key, slot: u32) {
        match self.map.entry(key) {
            std::collections::hash_map::Entry::Occupied(mut o) => o.get_mut().push(slot),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(Slots::new(slot));
            }
        }
    }

    fn new_id(&mut self) -> ConnId {
        let id = ConnId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    /// Finishes a connection: ends both directions (flushing buffers as gap + data),
    /// hands the summary to the sink, frees the slot.
    fn finish_slot(&mut self, slot: u32, sink: &mut impl StreamSink) {
        // A packed connection is opened on the stack, not boxed again to be dropped.
        if let Some(l) = self.packed.get_mut(slot as usize).and_then(Option::take) {
            let (mut conn, mut tcp, last_pkt) = l.open();
            self.forget(slot, &l.key, &[], true, &conn);
            self.end_conn(&mut conn, Some(&mut tcp), last_pkt, sink);
            sink.conn_finished(conn);
            return;
        }
        let Some(e) = self.slab.get_mut(slot as usize).and_then(|e| e.take()) else {
            return;
        };
        let Entry {
            mut conn,
            mut tcp,
            key,
            closed,
            last_pkt,
            aliases,
            ..
        } = *e;
        self.forget(slot, &key, &aliases, closed, &conn);
        self.end_conn(&mut conn, tcp.as_deref_mut(), last_pkt, sink);
        sink.conn_finished(conn);
    }

    /// Takes a finishing connection's keys out of the map and frees its slot; a closed
    /// TCP connection's tuple is remembered for `port_reuse`.
    fn forget(&mut self, slot: u32, key: &Key, aliases: &[Key], closed: bool, conn: &Connection) {
        for key in std::iter::once(key).chain(aliases) {
            if self.map.get_mut(key).is_some_and(|v| v.remove(slot)) {
                self.map.remove(key);
            }
        }
        self.free.push(slot);
        self.live -= 1;
        // At the end of input no SYN is to come: nothing to remember for `port_reuse`.
        if closed && conn.proto == ConnProto::Tcp && !self.ending {
            let t = conn.last_ts.0;
            self.recent.push_back((*key, t));
            self.recent_last.insert(*key, t);
        }
    }

    /// Ends both directions of a finishing connection (flushing buffers as gap + data).
    fn end_conn(
        &mut self,
        conn: &mut Connection,
        tcp: Option<&mut TcpLive>,
        last_pkt: PacketId,
        sink: &mut impl StreamSink,
    ) {
        if let Some(t) = tcp {
            // Data still buffered after a hole is delivered after a gap, but (as in
            // Zeek, which reports gaps only when an ACK shows them) adds no `G`.
            for d in [Direction::ClientToServer, Direction::ServerToClient] {
                let ctx = Ctx {
                    conn: conn.id,
                    dir: d,
                    ts: conn.last_ts,
                    pkt: last_pkt,
                };
                t.dir[d.index()].r.end(ctx, sink, &mut self.total_buffered);
            }
            sync_bytes(conn, t);
        }
    }

    /// The live, unexpired UDP connection `id` takes `key` as another of its 4-tuples.
    fn join(&mut self, id: ConnId, key: Key, now: Timestamp) -> Option<u32> {
        let slot = self
            .slab
            .iter()
            .position(|e| e.as_ref().is_some_and(|e| e.conn.id == id))? as u32;
        let e = self.slab.get_mut(slot as usize)?.as_mut()?;
        let idle = now.0.saturating_sub(e.conn.last_ts.0);
        if e.conn.proto != ConnProto::Udp || key.proto != 17 || idle > self.cfg.udp_timeout_ns {
            return None;
        }
        // A bound, so a stream of spoofed packets with a known connection ID cannot grow
        // one connection's key list without end.
        if e.aliases.len() >= MAX_ALIASES {
            return None;
        }
        e.aliases.push(key);
        self.add_key(key, slot);
        Some(slot)
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
        join: Option<ConnId>,
        sink: &mut impl StreamSink,
    ) -> PacketVerdict {
        let (key, side) = make_key(proto, src, dst, pkt.tunnel);
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
        if slot.is_none() {
            slot = join.and_then(|id| self.join(id, key, pkt.ts));
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
        let first_of_side = e.vlan_side[side].is_none();
        if first_of_side {
            e.vlan_side[side] = Some(vlan);
        }
        e.last_pkt = pkt.id;
        let c = &mut e.conn;
        // On a joined 4-tuple the client may have a new address: the server's side
        // tells the direction (RFC 9000 §9: the server does not move).
        let d = if src == c.client || src != c.server && dst == c.server {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        };
        if first_of_side {
            note_tunnel(c, d, pkt.tunnels);
        }
        let i = d.index();
        // A timestamp that jumps back (a clock step, a corrupt record) does not rewind
        // the connection: idleness is measured from the latest time seen.
        c.last_ts = c.last_ts.max(pkt.ts);
        c.packets[i] += 1;
        c.bytes[i] += payload.len() as u64;
        if icmp.is_none() {
            // Zeek's `UDPAnalyzer::DeliverPacket`: every datagram, even an empty
            // one, counts as data (`D`/`d`).
            c.history.once(b'd', d);
        }
        if !payload.is_empty() {
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
}

#[cfg(test)]
mod size_tests {
    use std::mem::size_of;

    /// A free slab slot costs a pointer and a key's slot list needs no allocation of its
    /// own for the usual one connection (see `slots.rs`).
    #[test]
    fn slots_and_slot_lists_stay_small() {
        assert_eq!(size_of::<Option<Box<super::Entry>>>(), 8);
        assert!(size_of::<super::Slots>() <= 24);
    }
}
