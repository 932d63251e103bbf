//! Per-packet compact facts: what the analysis said about each packet, in 16 bytes.
//!
//! The packet list is virtual and re-decodes the rows on screen from the frame store,
//! but some of a row cannot be recovered from one frame alone: the connection, the
//! direction, sequence numbers relative to each side's ISN, the TCP analysis flags and
//! the application's Info text. The worker records those here as it runs the engine,
//! so a row costs one decode plus O(1) (O(log n) for the rare side-table entries).
//!
//! Memory: 16 bytes per packet in [`Fact`], plus side tables that only hold packets
//! with an application note, a duplicate-ACK reference or a reassembled datagram.

use crate::analysis::PacketSummary;
use crate::base::PacketId;
use crate::flow::TcpAnalysisFlags;

/// No connection (`Fact::conn`).
pub const NO_CONN: u32 = u32::MAX;

/// Flag bits of [`Fact::bits`].
pub mod bit {
    /// Sent by the connection's client.
    pub const C2S: u8 = 1;
    /// `rel_seq` is meaningful (TCP).
    pub const SEQ: u8 = 2;
    /// `rel_ack` is meaningful (TCP with the ACK flag and a known peer ISN).
    pub const ACK: u8 = 4;
    /// At least one anomaly (decode, defragmentation or TCP analysis).
    pub const ANOMALY: u8 = 8;
    /// The packet completed application messages: see [`super::Facts::note`].
    pub const NOTE: u8 = 16;
    /// The packet completed an IP datagram from fragments.
    pub const REASSEMBLED: u8 = 32;
    /// The packet opened its connection.
    pub const NEW_CONN: u8 = 64;
    /// A duplicate ACK: see [`super::Facts::dup_ack`].
    pub const DUP: u8 = 128;
}

/// One packet's analysis facts (16 bytes, `Copy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fact {
    /// Connection id, or [`NO_CONN`].
    pub conn: u32,
    pub rel_seq: u32,
    pub rel_ack: u32,
    /// [`TcpAnalysisFlags`] bits (15 flags fit in 16 bits).
    pub analysis: u16,
    /// Index into [`PROTOS`].
    pub proto: u8,
    /// [`bit`] flags.
    pub bits: u8,
}

impl Fact {
    pub fn conn(&self) -> Option<u32> {
        (self.conn != NO_CONN).then_some(self.conn)
    }
    pub fn has(&self, b: u8) -> bool {
        self.bits & b != 0
    }
    pub fn analysis(&self) -> TcpAnalysisFlags {
        TcpAnalysisFlags(u32::from(self.analysis))
    }
}

/// Protocol column labels as the `packets` command prints them (lower-case engine
/// name → label). The last entry stands for names not in the table.
pub const PROTOS: [(&str, &str); 20] = [
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

/// An application note kept for one packet: its protocol and Info text (several notes
/// of one packet joined as the CLI joins them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub proto: &'static str,
    pub info: String,
}

/// A batch of facts for consecutive packets plus their side-table entries.
#[derive(Clone, Debug, Default)]
pub struct FactBatch {
    /// Packet id of `facts[0]`.
    pub first: u32,
    pub facts: Vec<Fact>,
    pub notes: Vec<(u32, Note)>,
    pub dups: Vec<(u32, PacketId, u32)>,
    /// Window-scale shifts learnt in this batch: (connection, sent by the client, shift).
    pub shifts: Vec<(u32, bool, u8)>,
}

impl FactBatch {
    pub fn new(first: u32) -> Self {
        FactBatch {
            first,
            ..Default::default()
        }
    }

