//! pcapng (draft-ietf-opsawg-pcapng, "PCAP Now Generic"): a sequence of blocks, each
//! `type, total length, body, total length` (§3.1), grouped in sections that each start
//! with a Section Header Block carrying its own byte order (§4.1).
//!
//! Packets come from Enhanced Packet Blocks (§4.3), Simple Packet Blocks (§4.4) and the
//! obsolete Packet Block (type 2, Appendix). Interface Description Blocks (§4.2) give
//! link type, snaplen, `if_tsresol` and `if_tsoffset`. Every other block (statistics,
//! name resolution, decryption secrets, custom blocks §4.8, unknown types) is skipped.

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
    u16_at, u32_at, u64_at, ByteOrder, DecryptionSecrets, InterfaceInfo, PacketRec, SectionInfo,
    State, Step, Walker, MAX_BLOCK, MAX_INTERFACES,
};
use crate::base::{Anomaly, AnomalyKind, LinkType};

/// Block type of the SHB; a palindrome, so it reads the same in both byte orders.
pub const SHB_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const BYTE_ORDER_MAGIC: u32 = 0x1a2b3c4d;

const BT_IDB: u32 = 1;
const BT_PB: u32 = 2;
const BT_SPB: u32 = 3;
const BT_EPB: u32 = 6;
const BT_DSB: u32 = 0x0000_000a;
/// Most secrets held between two packets (a key log line is ~180 bytes, so this is
/// hundreds of thousands of TLS sessions); a file with more is refused as malformed
/// rather than read with keys silently missing.
const MAX_SECRETS: usize = 64 << 20;

const OPT_ENDOFOPT: u16 = 0;
const OPT_COMMENT: u16 = 1;

/// Walker state inside a section.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Section {
    be: bool,
    /// Global index of this section's first interface.
    iface_base: u32,
    /// Whether an SHB has been seen at all.
    started: bool,
}

impl Section {
    pub const NONE: Section = Section {
        be: false,
        iface_base: 0,
        started: false,
    };
}

fn malformed(
    w: &Walker,
    offset: u64,
    what: &'static str,
    detail: impl Into<String>,
) -> CaptureError {
    w.err(
        offset,
        ErrorKind::Malformed {
            what,
            detail: detail.into(),
        },
    )
}

fn impossible(
    w: &Walker,
    offset: u64,
    what: &'static str,
    len: u64,
    reason: &'static str,
) -> CaptureError {
    w.err(offset, ErrorKind::ImpossibleLength { what, len, reason })
}

/// Calls `f(code, value)` for each option in `opts` (§3.5) until `opt_endofopt` or the end.
/// A malformed option list stops the walk and returns false: options are advisory and
/// the packet itself is intact, so this is an anomaly, not an error.
pub(crate) fn for_each_option(opts: &[u8], be: bool, mut f: impl FnMut(u16, &[u8])) -> bool {
    let mut pos = 0usize;
    while pos + 4 <= opts.len() {
        let code = u16_at(opts, pos, be);
        let len = usize::from(u16_at(opts, pos + 2, be));
        if code == OPT_ENDOFOPT {
            break;
        }
        let Some(value) = opts.get(pos + 4..pos + 4 + len) else {
            return false;
        };
        f(code, value);
        pos += 4 + pad4(len);
    }
    true
}

#[inline]
fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

