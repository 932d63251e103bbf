//! Tests of decode over real frames from the shared corpus.

use super::*;
use crate::base::Timestamp;
use crate::testutil::{read_frames, shared_capture, Frames};

fn frames(rel: &str) -> Frames {
    read_frames(&shared_capture(rel))
}

/// Every shared capture with frame truth (the classic pcaps), read by the product's own
/// reader, frame by frame, against tshark 4.0.17's
/// decode (`tests/data/frame-truth/`, made by `tests/data/make-frame-truth.sh`): outer
/// Ethernet addresses, VLAN ids, the first (outermost) IP addresses, the transport tshark
/// finds right after that IP header, ports, ICMP types, ARP opcodes and `tcp.len`.
///
/// Intended differences, counted and bounded rather than hidden:
/// * the last fragment of a fragmented datagram: tshark shows the reassembled datagram's
///   transport there; `decode` is stateless and shows a fragment (the `Defragmenter` test
///   covers reassembly);
/// * Info text is compared for every frame tshark itself labels TCP/UDP/ICMP/ICMPv6/ARP/
///   IPv4/IPv6 (so not where it shows an application summary), after removing what needs
///   connection state or reassembly (see [`norm_info`]).
#[test]
fn corpus_matches_tshark_per_frame() {
    let root = std::path::PathBuf::from(crate::testutil::ROOT);
    let truth_root = root.join("tests/data/frame-truth");
    let mut files = 0;
    let mut compared = 0usize;
    let mut reassembled_elsewhere = 0usize;
    let mut mismatches: Vec<String> = Vec::new();
    let mut infos = 0usize;
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
            let fr = frames(&rel);
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
                let their_info = col(21);
                let l4_summary = their_info
                    .split_once(" → ")
                    .is_some_and(|(a, _)| a.parse::<u16>().is_ok());
                let plain = match col(20) {
                    "TCP" | "UDP" => l4_summary,
                    "ICMP" | "ICMPv6" | "ARP" | "IPv4" | "IPv6" => true,
                    _ => false,
                };
                if plain {
                    infos += 1;
                    let mine = info(&p);
                    if norm_info(&mine) != norm_info(their_info) {
                        bad(format!("info {mine:?} vs tshark {their_info:?}"));
                    }
                }
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
                    ("udp", Transport::Udp(u)) => bad_if(
                        &mut bad,
                        (u.sport.to_string().as_str(), u.dport.to_string().as_str())
                            != (first(12), first(13)),
                        || format!("udp ports {} {}", first(12), first(13)),
                    ),
                    ("icmp", Transport::Icmp(i)) => {
                        bad_if(&mut bad, i.kind.to_string() != first(14), || {
                            format!("icmp type {}", first(14))
                        })
                    }
                    ("icmpv6", Transport::Icmpv6(i)) => {
                        bad_if(&mut bad, i.kind.to_string() != first(15), || {
                            format!("icmpv6 type {}", first(15))
                        })
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
    assert!(infos > 5000, "only {infos} Info texts compared");
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

/// Removes from an Info text what a stateless decoder cannot know or adds on purpose:
/// the window (tshark scales it with the handshake's shift), tshark's trailing stateful
/// notes ("[TCP segment of a reassembled PDU]", "(request in 3)", "(no response found!)"),
/// our anomaly tag ("[snaplen_cut]") and our "(about … )" summary of an ICMP error's quote.
fn norm_info(s: &str) -> String {
    use std::sync::OnceLock;
    static WIN: OnceLock<regex::Regex> = OnceLock::new();
    static TAIL: OnceLock<regex::Regex> = OnceLock::new();
    let win = WIN.get_or_init(|| regex::Regex::new(r"Win=\d+").unwrap());
    let tail = TAIL.get_or_init(|| {
        regex::Regex::new(
            r" ?(\[[^\]]*\]|\((about [^)]*|(request|reply) in \d+|no response found!)\))$",
        )
        .unwrap()
    });
    let mut s = win.replace_all(s.trim(), "Win=W").into_owned();
    loop {
        let t = tail.replace(s.trim_end(), "").into_owned();
        if t == s {
            return s;
        }
        s = t;
    }
}

fn bad_if(bad: &mut impl FnMut(String), cond: bool, what: impl FnOnce() -> String) {
    if cond {
        bad(what());
    }
}

/// Frame `n` (1-based, as tshark numbers it) of a shared capture, decoded.
fn frame(rel: &str, n: usize) -> (crate::base::LinkType, Vec<u8>) {
    let f = frames(rel);
    let (_, d) = f.frames.get(n - 1).expect("frame exists").clone();
    (f.link, d)
}

#[test]
fn qinq_arp() {
    // tcpdump/802.1ad_QinQ.pcap frame 1: 802.1ad outer tag 200, 802.1Q inner 2001, ARP request.
    let (link, d) = frame("tcpdump/802.1ad_QinQ.pcap", 1);
    let p = decode(link, &d);
    assert_eq!(p.eth.unwrap().ethertype, 0x88a8);
    assert_eq!(p.vlans.ids(), &[200, 2001]);
    assert_eq!(p.vlans.outer(), Some(200));
    assert_eq!(p.ethertype, Some(0x0806));
    let a = p.arp.unwrap();
    assert_eq!(
        (a.op, a.sender_ip.to_string(), a.target_ip.to_string()),
        (1, "172.21.79.97".into(), "172.21.79.100".into())
    );
    assert_eq!(p.proto_name(), "arp");
    assert_eq!(info(&p), "Who has 172.21.79.100? Tell 172.21.79.97");
    assert!(p.anomalies.is_empty());
    // Frame 2: the reply.
    let (link, d) = frame("tcpdump/802.1ad_QinQ.pcap", 2);
    assert_eq!(
        info(&decode(link, &d)),
        "172.21.79.100 is at 00:80:ea:81:88:63"
    );
}

#[test]
fn sll_v1_tcp_syn_with_options() {
    // tcpdump/tcp-handshake-nano.pcap frame 1 (LINUX_SLL): SYN 46656 → 80 with MSS, SACK_PERM, TS, WS.
    let (link, d) = frame("tcpdump/tcp-handshake-nano.pcap", 1);
    assert_eq!(link, crate::base::LinkType::LINUX_SLL);
    let p = decode(link, &d);
    assert_eq!(p.link_header, 0..16);
    let t = *p.tcp().unwrap();
    assert!(t.syn() && !t.ack() && !t.fin() && !t.rst());
    assert_eq!((t.sport, t.dport, t.seq), (46656, 80, 797190859));
    assert_eq!(t.options.mss, Some(1360));
    assert_eq!(t.options.wscale, Some(7));
    assert!(t.options.sack_permitted);
    assert_eq!(t.options.ts, Some((1131021154, 0)));
    assert_eq!(t.payload_len, 0);
    assert_eq!(
        info(&p),
        "46656 → 80 [SYN] Seq=797190859 Win=27200 Len=0 MSS=1360 SACK_PERM TSval=1131021154 TSecr=0 WS=128"
    );
    let rel = TcpRel {
        seq_base: 797190859,
        ack_base: 0,
        window_shift: None,
    };
    assert!(info_with(&p, Some(&rel)).starts_with("46656 → 80 [SYN] Seq=0 Win=27200"));
}

#[test]
fn sll_v2_icmp_icmpv6_arp_rarp() {
    // zeek/linux_dlt_sll2.pcap frames 1–6 (LINUX_SLL2, loopback-style pings, ARP, RARP).
    let f = frames("zeek/linux_dlt_sll2.pcap");
    assert_eq!(f.link, crate::base::LinkType::LINUX_SLL2);
    let got: Vec<String> = f
        .frames
        .iter()
        .take(6)
        .map(|(_, d)| info(&decode(f.link, d)))
        .collect();
    assert_eq!(
        got,
        [
            "Echo (ping) request  id=0x0008, seq=1/256, ttl=64",
            "Echo (ping) reply    id=0x0008, seq=1/256, ttl=64",
            "Echo (ping) request id=0x0009, seq=1, hop limit=64",
            "Echo (ping) reply id=0x0009, seq=1, hop limit=64",
            "Who has 192.0.2.2? Tell 192.0.2.1",
            "Who is 00:00:00:00:00:00? Tell 8e:36:06:44:ac:af",
        ]
    );
    let p = decode(f.link, &f.frames[2].1);
    assert_eq!(p.link_header, 0..20);
    assert!(matches!(
        p.transport,
        Transport::Icmpv6(IcmpInfo {
            kind: 128,
            echo: Some((9, 1)),
            ..
        })
    ));
}

#[test]
fn raw_ip_links() {
    // tcpdump/LINKTYPE_RAW_ipv4.pcap frame 1 (101) and tcpdump/LINKTYPE_IPV6.pcap frame 1 (229): DNS queries.
    let (link, d) = frame("tcpdump/LINKTYPE_RAW_ipv4.pcap", 1);
    let p = decode(link, &d);
    assert_eq!(p.link_header, 0..0);
    assert_eq!(p.ports(), Some((12345, 53)));
    assert_eq!(p.ip.as_ref().unwrap().src.to_string(), "192.168.1.100");
    // The same bytes under the other raw-IP numbers decode the same way.
    for l in [
        crate::base::LinkType::RAW_12,
        crate::base::LinkType::RAW_14,
        crate::base::LinkType::IPV4,
    ] {
        assert_eq!(decode(l, &d).ports(), Some((12345, 53)), "{l}");
    }
    let (link, d) = frame("tcpdump/LINKTYPE_IPV6.pcap", 1);
    assert_eq!(link, crate::base::LinkType::IPV6);
    let p = decode(link, &d);
    assert_eq!(p.proto_name(), "udp");
    assert_eq!(p.dst().unwrap().to_string(), "2620:fe::9");
    assert_eq!(info(&p), "12345 → 53 Len=29");
    // Raw 101 picks the version from the first nibble.
    assert_eq!(
        decode(crate::base::LinkType::RAW, &d).ports(),
        Some((12345, 53))
    );
}

#[test]
fn null_and_loop_families() {
    // tcpdump/LINKTYPE_RAW_ipv4.pcap frame 1 behind a 4-byte BSD family header, both byte orders.
    let (_, d) = frame("tcpdump/LINKTYPE_RAW_ipv4.pcap", 1);
    for hdr in [[2u8, 0, 0, 0], [0, 0, 0, 2]] {
        let mut f = hdr.to_vec();
        f.extend_from_slice(&d);
        for l in [crate::base::LinkType::NULL, crate::base::LinkType::LOOP] {
            let p = decode(l, &f);
            assert_eq!(p.ports(), Some((12345, 53)));
            assert_eq!(p.link_header, 0..4);
        }
    }
    let (_, d6) = frame("tcpdump/LINKTYPE_IPV6.pcap", 1);
    for fam in [24u8, 28, 30] {
        let mut f = vec![fam, 0, 0, 0];
        f.extend_from_slice(&d6);
        assert_eq!(decode(crate::base::LinkType::NULL, &f).proto_name(), "udp");
    }
    let p = decode(crate::base::LinkType::NULL, &[9, 0, 0, 0, 0x45]);
    assert_eq!(p.anomalies[0].name(), "unknown_address_family");
    assert_eq!(
        decode(crate::base::LinkType(147), &d).anomalies[0].name(),
        "unknown_link_type"
    );
}

#[test]
fn ipv6_routing_header() {
    // tcpdump/ipv6-routing-header.pcap frame 1: ICMPv6 echo behind a routing header.
    let (link, d) = frame("tcpdump/ipv6-routing-header.pcap", 1);
    let p = decode(link, &d);
    let ip = p.ip.clone().unwrap();
    assert_eq!(ip.protocol, 58);
    assert!(
        ip.header.len() > 40,
        "extension header counted in the IP header range"
    );
    assert_eq!(p.transport_header.start, ip.header.end);
    assert_eq!(d[14 + 6], 43, "next header of the fixed header is Routing");
    let tree = field_tree(link, &d);
    let mut found = false;
    tree.walk(&mut |n, _| found |= n.label.starts_with("IPv6 Routing Header"));
    assert!(found);
    // Frame 3: UDP behind the same routing header.
    let (link, d) = frame("tcpdump/ipv6-routing-header.pcap", 3);
    assert_eq!(decode(link, &d).ports(), Some((5645, 5642)));
}

#[test]
fn icmpv6_types_and_hop_by_hop() {
    // tcpdump/icmpv6.pcap frames 1–5: router advertisement, then MLDv2 reports/query behind hop-by-hop options.
    let f = frames("tcpdump/icmpv6.pcap");
    let kinds: Vec<u8> = f
        .frames
        .iter()
        .map(|(_, d)| match decode(f.link, d).transport {
            Transport::Icmpv6(i) => i.kind,
            t => panic!("{t:?}"),
        })
        .collect();
    assert_eq!(kinds, [134, 143, 130, 143, 143]);
    assert_eq!(
        info(&decode(f.link, &f.frames[0].1)),
        "Router Advertisement from b0:99:28:c8:d6:6c"
    );
    assert_eq!(
        info(&decode(f.link, &f.frames[1].1)),
        "Multicast Listener Report Message v2"
    );
}

#[test]
fn neighbour_discovery_and_atomic_fragment() {
    // zeek/ipv6-http-atomic-frag.pcap frames 1–2: NA/NS; frame 13: TCP behind an atomic
    // fragment header (offset 0, M=0, RFC 6946), which is not a fragment at all.
    let f = frames("zeek/ipv6-http-atomic-frag.pcap");
    assert_eq!(
        info(&decode(f.link, &f.frames[0].1)),
        "Neighbor Advertisement 2001:db8:1::1 (rtr, sol, ovr) is at aa:00:04:00:0a:04"
    );
    assert_eq!(
        info(&decode(f.link, &f.frames[1].1)),
        "Neighbor Solicitation for 2001:db8:1::1 from 00:10:18:95:31:6a"
    );
    let p = decode(f.link, &f.frames[12].1);
    let ip = p.ip.clone().unwrap();
    assert!(ip.v6_frag_header.is_some());
    assert!(!ip.is_fragment());
    assert_eq!(p.proto_name(), "tcp");
    let mut d = Defragmenter::default();
    assert_eq!(
        d.push(f.frames[12].0, f.link, &f.frames[12].1, &p),
        DefragResult::NotFragment
    );
}

#[test]
fn icmp_pings() {
    // zeek/icmp-5-pings.pcap frames 1–2: echo request/reply id 0x04ca seq 1.
    let f = frames("zeek/icmp-5-pings.pcap");
    let p = decode(f.link, &f.frames[0].1);
    assert!(matches!(
        p.transport,
        Transport::Icmp(IcmpInfo {
            kind: 8,
            code: 0,
            echo: Some((0x04ca, 1)),
            quoted: None,
            ..
        })
    ));
    assert_eq!(
        info(&p),
        "Echo (ping) request  id=0x04ca, seq=1/256, ttl=64"
    );
    assert_eq!(
        info(&decode(f.link, &f.frames[1].1)),
        "Echo (ping) reply    id=0x04ca, seq=1/256, ttl=113"
    );
    assert_eq!(f.frames.len(), 10);
}

#[test]
fn icmp_error_quotes_the_offending_packet() {
    // tcpdump/afs.pcap frame 29: ICMP port unreachable about UDP 131.151.1.59:7003 → 131.151.32.21:1792
    // (tshark lists the quoted addresses and ports second).
    let (link, d) = frame("tcpdump/afs.pcap", 29);
    let p = decode(link, &d);
    let Transport::Icmp(i) = p.transport else {
        panic!("{:?}", p.transport)
    };
    assert_eq!((i.kind, i.code), (3, 3));
    let q = i.quoted.unwrap();
    assert_eq!(
        (q.src.to_string(), q.dst.to_string()),
        ("131.151.1.59".into(), "131.151.32.21".into())
    );
    assert_eq!((q.protocol, q.sport, q.dport), (17, Some(7003), Some(1792)));
    assert!(info(&p).starts_with("Destination unreachable (Port unreachable) (about 131.151.1.59 → 131.151.32.21 UDP 7003 → 1792)"));
    let tree = field_tree(link, &d);
    let mut quoted_udp = None;
    tree.walk(&mut |n, _| {
        if n.label.starts_with("User Datagram Protocol") {
            quoted_udp = Some(n.range.clone());
        }
    });
    let r = quoted_udp.expect("quoted UDP header in the tree");
    assert_eq!(
        u16::from_be_bytes([d[r.start], d[r.start + 1]]),
        7003,
        "quoted ranges point into the frame"
    );
}

#[test]
fn tcp_flags_of_print_flags() {
    // tcpdump/print-flags.pcap: loopback HTTP; flags of frames 1–6 as tcpdump prints them (S, S., ., P., ., P.).
    let f = frames("tcpdump/print-flags.pcap");
    let flags: Vec<u16> = f
        .frames
        .iter()
        .take(6)
        .map(|(_, d)| decode(f.link, d).tcp().unwrap().flags)
        .collect();
    use tcp_flags::*;
    assert_eq!(flags, [SYN, SYN | ACK, ACK, PSH | ACK, ACK, PSH | ACK]);
    let p = decode(f.link, &f.frames[5].1);
    assert_eq!(p.tcp().unwrap().payload_len, 5559);
    // Every flag bit round-trips through the Info text.
    let all = TcpInfo {
        flags: 0x1ff,
        ..*p.tcp().unwrap()
    };
    let q = Packet {
        transport: Transport::Tcp(all),
        ..p.clone()
    };
    assert!(info(&q).contains("[FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, NS]"));
}

#[test]
fn rst_with_payload() {
    // tcpdump/tcp_rst_diag_payload.pcap frame 1: RST/ACK carrying 8 bytes of diagnostic payload.
    let (link, d) = frame("tcpdump/tcp_rst_diag_payload.pcap", 1);
    let p = decode(link, &d);
    let t = p.tcp().unwrap();
    assert!(t.rst() && t.ack());
    assert_eq!((t.window, t.payload_len), (0, 8));
    assert_eq!(p.payload.len(), 8);
    assert_eq!(&d[p.payload_offset..p.payload_offset + 8], p.payload);
}

#[test]
fn vlan_collisions() {
    // zeek/vlan-collisions.pcap frame 1 untagged SYN, frame 2 the same SYN tagged with VLAN 42.
    let f = frames("zeek/vlan-collisions.pcap");
    let a = decode(f.link, &f.frames[0].1);
    let b = decode(f.link, &f.frames[1].1);
    assert!(a.vlans.is_empty());
    assert_eq!(b.vlans.ids(), &[42]);
    assert_eq!(a.tcp(), b.tcp());
    assert_eq!(b.eth.unwrap().ethertype, 0x8100);
}

#[test]
fn ethernet_arp_and_tcp() {
    // suricata-verify/ethernet-eve.pcap frames 1–3: ARP request, reply, then a SYN to 443.
    let f = frames("suricata-verify/ethernet-eve.pcap");
    let p = decode(f.link, &f.frames[0].1);
    assert_eq!(
        p.eth.map(|e| Mac(e.src).to_string()),
        Some("0a:00:27:00:00:00".into())
    );
    assert_eq!(info(&p), "Who has 192.168.56.101? Tell 192.168.56.1");
    assert_eq!(
        info(&decode(f.link, &f.frames[1].1)),
        "192.168.56.101 is at 08:00:27:0b:cf:a3"
    );
    assert_eq!(decode(f.link, &f.frames[2].1).ports(), Some((49365, 443)));
}

#[test]
fn gre_is_other() {
    // tcpdump/pptp.pcap frame 16: PPTP's GRE (IP protocol 47) carrying PPP LCP.
    let (link, d) = frame("tcpdump/pptp.pcap", 16);
    let p = decode(link, &d);
    assert_eq!(p.transport, Transport::Other(47));
    assert_eq!(p.proto_name(), "ipv4");
    assert_eq!(info(&p), "IP protocol 47 (GRE)");
    assert!(!p.payload.is_empty());
}

#[test]
fn ipv4_fragments_reassemble() {
    // zeek/ipv4-fragmented-4.pcap frames 2–5: one TCP segment in four fragments, pushed out
    // of order (offsets 0, 48, 72, 24). Frame 5 (24..72) overlaps frame 3 (48..72) with
    // different bytes — the capture is an evasion test. First wins here (documented policy):
    // the request reads "..%2f../winnt/system32/cmd.exe"; tshark keeps the later bytes and
    // shows ".RKNWUrdooM+...". The overlap is reported either way.
    let f = frames("zeek/ipv4-fragmented-4.pcap");
    let mut df = Defragmenter::default();
    let mut out = None;
    for (i, (ts, d)) in f.frames.iter().enumerate().skip(1).take(4) {
        let p = decode(f.link, d);
        assert!(p.ip.as_ref().unwrap().is_fragment());
        assert_eq!(p.transport, Transport::None);
        match df.push(*ts, f.link, d, &p) {
            DefragResult::Held { anomaly: None } => assert!(i < 4),
            DefragResult::Complete {
                datagram,
                anomaly: Some(a),
            } => {
                assert_eq!(a.name(), "defrag_overlap");
                assert_eq!(
                    a.detail,
                    "24 bytes at offset 24 overlap earlier fragments (first kept)"
                );
                out = Some(datagram)
            }
            r => panic!("frame {}: {r:?}", i + 1),
        }
    }
    let dg = out.expect("complete after the fourth fragment");
    assert_eq!(df.pending(), 0);
    assert_eq!(df.buffered_bytes(), 0);
    let p = decode(crate::base::LinkType::RAW, &dg);
    assert!(p.anomalies.is_empty(), "{:?}", p.anomalies);
    let ip = p.ip.as_ref().unwrap();
    assert!(!ip.is_fragment());
    assert_eq!(ip.total_len as usize, dg.len());
    let t = p.tcp().unwrap();
    assert_eq!((t.sport, t.dport), (7790, 80));
    assert!(p
        .payload
        .starts_with(b"GET /msadc/..%2f../..%2f../..%2f../winnt/system32/cmd.exe"));
    // The header checksum was recomputed: summing the header gives 0xffff.
    let mut sum = 0u32;
    for c in dg[..20].chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    assert_eq!(sum, 0xffff);
}

#[test]
fn ipv6_fragments_reassemble() {
    // zeek/ipv6-fragmented-dns.pcap: frame 4 is a lone last fragment (ident 1, never
    // completed); frames 6, 7, 8 are a DNS response in three fragments (ident 2).
    let f = frames("zeek/ipv6-fragmented-dns.pcap");
    let mut df = Defragmenter::default();
    let mut done = Vec::new();
    for (n, (ts, d)) in f.frames.iter().enumerate() {
        let p = decode(f.link, d);
        if let DefragResult::Complete { datagram, anomaly } = df.push(*ts, f.link, d, &p) {
            assert_eq!(anomaly, None);
            done.push((n + 1, datagram));
        }
    }
    assert_eq!(done.len(), 1);
    let (n, dg) = &done[0];
    assert_eq!(*n, 8);
    let p = decode(crate::base::LinkType::RAW, dg);
    assert!(p.anomalies.is_empty(), "{:?}", p.anomalies);
    let u = *p.udp().unwrap();
    assert_eq!((u.sport, u.dport), (53, 51851));
    assert_eq!(usize::from(u.length), dg.len() - 40);
    assert_eq!(df.pending(), 1, "ident 1 is still waiting");
    let expired = df.expire(Timestamp(f.frames[7].0 .0 + 31_000_000_000));
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].name(), "defrag_timeout");
    assert_eq!((df.pending(), df.buffered_bytes()), (0, 0));
}

