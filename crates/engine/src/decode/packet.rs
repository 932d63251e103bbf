//! What one decoded packet is: small `Copy` summaries of each layer that parsed, the L4
//! payload borrowed from the frame, and the anomalies that say why parsing stopped.
//!
//! Field names follow the display-filter names users know (`ip.ttl`, `tcp.len`,
//! `tcp.flags.syn`, `vlan.id`, `eth.src`) so a filter can read them without translation.

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use crate::base::{Anomaly, AnomalyKind, LinkType};

/// Ethernet II header (IEEE 802.3 with an EtherType). Also filled from the link address of
/// Linux cooked captures when it is 6 bytes long (then `dst` is all zeroes: SLL has none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EthInfo {
    pub src: [u8; 6],
    pub dst: [u8; 6],
    /// The EtherType of the outer header (0x8100 / 0x88a8 when VLAN tags follow).
    pub ethertype: u16,
}

/// Up to two VLAN ids (802.1Q, or 802.1ad QinQ outer + inner), outermost first. Inline
/// and `Copy` so a packet summary never allocates for them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Vlans {
    ids: [u16; 2],
    len: u8,
}

impl Vlans {
    /// The ids present, outermost first.
    pub fn ids(&self) -> &[u16] {
        self.ids.get(..usize::from(self.len)).unwrap_or(&self.ids)
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }
    /// The outermost id (`vlan.id` in a filter).
    pub fn outer(&self) -> Option<u16> {
        self.ids().first().copied()
    }
    /// Adds an id; returns false (and keeps the first two) when already full.
    pub(crate) fn push(&mut self, id: u16) -> bool {
        match self.ids.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = id;
                self.len += 1;
                true
            }
            None => false,
        }
    }
}

/// ARP (RFC 826). Addresses are filled for the Ethernet/IPv4 case (hardware length 6,
/// protocol length 4), which is the only one seen in practice; otherwise they are zero
/// and `eth_ipv4` is false.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpInfo {
    pub hw_type: u16,
    pub proto_type: u16,
    /// 1 request, 2 reply (3/4 RARP).
    pub op: u16,
    pub eth_ipv4: bool,
    pub sender_mac: [u8; 6],
    pub sender_ip: Ipv4Addr,
    pub target_mac: [u8; 6],
    pub target_ip: Ipv4Addr,
}

/// IPv4 or IPv6 header summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpInfo {
    /// 4 or 6.
    pub version: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// TTL (IPv4) or hop limit (IPv6).
    pub ttl: u8,
    /// The upper-layer protocol after all IPv6 extension headers (ip.proto / the last
    /// next header); for a fragment, the protocol of the fragmented datagram.
    pub protocol: u8,
    /// DSCP (6 bits) and ECN (2 bits) of the TOS / traffic-class byte.
    pub dscp: u8,
    pub ecn: u8,
    /// IPv6 flow label (0 for IPv4).
    pub flow_label: u32,
    /// IPv4 total length, or IPv6 40 + payload length, as the header says.
    pub total_len: u32,
    /// Bytes of upper-layer data the header promises after `header` (may exceed what
    /// was captured).
    pub payload_len: u32,
    /// Header bytes in the frame: IPv4 header with options, or IPv6 header with every
    /// extension header that parsed.
    pub header: Range<usize>,
    /// IPv4 identification, or the IPv6 fragment header's identification (0 without one).
    pub id: u32,
    pub dont_fragment: bool,
    pub more_fragments: bool,
    /// Fragment offset in bytes (the header's 8-byte units × 8).
    pub frag_offset: u32,
    /// Offset in the frame of the IPv6 fragment header, when there is one. The
    /// defragmenter keeps the bytes before it as the unfragmentable part (RFC 8200 §4.5).
    pub v6_frag_header: Option<usize>,
}

impl IpInfo {
    /// True when this packet is one fragment of a larger datagram (an IPv6 "atomic"
    /// fragment with offset 0 and no more fragments is not).
    pub fn is_fragment(&self) -> bool {
        self.more_fragments || self.frag_offset != 0
    }
}

