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
//!   on, with sequence number 0 there; keys from `CLIENT_RANDOM` (see `crypto`).
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

use std::collections::VecDeque;

use super::crypto::{RecordKey, Unsupported};
use super::handshake::{self, CertInfo, ClientHelloInfo, ServerHelloInfo};
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

/// A handshake message and what was learnt from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandshakeMsg {
    ClientHello(Box<ClientHelloInfo>),
    /// A ServerHello or, when `hrr` is set, a HelloRetryRequest.
    ServerHello(Box<ServerHelloInfo>),
    /// Parsed chain, and the number of entries (a certificate x509-parser rejects is
    /// counted but not listed).
    Certificate {
        chain: Vec<CertInfo>,
        entries: usize,
    },
    ServerKeyExchange {
        group: Option<u16>,
    },
    CertificateRequest,
    ServerHelloDone,
    ClientKeyExchange,
    CertificateVerify,
    Finished,
    NewSessionTicket {
        lifetime: Option<u32>,
    },
    EncryptedExtensions {
        alpn: Option<String>,
        early_data: bool,
    },
    KeyUpdate {
        requested: bool,
    },
    EndOfEarlyData,
    Other(u8),
}

impl HandshakeMsg {
    /// The handshake type name (`ClientHello`, `HelloRetryRequest`, …).
    pub fn name(&self) -> &'static str {
        match self {
            HandshakeMsg::ClientHello(_) => "ClientHello",
            HandshakeMsg::ServerHello(s) if s.hrr => "HelloRetryRequest",
            HandshakeMsg::ServerHello(_) => "ServerHello",
            HandshakeMsg::Certificate { .. } => "Certificate",
            HandshakeMsg::ServerKeyExchange { .. } => "ServerKeyExchange",
            HandshakeMsg::CertificateRequest => "CertificateRequest",
            HandshakeMsg::ServerHelloDone => "ServerHelloDone",
            HandshakeMsg::ClientKeyExchange => "ClientKeyExchange",
            HandshakeMsg::CertificateVerify => "CertificateVerify",
            HandshakeMsg::Finished => "Finished",
            HandshakeMsg::NewSessionTicket { .. } => "NewSessionTicket",
            HandshakeMsg::EncryptedExtensions { .. } => "EncryptedExtensions",
            HandshakeMsg::KeyUpdate { .. } => "KeyUpdate",
            HandshakeMsg::EndOfEarlyData => "EndOfEarlyData",
            HandshakeMsg::Other(t) => names::handshake_type_name(*t),
        }
    }
}

/// What the engine reports, in stream order per direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A handshake message; `decrypted` when it came out of a protected record.
    Handshake {
        dir: Direction,
        pkt: PacketId,
        ts: Timestamp,
        msg: HandshakeMsg,
        decrypted: bool,
    },
    ChangeCipherSpec {
        dir: Direction,
        pkt: PacketId,
        ts: Timestamp,
    },
    /// An alert (RFC 8446 §6); names via [`names::alert_description_name`].
    Alert {
        dir: Direction,
        pkt: PacketId,
        ts: Timestamp,
        level: u8,
        description: u8,
        decrypted: bool,
    },
    /// Decrypted application data of one record; `pkt`/`ts` are those of the packet
    /// holding the record's last byte.
    AppData {
        dir: Direction,
        pkt: PacketId,
        ts: Timestamp,
        data: Vec<u8>,
    },
    /// A protected record that was not decrypted (no keys, unsupported suite, rejected
    /// early data); `len` is its body length on the wire.
    Encrypted {
        dir: Direction,
        pkt: PacketId,
        ts: Timestamp,
        len: usize,
    },
    Anomaly {
        dir: Direction,
        pkt: PacketId,
        anomaly: Anomaly,
    },
}

/// Why a connection was not decrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotDecrypted {
    /// No key log was given.
    NoKeyLog,
    /// The key log has no secrets for this session's client random.
    NoKeys,
    /// The cipher suite is not one wiretale decrypts (CBC, CCM, RC4, …).
    UnsupportedSuite(u16),
    /// The ClientHello or ServerHello was not seen, so the session is unknown.
    NoHandshake,
    /// Keys were there but no record authenticated with them.
    Failed,
}

