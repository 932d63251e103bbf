//! Following one connection: its reassembled conversation, turn by turn.
//!
//! Runs decode, defragmentation and a private connection table over the frames it is
//! given, and keeps only the target connection's stream. The CLI gives it the whole file
//! and the connection's id; the TUI gives it just that connection's packets (from the
//! index) and asks for the first connection, which is the same conversation.

use super::index::Redecoder;
use crate::base::{ConnId, Direction, PacketId, Timestamp};
use crate::capture::Frame;
use crate::flow::{ConnProto, ConnTable, Connection, FlowConfig, FlowPacket, StreamSink};

/// One turn of a conversation: consecutive bytes one side sent, or bytes that were
/// sent but not captured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Turn {
    Data {
        dir: Direction,
        /// Packet that delivered the turn's first bytes.
        first_pkt: PacketId,
        ts: Timestamp,
        bytes: Vec<u8>,
    },
    /// `len` bytes of `dir` missing from the capture (never filled with zeros).
    Gap { dir: Direction, len: u64 },
}

/// Collects the turns of one connection; see the module docs.
pub struct Follower {
    target: ConnId,
    redecoder: Redecoder,
    table: ConnTable,
    sink: TurnSink,
}

/// What the input said about the followed connection, beyond its turns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Followed {
    pub turns: Vec<Turn>,
    /// The byte limit cut the conversation short.
    pub truncated: bool,
    /// The connection, `tcp 198.18.0.10:52116 → 198.18.1.80:80`, if the input has it
    /// at all (a connection without payload has no turns but is still found).
    pub found: Option<String>,
    /// Connections the input holds (ids run from 0 to this minus one).
    pub conns: u64,
}

struct TurnSink {
    target: ConnId,
    found: Option<String>,
    conns: u64,
    turns: Vec<Turn>,
    /// Stop collecting past this many bytes (the caller's memory bound).
    limit: usize,
    collected: usize,
    truncated: bool,
}

impl Follower {
    /// Follows connection `target` (ids as `wiretale conns` numbers them) with at most
    /// `limit` bytes of conversation kept.
    pub fn new(target: ConnId, limit: usize) -> Self {
        Follower {
            target,
            redecoder: Redecoder::default(),
            table: ConnTable::new(FlowConfig::default()),
            sink: TurnSink {
                target,
                found: None,
                conns: 0,
                turns: Vec::new(),
                limit,
                collected: 0,
                truncated: false,
            },
        }
    }

    pub fn push(&mut self, frame: &Frame<'_>) {
        let table = &mut self.table;
        let sink = &mut self.sink;
        let meta = frame.meta;
        self.redecoder
            .with_fragmentation(frame, |pkt, whole, frag| {
                let fp = frag
                    .analysable(pkt, whole)
                    .and_then(|p| FlowPacket::from_decoded(meta.id, meta.ts, p));
                if let Some(fp) = fp {
                    table.process(&fp, sink);
                }
            });
    }

    /// Ends the input and returns the turns, and whether the byte limit cut them short.
    pub fn finish(self) -> (Vec<Turn>, bool) {
        let f = self.finish_followed();
        (f.turns, f.truncated)
    }

    /// Ends the input and returns everything known about the connection: its turns, and
    /// whether it exists at all (so "no such connection" and "no payload" differ).
    pub fn finish_followed(mut self) -> Followed {
        self.table.finish(&mut self.sink);
        let _ = self.target;
        Followed {
            turns: self.sink.turns,
            truncated: self.sink.truncated,
            found: self.sink.found,
            conns: self.sink.conns,
        }
    }
}

impl StreamSink for TurnSink {
    fn data(&mut self, conn: ConnId, dir: Direction, ts: Timestamp, pkt: PacketId, bytes: &[u8]) {
        if conn != self.target || bytes.is_empty() {
            return;
        }
        let room = self.limit.saturating_sub(self.collected);
        if room == 0 {
            self.truncated = true;
            return;
        }
        let take = &bytes[..bytes.len().min(room)];
        self.truncated |= take.len() < bytes.len();
        self.collected += take.len();
        if let Some(Turn::Data {
            dir: d, bytes: b, ..
        }) = self.turns.last_mut()
        {
            if *d == dir {
                b.extend_from_slice(take);
                return;
            }
        }
        self.turns.push(Turn::Data {
            dir,
            first_pkt: pkt,
            ts,
            bytes: take.to_vec(),
        });
    }

    fn conn_new(&mut self, c: &Connection) {
        // Ids are given in order of first packet, so the count is the highest id + 1.
        self.conns = self.conns.max(u64::from(c.id.0) + 1);
        if c.id == self.target {
            let proto = match c.proto {
                ConnProto::Tcp => "tcp",
                ConnProto::Udp => "udp",
                ConnProto::Icmp => "icmp",
            };
            self.found = Some(format!("{proto} {} → {}", c.client, c.server));
        }
    }

    fn gap(&mut self, conn: ConnId, dir: Direction, _ts: Timestamp, len: u64) {
        if conn != self.target {
            return;
        }
        if let Some(Turn::Gap { dir: d, len: l }) = self.turns.last_mut() {
            if *d == dir {
                *l += len;
                return;
            }
        }
        self.turns.push(Turn::Gap { dir, len });
    }
}
