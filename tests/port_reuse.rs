//! Port reuse on real traffic: one client port connects to one server port twenty times
//! (each connection closed with RST so the tuple is free at once), captured live on
//! loopback by `wiretale capture`; `conns` must find twenty connections, not one.
//! Needs root for the capture; elsewhere it fails rather than pass unrun.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CLIENT: &str = r#"
import socket, struct, sys, time
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[2]))); srv.listen(64)
for i in range(20):
    c = socket.socket(); c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.bind(("127.0.0.1", int(sys.argv[1]))); c.connect(("127.0.0.1", int(sys.argv[2])))
    s, _ = srv.accept()
    c.sendall(b"hello %d\n" % i); s.recv(64); s.sendall(b"ok\n"); c.recv(64)
    c.close(); s.close()
    time.sleep(0.01)
"#;

#[test]
fn twenty_connections_on_one_tuple_are_twenty_connections() {
    common::require_root("live capture on lo");
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("reuse.pcap");
    let (cport, sport) = (
        47000 + std::process::id() % 500,
        47600 + std::process::id() % 300,
    );
    let filter = format!("tcp port {sport}");
    let mut cap = Command::new(common::bin())
        .args(["capture", "-i", "lo", "-q", "-f", &filter, "-w"])
        .arg(&pcap)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (bounded) until the capture is running.
    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(500));
    assert!(cap.try_wait().unwrap().is_none(), "capture exited early");
    let out = Command::new("timeout")
        .args([
            "20",
            "python3",
            "-c",
            CLIENT,
            &cport.to_string(),
            &sport.to_string(),
        ])
        .output()
        .expect("python3");
    std::thread::sleep(Duration::from_millis(300));
    let _ = Command::new("kill")
        .args(["-INT", &cap.id().to_string()])
        .status();
    while cap.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    if cap.try_wait().unwrap().is_none() {
        let _ = cap.kill();
        panic!("capture did not stop on SIGINT");
    }
    assert!(
        out.status.success(),
        "client: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conns = Command::new(common::bin())
        .args(["conns", "--json"])
        .arg(&pcap)
        .output()
        .unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(conns.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 20, "one tuple, twenty connections");
    for c in &lines {
        assert_eq!(c["client"]["port"], cport);
        assert_eq!(c["server"]["port"], sport);
        assert_eq!(
            c["bytes"]["server"], 3,
            "each connection carried its own exchange: {c}"
        );
        assert_eq!(c["close"]["how"], "rst");
    }
}
