//! The per-packet table: what the engine said about each packet, 16 bytes a packet.
//!
//! A loaded file is browsed and re-filtered without running the engine again: frames
//! are re-decoded from the frame store (decoding is stateless and cheap), and what one
//! frame alone cannot tell — its connection, its direction, sequence numbers relative
//! to each side's ISN, the TCP analysis flags, the application messages it completed —
//! is kept here while the engine runs once. The TUI's packet rows and the filter index
//! ([`super::FilterIndex`]) both read this one table.
//!
//! Memory: 16 bytes per packet in [`PacketRow`], plus sparse side tables that only hold
//! the packets with application notes or a duplicate-ACK reference, and one window-scale
//! shift per connection side. The notes are held encoded ([`NoteList`]): a few packets'
//! are read at a time (the rows on screen, a re-filter's packet), and whole they took
//! ~120 MB on a capture of 245,000 HTTP exchanges.

use std::collections::HashMap;

use super::engine::PacketSummary;
use super::notes::{AppNote, TlsField, TlsFields};
use crate::base::packed::Packed;
use crate::base::{ConnId, Direction, PacketId};
use crate::flow::TcpAnalysisFlags;

/// No connection (`PacketRow::conn`).
const NO_CONN: u32 = u32::MAX;

/// Flag bits of [`PacketRow`].
pub mod bit {
    /// The flow table saw the packet: its direction is known (see [`C2S`]).
    pub const FLOW: u8 = 1;
    /// Sent by the connection's client (meaningful with [`FLOW`]).
    pub const C2S: u8 = 2;
    /// `rel_seq` is meaningful (TCP).
    pub const SEQ: u8 = 4;
    /// `rel_ack` is meaningful (TCP with the ACK flag and a known peer ISN).
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

/// One packet's row (16 bytes, `Copy`).
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketRow {
    conn: u32,
    rel_seq: u32,
    rel_ack: u32,
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
            rel_seq: 0,
            rel_ack: 0,
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
            if let Some(q) = v.rel_seq {
                r.rel_seq = q;
                r.bits |= bit::SEQ;
            }
            if let Some(a) = v.rel_ack {
                r.rel_ack = a;
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
    /// the engine (the TUI's test source).
    pub fn from_parts(
        conn: Option<ConnId>,
        dir: Option<Direction>,
        rel_seq: Option<u32>,
        rel_ack: Option<u32>,
        analysis: TcpAnalysisFlags,
    ) -> Self {
        let mut r = PacketRow {
            conn: conn.map_or(NO_CONN, |c| c.0),
            rel_seq: rel_seq.unwrap_or(0),
            rel_ack: rel_ack.unwrap_or(0),
            analysis: (analysis.0 & 0xffff) as u16,
            ..PacketRow::default()
        };
        for (on, b) in [
            (dir.is_some(), bit::FLOW),
            (dir == Some(Direction::ClientToServer), bit::C2S),
            (rel_seq.is_some(), bit::SEQ),
            (rel_ack.is_some(), bit::ACK),
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
    pub fn rel_seq(&self) -> Option<u32> {
        self.has(bit::SEQ).then_some(self.rel_seq)
    }
    pub fn rel_ack(&self) -> Option<u32> {
        self.has(bit::ACK).then_some(self.rel_ack)
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

/// The application notes of the packets that have any: their ids, and each packet's
/// notes encoded ([`Packed`]: varints, strings inline, one buffer for all).
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, Default)]
struct NoteList {
    /// Packet ids, increasing, parallel to `notes`.
    ids: Vec<u32>,
    notes: Packed<Vec<AppNote>>,
}

impl NoteList {
    fn push(&mut self, id: u32, notes: &[AppNote]) {
        self.ids.push(id);
        self.notes.push(notes);
    }

    fn append(&mut self, more: NoteList) {
        self.ids.extend(more.ids);
        self.notes.append(more.notes);
    }

    fn get(&self, id: u32) -> Vec<AppNote> {
        self.ids
            .binary_search(&id)
            .ok()
            .and_then(|i| self.notes.get(i))
            .unwrap_or_default()
    }

    fn shrink_to_fit(&mut self) {
        self.ids.shrink_to_fit();
        self.notes.shrink_to_fit();
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
    /// so kept once per side rather than in every row.
    shifts: HashMap<(u32, bool), u8>,
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
                if self.shifts.len() < 1 << 16 {
                    self.shifts.entry((c.0, c2s)).or_insert(w);
                }
            }
        }
        if !s.notes.is_empty() {
            self.notes.push(id, &s.notes);
        }
        if let Some(t) = &s.tls {
            self.tls.push((id, t.clone()));
        }
        if self.first == 0 {
            self.note_span(row.conn, self.rows.len());
        }
        self.rows.push(row);
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
        if self.first == 0 {
            let from = self.rows.len();
            for (i, r) in more.rows.iter().enumerate() {
                self.note_span(r.conn, from + i);
            }
        }
        self.rows.extend_from_slice(&more.rows);
        self.notes.append(more.notes);
        self.tls.extend(more.tls);
        self.dups.extend(more.dups);
        for (k, w) in more.shifts {
            self.shifts.entry(k).or_insert(w);
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
        self.spans.shrink_to_fit();
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

    /// The application notes packet `id` completed (empty for most packets), decoded.
    pub fn notes(&self, id: u32) -> Vec<AppNote> {
        if !self.get(id).is_some_and(|r| r.has(bit::NOTE)) {
            return Vec::new();
        }
        self.notes.get(id)
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
        let mut whole = PacketTable::default();
        summaries.iter().for_each(|s| whole.push(s));
        let mut sliced = PacketTable::default();
        for (k, chunk) in summaries.chunks(7).enumerate() {
            let mut t = PacketTable::starting_at((k * 7) as u32);
            chunk.iter().for_each(|s| t.push(s));
            assert!(sliced.append(t));
        }
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

    #[test]
    fn row_is_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<PacketRow>(), 16);
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
            assert_eq!(r.rel_seq(), s.verdict.as_ref().and_then(|v| v.rel_seq));
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
