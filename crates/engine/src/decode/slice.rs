//! `decode`: frame bytes → [`Packet`], over etherparse's lax slicer.
//!
//! The lax slicer keeps every layer that parsed and reports where it stopped, which is
//! what a snaplen-cut or malformed frame must show. Link headers etherparse does not
//! handle (Linux cooked v1 from loopback, v2, BSD NULL/LOOP, raw IP) are parsed here by
//! hand and the rest is handed to `LaxSlicedPacket::from_ether_type`.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::{
    err::packet::SliceError, EtherType, LaxNetSlice, LaxSlicedPacket, LinkSlice, TransportSlice,
};

use super::encap::{self, Next};
use super::packet::{
    ArpInfo, EthInfo, IcmpInfo, IpInfo, Packet, Quoted, TcpInfo, TcpOptions, Transport, UdpInfo,
};
use crate::base::{AnomalyKind, LinkType};

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_RARP: u16 = 0x8035;

/// Decodes one frame of link type `link`. Stateless; allocates only when an anomaly is
/// recorded. Never fails: whatever parsed is kept and the reason parsing stopped is an
/// anomaly on the packet.
pub fn decode(link: LinkType, data: &[u8]) -> Packet<'_> {
    let mut p = Packet::empty(link);
    let rest = match link.0 {
        1 => match LaxSlicedPacket::from_ethernet(data) {
            Ok(s) => absorb(&mut p, data, &s, None),
            Err(e) => {
                p.anomaly(
                    AnomalyKind::TruncatedEthernet,
                    format!("Ethernet header: {e}"),
                );
                None
            }
        },
        113 => sll(&mut p, data),
        276 => sll2(&mut p, data),
        0 | 108 => null_loop(&mut p, data),
        12 | 14 | 101 => match data.first().map(|b| b >> 4) {
            Some(4) => from_ether_type(&mut p, data, 0, ETHERTYPE_IPV4),
            Some(6) => from_ether_type(&mut p, data, 0, ETHERTYPE_IPV6),
            Some(v) => {
                p.anomaly(
                    AnomalyKind::BadIpVersion,
                    format!("raw IP packet with version {v}"),
                );
                None
            }
            None => {
                p.anomaly(AnomalyKind::TruncatedIp, "empty raw IP packet");
                None
            }
        },
        228 => from_ether_type(&mut p, data, 0, ETHERTYPE_IPV4),
        229 => from_ether_type(&mut p, data, 0, ETHERTYPE_IPV6),
        // PPP (9), PPPoE (51), 802.11 (105) and radiotap + 802.11 (127) start with an
        // encapsulation: `encap` walks them.
        9 | 51 | 105 | 127 => {
            let first = match link.0 {
                9 => Next::Ppp(0),
                51 => Next::Pppoe(0),
                105 => Next::Wlan(0),
                _ => {
                    // The radiotap header is this link type's link header.
                    if let Some(len) = bytes::<2>(data, 2).map(u16::from_le_bytes) {
                        p.link_header = 0..usize::from(len).min(data.len());
                    }
                    Next::Radiotap(0)
                }
            };
            encap::open(&mut p, data, Some(first));
            return p;
        }
        other => {
            p.anomaly(
                AnomalyKind::UnknownLinkType,
                format!("link type {other} is not decoded"),
            );
            None
        }
    };
    let first = rest
        .filter(|(et, _)| encap::is_link_encap(*et))
        .map(|(et, at)| Next::Ether(et, at));
    encap::open(&mut p, data, first);
    p
}

/// `N` bytes at `at`, or `None` past the end.
fn bytes<const N: usize>(data: &[u8], at: usize) -> Option<[u8; N]> {
    data.get(at..at.checked_add(N)?)?.try_into().ok()
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    bytes(data, at).map(u16::from_be_bytes)
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    bytes(data, at).map(u32::from_be_bytes)
}

