//! The Info column: one line per packet in the style tcpdump and tshark users read.
//!
//! Formatted on demand (only rows on screen pay for it). Relative TCP sequence numbers
//! and the scaled window need connection state, which `decode` does not have: `flow`
//! passes them in with [`TcpRel`] through [`info_with`].

use std::fmt::Write;

use super::packet::{
    tcp_flags, ArpInfo, EncapKind, IcmpInfo, IpInfo, Mac, Packet, TcpInfo, Transport,
};

/// Connection state `flow` can supply so the Info text shows what tshark shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpRel {
    /// Initial sequence number of this packet's sender (Seq is shown relative to it).
    pub seq_base: u32,
    /// Initial sequence number of the peer (Ack is shown relative to it).
    pub ack_base: u32,
    /// The sender's window-scale shift from the handshake (Win is shown scaled).
    pub window_shift: Option<u8>,
}

/// Info text with raw sequence numbers.
pub fn info(p: &Packet<'_>) -> String {
    info_with(p, None)
}

/// Info text; with `rel`, TCP Seq/Ack are relative and Win is scaled, as tshark prints.
pub fn info_with(p: &Packet<'_>, rel: Option<&TcpRel>) -> String {
    let mut s = String::with_capacity(64);
    match (&p.transport, &p.ip, &p.arp) {
        (Transport::Tcp(t), _, _) => tcp(&mut s, t, rel),
        (Transport::Udp(u), _, _) => {
            let _ = write!(
                s,
                "{} → {} Len={}",
                u.sport,
                u.dport,
                u.length.saturating_sub(8)
            );
        }
        (Transport::Icmp(i), ip, _) => icmp(&mut s, i, ip.as_ref()),
        (Transport::Icmpv6(i), ip, _) => icmpv6(&mut s, i, ip.as_ref()),
        (Transport::Other(proto), _, _) => {
            let _ = write!(s, "IP protocol {proto}");
            if let Some(name) = ip_proto_name(*proto) {
                let _ = write!(s, " ({name})");
            }
        }
        (Transport::None, Some(ip), _) if ip.is_fragment() && ip.version == 6 => {
            let more = if ip.more_fragments { 'y' } else { 'n' };
            let _ = write!(
                s,
                "IPv6 fragment (off={} more={more} ident=0x{:08x} nxt={})",
                ip.frag_offset, ip.id, ip.protocol
            );
        }
        (Transport::None, Some(ip), _) if ip.is_fragment() => {
            let proto = ip_proto_name(ip.protocol).unwrap_or("unknown");
            let _ = write!(
                s,
                "Fragmented IP protocol (proto={proto} {}, off={}, ID={:04x})",
                ip.protocol, ip.frag_offset, ip.id
            );
        }
        (Transport::None, Some(ip), _) => {
            let _ = write!(s, "IPv{} protocol {}", ip.version, ip.protocol);
        }
        (Transport::None, None, Some(a)) => arp(&mut s, a),
        (Transport::None, None, None) => match (p.tunnels.last(), p.ethertype) {
            // An encapsulation with no IP inside (PPPoE discovery, PPP's LCP, an 802.11
            // frame that is protected): say which, as Wireshark's Protocol column does.
            (Some(t), _) => {
                let _ = match t.kind {
                    EncapKind::Ppp => write!(
                        s,
                        "PPP protocol 0x{:04x}{}",
                        t.id.unwrap_or(0),
                        ppp_name(t.id.unwrap_or(0))
                    ),
                    EncapKind::Pppoe => write!(s, "PPPoE, session 0x{:04x}", t.id.unwrap_or(0)),
                    EncapKind::Mpls => write!(s, "MPLS, label {}", t.id.unwrap_or(0)),
                    k => match t.id {
                        Some(id) => write!(s, "{} {id}", k.name()),
                        None => write!(s, "{}", k.name()),
                    },
                };
            }
            (None, Some(et)) => {
                let _ = write!(s, "Ethertype 0x{et:04x}");
            }
            (None, None) => s.push_str(p.link.name()),
        },
    }
    if let Some(a) = p.anomalies.first() {
        let _ = write!(s, " [{}]", a.name());
    }
    s
}

/// PPP control protocols by number (RFC 1661 §2, IANA PPP DLL protocol numbers).
fn ppp_name(proto: u32) -> &'static str {
    match proto {
        0xc021 => " (LCP)",
        0x8021 => " (IPCP)",
        0x8057 => " (IPv6CP)",
        0xc023 => " (PAP)",
        0xc223 => " (CHAP)",
        0x80fd => " (CCP)",
        0x8281 => " (MPLSCP)",
        _ => "",
    }
}

