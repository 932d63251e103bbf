//! The detail-pane dissection tree. Built on demand for the one selected packet, so it may
//! allocate freely; every node carries the byte range of the frame it describes so the
//! hex pane can highlight it. Field offsets are those of the RFCs cited per layer.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use super::info::{icmp_type_name, ip_proto_name, TcpRel};
use super::packet::{tcp_flags, Encap, EncapKind, Mac, Packet, Transport, UdpInfo};
use super::slice::decode;
use crate::base::{FieldNode, LinkType};

/// The dissection tree of one frame: a root "Frame" node whose children are the layers.
pub fn field_tree(link: LinkType, data: &[u8]) -> FieldNode {
    tree(link, data, true, None)
}

/// [`field_tree`] with what the connection knows of a TCP segment (the sender's and the
/// peer's initial sequence numbers): the TCP node then shows the sequence and
/// acknowledgment numbers relative, as the packet list does, each with its raw value
/// beside it, so the two can be matched with what another tool shows.
pub fn field_tree_with(link: LinkType, data: &[u8], rel: Option<&TcpRel>) -> FieldNode {
    tree(link, data, true, rel)
}

/// `quotes`: whether to expand the packet quoted in an ICMP error (only at the top level,
/// so a crafted error quoting an error quoting an error… cannot recurse deeply).
fn tree(link: LinkType, data: &[u8], quotes: bool, rel: Option<&TcpRel>) -> FieldNode {
    let p = decode(link, data);
    let mut root = FieldNode::new(
        format!("Frame: {} bytes captured, link type {}", data.len(), link),
        0..data.len(),
    );
    let b = Bytes(data);
    link_layer(&mut root, &b, &p);
    let mut at = p.link_header.end;
    for (i, id) in p.vlans.ids().iter().enumerate() {
        let r = at..at + 4;
        let mut n = FieldNode::new(format!("802.1Q Virtual LAN, ID: {id}"), r.clone());
        n.push(
            format!("Priority: {}", b.u8(r.start).map_or(0, |v| v >> 5)),
            r.start..r.start + 1,
        );
        n.push(format!("ID: {id}"), r.start..r.start + 2);
        n.push(
            format!("Type: 0x{:04x}", b.u16(r.start + 2).unwrap_or(0)),
            r.start + 2..r.end,
        );
        root.children.push(n);
        at = r.end;
        if i == 1 {
            break;
        }
    }
    for e in &p.tunnels {
        at = encapsulation(&mut root, &b, e);
    }
    if let Some(a) = &p.arp {
        arp(&mut root, &b, at, a.op);
    }
    if let Some(ip) = &p.ip {
        if ip.version == 4 {
            ipv4(&mut root, &b, ip.header.clone());
        } else {
            ipv6(&mut root, &b, ip.header.clone());
        }
    }
    let th = p.transport_header.clone();
    match &p.transport {
        Transport::Tcp(t) => {
            // Relative numbers as the list shows them (RFC 9293 §3.4: each side counts
            // from its own ISN); the ACK field only means something with ACK set.
            let rel_seq = rel.map(|r| t.seq.wrapping_sub(r.seq_base));
            let rel_ack = rel
                .filter(|_| t.has(tcp_flags::ACK))
                .map(|r| t.ack.wrapping_sub(r.ack_base));
            let mut n = FieldNode::new(
                format!(
                    "Transmission Control Protocol, Src Port: {}, Dst Port: {}, Seq: {}, Len: {}",
                    t.sport,
                    t.dport,
                    rel_seq.unwrap_or(t.seq),
                    t.payload_len
                ),
                th.clone(),
            );
            let s = th.start;
            n.push(format!("Source Port: {}", t.sport), s..s + 2);
            n.push(format!("Destination Port: {}", t.dport), s + 2..s + 4);
            match rel_seq {
                Some(r) => n.push(
                    format!("Sequence Number: {r} (relative) — raw {}", t.seq),
                    s + 4..s + 8,
                ),
                None => n.push(format!("Sequence Number (raw): {}", t.seq), s + 4..s + 8),
            };
            match rel_ack {
                Some(r) => n.push(
                    format!("Acknowledgment Number: {r} (relative) — raw {}", t.ack),
                    s + 8..s + 12,
                ),
                None => n.push(
                    format!("Acknowledgment Number (raw): {}", t.ack),
                    s + 8..s + 12,
                ),
            };
            n.push(
                format!("Header Length: {} bytes", t.header_len),
                s + 12..s + 13,
            );
            let mut f = FieldNode::new(format!("Flags: 0x{:03x}", t.flags), s + 12..s + 14);
            for (bit, name) in [
                (tcp_flags::NS, "Nonce"),
                (tcp_flags::CWR, "Congestion Window Reduced"),
                (tcp_flags::ECE, "ECN-Echo"),
                (tcp_flags::URG, "Urgent"),
                (tcp_flags::ACK, "Acknowledgment"),
                (tcp_flags::PSH, "Push"),
                (tcp_flags::RST, "Reset"),
                (tcp_flags::SYN, "Syn"),
                (tcp_flags::FIN, "Fin"),
            ] {
                let set = if t.has(bit) { "Set" } else { "Not set" };
                let r = if bit == tcp_flags::NS {
                    s + 12..s + 13
                } else {
                    s + 13..s + 14
                };
                f.push(format!("{name}: {set}"), r);
            }
            n.children.push(f);
            n.push(format!("Window: {}", t.window), s + 14..s + 16);
            n.push(format!("Checksum: 0x{:04x}", t.checksum), s + 16..s + 18);
            n.push(format!("Urgent Pointer: {}", t.urgent), s + 18..s + 20);
            if th.len() > 20 {
                tcp_options(&mut n, &b, s + 20..th.end);
            }
            root.children.push(n);
        }
        Transport::Udp(u) => root.children.push(udp(u, th.clone())),
        Transport::Icmp(i) | Transport::Icmpv6(i) => {
            let v6 = matches!(p.transport, Transport::Icmpv6(_));
            let s = th.start;
            let title = if v6 {
                "Internet Control Message Protocol v6"
            } else {
                "Internet Control Message Protocol"
            };
            let mut n = FieldNode::new(title, s..data.len());
            let name = icmp_type_name(v6, i.kind).unwrap_or("unknown");
            n.push(format!("Type: {} ({name})", i.kind), s..s + 1);
            n.push(format!("Code: {}", i.code), s + 1..s + 2);
            n.push(format!("Checksum: 0x{:04x}", i.checksum), s + 2..s + 4);
            if let Some((id, seq)) = i.echo {
                n.push(format!("Identifier: {id} (0x{id:04x})"), s + 4..s + 6);
                n.push(
                    format!("Sequence Number: {seq} (0x{seq:04x})"),
                    s + 6..s + 8,
                );
            }
            if let Some(t) = i.nd_target {
                n.push(format!("Target Address: {t}"), s + 8..s + 24);
            }
            if quotes && i.quoted.is_some() && data.len() > s + 8 {
                // The quoted packet is decoded on its own; shift its ranges into this frame.
                let inner = tree(LinkType::RAW, data.get(s + 8..).unwrap_or(&[]), false, None);
                let mut q = FieldNode::new(
                    "Quoted packet (the packet this error is about)",
                    s + 8..data.len(),
                );
                for mut c in inner.children {
                    shift(&mut c, s + 8);
                    q.children.push(c);
                }
                n.children.push(q);
            }
            root.children.push(n);
        }
        Transport::Other(proto) => {
            let name = ip_proto_name(*proto).unwrap_or("unknown");
            root.push(
                format!(
                    "IP protocol {proto} ({name}), {} bytes not decoded",
                    p.payload.len()
                ),
                p.payload_offset..p.payload_offset + p.payload.len(),
            );
        }
        Transport::None => {}
    }
    if !p.payload.is_empty()
        && !matches!(
            p.transport,
            Transport::Other(_) | Transport::Icmp(_) | Transport::Icmpv6(_)
        )
    {
        let label = if p.ip.as_ref().is_some_and(|ip| ip.is_fragment()) {
            format!("Fragment data ({} bytes)", p.payload.len())
        } else {
            format!("Data ({} bytes)", p.payload.len())
        };
        root.push(label, p.payload_offset..p.payload_offset + p.payload.len());
    }
    for a in &p.anomalies {
        root.push(format!("Anomaly: {a}"), data.len()..data.len());
    }
    clamp(&mut root, data.len());
    root
}

