//! Re-filtering a loaded file through its index, for the TUI's filter bar.
//!
//! While the TUI indexes a file it runs the engine once; for each packet it fills the
//! [`PacketTable`] (an 8-byte row: connection, direction, TCP analysis flags; each
//! connection side's ISN, plus the application notes of the few packets that have any)
//! and calls
//! [`FilterIndex::push`], which keeps what only filters read (stream numbers, DNS
//! response times, connection outcomes, where the IP fragments are). A new filter is
//! then applied by [`filter_index`]: every frame is fetched from the memory map through
//! the [`FrameStore`] and decoded again (~30 ns; decoding is stateless), and the
//! connection-level facts come from the table, so the file is never re-read through the
//! engine. [`FilterContext`] is shared with the batch path (`analysis::select`), so the
//! CLI's `packets -Y` and the TUI select the same packets (a property test checks it).

use std::collections::HashMap;
use std::net::IpAddr;

use super::engine::PacketSummary;
use super::notes::AppData;
use super::packet_table::{bit, PacketRow, PacketTable, RelNumbers};
use super::packet_view::{ConnOutcome, PacketView};
use super::presence::{self, Presence};

mod conns;
use crate::base::{ConnId, Direction, PacketId, Timestamp};
use crate::capture::{Frame, FrameStore};
use crate::decode::{self, DefragLimits, Defragmenter, Packet, Transport};
use crate::filter::{FieldId, Filter};
use conns::conn_constant;
pub use conns::{conn_app_verdict, ConnVerdicts};

const NO_STREAM: u32 = u32::MAX;

/// No outcome known yet (`FilterIndex::outcome_of`).
const NO_OUTCOME: u32 = u32::MAX;

/// Decodes frames for filtering, keeping IP defragmentation state so the frame that
/// completes a datagram also yields the reassembled packet (tshark shows its transport
/// there). Frames must come in file order; non-fragments cost one check.
#[derive(Default)]
pub struct Redecoder {
    defrag: Defragmenter,
}

impl Redecoder {
    pub fn new(limits: DefragLimits) -> Self {
        Redecoder {
            defrag: Defragmenter::new(limits),
        }
    }

    /// Calls `f` with the frame decoded on its own and, when it completed a datagram,
    /// the datagram decoded (with the frame's link layer).
    pub fn with<R>(
        &mut self,
        frame: &Frame<'_>,
        f: impl FnOnce(&Packet<'_>, Option<&Packet<'_>>) -> R,
    ) -> R {
        self.with_fragmentation(frame, |p, w, _| f(p, w))
    }

    /// [`with`](Self::with), also telling what defragmentation did (which packet a
    /// connection table should see: [`decode::Fragmentation::analysable`]).
    pub fn with_fragmentation<R>(
        &mut self,
        frame: &Frame<'_>,
        f: impl FnOnce(&Packet<'_>, Option<&Packet<'_>>, decode::Fragmentation) -> R,
    ) -> R {
        let meta = frame.meta;
        decode::decode_defragmented(&mut self.defrag, meta.ts, meta.link, frame.data, f)
    }
}

/// Bound on remembered DNS queries for `dns.time` (cleared when reached: a response
/// to an older query then has no `dns.time`, as in a capture that missed the query).
const MAX_DNS_QUERIES: usize = 65_536;

/// The per-file state both filter paths keep: tshark-style stream numbers, first and
/// previous timestamps, and DNS query times.
#[derive(serde::Serialize, serde::Deserialize, Default)]
pub struct FilterContext {
    /// Stream number by `ConnId` (`NO_STREAM` = not yet seen). tshark numbers TCP and
    /// UDP conversations separately, in order of first packet.
    streams: Vec<u32>,
    next_tcp: u32,
    next_udp: u32,
    dns_queries: HashMap<(u32, u16), Timestamp>,
    first: Option<Timestamp>,
    prev: Option<Timestamp>,
}

/// What [`FilterContext::next`] learnt about one packet.
#[derive(Clone, Copy, Debug, Default)]
pub struct PacketContext {
    pub row: PacketRow,
    /// The engine's relative sequence numbers (the table keeps them as ISNs).
    pub tcp_rel: RelNumbers,
    pub rel: f64,
    pub delta: f64,
    pub dns_time: Option<f64>,
}

impl FilterContext {
    /// One packet, in file order. `pkt` is the frame decoded on its own (or the
    /// datagram it completed).
    pub fn next(&mut self, pkt: &Packet<'_>, s: &PacketSummary) -> PacketContext {
        let first = *self.first.get_or_insert(s.ts);
        let prev = self.prev.replace(s.ts).unwrap_or(s.ts);
        let row = PacketRow::from_summary(s);
        if let Some(c) = row.conn() {
            let i = c.0 as usize;
            if self.streams.len() <= i {
                self.streams.resize(i + 1, NO_STREAM);
            }
            if self.streams[i] == NO_STREAM {
                let next = match pkt.transport {
                    Transport::Tcp(_) => Some(&mut self.next_tcp),
                    Transport::Udp(_) => Some(&mut self.next_udp),
                    _ => None,
                };
                if let Some(n) = next {
                    self.streams[i] = *n;
                    *n += 1;
                }
            }
        }
        let mut dns_time = None;
        for n in &s.notes {
            if let AppData::Dns(m) = &n.data {
                let key = (row.conn().map_or(u32::MAX, |c| c.0), m.id);
                if m.flags.qr {
                    dns_time = self
                        .dns_queries
                        .get(&key)
                        .map(|q| s.ts.secs_since(*q))
                        .or(dns_time);
                } else {
                    if self.dns_queries.len() >= MAX_DNS_QUERIES {
                        self.dns_queries.clear();
                    }
                    self.dns_queries.entry(key).or_insert(s.ts);
                }
            }
        }
        PacketContext {
            row,
            tcp_rel: RelNumbers::of(s.verdict.as_ref()),
            rel: s.ts.secs_since(first),
            delta: s.ts.secs_since(prev),
            dns_time,
        }
    }

