//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/*`) and every crasher and
//! slow input libFuzzer saved (`fuzz/artifacts/<target>/*`) through the same entry
//! points the fuzz targets call, so plain `cargo test` keeps them fixed. Fuzzing itself
//! stays out of the test suite (see `fuzz/README.md`).

mod common;

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod entry;

use std::path::{Path, PathBuf};

/// A fuzz target's name and its entry point.
type Target = (&'static str, fn(&[u8]));

const TARGETS: [Target; 8] = [
    ("pcap_reader", entry::pcap_reader),
    ("decode_l2_l4", entry::decode_l2_l4),
    ("dns", entry::dns),
    ("http_stream", entry::http_stream),
    ("tls_hello", entry::tls_hello),
    ("reassembly", entry::reassembly),
    ("display_filter", entry::display_filter),
    ("pipeline", entry::pipeline),
];

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

fn replay(kind: &str) -> usize {
    let mut n = 0;
    for (target, f) in TARGETS {
        for p in inputs(kind, target) {
            let data = std::fs::read(&p).unwrap();
            let r = std::panic::catch_unwind(|| f(&data));
            assert!(r.is_ok(), "{target}: {} panics", p.display());
            n += 1;
        }
    }
    n
}

#[test]
fn corpus_replays_without_panics() {
    let n = replay("corpus");
    // The corpus is committed: an empty replay means it went missing, not that all passed.
    assert!(n >= 50, "only {n} corpus inputs found under fuzz/corpus");
    for (target, _) in TARGETS {
        assert!(
            !inputs("corpus", target).is_empty(),
            "no corpus for {target}"
        );
    }
}

#[test]
fn crashers_stay_fixed() {
    // decode_l2_l4: etherparse's IPv6 extension iterator read out of bounds;
    // reassembly: a harness property that assumed who the client is.
    let n = replay("artifacts");
    assert!(n >= 2, "the committed crashers are missing ({n} found)");
}

#[test]
fn entry_points_check_what_they_claim() {
    // The reader property compares two readers; feed it a real file and its cuts.
    // tcpdump/tcp-handshake-nano.pcap: nanosecond pcap, 3 frames.
    let web = std::fs::read(common::shared_root().join("tcpdump/tcp-handshake-nano.pcap")).unwrap();
    for cut in 0..=web.len() {
        entry::pcap_reader(&web[..cut]);
    }
    // The pipeline property: every synthesized packet comes back from the reader.
    let mut blob = vec![0u8];
    for len in [0u16, 14, 60, 1599] {
        blob.extend_from_slice(&len.to_le_bytes());
        blob.extend(std::iter::repeat_n(0x45u8, usize::from(len)));
    }
    entry::pipeline(&blob);
}
