//! The format walker shared by every reader: given the bytes at the current position, it
//! says "need N bytes", "skip N bytes" or "here is a packet". Keeping the walk in one
//! place is what makes the memory-mapped reader, the streaming reader and the frame store
//! agree on every input, including where and why a damaged file stops.

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::error::{CaptureError, ErrorKind};
use super::{pcap, pcapng};
use crate::base::{Anomaly, LinkType, Timestamp};

/// Largest pcapng block or pcap record we accept (64 MiB). Anything larger is reported as
/// an impossible length instead of being buffered, which bounds a streaming reader's
/// memory on garbage input.
pub const MAX_BLOCK: u32 = 64 << 20;

/// Most interfaces a file may declare; more is treated as damage (bounds memory).
pub const MAX_INTERFACES: usize = 1 << 16;

/// Byte order of a pcap file or a pcapng section.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteOrder {
    Little,
    Big,
}

impl ByteOrder {
    pub fn name(self) -> &'static str {
        match self {
            ByteOrder::Little => "little-endian",
            ByteOrder::Big => "big-endian",
        }
    }
    pub(crate) fn is_be(self) -> bool {
        self == ByteOrder::Big
    }
}

/// The container format of a capture.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    /// Classic pcap. `nanos`: nanosecond timestamps (magic a1b23c4d); `modified`: Alexey
    /// Kuznetsov's modified format (magic a1b2cd34, 24-byte record headers).
    Pcap {
        byte_order: ByteOrder,
        nanos: bool,
        modified: bool,
        version: (u16, u16),
    },
    /// pcapng; per-section byte order is in [`SectionInfo`].
    Pcapng,
}

/// One capture interface: the single implicit one of a pcap file, or a pcapng IDB.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct InterfaceInfo {
    pub link: LinkType,
    pub snaplen: u32,
    /// `if_name` (pcapng option 2), untrusted text.
    pub name: Option<String>,
    /// `if_description` (option 3), untrusted text.
    pub description: Option<String>,
    /// Raw `if_tsresol` byte (option 9): high bit clear = 10^-n s, set = 2^-n s. Default 6.
    pub tsresol: u8,
    /// `if_tsoffset` seconds (option 14) added to every timestamp. Default 0.
    pub tsoffset: i64,
    /// pcapng section index (0 for pcap).
    pub section: u32,
    /// Interface id within its section, as EPBs and tshark's `frame.interface_id` name it.
    pub id_in_section: u32,
}