    /// `tcp.stream`/`udp.stream` of a connection, once its first packet was seen.
    pub fn stream(&self, conn: Option<ConnId>) -> Option<u32> {
        let s = *self.streams.get(conn?.0 as usize)?;
        (s != NO_STREAM).then_some(s)
    }
}

/// What [`filter_index`] needs besides the frames and the [`PacketTable`]: built once
/// while indexing, beside the table.
#[derive(serde::Serialize, serde::Deserialize, Default)]
pub struct FilterIndex {
    /// Packets recorded.
    len: usize,
    context: FilterContext,
    /// Only used while pushing: a restored index (the TUI's cache) is complete.
    #[serde(skip)]
    redecoder: Redecoder,
    /// `dns.time` of the responses that have one: their packet ids (increasing) and,
    /// parallel, the times.
    dns_ids: Vec<u32>,
    dns_secs: Vec<f64>,
    /// How each connection ended, by connection id: an index into `outcome_kinds`
    /// (`NO_OUTCOME` while unknown). The distinct outcomes are few (a state, and a
    /// name shared by every connection to one server), so a connection costs 4 bytes.
    outcome_of: Vec<u32>,
    outcome_kinds: Vec<ConnOutcome>,
    /// Only used while recording: where each distinct outcome sits in `outcome_kinds`.
    #[serde(skip)]
    outcome_codes: HashMap<ConnOutcome, u32>,
    /// Packets that are IP fragments, in order: the only frames that change a
    /// [`Redecoder`], so a re-filter can start anywhere after replaying them.
    fragments: Vec<u32>,
    /// Packets that are not *regular* (see [`FlowTuple::of`]), in order: a re-filter
    /// decodes them one by one, and answers the filter's flow-constant tests
    /// ([`flow_constant`]) once per connection direction for all the others. Few in
    /// most captures (no connection, ICMP, tunnels, fragments), so a sparse list.
    irregular: Vec<u32>,
    /// Only used while pushing: the tuple of each live connection's regular packets,
    /// as the client sends them (a packet with another tuple is irregular). Forgotten
    /// when the connection ends (`set_outcome`), so it holds the live connections only.
    #[serde(skip)]
    tuples: HashMap<u32, FlowTuple>,
    /// For each packet with application notes, in order (the packet table's rows with
    /// the `NOTE` bit): the protocol-presence fields it shows ([`Presence`]), so a
    /// re-filter decides `http`, `dns`, `tls`, ... there without decoding the notes or
    /// the frame. One byte a noted packet (5.6 MB for 5.6 M on the 5 GB capture).
    presence: Vec<u8>,
    /// `presence.len()` when packet `k * PRESENCE_STRIDE` was pushed: where a
    /// re-filter starting anywhere finds its first noted packet's entry.
    presence_marks: Vec<u32>,
    /// By connection id, one bit: whether its regular packets are UDP with port 53
    /// (what `dns` is on such a packet without notes: [`FlowTuple`]). Set when the
    /// connection's tuple is first recorded.
    udp53: Vec<u64>,
}

/// Packets between two [`FilterIndex::presence_marks`].
const PRESENCE_STRIDE: usize = 4096;

/// The layers of a packet that decide every [`flow_constant`] field.
///
/// A packet is *regular* when it is decoded on its own (not a fragment, not the
/// completion of a datagram), with one IP layer and no tunnel or encapsulation
/// (`tunnels` empty), a TCP or UDP header, a connection and a direction in its row,
/// and the same tuple as the connection's other regular packets (reversed for the
/// server's): a QUIC connection that moved to a new address has two tuples, and the
/// packets on the second one are irregular; so are the packets that come after the
/// connection ended (its tuple is forgotten then). [`PacketView`] then gives every flow-constant field the
/// same values on all of them, so a re-filter evaluates those tests on one and reuses
/// the answer (`tests/filter_index.rs` compares with the full evaluation everywhere).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FlowTuple {
    version: u8,
    /// `ip.proto` / `ipv6.nxt` (the last next header).
    protocol: u8,
    tcp: bool,
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
}

impl FlowTuple {
    /// The tuple of a packet that may be regular (its row is checked by the caller),
    /// `None` for one that is not: `pkt` is the frame decoded on its own, `whole` the
    /// datagram it completed.
    fn of(pkt: &Packet<'_>, whole: Option<&Packet<'_>>) -> Option<FlowTuple> {
        if whole.is_some() || !pkt.tunnels.is_empty() {
            return None;
        }
        let ip = pkt.ip.as_ref().filter(|i| !i.is_fragment())?;
        let (tcp, sport, dport) = match &pkt.transport {
            Transport::Tcp(t) => (true, t.sport, t.dport),
            Transport::Udp(u) => (false, u.sport, u.dport),
            _ => return None,
        };
        Some(FlowTuple {
            version: ip.version,
            protocol: ip.protocol,
            tcp,
            src: ip.src,
            dst: ip.dst,
            sport,
            dport,
        })
    }

    /// The tuple as the other side sends it.
    fn reversed(self) -> FlowTuple {
        FlowTuple {
            src: self.dst,
            dst: self.src,
            sport: self.dport,
            dport: self.sport,
            ..self
        }
    }
}

/// Whether `field` has the same values on every regular packet of one connection
/// direction (see [`FlowTuple`]), reading [`PacketView`]'s `visit`: with no tunnel,
/// no ICMP and no fragment, the protocols present (`frame`, `ip`/`ipv6`, `tcp`/`udp`,
/// none of `icmp`, `icmpv6` or the tunnels and their ids), the addresses, `ip.proto`,
/// `ipv6.nxt` and ports come from the tuple; the stream number, `conn.*` from the
/// connection and direction. Every other field (frame numbers and times, Ethernet,
/// VLAN, TTLs, TCP flags and numbers, analysis, application data, even `dns`, which
/// TCP shows only on the segments that carried a message) may differ from packet to
/// packet.
pub fn flow_constant(field: FieldId) -> bool {
    use crate::filter::fields::Field::*;
    matches!(
        field.field(),
        Some(
            Frame
                | Ip
                | Ipv6
                | Icmp
                | Icmpv6
                | Tcp
                | Udp
                | Mpls
                | MplsLabel
                | Pppoes
                | PppoesSession
                | Gre
                | GreKey
                | Erspan
                | Vxlan
                | VxlanVni
                | Geneve
                | GeneveVni
                | Teredo
                | Gtp
                | GtpTeid
                | IpAddr
                | IpSrc
                | IpDst
                | IpProto
                | Ipv6Addr
                | Ipv6Src
                | Ipv6Dst
                | Ipv6Nxt
                | TcpPort
                | TcpSrcPort
                | TcpDstPort
                | TcpStream
                | UdpPort
                | UdpSrcPort
                | UdpDstPort
                | UdpStream
                | Conn
                | ConnId
                | ConnState
                | ConnName
                | ConnClient
                | ConnServer
        )
    )
}