/// Walks one block at the start of `buf`.
pub(crate) fn block(
    w: &mut Walker,
    sec: Section,
    buf: &[u8],
    offset: u64,
) -> Result<Step, CaptureError> {
    let Some(head) = buf.get(..8) else {
        return Ok(Step::Need {
            need: if buf.first() == Some(&0x0a) { 12 } else { 8 },
            what: "block header",
        });
    };
    let is_shb = head.get(..4) == Some(&SHB_MAGIC[..]);
    let be = if is_shb {
        // §4.1: the byte-order magic decides how this section's numbers read.
        let Some(&bom) = buf.get(8..12).and_then(|b| b.first_chunk::<4>()) else {
            return Ok(Step::Need {
                need: 12,
                what: "section header block",
            });
        };
        if u32::from_le_bytes(bom) == BYTE_ORDER_MAGIC {
            false
        } else if u32::from_be_bytes(bom) == BYTE_ORDER_MAGIC {
            true
        } else {
            let [bom0, bom1, bom2, bom3] = bom;
            return Err(malformed(
                w,
                offset,
                "section header block",
                format!(
                    "bad byte-order magic {:02x}{:02x}{:02x}{:02x}",
                    bom0, bom1, bom2, bom3
                ),
            ));
        }
    } else {
        if !sec.started {
            return Err(malformed(
                w,
                offset,
                "pcapng file",
                "first block is not a section header",
            ));
        }
        sec.be
    };
    let btype = u32_at(head, 0, be);
    let total = u32_at(head, 4, be);
    let min = if is_shb { 28 } else { 12 };
    if total < min {
        return Err(impossible(
            w,
            offset,
            "block header",
            total.into(),
            "shorter than the smallest block",
        ));
    }
    if !total.is_multiple_of(4) {
        return Err(impossible(
            w,
            offset,
            "block header",
            total.into(),
            "not a multiple of 4",
        ));
    }
    if total > MAX_BLOCK {
        return Err(impossible(
            w,
            offset,
            "block header",
            total.into(),
            "over the 64 MiB bound",
        ));
    }
    let total = total as usize;
    let Some(b) = buf.get(..total) else {
        return Ok(Step::Need {
            need: total,
            what: "block",
        });
    };
    let trailer = u32_at(b, total - 4, be) as usize;
    if trailer != total {
        return Err(malformed(
            w,
            offset,
            "block",
            format!("leading length {total} and trailing length {trailer} differ"),
        ));
    }
    let body_end = total - 4;
    match btype {
        _ if is_shb => {
            let version = (u16_at(b, 12, be), u16_at(b, 14, be));
            if version.0 != 1 {
                return Err(malformed(
                    w,
                    offset,
                    "section header block",
                    format!("unsupported version {}.{}", version.0, version.1),
                ));
            }
            let mut info = SectionInfo {
                byte_order: if be {
                    ByteOrder::Big
                } else {
                    ByteOrder::Little
                },
                offset,
                version,
                comments: Vec::new(),
                hardware: None,
                os: None,
                user_appl: None,
                first_iface: w.interfaces.len() as u32,
            };
            let _ =
                for_each_option(
                    b.get(24..body_end).unwrap_or_default(),
                    be,
                    |code, v| match code {
                        OPT_COMMENT => info.comments.push(text(v)),
                        2 => info.hardware = Some(text(v)),
                        3 => info.os = Some(text(v)),
                        4 => info.user_appl = Some(text(v)),
                        _ => {}
                    },
                );
            if w.sections.len() >= MAX_INTERFACES {
                return Err(malformed(
                    w,
                    offset,
                    "pcapng file",
                    "more than 65536 sections",
                ));
            }
            w.sections.push(info);
            w.state = State::Pcapng(Section {
                be,
                iface_base: w.interfaces.len() as u32,
                started: true,
            });
            Ok(Step::Skip(total))
        }
        BT_IDB => {
            if total < 20 {
                return Err(impossible(
                    w,
                    offset,
                    "interface description block",
                    total as u64,
                    "shorter than 20 bytes",
                ));
            }
            if w.interfaces.len() >= MAX_INTERFACES {
                return Err(malformed(
                    w,
                    offset,
                    "interface description block",
                    "more than 65536 interfaces",
                ));
            }
            let mut info = InterfaceInfo {
                link: LinkType(u32::from(u16_at(b, 8, be))),
                snaplen: u32_at(b, 12, be),
                name: None,
                description: None,
                tsresol: 6,
                tsoffset: 0,
                section: w.sections.len().saturating_sub(1) as u32,
                id_in_section: w.interfaces.len() as u32 - sec.iface_base,
            };
            let _ =
                for_each_option(
                    b.get(16..body_end).unwrap_or_default(),
                    be,
                    |code, v| match code {
                        2 => info.name = Some(text(v)),
                        3 => info.description = Some(text(v)),
                        9 => {
                            if let Some(&r) = v.first() {
                                info.tsresol = r;
                            }
                        }
                        14 if v.len() >= 8 => info.tsoffset = u64_at(v, 0, be) as i64,
                        _ => {}
                    },
                );
            w.interfaces.push(info);
            Ok(Step::Skip(total))
        }
        BT_EPB | BT_PB => {
            let what = if btype == BT_EPB {
                "enhanced packet block"
            } else {
                "packet block"
            };
            if total < 32 {
                return Err(impossible(
                    w,
                    offset,
                    what,
                    total as u64,
                    "shorter than 32 bytes",
                ));
            }
            let id = if btype == BT_EPB {
                u32_at(b, 8, be)
            } else {
                u32::from(u16_at(b, 8, be))
            };
            let iface = resolve_iface(w, sec, id, offset, what)?;
            let caplen = u32_at(b, 20, be);
            let origlen = u32_at(b, 24, be);
            let data_end = 28 + pad4(caplen as usize);
            if data_end > body_end {
                return Err(impossible(
                    w,
                    offset,
                    what,
                    caplen.into(),
                    "captured length exceeds the block",
                ));
            }
            // §4.3: the timestamp is two 32-bit words, upper first, each in section order.
            let units = u64::from(u32_at(b, 12, be)) << 32 | u64::from(u32_at(b, 16, be));
            let ts = w
                .interfaces
                .get(iface as usize)
                .map(|i| i.timestamp(units))
                .unwrap_or_default();
            packet_comments(w, b.get(data_end..body_end).unwrap_or_default(), be);
            if caplen > origlen {
                w.anomaly = Some(Anomaly::new(
                    AnomalyKind::CaplenExceedsOriglen,
                    format!("captured {caplen} bytes of a {origlen}-byte packet"),
                ));
            }
            Ok(Step::Packet(PacketRec {
                consumed: total,
                data_start: 28,
                caplen,
                origlen,
                ts,
                iface,
            }))
        }
        BT_SPB => {
            if total < 16 {
                return Err(impossible(
                    w,
                    offset,
                    "simple packet block",
                    total as u64,
                    "shorter than 16 bytes",
                ));
            }
            let iface = resolve_iface(w, sec, 0, offset, "simple packet block")?;
            let origlen = u32_at(b, 8, be);
            // §4.4: captured length is min(original length, snaplen), bounded by the block.
            let snap = w.interfaces.get(iface as usize).map_or(0, |i| i.snaplen);
            let mut caplen = origlen.min((body_end - 12) as u32);
            if snap != 0 {
                caplen = caplen.min(snap);
            }
            w.comments.clear();
            Ok(Step::Packet(PacketRec {
                consumed: total,
                data_start: 12,
                caplen,
                origlen,
                // SPBs carry no timestamp: we repeat the previous packet's (0 for the first),
                // which keeps time monotonic for flow timers.
                ts: w.last_ts,
                iface,
            }))
        }
        BT_DSB => {
            // §4.7: secrets type (4), secrets length (4), the secrets padded to 32 bits,
            // then options.
            let kind = u32_at(b, 8, be);
            let len = u32_at(b, 12, be) as usize;
            let data = 16usize
                .checked_add(len)
                .filter(|&end| end <= body_end)
                .and_then(|end| b.get(16..end));
            let held: usize = w
                .pending_secrets
                .iter()
                .map(|s| s.data.len())
                .sum::<usize>()
                + w.secrets.iter().map(|s| s.data.len()).sum::<usize>();
            match data {
                Some(d) if held + d.len() <= MAX_SECRETS => {
                    w.pending_secrets.push(DecryptionSecrets {
                        kind,
                        data: d.to_vec(),
                    });
                }
                Some(_) => {
                    return Err(malformed(
                        w,
                        offset,
                        "decryption secrets block",
                        format!(
                            "over {} MiB of secrets before one packet",
                            MAX_SECRETS >> 20
                        ),
                    ))
                }
                None => {
                    return Err(malformed(
                        w,
                        offset,
                        "decryption secrets block",
                        format!("secrets length {len} runs past the block"),
                    ))
                }
            }
            Ok(Step::Skip(total))
        }
        _ => Ok(Step::Skip(total)),
    }
}

