//! Writing a selection of a loaded file's packets to a new capture file: what
//! `wiretale export` and the TUI's "save filtered packets / this connection" share.
//!
//! Exactly the selected packets, in the order given, with their original timestamps,
//! captured bytes and original lengths. pcapng output writes every interface of the
//! input in the input's order (so interface ids and link types are kept), the first
//! section's comments and each packet's comments; pcap output (nanosecond timestamps)
//! has one link type per file, so a selection mixing link types is refused with an
//! error that suggests pcapng. The file is written to `OUT.part` and renamed when
//! complete, so a failed export never leaves a plausible partial capture behind; an output
//! that exists and is not a regular file (`/dev/null`, a FIFO, `/dev/stdout`) is written
//! in place, since the rename would replace the device node or pipe with a file.
//!
//! pcapng output can carry decryption secrets (Decryption Secrets Blocks, e.g. the TLS
//! key log lines of the exported sessions from `analysis::export_keys`), written before
//! the first packet so the file decrypts on its own; pcap has no place for them (the
//! caller says so to the user).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::error::{CaptureError, ErrorKind};
use super::store::FrameStore;
use super::walk::DecryptionSecrets;
use super::write::{PcapWriter, PcapngWriter};
use crate::base::{LinkType, PacketId};

/// Output format of [`write_selection`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    Pcap,
    Pcapng,
}

impl ExportFormat {
    /// pcapng for a `.pcapng` name (any case), else pcap.
    pub fn for_path(out: &Path) -> Self {
        if out
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("pcapng"))
        {
            ExportFormat::Pcapng
        } else {
            ExportFormat::Pcap
        }
    }
}

fn err(message: String) -> CaptureError {
    CaptureError::plain(ErrorKind::Write { message })
}

enum Writer<W: Write> {
    Pcap(PcapWriter<W>, LinkType),
    /// With the number of input interfaces written so far.
    Pcapng(PcapngWriter<W>, u32),
}

/// Writes the packets `ids` of `store` to `out` (see the module docs) and returns how
/// many were written. Ids the store does not have are an error. `secrets` go into
/// Decryption Secrets Blocks before the first packet (pcapng only; pcap ignores them).
pub fn write_selection(
    store: &FrameStore,
    ids: impl IntoIterator<Item = PacketId>,
    out: &Path,
    format: ExportFormat,
    secrets: &[DecryptionSecrets],
) -> Result<u64, CaptureError> {
    if std::fs::metadata(out).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        return write_to(store, ids, out, format, secrets);
    }
    let part = part_path(out);
    let r = write_to(store, ids, &part, format, secrets);
    match r {
        Ok(n) => {
            std::fs::rename(&part, out)
                .map_err(|e| CaptureError::io(out.display().to_string(), &e))?;
            Ok(n)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            Err(e)
        }
    }
}

/// Whether `a` and `b` name the same file however they are spelled: `x` and `./x`, a
/// symbolic link and its target, two hard links (same device and inode). False when
/// either does not exist, so a new output is never "the same" as anything.
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Refuses an output that would replace `input`: `out` itself, or the `OUT.part` file
/// [`write_selection`] writes first, naming the same file as `input`.
pub fn check_not_input(input: &Path, out: &Path) -> Result<(), CaptureError> {
    if same_file(input, out) || same_file(input, &part_path(out)) {
        return Err(err(format!(
            "{} is the input file ({}); export never overwrites its input: choose another name",
            out.display(),
            input.display()
        )));
    }
    Ok(())
}

/// Writes the packets `ids` of `store` to `w` (standard output for `export -w -`), as
/// [`write_selection`] does to a file, and returns how many were written.
pub fn write_selection_to(
    store: &FrameStore,
    ids: impl IntoIterator<Item = PacketId>,
    w: impl Write,
    format: ExportFormat,
    secrets: &[DecryptionSecrets],
) -> Result<u64, CaptureError> {
    write_stream(
        store,
        ids,
        BufWriter::with_capacity(1 << 20, w),
        format,
        secrets,
    )
}

fn write_to(
    store: &FrameStore,
    ids: impl IntoIterator<Item = PacketId>,
    part: &Path,
    format: ExportFormat,
    secrets: &[DecryptionSecrets],
) -> Result<u64, CaptureError> {
    let f = File::create(part).map_err(|e| CaptureError::io(part.display().to_string(), &e))?;
    write_stream(
        store,
        ids,
        BufWriter::with_capacity(1 << 20, f),
        format,
        secrets,
    )
}

