//! QUIC (RFC 9000, RFC 9001, RFC 9369 for version 2), sans-IO: packet headers and
//! coalesced packets, Initial keys and packet decryption, frames, CRYPTO reassembly and
//! the TLS hellos it carries; with a TLS key log, Handshake, 0-RTT and 1-RTT decryption
//! (key updates included), STREAM reassembly and connection events; and a per-connection
//! state ([`conn::QuicConnState`]) that reports what a passive observer learns.
//!
//! Nothing here sees a socket or the flow table: callers hand in UDP payloads with a
//! direction, a packet id and a timestamp.

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod conn;
pub mod crypto_stream;
pub mod frame;
pub mod header;
pub mod initial;
pub mod streams;
pub mod transport_params;
pub mod tree;

pub use conn::{
    CloseSeen, FrameSeen, PacketCounts, PacketSeen, QuicConnState, QuicEvent, QuicReport, Space,
};
pub use transport_params::TransportParams;
pub use tree::{info, tree};

/// A variable-length integer (RFC 9000 §16): the two high bits of the first byte give
/// the length (1, 2, 4 or 8 bytes). Returns the value and the bytes used.
pub fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let first = *b.first()?;
    let len = 1usize << (first >> 6);
    let bytes = b.get(..len)?;
    let mut v = u64::from(first & 0x3f);
    for &x in bytes.iter().skip(1) {
        v = (v << 8) | u64::from(x);
    }
    Some((v, len))
}

/// A cursor over wire bytes; every read is checked.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cur<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Cur<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Cur { buf, pos: 0 }
    }
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }
    pub fn is_empty(&self) -> bool {
        self.rest().is_empty()
    }
    pub fn u8(&mut self) -> Option<u8> {
        let v = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(v)
    }
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let v = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(v)
    }
    pub fn take_u64(&mut self, n: u64) -> Option<&'a [u8]> {
        self.take(usize::try_from(n).ok()?)
    }
    pub fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_be_bytes(b.try_into().ok()?))
    }
    pub fn varint(&mut self) -> Option<u64> {
        let (v, n) = varint(self.rest())?;
        self.pos += n;
        Some(v)
    }
}

#[cfg(test)]
pub(crate) fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_of_rfc9000_appendix_a1() {
        assert_eq!(
            varint(&unhex("c2197c5eff14e88c")),
            Some((151_288_809_941_952_652, 8))
        );
        assert_eq!(varint(&unhex("9d7f3e7d")), Some((494_878_333, 4)));
        assert_eq!(varint(&unhex("7bbd")), Some((15_293, 2)));
        assert_eq!(varint(&unhex("25")), Some((37, 1)));
        assert_eq!(varint(&unhex("4025")), Some((37, 2)));
        assert_eq!(varint(&unhex("7b")), None);
        assert_eq!(varint(&[]), None);
    }
}
