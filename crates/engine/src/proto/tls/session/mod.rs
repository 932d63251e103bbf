//! One TLS connection as a sans-IO engine: the bytes of each direction of the
//! reassembled TCP stream go in (in stream order, each byte once, with the packet id and
//! time of the segment that carried them, and [`TlsSession::gap`] where bytes are
//! missing); [`Event`]s come out, and a [`TlsSummary`] of the connection is kept.
//!
//! Without keys every plaintext handshake message, ChangeCipherSpec and plaintext alert
//! is reported and encrypted records are counted. With a [`KeyLog`] holding the session's
//! secrets (looked up by the ClientHello random), records are decrypted:
//!
//! - TLS 1.2 (RFC 5246 §6.1, §7.1): a direction is encrypted from its ChangeCipherSpec
//!   on, with sequence number 0 there; keys from `CLIENT_RANDOM` (see `crypto`); AES-GCM,
//!   ChaCha20-Poly1305 and AES-CBC suites, CBC with encrypt_then_mac when both hellos
//!   carry it (RFC 7366).
//! - TLS 1.3 (RFC 8446 §5, §7): every outer `application_data` record after the
//!   ServerHello is protected; each direction starts with its handshake traffic secret,
//!   moves to `*_TRAFFIC_SECRET_0` after its own Finished and to the next secret after a
//!   KeyUpdate (§4.6.3), each time with sequence number 0. The ChangeCipherSpec sent for
//!   middlebox compatibility (§D.4) is ignored. Client records that fail with the
//!   handshake keys when the client offered early data that the server did not accept
//!   (§4.2.10) are the rejected 0-RTT records: skipped, not anomalies.
//!
//! A record that fails to authenticate is an anomaly naming its frame; its plaintext is
//! never shown. Its sequence number is consumed, and the next epoch's key is tried on
//! later records, so decryption resumes where it can. A lost record (a gap inside it)
//! consumes its sequence number too. Records that need keys not yet in the log wait in a
//! bounded queue, so a key log that a browser appends to during live capture still
//! serves the connection: call [`TlsSession::retry`] after `KeyLog::refresh`.

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod events;
mod handshake_flow;

pub use events::{Count, EchStatus, Event, HandshakeMsg, NotDecrypted, Resumption, TlsSummary};

use std::collections::VecDeque;

use super::crypto::{RecordKey, Unsupported};
use super::handshake::{self, ClientHelloInfo, ServerHelloInfo};
use super::keylog::{KeyLog, SessionSecrets};
use super::names::{self, Suite};
use super::record::{Piece, Record, RecordReader};
use crate::base::{Anomaly, AnomalyKind, Direction, PacketId, Timestamp};

/// Most handshake bytes buffered per direction (one message at most this long).
pub const MAX_HANDSHAKE: usize = 64 * 1024;
/// Most alerts kept in the summary (the events report every one).
pub const MAX_SUMMARY_ALERTS: usize = 16;
/// Most record bytes per direction waiting for keys or for the ServerHello.
pub const MAX_PENDING: usize = 256 * 1024;

/// Which secret a TLS 1.3 direction uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Handshake,
    /// Application traffic secret N (0 from the log, then KeyUpdates).
    App(u32),
}

#[derive(Debug)]
struct Side {
    reader: RecordReader,
    hs: Vec<u8>,
    /// 1.2: ChangeCipherSpec seen, later records are protected.
    ccs: bool,
    /// A ChangeCipherSpec came before the version was known (fed ahead of the
    /// ServerHello): later records wait until the version says what it meant.
    ccs_unknown: bool,
    key: Option<RecordKey>,
    stage: Stage,
    /// Key change at the end of the current record (after Finished or KeyUpdate).
    switch: bool,
    pending: VecDeque<Record>,
    pending_bytes: usize,
    /// Failures in a row in the current epoch.
    fails: u32,
    /// A handshake message was lost: skip handshake parsing in this direction.
    hs_broken: bool,
}

impl Default for Side {
    fn default() -> Self {
        Side {
            reader: RecordReader::new(),
            hs: Vec::new(),
            ccs: false,
            ccs_unknown: false,
            key: None,
            stage: Stage::Handshake,
            switch: false,
            pending: VecDeque::new(),
            pending_bytes: 0,
            fails: 0,
            hs_broken: false,
        }
    }
}

