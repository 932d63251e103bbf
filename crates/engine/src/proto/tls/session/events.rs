//! What a TLS session reports: its events, the handshake messages in them, and the
//! summary of the connection kept as it goes.

use super::super::handshake::{CertInfo, ClientHelloInfo, ServerHelloInfo};
use super::super::names;
use crate::base::{Anomaly, Direction, PacketId, Timestamp};

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
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotDecrypted {
    /// No key log was given.
    NoKeyLog,
    /// The key log has no secrets for this session's client random.
    NoKeys,
    /// The cipher suite is not one wiretale decrypts (CCM, RC4, 3DES, CBC before TLS
    /// 1.2, …).
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

/// What the bytes tell of an Encrypted Client Hello offer (draft-ietf-tls-esni-25).
///
/// A GREASE ECH extension (§6.2) is built to look like a real one, so the ClientHello
/// alone never tells them apart: it is `Offered` until the server or the client shows
/// more. The rule, in order:
/// - `Accepted`: the HelloRetryRequest carries the ECH extension, which only a server
///   that accepted ECH sends (its accept confirmation, §7.2.1). (An accepting server's
///   other confirmation is in the ServerHello random, computed over the inner
///   ClientHello, which is encrypted: not checkable.)
/// - `Rejected`: the client sent an ech_required alert (121, §6.1.6): it had offered
///   real ECH and the server did not accept it. Seen only with keys in TLS 1.3.
/// - `Grease`: the outer handshake was completed and the client sent application data.
///   A client whose real ECH is not accepted must abort with ech_required instead
///   (§6.1.6), so the offer was GREASE. Seen with keys in TLS 1.3 (the session decrypts
///   with the secrets logged under the outer ClientHello's random, which an accepted ECH
///   would not use: its secrets are logged under the inner random), and without keys
///   when the server chose TLS 1.2 (its application_data records are visible as such).
/// - `Offered`: anything else.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EchStatus {
    Offered,
    Accepted,
    Rejected,
    Grease,
}

impl EchStatus {
    /// The name in outputs.
    pub fn name(self) -> &'static str {
        match self {
            EchStatus::Offered => "offered",
            EchStatus::Accepted => "accepted",
            EchStatus::Rejected => "rejected",
            EchStatus::Grease => "grease",
        }
    }
}

/// Records and bytes of one direction.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Count {
    pub records: u64,
    /// Record body bytes on the wire.
    pub bytes: u64,
    /// Decrypted plaintext bytes (0 when not decrypted).
    pub plaintext: u64,
}

/// How the session was resumed, if it was offered and accepted.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resumption {
    /// The client offered a session id (≤ 1.2), a ticket (RFC 5077) or a PSK (1.3).
    pub offered_session_id: bool,
    pub offered_ticket: bool,
    pub offered_psk: bool,
    /// The server accepted: echoed the session id (≤ 1.2) or selected a PSK (1.3).
    pub resumed: bool,
}

/// What is known of the connection so far.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSummary {
    /// Highest version the client offered (legacy field and supported_versions).
    pub client_version: Option<u16>,
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
    /// The ClientHello carries an encrypted_client_hello extension (real or GREASE).
    pub ech: bool,
    /// What is known of that offer (None without one); see [`EchStatus`].
    pub ech_status: Option<EchStatus>,
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
    /// Each side's Finished ([client→server, server→client]): the decrypted Finished
    /// message in 1.3; in 1.2 the first protected handshake record, which is the
    /// Finished (RFC 5246 §7.4.9), keys or not.
    pub finished: [Option<Timestamp>; 2],
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

impl TlsSummary {
    /// When the handshake of version `v` ended: the client's Finished in 1.3 (RFC 8446
    /// §2), the later of both Finished messages in 1.2 (the server's in a full
    /// handshake, the client's in an abbreviated one, RFC 5246 §7.3). None until seen.
    pub fn handshake_end(&self, v: u16) -> Option<Timestamp> {
        let [c, s] = self.finished;
        if v >= 0x0304 {
            c
        } else {
            c.zip(s).map(|(c, s)| c.max(s))
        }
    }
}