/// Checks the invariants every tree must keep: ranges ordered and inside the frame.
fn assert_tree_in_bounds(link: crate::base::LinkType, d: &[u8]) {
    let t = field_tree(link, d);
    t.walk(&mut |n, _| {
        assert!(
            n.range.start <= n.range.end && n.range.end <= d.len(),
            "{} {:?} in {} bytes",
            n.label,
            n.range,
            d.len()
        );
    });
}

/// How many bytes the frame must have for nothing to be missing, from the full decode.
fn needed(p: &Packet<'_>) -> usize {
    if let Some(ip) = &p.ip {
        return ip.header.start + ip.total_len as usize;
    }
    if p.arp.is_some() {
        return p.link_header.end + 4 * p.vlans.len() + 28;
    }
    p.link_header.end
}

#[test]
fn truncation_sweep_keeps_what_parsed() {
    // Every prefix of real frames: QinQ ARP, SLL TCP SYN, SLL2 ICMP, IPv6 routing header,
    // ICMP error with quote, TCP with payload, raw IPv6 UDP, IPv4 first fragment.
    let cases = [
        ("tcpdump/802.1ad_QinQ.pcap", 1),
        ("tcpdump/tcp-handshake-nano.pcap", 1),
        ("zeek/linux_dlt_sll2.pcap", 1),
        ("zeek/linux_dlt_sll2.pcap", 5),
        ("tcpdump/ipv6-routing-header.pcap", 3),
        ("tcpdump/afs.pcap", 29),
        ("tcpdump/print-flags.pcap", 4),
        ("tcpdump/LINKTYPE_IPV6.pcap", 1),
        ("zeek/ipv4-fragmented-4.pcap", 2),
        ("tcpdump/icmpv6.pcap", 2),
    ];
    for (rel, n) in cases {
        let (link, d) = frame(rel, n);
        let full = decode(link, &d);
        assert!(
            full.anomalies.is_empty(),
            "{rel} #{n}: {:?}",
            full.anomalies
        );
        let need = needed(&full);
        for k in 0..=d.len() {
            let cut = &d[..k];
            let p = decode(link, cut);
            let _ = info(&p);
            assert_tree_in_bounds(link, cut);
            let ctx = format!("{rel} #{n} cut at {k}");
            if k < need {
                assert!(
                    !p.anomalies.is_empty(),
                    "{ctx}: a cut frame must say why it stopped"
                );
            }
            if k >= full.link_header.end && full.eth.is_some() {
                assert_eq!(p.eth, full.eth, "{ctx}");
            }
            if let Some(ip) = &full.ip {
                if k >= ip.header.end {
                    let got = p.ip.as_ref().unwrap_or_else(|| panic!("{ctx}: IP lost"));
                    assert_eq!(
                        (got.src, got.dst, got.protocol),
                        (ip.src, ip.dst, ip.protocol),
                        "{ctx}"
                    );
                }
            }
            if !full.transport_header.is_empty() && k >= full.transport_header.end {
                assert_eq!(p.ports(), full.ports(), "{ctx}");
                assert_eq!(
                    std::mem::discriminant(&p.transport),
                    std::mem::discriminant(&full.transport),
                    "{ctx}"
                );
                if let (Some(a), Some(b)) = (p.tcp(), full.tcp()) {
                    assert_eq!(
                        a.payload_len, b.payload_len,
                        "{ctx}: tcp.len comes from the IP length"
                    );
                }
            } else if !full.transport_header.is_empty() && k < full.transport_header.start {
                assert!(matches!(p.transport, Transport::None), "{ctx}");
            }
        }
    }
    // The cut-inside-TCP case names the layer.
    let (link, d) = frame("tcpdump/print-flags.pcap", 4);
    let full = decode(link, &d);
    let p = decode(link, &d[..full.transport_header.start + 10]);
    assert!(p.ip.is_some() && p.eth.is_none() == full.eth.is_none());
    let names: Vec<&str> = p.anomalies.iter().map(|a| a.name()).collect();
    assert_eq!(names, ["snaplen_cut", "truncated_tcp"]);
}