impl NotDecrypted {
    /// A short reason for outputs.
    pub fn reason(&self) -> String {
        match self {
            NotDecrypted::NoKeyLog => "no key log".into(),
            NotDecrypted::NoKeys => "no keys for this session in the key log".into(),
            NotDecrypted::UnsupportedSuite(s) => {
                format!("unsupported cipher suite {}", names::cipher_suite_name(*s))
            }
            NotDecrypted::NoHandshake => "handshake not captured".into(),
            NotDecrypted::Failed => "records did not authenticate with the logged keys".into(),
        }
    }
}

/// Records and bytes of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Count {
    pub records: u64,
    /// Record body bytes on the wire.
    pub bytes: u64,
    /// Decrypted plaintext bytes (0 when not decrypted).
    pub plaintext: u64,
}

/// How the session was resumed, if it was offered and accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resumption {
    /// The client offered a session id (≤ 1.2), a ticket (RFC 5077) or a PSK (1.3).
    pub offered_session_id: bool,
    pub offered_ticket: bool,
    pub offered_psk: bool,
    /// The server accepted: echoed the session id (≤ 1.2) or selected a PSK (1.3).
    pub resumed: bool,
}

/// What is known of the connection so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSummary {
    /// Negotiated version (supported_versions, RFC 8446 §4.2.1, else the legacy field).
    pub version: Option<u16>,
    pub cipher: Option<u16>,
    /// Key exchange group (key_share in 1.3, ServerKeyExchange's curve in 1.2).
    pub group: Option<u16>,
    pub sni: Option<String>,
    pub alpn_offered: Vec<String>,
    /// Chosen ALPN: ServerHello (≤ 1.2) or decrypted EncryptedExtensions (1.3).
    pub alpn: Option<String>,
    pub resumption: Resumption,
    pub hello_retry: bool,
    pub early_data_offered: bool,
    /// Known only from decrypted EncryptedExtensions.
    pub early_data_accepted: Option<bool>,
    pub ech: bool,
    pub grease: bool,
    /// Server certificate chain, leaf first (plaintext in ≤ 1.2, decrypted in 1.3).
    pub certificates: Vec<CertInfo>,
    pub ja3: Option<String>,
    pub ja3_string: Option<String>,
    pub ja4: Option<String>,
    pub client_hello_ts: Option<Timestamp>,
    pub server_hello_ts: Option<Timestamp>,
    /// First application data record each way ([client→server, server→client]): any
    /// protected record in 1.2, a decrypted application_data record in 1.3 (unknown in
    /// 1.3 without keys, where handshake and data records look alike).
    pub first_app_data: [Option<Timestamp>; 2],
    /// Application data each way (1.2, or decrypted 1.3).
    pub app_data: [Count; 2],
    /// Every protected record each way, whether decrypted or not.
    pub encrypted: [Count; 2],
    /// True once a record was decrypted.
    pub decrypted: bool,
    /// Why not, when `decrypted` is false and decryption was attempted or impossible.
    pub not_decrypted: Option<NotDecrypted>,
    /// The first alerts seen (at most [`MAX_SUMMARY_ALERTS`]): (direction, level,
    /// description).
    pub alerts: Vec<(Direction, u8, u8)>,
}

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
    sides: [Side; 2],
    client_random: Option<[u8; 32]>,
    server_random: Option<[u8; 32]>,
    suite: Option<&'static Suite>,
    /// Version from a (non-HRR) ServerHello: protected records can be classified.
    version: Option<u16>,
    /// Decryption is off for good (no keys, unsupported suite, queue overflow).
    no_decrypt: bool,
    /// The ClientHello's legacy_session_id, to see whether the server echoes it.
    client_session_id: Vec<u8>,
    summary: TlsSummary,
    events: Vec<Event>,
}

