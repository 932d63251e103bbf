//! Writing captures: classic pcap (micro- or nanosecond) and pcapng (interfaces and
//! per-packet comments kept), over any `Write`. Used by `export` and by live capture's
//! `-w`. Both write in the host's byte order, as libpcap does.

use std::io::Write;

use super::error::{CaptureError, ErrorKind};
use super::walk::InterfaceInfo;
use crate::base::{LinkType, Timestamp};

fn werr(e: std::io::Error) -> CaptureError {
    CaptureError::plain(ErrorKind::Write {
        message: e.to_string(),
    })
}

/// Largest packet either writer accepts (pcapng's and our reader's 64 MiB block bound).
const MAX_PACKET: usize = (64 << 20) - 64;

fn check_len(data: &[u8]) -> Result<u32, CaptureError> {
    if data.len() > MAX_PACKET {
        return Err(CaptureError::plain(ErrorKind::Write {
            message: format!("packet of {} bytes is over the 64 MiB bound", data.len()),
        }));
    }
    Ok(data.len() as u32)
}

/// The methods both writers have the same (each holds its `w` and counts `packets`):
/// packets written, flush, and the inner writer back.
macro_rules! sink_methods {
    () => {
        pub fn packets(&self) -> u64 {
            self.packets
        }

        pub fn flush(&mut self) -> Result<(), CaptureError> {
            self.w.flush().map_err(werr)
        }

        pub fn into_inner(self) -> W {
            self.w
        }
    };
}

/// A classic pcap writer (draft-ietf-opsawg-pcap §4, §5).
pub struct PcapWriter<W: Write> {
    w: W,
    nanos: bool,
    packets: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header. `nanos`: nanosecond timestamps (magic a1b23c4d), else
    /// microseconds (a1b2c3d4, what every tool reads).
    pub fn new(mut w: W, link: LinkType, snaplen: u32, nanos: bool) -> Result<Self, CaptureError> {
        let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&magic.to_ne_bytes());
        h[4..6].copy_from_slice(&2u16.to_ne_bytes());
        h[6..8].copy_from_slice(&4u16.to_ne_bytes());
        h[16..20].copy_from_slice(&snaplen.to_ne_bytes());
        h[20..24].copy_from_slice(&link.0.to_ne_bytes());
        w.write_all(&h).map_err(werr)?;
        Ok(PcapWriter {
            w,
            nanos,
            packets: 0,
        })
    }

    /// Writes one record. Times before 1970 or after 2106 (outside pcap's unsigned 32-bit
    /// seconds) are clamped to those bounds.
    pub fn write_packet(
        &mut self,
        ts: Timestamp,
        data: &[u8],
        origlen: u32,
    ) -> Result<(), CaptureError> {
        let caplen = check_len(data)?;
        let secs = ts.secs().clamp(0, i64::from(u32::MAX)) as u32;
        let ns = if ts.0 < 0 { 0 } else { ts.subsec_nanos() };
        let frac = if self.nanos { ns } else { ns / 1_000 };
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&secs.to_ne_bytes());
        h[4..8].copy_from_slice(&frac.to_ne_bytes());
        h[8..12].copy_from_slice(&caplen.to_ne_bytes());
        h[12..16].copy_from_slice(&origlen.max(caplen).to_ne_bytes());
        self.w.write_all(&h).map_err(werr)?;
        self.w.write_all(data).map_err(werr)?;
        self.packets += 1;
        Ok(())
    }

    sink_methods!();
}

/// A pcapng writer (draft-ietf-opsawg-pcapng §4.1 SHB, §4.2 IDB, §4.3 EPB). Interfaces
/// keep link type, snaplen, name and description; timestamps are written with
/// `if_tsresol` = 9 (nanoseconds), so any [`Timestamp`] round-trips exactly.
pub struct PcapngWriter<W: Write> {
    w: W,
    interfaces: u32,
    packets: u64,
    scratch: Vec<u8>,
}