#[test]
fn tree_covers_every_header_field() {
    // tcpdump/tcp-handshake-nano.pcap frame 1: the TCP "Source Port" node's bytes are the port.
    let (link, d) = frame("tcpdump/tcp-handshake-nano.pcap", 1);
    let t = field_tree(link, &d);
    let mut labels = Vec::new();
    t.walk(&mut |n, depth| labels.push((depth, n.label.clone(), n.range.clone())));
    let find = |prefix: &str| {
        labels
            .iter()
            .find(|(_, l, _)| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix}: {labels:#?}"))
            .2
            .clone()
    };
    let r = find("Source Port: 46656");
    assert_eq!(u16::from_be_bytes([d[r.start], d[r.start + 1]]), 46656);
    let r = find("Time to Live");
    assert_eq!(r.len(), 1);
    for f in [
        "Linux cooked capture v1",
        "Version: 4",
        "Header Length: 20 bytes",
        "Total Length",
        "Identification",
        "Flags: 0x",
        "Fragment Offset",
        "Protocol: TCP (6)",
        "Header Checksum",
        "Source Address: 131.155.215.69",
        "Destination Address",
        "Sequence Number (raw): 797190859",
        "Syn: Set",
        "Fin: Not set",
        "Window: 27200",
        "Urgent Pointer",
        "Options: (20 bytes)",
        "Maximum segment size: 1360 bytes",
        "Window scale: 7",
        "Timestamps: TSval 1131021154",
    ] {
        find(f);
    }
    assert_eq!(t.range, 0..d.len());
}

mod props {
    use super::*;
    use crate::base::LinkType;
    use proptest::prelude::*;

    const LINKS: [u32; 11] = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 9999];

    fn real_frames() -> Vec<(LinkType, Vec<u8>)> {
        [
            ("tcpdump/802.1ad_QinQ.pcap", 1),
            ("tcpdump/tcp-handshake-nano.pcap", 1),
            ("zeek/linux_dlt_sll2.pcap", 3),
            ("tcpdump/ipv6-routing-header.pcap", 1),
            ("tcpdump/afs.pcap", 29),
            ("tcpdump/print-flags.pcap", 1),
            ("zeek/ipv6-fragmented-dns.pcap", 6),
        ]
        .iter()
        .map(|(r, n)| frame(r, *n))
        .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_never_panic(link in prop::sample::select(&LINKS[..]), d in prop::collection::vec(any::<u8>(), 0..300)) {
            let p = decode(LinkType(link), &d);
            let _ = info(&p);
            prop_assert!(p.payload_offset + p.payload.len() <= d.len());
            prop_assert!(p.transport_header.end <= d.len());
            assert_tree_in_bounds(LinkType(link), &d);
        }

        #[test]
        fn mutated_real_frames_never_panic(which in 0usize..7, edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
            let frames = real_frames();
            let (link, mut d) = frames[which].clone();
            for (i, b) in edits {
                let at = i.index(d.len());
                d[at] = b;
            }
            let d = &d[..cut.index(d.len() + 1)];
            let p = decode(link, d);
            let _ = info(&p);
            assert_tree_in_bounds(link, d);
        }
    }
}