/// Whether a [`flow_constant`] field has the same values, as a set, on both directions
/// of a connection's regular packets: all but the source and destination fields
/// (`ip.addr` and `tcp.port` give both ends, `conn.client` the client on either side).
/// A filter's test reads a field's values as a set (any / all / none of them), so a
/// filter whose flow-constant fields are all symmetric is decided once per connection
/// rather than once per direction ([`Pass`]).
pub fn direction_symmetric(field: FieldId) -> bool {
    use crate::filter::fields::Field::*;
    flow_constant(field)
        && !matches!(
            field.field(),
            Some(
                IpSrc
                    | IpDst
                    | Ipv6Src
                    | Ipv6Dst
                    | TcpSrcPort
                    | TcpDstPort
                    | UdpSrcPort
                    | UdpDstPort
            )
        )
}

/// Whether `field` reads only a packet's application notes, TLS facts or `dns.time`
/// (the `dns.*`, `http*`, `tls*`, `quic*` fields and protocols, but `dns` itself): all
/// absent on a packet whose row has no note and no TLS fact ([`note_free`]).
fn app_only(field: FieldId) -> bool {
    use crate::filter::fields::Field::*;
    super::packet_view::needs_app(field) || matches!(field.field(), Some(Http | Quic))
}

/// Whether `field` has the same values on every *note-free* regular packet of one
/// connection direction (no application note, no TLS fact in its row): the
/// [`flow_constant`] fields, the [`app_only`] ones (absent) and `dns`, which such a
/// packet shows when UDP on port 53 (a question of its ports).
fn note_free_constant(field: FieldId) -> bool {
    flow_constant(field)
        || app_only(field)
        || field.field() == Some(crate::filter::fields::Field::Dns)
}

/// Whether packet `row` has neither application notes nor TLS facts.
fn note_free(row: &PacketRow) -> bool {
    !row.has(bit::NOTE) && !row.has(bit::TLS)
}

impl FilterIndex {
    pub fn new() -> Self {
        FilterIndex::default()
    }

    /// Records one packet (its row goes into the [`PacketTable`], pushed by the
    /// caller). Call for every packet in file order, with the summaries of an engine run
    /// with `EngineConfig::want_app_fields` (else `dns.*`/`http.*`/`tls.*` fields never
    /// match).
    pub fn push(&mut self, frame: &Frame<'_>, s: &PacketSummary) {
        let context = &mut self.context;
        let mut fragment = false;
        let mut tuple = None;
        let mut shows = None;
        let step = self.redecoder.with(frame, |pkt, whole| {
            fragment = pkt.ip.as_ref().is_some_and(|i| i.is_fragment());
            tuple = FlowTuple::of(pkt, whole);
            if !s.notes.is_empty() {
                shows = Some(Presence::of(&PacketView {
                    id: s.id,
                    len: frame.meta.origlen,
                    caplen: frame.meta.caplen,
                    rel: 0.0,
                    delta: 0.0,
                    pkt,
                    whole,
                    row: PacketRow::from_summary(s),
                    tcp_rel: RelNumbers::default(),
                    stream: None,
                    notes: &s.notes,
                    tls: s.tls.as_deref(),
                    dns_time: None,
                    outcome: None,
                }));
            }
            context.next(whole.unwrap_or(pkt), s)
        });
        if self.len.is_multiple_of(PRESENCE_STRIDE) {
            self.presence_marks.push(self.presence.len() as u32);
        }
        if let Some(p) = shows {
            self.presence.push(p.0);
        }
        let id = s.id.0;
        if fragment {
            self.fragments.push(id);
        }
        let regular = match (tuple, step.row.conn(), step.row.dir()) {
            (Some(t), Some(c), Some(d)) => {
                let t = if d == Direction::ClientToServer {
                    t
                } else {
                    t.reversed()
                };
                match self.tuples.get(&c.0) {
                    Some(seen) => *seen == t,
                    // A packet after its connection ended (its tuple is forgotten).
                    None if self.outcome(c).is_some() => false,
                    None => {
                        self.tuples.insert(c.0, t);
                        if !t.tcp && (t.sport == 53 || t.dport == 53) {
                            let (w, b) = (c.0 as usize / 64, c.0 % 64);
                            if self.udp53.len() <= w {
                                self.udp53.resize(w + 1, 0);
                            }
                            self.udp53[w] |= 1 << b;
                        }
                        true
                    }
                }
            }
            _ => false,
        };
        if !regular {
            self.irregular.push(id);
        }
        if let Some(t) = step.dns_time {
            self.dns_ids.push(id);
            self.dns_secs.push(t);
        }
        self.len += 1;
    }

    /// Records how a connection ended (`conn.state`, `conn.name`), from
    /// `Engine::take_conns` and the story's `NameIndex`.
    pub fn set_outcome(&mut self, conn: ConnId, outcome: ConnOutcome) {
        let kinds = &mut self.outcome_kinds;
        let code = *self.outcome_codes.entry(outcome).or_insert_with_key(|o| {
            kinds.push(o.clone());
            (kinds.len() - 1) as u32
        });
        let c = conn.0 as usize;
        if c >= self.outcome_of.len() {
            self.outcome_of.resize(c + 1, NO_OUTCOME);
        }
        self.outcome_of[c] = code;
        self.tuples.remove(&conn.0);
        // The live connections were once many more (a burst): give the room back.
        if self.tuples.capacity() > 4096 && self.tuples.len() * 4 < self.tuples.capacity() {
            self.tuples.shrink_to(self.tuples.len() * 2);
        }
    }

