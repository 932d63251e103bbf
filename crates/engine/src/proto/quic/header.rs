//! Packet headers (RFC 9000 §17; version 2's type bits, RFC 9369 §3.2) and the split of a
//! UDP datagram into its coalesced packets (RFC 9000 §12.2) by each long header's Length.
//!
//! Header protection (RFC 9001 §5.4) hides the packet number and the low bits of the
//! first byte, so this layer stops at the packet number offset; `initial` removes the
//! protection.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::Cur;

/// QUIC version 1 (RFC 9000).
pub const V1: u32 = 0x0000_0001;
/// QUIC version 2 (RFC 9369 §3.1).
pub const V2: u32 = 0x6b33_43cf;

/// RFC 9000 §17.2: connection IDs of versions 1 and 2 are at most 20 bytes.
pub const MAX_CID_LEN: usize = 20;

/// Long header packet types (RFC 9000 §17.2, Table 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LongType {
    Initial,
    ZeroRtt,
    Handshake,
    Retry,
}

impl LongType {
    /// The two type bits of the first byte; version 2 permutes them (RFC 9369 §3.2).
    pub fn from_bits(version: u32, bits: u8) -> LongType {
        match (version == V2, bits & 3) {
            (false, 0) | (true, 1) => LongType::Initial,
            (false, 1) | (true, 2) => LongType::ZeroRtt,
            (false, 2) | (true, 3) => LongType::Handshake,
            _ => LongType::Retry,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            LongType::Initial => "Initial",
            LongType::ZeroRtt => "0-RTT",
            LongType::Handshake => "Handshake",
            LongType::Retry => "Retry",
        }
    }
}

/// Whether this implementation knows the version's packet layout and Initial keys.
pub fn known_version(v: u32) -> bool {
    v == V1 || v == V2
}

/// `v1`, `v2` (RFC 9369), `draft-29`, or `0x…` for any other QUIC version number.
pub fn version_name(v: u32) -> String {
    match v {
        V1 => "v1".into(),
        V2 => "v2".into(),
        0xff00_0000..=0xff00_00ff => format!("draft-{}", v & 0xff),
        _ => format!("0x{v:08x}"),
    }
}

/// Whether a UDP payload opens as QUIC: a long header (RFC 9000 §17.2) of a version this
/// crate knows, with its fixed bit set and connection IDs of legal length (≤ 20 bytes),
/// or a Version Negotiation packet (version 0). Short headers cannot be told from noise,
/// so a flow first seen mid-connection is not taken for QUIC. The engine's QUIC probe
/// and `follow` decide with this one rule.
pub fn looks_like_quic(b: &[u8]) -> bool {
    let (Some(&first), Some(v), Some(&dl)) = (b.first(), b.get(1..5), b.get(5)) else {
        return false;
    };
    let Ok(v) = <[u8; 4]>::try_from(v) else {
        return false;
    };
    let version = u32::from_be_bytes(v);
    if first & 0x80 == 0 || dl > 20 {
        return false;
    }
    let Some(&sl) = b.get(6 + usize::from(dl)) else {
        return false;
    };
    sl <= 20 && (version == 0 || (first & 0x40 != 0 && known_version(version)))
}

/// One packet of a datagram, as far as can be read without keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    /// RFC 9000 §17.2.1: version 0; the list of versions the server supports.
    VersionNegotiation {
        dcid: &'a [u8],
        scid: &'a [u8],
        versions: Vec<u32>,
    },
    /// Initial, 0-RTT or Handshake (RFC 9000 §17.2.2–17.2.4).
    Long {
        ty: LongType,
        version: u32,
        dcid: &'a [u8],
        scid: &'a [u8],
        /// Initial only (RFC 9000 §17.2.2); empty otherwise.
        token: &'a [u8],
        /// Offset of the (protected) packet number in `bytes`.
        pn_offset: usize,
        /// The whole packet, first byte to the end of its Length.
        bytes: &'a [u8],
    },
    /// RFC 9000 §17.2.5: the token and the 16-byte integrity tag (RFC 9001 §5.8).
    Retry {
        version: u32,
        dcid: &'a [u8],
        scid: &'a [u8],
        token: &'a [u8],
        tag: &'a [u8],
    },
    /// A long header of a version this code does not know: only the invariant fields
    /// (RFC 8999 §5.1) can be read, and the rest of the datagram belongs to it.
    UnknownVersion {
        version: u32,
        dcid: &'a [u8],
        scid: &'a [u8],
        bytes: &'a [u8],
    },
    /// RFC 9000 §17.3: a 1-RTT packet; the DCID length is not on the wire, so the caller
    /// says what it expects. Always the last packet of a datagram.
    Short {
        dcid: &'a [u8],
        /// Offset of the packet number in `bytes`.
        pn_offset: usize,
        bytes: &'a [u8],
    },
}