#[test]
fn ipv4_options_and_malformed_headers() {
    // tcpdump/LINKTYPE_RAW_ipv4.pcap frame 1 with four bytes of IPv4 options inserted
    // (Router Alert, RFC 2113: 94 04 00 00), IHL and total length adjusted.
    let (link, d) = frame("tcpdump/LINKTYPE_RAW_ipv4.pcap", 1);
    let mut f = d[..20].to_vec();
    f[0] = 0x46;
    let total = u16::from_be_bytes([d[2], d[3]]) + 4;
    f[2..4].copy_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[0x94, 0x04, 0x00, 0x00]);
    f.extend_from_slice(&d[20..]);
    let p = decode(link, &f);
    assert!(p.anomalies.is_empty(), "{:?}", p.anomalies);
    assert_eq!(p.ip.as_ref().unwrap().header, 0..24);
    assert_eq!(p.ports(), Some((12345, 53)));
    assert_eq!(p.transport_header.start, 24);
    let t = field_tree(link, &f);
    let mut opt = None;
    t.walk(&mut |n, _| {
        if n.label.starts_with("Option type 148") {
            opt = Some(n.range.clone());
        }
    });
    assert_eq!(opt, Some(20..24));
    // Total length 0 (as captured before segmentation offload): decoded from what is there.
    let mut zero = d.clone();
    zero[2] = 0;
    zero[3] = 0;
    let p = decode(link, &zero);
    assert_eq!(p.ports(), Some((12345, 53)));
    assert_eq!(
        p.anomalies.iter().map(|a| a.name()).collect::<Vec<_>>(),
        ["bad_ip_total_length"]
    );
    // IHL 4 (< 20 bytes): the header is unusable, said so.
    let mut bad = d.clone();
    bad[0] = 0x44;
    assert_eq!(
        decode(link, &bad).anomalies[0].name(),
        "bad_ip_header_length"
    );
    // Version 7 on an IPv4-only link.
    bad[0] = 0x75;
    assert_eq!(
        decode(crate::base::LinkType::IPV4, &bad).anomalies[0].name(),
        "bad_ip_version"
    );
    assert_eq!(decode(link, &bad).anomalies[0].name(), "bad_ip_version");
    // TCP data offset below 5 (tcpdump/print-flags.pcap frame 1 with offset 4).
    let (link, mut d) = frame("tcpdump/print-flags.pcap", 1);
    let th = decode(link, &d).transport_header.start;
    d[th + 12] = 0x40 | (d[th + 12] & 0x0f);
    let p = decode(link, &d);
    assert!(p.ip.is_some() && p.tcp().is_none());
    assert_eq!(p.anomalies.last().unwrap().name(), "bad_tcp_data_offset");
}

