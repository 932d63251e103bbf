//! The per-packet table: what the engine said about each packet, 8 bytes a packet.
//!
//! A loaded file is browsed and re-filtered without running the engine again: frames
//! are re-decoded from the frame store (decoding is stateless and cheap), and what one
//! frame alone cannot tell — its connection, its direction, sequence numbers relative
//! to each side's ISN, the TCP analysis flags, the application messages it completed —
//! is kept here while the engine runs once. The TUI's packet rows and the filter index
//! ([`super::FilterIndex`]) both read this one table.
//!
//! Memory: 8 bytes per packet in [`PacketRow`], plus side tables that only hold the
//! packets with application notes (found by their rank among the rows, [`NoteList`])
//! or a duplicate-ACK reference, and per connection
//! side its window-scale shift and the ISN its relative sequence numbers count from.
//! The relative numbers themselves are not kept: a reader has the re-decoded segment's
//! raw numbers and subtracts the side's ISN ([`PacketTable::rel_numbers`]); the few
//! packets the engine numbered from another ISN (one guessed before the side's SYN was
//! seen) are listed apart, so every reader gets exactly the engine's numbers. The notes are held encoded ([`NoteList`]): a few packets'
//! are read at a time (the rows on screen, a re-filter's packet), and whole they took
//! ~120 MB on a capture of 245,000 HTTP exchanges.

use std::collections::HashMap;

use super::engine::PacketSummary;
use super::notes::{AppNote, TlsField, TlsFields};
use crate::base::packed::Packed;
use crate::base::{ConnId, Direction, PacketId};
use crate::flow::PacketVerdict;
use crate::flow::TcpAnalysisFlags;

/// No connection (`PacketRow::conn`).
const NO_CONN: u32 = u32::MAX;
/// Window-scale shifts one table records by `push` at most (appends add theirs).
const MAX_SHIFTS: usize = 1 << 16;

/// Flag bits of [`PacketRow`].
pub mod bit {
    /// The flow table saw the packet: its direction is known (see [`C2S`]).
    pub const FLOW: u8 = 1;
    /// Sent by the connection's client (meaningful with [`FLOW`]).
    pub const C2S: u8 = 2;
    /// The engine numbered the segment's seq relative to its side's ISN (TCP).
    pub const SEQ: u8 = 4;
    /// The engine numbered the segment's ack relative to the peer's ISN (TCP with the
    /// ACK flag and a known peer ISN).
    pub const ACK: u8 = 8;
    /// At least one anomaly (decode, defragmentation or TCP analysis).
    pub const ANOMALY: u8 = 16;
    /// The packet completed application messages: see [`super::PacketTable::notes`].
    pub const NOTE: u8 = 32;
    /// A duplicate ACK: see [`super::PacketTable::dup_ack`].
    pub const DUP: u8 = 64;
    /// The packet shows as TLS: see [`super::PacketTable::tls`].
    pub const TLS: u8 = 128;
}

/// One packet's row (8 bytes, `Copy`).
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketRow {
    conn: u32,
    /// [`TcpAnalysisFlags`] bits (15 flags fit in 16 bits).
    analysis: u16,
    /// Index into [`PROTOS`].
    proto: u8,
    /// [`bit`] flags.
    bits: u8,
}

impl Default for PacketRow {
    fn default() -> Self {
        PacketRow {
            conn: NO_CONN,
            analysis: 0,
            proto: 0,
            bits: 0,
        }
    }
}

impl PacketRow {
    /// The row of one engine summary.
    pub fn from_summary(s: &PacketSummary) -> Self {
        let mut r = PacketRow {
            conn: s.conn.map_or(NO_CONN, |c| c.0),
            proto: proto_code(s.proto),
            ..PacketRow::default()
        };
        if let Some(v) = &s.verdict {
            r.bits |= bit::FLOW;
            if v.dir == Direction::ClientToServer {
                r.bits |= bit::C2S;
            }
            if v.rel_seq.is_some() {
                r.bits |= bit::SEQ;
            }
            if v.rel_ack.is_some() {
                r.bits |= bit::ACK;
            }
            r.analysis = (v.analysis.0 & 0xffff) as u16;
            if v.dup_ack.is_some() {
                r.bits |= bit::DUP;
            }
        }
        if !s.anomalies.is_empty() {
            r.bits |= bit::ANOMALY;
        }
        if !s.notes.is_empty() {
            r.bits |= bit::NOTE;
        }
        if s.tls.is_some() {
            r.bits |= bit::TLS;
        }
        r
    }