fn shift(n: &mut FieldNode, by: usize) {
    n.range = n.range.start + by..n.range.end + by;
    for c in &mut n.children {
        shift(c, by);
    }
}

/// Keeps every range inside the frame (a field of a cut header covers only what exists).
fn clamp(n: &mut FieldNode, len: usize) {
    let end = n.range.end.min(len);
    n.range = n.range.start.min(end)..end;
    for c in &mut n.children {
        clamp(c, len);
    }
}

/// Bounds-checked big-endian reads.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&self, at: usize) -> Option<u8> {
        self.0.get(at).copied()
    }
    fn u16(&self, at: usize) -> Option<u16> {
        let b = self.0.get(at..at.checked_add(2)?)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&self, at: usize) -> Option<u32> {
        let b = self.0.get(at..at.checked_add(4)?)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn get(&self, r: Range<usize>) -> &[u8] {
        self.0.get(r).unwrap_or(&[])
    }
    fn mac(&self, at: usize) -> Mac {
        let mut m = [0u8; 6];
        if let Some(b) = self.0.get(at..at + 6) {
            m.copy_from_slice(b);
        }
        Mac(m)
    }
}

fn link_layer(root: &mut FieldNode, b: &Bytes<'_>, p: &Packet<'_>) {
    let r = p.link_header.clone();
    if r.is_empty() {
        return;
    }
    let s = r.start;
    let mut n;
    match p.link.0 {
        1 => n = ethernet(b, s),
        113 => {
            n = FieldNode::new("Linux cooked capture v1", r.clone());
            n.push(format!("Packet type: {}", b.u16(s).unwrap_or(0)), s..s + 2);
            n.push(
                format!("Link-layer address type: {}", b.u16(s + 2).unwrap_or(0)),
                s + 2..s + 4,
            );
            n.push(
                format!("Link-layer address length: {}", b.u16(s + 4).unwrap_or(0)),
                s + 4..s + 6,
            );
            n.push(format!("Source: {}", b.mac(s + 6)), s + 6..s + 14);
            n.push(
                format!("Protocol: 0x{:04x}", b.u16(s + 14).unwrap_or(0)),
                s + 14..s + 16,
            );
        }
        276 => {
            n = FieldNode::new("Linux cooked capture v2", r.clone());
            n.push(
                format!("Protocol: 0x{:04x}", b.u16(s).unwrap_or(0)),
                s..s + 2,
            );
            n.push(
                format!("Interface index: {}", b.u32(s + 4).unwrap_or(0)),
                s + 4..s + 8,
            );
            n.push(
                format!("Link-layer address type: {}", b.u16(s + 8).unwrap_or(0)),
                s + 8..s + 10,
            );
            n.push(
                format!("Packet type: {}", b.u8(s + 10).unwrap_or(0)),
                s + 10..s + 11,
            );
            n.push(
                format!("Link-layer address length: {}", b.u8(s + 11).unwrap_or(0)),
                s + 11..s + 12,
            );
            n.push(format!("Source: {}", b.mac(s + 12)), s + 12..s + 20);
        }
        127 => {
            n = FieldNode::new(format!("Radiotap Header, Length {}", r.len()), r.clone());
            n.push(
                format!("Header revision: {}", b.u8(s).unwrap_or(0)),
                s..s + 1,
            );
            n.push(format!("Header length: {}", r.len()), s + 2..s + 4);
        }
        _ => {
            n = FieldNode::new("Null/Loopback", r.clone());
            n.push(format!("Family: {:02x?}", b.get(r.clone())), r.clone());
        }
    }
    root.children.push(n);
}