    /// How connection `conn` ended, once known.
    fn outcome(&self, conn: ConnId) -> Option<&ConnOutcome> {
        let &code = self.outcome_of.get(conn.0 as usize)?;
        self.outcome_kinds.get(code as usize)
    }

    /// `dns.time` of packet `id` (a DNS response whose query was seen).
    fn dns_time(&self, id: u32) -> Option<f64> {
        let i = self.dns_ids.binary_search(&id).ok()?;
        self.dns_secs.get(i).copied()
    }

    /// Whether connection `c`'s regular packets are UDP with port 53 ([`Self::udp53`]).
    fn udp53(&self, c: ConnId) -> bool {
        self.udp53
            .get(c.0 as usize / 64)
            .is_some_and(|w| w & (1 << (c.0 % 64)) != 0)
    }

    /// Where packet `from`'s [`Self::presence`] entry is, or the next noted packet's
    /// (`table` must be the whole file's, from packet 0), when recorded.
    fn presence_at(&self, table: &PacketTable, from: usize) -> Option<usize> {
        if table.first_id() != 0 || from > self.len {
            return None;
        }
        let k = from / PRESENCE_STRIDE;
        let mark = *self.presence_marks.get(k)? as usize;
        let before = (k * PRESENCE_STRIDE..from)
            .filter(|&i| table.get(i as u32).is_some_and(|r| r.has(bit::NOTE)))
            .count();
        Some(mark + before)
    }

    /// Packets a re-filter decodes one by one whatever the filter (see [`FlowTuple`]).
    pub fn irregular(&self) -> usize {
        self.irregular.len()
    }

    /// Packets recorded.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `tcp.stream`/`udp.stream` of a connection (a view filter over connections reads
    /// it as `conns -Y` does).
    pub fn stream(&self, conn: ConnId) -> Option<u32> {
        self.context.stream(Some(conn))
    }
}

/// The packets of `store` that `filter` selects, in order, using `index` for
/// connection-level facts (see the module docs). Packets indexed but missing from
/// the store (a file that shrank) are skipped.
///
/// On a big capture the packets are split into one contiguous range per core, each
/// filtered on its own thread and the results joined in order: the same answer, since
/// a range's [`Redecoder`] first replays the IP fragments before it (the only frames
/// that change its state) and every other input is per packet (`tests/filter_index.rs`
/// compares the two on every shared capture). The TUI's re-filter on the 422,000-packet
/// benchmark capture takes half the time on two cores.
pub fn filter_index(
    store: &FrameStore,
    table: &PacketTable,
    index: &FilterIndex,
    filter: &Filter,
) -> Vec<PacketId> {
    let n = indexed(store, table, index);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    filter_index_split(
        store,
        table,
        index,
        filter,
        cores.min(n / MIN_PER_THREAD).max(1),
    )
}

/// Fewer packets than this per thread are filtered on one (starting a thread costs more).
const MIN_PER_THREAD: usize = 50_000;

/// [`filter_index`] over `parts` contiguous ranges, each on its own thread.
pub fn filter_index_split(
    store: &FrameStore,
    table: &PacketTable,
    index: &FilterIndex,
    filter: &Filter,
    parts: usize,
) -> Vec<PacketId> {
    filter_index_split_conns(store, table, index, filter, parts).0
}

/// [`filter_index`], with what the packets told of the connections' own fields (see
/// [`ConnVerdicts`]): what the TUI's re-filter uses for its connection list.
pub fn filter_index_conns(
    store: &FrameStore,
    table: &PacketTable,
    index: &FilterIndex,
    filter: &Filter,
) -> (Vec<PacketId>, ConnVerdicts) {
    let n = indexed(store, table, index);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    filter_index_split_conns(
        store,
        table,
        index,
        filter,
        cores.min(n / MIN_PER_THREAD).max(1),
    )
}

/// [`filter_index_conns`] over `parts` contiguous ranges, each on its own thread.
pub fn filter_index_split_conns(
    store: &FrameStore,
    table: &PacketTable,
    index: &FilterIndex,
    filter: &Filter,
    parts: usize,
) -> (Vec<PacketId>, ConnVerdicts) {
    let (hits, conns, _) = filter_index_split_stats(store, table, index, filter, parts);
    (hits, conns)
}

/// [`filter_index_split_conns`], also telling how many packets were decoded and how
/// many were answered from their protocol-presence bits (for tests).
pub fn filter_index_split_stats(
    store: &FrameStore,
    table: &PacketTable,
    index: &FilterIndex,
    filter: &Filter,
    parts: usize,
) -> (Vec<PacketId>, ConnVerdicts, PassStats) {
    let (bits, conns, stats) = split_bits(store, table, index, filter, parts);
    (bits.ids().map(PacketId).collect(), conns, stats)
}

/// The packets a re-filter selected, one bit per packet id (bit `id % 64` of word
/// `id / 64`): 2.5 MB for the 20 M packets of the 5 GB capture, where a list of the
/// ids took 80 MB when most match (`tcp.port == 80`), and made by the threads
/// directly, without joining lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MatchBits {
    pub words: Vec<u64>,
    /// Bits set.
    pub count: usize,
}

impl MatchBits {
    /// The ids selected, increasing.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &bits)| {
            let mut b = bits;
            std::iter::from_fn(move || {
                (b != 0).then(|| {
                    let id = (w * 64) as u32 + b.trailing_zeros();
                    b &= b - 1;
                    id
                })
            })
        })
    }
}

/// [`filter_index_conns`] with the selected packets as bits ([`MatchBits`]): what the
/// TUI keeps of a re-filter of the whole file.
pub fn filter_index_bits(
    store: &FrameStore,
    table: &PacketTable,
    index: &FilterIndex,
    filter: &Filter,
) -> (MatchBits, ConnVerdicts) {
    let n = indexed(store, table, index);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let parts = cores.min(n / MIN_PER_THREAD).max(1);
    let (bits, conns, _) = split_bits(store, table, index, filter, parts);
    (bits, conns)
}

