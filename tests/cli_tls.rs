//! HTTPS through the binary: the lab's key-logged captures (`tests/data/tls`, made by
//! `tests/lab/https-captures.sh`) decrypted with `--tls-keylog`, checked against tshark's
//! decrypted view (`tests/data/tls/truth`, made by `tests/data/tls/make-truth.sh`); the
//! bundled page load with its keys in a pcapng Decryption Secrets Block; and bad key logs.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::bin;
use serde_json::Value;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tls")
        .join(name)
}

fn run(args: &[&str], capture: &str, keys: Option<&str>) -> Output {
    let mut c = Command::new(bin());
    c.args(args).arg(data(&format!("{capture}.pcapng")));
    if let Some(k) = keys {
        c.arg("--tls-keylog").arg(data(k));
    }
    c.output().unwrap()
}

fn json_lines(o: &Output) -> Vec<Value> {
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The requests tshark decrypted, as sorted "METHOD path" and statuses, from the HTTP/2
/// (`http2.tsv`: lists per packet) or HTTP/1 (`http.tsv`) truth.
fn truth(capture: &str, h2: bool) -> (Vec<String>, Vec<String>) {
    let file = if h2 { "http2" } else { "http" };
    let text = std::fs::read_to_string(data(&format!("truth/{capture}.{file}.tsv"))).unwrap();
    let (mut reqs, mut statuses) = (Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let c: Vec<&str> = line.split('\t').collect();
        let list = |i: usize| -> Vec<String> {
            c.get(i)
                .map_or("", |s| s)
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let (m, p, s) = if h2 { (8, 9, 10) } else { (4, 5, 7) };
        for (method, path) in list(m).iter().zip(list(p)) {
            reqs.push(format!("{method} {path}"));
        }
        statuses.extend(list(s));
    }
    reqs.sort();
    statuses.sort();
    (reqs, statuses)
}

fn ours(records: &[Value], version: &str) -> (Vec<String>, Vec<String>) {
    let (mut reqs, mut statuses) = (Vec::new(), Vec::new());
    for r in records {
        assert_eq!(r["version"], version, "{r}");
        assert_eq!(r["stream"].is_null(), version != "HTTP/2", "{r}");
        reqs.push(format!(
            "{} {}",
            r["method"].as_str().unwrap(),
            r["uri"].as_str().unwrap()
        ));
        statuses.push(r["status"].as_u64().unwrap().to_string());
    }
    reqs.sort();
    statuses.sort();
    (reqs, statuses)
}

#[test]
fn decrypted_exchanges_match_tshark_for_every_suite_and_version() {
    let h2 = [
        "tls13-h2-curl",
        "tls13-aes128",
        "tls13-aes256",
        "tls13-chacha",
        "tls12-gcm",
        "tls12-chacha",
        "chromium-page",
        // A HelloRetryRequest with the middlebox-compat CCS from both sides (RFC 8446
        // §4.1.4, §D.4): the keys are the log's, the session must not stall on the CCS.
        "hrr",
    ];
    // tls12-cbc: AES-128-CBC with HMAC-SHA256 and encrypt_then_mac (RFC 7366).
    let h1 = ["tls13-h1-curl", "resumed", "tls12-resumed", "tls12-cbc"];
    for (captures, is_h2, version) in [(&h2[..], true, "HTTP/2"), (&h1[..], false, "HTTP/1.1")] {
        for c in captures {
            let o = run(&["http", "--json"], c, Some(&format!("{c}.keys")));
            assert!(
                o.status.success(),
                "{c}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let want = truth(c, is_h2);
            assert!(!want.0.is_empty(), "{c}: empty truth");
            assert_eq!(ours(&json_lines(&o), version), want, "{c}");
        }
    }
}

#[test]
fn connections_say_what_was_negotiated_and_whether_they_were_decrypted() {
    let with = json_lines(&run(
        &["conns", "--json"],
        "tls12-gcm",
        Some("tls12-gcm.keys"),
    ));
    let tls: Vec<&Value> = with
        .iter()
        .filter_map(|c| c.get("tls").filter(|t| !t.is_null()))
        .collect();
    assert!(!tls.is_empty());
    for t in &tls {
        assert_eq!(t["version"], "TLS 1.2");
        assert!(t["cipher"].as_str().unwrap().contains("AES_128_GCM"), "{t}");
        assert_eq!(t["decrypted"], true);
        assert!(!t["certificates"].as_array().unwrap().is_empty(), "{t}");
    }
    let without = json_lines(&run(&["conns", "--json"], "tls12-gcm", None));
    for c in without.iter().filter(|c| !c["tls"].is_null()) {
        assert_eq!(c["tls"]["decrypted"], false);
        assert_eq!(c["tls"]["not_decrypted"], "no key log");
    }
    // Without keys there are no exchanges to invent.
    assert!(json_lines(&run(&["http", "--json"], "tls12-gcm", None)).is_empty());
    // The story says the exchange is encrypted and how to read it.
    let story = String::from_utf8(run(&["story"], "tls12-gcm", None).stdout).unwrap();
    assert!(
        story.contains("· encrypted (") && story.contains("--tls-keylog FILE decrypts"),
        "{story}"
    );
    let story =
        String::from_utf8(run(&["story"], "tls12-gcm", Some("tls12-gcm.keys")).stdout).unwrap();
    assert!(!story.contains("· encrypted ("), "{story}");
}

#[test]
fn the_bundled_page_load_decrypts_with_the_keys_it_carries() {
    let o = Command::new(bin())
        .arg("story")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures/lab-https-page.pcapng"))
        .output()
        .unwrap();
    let story = String::from_utf8(o.stdout).unwrap();
    assert!(
        story.contains("page load https://secure.lab.glasscom.com/page.html"),
        "{story}"
    );
    assert!(
        story.contains("GET /page.html (#26 stream 1, h2) → 200"),
        "{story}"
    );
    assert!(story.contains("TLS 1.3 handshake "), "{story}");
    assert!(
        story.contains(", h2 · SNI secure.lab.glasscom.com"),
        "{story}"
    );
}

#[test]
fn bad_key_logs_warn_skip_or_fail_in_one_line_and_never_print_secrets() {
    let secrets: Vec<String> = std::fs::read_to_string(data("tls13-h2-curl.keys"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2).map(str::to_string))
        .collect();
    // A line that does not parse: a warning naming it, and the rest still decrypts.
    let o = run(
        &["http", "--json"],
        "tls13-h2-curl",
        Some("tls13-h2-curl.bad-line.keys"),
    );
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(err.contains("key log line 3"), "{err}");
    assert_eq!(json_lines(&o).len(), 6);
    // Keys of other sessions only: nothing decrypted, and no garbage either.
    let o = run(
        &["http", "--json"],
        "tls13-h2-curl",
        Some("tls13-h2-curl.other-sessions.keys"),
    );
    assert!(json_lines(&o).is_empty());
    let c = json_lines(&run(
        &["conns", "--json"],
        "tls13-h2-curl",
        Some("tls13-h2-curl.other-sessions.keys"),
    ));
    assert!(c
        .iter()
        .any(|c| c["tls"]["decrypted"] == false && !c["tls"]["not_decrypted"].is_null()));
    // A key log that is not there: one line, exit 1.
    let o = run(&["http"], "tls13-h2-curl", Some("no-such.keys"));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot read the TLS key log"), "{err}");
    // No output of any command shows a secret.
    for args in [
        &["conns", "--json"][..],
        &["story", "--json"],
        &["packets", "--json"],
    ] {
        let o = run(args, "tls13-h2-curl", Some("tls13-h2-curl.keys"));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        for s in &secrets {
            assert!(!all.contains(s.as_str()), "{args:?} printed a secret");
        }
    }
}

#[test]
fn ech_is_grease_where_the_session_shows_it_and_offered_otherwise() {
    // chromium-page: Chromium's GREASE ECH on all three connections (the lab's nginx has
    // no ECH). With keys, the two that carried requests are known GREASE; the unused
    // one and every connection without keys stay `offered`.
    let status = |keys: Option<&str>| -> Vec<(String, u64)> {
        json_lines(&run(&["conns", "--json"], "chromium-page", keys))
            .iter()
            .filter(|c| !c["tls"].is_null())
            .map(|c| {
                assert_eq!(c["tls"]["ech"], true, "{c}");
                (
                    c["tls"]["ech_status"].as_str().unwrap().to_string(),
                    c["tls"]["app_data"]["client"]["plaintext"]
                        .as_u64()
                        .unwrap(),
                )
            })
            .collect()
    };
    let with = status(Some("chromium-page.keys"));
    assert_eq!(with.len(), 3);
    for (s, plain) in &with {
        assert_eq!(s, if *plain > 0 { "grease" } else { "offered" });
    }
    assert_eq!(with.iter().filter(|(s, _)| s == "grease").count(), 2);
    assert!(status(None).iter().all(|(s, _)| s == "offered"));
    // No ECH extension: `ech` false and no `ech_status` key.
    for c in json_lines(&run(&["conns", "--json"], "tls13-h2-curl", None)) {
        if !c["tls"].is_null() {
            assert_eq!(c["tls"]["ech"], false);
            assert!(c["tls"].get("ech_status").is_none(), "{c}");
        }
    }
}

/// The packet list names the TLS records each packet completed as tshark 4.0.17 does
/// (`tshark -r F [-o tls.keylog_file:K]`, Info column, copied here): handshake messages
/// by name once decrypted, `Application Data` for what is not, alerts with their level
/// and description.
#[test]
fn packets_name_the_records_each_packet_completed_as_tshark() {
    let info = |capture: &str, keys: bool, frame: usize| -> String {
        let k = format!("{capture}.keys");
        let o = run(&["packets"], capture, keys.then_some(k.as_str()));
        let text = String::from_utf8(o.stdout).unwrap();
        let line = text.lines().nth(frame - 1).unwrap().to_string();
        assert!(
            line.trim_start().starts_with(&format!("{frame} ")),
            "{line}"
        );
        line
    };
    let cases: &[(&str, bool, usize, &str)] = &[
        (
            "tls13-h2-curl",
            true,
            10,
            "Server Hello, Change Cipher Spec, Encrypted Extensions",
        ),
        (
            "tls13-h2-curl",
            true,
            12,
            "Certificate, Certificate Verify, Finished",
        ),
        ("tls13-h2-curl", true, 14, "Change Cipher Spec, Finished"),
        ("tls13-h2-curl", true, 15, "New Session Ticket"),
        (
            "tls13-h2-curl",
            false,
            10,
            "Server Hello, Change Cipher Spec, Application Data",
        ),
        (
            "tls13-h2-curl",
            false,
            12,
            "Application Data, Application Data, Application Data",
        ),
        ("tls13-h2-curl", false, 20, "Application Data"),
        (
            "tls12-cbc",
            true,
            12,
            "Certificate, Server Key Exchange, Server Hello Done",
        ),
        (
            "tls12-cbc",
            true,
            14,
            "Client Key Exchange, Change Cipher Spec, Finished",
        ),
        (
            "tls12-cbc",
            true,
            22,
            "Alert (Level: Warning, Description: Close Notify)",
        ),
    ];
    for (capture, keys, frame, want) in cases {
        let line = info(capture, *keys, *frame);
        assert!(
            line.ends_with(want),
            "{capture} keys={keys} frame {frame}: {line}"
        );
    }
}