impl Packet<'_> {
    pub fn dcid(&self) -> &[u8] {
        match self {
            Packet::VersionNegotiation { dcid, .. }
            | Packet::Long { dcid, .. }
            | Packet::Retry { dcid, .. }
            | Packet::UnknownVersion { dcid, .. }
            | Packet::Short { dcid, .. } => dcid,
        }
    }
    pub fn scid(&self) -> Option<&[u8]> {
        match self {
            Packet::VersionNegotiation { scid, .. }
            | Packet::Long { scid, .. }
            | Packet::Retry { scid, .. }
            | Packet::UnknownVersion { scid, .. } => Some(scid),
            Packet::Short { .. } => None,
        }
    }
    /// A short name for reports: "Initial", "Handshake", "1-RTT", "Retry", …
    pub fn kind(&self) -> &'static str {
        match self {
            Packet::VersionNegotiation { .. } => "VersionNegotiation",
            Packet::Long { ty, .. } => ty.name(),
            Packet::Retry { .. } => "Retry",
            Packet::UnknownVersion { .. } => "UnknownVersion",
            Packet::Short { .. } => "1-RTT",
        }
    }
}

/// Where and why the split of a datagram stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderError {
    /// Offset in the datagram of the packet that could not be read.
    pub offset: usize,
    pub reason: &'static str,
}

/// Splits a UDP payload into its packets (RFC 9000 §12.2). `short_dcid_len` is the
/// connection ID length the receiver of a short header packet chose. Packets before an
/// error are returned; trailing zero bytes after the last long packet are treated as
/// padding of the datagram, as some stacks send them.
pub fn split_datagram(d: &[u8], short_dcid_len: usize) -> (Vec<Packet<'_>>, Option<HeaderError>) {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(rest) = d.get(at..).filter(|r| !r.is_empty()) {
        if !out.is_empty() && rest.iter().all(|&b| b == 0) {
            break;
        }
        match parse_packet(rest, short_dcid_len) {
            Ok((p, used)) => {
                out.push(p);
                at += used.max(1);
            }
            Err(reason) => return (out, Some(HeaderError { offset: at, reason })),
        }
    }
    (out, None)
}

