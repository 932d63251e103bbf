//! The real binary's terminal UI, driven in tmux: open a capture, go to the
//! connections, open one (phases and ladder), follow it, go back, quit. And, as root, a
//! live capture on loopback that shows the datagrams this test sends.
//!
//! Each test runs its own tmux server (`-L` with a unique socket name) that is killed
//! when the test ends, pass or fail. Without tmux (or, for the live test, without root) the tests fail: they
//! never pass without running.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Longest wait for one screen state.
const WAIT: Duration = Duration::from_secs(10);
/// How long a screen must stay the same to count as drawn ([`Tmux::wait_settled`]).
const SETTLE: Duration = Duration::from_millis(200);

struct Tmux {
    socket: String,
    /// `XDG_CACHE_HOME` of the TUI: the persisted index goes here, never into the
    /// user's cache.
    _cache: Option<tempfile::TempDir>,
}

impl Tmux {
    /// Starts `cmd` in a detached `w`×`h` session, or `None` when tmux is missing.
    fn start(cmd: &str, w: u16, h: u16) -> Tmux {
        let cache = tempfile::tempdir().expect("tempdir");
        let mut t = Self::start_with_cache(cmd, w, h, cache.path());
        t._cache = Some(cache);
        t
    }

    /// [`Tmux::start`] with `XDG_CACHE_HOME=cache`.
    fn start_with_cache(cmd: &str, w: u16, h: u16, cache: &Path) -> Tmux {
        static N: AtomicUsize = AtomicUsize::new(0);
        if Command::new("tmux").arg("-V").output().is_err() {
            panic!("tmux is not installed (tests/setup.sh installs it); a test that cannot run fails instead of passing unrun");
        }
        let socket = format!(
            "wiretale-e2e-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let t = Tmux {
            socket,
            _cache: None,
        };
        // A new server (own socket) takes the environment of this client.
        let ok = Command::new("tmux")
            .env("XDG_CACHE_HOME", cache)
            .args(["-L", &t.socket, "new-session", "-d", "-s", "main"])
            .args(["-x", &w.to_string(), "-y", &h.to_string()])
            .args(["-c", env!("CARGO_MANIFEST_DIR")])
            .arg(cmd)
            .status()
            .expect("run tmux")
            .success();
        assert!(ok, "tmux new-session failed");
        t
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "main"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn alive(&self) -> bool {
        Command::new("tmux")
            .args(["-L", &self.socket, "has-session", "-t", "main"])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let ok = Command::new("tmux")
                .args(["-L", &self.socket, "send-keys", "-t", "main", k])
                .status()
                .expect("tmux send-keys")
                .success();
            assert!(ok, "send-keys {k}");
        }
    }

