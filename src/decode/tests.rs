//! Tests of decode over real frames from the shared corpus.

use super::testpcap;
use super::*;
use crate::testutil::shared_capture;

fn frames(rel: &str) -> testpcap::Frames {
    testpcap::read(&shared_capture(rel)).expect("classic pcap")
}

#[test]
#[ignore]
fn dump() {
    let f = std::env::var("DUMP").unwrap();
    let fr = frames(&f);
    for (i, (_, d)) in fr.frames.iter().enumerate() {
        let p = decode(fr.link, d);
        println!(
            "{} {} {:?} {:?} {} | {}",
            i + 1,
            p.proto_name(),
            p.src().map(|a| a.to_string()),
            p.dst().map(|a| a.to_string()),
            info(&p),
            p.anomalies
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
}

/// Every classic pcap of the shared corpus, frame by frame, against tshark 4.0.17's
/// decode (`tests/data/frame-truth/`, made by `tests/data/make-frame-truth.sh`): outer
/// Ethernet addresses, VLAN ids, the first (outermost) IP addresses, the transport tshark
/// finds right after that IP header, ports, ICMP types, ARP opcodes and `tcp.len`.
///
/// Intended differences, counted and bounded rather than hidden:
/// * the last fragment of a fragmented datagram: tshark shows the reassembled datagram's
///   transport there; `decode` is stateless and shows a fragment (the `Defragmenter` test
///   covers reassembly);
/// * tshark's `tcp.len` counts the bytes after the header *as captured* only when the IP
///   length is missing; otherwise both use the IP length (checked, must agree).
#[test]
fn corpus_matches_tshark_per_frame() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let truth_root = root.join("tests/data/frame-truth");
    let mut files = 0;
    let mut compared = 0usize;
    let mut reassembled_elsewhere = 0usize;
    let mut mismatches: Vec<String> = Vec::new();
    for source in ["pcap-parser", "suricata-verify", "tcpdump", "zeek"] {
        let dir = truth_root.join(source);
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .expect("frame truth dir")
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for tsv in entries {
            let name = tsv
                .file_name()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches(".tsv")
                .to_string();
            let rel = format!("{source}/{name}");
            let Some(fr) = testpcap::read(&shared_capture(&rel)) else {
                continue;
            };
            files += 1;
            let text = std::fs::read_to_string(&tsv).unwrap();
            let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
            assert_eq!(
                rows.len(),
                fr.frames.len(),
                "{rel}: frame count differs from tshark"
            );
            for (row, (_, data)) in rows.iter().zip(&fr.frames) {
                let col = |i: usize| row.get(i).copied().unwrap_or("");
                let first = |i: usize| col(i).split(',').next().unwrap_or("");
                let frame = col(0);
                let p = decode(fr.link, data);
                let mut bad = |what: String| {
                    mismatches.push(format!("{rel} #{frame}: {what} [{}] {}", col(1), info(&p)))
                };
                compared += 1;
                let protos: Vec<&str> = col(1).split(':').collect();
                if !col(2).is_empty() && fr.link == crate::base::LinkType::ETHERNET {
                    let e = p
                        .eth
                        .map(|e| (Mac(e.src).to_string(), Mac(e.dst).to_string()));
                    if e != Some((first(2).to_string(), first(3).to_string())) {
                        bad(format!("eth {e:?} vs {} {}", first(2), first(3)));
                    }
                }
                for id in col(4).split(',').filter(|s| !s.is_empty()) {
                    if !p.vlans.ids().iter().any(|v| v.to_string() == id) {
                        bad(format!("vlan {id} missing from {:?}", p.vlans.ids()));
                    }
                }
                let Some(net_at) = protos
                    .iter()
                    .position(|t| matches!(*t, "ip" | "ipv6" | "arp"))
                else {
                    if p.ip.is_some() || p.arp.is_some() {
                        bad("network layer tshark did not see".into());
                    }
                    continue;
                };
                match protos[net_at] {
                    "arp" => {
                        if p.arp.map(|a| a.op.to_string()) != Some(first(16).to_string()) {
                            bad(format!("arp {:?}", p.arp));
                        }
                        continue;
                    }
                    v => {
                        let (s, d) = if v == "ip" {
                            (first(5), first(6))
                        } else {
                            (first(8), first(9))
                        };
                        let mine =
                            p.ip.as_ref()
                                .map(|ip| (ip.src.to_string(), ip.dst.to_string()));
                        if mine != Some((s.to_string(), d.to_string())) {
                            bad(format!("ip {mine:?} vs {s} {d}"));
                            continue;
                        }
                    }
                }
                let ip = p.ip.as_ref().expect("checked above");
                let l4 = protos[net_at + 1..]
                    .iter()
                    .find(|t| !t.starts_with("ipv6."))
                    .copied()
                    .unwrap_or("");
                if ip.is_fragment() {
                    if ip.frag_offset > 0 && l4 != "data" {
                        reassembled_elsewhere += 1;
                    } else if !matches!(p.transport, Transport::None) {
                        bad("fragment with a transport".into());
                    }
                    continue;
                }
                match (l4, &p.transport) {
                    ("tcp", Transport::Tcp(t)) => {
                        if (t.sport.to_string().as_str(), t.dport.to_string().as_str())
                            != (first(10), first(11))
                        {
                            bad(format!("tcp ports {} {}", first(10), first(11)));
                        }
                        if t.payload_len.to_string() != first(19) {
                            bad(format!("tcp.len {} vs {}", t.payload_len, first(19)));
                        }
                    }
                    ("udp", Transport::Udp(u)) => {
                        if (u.sport.to_string().as_str(), u.dport.to_string().as_str())
                            != (first(12), first(13))
                        {
                            bad(format!("udp ports {} {}", first(12), first(13)));
                        }
                    }
                    ("icmp", Transport::Icmp(i)) => {
                        if i.kind.to_string() != first(14) {
                            bad(format!("icmp type {}", first(14)));
                        }
                    }
                    ("icmpv6", Transport::Icmpv6(i)) => {
                        if i.kind.to_string() != first(15) {
                            bad(format!("icmpv6 type {}", first(15)));
                        }
                    }
                    ("tcp" | "udp" | "icmp" | "icmpv6", t) => {
                        bad(format!("transport {t:?} vs {l4}"))
                    }
                    (
                        _,
                        Transport::Tcp(_)
                        | Transport::Udp(_)
                        | Transport::Icmp(_)
                        | Transport::Icmpv6(_),
                    ) => bad(format!(
                        "transport {:?} where tshark has {l4}",
                        p.proto_name()
                    )),
                    _ => {}
                }
            }
        }
    }
    assert!(files >= 40, "only {files} classic pcaps compared");
    assert!(compared > 5000, "only {compared} frames compared");
    assert!(
        mismatches.is_empty(),
        "{} mismatches (of {compared} frames; {reassembled_elsewhere} reassembled by tshark):\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
