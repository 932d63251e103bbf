//! Threads change nothing: every file command prints byte-for-byte the same output
//! (and exits the same way) with `WIRETALE_THREADS=1` (everything on one thread), `=2`
//! (`story` told and printed on a second thread) and `=3` (reading ahead on a third),
//! over every capture of the shared corpus, damaged ones included; and a large story
//! whose reader goes away early stops cleanly on two threads.

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

#[test]
fn one_two_and_three_threads_print_the_same() {
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
        ] {
            let one = run("1", args, &file);
            for n in ["2", "3"] {
                let other = run(n, args, &file);
                assert_eq!(
                    one.2, other.2,
                    "{rel} {args:?}: exit status, 1 vs {n} threads"
                );
                assert!(
                    one.0 == other.0,
                    "{rel} {args:?}: stdout differs between 1 and {n} threads"
                );
                assert_eq!(
                    String::from_utf8_lossy(&one.1),
                    String::from_utf8_lossy(&other.1),
                    "{rel} {args:?}: stderr, 1 vs {n} threads"
                );
            }
            compared += usize::from(!one.0.is_empty());
        }
    }
    assert!(
        compared > 50,
        "too few non-empty outputs compared: {compared}"
    );
}

/// `wiretale story big.pcap | head`: the teller thread sees the closed pipe, the engine
/// stops reading, and the command exits 0 quietly, on one thread and on two.
#[test]
fn a_story_whose_reader_goes_away_stops_quietly() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/lab-page.pcap");
    for threads in ["1", "2"] {
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
