//! TLS ClientHello / ServerHello extraction over reassembled TCP (no decryption).
//!
//! Records (RFC 8446 §5.1: type, legacy version, 16-bit length) are walked per
//! direction; the fragments of handshake records are concatenated so a hello split over
//! several records or TCP segments is reassembled (§5.1 allows handshake messages to
//! span records). Only a bounded handshake buffer (64 KiB) is kept; non-handshake record
//! bodies are skipped by count. tls-parser (on nom 7) parses the hello bodies; its types
//! stay inside this module.

pub mod crypto;
pub mod fingerprint;
pub mod handshake;
pub mod keylog;
pub mod names;
pub mod record;
pub mod session;
pub mod tree;

pub use keylog::{KeyLog, KeyLogWarning, Secret, SessionSecrets};
pub use session::{Event, HandshakeMsg, NotDecrypted, RecordSeen, TlsSession, TlsSummary};

use crate::base::{Anomaly, AnomalyKind, Direction, PacketId, Timestamp};

/// Most handshake bytes buffered per direction.
pub const MAX_HANDSHAKE_BUF: usize = 64 * 1024;
/// Largest record body accepted (RFC 8446 §5.2: 2^14 + 256 ciphertext; some stacks
/// send up to 2^14 + 2048 in TLS 1.2).
const MAX_RECORD: usize = (1 << 14) + 2048;

/// What a client offered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientHello {
    /// server_name (RFC 6066 §3), lossy UTF-8; untrusted: escape before printing.
    pub sni: Option<String>,
    /// ALPN protocol names offered (RFC 7301).
    pub alpn: Vec<String>,
    /// Legacy version first, then the supported_versions list (RFC 8446 §4.2.1).
    pub versions: Vec<u16>,
    pub cipher_suites: usize,
    /// Packet that completed the hello.
    pub pkt: PacketId,
    pub ts: Timestamp,
}

/// What the server chose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerHello {
    /// Chosen version: supported_versions overrides the legacy field (RFC 8446 §4.1.3).
    pub version: u16,
    pub alpn: Option<String>,
    pub cipher: u16,
    pub pkt: PacketId,
    pub ts: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsEvent {
    ClientHello(ClientHello),
    ServerHello(ServerHello),
}

impl TlsEvent {
    /// Packet Info text as tshark users know it.
    pub fn info(&self) -> String {
        match self {
            TlsEvent::ClientHello(c) => match &c.sni {
                Some(s) => format!("Client Hello (SNI={})", crate::base::escape::escape_str(s)),
                None => "Client Hello".to_string(),
            },
            TlsEvent::ServerHello(_) => "Server Hello".to_string(),
        }
    }
}

/// "TLS 1.3", "SSL 3.0", … for a protocol version number.
pub fn version_name(v: u16) -> String {
    match v {
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        v if v & 0x0f0f == 0x0a0a => format!("GREASE (0x{v:04x})"),
        v if v >> 8 == 0x7f => format!("TLS 1.3 draft {}", v & 0xff),
        v => format!("0x{v:04x}"),
    }
}

/// True when `first_bytes` start with a plausible TLS handshake record: content type 22,
/// major version 3, minor ≤ 4, a sane length, and (if present) a ClientHello or
/// ServerHello handshake type. For recognising TLS on any port by content.
pub fn looks_like_tls(first_bytes: &[u8]) -> bool {
    match first_bytes {
        [22, 3, minor, hi, lo, rest @ ..] if *minor <= 4 => {
            let len = usize::from(*hi) << 8 | usize::from(*lo);
            (4..=MAX_RECORD).contains(&len) && rest.first().is_none_or(|&t| t == 1 || t == 2)
        }
        _ => false,
    }
}

#[derive(Debug, Default)]
struct Side {
    /// Partial record header.
    hdr: Vec<u8>,
    /// Body bytes left in the current record, and whether it is a handshake record.
    left: usize,
    handshake: bool,
    /// Handshake message bytes (concatenated record fragments).
    hs: Vec<u8>,
    /// Stopped: encrypted from here on, a gap we cannot skip, or not TLS.
    stopped: bool,
    hello_seen: bool,
}

