//! `-Y`, `-f` and `export` end to end through the real binary, on the project's lab
//! captures (`captures/lab-page.pcap`, `captures/lab-curl.pcap`) and the shared corpus.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{bin, shared_root};
use serde_json::Value;
use wiretale::base::PacketId;
use wiretale::capture::FrameStore;

fn lab(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
}

struct Out {
    stdout: String,
    stderr: String,
    status: i32,
}

fn run(args: &[&str], file: &Path) -> Out {
    let o = Command::new(bin())
        .args(&args[..1])
        .arg(file)
        .args(&args[1..])
        .output()
        .expect("run wiretale");
    Out {
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        status: o.status.code().unwrap_or(-1),
    }
}

fn json_lines(o: &Out) -> Vec<Value> {
    assert_eq!(o.status, 0, "{}", o.stderr);
    o.stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect(l))
        .collect()
}

/// Frame numbers `packets FILE -Y EXPR` prints.
fn frames(file: &Path, expr: &str) -> Vec<u64> {
    json_lines(&run(&["packets", "--json", "-Y", expr], file))
        .iter()
        .map(|v| v["n"].as_u64().unwrap())
        .collect()
}

#[test]
fn packets_y_selects_the_redirect() {
    // lab-curl.pcap: connection 5 asks for /old/ and gets a 301.
    let lines = json_lines(&run(
        &["packets", "--json", "-Y", "http.response.code == 301"],
        &lab("lab-curl.pcap"),
    ));
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0]["info"].as_str().unwrap().contains("301"));
    assert_eq!(lines[0]["conn"], 5);
    // The request of that exchange is selected by its own fields.
    let req = frames(
        &lab("lab-curl.pcap"),
        "http.request.uri == \"/old/\" && http.request.method == \"GET\"",
    );
    assert_eq!(req.len(), 1);
    assert!(req[0] < lines[0]["n"].as_u64().unwrap());
}

#[test]
fn packets_y_uses_stream_numbers_and_times_of_the_whole_file() {
    let f = lab("lab-page.pcap");
    let all = json_lines(&run(&["packets", "--json"], &f));
    let syn = frames(&f, "tcp.flags.syn == 1 && tcp.flags.ack == 0");
    let tcp_conns: BTreeSet<u64> = all
        .iter()
        .filter(|v| v["proto"] != "dns" && v["proto"] != "udp")
        .filter_map(|v| v["conn"].as_u64())
        .collect();
    assert_eq!(syn.len(), tcp_conns.len(), "one SYN per TCP connection");
    // Stream n is the (n+1)-th TCP connection to start.
    let first = frames(&f, "tcp.stream == 0");
    assert_eq!(first.first(), syn.first());
    // frame.number is the file's, whatever is filtered out.
    assert_eq!(frames(&f, "frame.number == 42"), vec![42]);
}

#[test]
fn conn_fields_need_the_end_of_the_connection_and_still_work() {
    let f = lab("lab-page.pcap");
    let rej = frames(&f, "conn.state == \"SF\" && tcp.flags.fin == 1");
    assert!(!rej.is_empty());
    let named = frames(&f, "conn.name contains \"static\"");
    assert!(!named.is_empty());
    let conns: BTreeSet<u64> = json_lines(&run(
        &["packets", "--json", "-Y", "conn.name contains \"static\""],
        &f,
    ))
    .iter()
    .map(|v| v["conn"].as_u64().unwrap())
    .collect();
    assert_eq!(conns, BTreeSet::from([34]));
}

#[test]
fn conns_y_keeps_conns_by_packets_or_own_fields() {
    let f = lab("lab-page.pcap");
    let ids = |expr: &str| -> Vec<u64> {
        json_lines(&run(&["conns", "--json", "-Y", expr], &f))
            .iter()
            .map(|v| v["id"].as_u64().unwrap())
            .collect()
    };
    // By packets: the two lookups of static.lab.glasscom.com.
    assert_eq!(ids("dns.qry.name contains \"static\""), vec![30, 31]);
    // By the connection's own name (known only when it ends).
    assert_eq!(ids("conn.name contains \"static\""), vec![34]);
    assert_eq!(ids("tcp.stream == 2"), vec![29]);
    assert_eq!(ids("conn.id == 7"), vec![7]);
    assert!(ids("ip.addr == 203.0.113.1").is_empty());
}

