//! Lenient HTTP (issue 17 item 4) against Zeek's own logs: for each of Zeek's HTTP test
//! traces with malformed-but-real HTTP (tests/data/http-lenient, SOURCES.md there), the
//! exchanges `wiretale http --json` reports must agree with Zeek's baseline `http.log`
//! on method, host, uri, version, status and both body lengths, exchange by exchange
//! (matched by client port and position in the connection), except for the deliberate
//! differences listed in `DIFFS`, `ZEEK_ONLY` and `OURS_ONLY` below — each of which
//! must still occur, so the list stays true. Every malformed exchange must also carry
//! the anomaly that flags it.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use common::bin;
use serde_json::Value;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/http-lenient")
        .join(name)
}

fn run(cmd: &str, pcap: &str) -> Vec<Value> {
    common::json_lines([PathBuf::from(cmd), data(pcap)])
}

/// The rows of a Zeek TSV log, as field name → value.
fn zeek_rows(log: &str) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(data(&format!("zeek/{log}"))).unwrap();
    let mut fields: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(f) = line.strip_prefix("#fields\t") {
            fields = f.split('\t').map(str::to_string).collect();
        } else if !line.starts_with('#') && !line.is_empty() {
            rows.push(
                fields
                    .iter()
                    .cloned()
                    .zip(line.split('\t').map(str::to_string))
                    .collect(),
            );
        }
    }
    rows
}