/// TLS hello decoder for one TCP connection.
#[derive(Debug, Default)]
pub struct TlsConn {
    sides: [Side; 2],
    events: Vec<TlsEvent>,
    anomalies: Vec<Anomaly>,
}

impl TlsConn {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds in-order stream bytes of one direction.
    pub fn feed(&mut self, dir: Direction, ts: Timestamp, pkt: PacketId, mut bytes: &[u8]) {
        let d = dir.index();
        while !bytes.is_empty() {
            let side = &mut self.sides[d];
            if side.stopped {
                return;
            }
            if side.left == 0 {
                // Record header (RFC 8446 §5.1).
                let need = 5 - side.hdr.len().min(5);
                let take = need.min(bytes.len());
                side.hdr
                    .extend_from_slice(bytes.get(..take).unwrap_or_default());
                bytes = bytes.get(take..).unwrap_or_default();
                if side.hdr.len() < 5 {
                    return;
                }
                let (ty, major, len) = match side.hdr.as_slice() {
                    [ty, major, _, hi, lo] => {
                        (*ty, *major, usize::from(*hi) << 8 | usize::from(*lo))
                    }
                    _ => return,
                };
                side.hdr.clear();
                if !(20..=24).contains(&ty) || major != 3 || len > MAX_RECORD {
                    side.stopped = true;
                    self.anomalies.push(Anomaly::new(
                        AnomalyKind::TlsBadRecord,
                        format!("invalid record header (type {ty}, length {len})"),
                    ));
                    return;
                }
                if ty == 20 {
                    // ChangeCipherSpec: later handshake records of this side are
                    // encrypted (TLS ≤ 1.2), or it is TLS 1.3 middlebox compatibility after
                    // the hellos; either way nothing more for us.
                    if side.hello_seen {
                        side.stopped = true;
                        return;
                    }
                }
                side.left = len;
                side.handshake = ty == 22;
                continue;
            }
            let take = side.left.min(bytes.len());
            let frag = bytes.get(..take).unwrap_or_default();
            bytes = bytes.get(take..).unwrap_or_default();
            side.left -= take;
            if side.handshake {
                if side.hs.len() + frag.len() > MAX_HANDSHAKE_BUF {
                    side.stopped = true;
                    side.hs = Vec::new();
                    self.anomalies.push(Anomaly::new(
                        AnomalyKind::TlsHandshakeLimit,
                        format!("handshake message over {MAX_HANDSHAKE_BUF} bytes"),
                    ));
                    return;
                }
                side.hs.extend_from_slice(frag);
                self.messages(d, ts, pkt);
            }
        }
    }

    /// `len` bytes of one direction are missing. Inside a non-handshake record the gap
    /// is skipped; elsewhere the direction loses sync and stops.
    pub fn gap(&mut self, dir: Direction, _ts: Timestamp, len: u64) {
        let side = &mut self.sides[dir.index()];
        if side.stopped || len == 0 {
            return;
        }
        if !side.handshake && side.hdr.is_empty() && (len as usize) <= side.left {
            side.left -= len as usize;
            return;
        }
        side.stopped = true;
        side.hs = Vec::new();
        self.anomalies.push(Anomaly::new(
            AnomalyKind::TlsGap,
            format!("{len} bytes missing in the {} handshake", dir.sender()),
        ));
    }