const DIRS: [Direction; 2] = [Direction::ClientToServer, Direction::ServerToClient];

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
        if self.sides.iter().any(|s| !s.pending.is_empty()) {
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
                // TLS 1.3's CCS is only middlebox compatibility (RFC 8446 §D.4).
                match self.version {
                    Some(0x0304) => {}
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
            let [c, s] = RecordKey::tls12_pair(suite, secret, &cr, &sr).map_err(unsupported)?;
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
        self.summary.encrypted[d].records += 1;
        self.summary.encrypted[d].bytes += len;
        let tls13 = self.version == Some(0x0304);
        // TLS 1.2 keeps the outer type: only application_data records are data (the
        // encrypted Finished is type 22, an encrypted alert 21).
        if !tls13 && r.content_type == 23 {
            self.app_data_seen(dir, r.ts, len, 0);
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
                self.sides[d].fails = 0;
                self.summary.decrypted = true;
                self.summary.not_decrypted = None;
                match inner {
                    23 => {
                        if tls13 {
                            self.app_data_seen(dir, r.ts, len, plain.len() as u64);
                        } else {
                            self.summary.app_data[d].plaintext += plain.len() as u64;
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

    fn app_data_seen(&mut self, dir: Direction, ts: Timestamp, bytes: u64, plain: u64) {
        let d = dir.index();
        let c = &mut self.summary.app_data[d];
        c.records += 1;
        c.bytes += bytes;
        c.plaintext += plain;
        self.summary.first_app_data[d].get_or_insert(ts);
    }

    /// Appends handshake bytes (RFC 8446 §5.1: messages may span records) and parses
    /// every complete message (type u8, length u24, §4).
    fn handshake_bytes(
        &mut self,
        dir: Direction,
        pkt: PacketId,
        ts: Timestamp,
        bytes: &[u8],
        decrypted: bool,
    ) {
        let d = dir.index();
        if self.sides[d].hs_broken {
            return;
        }
        if self.sides[d].hs.len() + bytes.len() > MAX_HANDSHAKE + 4 {
            self.sides[d].hs = Vec::new();
            self.sides[d].hs_broken = true;
            self.anomaly(
                dir,
                pkt,
                Anomaly::new(
                    AnomalyKind::TlsHandshakeLimit,
                    format!(
                        "handshake message over {MAX_HANDSHAKE} bytes in frame {}",
                        pkt.frame_number()
                    ),
                ),
            );
            return;
        }
        self.sides[d].hs.extend_from_slice(bytes);
        loop {
            let hs = &self.sides[d].hs;
            let (ty, len) = match hs.as_slice() {
                [ty, a, b, c, ..] => (
                    *ty,
                    usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c),
                ),
                _ => return,
            };
            if len > MAX_HANDSHAKE {
                self.sides[d].hs = Vec::new();
                self.sides[d].hs_broken = true;
                self.anomaly(
                    dir,
                    pkt,
                    Anomaly::new(
                        AnomalyKind::TlsHandshakeLimit,
                        format!(
                            "handshake message of {len} bytes in frame {}",
                            pkt.frame_number()
                        ),
                    ),
                );
                return;
            }
            let Some(body) = hs.get(4..4 + len) else {
                return;
            };
            let body = body.to_vec();
            self.sides[d].hs.drain(..4 + len);
            self.message(dir, pkt, ts, ty, &body, decrypted);
        }
    }

    fn message(
        &mut self,
        dir: Direction,
        pkt: PacketId,
        ts: Timestamp,
        ty: u8,
        body: &[u8],
        decrypted: bool,
    ) {
        let d = dir.index();
        let tls13 = self.version == Some(0x0304);
        let msg = match ty {
            1 => handshake::client_hello(body).map(|h| {
                self.client_hello(&h, ts);
                HandshakeMsg::ClientHello(Box::new(h))
            }),
            2 => handshake::server_hello(body).map(|h| {
                self.server_hello(&h, ts);
                HandshakeMsg::ServerHello(Box::new(h))
            }),
            4 => Some(HandshakeMsg::NewSessionTicket {
                lifetime: handshake::ticket_lifetime(body),
            }),
            5 => Some(HandshakeMsg::EndOfEarlyData),
            8 => handshake::encrypted_extensions(body).map(|(alpn, early_data)| {
                if alpn.is_some() {
                    self.summary.alpn.clone_from(&alpn);
                }
                self.summary.early_data_accepted = Some(early_data);
                HandshakeMsg::EncryptedExtensions { alpn, early_data }
            }),
            11 => handshake::certificate(body, tls13).map(|(chain, entries)| {
                if dir == Direction::ServerToClient && self.summary.certificates.is_empty() {
                    self.summary.certificates.clone_from(&chain);
                }
                HandshakeMsg::Certificate { chain, entries }
            }),
            12 => {
                let group = handshake::server_key_exchange_group(body);
                if group.is_some() {
                    self.summary.group = group;
                }
                Some(HandshakeMsg::ServerKeyExchange { group })
            }
            13 => Some(HandshakeMsg::CertificateRequest),
            14 => Some(HandshakeMsg::ServerHelloDone),
            15 => Some(HandshakeMsg::CertificateVerify),
            16 => Some(HandshakeMsg::ClientKeyExchange),
            20 => {
                if tls13 && decrypted {
                    self.sides[d].switch = true;
                }
                Some(HandshakeMsg::Finished)
            }
            24 => body.first().map(|&r| {
                if tls13 && decrypted {
                    self.sides[d].switch = true;
                }
                HandshakeMsg::KeyUpdate { requested: r == 1 }
            }),
            t => Some(HandshakeMsg::Other(t)),
        };
        match msg {
            Some(msg) => self.events.push(Event::Handshake {
                dir,
                pkt,
                ts,
                msg,
                decrypted,
            }),
            None => self.anomaly(
                dir,
                pkt,
                Anomaly::new(
                    if ty <= 2 {
                        AnomalyKind::TlsBadHello
                    } else {
                        AnomalyKind::TlsBadHandshake
                    },
                    format!(
                        "{} in frame {} could not be parsed",
                        names::handshake_type_name(ty),
                        pkt.frame_number()
                    ),
                ),
            ),
        }
    }

    fn client_hello(&mut self, h: &ClientHelloInfo, ts: Timestamp) {
        let s = &mut self.summary;
        // After a HelloRetryRequest the second ClientHello keeps the random (RFC 8446
        // §4.1.2); the summary describes the first.
        if self.client_random.is_some() {
            return;
        }
        self.client_random = Some(h.random);
        s.client_hello_ts = Some(ts);
        s.sni.clone_from(&h.sni);
        s.alpn_offered.clone_from(&h.alpn);
        s.resumption.offered_session_id = !h.session_id.is_empty() && !h.psk;
        s.resumption.offered_ticket = h.ticket;
        s.resumption.offered_psk = h.psk;
        s.early_data_offered = h.early_data;
        s.ech = h.ech;
        s.grease = h.grease;
        s.ja3_string = Some(super::fingerprint::ja3_string(h));
        s.ja3 = Some(super::fingerprint::ja3(h));
        s.ja4 = Some(super::fingerprint::ja4(h));
        self.client_session_id = h.session_id.clone();
    }

    fn server_hello(&mut self, h: &ServerHelloInfo, ts: Timestamp) {
        let s = &mut self.summary;
        if h.hrr {
            s.hello_retry = true;
            return;
        }
        if self.version.is_some() {
            return;
        }
        s.server_hello_ts = Some(ts);
        s.version = Some(h.version);
        s.cipher = Some(h.cipher);
        if h.key_share_group.is_some() {
            s.group = h.key_share_group;
        }
        if h.alpn.is_some() {
            s.alpn.clone_from(&h.alpn);
        }
        s.resumption.resumed = if h.version == 0x0304 {
            h.psk_selected.is_some()
        } else {
            !h.session_id.is_empty() && h.session_id == self.client_session_id
        };
        self.version = Some(h.version);
        for side in &mut self.sides {
            side.ccs |= std::mem::take(&mut side.ccs_unknown) && h.version != 0x0304;
        }
        self.server_random = Some(h.random);
        self.suite = names::suite(h.cipher);
        if self.suite.is_none() || self.suite.is_some_and(|x| x.tls13 != (h.version == 0x0304)) {
            self.suite = None;
        }
    }
}