#[test]
fn dns_http_story_follow_y() {
    let f = lab("lab-page.pcap");
    let dns = json_lines(&run(
        &["dns", "--json", "-Y", "dns.qry.name contains \"static\""],
        &f,
    ));
    assert_eq!(dns.len(), 2);
    assert!(dns
        .iter()
        .all(|t| t["qname"].as_str().unwrap().contains("static")));
    let http = json_lines(&run(
        &["http", "--json", "-Y", "http.response.code == 301"],
        &lab("lab-curl.pcap"),
    ));
    assert_eq!(http.len(), 1);
    assert_eq!(http[0]["status"], 301);
    assert_eq!(http[0]["uri"], "/old/");
    // A transaction is kept by its connection's packets too (tcp.port on every packet).
    let by_ip = json_lines(&run(
        &["http", "--json", "-Y", "ip.addr == 198.18.1.81"],
        &f,
    ));
    assert!(!by_ip.is_empty());
    assert!(by_ip.iter().all(|t| t["conn"] == 34 || t["conn"] == 35));
    let story_all = run(&["story"], &f);
    let story = run(&["story", "-Y", "ip.addr == 198.18.1.81"], &f);
    assert_eq!(story.status, 0, "{}", story.stderr);
    assert!(story.stdout.contains("#34") && story.stdout.contains("#35"));
    assert!(!story.stdout.contains("#28 "), "{}", story.stdout);
    assert!(story.stdout.len() < story_all.stdout.len());
    let yes = run(
        &[
            "follow",
            "--conn",
            "34",
            "-Y",
            "http.host contains \"static\"",
        ],
        &f,
    );
    assert!(yes.stdout.contains("GET /static/app.js"), "{}", yes.stderr);
    let no = run(
        &[
            "follow",
            "--conn",
            "35",
            "-Y",
            "http.host contains \"static\"",
        ],
        &f,
    );
    assert!(no.stdout.is_empty());
    assert!(no.stderr.contains("does not match"));
}

