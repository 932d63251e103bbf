//! Replays the HTTP/2 fuzz corpus and crashers (`fuzz/corpus/{h2_frames,hpack}`,
//! `fuzz/artifacts/{h2_frames,hpack}`) through the entry points the fuzz targets call
//! (`fuzz/src/h2.rs`), so plain `cargo test` keeps them fixed; plus a bounded run of
//! mutated seeds, since fuzzing itself stays out of the test suite (`fuzz/README.md`).

#[path = "../fuzz/src/h2.rs"]
mod entry;

use std::path::{Path, PathBuf};

type Target = (&'static str, fn(&[u8]));

const TARGETS: [Target; 2] = [("h2_frames", entry::h2_frames), ("hpack", entry::hpack)];

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target);
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

#[test]
fn h2_corpus_and_crashers_replay() {
    for (target, f) in TARGETS {
        let corpus = inputs("corpus", target);
        assert!(
            corpus.len() >= 4,
            "{target}: only {} corpus inputs",
            corpus.len()
        );
        for p in corpus.iter().chain(&inputs("artifacts", target)) {
            f(&std::fs::read(p).unwrap());
        }
    }
}

/// Each seed with bytes flipped, cut and repeated, in a fixed pseudo-random order.
#[test]
fn mutated_seeds_hold() {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rnd = |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n.max(1) as u64) as usize
    };
    for (target, f) in TARGETS {
        for p in inputs("corpus", target) {
            let seed = std::fs::read(&p).unwrap();
            let seed = &seed[..seed.len().min(4096)];
            for _ in 0..150 {
                let mut m = seed.to_vec();
                for _ in 0..1 + rnd(6) {
                    let i = rnd(m.len());
                    match rnd(3) {
                        0 => m[i] = rnd(256) as u8,
                        1 => m.truncate(i.max(7)),
                        _ => {
                            let j = rnd(m.len());
                            let (a, b) = (i.min(j), i.max(j));
                            let piece = m[a..b.min(a + 64)].to_vec();
                            m.splice(i..i, piece);
                        }
                    }
                }
                f(&m);
            }
        }
    }
}