/// An Ethernet II header at `s` (the frame's own, or one carried in a tunnel).
fn ethernet(b: &Bytes<'_>, s: usize) -> FieldNode {
    let mut n = FieldNode::new(
        format!("Ethernet II, Src: {}, Dst: {}", b.mac(s + 6), b.mac(s)),
        s..s + 14,
    );
    n.push(format!("Destination: {}", b.mac(s)), s..s + 6);
    n.push(format!("Source: {}", b.mac(s + 6)), s + 6..s + 12);
    n.push(
        format!("Type: 0x{:04x}", b.u16(s + 12).unwrap_or(0)),
        s + 12..s + 14,
    );
    n
}

/// RFC 768 header.
fn udp(u: &UdpInfo, th: Range<usize>) -> FieldNode {
    let s = th.start;
    let mut n = FieldNode::new(
        format!(
            "User Datagram Protocol, Src Port: {}, Dst Port: {}",
            u.sport, u.dport
        ),
        th,
    );
    n.push(format!("Source Port: {}", u.sport), s..s + 2);
    n.push(format!("Destination Port: {}", u.dport), s + 2..s + 4);
    n.push(format!("Length: {}", u.length), s + 4..s + 6);
    n.push(format!("Checksum: 0x{:04x}", u.checksum), s + 6..s + 8);
    n
}

