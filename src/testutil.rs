//! Test support shared by unit tests inside the crate.

use std::path::PathBuf;

/// Path of a capture in the shared corpus (`../shared/captures/<rel>` beside the project
/// root). Panics with a clear message when the corpus is missing, so a test that needs it
/// fails loudly instead of passing vacuously.
pub fn shared_capture(rel: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/captures");
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
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(rel);
    assert!(p.exists(), "bundled capture {} does not exist", p.display());
    p
}