    /// Records one engine summary (packets must come in id order).
    pub fn push(&mut self, s: &PacketSummary) {
        let id = s.id.0;
        let mut f = Fact {
            conn: s.conn.map_or(NO_CONN, |c| c.0),
            proto: proto_code(s.proto),
            ..Fact::default()
        };
        if let Some(v) = &s.verdict {
            if v.dir == crate::base::Direction::ClientToServer {
                f.bits |= bit::C2S;
            }
            if let Some(q) = v.rel_seq {
                f.rel_seq = q;
                f.bits |= bit::SEQ;
            }
            if let Some(a) = v.rel_ack {
                f.rel_ack = a;
                f.bits |= bit::ACK;
            }
            f.analysis = (v.analysis.0 & 0xffff) as u16;
            if v.new_conn {
                f.bits |= bit::NEW_CONN;
            }
            if let Some((p, n)) = v.dup_ack {
                f.bits |= bit::DUP;
                self.dups.push((id, p, n));
            }
            // One entry per connection and direction is enough: the shift is fixed by
            // the handshake (kept out of the 16-byte fact).
            if let (Some(w), Some(c)) = (v.win_shift, s.conn) {
                let c2s = v.dir == crate::base::Direction::ClientToServer;
                if !self.shifts.iter().any(|&(k, d, _)| k == c.0 && d == c2s)
                    && self.shifts.len() < 1 << 16
                {
                    self.shifts.push((c.0, c2s, w));
                }
            }
        }
        if !s.anomalies.is_empty() {
            f.bits |= bit::ANOMALY;
        }
        if s.reassembled {
            f.bits |= bit::REASSEMBLED;
        }
        if let Some(first) = s.notes.first() {
            f.bits |= bit::NOTE;
            let mut info = String::new();
            for (i, n) in s.notes.iter().enumerate() {
                if i > 0 {
                    info.push_str(" , ");
                }
                info.push_str(&n.info);
            }
            self.notes.push((
                id,
                Note {
                    proto: first.proto,
                    info,
                },
            ));
        }
        self.facts.push(f);
    }
}

/// All facts so far, indexed by packet id.
#[derive(Debug, Default)]
pub struct Facts {
    pub facts: Vec<Fact>,
    notes: Vec<(u32, Note)>,
    dups: Vec<(u32, PacketId, u32)>,
    /// Window-scale shift per (connection, sent by the client).
    shifts: std::collections::HashMap<(u32, bool), u8>,
}

impl Facts {
    /// Appends a batch; a batch that does not continue the table is ignored (it cannot
    /// happen with one worker, and mixing ids would mislabel every later row).
    pub fn extend(&mut self, b: FactBatch) -> bool {
        if b.first as usize != self.facts.len() {
            return false;
        }
        self.facts.extend_from_slice(&b.facts);
        self.notes.extend(b.notes);
        self.dups.extend(b.dups);
        for (c, d, w) in b.shifts {
            self.shifts.entry((c, d)).or_insert(w);
        }
        true
    }

    /// The window-scale shift of one side of a connection, once known.
    pub fn shift(&self, conn: u32, c2s: bool) -> Option<u8> {
        self.shifts.get(&(conn, c2s)).copied()
    }

    pub fn len(&self) -> usize {
        self.facts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.facts.is_empty()
    }

    pub fn get(&self, id: u32) -> Option<&Fact> {
        self.facts.get(id as usize)
    }

    /// The application note of packet `id` (binary search in the sparse table).
    pub fn note(&self, id: u32) -> Option<&Note> {
        let i = self.notes.binary_search_by_key(&id, |e| e.0).ok()?;
        self.notes.get(i).map(|e| &e.1)
    }

    /// For a duplicate ACK: the frame it duplicates and its number.
    pub fn dup_ack(&self, id: u32) -> Option<(PacketId, u32)> {
        let i = self.dups.binary_search_by_key(&id, |e| e.0).ok()?;
        self.dups.get(i).map(|e| (e.1, e.2))
    }

    /// Ids of the packets of connection `conn`, in order (a linear scan of the table:
    /// about a millisecond per million packets, done once per focus or detail).
    pub fn packets_of(&self, conn: u32, from: usize) -> impl Iterator<Item = u32> + '_ {
        self.facts
            .iter()
            .enumerate()
            .skip(from)
            .filter(move |(_, f)| f.conn == conn)
            .map(|(i, _)| i as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fact_is_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<Fact>(), 16);
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
    fn batches_must_continue_the_table() {
        let mut t = Facts::default();
        assert!(!t.extend(FactBatch::new(3)));
        let mut b = FactBatch::new(0);
        b.facts.push(Fact::default());
        b.notes.push((
            0,
            Note {
                proto: "dns",
                info: "x".into(),
            },
        ));
        assert!(t.extend(b));
        assert_eq!(t.len(), 1);
        assert_eq!(t.note(0).map(|n| n.proto), Some("dns"));
        assert!(t.note(1).is_none());
        assert!(t.get(5).is_none());
    }
}