/// One encapsulation: the outer IP and UDP it rode in, its own header (field offsets of
/// the specifications `decode::encap` cites), and the Ethernet frame it carries. Returns
/// where what it carries starts.
fn encapsulation(root: &mut FieldNode, b: &Bytes<'_>, e: &Encap) -> usize {
    if let Some(ip) = &e.ip {
        if ip.version == 4 {
            ipv4(root, b, ip.header.clone());
        } else {
            ipv6(root, b, ip.header.clone());
        }
    }
    let r = e.header.clone();
    let s = r.start;
    if let Some(u) = &e.udp {
        root.children.push(udp(u, s.saturating_sub(8)..s));
    }
    let id = e.id.unwrap_or(0);
    let mut n = match e.kind {
        EncapKind::Mpls => {
            let w = b.u32(s).unwrap_or(0);
            let mut n = FieldNode::new(
                format!(
                    "MultiProtocol Label Switching Header, Label: {id}, Exp: {}, S: {}, TTL: {}",
                    (w >> 9) & 7,
                    (w >> 8) & 1,
                    w & 0xff
                ),
                r.clone(),
            );
            n.push(format!("MPLS Label: {id}"), s..s + 3);
            n.push(format!("Traffic Class: {}", (w >> 9) & 7), s + 2..s + 3);
            n.push(
                format!("Bottom of Label Stack: {}", (w >> 8) & 1),
                s + 2..s + 3,
            );
            n.push(format!("TTL: {}", w & 0xff), s + 3..s + 4);
            n
        }
        EncapKind::PwControlWord => {
            let mut n = FieldNode::new("PW Ethernet Control Word", r.clone());
            n.push(
                format!("Sequence Number: {}", b.u16(s + 2).unwrap_or(0)),
                s + 2..s + 4,
            );
            n
        }
        EncapKind::Pppoe => {
            let code = b.u8(s + 1).unwrap_or(0);
            let stage = if code == 0 { "Session" } else { "Discovery" };
            let mut n = FieldNode::new(
                format!("PPP-over-Ethernet {stage}, Session ID: 0x{id:04x}"),
                r.clone(),
            );
            n.push(
                format!("Version/Type: 0x{:02x}", b.u8(s).unwrap_or(0)),
                s..s + 1,
            );
            n.push(format!("Code: 0x{code:02x}"), s + 1..s + 2);
            n.push(format!("Session ID: 0x{id:04x}"), s + 2..s + 4);
            n.push(
                format!("Payload Length: {}", b.u16(s + 4).unwrap_or(0)),
                s + 4..s + 6,
            );
            n
        }
        EncapKind::Ppp => {
            let name = match id {
                0x0021 => "IPv4",
                0x0057 => "IPv6",
                0x0281 | 0x0283 => "MPLS",
                0xc021 => "LCP",
                0x8021 => "IPCP",
                0x8057 => "IPv6CP",
                0xc023 => "PAP",
                0xc223 => "CHAP",
                0x80fd => "CCP",
                _ => "unknown",
            };
            let mut n = FieldNode::new(
                format!("Point-to-Point Protocol, Protocol: {name} (0x{id:04x})"),
                r.clone(),
            );
            n.push(format!("Protocol: {name} (0x{id:04x})"), r.clone());
            n
        }
        EncapKind::Gre | EncapKind::Pptp => {
            let flags = b.u16(s).unwrap_or(0);
            let proto = b.u16(s + 2).unwrap_or(0);
            let mut n = FieldNode::new(
                format!("Generic Routing Encapsulation, Protocol Type: 0x{proto:04x}"),
                r.clone(),
            );
            n.push(
                format!("Flags and Version: 0x{flags:04x} (version {})", flags & 7),
                s..s + 2,
            );
            n.push(format!("Protocol Type: 0x{proto:04x}"), s + 2..s + 4);
            if let Some(k) = e.id {
                let what = if flags & 7 == 1 { "Call ID" } else { "Key" };
                n.push(format!("{what}: {k} (0x{k:08x})"), r.clone());
            }
            n
        }
        EncapKind::Erspan(t) => {
            let mut n = FieldNode::new(
                format!("Encapsulated Remote Switch Packet ANalysis, Type {t}"),
                r.clone(),
            );
            if let Some(sid) = e.id {
                n.push(format!("Session ID: {sid}"), s + 2..s + 4);
            }
            n
        }
        EncapKind::Vxlan => {
            let mut n = FieldNode::new(
                format!("Virtual eXtensible Local Area Network, VNI: {id}"),
                r.clone(),
            );
            n.push(format!("Flags: 0x{:02x}", b.u8(s).unwrap_or(0)), s..s + 1);
            n.push(
                format!("VXLAN Network Identifier (VNI): {id}"),
                s + 4..s + 7,
            );
            n
        }
        EncapKind::Geneve => {
            let mut n = FieldNode::new(
                format!("Generic Network Virtualization Encapsulation, VNI: 0x{id:06x}"),
                r.clone(),
            );
            let optlen = usize::from(b.u8(s).unwrap_or(0) & 0x3f) * 4;
            n.push(format!("Options Length: {optlen} bytes"), s..s + 1);
            n.push(
                format!("Protocol Type: 0x{:04x}", b.u16(s + 2).unwrap_or(0)),
                s + 2..s + 4,
            );
            n.push(
                format!("Virtual Network Identifier (VNI): 0x{id:06x}"),
                s + 4..s + 7,
            );
            if optlen > 0 {
                n.push(format!("Options ({optlen} bytes)"), s + 8..r.end);
            }
            n
        }
        EncapKind::Teredo => FieldNode::new(
            format!(
                "Teredo IPv6 over UDP tunneling ({} bytes of indicators)",
                r.len()
            ),
            r.clone(),
        ),
        EncapKind::IpInIp => return r.end,
        EncapKind::GtpU => {
            let mut n = FieldNode::new(
                format!("GPRS Tunneling Protocol (user plane), TEID: 0x{id:08x}"),
                r.clone(),
            );
            n.push(format!("Flags: 0x{:02x}", b.u8(s).unwrap_or(0)), s..s + 1);
            n.push(
                format!("Message Type: {} (G-PDU)", b.u8(s + 1).unwrap_or(0)),
                s + 1..s + 2,
            );
            n.push(
                format!("Length: {}", b.u16(s + 2).unwrap_or(0)),
                s + 2..s + 4,
            );
            n.push(format!("TEID: 0x{id:08x}"), s + 4..s + 8);
            n
        }
        EncapKind::Pbb => {
            let mut n = FieldNode::new(
                format!("802.1ah Backbone Service Instance Tag, I-SID: {id}"),
                r.clone(),
            );
            n.push(format!("I-SID: {id}"), s + 1..s + 4);
            n
        }
        EncapKind::FabricPath => {
            let w = b.u16(s).unwrap_or(0);
            FieldNode::new(
                format!(
                    "Cisco FabricPath, Destination switch-id: {id}, FTag: {}, TTL: {}",
                    w >> 6,
                    w & 0x3f
                ),
                r.start.saturating_sub(14)..r.end,
            )
        }
        EncapKind::Ieee80211 => {
            let fc = b.u16(s).unwrap_or(0);
            let mut n = FieldNode::new(
                format!("IEEE 802.11 Data, Frame Control: 0x{fc:04x}"),
                r.clone(),
            );
            n.push(format!("Frame Control: 0x{fc:04x}"), s..s + 2);
            n.push(format!("Receiver address: {}", b.mac(s + 4)), s + 4..s + 10);
            n.push(
                format!("Transmitter address: {}", b.mac(s + 10)),
                s + 10..s + 16,
            );
            n.push(format!("Address 3: {}", b.mac(s + 16)), s + 16..s + 22);
            if r.len() >= 8 {
                n.push(
                    format!("LLC/SNAP Type: 0x{:04x}", b.u16(r.end - 2).unwrap_or(0)),
                    r.end - 8..r.end,
                );
            }
            n
        }
    };
    n.label = format!("{} [{}]", n.label, e.kind.name());
    root.children.push(n);
    let mut at = r.end;
    if let Some((_, vlans)) = &e.inner_eth {
        root.children.push(ethernet(b, at));
        at += 14;
        for vid in vlans.ids() {
            root.push(format!("802.1Q Virtual LAN, ID: {vid}"), at..at + 4);
            at += 4;
        }
    }
    at
}

