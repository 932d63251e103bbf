//! TLS over reassembled TCP: the record layer (`record`), handshake messages
//! (`handshake`), key logs (`keylog`), record protection (`crypto`), and the engine of one
//! connection that ties them together with and without keys (`session::TlsSession`);
//! names of code points (`names`), client fingerprints (`fingerprint`) and the packet
//! field tree (`tree`, on tls-parser, whose nom 7 types stay in that file).

pub mod crypto;
pub mod fingerprint;
pub mod handshake;
pub mod keylog;
pub mod names;
pub mod record;
pub mod session;
pub mod tree;

pub use keylog::{KeyLog, KeyLogWarning, Secret, SessionSecrets};
pub use session::{
    EchStatus, Event, HandshakeMsg, NotDecrypted, RecordSeen, TlsSession, TlsSummary, MAX_HANDSHAKE,
};

/// Most handshake bytes buffered per direction (the session's bound, under the name the
/// limits documentation uses).
pub const MAX_HANDSHAKE_BUF: usize = MAX_HANDSHAKE;
/// Largest record body accepted (RFC 8446 §5.2: 2^14 + 256 ciphertext; some stacks
/// send up to 2^14 + 2048 in TLS 1.2).
const MAX_RECORD: usize = (1 << 14) + 2048;

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

#[cfg(test)]
mod session_tests;
#[cfg(test)]
mod tests;
