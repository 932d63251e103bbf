//! The lab: real programs (dnsmasq, nginx, curl, and Chromium when installed) in network
//! namespaces built like the book's picture, captured by wiretale's own live capture.
//! Needs root (CI runs as root); elsewhere each test fails rather than pass unrun.
//!
//! One lab run (~12 s) is checked by several functions; they run from one test because
//! nextest runs every test in its own process.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn pcap(&self) -> PathBuf {
        self.dir.path().join("lab.pcap")
    }
}

/// Runs the lab once (curl scenarios) and keeps its output for every test.
fn lab() -> &'static Lab {
    static LAB: OnceLock<Lab> = OnceLock::new();
    LAB.get_or_init(|| {
        let dir = common::run_lab("curl", 120, "wtt");
        Lab { dir }
    })
}

fn json_lines(args: &[&str], file: &Path) -> Vec<Value> {
    let out = Command::new(common::bin())
        .args(args)
        .arg(file)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn steps(lab: &Lab) -> Vec<(String, f64, f64)> {
    std::fs::read_to_string(lab.dir.path().join("steps.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .collect()
}

/// The connections opened during one step of the lab.
fn conns_in_step<'a>(conns: &'a [Value], lab: &Lab, step: &str) -> Vec<&'a Value> {
    let (_, t0, t1) = steps(lab)
        .into_iter()
        .find(|s| s.0 == step)
        .expect("step ran");
    conns
        .iter()
        .filter(|c| {
            let t = c["first_ts"].as_f64().unwrap();
            t >= t0 - 0.05 && t <= t1 + 0.05
        })
        .collect()
}

fn each_lookup_names_its_connection(lab: &Lab) {
    let conns = json_lines(&["conns"], &lab.pcap());
    let http = json_lines(&["http"], &lab.pcap());
    let mut checked = 0;
    for h in &http {
        let host = h["host"].as_str().unwrap_or("");
        if host.is_empty() || host.parse::<std::net::IpAddr>().is_ok() {
            continue;
        }
        let c = conns
            .iter()
            .find(|c| c["id"] == h["conn"])
            .expect("conn of the request");
        assert_eq!(
            c["name"]["source"], "dns",
            "conn {} for {host} named by a lookup: {c}",
            c["id"]
        );
        assert_eq!(c["name"]["qname"], host, "conn {} named {host}", c["id"]);
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} named connections");
    // The CNAME chain static → cdn → media is followed.
    let css = conns_in_step(&conns, lab, "chunked");
    let tcp = css
        .iter()
        .find(|c| c["proto"] == "tcp")
        .expect("tcp conn in the chunked step");
    let chain: Vec<&str> = tcp["name"]["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(chain, ["cdn.lab.glasscom.com", "media.lab.glasscom.com"]);
    // By address: no lookup.
    let by_ip = conns_in_step(&conns, lab, "nolookup");
    let tcp = by_ip.iter().find(|c| c["proto"] == "tcp").unwrap();
    assert!(tcp["name"].is_null(), "{tcp}");
}

fn every_request_is_paired_and_closes_are_told_right(lab: &Lab) {
    let http = json_lines(&["http"], &lab.pcap());
    assert!(http.len() >= 10, "{} exchanges", http.len());
    for h in &http {
        assert!(h["status"].is_u64(), "request without response: {h}");
        assert_eq!(h["partial"], false, "{h}");
    }
    let redirect = http
        .iter()
        .find(|h| h["status"] == 301)
        .expect("the redirect");
    assert_eq!(redirect["uri"], "/old/");
    let chunked = http
        .iter()
        .find(|h| h["uri"] == "/static/site.css")
        .unwrap();
    assert_eq!(chunked["transfer"], "chunked");
    assert_eq!(chunked["content_encoding"], "gzip");
    let post = http.iter().find(|h| h["method"] == "POST").unwrap();
    assert_eq!(post["status"], 201);

    let conns = json_lines(&["conns"], &lab.pcap());
    let tcp_of = |step: &str| -> Value {
        (*conns_in_step(&conns, lab, step)
            .into_iter()
            .find(|c| c["proto"] == "tcp" && c["server"]["port"] != 53)
            .unwrap())
        .clone()
    };
    // Who closed first, checked against the packets themselves: the first FIN or RST
    // of each TCP connection and which side sent it. (Who closes first in the HTTP/1.0
    // step is a race between nginx's close and curl's, so the packets are the truth.)
    let packets = json_lines(&["packets"], &lab.pcap());
    let mut checked = 0;
    for c in conns.iter().filter(|c| c["proto"] == "tcp") {
        let first_close = packets.iter().find(|p| {
            p["conn"] == c["id"] && {
                let info = p["info"].as_str().unwrap();
                info.contains("[FIN")
                    || info.contains("[RST")
                    || info.contains(", FIN")
                    || info.contains(", RST")
            }
        });
        let Some(p) = first_close else { continue };
        let by = if p["sport"] == c["client"]["port"] && p["src"] == c["client"]["ip"] {
            "client"
        } else {
            "server"
        };
        assert_eq!(
            c["close"]["by"], by,
            "conn {}: first FIN/RST is frame {}",
            c["id"], p["n"]
        );
        checked += 1;
    }
    assert!(checked >= 12, "{checked} closes checked");
    assert_eq!(
        tcp_of("keepalive")["close"]["by"],
        "client",
        "curl closes its keep-alive connection"
    );
    let refused = tcp_of("refused");
    assert_eq!(refused["state"], "REJ");
    assert_eq!(refused["close"]["how"], "rst");
    assert_eq!(refused["close"]["by"], "server");
    // Two parallel connections to one server in the parallel step.
    let par: Vec<_> = conns_in_step(&conns, lab, "parallel")
        .into_iter()
        .filter(|c| c["proto"] == "tcp")
        .collect();
    assert_eq!(par.len(), 2, "{par:?}");
}

fn dns_nxdomain_and_tc_retry(lab: &Lab) {
    let dns = json_lines(&["dns"], &lab.pcap());
    assert!(dns
        .iter()
        .any(|t| t["qname"] == "nope.lab.glasscom.com" && t["rcode"] == "NXDOMAIN"));
    let tc = dns
        .iter()
        .find(|t| {
            t["qname"] == "many.lab.glasscom.com"
                && t["transport"] == "udp"
                && t["flags"]["tc"] == true
                && t["qtype"] == "A"
        })
        .expect("truncated UDP answer");
    let retry = dns
        .iter()
        .find(|t| t["transport"] == "tcp" && t["tc_retry_of"] == tc["seq"])
        .expect("the TCP retry linked to it");
    assert_eq!(retry["answers"].as_array().unwrap().len(), 40);
    let story = json_lines(&["story"], &lab.pcap());
    assert!(story
        .iter()
        .any(|e| e["kind"] == "dns_answer" && e["text"].as_str().unwrap().contains("NXDOMAIN")));
    assert!(story.iter().any(|e| e["kind"] == "refused"));
}

/// Live and offline tell the same story for the same packets.
fn live_story_equals_the_story_of_the_saved_file(lab: &Lab) {
    let key = |e: &Value| {
        (
            format!("{:.6}", e["ts"].as_f64().unwrap()),
            e["kind"].as_str().unwrap().to_string(),
            e["conn"].as_u64(),
            e["text"].as_str().unwrap().to_string(),
        )
    };
    let live: BTreeSet<_> = std::fs::read_to_string(lab.dir.path().join("live-story.jsonl"))
        .unwrap()
        .lines()
        .map(|l| key(&serde_json::from_str(l).unwrap()))
        .collect();
    let offline: BTreeSet<_> = json_lines(&["story"], &lab.pcap())
        .iter()
        .map(key)
        .collect();
    assert!(offline.len() > 30);
    let only_live: Vec<_> = live.difference(&offline).collect();
    let only_offline: Vec<_> = offline.difference(&live).collect();
    assert!(
        only_live.is_empty() && only_offline.is_empty(),
        "live only: {only_live:#?}\noffline only: {only_offline:#?}"
    );
}

#[test]
fn the_lab_tells_the_story_of_what_it_did() {
    let lab = lab();
    each_lookup_names_its_connection(lab);
    every_request_is_paired_and_closes_are_told_right(lab);
    dns_nxdomain_and_tc_retry(lab);
    live_story_equals_the_story_of_the_saved_file(lab);
}
