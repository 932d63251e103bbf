//! Multicast and NetBIOS name services in `wiretale dns` (issue 17 item 5): mDNS
//! (RFC 6762) paired by answer, announcements, goodbyes and probes; LLMNR (RFC 4795);
//! the NetBIOS name service (RFC 1002 §4.2); queries with several questions; the story
//! naming a connection by an mDNS lookup. Against tshark's per-message truth and Zeek's
//! dns.log (tests/data/namesvc, see make-truth.sh and SOURCES.md there), and captures
//! written here with the project's pcap writer.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::shared_root;
use serde_json::Value;
use wiretale::base::{LinkType, Timestamp};
use wiretale::capture::PcapWriter;

const DATA: &str = "tests/data/namesvc";

fn run(args: &[&str], file: &Path) -> String {
    common::wiretale(args.iter().map(Path::new).chain([file]))
}

fn json(cmd: &str, file: &Path) -> Vec<Value> {
    common::json_lines([Path::new(cmd), file])
}

fn capture_path(rel: &str) -> PathBuf {
    match rel.strip_prefix("namesvc/") {
        Some(f) => Path::new(DATA).join(f),
        None => shared_root().join(rel),
    }
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect()
}

/// Every mDNS and LLMNR message tshark decodes is accounted for: a query is the query of
/// a lookup or probe (or a repeat folded into one), with the same questions; a response
/// is the answer of a lookup or an announcement (or a repeat folded into one). Queries
/// with records in the authority section are exactly the probes, responses whose every
/// answer has TTL 0 exactly the goodbyes, and "lookup <Root>" never appears.
#[test]
fn every_multicast_message_matches_tshark() {
    let truth = std::fs::read_to_string(Path::new(DATA).join("mdns-tshark.tsv")).unwrap();
    let mut by_capture: BTreeMap<&str, Vec<Vec<&str>>> = BTreeMap::new();
    for line in truth.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        by_capture.entry(f[0]).or_default().push(f);
    }
    let mut compared = 0;
    for (capture, rows) in by_capture {
        let path = capture_path(capture);
        let txs: Vec<Value> = json("dns", &path)
            .into_iter()
            .filter(|t| t["service"] == "mdns" || t["service"] == "llmnr")
            .collect();
        let text = run(&["dns", "--wide"], &path);
        assert!(!text.contains("<Root>"), "{capture}:\n{text}");
        let mut queries: BTreeMap<u64, &Value> = BTreeMap::new();
        let mut responses: BTreeMap<u64, Vec<&Value>> = BTreeMap::new();
        for t in &txs {
            if let Some(f) = t["query_frame"].as_u64() {
                queries.insert(f, t);
            }
            if let Some(f) = t["response_frame"].as_u64() {
                responses.entry(f).or_default().push(t);
            }
        }
        let (mut nq, mut nr) = (0u64, 0u64);
        for f in &rows {
            let frame: u64 = f[1].parse().unwrap();
            let (src, response) = (f[2], f[4] == "1");
            let (nquest, nauth) = (f[5].parse::<usize>().unwrap(), f[7] != "0");
            let qnames: Vec<&str> = f[8].split(';').filter(|s| !s.is_empty()).collect();
            if response {
                nr += 1;
                let ttls: Vec<&str> = f[11].split(';').take(f[6].parse().unwrap()).collect();
                let goodbye = !ttls.is_empty() && ttls.iter().all(|t| *t == "0");
                if let Some(ts) = responses.get(&frame) {
                    for t in ts {
                        let k = t["kind"].as_str().unwrap();
                        assert!(
                            ["answered", "announcement", "goodbye"].contains(&k),
                            "{capture} {frame}: {k}"
                        );
                        assert_eq!(t["server"]["ip"], src, "{capture} {frame}");
                        if k != "answered" {
                            assert_eq!(k == "goodbye", goodbye, "{capture} {frame}");
                        }
                    }
                } else {
                    // Folded: an announcement of the same host repeated.
                    assert!(
                        txs.iter().any(|t| t["server"]["ip"] == src
                            && t["repeats"].as_u64().unwrap() > 0
                            && t["response_frame"].as_u64().unwrap() < frame),
                        "{capture}: response frame {frame} is in no record"
                    );
                }
            } else {
                nq += 1;
                match queries.get(&frame) {
                    Some(t) => {
                        let k = t["kind"].as_str().unwrap();
                        assert_eq!(k == "probe", nauth, "{capture} {frame}: {k}");
                        assert_eq!(t["client"]["ip"], src);
                        let ours: Vec<&str> = t["questions"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|q| q["name"].as_str().unwrap())
                            .collect();
                        assert_eq!(ours, qnames, "{capture} {frame}");
                        assert_eq!(ours.len(), nquest);
                        assert_eq!(t["qname"], qnames[0]);
                    }
                    None => assert!(
                        txs.iter().any(|t| t["client"]["ip"] == src
                            && t["qname"] == qnames[0]
                            && t["retransmissions"].as_u64().unwrap() > 0
                            && t["query_frame"].as_u64().unwrap() < frame),
                        "{capture}: query frame {frame} is in no record"
                    ),
                }
            }
            compared += 1;
        }
        // Nothing more and nothing less: copies folded plus records = messages.
        let q_total: u64 = queries
            .values()
            .map(|t| 1 + t["retransmissions"].as_u64().unwrap())
            .sum();
        let r_total: u64 = responses
            .values()
            .map(|ts| {
                1 + ts
                    .iter()
                    .map(|t| t["repeats"].as_u64().unwrap())
                    .max()
                    .unwrap()
            })
            .sum();
        assert_eq!((q_total, r_total), (nq, nr), "{capture}");
    }
    assert!(compared >= 50, "{compared} messages compared");
}