/// Linux cooked capture v1: 16 bytes — packet type (2), ARPHRD (2), address length (2),
/// address (8), protocol (2). The protocol is an EtherType when ≥ 0x0600; smaller values
/// name non-Ethernet framings (802.2 LLC, CAN…) that wiretale does not decode.
fn sll<'a>(p: &mut Packet<'a>, data: &'a [u8]) -> Option<(u16, usize)> {
    if data.len() < 16 {
        p.anomaly(
            AnomalyKind::TruncatedLink,
            format!("Linux cooked header needs 16 bytes, have {}", data.len()),
        );
        return None;
    }
    p.link_header = 0..16;
    let addr_len = be16(data, 4).unwrap_or(0);
    if let (6, Some(src)) = (addr_len, bytes(data, 6)) {
        let proto = be16(data, 14).unwrap_or(0);
        p.eth = Some(EthInfo {
            src,
            dst: [0; 6],
            ethertype: proto,
        });
    }
    let proto = be16(data, 14).unwrap_or(0);
    if proto >= 0x0600 {
        return from_ether_type(p, data, 16, proto);
    }
    None
}

/// Linux cooked capture v2: 20 bytes — protocol (2), reserved (2), interface index (4),
/// ARPHRD (2), packet type (1), address length (1), address (8).
fn sll2<'a>(p: &mut Packet<'a>, data: &'a [u8]) -> Option<(u16, usize)> {
    if data.len() < 20 {
        p.anomaly(
            AnomalyKind::TruncatedLink,
            format!("Linux cooked v2 header needs 20 bytes, have {}", data.len()),
        );
        return None;
    }
    p.link_header = 0..20;
    let proto = be16(data, 0).unwrap_or(0);
    if let (Some(6), Some(src)) = (data.get(11), bytes(data, 12)) {
        p.eth = Some(EthInfo {
            src,
            dst: [0; 6],
            ethertype: proto,
        });
    }
    if proto >= 0x0600 {
        return from_ether_type(p, data, 20, proto);
    }
    None
}

/// BSD NULL (0, host byte order) and OpenBSD LOOP (108, network byte order): a 4-byte
/// address family. AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD)
/// or 30 (macOS). A NULL file may come from a host of either byte order, so both are tried.
fn null_loop<'a>(p: &mut Packet<'a>, data: &'a [u8]) -> Option<(u16, usize)> {
    let Some(b) = bytes::<4>(data, 0) else {
        p.anomaly(
            AnomalyKind::TruncatedLink,
            format!("NULL/LOOP header needs 4 bytes, have {}", data.len()),
        );
        return None;
    };
    p.link_header = 0..4;
    let le = u32::from_le_bytes(b);
    let be = u32::from_be_bytes(b);
    let family = |f: u32| match f {
        2 => Some(ETHERTYPE_IPV4),
        24 | 28 | 30 => Some(ETHERTYPE_IPV6),
        _ => None,
    };
    match family(le).or(family(be)) {
        Some(et) => from_ether_type(p, data, 4, et),
        None => {
            p.anomaly(
                AnomalyKind::UnknownAddressFamily,
                format!("NULL/LOOP family {be:#010x}"),
            );
            None
        }
    }
}

/// Slices `data[offset..]` as the payload of `ethertype` into `p`; returns what
/// [`absorb`] returns.
pub(super) fn from_ether_type<'a>(
    p: &mut Packet<'a>,
    data: &'a [u8],
    offset: usize,
    ethertype: u16,
) -> Option<(u16, usize)> {
    let rest = data.get(offset..).unwrap_or(&[]);
    let s = LaxSlicedPacket::from_ether_type(EtherType(ethertype), rest);
    p.ethertype = Some(ethertype);
    absorb(p, data, &s, Some((ethertype, offset)))
}

/// Offset of `sub` inside `base` (both slices of the same frame). Safe pointer arithmetic;
/// clamped so a mistake can only produce a wrong range, never an out-of-bounds one.
/// An IPv6 Fragment header (RFC 8200 §4.5) found by [`v6_fragment`].
struct V6Frag {
    at: usize,
    offset_units: u16,
    more: bool,
    id: u32,
}

