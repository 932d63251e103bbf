//! The HTTP/3 lab's race and migration scenarios (issue 16; `tests/lab/quic.sh`
//! chromium-altsvc and aioquic-migrate): what the committed fixtures of
//! tests/data/quic/lab/ hold, checked without tshark against the servers' and the client's
//! own logs and the committed tshark truth; and a live run of the migration scenario.
//!
//! - chromium-altsvc: Chromium, not forced onto QUIC, loads a page over h2 on TCP + TLS,
//!   the response carries `Alt-Svc: h3=":443"`, and the page's later requests go over one
//!   QUIC connection to the same address, started only after that response.
//! - aioquic-migrate: a DNS lookup, then one QUIC connection that changes its destination
//!   connection ID, then its local port (the server validates the new path with
//!   PATH_CHALLENGE / PATH_RESPONSE), with requests in each segment.
//! - aioquic-keyupdate / aioquic-v2 (fixtures only): a 1-RTT key update each way, and a
//!   connection that starts in QUIC v1 and continues in v2 (compatible version negotiation).
//!
//! The live test needs root and the aioquic venv (tests/setup.sh); it fails, never passes
//! unrun, without them.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/quic/lab")
        .join(name)
}

/// One UDP or TCP packet to or from port 443, or a DNS datagram (port 53), in file order.
#[derive(Debug)]
struct Pkt {
    /// 1-based frame number, as tshark counts
    frame: usize,
    udp: bool,
    from_client: bool,
    /// the client's port (the side that is not 443 / 53)
    client_port: u16,
    dns: bool,
    payload: Vec<u8>,
}

fn packets(pcap: &Path) -> Vec<Pkt> {
    let mut cap = pcap::Capture::from_file(pcap).expect("open the lab capture");
    let mut out = Vec::new();
    let mut frame = 0;
    while let Ok(p) = cap.next_packet() {
        frame += 1;
        let Ok(s) = etherparse::SlicedPacket::from_ethernet(p.data) else {
            continue;
        };
        let (udp, sp, dp, payload) = match &s.transport {
            Some(etherparse::TransportSlice::Udp(u)) => {
                (true, u.source_port(), u.destination_port(), u.payload())
            }
            Some(etherparse::TransportSlice::Tcp(t)) => {
                (false, t.source_port(), t.destination_port(), t.payload())
            }
            _ => continue,
        };
        let (from_client, client_port, dns) = match (sp, dp) {
            (c, 443) => (true, c, false),
            (443, c) => (false, c, false),
            (c, 53) if udp => (true, c, true),
            (53, c) if udp => (false, c, true),
            _ => continue,
        };
        out.push(Pkt {
            frame,
            udp,
            from_client,
            client_port,
            dns,
            payload: payload.to_vec(),
        });
    }
    out
}

fn is_quic(p: &Pkt) -> bool {
    p.udp && !p.dns
}

/// A short-header (1-RTT) packet's destination connection ID, when its length is known
/// (RFC 9000 §17.3: the header does not carry it; aioquic's IDs are 8 bytes).
fn short_dcid(payload: &[u8], len: usize) -> Option<String> {
    let b0 = *payload.first()?;
    if b0 & 0x80 != 0 || b0 & 0x40 == 0 {
        return None;
    }
    Some(hex(payload.get(1..1 + len)?))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A TSV file's lines, split.
fn tsv(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// NSS key log: the client randoms under `label`.
fn randoms(path: &Path, label: &str) -> BTreeSet<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 3 && f[0] == label).then(|| f[1].to_string())
        })
        .collect()
}

/// The HTTP/3 request log (tests/lab/quic_app.py): (client port, path, status).
fn h3_requests(path: &Path) -> Vec<(u16, String, String)> {
    tsv(path)
        .into_iter()
        .map(|f| {
            assert_eq!(f.len(), 9, "an h3 log line: {f:?}");
            let port = f[0].rsplit(':').next().unwrap().parse().unwrap();
            (port, f[4].clone(), f[5].clone())
        })
        .collect()
}

