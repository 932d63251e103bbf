//! Issue 19: a lake written by `wiretale extract` is read by a real query engine,
//! DuckDB (PyPI `duckdb`, in the venv tests/setup.sh installs), and says what the JSON
//! commands say. One `extract` run over the bundled captures and every shared capture
//! (files in parallel), then tests/lake/check.py, with DuckDB over
//! `read_parquet('LAKE/<table>/**/*.parquet', hive_partitioning = true)`, checks:
//! each table's rows per capture against the JSON commands' record counts, that every
//! row naming a connection joins it, and the answers to the questions of
//! tests/lake/questions.sql (the ones docs/lake.md asks) against answers computed from
//! the JSON records. Fails, never passes unrun, without the venv.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The venv's python with DuckDB (tests/setup.sh: `$WIRETALE_LAB_DIR/duckdb-venv`).
fn duckdb_python() -> PathBuf {
    let lab = std::env::var("WIRETALE_LAB_DIR").unwrap_or_else(|_| "/opt/wiretale-lab".into());
    let py = Path::new(&lab).join("duckdb-venv/bin/python");
    let ok = py.exists()
        && Command::new(&py)
            .args(["-c", "import duckdb"])
            .status()
            .is_ok_and(|s| s.success());
    assert!(
        ok,
        "the lake tests need DuckDB in {}: run tests/setup.sh (it installs PyPI duckdb \
         into that venv)",
        py.display()
    );
    py
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled captures and every shared capture.
fn captures() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join("captures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    out.sort();
    assert!(out.len() >= 4, "the bundled captures are missing");
    let shared = common::shared_root();
    out.extend(common::shared_captures().iter().map(|r| shared.join(r)));
    out
}

/// Runs this build of wiretale; returns its standard output and standard error. Exit 0,
/// or exit 2 for a damaged capture (the two shared ones cut short), whose records up to
/// the damage are printed (and extracted) all the same; anything else fails the test.
fn run(args: &[&std::ffi::OsStr]) -> (String, String) {
    let out = Command::new(common::bin()).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let damaged = out.status.code() == Some(2) && stderr.contains("were read before it");
    assert!(
        out.status.success() || damaged,
        "wiretale {args:?} failed ({}): {stderr}",
        out.status
    );
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

/// The partition value `extract` gives a capture: its file name.
fn capture_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn duckdb_reads_the_lake_and_agrees_with_the_json_commands() {
    let py = duckdb_python();
    let files = captures();
    let mut names: Vec<String> = files.iter().map(|p| capture_name(p)).collect();
    names.sort();
    names.dedup();
    assert_eq!(
        names.len(),
        files.len(),
        "two captures share a file name: their partitions would collide"
    );

    let tmp = tempfile::tempdir().unwrap();
    let lake = tmp.path().join("lake");
    let mut args: Vec<std::ffi::OsString> = vec!["extract".into()];
    args.extend(files.iter().map(|p| p.clone().into_os_string()));
    args.extend(["--out".into(), lake.clone().into_os_string()]);
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let (_, stderr) = run(&args);
    // The damaged captures are written up to the damage, and said so.
    for damaged in ["http-mime-truncated.pcap", "tls_DER-incomplete-header.pcap"] {
        assert!(
            stderr.contains(damaged),
            "extract did not say that {damaged} is damaged:\n{stderr}"
        );
    }

    // What the JSON commands print for each capture, where check.py reads it.
    let json = tmp.path().join("json");
    for f in &files {
        let dir = json.join(capture_name(f));
        std::fs::create_dir_all(&dir).unwrap();
        for cmd in ["conns", "dns", "http", "story"] {
            let (out, _) = run(&[
                std::ffi::OsStr::new(cmd),
                f.as_os_str(),
                std::ffi::OsStr::new("--json"),
            ]);
            std::fs::write(dir.join(format!("{cmd}.jsonl")), out).unwrap();
        }
    }

    let out = Command::new(&py)
        .arg(root().join("tests/lake/check.py"))
        .arg(&lake)
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the lake disagrees with the JSON commands:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every check ran (check.py prints one line per check).
    let checks = stdout.lines().filter(|l| l.starts_with("ok  ")).count();
    assert!(checks >= 20, "only {checks} checks ran:\n{stdout}");
}

/// docs/lake.md quotes every question of tests/lake/questions.sql as the test runs it.
#[test]
fn the_docs_ask_the_questions_the_test_checks() {
    let sql = std::fs::read_to_string(root().join("tests/lake/questions.sql")).unwrap();
    let doc = std::fs::read_to_string(root().join("docs/lake.md")).unwrap();
    let mut n = 0;
    for part in sql.split("\n-- name: ").skip(1) {
        let (name, body) = part.split_once('\n').unwrap();
        let body = body.trim();
        // The comment lines above the query are the docs' prose; the query is quoted.
        let query: String = body
            .lines()
            .skip_while(|l| l.starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            doc.contains(&query),
            "docs/lake.md does not quote question {name} as tests/lake/questions.sql has it:\n{query}"
        );
        n += 1;
    }
    assert!(n >= 5, "questions.sql has {n} questions");
}

/// Captures with DNS, HTTP and TLS, extracted whole and by 3 `--split I/3` tasks.
const SPLIT: [&str; 5] = [
    "captures/lab-page.pcap",
    "captures/lab-curl.pcap",
    "captures/lab-https-page.pcapng",
    "../shared/captures/zeek/wikipedia.pcap",
    "../shared/captures/zeek/dns-edns-ecs.pcap",
];

/// Runs `extract` over [`SPLIT`] into `DIR/whole` and, as 3 tasks, into `DIR/split`.
fn whole_and_split() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = SPLIT.iter().map(|p| root().join(p)).collect();
    let lake = |name: &str, split: Option<&str>| {
        let mut args: Vec<std::ffi::OsString> = vec!["extract".into()];
        args.extend(files.iter().map(|p| p.clone().into_os_string()));
        args.extend(["--out".into(), tmp.path().join(name).into_os_string()]);
        if let Some(s) = split {
            args.extend(["--split".into(), s.into()]);
        }
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        run(&args);
    };
    lake("whole", None);
    for i in 0..3 {
        lake("split", Some(&format!("{i}/3")));
    }
    tmp
}

fn split_py(tmp: &Path, extra: &[&str]) -> (bool, String) {
    let out = Command::new(duckdb_python())
        .arg(root().join("tests/lake/split.py"))
        .arg(tmp.join("whole"))
        .arg(tmp.join("split"))
        .arg("3")
        .args(extra)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    (out.status.success(), text)
}

/// docs/lake.md's split rule: N tasks `--split I/N` over one capture write, between
/// them, the rows one task writes (connections, HTTP exchanges, DNS transactions, TLS
/// handshakes, a connection's story events, each joined to its connection), with ids
/// `k * N + I` that never collide.
#[test]
fn split_tasks_write_the_rows_of_the_whole_capture() {
    let tmp = whole_and_split();
    let (ok, text) = split_py(tmp.path(), &[]);
    assert!(ok, "the split lake differs from the whole one:\n{text}");
    assert_eq!(
        text.lines().filter(|l| l.starts_with("ok  ")).count(),
        7,
        "{text}"
    );
}

/// A connection's name does not depend on the split: a lookup's flow (client to
/// resolver) usually falls to another part than the connections it names, so every
/// task reads every part's lookups (docs/lake.md, "Too big for one task") and names its
/// connections as one task over the whole capture does (24 named from DNS on these
/// captures; 6 when each part read only its own lookups).
#[test]
fn split_tasks_name_connections_as_the_whole_capture() {
    let tmp = whole_and_split();
    let (ok, text) = split_py(tmp.path(), &["--names"]);
    assert!(ok, "split tasks name connections differently:\n{text}");
}