#[test]
fn bad_filter_is_a_caret_error_before_any_output() {
    let f = lab("lab-page.pcap");
    for cmd in ["packets", "conns", "dns", "http", "story"] {
        let o = run(&[cmd, "-Y", "tcp.port == 80 && ip.adr == 1"], &f);
        assert_eq!(o.status, 1, "{cmd}");
        assert!(o.stdout.is_empty(), "{cmd}: {}", o.stdout);
        assert!(o.stderr.contains("ip.adr"), "{cmd}: {}", o.stderr);
        assert!(
            o.stderr.contains("\n                  ^~~~~~"),
            "{cmd}: {}",
            o.stderr
        );
    }
    let o = run(&["follow", "--conn", "1", "-Y", "tcp.port =="], &f);
    assert_eq!((o.status, o.stdout.is_empty()), (1, true));
    let o = Command::new(bin())
        .args(["export"])
        .arg(&f)
        .args(["-Y", "ip.adr == 1", "-w"])
        .arg(std::env::temp_dir().join("wiretale-never-written.pcap"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(!std::env::temp_dir()
        .join("wiretale-never-written.pcap")
        .exists());
}

#[test]
fn capture_filter_on_a_file_keeps_frame_numbers() {
    let f = lab("lab-page.pcap");
    let bpf = json_lines(&run(&["packets", "--json", "-f", "tcp port 80"], &f));
    let n: Vec<u64> = bpf.iter().map(|v| v["n"].as_u64().unwrap()).collect();
    assert_eq!(n, frames(&f, "tcp.port == 80"));
    assert!(bpf.iter().all(|v| v["sport"] == 80 || v["dport"] == 80));
    // -f and -Y together.
    let both = json_lines(&run(
        &["packets", "--json", "-f", "tcp port 80", "-Y", "http"],
        &f,
    ));
    assert_eq!(both.len(), frames(&f, "http").len());
    let bad = run(&["packets", "-f", "tcp prt 80"], &f);
    assert_eq!((bad.status, bad.stdout.is_empty()), (1, true));
    assert!(bad.stderr.contains("capture filter"));
}

/// Exports `file` with `expr` to `out` and checks the output holds exactly the frames
/// `packets -Y` selects, with the same bytes, times, lengths, interfaces and comments.
fn export_round_trip(file: &Path, expr: &str, ext: &str) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(format!("out.{ext}"));
    let o = Command::new(bin())
        .arg("export")
        .arg(file)
        .args(["-Y", expr, "-w"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let want = frames(file, expr);
    let mut orig = FrameStore::open(file).unwrap();
    orig.index_all();
    let mut got = FrameStore::open(&out).unwrap();
    assert!(got.index_all().is_none(), "exported file reads cleanly");
    assert_eq!(got.len(), want.len(), "{expr}");
    for (i, n) in want.iter().enumerate() {
        let a = orig.frame(PacketId(*n as u32 - 1)).unwrap();
        let b = got.frame(PacketId(i as u32)).unwrap();
        assert_eq!(a.data, b.data, "frame {n}");
        assert_eq!(a.meta.ts, b.meta.ts, "frame {n}");
        assert_eq!(a.meta.origlen, b.meta.origlen, "frame {n}");
        assert_eq!(a.meta.link, b.meta.link, "frame {n}");
        if ext == "pcapng" {
            assert_eq!(a.meta.iface, b.meta.iface, "frame {n}");
            assert_eq!(
                orig.comments(a.meta.id),
                got.comments(b.meta.id),
                "frame {n}"
            );
        }
    }
    want.len()
}

#[test]
fn export_round_trips() {
    let page = lab("lab-page.pcap");
    assert!(export_round_trip(&page, "http", "pcap") > 10);
    assert!(export_round_trip(&page, "tcp.stream == 1 or dns", "pcapng") > 10);
    assert_eq!(
        export_round_trip(&page, "ip.addr == 203.0.113.1", "pcap"),
        0
    );
    let root = shared_root();
    let multi = root.join("zeek/pcapng-multi-interface.pcapng");
    assert_eq!(export_round_trip(&multi, "frame.number > 1", "pcapng"), 5);
    // test009.pcapng carries packet comments.
    let commented = root.join("pcapng-test-generator/test009.pcapng");
    assert_eq!(export_round_trip(&commented, "frame", "pcapng"), 2);
    let mut s = FrameStore::open(&commented).unwrap();
    s.index_all();
    assert!(
        !s.comments(PacketId(1)).is_empty(),
        "the test needs comments"
    );
}

#[test]
fn export_to_pcap_refuses_mixed_link_types_but_pcapng_keeps_them() {
    use wiretale::base::LinkType;
    use wiretale::capture::PcapngWriter;
    // Two interfaces: Ethernet (lab-page.pcap frames as captured) and raw IP (the same
    // frames without their 14-byte Ethernet header).
    let dir = tempfile::tempdir().unwrap();
    let mixed = dir.path().join("mixed.pcapng");
    let mut src = FrameStore::open(&lab("lab-page.pcap")).unwrap();
    src.index_all();
    let mut w = PcapngWriter::new(std::fs::File::create(&mixed).unwrap(), "test", &[]).unwrap();
    let eth = w
        .add_interface(LinkType::ETHERNET, 65535, Some("eth0"), None)
        .unwrap();
    let raw = w
        .add_interface(LinkType::RAW, 65535, Some("tun0"), None)
        .unwrap();
    for i in 0..20u32 {
        let f = src.frame(PacketId(i)).unwrap();
        let (iface, data) = if i % 2 == 0 {
            (eth, f.data)
        } else {
            (raw, &f.data[14..])
        };
        w.write_packet(iface, f.meta.ts, data, data.len() as u32, &[])
            .unwrap();
    }
    w.flush().unwrap();
    drop(w);
    let out = dir.path().join("out.pcap");
    let o = Command::new(bin())
        .arg("export")
        .arg(&mixed)
        .args(["-Y", "ip", "-w"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(".pcapng"), "{err}");
    assert!(!out.exists());
    assert_eq!(export_round_trip(&mixed, "ip", "pcapng"), 20);
}
