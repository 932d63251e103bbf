//! Threads change nothing: every file command prints byte-for-byte the same output
//! (and exits the same way) with `WIRETALE_THREADS=1` (one engine, everything on one
//! thread) and `=2`, `=3`, `=4` (`conns`, `dns`, `http` and `story` on that many shard
//! engines, `analysis::shard`, merged into one engine's order and ids; `story` told on
//! its own thread; `packets` on one engine, reading ahead from 3), over every capture
//! of the shared corpus, damaged ones included; the same with `-f` (sharded) and `-Y`
//! (one engine); and a large story whose reader goes away early stops cleanly.

mod common;

use std::process::Command;

use common::{bin, shared_captures, shared_root};

fn run(threads: &str, args: &[&str], file: &std::path::Path) -> (Vec<u8>, Vec<u8>, Option<i32>) {
    let out = Command::new(bin())
        .env("WIRETALE_THREADS", threads)
        .args(args)
        .arg(file)
        .output()
        .expect("run wiretale");
    (out.stdout, out.stderr, out.status.code())
}

fn compare(label: &str, args: &[&str], file: &std::path::Path) -> bool {
    let one = run("1", args, file);
    for n in ["2", "3", "4"] {
        let other = run(n, args, file);
        assert_eq!(
            one.2, other.2,
            "{label} {args:?}: exit status, 1 vs {n} threads"
        );
        if one.0 != other.0 {
            let (a, b) = (
                String::from_utf8_lossy(&one.0),
                String::from_utf8_lossy(&other.0),
            );
            let at = a
                .lines()
                .zip(b.lines())
                .position(|(x, y)| x != y)
                .unwrap_or(a.lines().count().min(b.lines().count()));
            panic!(
                "{label} {args:?}: stdout differs between 1 and {n} threads at line {}:\n{}\n---\n{}",
                at + 1,
                a.lines().nth(at).unwrap_or("(end)"),
                b.lines().nth(at).unwrap_or("(end)")
            );
        }
        assert_eq!(
            String::from_utf8_lossy(&one.1),
            String::from_utf8_lossy(&other.1),
            "{label} {args:?}: stderr, 1 vs {n} threads"
        );
    }
    !one.0.is_empty()
}

#[test]
fn one_to_four_threads_print_the_same() {
    let root = shared_root();
    let mut compared = 0;
    for rel in shared_captures() {
        let file = root.join(&rel);
        for args in [
            &["packets", "--json"][..],
            &["conns", "--json"][..],
            &["story"][..],
            &["dns"][..],
            &["http"][..],
            &["story", "--json"][..],
            &["dns", "--json"][..],
        ] {
            compared += usize::from(compare(&rel, args, &file));
        }
    }
    assert!(
        compared > 50,
        "too few non-empty outputs compared: {compared}"
    );
}

/// `-f` is applied before the frames are sharded (same frame numbers, same output);
/// `-Y` runs one engine (see `run::drive_records`): both print the same on any count.
#[test]
fn filters_print_the_same_on_any_thread_count() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/lab-page.pcap");
    let mut compared = 0;
    for args in [
        &["conns", "--json", "-f", "tcp port 80"][..],
        &["dns", "-f", "udp"][..],
        &["story", "-f", "not port 53"][..],
        &["conns", "-Y", "http"][..],
        &["story", "-Y", "dns"][..],
        &["http", "--json", "-Y", "http.response.code == 200"][..],
    ] {
        compared += usize::from(compare("lab-page.pcap", args, &file));
    }
    assert_eq!(compared, 6, "every filtered output has lines");
}

/// The bench captures (hundreds of MB; not in the repository): set
/// `WIRETALE_BENCH_FILE` to a capture (or several, separated by `:`), e.g.
/// `/var/tmp/wiretale-bench/web.pcap:/var/tmp/wiretale-bench/manyflows.pcap`.
#[test]
#[ignore = "needs WIRETALE_BENCH_FILE (large captures outside the repository)"]
fn bench_captures_print_the_same_on_any_thread_count() {
    let files = std::env::var("WIRETALE_BENCH_FILE").expect("WIRETALE_BENCH_FILE is not set");
    for f in files.split(':').filter(|f| !f.is_empty()) {
        let file = std::path::Path::new(f);
        assert!(file.exists(), "{f} does not exist");
        for args in [
            &["conns", "--json"][..],
            &["dns", "--json"][..],
            &["http", "--json"][..],
            &["story", "--json"][..],
            &["story"][..],
        ] {
            assert!(compare(f, args, file), "{f} {args:?}: no output");
        }
    }
}

/// `wiretale story big.pcap | head`: the teller thread sees the closed pipe, the engine
/// stops reading, and the command exits 0 quietly, on one thread and on two.
#[test]
fn a_story_whose_reader_goes_away_stops_quietly() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/lab-page.pcap");
    for threads in ["1", "2", "4"] {
        let mut child = Command::new(bin())
            .env("WIRETALE_THREADS", threads)
            .args(["story", "--json"])
            .arg(&file)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run wiretale");
        // Read one line, then close our end.
        let mut stdout = child.stdout.take().expect("stdout");
        let mut first = [0u8; 64];
        let n = std::io::Read::read(&mut stdout, &mut first).expect("read");
        assert!(n > 0, "{threads} threads: no output");
        drop(stdout);
        let out = child.wait_with_output().expect("wait");
        assert_eq!(out.status.code(), Some(0), "{threads} threads: exit status");
        assert!(
            out.stderr.is_empty(),
            "{threads} threads: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
