//! HTTP/2 through the binary: `http --json`, `packets` and `story` on the h2c capture
//! (`tests/data/h2`, nghttp and curl against nginx), checked against tshark's frames in
//! `h2c.truth.tsv` (made by `tests/data/h2/make-h2c.sh`).

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use common::bin;
use serde_json::Value;

fn capture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/h2/h2c.pcap")
}

fn out(args: &[&str]) -> String {
    out_of(&capture(), args)
}

fn out_of(file: &std::path::Path, args: &[&str]) -> String {
    let o = Command::new(bin()).args(args).arg(file).output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// (tcp.stream, h2 stream) → (method, path, status) from tshark's rows: each row lists a
/// packet's frames (streams and types) and the pseudo-headers of its HEADERS frames in
/// order (requests from the client, statuses from the server).
fn truth() -> BTreeMap<(u64, u32), (String, String, String)> {
    let text = std::fs::read_to_string(capture().with_file_name("h2c.truth.tsv")).unwrap();
    let mut m: BTreeMap<(u64, u32), (String, String, String)> = BTreeMap::new();
    for line in text.lines() {
        let c: Vec<&str> = line.split('\t').collect();
        let field = |i: usize| c.get(i).copied().unwrap_or("");
        let list =
            |i: usize| -> Vec<&str> { field(i).split(',').filter(|s| !s.is_empty()).collect() };
        let conn: u64 = field(1).parse().unwrap();
        let streams = list(3);
        let types = list(4);
        let headers: Vec<u32> = streams
            .iter()
            .zip(&types)
            .filter(|(_, t)| **t == "1")
            .map(|(s, _)| s.parse().unwrap())
            .collect();
        let (methods, paths, statuses) = (list(6), list(7), list(8));
        for (k, s) in headers.iter().enumerate() {
            let e = m.entry((conn, *s)).or_default();
            if let (Some(me), Some(p)) = (methods.get(k), paths.get(k)) {
                (e.0, e.1) = (me.to_string(), p.to_string());
            }
            if let Some(st) = statuses.get(k) {
                e.2 = st.to_string();
            }
        }
    }
    m
}

#[test]
fn exchanges_match_tsharks_streams() {
    let want = truth();
    assert_eq!(want.len(), 7, "{want:?}");
    let mut got = BTreeMap::new();
    for l in out(&["http", "--json"]).lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["version"], "HTTP/2");
        assert_eq!(v["host"], "127.0.0.1:18089");
        assert!(v["ttfb"].as_f64().unwrap() > 0.0);
        got.insert(
            (
                v["conn"].as_u64().unwrap(),
                v["stream"].as_u64().unwrap() as u32,
            ),
            (
                v["method"].as_str().unwrap().to_string(),
                v["uri"].as_str().unwrap().to_string(),
                v["status"].as_u64().unwrap().to_string(),
            ),
        );
    }
    assert_eq!(got, want);
}

#[test]
fn packets_name_their_frames_and_the_story_names_streams() {
    let packets = out(&["packets"]);
    let line4 = packets.lines().nth(3).unwrap();
    assert!(
        line4.contains("HTTP2") && line4.contains("HEADERS[13]: GET /index.html"),
        "{line4}"
    );
    let story = out(&["story"]);
    assert!(
        story.contains("GET /big.txt (#0 stream 15, h2) → 200"),
        "{story}"
    );
}

/// HTTP/2 reached by `Upgrade: h2c` (Apache, curl --http2, nghttp -u; made by
/// `tests/data/h2/make-h2c-upgrade.sh`): the 101 is an HTTP/1.1 exchange, the upgrade
/// request is stream 1 answered in HTTP/2 (RFC 7540 §3.2), and the packets that carry
/// HTTP/2 frames are tshark's.
#[test]
fn an_h2c_upgrade_hands_the_connection_to_http2() {
    let file = capture().with_file_name("h2c-upgrade.pcap");
    let truth = std::fs::read_to_string(file.with_file_name("h2c-upgrade.truth.tsv")).unwrap();
    let want: Vec<u64> = truth
        .lines()
        .map(|l| l.split('\t').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(want.len(), 18);
    let got: Vec<u64> = out_of(&file, &["packets"])
        .lines()
        .filter(|l| l.contains(" HTTP2 "))
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(got, want, "packets carrying HTTP/2 frames");

    let http: Vec<Value> = out_of(&file, &["http", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for conn in 0..4u64 {
        let of: Vec<&Value> = http.iter().filter(|v| v["conn"] == conn).collect();
        assert_eq!(of[0]["version"], "HTTP/1.1", "{of:?}");
        assert_eq!(of[0]["status"], 101);
        assert_eq!(of[1]["version"], "HTTP/2");
        assert_eq!(of[1]["stream"], 1);
        assert_eq!(of[1]["status"], 200);
        assert_eq!(
            of[1]["uri"], of[0]["uri"],
            "stream 1 is the upgrade request"
        );
        assert!(of[1]["response_body_len"].as_u64().unwrap() > 0);
    }
    // nghttp's second request went out after the server's GOAWAY (last stream 1).
    let refused: Vec<&Value> = http.iter().filter(|v| v["stream"] == 13).collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["anomalies"][0], "h2_not_processed");
    assert_eq!(refused[0]["partial"], false);
    let story = out_of(&file, &["story"]);
    assert!(
        story.contains(
            "GET /a.css (#3 stream 13, h2) → not processed (refused by the server's GOAWAY)"
        ),
        "{story}"
    );
}
