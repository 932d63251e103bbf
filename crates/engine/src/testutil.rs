//! Test support shared by unit tests inside the crate.

use std::path::PathBuf;

/// The project's root (the workspace root, where `captures/`, `tests/` and `docs/` are):
/// this crate lives two levels below it.
pub const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// Path of a capture in the shared corpus (`../shared/captures/<rel>` beside the project
/// root). Panics with a clear message when the corpus is missing, so a test that needs it
/// fails loudly instead of passing vacuously.
pub fn shared_capture(rel: &str) -> PathBuf {
    let root = PathBuf::from(ROOT).join("../shared/captures");
    assert!(
        root.is_dir(),
        "the shared capture corpus is missing: expected {} (a clean checkout has ../shared beside the project)",
        root.display()
    );
    let p = root.join(rel);
    assert!(p.exists(), "shared capture {} does not exist", p.display());
    p
}

/// Path of a capture bundled in the project's own `captures/` directory.
pub fn bundled_capture(rel: &str) -> PathBuf {
    let p = PathBuf::from(ROOT).join("captures").join(rel);
    assert!(p.exists(), "bundled capture {} does not exist", p.display());
    p
}

/// `path` run through an engine with the default configuration to its end (`None` when
/// it does not open): its records are ready to take.
pub fn analysed(path: &std::path::Path) -> Option<crate::analysis::Engine> {
    let mut src = crate::capture::open(path).ok()?;
    let mut engine = crate::analysis::Engine::new(crate::analysis::EngineConfig::default());
    while let Ok(Some(f)) = src.next_frame() {
        engine.process(&f);
    }
    engine.finish();
    Some(engine)
}

/// Every capture of the shared corpus (two levels under `../shared/captures`) and the
/// bundled ones, sorted.
pub fn all_captures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let shared = PathBuf::from(ROOT).join("../shared/captures");
    let mut dirs = vec![PathBuf::from(ROOT).join("captures")];
    for d in std::fs::read_dir(&shared).expect("the shared corpus") {
        dirs.push(d.expect("entry").path());
    }
    for d in dirs.iter().filter(|d| d.is_dir()) {
        for f in std::fs::read_dir(d).expect("a capture folder") {
            let f = f.expect("entry").path();
            let name = f.to_string_lossy().to_string();
            if name.ends_with(".pcap") || name.ends_with(".pcapng") {
                out.push(f);
            }
        }
    }
    out.sort();
    assert!(out.len() > 50, "{} captures", out.len());
    out
}

/// Every frame of a capture file, read by the product's own reader
/// ([`crate::capture::MemReader`]: pcap of every flavour and pcapng), with its link type
/// and timestamp. A damaged file yields every frame before the damage (as the product
/// does) and says where it stopped in `error`.
pub struct Frames {
    /// Link type of the first frame (what a classic pcap has for every frame).
    pub link: crate::base::LinkType,
    /// (timestamp, captured bytes) in file order.
    pub frames: Vec<(crate::base::Timestamp, Vec<u8>)>,
    /// Link type of each frame (pcapng interfaces may differ).
    pub links: Vec<crate::base::LinkType>,
    /// What stopped reading early, if anything.
    pub error: Option<String>,
}

pub fn read_frames(path: &std::path::Path) -> Frames {
    use crate::capture::FrameSource;
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = crate::capture::MemReader::new(bytes);
    let mut out = Frames {
        link: crate::base::LinkType::ETHERNET,
        frames: Vec::new(),
        links: Vec::new(),
        error: None,
    };
    loop {
        let f = match r.next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                out.error = Some(e.to_string());
                break;
            }
        };
        if out.links.is_empty() {
            out.link = f.meta.link;
        }
        out.links.push(f.meta.link);
        out.frames.push((f.meta.ts, f.data.to_vec()));
    }
    out
}
