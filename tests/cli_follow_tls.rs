//! `wiretale follow` on TLS: the decrypted conversation of the lab's key-logged captures
//! (`tests/data/tls`), checked against tshark's follow of the same streams
//! (`truth/*.follow-http2-0-1.txt`: `-z follow,http2,ascii,0,1`; `truth/*.follow-tls-0.txt`:
//! `-z follow,tls,ascii,0`, both from `make-truth.sh`), the bundled page load with its keys
//! in a pcapng Decryption Secrets Block, and the cases without (good) keys.

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

fn bundled() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures/lab-https-page.pcapng")
}

fn run(args: &[&str], file: &PathBuf, keys: Option<&str>) -> Output {
    let mut c = Command::new(bin());
    c.args(args).arg(file);
    if let Some(k) = keys {
        c.arg("--tls-keylog").arg(data(k));
    }
    c.output().unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "{o:?}");
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// The id (`conns` numbering) of the TCP connection from client port `port`.
fn conn_of(file: &PathBuf, port: u64) -> String {
    let o = run(&["conns", "--json"], file, None);
    for l in stdout(&o).lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        if v["proto"] == "tcp" && v["client"]["port"] == port {
            return v["id"].to_string();
        }
    }
    panic!("no connection from port {port} in {}", file.display())
}

/// One block of a tshark follow: who sent it (`true` = node 0, written without a tab)
/// and its bytes (tshark's ascii: non-printable bytes as `.`).
struct Block {
    node0: bool,
    bytes: Vec<u8>,
}

/// Parses tshark's `-z follow,…,ascii` output: the node lines, then blocks of a length
/// line (tab-indented for node 1) and exactly that many bytes.
fn tshark_follow(path: &str) -> (String, Vec<Block>) {
    let b = std::fs::read(data(path)).unwrap();
    let text_start = b
        .windows(8)
        .position(|w| w == b"Node 1: ")
        .expect("node lines");
    let head = String::from_utf8_lossy(&b[..text_start]).to_string();
    let node0 = head
        .lines()
        .find_map(|l| l.strip_prefix("Node 0: "))
        .unwrap()
        .to_string();
    let mut pos = text_start + b[text_start..].iter().position(|&c| c == b'\n').unwrap() + 1;
    let mut blocks = Vec::new();
    while pos < b.len() && !b[pos..].starts_with(b"====") {
        let tab = b[pos] == b'\t';
        if tab {
            pos += 1;
        }
        let nl = pos + b[pos..].iter().position(|&c| c == b'\n').unwrap();
        let n: usize = std::str::from_utf8(&b[pos..nl]).unwrap().parse().unwrap();
        blocks.push(Block {
            node0: !tab,
            bytes: b[nl + 1..nl + 1 + n].to_vec(),
        });
        pos = nl + 1 + n + 1;
    }
    (node0, blocks)
}

/// As tshark's ascii follow prints bytes (a tab too becomes `.`).
fn ascii(b: &[u8]) -> Vec<u8> {
    b.iter()
        .map(|&c| {
            if (0x20..0x7f).contains(&c) || matches!(c, b'\n' | b'\r') {
                c
            } else {
                b'.'
            }
        })
        .collect()
}

/// HTTP/2 stream 1 of the first TCP connection, frame by frame, against tshark's
/// follow: the same frames in the same order each way; DATA and other frames of the
/// same length (tshark counts the 9-byte frame header), every decoded header name and
/// value in tshark's header block.
fn check_h2_stream_1(file: &PathBuf, truth: &str, keys: Option<&str>) {
    let (node0, blocks) = tshark_follow(truth);
    let port: u64 = node0.rsplit(':').next().unwrap().parse().unwrap();
    let conn = conn_of(file, port);
    let o = run(
        &["follow", "--json", "--conn", &conn, "--stream", "1"],
        file,
        keys,
    );
    let frames: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v.get("type").is_some())
        .collect();
    assert_eq!(
        frames.len(),
        blocks.len(),
        "{truth}: frames {:?}",
        frames.iter().map(|f| f["type"].clone()).collect::<Vec<_>>()
    );
    for (i, (f, b)) in frames.iter().zip(&blocks).enumerate() {
        assert_eq!(f["stream"], 1);
        assert_eq!(f["dir"] == "client", b.node0, "{truth}: frame {i}: {f}");
        if f["type"] == "HEADERS" {
            let shown = String::from_utf8_lossy(&b.bytes).to_string();
            let headers = f["headers"].as_array().unwrap();
            assert!(!headers.is_empty(), "{f}");
            for h in headers {
                for part in h.as_array().unwrap() {
                    let s = part.as_str().unwrap();
                    assert!(
                        shown.contains(s),
                        "{truth}: {s:?} not in tshark's {shown:?}"
                    );
                }
            }
        } else {
            assert_eq!(
                f["len"].as_u64().unwrap() + 9,
                b.bytes.len() as u64,
                "{truth}: frame {i}: {f}"
            );
            if f["type"] == "DATA" {
                assert!(f["text"].is_string());
            }
        }
    }
}

