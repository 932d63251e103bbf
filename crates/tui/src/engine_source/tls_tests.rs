//! HTTPS in the TUI's source, on the lab's key-logged captures (`tests/data/tls`) and the
//! bundled page load with its keys in a Decryption Secrets Block: decryption from the
//! flag and from the file's own blocks (the same exchanges as the batch engine), the
//! status line's word on keys, the TLS phases of the timeline, and saving with keys.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::EngineSource;
use crate::source::{DataSource, HttpRow, ListRows};
use crate::TuiOptions;
use wiretale_engine::analysis::{Engine, EngineConfig, HttpRecord};
use wiretale_engine::capture::{self, FrameStore};
use wiretale_engine::proto::tls::KeyLog;
use wiretale_engine::testutil::ROOT;

fn tls(name: &str) -> PathBuf {
    Path::new(ROOT).join("tests/data/tls").join(name)
}

fn open(file: PathBuf, keys: Option<PathBuf>) -> EngineSource {
    let mut s = EngineSource::open(&TuiOptions {
        file: Some(file),
        tls_keylog: keys,
        ..TuiOptions::default()
    })
    .expect("open");
    assert!(s.wait_done(Duration::from_secs(30)), "analysis finished");
    s
}

/// The batch engine's HTTP exchanges (as `wiretale http` computes them): file read in
/// order, so the Decryption Secrets Blocks reach it through `Frame::secrets`.
fn batch_http(path: &Path, keys: Option<&Path>) -> Vec<HttpRecord> {
    let mut src = capture::open(path).expect("open");
    let mut e = Engine::new(EngineConfig::default());
    if let Some(k) = keys {
        e.set_tls_keys(KeyLog::read(k).expect("keys"));
    }
    while let Ok(Some(f)) = src.next_frame() {
        e.process(&f);
    }
    e.finish();
    e.take_http()
}

type Key = (
    u32,
    String,
    String,
    String,
    Option<u16>,
    Option<u32>,
    Option<String>,
);

fn key_of_row(h: &HttpRow) -> Key {
    (
        h.conn,
        h.method.clone(),
        h.host.clone(),
        h.uri.clone(),
        h.status,
        h.stream,
        h.version.clone(),
    )
}

fn key_of_record(r: &HttpRecord) -> Key {
    let t = &r.tx;
    (
        r.conn.0,
        t.method.clone().unwrap_or_else(|| "-".into()),
        t.host.clone().unwrap_or_default(),
        t.uri.clone().unwrap_or_default(),
        t.status,
        t.stream,
        t.version.map(|v| v.to_string()),
    )
}