/// RFC 826 packet layout.
fn arp(root: &mut FieldNode, b: &Bytes<'_>, s: usize, op: u16) {
    let kind = match op {
        1 => "request",
        2 => "reply",
        _ => "other",
    };
    let mut n = FieldNode::new(format!("Address Resolution Protocol ({kind})"), s..s + 28);
    n.push(
        format!("Hardware type: {}", b.u16(s).unwrap_or(0)),
        s..s + 2,
    );
    n.push(
        format!("Protocol type: 0x{:04x}", b.u16(s + 2).unwrap_or(0)),
        s + 2..s + 4,
    );
    n.push(
        format!("Hardware size: {}", b.u8(s + 4).unwrap_or(0)),
        s + 4..s + 5,
    );
    n.push(
        format!("Protocol size: {}", b.u8(s + 5).unwrap_or(0)),
        s + 5..s + 6,
    );
    n.push(format!("Opcode: {op}"), s + 6..s + 8);
    if b.u8(s + 4) == Some(6) && b.u8(s + 5) == Some(4) {
        n.push(
            format!("Sender MAC address: {}", b.mac(s + 8)),
            s + 8..s + 14,
        );
        n.push(
            format!("Sender IP address: {}", v4(b, s + 14)),
            s + 14..s + 18,
        );
        n.push(
            format!("Target MAC address: {}", b.mac(s + 18)),
            s + 18..s + 24,
        );
        n.push(
            format!("Target IP address: {}", v4(b, s + 24)),
            s + 24..s + 28,
        );
    }
    root.children.push(n);
}

