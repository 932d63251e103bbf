//! `wiretale packets` end to end: the real binary over every capture of the shared corpus,
//! compared with the tshark truth, plus the behaviours a shell user relies on (closed
//! pipes, damaged files, one-line errors).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use common::{bin, shared_captures, shared_root, truth};
use serde_json::Value;

struct Run {
    lines: Vec<Value>,
    status: i32,
    stderr: String,
}

fn packets_json(path: &std::path::Path) -> Run {
    let out = Command::new(bin())
        .args(["packets", "--json"])
        .arg(path)
        .output()
        .expect("run wiretale");
    let lines = String::from_utf8(out.stdout)
        .expect("JSON output is UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect();
    Run {
        lines,
        status: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn every_shared_capture_reads_like_tshark() {
    for rel in shared_captures() {
        let t = truth(&rel);
        let run = packets_json(&shared_root().join(&rel));
        let walked = t["header"]["records_walked"].as_u64().unwrap() as usize;
        // tshark counts pcapng custom blocks as frames (test202: 11 frames, 8 packets) and
        // we do not: they are not packets. `records_walked` is the independent count of
        // packet records, which we must match exactly.
        assert_eq!(run.lines.len(), walked, "{rel}: packets");
        let clean = t["header"]["tail"] == "clean";
        if clean {
            assert_eq!(run.status, 0, "{rel}: exit status, stderr {}", run.stderr);
        } else {
            assert_eq!(
                run.status, 2,
                "{rel}: damaged file must exit 2 after printing"
            );
            assert!(
                run.stderr.contains("offset") && run.stderr.lines().count() == 1,
                "{rel}: one error line naming the offset, got {:?}",
                run.stderr
            );
        }
        for (i, l) in run.lines.iter().enumerate() {
            assert_eq!(l["n"], i as u64 + 1, "{rel}: frame numbers count packets");
            for key in [
                "ts",
                "caplen",
                "len",
                "iface",
                "link",
                "src",
                "dst",
                "proto",
                "sport",
                "dport",
                "info",
                "anomalies",
                "conn",
            ] {
                assert!(l.get(key).is_some(), "{rel}: frame {} lacks {key}", i + 1);
            }
        }
    }
}

/// Frames tshark decoded as DNS, and frames where it completed an HTTP message, show as
/// `dns` and `http` here too.
#[test]
fn application_protocols_land_on_the_frames_tshark_puts_them() {
    let mut checked = 0;
    for rel in shared_captures() {
        let t = truth(&rel);
        let dns_frames: BTreeSet<u64> = t["dns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["frame"].as_u64().unwrap())
            .collect();
        let http_frames: BTreeSet<u64> = t["http"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["frame"].as_u64().unwrap())
            .collect();
        if dns_frames.is_empty() && http_frames.is_empty() {
            continue;
        }
        let run = packets_json(&shared_root().join(&rel));
        let proto: BTreeMap<u64, String> = run
            .lines
            .iter()
            .map(|l| {
                (
                    l["n"].as_u64().unwrap(),
                    l["proto"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        for f in &dns_frames {
            assert_eq!(
                proto.get(f).map(String::as_str),
                Some("dns"),
                "{rel}: frame {f} is DNS for tshark"
            );
            checked += 1;
        }
        for f in &http_frames {
            assert_eq!(
                proto.get(f).map(String::as_str),
                Some("http"),
                "{rel}: frame {f} completes an HTTP message for tshark"
            );
            checked += 1;
        }
    }
    assert!(checked > 300, "only {checked} frames compared");
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let mut child = Command::new(bin())
        .args(["packets"])
        .arg(shared_root().join("zeek/http-206_example_b.pcap"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // stdout is dropped here: the reader went away, like `| head -1`.
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(first.contains("→"), "{first}");
    assert_eq!(status.code(), Some(0), "stderr: {err}");
    assert!(err.is_empty(), "nothing on stderr: {err}");
}

fn one_line_error(args: &[&str]) -> String {
    let out = Command::new(bin()).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    assert!(out.stdout.is_empty());
    err
}

#[test]
fn bad_paths_give_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let e = one_line_error(&["packets", "/nonexistent/x.pcap"]);
    assert!(e.contains("/nonexistent/x.pcap"), "{e}");
    one_line_error(&["packets", dir.path().to_str().unwrap()]);
    let junk = dir.path().join("junk.pcap");
    std::fs::write(&junk, b"this is not a capture file at all").unwrap();
    let e = one_line_error(&["conns", junk.to_str().unwrap()]);
    assert!(
        e.to_lowercase().contains("format") || e.contains("not a"),
        "{e}"
    );
}

#[test]
fn a_cut_file_prints_every_complete_packet_then_the_offset() {
    let src = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/lab-page.pcap"),
    )
    .unwrap();
    let full = packets_json(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/lab-page.pcap"),
    );
    assert_eq!(full.status, 0);
    let dir = tempfile::tempdir().unwrap();
    // Walk the records to know where each one ends, then cut inside the 11th record's
    // data and inside the 21st record's header.
    let mut ends = Vec::new();
    let mut off = 24usize;
    while off + 16 <= src.len() {
        let caplen = u32::from_le_bytes(src[off + 8..off + 12].try_into().unwrap()) as usize;
        off += 16 + caplen;
        ends.push(off);
    }
    for (cut, complete) in [(ends[9] + 20, 10usize), (ends[19] + 7, 20)] {
        let p = dir.path().join(format!("cut{cut}.pcap"));
        std::fs::write(&p, &src[..cut]).unwrap();
        let run = packets_json(&p);
        assert_eq!(run.lines.len(), complete, "cut at {cut}");
        assert_eq!(
            run.lines[..],
            full.lines[..complete],
            "same packets as the whole file"
        );
        assert_eq!(run.status, 2);
        assert!(
            run.stderr.contains(&ends[complete - 1].to_string()),
            "names the offset: {}",
            run.stderr
        );
    }
}

#[test]
fn the_terminal_hint_when_stdout_is_not_a_terminal() {
    let out = Command::new(bin())
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/lab-page.pcap"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("wiretale packets"), "{err}");
    assert_ne!(out.status.code(), Some(0));
}