/// Re-reads the Enhanced Packet Block (§4.3) or obsolete Packet Block (Appendix A) whose
/// packet data starts at `data` in `bytes` (the whole file), giving the index entry
/// [`block`] made for it, so the frame store need not keep one per packet. The section
/// (hence byte order and first interface) is the last SHB before `data`; the interface
/// id is resolved and the timestamp converted exactly as [`block`] does. `None` when the
/// bytes there are not such a block or name no known interface (the store keeps the
/// walker's entry for those: SPBs, whose timestamp is the previous packet's, and
/// anything this re-read would not reproduce).
#[inline]
pub(crate) fn reread(
    bytes: &[u8],
    data: usize,
    sections: &[SectionInfo],
    interfaces: &[InterfaceInfo],
) -> Option<IndexEntry> {
    let sec = match sections {
        [only] => only,
        _ => sections.get(
            sections
                .partition_point(|s| s.offset < data as u64)
                .checked_sub(1)?,
        )?,
    };
    let be = sec.byte_order.is_be();
    let b = bytes.get(data.checked_sub(28)?..data)?;
    let id = match u32_at(b, 0, be) {
        BT_EPB => u32_at(b, 8, be),
        BT_PB => u32::from(u16_at(b, 8, be)),
        _ => return None,
    };
    let iface = u32::try_from(u64::from(sec.first_iface) + u64::from(id)).ok()?;
    let info = interfaces.get(iface as usize)?;
    let units = u64::from(u32_at(b, 12, be)) << 32 | u64::from(u32_at(b, 16, be));
    Some(IndexEntry {
        offset: data as u64,
        ts: info.timestamp(units),
        caplen: u32_at(b, 20, be),
        origlen: u32_at(b, 24, be),
        iface,
    })
}