#[test]
fn the_race_capture_holds_h2_with_alt_svc_then_one_quic_connection() {
    let pkts = packets(&fixture("chromium-altsvc.pcapng"));
    let size = std::fs::metadata(fixture("chromium-altsvc.pcapng"))
        .unwrap()
        .len();
    assert!(size < 200_000, "a small capture ({size} bytes)");
    let tcp_ports: BTreeSet<u16> = pkts
        .iter()
        .filter(|p| !p.udp)
        .map(|p| p.client_port)
        .collect();
    let quic_ports: BTreeSet<u16> = pkts
        .iter()
        .filter(|p| is_quic(p))
        .map(|p| p.client_port)
        .collect();
    assert!(!tcp_ports.is_empty(), "TCP 443 connections");
    assert_eq!(quic_ports.len(), 1, "one QUIC connection: {quic_ports:?}");

    // nginx's log: the page and its first subresources over HTTP/2, on one connection
    let h2 = tsv(&fixture("chromium-altsvc.h2.tsv"));
    assert!(h2
        .iter()
        .all(|f| f.len() == 10 && f[9] == "HTTP/2.0" && f[5] == "200"));
    let h2_paths: Vec<&str> = h2.iter().map(|f| f[4].as_str()).collect();
    assert_eq!(
        h2_paths,
        ["/race.html", "/static/site.css", "/dir1/img/logo.png"]
    );
    // aioquic's log: the page's later requests over HTTP/3, from the QUIC connection's port
    let h3 = h3_requests(&fixture("chromium-altsvc.h3.tsv"));
    let h3_paths: BTreeSet<&str> = h3.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        h3_paths,
        BTreeSet::from(["/dir1/img/photo.png", "/static/app.js"])
    );
    assert!(h3.iter().all(|r| quic_ports.contains(&r.0) && r.2 == "200"));

    // tshark's HTTP/2 view: the page's response announces h3 on UDP 443, and the first
    // QUIC datagram comes after it (Alt-Svc led to QUIC, RFC 7838 / RFC 9114 §3.1.1)
    let truth = tsv(&fixture("truth/chromium-altsvc.http2.tsv"));
    let head = &truth[0];
    let col = |n: &str| head.iter().position(|h| h == n).unwrap();
    let (names, values, status) = (
        col("http2.header.name"),
        col("http2.header.value"),
        col("http2.headers.status"),
    );
    let alt_svc_frame = truth[1..]
        .iter()
        .find_map(|f| {
            let names: Vec<&str> = f[names].split('|').collect();
            let values: Vec<&str> = f[values].split('|').collect();
            let i = names.iter().position(|n| *n == "alt-svc")?;
            assert_eq!(values[i], "h3=\":443\"; ma=86400");
            assert_eq!(f[status], "200");
            Some(f[0].parse::<usize>().unwrap())
        })
        .expect("an Alt-Svc header in the h2 responses");
    let first_quic = pkts.iter().find(|p| is_quic(p)).unwrap();
    assert!(
        first_quic.frame > alt_svc_frame,
        "QUIC (frame {}) starts after the Alt-Svc response (frame {alt_svc_frame})",
        first_quic.frame
    );
    assert!(first_quic.from_client);
    assert_eq!(
        first_quic.payload.first().map(|b| b & 0xf0),
        Some(0xc0),
        "an Initial"
    );
    // every TCP connection arrives before the QUIC one: h2 first
    let first_tcp = pkts.iter().find(|p| !p.udp).unwrap();
    assert!(first_tcp.frame < first_quic.frame);

    // Chromium's key log covers every connection (each TLS handshake over TCP, the QUIC
    // one); the server's (aioquic) holds the QUIC connection's secrets, the same ones.
    let client = randoms(&fixture("chromium-altsvc.keys"), "CLIENT_TRAFFIC_SECRET_0");
    let server = randoms(
        &fixture("chromium-altsvc.server.keys"),
        "CLIENT_TRAFFIC_SECRET_0",
    );
    assert_eq!(client.len(), tcp_ports.len() + 1, "{client:?}");
    assert_eq!(server.len(), 1);
    assert!(server.is_subset(&client));
}

