//! Test support: builders for hand-made pcap/pcapng bytes in either byte order, and a
//! helper that reads bytes through every reader and checks they agree.

use super::{CaptureError, FrameMeta, FrameSource, FrameStore, MemReader, StreamReader};
use crate::base::PacketId;

pub fn put16(out: &mut Vec<u8>, be: bool, v: u16) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}
pub fn put32(out: &mut Vec<u8>, be: bool, v: u32) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}
pub fn put64(out: &mut Vec<u8>, be: bool, v: u64) {
    out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
}

/// Classic pcap file header with the given magic value.
pub fn pcap_header(be: bool, magic: u32, snaplen: u32, link: u32) -> Vec<u8> {
    let mut o = Vec::new();
    put32(&mut o, be, magic);
    put16(&mut o, be, 2);
    put16(&mut o, be, 4);
    put32(&mut o, be, 0);
    put32(&mut o, be, 0);
    put32(&mut o, be, snaplen);
    put32(&mut o, be, link);
    o
}

pub fn pcap_record(
    be: bool,
    secs: u32,
    frac: u32,
    data: &[u8],
    origlen: u32,
    modified: bool,
) -> Vec<u8> {
    let mut o = Vec::new();
    put32(&mut o, be, secs);
    put32(&mut o, be, frac);
    put32(&mut o, be, data.len() as u32);
    put32(&mut o, be, origlen);
    if modified {
        put32(&mut o, be, 3); // ifindex
        put16(&mut o, be, 0x0800); // protocol
        o.extend_from_slice(&[0, 0]); // pkt_type, pad
    }
    o.extend_from_slice(data);
    o
}

/// Options list (§3.5) ending in opt_endofopt.
pub fn options(be: bool, opts: &[(u16, &[u8])]) -> Vec<u8> {
    let mut o = Vec::new();
    if opts.is_empty() {
        return o;
    }
    for (code, v) in opts {
        put16(&mut o, be, *code);
        put16(&mut o, be, v.len() as u16);
        o.extend_from_slice(v);
        while !o.len().is_multiple_of(4) {
            o.push(0);
        }
    }
    put32(&mut o, be, 0);
    o
}

/// A generic block: type, length, body (padded), length.
pub fn block(be: bool, ty: u32, body: &[u8]) -> Vec<u8> {
    let mut b = body.to_vec();
    while !b.len().is_multiple_of(4) {
        b.push(0);
    }
    let total = 12 + b.len() as u32;
    let mut o = Vec::new();
    put32(&mut o, be, ty);
    put32(&mut o, be, total);
    o.extend_from_slice(&b);
    put32(&mut o, be, total);
    o
}

pub fn shb(be: bool, comments: &[&str]) -> Vec<u8> {
    let mut body = Vec::new();
    put32(&mut body, be, 0x1a2b3c4d);
    put16(&mut body, be, 1);
    put16(&mut body, be, 0);
    put64(&mut body, be, u64::MAX); // section length unknown
    let opts: Vec<(u16, &[u8])> = comments.iter().map(|c| (1u16, c.as_bytes())).collect();
    body.extend_from_slice(&options(be, &opts));
    block(be, 0x0a0d0d0a, &body)
}

pub fn idb(
    be: bool,
    link: u16,
    snaplen: u32,
    tsresol: Option<u8>,
    tsoffset: Option<i64>,
    name: Option<&str>,
) -> Vec<u8> {
    let mut body = Vec::new();
    put16(&mut body, be, link);
    put16(&mut body, be, 0);
    put32(&mut body, be, snaplen);
    let r = tsresol.map(|r| [r]);
    let off = tsoffset.map(|o| if be { o.to_be_bytes() } else { o.to_le_bytes() });
    let mut opts: Vec<(u16, &[u8])> = Vec::new();
    if let Some(n) = name {
        opts.push((2, n.as_bytes()));
    }
    if let Some(r) = &r {
        opts.push((9, r));
    }
    if let Some(o) = &off {
        opts.push((14, o));
    }
    body.extend_from_slice(&options(be, &opts));
    block(be, 1, &body)
}

/// EPB (type 6) or, with `obsolete`, the Packet Block (type 2; 16-bit interface id).
pub fn epb(
    be: bool,
    iface: u32,
    ts: u64,
    data: &[u8],
    origlen: u32,
    comments: &[&str],
    obsolete: bool,
) -> Vec<u8> {
    let mut body = Vec::new();
    if obsolete {
        put16(&mut body, be, iface as u16);
        put16(&mut body, be, 0); // drops
    } else {
        put32(&mut body, be, iface);
    }
    put32(&mut body, be, (ts >> 32) as u32);
    put32(&mut body, be, ts as u32);
    put32(&mut body, be, data.len() as u32);
    put32(&mut body, be, origlen);
    body.extend_from_slice(data);
    while !body.len().is_multiple_of(4) {
        body.push(0);
    }
    let opts: Vec<(u16, &[u8])> = comments.iter().map(|c| (1u16, c.as_bytes())).collect();
    body.extend_from_slice(&options(be, &opts));
    block(be, if obsolete { 2 } else { 6 }, &body)
}