/// Finds the Fragment header among the extension headers in `data[at..end]` (the
/// first of type `next`). Walked by hand with bounds checks rather than through
/// etherparse 0.21's extension iterator, which reads past its slice on some truncated
/// chains (`Ipv6RawExtHeaderSlice::from_slice_unchecked`; found by the `decode_l2_l4`
/// fuzz target, undefined behaviour in release builds). At most 16 headers are walked.
fn v6_fragment(data: &[u8], mut next: u8, mut at: usize, end: usize) -> Option<V6Frag> {
    for _ in 0..16 {
        let h = data.get(at..end)?;
        match next {
            // Fragment: fixed 8 bytes; offset in 8-byte units in the top 13 bits.
            44 => {
                let f = h.get(..8)?;
                let word = u16::from_be_bytes([*f.get(2)?, *f.get(3)?]);
                let id = u32::from_be_bytes([*f.get(4)?, *f.get(5)?, *f.get(6)?, *f.get(7)?]);
                return Some(V6Frag {
                    at,
                    offset_units: word >> 3,
                    more: word & 1 == 1,
                    id,
                });
            }
            // Hop-by-hop, Routing, Destination options, Mobility, HIP, Shim6
            // (RFC 8200 §4.3-4.6, RFC 6275, RFC 7401, RFC 5533): length in 8-octet
            // units, not counting the first 8.
            0 | 43 | 60 | 135 | 139 | 140 => {
                next = *h.first()?;
                at = at.checked_add((usize::from(*h.get(1)?) + 1) * 8)?;
            }
            // Authentication header (RFC 4302 §2.2): length in 4-octet units, minus 2.
            51 => {
                next = *h.first()?;
                at = at.checked_add((usize::from(*h.get(1)?) + 2) * 4)?;
            }
            _ => return None,
        }
    }
    None
}

pub(crate) fn offset_in(base: &[u8], sub: &[u8]) -> usize {
    (sub.as_ptr() as usize)
        .wrapping_sub(base.as_ptr() as usize)
        .min(base.len())
}

