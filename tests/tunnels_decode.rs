//! Tunnels and link-layer encapsulations decoded down to the inner packet, frame by frame,
//! against tshark on real captures (Zeek's and tcpdump's test traces, copied into
//! tests/data/tunnels with SOURCES.md; truth/*.tsv from `regen.sh`, which runs tshark —
//! the test never does). Each frame goes through `decode_defragmented`, the path every
//! consumer takes, so a tunnel carried in IP fragments is compared on the frame that
//! completes it, as tshark shows it.
//!
//! Compared per frame: the innermost IP source and destination, the layer above it
//! (tcp/udp/icmp/icmpv6), its ports, and the tunnel ids (MPLS labels, VXLAN and Geneve
//! VNIs, GRE keys, GTP-U TEIDs) in order. Where wiretale deliberately decodes differently
//! from tshark 4.0, the frame is listed in `DIFFERENCES` with the reason.

use std::path::Path;

use wiretale::capture as file;
use wiretale::decode::{
    decode_defragmented, DefragLimits, Defragmenter, EncapKind, Packet, Transport,
};

const DIR: &str = "tests/data/tunnels";

/// (capture, frames, why wiretale's line differs from tshark's there).
const DIFFERENCES: &[(&str, &[u32], &str)] = &[
    (
        "cisco-fabric-path.pcap",
        &[114, 116, 118, 120, 122, 124, 126, 128],
        "Wireshark takes a FabricPath frame's last 4 bytes as an FCS, which leaves these \
         70-byte frames' IPv6 header 4 bytes short (no addresses); wiretale, like Zeek, \
         strips no FCS and shows the header the frame holds",
    ),
    (
        "geneve-arp.pcap",
        &[1],
        "the tunnel carries ARP: wiretale's innermost layer is that ARP (no IP), tshark's \
         last IP layer is the outer one",
    ),
    (
        "vxlan.pcap",
        &[1, 2],
        "the tunnel carries ARP (see geneve-arp.pcap)",
    ),
    (
        "tcpdump-vxlan_port_8472.pcap",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        "tshark decodes VXLAN on 4789 only; wiretale also opens Linux's old port 8472 when \
         the header is exactly RFC 7348's (flags 0x08, reserved bytes zero) and an \
         Ethernet frame with IPv4/IPv6/ARP follows (frames 2 and 3 carry ARP)",
    ),
    (
        "mpls-6in6-6in6-4in6-invalid-version-4.pcap",
        &[1],
        "IPv6 in IPv6 in MPLS whose innermost 'IPv4' has version 12: tshark's last IP \
         layer is that broken header (no addresses); wiretale keeps the last IP that \
         parsed, with a bad_ip_version anomaly (Zeek logs the same weird)",
    ),
    (
        "tcpdump-various_gre.pcap",
        &[
            11, 12, 16, 17, 41, 42, 46, 47, 49, 63, 64, 65, 70, 71, 87, 88, 92, 93,
        ],
        "GRE keepalives: a GRE header with nothing after it is not a tunnel around a \
         packet, so it is no `Encap` and the packet is the IP packet carrying it; tshark \
         lists its key",
    ),
];

fn line(p: &Packet<'_>, frame: u32) -> String {
    let (src, dst) = p.ip.as_ref().map_or((String::new(), String::new()), |ip| {
        (ip.src.to_string(), ip.dst.to_string())
    });
    let (above, sport, dport) = match &p.transport {
        Transport::Tcp(t) => ("tcp", t.sport.to_string(), t.dport.to_string()),
        Transport::Udp(u) => ("udp", u.sport.to_string(), u.dport.to_string()),
        Transport::Icmp(_) => ("icmp", String::new(), String::new()),
        Transport::Icmpv6(_) => ("icmpv6", String::new(), String::new()),
        _ => ("", String::new(), String::new()),
    };
    let mut ids = Vec::new();
    for (name, kind) in [
        ("mpls", EncapKind::Mpls),
        ("vxlan", EncapKind::Vxlan),
        ("geneve", EncapKind::Geneve),
        ("gre", EncapKind::Gre),
        ("gtp", EncapKind::GtpU),
    ] {
        let v: Vec<String> = p
            .tunnels
            .iter()
            // tshark's `gre.key` is PPTP's call id too (enhanced GRE, RFC 2637 §4.1).
            .filter(|t| t.kind == kind || (kind == EncapKind::Gre && t.kind == EncapKind::Pptp))
            .filter_map(|t| t.id.map(|i| i.to_string()))
            .collect();
        if !v.is_empty() {
            ids.push(format!("{name}={}", v.join(",")));
        }
    }
    format!(
        "{frame}\t{src}\t{dst}\t{above}\t{sport}\t{dport}\t{}",
        ids.join(";")
    )
}

/// Every frame of `name` as wiretale decodes it, one truth-format line each.
fn decoded(name: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DIR).join(name);
    let mut src = file::open(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut defrag = Defragmenter::new(DefragLimits::default());
    let mut out = Vec::new();
    let mut n = 0;
    while let Some(f) = src.next_frame().expect("readable capture") {
        n += 1;
        let l = decode_defragmented(
            &mut defrag,
            f.meta.ts,
            f.meta.link,
            f.data,
            |p, whole, _| line(whole.unwrap_or(p), n),
        );
        out.push(l);
    }
    out
}