/// TCP flag bits (RFC 9293 §3.1, RFC 3168 for ECE/CWR, RFC 3540 for NS).
pub mod tcp_flags {
    pub const FIN: u16 = 0x001;
    pub const SYN: u16 = 0x002;
    pub const RST: u16 = 0x004;
    pub const PSH: u16 = 0x008;
    pub const ACK: u16 = 0x010;
    pub const URG: u16 = 0x020;
    pub const ECE: u16 = 0x040;
    pub const CWR: u16 = 0x080;
    pub const NS: u16 = 0x100;

    /// Each flag with its name, in the order Wireshark lists them.
    pub const NAMES: [(u16, &str); 9] = [
        (FIN, "FIN"),
        (SYN, "SYN"),
        (RST, "RST"),
        (PSH, "PSH"),
        (ACK, "ACK"),
        (URG, "URG"),
        (ECE, "ECE"),
        (CWR, "CWR"),
        (NS, "NS"),
    ];

    /// The flags set, as Wireshark lists them: "SYN", "SYN, ACK", "FIN, PSH, ACK"; empty
    /// when none is set.
    pub fn names(flags: u16) -> String {
        let mut s = String::new();
        for (bit, name) in NAMES {
            if flags & bit != 0 {
                if !s.is_empty() {
                    s.push_str(", ");
                }
                s.push_str(name);
            }
        }
        s
    }
}

/// The TCP options wiretale understands (RFC 9293 §3.2 MSS, RFC 7323 window scale and
/// timestamps, RFC 2018 SACK).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpOptions {
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_permitted: bool,
    /// SACK blocks (left, right); only the first `sack_count` are meaningful.
    pub sack: [(u32, u32); 4],
    pub sack_count: u8,
    /// (TSval, TSecr).
    pub ts: Option<(u32, u32)>,
    /// Kinds of the options above in the order they appeared (the first 8), so the Info
    /// text lists them as the sender wrote them, as tshark does.
    pub order: [u8; 8],
    pub order_len: u8,
}

impl TcpOptions {
    /// Kinds of the understood options in wire order.
    pub fn order(&self) -> &[u8] {
        self.order
            .get(..usize::from(self.order_len))
            .unwrap_or(&self.order)
    }