/// The migration's checks, on a capture and the logs of a run (fixture or live).
fn check_migration(pcap: &Path, migrate_log: &Path, h3_log: &Path, keys: &Path) {
    let pkts = packets(pcap);
    // the client's own log: step, time, local port, the DCID it sends with, detail
    let steps = tsv(migrate_log);
    let step = |name: &str| {
        steps
            .iter()
            .find(|f| f[0] == name)
            .unwrap_or_else(|| panic!("step {name} in {steps:?}"))
    };
    let (connected, changed, rebound) = (step("connected"), step("change_cid"), step("rebind"));
    let port = |f: &Vec<String>| f[2].parse::<u16>().unwrap();
    assert_eq!(
        port(connected),
        port(changed),
        "a CID change keeps the port"
    );
    assert_ne!(
        port(changed),
        port(rebound),
        "the rebinding moves to a new port"
    );
    let dcids = [&connected[3], &changed[3], &rebound[3]];
    assert_eq!(
        dcids.iter().collect::<BTreeSet<_>>().len(),
        3,
        "three connection IDs: {dcids:?}"
    );
    let len = connected[3].len() / 2;

    // The lookup comes first: a DNS query for the server's name and an answer with its
    // address (198.18.2.80), before any QUIC packet.
    let first_quic = pkts.iter().position(is_quic).expect("QUIC packets");
    let qname = b"\x04quic\x03lab\x08glasscom\x03com\x00";
    let has = |p: &Pkt, needle: &[u8]| p.payload.windows(needle.len()).any(|w| w == needle);
    assert!(
        pkts[..first_quic]
            .iter()
            .any(|p| p.dns && p.from_client && has(p, qname)),
        "a DNS query for quic.lab.glasscom.com before the connection"
    );
    assert!(
        pkts[..first_quic]
            .iter()
            .any(|p| p.dns && !p.from_client && has(p, qname) && has(p, &[198, 18, 2, 80])),
        "its answer, 198.18.2.80"
    );

    // One connection on two client ports: long headers (the handshake) only on the first;
    // the client's 1-RTT packets use the three IDs in order, the last only from the new port.
    let quic: Vec<&Pkt> = pkts.iter().filter(|p| is_quic(p)).collect();
    let ports: BTreeSet<u16> = quic.iter().map(|p| p.client_port).collect();
    assert_eq!(ports, BTreeSet::from([port(connected), port(rebound)]));
    assert!(quic
        .iter()
        .filter(|p| p.payload[0] & 0x80 != 0)
        .all(|p| p.client_port == port(connected)));
    let mut seen: Vec<(String, u16)> = Vec::new();
    for p in quic.iter().filter(|p| p.from_client) {
        if let Some(d) = short_dcid(&p.payload, len) {
            if seen.last().map(|s| &s.0) != Some(&d) {
                seen.push((d, p.client_port));
            }
        }
    }
    let want: Vec<(String, u16)> = vec![
        (connected[3].clone(), port(connected)),
        (changed[3].clone(), port(changed)),
        (rebound[3].clone(), port(rebound)),
    ];
    assert_eq!(
        seen, want,
        "the client's destination connection IDs, in order"
    );
    // the server answers on the new path, and changes its own DCID for it too (§9.5)
    let server_ids = |port: u16| -> BTreeSet<String> {
        quic.iter()
            .filter(|p| !p.from_client && p.client_port == port)
            .filter_map(|p| short_dcid(&p.payload, len))
            .collect()
    };
    let (old, new) = (server_ids(port(connected)), server_ids(port(rebound)));
    assert!(!new.is_empty(), "the server answers on the new port");
    assert!(old.is_disjoint(&new), "{old:?} / {new:?}");

    // The server saw the requests of each segment from the right port.
    let reqs = h3_requests(h3_log);
    assert!(reqs.iter().all(|r| r.2 == "200"), "{reqs:?}");
    let by_port = |p: u16| reqs.iter().filter(|r| r.0 == p).count();
    assert_eq!(by_port(port(connected)), 2, "{reqs:?}");
    assert_eq!(by_port(port(rebound)), 2, "{reqs:?}");
    assert_eq!(randoms(keys, "CLIENT_TRAFFIC_SECRET_0").len(), 1);
}

#[test]
fn the_migration_capture_holds_a_lookup_a_cid_change_and_a_new_path() {
    let pcap = fixture("aioquic-migrate.pcapng");
    let size = std::fs::metadata(&pcap).unwrap().len();
    assert!(size < 200_000, "a small capture ({size} bytes)");
    check_migration(
        &pcap,
        &fixture("aioquic-migrate.migrate.tsv"),
        &fixture("aioquic-migrate.h3.tsv"),
        &fixture("aioquic-migrate.keys"),
    );
    // tshark with the key log saw the path validation: PATH_CHALLENGE (0x1a) from the
    // server to the new port, PATH_RESPONSE (0x1b) from it, and RETIRE_CONNECTION_ID (0x19)
    let truth = tsv(&fixture("truth/aioquic-migrate.quic.tsv"));
    let head = &truth[0];
    let col = |n: &str| head.iter().position(|h| h == n).unwrap();
    let (src, dst, ty) = (
        col("udp.srcport"),
        col("udp.dstport"),
        col("quic.frame_type"),
    );
    let steps = tsv(&fixture("aioquic-migrate.migrate.tsv"));
    let new_port = steps.iter().find(|f| f[0] == "rebind").unwrap()[2].clone();
    let frames = |from: &str, to: &str, t: &str| {
        truth[1..]
            .iter()
            .filter(|f| f[src] == from && f[dst] == to && f[ty].split(',').any(|x| x == t))
            .count()
    };
    assert!(frames("443", &new_port, "26") >= 1, "PATH_CHALLENGE");
    assert!(frames(&new_port, "443", "27") >= 1, "PATH_RESPONSE");
    assert!(truth[1..]
        .iter()
        .any(|f| f[ty].split(',').any(|x| x == "25")));
}

#[test]
fn the_quic_lab_captures_a_lookup_and_a_connection_that_migrates() {
    let dir = common::run_quic_lab("aioquic-migrate", "wqm");
    let d = dir.path();
    check_migration(
        &d.join("lab.pcap"),
        &d.join("migrate.tsv"),
        &d.join("h3-requests.tsv"),
        &d.join("keys.log"),
    );
}

