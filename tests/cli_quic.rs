//! QUIC through the binary: the HTTP/3 lab's captures (`tests/data/quic/lab`, made by
//! `tests/lab/quic-captures.sh`) against tshark's view of them (`truth/*.quic.tsv`,
//! made by `make-truth.sh`) and the server's own request log (`*.h3.tsv`).

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output};

use common::bin;
use serde_json::Value;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/quic/lab")
        .join(name)
}

fn run(args: &[&str], capture: &str, keys: Option<&str>) -> Output {
    let mut c = Command::new(bin());
    c.args(args).arg(data(&format!("{capture}.pcapng")));
    if let Some(k) = keys {
        c.arg("--tls-keylog").arg(data(k));
    }
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

fn json_lines(o: &Output) -> Vec<Value> {
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// tshark's rows of a truth file as maps from column name to value.
fn truth(capture: &str) -> Vec<std::collections::HashMap<String, String>> {
    let text = std::fs::read_to_string(data(&format!("truth/{capture}.nokeys.quic.tsv"))).unwrap();
    let mut lines = text.lines();
    let head: Vec<String> = lines
        .next()
        .unwrap()
        .split('\t')
        .map(String::from)
        .collect();
    lines
        .map(|l| {
            head.iter()
                .cloned()
                .zip(l.split('\t').map(String::from))
                .collect()
        })
        .collect()
}

/// Client ports of the server's request log: one QUIC connection each.
fn h3_clients(capture: &str) -> BTreeSet<u16> {
    std::fs::read_to_string(data(&format!("{capture}.h3.tsv")))
        .unwrap()
        .lines()
        .map(|l| {
            l.split('\t')
                .next()
                .unwrap()
                .rsplit(':')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect()
}

const CAPTURES: [&str; 3] = ["aioquic-h3", "aioquic-retry", "chromium-h3"];

/// Without keys: one `quic` connection per client connection of the server's log, its
/// original DCID the first client Initial's in tshark's view, the server's connection
/// IDs those of its Initials, the SNI and ALPN offer out of the Initials.
#[test]
fn conns_without_keys_match_tshark_and_the_server_log() {
    for cap in CAPTURES {
        let conns = json_lines(&run(&["conns", "--json"], cap, None));
        let quic: Vec<&Value> = conns.iter().filter(|c| c["app"] == "quic").collect();
        let ports: BTreeSet<u16> = quic
            .iter()
            .map(|c| c["client"]["port"].as_u64().unwrap() as u16)
            .collect();
        assert_eq!(ports, h3_clients(cap), "{cap}");
        let rows = truth(cap);
        for c in &quic {
            let port = c["client"]["port"].as_u64().unwrap().to_string();
            let q = &c["quic"];
            assert_eq!(c["proto"], "udp");
            assert_eq!(q["version"], "v1", "{cap}");
            assert_eq!(q["sni"], "quic.lab.glasscom.com", "{cap}");
            assert!(q["alpn_offered"].as_array().unwrap().contains(&"h3".into()));
            assert_eq!(q["decrypted"], false);
            // The first Initial from this client (long packet type 0) in tshark's view.
            let first = rows
                .iter()
                .find(|r| r["udp.srcport"] == port && r["quic.long.packet_type"].starts_with('0'))
                .unwrap();
            let dcid = first["quic.dcid"].split(',').next().unwrap();
            assert_eq!(q["original_dcid"], dcid, "{cap}");
            // Every SCID the server put in its long headers is one of its CIDs.
            let server: BTreeSet<String> = rows
                .iter()
                .filter(|r| r["udp.dstport"] == port)
                .flat_map(|r| {
                    r["quic.scid"]
                        .split(',')
                        .map(String::from)
                        .collect::<Vec<_>>()
                })
                .filter(|s| !s.is_empty())
                .collect();
            let ours: BTreeSet<String> = q["server_cids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            assert_eq!(ours, server, "{cap}");
            let retry = rows
                .iter()
                .any(|r| r["udp.dstport"] == port && r["quic.long.packet_type"] == "3");
            assert_eq!(q["retry"], retry, "{cap}");
            assert_eq!(q["round_trips"], if retry { 2 } else { 1 });
            let hs = q["handshake"].as_f64().unwrap();
            assert!(hs > 0.0 && hs < 1.0, "{cap}: {hs}");
            assert_eq!(c["tls"]["sni"], "quic.lab.glasscom.com");
            assert!(
                c["tls"]["ja4"].as_str().unwrap().starts_with("q13"),
                "JA4 of QUIC starts with q"
            );
        }
    }
}

/// Every UDP packet of the lab's QUIC connections shows as QUIC, with tshark's packet
/// kinds on the packets tshark could read without keys.
#[test]
fn packets_show_quic_with_their_header_kinds() {
    for cap in CAPTURES {
        let out = run(&["packets", "--json"], cap, None);
        let rows = truth(cap);
        for p in json_lines(&out) {
            if p["proto"] == "arp" {
                continue;
            }
            let n = p["n"].as_u64().unwrap().to_string();
            assert_eq!(p["proto"], "quic", "{cap} #{n}: {p}");
            let Some(t) = rows.iter().find(|r| r["frame.number"] == n) else {
                continue;
            };
            let info = p["info"].as_str().unwrap();
            let kinds = t["quic.long.packet_type"]
                .split(',')
                .filter(|k| !k.is_empty());
            for k in kinds {
                let name = ["Initial", "0-RTT", "Handshake", "Retry"][k.parse::<usize>().unwrap()];
                assert!(info.contains(name), "{cap} #{n}: {info} lacks {name}");
            }
        }
    }
}

/// The story tells a QUIC connection as one: its connect line with the handshake's
/// round trips and time, the TLS facts of its Initials, how to decrypt the rest.
#[test]
fn story_tells_the_quic_connection() {
    let out = run(&["story"], "aioquic-retry", None);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("connect  (QUIC) #0 198.18.2.10:39616 → 198.18.2.80:443"),
        "{text}"
    );
    assert!(text.contains("handshake 2-RTT (Retry)"), "{text}");
    assert!(
        text.contains("TLS 1.3 in QUIC v1 · SNI quic.lab.glasscom.com · offered h3"),
        "{text}"
    );
    assert!(text.contains("--tls-keylog FILE decrypts"), "{text}");
}