    pub fn sack_blocks(&self) -> &[(u32, u32)] {
        self.sack
            .get(..usize::from(self.sack_count))
            .unwrap_or(&self.sack)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpInfo {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    /// The 9 flag bits, see [`tcp_flags`].
    pub flags: u16,
    /// Window as sent (not scaled: scaling needs the handshake, which is flow's job).
    pub window: u16,
    pub checksum: u16,
    pub urgent: u16,
    pub options: TcpOptions,
    /// Header length in bytes (data offset × 4).
    pub header_len: u8,
    /// Segment length from the IP length (tshark's `tcp.len`), not the captured bytes.
    pub payload_len: u32,
}

impl TcpInfo {
    pub fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }
    pub fn syn(&self) -> bool {
        self.has(tcp_flags::SYN)
    }
    pub fn ack(&self) -> bool {
        self.has(tcp_flags::ACK)
    }
    pub fn fin(&self) -> bool {
        self.has(tcp_flags::FIN)
    }
    pub fn rst(&self) -> bool {
        self.has(tcp_flags::RST)
    }
    pub fn psh(&self) -> bool {
        self.has(tcp_flags::PSH)
    }
    pub fn urg(&self) -> bool {
        self.has(tcp_flags::URG)
    }
    pub fn ece(&self) -> bool {
        self.has(tcp_flags::ECE)
    }
    pub fn cwr(&self) -> bool {
        self.has(tcp_flags::CWR)
    }
    pub fn ns(&self) -> bool {
        self.has(tcp_flags::NS)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpInfo {
    pub sport: u16,
    pub dport: u16,
    /// The UDP length field (header + data).
    pub length: u16,
    pub checksum: u16,
}

/// The IP header (and first ports) quoted inside an ICMP error (RFC 792, RFC 4443 §3),
/// which says which packet the error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quoted {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub protocol: u8,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    /// The quoted packet's TTL / hop limit as it reached the reporter.
    pub ttl: u8,
    /// Identifier of a quoted ICMP/ICMPv6 echo request (`traceroute -I`, a ping
    /// that met a TTL limit).
    pub echo_id: Option<u16>,
}

/// ICMP (RFC 792) or ICMPv6 (RFC 4443) message; which one is told by [`Transport`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpInfo {
    pub kind: u8,
    pub code: u8,
    pub checksum: u16,
    /// (identifier, sequence number) of echo requests and replies.
    pub echo: Option<(u16, u16)>,
    /// The offending packet's header inside an error message.
    pub quoted: Option<Quoted>,
    /// Next-hop MTU of an ICMP "fragmentation needed" (RFC 1191 §4) or an ICMPv6
    /// "packet too big" (RFC 4443 §3.2).
    pub mtu: Option<u32>,
    /// Target address of an ICMPv6 neighbour solicitation or advertisement (RFC 4861).
    pub nd_target: Option<Ipv6Addr>,
    /// Neighbour advertisement flags (R 0x80, S 0x40, O 0x20; RFC 4861 §4.4).
    pub nd_flags: u8,
    /// Link-layer address from an NDP source/target link-layer address option (RFC 4861
    /// §4.6.1), when it is 6 bytes.
    pub nd_lladdr: Option<[u8; 6]>,
}

/// What carried a packet inside another: one entry of [`Packet::tunnels`].
#[derive(
    serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
pub enum EncapKind {
    /// One MPLS label stack entry (RFC 3032 §2.1); `id` is the label.
    Mpls,
    /// The pseudowire control word after the bottom label (RFC 4385 §3); no `id`.
    PwControlWord,
    /// PPPoE session stage (RFC 2516 §4); `id` is the session id.
    Pppoe,
    /// PPP (RFC 1661 §2): link types 9 and 51, or inside PPPoE; `id` is the protocol.
    Ppp,
    /// GRE (RFC 2784, keys and sequence RFC 2890); `id` is the key when present.
    Gre,
    /// PPTP's enhanced GRE (version 1, RFC 2637 §4.1) carrying PPP; `id` is the call id,
    /// which each end chooses for the other to send with (so it differs by direction).
    Pptp,
    /// ERSPAN type I, II or III over GRE; `id` is the session id (type I has none).
    Erspan(u8),
    /// VXLAN (RFC 7348 §5, UDP 4789); `id` is the VNI.
    Vxlan,
    /// Geneve (RFC 8926 §3, UDP 6081); `id` is the VNI.
    Geneve,
    /// Teredo (RFC 4380 §5.1.1, UDP 3544): IPv6 in UDP over IPv4; no `id`.
    Teredo,
    /// IPv4 or IPv6 directly in IP (protocols 4 and 41; RFC 2003, RFC 4213); no `id`.
    IpInIp,
    /// GTP-U (3GPP TS 29.281 §5, UDP 2152); `id` is the TEID.
    GtpU,
    /// 802.1ah provider backbone bridging (EtherType 0x88e7); `id` is the I-SID.
    Pbb,
    /// Cisco FabricPath; `id` is the outer destination switch id.
    FabricPath,
    /// An 802.11 data frame (radiotap or plain 802.11 link types) with LLC/SNAP; no `id`.
    Ieee80211,
}

impl EncapKind {
    /// The name used in output (`tunnel` in `conns --json`, the field tree).
    pub fn name(self) -> &'static str {
        match self {
            EncapKind::Mpls => "mpls",
            EncapKind::PwControlWord => "pwach",
            EncapKind::Pppoe => "pppoe",
            EncapKind::Ppp => "ppp",
            EncapKind::Gre => "gre",
            EncapKind::Pptp => "pptp",
            EncapKind::Erspan(_) => "erspan",
            EncapKind::Vxlan => "vxlan",
            EncapKind::Geneve => "geneve",
            EncapKind::Teredo => "teredo",
            EncapKind::IpInIp => "ip-in-ip",
            EncapKind::GtpU => "gtp-u",
            EncapKind::Pbb => "pbb",
            EncapKind::FabricPath => "fabricpath",
            EncapKind::Ieee80211 => "802.11",
        }
    }

