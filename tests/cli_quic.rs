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

/// Every lab capture (v1, Retry, Chromium, migration, key update, v2, the race), read
/// with its client's key log: each HTTP/3 request the server logged is one `http`
/// record, on the connection of its client port, with its stream id, method,
/// authority, path, status and response body length; nothing more.
#[test]
fn http3_with_keys_equals_the_server_log() {
    for cap in [
        "aioquic-h3",
        "aioquic-retry",
        "chromium-h3",
        "aioquic-migrate",
        "aioquic-keyupdate",
        "aioquic-v2",
        "chromium-altsvc",
    ] {
        let keys = format!("{cap}.keys");
        let conns = json_lines(&run(&["conns", "--json"], cap, Some(&keys)));
        let port_of = |id: u64| {
            conns
                .iter()
                .find(|c| c["id"] == id)
                .map(|c| c["client"]["port"].as_u64().unwrap())
                .unwrap()
        };
        let mut ours: Vec<String> = json_lines(&run(&["http", "--json"], cap, Some(&keys)))
            .iter()
            .filter(|h| h["version"] == "HTTP/3")
            .map(|h| {
                format!(
                    "{} {} {} {} {} {} {}",
                    port_of(h["conn"].as_u64().unwrap()),
                    h["stream"],
                    h["method"].as_str().unwrap(),
                    h["host"].as_str().unwrap(),
                    h["uri"].as_str().unwrap(),
                    h["status"],
                    h["response_body_len"]
                )
            })
            .collect();
        // The server logs the client's port at the time of the request: after a
        // migration that is the connection's second address. Name each request by the
        // connection's first one.
        let first_port = |port: u64| {
            conns
                .iter()
                .filter(|c| c["app"] == "quic")
                .find(|c| {
                    c["quic"]["paths"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| p["port"] == port)
                })
                .map_or(port, |c| c["client"]["port"].as_u64().unwrap())
        };
        let text = std::fs::read_to_string(data(&format!("{cap}.h3.tsv"))).unwrap();
        let mut want: Vec<String> = text
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                let port = first_port(f[0].rsplit(':').next().unwrap().parse().unwrap());
                format!(
                    "{port} {} {} {} {} {} {}",
                    f[1], f[2], f[3], f[4], f[5], f[7]
                )
            })
            .collect();
        ours.sort();
        want.sort();
        assert_eq!(ours, want, "{cap}");
        for c in conns.iter().filter(|c| c["app"] == "quic") {
            let q = &c["quic"];
            assert_eq!(q["decrypted"], true, "{cap}");
            assert_eq!(q["alpn"], "h3", "{cap}");
            assert_eq!(q["handshake_done"], true, "{cap}");
            assert!(q["anomalies"].as_array().unwrap().is_empty(), "{cap}: {q}");
        }
    }
}

/// A client that changed its connection ID and then its port (path validation,
/// RFC 9000 §9) is one connection with two addresses, every request on it; the key
/// update capture counts one update each way.
#[test]
fn migration_is_one_connection_and_key_updates_are_counted() {
    let conns = json_lines(&run(
        &["conns", "--json"],
        "aioquic-migrate",
        Some("aioquic-migrate.keys"),
    ));
    let quic: Vec<&Value> = conns.iter().filter(|c| c["app"] == "quic").collect();
    assert_eq!(quic.len(), 1, "{conns:?}");
    let paths = quic[0]["quic"]["paths"].as_array().unwrap();
    // The client log names the ports it used.
    let log = std::fs::read_to_string(data("aioquic-migrate.migrate.tsv")).unwrap();
    let ports: BTreeSet<u64> = paths.iter().map(|p| p["port"].as_u64().unwrap()).collect();
    assert_eq!(ports.len(), 2, "{paths:?}");
    for p in &ports {
        assert!(
            log.contains(&p.to_string()),
            "port {p} not in the client's log"
        );
    }
    assert!(quic[0]["quic"]["server_cids"].as_array().unwrap().len() >= 3);
    // Without keys the connection IDs of the new path are unknown: a second flow.
    let bare = json_lines(&run(&["conns", "--json"], "aioquic-migrate", None));
    assert_eq!(
        bare.iter()
            .filter(|c| c["proto"] == "udp" && c["server"]["port"] == 443)
            .count(),
        2
    );

    let ku = json_lines(&run(
        &["conns", "--json"],
        "aioquic-keyupdate",
        Some("aioquic-keyupdate.keys"),
    ));
    let q = &ku.iter().find(|c| c["app"] == "quic").unwrap()["quic"];
    assert_eq!(q["key_updates"]["client"], 1);
    assert_eq!(q["key_updates"]["server"], 1);
}

/// The bundled sample: Chromium loads a page over h2, is told of HTTP/3 by Alt-Svc,
/// and fetches the rest over QUIC; its key log is inside the file.
#[test]
fn the_bundled_h3_page_tells_the_whole_story() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures/lab-h3-page.pcapng");
    let o = Command::new(bin())
        .arg("story")
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    for want in [
        "GET /race.html (#0 stream 1, h2) → 200",
        "connect  (QUIC) #2 198.18.2.10:39273 → 198.18.2.80:443",
        "handshake 1-RTT 8.7 ms, h3",
        "HTTP/3 announced by Alt-Svc on #0; raced with #1 over TCP+TLS: the requests went over this one (2)",
        "GET /static/app.js (#2 stream 0, h3) → 200   application/javascript 800 B",
        "GET /dir1/img/photo.png (#2 stream 4, h3) → 200   image/png 8,213 B",
        "close    #2 client closed (NO_ERROR)",
    ] {
        assert!(text.contains(want), "{want} not in\n{text}");
    }
}
