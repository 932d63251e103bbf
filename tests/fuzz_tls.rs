//! Replays the committed corpus of the `tls_session` fuzz target (the TLS engine with
//! key logs; see `fuzz/src/lib.rs`) through its entry point under plain `cargo test`,
//! as `tests/fuzz_regressions.rs` does for the other targets.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod entry;

#[test]
fn tls_session_corpus_replays_without_panics() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/tls_session");
    let mut n = 0;
    for kind in ["corpus", "artifacts"] {
        let dir = dir
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join(kind)
            .join("tls_session");
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let data = std::fs::read(e.path()).unwrap();
            let r = std::panic::catch_unwind(|| entry::tls_session(&data));
            assert!(r.is_ok(), "{} panics", e.path().display());
            n += 1;
        }
    }
    // The corpus is committed: an empty replay means it went missing.
    assert!(n >= 19, "only {n} inputs under {}", dir.display());
}
