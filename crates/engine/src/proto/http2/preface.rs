//! How a connection becomes HTTP/2 (RFC 9113 §3).
//!
//! * Over TLS, ALPN `h2` (§3.2); the TLS layer says so and hands decrypted bytes over.
//! * In the clear by prior knowledge (§3.3): the client's first bytes are the connection
//!   preface [`PREFACE`] (§3.4), which is recognised by content ([`looks_like_h2`]).
//!   It reads as an HTTP/1 request line with method `PRI` by design, so a caller must
//!   test for it *before* HTTP/1.x.
//! * In the clear by `Upgrade: h2c` (RFC 7540 §3.2, deprecated by RFC 9113 §3.1): the
//!   HTTP/1.1 request carries `Upgrade: h2c` and `HTTP2-Settings`; after the server's
//!   `101 Switching Protocols` the client sends the preface and the server its
//!   SETTINGS, and the upgrade request is stream 1, answered in HTTP/2. The HTTP/1
//!   decoder reports the 101 (`HttpConn::upgraded`, protocol "h2c") and stops; the
//!   caller then feeds the rest of each direction to [`super::H2Conn::after_upgrade`],
//!   which starts with stream 1's request already complete.

/// The client connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// True when a client's first bytes are (the start of) the HTTP/2 connection preface:
/// at least the 4 bytes `PRI ` and as much of the preface as was given.
pub fn looks_like_h2(first_bytes: &[u8]) -> bool {
    let n = first_bytes.len().min(PREFACE.len());
    n >= 4 && first_bytes.get(..n) == PREFACE.get(..n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preface_recognition() {
        assert!(looks_like_h2(PREFACE));
        assert!(looks_like_h2(b"PRI * HTTP/2.0\r\n"));
        assert!(looks_like_h2(
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04"
        ));
        assert!(!looks_like_h2(b"PRI"));
        assert!(!looks_like_h2(b"PRI * HTTP/1.1\r\n"));
        assert!(!looks_like_h2(b"GET / HTTP/1.1\r\n"));
    }
}