    /// Waits (at most [`WAIT`]) until the screen contains every one of `want`.
    fn wait_for(&self, want: &[&str]) -> String {
        let t = Instant::now();
        loop {
            let s = self.screen();
            if want.iter().all(|w| s.contains(w)) {
                return s;
            }
            assert!(
                t.elapsed() < WAIT,
                "waited {WAIT:?} for {want:?}; the screen shows:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// [`Tmux::wait_for`], then until two captures [`SETTLE`] apart are equal: a capture
    /// taken while a view switch is being drawn holds rows of both views.
    fn wait_settled(&self, want: &[&str]) -> String {
        let t = Instant::now();
        let mut s = self.wait_for(want);
        loop {
            std::thread::sleep(SETTLE);
            let next = self.wait_for(want);
            if next == s {
                return s;
            }
            assert!(
                t.elapsed() < WAIT,
                "the screen kept changing for {WAIT:?}:\n{next}"
            );
            s = next;
        }
    }

    /// The terminal goes away, as when its window is closed (its server killed).
    fn close(&self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }

    fn wait_gone(&self) {
        let t = Instant::now();
        while self.alive() {
            assert!(t.elapsed() < WAIT, "still running:\n{}", self.screen());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.close();
    }
}

#[test]
fn browse_a_capture_connection_ladder_follow_and_quit() {
    let cmd = format!("{} captures/lab-page.pcap", env!("CARGO_BIN_EXE_wiretale"));
    let t = Tmux::start(&cmd, 120, 40);
    // First screen: the packet list, rows from the file, the field tree of frame 1.
    // The field tree comes from a worker after the rows: wait for it too (a loaded
    // machine drew the list first).
    let s = t.wait_settled(&[
        "175 packets",
        "Standard query 0xe1ad A www.lab.glasscom.com",
        "Frame 1: 80 bytes captured",
    ]);
    assert!(s.contains("52106 → 80 [SYN] Seq=0"), "{s}");
    // Connections: conn 0 is the first lookup's flow, conn 1 the page's HTTP connection.
    t.keys(&["2"]);
    let s = t.wait_settled(&["Server", "198.18.1.80:80", "www.lab.glasscom.com"]);
    assert!(s.contains("HTTP"), "{s}");
    t.keys(&["j", "Enter"]);
    let s = t.wait_settled(&["Connection #1", "SYN/ACK", "handshake RTT"]);
    assert!(s.contains("SYN seq=0 ack=0 len=0"), "ladder: {s}");
    assert!(s.contains("GET www.lab.glasscom.com/"), "phases: {s}");
    // Follow it: the request and the response, reassembled.
    t.keys(&["f"]);
    let s = t.wait_settled(&["Follow #1", "GET / HTTP/1.1", "HTTP/1.1 200 OK"]);
    assert!(s.contains("Host: www.lab.glasscom.com"), "{s}");
    // Back to the connection, then quit.
    t.keys(&["Escape"]);
    let s = t.wait_settled(&["Connection #1", "Timeline"]);
    assert!(!s.contains("Follow #1"), "{s}");
    t.keys(&["q"]);
    t.wait_gone();
}

#[test]
fn jump_to_the_last_packet_and_open_its_connection() {
    let cmd = format!("{} captures/lab-curl.pcap", env!("CARGO_BIN_EXE_wiretale"));
    let t = Tmux::start(&cmd, 80, 24);
    let s = t.wait_settled(&["248 packets"]);
    assert!(!s.lines().any(|l| l.starts_with("248 ")), "{s}");
    t.keys(&["G"]);
    let start = Instant::now();
    while !t.screen().lines().any(|l| l.starts_with("248 ")) {
        assert!(start.elapsed() < WAIT, "row 248 not shown:\n{}", t.screen());
        std::thread::sleep(Duration::from_millis(50));
    }
    // From the last packet to its connection and back to its packets only.
    t.keys(&["Enter"]);
    let s = t.wait_settled(&["Connection #", "Timeline"]);
    assert!(s.contains("last packet"), "{s}");
    t.keys(&["q"]);
    t.wait_gone();
}

/// A QUIC capture: the packet list says QUIC, the status line how to decrypt it, and
/// its Connection view has QUIC's phases and the ladder by number space.
#[test]
fn a_quic_connection_has_its_phases_and_number_spaces() {
    let cmd = format!(
        "{} tests/data/quic/lab/aioquic-retry.pcapng",
        env!("CARGO_BIN_EXE_wiretale")
    );
    let t = Tmux::start(&cmd, 120, 40);
    let s = t.wait_settled(&[
        "28 packets",
        "1 QUIC connection encrypted: open with --tls-keylog FILE",
    ]);
    assert!(s.contains("Retry, DCID=a416cbf776071415"), "{s}");
    t.keys(&["2"]);
    t.wait_for(&["198.18.2.80:443", "quic.lab.glasscom.com", "QUIC"]);
    t.keys(&["Enter"]);
    let s = t.wait_settled(&["Connection #0 UDP/QUIC", "Retry ←", "confirmed"]);
    assert!(s.contains("handshake 2-RTT (Retry) 20.8 ms"), "{s}");
    assert!(s.contains("original DCID 191411ab88b0ce5f"), "{s}");
    assert!(
        s.lines()
            .any(|l| l.contains("│<─") && l.contains("Handshake") && l.contains("1-RTT")),
        "a server datagram with Handshake and 1-RTT packets: {s}"
    );
    assert!(!s.contains("SYN"), "{s}");
    t.keys(&["q"]);
    t.wait_gone();
}

/// The persisted index: the first run saves it under `XDG_CACHE_HOME`, the second
/// reads it (the entry is not rewritten, only its time refreshed) and shows the same
/// connections, and `--no-cache` neither reads nor writes it.
#[test]
fn a_second_open_comes_from_the_index_cache_and_no_cache_writes_nothing() {
    use std::os::unix::fs::MetadataExt;
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = cache.path().join("wiretale");
    let bin = env!("CARGO_BIN_EXE_wiretale");
    let cmd = format!("{bin} captures/lab-page.pcap");
    let entries = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "idx"))
                    .collect()
            })
            .unwrap_or_default()
    };
    let conns_screen = |t: &Tmux| {
        t.wait_for(&["175 packets"]);
        t.keys(&["2"]);
        t.wait_settled(&["198.18.1.80:80", "www.lab.glasscom.com"])
    };
    let t = Tmux::start_with_cache(&cmd, 120, 40, cache.path());
    let first = conns_screen(&t);
    let start = Instant::now();
    while entries().is_empty() {
        assert!(
            start.elapsed() < WAIT,
            "no index saved in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    t.keys(&["q"]);
    t.wait_gone();
    drop(t);
    let [entry] = &entries()[..] else {
        panic!("one entry: {:?}", entries());
    };
    let before = std::fs::metadata(entry).expect("entry");
    std::thread::sleep(Duration::from_millis(20));
    let t = Tmux::start_with_cache(&cmd, 120, 40, cache.path());
    let second = conns_screen(&t);
    t.keys(&["q"]);
    t.wait_gone();
    drop(t);
    let after = std::fs::metadata(entry).expect("entry");
    assert_eq!(before.ino(), after.ino(), "read, not rewritten");
    assert!(
        after.modified().unwrap() > before.modified().unwrap(),
        "use refreshed"
    );
    let rows = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.contains("198.18."))
            .map(str::to_string)
            .collect()
    };
    assert!(!rows(&first).is_empty(), "{first}");
    assert_eq!(rows(&first), rows(&second));
    // --no-cache: nothing read, nothing written.
    std::fs::remove_dir_all(&dir).expect("clear the cache");
    let t = Tmux::start_with_cache(
        &format!("{bin} --no-cache captures/lab-page.pcap"),
        120,
        40,
        cache.path(),
    );
    conns_screen(&t);
    t.keys(&["q"]);
    t.wait_gone();
    assert!(!dir.exists(), "--no-cache wrote {}", dir.display());
}

