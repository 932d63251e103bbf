//! `export -w out.pcapng` carries the TLS keys of the exported connections in a
//! Decryption Secrets Block, through the real binary: the exported file decrypts on its
//! own (`story` and `http` without `--tls-keylog` show the requests), keys of connections
//! not exported are not written, and pcap output says once that it cannot carry keys.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::bin;
use wiretale::capture::FrameStore;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tls")
        .join(name)
}

fn wiretale(args: &[&str], paths: &[&Path]) -> Output {
    let mut c = Command::new(bin());
    c.args(args);
    for p in paths {
        c.arg(p);
    }
    c.output().unwrap()
}

fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// `export IN -Y FILTER -w OUT [--tls-keylog K]`; returns stderr.
fn export(input: &Path, filter: &str, out: &Path, keys: Option<&Path>) -> String {
    let mut c = Command::new(bin());
    c.arg("export")
        .arg(input)
        .args(["-Y", filter, "-w"])
        .arg(out);
    if let Some(k) = keys {
        c.arg("--tls-keylog").arg(k);
    }
    let o = c.output().unwrap();
    ok(&o);
    String::from_utf8(o.stderr).unwrap()
}

fn secrets_text(file: &Path) -> String {
    let mut st = FrameStore::open(file).unwrap();
    assert!(st.index_all().is_none());
    st.secrets()
        .iter()
        .map(|(_, s)| String::from_utf8(s.data.clone()).unwrap())
        .collect()
}

#[test]
fn an_exported_pcapng_decrypts_without_the_key_log() {
    let dir = tempfile::tempdir().unwrap();
    let cap = data("tls13-h2-curl.pcapng");
    let keys = data("tls13-h2-curl.keys");
    let out = dir.path().join("out.pcapng");
    let err = export(&cap, "frame", &out, Some(&keys));
    assert!(err.ends_with("with the TLS keys of 1 session\n"), "{err}");
    // Every line written is a line of the key log, and every session line is there.
    let text = secrets_text(&out);
    let log = std::fs::read_to_string(&keys).unwrap();
    assert!(text.lines().count() >= 4, "{text}");
    for l in text.lines() {
        assert!(log.lines().any(|k| k == l), "{l}");
    }
    // The story and the exchanges of the exported file alone are those of the input
    // with its key log.
    let story_out = ok(&wiretale(&["story"], &[&out]));
    let story_in = ok(&wiretale(&["story", "--tls-keylog"], &[&keys, &cap]));
    assert!(story_out.contains("GET /"), "{story_out}");
    assert!(story_out.contains("stream 1, h2"), "{story_out}");
    assert_eq!(story_out, story_in);
    let http_out = ok(&wiretale(&["http", "--json"], &[&out]));
    let http_in = ok(&wiretale(
        &["http", "--json", "--tls-keylog"],
        &[&keys, &cap],
    ));
    assert!(!http_out.is_empty());
    assert_eq!(http_out, http_in);
    // Without a key log and without secrets blocks in the input: nothing to write.
    let bare = dir.path().join("bare.pcapng");
    let err = export(&cap, "frame", &bare, None);
    assert!(!err.contains("TLS keys"), "{err}");
    assert!(secrets_text(&bare).is_empty());
    assert!(!ok(&wiretale(&["story"], &[&bare])).contains("GET /"));
}

/// Two sessions, one connection exported: only its session's keys are written. The
/// keys come from the input's own secrets block too (the bundled page load).
#[test]
fn keys_of_connections_not_exported_are_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let cap = data("resumed.pcapng");
    let keys = data("resumed.keys");
    let log = std::fs::read_to_string(&keys).unwrap();
    let randoms: std::collections::BTreeSet<&str> =
        log.lines().filter_map(|l| l.split(' ').nth(1)).collect();
    assert_eq!(randoms.len(), 2);
    let mut written = std::collections::BTreeSet::new();
    for (i, filter) in ["tcp.stream == 0", "tcp.stream == 1"].iter().enumerate() {
        let out = dir.path().join(format!("c{i}.pcapng"));
        let err = export(&cap, filter, &out, Some(&keys));
        assert!(err.ends_with("with the TLS keys of 1 session\n"), "{err}");
        let text = secrets_text(&out);
        let r: std::collections::BTreeSet<String> = text
            .lines()
            .map(|l| l.split(' ').nth(1).unwrap().to_string())
            .collect();
        assert_eq!(r.len(), 1, "{text}");
        written.extend(r);
        let http = ok(&wiretale(&["http", "--json"], &[&out]));
        assert_eq!(http.lines().count(), 1, "{http}");
    }
    assert_eq!(written.len(), 2, "each connection its own session");

    // The bundled page load: its DSB's keys, only those of the connection exported.
    let page = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures/lab-https-page.pcapng");
    let out = dir.path().join("page.pcapng");
    let err = export(&page, "tcp.port == 49288", &out, None);
    assert!(err.ends_with("with the TLS keys of 1 session\n"), "{err}");
    let story = ok(&wiretale(&["story"], &[&out]));
    assert!(story.contains("GET /page.html"), "{story}");
    assert!(!story.contains("app.js"), "{story}");
}

#[test]
fn pcap_output_says_once_that_it_cannot_carry_keys() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.pcap");
    let err = export(
        &data("tls13-h2-curl.pcapng"),
        "tcp",
        &out,
        Some(&data("tls13-h2-curl.keys")),
    );
    assert_eq!(
        err.matches("pcap cannot carry TLS keys").count(),
        1,
        "{err}"
    );
    assert!(!err.contains("with the TLS keys"), "{err}");
    // Nothing TLS exported: nothing said.
    let err = export(
        &data("tls13-h2-curl.pcapng"),
        "udp",
        &out,
        Some(&data("tls13-h2-curl.keys")),
    );
    assert!(!err.contains("TLS keys"), "{err}");
}
