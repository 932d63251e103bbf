//! Live capture keeps every packet of a burst (issue 18): tests/lab/replay.sh replays a
//! bundled capture 20 times at tcpreplay's top speed through a veth pair into
//! `wiretale capture -w`, in network namespaces of its own. The file written must hold
//! exactly the replayed frames, in order, and the capture must end by reporting the
//! kernel's counts (received, dropped) with nothing dropped: the burst (~1.2 MB) fits the
//! default 32 MiB ring however late the capture thread runs. Needs root and tcpreplay
//! (tests/setup.sh; CI has both); fails rather than pass unrun without them.

mod common;

use std::path::{Path, PathBuf};

use wiretale::capture::open;

const LOOPS: usize = 20;

fn frames(path: &Path) -> Vec<Vec<u8>> {
    let mut src = open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut v = Vec::new();
    while let Some(f) = src.next_frame().unwrap() {
        v.push(f.data.to_vec());
    }
    v
}

/// The number before `what` in `text` ("24 received" → 24).
fn count_before(text: &str, what: &str) -> Option<u64> {
    let i = text.find(what)?;
    text[..i]
        .split_whitespace()
        .last()?
        .trim_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()
}

#[test]
fn a_replayed_burst_arrives_whole_in_the_file_and_drops_are_reported() {
    common::require_root("the live replay lab (network namespaces)");
    assert!(
        std::process::Command::new("tcpreplay")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "the live replay lab needs tcpreplay: run tests/setup.sh"
    );
    let pcap: PathBuf = [env!("CARGO_MANIFEST_DIR"), "captures", "lab-page.pcap"]
        .iter()
        .collect();
    let lab = common::run_lab_script(
        "replay.sh",
        &[pcap.to_str().unwrap(), &LOOPS.to_string()],
        90,
        "wr",
        true,
    );
    let sent = frames(&pcap);
    let replay = std::fs::read_to_string(lab.path().join("replay.txt")).unwrap();
    assert!(
        replay.contains(&format!(
            "Successful packets:        {}",
            sent.len() * LOOPS
        )),
        "tcpreplay did not send every frame:\n{replay}"
    );

    let got = frames(&lab.path().join("live.pcap"));
    assert_eq!(
        got.len(),
        sent.len() * LOOPS,
        "frames in the file (the replay said:\n{replay})"
    );
    for (i, g) in got.iter().enumerate() {
        assert_eq!(
            g,
            &sent[i % sent.len()],
            "frame {i} differs from what was sent"
        );
    }

    // The end line gives the kernel's counts, as tcpdump does.
    let err = std::fs::read_to_string(lab.path().join("capture.err")).unwrap();
    let end = err
        .lines()
        .find(|l| l.contains("; kernel: "))
        .unwrap_or_else(|| panic!("no end line with the kernel's counts:\n{err}"));
    assert_eq!(count_before(end, "dropped ("), Some(0), "{end}");
    assert_eq!(count_before(end, "by the interface"), Some(0), "{end}");
    let received = count_before(end, "received").unwrap_or_else(|| panic!("{end}"));
    assert!(received >= got.len() as u64, "{end}");
    assert_eq!(
        count_before(end, "packets analysed"),
        Some(got.len() as u64),
        "{end}"
    );
    assert!(!err.contains("the kernel dropped"), "{err}");
}