#[test]
fn info_with_connection_state() {
    // tcpdump/print-flags.pcap frame 3: the handshake's final ACK; WS=4 was negotiated (shift 2).
    let f = frames("tcpdump/print-flags.pcap");
    let syn = *decode(f.link, &f.frames[0].1).tcp().unwrap();
    let synack = *decode(f.link, &f.frames[1].1).tcp().unwrap();
    let p = decode(f.link, &f.frames[2].1);
    let rel = TcpRel {
        seq_base: syn.seq,
        ack_base: synack.seq,
        window_shift: syn.options.wscale,
    };
    assert_eq!(
        info_with(&p, Some(&rel)),
        "55920 → 80 [ACK] Seq=1 Ack=1 Win=32768 Len=0 TSval=1306300950 TSecr=1306300950"
    );
}

#[test]
fn icmpv6_error_quotes_ipv6_udp() {
    // An ICMPv6 port unreachable (RFC 4443 §3.1) built around the real datagram of
    // tcpdump/LINKTYPE_IPV6.pcap frame 1 (UDP 12345 → 53), sent back by its destination.
    let (link, q) = frame("tcpdump/LINKTYPE_IPV6.pcap", 1);
    let mut f = q[..8].to_vec();
    let plen = (8 + q.len()) as u16;
    f[4..6].copy_from_slice(&plen.to_be_bytes());
    f[6] = 58;
    f.extend_from_slice(&q[24..40]); // source: the quoted packet's destination
    f.extend_from_slice(&q[8..24]);
    f.extend_from_slice(&[1, 4, 0, 0, 0, 0, 0, 0]);
    f.extend_from_slice(&q);
    let p = decode(link, &f);
    let Transport::Icmpv6(i) = p.transport else {
        panic!("{:?}", p)
    };
    assert_eq!((i.kind, i.code), (1, 4));
    let qd = i.quoted.unwrap();
    assert_eq!(
        (qd.protocol, qd.sport, qd.dport),
        (17, Some(12345), Some(53))
    );
    assert_eq!(qd.dst.to_string(), "2620:fe::9");
    assert_eq!(info(&p), "Destination Unreachable (Port unreachable) (about 2001:db8::1 → 2620:fe::9 UDP 12345 → 53)");
    assert_tree_in_bounds(link, &f);
}

