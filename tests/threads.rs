//! The read-ahead thread changes nothing: every file command prints byte-for-byte the
//! same output (and exits the same way) with `WIRETALE_THREADS=1` (everything on one
//! thread) and `WIRETALE_THREADS=2` (reading on a second thread), over every capture of
//! the shared corpus, damaged ones included.

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
fn one_thread_and_two_threads_print_the_same() {
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
            let two = run("2", args, &file);
            assert_eq!(one.2, two.2, "{rel} {args:?}: exit status");
            assert!(
                one.0 == two.0,
                "{rel} {args:?}: stdout differs between 1 and 2 threads"
            );
            assert_eq!(
                String::from_utf8_lossy(&one.1),
                String::from_utf8_lossy(&two.1),
                "{rel} {args:?}: stderr"
            );
            compared += usize::from(!one.0.is_empty());
        }
    }
    assert!(
        compared > 50,
        "too few non-empty outputs compared: {compared}"
    );
}