    /// Whether `id` names the tunnel the same way in both directions, so it may be part
    /// of a connection's key. MPLS labels and GTP-U TEIDs are chosen by each receiving
    /// end (RFC 3031 §3.1, TS 29.281 §5.1): the two directions of one connection carry
    /// different ones, so keying on them would split every connection in two.
    pub fn id_is_symmetric(self) -> bool {
        !matches!(
            self,
            EncapKind::Mpls
                | EncapKind::GtpU
                | EncapKind::Ppp
                | EncapKind::FabricPath
                | EncapKind::Pptp
        )
    }

    /// Whether this layer tells connections apart at all. Label-switched and link-layer
    /// framings (MPLS, the pseudowire control word, PPP, FabricPath, 802.11) do not: one
    /// direction may carry more labels than the other (penultimate-hop popping) or none,
    /// as with asymmetric VLAN tagging, and the connection is still one.
    pub fn separates_connections(self) -> bool {
        !matches!(
            self,
            EncapKind::Mpls
                | EncapKind::PwControlWord
                | EncapKind::Ppp
                | EncapKind::FabricPath
                | EncapKind::Ieee80211
        )
    }
}

/// One encapsulation around the packet's innermost IP layer, outermost first (see
/// [`Packet::tunnels`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encap {
    pub kind: EncapKind,
    /// The IP header this encapsulation rode in (the outer IP of GRE, VXLAN, IP-in-IP,
    /// Teredo, GTP-U, Geneve); `None` for link-layer ones (MPLS, PPPoE, PBB, 802.11).
    pub ip: Option<IpInfo>,
    /// The UDP header it rode in (VXLAN, Geneve, Teredo, GTP-U).
    pub udp: Option<UdpInfo>,
    /// The encapsulation's own header bytes in the frame (empty for IP-in-IP, whose
    /// header is `ip`).
    pub header: Range<usize>,
    /// Label, VNI, key, TEID, session id or I-SID: see [`EncapKind`].
    pub id: Option<u32>,
    /// The Ethernet header carried inside (VXLAN, Geneve, GRE transparent bridging,
    /// ERSPAN, PBB, FabricPath, an Ethernet pseudowire), with its VLAN ids.
    pub inner_eth: Option<(EthInfo, Vlans)>,
}

/// The layer above IP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    /// No transport layer parsed (ARP, a fragment, or parsing stopped before it).
    #[default]
    None,
    Tcp(TcpInfo),
    Udp(UdpInfo),
    Icmp(IcmpInfo),
    Icmpv6(IcmpInfo),
    /// An IP protocol wiretale does not decode (GRE, ESP, OSPF…), by number.
    Other(u8),
}

/// One decoded frame. Built by [`crate::decode::decode`]; borrows the frame for `payload`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    pub link: LinkType,
    /// Bytes of the link-layer header (Ethernet, SLL, SLL2, NULL; empty for raw IP),
    /// without VLAN tags, which follow it at 4 bytes each.
    pub link_header: Range<usize>,
    pub eth: Option<EthInfo>,
    pub vlans: Vlans,
    /// Encapsulations around the innermost IP packet, outermost first; empty for a
    /// packet that was not tunnelled. `ip`, `transport` and `payload` are the innermost
    /// ones (what Wireshark's columns show), `eth` and `vlans` the outermost.
    pub tunnels: Vec<Encap>,
    /// The EtherType that selected the network layer (after VLAN tags, or from the SLL
    /// protocol field, or implied by a raw-IP/NULL link).
    pub ethertype: Option<u16>,
    pub arp: Option<ArpInfo>,
    pub ip: Option<IpInfo>,
    pub transport: Transport,
    /// Bytes of the transport header in the frame (empty when none parsed).
    pub transport_header: Range<usize>,
    /// The L4 payload as captured (shorter than the header says when snaplen-cut; for a
    /// fragment or an undecoded protocol, the IP payload).
    pub payload: &'a [u8],
    /// Where `payload` starts in the frame.
    pub payload_offset: usize,
    pub anomalies: Vec<Anomaly>,
}