#[test]
fn the_tcp_node_shows_relative_numbers_beside_the_raw_ones() {
    // captures/lab-page.pcap frame 8 (GET /): raw seq 0x85fe6f28, ack 0x976d34fe.
    let fr = crate::testutil::read_frames(&crate::testutil::bundled_capture("lab-page.pcap"));
    let (link, frame) = (fr.link, fr.frames[7].1.as_slice());
    let rel = TcpRel {
        seq_base: 0x85fe_6f27,
        ack_base: 0x976d_34fd,
        window_shift: Some(10),
    };
    let t = crate::decode::field_tree_with(link, frame, Some(&rel));
    let tcp = t
        .children
        .iter()
        .find(|n| n.label.starts_with("Transmission Control Protocol"))
        .unwrap();
    assert!(tcp.label.ends_with("Seq: 1, Len: 87"), "{}", tcp.label);
    assert_eq!(
        tcp.children[2].label,
        format!("Sequence Number: 1 (relative) — raw {}", 0x85fe_6f28u32)
    );
    assert_eq!(
        tcp.children[3].label,
        format!(
            "Acknowledgment Number: 1 (relative) — raw {}",
            0x976d_34feu32
        )
    );
    // Without the connection's numbers the tree is what it always was.
    let plain = crate::decode::field_tree(link, frame);
    let tcp = plain
        .children
        .iter()
        .find(|n| n.label.starts_with("Transmission Control Protocol"))
        .unwrap();
    assert_eq!(
        tcp.children[2].label,
        format!("Sequence Number (raw): {}", 0x85fe_6f28u32)
    );
}
