//! `wiretale capture` prints as it happens: these tests start the real binary on
//! loopback (a BPF filter on a port the test picks), make a few bounded packets, and
//! read lines from the running capture's pipe BEFORE stopping it; then stop it with
//! SIGINT (by PID) and check the capture file it kept without `-w`.
//!
//! Needs root (live capture); without it every test fails saying so (CI runs as root).
//! Timeouts are failure bounds only: a line must arrive within [`LINE_WITHIN`].

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use serde_json::Value;

/// How long a line may take to arrive before the test fails (records wait for a closed
/// connection's 2 s linger; this bound is generous on a loaded machine).
const LINE_WITHIN: Duration = Duration::from_secs(15);

/// A running `wiretale capture`, its stdout and stderr read line by line on threads.
struct Live {
    child: Child,
    out: Receiver<String>,
    err: Receiver<String>,
    /// The directory it runs in (where the capture file is kept).
    dir: tempfile::TempDir,
    /// The file named on the first stderr line.
    file: PathBuf,
}

fn lines_of(r: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for l in BufReader::new(r).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

impl Live {
    /// Starts `wiretale capture -i lo -f FILTER ARGS…` in a new empty directory and
    /// waits for the line that says where the packets are being saved.
    fn start(filter: &str, args: &[&str]) -> Live {
        common::require_root("live capture");
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(common::bin())
            .args(["capture", "-i", "lo", "-f", filter])
            .args(args)
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start wiretale capture");
        let out = lines_of(child.stdout.take().unwrap());
        let err = lines_of(child.stderr.take().unwrap());
        let mut live = Live {
            child,
            out,
            err,
            dir,
            file: PathBuf::new(),
        };
        let first = live
            .err
            .recv_timeout(LINE_WITHIN)
            .expect("no 'capturing on' line on stderr");
        let (_, file) = first
            .split_once(", saving to ")
            .unwrap_or_else(|| panic!("first stderr line names no file: {first:?}"));
        live.file = PathBuf::from(file);
        // Named when the capture starts: a new file in the current directory.
        assert_eq!(live.file.parent(), Some(live.dir.path()), "{first}");
        let name = live.file.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            name.starts_with("wiretale-lo-") && name.ends_with("Z.pcap"),
            "{name}"
        );
        assert!(live.file.is_file(), "{} not created", live.file.display());
        live
    }

    /// The next stdout line; fails the test when none comes within [`LINE_WITHIN`] or the
    /// capture has stopped.
    fn line(&mut self, what: &str) -> String {
        let l = self
            .out
            .recv_timeout(LINE_WITHIN)
            .unwrap_or_else(|e| panic!("no line for {what} within {LINE_WITHIN:?}: {e}"));
        self.assert_running(what);
        l
    }

    /// Stdout lines until one satisfies `want` (at most `max` lines).
    fn line_where(&mut self, what: &str, max: usize, want: impl Fn(&str) -> bool) -> String {
        for _ in 0..max {
            let l = self.line(what);
            if want(&l) {
                return l;
            }
        }
        panic!("no line for {what} in {max} lines");
    }

    /// The line was read from a capture that is still running.
    fn assert_running(&mut self, what: &str) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the capture ended before {what} was read"
        );
    }

    /// Stops it with SIGINT (by PID), checks a clean exit and the end line naming the
    /// same file; returns the kept file (in `self.dir`, so keep `self` while using it)
    /// and the lines printed after the stop.
    fn stop(&mut self) -> (PathBuf, Vec<String>) {
        let st = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        let mut exited = None;
        for _ in 0..200 {
            if let Some(s) = self.child.try_wait().unwrap() {
                exited = Some(s);
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let status = exited.expect("capture did not stop within 10 s of SIGINT");
        assert_eq!(status.code(), Some(0), "{status:?}");
        let rest: Vec<String> = self.out.iter().collect();
        let err: Vec<String> = self.err.iter().collect();
        let last = err.last().cloned().unwrap_or_default();
        assert!(
            last.ends_with(&format!("saved to {}", self.file.display())),
            "the end line names another file: {err:?}"
        );
        // Still there afterwards (the caller reads it back as a pcap).
        assert!(self.file.is_file(), "{} is gone", self.file.display());
        (self.file.clone(), rest)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        // A failed test must not leave a capture running: SIGKILL by PID.
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn wiretale(args: &[&str], file: &Path) -> String {
    let o = Command::new(common::bin())
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{args:?}: {o:?}");
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn packet_lines_arrive_while_capturing_and_the_file_is_kept() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = rx.local_addr().unwrap().port();
    let mut live = Live::start(&format!("udp dst port {port}"), &["--packets"]);
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    // One datagram at a time, each line read before the next is sent.
    for i in 0..3u8 {
        tx.send_to(&[b'w', b't', i], ("127.0.0.1", port)).unwrap();
        let l = live.line(&format!("datagram {i}"));
        assert!(
            l.contains("UDP") && l.contains(&format!("→ {port}")),
            "datagram {i}: {l:?}"
        );
        assert!(l.trim_start().starts_with(&(i + 1).to_string()), "{l:?}");
    }
    let (file, rest) = live.stop();
    assert!(rest.is_empty(), "more lines than packets: {rest:?}");
    let offline = wiretale(&["packets"], &file);
    assert_eq!(offline.lines().count(), 3, "{offline}");
}

/// Connects to `port`, sends `req`, reads the answer to its end, closes.
fn exchange(port: u16, req: &[u8]) -> Vec<u8> {
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(LINE_WITHIN)).unwrap();
    c.write_all(req).unwrap();
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    got
}

/// A listener that answers each connection's first read with `answer`, then closes.
fn serve(l: TcpListener, answer: &'static [u8], n: usize) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for _ in 0..n {
            let Ok((mut s, _)) = l.accept() else { return };
            s.set_read_timeout(Some(LINE_WITHIN)).unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(answer);
        }
    })
}