    /// A row from its parts, for sources that make their packets up instead of running
    /// the engine (the TUI's test source); `seq` and `ack` say whether the segment's
    /// numbers are relative (the numbers themselves go to [`RelNumbers`]).
    pub fn from_parts(
        conn: Option<ConnId>,
        dir: Option<Direction>,
        seq: bool,
        ack: bool,
        analysis: TcpAnalysisFlags,
    ) -> Self {
        let mut r = PacketRow {
            conn: conn.map_or(NO_CONN, |c| c.0),
            analysis: (analysis.0 & 0xffff) as u16,
            ..PacketRow::default()
        };
        for (on, b) in [
            (dir.is_some(), bit::FLOW),
            (dir == Some(Direction::ClientToServer), bit::C2S),
            (seq, bit::SEQ),
            (ack, bit::ACK),
            (analysis.0 != 0, bit::ANOMALY),
        ] {
            if on {
                r.bits |= b;
            }
        }
        r
    }

    pub fn conn(&self) -> Option<ConnId> {
        (self.conn != NO_CONN).then_some(ConnId(self.conn))
    }
    pub fn has(&self, b: u8) -> bool {
        self.bits & b != 0
    }
    /// The direction, for packets the flow table saw.
    pub fn dir(&self) -> Option<Direction> {
        self.has(bit::FLOW).then_some(if self.has(bit::C2S) {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        })
    }
    pub fn analysis(&self) -> TcpAnalysisFlags {
        TcpAnalysisFlags(u32::from(self.analysis))
    }
    /// The raw [`TcpAnalysisFlags`] bits.
    pub fn analysis_bits(&self) -> u16 {
        self.analysis
    }
    /// Replaces the analysis bits (tests that need a particular combination).
    pub fn set_analysis(&mut self, bits: u16) {
        self.analysis = bits;
    }
    /// The protocol code (see [`proto_label`]).
    pub fn proto(&self) -> u8 {
        self.proto
    }
}

/// Protocol column labels as the `packets` command prints them (lower-case engine
/// name → label). The last entry stands for names not in the table.
pub const PROTOS: [(&str, &str); 23] = [
    ("tcp", "TCP"),
    ("udp", "UDP"),
    ("dns", "DNS"),
    ("http", "HTTP"),
    ("tls", "TLS"),
    ("icmp", "ICMP"),
    ("icmpv6", "ICMPv6"),
    ("ipv4", "IPv4"),
    ("ipv6", "IPv6"),
    ("arp", "ARP"),
    ("eth", "ETH"),
    ("NULL", "NULL"),
    ("EN10MB", "EN10MB"),
    ("RAW", "RAW"),
    ("LOOP", "LOOP"),
    ("LINUX_SLL", "LINUX_SLL"),
    ("IPV4", "IPV4"),
    ("IPV6", "IPV6"),
    ("LINUX_SLL2", "LINUX_SLL2"),
    ("http2", "HTTP2"),
    ("quic", "QUIC"),
    ("http3", "HTTP3"),
    ("unknown", "UNKNOWN"),
];

/// Code of an engine protocol name (unknown names map to the last entry).
pub fn proto_code(name: &str) -> u8 {
    PROTOS
        .iter()
        .position(|(n, _)| *n == name)
        .unwrap_or(PROTOS.len() - 1) as u8
}

/// Column label of a protocol code.
pub fn proto_label(code: u8) -> &'static str {
    PROTOS.get(code as usize).map_or("UNKNOWN", |p| p.1)
}

/// Rows per entry of [`NoteList::before`].
const RANK_BLOCK: usize = 64;

/// The application notes of the packets that have any, each packet's encoded
/// ([`Packed`]: varints, strings inline, in compressed blocks), in row order.
///
/// Which record is a packet's is its rank among the rows with [`bit::NOTE`]: the count
/// before its block of [`RANK_BLOCK`] rows, plus those in the block before it (a scan
/// of at most 63 rows). This replaces a list of the packets' ids (4 bytes a noted
/// packet: 15 MB on a capture of 20 M packets and 3.9 M notes) by 4 bytes a block.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, Default)]
struct NoteList {
    notes: Packed<Vec<AppNote>>,
    /// Per block of [`RANK_BLOCK`] rows: the rows with notes before it (one entry per
    /// block begun: `rows.len().div_ceil(RANK_BLOCK)`).
    before: Vec<u32>,
}

/// Rows of `rows` with notes.
fn noted(rows: &[PacketRow]) -> usize {
    rows.iter().filter(|r| r.has(bit::NOTE)).count()
}

