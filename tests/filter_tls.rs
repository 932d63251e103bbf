//! TLS and HTTP/2 display filters (`tls.*`, `http2.*`, `http.*` over TLS) against tshark
//! 4.0 on the HTTPS lab captures, decrypted with their key logs.
//!
//! `tests/data/tls/filter-truth/CASE.tsv` holds, per lab case, the frames tshark's
//! display filter selects for each line of `tests/data/tls/filter-expressions.txt`
//! (`tests/data/tls/make-filter-truth.sh`). A case is a capture with its own key log, a
//! negative key log (`.bad-line`, `.truncated`, `.other-sessions`), the lost-segment
//! capture, a capture read without keys (`.nokeys`), or the bundled `lab-https-page`
//! with its Decryption Secrets Block. The first test runs every expression through the
//! library path `packets -Y` uses ([`PacketMatcher`]); the second runs the real binary
//! (`packets -Y`, `conns -Y`) on a selection, so the CLI's wiring is tested too.
//!
//! Attribution, as tshark: a record's fields (`tls.record.*`, the handshake messages and
//! alerts it completed) are on the packet holding its last byte; `tls` is on every
//! packet that completed a record or whose bytes began one; an HTTP/2 frame is on the
//! packet that completed it. tshark 4.0 applies no `http.*` field to HTTP/2 (`http` is
//! HTTP/1.x), and wiretale matches that; HTTP/1.1 over TLS has the `http.*` fields.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use wiretale::analysis::{Engine, EngineConfig, PacketMatcher};
use wiretale::capture;
use wiretale::filter::Filter;
use wiretale::proto::tls::KeyLog;

fn tls_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls")
}

fn expressions() -> Vec<String> {
    std::fs::read_to_string(tls_dir().join("filter-expressions.txt"))
        .expect("expressions")
        .lines()
        .map(str::to_string)
        .collect()
}

/// A case's capture and key log, named as `make-filter-truth.sh` names them.
fn case_files(case: &str) -> (PathBuf, Option<PathBuf>) {
    let d = tls_dir();
    if case == "lab-https-page" {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        return (root.join("captures/lab-https-page.pcapng"), None);
    }
    if let Some(base) = case.strip_suffix(".nokeys") {
        return (d.join(format!("{base}.pcapng")), None);
    }
    if let Some(base) = case.strip_suffix(".lost-segment") {
        return (
            d.join(format!("{case}.pcapng")),
            Some(d.join(format!("{base}.keys"))),
        );
    }
    for neg in [".bad-line", ".truncated", ".other-sessions"] {
        if let Some(base) = case.strip_suffix(neg) {
            return (
                d.join(format!("{base}.pcapng")),
                Some(d.join(format!("{case}.keys"))),
            );
        }
    }
    (
        d.join(format!("{case}.pcapng")),
        Some(d.join(format!("{case}.keys"))),
    )
}

fn cases() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(tls_dir().join("filter-truth"))
        .expect("filter-truth")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".tsv").map(str::to_string)
        })
        .collect();
    v.sort();
    v
}

fn parse_ranges(s: &str) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => out.extend(a.parse::<u64>().unwrap()..=b.parse().unwrap()),
            None => {
                out.insert(part.parse().unwrap());
            }
        }
    }
    out
}

fn read_truth(case: &str) -> BTreeMap<usize, BTreeSet<u64>> {
    let p = tls_dir().join(format!("filter-truth/{case}.tsv"));
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (i, r) = l.split_once('\t').expect(l);
            (i.parse().unwrap(), parse_ranges(r))
        })
        .collect()
}

/// Frames each filter selects, through the library path of `packets -Y`.
fn pipeline_matches(cap: &Path, keys: Option<&Path>, filters: &[Filter]) -> Vec<BTreeSet<u64>> {
    let mut matchers: Vec<PacketMatcher> =
        filters.iter().cloned().map(PacketMatcher::new).collect();
    let mut cfg = EngineConfig::default();
    for m in &matchers {
        m.configure(&mut cfg);
    }
    let mut engine = Engine::new(cfg);
    if let Some(k) = keys {
        engine.set_tls_keys(KeyLog::read(k).expect("key log"));
    }
    let mut src = capture::open(cap).expect("open");
    let mut out = vec![BTreeSet::new(); filters.len()];
    while let Ok(Some(frame)) = src.next_frame() {
        let s = engine.process(&frame);
        for (m, o) in matchers.iter_mut().zip(out.iter_mut()) {
            if m.matches(&frame, &s) {
                o.insert(u64::from(s.id.0) + 1);
            }
        }
    }
    out
}