fn tcp(s: &mut String, t: &TcpInfo, rel: Option<&TcpRel>) {
    let _ = write!(s, "{} → {} [", t.sport, t.dport);
    let names = tcp_flags::names(t.flags);
    s.push_str(if names.is_empty() { "<None>" } else { &names });
    let (seq, ack) = match rel {
        Some(r) => (
            t.seq.wrapping_sub(r.seq_base),
            t.ack.wrapping_sub(r.ack_base),
        ),
        None => (t.seq, t.ack),
    };
    let _ = write!(s, "] Seq={seq}");
    if t.ack() {
        let _ = write!(s, " Ack={ack}");
    }
    let win = match rel.and_then(|r| r.window_shift) {
        Some(shift) if !t.syn() => u32::from(t.window) << shift.min(14),
        _ => u32::from(t.window),
    };
    let _ = write!(s, " Win={win} Len={}", t.payload_len);
    if t.urg() {
        let _ = write!(s, " Urg={}", t.urgent);
    }
    let o = &t.options;
    // In the order the sender wrote them, as tshark lists them.
    for kind in o.order() {
        match kind {
            2 => {
                if let Some(mss) = o.mss {
                    let _ = write!(s, " MSS={mss}");
                }
            }
            3 => {
                // RFC 7323 §2.3: shifts above 14 are treated as 14.
                if let Some(ws) = o.wscale {
                    let _ = write!(s, " WS={}", 1u32 << ws.min(14));
                }
            }
            4 => s.push_str(" SACK_PERM"),
            5 => {
                for (l, r) in o.sack_blocks() {
                    let (l, r) = match rel {
                        Some(rel) => (l.wrapping_sub(rel.ack_base), r.wrapping_sub(rel.ack_base)),
                        None => (*l, *r),
                    };
                    let _ = write!(s, " SLE={l} SRE={r}");
                }
            }
            8 => {
                if let Some((val, ecr)) = o.ts {
                    let _ = write!(s, " TSval={val} TSecr={ecr}");
                }
            }
            _ => {}
        }
    }
}

fn arp(s: &mut String, a: &ArpInfo) {
    if !a.eth_ipv4 {
        let _ = write!(
            s,
            "ARP opcode {} (hardware type {}, protocol 0x{:04x})",
            a.op, a.hw_type, a.proto_type
        );
        return;
    }
    match a.op {
        1 if a.sender_ip == a.target_ip => {
            let _ = write!(s, "Gratuitous ARP for {} (Request)", a.sender_ip);
        }
        1 if a.sender_ip.is_unspecified() => {
            let _ = write!(s, "Who has {}? (ARP Probe)", a.target_ip);
        }
        1 => {
            let _ = write!(s, "Who has {}? Tell {}", a.target_ip, a.sender_ip);
        }
        2 => {
            let _ = write!(s, "{} is at {}", a.sender_ip, Mac(a.sender_mac));
        }
        // RFC 903 reverse ARP.
        3 => {
            let _ = write!(
                s,
                "Who is {}? Tell {}",
                Mac(a.target_mac),
                Mac(a.sender_mac)
            );
        }
        4 => {
            let _ = write!(s, "{} is at {}", Mac(a.target_mac), a.target_ip);
        }
        op => {
            let _ = write!(s, "ARP opcode {op}");
        }
    }
}

fn icmp(s: &mut String, i: &IcmpInfo, ip: Option<&IpInfo>) {
    let name = icmp_type_name(false, i.kind).unwrap_or("");
    if name.is_empty() {
        let _ = write!(s, "ICMP type {} code {}", i.kind, i.code);
    } else {
        s.push_str(name);
    }
    let name_len = s.chars().count();
    let detail = match (i.kind, i.code) {
        (3, 0) => "Network unreachable",
        (3, 1) => "Host unreachable",
        (3, 2) => "Protocol unreachable",
        (3, 3) => "Port unreachable",
        (3, 4) => "Fragmentation needed",
        (3, 13) => "Communication administratively filtered",
        (11, 0) => "Time to live exceeded in transit",
        (11, 1) => "Fragment reassembly time exceeded",
        _ => "",
    };
    // tshark pads the type name to 20 columns before what follows it ("%-20s").
    if !detail.is_empty() || i.echo.is_some() {
        for _ in name_len..20 {
            s.push(' ');
        }
    }
    if !detail.is_empty() {
        let _ = write!(s, " ({detail})");
    }
    echo_and_quote(s, i, ip, "ttl", true);
}