impl NoteList {
    /// Counts up to the rows now in the table (after a push or an append).
    fn extend_ranks(&mut self, rows: &[PacketRow]) {
        while self.before.len() * RANK_BLOCK < rows.len() {
            let b = self.before.len();
            let count = match b.checked_sub(1) {
                None => 0,
                Some(p) => {
                    let prev = self.before.get(p).copied().unwrap_or(0);
                    let block = rows.get(p * RANK_BLOCK..b * RANK_BLOCK).unwrap_or_default();
                    prev + noted(block) as u32
                }
            };
            self.before.push(count);
        }
    }

    /// The notes of the row at `i` of `rows` (one with [`bit::NOTE`]).
    fn get(&self, rows: &[PacketRow], i: usize) -> Vec<AppNote> {
        let b = i / RANK_BLOCK;
        let Some(&base) = self.before.get(b) else {
            return Vec::new();
        };
        let k = noted(rows.get(b * RANK_BLOCK..i).unwrap_or_default());
        self.notes.get(base as usize + k).unwrap_or_default()
    }

    fn shrink_to_fit(&mut self) {
        self.before.shrink_to_fit();
        self.notes.shrink_to_fit();
    }
}

/// A TCP segment's sequence and acknowledgement numbers relative to each side's ISN
/// (tshark's `tcp.seq`, `tcp.ack`), when the engine numbered them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RelNumbers {
    pub seq: Option<u32>,
    pub ack: Option<u32>,
}

impl RelNumbers {
    /// The numbers of one engine verdict.
    pub fn of(v: Option<&PacketVerdict>) -> Self {
        v.map_or_else(RelNumbers::default, |v| RelNumbers {
            seq: v.rel_seq,
            ack: v.rel_ack,
        })
    }
}

/// What one packet's relative numbers count from.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
enum Basis {
    /// The ISNs: relative = raw − base (seq from the sender's, ack from the peer's).
    Isns { seq: u32, ack: u32 },
    /// The relative numbers themselves: the packet completed an IP datagram from
    /// fragments, so its TCP header is not in its own frame (a view showing the frame
    /// alone has no raw numbers, yet the ladder shows the engine's).
    Rel { seq: u32, ack: u32 },
}

impl Basis {
    /// The basis of one engine summary (`None`: no relative numbers).
    fn of(s: &PacketSummary) -> Option<Basis> {
        let v = s.verdict.as_ref()?;
        if v.rel_seq.is_none() && v.rel_ack.is_none() {
            return None;
        }
        Some(if s.reassembled {
            Basis::Rel {
                seq: v.rel_seq.unwrap_or(0),
                ack: v.rel_ack.unwrap_or(0),
            }
        } else {
            Basis::Isns {
                seq: v.seq_base.unwrap_or(0),
                ack: v.ack_base.unwrap_or(0),
            }
        })
    }
}

/// The rows of consecutive packets from `first` on, with their side tables. A whole
/// file's table starts at 0; a worker fills a table per slice from where the last one
/// ended and [`PacketTable::append`]s it to the whole.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, Default)]
pub struct PacketTable {
    /// Packet id of `rows[0]`.
    first: u32,
    rows: Vec<PacketRow>,
    /// Application notes (with their [`super::AppData`]) of the packets that have any,
    /// by packet id (increasing).
    notes: NoteList,
    /// TLS facts ([`TlsFields`]) of the packets that show as TLS, by packet id
    /// (increasing); kept when the engine ran with `want_app_fields`.
    tls: Vec<(u32, TlsFields)>,
    /// Duplicate ACKs: the frame each duplicates and its number.
    dups: Vec<(u32, PacketId, u32)>,
    /// Window-scale shift per (connection, sent by the client): fixed by the handshake,
    /// so kept once per side rather than in every row. A slice's (a table not starting
    /// at packet 0: few connections, with ids anywhere), settled into `shift_of` when
    /// appended to a whole table.
    shifts: HashMap<(u32, bool), u8>,
    /// A whole table's shifts, by connection id: the client's and the server's, each
    /// the shift plus one (0: not known). A map by (connection, side) took ~50 bytes a
    /// connection (12 MB on manyflows.pcap's 267 k), this 4.
    shift_of: Vec<[u16; 2]>,
    /// Shifts known in `shift_of` (a table records at most `MAX_SHIFTS` by `push`).
    shift_count: usize,
    /// The ISN each side of a connection counts from, by connection id, indexed by
    /// [`Direction::index`]: the first the engine used for that side (kept by tables
    /// that start at packet 0; a slice keeps its packets' bases in `pending`).
    isns: Vec<[u32; 2]>,
    /// Which of `isns` are known: bit `1 << Direction::index()`, by connection id.
    isn_known: Vec<u8>,
    /// The packets whose numbers do not count from their sides' `isns` (the engine
    /// guessed an ISN before the side's SYN came, or the packet completed fragments),
    /// by packet id (increasing): few or none in most captures.
    odd: Vec<(u32, Basis)>,
    /// A slice's packets with relative numbers and their bases, settled into `isns`
    /// and `odd` when the slice is appended to a whole table.
    #[serde(skip)]
    pending: Vec<(u32, Basis)>,
    /// First and last row index of each connection, by connection id, kept by tables
    /// that start at packet 0 (a whole file's): [`PacketTable::packets_of`] then reads
    /// only the rows between a connection's first and last packet, not the whole table
    /// (a 50 M-packet file: microseconds, not a 0.1 s scan, to open a short connection).
    spans: Vec<(u32, u32)>,
}

