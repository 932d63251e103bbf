//! `wiretale export FILE -Y FILTER -w OUT`: the packets a display filter selects,
//! written to a new capture file in order, with their original timestamps, captured
//! bytes and original lengths.
//!
//! `OUT` ending in `.pcapng` gets pcapng: every interface of the input is written in
//! the input's order (so interface ids and link types are kept, see
//! `PcapngWriter::add_interface_like`), as are packet comments and the first section's
//! comments. Anything else gets classic pcap with nanosecond timestamps, which has one
//! link type per file: an input mixing link types is refused with a hint to use
//! `.pcapng`. The file is written to `OUT.part` and renamed when complete, so a failed
//! export never leaves a plausible-looking partial capture behind.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use super::args::ExportArgs;
use super::select::Selection;
use crate::analysis::{Engine, EngineConfig};
use crate::base::{LinkType, PacketId};
use crate::capture::{FrameStore, PcapWriter, PcapngWriter};

enum Writer {
    Pcap(PcapWriter<BufWriter<File>>, LinkType),
    Pcapng(PcapngWriter<BufWriter<File>>, u32),
}

/// Whether `out` asks for pcapng (by extension, case-insensitive).
pub fn wants_pcapng(out: &Path) -> bool {
    out.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pcapng"))
}

pub fn run(a: &ExportArgs) -> anyhow::Result<i32> {
    let mut sel = match Selection::new(Some(&a.filter), None) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let mut cfg = EngineConfig::default();
    sel.prepare(&a.file, &mut cfg)?;
    let Some(mut matcher) = sel.matcher.take() else {
        anyhow::bail!("export needs a display filter");
    };
    let path = &a.file;
    // The frame store (memory map + index) lends frames with `&self`, so interfaces and
    // packet comments can be read while a frame is held.
    let mut src = FrameStore::open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let damage = match src.index_all() {
        Some(e) if !e.is_damage() => anyhow::bail!("{}: {e}", path.display()),
        Some(e) => Some(e.clone()),
        None => None,
    };
    let src = &src;
    let part = part_path(&a.out);
    let result = (|| -> anyhow::Result<u64> {
        let mut engine = Engine::new(cfg);
        let mut w: Option<Writer> = None;
        for i in 0..src.len() {
            let Some(frame) = src.frame(PacketId(i as u32)) else {
                continue;
            };
            let s = engine.process(&frame);
            if !matcher.matches(&frame, &s) {
                continue;
            }
            let meta = frame.meta;
            let (data, link) = (frame.data, meta.link);
            if w.is_none() {
                w = Some(open_writer(&part, &a.out, src, link)?);
            }
            match w.as_mut() {
                Some(Writer::Pcap(pw, first)) => {
                    if link != *first {
                        anyhow::bail!(
                            "{}: packets of several link types ({} and {}) cannot go in one pcap file; \
                             write .pcapng instead",
                            path.display(),
                            first,
                            link
                        );
                    }
                    pw.write_packet(meta.ts, data, meta.origlen)?;
                }
                Some(Writer::Pcapng(pw, added)) => {
                    // Interfaces are added in the input's order up to this frame's, so
                    // the output's interface ids equal the input's.
                    while *added <= meta.iface {
                        let Some(i) = src.interfaces().get(*added as usize) else {
                            anyhow::bail!(
                                "frame {} names an unknown interface",
                                meta.id.frame_number()
                            );
                        };
                        pw.add_interface_like(i)?;
                        *added += 1;
                    }
                    pw.write_packet(
                        meta.iface,
                        meta.ts,
                        data,
                        meta.origlen,
                        src.comments(meta.id),
                    )?;
                }
                None => {}
            }
        }
        let w = match w {
            Some(w) => w,
            None => open_writer(&part, &a.out, src, LinkType::ETHERNET)?,
        };
        let n = match w {
            Writer::Pcap(mut pw, _) => {
                pw.flush()?;
                pw.packets()
            }
            Writer::Pcapng(mut pw, _) => {
                pw.flush()?;
                pw.packets()
            }
        };
        Ok(n)
    })();
    match result {
        Ok(n) => {
            std::fs::rename(&part, &a.out)
                .map_err(|e| anyhow::anyhow!("{}: {e}", a.out.display()))?;
            eprintln!("wiretale: wrote {n} packets to {}", a.out.display());
            Ok(super::run::finish_status(damage))
        }
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            Err(e)
        }
    }
}

fn part_path(out: &Path) -> PathBuf {
    let mut p = out.as_os_str().to_owned();
    p.push(".part");
    PathBuf::from(p)
}

fn open_writer(
    part: &Path,
    out: &Path,
    src: &FrameStore,
    link: LinkType,
) -> anyhow::Result<Writer> {
    let f = File::create(part).map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    let bw = BufWriter::with_capacity(1 << 20, f);
    if wants_pcapng(out) {
        let comments = src
            .sections()
            .first()
            .map(|s| s.comments.clone())
            .unwrap_or_default();
        Ok(Writer::Pcapng(
            PcapngWriter::new(bw, "wiretale export", &comments)?,
            0,
        ))
    } else {
        let snaplen = src
            .interfaces()
            .iter()
            .map(|i| i.snaplen)
            .max()
            .filter(|s| *s > 0)
            .unwrap_or(262_144);
        Ok(Writer::Pcap(
            PcapWriter::new(bw, link, snaplen, true)?,
            link,
        ))
    }
}