/// Every line of the story tree, depth first.
fn story_text(items: &[crate::source::StoryItem]) -> String {
    let mut out = String::new();
    for i in items {
        out.push_str(&i.text);
        out.push('\n');
        out.push_str(&story_text(&i.children));
    }
    out
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// `wiretale captures/lab-https-page.pcapng`: the keys in the file's DSB decrypt the
/// HTTP/2 exchanges the batch commands see, and the story tells them as `story` does.
#[test]
fn the_bundled_https_page_decrypts_with_the_keys_inside_it() {
    let path = Path::new(ROOT).join("captures/lab-https-page.pcapng");
    let s = open(path.clone(), None);
    let rows: Vec<Key> = s.http_rows().iter().map(key_of_row).collect();
    let want: Vec<Key> = batch_http(&path, None).iter().map(key_of_record).collect();
    assert!(want.len() >= 5, "{want:?}");
    assert_eq!(sorted(rows), sorted(want));
    for h in s.http_rows() {
        assert_eq!(h.version.as_deref(), Some("HTTP/2"));
        assert!(h.stream.is_some_and(|s| s % 2 == 1), "{h:?}");
        assert!(h.version_cell().starts_with("h2 #"));
    }
    let story = story_text(&s.story().to_items());
    assert!(
        story.contains("GET /page.html (#26 stream 1, h2) → 200"),
        "{story}"
    );
    // Keys decrypt every TLS connection: no hint, no warning.
    assert_eq!(s.status().notice, None);
}

/// `--tls-keylog` decrypts a capture without secrets blocks; without it the status
/// line says how many TLS connections are encrypted and how to decrypt them.
#[test]
fn the_keylog_flag_decrypts_and_without_keys_the_status_line_says_how() {
    let cap = tls("tls13-h2-curl.pcapng");
    let plain = open(cap.clone(), None);
    assert!(plain.http_rows().is_empty());
    assert_eq!(
        plain.status().notice.as_deref(),
        Some("1 TLS connection encrypted: open with --tls-keylog FILE")
    );
    let keys = tls("tls13-h2-curl.keys");
    let s = open(cap.clone(), Some(keys.clone()));
    let rows: Vec<Key> = s.http_rows().iter().map(key_of_row).collect();
    let want: Vec<Key> = batch_http(&cap, Some(&keys))
        .iter()
        .map(key_of_record)
        .collect();
    assert!(!want.is_empty());
    assert_eq!(sorted(rows), sorted(want));
    assert_eq!(s.status().notice, None);
}

/// The Follow view decrypts with `--tls-keylog` too (not only with the file's own
/// secrets blocks): the HTTP/2 request of the curl capture shows as plaintext.
#[test]
fn follow_decrypts_with_the_keylog_flag() {
    let cap = tls("tls13-h2-curl.pcapng");
    let text = |s: &EngineSource| -> String {
        s.follow(1)
            .iter()
            .filter_map(|t| match t {
                crate::source::Turn::Data { bytes, .. } => {
                    Some(String::from_utf8_lossy(bytes).into_owned())
                }
                crate::source::Turn::Gap { .. } => None,
            })
            .collect()
    };
    let with = text(&open(cap.clone(), Some(tls("tls13-h2-curl.keys"))));
    assert!(with.contains(":method: GET"), "{with}");
    let without = text(&open(cap, None));
    assert!(!without.contains(":method: GET"));
}

/// Bad key log lines are a warning with the line number (never the secret); keys of
/// other sessions leave the connection encrypted, said as such; a missing key log is
/// an error before the TUI opens.
#[test]
fn key_log_warnings_other_sessions_and_a_missing_file() {
    let cap = tls("tls13-h2-curl.pcapng");
    let s = open(cap.clone(), Some(tls("tls13-h2-curl.bad-line.keys")));
    let notice = s.status().notice.expect("a warning");
    assert!(
        notice.starts_with("TLS key log: 1 line skipped (key log line "),
        "{notice}"
    );
    let secret = std::fs::read_to_string(tls("tls13-h2-curl.keys")).unwrap();
    for line in secret.lines() {
        let hex = line.split(' ').nth(2).unwrap();
        assert!(!notice.contains(hex), "a secret in {notice}");
    }
    assert!(!s.http_rows().is_empty(), "the good lines still decrypt");

    let other = open(cap.clone(), Some(tls("tls13-h2-curl.other-sessions.keys")));
    assert!(other.http_rows().is_empty());
    assert_eq!(
        other.status().notice.as_deref(),
        Some("1 TLS connection of 1 not decrypted (no keys for them)")
    );

    let e = EngineSource::open(&TuiOptions {
        file: Some(cap),
        tls_keylog: Some(tls("no-such.keys")),
        ..TuiOptions::default()
    })
    .err()
    .expect("missing key log");
    let msg = format!("{e:#}");
    assert!(
        msg.contains("no-such.keys: cannot read the TLS key log"),
        "{msg}"
    );
    assert_eq!(msg.lines().count(), 1);
}

/// The Connection view's timeline has the TLS phases, in time order among the TCP ones.
#[test]
fn the_timeline_has_the_tls_phases() {
    let s = open(tls("tls13-h2-curl.pcapng"), Some(tls("tls13-h2-curl.keys")));
    let conn = s.conns().iter().find(|c| c.server.port == 443).unwrap().id;
    let d = s.conn_detail(conn);
    let labels: Vec<&str> = d.phases.iter().map(|p| p.label.as_str()).collect();
    let pos = |l: &str| {
        labels
            .iter()
            .position(|x| *x == l)
            .unwrap_or_else(|| panic!("{l} in {labels:?}"))
    };
    assert!(pos("ACK") < pos("TLS hello"), "{labels:?}");
    assert!(pos("TLS hello") < pos("TLS server"));
    assert!(pos("TLS server") < pos("data →"));
    // Each way's first data comes after the Server Hello (the server's may come before
    // the client's: h2 servers send SETTINGS right after their Finished).
    assert!(pos("TLS server") < pos("data ←"));
    assert!(
        d.phases.windows(2).all(|w| w[0].ts_rel <= w[1].ts_rel),
        "{labels:?}"
    );
    let hello = &d.phases[pos("TLS hello")];
    assert!(hello.duration.is_some_and(|x| x > 0.0));
    assert!(hello.detail.contains("ALPN h2"), "{}", hello.detail);
    let server = &d.phases[pos("TLS server")];
    assert!(server.detail.contains("TLS 1.3"), "{}", server.detail);
    // Without keys TLS 1.3 hides where application data starts: hellos only.
    let plain = open(tls("tls13-h2-curl.pcapng"), None);
    let d = plain.conn_detail(conn);
    let labels: Vec<&str> = d.phases.iter().map(|p| p.label.as_str()).collect();
    assert!(labels.contains(&"TLS hello") && labels.contains(&"TLS server"));
    assert!(!labels.contains(&"data →"), "{labels:?}");
}

/// The one file `dir` holds.
fn only_file(dir: &Path) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files.remove(0)
}

