//! The TUI's real source and the batch commands of the real binary agree on the same
//! file: every packet row against `wiretale packets`, the connection table against
//! `wiretale conns`, and each side of every TCP connection's follow against
//! `wiretale follow --raw`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use wiretale::tui::engine_source::EngineSource;
use wiretale::tui::source::{ListRows, Turn};
use wiretale::tui::DataSource;

fn run(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_wiretale"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run wiretale");
    assert!(out.status.success(), "wiretale {args:?} failed");
    out.stdout
}

fn source(rel: &str) -> EngineSource {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let mut s = EngineSource::open_file(&p).expect("open");
    assert!(s.wait_done(Duration::from_secs(30)));
    s
}

fn agree(rel: &str) {
    let s = source(rel);
    // `packets`: "{n:>6} {time:>11.6} {src:>15} → {dst:<15} {proto:<6} {len:>5} {info}".
    let text = String::from_utf8(run(&["packets", "--wide", rel])).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), s.packet_count(), "{rel}: packet count");
    for (i, line) in lines.iter().enumerate() {
        let r = s.packet_row(i);
        let (left, right) = line.split_once(" → ").expect("arrow");
        let l: Vec<&str> = left.split_whitespace().collect();
        assert_eq!(l[0], r.number.to_string(), "{rel} line {i}");
        assert_eq!(l[1], format!("{:.6}", r.time), "{rel} line {i}");
        assert_eq!(l.get(2).copied().unwrap_or(""), r.src, "{rel} line {i}");
        let mut rest = right.splitn(2, ' ');
        assert_eq!(rest.next(), Some(r.dst.as_str()), "{rel} line {i}");
        let rest = rest.next().unwrap_or("").trim_start();
        let (proto, rest) = rest.split_once(' ').expect("proto");
        assert_eq!(proto, r.proto, "{rel} line {i}");
        let rest = rest.trim_start();
        let (len, info) = rest.split_once(' ').unwrap_or((rest, ""));
        assert_eq!(len, r.len.to_string(), "{rel} line {i}");
        assert_eq!(info, r.info, "{rel} line {i}");
    }
    // `conns`: id, protocol, client, server, state, …, name.
    let text = String::from_utf8(run(&["conns", "--wide", rel])).expect("utf-8");
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| {
            l.trim_end_matches("  (orientation guessed)")
                .split_whitespace()
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), s.conns().len(), "{rel}: connections");
    for (cli, r) in rows.iter().zip(s.conns()) {
        assert_eq!(cli[0], r.id.to_string());
        assert_eq!(cli[1].to_uppercase(), r.proto);
        assert_eq!(cli[2], r.client.to_string());
        assert_eq!(cli[3], r.server.to_string());
        assert_eq!(cli[4], r.state);
        assert_eq!(cli[6], r.bytes_c2s.to_string());
        assert_eq!(cli[7], r.bytes_s2c.to_string());
        let name = cli.last().copied().unwrap_or("-");
        assert_eq!(name, r.name.as_deref().unwrap_or("-"), "conn {} name", r.id);
    }
    // `follow --raw`: each side's bytes, for every TCP connection.
    for c in s.conns().iter().filter(|c| c.proto == "TCP") {
        let turns = s.follow(c.id);
        for (side, c2s) in [("client", true), ("server", false)] {
            let want = run(&[
                "follow",
                rel,
                "--conn",
                &c.id.to_string(),
                "--raw",
                "--side",
                side,
            ]);
            let got: Vec<u8> = turns
                .iter()
                .filter_map(|t| match t {
                    Turn::Data { c2s: d, bytes, .. } if *d == c2s => Some(bytes.as_slice()),
                    _ => None,
                })
                .flatten()
                .copied()
                .collect();
            assert_eq!(got, want, "{rel} conn {} {side}", c.id);
        }
    }
}

#[test]
fn lab_page_agrees_with_the_batch_commands() {
    agree("captures/lab-page.pcap");
}

#[test]
fn lab_curl_agrees_with_the_batch_commands() {
    agree("captures/lab-curl.pcap");
}

#[test]
fn wikipedia_agrees_with_the_batch_commands() {
    let rel = "../shared/captures/zeek/wikipedia.pcap";
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(rel).exists(),
        "shared capture {rel} missing"
    );
    agree(rel);
}