/// Copies what the slicer found into `p`. Returns the EtherType and offset of the
/// payload it left undecoded when it found no network layer (MPLS, PPPoE, PBB… for
/// [`encap::open`]); `fallback` is that payload when the slice began at it.
pub(super) fn absorb<'a>(
    p: &mut Packet<'a>,
    data: &'a [u8],
    s: &LaxSlicedPacket<'a>,
    fallback: Option<(u16, usize)>,
) -> Option<(u16, usize)> {
    if let Some(LinkSlice::Ethernet2(e)) = &s.link {
        let start = offset_in(data, e.slice());
        p.link_header = start..start + 14;
        p.eth = Some(EthInfo {
            src: e.source(),
            dst: e.destination(),
            ethertype: e.ether_type().0,
        });
        p.ethertype = Some(e.ether_type().0);
    }
    for ext in &s.link_exts {
        if let etherparse::LaxLinkExtSlice::Vlan(v) = ext {
            p.ethertype = Some(v.ether_type().0);
            if !p.vlans.push(v.vlan_identifier().value()) {
                p.anomaly(
                    AnomalyKind::VlanTooDeep,
                    "more than two VLAN tags; only the outer two are kept",
                );
            }
        }
    }
    let mut ip_payload: Option<(&'a [u8], bool, bool)> = None;
    match &s.net {
        Some(LaxNetSlice::Ipv4(v4)) => {
            let h = v4.header();
            let hs = h.slice();
            let start = offset_in(data, hs);
            let pl = v4.payload();
            let header_end = offset_in(data, pl.payload).max(start);
            let total = u32::from(h.total_len());
            let declared = if total as usize >= hs.len() {
                total.saturating_sub(offset_in(data, pl.payload).saturating_sub(start) as u32)
            } else {
                pl.payload.len() as u32
            };
            let frag = h.fragments_offset();
            p.ip = Some(IpInfo {
                version: 4,
                src: IpAddr::V4(h.source_addr()),
                dst: IpAddr::V4(h.destination_addr()),
                ttl: h.ttl(),
                protocol: pl.ip_number.0,
                dscp: h.dcp().value(),
                ecn: h.ecn().value(),
                flow_label: 0,
                total_len: total,
                payload_len: declared,
                header: start..header_end.min(data.len()),
                id: u32::from(h.identification()),
                dont_fragment: h.dont_fragment(),
                more_fragments: h.more_fragments(),
                frag_offset: u32::from(frag.value()) * 8,
                v6_frag_header: None,
            });
            ip_payload = Some((pl.payload, pl.incomplete, pl.fragmented));
            // RFC 791: total length includes the header. Shorter (0 is typical of captures
            // taken before segmentation offload fills it in) leaves only the captured length.
            if (total as usize) < hs.len() {
                p.anomaly(
                    AnomalyKind::BadIpTotalLength,
                    format!("IPv4 total length {total} is shorter than its {}-byte header; using the captured length", hs.len()),
                );
            }
        }
        Some(LaxNetSlice::Ipv6(v6)) => {
            let h = v6.header();
            let start = offset_in(data, h.slice());
            let pl = v6.payload();
            let pstart = offset_in(data, pl.payload);
            let mut info = IpInfo {
                version: 6,
                src: IpAddr::V6(h.source_addr()),
                dst: IpAddr::V6(h.destination_addr()),
                ttl: h.hop_limit(),
                protocol: pl.ip_number.0,
                dscp: h.dscp().value(),
                ecn: h.ecn().value(),
                flow_label: h.flow_label().value(),
                total_len: 40 + u32::from(h.payload_length()),
                payload_len: 0,
                header: start..pstart.max(start),
                id: 0,
                dont_fragment: false,
                more_fragments: false,
                frag_offset: 0,
                v6_frag_header: None,
            };
            // A payload length of 0 is a jumbogram or a TSO capture: use what is there.
            info.payload_len = if h.payload_length() == 0 {
                pl.payload.len() as u32
            } else {
                (start as u32)
                    .saturating_add(info.total_len)
                    .saturating_sub(pstart as u32)
            };
            if let Some(f) = v6_fragment(data, h.next_header().0, start + 40, pstart) {
                info.id = f.id;
                info.more_fragments = f.more;
                info.frag_offset = u32::from(f.offset_units) * 8;
                info.v6_frag_header = Some(f.at);
            }
            p.ip = Some(info);
            ip_payload = Some((pl.payload, pl.incomplete, pl.fragmented));
        }
        Some(LaxNetSlice::Arp(a)) => p.arp = Some(arp_info(a)),
        // RARP (RFC 903) has ARP's format under its own EtherType, which etherparse leaves
        // undecoded.
        None if p.ethertype == Some(ETHERTYPE_RARP) && s.stop_err.is_none() => {
            if let Some(Ok(a)) = s
                .ether_payload()
                .map(|e| etherparse::ArpPacketSlice::from_slice(e.payload))
            {
                p.arp = Some(arp_info(&a));
            }
        }
        None => {}
    }

    if let Some((payload, incomplete, fragmented)) = ip_payload {
        p.payload = payload;
        p.payload_offset = offset_in(data, payload);
        if incomplete {
            let want = p.ip.as_ref().map_or(0, |ip| ip.payload_len);
            p.anomaly(
                AnomalyKind::SnaplenCut,
                format!(
                    "IP header promises {want} bytes of payload, {} captured",
                    payload.len()
                ),
            );
        }
        if !fragmented {
            if let Some(t) = &s.transport {
                transport(p, data, t);
            } else if s.stop_err.is_none() {
                if let Some(ip) = &p.ip {
                    p.transport = Transport::Other(ip.protocol);
                }
            }
        }
    }
    if let Some((err, layer)) = &s.stop_err {
        p.anomaly(stop_kind(err, *layer), format!("{layer}: {err}"));
        return None;
    }
    if s.net.is_some() {
        return None;
    }
    match s.ether_payload() {
        Some(e) => Some((e.ether_type.0, offset_in(data, e.payload))),
        None if s.link.is_none() && s.link_exts.is_empty() => fallback,
        None => None,
    }
}

/// ARP (RFC 826) fields; addresses only for the Ethernet/IPv4 shape.
fn arp_info(a: &etherparse::ArpPacketSlice<'_>) -> ArpInfo {
    let b = a.slice();
    let mut info = ArpInfo {
        hw_type: a.hw_addr_type().0,
        proto_type: a.proto_addr_type().0,
        op: a.operation().0,
        eth_ipv4: false,
        sender_mac: [0; 6],
        sender_ip: Ipv4Addr::UNSPECIFIED,
        target_mac: [0; 6],
        target_ip: Ipv4Addr::UNSPECIFIED,
    };
    if a.hw_addr_size() == 6 && a.proto_addr_size() == 4 && b.len() >= 28 {
        info.eth_ipv4 = true;
        info.sender_mac = bytes(b, 8).unwrap_or_default();
        info.sender_ip = bytes(b, 14).map_or(Ipv4Addr::UNSPECIFIED, Ipv4Addr::from);
        info.target_mac = bytes(b, 18).unwrap_or_default();
        info.target_ip = bytes(b, 24).map_or(Ipv4Addr::UNSPECIFIED, Ipv4Addr::from);
    }
    info
}

/// The anomaly for where the lax slicer stopped.
fn stop_kind(err: &SliceError, layer: etherparse::err::Layer) -> AnomalyKind {
    use etherparse::err::{ip, ipv4, ipv6, tcp, Layer as L};
    match err {
        SliceError::Ip(ip::HeaderError::UnsupportedIpVersion { .. })
        | SliceError::Ipv4(ipv4::HeaderError::UnexpectedVersion { .. })
        | SliceError::Ipv6(ipv6::HeaderError::UnexpectedVersion { .. }) => {
            return AnomalyKind::BadIpVersion
        }
        SliceError::Ip(ip::HeaderError::Ipv4HeaderLengthSmallerThanHeader { .. })
        | SliceError::Ipv4(ipv4::HeaderError::HeaderLengthSmallerThanHeader { .. }) => {
            return AnomalyKind::BadIpHeaderLength
        }
        SliceError::Tcp(tcp::HeaderError::DataOffsetTooSmall { .. }) => {
            return AnomalyKind::BadTcpDataOffset
        }
        _ => {}
    }
    let len = matches!(err, SliceError::Len(_));
    match layer {
        L::LinuxSllHeader | L::Ethernet2Header | L::EtherPayload => AnomalyKind::TruncatedLink,
        L::VlanHeader => AnomalyKind::TruncatedVlan,
        L::MacsecHeader | L::MacsecPacket => AnomalyKind::BadMacsec,
        L::IpHeader | L::Ipv4Header | L::Ipv6Header | L::Ipv4Packet | L::Ipv6Packet => {
            if len {
                AnomalyKind::TruncatedIp
            } else {
                AnomalyKind::BadIpHeader
            }
        }
        L::IpAuthHeader
        | L::Ipv6ExtHeader
        | L::Ipv6HopByHopHeader
        | L::Ipv6DestOptionsHeader
        | L::Ipv6RouteHeader
        | L::Ipv6FragHeader => {
            if len {
                AnomalyKind::TruncatedIpExt
            } else {
                AnomalyKind::BadIpExtHeader
            }
        }
        L::UdpHeader | L::UdpPayload => AnomalyKind::TruncatedUdp,
        L::TcpHeader => {
            if len {
                AnomalyKind::TruncatedTcp
            } else {
                AnomalyKind::BadTcpHeader
            }
        }
        L::Icmpv4 | L::Icmpv4Timestamp | L::Icmpv4TimestampReply => AnomalyKind::TruncatedIcmp,
        L::Icmpv6 => AnomalyKind::TruncatedIcmpv6,
        L::Igmp => AnomalyKind::TruncatedIgmp,
        L::Arp => AnomalyKind::TruncatedArp,
    }
}

fn transport<'a>(p: &mut Packet<'a>, data: &'a [u8], t: &TransportSlice<'a>) {
    match t {
        TransportSlice::Tcp(tcp) => {
            let hdr = tcp.header_slice();
            let start = offset_in(data, hdr);
            p.transport_header = start..start + hdr.len();
            let flags = be16(hdr, 12).unwrap_or(0) & 0x01ff;
            let (options, bad) = parse_tcp_options(tcp.options());
            if let Some(at) = bad {
                p.anomaly(
                    AnomalyKind::BadTcpOptions,
                    format!("TCP option at option byte {at} overruns the header"),
                );
            }
            let header_len = hdr.len() as u32;
            let ip_pl = p.ip.as_ref().map_or(0, |ip| ip.payload_len);
            p.transport = Transport::Tcp(TcpInfo {
                sport: tcp.source_port(),
                dport: tcp.destination_port(),
                seq: tcp.sequence_number(),
                ack: tcp.acknowledgment_number(),
                flags,
                window: tcp.window_size(),
                checksum: tcp.checksum(),
                urgent: tcp.urgent_pointer(),
                options,
                header_len: header_len.min(255) as u8,
                payload_len: ip_pl.saturating_sub(header_len),
            });
            set_payload(p, data, tcp.payload());
        }
        TransportSlice::Udp(udp) => {
            let hdr = udp.header_slice();
            let start = offset_in(data, hdr);
            p.transport_header = start..start + hdr.len();
            p.transport = Transport::Udp(UdpInfo {
                sport: udp.source_port(),
                dport: udp.destination_port(),
                length: udp.length(),
                checksum: udp.checksum(),
            });
            set_payload(p, data, udp.payload());
        }
        TransportSlice::Icmpv4(icmp) => {
            let all = icmp.slice();
            let start = offset_in(data, all);
            let hl = icmp.header_len().min(all.len());
            p.transport_header = start..start + hl;
            let kind = icmp.type_u8();
            let b = icmp.bytes5to8();
            let echo = matches!(kind, 0 | 8 | 13 | 14).then(|| {
                (
                    u16::from_be_bytes([b[0], b[1]]),
                    u16::from_be_bytes([b[2], b[3]]),
                )
            });
            // RFC 792: unreachable, source quench, redirect, time exceeded and parameter
            // problem carry the offending IP header + 8 bytes after the 8-byte header.
            let quoted = if matches!(kind, 3 | 4 | 5 | 11 | 12) {
                quoted(all.get(8..).unwrap_or(&[]))
            } else {
                None
            };
            p.transport = Transport::Icmp(IcmpInfo {
                kind,
                code: icmp.code_u8(),
                checksum: icmp.checksum(),
                echo,
                quoted,
                // RFC 1191 §4: the next-hop MTU is the low 16 bits of the second word.
                mtu: (kind == 3 && icmp.code_u8() == 4)
                    .then(|| u32::from(u16::from_be_bytes([b[2], b[3]]))),
                nd_target: None,
                nd_flags: 0,
                nd_lladdr: None,
            });
            set_payload(p, data, icmp.payload());
        }
        TransportSlice::Icmpv6(icmp) => {
            let all = icmp.slice();
            let start = offset_in(data, all);
            p.transport_header = start..start + all.len().min(8);
            let kind = icmp.type_u8();
            let b = icmp.bytes5to8();
            let echo = matches!(kind, 128 | 129).then(|| {
                (
                    u16::from_be_bytes([b[0], b[1]]),
                    u16::from_be_bytes([b[2], b[3]]),
                )
            });
            // RFC 4443 §3: types 1–4 (errors) quote as much of the invoking packet as fits.
            let quoted = if matches!(kind, 1..=4) {
                quoted(all.get(8..).unwrap_or(&[]))
            } else {
                None
            };
            // RFC 4861 §4.3/4.4: NS and NA carry the target address after 4 reserved bytes.
            let nd_target = if matches!(kind, 135 | 136) {
                all.get(8..24)
                    .and_then(|t| <[u8; 16]>::try_from(t).ok())
                    .map(Ipv6Addr::from)
            } else {
                None
            };
            // NDP options (RFC 4861 §4.6) follow the fixed part: 16 bytes for RS, 24 for NS/NA
            // (target), 16 for RA, 40 for redirect.
            let opts_at = match kind {
                133 => Some(8),
                134 => Some(16),
                135 | 136 => Some(24),
                137 => Some(40),
                _ => None,
            };
            let nd_lladdr = opts_at.and_then(|at| nd_lladdr(all.get(at..).unwrap_or(&[])));
            p.transport = Transport::Icmpv6(IcmpInfo {
                kind,
                code: icmp.code_u8(),
                checksum: icmp.checksum(),
                echo,
                quoted,
                // RFC 4443 §3.2: packet too big carries the MTU in the second word.
                mtu: (kind == 2).then(|| u32::from_be_bytes(b)),
                nd_target,
                nd_flags: if kind == 136 { b[0] & 0xe0 } else { 0 },
                nd_lladdr,
            });
            set_payload(p, data, all.get(8..).unwrap_or(&[]));
        }
        TransportSlice::Igmp(_) => {
            p.transport = Transport::Other(2);
        }
    }
}

