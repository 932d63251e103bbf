//! Test-only walker over classic pcap files (24-byte file header, 16-byte record headers;
//! also the 24-byte records of the "modified" a1b2cd34 format). Not a reader: `capture`
//! owns file reading; this only feeds real frames to decode's tests.

use crate::base::{LinkType, Timestamp};

pub struct Frames {
    pub link: LinkType,
    pub frames: Vec<(Timestamp, Vec<u8>)>,
}

/// Reads a classic pcap; `None` for pcapng or anything unrecognised.
pub fn read(path: &std::path::Path) -> Option<Frames> {
    let d = std::fs::read(path).ok()?;
    let magic = d.get(..4)?;
    let (le, nano, rec) = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => (true, false, 16),
        [0xa1, 0xb2, 0xc3, 0xd4] => (false, false, 16),
        [0x4d, 0x3c, 0xb2, 0xa1] => (true, true, 16),
        [0xa1, 0xb2, 0x3c, 0x4d] => (false, true, 16),
        [0x34, 0xcd, 0xb2, 0xa1] => (true, false, 24),
        [0xa1, 0xb2, 0xcd, 0x34] => (false, false, 24),
        _ => return None,
    };
    let u32at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = d.get(at..at + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    let link = LinkType(u32at(20)? & 0x0fff_ffff);
    let mut frames = Vec::new();
    let mut at = 24;
    while at + rec <= d.len() {
        let secs = u32at(at)?;
        let frac = u32at(at + 4)?;
        let caplen = u32at(at + 8)? as usize;
        let Some(bytes) = d.get(at + rec..at + rec + caplen) else {
            break;
        };
        let units = if nano { 1_000_000_000 } else { 1_000_000 };
        frames.push((
            Timestamp::from_parts(secs.into(), frac.into(), units),
            bytes.to_vec(),
        ));
        at += rec + caplen;
    }
    Some(Frames { link, frames })
}