#[test]
fn conns_json_records_arrive_while_capturing() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let server = serve(l, b"pong\n", 2);
    let mut live = Live::start(&format!("tcp port {port}"), &["--conns", "--json"]);
    let mut seen = Vec::new();
    for i in 0..2 {
        assert_eq!(exchange(port, b"ping\n"), b"pong\n");
        let l = live.line(&format!("connection {i}"));
        let v: Value = serde_json::from_str(&l).unwrap_or_else(|e| panic!("{e}: {l}"));
        assert_eq!(v["server"]["port"], port, "{l}");
        assert_eq!(v["bytes"]["client"], 5, "{l}");
        assert_eq!(v["bytes"]["server"], 5, "{l}");
        seen.push(v["client"]["port"].as_u64().unwrap());
    }
    server.join().unwrap();
    let (file, rest) = live.stop();
    assert!(rest.is_empty(), "{rest:?}");
    // The kept file tells the same connections.
    let offline: Vec<u64> = wiretale(&["conns", "--json"], &file)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["client"]["port"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(offline, seen);
}

#[test]
fn story_events_arrive_while_capturing() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let server = serve(
        l,
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
        2,
    );
    // The default mode, text.
    let mut live = Live::start(&format!("tcp port {port}"), &[]);
    let req = b"GET /live-one HTTP/1.1\r\nHost: wt.test\r\n\r\n";
    assert!(exchange(port, req).ends_with(b"hello"));
    let got = live.line_where("the first exchange", 20, |l| l.contains("GET /live-one"));
    assert!(got.contains("200"), "{got}");
    // The close is told too, while still capturing.
    live.line_where("the first close", 20, |l| l.contains("close"));
    // A second page, after the first was printed.
    let req = b"GET /live-two HTTP/1.1\r\nHost: wt.test\r\n\r\n";
    assert!(exchange(port, req).ends_with(b"hello"));
    live.line_where("the second exchange", 20, |l| l.contains("GET /live-two"));
    server.join().unwrap();
    let (file, _) = live.stop();
    let offline = wiretale(&["story"], &file);
    assert!(
        offline.contains("GET /live-one") && offline.contains("GET /live-two"),
        "{offline}"
    );
}

#[test]
fn story_json_events_arrive_while_capturing() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let server = serve(
        l,
        b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
        1,
    );
    let mut live = Live::start(&format!("tcp port {port}"), &["--story", "--json"]);
    let req = b"GET /live-json HTTP/1.1\r\nHost: wt.test\r\n\r\n";
    exchange(port, req);
    let l = live.line_where("the exchange", 20, |l| l.contains("/live-json"));
    let v: Value = serde_json::from_str(&l).unwrap_or_else(|e| panic!("{e}: {l}"));
    assert!(v["kind"].is_string() && v["ts"].is_f64(), "{l}");
    server.join().unwrap();
    let (file, _) = live.stop();
    let offline = wiretale(&["story", "--json"], &file);
    assert!(offline.contains("/live-json"), "{offline}");
}

/// A capture that fails to start (bad filter, or after opening: an unknown `-Z` user)
/// leaves no file of its own behind.
#[test]
fn a_capture_that_fails_to_start_keeps_no_file() {
    common::require_root("live capture");
    for args in [
        &["-f", "udp port", "-c", "1"][..],
        &["-Z", "wt-no-such-user", "-c", "1"],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let o = Command::new(common::bin())
            .args(["capture", "-i", "lo"])
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{args:?}: {o:?}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{args:?} left {left:?}");
    }
}