fn set_payload<'a>(p: &mut Packet<'a>, data: &'a [u8], payload: &'a [u8]) {
    p.payload = payload;
    p.payload_offset = offset_in(data, payload);
}

/// The first source (1) or target (2) link-layer address option of 6 bytes, walking at
/// most 16 options (each option's length is in units of 8 bytes; 0 is invalid and stops).
fn nd_lladdr(mut opts: &[u8]) -> Option<[u8; 6]> {
    for _ in 0..16 {
        let (&kind, &len) = (opts.first()?, opts.get(1)?);
        let len = usize::from(len) * 8;
        if len == 0 {
            return None;
        }
        if matches!(kind, 1 | 2) && len == 8 {
            return opts.get(2..8).and_then(|m| m.try_into().ok());
        }
        opts = opts.get(len..)?;
    }
    None
}

/// The quoted packet inside an ICMP error: an IP header and at least the first 8 bytes of
/// its payload, i.e. the ports for TCP and UDP.
fn quoted(bytes: &[u8]) -> Option<Quoted> {
    let s = LaxSlicedPacket::from_ip(bytes).ok()?;
    let (src, dst, ttl, payload) = match &s.net {
        Some(LaxNetSlice::Ipv4(v4)) => (
            IpAddr::V4(v4.header().source_addr()),
            IpAddr::V4(v4.header().destination_addr()),
            v4.header().ttl(),
            v4.payload(),
        ),
        Some(LaxNetSlice::Ipv6(v6)) => (
            IpAddr::V6(v6.header().source_addr()),
            IpAddr::V6(v6.header().destination_addr()),
            v6.header().hop_limit(),
            v6.payload(),
        ),
        _ => return None,
    };
    let protocol = payload.ip_number.0;
    let ports = if matches!(protocol, 6 | 17 | 132) && !payload.fragmented {
        be16(payload.payload, 0).zip(be16(payload.payload, 2))
    } else {
        None
    };
    // RFC 792 / RFC 4443 §4.1: an echo request's identifier follows type, code, checksum.
    let echo_id = matches!(
        (protocol, &s.net),
        (1, Some(LaxNetSlice::Ipv4(_))) | (58, Some(LaxNetSlice::Ipv6(_)))
    )
    .then(|| payload.payload)
    .filter(|b| b.first().is_some_and(|&t| t == 8 || t == 128))
    .and_then(|b| be16(b, 4));
    Some(Quoted {
        src,
        dst,
        protocol,
        sport: ports.map(|p| p.0),
        dport: ports.map(|p| p.1),
        ttl,
        echo_id,
    })
}