#[test]
#[ignore = "needs chromium (not installed by tests/setup.sh); run with --run-ignored"]
fn the_quic_lab_captures_chromium_moving_from_h2_to_http3_by_alt_svc() {
    let dir = common::run_quic_lab("chromium-altsvc", "wqs");
    let d = dir.path();
    let pkts = packets(&d.join("lab.pcap"));
    let h2 = tsv(&d.join("h2-requests.tsv"));
    assert_eq!(h2[0][4], "/race.html", "the page over h2: {h2:?}");
    assert!(h2.iter().all(|f| f[9] == "HTTP/2.0"));
    let h3 = h3_requests(&d.join("h3-requests.tsv"));
    assert!(!h3.is_empty(), "later requests over HTTP/3");
    let h2_paths: BTreeSet<&str> = h2.iter().map(|f| f[4].as_str()).collect();
    assert!(h3.iter().all(|r| !h2_paths.contains(r.1.as_str())));
    let first_quic = pkts.iter().find(|p| is_quic(p)).expect("QUIC packets");
    let first_tcp = pkts.iter().find(|p| !p.udp).expect("TCP packets");
    assert!(first_tcp.frame < first_quic.frame, "h2 first");
}

/// tshark's header view (`truth/NAME.hdr.tsv`): per frame, the named columns' values.
fn hdr_truth(name: &str, cols: &[&str]) -> Vec<Vec<String>> {
    let t = tsv(&fixture(&format!("truth/{name}.hdr.tsv")));
    let idx: Vec<usize> = cols
        .iter()
        .map(|c| t[0].iter().position(|h| h == c).unwrap())
        .collect();
    t[1..]
        .iter()
        .map(|f| idx.iter().map(|i| f[*i].clone()).collect())
        .collect()
}

#[test]
fn the_key_update_capture_flips_the_key_phase_once_each_way() {
    let rows = hdr_truth(
        "aioquic-keyupdate",
        &["udp.srcport", "quic.key_phase", "frame.number"],
    );
    assert_eq!(rows.len(), quic_datagram_count("aioquic-keyupdate"));
    for from_client in [true, false] {
        // the Key Phase bits of this side's 1-RTT packets, runs collapsed: 0 then 1
        let mut phases: Vec<&str> = rows
            .iter()
            .filter(|r| (r[0] != "443") == from_client && !r[1].is_empty())
            .map(|r| r[1].as_str())
            .collect();
        phases.dedup();
        assert_eq!(phases, ["0", "1"], "from client: {from_client}");
    }
    // the client moves first (RFC 9001 §6.1: the initiator)
    let first_kp1 = rows.iter().find(|r| r[1] == "1").unwrap();
    assert_ne!(first_kp1[0], "443", "{first_kp1:?}");
    assert_eq!(
        h3_requests(&fixture("aioquic-keyupdate.h3.tsv")).len(),
        3,
        "3 GETs"
    );
}

#[test]
fn the_v2_capture_starts_in_v1_and_continues_in_v2() {
    let rows = hdr_truth(
        "aioquic-v2",
        &["udp.srcport", "quic.version", "quic.long.packet_type_v2"],
    );
    assert_eq!(rows.len(), quic_datagram_count("aioquic-v2"));
    // only the client's first Initial is v1; every later long header is v2 (0x6b3343cf)
    let long: Vec<&Vec<String>> = rows.iter().filter(|r| !r[1].is_empty()).collect();
    assert_eq!(long[0][1], "0x00000001");
    assert_ne!(long[0][0], "443");
    assert!(long[1..]
        .iter()
        .all(|r| r[1].split(',').all(|v| v == "0x6b3343cf")));
    // the server's first datagram: a v2 Initial (type 1) and a v2 Handshake (type 3)
    assert_eq!(long[1][0], "443");
    assert_eq!(long[1][2], "1,3");
    // on the wire: the long headers' version fields agree with tshark
    let pkts = packets(&fixture("aioquic-v2.pcapng"));
    let versions: Vec<u32> = pkts
        .iter()
        .filter(|p| is_quic(p) && p.payload[0] & 0x80 != 0)
        .map(|p| u32::from_be_bytes(p.payload[1..5].try_into().unwrap()))
        .collect();
    assert_eq!(versions[0], 1);
    assert!(versions[1..].iter().all(|v| *v == 0x6b33_43cf));
    assert_eq!(h3_requests(&fixture("aioquic-v2.h3.tsv")).len(), 2);
}

fn quic_datagram_count(name: &str) -> usize {
    packets(&fixture(&format!("{name}.pcapng")))
        .iter()
        .filter(|p| is_quic(p))
        .count()
}
