//! Support for integration tests: locating the shared corpus and its tshark truth.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `../shared/captures` beside the project root. Panics with a clear message when it is
/// missing, so tests that need it fail instead of passing vacuously.
pub fn shared_root() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/captures");
    assert!(
        root.is_dir(),
        "the shared capture corpus is missing: expected {} (a clean checkout has ../shared beside the project)",
        root.display()
    );
    root
}

/// Every capture of the shared corpus (relative paths like `zeek/web.pcap`), sorted.
pub fn shared_captures() -> Vec<String> {
    let root = shared_root();
    let mut out = Vec::new();
    for dir in std::fs::read_dir(&root).expect("read shared captures") {
        let dir = dir.expect("dir entry").path();
        if !dir.is_dir() || dir.file_name().is_some_and(|n| n == "truth") {
            continue;
        }
        for f in std::fs::read_dir(&dir).expect("read source dir") {
            let f = f.expect("entry").path();
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            if f.is_file() && (name.ends_with(".pcap") || name.ends_with(".pcapng")) {
                let src = dir.file_name().unwrap().to_string_lossy().to_string();
                out.push(format!("{src}/{name}"));
            }
        }
    }
    out.sort();
    assert!(
        out.len() >= 50,
        "expected the 51 shared captures, found {}",
        out.len()
    );
    out
}

/// The tshark truth document for a shared capture, parsed.
pub fn truth(rel: &str) -> serde_json::Value {
    let p = shared_root().join("truth").join(format!("{rel}.json"));
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("truth {}: {e}", p.display()));
    serde_json::from_str(&text).expect("truth is JSON")
}

/// Path of the built `wiretale` binary (cargo builds it for integration tests).
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_wiretale"))
}

/// Runs this build of `wiretale` with `args`; fails the test with its standard error when
/// it fails. Returns standard output.
pub fn wiretale<S: AsRef<std::ffi::OsStr>>(args: impl IntoIterator<Item = S>) -> String {
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().into()).collect();
    let out = std::process::Command::new(bin())
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "wiretale {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The JSON Lines records `wiretale ARGS... --json` prints.
pub fn json_lines<S: AsRef<std::ffi::OsStr>>(
    args: impl IntoIterator<Item = S>,
) -> Vec<serde_json::Value> {
    let mut args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().into()).collect();
    args.push("--json".into());
    wiretale(args)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Fails the test (never passes it unrun) when it is not running as root: live capture
/// and network namespaces need root, which CI has.
pub fn require_root(what: &str) {
    assert!(
        nix::unistd::geteuid().is_root(),
        "{what} needs root: run the tests as root, as CI does (a test that cannot run fails \
         instead of passing unrun)"
    );
}

/// Runs `tests/lab/SCRIPT OUTDIR ARGS...` as root in network namespaces of its own (names
/// prefixed `prefix` + this process id), capturing with this build of wiretale, bounded by
/// `timeout_s`; fails with the script's output and log if it fails, and, with
/// `steps_must_pass`, if a step of its step table (steps.tsv) failed (lab.sh's steps
/// include ones meant to fail, such as a refused port). Returns the output directory.
pub fn run_lab_script(
    script: &str,
    args: &[&str],
    timeout_s: u32,
    prefix: &str,
    steps_must_pass: bool,
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/lab")
        .join(script);
    let out = std::process::Command::new("timeout")
        .args(["-k", "5", &timeout_s.to_string()])
        .arg(&path)
        .arg(dir.path())
        .args(args)
        .env("LAB_CAPTURE", "wiretale")
        .env("WIRETALE", bin())
        .env(
            "LAB_PREFIX",
            format!("{prefix}{}", std::process::id() % 10000),
        )
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    let log = std::fs::read_to_string(dir.path().join("lab.log")).unwrap_or_default();
    assert!(
        out.status.success(),
        "{script} failed: {}\n{}\nlog:\n{log}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if steps_must_pass {
        let steps = std::fs::read_to_string(dir.path().join("steps.tsv")).unwrap();
        for s in steps.lines().skip(1) {
            assert!(s.ends_with("rc=0"), "a step failed: {s}\nlog:\n{log}");
        }
    }
    dir
}

/// Runs `tests/lab/lab.sh OUTDIR SCENARIO` (see [`run_lab_script`]).
pub fn run_lab(scenario: &str, timeout_s: u32, prefix: &str) -> tempfile::TempDir {
    require_root(&format!(
        "the lab's {scenario} scenario (network namespaces)"
    ));
    run_lab_script("lab.sh", &[scenario], timeout_s, prefix, false)
}

/// Runs `tests/lab/quic.sh OUTDIR SCENARIO` (see [`run_lab_script`]) once aioquic is
/// where tests/setup.sh installs it.
pub fn run_quic_lab(scenario: &str, prefix: &str) -> tempfile::TempDir {
    require_root(&format!("the QUIC lab's {scenario} scenario"));
    let lab = std::env::var("WIRETALE_LAB_DIR").unwrap_or_else(|_| "/opt/wiretale-lab".into());
    assert!(
        Path::new(&lab).join("venv/bin/python").exists()
            && Path::new(&lab)
                .join("aioquic-1.7.2/examples/http3_server.py")
                .exists(),
        "the QUIC lab needs aioquic in {lab}: run tests/setup.sh"
    );
    run_lab_script("quic.sh", &[scenario], 120, prefix, true)
}

/// Runs the connection table over a whole capture, frames read, decoded and
/// defragmented as the product does (a damaged file: every frame before the damage),
/// into `sink`; returns the table after `finish` for tests that look at what it kept.
pub fn flow_table<S: wiretale::flow::StreamSink>(
    path: &Path,
    sink: &mut S,
) -> wiretale::flow::ConnTable {
    use wiretale::capture::FrameSource;
    use wiretale::flow::{ConnTable, FlowConfig, FlowPacket};
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut reader = wiretale::capture::MemReader::new(data);
    let mut defrag = wiretale::decode::Defragmenter::default();
    let mut t = ConnTable::new(FlowConfig::default());
    while let Ok(Some(f)) = reader.next_frame() {
        let (id, ts) = (f.meta.id, f.meta.ts);
        wiretale::decode::decode_defragmented(
            &mut defrag,
            ts,
            f.meta.link,
            f.data,
            |pkt, whole, frag| {
                let fp = frag
                    .analysable(pkt, whole)
                    .and_then(|p| FlowPacket::from_decoded(id, ts, p));
                if let Some(p) = fp {
                    t.process(&p, sink);
                }
            },
        );
    }
    t.finish(sink);
    t
}
