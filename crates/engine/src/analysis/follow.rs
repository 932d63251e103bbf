//! Following one connection: its reassembled conversation, turn by turn.
//!
//! Runs decode, defragmentation and a private connection table over the frames it is
//! given, and keeps only the target connection's stream. The CLI gives it the whole file
//! and the connection's id; the TUI gives it just that connection's packets (from the
//! index) and asks for the first connection, which is the same conversation.
//!
//! A connection whose first bytes are a TLS handshake record is also read by a
//! [`TlsTap`]: with keys (a key log, or the pcapng Decryption Secrets Blocks the frames
//! carry) [`Followed::tls`] holds its decrypted conversation.

use super::decrypted::{Decrypted, TlsTap};
use super::index::Redecoder;
use super::quic_follow::{QuicFollowed, QuicTap};
use crate::base::{ConnId, Direction, PacketId, Timestamp};
use crate::capture::Frame;
use crate::flow::{ConnProto, ConnTable, Connection, FlowConfig, FlowPacket, StreamSink, L4};
use crate::proto::quic::header::looks_like_quic;
use crate::proto::tls::{looks_like_tls, KeyLog};

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
pub struct Follower<'k> {
    target: ConnId,
    redecoder: Redecoder,
    table: ConnTable,
    sink: TurnSink<'k>,
    /// The frames given are one connection's (the engine's verdicts): a UDP datagram on
    /// a new 4-tuple joins the first connection, as the engine joins a migrated QUIC
    /// client by its connection ID (RFC 9000 §9).
    joining: bool,
    /// A UDP payload opened as a QUIC long header.
    quic_seen: bool,
}

/// The keys a [`Follower`] decrypts with: its own (a key log read for it, plus the
/// Decryption Secrets Blocks of the frames it is given), or the caller's (whose owner
/// adds the file's secrets to it).
enum Keys<'k> {
    /// The key log, and whether the user gave one (an empty one then still says "no
    /// keys for this session" rather than "no key log").
    Own(KeyLog, bool),
    Borrowed(&'k KeyLog),
}

/// What the input said about the followed connection, beyond its turns.
#[derive(Clone, Debug)]
pub struct Followed {
    pub turns: Vec<Turn>,
    /// The byte limit cut the conversation short.
    pub truncated: bool,
    /// The connection, `tcp 198.18.0.10:52116 → 198.18.1.80:80`, if the input has it
    /// at all (a connection without payload has no turns but is still found).
    pub found: Option<String>,
    /// Connections the input holds (ids run from 0 to this minus one).
    pub conns: u64,
    /// The connection is TLS: its session and (with keys) decrypted conversation.
    pub tls: Option<Decrypted>,
    /// The connection is QUIC: what its Initials showed and (with keys) its streams.
    pub quic: Option<QuicFollowed>,
    /// Some UDP datagram of the input opened as QUIC: the engine may have joined
    /// datagrams of a migrated connection that this follower's table (without
    /// [`Follower::joining`]) numbers as connections of their own.
    pub quic_seen: bool,
}

struct TurnSink<'k> {
    target: ConnId,
    found: Option<String>,
    conns: u64,
    turns: Vec<Turn>,
    /// Stop collecting past this many bytes (the caller's memory bound).
    limit: usize,
    collected: usize,
    truncated: bool,
    keys: Keys<'k>,
    /// Set on the target's first bytes when they are a TLS handshake record.
    tls: Option<TlsTap>,
    /// The target has carried bytes (TLS is recognised on its first ones only).
    started: bool,
    /// The target is UDP.
    udp: bool,
    /// Set on the target's first datagram when it is a QUIC long header.
    quic: Option<QuicTap>,
    /// Keep this packet's QUIC packets (for its field tree).
    want: Option<PacketId>,
}

impl TurnSink<'_> {
    fn keys(&self) -> Option<&KeyLog> {
        keys_of(&self.keys)
    }
}

fn keys_of<'a>(keys: &'a Keys<'_>) -> Option<&'a KeyLog> {
    {
        match keys {
            Keys::Own(k, given) if k.is_empty() && !given => None,
            Keys::Own(k, _) => Some(k),
            Keys::Borrowed(k) => Some(k),
        }
    }
}