impl InterfaceInfo {
    /// Converts a raw timestamp in this interface's units to a [`Timestamp`], applying
    /// `if_tsresol` and `if_tsoffset` (RFC draft pcapng §4.2, options 9 and 14).
    #[inline]
    pub fn timestamp(&self, units: u64) -> Timestamp {
        let r = self.tsresol;
        let ns: i128 = if r & 0x80 == 0 {
            let n = u32::from(r);
            if n <= 9 {
                i128::from(units) * 10i128.pow(9 - n)
            } else if n <= 38 {
                (u128::from(units) / 10u128.pow(n - 9)) as i128
            } else {
                0
            }
        } else {
            let n = u32::from(r & 0x7f);
            ((u128::from(units) * 1_000_000_000u128) >> n) as i128
        };
        let total = ns + i128::from(self.tsoffset) * 1_000_000_000;
        Timestamp(total.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
    }

    /// Units per second of this interface's timestamps, when it is a power of ten up to
    /// 10^9 (what writers and displays care about); `None` for binary or finer resolutions.
    pub fn decimal_digits(&self) -> Option<u32> {
        (self.tsresol & 0x80 == 0 && self.tsresol <= 9).then_some(u32::from(self.tsresol))
    }
}

/// One pcapng section (Section Header Block).
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SectionInfo {
    pub byte_order: ByteOrder,
    /// Byte offset of the SHB.
    pub offset: u64,
    pub version: (u16, u16),
    /// `opt_comment`s of the SHB, untrusted text.
    pub comments: Vec<String>,
    /// `shb_hardware`, `shb_os`, `shb_userappl`.
    pub hardware: Option<String>,
    pub os: Option<String>,
    pub user_appl: Option<String>,
    /// Index in the global interface list of this section's first interface.
    pub first_iface: u32,
}

/// A pcapng Decryption Secrets Block (draft-ietf-opsawg-pcapng §4.7): keys that decrypt
/// the packets after it, e.g. a TLS key log (`kind` [`DecryptionSecrets::TLS`]).
#[derive(serde::Serialize, serde::Deserialize, Clone, PartialEq, Eq)]
pub struct DecryptionSecrets {
    /// Secrets type: `TLSK` (TLS key log), `WGKL` (WireGuard), …
    pub kind: u32,
    /// The secrets, as the block carries them (for `TLSK`, NSS key log text).
    pub data: Vec<u8>,
}

impl DecryptionSecrets {
    /// `TLSK`: NSS key log lines (`CLIENT_RANDOM …`, `CLIENT_TRAFFIC_SECRET_0 …`).
    pub const TLS: u32 = 0x544c_534b;
}

/// Secrets are never printed, not even by `{:?}`: only their type and size.
impl std::fmt::Debug for DecryptionSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DecryptionSecrets {{ kind: {:#010x}, {} bytes }}",
            self.kind,
            self.data.len()
        )
    }
}

/// A packet found by the walker, positions relative to the buffer given to `step`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PacketRec {
    pub consumed: usize,
    pub data_start: usize,
    pub caplen: u32,
    pub origlen: u32,
    pub ts: Timestamp,
    pub iface: u32,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Step {
    /// At least `need` bytes from the current position are required to go on.
    Need {
        need: usize,
        what: &'static str,
    },
    /// A non-packet header/block of this many bytes was consumed.
    Skip(usize),
    Packet(PacketRec),
    /// Clean end of input.
    End,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum State {
    Start,
    Pcap(pcap::Header),
    Pcapng(pcapng::Section),
    /// After an error: nothing more comes out.
    Done,
}

/// The walker. Holds format state, interfaces, sections and the last packet's comments.
#[derive(Debug)]
pub(crate) struct Walker {
    pub state: State,
    pub format: Option<FileFormat>,
    pub interfaces: Vec<InterfaceInfo>,
    pub sections: Vec<SectionInfo>,
    pub packets: u64,
    /// Timestamp of the previous packet: what an SPB (which has none) gets.
    pub last_ts: Timestamp,
    /// Comments of the last packet (cleared per packet; allocation only when present).
    pub comments: Vec<String>,
    /// Something odd but not fatal about the last packet (cleared every step).
    pub anomaly: Option<Anomaly>,
    /// Decryption Secrets Blocks read since the packet before the last one: they come
    /// before the packets they serve, so they are handed out with the next packet.
    pub secrets: Vec<DecryptionSecrets>,
    /// Secrets read since the last packet, for the next one.
    pub pending_secrets: Vec<DecryptionSecrets>,
}

impl Walker {
    pub fn new() -> Self {
        Walker {
            state: State::Start,
            format: None,
            interfaces: Vec::new(),
            sections: Vec::new(),
            packets: 0,
            last_ts: Timestamp(0),
            comments: Vec::new(),
            anomaly: None,
            secrets: Vec::new(),
            pending_secrets: Vec::new(),
        }
    }

    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    pub fn err(&self, offset: u64, kind: ErrorKind) -> CaptureError {
        CaptureError::new(offset, self.packets, kind)
    }

    /// One step over `buf` (the bytes at absolute `offset`). `eof`: no more bytes will
    /// come after `buf`, so a `Need` becomes the end or a truncation error. After an
    /// error the walker is done.
    pub fn step(&mut self, buf: &[u8], offset: u64, eof: bool) -> Result<Step, CaptureError> {
        if self.is_done() {
            return Ok(Step::End);
        }
        self.anomaly = None;
        let r = self.step_inner(buf, offset);
        let r = match r {
            Ok(Step::Need { need, what }) if eof => {
                if buf.is_empty() && !matches!(self.state, State::Start) {
                    Ok(Step::End)
                } else if matches!(self.state, State::Start)
                    && (buf.is_empty() || !is_magic_prefix(buf))
                {
                    let mut magic = [0u8; 4];
                    let have = buf.len().min(4);
                    if let (Some(m), Some(b)) = (magic.get_mut(..have), buf.get(..have)) {
                        m.copy_from_slice(b);
                    }
                    Err(CaptureError::plain(ErrorKind::UnknownFormat {
                        magic,
                        have,
                    }))
                } else {
                    Err(self.err(
                        offset,
                        ErrorKind::Truncated {
                            what,
                            need: need as u64,
                            have: buf.len() as u64,
                        },
                    ))
                }
            }
            r => r,
        };
        match r {
            Ok(Step::Packet(p)) => {
                self.packets += 1;
                self.last_ts = p.ts;
                if !self.secrets.is_empty() || !self.pending_secrets.is_empty() {
                    self.secrets = std::mem::take(&mut self.pending_secrets);
                }
                Ok(Step::Packet(p))
            }
            Ok(Step::End) => {
                self.state = State::Done;
                Ok(Step::End)
            }
            Err(e) => {
                self.state = State::Done;
                Err(e)
            }
            r => r,
        }
    }

    fn step_inner(&mut self, buf: &[u8], offset: u64) -> Result<Step, CaptureError> {
        match self.state {
            State::Start => self.start(buf, offset),
            State::Pcap(h) => pcap::record(self, &h, buf, offset),
            State::Pcapng(s) => pcapng::block(self, s, buf, offset),
            State::Done => Ok(Step::End),
        }
    }

    fn start(&mut self, buf: &[u8], offset: u64) -> Result<Step, CaptureError> {
        let Some(magic) = buf.get(..4) else {
            return Ok(Step::Need {
                need: 4,
                what: "file header",
            });
        };
        if magic == pcapng::SHB_MAGIC {
            self.format = Some(FileFormat::Pcapng);
            return pcapng::block(self, pcapng::Section::NONE, buf, offset);
        }
        if pcap::magic(magic).is_some() {
            return pcap::file_header(self, buf, offset);
        }
        let mut m = [0u8; 4];
        m.copy_from_slice(magic);
        Err(CaptureError::plain(ErrorKind::UnknownFormat {
            magic: m,
            have: 4,
        }))
    }
}

/// True when `b` (shorter than 4 bytes) could be the start of a pcap or pcapng magic.
fn is_magic_prefix(b: &[u8]) -> bool {
    const MAGICS: [[u8; 4]; 7] = [
        [0xd4, 0xc3, 0xb2, 0xa1],
        [0xa1, 0xb2, 0xc3, 0xd4],
        [0x4d, 0x3c, 0xb2, 0xa1],
        [0xa1, 0xb2, 0x3c, 0x4d],
        [0x34, 0xcd, 0xb2, 0xa1],
        [0xa1, 0xb2, 0xcd, 0x34],
        pcapng::SHB_MAGIC,
    ];
    b.len() >= 4 || MAGICS.iter().any(|m| m.starts_with(b))
}

#[inline]
pub(crate) fn u16_at(b: &[u8], at: usize, be: bool) -> u16 {
    match b.get(at..at + 2) {
        Some(&[x, y]) => {
            if be {
                u16::from_be_bytes([x, y])
            } else {
                u16::from_le_bytes([x, y])
            }
        }
        _ => 0,
    }
}

#[inline]
pub(crate) fn u32_at(b: &[u8], at: usize, be: bool) -> u32 {
    match b.get(at..at + 4) {
        Some(&[w, x, y, z]) => {
            if be {
                u32::from_be_bytes([w, x, y, z])
            } else {
                u32::from_le_bytes([w, x, y, z])
            }
        }
        _ => 0,
    }
}

#[inline]
pub(crate) fn u64_at(b: &[u8], at: usize, be: bool) -> u64 {
    let hi = u64::from(u32_at(b, at, be));
    let lo = u64::from(u32_at(b, at + 4, be));
    if be {
        hi << 32 | lo
    } else {
        lo << 32 | hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(tsresol: u8, tsoffset: i64) -> InterfaceInfo {
        InterfaceInfo {
            link: LinkType::ETHERNET,
            snaplen: 0,
            name: None,
            description: None,
            tsresol,
            tsoffset,
            section: 0,
            id_in_section: 0,
        }
    }

    #[test]
    fn tsresol_decimal_binary_and_offset() {
        assert_eq!(iface(6, 0).timestamp(1_500_000), Timestamp(1_500_000_000));
        assert_eq!(iface(9, 0).timestamp(7), Timestamp(7));
        assert_eq!(iface(12, 0).timestamp(5_000), Timestamp(5));
        // 2^-10 s units: 1024 units = 1 s.
        assert_eq!(
            iface(0x80 | 10, 0).timestamp(1024 * 3),
            Timestamp(3_000_000_000)
        );
        assert_eq!(iface(0x80 | 1, 0).timestamp(1), Timestamp(500_000_000));
        assert_eq!(iface(6, 100).timestamp(1), Timestamp(100_000_001_000));
        // Absurd values saturate instead of overflowing.
        assert_eq!(iface(0, i64::MAX).timestamp(u64::MAX), Timestamp(i64::MAX));
        assert_eq!(iface(0xff, 0).timestamp(u64::MAX), Timestamp(0));
        assert_eq!(iface(200 & 0x7f, 0).timestamp(u64::MAX), Timestamp(0));
    }

    #[test]
    fn reads_both_orders() {
        let b = [1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(u16_at(&b, 0, false), 0x0201);
        assert_eq!(u16_at(&b, 0, true), 0x0102);
        assert_eq!(u32_at(&b, 4, true), 0x05060708);
        assert_eq!(u32_at(&b, 6, true), 0);
        assert_eq!(u64_at(&b, 0, true), 0x0102030405060708);
        assert_eq!(u64_at(&b, 0, false), 0x0807060504030201);
    }
}