/// Where wiretale knowingly selects other frames than tshark 4.0.17: (case, expression
/// index or `None` for all, why). Anything else must agree; a listed pair that agrees
/// is fine (the first two are work in progress elsewhere in issue 15).
const KNOWN_DIFFERENCES: &[(&str, Option<usize>, &str)] = &[
    // After the lost segment (original frame 28, in the middle of a 16 KB record),
    // wiretale's TCP reassembly holds the later segments until it gives the hole up
    // (frame 45, after the client ACKed the unseen bytes), so the records they complete
    // are read there, and the record starting in frame 38 shows as `tls` on 45;
    // tshark reads on without waiting.
    (
        "tls13-h2-curl.lost-segment",
        Some(0),
        "records after a hole read when it is given up",
    ),
    (
        "tls13-h2-curl.lost-segment",
        Some(68),
        "records after a hole read when it is given up",
    ),
    // tshark stops decrypting the server's side after the lost record (frames 50-58
    // have no inner content type); wiretale resynchronises on the next record and
    // decrypts them (the HTTP/2 frames inside are still not decoded: framing is lost).
    (
        "tls13-h2-curl.lost-segment",
        Some(15),
        "wiretale decrypts the records after the hole",
    ),
    (
        "tls13-h2-curl.lost-segment",
        Some(19),
        "wiretale decrypts the records after the hole",
    ),
    ("tls13-h2-curl.lost-segment", Some(33), "both of the above"),
    (
        "tls13-h2-curl.lost-segment",
        Some(69),
        "wiretale decrypts the records after the hole",
    ),
];

fn known_difference(case: &str, i: usize) -> Option<&'static str> {
    KNOWN_DIFFERENCES
        .iter()
        .find(|(c, e, _)| *c == case && e.is_none_or(|e| e == i))
        .map(|(_, _, why)| *why)
}

#[test]
fn every_expression_compiles_and_the_truth_is_not_empty() {
    let exprs = expressions();
    assert!(exprs.len() >= 60);
    for e in &exprs {
        if let Err(err) = Filter::compile(e) {
            panic!("{}", err.render(e));
        }
    }
    // The truth must select something for most expressions, or the comparison is idle.
    let truth = read_truth("tls13-h2-curl");
    let non_empty = truth.values().filter(|v| !v.is_empty()).count();
    assert!(
        non_empty >= 40,
        "only {non_empty} expressions match anything"
    );
    assert_eq!(truth.len(), exprs.len(), "tshark accepted every expression");
    assert!(cases().len() >= 20);
}

#[test]
fn library_matches_tshark_on_every_lab_case() {
    let exprs = expressions();
    let filters: Vec<Filter> = exprs.iter().map(|e| Filter::compile(e).expect(e)).collect();
    let (mut same, mut matched, mut differ) = (0usize, 0usize, Vec::new());
    for case in cases() {
        let (cap, keys) = case_files(&case);
        let got = pipeline_matches(&cap, keys.as_deref(), &filters);
        for (i, want) in read_truth(&case) {
            if got[i] == want {
                same += 1;
                matched += want.len();
            } else if let Some(why) = known_difference(&case, i) {
                eprintln!("known difference: {case} #{i} `{}`: {why}", exprs[i]);
            } else {
                let extra: Vec<_> = got[i].difference(&want).take(8).collect();
                let missing: Vec<_> = want.difference(&got[i]).take(8).collect();
                differ.push(format!(
                    "{case} #{i} `{}`: extra {extra:?} missing {missing:?}",
                    exprs[i]
                ));
            }
        }
    }
    eprintln!(
        "same {same} ({matched} frames), unexplained {}",
        differ.len()
    );
    for d in &differ {
        eprintln!("{d}");
    }
    assert!(
        differ.is_empty(),
        "{} unexplained differences",
        differ.len()
    );
    assert!(
        same > 1300 && matched > 3500,
        "{same} pairs, {matched} frames"
    );
}