impl<'k> Follower<'k> {
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
                keys: Keys::Own(KeyLog::new(), false),
                tls: None,
                started: false,
                udp: false,
                quic: None,
                want: None,
            },
            joining: false,
            quic_seen: false,
        }
    }

    /// Follows the connection of all the frames it will be given (ids as the engine
    /// numbers them are not needed: the caller selected the frames by the engine's
    /// verdicts, as the TUI does with its index). UDP datagrams on a 4-tuple of their
    /// own join that connection: the engine put them there by their QUIC connection
    /// ID after the client migrated.
    pub fn joining(limit: usize) -> Self {
        let mut f = Follower::new(ConnId(0), limit);
        f.joining = true;
        f
    }

    /// Keeps the QUIC packets of packet `pkt` as the connection's state saw them
    /// ([`QuicFollowed::seen`]), for the field tree.
    pub fn want_packet(mut self, pkt: PacketId) -> Self {
        self.sink.want = Some(pkt);
        self
    }

    /// Decrypts TLS with this key log (`--tls-keylog`); secrets in the frames' pcapng
    /// Decryption Secrets Blocks are added to it.
    pub fn with_keys(mut self, keys: KeyLog) -> Self {
        self.sink.keys = Keys::Own(keys, true);
        self
    }

    /// Decrypts TLS with the caller's key log (the TUI's, which already holds the
    /// file's DSB secrets); `None` keeps the follower's own (DSBs of the frames only).
    pub fn with_key_ref(mut self, keys: Option<&'k KeyLog>) -> Self {
        if let Some(k) = keys {
            self.sink.keys = Keys::Borrowed(k);
        }
        self
    }

    /// Only the pcapng Decryption Secrets Blocks of a frame not followed.
    pub fn push_secrets(&mut self, frame: &Frame<'_>) {
        if let Keys::Own(k, _) = &mut self.sink.keys {
            for s in frame.secrets {
                k.add_dsb(s.kind, &s.data);
            }
        }
    }

    pub fn push(&mut self, frame: &Frame<'_>) {
        if let Keys::Own(k, _) = &mut self.sink.keys {
            for s in frame.secrets {
                k.add_dsb(s.kind, &s.data);
            }
        }
        let table = &mut self.table;
        let sink = &mut self.sink;
        let meta = frame.meta;
        let joining = self.joining;
        let quic_seen = &mut self.quic_seen;
        self.redecoder
            .with_fragmentation(frame, |pkt, whole, frag| {
                let fp = frag
                    .analysable(pkt, whole)
                    .and_then(|p| FlowPacket::from_decoded(meta.id, meta.ts, p));
                if let Some(fp) = fp {
                    let udp = match fp.l4 {
                        L4::Udp { payload, .. } => {
                            if !*quic_seen && looks_like_quic(payload) {
                                *quic_seen = true;
                            }
                            true
                        }
                        _ => false,
                    };
                    let join = (joining && udp).then_some(ConnId(0));
                    table.process_joining(&fp, join, sink);
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
        let mut truncated = self.sink.truncated;
        let tls = self.sink.tls.take().map(|tap| {
            let (d, cut) = tap.finish(self.sink.keys());
            truncated |= cut && d.summary.decrypted;
            d
        });
        let quic = self.sink.quic.take().map(QuicTap::finish);
        truncated |= quic.as_ref().is_some_and(|q| q.truncated);
        Followed {
            turns: self.sink.turns,
            truncated,
            found: self.sink.found,
            conns: self.sink.conns,
            tls,
            quic,
            quic_seen: self.quic_seen,
        }
    }
}

impl StreamSink for TurnSink<'_> {
    fn data(&mut self, conn: ConnId, dir: Direction, ts: Timestamp, pkt: PacketId, bytes: &[u8]) {
        if conn != self.target || bytes.is_empty() {
            return;
        }
        if !self.started {
            self.started = true;
            if self.udp && looks_like_quic(bytes) {
                let mut tap = QuicTap::new(self.limit);
                if let Some(p) = self.want {
                    tap.want(p);
                }
                self.quic = Some(tap);
            } else if looks_like_tls(bytes) {
                self.tls = Some(TlsTap::new(self.limit));
            }
        }
        if self.quic.is_some() {
            let keys = keys_of(&self.keys);
            if let Some(q) = &mut self.quic {
                q.datagram(dir, ts, pkt, bytes, keys);
            }
        }
        if self.tls.is_some() {
            let keys = keys_of(&self.keys);
            if let Some(t) = &mut self.tls {
                t.data(dir, ts, pkt, bytes, keys);
            }
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
            self.udp = c.proto == ConnProto::Udp;
        }
    }

    fn gap(&mut self, conn: ConnId, dir: Direction, ts: Timestamp, len: u64) {
        if conn != self.target {
            return;
        }
        let keys = keys_of(&self.keys);
        if let Some(t) = &mut self.tls {
            t.gap(dir, ts, len, keys);
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