/// Walks the TCP options (RFC 9293 §3.1: kind 0 ends the list, kind 1 is one byte of
/// padding, every other option has a length byte covering kind and length). Returns the
/// options understood and, when an option's length is wrong, where the walk stopped.
pub(crate) fn parse_tcp_options(opts: &[u8]) -> (TcpOptions, Option<usize>) {
    let mut o = TcpOptions::default();
    let mut i = 0;
    while let Some(&kind) = opts.get(i) {
        match kind {
            0 => break,
            1 => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let Some(&len) = opts.get(i + 1) else {
            return (o, Some(i));
        };
        let len = usize::from(len);
        let Some(body) = opts.get(i + 2..i + len.max(2)).filter(|_| len >= 2) else {
            return (o, Some(i));
        };
        if matches!(kind, 2 | 3 | 4 | 5 | 8) {
            if let Some(slot) = o.order.get_mut(usize::from(o.order_len)) {
                *slot = kind;
                o.order_len += 1;
            }
        }
        match (kind, body.len()) {
            (2, 2) => o.mss = be16(body, 0),
            (3, 1) => o.wscale = body.first().copied(),
            (4, 0) => o.sack_permitted = true,
            (5, n) if n % 8 == 0 => {
                for block in body.chunks_exact(8) {
                    if let Some(slot) = o.sack.get_mut(usize::from(o.sack_count)) {
                        *slot = (
                            be32(block, 0).unwrap_or_default(),
                            be32(block, 4).unwrap_or_default(),
                        );
                        o.sack_count += 1;
                    }
                }
            }
            (8, 8) => {
                o.ts = be32(body, 0).zip(be32(body, 4));
            }
            _ => {}
        }
        i += len;
    }
    (o, None)
}