fn v4(b: &Bytes<'_>, at: usize) -> Ipv4Addr {
    Ipv4Addr::from(b.u32(at).unwrap_or(0))
}

fn v6(b: &Bytes<'_>, at: usize) -> Ipv6Addr {
    let mut a = [0u8; 16];
    if let Some(s) = b.0.get(at..at + 16) {
        a.copy_from_slice(s);
    }
    Ipv6Addr::from(a)
}

/// RFC 791 §3.1 header layout.
fn ipv4(root: &mut FieldNode, b: &Bytes<'_>, r: Range<usize>) {
    let s = r.start;
    let mut n = FieldNode::new(
        format!(
            "Internet Protocol Version 4, Src: {}, Dst: {}",
            v4(b, s + 12),
            v4(b, s + 16)
        ),
        r.clone(),
    );
    let vihl = b.u8(s).unwrap_or(0);
    let tos = b.u8(s + 1).unwrap_or(0);
    let flags = b.u16(s + 6).unwrap_or(0);
    n.push(format!("Version: {}", vihl >> 4), s..s + 1);
    n.push(
        format!("Header Length: {} bytes ({})", (vihl & 0xf) * 4, vihl & 0xf),
        s..s + 1,
    );
    n.push(
        format!("DSCP: {}, ECN: {}", tos >> 2, tos & 3),
        s + 1..s + 2,
    );
    n.push(
        format!("Total Length: {}", b.u16(s + 2).unwrap_or(0)),
        s + 2..s + 4,
    );
    let id = b.u16(s + 4).unwrap_or(0);
    n.push(format!("Identification: 0x{id:04x} ({id})"), s + 4..s + 6);
    let mut f = FieldNode::new(format!("Flags: 0x{:x}", flags >> 13), s + 6..s + 7);
    f.push(format!("Reserved bit: {}", flags >> 15 & 1), s + 6..s + 7);
    f.push(format!("Don't fragment: {}", flags >> 14 & 1), s + 6..s + 7);
    f.push(format!("More fragments: {}", flags >> 13 & 1), s + 6..s + 7);
    n.children.push(f);
    n.push(
        format!("Fragment Offset: {}", (flags & 0x1fff) * 8),
        s + 6..s + 8,
    );
    n.push(
        format!("Time to Live: {}", b.u8(s + 8).unwrap_or(0)),
        s + 8..s + 9,
    );
    let proto = b.u8(s + 9).unwrap_or(0);
    n.push(
        format!(
            "Protocol: {} ({proto})",
            ip_proto_name(proto).unwrap_or("unknown")
        ),
        s + 9..s + 10,
    );
    n.push(
        format!("Header Checksum: 0x{:04x}", b.u16(s + 10).unwrap_or(0)),
        s + 10..s + 12,
    );
    n.push(format!("Source Address: {}", v4(b, s + 12)), s + 12..s + 16);
    n.push(
        format!("Destination Address: {}", v4(b, s + 16)),
        s + 16..s + 20,
    );
    let hl = usize::from(vihl & 0xf) * 4;
    if hl > 20 {
        let mut o = FieldNode::new(format!("Options: ({} bytes)", hl - 20), s + 20..s + hl);
        // RFC 791 §3.1: type 0 ends the list, 1 is a one-byte no-op, others carry a length.
        let mut i = s + 20;
        while i < s + hl {
            let kind = b.u8(i).unwrap_or(0);
            let len = if kind <= 1 {
                1
            } else {
                usize::from(b.u8(i + 1).unwrap_or(0)).max(2)
            };
            let end = (i + len).min(s + hl);
            o.push(format!("Option type {kind} ({} bytes)", end - i), i..end);
            if kind == 0 {
                break;
            }
            i = end;
        }
        n.children.push(o);
    }
    root.children.push(n);
}

