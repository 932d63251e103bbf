//! Classic pcap (draft-ietf-opsawg-pcap, "PCAP Capture File Format"): a 24-byte file
//! header (§4) then records with a 16-byte header (§5). Also the "modified" format of
//! Alexey Kuznetsov's patches (magic a1b2cd34), whose record headers are 24 bytes
//! (ifindex, protocol, pkt_type and padding follow the usual 16).

use super::error::{CaptureError, ErrorKind};
use super::walk::{
    u16_at, u32_at, ByteOrder, FileFormat, InterfaceInfo, PacketRec, State, Step, Walker, MAX_BLOCK,
};
use crate::base::{LinkType, Timestamp};

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
    let Some((order, nanos, modified)) = magic(&h[..4]) else {
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
    let secs = i64::from(u32_at(rh, 0, h.be));
    let frac = u64::from(u32_at(rh, 4, h.be));
    let ts = Timestamp::from_parts(secs, frac, if h.nanos { 1_000_000_000 } else { 1_000_000 });
    Ok(Step::Packet(PacketRec {
        consumed: total,
        data_start: hl,
        caplen,
        origlen: u32_at(rh, 12, h.be),
        ts,
        iface: 0,
    }))
}
