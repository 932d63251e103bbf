//! The shard key: a light parse of a frame that finds the addresses the connection
//! table will key it by, hashed so that every packet the engine could put in one
//! connection (or match across connections) lands on one shard.
//!
//! What must stay together, and how the key keeps it:
//! - Both directions of a connection: the key hashes the *unordered* pair of IP
//!   addresses, so `a → b` and `b → a` hash alike.
//! - IP fragments: later fragments carry no ports, so ports are never part of the key;
//!   every fragment of a datagram has the same address pair.
//! - ICMP errors (RFC 792, RFC 4443 §3) are joined to the connection they quote: they
//!   are keyed by the quoted packet's address pair, not by the router that sent them.
//! - A DNS query and its response, and a truncated UDP answer and its retry over TCP
//!   (RFC 7766 §5): one address pair, so one shard.
//! - Multicast DNS, LLMNR and NetBIOS name service (UDP 5353, 5355, 137) pair a query
//!   with responses from other hosts (RFC 6762 §6, RFC 4795 §2.1, RFC 1002 §4.2): all of
//!   it goes to one shard.
//! - Tunnelled traffic is keyed by its outermost addresses (both tunnel endpoints), so
//!   a tunnel's flows stay together without peeling the encapsulation here.
//!
//! Frames this parse does not understand (not IP, 802.11 with protection, an unknown
//! link type) get key 0: all of them on one shard, so whatever the engine makes of them
//! it makes in one place.
//!
//! The cost is a few bounds-checked reads per frame: the full decode happens in the
//! worker. Addresses only (no ports) also means one client–server pair is one shard's
//! work: a capture between two hosts does not spread.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::base::LinkType;

/// The key of the multicast name services (see the module docs).
const NAME_SERVICES: u64 = 0x6d64_6e73;

/// The shard key of a frame of link type `link` (see the module docs).
pub fn shard_key(link: LinkType, data: &[u8]) -> u64 {
    l3_start(link, data).map_or(0, |(ip, at)| ip_key(data.get(at..).unwrap_or(&[]), ip, 0))
}