/// RFC 8200 §3 header, §4 extension headers (chain walked within the parsed range).
fn ipv6(root: &mut FieldNode, b: &Bytes<'_>, r: Range<usize>) {
    let s = r.start;
    let mut n = FieldNode::new(
        format!(
            "Internet Protocol Version 6, Src: {}, Dst: {}",
            v6(b, s + 8),
            v6(b, s + 24)
        ),
        r.clone(),
    );
    let w = b.u32(s).unwrap_or(0);
    n.push(format!("Version: {}", w >> 28), s..s + 1);
    n.push(
        format!("Traffic Class: 0x{:02x}", (w >> 20) & 0xff),
        s..s + 2,
    );
    n.push(format!("Flow Label: 0x{:05x}", w & 0xfffff), s + 1..s + 4);
    n.push(
        format!("Payload Length: {}", b.u16(s + 4).unwrap_or(0)),
        s + 4..s + 6,
    );
    let mut next = b.u8(s + 6).unwrap_or(0);
    n.push(
        format!(
            "Next Header: {} ({next})",
            ip_proto_name(next).unwrap_or("unknown")
        ),
        s + 6..s + 7,
    );
    n.push(
        format!("Hop Limit: {}", b.u8(s + 7).unwrap_or(0)),
        s + 7..s + 8,
    );
    n.push(format!("Source Address: {}", v6(b, s + 8)), s + 8..s + 24);
    n.push(
        format!("Destination Address: {}", v6(b, s + 24)),
        s + 24..s + 40,
    );
    let mut i = s + 40;
    while i < r.end {
        let len = match next {
            0 | 43 | 60 => (usize::from(b.u8(i + 1).unwrap_or(0)) + 1) * 8,
            44 => 8,
            51 => (usize::from(b.u8(i + 1).unwrap_or(0)) + 2) * 4,
            _ => break,
        };
        let name = match next {
            0 => "Hop-by-Hop Options",
            43 => "Routing Header",
            44 => "Fragment Header",
            51 => "Authentication Header",
            _ => "Destination Options",
        };
        let end = (i + len).min(r.end);
        let mut e = FieldNode::new(format!("IPv6 {name} ({len} bytes)"), i..end);
        let nh = b.u8(i).unwrap_or(0);
        e.push(
            format!(
                "Next Header: {} ({nh})",
                ip_proto_name(nh).unwrap_or("unknown")
            ),
            i..i + 1,
        );
        match next {
            43 => {
                e.push(format!("Type: {}", b.u8(i + 2).unwrap_or(0)), i + 2..i + 3);
                e.push(
                    format!("Segments Left: {}", b.u8(i + 3).unwrap_or(0)),
                    i + 3..i + 4,
                );
            }
            44 => {
                let off = b.u16(i + 2).unwrap_or(0);
                e.push(format!("Offset: {} bytes", (off >> 3) * 8), i + 2..i + 4);
                e.push(format!("More Fragments: {}", off & 1 == 1), i + 3..i + 4);
                e.push(
                    format!("Identification: 0x{:08x}", b.u32(i + 4).unwrap_or(0)),
                    i + 4..i + 8,
                );
            }
            _ => {}
        }
        n.children.push(e);
        next = nh;
        i = end;
    }
    root.children.push(n);
}

