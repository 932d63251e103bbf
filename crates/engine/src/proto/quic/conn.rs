//! One QUIC connection as a passive observer sees it, sans-IO: datagrams go in, in
//! capture order, with a direction, a packet id, a time and (optionally) the key log;
//! each call returns what its datagram held, packet by packet ([`PacketSeen`]), in-order
//! [`QuicEvent`]s queue up for [`QuicConnState::drain_events`], and the long-lived,
//! bounded summary is the [`QuicReport`].
//!
//! Initial keys come from the DCID of the client's first Initial (RFC 9001 §5.2), or from
//! a Retry's SCID after a Retry (RFC 9000 §17.2.5); later client Initials may carry the
//! server's chosen DCID but keep those keys (PITFALLS: Chromium). Handshake, 0-RTT and
//! 1-RTT keys come from the TLS secrets the key log holds under the ClientHello's random
//! (RFC 9001 §5.1), with the ServerHello's suite; a flipped Key Phase bit moves 1-RTT to
//! the next secret ("quic ku", RFC 9001 §6), keeping the old key for reordered packets.
//! Packets that need secrets the log lacks are parked (bounded) until
//! [`QuicConnState::retry_keys`].

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::VecDeque;

use super::crypto_stream::CryptoStream;
use super::frame::{allowed_in_initial, parse_typed_frames, Frame};
use super::header::{parse_packet, LongType, Packet};
use super::initial::{
    next_secret, retry_integrity_ok, suite_cipher, Cipher, InitialKeys, OpenError, Opened,
    PacketKey,
};
use super::streams::{StreamOut, StreamTrouble, Streams};
use super::transport_params::{self, TransportParams};
use crate::base::{Direction, PacketId, Timestamp};
use crate::proto::tls::handshake::{client_hello, server_hello, ClientHelloInfo, ServerHelloInfo};
use crate::proto::tls::keylog::{KeyLog, Secret};
use crate::proto::tls::names::Hash;

/// quic_transport_parameters (RFC 9001 §8.2).
pub const EXT_TRANSPORT_PARAMETERS: u16 = 0x39;
/// Packets parked for lack of secrets, and their bytes, per connection.
pub const MAX_PARKED: usize = 256;
pub const MAX_PARKED_BYTES: usize = 1 << 20;
/// Connection ids remembered per side.
pub const MAX_CIDS: usize = 16;
/// Anomalies kept per connection; more are counted.
pub const MAX_ANOMALIES: usize = 64;
/// Stateless reset tokens remembered (RFC 9000 §10.3).
const MAX_TOKENS: usize = 32;

/// The packet number space a packet belongs to (RFC 9000 §12.3), with 0-RTT and 1-RTT
/// told apart (they share the application data space).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Space {
    Initial,
    Handshake,
    ZeroRtt,
    OneRtt,
    /// Retry, Version Negotiation, unknown versions: no packet number.
    None,
}

impl Space {
    pub fn name(self) -> &'static str {
        match self {
            Space::Initial => "Initial",
            Space::Handshake => "Handshake",
            Space::ZeroRtt => "0-RTT",
            Space::OneRtt => "1-RTT",
            Space::None => "none",
        }
    }
    /// "an Initial", "a Handshake packet", … for messages.
    fn a(self) -> &'static str {
        match self {
            Space::Initial => "an Initial",
            Space::Handshake => "a Handshake packet",
            Space::ZeroRtt => "a 0-RTT packet",
            Space::OneRtt => "a 1-RTT packet",
            Space::None => "a packet",
        }
    }
    /// Index of the packet number space: Initial 0, Handshake 1, application data 2.
    fn pn_space(self) -> usize {
        match self {
            Space::Initial => 0,
            Space::Handshake => 1,
            _ => 2,
        }
    }
}

/// One frame of an opened packet, numbers only (text is made at render time).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameSeen {
    /// The wire frame type (STREAM 0x08–0x0f with its bits, ACK 0x02/0x03, …).
    pub ty: u64,
    /// "STREAM", "ACK", "CRYPTO", …
    pub name: &'static str,
    /// STREAM, RESET_STREAM, STOP_SENDING, MAX_STREAM_DATA, STREAM_DATA_BLOCKED.
    pub stream_id: Option<u64>,
    /// STREAM and CRYPTO: offset of the data.
    pub offset: Option<u64>,
    /// STREAM, CRYPTO, DATAGRAM, PADDING, NEW_TOKEN, CONNECTION_CLOSE reason: length.
    pub len: Option<u64>,
    /// STREAM with FIN.
    pub fin: bool,
    /// ACK: largest acknowledged; MAX_DATA, MAX_STREAM_DATA, MAX_STREAMS, *_BLOCKED: the
    /// limit; NEW_CONNECTION_ID, RETIRE_CONNECTION_ID: the sequence number;
    /// RESET_STREAM, STOP_SENDING, CONNECTION_CLOSE: the error code.
    pub value: Option<u64>,
}

/// One packet seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketSeen {
    pub pkt: PacketId,
    pub dir: Direction,
    /// "Initial", "Handshake", "0-RTT", "Retry", "1-RTT", "VersionNegotiation", …
    pub kind: &'static str,
    pub version: Option<u32>,
    pub dcid: Vec<u8>,
    pub scid: Option<Vec<u8>>,
    /// The packet number, for packets that opened.
    pub pn: Option<u64>,
    pub space: Space,
    /// Where the packet starts in the UDP payload, and its bytes (RFC 9000 §12.2:
    /// coalesced packets follow one another).
    pub offset: usize,
    pub length: usize,
    /// Initial token length (RFC 9000 §17.2.2).
    pub token_len: Option<usize>,
    /// Short headers whose protection was removed: the Key Phase bit (RFC 9001 §6).
    pub key_phase: Option<bool>,
    pub decrypted: bool,
    pub frames: Vec<FrameSeen>,
}