/// The TLS engine of one connection.
#[derive(Debug, Default)]
pub struct TlsSession {
    sides: Sides,
    client_random: Option<[u8; 32]>,
    server_random: Option<[u8; 32]>,
    suite: Option<&'static Suite>,
    /// Version from a (non-HRR) ServerHello: protected records can be classified.
    version: Option<u16>,
    /// Decryption is off for good (no keys, unsupported suite, queue overflow).
    no_decrypt: bool,
    /// The ClientHello's legacy_session_id, to see whether the server echoes it.
    client_session_id: Vec<u8>,
    /// The ClientHello offered encrypt_then_mac (RFC 7366 §2).
    client_etm: bool,
    /// The ServerHello answered with it. Both: CBC records are MACed after encryption.
    /// (Kept apart because a reordered feed can parse the ServerHello first.)
    server_etm: bool,
    summary: TlsSummary,
    events: Vec<Event>,
    /// Whole records read, for display filters (kept only after [`TlsSession::log_records`]).
    records: Option<Vec<RecordSeen>>,
    /// Index in `records` of the record being decrypted right as it was read.
    logging: Option<usize>,
}

/// One whole TLS record as the session read it (see [`TlsSession::log_records`]): what
/// `tls.record.*` display filters need, without its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordSeen {
    pub dir: Direction,
    /// Packet holding the record's last byte.
    pub pkt: PacketId,
    /// The record header's content type and legacy version (RFC 8446 §5.1).
    pub content_type: u8,
    pub version: u16,
    /// The record was protected (encrypted) by the session's state at that point.
    pub protected: bool,
    /// A protected record that decrypted as soon as it was read: its inner content type
    /// (RFC 8446 §5.2; the outer type in TLS 1.2). One that waited for keys has none.
    pub inner: Option<u8>,
}

const DIRS: [Direction; 2] = [Direction::ClientToServer, Direction::ServerToClient];

/// Both directions' state, indexed by `Direction::index()` (0 client, 1 server); any
/// other index is the server's, so indexing cannot panic.
#[derive(Debug, Default)]
struct Sides([Side; 2]);

impl std::ops::Index<usize> for Sides {
    type Output = Side;
    fn index(&self, d: usize) -> &Side {
        let [c, s] = &self.0;
        if d == 0 {
            c
        } else {
            s
        }
    }
}

impl std::ops::IndexMut<usize> for Sides {
    fn index_mut(&mut self, d: usize) -> &mut Side {
        let [c, s] = &mut self.0;
        if d == 0 {
            c
        } else {
            s
        }
    }
}

impl TlsSession {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds in-order bytes of direction `dir` that arrived in packet `pkt` at `ts`.
    /// `keys` is the key log, if the user gave one (the session looks up its client
    /// random in it when it first needs keys).
    pub fn feed(
        &mut self,
        dir: Direction,
        pkt: PacketId,
        ts: Timestamp,
        bytes: &[u8],
        keys: Option<&KeyLog>,
    ) {
        let d = dir.index();
        let mut pieces = Vec::new();
        let mut anomalies = Vec::new();
        self.sides[d]
            .reader
            .feed(pkt, ts, bytes, &mut pieces, &mut anomalies);
        for (p, a) in anomalies {
            self.anomaly(dir, p, a);
        }
        for piece in pieces {
            self.piece(dir, piece, keys);
        }
        self.pump(keys);
    }

    /// `len` bytes of direction `dir` are missing before the next bytes fed (the flow
    /// layer saw a hole); `pkt`/`ts` are those of the packet after the hole.
    pub fn gap(
        &mut self,
        dir: Direction,
        pkt: PacketId,
        ts: Timestamp,
        len: u64,
        keys: Option<&KeyLog>,
    ) {
        let d = dir.index();
        if self.sides[d].reader.stopped() || len == 0 {
            return;
        }
        if self.sides[d].reader.gap(len) {
            let mut out = Vec::new();
            self.sides[d].reader.flush_lost(pkt, ts, &mut out);
            for p in out {
                self.piece(dir, p, keys);
            }
        } else {
            self.sides[d].hs = Vec::new();
            self.sides[d].pending.clear();
            self.anomaly(
                dir,
                pkt,
                Anomaly::new(
                    AnomalyKind::TlsGap,
                    format!(
                        "{len} bytes missing before frame {}: the rest of the {}'s TLS stream is not read",
                        pkt.frame_number(),
                        dir.sender()
                    ),
                ),
            );
        }
    }

    /// Tries again the records waiting for keys (after `KeyLog::refresh` found more).
    pub fn retry(&mut self, keys: Option<&KeyLog>) {
        self.pump(keys);
    }