pub fn spb(be: bool, origlen: u32, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    put32(&mut body, be, origlen);
    body.extend_from_slice(data);
    block(be, 3, &body)
}

/// What a full read produced: per frame (meta, bytes, comments), then the error if any.
pub type Read = (Vec<(FrameMeta, Vec<u8>, Vec<String>)>, Option<CaptureError>);

pub fn drain(src: &mut dyn FrameSource) -> Read {
    let mut out = Vec::new();
    let mut err = None;
    for _ in 0..10_000_000 {
        match src.next_frame() {
            Ok(Some(f)) => {
                let (m, d) = (f.meta, f.data.to_vec());
                out.push((m, d, src.comments().to_vec()));
            }
            Ok(None) => break,
            Err(e) => {
                err = Some(e);
                assert!(
                    matches!(src.next_frame(), Ok(None)),
                    "a second result after an error"
                );
                break;
            }
        }
    }
    (out, err)
}

/// A `Read` handing out at most `n` bytes per call, to split records across reads.
pub struct Dribble {
    pub bytes: Vec<u8>,
    pub pos: usize,
    pub n: usize,
}

impl std::io::Read for Dribble {
    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        let n = b.len().min(self.n).min(self.bytes.len() - self.pos);
        b[..n].copy_from_slice(&self.bytes[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Anomalies per frame of a read, in order (index, name).
pub type Anoms = Vec<(usize, &'static str)>;

/// The anomalies a reader reports, as (frame index, name).
pub fn anomalies(src: &mut dyn FrameSource) -> Anoms {
    let mut out = Vec::new();
    let mut i = 0;
    while let Ok(Some(_)) = src.next_frame() {
        if let Some(a) = src.anomaly() {
            out.push((i, a.name()));
        }
        i += 1;
    }
    out
}

/// Anomalies of `bytes`, checked equal across the memory reader, the streaming reader
/// and the frame store.
pub fn read_anomalies(bytes: &[u8]) -> Anoms {
    let mem = anomalies(&mut MemReader::new(bytes));
    let stream = anomalies(&mut StreamReader::new(Dribble {
        bytes: bytes.to_vec(),
        pos: 0,
        n: 3,
    }));
    assert_eq!(stream, mem);
    let mut store = FrameStore::from_bytes(bytes.to_vec());
    store.index_all();
    let st: Anoms = (0..store.len())
        .filter_map(|i| store.anomaly(PacketId(i as u32)).map(|a| (i, a.name())))
        .collect();
    assert_eq!(st, mem);
    mem
}

/// Reads `bytes` through the memory reader, the streaming reader (in odd-sized pieces)
/// and the frame store, asserts all three agree, and returns the result.
pub fn read_all(bytes: &[u8]) -> Read {
    let mem = drain(&mut MemReader::new(bytes));
    read_anomalies(bytes);
    for n in [1, 5, 4096] {
        let s = drain(&mut StreamReader::new(Dribble {
            bytes: bytes.to_vec(),
            pos: 0,
            n,
        }));
        assert_eq!(
            s, mem,
            "streaming reader (pieces of {n}) disagrees with memory reader"
        );
    }
    let mut store = FrameStore::from_bytes(bytes.to_vec());
    let err = store.index_all().cloned();
    assert_eq!(err, mem.1, "store error");
    assert_eq!(store.len(), mem.0.len());
    for (i, (m, d, c)) in mem.0.iter().enumerate() {
        let f = store.frame(PacketId(i as u32)).expect("indexed frame");
        assert_eq!((&f.meta, f.data), (m, d.as_slice()));
        assert_eq!(store.comments(PacketId(i as u32)), c.as_slice());
    }
    // The same again from the index as the TUI's cache saves and restores it.
    let saved = store.index_snapshot().expect("a complete index");
    let store = FrameStore::restore_bytes(bytes.to_vec(), saved).expect("a restored index");
    assert_eq!(store.len(), mem.0.len());
    for (i, (m, d, _)) in mem.0.iter().enumerate() {
        let f = store.frame(PacketId(i as u32)).expect("restored frame");
        assert_eq!((&f.meta, f.data), (m, d.as_slice()), "restored frame {i}");
    }
    mem
}
