//! `wiretale follow` on QUIC: the HTTP/3 lab captures (`tests/data/quic/lab`, see its
//! README) followed with their key logs, stream by stream. Every request the server
//! logged (`NAME.h3.tsv`: stream id, method, path, status, response bytes) is one
//! request HEADERS, one response HEADERS and DATA frames of that many bytes in the
//! `--json` output of the connection it went over; the migrated connection is followed
//! whole under the id `conns` gives it; without keys one line says what the Initials
//! showed and how to give keys.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

use common::bin;
use serde_json::Value;

fn lab(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/quic/lab")
        .join(name)
}

fn run(args: &[&str]) -> Output {
    Command::new(bin()).args(args).output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{o:?}");
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn json_lines(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `conns --json` of a capture: (id, client port) of its UDP connections to port 443.
fn quic_conns(file: &str, keys: &str) -> Vec<(u64, u64)> {
    let o = run(&["conns", "--json", file, "--tls-keylog", keys]);
    json_lines(&ok(&o))
        .into_iter()
        .filter(|v| v["proto"] == "udp" && v["server"]["port"] == 443)
        .map(|v| {
            (
                v["id"].as_u64().unwrap(),
                v["client"]["port"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// A request as the server logged it: stream, method, path, status, response bytes.
type Req = (u64, String, String, String, u64);

/// The requests of one followed connection's `--json` output.
fn requests(lines: &[Value]) -> Vec<Req> {
    #[derive(Default)]
    struct S {
        method: String,
        path: String,
        status: String,
        bytes: u64,
    }
    let mut by: BTreeMap<u64, S> = BTreeMap::new();
    for v in lines {
        let Some(stream) = v["stream"].as_u64() else {
            continue;
        };
        // Client-initiated bidirectional streams carry requests (RFC 9000 §2.1).
        if stream & 3 != 0 {
            continue;
        }
        let s = by.entry(stream).or_default();
        match v["type"].as_str().unwrap() {
            "HEADERS" => {
                for h in v["headers"].as_array().into_iter().flatten() {
                    let (n, val) = (h[0].as_str().unwrap(), h[1].as_str().unwrap());
                    match n {
                        ":method" => s.method = val.into(),
                        ":path" => s.path = val.into(),
                        ":status" => s.status = val.into(),
                        _ => {}
                    }
                }
            }
            "DATA" if v["dir"] == "server" => {
                s.bytes += v["len"].as_u64().unwrap();
                assert!(v["text"].is_string(), "DATA without its bytes: {v}");
            }
            _ => {}
        }
    }
    by.into_iter()
        .map(|(id, s)| (id, s.method, s.path, s.status, s.bytes))
        .collect()
}

/// The server's log: requests per client port, in the order of the file.
fn truth(name: &str) -> Vec<(u64, Req)> {
    std::fs::read_to_string(lab(&format!("{name}.h3.tsv")))
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let port = f[0].rsplit(':').next().unwrap().parse().unwrap();
            (
                port,
                (
                    f[1].parse().unwrap(),
                    f[2].into(),
                    f[4].into(),
                    f[5].into(),
                    f[7].parse().unwrap(),
                ),
            )
        })
        .collect()
}

/// Follows every QUIC connection of `name` with its keys; each request logged by the
/// server is found in the connection it went over, and nothing else is.
fn check(name: &str) {
    let file = lab(&format!("{name}.pcapng"));
    let keys = lab(&format!("{name}.keys"));
    let (file, keys) = (file.to_str().unwrap(), keys.to_str().unwrap());
    let mut got: Vec<Req> = Vec::new();
    for (id, _) in quic_conns(file, keys) {
        let o = run(&[
            "follow",
            file,
            "--conn",
            &id.to_string(),
            "--tls-keylog",
            keys,
            "--json",
        ]);
        let lines = json_lines(&ok(&o));
        // The control streams' SETTINGS, both ways.
        for dir in ["client", "server"] {
            assert!(
                lines
                    .iter()
                    .any(|v| v["type"] == "SETTINGS" && v["dir"] == dir),
                "{name} conn {id}: no SETTINGS from the {dir}"
            );
        }
        got.extend(requests(&lines));
    }
    let mut want: Vec<Req> = truth(name).into_iter().map(|(_, r)| r).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "{name}");
}

#[test]
fn aioquic_h3_requests_equal_the_servers_log() {
    check("aioquic-h3");
}

#[test]
fn retry_keyupdate_and_v2_requests_equal_the_servers_log() {
    check("aioquic-retry");
    check("aioquic-keyupdate");
    check("aioquic-v2");
}

#[test]
fn chromium_requests_equal_the_servers_log() {
    check("chromium-h3");
    check("chromium-altsvc");
}

/// The client changed its connection ID, then its port: `conns` has one QUIC
/// connection, and following it (by that id) shows all four requests, those sent from
/// the second port included.
#[test]
fn migrated_connection_is_followed_whole() {
    let name = "aioquic-migrate";
    let file = lab(&format!("{name}.pcapng"));
    let keys = lab(&format!("{name}.keys"));
    let (file, keys) = (file.to_str().unwrap(), keys.to_str().unwrap());
    let conns = quic_conns(file, keys);
    assert_eq!(conns.len(), 1, "{conns:?}");
    let truth = truth(name);
    let ports: std::collections::BTreeSet<u64> = truth.iter().map(|(p, _)| *p).collect();
    assert_eq!(ports.len(), 2, "the lab's requests come from two ports");
    check(name);
    // The text output too: each path once as a request, on its stream.
    let o = run(&[
        "follow",
        file,
        "--conn",
        &conns[0].0.to_string(),
        "--tls-keylog",
        keys,
    ]);
    let text = ok(&o);
    for (_, (stream, method, path, _, _)) in &truth {
        assert!(
            text.contains(&format!("[stream {stream}] HEADERS {method} {path}")),
            "{path} missing:\n{text}"
        );
    }
    // Ids after the migrated connection stay those of `conns`: the DNS lookup before it
    // is connection 0, and asking for connection 2 is an error naming 0 to 1.
    let o = run(&["follow", file, "--conn", "2", "--tls-keylog", keys]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("its connections are 0 to 1"), "{err}");
}

/// `--stream N`: that stream's frames (and the connection's close) only; the text
/// shows the response body as text.
#[test]
fn stream_selects_one_stream() {
    let file = lab("aioquic-h3.pcapng");
    let keys = lab("aioquic-h3.keys");
    let (file, keys) = (file.to_str().unwrap(), keys.to_str().unwrap());
    let (id, _) = quic_conns(file, keys)[0];
    let args = |extra: &[&str]| {
        let mut v = vec![
            "follow".to_string(),
            file.into(),
            "--conn".into(),
            id.to_string(),
            "--tls-keylog".into(),
            keys.into(),
            "--stream".into(),
            "4".into(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let o = Command::new(bin())
        .args(args(&["--json"]))
        .output()
        .unwrap();
    let lines = json_lines(&ok(&o));
    assert!(lines.len() >= 3, "{lines:?}");
    for v in &lines {
        assert!(
            v["stream"] == 4
                || v["note"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("CONNECTION_CLOSE")),
            "{v}"
        );
    }
    let o = Command::new(bin()).args(args(&[])).output().unwrap();
    let text = ok(&o);
    assert!(
        text.contains("[stream 4] HEADERS GET /static/site.css"),
        "{text}"
    );
    assert!(text.contains("body{font-family:sans-serif}"), "{text}");
    assert!(!text.contains("[stream 0]"), "{text}");
}

/// Without keys: stdout is the datagrams as before, stderr says it is QUIC, what its
/// Initials showed, and that `--tls-keylog` decrypts; `--stream` is an error.
#[test]
fn without_keys_says_what_the_initials_showed() {
    let file = lab("aioquic-h3.pcapng");
    let keys = lab("aioquic-h3.keys");
    let (file, keys) = (file.to_str().unwrap(), keys.to_str().unwrap());
    let (id, _) = quic_conns(file, keys)[0];
    let id = id.to_string();
    let o = run(&["follow", file, "--conn", &id]);
    let out = ok(&o);
    assert!(out.starts_with("── client → server  frame"), "{out}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("connection {id} is QUIC v1")),
        "{err}"
    );
    assert!(err.contains("SNI quic.lab.glasscom.com"), "{err}");
    assert!(err.contains("ALPN h3"), "{err}");
    assert!(err.contains("--tls-keylog"), "{err}");
    let o = run(&["follow", file, "--conn", &id, "--stream", "0"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    // A key log without this connection's secrets says so.
    let other = lab("chromium-h3.keys");
    let o = run(&[
        "follow",
        file,
        "--conn",
        &id,
        "--tls-keylog",
        other.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("the key log has no secrets for it"), "{err}");
}

/// The bundled page load: keys in the file's Decryption Secrets Block decrypt it, the
/// TCP connections before it are still followed as TLS.
#[test]
fn bundled_h3_page_follows_with_its_dsb() {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures/lab-h3-page.pcapng");
    let file = file.to_str().unwrap();
    let o = run(&["conns", "--json", file]);
    let conns = json_lines(&ok(&o));
    let quic = conns
        .iter()
        .find(|v| v["proto"] == "udp" && v["server"]["port"] == 443)
        .unwrap()["id"]
        .to_string();
    let tcp = conns.iter().find(|v| v["proto"] == "tcp").unwrap()["id"].to_string();
    let text = ok(&run(&["follow", file, "--conn", &quic]));
    assert!(text.contains("HEADERS GET /dir1/img/photo.png"), "{text}");
    assert!(text.contains("[PNG image"), "{text}");
    let text = ok(&run(&["follow", file, "--conn", &tcp]));
    assert!(text.contains("TLS handshake: ClientHello"), "{text}");
}