fn opt(out: &mut Vec<u8>, code: u16, value: &[u8]) {
    // Option values are at most 65535 bytes; longer text is cut (comments, names).
    let v = &value[..value.len().min(0xfffc)];
    out.extend_from_slice(&code.to_ne_bytes());
    out.extend_from_slice(&(v.len() as u16).to_ne_bytes());
    out.extend_from_slice(v);
    out.resize(out.len().next_multiple_of(4), 0);
}

impl<W: Write> PcapngWriter<W> {
    /// Writes a Section Header Block with `shb_userappl` and optional comments.
    pub fn new(w: W, user_appl: &str, comments: &[String]) -> Result<Self, CaptureError> {
        let mut me = PcapngWriter {
            w,
            interfaces: 0,
            packets: 0,
            scratch: Vec::new(),
        };
        let mut body = Vec::new();
        body.extend_from_slice(&0x1a2b_3c4du32.to_ne_bytes());
        body.extend_from_slice(&1u16.to_ne_bytes());
        body.extend_from_slice(&0u16.to_ne_bytes());
        body.extend_from_slice(&u64::MAX.to_ne_bytes()); // section length not given
        for c in comments {
            opt(&mut body, 1, c.as_bytes());
        }
        opt(&mut body, 4, user_appl.as_bytes());
        opt(&mut body, 0, &[]);
        me.block(0x0a0d_0d0a, &body)?;
        Ok(me)
    }

    fn block(&mut self, ty: u32, body: &[u8]) -> Result<(), CaptureError> {
        let total = (12 + body.len()) as u32;
        let mut h = [0u8; 8];
        h[0..4].copy_from_slice(&ty.to_ne_bytes());
        h[4..8].copy_from_slice(&total.to_ne_bytes());
        self.w.write_all(&h).map_err(werr)?;
        self.w.write_all(body).map_err(werr)?;
        self.w.write_all(&total.to_ne_bytes()).map_err(werr)
    }

    /// Writes a Decryption Secrets Block (draft-ietf-opsawg-pcapng §4.7): `data` of
    /// secrets type `kind` (e.g. [`DecryptionSecrets::TLS`](super::DecryptionSecrets::TLS)
    /// with NSS key log text). Readers apply it to the packets written after it.
    pub fn add_secrets(&mut self, kind: u32, data: &[u8]) -> Result<(), CaptureError> {
        check_len(data)?;
        let mut body = Vec::with_capacity(data.len() + 12);
        body.extend_from_slice(&kind.to_ne_bytes());
        body.extend_from_slice(&(data.len() as u32).to_ne_bytes());
        body.extend_from_slice(data);
        body.resize(body.len().next_multiple_of(4), 0);
        self.block(0x0000_000a, &body)
    }

    /// Adds an interface (IDB) and returns its id for [`write_packet`](Self::write_packet).
    pub fn add_interface(
        &mut self,
        link: LinkType,
        snaplen: u32,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<u32, CaptureError> {
        let mut body = Vec::new();
        body.extend_from_slice(&(link.0 as u16).to_ne_bytes());
        body.extend_from_slice(&0u16.to_ne_bytes());
        body.extend_from_slice(&snaplen.to_ne_bytes());
        if let Some(n) = name {
            opt(&mut body, 2, n.as_bytes());
        }
        if let Some(d) = description {
            opt(&mut body, 3, d.as_bytes());
        }
        opt(&mut body, 9, &[9]);
        opt(&mut body, 0, &[]);
        self.block(1, &body)?;
        self.interfaces += 1;
        Ok(self.interfaces - 1)
    }

    /// Adds an interface copied from a reader's [`InterfaceInfo`].
    pub fn add_interface_like(&mut self, i: &InterfaceInfo) -> Result<u32, CaptureError> {
        self.add_interface(
            i.link,
            i.snaplen,
            i.name.as_deref(),
            i.description.as_deref(),
        )
    }

    /// Writes one Enhanced Packet Block with optional comments.
    pub fn write_packet(
        &mut self,
        iface: u32,
        ts: Timestamp,
        data: &[u8],
        origlen: u32,
        comments: &[String],
    ) -> Result<(), CaptureError> {
        if iface >= self.interfaces {
            return Err(CaptureError::plain(ErrorKind::Write {
                message: format!(
                    "interface {iface} was not added ({} interfaces)",
                    self.interfaces
                ),
            }));
        }
        let caplen = check_len(data)?;
        // Negative times cannot be written (the field is unsigned): clamp to the epoch.
        let units = ts.0.max(0) as u64;
        let mut body = std::mem::take(&mut self.scratch);
        body.clear();
        body.extend_from_slice(&iface.to_ne_bytes());
        body.extend_from_slice(&((units >> 32) as u32).to_ne_bytes());
        body.extend_from_slice(&(units as u32).to_ne_bytes());
        body.extend_from_slice(&caplen.to_ne_bytes());
        body.extend_from_slice(&origlen.max(caplen).to_ne_bytes());
        body.extend_from_slice(data);
        body.resize(body.len().next_multiple_of(4), 0);
        if !comments.is_empty() {
            for c in comments {
                opt(&mut body, 1, c.as_bytes());
            }
            opt(&mut body, 0, &[]);
        }
        let r = self.block(6, &body);
        self.scratch = body;
        r?;
        self.packets += 1;
        Ok(())
    }

    sink_methods!();
}

#[cfg(test)]
mod tests {
    use super::super::testbytes::read_all;
    use super::super::{FrameSource, MemReader};
    use super::*;
    use crate::testutil::shared_capture;