/// RFC 9293 §3.1 option list, with RFC 7323 and RFC 2018 options spelled out.
fn tcp_options(n: &mut FieldNode, b: &Bytes<'_>, r: Range<usize>) {
    let mut o = FieldNode::new(format!("Options: ({} bytes)", r.len()), r.clone());
    let mut i = r.start;
    while i < r.end {
        let kind = b.u8(i).unwrap_or(0);
        let len = if kind <= 1 {
            1
        } else {
            usize::from(b.u8(i + 1).unwrap_or(0)).max(2)
        };
        let end = (i + len).min(r.end);
        let label = match kind {
            0 => "End of Option List".to_string(),
            1 => "No-Operation (NOP)".to_string(),
            2 => format!("Maximum segment size: {} bytes", b.u16(i + 2).unwrap_or(0)),
            3 => format!("Window scale: {}", b.u8(i + 2).unwrap_or(0)),
            4 => "SACK permitted".to_string(),
            5 => format!("SACK: {} block(s)", (len.saturating_sub(2)) / 8),
            8 => format!(
                "Timestamps: TSval {}, TSecr {}",
                b.u32(i + 2).unwrap_or(0),
                b.u32(i + 6).unwrap_or(0)
            ),
            k => format!("Option kind {k} ({} bytes)", end - i),
        };
        o.push(label, i..end);
        if kind == 0 {
            break;
        }
        i = end;
    }
    n.children.push(o);
}
