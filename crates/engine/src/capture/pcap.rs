//! Classic pcap (draft-ietf-opsawg-pcap, "PCAP Capture File Format"): a 24-byte file
//! header (§4) then records with a 16-byte header (§5). Also the "modified" format of
//! Alexey Kuznetsov's patches (magic a1b2cd34), whose record headers are 24 bytes
//! (ifindex, protocol, pkt_type and padding follow the usual 16).

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::error::{CaptureError, ErrorKind};
use super::store::IndexEntry;
use super::walk::{
    u16_at, u32_at, ByteOrder, FileFormat, InterfaceInfo, PacketRec, State, Step, Walker, MAX_BLOCK,
};
use crate::base::{Anomaly, AnomalyKind, LinkType, Timestamp};

/// tshark's (and libpcap's) bound on a record's captured length.
pub const MAX_SNAPLEN_DEFAULT: u32 = 262_144;

pub const FILE_HEADER_LEN: usize = 24;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Header {
    be: bool,
    nanos: bool,
    modified: bool,
    /// Record captured-length bound: max(snaplen, 262144), capped at [`MAX_BLOCK`].
    max_caplen: u32,
}

/// Recognises a pcap magic: (byte order, nanosecond, modified).
pub(crate) fn magic(m: &[u8]) -> Option<(ByteOrder, bool, bool)> {
    let le = u32::from_le_bytes(m.try_into().ok()?);
    let be = u32::from_be_bytes(m.try_into().ok()?);
    for (v, order) in [(le, ByteOrder::Little), (be, ByteOrder::Big)] {
        match v {
            0xa1b2c3d4 => return Some((order, false, false)),
            0xa1b23c4d => return Some((order, true, false)),
            0xa1b2cd34 => return Some((order, false, true)),
            _ => {}
        }
    }
    None
}

/// Parses the file header (§4) and switches the walker to records.
pub(crate) fn file_header(w: &mut Walker, buf: &[u8], offset: u64) -> Result<Step, CaptureError> {
    let Some(h) = buf.get(..FILE_HEADER_LEN) else {
        return Ok(Step::Need {
            need: FILE_HEADER_LEN,
            what: "pcap file header",
        });
    };
    let Some((order, nanos, modified)) = magic(h.get(..4).unwrap_or(&[])) else {
        return Err(w.err(
            offset,
            ErrorKind::Malformed {
                what: "pcap file header",
                detail: "bad magic".into(),
            },
        ));
    };
    let be = order.is_be();
    let version = (u16_at(h, 4, be), u16_at(h, 6, be));
    let snaplen = u32_at(h, 16, be);
    // §4: the link type is the low 16 bits; the upper bits carry FCS information.
    let link = LinkType(u32_at(h, 20, be) & 0xffff);
    w.format = Some(FileFormat::Pcap {
        byte_order: order,
        nanos,
        modified,
        version,
    });
    w.interfaces.push(InterfaceInfo {
        link,
        snaplen,
        name: None,
        description: None,
        tsresol: if nanos { 9 } else { 6 },
        tsoffset: 0,
        section: 0,
        id_in_section: 0,
    });
    w.state = State::Pcap(Header {
        be,
        nanos,
        modified,
        max_caplen: snaplen.clamp(MAX_SNAPLEN_DEFAULT, MAX_BLOCK),
    });
    Ok(Step::Skip(FILE_HEADER_LEN))
}