/// What happened, in order; drained with [`QuicConnState::drain_events`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuicEvent {
    /// Stream bytes in order (reassembled by offset across packets; overlaps and
    /// retransmissions dropped), `offset` = stream offset of data[0].
    Stream {
        id: u64,
        dir: Direction,
        pkt: PacketId,
        ts: Timestamp,
        offset: u64,
        data: Vec<u8>,
        fin: bool,
    },
    /// Bytes of a stream that will never come (bound hit, or the connection ended with a
    /// hole).
    StreamGap {
        id: u64,
        dir: Direction,
        len: u64,
    },
    ResetStream {
        id: u64,
        dir: Direction,
        code: u64,
        pkt: PacketId,
        ts: Timestamp,
    },
    StopSending {
        id: u64,
        dir: Direction,
        code: u64,
        pkt: PacketId,
        ts: Timestamp,
    },
    NewConnectionId {
        dir: Direction,
        seq: u64,
        cid: Vec<u8>,
        reset_token: [u8; 16],
    },
    RetireConnectionId {
        dir: Direction,
        seq: u64,
    },
    HandshakeDone {
        pkt: PacketId,
        ts: Timestamp,
    },
    Close {
        dir: Direction,
        pkt: PacketId,
        ts: Timestamp,
        app: bool,
        code: u64,
        frame_type: Option<u64>,
        /// Wire bytes: escape before printing.
        reason: Vec<u8>,
    },
    StatelessReset {
        dir: Direction,
        pkt: PacketId,
        ts: Timestamp,
    },
    PathChallenge {
        dir: Direction,
        pkt: PacketId,
        ts: Timestamp,
        data: [u8; 8],
    },
    PathResponse {
        dir: Direction,
        pkt: PacketId,
        ts: Timestamp,
        data: [u8; 8],
    },
    Datagram {
        dir: Direction,
        pkt: PacketId,
        ts: Timestamp,
        len: usize,
    },
}

/// A CONNECTION_CLOSE seen (any packet number space).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseSeen {
    pub pkt: PacketId,
    pub dir: Direction,
    pub app: bool,
    pub code: u64,
    pub frame_type: Option<u64>,
    /// Wire bytes: escape before printing.
    pub reason: Vec<u8>,
}

/// Something wrong or unexpected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anomaly {
    pub pkt: PacketId,
    pub what: String,
}

/// Packets per space, [client→server, server→client].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PacketCounts {
    pub initial: [u64; 2],
    pub handshake: [u64; 2],
    pub zero_rtt: [u64; 2],
    pub one_rtt: [u64; 2],
    /// Retry, Version Negotiation, unknown versions.
    pub other: [u64; 2],
}

impl PacketCounts {
    pub fn get(&self, space: Space) -> [u64; 2] {
        match space {
            Space::Initial => self.initial,
            Space::Handshake => self.handshake,
            Space::ZeroRtt => self.zero_rtt,
            Space::OneRtt => self.one_rtt,
            Space::None => self.other,
        }
    }
    fn bump(&mut self, space: Space, dir: Direction) {
        let row = match space {
            Space::Initial => &mut self.initial,
            Space::Handshake => &mut self.handshake,
            Space::ZeroRtt => &mut self.zero_rtt,
            Space::OneRtt => &mut self.one_rtt,
            Space::None => &mut self.other,
        };
        let n = side(row, dir);
        *n = n.saturating_add(1);
    }
}

/// The long-lived summary of a connection; bounded whatever the traffic.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuicReport {
    /// The version of the client's first long header packet.
    pub version: Option<u32>,
    /// The DCID of the client's first Initial.
    pub original_dcid: Option<Vec<u8>>,
    pub retry: bool,
    /// RFC 9001 §5.8: whether the Retry's integrity tag verified with the client's
    /// original DCID (None: no Retry, or a version without Retry keys).
    pub retry_integrity_ok: Option<bool>,
    /// Versions a Version Negotiation packet offered.
    pub version_negotiation: Option<Vec<u32>>,
    /// The version the server answered in when it differs from the client's first
    /// (compatible version negotiation, RFC 9368 §2.3: a v1 Initial answered in v2).
    pub negotiated_version: Option<u32>,
    pub client_hello: Option<ClientHelloInfo>,
    /// The raw quic_transport_parameters extension of the ClientHello.
    pub client_transport_params: Option<Vec<u8>>,
    pub server_hello: Option<ServerHelloInfo>,
    /// The TLS 1.3 suite the ServerHello chose.
    pub cipher: Option<u16>,
    /// The ALPN the server chose (EncryptedExtensions, with keys only).
    pub alpn: Option<String>,
    /// Transport parameters, [client, server] (the server's need keys).
    pub transport_params: [Option<TransportParams>; 2],
    pub first_client_initial: Option<(PacketId, Timestamp)>,
    pub first_server_initial: Option<(PacketId, Timestamp)>,
    /// First Handshake packet, client→server then server→client.
    pub first_handshake: [Option<(PacketId, Timestamp)>; 2],
    /// First short header packet, client→server then server→client.
    pub first_short: [Option<(PacketId, Timestamp)>; 2],
    /// HANDSHAKE_DONE (RFC 9000 §19.20), with keys.
    pub handshake_done: Option<(PacketId, Timestamp)>,
    /// Any Handshake, 0-RTT or 1-RTT packet opened.
    pub decrypted: bool,
    /// A key log was given but lacked the secrets this connection needed.
    pub keys_missing: bool,
    pub counts: PacketCounts,
    /// Key updates seen (RFC 9001 §6), [client→server, server→client].
    pub key_updates: [u32; 2],
    /// Connection ids that name the client (its SCIDs, the ones it announced in
    /// NEW_CONNECTION_ID, the DCIDs of server packets) and the server (likewise, and the
    /// client's original DCID); at most [`MAX_CIDS`] each, first seen first.
    pub client_cids: Vec<Vec<u8>>,
    pub server_cids: Vec<Vec<u8>>,
    pub connection_close: Option<CloseSeen>,
    /// The first stateless reset (RFC 9000 §10.3): packet, time, sender.
    pub stateless_reset: Option<(PacketId, Timestamp, Direction)>,
    /// At most [`MAX_ANOMALIES`]; `anomalies_dropped` counts the rest.
    pub anomalies: Vec<Anomaly>,
    pub anomalies_dropped: u64,
}