/// Which shard of `shards` a key belongs to.
pub fn shard_of(key: u64, shards: usize) -> usize {
    // The multiply mixes the low bits (addresses differ mostly there).
    let h = key.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    ((h >> 32) % shards.max(1) as u64) as usize
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ip {
    V4,
    V6,
    /// Look at the version nibble.
    Any,
}

fn u16_at(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

/// Where the network layer starts, and which version it is.
fn l3_start(link: LinkType, d: &[u8]) -> Option<(Ip, usize)> {
    match link {
        LinkType::ETHERNET => ether(d, 12),
        LinkType::RAW | LinkType::RAW_12 | LinkType::RAW_14 => Some((Ip::Any, 0)),
        LinkType::IPV4 => Some((Ip::V4, 0)),
        LinkType::IPV6 => Some((Ip::V6, 0)),
        LinkType::NULL | LinkType::LOOP => {
            // The address family in host (NULL) or network (LOOP) order: look at both.
            let b = d.get(..4)?;
            let fam = if b.first() == Some(&0) && b.get(1) == Some(&0) {
                u16_at(d, 2)?
            } else {
                u16::from_le_bytes([*b.first()?, *b.get(1)?])
            };
            match fam {
                2 => Some((Ip::V4, 4)),
                24 | 28 | 30 => Some((Ip::V6, 4)),
                _ => None,
            }
        }
        LinkType::LINUX_SLL => by_ethertype(d, u16_at(d, 14)?, 16),
        LinkType::LINUX_SLL2 => by_ethertype(d, u16_at(d, 0)?, 20),
        LinkType::PPP => ppp(d, 0),
        LinkType::PPP_ETHER => ppp(d, 6),
        LinkType::IEEE802_11 => wifi(d, 0),
        LinkType::IEEE802_11_RADIOTAP => {
            let len = u16::from_le_bytes([*d.get(2)?, *d.get(3)?]) as usize;
            wifi(d, len)
        }
        _ => None,
    }
}

/// An Ethernet type field at `at` (VLAN tags and PPPoE sessions skipped).
fn ether(d: &[u8], at: usize) -> Option<(Ip, usize)> {
    by_ethertype(d, u16_at(d, at)?, at + 2)
}

fn by_ethertype(d: &[u8], ty: u16, next: usize) -> Option<(Ip, usize)> {
    match ty {
        0x0800 => Some((Ip::V4, next)),
        0x86dd => Some((Ip::V6, next)),
        // 802.1Q, 802.1ad, and the old QinQ type: a 4-byte tag, then the type.
        0x8100 | 0x88a8 | 0x9100 => ether(d, next + 2),
        // PPPoE session (RFC 2516 §4): 6 bytes, then PPP.
        0x8864 => ppp(d, next + 6),
        // MPLS (RFC 3032): labels until bottom of stack, then IP by its version.
        0x8847 | 0x8848 => {
            let mut at = next;
            loop {
                let bos = d.get(at + 2)? & 1;
                at += 4;
                if bos == 1 {
                    return Some((Ip::Any, at));
                }
            }
        }
        _ => None,
    }
}

/// PPP (RFC 1661) at `at`: optional address/control bytes (RFC 1662), the protocol.
fn ppp(d: &[u8], mut at: usize) -> Option<(Ip, usize)> {
    if d.get(at) == Some(&0xff) && d.get(at + 1) == Some(&0x03) {
        at += 2;
    }
    let first = *d.get(at)?;
    // A compressed (1-byte) protocol field has its low bit set (RFC 1661 §2).
    let (proto, len) = if first & 1 == 1 {
        (first as u16, 1)
    } else {
        (u16_at(d, at)?, 2)
    };
    match proto {
        0x21 => Some((Ip::V4, at + len)),
        0x57 => Some((Ip::V6, at + len)),
        _ => None,
    }
}

/// An 802.11 data frame at `at`: its header, then LLC/SNAP with an Ethernet type.
fn wifi(d: &[u8], at: usize) -> Option<(Ip, usize)> {
    let fc0 = *d.get(at)?;
    let fc1 = *d.get(at + 1)?;
    // Data frames only (type 2), not protected (their payload is ciphertext).
    if (fc0 >> 2) & 3 != 2 || fc1 & 0x40 != 0 {
        return None;
    }
    let mut len = 24;
    if fc1 & 3 == 3 {
        len += 6;
    }
    let qos = fc0 & 0x80 != 0;
    if qos {
        len += 2;
        if fc1 & 0x80 != 0 {
            len += 4;
        }
    }
    let llc = at + len;
    if d.get(llc..llc + 6)? != [0xaa, 0xaa, 0x03, 0, 0, 0] {
        return None;
    }
    by_ethertype(d, u16_at(d, llc + 6)?, llc + 8)
}

/// Mixes a sorted address pair (and how deep in ICMP quotes we are) into a key.
fn pair_key(a: &[u8], b: &[u8]) -> u64 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in lo.iter().chain([0xffu8].iter()).chain(hi.iter()) {
        h = (h ^ x as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h | 1
}

/// The key of an IP packet at the start of `d` (`depth`: ICMP quotes followed).
fn ip_key(d: &[u8], ip: Ip, depth: u8) -> u64 {
    let ip = match ip {
        Ip::Any => match d.first().map(|b| b >> 4) {
            Some(4) => Ip::V4,
            Some(6) => Ip::V6,
            _ => return 0,
        },
        v => v,
    };
    let parsed = match ip {
        Ip::V4 => v4(d),
        _ => v6(d),
    };
    let Some(p) = parsed else {
        return 0;
    };
    // An ICMP error about a packet: the quoted packet's key (one level deep: an error
    // about an error is not sent, RFC 1122 §3.2.2).
    if let (Some(quote), 0) = (p.icmp_quote, depth) {
        let k = ip_key(quote, Ip::Any, 1);
        if k != 0 {
            return k;
        }
    }
    if p.name_service {
        return NAME_SERVICES;
    }
    pair_key(p.src, p.dst)
}

struct Parsed<'a> {
    src: &'a [u8],
    dst: &'a [u8],
    /// The packet an ICMP error quotes.
    icmp_quote: Option<&'a [u8]>,
    /// UDP to or from a multicast name service port.
    name_service: bool,
}

fn v4(d: &[u8]) -> Option<Parsed<'_>> {
    let ihl = (*d.first()? & 0x0f) as usize * 4;
    let src = d.get(12..16)?;
    let dst = d.get(16..20)?;
    let proto = *d.get(9)?;
    let frag = u16_at(d, 6)?;
    // Only a first fragment (offset 0) holds the transport header.
    let l4 = if frag & 0x1fff == 0 {
        d.get(ihl..)
    } else {
        None
    };
    Some(transport(src, dst, proto, l4, frag & 0x2000 != 0, false))
}

fn v6(d: &[u8]) -> Option<Parsed<'_>> {
    let src = d.get(8..24)?;
    let dst = d.get(24..40)?;
    let mut next = *d.get(6)?;
    let mut at = 40;
    let mut fragmented = false;
    // Extension headers (RFC 8200 §4) before the transport header; a bounded walk.
    for _ in 0..8 {
        match next {
            0 | 43 | 60 => {
                next = *d.get(at)?;
                at += (*d.get(at + 1)? as usize + 1) * 8;
            }
            44 => {
                next = *d.get(at)?;
                let off = u16_at(d, at + 2)?;
                fragmented = true;
                if off & 0xfff8 != 0 {
                    return Some(transport(src, dst, next, None, true, true));
                }
                at += 8;
            }
            _ => break,
        }
    }
    Some(transport(src, dst, next, d.get(at..), fragmented, true))
}