fn truth(name: &str) -> Vec<String> {
    let stem = name.trim_end_matches(".pcapng").trim_end_matches(".pcap");
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(DIR)
        .join("truth")
        .join(format!("{stem}.tsv"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(str::to_string)
        .collect()
}

fn captures() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(DIR))
        .expect("tunnel captures")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_frame_matches_tshark_innermost_layer() {
    let names = captures();
    assert!(names.len() >= 40, "captures missing: {names:?}");
    let mut bad = Vec::new();
    let mut frames = 0;
    for name in &names {
        let ours = decoded(name);
        let theirs = truth(name);
        assert_eq!(ours.len(), theirs.len(), "{name}: frame count");
        for (o, t) in ours.iter().zip(&theirs) {
            frames += 1;
            let frame: u32 = o
                .split('\t')
                .next()
                .and_then(|f| f.parse().ok())
                .unwrap_or(0);
            let known = DIFFERENCES
                .iter()
                .any(|(n, f, _)| n == name && f.contains(&frame));
            if (o != t) != known {
                bad.push(format!(
                    "{name}\n  ours:   {o}\n  tshark: {t}\n  listed as a difference: {known}"
                ));
            }
        }
    }
    assert!(frames > 1000, "only {frames} frames compared");
    assert!(
        bad.is_empty(),
        "{} frames differ:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// Every (proto, address, port) pair of every layer of `name`'s packets: the innermost
/// transport and each tunnel's outer IP/UDP, in both orders (ICMP without ports: Zeek
/// puts type and code there).
fn tuples(name: &str) -> std::collections::HashSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DIR).join(name);
    let mut src = file::open(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut defrag = Defragmenter::new(DefragLimits::default());
    let mut out = std::collections::HashSet::new();
    let mut add = |proto: &str, a: String, ap: String, b: String, bp: String| {
        out.insert(format!("{proto}\t{a}\t{ap}\t{b}\t{bp}"));
        out.insert(format!("{proto}\t{b}\t{bp}\t{a}\t{ap}"));
    };
    while let Some(f) = src.next_frame().expect("readable capture") {
        decode_defragmented(
            &mut defrag,
            f.meta.ts,
            f.meta.link,
            f.data,
            |p, whole, _| {
                let p = whole.unwrap_or(p);
                if let Some(ip) = &p.ip {
                    let (s, d) = (ip.src.to_string(), ip.dst.to_string());
                    match &p.transport {
                        Transport::Tcp(t) => {
                            add("tcp", s, t.sport.to_string(), d, t.dport.to_string())
                        }
                        Transport::Udp(u) => {
                            add("udp", s, u.sport.to_string(), d, u.dport.to_string())
                        }
                        Transport::Icmp(_) | Transport::Icmpv6(_) => {
                            add("icmp", s, String::new(), d, String::new())
                        }
                        Transport::Other(_) | Transport::None => {
                            add("unknown_transport", s, "0".into(), d, "0".into())
                        }
                    }
                }
                for t in &p.tunnels {
                    if let (Some(ip), Some(u)) = (&t.ip, &t.udp) {
                        add(
                            "udp",
                            ip.src.to_string(),
                            u.sport.to_string(),
                            ip.dst.to_string(),
                            u.dport.to_string(),
                        );
                    }
                }
            },
        );
    }
    out
}

/// Connections in Zeek's logs that no frame carries as wiretale (or tshark) decodes it.
const ZEEK_ONLY: &[(&str, &str, &str)] = &[(
    "Teredo.pcap",
    "tcp\t2001:0:4137:9e50:8000:f12a:b9c8:2815\t1286\t2001:4860:0:2001::68\t80",
    "the only frame between these addresses (30) is a Teredo direct connectivity test, an \
     IPv6 packet with no next header; tshark finds no TCP header for it either",
)];

/// Zeek's own conn.log for these traces (zeek-conn.tsv, from its test baselines): every
/// connection it logs — inner ones and the outer UDP of VXLAN, Geneve, Teredo, GTP-U —
/// is a tuple wiretale decodes.
#[test]
fn every_zeek_connection_is_decoded() {
    let truth = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(DIR)
            .join("zeek-conn.tsv"),
    )
    .expect("zeek-conn.tsv");
    let mut cache: std::collections::HashMap<String, std::collections::HashSet<String>> =
        Default::default();
    let mut missing = Vec::new();
    let mut checked = 0;
    for line in truth.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let [name, proto, a, ap, b, bp] = f[..] else {
            panic!("bad line {line:?}")
        };
        let set = cache
            .entry(name.to_string())
            .or_insert_with(|| tuples(name));
        let key = if proto == "icmp" {
            format!("icmp\t{a}\t\t{b}\t")
        } else {
            format!("{proto}\t{a}\t{ap}\t{b}\t{bp}")
        };
        checked += 1;
        if ZEEK_ONLY.iter().any(|(n, k, _)| *n == name && *k == key) {
            continue;
        }
        if !set.contains(&key) {
            missing.push(format!("{name}: {key}"));
        }
    }
    assert!(checked > 100, "only {checked} Zeek connections");
    assert!(
        missing.is_empty(),
        "{} Zeek connections not decoded:\n{}",
        missing.len(),
        missing.join("\n")
    );
}