/// Zeek's dns.log for mdns-no-assoc.pcap: three queries nobody answered and three
/// responses that answer none of them (Zeek logs each alone; here they are
/// announcements, the queries unanswered), with the same answers.
#[test]
fn mdns_no_assoc_agrees_with_zeek() {
    let log = std::fs::read_to_string(Path::new(DATA).join("zeek-mdns-no-assoc-dns.log")).unwrap();
    let txs = json("dns", &Path::new(DATA).join("mdns-no-assoc.pcap"));
    let mut zeek_queries = BTreeSet::new();
    let mut zeek_answers = BTreeSet::new();
    for l in log.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = l.split('\t').collect();
        let (query, answers) = (f[9], f[21]);
        if answers == "-" {
            zeek_queries.insert(query.to_string());
        } else {
            zeek_answers.insert((query.to_string(), answers.to_string()));
        }
    }
    let ours_q: BTreeSet<String> = txs
        .iter()
        .filter(|t| t["kind"] == "unanswered")
        .map(|t| t["qname"].as_str().unwrap().to_string())
        .collect();
    let ours_a: BTreeSet<(String, String)> = txs
        .iter()
        .filter(|t| t["kind"] == "announcement")
        .map(|t| {
            let a = &t["answers"][0];
            (
                a["name"].as_str().unwrap().to_string(),
                a["data"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(ours_q, zeek_queries);
    assert_eq!(ours_a, zeek_answers);
    assert_eq!(txs.len(), 6);
}

/// zeek/mdns.pcap: continuous queries for `_ipp._tcp.local` and `_ipps._tcp.local`
/// (two questions) nobody answers, three probes of four names (IPv4) sent three times
/// 250 ms apart, a goodbye of the previous addresses, and the announcement of the new
/// ones repeated (RFC 6762 §8.3).
#[test]
fn zeek_mdns_capture_reads_as_probes_goodbyes_and_announcements() {
    let txs = json("dns", &Path::new(DATA).join("mdns.pcap"));
    let v4: Vec<&Value> = txs
        .iter()
        .filter(|t| t["client"]["ip"] == "10.0.2.7" || t["server"]["ip"] == "10.0.2.7")
        .collect();
    let kinds: Vec<(&str, u64, u64)> = v4
        .iter()
        .map(|t| {
            (
                t["kind"].as_str().unwrap(),
                t["retransmissions"].as_u64().unwrap(),
                t["repeats"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("unanswered", 2, 0),
            ("goodbye", 0, 0),
            ("probe", 2, 0),
            ("announcement", 0, 1),
        ]
    );
    let q = v4[0];
    assert_eq!(
        strs(
            &q["questions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|q| q["name"].clone())
                .collect()
        ),
        ["_ipp._tcp.local", "_ipps._tcp.local"]
    );
    let ann = v4[3];
    assert_eq!(ann["client"]["ip"], "224.0.0.251");
    assert!(ann["last_response_ts"].as_f64().unwrap() - ann["response_ts"].as_f64().unwrap() > 1.0);
    assert!(ann["answers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["ttl"] == 120));
    let story = run(&["story"], &Path::new(DATA).join("mdns.pcap"));
    assert!(
        !story.contains("<Root>") && !story.contains("probe"),
        "{story}"
    );
}

// ---- captures written here ----

fn name(n: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for l in n.split('.').filter(|l| !l.is_empty()) {
        v.push(l.len() as u8);
        v.extend_from_slice(l.as_bytes());
    }
    v.push(0);
    v
}

type Rr = (&'static str, u16, u16, u32, Vec<u8>);

/// A DNS-format message (RFC 1035 §4.1), names uncompressed.
fn msg(id: u16, flags: u16, qs: &[(&str, u16, u16)], an: &[Rr], ns: &[Rr], ar: &[Rr]) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&flags.to_be_bytes());
    for n in [qs.len(), an.len(), ns.len(), ar.len()] {
        m.extend_from_slice(&(n as u16).to_be_bytes());
    }
    for (n, t, c) in qs {
        m.extend(name(n));
        m.extend_from_slice(&t.to_be_bytes());
        m.extend_from_slice(&c.to_be_bytes());
    }
    for (n, t, c, ttl, rd) in an.iter().chain(ns).chain(ar) {
        m.extend(name(n));
        m.extend_from_slice(&t.to_be_bytes());
        m.extend_from_slice(&c.to_be_bytes());
        m.extend_from_slice(&ttl.to_be_bytes());
        m.extend_from_slice(&(rd.len() as u16).to_be_bytes());
        m.extend_from_slice(rd);
    }
    m
}

fn a(n: &'static str, ip: [u8; 4], ttl: u32) -> Rr {
    (n, 1, 0x8001, ttl, ip.to_vec())
}
fn ptr(n: &'static str, target: &str) -> Rr {
    (n, 12, 1, 4500, name(target))
}
fn srv(n: &'static str, port: u16, target: &str) -> Rr {
    let mut rd = vec![0, 0, 0, 0];
    rd.extend_from_slice(&port.to_be_bytes());
    rd.extend(name(target));
    (n, 33, 0x8001, 120, rd)
}

/// First-level encoded NetBIOS name (RFC 1001 §14.1) as a DNS-style name.
fn nb_name(n: &str, suffix: u8) -> Vec<u8> {
    let mut raw = [b' '; 16];
    raw[..n.len()].copy_from_slice(n.as_bytes());
    raw[15] = suffix;
    let mut v = vec![32];
    for b in raw {
        v.push(b'A' + (b >> 4));
        v.push(b'A' + (b & 15));
    }
    v.push(0);
    v
}

fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) -> Vec<u8> {
    let total = 20 + l4.len();
    let mut p = vec![0x45, 0, 0, 0, 0, 1, 0, 0, 64, proto, 0, 0];
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    let mut sum: u32 = p
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    p[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    p.extend_from_slice(l4);
    p
}

fn udp(src: ([u8; 4], u16), dst: ([u8; 4], u16), payload: &[u8]) -> Vec<u8> {
    let mut u = src.1.to_be_bytes().to_vec();
    u.extend_from_slice(&dst.1.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]); // no UDP checksum (allowed over IPv4)
    u.extend_from_slice(payload);
    ipv4(src.0, dst.0, 17, &u)
}

fn tcp(src: ([u8; 4], u16), dst: ([u8; 4], u16), seq: u32, ack: u32, flags: u8) -> Vec<u8> {
    let mut t = src.1.to_be_bytes().to_vec();
    t.extend_from_slice(&dst.1.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    ipv4(src.0, dst.0, 6, &t)
}

const GROUP: [u8; 4] = [224, 0, 0, 251];
const QUERIER: [u8; 4] = [198, 18, 0, 10];
const PRINTER: [u8; 4] = [198, 18, 0, 20];
const OTHER: [u8; 4] = [198, 18, 0, 21];
const QR_AA: u16 = 0x8400;

/// Every corner at once, each message at its time in milliseconds.
fn corners() -> Vec<(i64, Vec<u8>)> {
    let m = |ip| (ip, 5353);
    let browse = msg(
        0,
        0,
        &[
            ("_ipp._tcp.local", 12, 1),
            ("printer.local", 1, 1),
            ("printer.local", 28, 1),
        ],
        &[],
        &[],
        &[],
    );
    let printer_answer = msg(
        0,
        QR_AA,
        &[],
        &[ptr("_ipp._tcp.local", "Printer._ipp._tcp.local")],
        &[],
        &[
            srv("Printer._ipp._tcp.local", 631, "printer.local"),
            a("printer.local", PRINTER, 120),
        ],
    );
    let other_answer = msg(
        0,
        QR_AA,
        &[],
        &[ptr("_ipp._tcp.local", "Other._ipp._tcp.local")],
        &[],
        &[a("other.local", OTHER, 120)],
    );
    let qu = msg(0, 0, &[("host.local", 1, 0x8001)], &[], &[], &[]);
    let qu_answer = msg(
        0,
        QR_AA,
        &[],
        &[a("host.local", [198, 18, 0, 22], 120)],
        &[],
        &[],
    );
    let legacy = msg(0x1234, 0, &[("legacy.local", 1, 1)], &[], &[], &[]);
    let legacy_answer = msg(
        0x1234,
        QR_AA,
        &[("legacy.local", 1, 1)],
        &[a("legacy.local", [198, 18, 0, 22], 10)],
        &[],
        &[],
    );
    let known_answer = msg(
        0,
        0,
        &[("_http._tcp.local", 12, 1)],
        &[ptr("_http._tcp.local", "Web._http._tcp.local")],
        &[],
        &[],
    );
    let probe = msg(
        0,
        0,
        &[("newhost.local", 255, 0x8001)],
        &[],
        &[a("newhost.local", [198, 18, 0, 30], 120)],
        &[],
    );
    let goodbye = msg(
        0,
        QR_AA,
        &[],
        &[a("oldhost.local", [198, 18, 0, 31], 0)],
        &[],
        &[],
    );
    let llmnr_q = msg(0x4242, 0, &[("llmnrhost", 1, 1)], &[], &[], &[]);
    let llmnr_r = msg(
        0x4242,
        0x8000,
        &[("llmnrhost", 1, 1)],
        &[("llmnrhost", 1, 1, 30, vec![198, 18, 0, 23])],
        &[],
        &[],
    );
    let mut nbq = vec![0x00, 0x77, 0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 0];
    nbq.extend(nb_name("FILESRV", 0x20));
    nbq.extend_from_slice(&[0, 0x20, 0, 1]);
    let mut nbr = vec![0x00, 0x77, 0x85, 0x00, 0, 0, 0, 1, 0, 0, 0, 0];
    nbr.extend(nb_name("FILESRV", 0x20));
    nbr.extend_from_slice(&[
        0, 0x20, 0, 1, 0, 0x04, 0x93, 0xe0, 0, 6, 0, 0, 198, 18, 0, 24,
    ]);
    let two = msg(
        0x0202,
        0x0100,
        &[("one.lab.example", 1, 1), ("two.lab.example", 1, 1)],
        &[],
        &[],
        &[],
    );
    let two_r = msg(
        0x0202,
        0x8180,
        &[("one.lab.example", 1, 1), ("two.lab.example", 1, 1)],
        &[("one.lab.example", 1, 1, 60, vec![198, 18, 1, 1])],
        &[],
        &[],
    );
    vec![
        (0, udp(m(QUERIER), m(GROUP), &browse)),
        (50, udp(m(PRINTER), m(GROUP), &printer_answer)),
        (80, udp(m(OTHER), m(GROUP), &other_answer)),
        (90, udp(m(PRINTER), m(GROUP), &printer_answer)),
        // Outside the one-second window: nobody's answer any more.
        (2000, udp(m(PRINTER), m(GROUP), &printer_answer)),
        (3000, udp(m(PRINTER), m(GROUP), &printer_answer)),
        (3100, udp(m([198, 18, 0, 11]), m(GROUP), &qu)),
        (
            3150,
            udp(m([198, 18, 0, 22]), m([198, 18, 0, 11]), &qu_answer),
        ),
        (3200, udp(([198, 18, 0, 12], 40000), m(GROUP), &legacy)),
        (
            3250,
            udp(
                m([198, 18, 0, 22]),
                ([198, 18, 0, 12], 40000),
                &legacy_answer,
            ),
        ),
        (3300, udp(m([198, 18, 0, 13]), m(GROUP), &known_answer)),
        (3400, udp(m([198, 18, 0, 30]), m(GROUP), &probe)),
        (3500, udp(m([198, 18, 0, 31]), m(GROUP), &goodbye)),
        (
            3600,
            udp(
                ([198, 18, 0, 13], 50000),
                ([224, 0, 0, 252], 5355),
                &llmnr_q,
            ),
        ),
        (
            3650,
            udp(
                ([198, 18, 0, 23], 5355),
                ([198, 18, 0, 13], 50000),
                &llmnr_r,
            ),
        ),
        (
            3700,
            udp(([198, 18, 0, 14], 137), ([198, 18, 0, 255], 137), &nbq),
        ),
        (
            3750,
            udp(([198, 18, 0, 24], 137), ([198, 18, 0, 14], 137), &nbr),
        ),
        (
            3800,
            udp(([198, 18, 0, 15], 40001), ([198, 18, 0, 53], 53), &two),
        ),
        (
            3810,
            udp(([198, 18, 0, 53], 53), ([198, 18, 0, 15], 40001), &two_r),
        ),
        // The querier goes on to print: a TCP connection to the printer it browsed.
        (4000, tcp((QUERIER, 50001), (PRINTER, 631), 1000, 0, 0x02)),
        (
            4001,
            tcp((PRINTER, 631), (QUERIER, 50001), 5000, 1001, 0x12),
        ),
        (
            4002,
            tcp((QUERIER, 50001), (PRINTER, 631), 1001, 5001, 0x10),
        ),
    ]
}

fn write_capture(dir: &Path, frames: &[(i64, Vec<u8>)]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("corners.pcap");
    let f = std::fs::File::create(&path).unwrap();
    let mut w = PcapWriter::new(f, LinkType(101), 65535, false).unwrap();
    for (ms, fr) in frames {
        let ts = Timestamp(1_700_000_000_000_000_000 + ms * 1_000_000);
        w.write_packet(ts, fr, fr.len() as u32).unwrap();
    }
    w.flush().unwrap();
    path
}

fn find(txs: &[Value], pred: impl Fn(&Value) -> bool) -> Vec<&Value> {
    txs.iter().filter(|t| pred(t)).collect()
}

#[test]
fn crafted_corners_pair_as_the_rfcs_say() {
    let dir = std::env::temp_dir().join(format!("wiretale-namesvc-{}", std::process::id()));
    let path = write_capture(&dir, &corners());
    let txs = json("dns", &path);
    fn q(ip: &'static str) -> impl Fn(&Value) -> bool {
        move |t: &Value| t["client"]["ip"] == ip
    }

    // The browse (three questions) answered by two printers within the window: two
    // lookups, one per responder, both of the querier; the printer's second copy is a
    // repeat, not a third.
    let browse = find(&txs, |t| {
        t["client"]["ip"] == "198.18.0.10" && t["kind"] == "answered"
    });
    assert_eq!(browse.len(), 2, "{txs:#?}");
    assert_eq!(browse[0]["server"]["ip"], "198.18.0.20");
    assert_eq!(browse[1]["server"]["ip"], "198.18.0.21");
    assert_eq!(browse[0]["repeats"], 1);
    assert_eq!(browse[0]["query_frame"], browse[1]["query_frame"]);
    assert_eq!(browse[0]["questions"].as_array().unwrap().len(), 3);
    assert_eq!(browse[0]["questions"][2]["type"], "AAAA");
    assert!((browse[0]["rtt"].as_f64().unwrap() - 0.050).abs() < 1e-6);
    // Later copies answer nothing: one announcement, folded.
    let ann = find(&txs, |t| {
        t["kind"] == "announcement" && t["server"]["ip"] == "198.18.0.20"
    });
    assert_eq!(ann.len(), 1, "{txs:#?}");
    assert_eq!(ann[0]["repeats"], 1);
    assert_eq!(ann[0]["qname"], "");
    // QU question, unicast answer.
    let qu = find(&txs, q("198.18.0.11"));
    assert_eq!((qu.len(), qu[0]["kind"].as_str()), (1, Some("answered")));
    assert_eq!(qu[0]["questions"][0]["class"], "IN");
    // Legacy unicast (§6.7): id and question echoed, to the querier's port.
    let legacy = find(&txs, q("198.18.0.12"));
    assert_eq!(legacy[0]["kind"], "answered");
    assert_eq!(legacy[0]["id"], 0x1234);
    assert_eq!(legacy[0]["client"]["port"], 40000);
    // Known answers in a query (§7.1) are not a response.
    let ka = find(&txs, |t| t["qname"] == "_http._tcp.local");
    assert_eq!((ka.len(), ka[0]["kind"].as_str()), (1, Some("unanswered")));
    // A probe (§8.1) and a goodbye (§10.1).
    let probe = find(&txs, |t| t["qname"] == "newhost.local");
    assert_eq!(probe[0]["kind"], "probe");
    let bye = find(&txs, |t| t["server"]["ip"] == "198.18.0.31");
    assert_eq!(bye[0]["kind"], "goodbye");
    // LLMNR answered by the host that has the name.
    let ll = find(&txs, |t| t["service"] == "llmnr");
    assert_eq!((ll.len(), ll[0]["kind"].as_str()), (1, Some("answered")));
    assert_eq!(ll[0]["server"]["ip"], "198.18.0.23");
    // NetBIOS: broadcast query, unicast positive response.
    let nb = find(&txs, |t| t["service"] == "nbns");
    assert_eq!(nb.len(), 1);
    assert_eq!(nb[0]["kind"], "answered");
    assert_eq!(nb[0]["qname"], "FILESRV<20>");
    assert_eq!(nb[0]["qtype"], "NB");
    assert_eq!(nb[0]["opcode"], "query");
    assert_eq!(nb[0]["answers"][0]["type"], "NB");
    assert_eq!(nb[0]["answers"][0]["data"], "198.18.0.24");
    assert_eq!(nb[0]["server"]["ip"], "198.18.0.24");
    // Plain DNS with two questions keeps both.
    let two = find(&txs, |t| t["service"] == "dns");
    assert_eq!(two[0]["qname"], "one.lab.example");
    assert_eq!(two[0]["questions"][1]["name"], "two.lab.example");

    // The table: services in `tran`, "+N more", the kinds in the rcode column.
    let text = run(&["dns", "--wide"], &path);
    assert!(text.contains("mdns 198.18.0.10:5353"), "{text}");
    assert!(text.contains("_ipp._tcp.local +2 more"), "{text}");
    assert!(text.contains("one.lab.example +1 more"), "{text}");
    assert!(
        text.contains("(announcement)") && text.contains("(1 repeats)"),
        "{text}"
    );
    assert!(
        text.contains("(goodbye)") && text.contains("(probe)"),
        "{text}"
    );
    assert!(
        text.contains("nbns 198.18.0.14:137") && text.contains("NB     FILESRV<20>"),
        "{text}"
    );
    assert!(!text.contains("<Root>"), "{text}");

    // The connection to the printer is named by the browse that found it (PTR → SRV →
    // A in the additional section), and the story tells no announcement as a lookup.
    let conns = json("conns", &path);
    let ipp = conns.iter().find(|c| c["server"]["port"] == 631).unwrap();
    assert_eq!(ipp["name"]["qname"], "_ipp._tcp.local", "{ipp:#}");
    assert_eq!(ipp["name"]["source"], "dns");
    assert_eq!(
        strs(&ipp["name"]["chain"]),
        ["printer._ipp._tcp.local", "printer.local"]
    );
    let story = run(&["story"], &path);
    assert!(story.contains("_ipp._tcp.local +2 more"), "{story}");
    assert!(
        !story.contains("oldhost") && !story.contains("newhost"),
        "{story}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The NetBIOS packets of the real captures pair as transactions with tshark's names:
/// eapon1.pcap's broadcast queries and registrations repeat with the same id (RFC 1002
/// §4.2.12 retries), so each id is one unanswered transaction whose copies are counted.
#[test]
fn netbios_transactions_of_real_captures() {
    let truth = std::fs::read_to_string(Path::new(DATA).join("nbns-tshark.tsv")).unwrap();
    let mut rows: BTreeMap<&str, Vec<(u64, &str)>> = BTreeMap::new();
    for line in truth.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        rows.entry(f[0])
            .or_default()
            .push((f[1].parse().unwrap(), f[2]));
    }
    for (capture, frames) in rows {
        let txs: Vec<Value> = json("dns", &capture_path(capture))
            .into_iter()
            .filter(|t| t["service"] == "nbns")
            .collect();
        let total: u64 = txs
            .iter()
            .map(|t| 1 + t["retransmissions"].as_u64().unwrap())
            .sum();
        assert_eq!(total as usize, frames.len(), "{capture}");
        for t in &txs {
            let f = t["query_frame"].as_u64().unwrap();
            let name = frames.iter().find(|(n, _)| *n == f).unwrap().1;
            let ours = t["qname"]
                .as_str()
                .unwrap()
                .replace("\\x01", "<01>")
                .replace("\\x02", "<02>");
            assert_eq!(ours, name, "{capture} {f}");
            assert_eq!(t["kind"], "unanswered");
        }
        if capture.ends_with("eapon1.pcap") {
            let ops: BTreeSet<&str> = txs.iter().map(|t| t["opcode"].as_str().unwrap()).collect();
            assert_eq!(ops, BTreeSet::from(["query", "registration"]));
        }
    }
    // The malformed packet of tcpdump's nbns-valgrind.pcap is no transaction and no crash.
    let txs = json("dns", &Path::new(DATA).join("nbns-valgrind.pcap"));
    assert!(txs.is_empty(), "{txs:?}");
}