/// Parses the packet at the start of `b`; returns it and its length.
pub fn parse_packet(b: &[u8], short_dcid_len: usize) -> Result<(Packet<'_>, usize), &'static str> {
    let mut c = Cur::new(b);
    let first = c.u8().ok_or("empty")?;
    if first & 0x80 == 0 {
        let dcid = c
            .take(short_dcid_len)
            .ok_or("short header shorter than its DCID")?;
        return Ok((
            Packet::Short {
                dcid,
                pn_offset: c.pos,
                bytes: b,
            },
            b.len(),
        ));
    }
    let version = c.u32().ok_or("long header truncated in version")?;
    let dcid_len = c.u8().ok_or("long header truncated in DCID length")?;
    let dcid = c
        .take(usize::from(dcid_len))
        .ok_or("long header truncated in DCID")?;
    let scid_len = c.u8().ok_or("long header truncated in SCID length")?;
    let scid = c
        .take(usize::from(scid_len))
        .ok_or("long header truncated in SCID")?;
    if version == 0 {
        let rest = c.rest();
        if !rest.len().is_multiple_of(4) {
            return Err("version negotiation list not a multiple of 4 bytes");
        }
        let versions = rest
            .chunks_exact(4)
            .filter_map(|v| v.try_into().ok().map(u32::from_be_bytes))
            .collect();
        return Ok((
            Packet::VersionNegotiation {
                dcid,
                scid,
                versions,
            },
            b.len(),
        ));
    }
    if !known_version(version) {
        return Ok((
            Packet::UnknownVersion {
                version,
                dcid,
                scid,
                bytes: b,
            },
            b.len(),
        ));
    }
    if dcid.len() > MAX_CID_LEN || scid.len() > MAX_CID_LEN {
        return Err("connection ID longer than 20 bytes");
    }
    let ty = LongType::from_bits(version, first >> 4);
    if ty == LongType::Retry {
        let rest = c.rest();
        let split = rest
            .len()
            .checked_sub(16)
            .ok_or("Retry shorter than its integrity tag")?;
        let (token, tag) = rest.split_at(split);
        return Ok((
            Packet::Retry {
                version,
                dcid,
                scid,
                token,
                tag,
            },
            b.len(),
        ));
    }
    let token = if ty == LongType::Initial {
        let n = c.varint().ok_or("Initial truncated in token length")?;
        c.take_u64(n).ok_or("Initial truncated in token")?
    } else {
        &[]
    };
    let length = c.varint().ok_or("long header truncated in Length")?;
    let pn_offset = c.pos;
    let end = usize::try_from(length)
        .ok()
        .and_then(|l| pn_offset.checked_add(l))
        .filter(|&e| e <= b.len())
        .ok_or("Length runs past the datagram")?;
    // Header protection samples 16 bytes from pn_offset + 4 (RFC 9001 §5.4.2).
    if length < 20 {
        return Err("Length too short for a packet number and a protection sample");
    }
    let bytes = b.get(..end).ok_or("Length runs past the datagram")?;
    Ok((
        Packet::Long {
            ty,
            version,
            dcid,
            scid,
            token,
            pn_offset,
            bytes,
        },
        end,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::quic::unhex;

    #[test]
    fn the_rfc9001_client_initial_header() {
        let p = unhex(include_str!("testdata/v1_client_initial.hex"));
        let (pkts, err) = split_datagram(&p, 0);
        assert_eq!(err, None);
        assert_eq!(pkts.len(), 1);
        match &pkts[0] {
            Packet::Long {
                ty,
                version,
                dcid,
                scid,
                token,
                pn_offset,
                bytes,
            } => {
                assert_eq!(*ty, LongType::Initial);
                assert_eq!(*version, V1);
                assert_eq!(*dcid, unhex("8394c8f03e515708").as_slice());
                assert!(scid.is_empty() && token.is_empty());
                assert_eq!(*pn_offset, 18);
                assert_eq!(bytes.len(), 1200);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn version_2_type_bits_are_permuted() {
        // RFC 9369 §3.2: 0b01 is Initial, 0b00 is Retry.
        assert_eq!(LongType::from_bits(V2, 0xd), LongType::Initial);
        assert_eq!(LongType::from_bits(V2, 0xc), LongType::Retry);
        assert_eq!(LongType::from_bits(V2, 0xe), LongType::ZeroRtt);
        assert_eq!(LongType::from_bits(V2, 0xf), LongType::Handshake);
        assert_eq!(LongType::from_bits(V1, 0xc), LongType::Initial);
        assert_eq!(LongType::from_bits(V1, 0xf), LongType::Retry);
        let p = unhex(include_str!("testdata/v2_server_initial.hex"));
        let (pkts, err) = split_datagram(&p, 0);
        assert_eq!(err, None);
        assert_eq!(pkts[0].kind(), "Initial");
        assert_eq!(pkts[0].scid(), Some(unhex("f067a5502a4262b5").as_slice()));
    }

    #[test]
    fn coalesced_packets_split_by_length_and_a_short_header_ends_the_datagram() {
        let server = unhex(include_str!("testdata/v1_server_initial.hex"));
        let mut d = server.clone();
        // A Handshake packet (type 0b10) with 20 bytes of payload, then a short header.
        d.extend(unhex("e0000000010008f067a5502a4262b514"));
        d.extend([0xaa; 20]);
        d.extend(unhex(
            "40010203040506070809aabbccddeeff00112233445566778899",
        ));
        let (pkts, err) = split_datagram(&d, 8);
        assert_eq!(err, None);
        let kinds: Vec<_> = pkts.iter().map(Packet::kind).collect();
        assert_eq!(kinds, ["Initial", "Handshake", "1-RTT"]);
        assert_eq!(pkts[2].dcid(), unhex("0102030405060708").as_slice());
    }

    #[test]
    fn version_negotiation_and_retry() {
        let vn = unhex("80000000000401020304040a0b0c0d000000016b3343cf");
        let (pkts, err) = split_datagram(&vn, 0);
        assert_eq!(err, None);
        assert_eq!(
            pkts[0],
            Packet::VersionNegotiation {
                dcid: &[1, 2, 3, 4],
                scid: &[10, 11, 12, 13],
                versions: vec![V1, V2]
            }
        );
        // RFC 9001 Appendix A.4: the Retry.
        let retry =
            unhex("ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f0f2496ba");
        let (pkts, err) = split_datagram(&retry, 0);
        assert_eq!(err, None);
        match &pkts[0] {
            Packet::Retry {
                token, tag, scid, ..
            } => {
                assert_eq!(*token, b"token");
                assert_eq!(tag.len(), 16);
                assert_eq!(*scid, unhex("f067a5502a4262b5").as_slice());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn truncations_say_where_and_why() {
        let p = unhex(include_str!("testdata/v1_client_initial.hex"));
        for cut in 0..60 {
            let (pkts, err) = split_datagram(&p[..cut], 0);
            if cut == 0 {
                assert!(pkts.is_empty() && err.is_none());
                continue;
            }
            assert!(pkts.is_empty(), "cut {cut}");
            let err = err.unwrap();
            assert_eq!(err.offset, 0);
            assert!(!err.reason.is_empty());
        }
        let mut two = p.clone();
        two.extend(&p[..30]);
        let (pkts, err) = split_datagram(&two, 0);
        assert_eq!(pkts.len(), 1);
        assert_eq!(err.unwrap().offset, 1200);
    }

    /// The first datagram of the aioquic lab capture (a client Initial), and what is
    /// not QUIC although it travels on UDP 443: DTLS, a short-header-looking byte, a
    /// long header of an unknown version, connection IDs over 20 bytes.
    #[test]
    fn only_real_long_headers_open_a_quic_decoder() {
        let mut initial = vec![0xc0, 0, 0, 0, 1, 8];
        initial.extend([0xab; 8]);
        initial.push(8);
        initial.extend([0xcd; 8]);
        initial.extend([0; 40]);
        assert!(looks_like_quic(&initial));
        // Version Negotiation: version 0, any first byte with the long-header bit.
        let mut vn = initial.clone();
        vn[0] = 0x80;
        vn[1..5].copy_from_slice(&[0, 0, 0, 0]);
        assert!(looks_like_quic(&vn));
        // DTLS 1.2 ClientHello record header (content type 22, version fefd).
        assert!(!looks_like_quic(&[
            22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40
        ]));
        // A short header: cannot be told from noise, not taken.
        assert!(!looks_like_quic(&[0x41, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
        // Unknown version with the fixed bit: not ours to decode.
        let mut unknown = initial.clone();
        unknown[1..5].copy_from_slice(&[0x0a, 0x1a, 0x2a, 0x3a]);
        assert!(!looks_like_quic(&unknown));
        // Fixed bit clear (RFC 9000 §17.2: must be 1).
        let mut unfixed = initial.clone();
        unfixed[0] = 0x80;
        assert!(!looks_like_quic(&unfixed));
        // A DCID longer than 20 bytes (RFC 9000 §17.2).
        let mut long = initial.clone();
        long[5] = 21;
        assert!(!looks_like_quic(&long));
        // Cut before the SCID length.
        assert!(!looks_like_quic(&initial[..10]));
        assert!(!looks_like_quic(&[]));
    }

    #[test]
    fn only_long_headers_of_known_versions_are_quic() {
        let mut initial = vec![0xc0, 0, 0, 0, 1, 8];
        initial.extend([0xab; 8]);
        initial.push(8);
        initial.extend([0xcd; 8]);
        assert!(looks_like_quic(&initial));
        let mut short = initial.clone();
        short[0] = 0x40;
        assert!(!looks_like_quic(&short));
        let mut unknown = initial.clone();
        unknown[1..5].copy_from_slice(&[0x0a, 0x1a, 0x2a, 0x3a]);
        assert!(!looks_like_quic(&unknown));
        assert!(!looks_like_quic(&initial[..6]));
        assert!(!looks_like_quic(&[]));
    }
}