/// Frame numbers in `packets` text output (the first column).
fn frames_of(out: &str) -> BTreeSet<u64> {
    out.lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

fn run(args: &[&str], cap: &Path, keys: Option<&Path>) -> String {
    let mut c = std::process::Command::new(common::bin());
    c.args(args);
    if let Some(k) = keys {
        c.arg("--tls-keylog").arg(k);
    }
    let out = c.arg(cap).output().expect("run wiretale");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn packets_command_matches_tshark() {
    let exprs = expressions();
    let pick = [
        "tls",
        "tls.handshake.type == 2",
        "tls.handshake.version == 0x0303",
        "tls.record.content_type == 23",
        "tls.record.version == 0x0301",
        "tls.alert_message.desc == 0",
        "tls.handshake.ciphersuite == 0x1301",
        "tls.handshake.extensions_alpn_str == \"h2\"",
        "http2",
        "http2.type == 1",
        "http2.streamid > 3",
        "http2.headers.path contains \"app\"",
        "http2.headers.status == 200",
        "http2.header.value contains \"curl\"",
        "http.request",
    ];
    let mut checked = 0;
    for case in [
        "tls13-h2-curl",
        "tls13-h2-curl.nokeys",
        "tls12-gcm",
        "resumed",
        "lab-https-page",
    ] {
        let (cap, keys) = case_files(case);
        let truth = read_truth(case);
        for e in pick {
            let i = exprs.iter().position(|x| x == e).expect(e);
            let got = frames_of(&run(&["packets", "-Y", e], &cap, keys.as_deref()));
            assert_eq!(got, truth[&i], "{case}: packets -Y '{e}'");
            checked += got.len();
        }
    }
    assert!(checked > 200, "{checked}");
}

#[test]
fn without_keys_http2_matches_nothing_encrypted() {
    let (cap, _) = case_files("tls13-h2-curl.nokeys");
    let out = run(&["packets", "-Y", "http2 or http"], &cap, None);
    assert_eq!(out, "");
    // ... and the same packets are there once the key log is given.
    let (cap, keys) = case_files("tls13-h2-curl");
    let out = run(&["packets", "-Y", "http2"], &cap, keys.as_deref());
    assert!(frames_of(&out).len() >= 20, "{out}");
}

#[test]
fn conns_and_story_take_packet_level_tls_and_http2_filters() {
    // chromium-page: 3 TLS connections; the stylesheet and the logo are fetched on the
    // one to `secure`, the script and the image on one to `assets`; Chromium's second
    // connection to `assets` carries no request.
    let (cap, keys) = case_files("chromium-page");
    let conns = |f: &str| {
        run(&["conns", "--json", "-Y", f], &cap, keys.as_deref())
            .lines()
            .count()
    };
    assert_eq!(conns("tls"), 3);
    assert_eq!(conns("http2.headers.method == \"GET\""), 2);
    assert_eq!(conns("http2.headers.authority contains \"assets\""), 1);
    assert_eq!(
        conns("tls.handshake.extensions_server_name contains \"assets\""),
        2
    );
    assert_eq!(conns("http2.headers.path contains \"no-such-thing\""), 0);
    let story = run(
        &["story", "-Y", "http2.headers.path contains \"app\""],
        &cap,
        keys.as_deref(),
    );
    assert!(story.contains("app.js"), "{story}");
}

/// HTTP/2 in the clear (h2c by prior knowledge, `tests/data/h2/h2c.pcap`): the
/// `http2.*` fields select the frames tshark's per-packet truth lists
/// (`h2c.truth.tsv`, made with `-d tcp.port==18089,http2`; wiretale finds h2c by its
/// preface, on any port).
#[test]
fn h2c_in_the_clear_matches_tshark() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/h2");
    let text = std::fs::read_to_string(dir.join("h2c.truth.tsv")).expect("truth");
    // frame, tcp.stream, srcport, streamid, type, length, method, path, status
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    let col = |r: &Vec<&str>, i: usize| -> Vec<String> {
        r.get(i)
            .map(|c| {
                c.split(',')
                    .filter(|v| !v.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut exprs: Vec<(String, BTreeSet<u64>)> = Vec::new();
    let mut add = |expr: String, pred: &dyn Fn(&Vec<&str>) -> bool| {
        let want = rows
            .iter()
            .filter(|r| pred(r))
            .map(|r| r[0].parse::<u64>().unwrap())
            .collect();
        exprs.push((expr, want));
    };
    add("http2".into(), &|_| true);
    for t in ["0", "1", "3", "4", "6", "7", "8"] {
        add(format!("http2.type == {t}"), &|r| {
            col(r, 4).iter().any(|v| v == t)
        });
    }
    for s in ["0", "1", "3", "13"] {
        add(format!("http2.streamid == {s}"), &|r| {
            col(r, 3).iter().any(|v| v == s)
        });
    }
    for m in ["GET", "POST", "HEAD"] {
        add(format!("http2.headers.method == \"{m}\""), &|r| {
            col(r, 6).iter().any(|v| v == m)
        });
    }
    add("http2.headers.path contains \"big\"".into(), &|r| {
        col(r, 7).iter().any(|v| v.contains("big"))
    });
    for st in ["200", "404", "405"] {
        add(format!("http2.headers.status == {st}"), &|r| {
            col(r, 8).iter().any(|v| v == st)
        });
    }
    let filters: Vec<Filter> = exprs
        .iter()
        .map(|(e, _)| Filter::compile(e).expect(e))
        .collect();
    let got = pipeline_matches(&dir.join("h2c.pcap"), None, &filters);
    let mut non_empty = 0;
    for ((e, want), got) in exprs.iter().zip(&got) {
        assert_eq!(got, want, "h2c.pcap `{e}`");
        non_empty += usize::from(!want.is_empty());
    }
    assert!(non_empty >= 14, "{non_empty}");
    // Not TLS, so none of the tls.* fields.
    let tls = pipeline_matches(
        &dir.join("h2c.pcap"),
        None,
        &[Filter::compile("tls").unwrap()],
    );
    assert!(tls[0].is_empty());
}