/// The re-filter in `parts` contiguous ranges, each on its own thread. The ranges
/// start at multiples of 64, so their bits join by concatenating words.
fn split_bits(
    store: &FrameStore,
    table: &PacketTable,
    index: &FilterIndex,
    filter: &Filter,
    parts: usize,
) -> (MatchBits, ConnVerdicts, PassStats) {
    let n = indexed(store, table, index);
    let parts = parts.clamp(1, n.max(1));
    if parts == 1 {
        let (bits, conns, stats) = filter_range(store, table, index, filter, 0..n);
        return (bits, ConnVerdicts::from_memos(&[conns]), stats);
    }
    let bounds: Vec<usize> = (0..=parts)
        .map(|i| {
            if i == parts {
                n
            } else {
                n * i / parts / 64 * 64
            }
        })
        .collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = bounds
            .windows(2)
            .map(|w| {
                let range = w[0]..w[1];
                scope.spawn(move || filter_range(store, table, index, filter, range))
            })
            .collect();
        let mut out = MatchBits::default();
        let (mut memos, mut stats) = (Vec::new(), PassStats::default());
        for w in workers {
            // A panic in a worker is a bug: surface it where it would have been.
            let (bits, conns, s) = w.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            out.words.extend(bits.words);
            out.count += bits.count;
            memos.push(conns);
            stats.add(s);
        }
        (out, ConnVerdicts::from_memos(&memos), stats)
    })
}

/// Packets both indexed and in the store (a whole-file table starts at packet 0).
fn indexed(store: &FrameStore, table: &PacketTable, index: &FilterIndex) -> usize {
    index.len().min(table.len()).min(store.len())
}

/// The matching packets among `range` (which starts at a multiple of 64), as bits
/// from its start on; what they told of the connections' own fields (one byte a
/// connection, see [`ConnVerdicts`]), and what the pass did.
fn filter_range(
    store: &FrameStore,
    table: &PacketTable,
    index: &FilterIndex,
    filter: &Filter,
    range: std::ops::Range<usize>,
) -> (MatchBits, Vec<u8>, PassStats) {
    debug_assert!(range.start.is_multiple_of(64));
    let mut out = MatchBits {
        words: vec![0; range.end.div_ceil(64) - range.start / 64],
        count: 0,
    };
    let first = store.meta(PacketId(0)).map(|m| m.ts);
    // The time of the last frame before `range` (the first frame's for the first).
    let before_range = range
        .start
        .checked_sub(1)
        .and_then(|p| store.meta(PacketId(p as u32)))
        .map(|m| m.ts)
        .or(first);
    let mut pass = Pass::new(table, index, filter, range.start, true);
    pass.conns = Some(Vec::new());
    // Every row of `range` is visited in order: the noted ones' presence entries follow.
    pass.noted_at = index.presence_at(table, range.start);
    // The defragmenter's state at `range.start`: every earlier fragment, in order.
    let before = index
        .fragments
        .partition_point(|&f| (f as usize) < range.start);
    for &f in &index.fragments[..before] {
        if let Some(frame) = store.frame(PacketId(f)) {
            pass.redecoder.with(&frame, |_, _| ());
        }
    }
    // The last packet decoded (and its time), for `frame.time_delta`: the frames the
    // shortcut skipped are looked at only when a later one needs its predecessor.
    let mut last: Option<(usize, Timestamp)> = None;
    let start = range.start;
    for i in range {
        let id = PacketId(i as u32);
        let Some(&row) = table.get(id.0) else {
            continue;
        };
        let prev = || {
            let floor = last.map_or(start, |(at, _)| at + 1);
            (floor..i)
                .rev()
                .find_map(|j| {
                    table.get(j as u32)?;
                    store.frame(PacketId(j as u32)).map(|f| f.meta.ts)
                })
                .or(last.map(|(_, ts)| ts))
                .or(before_range)
        };
        let (hit, decoded) = pass.test(store, id, row, first, prev);
        if let Some(ts) = decoded {
            last = Some((i, ts));
        }
        if hit {
            out.words[(i - start) / 64] |= 1 << (i % 64);
            out.count += 1;
        }
    }
    (out, pass.conns.unwrap_or_default(), pass.stats)
}

/// No answer known yet for a connection direction ([`Pass`]).
const UNSEEN: u8 = 0;
/// The flow-constant tests decide the filter: false / true.
const NO: u8 = 1;
const YES: u8 = 2;
/// They leave it open: every packet is decoded.
const OPEN: u8 = 3;