fn resolve_iface(
    w: &Walker,
    sec: Section,
    id: u32,
    offset: u64,
    what: &'static str,
) -> Result<u32, CaptureError> {
    let global = u64::from(sec.iface_base) + u64::from(id);
    if global < w.interfaces.len() as u64 {
        Ok(global as u32)
    } else {
        Err(malformed(
            w,
            offset,
            what,
            format!(
                "interface {id} is not defined in this section ({} interfaces)",
                w.interfaces.len() as u32 - sec.iface_base
            ),
        ))
    }
}

fn packet_comments(w: &mut Walker, opts: &[u8], be: bool) {
    w.comments.clear();
    if opts.is_empty() {
        return;
    }
    let comments = &mut w.comments;
    let ok = for_each_option(opts, be, |code, v| {
        if code == OPT_COMMENT {
            comments.push(text(v));
        }
    });
    if !ok {
        w.anomaly = Some(Anomaly::new(
            AnomalyKind::BadPacketOptions,
            "an option runs past the end of the block; later options ignored",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::testbytes::*;
    use super::super::{ErrorKind, FileFormat, FrameSource, MemReader};
    use crate::base::{LinkType, Timestamp};

    #[test]
    fn sections_of_both_orders_interfaces_resolutions_blocks_and_comments() {
        let mut f = Vec::new();
        // Section 0, little-endian: Ethernet µs and a 2^-10 s raw-IP interface with offset.
        f.extend(shb(false, &["section zero"]));
        f.extend(idb(false, 1, 96, None, None, Some("eth0")));
        f.extend(idb(false, 101, 0, Some(0x80 | 10), Some(100), None));
        f.extend(epb(
            false,
            0,
            1_500_000,
            b"aaaa",
            60,
            &["first", "second"],
            false,
        ));
        f.extend(block(false, 0x0000_0bad, b"\x00\x00\x7f\xfecustom payload")); // custom block
        f.extend(block(false, 0x4000_0bad, b"\x00\x00\x7f\xfe")); // custom, do-not-copy
        f.extend(block(false, 5, &[0; 20])); // ISB
        f.extend(block(false, 0x1234_5678, b"unknown")); // unknown type
        f.extend(epb(false, 1, 2048, b"bbbbb", 5, &[], false));
        // Section 1, big-endian: nanosecond interface, OPB and SPB.
        f.extend(shb(true, &[]));
        f.extend(idb(true, 1, 4, Some(9), None, None));
        f.extend(epb(true, 0, 7, b"cc", 2, &[], true)); // obsolete Packet Block
        f.extend(spb(true, 10, b"dddddddddd"));
        let (frames, err) = read_all(&f);
        assert_eq!(err, None);
        assert_eq!(frames.len(), 4);
        let m: Vec<_> = frames
            .iter()
            .map(|f| (f.0.iface, f.0.link, f.0.ts, f.0.caplen, f.0.origlen))
            .collect();
        assert_eq!(
            m,
            [
                (0, LinkType::ETHERNET, Timestamp(1_500_000_000), 4, 60),
                (1, LinkType::RAW, Timestamp(102_000_000_000), 5, 5),
                (2, LinkType::ETHERNET, Timestamp(7), 2, 2),
                // SPB: no timestamp (previous packet's), caplen = min(origlen, snaplen 4).
                (2, LinkType::ETHERNET, Timestamp(7), 4, 10),
            ]
        );
        assert_eq!(frames[3].1, b"dddd");
        assert_eq!(frames[0].2, ["first", "second"]);
        assert!(frames[1].2.is_empty());
        let mut r = MemReader::new(&f);
        while let Ok(Some(_)) = r.next_frame() {}
        assert_eq!(r.format(), Some(FileFormat::Pcapng));
        let s = r.sections();
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].byte_order.name(), s[1].byte_order.name()),
            ("little-endian", "big-endian")
        );
        assert_eq!(s[0].comments, ["section zero"]);
        assert_eq!(s[1].first_iface, 2);
        let i = r.interfaces();
        assert_eq!(i[0].name.as_deref(), Some("eth0"));
        assert_eq!((i[2].section, i[2].id_in_section, i[2].snaplen), (1, 0, 4));
    }

    #[test]
    fn packet_for_undefined_interface_or_before_shb_is_an_error() {
        let mut f = shb(false, &[]);
        f.extend(idb(false, 1, 0, None, None, None));
        let at = f.len() as u64;
        f.extend(epb(false, 1, 0, b"x", 1, &[], false));
        let (frames, err) = read_all(&f);
        assert!(frames.is_empty());
        let err = err.unwrap();
        assert_eq!(err.offset, at);
        assert!(
            err.to_string().contains("interface 1 is not defined"),
            "{err}"
        );

        let (_, err) = read_all(&idb(false, 1, 0, None, None, None));
        assert!(matches!(err.unwrap().kind, ErrorKind::UnknownFormat { .. }));
    }

    #[test]
    fn bad_lengths_are_impossible() {
        let mut base = shb(false, &[]);
        base.extend(idb(false, 1, 0, None, None, None));
        let at = base.len();
        base.extend(epb(false, 0, 0, b"abcd", 4, &[], false));
        for (patch, want) in [
            (7u32, "shorter than the smallest block"),
            (34, "not a multiple of 4"),
            (128 << 20, "over the 64 MiB bound"),
        ] {
            let mut f = base.clone();
            f[at + 4..at + 8].copy_from_slice(&patch.to_le_bytes());
            let (frames, err) = read_all(&f);
            assert!(frames.is_empty());
            let err = err.unwrap();
            assert_eq!(err.offset, at as u64);
            assert!(err.to_string().contains(want), "{err}");
        }
        // caplen larger than the block, and a trailer that disagrees.
        let mut f = base.clone();
        f[at + 20..at + 24].copy_from_slice(&100u32.to_le_bytes());
        assert!(read_all(&f)
            .1
            .unwrap()
            .to_string()
            .contains("captured length exceeds the block"));
        let mut f = base.clone();
        let n = f.len();
        f[n - 4..].copy_from_slice(&40u32.to_le_bytes());
        assert!(read_all(&f)
            .1
            .unwrap()
            .to_string()
            .contains("trailing length"));
    }

    #[test]
    fn bad_options_and_long_caplen_are_anomalies() {
        let mut f = shb(true, &[]);
        f.extend(idb(true, 1, 0, None, None, None));
        let mut bad = epb(true, 0, 0, b"abcd", 4, &["x"], false);
        // The comment option (after 28 + 4 data bytes) claims 200 bytes.
        bad[32 + 2..32 + 4].copy_from_slice(&200u16.to_be_bytes());
        f.extend(bad);
        f.extend(epb(true, 0, 0, b"abcdefgh", 4, &[], false));
        let (frames, err) = read_all(&f);
        assert_eq!((frames.len(), err), (2, None));
        assert!(frames[0].2.is_empty());
        assert_eq!(
            read_anomalies(&f),
            [(0, "bad_packet_options"), (1, "caplen_exceeds_origlen")]
        );
    }

    #[test]
    fn options_walk_stops_on_garbage() {
        let mut seen = Vec::new();
        let ok = super::for_each_option(
            &[1, 0, 3, 0, b'a', b'b', b'c', 0, 1, 0, 200, 0, 1],
            false,
            |c, v| seen.push((c, v.to_vec())),
        );
        assert!(!ok);
        assert_eq!(seen, [(1, b"abc".to_vec())]);
    }
}