/// `/` filters every view with the rules of `-Y` on the batch commands: the
/// Connections, DNS, HTTP and Story views show what `conns`, `dns`, `http` and `story`
/// print with the same expression.
#[test]
fn the_display_filter_limits_every_view_as_y_does() {
    filtered_views_agree(
        "captures/lab-page.pcap",
        &[
            "tcp.port == 80",
            "dns",
            "http.request.uri contains \"app.js\"",
            "ip.addr == 198.18.1.81 && tcp.flags.syn == 1",
            "dns.qry.name contains \"google\"",
            "conn.state == \"SF\" && udp",
            "frame.number > 1000",
        ],
    );
}

#[test]
fn the_display_filter_limits_every_view_as_y_does_on_other_captures() {
    for rel in [
        "captures/lab-curl.pcap",
        "../shared/captures/zeek/wikipedia.pcap",
    ] {
        filtered_views_agree(
            rel,
            &[
                "tcp.port == 80",
                "dns",
                "http",
                "tcp.flags.reset == 1",
                "udp && !dns",
                "http.response.code >= 300",
            ],
        );
    }
}

fn filtered_views_agree(rel: &str, exprs: &[&str]) {
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(rel).exists(),
        "capture {rel} missing"
    );
    let mut s = source(rel);
    let all_conns = s.conns().len();
    for &expr in exprs {
        s.apply_filter(expr).expect("filter compiles");
        // conns: the id column.
        let text = String::from_utf8(run(&["conns", rel, "-Y", expr])).unwrap();
        let want: Vec<String> = text
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect();
        let got: Vec<String> = s.conns().iter().map(|c| c.id.to_string()).collect();
        assert_eq!(got, want, "{rel}: conns -Y {expr}");
        assert!(got.len() <= all_conns);
        // dns: query (else response) frame, name and type of each transaction.
        let text = String::from_utf8(run(&["dns", rel, "--json", "-Y", expr])).unwrap();
        let mut want: Vec<(u64, String, String)> = text
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let n = v["query_frame"]
                    .as_u64()
                    .or(v["response_frame"].as_u64())
                    .unwrap_or(0);
                let q = v["qname"].as_str().unwrap_or("").to_string();
                (n, q, v["qtype"].as_str().unwrap_or("").to_string())
            })
            .collect();
        want.sort();
        let mut got: Vec<(u64, String, String)> = s
            .dns_rows()
            .iter()
            .map(|r| (r.number, r.qname.clone(), r.qtype.clone()))
            .collect();
        got.sort();
        assert_eq!(got, want, "{rel}: dns -Y {expr}");
        // http: connection, method, URI and status of each exchange.
        let text = String::from_utf8(run(&["http", rel, "--json", "-Y", expr])).unwrap();
        let mut want: Vec<(u64, String, String, Option<u64>)> = text
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    v["conn"].as_u64().unwrap_or(u64::MAX),
                    v["method"].as_str().unwrap_or("-").to_string(),
                    v["uri"].as_str().unwrap_or("").to_string(),
                    v["status"].as_u64(),
                )
            })
            .collect();
        want.sort();
        let mut got: Vec<(u64, String, String, Option<u64>)> = s
            .http_rows()
            .iter()
            .map(|r| {
                (
                    u64::from(r.conn),
                    r.method.clone(),
                    r.uri.clone(),
                    r.status.map(u64::from),
                )
            })
            .collect();
        got.sort();
        assert_eq!(got, want, "{rel}: http -Y {expr}");
        // story: every line, in order (the page header without its rule).
        let text = String::from_utf8(run(&["story", "--wide", rel, "-Y", expr])).unwrap();
        let want: Vec<String> = text
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| l.trim_start_matches("── ").trim().to_string())
            .collect();
        let mut got = Vec::new();
        fn flat(items: &[wiretale::tui::source::StoryItem], out: &mut Vec<String>) {
            for i in items {
                out.push(i.text.trim().to_string());
                flat(&i.children, out);
            }
        }
        flat(&s.story().to_items(), &mut got);
        assert_eq!(got, want, "{rel}: story -Y {expr}");
    }
    // Clearing the filter brings every list back.
    s.apply_filter("").unwrap();
    assert_eq!(s.conns().len(), all_conns);
}