impl PacketTable {
    /// An empty table whose first row will be packet `first`.
    pub fn starting_at(first: u32) -> Self {
        PacketTable {
            first,
            ..Default::default()
        }
    }

    /// Records one engine summary (packets must come in id order).
    pub fn push(&mut self, s: &PacketSummary) {
        let id = s.id.0;
        let row = PacketRow::from_summary(s);
        if let Some(v) = &s.verdict {
            if let Some((p, n)) = v.dup_ack {
                self.dups.push((id, p, n));
            }
            if let (Some(w), Some(c)) = (v.win_shift, s.conn) {
                let c2s = v.dir == Direction::ClientToServer;
                if self.first == 0 {
                    if self.shift_count < MAX_SHIFTS {
                        self.settle_shift(c.0, c2s, w);
                    }
                } else if self.shifts.len() < MAX_SHIFTS {
                    self.shifts.entry((c.0, c2s)).or_insert(w);
                }
            }
        }
        if !s.notes.is_empty() {
            self.notes.notes.push(&s.notes);
        }
        if let Some(t) = &s.tls {
            self.tls.push((id, t.clone()));
        }
        if self.first == 0 {
            self.note_span(row.conn, self.rows.len());
        }
        self.rows.push(row);
        self.notes.extend_ranks(&self.rows);
        if let Some(b) = Basis::of(s) {
            if self.first == 0 {
                self.settle(id, row, b);
            } else {
                self.pending.push((id, b));
            }
        }
    }

    /// Records what packet `id`'s numbers count from (in packet order, whole tables):
    /// the first ISN seen for a side becomes the side's; a packet counting from
    /// another goes to `odd`.
    fn settle(&mut self, id: u32, row: PacketRow, b: Basis) {
        let (Basis::Isns { seq, ack }, Some(c), Some(d)) = (b, row.conn(), row.dir()) else {
            self.odd.push((id, b));
            return;
        };
        let c = c.0 as usize;
        if c >= self.isns.len() {
            self.isns.resize(c + 1, [0; 2]);
            self.isn_known.resize(c + 1, 0);
        }
        let (i, o) = (d.index(), d.reverse().index());
        let mut fits = true;
        for (on, side, base) in [(row.has(bit::SEQ), i, seq), (row.has(bit::ACK), o, ack)] {
            if !on {
                continue;
            }
            if self.isn_known[c] & (1 << side) == 0 {
                self.isn_known[c] |= 1 << side;
                self.isns[c][side] = base;
            }
            fits &= self.isns[c][side] == base;
        }
        if !fits {
            self.odd.push((id, b));
        }
    }

    /// Records one side's shift in a whole table, unless that side's is known already
    /// (the first one stands, as in a slice's map).
    fn settle_shift(&mut self, conn: u32, c2s: bool, w: u8) {
        let c = conn as usize;
        if c >= self.shift_of.len() {
            self.shift_of.resize(c + 1, [0; 2]);
        }
        if let Some(slot) = self.shift_of.get_mut(c).map(|s| &mut s[usize::from(!c2s)]) {
            if *slot == 0 {
                *slot = u16::from(w) + 1;
                self.shift_count += 1;
            }
        }
    }

    /// Widens connection `conn`'s span to row `at`.
    fn note_span(&mut self, conn: u32, at: usize) {
        if conn == NO_CONN {
            return;
        }
        let (c, at) = (conn as usize, at as u32);
        if c >= self.spans.len() {
            self.spans.resize(c + 1, (u32::MAX, 0));
        }
        if let Some(s) = self.spans.get_mut(c) {
            s.0 = s.0.min(at);
            s.1 = s.1.max(at);
        }
    }