    #[test]
    fn pcap_round_trip_micro_and_nano() {
        let src = std::fs::read(shared_capture("tcpdump/tcp-handshake-nano.pcap")).unwrap();
        let (frames, _) = read_all(&src);
        for nanos in [false, true] {
            let mut w = PcapWriter::new(Vec::new(), LinkType::LINUX_SLL, 262_144, nanos).unwrap();
            for (m, d, _) in &frames {
                w.write_packet(m.ts, d, m.origlen).unwrap();
            }
            assert_eq!(w.packets(), 3);
            let out = w.into_inner();
            let (back, err) = read_all(&out);
            assert_eq!(err, None);
            assert_eq!(back.len(), frames.len());
            for (a, b) in back.iter().zip(&frames) {
                assert_eq!((a.0.link, &a.1, a.0.origlen), (b.0.link, &b.1, b.0.origlen));
                let want = if nanos {
                    b.0.ts.0
                } else {
                    b.0.ts.0 / 1_000 * 1_000
                };
                assert_eq!(a.0.ts.0, want);
            }
        }
    }

    #[test]
    fn pcapng_round_trip_keeps_interfaces_and_comments() {
        let src = std::fs::read(shared_capture("zeek/pcapng-multi-interface.pcapng")).unwrap();
        let mut r = MemReader::new(&src);
        let mut w = PcapngWriter::new(Vec::new(), "wiretale test", &["hello".to_string()]).unwrap();
        let mut written = 0;
        let mut want = Vec::new();
        while let Some(f) = r.next_frame().unwrap() {
            let (meta, data) = (f.meta, f.data.to_vec());
            while written <= meta.iface as usize {
                w.add_interface_like(&r.interfaces()[written]).unwrap();
                written += 1;
            }
            let comments = vec![format!("packet {}", meta.id.0)];
            w.write_packet(meta.iface, meta.ts, &data, meta.origlen, &comments)
                .unwrap();
            want.push((meta, data, comments));
        }
        let out = w.into_inner();
        let (back, err) = read_all(&out);
        assert_eq!(err, None);
        assert_eq!(back, want);
        let mut r2 = MemReader::new(&out);
        while let Ok(Some(_)) = r2.next_frame() {}
        assert_eq!(r2.sections()[0].comments, ["hello"]);
        assert_eq!(r2.sections()[0].user_appl.as_deref(), Some("wiretale test"));
        assert_eq!(r2.interfaces().len(), r.interfaces().len());
        assert!(w_err_on_unknown_iface());
    }

    fn w_err_on_unknown_iface() -> bool {
        let mut w = PcapngWriter::new(Vec::new(), "x", &[]).unwrap();
        w.write_packet(0, Timestamp(0), b"x", 1, &[]).is_err()
    }
}