/// One record (§5): ts_sec, ts_frac, caplen, origlen, then caplen bytes.
#[inline]
pub(crate) fn record(
    w: &mut Walker,
    h: &Header,
    buf: &[u8],
    offset: u64,
) -> Result<Step, CaptureError> {
    let hl = if h.modified { 24 } else { 16 };
    let Some(rh) = buf.get(..hl) else {
        return Ok(Step::Need {
            need: hl,
            what: "packet record header",
        });
    };
    let caplen = u32_at(rh, 8, h.be);
    if caplen > h.max_caplen {
        return Err(w.err(
            offset,
            ErrorKind::ImpossibleLength {
                what: "packet record header",
                len: u64::from(caplen),
                reason: "captured length exceeds the snapshot length and the 262144-byte bound",
            },
        ));
    }
    let total = hl + caplen as usize;
    if buf.len() < total {
        return Ok(Step::Need {
            need: total,
            what: "packet record",
        });
    }
    // Integer multiply instead of `Timestamp::from_parts`' 128-bit division: this is the
    // hottest line of a file read. A fraction out of range (≥ 1 s) is kept as is, as
    // libpcap and tshark do.
    let secs = i64::from(u32_at(rh, 0, h.be));
    let frac = i64::from(u32_at(rh, 4, h.be));
    let ts = Timestamp(secs * 1_000_000_000 + if h.nanos { frac } else { frac * 1_000 });
    let origlen = u32_at(rh, 12, h.be);
    if caplen > origlen {
        w.anomaly = Some(Anomaly::new(
            AnomalyKind::CaplenExceedsOriglen,
            format!("captured {caplen} bytes of a {origlen}-byte packet"),
        ));
    } else if frac >= if h.nanos { 1_000_000_000 } else { 1_000_000 } {
        w.anomaly = Some(Anomaly::new(
            AnomalyKind::TimestampFractionOverflow,
            format!("fraction of a second is {frac}"),
        ));
    }
    Ok(Step::Packet(PacketRec {
        consumed: total,
        data_start: hl,
        caplen,
        origlen,
        ts,
        iface: 0,
    }))
}