/// Our value of a compared field, spelled as Zeek's log spells it.
fn ours(tx: &Value, field: &str) -> String {
    let s = |k: &str| match &tx[k] {
        Value::Null => "-".to_string(),
        Value::String(s) if s.is_empty() => "(empty)".to_string(),
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    match field {
        "method" | "host" | "uri" => s(field),
        "status_code" => s("status"),
        // Zeek's `version` is the reply's, set only when a status line was read.
        "version" => s("response_version")
            .trim_start_matches("HTTP/")
            .to_string(),
        "request_body_len" | "response_body_len" => s(field),
        _ => unreachable!("{field}"),
    }
}

const FIELDS: &[&str] = &[
    "method",
    "host",
    "uri",
    "version",
    "status_code",
    "request_body_len",
    "response_body_len",
];

/// (trace, client port, Zeek trans_depth, field, Zeek's value, ours, why).
type Diff = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

/// Where wiretale deliberately reads the trace differently from Zeek.
const DIFFS: &[Diff] = &[
    (
        "http_09.pcap",
        "42960",
        "1",
        "status_code",
        "0",
        "-",
        "an HTTP/0.9 response has no status line: no status, not 0",
    ),
    (
        "http_09.pcap",
        "42964",
        "1",
        "status_code",
        "0",
        "-",
        "an HTTP/0.9 response has no status line: no status, not 0",
    ),
    (
        "no-version.pcap",
        "1035",
        "1",
        "status_code",
        "0",
        "-",
        "an HTTP/0.9 response has no status line: no status, not 0",
    ),
    (
        "http-09-content-length-confusion.pcap",
        "46982",
        "2",
        "status_code",
        "0",
        "-",
        "an HTTP/0.9 response has no status line: no status, not 0",
    ),
    (
        "curl_http_09.pcap",
        "49404",
        "1",
        "response_body_len",
        "0",
        "51",
        "a headerless answer to an HTTP/1.1 request (what curl --http0.9 accepts) is the \
         body until close, flagged http_headerless_response; Zeek drops it",
    ),
];

/// Zeek rows wiretale does not report: (trace, client port, trans_depth, why).
const ZEEK_ONLY: &[(&str, &str, &str, &str)] = &[
    (
        "http_09.pcap",
        "42960",
        "2",
        "Zeek logs an empty second record when an HTTP/0.9 connection closes; there was \
         no second request",
    ),
    (
        "http_09.pcap",
        "42964",
        "2",
        "Zeek logs an empty second record when an HTTP/0.9 connection closes",
    ),
    (
        "no-version.pcap",
        "1035",
        "2",
        "Zeek logs an empty second record when an HTTP/0.9 connection closes",
    ),
];

/// Exchanges only wiretale reports: (trace, client port, seq, why).
const OURS_ONLY: &[(&str, &str, u64, &str)] = &[(
    "http-11-request-then-cruft.pcap",
    "51792",
    1,
    "the server's 400 to the bad request line `T / HTTP` is kept as a response without \
     request; Zeek stops analysing the connection at the bad line and drops it",
)];

/// Trace, Zeek http.log, and the anomalies our exchanges must carry (in connection
/// order; each list is a subset of that exchange's anomalies).
const CASES: &[(&str, &str, &[&[&str]])] = &[
    (
        "http_09.pcap",
        "http-09.http.log",
        &[&["http_09_request"], &["http_09_request"]],
    ),
    (
        "curl_http_09.pcap",
        "curl-http-09.http.log",
        &[&["http_headerless_response"]],
    ),
    (
        "http-09-content-length-confusion.pcap",
        "http-09-content-length-confusion.http.log",
        &[
            &["http_response_without_request", "http_cut_by_09_request"],
            &["http_09_request"],
        ],
    ),
    (
        "no-version.pcap",
        "no-version.http.log",
        &[&["http_09_request"]],
    ),
    (
        "http-lower-case.pcap",
        "http-lower-case.http.log.standard",
        &[&["http_lowercase_keyword"]],
    ),
    (
        // The same on port 1234: recognised by content, as Zeek's DPD does.
        "http-lower-case-nonstandard-port.pcap",
        "http-lower-case.http.log.nonstandard",
        &[&["http_lowercase_keyword"]],
    ),
    (
        "http-bad-request-with-version.pcap",
        "http-bad-request-with-version.http.log",
        &[&["http_response_without_request"]],
    ),
    (
        "connect-with-smtp.pcap",
        "http-connect.http.log",
        &[&["http_request_line_extra", "http_bad_header_line"]],
    ),
    (
        "connect-with-header.pcap",
        "http-connect-with-header.http.log",
        &[&[]],
    ),
    (
        "version-mismatch.pcap",
        "version-mismatch.http.log",
        &[&[], &[]],
    ),
    (
        "http-11-request-then-cruft.pcap",
        "http-11-request-then-cruft.http.log",
        &[&[], &["http_response_without_request"]],
    ),
    ("no-uri.pcap", "no-uri.http.log", &[&["http_missing_uri"]]),
];

#[test]
fn exchanges_agree_with_zeek_but_for_the_listed_differences() {
    let mut used_diffs = vec![false; DIFFS.len()];
    let mut used_zeek_only = vec![false; ZEEK_ONLY.len()];
    let mut used_ours_only = vec![false; OURS_ONLY.len()];
    let mut compared = 0;
    for &(pcap, log, flags) in CASES {
        let http = run("http", pcap);
        let conns = run("conns", pcap);
        let port_of = |conn: &Value| -> String {
            let c = conns.iter().find(|c| c["id"] == *conn).unwrap();
            c["client"]["port"].to_string()
        };
        // Our exchanges by (client port, seq).
        let mut mine: BTreeMap<(String, u64), &Value> = BTreeMap::new();
        for tx in &http {
            mine.insert((port_of(&tx["conn"]), tx["seq"].as_u64().unwrap()), tx);
        }
        let mut matched = Vec::new();
        for row in zeek_rows(log) {
            let port = row["id.orig_p"].clone();
            let depth = row["trans_depth"].clone();
            if let Some(i) = ZEEK_ONLY
                .iter()
                .position(|z| z.0 == pcap && z.1 == port && z.2 == depth)
            {
                used_zeek_only[i] = true;
                continue;
            }
            let seq = depth.parse::<u64>().unwrap() - 1;
            let tx = mine
                .get(&(port.clone(), seq))
                .unwrap_or_else(|| panic!("{pcap}: no exchange for Zeek's {port}/{depth}"));
            matched.push((port.clone(), seq));
            for &f in FIELDS {
                let (z, o) = (row[f].as_str(), ours(tx, f));
                let listed = DIFFS.iter().position(|d| {
                    d.0 == pcap && d.1 == port && d.2 == depth && d.3 == f && d.4 == z
                });
                match listed {
                    Some(i) => {
                        assert_eq!(
                            o, DIFFS[i].5,
                            "{pcap} {port}/{depth} {f}: listed difference"
                        );
                        used_diffs[i] = true;
                    }
                    None => assert_eq!(o, z, "{pcap} {port}/{depth} {f}: ours vs Zeek"),
                }
                compared += 1;
            }
        }
        for (key, tx) in &mine {
            if matched.contains(key) {
                continue;
            }
            let i = OURS_ONLY
                .iter()
                .position(|o| o.0 == pcap && o.1 == key.0 && o.2 == key.1)
                .unwrap_or_else(|| panic!("{pcap}: exchange {key:?} not in Zeek's log: {tx}"));
            used_ours_only[i] = true;
        }
        // Each exchange carries the anomalies that flag it, in connection order.
        assert_eq!(http.len(), flags.len(), "{pcap}: exchanges {http:#?}");
        for (tx, want) in http.iter().zip(flags) {
            let got: Vec<&str> = tx["anomalies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            for w in *want {
                assert!(
                    got.contains(w),
                    "{pcap} seq {}: {w} not in {got:?}",
                    tx["seq"]
                );
            }
        }
    }
    assert!(
        used_diffs.iter().all(|&u| u),
        "a listed difference no longer occurs"
    );
    assert!(
        used_zeek_only.iter().all(|&u| u),
        "a Zeek-only row is now reported"
    );
    assert!(
        used_ours_only.iter().all(|&u| u),
        "an extra exchange is gone"
    );
    assert!(compared >= 80, "only {compared} fields compared");
}

/// The CONNECT tunnels: bytes each way after the 2xx (retransmissions counted once;
/// tshark's per-direction payload totals minus the HTTP heads and the retransmitted
/// segments), and what they carried — Zeek's smtp.log and tunnel.log for the same
/// traces confirm SMTP and a TLS tunnel to secure.newegg.com.
#[test]
fn connect_tunnels_say_what_they_carried() {
    let smtp = run("http", "connect-with-smtp.pcap");
    let t = &smtp[0]["tunnel"];
    assert_eq!(t["protocol"], "smtp");
    assert_eq!(
        t["banner"],
        "220 mailin03.sul.t-online.de T-Online ESMTP receiver fssmtpd ready."
    );
    // Client: 1685 payload bytes − 103 of CONNECT. Server: 292 − 39 (the 200) − 69 (the
    // banner, retransmitted in frame 9).
    assert_eq!(
        (t["bytes_to_server"].as_u64(), t["bytes_to_client"].as_u64()),
        (Some(1582), Some(184))
    );
    let zeek_smtp = zeek_rows("http-connect.smtp.log");
    assert_eq!(zeek_smtp[0]["id.orig_p"], "3378");

    let tls = run("http", "connect-with-header.pcap");
    let t = &tls[0]["tunnel"];
    assert_eq!(t["protocol"], "tls");
    assert_eq!(t["sni"], "secure.newegg.com");
    assert_eq!(
        (t["bytes_to_server"].as_u64(), t["bytes_to_client"].as_u64()),
        (Some(3644 - 221), Some(55499 - 74))
    );
    let zeek_tunnel = zeek_rows("http-connect-with-header.tunnel.log");
    assert_eq!(zeek_tunnel[0]["tunnel_type"], "Tunnel::HTTP");

    // Exchanges that are not CONNECT carry no `tunnel` key at all (outputs of other
    // captures stay byte-identical).
    assert!(run("http", "no-uri.pcap")[0].get("tunnel").is_none());
}

/// The story says what an HTTP/0.9 exchange and a tunnel were.
#[test]
fn story_narrates_09_and_tunnels() {
    let story = |pcap: &str| {
        let out = Command::new(bin())
            .arg("story")
            .arg(data(pcap))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let s = story("http_09.pcap");
    assert!(
        s.contains("GET /zeek.html (#0) → HTTP/0.9 response (no status line) 51 B"),
        "{s}"
    );
    let s = story("curl_http_09.pcap");
    assert!(
        s.contains("→ response without status line or headers 51 B"),
        "{s}"
    );
    let s = story("connect-with-header.pcap");
    assert!(
        s.contains("story 1: request CONNECT secure.newegg.com:443 "),
        "{s}"
    );
    assert!(
        s.contains("· tunnel: tls to secure.newegg.com, 3,423 B up, 55,425 B down"),
        "{s}"
    );
}