fn icmpv6(s: &mut String, i: &IcmpInfo, ip: Option<&IpInfo>) {
    let name = icmp_type_name(true, i.kind).unwrap_or("");
    if name.is_empty() {
        let _ = write!(s, "ICMPv6 type {} code {}", i.kind, i.code);
    } else {
        s.push_str(name);
    }
    if i.kind == 1 {
        let detail = match i.code {
            0 => "no route to destination",
            1 => "Administratively prohibited",
            3 => "Address unreachable",
            4 => "Port unreachable",
            _ => "",
        };
        if !detail.is_empty() {
            let _ = write!(s, " ({detail})");
        }
    }
    match (i.kind, i.nd_target, i.nd_lladdr) {
        (135, Some(t), Some(m)) => {
            let _ = write!(s, " for {t} from {}", Mac(m));
        }
        (135, Some(t), None) => {
            let _ = write!(s, " for {t}");
        }
        (136, Some(t), m) => {
            let _ = write!(s, " {t}");
            let flags: Vec<&str> = [(0x80, "rtr"), (0x40, "sol"), (0x20, "ovr")]
                .iter()
                .filter(|(b, _)| i.nd_flags & b != 0)
                .map(|(_, n)| *n)
                .collect();
            if !flags.is_empty() {
                let _ = write!(s, " ({})", flags.join(", "));
            }
            if let Some(m) = m {
                let _ = write!(s, " is at {}", Mac(m));
            }
        }
        (133 | 134, _, Some(m)) => {
            let _ = write!(s, " from {}", Mac(m));
        }
        _ => {}
    }
    echo_and_quote(s, i, ip, "hop limit", false);
}

fn echo_and_quote(s: &mut String, i: &IcmpInfo, ip: Option<&IpInfo>, ttl_name: &str, both: bool) {
    if let Some((id, seq)) = i.echo {
        // For ICMP tshark shows the sequence number both big- and little-endian
        // ("seq=1/256"); for ICMPv6 only as sent.
        let _ = write!(s, " id=0x{id:04x}, seq={seq}");
        if both {
            let _ = write!(s, "/{}", seq.swap_bytes());
        }
        if let Some(ip) = ip {
            let _ = write!(s, ", {ttl_name}={}", ip.ttl);
        }
    }
    if let Some(q) = &i.quoted {
        let _ = write!(s, " (about {} → {}", q.src, q.dst);
        if let (Some(sp), Some(dp)) = (q.sport, q.dport) {
            let _ = write!(
                s,
                " {} {sp} → {dp}",
                ip_proto_name(q.protocol).unwrap_or("proto")
            );
        }
        s.push(')');
    }
}

/// Short names of common IP protocol numbers (IANA "Assigned Internet Protocol Numbers").
pub(crate) fn ip_proto_name(n: u8) -> Option<&'static str> {
    Some(match n {
        0 => "HOPOPT",
        1 => "ICMP",
        2 => "IGMP",
        4 => "IPIP",
        6 => "TCP",
        17 => "UDP",
        41 => "IPv6",
        43 => "IPv6-Route",
        44 => "IPv6-Frag",
        47 => "GRE",
        50 => "ESP",
        51 => "AH",
        58 => "ICMPv6",
        59 => "IPv6-NoNxt",
        60 => "IPv6-Opts",
        89 => "OSPF",
        103 => "PIM",
        112 => "VRRP",
        132 => "SCTP",
        _ => return None,
    })
}

/// Names of ICMP (RFC 792, IANA registry) and ICMPv6 (RFC 4443 §2.1, RFC 4861 §4,
/// RFC 3810, IANA registry) message types, as tshark spells them.
pub(crate) fn icmp_type_name(v6: bool, kind: u8) -> Option<&'static str> {
    Some(if v6 {
        match kind {
            1 => "Destination Unreachable",
            2 => "Packet Too Big",
            3 => "Time Exceeded",
            4 => "Parameter Problem",
            128 => "Echo (ping) request",
            129 => "Echo (ping) reply",
            130 => "Multicast Listener Query",
            131 => "Multicast Listener Report",
            132 => "Multicast Listener Done",
            133 => "Router Solicitation",
            134 => "Router Advertisement",
            135 => "Neighbor Solicitation",
            136 => "Neighbor Advertisement",
            137 => "Redirect",
            143 => "Multicast Listener Report Message v2",
            _ => return None,
        }
    } else {
        match kind {
            0 => "Echo (ping) reply",
            3 => "Destination unreachable",
            4 => "Source quench",
            5 => "Redirect",
            8 => "Echo (ping) request",
            9 => "Router advertisement",
            10 => "Router solicitation",
            11 => "Time-to-live exceeded",
            12 => "Parameter problem",
            13 => "Timestamp request",
            14 => "Timestamp reply",
            _ => return None,
        }
    })
}