#[test]
fn h2_stream_1_matches_tshark_with_key_logs() {
    for case in [
        "tls13-h2-curl",
        "tls13-aes128",
        "tls13-aes256",
        "tls13-chacha",
        "tls12-gcm",
        "tls12-chacha",
        "chromium-page",
    ] {
        check_h2_stream_1(
            &data(&format!("{case}.pcapng")),
            &format!("truth/{case}.follow-http2-0-1.txt"),
            Some(&format!("{case}.keys")),
        );
    }
}

#[test]
fn the_bundled_page_load_decrypts_with_its_own_dsb_keys() {
    check_h2_stream_1(
        &bundled(),
        "truth/lab-https-page.follow-http2-0-1.txt",
        None,
    );
    // And in text, as the README shows it.
    let conn = conn_of(&bundled(), 49288);
    let o = run(
        &["follow", "--conn", &conn, "--stream", "1"],
        &bundled(),
        None,
    );
    let text = stdout(&o);
    for want in [
        "TLS handshake: ClientHello",
        "TLS handshake (decrypted): EncryptedExtensions, Certificate, CertificateVerify, Finished",
        "[stream 1] HEADERS END_STREAM END_HEADERS",
        ":path: /page.html",
        ":status: 200",
        "[stream 1] DATA END_STREAM  304 bytes",
        "[stream 1 body: text/html, 479 bytes decoded from 304 bytes of gzip:]",
        "<h1>How networks connect, privately</h1>",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    assert!(!text.contains("[stream 3]"), "--stream 1 only");
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

/// HTTP/1.1 over TLS: the decrypted bytes each way are tshark's (`follow,tls`), byte
/// for byte in its ascii rendering; the text view reads as the cleartext one does.
#[test]
fn h1_over_tls_is_tsharks_plaintext() {
    let file = data("tls13-h1-curl.pcapng");
    let keys = Some("tls13-h1-curl.keys");
    let (_, blocks) = tshark_follow("truth/tls13-h1-curl.follow-tls-0.txt");
    let side = |node0: bool| -> Vec<u8> {
        blocks
            .iter()
            .filter(|b| b.node0 == node0)
            .flat_map(|b| b.bytes.clone())
            .collect()
    };
    let mut theirs = [side(true), side(false)];
    theirs.sort();
    let conn = conn_of(&file, 47620);
    let raw = |s: &str| {
        let o = run(
            &["follow", "--raw", "--side", s, "--conn", &conn],
            &file,
            keys,
        );
        assert!(o.status.success());
        ascii(&o.stdout)
    };
    let mut ours = [raw("client"), raw("server")];
    assert!(ours[0].starts_with(b"GET /index.html HTTP/1.1\r\n"));
    ours.sort();
    assert_eq!(
        ours[0].len() + ours[1].len(),
        theirs[0].len() + theirs[1].len()
    );
    assert!(ours == theirs, "decrypted bytes differ from tshark's");

    let text = stdout(&run(&["follow", "--conn", &conn], &file, keys));
    for want in [
        "100 bytes decrypted\nGET /index.html HTTP/1.1\\r\\n\nHost: secure.lab.glasscom.com\\r\\n",
        "[PNG image, 32,563 bytes]",
        "TLS alert: warning close_notify",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
}

/// `--json`: plaintext turns in the documented shapes, keys in order; HTTP/2 frames
/// with headers; TLS facts as notes.
#[test]
fn json_turns_carry_the_plaintext() {
    let file = data("tls13-h1-curl.pcapng");
    let conn = conn_of(&file, 47620);
    let o = run(
        &["follow", "--json", "--conn", &conn],
        &file,
        Some("tls13-h1-curl.keys"),
    );
    let out = stdout(&o);
    let mut data_turns = 0;
    let mut notes = 0;
    for l in out.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        // serde_json's map is sorted: the line is already in key order.
        assert_eq!(serde_json::to_string(&v).unwrap(), l);
        if v.get("text").is_some() {
            data_turns += 1;
        }
        if v.get("note").is_some() {
            notes += 1;
        }
    }
    assert_eq!(data_turns, 4, "{out}");
    assert!(notes >= 4, "{out}");
    assert!(out.contains(r#""text":"GET /index.html HTTP/1.1\r\nHost: secure.lab.glasscom.com"#));

    let file = data("tls13-h2-curl.pcapng");
    let conn = conn_of(&file, 47760);
    let o = run(
        &["follow", "--json", "--conn", &conn],
        &file,
        Some("tls13-h2-curl.keys"),
    );
    let out = stdout(&o);
    let posts: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["stream"] == 11)
        .collect();
    // The server answered (201, `{"ok":true}`) before the client's body frame came.
    let kinds: Vec<String> = posts
        .iter()
        .map(|v| {
            format!(
                "{} {}",
                v["dir"].as_str().unwrap(),
                v["type"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "client HEADERS",
            "server HEADERS",
            "server DATA",
            "server RST_STREAM",
            "client DATA"
        ]
    );
    assert!(posts[0]["headers"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!([":method", "POST"])));
    assert_eq!(posts[2]["text"], "{\"ok\":true}\n");
    assert_eq!(posts[4]["text"], "name=lab");
}

/// `--raw` and `--hex` show TLS plaintext: for h2 the client's starts with the preface.
#[test]
fn raw_and_hex_are_tls_plaintext() {
    let file = data("tls13-h2-curl.pcapng");
    let conn = conn_of(&file, 47760);
    let keys = Some("tls13-h2-curl.keys");
    let o = run(
        &["follow", "--raw", "--side", "client", "--conn", &conn],
        &file,
        keys,
    );
    assert!(o.status.success());
    assert!(o.stdout.starts_with(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
    let hex = stdout(&run(&["follow", "--hex", "--conn", &conn], &file, keys));
    assert!(
        hex.contains("bytes of TLS plaintext\n00000000  50 52 49 20 2a 20 48 54"),
        "{hex}"
    );
    assert!(hex.contains("TLS handshake: ClientHello"));
}

/// Without keys: today's ciphertext view, and one line on stderr saying how to decrypt.
/// With keys for other sessions: the same view, and the reason, once.
#[test]
fn without_good_keys_the_ciphertext_is_shown_and_said_once() {
    let file = data("tls13-h2-curl.pcapng");
    let conn = conn_of(&file, 47760);
    let none = run(&["follow", "--conn", &conn], &file, None);
    let other = run(
        &["follow", "--conn", &conn],
        &file,
        Some("tls13-h2-curl.other-sessions.keys"),
    );
    let text = stdout(&none);
    assert!(text.starts_with("── client → server  frame 8  +0.001762s  517 bytes\n\\x16\\x03\\x01"));
    assert!(!text.contains("decrypted"));
    assert_eq!(stdout(&other), text);
    let e = stderr(&none);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains("encrypted") && e.contains("--tls-keylog FILE"),
        "{e}"
    );
    let e = stderr(&other);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains("not decrypted (no keys for this session in the key log)"),
        "{e}"
    );
    // --stream needs HTTP/2 that can be read.
    let o = run(&["follow", "--conn", &conn, "--stream", "1"], &file, None);
    assert_eq!(o.status.code(), Some(1));
}

/// A key log missing the client's secrets: the server's side decrypts, the client's
/// records are counted as not decrypted, never shown.
#[test]
fn a_half_key_log_decrypts_one_side() {
    let file = data("tls13-h2-curl.pcapng");
    let conn = conn_of(&file, 47760);
    let text = stdout(&run(
        &["follow", "--conn", &conn],
        &file,
        Some("tls13-h2-curl.truncated.keys"),
    ));
    assert!(text.contains(":status: 200"));
    assert!(!text.contains(":method: GET"));
    assert!(
        text.contains(
            "── client → server  frame 14  +0.006443s  [12 TLS records not decrypted, 617 bytes"
        ),
        "{text}"
    );
}

/// A server segment lost in the middle of a record: the gap and the lost record are
/// marked where they happened; later client requests still decode; the image whose
/// bytes were lost is never shown as complete.
#[test]
fn a_lost_segment_is_marked_not_filled() {
    let file = data("tls13-h2-curl.lost-segment.pcapng");
    let conn = conn_of(&file, 47760);
    let text = stdout(&run(
        &["follow", "--conn", &conn],
        &file,
        Some("tls13-h2-curl.keys"),
    ));
    let at = |s: &str| {
        text.find(s)
            .unwrap_or_else(|| panic!("{s:?} not in:\n{text}"))
    };
    let gap = at("[1448 bytes missing from the capture]");
    let lost = at("[tls_record_lost: a ApplicationData record of 16401 bytes ending in frame 45");
    let post = at(":method: POST");
    assert!(gap < lost && lost < post);
    assert!(text.contains("HTTP/2 framing lost"));
    assert!(!text.contains("PNG image"));
}