    /// The connection ended: records still waiting for keys are counted as encrypted.
    pub fn finish(&mut self, keys: Option<&KeyLog>) {
        self.pump(keys);
        if self.sides.0.iter().any(|s| !s.pending.is_empty()) {
            self.give_up(if self.version.is_none() {
                NotDecrypted::NoHandshake
            } else {
                NotDecrypted::NoKeys
            });
        }
        if !self.summary.decrypted && self.summary.not_decrypted.is_none() {
            let protected = self.summary.encrypted.iter().any(|c| c.records > 0);
            if protected {
                self.summary.not_decrypted = Some(if keys.is_none() {
                    NotDecrypted::NoKeyLog
                } else if self.client_random.is_none() || self.version.is_none() {
                    NotDecrypted::NoHandshake
                } else {
                    NotDecrypted::Failed
                });
            }
        }
    }

    /// Events so far (drained).
    pub fn drain(&mut self) -> std::vec::Drain<'_, Event> {
        self.events.drain(..)
    }

    pub fn summary(&self) -> &TlsSummary {
        &self.summary
    }

    /// Keep a [`RecordSeen`] per whole record read from now on, for
    /// [`TlsSession::drain_records`] (display filters; off by default, so runs without
    /// a filter on TLS fields pay nothing).
    pub fn log_records(&mut self, on: bool) {
        self.records = on.then(Vec::new);
    }

    /// Records read since the last call (empty unless [`TlsSession::log_records`]).
    pub fn drain_records(&mut self) -> impl Iterator<Item = RecordSeen> + '_ {
        self.records.iter_mut().flat_map(|v| v.drain(..))
    }

    /// True when the next byte of `dir` begins a record (tshark shows `tls` on a packet
    /// whose bytes start a record even when the record ends in a later packet).
    pub fn at_record_start(&self, dir: Direction) -> bool {
        self.sides[dir.index()].reader.at_record_start()
    }

    /// The ClientHello random (the key log's index), once seen.
    pub fn client_random(&self) -> Option<&[u8; 32]> {
        self.client_random.as_ref()
    }

    fn anomaly(&mut self, dir: Direction, pkt: PacketId, anomaly: Anomaly) {
        self.events.push(Event::Anomaly { dir, pkt, anomaly });
    }

    fn piece(&mut self, dir: Direction, piece: Piece, keys: Option<&KeyLog>) {
        let d = dir.index();
        match piece {
            Piece::Record(r) => {
                // Logged as read, so it belongs to the packet that completed it even if
                // it waits for keys; its inner type is filled only if it decrypts now.
                let protected = self.is_protected(dir, r.content_type);
                if let Some(log) = &mut self.records {
                    log.push(RecordSeen {
                        dir,
                        pkt: r.pkt,
                        content_type: r.content_type,
                        version: r.version,
                        protected,
                        inner: None,
                    });
                    self.logging = log.len().checked_sub(1);
                }
                if !self.sides[d].pending.is_empty() || self.needs_wait(dir, &r, keys) {
                    let side = &mut self.sides[d];
                    side.pending_bytes += r.body.len();
                    side.pending.push_back(r);
                    if self.sides[d].pending_bytes > MAX_PENDING {
                        self.give_up(if self.version.is_none() {
                            NotDecrypted::NoHandshake
                        } else {
                            NotDecrypted::NoKeys
                        });
                    }
                } else {
                    self.record(dir, r, keys);
                }
                self.logging = None;
            }
            Piece::Lost {
                content_type,
                len,
                pkt,
                ..
            } => {
                let protected = self.is_protected(dir, content_type);
                let side = &mut self.sides[d];
                if let Some(k) = side.key.as_mut().filter(|_| protected) {
                    k.seq += 1;
                }
                if content_type == 22 && !protected {
                    side.hs = Vec::new();
                    side.hs_broken = true;
                }
                self.anomaly(
                    dir,
                    pkt,
                    Anomaly::new(
                        AnomalyKind::TlsRecordLost,
                        format!(
                            "a {} record of {len} bytes ending in frame {} has missing bytes; its content is lost",
                            names::content_type_name(content_type),
                            pkt.frame_number()
                        ),
                    ),
                );
            }
        }
    }

    /// A protected record (per version and direction state)?
    fn is_protected(&self, dir: Direction, ty: u8) -> bool {
        let side = &self.sides[dir.index()];
        match self.version {
            Some(0x0304) => ty == 23,
            Some(_) => side.ccs || ty == 23,
            None => ty == 23,
        }
    }

    /// Must this record wait (for the ServerHello, or for keys not yet logged)?
    fn needs_wait(&self, dir: Direction, r: &Record, keys: Option<&KeyLog>) -> bool {
        if self.version.is_none() && self.sides[dir.index()].ccs_unknown {
            return true;
        }
        if !self.is_protected(dir, r.content_type) || self.no_decrypt {
            return false;
        }
        if self.version.is_none() {
            return true;
        }
        let Some(keys) = keys else { return false };
        match self.client_random.as_ref().and_then(|cr| keys.get(cr)) {
            Some(s) => self.secret_for(dir, s).is_none() && self.sides[dir.index()].key.is_none(),
            None => true,
        }
    }

    fn pump(&mut self, keys: Option<&KeyLog>) {
        for dir in DIRS {
            let d = dir.index();
            while let Some(r) = self.sides[d].pending.front() {
                if self.needs_wait(dir, r, keys) {
                    break;
                }
                let Some(r) = self.sides[d].pending.pop_front() else {
                    break;
                };
                self.sides[d].pending_bytes -= r.body.len();
                self.record(dir, r, keys);
            }
        }
    }

    /// Decryption is off: waiting records are reported as encrypted.
    fn give_up(&mut self, why: NotDecrypted) {
        self.no_decrypt = true;
        if !self.summary.decrypted {
            self.summary.not_decrypted.get_or_insert(why);
        }
        for dir in DIRS {
            let d = dir.index();
            let pending = std::mem::take(&mut self.sides[d].pending);
            self.sides[d].pending_bytes = 0;
            for r in pending {
                self.record(dir, r, None);
            }
        }
    }

    fn record(&mut self, dir: Direction, r: Record, keys: Option<&KeyLog>) {
        let d = dir.index();
        if self.is_protected(dir, r.content_type) {
            self.protected(dir, r, keys);
            return;
        }
        match r.content_type {
            20 => {
                self.events.push(Event::ChangeCipherSpec {
                    dir,
                    pkt: r.pkt,
                    ts: r.ts,
                });
                // TLS 1.3's CCS is only middlebox compatibility (RFC 8446 §D.4). A
                // HelloRetryRequest exists only in TLS 1.3 (§4.1.4), so the CCS a server
                // sends after one, or the client before its second ClientHello, is that
                // too: waiting for the version here would hold back the ServerHello that
                // tells it, behind the CCS, for good.
                match self.version {
                    Some(0x0304) => {}
                    None if self.summary.hello_retry => {}
                    Some(_) => self.sides[d].ccs = true,
                    None => self.sides[d].ccs_unknown = true,
                }
            }
            21 => self.alert(dir, &r, &r.body, false),
            22 => self.handshake_bytes(dir, r.pkt, r.ts, &r.body, false),
            _ => {}
        }
    }

    fn alert(&mut self, dir: Direction, r: &Record, body: &[u8], decrypted: bool) {
        if let [level, description] = *body {
            if dir == Direction::ClientToServer && description == names::ECH_REQUIRED {
                self.ech_seen(EchStatus::Rejected);
            }
            // Bounded: a hostile peer can send alerts forever; events carry them all.
            if self.summary.alerts.len() < MAX_SUMMARY_ALERTS {
                self.summary.alerts.push((dir, level, description));
            }
            self.events.push(Event::Alert {
                dir,
                pkt: r.pkt,
                ts: r.ts,
                level,
                description,
                decrypted,
            });
        } else {
            self.anomaly(
                dir,
                r.pkt,
                Anomaly::new(
                    AnomalyKind::TlsBadHandshake,
                    format!(
                        "alert of {} bytes in frame {}",
                        body.len(),
                        r.pkt.frame_number()
                    ),
                ),
            );
        }
    }

    /// The secret for the direction's current 1.3 stage, or the 1.2 master secret.
    fn secret_for<'k>(&self, dir: Direction, s: &'k SessionSecrets) -> Option<&'k [u8]> {
        let side = &self.sides[dir.index()];
        let v = if self.version == Some(0x0304) {
            match (dir, side.stage) {
                (Direction::ClientToServer, Stage::Handshake) => &s.client_handshake,
                (Direction::ServerToClient, Stage::Handshake) => &s.server_handshake,
                (Direction::ClientToServer, Stage::App(_)) => &s.client_traffic0,
                (Direction::ServerToClient, Stage::App(_)) => &s.server_traffic0,
            }
        } else {
            &s.master
        };
        v.as_ref().map(|x| x.expose())
    }

    /// Makes the direction's key for its current stage, if the secrets allow.
    fn make_key(&mut self, dir: Direction, keys: Option<&KeyLog>) -> Result<(), NotDecrypted> {
        let d = dir.index();
        if self.sides[d].key.is_some() {
            return Ok(());
        }
        let (Some(cr), Some(cipher)) = (self.client_random, self.summary.cipher) else {
            return Err(NotDecrypted::NoHandshake);
        };
        let suite = self.suite.ok_or(NotDecrypted::UnsupportedSuite(cipher))?;
        let keys = keys.ok_or(NotDecrypted::NoKeyLog)?;
        let secrets = keys.get(&cr).ok_or(NotDecrypted::NoKeys)?;
        let secret = self.secret_for(dir, secrets).ok_or(NotDecrypted::NoKeys)?;
        let unsupported = |_: Unsupported| NotDecrypted::UnsupportedSuite(suite.id);
        let key = if self.version == Some(0x0304) {
            let mut k = RecordKey::tls13(suite, secret).map_err(unsupported)?;
            if let Stage::App(n) = self.sides[d].stage {
                for _ in 0..n {
                    k = k.updated(suite).map_err(unsupported)?;
                }
            }
            k
        } else {
            let sr = self.server_random.ok_or(NotDecrypted::NoHandshake)?;
            let version = self.version.unwrap_or(0);
            let etm = self.client_etm && self.server_etm;
            let [c, s] = RecordKey::tls12_keys(suite, secret, &cr, &sr, version, etm)
                .map_err(unsupported)?;
            if dir == Direction::ClientToServer {
                c
            } else {
                s
            }
        };
        self.sides[d].key = Some(key);
        Ok(())
    }

    fn protected(&mut self, dir: Direction, r: Record, keys: Option<&KeyLog>) {
        let d = dir.index();
        let len = r.body.len() as u64;
        if let Some(c) = self.summary.encrypted.get_mut(d) {
            c.records += 1;
            c.bytes += len;
        }
        let tls13 = self.version == Some(0x0304);
        // TLS 1.2 keeps the outer type: only application_data records are data (the
        // encrypted Finished is type 22, an encrypted alert 21).
        if !tls13 && r.content_type == 23 {
            self.app_data_seen(dir, r.ts, len, 0);
            if dir == Direction::ClientToServer {
                self.ech_seen(EchStatus::Grease);
            }
        }
        if !tls13 && r.content_type == 22 {
            if let Some(f) = self.summary.finished.get_mut(d) {
                f.get_or_insert(r.ts);
            }
        }
        let made = if self.no_decrypt {
            Err(NotDecrypted::NoKeys)
        } else {
            self.make_key(dir, keys)
        };
        if let Err(why) = made {
            if !self.summary.decrypted {
                if matches!(why, NotDecrypted::UnsupportedSuite(_)) {
                    self.no_decrypt = true;
                }
                if keys.is_some() || self.summary.not_decrypted.is_some() {
                    self.summary.not_decrypted.get_or_insert(why);
                }
            }
            self.events.push(Event::Encrypted {
                dir,
                pkt: r.pkt,
                ts: r.ts,
                len: r.body.len(),
            });
            return;
        }
        let fails = u64::from(self.sides[d].fails);
        let Some(key) = self.sides[d].key.as_mut() else {
            return;
        };
        let mut opened = key.open(r.content_type, r.version, &r.body);
        if opened.is_err() && fails > 0 && key.seq >= fails {
            // The records that failed just before may not have belonged to this epoch
            // at all (so did not consume sequence numbers): try as if they had not.
            let seq = key.seq;
            key.seq -= fails;
            opened = key.open(r.content_type, r.version, &r.body);
            if opened.is_err() {
                key.seq = seq;
            }
        }
        if opened.is_err() && tls13 {
            // Rejected 0-RTT: the client's early records fail with its handshake keys.
            let early = dir == Direction::ClientToServer
                && self.sides[d].stage == Stage::Handshake
                && self.summary.early_data_offered
                && self.summary.early_data_accepted != Some(true);
            if early {
                self.events.push(Event::Encrypted {
                    dir,
                    pkt: r.pkt,
                    ts: r.ts,
                    len: r.body.len(),
                });
                return;
            }
            // Perhaps the record that changed the epoch was lost: try the next epoch.
            if let Some(next) = self.next_epoch_key(dir, keys) {
                let mut next = next;
                if let Ok(p) = next.open(r.content_type, r.version, &r.body) {
                    let side = &mut self.sides[d];
                    side.stage = match side.stage {
                        Stage::Handshake => Stage::App(0),
                        Stage::App(n) => Stage::App(n + 1),
                    };
                    side.key = Some(next);
                    side.hs = Vec::new();
                    opened = Ok(p);
                }
            }
        }
        match opened {
            Ok((inner, plain)) => {
                if let (Some(log), Some(i)) = (&mut self.records, self.logging) {
                    if let Some(seen) = log.get_mut(i) {
                        seen.inner = Some(inner);
                    }
                }
                self.sides[d].fails = 0;
                self.summary.decrypted = true;
                self.summary.not_decrypted = None;
                match inner {
                    23 => {
                        if tls13 {
                            self.app_data_seen(dir, r.ts, len, plain.len() as u64);
                            if dir == Direction::ClientToServer && !plain.is_empty() {
                                self.ech_seen(EchStatus::Grease);
                            }
                        } else {
                            if let Some(c) = self.summary.app_data.get_mut(d) {
                                c.plaintext += plain.len() as u64;
                            }
                        }
                        if !plain.is_empty() {
                            self.events.push(Event::AppData {
                                dir,
                                pkt: r.pkt,
                                ts: r.ts,
                                data: plain,
                            });
                        }
                    }
                    22 => self.handshake_bytes(dir, r.pkt, r.ts, &plain, true),
                    21 => self.alert(dir, &r, &plain, true),
                    t => self.anomaly(
                        dir,
                        r.pkt,
                        Anomaly::new(
                            AnomalyKind::TlsBadHandshake,
                            format!(
                                "decrypted record of content type {t} in frame {}",
                                r.pkt.frame_number()
                            ),
                        ),
                    ),
                }
                if std::mem::take(&mut self.sides[d].switch) {
                    let side = &mut self.sides[d];
                    let next = match side.stage {
                        Stage::Handshake => Stage::App(0),
                        Stage::App(n) => Stage::App(n + 1),
                    };
                    let k = self.next_epoch_key(dir, keys);
                    let side = &mut self.sides[d];
                    side.stage = next;
                    side.key = k;
                }
            }
            Err(_) => {
                if let Some(k) = self.sides[d].key.as_mut() {
                    k.seq += 1;
                }
                self.sides[d].fails += 1;
                self.events.push(Event::Encrypted {
                    dir,
                    pkt: r.pkt,
                    ts: r.ts,
                    len: r.body.len(),
                });
                self.anomaly(
                    dir,
                    r.pkt,
                    Anomaly::new(
                        AnomalyKind::TlsDecryptFailed,
                        format!(
                            "the {} record ending in frame {} did not authenticate (wrong keys, lost or corrupted bytes); not shown",
                            dir.sender(),
                            r.pkt.frame_number()
                        ),
                    ),
                );
            }
        }
    }

    /// TLS 1.3: the key of the direction's next epoch, sequence number 0.
    fn next_epoch_key(&self, dir: Direction, keys: Option<&KeyLog>) -> Option<RecordKey> {
        if self.version != Some(0x0304) {
            return None;
        }
        let suite = self.suite?;
        let side = &self.sides[dir.index()];
        match side.stage {
            Stage::Handshake => {
                let s = keys?.get(self.client_random.as_ref()?)?;
                let secret = match dir {
                    Direction::ClientToServer => s.client_traffic0.as_ref(),
                    Direction::ServerToClient => s.server_traffic0.as_ref(),
                }?;
                RecordKey::tls13(suite, secret.expose()).ok()
            }
            Stage::App(_) => side.key.as_ref()?.updated(suite).ok(),
        }
    }

    /// What the session showed of an ECH offer: the first answer stands (an offer is
    /// accepted, rejected or GREASE once).
    pub(super) fn ech_seen(&mut self, status: EchStatus) {
        if self.summary.ech_status == Some(EchStatus::Offered) {
            self.summary.ech_status = Some(status);
        }
    }

    fn app_data_seen(&mut self, dir: Direction, ts: Timestamp, bytes: u64, plain: u64) {
        let d = dir.index();
        if let Some(c) = self.summary.app_data.get_mut(d) {
            c.records += 1;
            c.bytes += bytes;
            c.plaintext += plain;
        }
        if let Some(first) = self.summary.first_app_data.get_mut(d) {
            first.get_or_insert(ts);
        }
    }
}
