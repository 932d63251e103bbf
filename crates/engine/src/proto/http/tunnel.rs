//! What a CONNECT tunnel carried (RFC 9110 §9.3.6): after the 2xx, the connection's
//! bytes are the tunnelled protocol's, not HTTP. They are counted each way, and the
//! first few are kept to recognise the protocol: a TLS ClientHello (with its SNI), an
//! SMTP, FTP, POP3 or IMAP greeting, an SSH banner, or HTTP/1.x.

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::parse::looks_like_http;
use crate::proto::tls::{handshake, looks_like_tls};

/// Client bytes kept to recognise the tunnelled protocol: enough for a ClientHello
/// with a post-quantum key share (~1.8 KB) in one record.
pub const CLIENT_PREFIX: usize = 4096;
/// Server bytes kept: a greeting or banner line.
pub const SERVER_PREFIX: usize = 512;

/// The tunnel a successful CONNECT opened.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Tunnel {
    /// Bytes after the 2xx, `[client→server, server→client]`, missing bytes (gaps)
    /// included.
    pub bytes: [u64; 2],
    /// The tunnelled protocol when recognised: `tls`, `smtp`, `ftp`, `pop3`, `imap`,
    /// `ssh` or `http`.
    #[serde(deserialize_with = "crate::base::interned::deserialize_opt")]
    pub protocol: Option<crate::base::interned::StaticStr>,
    /// The TLS ClientHello's server name (RFC 6066 §3).
    pub sni: Option<String>,
    /// The server's greeting line (SMTP, FTP, POP3, IMAP) or either side's SSH
    /// identification line, lossy UTF-8 (escape before display).
    pub banner: Option<String>,
}

/// The first line of `b`, without CR/LF, at most 200 bytes, as text.
fn line_text(b: &[u8]) -> String {
    let end = b
        .iter()
        .position(|&c| c == b'\n' || c == b'\r')
        .unwrap_or(b.len())
        .min(200);
    crate::base::wire_string(b.get(..end).unwrap_or_default())
}

fn starts_ci(b: &[u8], p: &[u8]) -> bool {
    b.get(..p.len()).is_some_and(|x| x.eq_ignore_ascii_case(p))
}

/// The SNI of a ClientHello at the start of `client` (one TLS record holding it).
fn client_hello_sni(client: &[u8]) -> Option<String> {
    // RFC 8446 §5.1 record header (5 bytes), §4 handshake header: type 1, u24 length.
    let rec = client.get(5..)?;
    let (&kind, rest) = rec.split_first()?;
    if kind != 1 {
        return None;
    }
    let len = rest
        .get(..3)?
        .iter()
        .fold(0usize, |a, &b| a << 8 | usize::from(b));
    let body = rest.get(3..3 + len)?;
    handshake::client_hello(body)?.sni
}

impl Tunnel {
    /// Recognises what the tunnel carried from the first bytes of each side.
    pub fn classify(&mut self, client: &[u8], server: &[u8]) {
        if looks_like_tls(client) {
            self.protocol = Some("tls");
            self.sni = client_hello_sni(client);
        } else if starts_ci(client, b"SSH-") || starts_ci(server, b"SSH-") {
            self.protocol = Some("ssh");
            let side = if starts_ci(server, b"SSH-") {
                server
            } else {
                client
            };
            self.banner = Some(line_text(side));
        } else if server.starts_with(b"220") && matches!(server.get(3), Some(b' ' | b'-')) {
            // RFC 5321 §4.2 and RFC 959 §4.2 both greet with 220: the client's first
            // command tells them apart.
            let ftp = starts_ci(client, b"USER ") || starts_ci(client, b"AUTH ");
            self.protocol = Some(if ftp { "ftp" } else { "smtp" });
            self.banner = Some(line_text(server));
        } else if server.starts_with(b"+OK") {
            self.protocol = Some("pop3");
            self.banner = Some(line_text(server));
        } else if server.starts_with(b"* OK") || server.starts_with(b"* PREAUTH") {
            self.protocol = Some("imap");
            self.banner = Some(line_text(server));
        } else if looks_like_http(client) {
            self.protocol = Some("http");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_greetings() {
        let mut t = Tunnel::default();
        t.classify(
            b"HELO 208.191.73.21\r\n",
            b"220 mailin03.sul.t-online.de T-Online ESMTP receiver fssmtpd ready.\r\n",
        );
        assert_eq!(t.protocol, Some("smtp"));
        assert_eq!(
            t.banner.as_deref(),
            Some("220 mailin03.sul.t-online.de T-Online ESMTP receiver fssmtpd ready.")
        );
        let mut t = Tunnel::default();
        t.classify(b"USER anonymous\r\n", b"220 FTP ready\r\n");
        assert_eq!(t.protocol, Some("ftp"));
        let mut t = Tunnel::default();
        t.classify(b"", b"SSH-2.0-OpenSSH_9.2\r\n");
        assert_eq!(
            (t.protocol, t.banner.as_deref()),
            (Some("ssh"), Some("SSH-2.0-OpenSSH_9.2"))
        );
        let mut t = Tunnel::default();
        t.classify(b"GET / HTTP/1.1\r\n", b"");
        assert_eq!(t.protocol, Some("http"));
        let mut t = Tunnel::default();
        t.classify(b"\x00\x01\x02", b"\xff");
        assert_eq!((t.protocol, t.banner), (None, None));
    }

    #[test]
    fn truncated_client_hello_has_no_sni() {
        let mut t = Tunnel::default();
        t.classify(b"\x16\x03\x01\x02\x00\x01\x00\x01", b"");
        assert_eq!((t.protocol, t.sni), (Some("tls"), None));
    }
}
