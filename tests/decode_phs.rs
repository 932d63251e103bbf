//! Protocol-hierarchy counts of `decode` over every classic pcap of the shared corpus,
//! against tshark's `io,phs` in the truth files (the per-frame comparison lives beside the
//! decoder in `crates/engine/src/decode/tests.rs`; this one checks the totals tshark itself reports).
//!
//! What is compared: frames whose outermost network layer is IPv4 / IPv6 / ARP (exact), and
//! frames whose transport directly above that outermost IP header is TCP / UDP / ICMP /
//! ICMPv6. Protocols tshark finds *inside* something (the packet quoted in an ICMP error,
//! IP in GRE) are excluded, since `decode` reports only the outer transport.
//! Known difference: tshark reassembles IP fragments and counts the reassembled transport
//! on the last fragment; the stateless decoder counts that frame as a fragment. So tshark
//! may exceed ours by at most the number of non-first fragments we saw.

mod common;

use std::collections::BTreeMap;
use wiretale::base::LinkType;
use wiretale::decode::{decode, Transport};

/// Test-only classic pcap walker (the real reader is `capture`'s).
fn walk(path: &std::path::Path) -> Option<(LinkType, Vec<Vec<u8>>)> {
    let d = std::fs::read(path).ok()?;
    let (le, rec) = match d.get(..4)? {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => (true, 16),
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => (false, 16),
        [0x34, 0xcd, 0xb2, 0xa1] => (true, 24),
        [0xa1, 0xb2, 0xcd, 0x34] => (false, 24),
        _ => return None,
    };
    let u32at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = d.get(at..at + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    let link = LinkType(u32at(20)? & 0x0fff_ffff);
    let mut frames = Vec::new();
    let mut at = 24;
    while at + rec <= d.len() {
        let caplen = u32at(at + 8)? as usize;
        let Some(b) = d.get(at + rec..at + rec + caplen) else {
            break;
        };
        frames.push(b.to_vec());
        at += rec + caplen;
    }
    Some((link, frames))
}

/// Outermost-layer counts from tshark's flat `io_phs` list (depth-first, with depths).
fn phs_counts(phs: &serde_json::Value) -> BTreeMap<&'static str, u64> {
    let mut out = BTreeMap::new();
    let mut path: Vec<String> = Vec::new();
    for row in phs.as_array().expect("io_phs list") {
        let depth = row["depth"].as_u64().unwrap() as usize;
        let proto = row["protocol"].as_str().unwrap().to_string();
        let frames = row["frames"].as_u64().unwrap();
        path.truncate(depth);
        let is_net = |p: &str| matches!(p, "ip" | "ipv6" | "arp");
        let nets = path.iter().filter(|p| is_net(p)).count();
        let inside_transport = path
            .iter()
            .any(|p| matches!(p.as_str(), "tcp" | "udp" | "icmp" | "icmpv6" | "gre"));
        for name in ["ip", "ipv6", "arp", "tcp", "udp", "icmp", "icmpv6"] {
            if proto == name {
                let counted = if is_net(name) {
                    nets == 0
                } else {
                    nets == 1 && !inside_transport
                };
                if counted {
                    *out.entry(name).or_insert(0) += frames;
                }
            }
        }
        path.push(proto);
    }
    out
}

#[test]
fn protocol_hierarchy_matches_tshark() {
    let root = common::shared_root();
    let mut checked = 0;
    for rel in common::shared_captures() {
        let Some((link, frames)) = walk(&root.join(&rel)) else {
            continue;
        };
        let truth = common::truth(&rel);
        let theirs = phs_counts(&truth["io_phs"]);
        let mut ours: BTreeMap<&'static str, u64> = BTreeMap::new();
        let mut later_fragments = 0u64;
        for f in &frames {
            let p = decode(link, f);
            if let Some(ip) = &p.ip {
                *ours
                    .entry(if ip.version == 4 { "ip" } else { "ipv6" })
                    .or_insert(0) += 1;
                if ip.frag_offset > 0 {
                    later_fragments += 1;
                }
            }
            if p.arp.is_some() {
                *ours.entry("arp").or_insert(0) += 1;
            }
            let t = match p.transport {
                Transport::Tcp(_) => "tcp",
                Transport::Udp(_) => "udp",
                Transport::Icmp(_) => "icmp",
                Transport::Icmpv6(_) => "icmpv6",
                _ => continue,
            };
            *ours.entry(t).or_insert(0) += 1;
        }
        for name in ["ip", "ipv6", "arp", "tcp", "udp", "icmp", "icmpv6"] {
            let a = ours.get(name).copied().unwrap_or(0);
            let b = theirs.get(name).copied().unwrap_or(0);
            if matches!(name, "ip" | "ipv6" | "arp") {
                assert_eq!(a, b, "{rel}: {name} frames: ours {a}, tshark {b}");
            } else {
                assert!(
                    a <= b && b - a <= later_fragments,
                    "{rel}: {name} frames: ours {a}, tshark {b}, later fragments {later_fragments}"
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} classic pcaps checked");
}
