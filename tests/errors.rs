//! Errors a user understands (issue 9, item 7): every failure path prints exactly one
//! `wiretale: …` line on stderr and exits non-zero, and a `-w` capture file is complete
//! and readable after SIGINT, SIGTERM or a write error.
//!
//! Live-capture cases need root (or cap_net_raw,cap_net_admin on the test binary's
//! wiretale); without it they print why and return.

mod common;

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wiretale::capture::{FrameSource, MemReader};

fn run(args: &[&str]) -> Output {
    Command::new(common::bin())
        .args(args)
        .output()
        .expect("run wiretale")
}

/// Exactly one non-empty stderr line, starting `wiretale: `; returns it.
fn one_error_line(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one error line, got {err:?}");
    assert!(lines[0].starts_with("wiretale: "), "{:?}", lines[0]);
    lines[0].to_string()
}

#[test]
fn missing_file_directory_and_non_capture_each_give_one_line_naming_the_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello, not a capture\n").unwrap();
    let missing = dir.path().join("missing.pcap");
    let cases = [
        (missing.as_path(), "no such file"),
        (dir.path(), "is a directory"),
        (text.as_path(), "not a capture file"),
    ];
    for cmd in ["packets", "conns", "dns", "http", "story"] {
        for (p, want) in &cases {
            let o = run(&[cmd, p.to_str().unwrap()]);
            assert_eq!(o.status.code(), Some(1), "{cmd} {}", p.display());
            assert!(o.stdout.is_empty());
            let line = one_error_line(&o);
            assert!(line.contains(want), "{cmd}: {line}");
            let path = p.display().to_string();
            assert_eq!(line.matches(&path).count(), 1, "path named once: {line}");
        }
    }
    let o = run(&["follow", "--conn", "0", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(one_error_line(&o).contains("is a directory"));
}

#[test]
fn a_cut_file_prints_the_packets_before_the_damage_then_one_line_and_status_2() {
    // tcpdump/dns_udp.pcap: 4 records; cut inside the last one.
    let p = common::shared_root().join("tcpdump/dns_udp.pcap");
    let bytes = std::fs::read(&p).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let o = run(&["packets", cut.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let whole = run(&["packets", p.to_str().unwrap()]);
    let want: Vec<&[u8]> = whole.stdout.split(|&b| b == b'\n').collect();
    let got: Vec<&[u8]> = o.stdout.split(|&b| b == b'\n').collect();
    assert!(got.len() >= 2 && got.len() < want.len(), "{got:?}");
    assert_eq!(got[..got.len() - 1], want[..got.len() - 1]);
    one_error_line(&o);
}

#[test]
fn bad_limit_flag_is_a_usage_error() {
    let p = common::shared_root().join("zeek/web.pcap");
    let o = run(&[
        "conns",
        "--max-reassembly-bytes",
        "12Q",
        p.to_str().unwrap(),
    ]);
    assert_ne!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--max-reassembly-bytes") && err.contains("12Q"),
        "{err}"
    );
}

#[test]
fn no_such_interface() {
    let o = run(&["capture", "-i", "wt-nosuch0", "-c", "1"]);
    assert_eq!(o.status.code(), Some(1));
    let line = one_error_line(&o);
    assert!(line.contains("wt-nosuch0"), "{line}");
}

/// Sends small UDP datagrams to 127.0.0.1:`port` until dropped.
struct Traffic {
    stop: Arc<AtomicBool>,
    th: Option<std::thread::JoinHandle<()>>,
}

impl Traffic {
    fn start(port: u16) -> Traffic {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let th = std::thread::spawn(move || {
            let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
            let mut i = 0u32;
            while !s.load(Ordering::SeqCst) {
                let _ = sock.send_to(&i.to_be_bytes(), ("127.0.0.1", port));
                i += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Traffic { stop, th: Some(th) }
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.th.take() {
            let _ = t.join();
        }
    }
}

/// Starts `wiretale capture` and waits for its "capturing on" line.
fn start_capture(args: &[&str]) -> std::process::Child {
    let mut child = Command::new(common::bin())
        .arg("capture")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.contains("capturing on"), "{line}");
    // Keep draining stderr so the child never blocks on it.
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    child
}

fn frames_in(path: &Path) -> usize {
    let bytes = std::fs::read(path).unwrap();
    let mut r = MemReader::new(bytes);
    let mut n = 0;
    loop {
        match r.next_frame() {
            Ok(Some(_)) => n += 1,
            Ok(None) => return n,
            Err(e) => panic!("{} is damaged after {n} frames: {e}", path.display()),
        }
    }
}

#[test]
fn savefile_is_complete_after_sigint_and_sigterm() {
    common::require_root("live capture");
    for (sig, port) in [("-INT", 18771u16), ("-TERM", 18772)] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("live.pcap");
        let filter = format!("udp port {port}");
        let mut child =
            start_capture(&["-i", "lo", "-f", &filter, "-w", out.to_str().unwrap(), "-q"]);
        let traffic = Traffic::start(port);
        let t0 = Instant::now();
        // Wait until something reached the file, then interrupt mid-stream.
        while std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) <= 24
            && t0.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        let status = Command::new("kill")
            .args([sig, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let st = child.wait().unwrap();
        drop(traffic);
        assert_eq!(st.code(), Some(0), "{sig}: exit {st:?}");
        let n = frames_in(&out);
        assert!(n > 0, "{sig}: no frames saved");
    }
}

#[test]
fn full_disk_while_writing_is_one_line_and_nonzero() {
    common::require_root("live capture");
    let _traffic = Traffic::start(18773);
    let o = Command::new(common::bin())
        .args([
            "capture",
            "-i",
            "lo",
            "-f",
            "udp port 18773",
            "-w",
            "/dev/full",
            "-q",
            "--seconds",
            "20",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    let errs: Vec<&str> = err
        .lines()
        .filter(|l| !l.contains("capturing on"))
        .collect();
    assert_eq!(errs.len(), 1, "{err}");
    assert!(errs[0].contains("No space left"), "{err}");
}

#[test]
fn bad_capture_filter_live() {
    common::require_root("live capture");
    let o = run(&["capture", "-i", "lo", "-f", "udp port", "-c", "1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(one_error_line(&o).contains("bad capture filter"));
}

#[test]
fn unknown_user_for_privilege_drop_is_one_line() {
    common::require_root("live capture");
    let o = run(&["capture", "-i", "lo", "-Z", "wt-no-such-user", "-c", "1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(one_error_line(&o).contains("no such user"));
}

#[test]
fn privileges_are_dropped_right_after_opening_the_device() {
    common::require_root("dropping privileges");
    let nobody = nix::unistd::User::from_name("nobody")
        .unwrap()
        .expect("user nobody");
    // -w: without it the capture would be kept in the current directory (the project's).
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("z.pcap");
    let mut child = start_capture(&[
        "-i",
        "lo",
        "-Z",
        "nobody",
        "--seconds",
        "5",
        "-q",
        "-w",
        out.to_str().unwrap(),
    ]);
    // The banner is printed after the drop: the process is already nobody.
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let st = child.wait().unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    let gid_line = status.lines().find(|l| l.starts_with("Gid:")).unwrap();
    let groups = status.lines().find(|l| l.starts_with("Groups:")).unwrap();
    let want_uid = nobody.uid.to_string();
    let want_gid = nobody.gid.to_string();
    assert!(
        uid_line.split_whitespace().skip(1).all(|u| u == want_uid),
        "real, effective, saved and fs uid must all be nobody: {uid_line}"
    );
    assert!(
        gid_line.split_whitespace().skip(1).all(|g| g == want_gid),
        "{gid_line}"
    );
    assert_eq!(groups.trim(), "Groups:", "supplementary groups dropped");
    assert_eq!(st.code(), Some(0));
}
