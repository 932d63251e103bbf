//! `wiretale conns` end to end against tshark's TCP streams (`tcp_streams` in the truth)
//! for every capture of the shared corpus, through the real binary.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::{bin, shared_captures, shared_root, truth};
use serde_json::Value;

fn conns(rel: &str) -> Vec<Value> {
    let out = Command::new(bin())
        .args(["conns", "--json"])
        .arg(shared_root().join(rel))
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn ep(v: &Value) -> String {
    let ip = v["ip"].as_str().unwrap();
    if ip.contains(':') {
        format!("[{ip}]:{}", v["port"])
    } else {
        format!("{ip}:{}", v["port"])
    }
}

/// tshark writes IPv6 endpoints without brackets ("2001:db8::1:80"); normalise to ours.
fn norm(tshark_ep: &str) -> String {
    let (addr, port) = tshark_ep.rsplit_once(':').unwrap();
    if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        tshark_ep.to_string()
    }
}

#[test]
fn tcp_connections_match_tsharks_streams() {
    let mut compared = 0;
    for rel in shared_captures() {
        let t = truth(&rel);
        let streams = t["tcp_streams"].as_array().unwrap();
        let ours: Vec<Value> = conns(&rel)
            .into_iter()
            .filter(|c| c["proto"] == "tcp")
            .collect();
        // tshark ignores VLANs: zeek/vlan-collisions.pcap holds one 4-tuple on three VLAN
        // contexts (untagged, 42, QinQ 10/20), three connections for us, one stream there.
        if rel == "zeek/vlan-collisions.pcap" {
            assert_eq!(streams.len(), 1);
            assert_eq!(ours.len(), 3, "{rel}");
            let vlans: Vec<&Value> = ours.iter().map(|c| &c["vlan"]).collect();
            assert_eq!(
                vlans,
                [
                    &serde_json::json!([]),
                    &serde_json::json!([42]),
                    &serde_json::json!([10, 20])
                ]
            );
            continue;
        }
        assert_eq!(ours.len(), streams.len(), "{rel}: TCP connections");
        // Pair streams and connections by their endpoints, in order of first packet.
        let mut by_pair: BTreeMap<(String, String), Vec<&Value>> = BTreeMap::new();
        for c in &ours {
            let (a, b) = (ep(&c["client"]), ep(&c["server"]));
            by_pair
                .entry(if a < b { (a, b) } else { (b, a) })
                .or_default()
                .push(c);
        }
        let mut used: BTreeMap<(String, String), usize> = BTreeMap::new();
        for s in streams {
            let (a, b) = (
                norm(s["first_src"].as_str().unwrap()),
                norm(s["first_dst"].as_str().unwrap()),
            );
            let key = if a < b { (a, b) } else { (b, a) };
            let i = used.entry(key.clone()).or_default();
            let c = by_pair
                .get(&key)
                .and_then(|v| v.get(*i))
                .unwrap_or_else(|| panic!("{rel}: no connection for stream {}", s["stream"]));
            *i += 1;
            let per = s["per_endpoint"].as_object().unwrap();
            let client = ep(&c["client"]);
            let server = ep(&c["server"]);
            // An endpoint that sent nothing has no entry in tshark's table.
            let zero = serde_json::json!({"frames": 0, "payload_bytes": 0, "syn": 0, "retransmission": 0,
                "fast_retransmission": 0, "out_of_order": 0, "duplicate_ack": 0, "lost_segment": 0,
                "zero_window": 0, "keep_alive": 0});
            let pc = per.get(&client.replace(['[', ']'], "")).unwrap_or(&zero);
            let ps = per.get(&server.replace(['[', ']'], "")).unwrap_or(&zero);
            assert_eq!(
                c["packets"]["client"], pc["frames"],
                "{rel} stream {}: client packets",
                s["stream"]
            );
            assert_eq!(
                c["packets"]["server"], ps["frames"],
                "{rel} stream {}: server packets",
                s["stream"]
            );
            // tshark's payload_bytes sums tcp.len over every frame, retransmissions
            // included; ours counts each byte once and retransmitted bytes apart.
            let sent = |side: &str| {
                c["bytes"][side].as_u64().unwrap()
                    + c["retransmitted_bytes"][side].as_u64().unwrap()
            };
            assert_eq!(
                sent("client"),
                pc["payload_bytes"].as_u64().unwrap(),
                "{rel} stream {}: client bytes",
                s["stream"]
            );
            assert_eq!(
                sent("server"),
                ps["payload_bytes"].as_u64().unwrap(),
                "{rel} stream {}: server bytes",
                s["stream"]
            );
            if s["client_determined_by"] == "syn" {
                assert_eq!(
                    norm(s["client"].as_str().unwrap()),
                    client,
                    "{rel} stream {}: client",
                    s["stream"]
                );
                assert_eq!(c["orientation_guessed"], false);
            }
            let syn = pc["syn"].as_u64().unwrap() > 0;
            assert_eq!(
                !c["handshake"]["syn_ts"].is_null(),
                syn,
                "{rel} stream {}: SYN seen",
                s["stream"]
            );
            if s["rst_seen"] == true || s["fin_seen"] == true {
                assert!(
                    !c["close"].is_null(),
                    "{rel} stream {}: a close was seen",
                    s["stream"]
                );
            }
            // tshark also sets `tcp.analysis.retransmission` on fast and spurious
            // retransmissions; we name each packet once, by its most specific flag.
            let count = |names: &[&str]| -> u64 {
                names
                    .iter()
                    .map(|n| c["analysis"][*n].as_u64().unwrap_or(0))
                    .sum()
            };
            for (flag, names) in [
                (
                    "retransmission",
                    &[
                        "retransmission",
                        "fast_retransmission",
                        "spurious_retransmission",
                    ][..],
                ),
                ("fast_retransmission", &["fast_retransmission"][..]),
                ("out_of_order", &["out_of_order"][..]),
                ("duplicate_ack", &["duplicate_ack"][..]),
                ("lost_segment", &["lost_segment"][..]),
                ("zero_window", &["zero_window"][..]),
                ("keep_alive", &["keep_alive"][..]),
            ] {
                let theirs = pc[flag].as_u64().unwrap() + ps[flag].as_u64().unwrap();
                assert_eq!(count(names), theirs, "{rel} stream {}: {flag}", s["stream"]);
            }
            compared += 1;
        }
    }
    assert!(compared >= 55, "{compared} streams compared");
}