    /// Appends a table that continues this one; one that does not is ignored (it cannot
    /// happen with one worker, and mixing ids would mislabel every later row).
    pub fn append(&mut self, more: PacketTable) -> bool {
        if more.first as usize != self.first as usize + self.rows.len() {
            return false;
        }
        if self.rows.is_empty() {
            // The first slice (a whole table itself when it starts at packet 0).
            *self = more;
            return true;
        }
        if self.first == 0 {
            let from = self.rows.len();
            for (i, r) in more.rows.iter().enumerate() {
                self.note_span(r.conn, from + i);
            }
        }
        self.rows.extend_from_slice(&more.rows);
        if self.first == 0 {
            for (id, b) in more.pending {
                if let Some(&row) = self.rows.get(id as usize) {
                    self.settle(id, row, b);
                }
            }
        } else {
            self.pending.extend(more.pending);
        }
        self.notes.notes.append(more.notes.notes);
        self.notes.extend_ranks(&self.rows);
        self.tls.extend(more.tls);
        self.dups.extend(more.dups);
        for ((c, c2s), w) in more.shifts {
            if self.first == 0 {
                self.settle_shift(c, c2s, w);
            } else {
                self.shifts.entry((c, c2s)).or_insert(w);
            }
        }
        true
    }

    /// Gives back the room the table grew into: call once it is complete (the rows
    /// grew by doubling, so up to half their memory is spare).
    pub fn shrink_to_fit(&mut self) {
        self.rows.shrink_to_fit();
        self.notes.shrink_to_fit();
        self.tls.shrink_to_fit();
        self.dups.shrink_to_fit();
        self.shifts.shrink_to_fit();
        self.shift_of.shrink_to_fit();
        self.spans.shrink_to_fit();
        self.isns.shrink_to_fit();
        self.isn_known.shrink_to_fit();
        self.odd.shrink_to_fit();
        self.pending.shrink_to_fit();
    }

    /// Packet id of the first row (0 for a whole file's table).
    pub fn first_id(&self) -> u32 {
        self.first
    }