    /// Events found so far (drained).
    pub fn drain(&mut self) -> impl Iterator<Item = TlsEvent> + '_ {
        self.events.drain(..)
    }

    pub fn anomalies(&self) -> &[Anomaly] {
        &self.anomalies
    }

    /// Parses complete handshake messages (RFC 8446 §4: type u8, length u24) from the
    /// buffer of side `d`.
    fn messages(&mut self, d: usize, ts: Timestamp, pkt: PacketId) {
        loop {
            let side = &mut self.sides[d];
            let (ty, len) = match side.hs.as_slice() {
                [ty, a, b, c, ..] => (
                    *ty,
                    (usize::from(*a) << 16) | (usize::from(*b) << 8) | usize::from(*c),
                ),
                _ => return,
            };
            if len + 4 > MAX_HANDSHAKE_BUF {
                side.stopped = true;
                side.hs = Vec::new();
                self.anomalies.push(Anomaly::new(
                    AnomalyKind::TlsHandshakeLimit,
                    format!("handshake message of {len} bytes"),
                ));
                return;
            }
            let Some(body) = side.hs.get(4..4 + len) else {
                return;
            };
            let ev: Result<Option<TlsEvent>, ()> = match ty {
                1 => client_hello(body, ts, pkt).map(|c| Some(TlsEvent::ClientHello(c))),
                2 => server_hello(body, ts, pkt).map(|s| Some(TlsEvent::ServerHello(s))),
                _ => Ok(None),
            };
            match ev {
                Ok(Some(e)) => {
                    self.events.push(e);
                    side.hello_seen = true;
                }
                Ok(None) => {}
                Err(()) => self.anomalies.push(Anomaly::new(
                    AnomalyKind::TlsBadHello,
                    "ClientHello/ServerHello could not be parsed",
                )),
            }
            let side = &mut self.sides[d];
            side.hs.drain(..4 + len);
            if ty == 2 {
                // After a ServerHello, a TLS 1.3 server encrypts; TLS ≤ 1.2 sends its
                // certificate in clear, which we do not need.
                side.stopped = true;
                side.hs = Vec::new();
                return;
            }
        }
    }
}

/// Parses the extension block one extension at a time (RFC 8446 §4.2: type u16, length
/// u16, data), so one malformed or unknown extension does not hide the others (a whole-
/// list parse fails as a unit).
fn extensions<'a>(
    block: Option<&'a [u8]>,
    parse_one: fn(&'a [u8]) -> tls_parser::nom::IResult<&'a [u8], tls_parser::TlsExtension<'a>>,
) -> impl Iterator<Item = tls_parser::TlsExtension<'a>> {
    let mut rest = block.unwrap_or_default();
    std::iter::from_fn(move || loop {
        let len = match rest {
            [_, _, hi, lo, ..] => usize::from(*hi) << 8 | usize::from(*lo),
            _ => return None,
        };
        let one = rest.get(..4 + len)?;
        rest = rest.get(4 + len..).unwrap_or_default();
        if let Ok((_, e)) = parse_one(one) {
            return Some(e);
        }
    })
}

fn client_hello(body: &[u8], ts: Timestamp, pkt: PacketId) -> Result<ClientHello, ()> {
    use tls_parser::TlsExtension;
    let (_, ch) = tls_parser::parse_tls_handshake_client_hello(body).map_err(|_| ())?;
    let mut out = ClientHello {
        sni: None,
        alpn: Vec::new(),
        versions: vec![ch.version.0],
        cipher_suites: ch.ciphers.len(),
        pkt,
        ts,
    };
    for e in extensions(ch.ext, tls_parser::parse_tls_client_hello_extension) {
        match e {
            TlsExtension::SNI(names) => {
                if let Some((_, name)) = names.first() {
                    out.sni
                        .get_or_insert_with(|| crate::base::wire_string(name));
                }
            }
            TlsExtension::ALPN(list) => {
                out.alpn = list.iter().map(|p| crate::base::wire_string(p)).collect();
            }
            TlsExtension::SupportedVersions(vs) => out.versions.extend(vs.iter().map(|v| v.0)),
            _ => {}
        }
    }
    Ok(out)
}

fn server_hello(body: &[u8], ts: Timestamp, pkt: PacketId) -> Result<ServerHello, ()> {
    use tls_parser::TlsExtension;
    let (_, sh) = tls_parser::parse_tls_handshake_server_hello(body).map_err(|_| ())?;
    let mut out = ServerHello {
        version: sh.version.0,
        alpn: None,
        cipher: sh.cipher.0,
        pkt,
        ts,
    };
    for e in extensions(sh.ext, tls_parser::parse_tls_server_hello_extension) {
        match e {
            TlsExtension::ALPN(list) => {
                out.alpn = list.first().map(|p| crate::base::wire_string(p));
            }
            TlsExtension::SupportedVersions(vs) => {
                if let Some(v) = vs.first() {
                    out.version = v.0;
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod session_tests;
#[cfg(test)]
mod tests;