/// One re-filter over packets in increasing order: the full evaluation of each
/// irregular packet, and of each regular one unless the filter's [`flow_constant`]
/// tests, evaluated once on the first regular packet of its connection direction,
/// already decide it (see [`FlowTuple`]). Exact: a regular packet's flow-constant
/// tests give what they gave on the first one, and the others are evaluated whenever
/// they may matter. Two refinements: one answer per connection when those tests are
/// [`direction_symmetric`], and a separate answer for the [`note_free`] packets, from
/// the larger set [`note_free_constant`], when the filter reads application fields
/// (`http`, `dns`: only the packets with notes are then decoded). On the way, the
/// first decoded packet of each connection tells what the [`conn_constant`] tests
/// decide of the connection's own fields ([`ConnVerdicts`]).
struct Pass<'a> {
    refilter: Refilter<'a>,
    redecoder: Redecoder,
    /// Whether the filter has a flow-constant test (else every packet is decoded).
    shortcut: bool,
    /// Whether its flow-constant tests are all [`direction_symmetric`]: one answer per
    /// connection then serves both directions.
    per_conn: bool,
    /// Whether it reads a field [`note_free_constant`] knows beyond the flow-constant
    /// ones (`http`, `dns`, ...): the note-free packets of a connection (direction)
    /// then have an answer of their own, from that larger set of tests.
    split_notes: bool,
    /// Whether the filter reads `frame.time_delta` (else the previous frame's time is
    /// not looked up).
    wants_delta: bool,
    /// The irregular packets from the next one to come.
    irregular: &'a [u32],
    /// By `conn * 2 + (server to client)`, or by `conn` when `per_conn`, times two plus
    /// [`note_free`] when `split_notes`: [`UNSEEN`], [`NO`], [`YES`] or [`OPEN`].
    memo: Vec<u8>,
    /// When asked for: by connection, what its first decoded regular packet's
    /// [`conn_constant`] tests decide ([`UNSEEN`], [`NO`], [`YES`], [`OPEN`]).
    conns: Option<Vec<u8>>,
    /// Whether the filter reads a protocol-presence or application field: packets are
    /// then first asked what their [`Presence`] decides (`by_presence`).
    presence: bool,
    /// The next noted packet's entry in `FilterIndex::presence` (`None`: not known,
    /// as when packets are not visited in a whole table's order from one start).
    noted_at: Option<usize>,
    /// What the filter's tests on the fields a [`Presence`] knows decide: by presence
    /// bits for a packet with notes or TLS facts (0..256), then for a regular
    /// note-free packet without and with `dns` (256, 257). [`UNSEEN`], [`NO`], [`YES`] or [`OPEN`].
    by_presence: [u8; 258],
    /// Packets decoded and packets answered from their presence bits (tests assert
    /// the shortcut is taken).
    stats: PassStats,
}

/// What one re-filter did, for tests: packets decoded, and packets answered from
/// their protocol-presence bits without a decode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PassStats {
    pub decoded: usize,
    pub by_presence: usize,
}

impl PassStats {
    fn add(&mut self, other: PassStats) {
        self.decoded += other.decoded;
        self.by_presence += other.by_presence;
    }
}

/// What a packet's [`Presence`] tells for a regular note-free one: every application
/// field absent ([`app_only`]), and `dns` as its connection's [`FilterIndex::udp53`].
fn quiet_known(field: FieldId) -> bool {
    app_only(field) || presence::is_presence(field)
}

impl<'a> Pass<'a> {
    fn new(
        table: &'a PacketTable,
        index: &'a FilterIndex,
        filter: &'a Filter,
        from: usize,
        shortcut: bool,
    ) -> Self {
        let at = index.irregular.partition_point(|&p| (p as usize) < from);
        Pass {
            refilter: Refilter {
                table,
                index,
                filter,
            },
            redecoder: Redecoder::default(),
            shortcut: shortcut && filter.fields_used().any(note_free_constant),
            split_notes: filter
                .fields_used()
                .any(|f| note_free_constant(f) && !flow_constant(f)),
            per_conn: filter
                .fields_used()
                .filter(|&f| flow_constant(f))
                .all(direction_symmetric),
            wants_delta: filter
                .fields_used()
                .any(|f| f.field() == Some(crate::filter::fields::Field::FrameTimeDelta)),
            irregular: &index.irregular[at..],
            memo: Vec::new(),
            conns: None,
            presence: shortcut
                && filter
                    .fields_used()
                    .any(|f| app_only(f) || presence::is_presence(f)),
            noted_at: None,
            by_presence: [UNSEEN; 258],
            stats: PassStats::default(),
        }
    }

    /// What the filter's tests on `bits`' fields decide, for a packet with notes or
    /// TLS facts (`noted`: its application fields are unknown) or a regular one with
    /// neither (see `by_presence`).
    fn presence_answer(&mut self, bits: u8, noted: bool) -> u8 {
        let slot = if noted {
            usize::from(bits)
        } else {
            256 + usize::from(bits != 0)
        };
        if self.by_presence[slot] == UNSEEN {
            let known: fn(FieldId) -> bool = if noted {
                presence::is_presence
            } else {
                quiet_known
            };
            self.by_presence[slot] = match self.refilter.filter.decide(&known, &Presence(bits)) {
                Some(false) => NO,
                Some(true) => YES,
                None => OPEN,
            };
        }
        self.by_presence[slot]
    }

