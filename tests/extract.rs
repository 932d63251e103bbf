//! `wiretale extract` (README, "Extract to Parquet"): the Parquet tables hold the JSON
//! commands' records, read back here with the parquet crate's Arrow reader.
//!
//! - row counts per table equal the JSON commands' record counts on the bundled and every
//!   shared capture, and a few columns' values (ids, addresses, ports, Community ID,
//!   times to the microsecond) equal the JSON's; no epoch-looking number is left as a
//!   plain float (the timestamp rule covers every time);
//! - `--split I/N` parts add up to the whole, with ids that never collide;
//! - the files do not depend on the thread count;
//! - an existing part is refused without `--force`; an unwritable `--out` is one line;
//!   a truncated capture writes what it read and says where it broke; Ctrl-C leaves no
//!   temporary and no file that does not read back;
//! - `docs/schema/parquet.md` is what the record types generate.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use common::{bin, json_lines, shared_captures, shared_root};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bundled() -> Vec<PathBuf> {
    vec![
        root().join("captures/lab-page.pcap"),
        root().join("captures/lab-curl.pcap"),
    ]
}

/// Every `*.parquet` under `dir`, sorted.
fn parts(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Every file under `dir` (temporaries included).
fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn read_file(p: &Path) -> Vec<RecordBatch> {
    let f = std::fs::File::open(p).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

/// The rows of one table under `out` (every part).
fn table(out: &Path, name: &str) -> Vec<RecordBatch> {
    parts(&out.join(name))
        .iter()
        .flat_map(|p| read_file(p))
        .collect()
}

fn rows(b: &[RecordBatch]) -> usize {
    b.iter().map(RecordBatch::num_rows).sum()
}

/// One column's values as JSON (times as microseconds), every batch in order.
fn column(batches: &[RecordBatch], name: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for b in batches {
        let a = b
            .column_by_name(name)
            .unwrap_or_else(|| panic!("no column {name}"));
        for i in 0..a.len() {
            out.push(if a.is_null(i) {
                Value::Null
            } else {
                match a.data_type() {
                    DataType::Int32 => a.as_primitive::<Int32Type>().value(i).into(),
                    DataType::Int64 => a.as_primitive::<Int64Type>().value(i).into(),
                    DataType::Float64 => a.as_primitive::<Float64Type>().value(i).into(),
                    DataType::Timestamp(TimeUnit::Microsecond, _) => {
                        a.as_primitive::<TimestampMicrosecondType>().value(i).into()
                    }
                    DataType::Utf8 => a.as_string::<i32>().value(i).into(),
                    DataType::Boolean => a.as_boolean().value(i).into(),
                    t => panic!("{name}: {t}"),
                }
            });
        }
    }
    out
}

/// A JSON record's value at a flattened column name (`client_ip` → `client.ip`), times
/// in microseconds as the table has them.
fn json_at(rec: &Value, path: &[&str], ts: bool) -> Value {
    // (Times are compared from the line's text: see `line_ts`.)
    let mut v = rec;
    for k in path {
        v = &v[*k];
    }
    if ts && !v.is_null() {
        return ((v.as_f64().unwrap() * 1e6).round() as i64).into();
    }
    v.clone()
}

fn extract(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(bin())
        .arg("extract")
        .args(args)
        .output()
        .unwrap()
}

fn extract_ok(files: &[PathBuf], out: &Path, extra: &[&str]) -> String {
    let mut args: Vec<&std::ffi::OsStr> = files.iter().map(|f| f.as_os_str()).collect();
    args.push("--out".as_ref());
    args.push(out.as_os_str());
    for e in extra {
        args.push(e.as_ref());
    }
    let o = extract(&args);
    assert!(
        o.status.success(),
        "extract {files:?} failed ({}): {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// No float column holds a time of the capture (seconds since the epoch within the
/// capture's span, `span` in seconds): those must be typed timestamps.
fn no_untyped_times(batches: &[RecordBatch], table: &str, span: Option<(f64, f64)>) {
    let (Some(b), Some((lo, hi))) = (batches.first(), span) else {
        return;
    };
    for f in b.schema().fields() {
        if f.data_type() != &DataType::Float64 {
            continue;
        }
        for v in column(batches, f.name()) {
            if let Some(x) = v.as_f64() {
                assert!(
                    !(lo - 86_400.0..=hi + 86_400.0).contains(&x),
                    "{table}.{}: {x} looks like a time: name it *_ts or extend the rule",
                    f.name()
                );
            }
        }
    }
}

/// The capture's span in seconds: its connections' first and last packets.
fn span(conns: &[(String, Value)]) -> Option<(f64, f64)> {
    let lo = conns
        .iter()
        .filter_map(|(_, c)| c["first_ts"].as_f64())
        .reduce(f64::min)?;
    let hi = conns
        .iter()
        .filter_map(|(_, c)| c["last_ts"].as_f64())
        .reduce(f64::max)?;
    // Captures dated near 1970 (made-up test files) cannot tell a time from a duration.
    (lo > 1e8).then_some((lo, hi))
}

/// A JSON command's records on `file` (with their lines), and its exit status (2 on a
/// damaged capture).
fn records(cmd: &str, file: &Path) -> (Vec<(String, Value)>, Option<i32>) {
    let o = Command::new(bin())
        .args([cmd, "--json"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0 | 2)),
        "{cmd} {}: {}",
        file.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let recs = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| (l.to_string(), serde_json::from_str(l).unwrap()))
        .collect();
    (recs, o.status.code())
}

/// A top-level time of a JSON line in microseconds, parsed from the line's text with
/// the standard library's correctly rounded parser (serde_json's default parser may be
/// one unit in the last place off, which can move a time by a microsecond).
fn line_ts(line: &str, key: &str) -> Value {
    let pat = format!("\"{key}\":");
    let Some(at) = line.find(&pat) else {
        return Value::Null;
    };
    let rest = &line[at + pat.len()..];
    let end = rest.find([',', '}']).unwrap();
    match rest[..end].parse::<f64>() {
        Ok(x) => ((x * 1e6).round() as i64).into(),
        Err(_) => Value::Null,
    }
}

/// Compares columns with the JSON records: `(column, path in the record)`; a path of
/// one key ending in `ts` is a time.
fn same(t: &[RecordBatch], recs: &[(String, Value)], what: &str, cols: &[(&str, &[&str])]) {
    for (col, path) in cols {
        let want: Vec<Value> = recs
            .iter()
            .map(|(line, r)| match path {
                [k] if k.ends_with("ts") => line_ts(line, k),
                _ => json_at(r, path, false),
            })
            .collect();
        assert_eq!(column(t, col), want, "{what}.{col}");
    }
}

/// One capture: each table's rows equal the JSON command's records, with the same ids,
/// endpoints, Community IDs and times.
fn check_capture(file: &Path) -> BTreeMap<&'static str, usize> {
    let dir = tempfile::tempdir().unwrap();
    let (conns, code) = records("conns", file);
    let o = extract(&[
        file.as_os_str(),
        OsStr::new("--out"),
        dir.path().as_os_str(),
    ]);
    assert_eq!(
        o.status.code(),
        code,
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let (dns, _) = records("dns", file);
    let (http, _) = records("http", file);
    let (story, _) = records("story", file);
    let name = file.display().to_string();
    if conns.is_empty() && dns.is_empty() && story.is_empty() && !dir.path().join("conns").exists()
    {
        // A capture without a packet writes nothing (and says so).
        return BTreeMap::new();
    }

    let t = table(dir.path(), "conns");
    assert_eq!(rows(&t), conns.len(), "{name}: conns");
    no_untyped_times(&t, "conns", span(&conns));
    same(
        &t,
        &conns,
        &format!("{name}: conns"),
        &[
            ("id", &["id"]),
            ("client_ip", &["client", "ip"]),
            ("client_port", &["client", "port"]),
            ("server_ip", &["server", "ip"]),
            ("server_port", &["server", "port"]),
            ("community_id", &["community_id"]),
            ("first_ts", &["first_ts"]),
            ("last_ts", &["last_ts"]),
            ("name_qname", &["name", "qname"]),
            ("state", &["state"]),
        ],
    );
    let cap = file.file_name().unwrap().to_string_lossy().to_string();
    assert!(column(&t, "capture")
        .iter()
        .all(|c| c == &Value::from(cap.clone())));

    let t = table(dir.path(), "dns");
    assert_eq!(rows(&t), dns.len(), "{name}: dns");
    no_untyped_times(&t, "dns", span(&conns));
    same(
        &t,
        &dns,
        &format!("{name}: dns"),
        &[
            ("seq", &["seq"]),
            ("conn", &["conn"]),
            ("qname", &["qname"]),
            ("query_ts", &["query_ts"]),
            ("response_ts", &["response_ts"]),
            ("client_ip", &["client", "ip"]),
        ],
    );

    let t = table(dir.path(), "http");
    assert_eq!(rows(&t), http.len(), "{name}: http");
    no_untyped_times(&t, "http", span(&conns));
    same(
        &t,
        &http,
        &format!("{name}: http"),
        &[
            ("conn", &["conn"]),
            ("uri", &["uri"]),
            ("status", &["status"]),
            ("request_ts", &["request_ts"]),
        ],
    );

    let t = table(dir.path(), "story");
    assert_eq!(rows(&t), story.len(), "{name}: story");
    no_untyped_times(&t, "story", span(&conns));
    same(
        &t,
        &story,
        &format!("{name}: story"),
        &[
            ("kind", &["kind"]),
            ("conn", &["conn"]),
            ("page", &["page"]),
            ("ts", &["ts"]),
            ("text", &["text"]),
        ],
    );

    let with_tls: Vec<(String, Value)> = conns
        .iter()
        .filter(|(_, c)| !c["tls"].is_null())
        .cloned()
        .collect();
    let t = table(dir.path(), "tls");
    assert_eq!(rows(&t), with_tls.len(), "{name}: tls");
    no_untyped_times(&t, "tls", span(&conns));
    same(
        &t,
        &with_tls,
        &format!("{name}: tls"),
        &[
            ("conn", &["id"]),
            ("community_id", &["community_id"]),
            ("first_ts", &["first_ts"]),
            ("sni", &["tls", "sni"]),
            ("version", &["tls", "version"]),
            ("ja4", &["tls", "ja4"]),
        ],
    );
    BTreeMap::from([
        ("conns", conns.len()),
        ("dns", dns.len()),
        ("http", http.len()),
        ("story", story.len()),
        ("tls", with_tls.len()),
    ])
}

#[test]
fn tables_equal_the_json_records_on_the_bundled_captures() {
    for f in bundled() {
        check_capture(&f);
    }
}

#[test]
fn tables_equal_the_json_records_on_every_shared_capture() {
    let root = shared_root();
    let mut total: BTreeMap<&str, usize> = BTreeMap::new();
    for rel in shared_captures() {
        for (t, n) in check_capture(&root.join(rel)) {
            *total.entry(t).or_default() += n;
        }
    }
    // The corpus has rows of every kind (the comparisons above were not all of nothing).
    for t in ["conns", "dns", "http", "story", "tls"] {
        assert!(
            total.get(t).copied().unwrap_or(0) > 0,
            "no {t} rows: {total:?}"
        );
    }
}

#[test]
fn packets_are_written_when_asked() {
    let f = root().join("captures/lab-curl.pcap");
    let dir = tempfile::tempdir().unwrap();
    extract_ok(
        std::slice::from_ref(&f),
        dir.path(),
        &["--tables", "packets,conns"],
    );
    assert!(!dir.path().join("dns").exists(), "only the tables asked");
    let (want, _) = records("packets", &f);
    let t = table(dir.path(), "packets");
    assert_eq!(rows(&t), want.len());
    same(
        &t,
        &want,
        "packets",
        &[
            ("n", &["n"]),
            ("conn", &["conn"]),
            ("ts", &["ts"]),
            ("info", &["info"]),
        ],
    );
}

/// `--split I/N` over N = 3: the parts' rows add up to the whole for conns and dns,
/// ids never collide, and every reference names a connection of its own part.
#[test]
fn splits_add_up_to_the_whole() {
    let files: Vec<PathBuf> = vec![
        root().join("captures/lab-page.pcap"),
        shared_root().join("zeek/web.pcap"),
    ];
    for f in files.into_iter().filter(|f| f.exists()) {
        let whole = tempfile::tempdir().unwrap();
        extract_ok(
            std::slice::from_ref(&f),
            whole.path(),
            &["--tables", "conns,dns"],
        );
        let split = tempfile::tempdir().unwrap();
        for i in 0..3 {
            extract_ok(
                std::slice::from_ref(&f),
                split.path(),
                &["--tables", "conns,dns,http", "--split", &format!("{i}/3")],
            );
        }
        let name = f.display();
        assert_eq!(parts(&split.path().join("conns")).len(), 3, "{name}");
        let (wc, sc) = (table(whole.path(), "conns"), table(split.path(), "conns"));
        assert_eq!(rows(&sc), rows(&wc), "{name}: conns");
        assert_eq!(
            rows(&table(split.path(), "dns")),
            rows(&table(whole.path(), "dns")),
            "{name}: dns"
        );
        let ids: HashSet<i64> = column(&sc, "id")
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        assert_eq!(ids.len(), rows(&sc), "{name}: ids collide");
        // The same connections: by Community ID and first packet.
        let key = |t: &[RecordBatch]| {
            let mut k: Vec<(Value, Value)> = column(t, "community_id")
                .into_iter()
                .zip(column(t, "first_ts"))
                .collect();
            k.sort_by_key(|(a, b)| format!("{a}{b}"));
            k
        };
        assert_eq!(key(&sc), key(&wc), "{name}");
        for t in ["dns", "http"] {
            for c in column(&table(split.path(), t), "conn") {
                if let Some(c) = c.as_i64() {
                    assert!(ids.contains(&c), "{name}: {t}.conn {c} is no connection");
                }
            }
        }
    }
}

/// Files are the same whatever the thread count (files side by side, one file sharded).
#[test]
fn files_do_not_depend_on_the_thread_count() {
    let mut files = bundled();
    for rel in [
        "zeek/web.pcap",
        "suricata-verify/dns-tcp-multirequest-buffer.pcap",
    ] {
        let p = shared_root().join(rel);
        if p.exists() {
            files.push(p);
        }
    }
    let mut outs = Vec::new();
    for threads in ["1", "2", "3"] {
        let dir = tempfile::tempdir().unwrap();
        let mut args: Vec<&std::ffi::OsStr> = files.iter().map(|f| f.as_os_str()).collect();
        args.extend(["--out".as_ref(), dir.path().as_os_str()]);
        let o = Command::new(bin())
            .arg("extract")
            .args(&args)
            .env("WIRETALE_THREADS", threads)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // One file alone (the sharded engine when threads > 1).
        let one = tempfile::tempdir().unwrap();
        let o1 = Command::new(bin())
            .args(["extract", "--out"])
            .arg(one.path())
            .arg(&files[0])
            .env("WIRETALE_THREADS", threads)
            .output()
            .unwrap();
        assert!(o1.status.success());
        let stdout = String::from_utf8(o.stdout)
            .unwrap()
            .replace(&dir.path().display().to_string(), "DIR");
        outs.push((threads, stdout, dir, one));
    }
    let (_, stdout0, dir0, one0) = &outs[0];
    let contents = |d: &Path| -> BTreeMap<PathBuf, Vec<RecordBatch>> {
        parts(d)
            .into_iter()
            .map(|p| (p.strip_prefix(d).unwrap().to_path_buf(), read_file(&p)))
            .collect()
    };
    let want = contents(dir0.path());
    let want_one = contents(one0.path());
    assert!(want.len() >= files.len() * 5);
    for (t, stdout, dir, one) in &outs[1..] {
        assert_eq!(stdout, stdout0, "{t} threads: the summary lines");
        assert!(contents(dir.path()) == want, "{t} threads: files differ");
        assert!(
            contents(one.path()) == want_one,
            "{t} threads: one file differs"
        );
    }
}

#[test]
fn an_existing_part_is_refused_without_force() {
    let f = root().join("captures/lab-curl.pcap");
    let dir = tempfile::tempdir().unwrap();
    extract_ok(std::slice::from_ref(&f), dir.path(), &[]);
    let before: Vec<(PathBuf, std::time::SystemTime)> = parts(dir.path())
        .into_iter()
        .map(|p| {
            let m = std::fs::metadata(&p).unwrap().modified().unwrap();
            (p, m)
        })
        .collect();
    let o = extract(&[f.as_os_str(), "--out".as_ref(), dir.path().as_os_str()]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("part-0.parquet exists") && err.contains("--force"),
        "{err}"
    );
    for (p, m) in &before {
        assert_eq!(&std::fs::metadata(p).unwrap().modified().unwrap(), m);
    }
    assert_eq!(
        all_files(dir.path()).len(),
        before.len(),
        "no temporary left"
    );
    extract_ok(std::slice::from_ref(&f), dir.path(), &["--force"]);
    assert_eq!(parts(dir.path()).len(), before.len());
    assert_eq!(
        rows(&table(dir.path(), "conns")),
        json_lines([OsStr::new("conns"), f.as_os_str()]).len()
    );
}

#[test]
fn an_unwritable_out_is_one_line() {
    let f = root().join("captures/lab-curl.pcap");
    let tmp = tempfile::tempdir().unwrap();
    // A path under a regular file: no directory can be made there, root or not.
    let file = tmp.path().join("plain");
    std::fs::write(&file, b"x").unwrap();
    let out = file.join("lake");
    let o = extract(&[f.as_os_str(), "--out".as_ref(), out.as_os_str()]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err.trim_end(),
        format!("wiretale: cannot write {}: Not a directory", out.display())
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn a_truncated_capture_writes_what_it_read_and_says_where_it_broke() {
    let full = std::fs::read(root().join("captures/lab-page.pcap")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cut = tmp.path().join("cut.pcap");
    std::fs::write(&cut, &full[..full.len() * 3 / 5]).unwrap();
    let conns = Command::new(bin())
        .args(["conns", "--json"])
        .arg(&cut)
        .output()
        .unwrap();
    assert_eq!(conns.status.code(), Some(2));
    let json_rows = String::from_utf8_lossy(&conns.stdout).lines().count();
    assert!(json_rows > 0);
    let out = tmp.path().join("lake");
    let o = extract(&[cut.as_os_str(), "--out".as_ref(), out.as_os_str()]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    let conns_err = String::from_utf8_lossy(&conns.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    // The same line as conns, naming the file (several are extracted at once).
    let why = conns_err.strip_prefix("wiretale: ").unwrap();
    assert_eq!(err, format!("wiretale: {}: {why}", cut.display()));
    assert!(err.contains("offset"), "{err}");
    assert_eq!(rows(&table(&out, "conns")), json_rows);
}

/// Ctrl-C while a capture is still arriving on standard input: exit 130, no temporary
/// left, and every `*.parquet` there reads back.
#[test]
fn ctrl_c_leaves_no_partial_file() {
    use std::io::Write;
    let data = std::fs::read(root().join("captures/lab-page.pcap")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // A complete part from an earlier run must survive untouched.
    extract_ok(&[root().join("captures/lab-curl.pcap")], tmp.path(), &[]);
    let before = parts(tmp.path());
    let mut child = Command::new(bin())
        .args(["extract", "-", "--out"])
        .arg(tmp.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // The header and a third of the file: the first packet opens the parts.
    stdin.write_all(&data[..data.len() / 3]).unwrap();
    stdin.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let temp_seen = loop {
        let temps = all_files(tmp.path())
            .into_iter()
            .filter(|p| p.to_string_lossy().contains(".tmp-"))
            .count();
        if temps > 0 {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    assert!(temp_seen, "the run never started writing");
    let status = status.expect("extract did not stop on SIGINT");
    assert_eq!(status.code(), Some(130));
    let left: Vec<PathBuf> = all_files(tmp.path())
        .into_iter()
        .filter(|p| p.extension().is_none_or(|x| x != "parquet"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert_eq!(parts(tmp.path()), before, "no stdin part published");
    for p in parts(tmp.path()) {
        let _ = read_file(&p);
    }
}

#[test]
fn the_parquet_column_reference_is_generated_from_the_types() {
    let path = root().join("docs/schema/parquet.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == wiretale::cli::parquet_doc(),
        "{} differs from what the types generate: run `cargo run --example schemas`",
        path.display()
    );
}
