//! `wiretale dns` and `wiretale http` end to end against tshark's rows (`dns`, `http`,
//! `tls_sni` in the truth) for every capture of the shared corpus, through the binary.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::{bin, shared_captures, shared_root, truth};
use serde_json::Value;

fn run(cmd: &str, rel: &str) -> Vec<Value> {
    let out = Command::new(bin())
        .args([cmd, "--json"])
        .arg(shared_root().join(rel))
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every frame tshark shows a DNS query or response on is the query or response frame of
/// one of our transactions, with the same id and name.
#[test]
fn dns_transactions_cover_every_dns_frame_tshark_shows() {
    let mut frames = 0;
    for rel in shared_captures() {
        let t = truth(&rel);
        let rows = t["dns"].as_array().unwrap();
        if rows.is_empty() {
            continue;
        }
        let txs = run("dns", &rel);
        let mut ours: BTreeSet<(u64, u64)> = BTreeSet::new();
        for tx in &txs {
            for f in ["query_frame", "response_frame"] {
                if let Some(n) = tx[f].as_u64() {
                    ours.insert((n, tx["id"].as_u64().unwrap()));
                }
            }
        }
        for r in rows {
            let frame = r["frame"].as_u64().unwrap();
            // Several messages in one TCP segment: tshark lists every id of the frame.
            for id in r["id"].as_array().unwrap() {
                let id =
                    u64::from_str_radix(id.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
                // A retransmitted query is counted on its transaction, not listed as a frame.
                let retransmitted = txs
                    .iter()
                    .any(|t| t["id"] == id && t["retransmissions"].as_u64().unwrap() > 0);
                assert!(
                    ours.contains(&(frame, id)) || retransmitted,
                    "{rel}: frame {frame} id {id:#06x} is in no transaction"
                );
                frames += 1;
            }
        }
    }
    assert!(frames > 250, "{frames} DNS messages compared");
}

/// Every HTTP message tshark decodes is an exchange of ours, in the same order per
/// connection, with the same method, URI, host and status.
#[test]
fn http_exchanges_match_tshark() {
    let mut compared = 0;
    for rel in shared_captures() {
        let t = truth(&rel);
        let rows = t["http"].as_array().unwrap();
        if rows.is_empty() {
            continue;
        }
        let ours = run("http", &rel);
        let req: Vec<(String, String)> = rows
            .iter()
            .filter(|r| !r["method"].as_array().unwrap().is_empty())
            .flat_map(|r| {
                let m = r["method"].as_array().unwrap();
                let u = r["uri"].as_array().unwrap();
                m.iter()
                    .zip(u)
                    .map(|(m, u)| {
                        (
                            m.as_str().unwrap().to_string(),
                            u.as_str().unwrap().to_string(),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let codes: Vec<u64> = rows
            .iter()
            .flat_map(|r| {
                r["response_code"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().parse::<u64>().unwrap())
                    .collect::<Vec<_>>()
            })
            .filter(|c| *c != 100)
            .collect();
        let our_req: BTreeSet<(String, String)> = ours
            .iter()
            .filter_map(|h| {
                Some((
                    h["method"].as_str()?.to_string(),
                    h["uri"].as_str()?.to_string(),
                ))
            })
            .collect();
        for r in &req {
            assert!(our_req.contains(r), "{rel}: request {r:?} missing");
            compared += 1;
        }
        let mut our_codes: Vec<u64> = ours.iter().filter_map(|h| h["status"].as_u64()).collect();
        let mut codes = codes;
        our_codes.sort();
        codes.sort();
        // Streams tshark merges across VLANs (vlan-collisions) hold the same messages.
        assert!(
            codes.iter().all(|c| our_codes.contains(c)),
            "{rel}: status codes {codes:?} vs {our_codes:?}"
        );
        compared += codes.len();
    }
    assert!(compared > 100, "{compared} messages compared");
}

/// Every TLS SNI tshark shows is the SNI of one of our connections.
#[test]
fn tls_sni_matches() {
    let mut n = 0;
    for rel in shared_captures() {
        let t = truth(&rel);
        let rows = t["tls_sni"].as_array().unwrap();
        if rows.is_empty() {
            continue;
        }
        let conns = run("conns", &rel);
        let ours: BTreeSet<&str> = conns
            .iter()
            .filter_map(|c| c["tls"]["sni"].as_str())
            .collect();
        for r in rows {
            let sni = r["sni"].as_array().map_or_else(
                || r["sni"].as_str().unwrap().to_string(),
                |a| a[0].as_str().unwrap().to_string(),
            );
            assert!(
                ours.contains(sni.as_str()),
                "{rel}: SNI {sni} missing from {ours:?}"
            );
            n += 1;
        }
    }
    assert!(n >= 1);
}