    /// Whether the filter selects packet `id` (with its `row`), and the time of its
    /// frame when it was decoded. Ids must increase from call to call; `prev` gives
    /// the previous frame's time, asked only when the packet is decoded.
    fn test(
        &mut self,
        store: &FrameStore,
        id: PacketId,
        row: PacketRow,
        first: Option<Timestamp>,
        prev: impl FnOnce() -> Option<Timestamp>,
    ) -> (bool, Option<Timestamp>) {
        while let Some((&p, rest)) = self.irregular.split_first() {
            if p >= id.0 {
                break;
            }
            self.irregular = rest;
        }
        let regular = self.irregular.first() != Some(&id.0);
        if self.presence {
            let index = self.refilter.index;
            let noted = row.has(bit::NOTE);
            // A regular packet without notes shows `dns` as its connection's tuple
            // says, `tls` when it has TLS facts, no other protocol.
            let bits = match (noted, row.conn(), row.dir()) {
                (true, _, _) => self
                    .noted_at
                    .and_then(|at| index.presence.get(at).copied())
                    .map(|b| (b, true)),
                (false, Some(c), Some(_)) if regular => {
                    let dns = if index.udp53(c) { presence::DNS } else { 0 };
                    Some(if row.has(bit::TLS) {
                        (dns | presence::TLS, true)
                    } else {
                        (dns, false)
                    })
                }
                _ => None,
            };
            if noted {
                self.noted_at = self.noted_at.map(|at| at + 1);
            }
            if let Some((bits, shows_app)) = bits {
                match self.presence_answer(bits, shows_app) {
                    NO => {
                        self.stats.by_presence += 1;
                        return (false, None);
                    }
                    YES => {
                        self.stats.by_presence += 1;
                        return (true, None);
                    }
                    _ => {}
                }
            }
        }
        let side = match (self.shortcut && regular, row.conn(), row.dir()) {
            (true, Some(c), Some(_)) if self.per_conn => Some(c.0 as usize),
            (true, Some(c), Some(d)) => {
                Some(c.0 as usize * 2 + usize::from(d == Direction::ServerToClient))
            }
            _ => None,
        };
        let quiet = self.split_notes && note_free(&row);
        let side = match side {
            Some(s) if self.split_notes => Some(s * 2 + usize::from(quiet)),
            s => s,
        };
        // What the slot's answer may rest on.
        let known: fn(FieldId) -> bool = if quiet {
            note_free_constant
        } else {
            flow_constant
        };
        let memo = side.map_or(OPEN, |s| self.memo.get(s).copied().unwrap_or(UNSEEN));
        match memo {
            NO => return (false, None),
            YES => return (true, None),
            _ => {}
        }
        let Some(frame) = store.frame(id) else {
            return (false, None);
        };
        self.stats.decoded += 1;
        let ts = frame.meta.ts;
        // `frame.time_delta` is the only reader of the previous frame's time.
        let prev = if self.wants_delta { prev() } else { None };
        // The connection's own fields, once, on a regular packet.
        let conn_slot = match (&mut self.conns, side, row.conn()) {
            (Some(conns), Some(_), Some(c)) => {
                let c = c.0 as usize;
                if conns.len() <= c {
                    conns.resize(c + 1, UNSEEN);
                }
                (conns[c] == UNSEEN).then_some(c)
            }
            _ => None,
        };
        let (decided, hit, conn) =
            self.refilter
                .matches(&mut self.redecoder, &frame, row, first, prev, |f, view| {
                    let decided = (memo == UNSEEN).then(|| f.decide(&known, view)).flatten();
                    let conn = conn_slot.map(|_| f.decide(&conn_constant, view));
                    (decided, decided.unwrap_or_else(|| f.matches(view)), conn)
                });
        if let (Some(c), Some(v), Some(conns)) = (conn_slot, conn, &mut self.conns) {
            conns[c] = match v {
                Some(false) => NO,
                Some(true) => YES,
                None => OPEN,
            };
        }
        if let (UNSEEN, Some(s)) = (memo, side) {
            if self.memo.len() <= s {
                self.memo.resize(s + 1, UNSEEN);
            }
            self.memo[s] = match decided {
                Some(false) => NO,
                Some(true) => YES,
                None => OPEN,
            };
        }
        (hit, Some(ts))
    }
}

/// What a re-filter reads besides the frame: the per-packet table and the index.
struct Refilter<'a> {
    table: &'a PacketTable,
    index: &'a FilterIndex,
    filter: &'a Filter,
}

impl Refilter<'_> {
    /// `eval` on the filter and one frame's view: the frame decoded (and defragmented)
    /// by `redecoder`, with its row and what the index knows about it; `first` and
    /// `prev` are the times of the capture's first frame and of the frame before this
    /// one.
    fn matches<R>(
        &self,
        redecoder: &mut Redecoder,
        frame: &Frame<'_>,
        row: PacketRow,
        first: Option<Timestamp>,
        prev: Option<Timestamp>,
        eval: impl FnOnce(&Filter, &PacketView<'_>) -> R,
    ) -> R {
        let id = frame.meta.id;
        let ts = frame.meta.ts;
        let notes = self.table.notes(id.0);
        redecoder.with(frame, |pkt, whole| {
            eval(
                self.filter,
                &PacketView {
                    id,
                    len: frame.meta.origlen,
                    caplen: frame.meta.caplen,
                    rel: first.map_or(0.0, |f| ts.secs_since(f)),
                    delta: prev.map_or(0.0, |p| ts.secs_since(p)),
                    pkt,
                    whole,
                    row,
                    tcp_rel: self
                        .table
                        .rel_numbers(id.0, whole.unwrap_or(pkt).tcp().map(|t| (t.seq, t.ack))),
                    stream: self.index.context.stream(row.conn()),
                    notes: &notes,
                    tls: self.table.tls(id.0),
                    dns_time: self.index.dns_time(id.0),
                    outcome: row.conn().and_then(|c| self.index.outcome(c)),
                },
            )
        })
    }
}

/// Like [`filter_index`], over only the packets `ids` (in increasing order): what a
/// view limited to one connection, or packets that just arrived, need. A fragment's
/// datagram is reassembled only from fragments among `ids`.
pub fn filter_ids(
    store: &FrameStore,
    table: &PacketTable,
    index: &FilterIndex,
    filter: &Filter,
    ids: &[u32],
) -> Vec<u32> {
    scan_ids(store, table, index, filter, ids, true)
}

/// [`filter_ids`] decoding every packet, without the per-connection shortcut (see
/// [`Pass`]): the reference the shortcut is tested against.
pub fn filter_ids_exhaustive(
    store: &FrameStore,
    table: &PacketTable,
    index: &FilterIndex,
    filter: &Filter,
    ids: &[u32],
) -> Vec<u32> {
    scan_ids(store, table, index, filter, ids, false)
}

