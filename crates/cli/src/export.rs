//! `wiretale export FILE -Y FILTER -w OUT`: the packets a display filter selects,
//! written to a new capture file by `capture::write_selection` (format by extension:
//! `.pcapng` keeps interfaces and comments, anything else is pcap). The file is read
//! through the frame store (memory map + index): one engine pass decides which packets
//! match, then their bytes are copied from the map in order.
//!
//! pcapng output carries the TLS keys of the exported connections (those whose
//! ClientHello is exported), from `--tls-keylog` and the input's Decryption Secrets
//! Blocks, in a Decryption Secrets Block of its own, so the new file decrypts without a
//! key log; keys of connections left out are never written. pcap cannot carry keys: a
//! pcap export of decryptable TLS says so once on stderr.
//!
//! `-w -` writes to standard output (pcap unless `--format pcapng`), refused when
//! standard output is a terminal. An output that is the input file itself, however
//! named (`./x`, a link), is refused before anything is read or written.

use std::io::{IsTerminal, Write};

use super::args::{ExportArgs, ExportFormatArg};
use super::select::Selection;
use wiretale_engine::analysis::{export_keys, Engine};
use wiretale_engine::base::PacketId;
use wiretale_engine::capture::{
    check_not_input, write_selection, write_selection_to, ExportFormat, FrameStore,
};

pub fn run(a: &ExportArgs) -> anyhow::Result<i32> {
    let to_stdout = a.out.as_os_str() == "-";
    let format = match a.format {
        Some(ExportFormatArg::Pcap) => ExportFormat::Pcap,
        Some(ExportFormatArg::Pcapng) => ExportFormat::Pcapng,
        None if to_stdout => ExportFormat::Pcap,
        None => ExportFormat::for_path(&a.out),
    };
    if to_stdout && std::io::stdout().is_terminal() {
        eprintln!(
            "wiretale: export -w - writes a binary capture: redirect it to a file or a pipe \
             (e.g. `| tcpdump -r -`)"
        );
        return Ok(super::EXIT_ERROR);
    }
    if !to_stdout {
        if let Err(e) = check_not_input(&a.file, &a.out) {
            eprintln!("wiretale: {e}");
            return Ok(super::EXIT_ERROR);
        }
    }
    let mut sel = match Selection::new(Some(&a.filter), None) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let mut cfg = wiretale_engine::analysis::EngineConfig::default();
    sel.prepare(&a.file, &mut cfg)?;
    let Some(mut matcher) = sel.matcher.take() else {
        anyhow::bail!("export needs a display filter");
    };
    let path = &a.file;
    let mut store =
        FrameStore::open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let damage = match store.index_all() {
        Some(e) if !e.is_damage() => anyhow::bail!("{}: {e}", path.display()),
        Some(e) => Some(e.clone()),
        None => None,
    };
    let file_keys = match &a.tls_keylog {
        Some(p) => Some(super::run::read_keylog(p, false)?),
        None => None,
    };
    let keys = export_keys::input_keys(&store, file_keys);
    let mut engine = Engine::new(cfg);
    let mut ids = Vec::new();
    for i in 0..store.len() {
        let id = PacketId(i as u32);
        if let Some(frame) = store.frame(id) {
            let s = engine.process(&frame);
            if matcher.matches(&frame, &s) {
                ids.push(id);
            }
        }
    }
    let secrets = export_keys::export_secrets(&store, &ids, &keys);
    if format == ExportFormat::Pcap && !secrets.is_empty() {
        eprintln!(
            "wiretale: pcap cannot carry TLS keys: the exported connections' keys are not in \
             the output (write .pcapng to keep them)"
        );
    }
    if to_stdout {
        let mut pipe = PipeWriter {
            inner: std::io::stdout().lock(),
            closed: false,
        };
        let r = write_selection_to(&store, ids, &mut pipe, format, &secrets);
        if pipe.closed {
            // The reader went away (`| head -c`): a clean end, as for the text commands.
            return Ok(0);
        }
        let n = r.map_err(|e| anyhow::anyhow!("standard output: {e}"))?;
        eprintln!(
            "wiretale: wrote {n} packets to standard output{}",
            keys_note(&secrets, format)
        );
    } else {
        let n = write_selection(&store, ids, &a.out, format, &secrets)
            .map_err(|e| anyhow::anyhow!("{}: {e}", a.out.display()))?;
        eprintln!(
            "wiretale: wrote {n} packets to {}{}",
            a.out.display(),
            keys_note(&secrets, format)
        );
    }
    Ok(super::run::finish_status(damage))
}

/// What the "wrote N packets" line adds about keys carried (pcapng only).
fn keys_note(
    secrets: &[wiretale_engine::capture::DecryptionSecrets],
    format: ExportFormat,
) -> String {
    let sessions = secrets
        .iter()
        .flat_map(|s| s.data.split(|&b| b == b'\n'))
        .filter_map(|l| l.split(|&b| b == b' ').nth(1))
        .collect::<std::collections::HashSet<_>>()
        .len();
    match (format, sessions) {
        (ExportFormat::Pcapng, 1) => " with the TLS keys of 1 session".into(),
        (ExportFormat::Pcapng, n) if n > 1 => format!(" with the TLS keys of {n} sessions"),
        _ => String::new(),
    }
}

/// Standard output that remembers a closed pipe, so the write error it causes can be
/// told apart from a real failure.
struct PipeWriter<W: Write> {
    inner: W,
    closed: bool,
}

impl<W: Write> Write for PipeWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf).inspect_err(|e| {
            self.closed |= e.kind() == std::io::ErrorKind::BrokenPipe;
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush().inspect_err(|e| {
            self.closed |= e.kind() == std::io::ErrorKind::BrokenPipe;
        })
    }
}