fn transport<'a>(
    src: &'a [u8],
    dst: &'a [u8],
    proto: u8,
    l4: Option<&'a [u8]>,
    fragmented: bool,
    v6: bool,
) -> Parsed<'a> {
    let mut p = Parsed {
        src,
        dst,
        icmp_quote: None,
        name_service: false,
    };
    let Some(l4) = l4 else {
        return p;
    };
    match (proto, v6) {
        // UDP: the name services. A fragmented datagram stays with its address pair
        // (its later fragments cannot be told apart).
        (17, _) if !fragmented => {
            let ports = [u16_at(l4, 0), u16_at(l4, 2)];
            p.name_service = ports
                .iter()
                .flatten()
                .any(|&port| matches!(port, 5353 | 5355 | 137));
        }
        // ICMP errors: destination unreachable, source quench, redirect, time exceeded,
        // parameter problem (RFC 792); ICMPv6 types 1–4 (RFC 4443).
        (1, false) if matches!(l4.first(), Some(3 | 4 | 5 | 11 | 12)) => {
            p.icmp_quote = l4.get(8..);
        }
        (58, true) if matches!(l4.first(), Some(1..=4)) => {
            p.icmp_quote = l4.get(8..);
        }
        _ => {}
    }
    p
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]
    use super::*;

    /// An Ethernet + IPv4 + UDP frame from `src` to `dst` (ports `sp` → `dp`).
    fn eth_v4_udp(src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16, frag: u16) -> Vec<u8> {
        let mut f = vec![0u8; 14];
        f[12] = 0x08;
        let mut ip = vec![0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0];
        ip[6..8].copy_from_slice(&frag.to_be_bytes());
        ip.extend_from_slice(&src);
        ip.extend_from_slice(&dst);
        f.extend_from_slice(&ip);
        f.extend_from_slice(&sp.to_be_bytes());
        f.extend_from_slice(&dp.to_be_bytes());
        f.extend_from_slice(&[0, 8, 0, 0]);
        f
    }

    #[test]
    fn both_directions_and_every_fragment_share_a_key() {
        let (a, b) = ([198, 18, 0, 1], [198, 18, 0, 2]);
        let k = shard_key(LinkType::ETHERNET, &eth_v4_udp(a, b, 40000, 53, 0));
        assert_ne!(k, 0);
        assert_eq!(
            k,
            shard_key(LinkType::ETHERNET, &eth_v4_udp(b, a, 53, 40000, 0))
        );
        // First fragment (MF set) and a later one (offset 185, no ports parsed).
        assert_eq!(
            k,
            shard_key(LinkType::ETHERNET, &eth_v4_udp(b, a, 53, 40000, 0x2000))
        );
        assert_eq!(
            k,
            shard_key(LinkType::ETHERNET, &eth_v4_udp(b, a, 1, 2, 185))
        );
        // Another pair: another key.
        let other = shard_key(LinkType::ETHERNET, &eth_v4_udp(a, [198, 18, 0, 3], 1, 2, 0));
        assert_ne!(k, other);
    }

    #[test]
    fn an_icmp_error_goes_where_the_quoted_packet_went() {
        let (a, b, router) = ([198, 18, 0, 1], [198, 18, 0, 2], [198, 18, 9, 9]);
        let udp = eth_v4_udp(a, b, 40000, 9999, 0);
        let mut icmp = vec![0u8; 14];
        icmp[12] = 0x08;
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0];
        ip.extend_from_slice(&router);
        ip.extend_from_slice(&a);
        icmp.extend_from_slice(&ip);
        icmp.extend_from_slice(&[3, 3, 0, 0, 0, 0, 0, 0]);
        icmp.extend_from_slice(&udp[14..]);
        assert_eq!(
            shard_key(LinkType::ETHERNET, &icmp),
            shard_key(LinkType::ETHERNET, &udp)
        );
    }

    #[test]
    fn vlan_tags_raw_ip_and_name_services() {
        let (a, b) = ([198, 18, 0, 1], [198, 18, 0, 2]);
        let plain = eth_v4_udp(a, b, 1000, 2000, 0);
        let mut tagged = plain[..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0, 0, 7]);
        tagged.extend_from_slice(&plain[12..]);
        let k = shard_key(LinkType::ETHERNET, &plain);
        assert_eq!(k, shard_key(LinkType::ETHERNET, &tagged));
        assert_eq!(k, shard_key(LinkType::RAW, &plain[14..]));
        let mdns_q = eth_v4_udp(a, [224, 0, 0, 251], 5353, 5353, 0);
        let mdns_r = eth_v4_udp([198, 18, 7, 7], a, 5353, 5353, 0);
        assert_eq!(
            shard_key(LinkType::ETHERNET, &mdns_q),
            shard_key(LinkType::ETHERNET, &mdns_r)
        );
        // Not IP, or cut before the addresses: key 0.
        assert_eq!(shard_key(LinkType::ETHERNET, &plain[..20]), 0);
        assert_eq!(shard_key(LinkType(9999), &plain), 0);
    }

    #[test]
    fn every_prefix_is_safe() {
        let f = eth_v4_udp([1, 2, 3, 4], [5, 6, 7, 8], 1, 2, 0);
        for n in 0..f.len() {
            for link in [0, 1, 9, 12, 51, 101, 105, 108, 113, 127, 228, 229, 276] {
                let _ = shard_key(LinkType(link), &f[..n]);
            }
        }
    }

    #[test]
    fn shards_are_in_range_and_used() {
        let mut seen = [false; 4];
        for i in 0..64u64 {
            let s = shard_of(pair_key(&i.to_be_bytes(), b"x"), 4);
            seen[s] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }
}