fn scan_ids(
    store: &FrameStore,
    table: &PacketTable,
    index: &FilterIndex,
    filter: &Filter,
    ids: &[u32],
    shortcut: bool,
) -> Vec<u32> {
    let mut out = Vec::new();
    let first = store.meta(PacketId(0)).map(|m| m.ts);
    let from = ids.first().map_or(0, |&i| i as usize);
    let mut pass = Pass::new(table, index, filter, from, shortcut);
    for &i in ids {
        let id = PacketId(i);
        if i as usize >= index.len() || i as usize >= store.len() {
            continue;
        }
        let Some(&row) = table.get(i) else {
            continue;
        };
        let prev = || {
            i.checked_sub(1)
                .and_then(|p| store.meta(PacketId(p)))
                .map(|m| m.ts)
        };
        if pass.test(store, id, row, first, prev).0 {
            out.push(i);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::fields;

    /// lab-page.pcap indexed as the TUI's worker does: its frames, packet table and
    /// filter index, from one engine run with the application fields.
    fn lab_page_indexed() -> (FrameStore, PacketTable, FilterIndex) {
        use crate::analysis::{Engine, EngineConfig};
        let p = crate::testutil::bundled_capture("lab-page.pcap");
        let mut store = FrameStore::open(&p).unwrap();
        store.index_all();
        let (mut table, mut idx) = (PacketTable::default(), FilterIndex::new());
        let mut engine = Engine::new(EngineConfig {
            want_app_fields: true,
            ..EngineConfig::default()
        });
        for i in 0..store.len() {
            let f = store.frame(PacketId(i as u32)).unwrap();
            let s = engine.process(&f);
            table.push(&s);
            idx.push(&f, &s);
        }
        (store, table, idx)
    }

    /// The classification, field by field: what a regular packet's tuple, connection
    /// and direction decide, and nothing that may change from packet to packet.
    #[test]
    fn flow_constant_fields() {
        let constant = |name: &str| flow_constant(fields::lookup(name).unwrap().id);
        for name in [
            "frame",
            "ip",
            "ipv6",
            "tcp",
            "udp",
            "icmp",
            "vxlan.vni",
            "ip.addr",
            "ip.src",
            "ip.dst",
            "ip.proto",
            "ipv6.addr",
            "ipv6.nxt",
            "tcp.port",
            "tcp.srcport",
            "udp.dstport",
            "tcp.stream",
            "udp.stream",
            "conn",
            "conn.id",
            "conn.state",
            "conn.name",
            "conn.client",
            "conn.server",
        ] {
            assert!(constant(name), "{name}");
        }
        for name in [
            "eth",
            "eth.addr",
            "vlan",
            "vlan.id",
            "arp",
            "dns",
            "http",
            "tls",
            "quic",
            "frame.number",
            "frame.len",
            "frame.time_delta",
            "ip.ttl",
            "ip.id",
            "ip.len",
            "ip.flags.mf",
            "ipv6.hlim",
            "tcp.flags",
            "tcp.flags.syn",
            "tcp.seq",
            "tcp.len",
            "tcp.window_size",
            "tcp.analysis.flags",
            "udp.length",
            "dns.qry.name",
            "http.host",
            "tls.sni",
            "icmp.type",
        ] {
            assert!(!constant(name), "{name}");
        }
        assert!(!flow_constant(FieldId(u16::MAX)));
    }

    /// The finer classes: fields a connection's two directions show alike, fields a
    /// packet without notes shows alike on its connection direction, fields `conns -Y`
    /// reads as a regular packet does.
    #[test]
    fn symmetric_note_free_and_connection_fields() {
        let id = |name: &str| fields::lookup(name).unwrap().id;
        for name in [
            "ip.addr",
            "tcp.port",
            "udp.port",
            "conn.client",
            "tcp.stream",
            "ip",
        ] {
            assert!(direction_symmetric(id(name)), "{name}");
        }
        for name in [
            "ip.src",
            "ip.dst",
            "ipv6.src",
            "tcp.srcport",
            "udp.dstport",
            "tcp.flags",
        ] {
            assert!(!direction_symmetric(id(name)), "{name}");
        }
        for name in [
            "tcp.port",
            "http",
            "dns",
            "tls",
            "quic",
            "http.host",
            "http.response.code",
            "dns.qry.name",
            "dns.flags.response",
            "tls.handshake.type",
        ] {
            assert!(note_free_constant(id(name)), "{name}");
        }
        for name in ["tcp.flags.syn", "tcp.len", "frame.len", "eth.src", "ip.ttl"] {
            assert!(!note_free_constant(id(name)), "{name}");
        }
        for name in [
            "ip.addr",
            "ipv6.addr",
            "tcp.port",
            "tcp.stream",
            "conn.id",
            "tcp",
            "ip",
        ] {
            assert!(conn_constant(id(name)), "{name}");
        }
        for name in [
            "ip.src",
            "tcp.srcport",
            "conn.client",
            "conn.state",
            "http",
            "dns",
        ] {
            assert!(!conn_constant(id(name)), "{name}");
        }
    }

    /// Which packets of a capture are regular: a fragment and a packet without a
    /// connection are not; a connection's later packets are, until it ends.
    #[test]
    fn regular_packets_of_the_lab_page() {
        use crate::analysis::{Engine, EngineConfig};
        let (store, table, idx) = lab_page_indexed();
        let no_conn = (0..store.len() as u32)
            .filter(|&i| table.get(i).and_then(|r| r.conn()).is_none())
            .count();
        assert!(no_conn > 0);
        // The others are ICMP and the like: most packets are regular.
        assert!(idx.irregular() >= no_conn && idx.irregular() * 10 < store.len());
        // Once connection 34 ended, its packets would be irregular.
        let pkts: Vec<u32> = table.packets_of(ConnId(34), 0).collect();
        let f = store.frame(PacketId(pkts[1])).unwrap();
        let s = Engine::new(EngineConfig::default()).process(&f);
        let mut late = FilterIndex::new();
        late.set_outcome(ConnId(34), ConnOutcome::default());
        let mut row = s.clone();
        row.conn = Some(ConnId(34));
        late.push(&f, &row);
        assert_eq!(late.irregular(), 1);
    }

    #[test]
    fn index_of_the_lab_page_knows_connections_and_streams() {
        // lab-page.pcap: connection 34 is the fetch of /static/app.js (tcp.stream 3: TCP connections 1, 28, 29, 34, 35).
        let (store, table, idx) = lab_page_indexed();
        assert_eq!(idx.len(), store.len());
        let pkts: Vec<PacketId> = table.packets_of(ConnId(34), 0).map(PacketId).collect();
        assert!(pkts.len() >= 10);
        let f = Filter::compile("conn.id == 34").unwrap();
        assert_eq!(filter_index(&store, &table, &idx, &f), pkts);
        let syn =
            Filter::compile("tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.seq == 0").unwrap();
        let starts = filter_index(&store, &table, &idx, &syn);
        assert!(
            starts.contains(&pkts[0]),
            "the connection starts with its SYN"
        );
        let stream =
            Filter::compile("tcp.stream == 3 && http.request.uri contains \"app.js\"").unwrap();
        assert_eq!(filter_index(&store, &table, &idx, &stream).len(), 1);
        assert!(table.packets_of(ConnId(9999), 0).next().is_none());
    }
}