fn secrets_text(file: &Path) -> String {
    let mut st = FrameStore::open(file).unwrap();
    assert!(st.index_all().is_none());
    st.secrets()
        .iter()
        .map(|(_, s)| String::from_utf8(s.data.clone()).unwrap())
        .collect()
}

/// Saving writes the saved sessions' keys into the new file, which then decrypts on
/// its own; a connection saved alone carries its keys and not the other's.
#[test]
fn saving_writes_the_saved_sessions_keys() {
    let keys = tls("resumed.keys");
    let mut s = open(tls("resumed.pcapng"), Some(keys.clone()));
    let all_http = s.http_rows().len();
    assert!(all_http >= 2);
    let dir = tempfile::tempdir().unwrap();
    let msg = s.save_view_to(dir.path()).unwrap();
    assert!(msg.ends_with("with the TLS keys of 2 sessions"), "{msg}");
    let saved = only_file(dir.path());
    assert_eq!(
        sorted(batch_http(&saved, None).iter().map(key_of_record).collect()),
        sorted(s.http_rows().iter().map(key_of_row).collect()),
        "the saved file decrypts without a key log"
    );
    // One connection alone: its session's lines only.
    let tls_conns: Vec<u32> = s
        .conns()
        .iter()
        .filter(|c| c.server.port == 443)
        .map(|c| c.id)
        .collect();
    assert_eq!(tls_conns.len(), 2);
    let log = std::fs::read_to_string(&keys).unwrap();
    let mut randoms_seen = Vec::new();
    for c in tls_conns {
        s.focus_conn(Some(c));
        let d = tempfile::tempdir().unwrap();
        let msg = s.save_view_to(d.path()).unwrap();
        assert!(msg.ends_with("with the TLS keys of 1 session"), "{msg}");
        let text = secrets_text(&only_file(d.path()));
        let randoms: std::collections::HashSet<&str> =
            text.lines().map(|l| l.split(' ').nth(1).unwrap()).collect();
        assert_eq!(randoms.len(), 1, "{text}");
        for l in text.lines() {
            assert!(
                log.lines().any(|k| k == l),
                "not a line of the key log: {l}"
            );
        }
        randoms_seen.extend(randoms.into_iter().map(str::to_string));
        assert_eq!(batch_http(&only_file(d.path()), None).len(), 1);
    }
    randoms_seen.dedup();
    assert_eq!(randoms_seen.len(), 2, "each connection its own session");
    // A capture without TLS saves no keys.
    let mut plain = open(Path::new(ROOT).join("captures/lab-curl.pcap"), None);
    plain.focus_conn(None);
    let d = tempfile::tempdir().unwrap();
    let msg = plain.save_view_to(d.path()).unwrap();
    assert!(!msg.contains("TLS keys"), "{msg}");
    assert!(secrets_text(&only_file(d.path())).is_empty());
}

/// The HTTP view and the Connection view of the bundled HTTPS page load, at 80×24 and
/// 120×40: h2 exchanges with their stream ids; the timeline with the TLS phases.
#[test]
fn https_page_screens() {
    use crate::action::{Action, Tab};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    for (w, h) in [(80u16, 24u16), (120, 40)] {
        let path = Path::new(ROOT).join("captures/lab-https-page.pcapng");
        let s = open(path, None).named("captures/lab-https-page.pcapng");
        let mut a = crate::app::App::new(Box::new(s));
        a.update(Action::Resize(w, h));
        a.apply_updates();
        let shot = |a: &crate::app::App, name: &str| {
            let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
            t.draw(|f| crate::views::draw(f, a)).expect("draw");
            insta::assert_snapshot!(format!("https_{name}_{w}x{h}"), t.backend());
        };
        a.update(Action::ShowTab(Tab::Http));
        a.apply_updates();
        shot(&a, "http");
        a.update(Action::Enter);
        a.apply_updates();
        shot(&a, "conn");
    }
}