fn write_stream<W: Write>(
    store: &FrameStore,
    ids: impl IntoIterator<Item = PacketId>,
    bw: W,
    format: ExportFormat,
    secrets: &[DecryptionSecrets],
) -> Result<u64, CaptureError> {
    // pcapng: the secrets go out just before the first packet (after the interfaces it
    // needs), since a DSB serves the packets after it.
    let mut secrets_due = matches!(format, ExportFormat::Pcapng) && !secrets.is_empty();
    let mut ids = ids.into_iter().peekable();
    let mut w: Writer<W> = match format {
        ExportFormat::Pcapng => {
            let comments = store
                .sections()
                .first()
                .map(|s| s.comments.clone())
                .unwrap_or_default();
            Writer::Pcapng(PcapngWriter::new(bw, "wiretale export", &comments)?, 0)
        }
        ExportFormat::Pcap => {
            let link = ids
                .peek()
                .and_then(|id| store.meta(*id))
                .map_or(LinkType::ETHERNET, |m| m.link);
            let snaplen = store
                .interfaces()
                .iter()
                .map(|i| i.snaplen)
                .max()
                .filter(|s| *s > 0)
                .unwrap_or(262_144);
            Writer::Pcap(PcapWriter::new(bw, link, snaplen, true)?, link)
        }
    };
    for id in ids {
        let frame = store
            .frame(id)
            .ok_or_else(|| err(format!("no frame {} in the input", id.frame_number())))?;
        let meta = frame.meta;
        match &mut w {
            Writer::Pcap(pw, first) => {
                if meta.link != *first {
                    return Err(err(format!(
                        "packets of several link types ({} and {}) cannot go in one pcap file; \
                         write .pcapng instead",
                        first, meta.link
                    )));
                }
                pw.write_packet(meta.ts, frame.data, meta.origlen)?;
            }
            Writer::Pcapng(pw, added) => {
                // Interfaces in the input's order up to this frame's: ids stay equal.
                while *added <= meta.iface {
                    let i = store.interfaces().get(*added as usize).ok_or_else(|| {
                        err(format!(
                            "frame {} names an unknown interface",
                            id.frame_number()
                        ))
                    })?;
                    pw.add_interface_like(i)?;
                    *added += 1;
                }
                if std::mem::take(&mut secrets_due) {
                    for s in secrets {
                        pw.add_secrets(s.kind, &s.data)?;
                    }
                }
                pw.write_packet(
                    meta.iface,
                    meta.ts,
                    frame.data,
                    meta.origlen,
                    store.comments(id),
                )?;
            }
        }
    }
    match w {
        Writer::Pcap(mut pw, _) => {
            pw.flush()?;
            Ok(pw.packets())
        }
        Writer::Pcapng(mut pw, _) => {
            pw.flush()?;
            Ok(pw.packets())
        }
    }
}

fn part_path(out: &Path) -> PathBuf {
    let mut p = out.as_os_str().to_owned();
    p.push(".part");
    PathBuf::from(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcap_and_pcapng_round_trip_a_selection() {
        // lab-page.pcap, every third frame, in reverse: order as given is kept.
        let p = crate::testutil::bundled_capture("lab-page.pcap");
        let mut src = FrameStore::open(&p).unwrap();
        src.index_all();
        let ids: Vec<PacketId> = (0..src.len() as u32)
            .rev()
            .step_by(3)
            .map(PacketId)
            .collect();
        let dir = tempfile::tempdir().unwrap();
        for (name, fmt) in [
            ("a.pcap", ExportFormat::Pcap),
            ("a.pcapng", ExportFormat::Pcapng),
        ] {
            let out = dir.path().join(name);
            assert_eq!(ExportFormat::for_path(&out), fmt);
            let n = write_selection(&src, ids.iter().copied(), &out, fmt, &[]).unwrap();
            assert_eq!(n as usize, ids.len());
            let mut got = FrameStore::open(&out).unwrap();
            assert!(got.index_all().is_none());
            for (i, id) in ids.iter().enumerate() {
                let (a, b) = (
                    src.frame(*id).unwrap(),
                    got.frame(PacketId(i as u32)).unwrap(),
                );
                assert_eq!(
                    (a.data, a.meta.ts, a.meta.origlen),
                    (b.data, b.meta.ts, b.meta.origlen)
                );
            }
            assert!(!dir.path().join(format!("{name}.part")).exists());
        }
        let missing = write_selection(
            &src,
            [PacketId(1 << 30)],
            &dir.path().join("m.pcap"),
            ExportFormat::Pcap,
            &[],
        );
        assert!(missing.is_err());
        assert!(!dir.path().join("m.pcap").exists());
    }

    /// A FIFO (like `/dev/null` or `/dev/stdout`, not a regular file) is written in
    /// place: renaming `OUT.part` over it would replace it with a regular file (it once
    /// replaced a machine's `/dev/null`).
    #[test]
    fn an_output_that_is_not_a_regular_file_is_written_in_place() {
        use std::io::Read;
        use std::os::unix::fs::FileTypeExt;
        let p = crate::testutil::bundled_capture("lab-page.pcap");
        let mut src = FrameStore::open(&p).unwrap();
        src.index_all();
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("out.pcap");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                File::open(fifo).unwrap().read_to_end(&mut got).unwrap();
                got
            })
        };
        let n = write_selection(&src, [PacketId(0)], &fifo, ExportFormat::Pcap, &[]).unwrap();
        assert_eq!(n, 1);
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
        assert!(!dir.path().join("out.pcap.part").exists());
        let mut got = FrameStore::from_bytes(reader.join().unwrap());
        assert!(got.index_all().is_none());
        assert_eq!(
            got.frame(PacketId(0)).unwrap().data,
            src.frame(PacketId(0)).unwrap().data
        );
        assert_eq!(got.len(), 1);
    }
}
