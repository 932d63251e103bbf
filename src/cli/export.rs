//! `wiretale export FILE -Y FILTER -w OUT`: the packets a display filter selects,
//! written to a new capture file by `capture::write_selection` (format by extension:
//! `.pcapng` keeps interfaces and comments, anything else is pcap). The file is read
//! through the frame store (memory map + index): one engine pass decides which packets
//! match, then their bytes are copied from the map in order.

use super::args::ExportArgs;
use super::select::Selection;
use crate::analysis::Engine;
use crate::base::PacketId;
use crate::capture::{write_selection, ExportFormat, FrameStore};

pub fn run(a: &ExportArgs) -> anyhow::Result<i32> {
    let mut sel = match Selection::new(Some(&a.filter), None) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let mut cfg = crate::analysis::EngineConfig::default();
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
    let n = write_selection(&store, ids, &a.out, ExportFormat::for_path(&a.out))
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.out.display()))?;
    eprintln!("wiretale: wrote {n} packets to {}", a.out.display());
    Ok(super::run::finish_status(damage))
}