/// The TLS conversation of a capture as (client → server?, bytes) turns: each
/// direction's payload in sequence order, retransmissions dropped.
fn conversation(path: &Path, server_port: u16) -> Vec<(bool, Vec<u8>)> {
    use wiretale_engine::base::PacketId;
    let mut st = FrameStore::open(path).unwrap();
    assert!(st.index_all().is_none());
    let mut next: [Option<u32>; 2] = [None, None];
    let mut turns: Vec<(bool, Vec<u8>)> = Vec::new();
    for i in 0..st.len() as u32 {
        let f = st.frame(PacketId(i)).unwrap();
        let pkt = wiretale_engine::decode::decode(f.meta.link, f.data);
        let Some(t) = pkt.tcp() else { continue };
        let c2s = t.dport == server_port;
        if !c2s && t.sport != server_port {
            continue;
        }
        let d = usize::from(!c2s);
        if t.syn() {
            next[d] = Some(t.seq.wrapping_add(1));
            continue;
        }
        if pkt.payload.is_empty() || next[d] != Some(t.seq) {
            continue;
        }
        next[d] = Some(t.seq.wrapping_add(pkt.payload.len() as u32));
        match turns.last_mut() {
            Some((dir, bytes)) if *dir == c2s => bytes.extend_from_slice(pkt.payload),
            _ => turns.push((c2s, pkt.payload.to_vec())),
        }
    }
    turns
}

/// Live with `--tls-keylog`: the key log is re-read as it grows, so a connection
/// captured before its keys were written decrypts once they are. The TLS conversation
/// of `tls13-h2-curl.pcapng` is replayed over a loopback TCP connection (same bytes, so
/// the same keys decrypt it); its key log is written only after the replay. Needs root.
#[test]
fn live_keys_written_after_the_packets_still_decrypt() {
    use std::io::{Read, Write};
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    assert!(
        root,
        "live capture on lo needs root (run the tests as root, as CI does)"
    );
    let turns = conversation(&tls("tls13-h2-curl.pcapng"), 443);
    assert!(turns.len() >= 4, "{}", turns.len());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let keyfile = dir.path().join("live.keys");
    std::fs::write(&keyfile, b"").unwrap();
    let file = dir.path().join("live.pcap");
    let filter = format!("tcp port {port}");
    let keys = KeyLog::follow(&keyfile).unwrap();
    let mut s = EngineSource::open_live_keyed("lo", Some(&filter), Some(&file), Some(keys))
        .expect("live capture on lo");
    std::thread::sleep(Duration::from_millis(300));
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (mut srv, _) = listener.accept().unwrap();
    for (c2s, bytes) in &turns {
        let (w, r) = if *c2s {
            (&mut c, &mut srv)
        } else {
            (&mut srv, &mut c)
        };
        w.write_all(bytes).unwrap();
        let mut got = vec![0u8; bytes.len()];
        r.read_exact(&mut got).unwrap();
    }
    // The connection stays open (a browser keeps it); the keys arrive now.
    let wait_for = |s: &mut EngineSource, what: &dyn Fn(&EngineSource) -> bool| {
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            s.poll();
            if what(s) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    };
    assert!(
        wait_for(&mut s, &|s| s.status().notice.is_some_and(
            |n| n.starts_with("1 TLS connection of 1 not decrypted")
        )),
        "the TLS connection is seen, encrypted: {:?}",
        s.status()
    );
    assert!(s.http_rows().is_empty(), "nothing decrypts without keys");
    std::fs::copy(tls("tls13-h2-curl.keys"), &keyfile).unwrap();
    let decrypted = wait_for(&mut s, &|s| {
        s.http_rows()
            .iter()
            .any(|h| h.stream.is_some() && h.status.is_some())
    });
    assert!(
        decrypted,
        "no decrypted exchange: {:?} {:?}",
        s.http_rows(),
        s.status()
    );
    // The open connection's row is refreshed with the live story (every 2 s).
    assert!(
        wait_for(&mut s, &|s| s.status().notice.is_none()),
        "decrypted, no hint left: {:?}",
        s.status()
    );
    drop(c);
    drop(srv);
}