impl QuicReport {
    /// Whether the streams carry HTTP/3 (RFC 9114 §3.1: ALPN `h3`; drafts were
    /// `h3-NN`): the ALPN the server chose, or, not seen, one the client offered.
    pub fn carries_h3(&self) -> bool {
        let offered = || {
            self.client_hello
                .as_ref()
                .and_then(|h| h.alpn.iter().find(|a| a.starts_with("h3")))
        };
        self.alpn
            .as_ref()
            .or_else(offered)
            .is_some_and(|a| a.starts_with("h3"))
    }
}

/// 1-RTT keys of one direction, with the key update state (RFC 9001 §6).
struct AppKeys {
    version: u32,
    cipher: Cipher,
    hash: Hash,
    hp: Vec<u8>,
    /// The secret of the current phase.
    secret: Vec<u8>,
    phase: bool,
    cur: PacketKey,
    prev: Option<PacketKey>,
    /// The next phase's secret and key, made when first needed.
    next: Option<(Vec<u8>, PacketKey)>,
}

impl AppKeys {
    fn new(version: u32, cipher: Cipher, hash: Hash, secret: &[u8]) -> Option<AppKeys> {
        let m = super::initial::key_material_with(version, cipher, hash, secret);
        Some(AppKeys {
            version,
            cipher,
            hash,
            cur: PacketKey::new(cipher, &m)?,
            hp: m.hp,
            secret: secret.to_vec(),
            phase: false,
            prev: None,
            next: None,
        })
    }

    fn next(&mut self) -> Option<&PacketKey> {
        if self.next.is_none() {
            let s = next_secret(self.version, self.hash, &self.secret);
            let k = PacketKey::with_hp(self.version, self.cipher, self.hash, &s, &self.hp)?;
            self.next = Some((s, k));
        }
        self.next.as_ref().map(|(_, k)| k)
    }

    /// Opens a short header packet: the current phase, or the next one when the Key
    /// Phase bit flipped (then the keys move on), or the previous one for a packet sent
    /// before the update and received after it. Returns whether the keys moved.
    fn open(
        &mut self,
        bytes: &[u8],
        pn_offset: usize,
        largest: Option<u64>,
    ) -> Result<(Opened, bool), OpenError> {
        let u = self.cur.unprotect(bytes, pn_offset, largest)?;
        if u.key_phase() == Some(self.phase) {
            return self.cur.decrypt(u).map(|o| (o, false));
        }
        if let Some(next) = self.next() {
            if let Ok(o) = next.decrypt(u.clone()) {
                if let Some((s, k)) = self.next.take() {
                    self.prev = Some(std::mem::replace(&mut self.cur, k));
                    self.secret = s;
                    self.phase = !self.phase;
                }
                return Ok((o, true));
            }
        }
        match &self.prev {
            Some(p) => p.decrypt(u).map(|o| (o, false)),
            None => Err(OpenError::BadTag),
        }
    }
}

impl std::fmt::Debug for AppKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AppKeys(phase {})", self.phase)
    }
}

/// A packet waiting for secrets.
#[derive(Debug)]
struct Parked {
    dir: Direction,
    pkt: PacketId,
    ts: Timestamp,
    space: Space,
    pn_offset: usize,
    bytes: Vec<u8>,
}

/// Per-connection state; feed it with [`QuicConnState::datagram`].
#[derive(Debug, Default)]
pub struct QuicConnState {
    report: QuicReport,
    events: Vec<QuicEvent>,
    is_quic: bool,
    initial: Option<InitialKeys>,
    /// After a compatible version switch, the first version's Initial keys: tried when
    /// the new ones do not open (aioquic protects its first v2 Initial with v1 keys).
    initial_before: Option<InitialKeys>,
    /// The SCID each side chose: the DCID length of short headers sent to it.
    scid: [Option<Vec<u8>>; 2],
    /// Largest packet number opened, per space (Initial, Handshake, application) and
    /// direction.
    largest_pn: [[Option<u64>; 2]; 3],
    crypto: [CryptoStream; 2],
    hs_crypto: [CryptoStream; 2],
    /// Secrets were looked up for the current ClientHello and installed.
    keys_installed: bool,
    hs_keys: [Option<PacketKey>; 2],
    early_key: Option<PacketKey>,
    app_keys: [Option<AppKeys>; 2],
    streams: Streams,
    parked: VecDeque<Parked>,
    parked_bytes: usize,
    /// Stateless reset tokens announced (transport parameters, NEW_CONNECTION_ID).
    reset_tokens: Vec<[u8; 16]>,
    /// Connection ids each receiver announced in NEW_CONNECTION_ID: other lengths a
    /// short header to it may carry.
    announced: [Vec<Vec<u8>>; 2],
}

impl QuicConnState {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn report(&self) -> &QuicReport {
        &self.report
    }

    /// True once the payload was recognised as QUIC (a long header with a known
    /// version, or a short header on a connection that had long headers).
    pub fn is_quic(&self) -> bool {
        self.is_quic
    }