    /// Packets recorded (from `first`: a whole table holds ids `0..len()`).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn get(&self, id: u32) -> Option<&PacketRow> {
        self.rows.get(id.checked_sub(self.first)? as usize)
    }

    /// Packet `id`'s sequence and acknowledgement numbers relative to each side's ISN,
    /// as the engine numbered them, from the segment's raw `(seq, ack)` (the packet
    /// re-decoded: the datagram it completed, for the last IP fragment); none without
    /// them, except on that last fragment (its header is not in its frame alone).
    pub fn rel_numbers(&self, id: u32, raw: Option<(u32, u32)>) -> RelNumbers {
        let Some(&row) = self.get(id) else {
            return RelNumbers::default();
        };
        let (has_seq, has_ack) = (row.has(bit::SEQ), row.has(bit::ACK));
        if !has_seq && !has_ack {
            return RelNumbers::default();
        }
        let (seq, ack) = match self.basis(id, row) {
            Some(Basis::Rel { seq, ack }) => (seq, ack),
            Some(Basis::Isns { seq, ack }) => match raw {
                Some((s, a)) => (s.wrapping_sub(seq), a.wrapping_sub(ack)),
                None => return RelNumbers::default(),
            },
            None => return RelNumbers::default(),
        };
        RelNumbers {
            seq: has_seq.then_some(seq),
            ack: has_ack.then_some(ack),
        }
    }

    /// What packet `id` (its row `row`) counts its numbers from.
    fn basis(&self, id: u32, row: PacketRow) -> Option<Basis> {
        let find = |list: &[(u32, Basis)]| {
            let i = list.binary_search_by_key(&id, |e| e.0).ok()?;
            list.get(i).map(|e| e.1)
        };
        if self.first != 0 {
            return find(&self.pending);
        }
        if let Some(b) = find(&self.odd) {
            return Some(b);
        }
        let d = row.dir()?;
        let sides = self.isns.get(row.conn()?.0 as usize)?;
        Some(Basis::Isns {
            seq: sides[d.index()],
            ack: sides[d.reverse().index()],
        })
    }

    /// The application notes packet `id` completed (empty for most packets), decoded.
    pub fn notes(&self, id: u32) -> Vec<AppNote> {
        if !self.get(id).is_some_and(|r| r.has(bit::NOTE)) {
            return Vec::new();
        }
        self.notes.get(&self.rows, (id - self.first) as usize)
    }

    /// The TLS facts of packet `id`, when it shows as TLS (see [`TlsFields`]).
    pub fn tls(&self, id: u32) -> Option<&[TlsField]> {
        if !self.get(id).is_some_and(|r| r.has(bit::TLS)) {
            return None;
        }
        let i = self.tls.binary_search_by_key(&id, |e| e.0).ok()?;
        self.tls.get(i).map(|e| &*e.1)
    }

    /// For a duplicate ACK: the frame it duplicates and its number.
    pub fn dup_ack(&self, id: u32) -> Option<(PacketId, u32)> {
        let i = self.dups.binary_search_by_key(&id, |e| e.0).ok()?;
        self.dups.get(i).map(|e| (e.1, e.2))
    }

    /// The window-scale shift of one side of a connection, once known.
    pub fn shift(&self, conn: u32, c2s: bool) -> Option<u8> {
        if self.first == 0 {
            let s = self.shift_of.get(conn as usize)?[usize::from(!c2s)];
            return s.checked_sub(1).and_then(|s| u8::try_from(s).ok());
        }
        self.shifts.get(&(conn, c2s)).copied()
    }

    /// Ids of the packets of connection `conn` from row `from` on, in order: the rows
    /// of its span in a whole table (see `spans`), else a linear scan (about a
    /// millisecond per million packets).
    pub fn packets_of(&self, conn: ConnId, from: usize) -> impl Iterator<Item = u32> + '_ {
        let first = self.first;
        let (start, end) = if self.first == 0 {
            match self.spans.get(conn.0 as usize) {
                Some(&(a, b)) if a <= b => (from.max(a as usize), b as usize + 1),
                _ => (0, 0),
            }
        } else {
            (from, self.rows.len())
        };
        self.rows
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter(move |(_, r)| r.conn == conn.0)
            .map(move |(i, _)| first + (start + i) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table of `summaries` built whole, and built from slices of `n` packets
    /// appended one after another (as the TUI's worker builds it).
    fn whole_and_sliced(summaries: &[PacketSummary], n: usize) -> (PacketTable, PacketTable) {
        let mut whole = PacketTable::default();
        summaries.iter().for_each(|s| whole.push(s));
        let mut sliced = PacketTable::default();
        for (k, chunk) in summaries.chunks(n).enumerate() {
            let mut t = PacketTable::starting_at((k * n) as u32);
            chunk.iter().for_each(|s| t.push(s));
            assert!(sliced.append(t));
        }
        (whole, sliced)
    }

    /// Every side's window-scale shift reads as the first the engine gave it, from a
    /// whole table and from one appended in slices (kept by connection id there, in a
    /// map in each slice), and after the table went through the cache's encoding.
    #[test]
    fn window_shifts_read_as_the_engine_gave_them() {
        use crate::analysis::{Engine, EngineConfig};
        let mut sides = 0;
        for path in crate::testutil::all_captures() {
            let Ok(mut src) = crate::capture::open(&path) else {
                continue;
            };
            let mut engine = Engine::new(EngineConfig::default());
            let mut summaries = Vec::new();
            while let Ok(Some(f)) = src.next_frame() {
                summaries.push(engine.process(&f));
            }
            let mut want: HashMap<(u32, bool), u8> = HashMap::new();
            for s in &summaries {
                if let (Some(v), Some(c)) = (&s.verdict, s.conn) {
                    if let Some(w) = v.win_shift {
                        let c2s = v.dir == Direction::ClientToServer;
                        want.entry((c.0, c2s)).or_insert(w);
                    }
                }
            }
            let (whole, sliced) = whole_and_sliced(&summaries, 61);
            let saved: PacketTable =
                postcard::from_bytes(&postcard::to_allocvec(&sliced).unwrap()).unwrap();
            let conns = summaries.iter().filter_map(|s| s.conn).map(|c| c.0).max();
            for c in 0..conns.map_or(0, |m| m + 2) {
                for c2s in [true, false] {
                    let w = want.get(&(c, c2s)).copied();
                    for t in [&whole, &sliced, &saved] {
                        assert_eq!(t.shift(c, c2s), w, "{}: {c} {c2s}", path.display());
                    }
                }
            }
            sides += want.len();
        }
        assert!(sides > 100, "{sides} sides with a shift");
    }

    /// `packets_of` reads only a connection's span in a whole table (built by `push`,
    /// or by appending slices as the TUI does) and finds exactly what a scan of every
    /// row finds, from any starting row, on a real capture with many connections.
    #[test]
    fn packets_of_a_span_equal_a_scan_of_every_row() {
        use crate::analysis::{Engine, EngineConfig};
        use crate::capture::FrameStore;
        let p = crate::testutil::bundled_capture("lab-page.pcap");
        let mut store = FrameStore::open(&p).unwrap();
        store.index_all();
        let mut engine = Engine::new(EngineConfig::default());
        let summaries: Vec<_> = (0..store.len())
            .map(|i| engine.process(&store.frame(PacketId(i as u32)).unwrap()))
            .collect();
        let (whole, sliced) = whole_and_sliced(&summaries, 7);
        let conns: std::collections::BTreeSet<u32> = summaries
            .iter()
            .filter_map(|s| s.conn.map(|c| c.0))
            .collect();
        assert!(conns.len() > 10, "{} connections", conns.len());
        for &c in conns.iter().chain(&[u32::MAX - 1]) {
            for from in [
                0,
                1,
                summaries.len() / 2,
                summaries.len(),
                summaries.len() + 5,
            ] {
                let scan: Vec<u32> = summaries
                    .iter()
                    .enumerate()
                    .skip(from)
                    .filter(|(_, s)| s.conn == Some(ConnId(c)))
                    .map(|(i, _)| i as u32)
                    .collect();
                assert_eq!(whole.packets_of(ConnId(c), from).collect::<Vec<_>>(), scan);
                assert_eq!(sliced.packets_of(ConnId(c), from).collect::<Vec<_>>(), scan);
            }
        }
    }

    /// A side whose ISN the engine changed (data before the side's SYN, then the SYN)
    /// and a packet that completed IP fragments: their numbers are kept apart, and a
    /// reader gets the engine's numbers back from the raw ones, from a whole table and
    /// from one appended slice by slice.
    #[test]
    fn numbers_counted_from_another_isn_come_back_exact() {
        use crate::base::{LinkType, Timestamp};
        use crate::flow::PacketVerdict;
        // (direction, raw seq, raw ack or none, seq base, ack base, reassembled)
        let c2s = Direction::ClientToServer;
        let s2c = Direction::ServerToClient;
        let pkts: [(Direction, u32, Option<u32>, u32, u32, bool); 7] = [
            (s2c, 5_000, Some(101), 4_999, 100, false), // server data first: ISN guessed
            (c2s, 101, Some(5_010), 100, 4_999, false),
            (s2c, 9_000, Some(101), 9_000, 100, false), // its SYN/ACK: another ISN
            (c2s, 101, Some(9_001), 100, 9_000, false),
            (s2c, 9_001, Some(101), 9_000, 100, true), // completed fragments
            (c2s, 101, None, 100, 0, false),
            (s2c, 9_100, Some(101), 9_000, 100, false),
        ];
        let summaries: Vec<PacketSummary> = pkts
            .iter()
            .enumerate()
            .map(|(i, &(dir, seq, ack, sb, ab, reassembled))| PacketSummary {
                id: PacketId(i as u32),
                ts: Timestamp(i as i64),
                caplen: 60,
                len: 60,
                iface: 0,
                link: LinkType(1),
                src: None,
                dst: None,
                sport: None,
                dport: None,
                proto: "tcp",
                conn: Some(ConnId(3)),
                verdict: Some(PacketVerdict {
                    conn: Some(ConnId(3)),
                    dir,
                    analysis: TcpAnalysisFlags::EMPTY,
                    rel_seq: Some(seq.wrapping_sub(sb)),
                    rel_ack: ack.map(|a| a.wrapping_sub(ab)),
                    seq_base: Some(sb),
                    ack_base: ack.map(|_| ab),
                    new_conn: i == 0,
                    dup_ack: None,
                    win_shift: None,
                }),
                notes: Vec::new(),
                tls: None,
                info: String::new(),
                anomalies: Vec::new(),
                reassembled,
            })
            .collect();
        let (whole, sliced) = whole_and_sliced(&summaries, 2);
        for (i, (s, &(_, seq, ack, ..))) in summaries.iter().zip(&pkts).enumerate() {
            let want = RelNumbers::of(s.verdict.as_ref());
            let raw = Some((seq, ack.unwrap_or(0)));
            for t in [&whole, &sliced] {
                assert_eq!(t.rel_numbers(i as u32, raw), want, "packet {i}");
            }
            // Without the segment (its frame alone): only the fragments' last one.
            let alone = if s.reassembled {
                want
            } else {
                RelNumbers::default()
            };
            assert_eq!(whole.rel_numbers(i as u32, None), alone, "packet {i}");
        }
        // A side's first ISN is its own: the server's packets after its SYN/ACK (and
        // the client's acks of them) count from another; packet 4 completed fragments.
        let odd: Vec<u32> = whole.odd.iter().map(|e| e.0).collect();
        assert_eq!(odd, [2, 3, 4, 6]);
        assert_eq!(sliced.odd, whole.odd);
        assert_eq!(whole.rel_numbers(99, Some((1, 1))), RelNumbers::default());
    }

    /// Every packet's notes read back exactly, on every capture: from a whole table,
    /// from one appended in slices of 61 and of 64 packets (block edges inside and on a
    /// slice's edge), and after the cache's encoding; rows equal across all of them.
    #[test]
    fn notes_come_back_by_rank_from_every_kind_of_table() {
        use crate::analysis::{Engine, EngineConfig};
        let mut noted = 0;
        for path in crate::testutil::all_captures() {
            let Ok(mut src) = crate::capture::open(&path) else {
                continue;
            };
            let mut engine = Engine::new(EngineConfig {
                want_app_fields: true,
                ..EngineConfig::default()
            });
            let mut summaries = Vec::new();
            while let Ok(Some(f)) = src.next_frame() {
                summaries.push(engine.process(&f));
            }
            let (whole, sliced) = whole_and_sliced(&summaries, 61);
            let (_, by64) = whole_and_sliced(&summaries, RANK_BLOCK);
            let saved: PacketTable =
                postcard::from_bytes(&postcard::to_allocvec(&sliced).unwrap()).unwrap();
            for t in [&whole, &sliced, &by64, &saved] {
                assert_eq!(t.notes.before.len(), t.len().div_ceil(RANK_BLOCK));
            }
            for (i, s) in summaries.iter().enumerate() {
                let id = i as u32;
                for t in [&whole, &sliced, &by64, &saved] {
                    assert_eq!(t.get(id), whole.get(id), "{}: {i}", path.display());
                    assert_eq!(t.notes(id), s.notes, "{}: {i}", path.display());
                }
            }
            noted += summaries.iter().filter(|s| !s.notes.is_empty()).count();
        }
        assert!(noted > 500, "{noted} packets with notes");
    }

    #[test]
    fn row_is_eight_bytes() {
        assert_eq!(std::mem::size_of::<PacketRow>(), 8);
    }

    #[test]
    fn proto_codes_round_trip_and_unknown_is_last() {
        for (name, label) in PROTOS {
            assert_eq!(proto_label(proto_code(name)), label);
        }
        assert_eq!(proto_label(proto_code("sctp")), "UNKNOWN");
        assert_eq!(proto_label(200), "UNKNOWN");
    }

    #[test]
    fn appended_tables_must_continue_and_keep_notes_and_directions() {
        use crate::analysis::{Engine, EngineConfig};
        use crate::capture::FrameStore;
        use crate::decode;
        let p = crate::testutil::bundled_capture("lab-page.pcap");
        let mut store = FrameStore::open(&p).unwrap();
        store.index_all();
        let mut engine = Engine::new(EngineConfig {
            want_app_fields: true,
            ..EngineConfig::default()
        });
        let summaries: Vec<_> = (0..store.len())
            .map(|i| engine.process(&store.frame(PacketId(i as u32)).unwrap()))
            .collect();
        // The whole table, and the same built in two slices.
        let mut whole = PacketTable::default();
        summaries.iter().for_each(|s| whole.push(s));
        let half = summaries.len() / 2;
        let mut a = PacketTable::starting_at(0);
        let mut b = PacketTable::starting_at(half as u32);
        summaries[..half].iter().for_each(|s| a.push(s));
        summaries[half..].iter().for_each(|s| b.push(s));
        assert!(!a.append(PacketTable::starting_at(half as u32 + 1)));
        assert!(a.append(b));
        assert_eq!(a.len(), whole.len());
        for (i, s) in summaries.iter().enumerate() {
            let id = i as u32;
            assert_eq!(a.get(id), whole.get(id));
            let r = whole.get(id).unwrap();
            assert_eq!(r.conn(), s.conn);
            assert_eq!(r.dir(), s.verdict.as_ref().map(|v| v.dir));
            let raw = store.frame(PacketId(id)).and_then(|f| {
                decode::decode(f.meta.link, f.data)
                    .tcp()
                    .map(|t| (t.seq, t.ack))
            });
            let rel = RelNumbers::of(s.verdict.as_ref());
            assert_eq!(whole.rel_numbers(id, raw), rel, "frame {}", i + 1);
            assert_eq!(a.rel_numbers(id, raw), rel, "frame {}", i + 1);
            assert_eq!(a.notes(id), s.notes);
            assert_eq!(
                a.dup_ack(id),
                s.verdict.as_ref().and_then(|v| v.dup_ack),
                "frame {}",
                i + 1
            );
        }
        assert!(summaries.iter().any(|s| !s.notes.is_empty()));
        assert!(whole.get(whole.len() as u32).is_none());
        let c = summaries.iter().find_map(|s| s.conn).unwrap();
        let ids: Vec<u32> = whole.packets_of(c, 0).collect();
        assert!(!ids.is_empty());
        assert!(ids.iter().all(|&i| summaries[i as usize].conn == Some(c)));
    }
}