/// Live capture on loopback (root only): the UDP datagrams this test sends appear.
#[test]
fn live_capture_on_loopback_shows_the_traffic() {
    common::require_root("live capture");
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let rx = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = rx.local_addr().expect("addr").port();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("live.pcap");
    let cmd = format!(
        "{} -i lo -f 'udp port {port}' -w {}",
        env!("CARGO_BIN_EXE_wiretale"),
        file.display()
    );
    let t = Tmux::start(&cmd, 120, 40);
    t.wait_for(&["lo"]);
    // Send until the datagrams show (bounded: at most WAIT).
    let start = Instant::now();
    let mut sent = 0u32;
    loop {
        for _ in 0..5 {
            sock.send_to(
                format!("wiretale e2e {sent}").as_bytes(),
                ("127.0.0.1", port),
            )
            .expect("send");
            sent += 1;
        }
        let s = t.screen();
        if s.contains(&format!("→ {port} Len=")) {
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "no datagram shown after {sent}:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let s = t.wait_for(&["UDP", "127.0.0.1"]);
    assert!(
        s.contains(&file.display().to_string()),
        "capture file named: {s}"
    );
    // Quitting a live capture asks first.
    t.keys(&["q"]);
    t.wait_for(&["Stop the live capture"]);
    t.keys(&["y"]);
    t.wait_gone();
    let n = count_packets(&file);
    assert!(n >= 5, "the capture file holds the datagrams ({n})");
}

/// Closing the terminal ends the TUI, whether the hangup's SIGHUP reaches it or not.
/// Without SIGHUP (here: the TUI in a session of its own, as under `nohup` or a
/// tracer) it used to run on for ever, one core busy in crossterm's reader.
#[test]
fn closing_the_terminal_ends_the_tui() {
    for (how, wrap) in [("SIGHUP", ""), ("no SIGHUP", "setsid -w ")] {
        let (_dir, t, pid) = tui_in_tmux(wrap, "");
        let proc_dir = Path::new("/proc").join(&pid);
        assert!(running(&proc_dir), "{how}: the TUI runs");
        t.close();
        wait_gone(&proc_dir, &format!("{how}: its terminal closed"));
    }
}

/// SIGTERM (a `kill`) ends the TUI as quitting does: the terminal is restored (the
/// shell's next line shows on the normal screen) and the exit status is 0.
#[test]
fn sigterm_restores_the_terminal_and_exits() {
    let (_dir, t, pid) = tui_in_tmux("", "echo exit status $?; sleep 60");
    sigterm(&pid);
    let s = t.wait_for(&["exit status 0"]);
    assert!(!s.contains("175 packets"), "the TUI's screen was left: {s}");
}

/// A `kill` followed at once by the terminal closing (a script's cleanup: `kill PID;
/// tmux kill-session`) ends the TUI too. The loop ends on SIGTERM while the terminal is
/// still there, and the terminal hangs up while the loop waits for its input thread,
/// which then spins inside crossterm: the TUI used to wait for it for ever (1 of 8 such
/// cleanups by hand left one at 100 % of a core). The gap between the two varies over
/// the runs to land in that window; no SIGHUP reaches the TUI (`setsid -w`).
#[test]
fn a_kill_then_the_terminal_closing_ends_the_tui() {
    for gap_ms in [0u64, 20, 40, 60, 80, 100] {
        let (_dir, t, pid) = tui_in_tmux("setsid -w ", "");
        let proc_dir = Path::new("/proc").join(&pid);
        sigterm(&pid);
        std::thread::sleep(Duration::from_millis(gap_ms));
        t.close();
        wait_gone(
            &proc_dir,
            &format!("a kill and its terminal closing {gap_ms} ms later"),
        );
    }
}

/// The TUI on the lab page in a terminal of its own, started as `{wrap}sh SCRIPT` (see
/// [`tui_script`]) and shown: the script's directory (kept while it runs), the terminal
/// and the TUI's pid.
fn tui_in_tmux(wrap: &str, after: &str) -> (tempfile::TempDir, Tmux, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (script, pidfile) = tui_script(dir.path(), after);
    let t = Tmux::start(&format!("{wrap}sh {}", script.display()), 120, 40);
    t.wait_for(&["175 packets"]);
    let pid = std::fs::read_to_string(&pidfile).expect("pid file");
    (dir, t, pid.trim().to_string())
}

/// `kill -TERM pid`, which must be delivered.
fn sigterm(pid: &str) {
    let ok = Command::new("kill")
        .args(["-TERM", pid])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill -TERM {pid}");
}

/// A script in `dir` that runs the TUI on the lab page in a shell that first writes its
/// pid (the TUI's, after `exec`) to the returned pid file, then runs `after`.
fn tui_script(dir: &Path, after: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let script = dir.join("tui.sh");
    let pidfile = dir.join("pid");
    std::fs::write(
        &script,
        format!(
            "sh -c 'echo $$ > {}; exec {} captures/lab-page.pcap'\n{after}\n",
            pidfile.display(),
            env!("CARGO_BIN_EXE_wiretale")
        ),
    )
    .expect("write script");
    (script, pidfile)
}

/// Waits (at most [`WAIT`]) until the process whose `/proc` directory is `dir` has
/// ended; else kills it (a spinning TUI must not outlive the test) and fails, saying
/// `after` what it still ran.
fn wait_gone(dir: &Path, after: &str) {
    let start = Instant::now();
    while running(dir) {
        if start.elapsed() > WAIT {
            if let Some(pid) = dir.file_name().and_then(|p| p.to_str()) {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
            panic!("the TUI still runs {WAIT:?} after {after}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether the process whose `/proc` directory is `dir` still runs (a zombie does not).
fn running(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("stat")).is_ok_and(|st| {
        st.rsplit(')')
            .next()
            .is_some_and(|r| !r.trim_start().starts_with('Z'))
    })
}

fn count_packets(p: &Path) -> usize {
    let mut s = wiretale::capture::FrameStore::open(p).expect("open capture file");
    s.index_all();
    s.len()
}