impl<'a> Packet<'a> {
    pub(crate) fn empty(link: LinkType) -> Self {
        Packet {
            link,
            link_header: 0..0,
            eth: None,
            vlans: Vlans::default(),
            tunnels: Vec::new(),
            ethertype: None,
            arp: None,
            ip: None,
            transport: Transport::None,
            transport_header: 0..0,
            payload: &[],
            payload_offset: 0,
            anomalies: Vec::new(),
        }
    }

    /// The highest layer decoded: "tcp", "udp", "icmp", "icmpv6", "ipv4", "ipv6", "arp",
    /// "eth", or the link type's name when not even that parsed.
    pub fn proto_name(&self) -> &'static str {
        match self.transport {
            Transport::Tcp(_) => return "tcp",
            Transport::Udp(_) => return "udp",
            Transport::Icmp(_) => return "icmp",
            Transport::Icmpv6(_) => return "icmpv6",
            Transport::None | Transport::Other(_) => {}
        }
        if let Some(ip) = &self.ip {
            return if ip.version == 4 { "ipv4" } else { "ipv6" };
        }
        if self.arp.is_some() {
            return "arp";
        }
        if self.eth.is_some() {
            return "eth";
        }
        self.link.name()
    }

    /// A hash of the tunnels around the packet that is the same for both directions
    /// (outer addresses in canonical order, symmetric ids only); 0 when not tunnelled.
    /// Part of the connection key: the same inner 4-tuple in two tunnels is two
    /// connections, as two VLANs are.
    pub fn tunnel_key(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        if self.tunnels.is_empty() {
            return 0;
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        let mut any = false;
        for t in self
            .tunnels
            .iter()
            .filter(|t| t.kind.separates_connections())
        {
            any = true;
            t.kind.hash(&mut h);
            if t.kind.id_is_symmetric() {
                t.id.hash(&mut h);
            }
            if let Some(ip) = &t.ip {
                let (a, b) = (ip.src.min(ip.dst), ip.src.max(ip.dst));
                (a, b).hash(&mut h);
            }
        }
        if any {
            h.finish().max(1)
        } else {
            0
        }
    }

    /// Source address for display, as tshark's Source column: the IP source, else the
    /// link-layer source (ARP frames show MACs there; the IPs are in the Info text).
    pub fn src(&self) -> Option<Addr> {
        if let Some(ip) = &self.ip {
            return Some(Addr::Ip(ip.src));
        }
        if let Some(eth) = &self.eth {
            return Some(Addr::Mac(eth.src));
        }
        None
    }

    /// Destination address for display (see [`Packet::src`]).
    pub fn dst(&self) -> Option<Addr> {
        if let Some(ip) = &self.ip {
            return Some(Addr::Ip(ip.dst));
        }
        if let Some(eth) = &self.eth {
            return Some(Addr::Mac(eth.dst));
        }
        None
    }

    /// (source port, destination port) for TCP and UDP.
    pub fn ports(&self) -> Option<(u16, u16)> {
        match self.transport {
            Transport::Tcp(t) => Some((t.sport, t.dport)),
            Transport::Udp(u) => Some((u.sport, u.dport)),
            _ => None,
        }
    }

    pub fn tcp(&self) -> Option<&TcpInfo> {
        match &self.transport {
            Transport::Tcp(t) => Some(t),
            _ => None,
        }
    }

    pub fn udp(&self) -> Option<&UdpInfo> {
        match &self.transport {
            Transport::Udp(u) => Some(u),
            _ => None,
        }
    }

    pub(crate) fn anomaly(
        &mut self,
        kind: AnomalyKind,
        detail: impl Into<std::borrow::Cow<'static, str>>,
    ) {
        self.anomalies.push(Anomaly::new(kind, detail));
    }
}

/// An address shown in the Source / Destination columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addr {
    Ip(IpAddr),
    Mac([u8; 6]),
}

impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Addr::Ip(ip) => write!(f, "{ip}"),
            Addr::Mac(m) => write!(f, "{}", Mac(*m)),
        }
    }
}

/// Formats a MAC address as `aa:bb:cc:dd:ee:ff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mac(pub [u8; 6]);

impl std::fmt::Display for Mac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}