    /// In-order events since the last call.
    pub fn drain_events(&mut self) -> std::vec::Drain<'_, QuicEvent> {
        self.events.drain(..)
    }

    /// The connection ended: streams with holes give them up (StreamGap events, then the
    /// bytes that waited behind them).
    pub fn finish(&mut self) {
        for (id, dir, out) in self.streams.finish() {
            self.push_stream_out(id, dir, PacketId(0), Timestamp(0), out);
        }
    }

    /// One UDP payload. `keys`: the key log (CLI --tls-keylog / pcapng DSB), None
    /// without. Returns what this datagram held, packet by packet. Events (stream bytes
    /// included) queue until [`QuicConnState::drain_events`]: drain after each datagram
    /// to keep memory bounded. Without a key log nothing is parked for later.
    pub fn datagram(
        &mut self,
        dir: Direction,
        pkt: PacketId,
        ts: Timestamp,
        payload: &[u8],
        keys: Option<&KeyLog>,
    ) -> Vec<PacketSeen> {
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(rest) = payload.get(at..).filter(|r| !r.is_empty()) {
            if !out.is_empty() && rest.iter().all(|&b| b == 0) {
                break; // padding of the datagram after its last packet
            }
            let short_len = self.short_dcid_len(dir, rest);
            match parse_packet(rest, short_len) {
                Ok((p, used)) => {
                    let used = used.max(1);
                    let bytes = rest.get(..used).unwrap_or(rest);
                    out.push(self.packet(dir, pkt, ts, &p, bytes, at, keys));
                    at += used;
                }
                Err(reason) => {
                    self.anomaly(
                        pkt,
                        format!("QUIC header unreadable at byte {at}: {reason}"),
                    );
                    break;
                }
            }
        }
        out
    }

    /// Keys arrived later: parked packets are opened now, in order; their events come
    /// out of [`QuicConnState::drain_events`].
    pub fn retry_keys(&mut self, keys: &KeyLog) {
        // Look the secrets up again: the log may hold more now.
        self.keys_installed = false;
        let parked = std::mem::take(&mut self.parked);
        self.parked_bytes = 0;
        for p in parked {
            let mut seen = PacketSeen {
                pkt: p.pkt,
                dir: p.dir,
                kind: "",
                version: None,
                dcid: Vec::new(),
                scid: None,
                pn: None,
                space: p.space,
                offset: 0,
                length: p.bytes.len(),
                token_len: None,
                key_phase: None,
                decrypted: false,
                frames: Vec::new(),
            };
            self.protected(&mut seen, p.ts, &p.bytes, p.pn_offset, Some(keys));
        }
    }

    /// The DCID length of a short header sent in `dir`: the receiver's long-header SCID,
    /// or a connection id it announced in NEW_CONNECTION_ID that the bytes start with.
    fn short_dcid_len(&self, dir: Direction, rest: &[u8]) -> usize {
        let recv = dir.reverse().index();
        let base = self
            .scid
            .get(recv)
            .and_then(Option::as_ref)
            .map_or(0, Vec::len);
        let after = rest.get(1..).unwrap_or(&[]);
        if rest.first().is_some_and(|b| b & 0x80 == 0) {
            let known = |c: &Vec<u8>| !c.is_empty() && after.starts_with(c);
            if self
                .scid
                .get(recv)
                .and_then(Option::as_ref)
                .is_some_and(known)
            {
                return base;
            }
            if let Some(c) = self
                .announced
                .get(recv)
                .and_then(|v| v.iter().find(|c| known(c)))
            {
                return c.len();
            }
        }
        base
    }

    /// The largest packet numbers of `space`'s packet number space.
    fn largest(&mut self, space: Space) -> &mut [Option<u64>; 2] {
        let [initial, handshake, app] = &mut self.largest_pn;
        match space.pn_space() {
            0 => initial,
            1 => handshake,
            _ => app,
        }
    }

    fn anomaly(&mut self, pkt: PacketId, what: String) {
        if self.report.anomalies.len() < MAX_ANOMALIES {
            self.report.anomalies.push(Anomaly { pkt, what });
        } else {
            self.report.anomalies_dropped += 1;
        }
    }

    /// Remembers a connection id naming the receiver of `dir`'s packets (`of_sender`
    /// false) or their sender.
    fn note_cid(&mut self, cid: &[u8], client: bool) {
        if cid.is_empty() {
            return;
        }
        let list = if client {
            &mut self.report.client_cids
        } else {
            &mut self.report.server_cids
        };
        if list.len() < MAX_CIDS && !list.iter().any(|c| c == cid) {
            list.push(cid.to_vec());
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn packet(
        &mut self,
        dir: Direction,
        pkt: PacketId,
        ts: Timestamp,
        p: &Packet<'_>,
        bytes: &[u8],
        offset: usize,
        keys: Option<&KeyLog>,
    ) -> PacketSeen {
        let d = dir;
        let c2s = dir == Direction::ClientToServer;
        let mut seen = PacketSeen {
            pkt,
            dir,
            kind: p.kind(),
            version: None,
            dcid: p.dcid().to_vec(),
            scid: p.scid().map(<[u8]>::to_vec),
            pn: None,
            space: Space::None,
            offset,
            length: bytes.len(),
            token_len: None,
            key_phase: None,
            decrypted: false,
            frames: Vec::new(),
        };
        // The DCID names the receiver, the SCID the sender.
        self.note_cid(p.dcid(), !c2s);
        if let Some(s) = p.scid() {
            self.note_cid(s, c2s);
        }
        match p {
            Packet::VersionNegotiation { versions, .. } => {
                self.report.version_negotiation = Some(versions.clone());
            }
            Packet::Retry { version, scid, .. } => {
                seen.version = Some(*version);
                self.is_quic = true;
                if dir == Direction::ServerToClient {
                    self.report.retry = true;
                    if let Some(odcid) = &self.report.original_dcid {
                        self.report.retry_integrity_ok = retry_integrity_ok(*version, odcid, bytes);
                    }
                    if self.report.retry_integrity_ok == Some(false) {
                        self.anomaly(pkt, "Retry integrity tag does not verify".into());
                    }
                    // The client's next Initials are protected with keys from the DCID
                    // the Retry chose (RFC 9001 §5.2).
                    self.initial = InitialKeys::new(*version, scid);
                    // The client starts its handshake over: a new ClientHello (aioquic
                    // picks a new random) from CRYPTO offset 0 (RFC 9000 §17.2.5.3); its
                    // keys are logged under the new random, so the first hello is
                    // forgotten.
                    self.crypto = Default::default();
                    self.hs_crypto = Default::default();
                    self.report.client_hello = None;
                    self.report.client_transport_params = None;
                    self.report.transport_params[0] = None;
                    self.largest_pn = Default::default();
                    self.keys_installed = false;
                    self.hs_keys = Default::default();
                    self.app_keys = Default::default();
                    self.early_key = None;
                }
            }
            Packet::UnknownVersion { version, .. } => {
                seen.version = Some(*version);
                self.report.version.get_or_insert(*version);
            }
            Packet::Short { pn_offset, .. } => {
                seen.space = Space::OneRtt;
                if self.is_quic {
                    side(&mut self.report.first_short, d).get_or_insert((pkt, ts));
                }
                self.protected(&mut seen, ts, bytes, *pn_offset, keys);
            }
            Packet::Long {
                ty,
                version,
                scid,
                dcid,
                token,
                pn_offset,
                ..
            } => {
                self.is_quic = true;
                seen.version = Some(*version);
                if dir == Direction::ClientToServer {
                    self.report.version.get_or_insert(*version);
                }
                self.maybe_switch_version(dir, *version);
                if !scid.is_empty() || side(&mut self.scid, d).is_none() {
                    *side(&mut self.scid, d) = Some(scid.to_vec());
                }
                match ty {
                    LongType::Initial => {
                        seen.space = Space::Initial;
                        seen.token_len = Some(token.len());
                        if c2s {
                            self.report.first_client_initial.get_or_insert((pkt, ts));
                            if self.report.original_dcid.is_none() {
                                self.report.original_dcid = Some(dcid.to_vec());
                                self.initial = InitialKeys::new(*version, dcid);
                            }
                        } else {
                            self.report.first_server_initial.get_or_insert((pkt, ts));
                        }
                        self.open_initial(&mut seen, ts, bytes, *pn_offset);
                    }
                    LongType::Handshake => {
                        seen.space = Space::Handshake;
                        side(&mut self.report.first_handshake, d).get_or_insert((pkt, ts));
                        self.protected(&mut seen, ts, bytes, *pn_offset, keys);
                    }
                    LongType::ZeroRtt => {
                        seen.space = Space::ZeroRtt;
                        self.protected(&mut seen, ts, bytes, *pn_offset, keys);
                    }
                    LongType::Retry => {}
                }
            }
        }
        self.report.counts.bump(seen.space, dir);
        seen
    }

    /// The server answered in another version it knows (RFC 9368 §2.3: compatible
    /// version negotiation): from now on Initial keys come from the original DCID with
    /// that version's salt (RFC 9369 §3.3.1), and the key log's secrets are expanded
    /// with its labels.
    fn maybe_switch_version(&mut self, dir: Direction, version: u32) {
        let first = self.report.version;
        let current = self.report.negotiated_version.or(first);
        if dir != Direction::ServerToClient
            || current == Some(version)
            || first.is_none()
            || !super::header::known_version(version)
        {
            return;
        }
        let Some(odcid) = self.report.original_dcid.clone() else {
            return;
        };
        if self.report.retry {
            return; // after a Retry the keys come from its SCID, in the client's version
        }
        self.report.negotiated_version = Some(version);
        self.initial_before = self.initial.take();
        self.initial = InitialKeys::new(version, &odcid);
        self.keys_installed = false;
    }

    /// Opens an Initial and takes its frames.
    fn open_initial(
        &mut self,
        seen: &mut PacketSeen,
        ts: Timestamp,
        bytes: &[u8],
        pn_offset: usize,
    ) {
        let d = seen.dir;
        let Some(keys) = self.initial.as_ref() else {
            return;
        };
        let key = if d == Direction::ClientToServer {
            &keys.client
        } else {
            &keys.server
        };
        let largest = *self
            .largest_pn
            .first()
            .and_then(|l| l.get(d.index()))
            .unwrap_or(&None);
        let before = self.initial_before.as_ref().map(|k| {
            if d == Direction::ClientToServer {
                &k.client
            } else {
                &k.server
            }
        });
        match key.open(bytes, pn_offset, largest) {
            Ok(o) => self.opened(seen, ts, o),
            Err(e) => match before.map(|k| k.open(bytes, pn_offset, largest)) {
                Some(Ok(o)) => self.opened(seen, ts, o),
                _ => self.anomaly(seen.pkt, format!("undecryptable Initial ({e:?})")),
            },
        }
    }

    /// Looks the secrets of the current ClientHello up and makes the keys.
    fn install_keys(&mut self, log: &KeyLog) {
        if self.keys_installed {
            return;
        }
        let Some(ch) = &self.report.client_hello else {
            return;
        };
        let Some(secrets) = log.get(&ch.random) else {
            self.report.keys_missing = true;
            return;
        };
        let version = self
            .report
            .negotiated_version
            .or(self.report.version)
            .unwrap_or(super::header::V1);
        let suite = self.report.cipher.and_then(suite_cipher);
        let pick = |s: &Secret| -> (Cipher, Hash) {
            // Without the ServerHello, the secret's length gives the hash: SHA-384 means
            // TLS_AES_256_GCM_SHA384; SHA-256 is most often TLS_AES_128_GCM_SHA256.
            suite.unwrap_or(if s.expose().len() == 48 {
                (Cipher::Aes256Gcm, Hash::Sha384)
            } else {
                (Cipher::Aes128Gcm, Hash::Sha256)
            })
        };
        let key = |s: &Option<Secret>| {
            s.as_ref().and_then(|s| {
                let (c, h) = pick(s);
                PacketKey::from_secret_with(version, c, h, s.expose())
            })
        };
        // Keys already in use keep their state (packet numbers, key phase); keys made
        // before anything opened may have been guessed and are made again.
        let redo = !self.report.decrypted;
        let [ch, sh] = &mut self.hs_keys;
        for (slot, secret) in [
            (ch, &secrets.client_handshake),
            (sh, &secrets.server_handshake),
        ] {
            if slot.is_none() || redo {
                *slot = key(secret);
            }
        }
        if self.early_key.is_none() || redo {
            self.early_key = key(&secrets.client_early);
        }
        let app = |s: &Option<Secret>| {
            s.as_ref().and_then(|s| {
                let (c, h) = pick(s);
                AppKeys::new(version, c, h, s.expose())
            })
        };
        let [ca, sa] = &mut self.app_keys;
        for (slot, secret) in [
            (ca, &secrets.client_traffic0),
            (sa, &secrets.server_traffic0),
        ] {
            if slot.is_none() || redo {
                *slot = app(secret);
            }
        }
        let complete =
            self.hs_keys.iter().all(Option::is_some) && self.app_keys.iter().all(Option::is_some);
        if !complete {
            self.report.keys_missing = true;
        }
        // Installed when the ServerHello's suite is known (or never will be better).
        self.keys_installed = suite.is_some() || complete;
        if complete {
            self.report.keys_missing = false;
        }
    }

    /// Opens a Handshake, 0-RTT or 1-RTT packet with the key log's secrets; parks it
    /// when they are missing; checks an unopened short header for a stateless reset.
    fn protected(
        &mut self,
        seen: &mut PacketSeen,
        ts: Timestamp,
        bytes: &[u8],
        pn_offset: usize,
        keys: Option<&KeyLog>,
    ) {
        let d = seen.dir;
        if let Some(log) = keys {
            self.install_keys(log);
        }
        let largest = *side(self.largest(seen.space), d);
        let result = match seen.space {
            Space::Handshake => side(&mut self.hs_keys, d)
                .as_ref()
                .map(|k| k.open(bytes, pn_offset, largest)),
            Space::ZeroRtt if d == Direction::ClientToServer => self
                .early_key
                .as_ref()
                .map(|k| k.open(bytes, pn_offset, largest)),
            Space::OneRtt => side(&mut self.app_keys, d).as_mut().map(|k| {
                k.open(bytes, pn_offset, largest).map(|(o, updated)| {
                    if updated {
                        let n = side(&mut self.report.key_updates, d);
                        *n = n.saturating_add(1);
                    }
                    o
                })
            }),
            _ => None,
        };
        match result {
            Some(Ok(o)) => {
                if seen.space == Space::OneRtt {
                    seen.key_phase = o.header.first().map(|b| b & 0x04 != 0);
                }
                self.report.decrypted = true;
                self.opened(seen, ts, o);
            }
            Some(Err(e)) => {
                if !self.stateless_reset(seen, ts, bytes) {
                    self.anomaly(
                        seen.pkt,
                        format!("undecryptable {} packet ({e:?})", seen.space.name()),
                    );
                }
            }
            None => {
                if self.stateless_reset(seen, ts, bytes) {
                    return;
                }
                // Secrets could come later (a key log re-read): park, bounded.
                let can_wait = keys.is_some() && self.report.client_hello.is_some();
                if can_wait {
                    self.park(seen, ts, bytes, pn_offset);
                }
            }
        }
    }

    fn park(&mut self, seen: &PacketSeen, ts: Timestamp, bytes: &[u8], pn_offset: usize) {
        if bytes.len() > MAX_PARKED_BYTES {
            return;
        }
        let mut dropped = false;
        while self.parked.len() >= MAX_PARKED || self.parked_bytes + bytes.len() > MAX_PARKED_BYTES
        {
            match self.parked.pop_front() {
                Some(old) => {
                    self.parked_bytes -= old.bytes.len();
                    dropped = true;
                }
                None => break,
            }
        }
        if dropped {
            self.anomaly(
                seen.pkt,
                "packets waiting for secrets past the bound: the oldest dropped".into(),
            );
        }
        self.parked_bytes += bytes.len();
        self.parked.push_back(Parked {
            dir: seen.dir,
            pkt: seen.pkt,
            ts,
            space: seen.space,
            pn_offset,
            bytes: bytes.to_vec(),
        });
    }

    /// A short header packet that does not open and ends with an announced stateless
    /// reset token is a stateless reset (RFC 9000 §10.3.1).
    fn stateless_reset(&mut self, seen: &PacketSeen, ts: Timestamp, bytes: &[u8]) -> bool {
        if seen.space != Space::OneRtt || self.reset_tokens.is_empty() {
            return false;
        }
        let Some(tail) = bytes.len().checked_sub(16).and_then(|s| bytes.get(s..)) else {
            return false;
        };
        if !self.reset_tokens.iter().any(|t| t == tail) {
            return false;
        }
        self.report
            .stateless_reset
            .get_or_insert((seen.pkt, ts, seen.dir));
        self.events.push(QuicEvent::StatelessReset {
            dir: seen.dir,
            pkt: seen.pkt,
            ts,
        });
        true
    }

    fn add_token(&mut self, t: [u8; 16]) {
        if self.reset_tokens.len() < MAX_TOKENS && !self.reset_tokens.contains(&t) {
            self.reset_tokens.push(t);
        }
    }

    /// An opened packet: its packet number and frames.
    fn opened(&mut self, seen: &mut PacketSeen, ts: Timestamp, o: Opened) {
        let d = seen.dir;
        let pkt = seen.pkt;
        let space = seen.space;
        seen.pn = Some(o.pn);
        seen.decrypted = true;
        let largest = side(self.largest(space), d);
        *largest = Some(largest.map_or(o.pn, |l| l.max(o.pn)));
        let (frames, err) = parse_typed_frames(&o.payload);
        seen.frames.reserve(frames.len());
        let mut outs = Vec::new();
        for (ty, f) in &frames {
            seen.frames.push(frame_seen(*ty, f));
            if matches!(space, Space::Initial | Space::Handshake) && !allowed_in_initial(f) {
                self.anomaly(pkt, format!("{} frame in {}", f.name(), space.a()));
            }
            match f {
                Frame::Crypto { offset, data } => match space {
                    Space::Initial => side(&mut self.crypto, d).insert(*offset, data),
                    Space::Handshake => side(&mut self.hs_crypto, d).insert(*offset, data),
                    // 1-RTT CRYPTO carries NewSessionTicket (RFC 9001 §4.1.3): not needed.
                    _ => {}
                },
                Frame::Stream {
                    id,
                    offset,
                    fin,
                    data,
                } => {
                    let trouble = self.streams.insert(*id, d, *offset, data, *fin, &mut outs);
                    for out in outs.drain(..) {
                        self.push_stream_out(*id, d, pkt, ts, out);
                    }
                    match trouble {
                        Some(StreamTrouble::BoundHit) => self.anomaly(
                            pkt,
                            format!("stream {id}: reassembly bound hit, a hole given up"),
                        ),
                        Some(StreamTrouble::TooManyStreams) => self.anomaly(
                            pkt,
                            format!("stream {id}: too many open streams, data dropped"),
                        ),
                        Some(StreamTrouble::FinalSizeChanged) => {
                            self.anomaly(pkt, format!("stream {id}: final size changed"))
                        }
                        None => {}
                    }
                }
                Frame::ResetStream { id, code, .. } => {
                    self.streams.reset(*id, d);
                    self.events.push(QuicEvent::ResetStream {
                        id: *id,
                        dir: d,
                        code: *code,
                        pkt,
                        ts,
                    });
                }
                Frame::StopSending { id, code } => self.events.push(QuicEvent::StopSending {
                    id: *id,
                    dir: d,
                    code: *code,
                    pkt,
                    ts,
                }),
                Frame::NewConnectionId {
                    seq,
                    cid,
                    reset_token,
                    ..
                } => {
                    let token: [u8; 16] = (*reset_token).try_into().unwrap_or([0; 16]);
                    self.note_cid(cid, d == Direction::ClientToServer);
                    let mine = side(&mut self.announced, d);
                    if mine.len() < MAX_CIDS && !mine.iter().any(|c| c == cid) {
                        mine.push(cid.to_vec());
                    }
                    self.add_token(token);
                    self.events.push(QuicEvent::NewConnectionId {
                        dir: d,
                        seq: *seq,
                        cid: cid.to_vec(),
                        reset_token: token,
                    });
                }
                Frame::RetireConnectionId(seq) => self
                    .events
                    .push(QuicEvent::RetireConnectionId { dir: d, seq: *seq }),
                Frame::ConnectionClose {
                    app,
                    code,
                    frame_type,
                    reason,
                } => {
                    self.report.connection_close.get_or_insert(CloseSeen {
                        pkt,
                        dir: d,
                        app: *app,
                        code: *code,
                        frame_type: *frame_type,
                        reason: reason.to_vec(),
                    });
                    self.events.push(QuicEvent::Close {
                        dir: d,
                        pkt,
                        ts,
                        app: *app,
                        code: *code,
                        frame_type: *frame_type,
                        reason: reason.to_vec(),
                    });
                }
                Frame::HandshakeDone => {
                    self.report.handshake_done.get_or_insert((pkt, ts));
                    self.events.push(QuicEvent::HandshakeDone { pkt, ts });
                }
                Frame::PathChallenge(b) | Frame::PathResponse(b) => {
                    let data: [u8; 8] = (*b).try_into().unwrap_or([0; 8]);
                    let ev = if matches!(f, Frame::PathChallenge(_)) {
                        QuicEvent::PathChallenge {
                            dir: d,
                            pkt,
                            ts,
                            data,
                        }
                    } else {
                        QuicEvent::PathResponse {
                            dir: d,
                            pkt,
                            ts,
                            data,
                        }
                    };
                    self.events.push(ev);
                }
                Frame::Datagram(b) => self.events.push(QuicEvent::Datagram {
                    dir: d,
                    pkt,
                    ts,
                    len: b.len(),
                }),
                _ => {}
            }
        }
        if let Some(e) = err {
            self.anomaly(
                pkt,
                format!(
                    "bad frame at byte {} of {} (type {:?}): {}",
                    e.offset,
                    space.a(),
                    e.frame_type,
                    e.reason
                ),
            );
        }
        match space {
            Space::Initial => {
                if side(&mut self.crypto, d).overflowed {
                    self.anomaly(pkt, "CRYPTO data past the reassembly bound dropped".into());
                }
                self.hellos(d, pkt);
            }
            Space::Handshake => self.handshake_messages(d),
            _ => {}
        }
    }

    fn push_stream_out(
        &mut self,
        id: u64,
        dir: Direction,
        pkt: PacketId,
        ts: Timestamp,
        out: StreamOut,
    ) {
        self.events.push(match out {
            StreamOut::Data { offset, data, fin } => QuicEvent::Stream {
                id,
                dir,
                pkt,
                ts,
                offset,
                data,
                fin,
            },
            StreamOut::Gap { len } => QuicEvent::StreamGap { id, dir, len },
        });
    }

    fn hellos(&mut self, dir: Direction, pkt: PacketId) {
        while let Some((ty, body)) = side(&mut self.crypto, dir).next_message() {
            match (dir, ty) {
                (Direction::ClientToServer, 1) if self.report.client_hello.is_none() => {
                    match client_hello(&body) {
                        Some(h) => {
                            self.report.client_hello = Some(h);
                            let raw = extension(&body, EXT_TRANSPORT_PARAMETERS);
                            self.report.transport_params[0] =
                                raw.as_deref().map(transport_params::parse);
                            self.report.client_transport_params = raw;
                        }
                        None => self.anomaly(pkt, "malformed ClientHello".into()),
                    }
                }
                (Direction::ServerToClient, 2) if self.report.server_hello.is_none() => {
                    match server_hello(&body) {
                        Some(h) => {
                            self.report.cipher = Some(h.cipher);
                            self.report.server_hello = Some(h);
                            // Keys guessed from the secret length before the suite was
                            // known are made again with the suite.
                            if self.keys_installed && !self.report.decrypted {
                                self.keys_installed = false;
                            }
                        }
                        None => self.anomaly(pkt, "malformed ServerHello".into()),
                    }
                }
                _ => {}
            }
        }
    }

    /// The server's EncryptedExtensions (RFC 8446 §4.3.1): its transport parameters and
    /// the ALPN it chose.
    fn handshake_messages(&mut self, dir: Direction) {
        while let Some((ty, body)) = side(&mut self.hs_crypto, dir).next_message() {
            if dir != Direction::ServerToClient || ty != 8 {
                continue;
            }
            let exts = body.as_slice();
            if let Some(tp) = find_extension(exts, EXT_TRANSPORT_PARAMETERS) {
                let t = transport_params::parse(tp);
                if let Some(tok) = t.stateless_reset_token {
                    self.add_token(tok);
                }
                self.report.transport_params[1] = Some(t);
            }
            if let Some(alpn) = find_extension(exts, 16) {
                // protocol_name_list: u16 length, then u8-length names (RFC 7301 §3.1).
                let mut c = super::Cur::new(alpn);
                if let Some(name) = c
                    .take(2)
                    .and_then(|_| c.u8())
                    .and_then(|n| c.take(usize::from(n)))
                {
                    self.report.alpn = Some(String::from_utf8_lossy(name).into_owned());
                }
            }
        }
    }
}

/// The numbers of one frame.
fn frame_seen(ty: u64, f: &Frame<'_>) -> FrameSeen {
    let mut s = FrameSeen {
        ty,
        name: f.name(),
        ..FrameSeen::default()
    };
    match f {
        Frame::Padding(n) => s.len = Some(*n as u64),
        Frame::Ack { largest, .. } => s.value = Some(*largest),
        Frame::ResetStream { id, code, .. } | Frame::StopSending { id, code } => {
            s.stream_id = Some(*id);
            s.value = Some(*code);
        }
        Frame::Crypto { offset, data } => {
            s.offset = Some(*offset);
            s.len = Some(data.len() as u64);
        }
        Frame::NewToken(t) => s.len = Some(t.len() as u64),
        Frame::Stream {
            id,
            offset,
            fin,
            data,
        } => {
            s.stream_id = Some(*id);
            s.offset = Some(*offset);
            s.len = Some(data.len() as u64);
            s.fin = *fin;
        }
        Frame::MaxData(v) | Frame::DataBlocked(v) | Frame::RetireConnectionId(v) => {
            s.value = Some(*v)
        }
        Frame::MaxStreamData { id, max } | Frame::StreamDataBlocked { id, max } => {
            s.stream_id = Some(*id);
            s.value = Some(*max);
        }
        Frame::MaxStreams { max, .. } | Frame::StreamsBlocked { max, .. } => s.value = Some(*max),
        Frame::NewConnectionId { seq, cid, .. } => {
            s.value = Some(*seq);
            s.len = Some(cid.len() as u64);
        }
        Frame::ConnectionClose { code, reason, .. } => {
            s.value = Some(*code);
            s.len = Some(reason.len() as u64);
        }
        Frame::Datagram(d) => s.len = Some(d.len() as u64),
        Frame::Ping | Frame::PathChallenge(_) | Frame::PathResponse(_) | Frame::HandshakeDone => {}
    }
    s
}

/// One direction's element of a per-direction pair (client→server first).
fn side<T>(pair: &mut [T; 2], dir: Direction) -> &mut T {
    match dir {
        Direction::ClientToServer => &mut pair[0],
        Direction::ServerToClient => &mut pair[1],
    }
}

/// The body of extension `want` in an extensions block (u16 length first).
fn find_extension(block: &[u8], want: u16) -> Option<&[u8]> {
    let mut c = super::Cur::new(block);
    let total = u16::from_be_bytes(c.take(2)?.try_into().ok()?);
    let mut e = super::Cur::new(c.take(usize::from(total))?);
    while !e.is_empty() {
        let ty = u16::from_be_bytes(e.take(2)?.try_into().ok()?);
        let len = u16::from_be_bytes(e.take(2)?.try_into().ok()?);
        let data = e.take(usize::from(len))?;
        if ty == want {
            return Some(data);
        }
    }
    None
}

/// The raw body of extension `want` in a ClientHello body (RFC 8446 §4.1.2).
pub fn extension(body: &[u8], want: u16) -> Option<Vec<u8>> {
    let mut c = super::Cur::new(body);
    c.take(2 + 32)?;
    let sid = c.u8()?;
    c.take(usize::from(sid))?;
    let suites = u16::from_be_bytes(c.take(2)?.try_into().ok()?);
    c.take(usize::from(suites))?;
    let comp = c.u8()?;
    c.take(usize::from(comp))?;
    find_extension(c.rest(), want).map(<[u8]>::to_vec)
}

#[cfg(test)]
#[path = "conn_tests.rs"]
mod tests;