/// Re-reads the record header (§5) in front of the packet bytes at `data` in `bytes`,
/// giving the index entry [`record`] made for it, so the frame store need not keep one
/// per packet (only where the bytes start). Computed exactly as [`record`] does;
/// `None` when the header is not there.
#[inline]
pub(crate) fn reread(
    bytes: &[u8],
    data: usize,
    be: bool,
    nanos: bool,
    modified: bool,
) -> Option<IndexEntry> {
    let hl = if modified { 24 } else { 16 };
    let rh = bytes.get(data.checked_sub(hl)?..data)?;
    let secs = i64::from(u32_at(rh, 0, be));
    let frac = i64::from(u32_at(rh, 4, be));
    Some(IndexEntry {
        offset: data as u64,
        ts: Timestamp(secs * 1_000_000_000 + if nanos { frac } else { frac * 1_000 }),
        caplen: u32_at(rh, 8, be),
        origlen: u32_at(rh, 12, be),
        iface: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testbytes::*;
    use super::super::{ErrorKind, FileFormat, FrameSource, MemReader};
    use crate::base::{LinkType, Timestamp};

    fn file(be: bool, magic: u32, modified: bool) -> Vec<u8> {
        let mut f = pcap_header(be, magic, 65535, 1);
        f.extend(pcap_record(be, 1_000, 250_000, b"abcdef", 60, modified));
        f.extend(pcap_record(be, 1_001, 999_999, b"", 0, modified));
        f.extend(pcap_record(be, u32::MAX, 1, &[0xee; 300], 1500, modified));
        f
    }

    #[test]
    fn both_byte_orders_micro_nano_and_modified() {
        for be in [false, true] {
            for (magic, nanos, modified) in [
                (0xa1b2c3d4, false, false),
                (0xa1b23c4d, true, false),
                (0xa1b2cd34, false, true),
            ] {
                let bytes = file(be, magic, modified);
                let (frames, err) = read_all(&bytes);
                assert_eq!(err, None);
                assert_eq!(frames.len(), 3);
                let units = if nanos { 1_000_000_000 } else { 1_000_000 };
                assert_eq!(frames[0].0.ts, Timestamp::from_parts(1_000, 250_000, units));
                assert_eq!(frames[0].1, b"abcdef");
                assert_eq!((frames[0].0.caplen, frames[0].0.origlen), (6, 60));
                assert_eq!(frames[0].0.link, LinkType::ETHERNET);
                assert_eq!(frames[1].1, b"");
                // ts_sec is unsigned: 2^32-1 is in 2106, not negative.
                assert_eq!(frames[2].0.ts.secs(), i64::from(u32::MAX));
                assert_eq!((frames[2].0.caplen, frames[2].0.origlen), (300, 1500));
                let mut r = MemReader::new(&bytes);
                while let Ok(Some(_)) = r.next_frame() {}
                match r.format() {
                    Some(FileFormat::Pcap {
                        byte_order,
                        nanos: n,
                        modified: m,
                        version,
                    }) => {
                        assert_eq!(
                            (byte_order.is_be(), n, m, version),
                            (be, nanos, modified, (2, 4))
                        );
                    }
                    f => panic!("{f:?}"),
                }
                assert_eq!(r.interfaces()[0].tsresol, if nanos { 9 } else { 6 });
            }
        }
    }

    /// tcpdump/tcp-handshake-nano.pcap frames 1–2 (LINUX_SLL, nanosecond magic), cut with
    /// python; times are tshark's `frame.time_epoch`.
    #[test]
    fn real_nanosecond_file() {
        let bytes = std::fs::read(crate::testutil::shared_capture(
            "tcpdump/tcp-handshake-nano.pcap",
        ))
        .unwrap();
        let (frames, err) = read_all(&bytes);
        assert_eq!(err, None);
        let ts: Vec<String> = frames.iter().map(|f| f.0.ts.to_string()).collect();
        assert_eq!(
            ts,
            [
                "1418145369.924505488",
                "1418145370.052027262",
                "1418145370.052115157"
            ]
        );
        assert_eq!(frames[0].0.link, LinkType::LINUX_SLL);
        assert_eq!(
            frames.iter().map(|f| f.0.caplen).collect::<Vec<_>>(),
            [76, 76, 68]
        );
    }

    #[test]
    fn link_type_fcs_bits_are_masked_and_caplen_bound_applies() {
        let mut f = pcap_header(false, 0xa1b2c3d4, 65535, 0x1000_0001);
        f.extend(pcap_record(false, 1, 0, b"x", 1, false));
        let (frames, _) = read_all(&f);
        assert_eq!(frames[0].0.link, LinkType::ETHERNET);

        // A caplen over max(snaplen, 262144) is an impossible length at the record.
        let mut f = pcap_header(false, 0xa1b2c3d4, 65535, 1);
        f.extend(pcap_record(false, 1, 0, b"ok", 2, false));
        let bad_at = f.len() as u64;
        let mut rec = pcap_record(false, 1, 0, b"", 0, false);
        rec[8..12].copy_from_slice(&262_145u32.to_le_bytes());
        f.extend(rec);
        let (frames, err) = read_all(&f);
        assert_eq!(frames.len(), 1);
        let err = err.unwrap();
        assert_eq!((err.offset, err.packets_before), (bad_at, 1));
        assert!(matches!(
            err.kind,
            ErrorKind::ImpossibleLength { len: 262_145, .. }
        ));
        // A large snaplen raises the bound.
        let mut f = pcap_header(false, 0xa1b2c3d4, 400_000, 1);
        f.extend(pcap_record(false, 1, 0, &vec![1; 300_000], 300_000, false));
        assert_eq!(read_all(&f).0.len(), 1);
    }

    #[test]
    fn odd_records_are_anomalies_not_errors() {
        let mut f = pcap_header(false, 0xa1b2c3d4, 65535, 1);
        f.extend(pcap_record(false, 1, 0, b"abcd", 2, false));
        f.extend(pcap_record(false, 1, 1_000_000, b"ok", 2, false));
        f.extend(pcap_record(false, 1, 5, b"fine", 60, false));
        let (frames, err) = read_all(&f);
        assert_eq!((frames.len(), err), (3, None));
        assert_eq!(
            read_anomalies(&f),
            [
                (0, "caplen_exceeds_origlen"),
                (1, "timestamp_fraction_overflow")
            ]
        );
    }

    #[test]
    fn header_only_is_empty_and_clean() {
        let (frames, err) = read_all(&pcap_header(true, 0xa1b2c3d4, 65535, 1));
        assert!(frames.is_empty());
        assert_eq!(err, None);
    }
}
