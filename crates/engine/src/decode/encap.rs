//! Tunnels and link-layer encapsulations: the layers between the capture's link header
//! and the innermost IP packet (MPLS, PPPoE and PPP, GRE with ERSPAN and PPTP, VXLAN,
//! Geneve, Teredo, IP in IP, GTP-U, 802.1ah PBB, Cisco FabricPath, 802.11 data frames).
//!
//! [`open`] runs after the outer frame was sliced. Each step walks from a starting point
//! (an EtherType's payload, an Ethernet frame, a PPP frame, an IP packet…) through
//! encapsulation headers until the etherparse slicer yields an IP (or ARP) layer again;
//! then the packet's `ip`, `transport` and `payload` become the inner ones and every
//! layer crossed is one [`Encap`] in `p.tunnels`. A step that stops short keeps the
//! packet as it was (the outer UDP or GRE packet) plus an anomaly saying why, so nothing
//! decoded is lost. At most [`MAX_ENCAPS`] encapsulations are opened.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use etherparse::LaxSlicedPacket;

use super::packet::{Encap, EncapKind, IpInfo, Packet, Transport, UdpInfo};
use super::slice::{absorb, from_ether_type};
use crate::base::{Anomaly, AnomalyKind, LinkType};

/// At most this many encapsulations are opened around one packet; a deeper stack is an
/// anomaly (a crafted frame of nested tunnels must not cost unbounded work).
pub const MAX_ENCAPS: usize = 8;

pub(super) const ET_IPV4: u16 = 0x0800;
pub(super) const ET_IPV6: u16 = 0x86dd;
const ET_ARP: u16 = 0x0806;
const ET_TEB: u16 = 0x6558;
const ET_PPP: u16 = 0x880b;
const ET_MPLS: u16 = 0x8847;
const ET_MPLS_MC: u16 = 0x8848;
const ET_PPPOE_DISC: u16 = 0x8863;
const ET_PPPOE_SESS: u16 = 0x8864;
const ET_ERSPAN_2: u16 = 0x88be;
const ET_ERSPAN_3: u16 = 0x22eb;
const ET_PBB: u16 = 0x88e7;
const ET_FABRICPATH: u16 = 0x8903;
const ET_CISCO_METADATA: u16 = 0x8909;

/// UDP ports that carry tunnels (IANA): VXLAN (RFC 7348 §5), Linux's pre-IANA VXLAN
/// port, Geneve (RFC 8926 §3.3), Teredo (RFC 4380 §4), GTP-U (TS 29.281 §4.4.2.3).
const PORT_VXLAN: u16 = 4789;
const PORT_VXLAN_LINUX: u16 = 8472;
const PORT_GENEVE: u16 = 6081;
const PORT_TEREDO: u16 = 3544;
const PORT_GTPU: u16 = 2152;

/// Where undecoded bytes start and what they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// The payload of an EtherType (also GRE's and Geneve's protocol type).
    Ether(u16, usize),
    /// An Ethernet II frame.
    Eth(usize),
    /// A PPP frame (address/control bytes optional).
    Ppp(usize),
    /// A PPPoE header (link type 51).
    Pppoe(usize),
    /// An IP packet, version by its first nibble.
    Ip(usize),
    /// An 802.11 frame (link type 105).
    Wlan(usize),
    /// A radiotap header then an 802.11 frame (link type 127).
    Radiotap(usize),
}

/// EtherTypes the etherparse slicer leaves undecoded that [`open`] walks into.
pub(super) fn is_link_encap(et: u16) -> bool {
    matches!(
        et,
        ET_MPLS | ET_MPLS_MC | ET_PPPOE_DISC | ET_PPPOE_SESS | ET_PBB | ET_FABRICPATH
    )
}

fn bytes<const N: usize>(data: &[u8], at: usize) -> Option<[u8; N]> {
    data.get(at..at.checked_add(N)?)?.try_into().ok()
}

fn u8_at(data: &[u8], at: usize) -> Option<u8> {
    data.get(at).copied()
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    bytes(data, at).map(u16::from_be_bytes)
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    bytes(data, at).map(u32::from_be_bytes)
}

/// Why a walk stopped without reaching an IP packet: `None` when nothing is wrong (a
/// PPPoE discovery frame, an LCP frame, a GTP echo: simply not IP).
type Stopped = Option<Anomaly>;

fn stop(kind: AnomalyKind, why: String) -> Stopped {
    Some(Anomaly::new(kind, why))
}

fn cut(what: &str, need: usize, data: &[u8], at: usize) -> Stopped {
    stop(
        AnomalyKind::TruncatedTunnel,
        format!(
            "{what} header needs {need} bytes, have {}",
            data.len().saturating_sub(at)
        ),
    )
}

/// One walk from a starting point to the next IP packet.
struct Walk<'a> {
    link: LinkType,
    data: &'a [u8],
    /// Encapsulations crossed in this walk, not yet committed to the packet.
    pending: Vec<Encap>,
    /// Encapsulations already on the packet (for the depth bound).
    depth: usize,
    /// The outer IP and UDP the first encapsulation of this walk rides in.
    outer: Option<(IpInfo, Option<UdpInfo>)>,
}

impl<'a> Walk<'a> {
    fn push(
        &mut self,
        kind: EncapKind,
        header: std::ops::Range<usize>,
        id: Option<u32>,
    ) -> Result<(), Stopped> {
        if self.depth + self.pending.len() >= MAX_ENCAPS {
            return Err(stop(
                AnomalyKind::TunnelTooDeep,
                format!(
                    "more than {MAX_ENCAPS} encapsulations; {} and what it carries not decoded",
                    kind.name()
                ),
            ));
        }
        let (ip, udp) = match self.outer.take() {
            Some((ip, udp)) => (Some(ip), udp),
            None => (None, None),
        };
        self.pending.push(Encap {
            kind,
            ip,
            udp,
            header,
            id,
            inner_eth: None,
        });
        Ok(())
    }

    /// Walks from `next` until an IP or ARP layer parses. Bounded: every step either
    /// pushes an encapsulation (at most [`MAX_ENCAPS`]) or ends the walk.
    fn run(&mut self, mut next: Next) -> Result<Packet<'a>, Stopped> {
        for _ in 0..(4 * MAX_ENCAPS) {
            next = match next {
                Next::Ether(et, at) => match et {
                    ET_MPLS | ET_MPLS_MC => self.mpls(at)?,
                    ET_PPPOE_SESS => self.pppoe(at)?,
                    ET_PPPOE_DISC => {
                        self.pppoe_discovery(at)?;
                        return Err(None);
                    }
                    ET_PBB => self.pbb(at)?,
                    ET_FABRICPATH => self.fabricpath(at)?,
                    ET_TEB => Next::Eth(at),
                    ET_PPP => Next::Ppp(at),
                    _ => {
                        let mut q = Packet::empty(self.link);
                        let rest = from_ether_type(&mut q, self.data, at, et);
                        match self.landed(q, rest, et, false)? {
                            Ok(q) => return Ok(q),
                            Err(n) => n,
                        }
                    }
                },
                Next::Eth(at) => {
                    let mut q = Packet::empty(self.link);
                    let rest =
                        match LaxSlicedPacket::from_ethernet(self.data.get(at..).unwrap_or(&[])) {
                            Ok(s) => absorb(&mut q, self.data, &s, None),
                            Err(_) => return Err(cut("inner Ethernet", 14, self.data, at)),
                        };
                    if let (Some(e), Some(last)) = (q.eth, self.pending.last_mut()) {
                        last.inner_eth = Some((e, q.vlans));
                    }
                    let et = q.ethertype.unwrap_or(0);
                    match self.landed(q, rest, et, true)? {
                        Ok(q) => return Ok(q),
                        Err(n) => n,
                    }
                }
                Next::Ppp(at) => self.ppp(at)?,
                Next::Pppoe(at) => self.pppoe(at)?,
                Next::Ip(at) => match u8_at(self.data, at).map(|b| b >> 4) {
                    Some(4) => Next::Ether(ET_IPV4, at),
                    Some(6) => Next::Ether(ET_IPV6, at),
                    Some(v) => {
                        return Err(stop(
                            AnomalyKind::BadIpVersion,
                            format!("packet inside {} has IP version {v}", self.last_name()),
                        ))
                    }
                    None => return Err(cut("inner IP", 1, self.data, at)),
                },
                Next::Wlan(at) => self.wlan(at)?,
                Next::Radiotap(at) => self.radiotap(at)?,
            };
        }
        Err(stop(
            AnomalyKind::TunnelTooDeep,
            "encapsulation walk did not end".to_string(),
        ))
    }

    fn last_name(&self) -> &'static str {
        self.pending.last().map_or("the tunnel", |e| e.kind.name())
    }

    /// After the slicer ran on an inner EtherType payload or Ethernet frame: the inner
    /// packet when it has an IP or ARP layer, the next step when it stopped at another
    /// encapsulation's EtherType, else why it stopped. `frame`: the bytes were a whole
    /// Ethernet frame, whose non-IP EtherTypes (LLDP, STP…) are no more an anomaly inside
    /// a tunnel than on the wire; a tunnel header naming an unknown protocol is one.
    fn landed(
        &mut self,
        q: Packet<'a>,
        rest: Option<(u16, usize)>,
        et: u16,
        frame: bool,
    ) -> Result<Result<Packet<'a>, Next>, Stopped> {
        if q.ip.is_some() || q.arp.is_some() {
            return Ok(Ok(q));
        }
        if let Some((et2, at2)) = rest.filter(|(e, _)| is_link_encap(*e)) {
            return Ok(Err(Next::Ether(et2, at2)));
        }
        if let Some(a) = q.anomalies.into_iter().next() {
            return Err(Some(a));
        }
        if frame {
            return Err(None);
        }
        let et = rest.map_or(et, |(e, _)| e);
        Err(stop(
            AnomalyKind::TunnelPayloadUnknown,
            format!(
                "EtherType 0x{et:04x} inside {} is not decoded",
                self.last_name()
            ),
        ))
    }

    /// MPLS label stack (RFC 3032 §2.1): 4-byte entries — label (20 bits), traffic class
    /// (3), bottom of stack (1), TTL (8) — down to the entry with S set. What follows the
    /// bottom has no type field; its first nibble decides, as routers and Wireshark do:
    /// 4 and 6 are IP, 0 is the pseudowire control word (RFC 4385 §3) before an Ethernet
    /// frame (RFC 4448 §3), 1 an associated channel (RFC 4385 §5, not user traffic).
    fn mpls(&mut self, mut at: usize) -> Result<Next, Stopped> {
        loop {
            let Some(e) = be32(self.data, at) else {
                return Err(cut("MPLS label stack entry", 4, self.data, at));
            };
            self.push(EncapKind::Mpls, at..at + 4, Some(e >> 12))?;
            at += 4;
            if e & 0x100 != 0 {
                break;
            }
        }
        match u8_at(self.data, at).map(|b| b >> 4) {
            Some(4 | 6) => Ok(Next::Ip(at)),
            Some(0) => {
                if bytes::<4>(self.data, at).is_none() {
                    return Err(cut("pseudowire control word", 4, self.data, at));
                }
                self.push(EncapKind::PwControlWord, at..at + 4, None)?;
                Ok(Next::Eth(at + 4))
            }
            Some(1) => Err(None),
            Some(n) => Err(stop(
                AnomalyKind::TunnelPayloadUnknown,
                format!("MPLS payload starting with nibble {n} is not decoded"),
            )),
            None => Err(cut("MPLS payload", 1, self.data, at)),
        }
    }

    /// PPPoE session stage (RFC 2516 §4): version and type (0x11), code 0, session id,
    /// length, then a PPP protocol field (no address/control bytes, RFC 2516 §7).
    fn pppoe(&mut self, at: usize) -> Result<Next, Stopped> {
        let (Some(vt), Some(sid)) = (u8_at(self.data, at), be16(self.data, at + 2)) else {
            return Err(cut("PPPoE", 6, self.data, at));
        };
        if be16(self.data, at + 4).is_none() {
            return Err(cut("PPPoE", 6, self.data, at));
        }
        if vt != 0x11 {
            return Err(stop(
                AnomalyKind::TunnelPayloadUnknown,
                format!("PPPoE version/type 0x{vt:02x} is not 0x11"),
            ));
        }
        self.push(EncapKind::Pppoe, at..at + 6, Some(u32::from(sid)))?;
        Ok(Next::Ppp(at + 6))
    }

    /// PPPoE discovery (RFC 2516 §5): the same 6-byte header, tags after; no IP inside.
    fn pppoe_discovery(&mut self, at: usize) -> Result<(), Stopped> {
        let Some(sid) = be16(self.data, at + 2).filter(|_| self.data.len() >= at + 6) else {
            return Err(cut("PPPoE discovery", 6, self.data, at));
        };
        self.push(EncapKind::Pppoe, at..at + 6, Some(u32::from(sid)))
    }

    /// PPP (RFC 1661 §2): the HDLC-like address and control bytes 0xff 0x03 (RFC 1662
    /// §3.1) may be present or compressed away (LCP's ACFC, RFC 1661 §6.6), and the
    /// protocol field is one byte when its first byte is odd (PFC, RFC 1661 §6.5).
    /// IPv4 0x0021, IPv6 0x0057, MPLS 0x0281/0x0283 continue; control protocols
    /// (LCP, IPCP, authentication…) are not IP and end the walk quietly.
    fn ppp(&mut self, at: usize) -> Result<Next, Stopped> {
        let mut p = at;
        if be16(self.data, p) == Some(0xff03) {
            p += 2;
        }
        let (proto, len) = match u8_at(self.data, p) {
            Some(b) if b & 1 == 1 => (u16::from(b), 1),
            Some(_) => match be16(self.data, p) {
                Some(v) => (v, 2),
                None => return Err(cut("PPP", p + 2 - at, self.data, at)),
            },
            None => return Err(cut("PPP", p + 1 - at, self.data, at)),
        };
        let end = p + len;
        self.push(EncapKind::Ppp, at..end, Some(u32::from(proto)))?;
        match proto {
            0x0021 => Ok(Next::Ether(ET_IPV4, end)),
            0x0057 => Ok(Next::Ether(ET_IPV6, end)),
            0x0281 | 0x0283 => Ok(Next::Ether(ET_MPLS, end)),
            // RFC 1661 §2: 0x8xxx are network control, 0xcxxx link control protocols.
            p if p >= 0x8000 => Err(None),
            p => Err(stop(
                AnomalyKind::TunnelPayloadUnknown,
                format!("PPP protocol 0x{p:04x} is not decoded"),
            )),
        }
    }

    /// 802.1ah I-TAG (IEEE 802.1Q-2018 §9.7): priority, DEI, UCA and reserved bits then a
    /// 24-bit I-SID; the customer's Ethernet frame follows.
    fn pbb(&mut self, at: usize) -> Result<Next, Stopped> {
        let Some(tci) = be32(self.data, at) else {
            return Err(cut("802.1ah I-TAG", 4, self.data, at));
        };
        self.push(EncapKind::Pbb, at..at + 4, Some(tci & 0x00ff_ffff))?;
        Ok(Next::Eth(at + 4))
    }

    /// Cisco FabricPath: a 16-byte header — outer destination and source addresses
    /// (which hold the switch ids), EtherType 0x8903, then a 2-byte FTag/TTL — before
    /// the classic Ethernet frame. Detected by the EtherType, as Zeek's Ethernet
    /// analyzer does (`Ethernet.cc`: 0x8903 at offset 12 skips 16 bytes). `at` is just
    /// after the EtherType, so the outer addresses are the 12 bytes before it.
    fn fabricpath(&mut self, at: usize) -> Result<Next, Stopped> {
        if bytes::<2>(self.data, at).is_none() {
            return Err(cut("FabricPath", 16, self.data, at.saturating_sub(14)));
        }
        // Outer DA: the 12-bit switch id is the low nibble of byte 1 and byte 2.
        let da = at.checked_sub(14).and_then(|s| bytes::<3>(self.data, s));
        let switch = da.map(|[_, b1, b2]| (u32::from(b1 & 0x0f) << 8) | u32::from(b2));
        self.push(EncapKind::FabricPath, at..at + 2, switch)?;
        Ok(Next::Eth(at + 2))
    }

    /// Radiotap (radiotap.org "Radiotap header"): version 0, a pad byte, a little-endian
    /// length covering the whole header; the 802.11 frame follows.
    fn radiotap(&mut self, at: usize) -> Result<Next, Stopped> {
        let (Some(0), Some(len)) = (
            u8_at(self.data, at),
            bytes::<2>(self.data, at + 2).map(u16::from_le_bytes),
        ) else {
            return Err(match u8_at(self.data, at) {
                Some(v) if v != 0 => stop(
                    AnomalyKind::TunnelPayloadUnknown,
                    format!("radiotap version {v} is not 0"),
                ),
                _ => cut("radiotap", 4, self.data, at),
            });
        };
        let len = usize::from(len);
        if len < 8 {
            return Err(stop(
                AnomalyKind::TruncatedLink,
                format!("radiotap length {len} is shorter than its 8-byte header"),
            ));
        }
        Ok(Next::Wlan(at + len))
    }

    /// An 802.11 data frame (IEEE 802.11-2020 §9.2.4, §9.3.2.1): frame control (type 2),
    /// duration, three addresses, sequence control, the fourth address when both ToDS and
    /// FromDS are set, QoS control for QoS subtypes (and HT control with +HTC/Order),
    /// then LLC/SNAP (IEEE 802.2, RFC 1042) naming an EtherType. Management and control
    /// frames and null data are not IP; protected (encrypted) frames cannot be read.
    fn wlan(&mut self, at: usize) -> Result<Next, Stopped> {
        let (Some(fc0), Some(fc1)) = (u8_at(self.data, at), u8_at(self.data, at + 1)) else {
            return Err(cut("802.11", 24, self.data, at));
        };
        let ftype = (fc0 >> 2) & 3;
        let subtype = fc0 >> 4;
        if ftype != 2 || subtype & 0x04 != 0 {
            // Not a data frame, or a data frame without data (Null, QoS Null).
            return Err(None);
        }
        let mut hl = 24;
        if fc1 & 0x03 == 0x03 {
            hl += 6;
        }
        let qos = subtype & 0x08 != 0;
        if qos {
            hl += 2;
            if fc1 & 0x80 != 0 {
                hl += 4;
            }
        }
        if self.data.len() < at + hl {
            return Err(cut("802.11 data frame", hl, self.data, at));
        }
        if fc1 & 0x40 != 0 {
            self.push(EncapKind::Ieee80211, at..at + hl, None)?;
            return Err(stop(
                AnomalyKind::Wlan80211Protected,
                "protected (encrypted) 802.11 data frame: its payload is not decoded".to_string(),
            ));
        }
        // QoS control bit 7: the body is an A-MSDU of subframes (§9.3.2.2.2).
        if qos
            && u8_at(self.data, at + hl - 2 - if fc1 & 0x80 != 0 { 4 } else { 0 })
                .is_some_and(|q| q & 0x80 != 0)
        {
            self.push(EncapKind::Ieee80211, at..at + hl, None)?;
            return Err(stop(
                AnomalyKind::TunnelPayloadUnknown,
                "802.11 A-MSDU aggregate is not decoded".to_string(),
            ));
        }
        let llc = at + hl;
        let Some(snap) = bytes::<8>(self.data, llc) else {
            return Err(cut("802.11 LLC/SNAP", 8, self.data, llc));
        };
        // DSAP/SSAP 0xaa, UI control 0x03, OUI 00-00-00 (RFC 1042) or 00-00-f8 (bridge
        // tunnel, 802.1H): the next two bytes are an EtherType.
        let [0xaa, 0xaa, 0x03, 0, 0, 0 | 0xf8, e0, e1] = snap else {
            self.push(EncapKind::Ieee80211, at..at + hl, None)?;
            return Err(None);
        };
        let et = u16::from_be_bytes([e0, e1]);
        self.push(EncapKind::Ieee80211, at..llc + 8, None)?;
        Ok(Next::Ether(et, llc + 8))
    }

    /// GRE (RFC 2784 §2.1, keys and sequence numbers RFC 2890 §2, routing RFC 1701 §2.1,
    /// PPTP's enhanced GRE version 1 RFC 2637 §4.1).
    fn gre(&mut self, at: usize) -> Result<Next, Stopped> {
        let (Some(flags), Some(proto)) = (be16(self.data, at), be16(self.data, at + 2)) else {
            return Err(cut("GRE", 4, self.data, at));
        };
        let version = flags & 0x7;
        let (c, r, k, s) = (
            flags & 0x8000 != 0,
            flags & 0x4000 != 0,
            flags & 0x2000 != 0,
            flags & 0x1000 != 0,
        );
        let a = version == 1 && flags & 0x0080 != 0;
        if version > 1 {
            return Err(stop(
                AnomalyKind::TunnelPayloadUnknown,
                format!("GRE version {version} is not decoded"),
            ));
        }
        let mut end = at + 4;
        if c || r {
            end += 4;
        }
        let mut key = None;
        let mut payload_len = None;
        if k {
            if version == 1 {
                // RFC 2637 §4.1: payload length (2) and call id (2) in the key's place.
                payload_len = be16(self.data, end);
                key = be16(self.data, end + 2).map(u32::from);
            } else {
                key = be32(self.data, end);
            }
            end += 4;
        }
        if s {
            end += 4;
        }
        if a {
            end += 4;
        }
        if r {
            // RFC 1701 §2.1: source route entries (address family 2, offset 1,
            // length 1, then `length` bytes) until one of length 0.
            for _ in 0..16 {
                let Some(len) = u8_at(self.data, end + 3) else {
                    return Err(cut("GRE routing", end + 4 - at, self.data, at));
                };
                end += 4 + usize::from(len);
                if len == 0 {
                    break;
                }
            }
        }
        if self.data.len() < end {
            return Err(cut("GRE", end - at, self.data, at));
        }
        // Cisco MetaData (Cisco TrustSec inline tagging, as Wireshark's packet-cmd.c
        // reads it after GRE): the carried EtherType, version, length, option type and
        // the 16-bit security group tag; kept as part of the GRE header.
        let mut proto = proto;
        if version == 0 && proto == ET_CISCO_METADATA {
            let Some(inner) = be16(self.data, end).filter(|_| self.data.len() >= end + 8) else {
                return Err(cut("GRE Cisco MetaData", end + 8 - at, self.data, at));
            };
            proto = inner;
            end += 8;
        }
        let kind = if version == 1 {
            EncapKind::Pptp
        } else {
            EncapKind::Gre
        };
        self.push(kind, at..end, key)?;
        if self.data.len() == end {
            // Nothing inside: a GRE keepalive's reply or a PPTP acknowledgment.
            return Err(None);
        }
        if version == 1 {
            if proto != ET_PPP {
                return Err(stop(
                    AnomalyKind::TunnelPayloadUnknown,
                    format!("enhanced GRE (PPTP) protocol 0x{proto:04x} is not PPP"),
                ));
            }
            if payload_len == Some(0) {
                // An acknowledgment without a payload (RFC 2637 §4.1).
                return Err(None);
            }
            return Ok(Next::Ppp(end));
        }
        match proto {
            ET_ERSPAN_2 if !s => {
                // ERSPAN type I: no sequence number and no ERSPAN header.
                self.push(EncapKind::Erspan(1), end..end, None)?;
                Ok(Next::Eth(end))
            }
            ET_ERSPAN_2 => self.erspan2(end),
            ET_ERSPAN_3 => self.erspan3(end),
            ET_IPV4 | ET_IPV6 => Ok(Next::Ip(end)),
            p => Ok(Next::Ether(p, end)),
        }
    }

    /// ERSPAN type II (draft-foschiano-erspan-03 §4.1): version 1 (4 bits), VLAN (12),
    /// COS (3), encapsulation type (2), truncated (1), session id (10), reserved (12),
    /// index (20); the mirrored Ethernet frame follows.
    fn erspan2(&mut self, at: usize) -> Result<Next, Stopped> {
        let Some(w) = be32(self.data, at).filter(|_| self.data.len() >= at + 8) else {
            return Err(cut("ERSPAN type II", 8, self.data, at));
        };
        self.push(EncapKind::Erspan(2), at..at + 8, Some(w & 0x3ff))?;
        Ok(Next::Eth(at + 8))
    }

    /// ERSPAN type III (draft-foschiano-erspan-03 §4.2): version 2, VLAN, COS, BSO, T,
    /// session id (10 bits), timestamp (32), SGT (16), P, frame type (5), hardware id
    /// (6), D, granularity (2), O; with O set an 8-byte platform-specific subheader
    /// follows. Frame type 0 is Ethernet; 2 is an IP packet.
    fn erspan3(&mut self, at: usize) -> Result<Next, Stopped> {
        let (Some(w), Some(low)) = (be32(self.data, at), be16(self.data, at + 10)) else {
            return Err(cut("ERSPAN type III", 12, self.data, at));
        };
        let ft = (low >> 10) & 0x1f;
        let end = at + 12 + if low & 1 != 0 { 8 } else { 0 };
        if self.data.len() < end {
            return Err(cut("ERSPAN type III", end - at, self.data, at));
        }
        self.push(EncapKind::Erspan(3), at..end, Some(w & 0x3ff))?;
        match ft {
            0 => Ok(Next::Eth(end)),
            2 => Ok(Next::Ip(end)),
            f => Err(stop(
                AnomalyKind::TunnelPayloadUnknown,
                format!("ERSPAN type III frame type {f} is not decoded"),
            )),
        }
    }

    /// VXLAN (RFC 7348 §5): flags (I = 0x08 means the VNI is valid), 24 reserved bits,
    /// the 24-bit VNI, 8 reserved bits; an Ethernet frame follows.
    fn vxlan(&mut self, at: usize) -> Result<Next, Stopped> {
        let (Some(flags), Some(w)) = (u8_at(self.data, at), be32(self.data, at + 4)) else {
            return Err(cut("VXLAN", 8, self.data, at));
        };
        if flags & 0x08 == 0 {
            return Err(stop(
                AnomalyKind::TunnelPayloadUnknown,
                format!("VXLAN flags 0x{flags:02x} lack the I flag (RFC 7348 §5)"),
            ));
        }
        self.push(EncapKind::Vxlan, at..at + 8, Some(w >> 8))?;
        Ok(Next::Eth(at + 8))
    }

    /// Geneve (RFC 8926 §3.4): version (2 bits, 0), options length (6, in 4-byte words),
    /// O, C, reserved, protocol type (an EtherType; 0x6558 is Ethernet), VNI (24),
    /// reserved (8); the options are skipped by their length.
    fn geneve(&mut self, at: usize) -> Result<Next, Stopped> {
        let (Some(b0), Some(proto), Some(w)) = (
            u8_at(self.data, at),
            be16(self.data, at + 2),
            be32(self.data, at + 4),
        ) else {
            return Err(cut("Geneve", 8, self.data, at));
        };
        if b0 >> 6 != 0 {
            return Err(stop(
                AnomalyKind::TunnelPayloadUnknown,
                format!("Geneve version {} is not 0", b0 >> 6),
            ));
        }
        let end = at + 8 + usize::from(b0 & 0x3f) * 4;
        if self.data.len() < end {
            return Err(cut("Geneve (with options)", end - at, self.data, at));
        }
        self.push(EncapKind::Geneve, at..end, Some(w >> 8))?;
        Ok(match proto {
            ET_TEB => Next::Eth(end),
            p => Next::Ether(p, end),
        })
    }

    /// GTP-U (3GPP TS 29.281 §5.1): flags (version 1, PT 1, E, S, PN), message type,
    /// length, TEID; with any of E, S, PN a sequence number, N-PDU number and next
    /// extension header type follow; extension headers (§5.2) are chained by that type,
    /// each with a length in 4-byte units. Only G-PDUs (type 255) carry user packets.
    /// `Ok(None)`: not a G-PDU (signalling such as echo), nothing to open.
    fn gtpu(&mut self, at: usize) -> Result<Option<Next>, Stopped> {
        let (Some(flags), Some(mtype), Some(teid)) = (
            u8_at(self.data, at),
            u8_at(self.data, at + 1),
            be32(self.data, at + 4),
        ) else {
            return Err(cut("GTP-U", 8, self.data, at));
        };
        if flags >> 5 != 1 || flags & 0x10 == 0 {
            // GTP' or GTPv2 on the port: not GTP-U.
            return Ok(None);
        }
        if mtype != 255 {
            return Ok(None);
        }
        let mut end = at + 8;
        if flags & 0x07 != 0 {
            let Some(mut next_type) = u8_at(self.data, end + 3) else {
                return Err(cut("GTP-U", 12, self.data, at));
            };
            end += 4;
            let mut n = 0;
            while next_type != 0 && flags & 0x04 != 0 {
                n += 1;
                let Some(len) = u8_at(self.data, end).map(|l| usize::from(l) * 4) else {
                    return Err(cut("GTP-U extension", 4, self.data, end));
                };
                if len == 0 || n > 16 {
                    return Err(stop(
                        AnomalyKind::TruncatedTunnel,
                        "GTP-U extension header of length 0 (or too many)".to_string(),
                    ));
                }
                let Some(t) = u8_at(self.data, end + len - 1) else {
                    return Err(cut("GTP-U extension", len, self.data, end));
                };
                next_type = t;
                end += len;
            }
        }
        self.push(EncapKind::GtpU, at..end, Some(teid))?;
        Ok(Some(Next::Ip(end)))
    }

    /// Teredo (RFC 4380 §5.1.1): an optional authentication indicator (0x0001, id
    /// length, auth length, id, auth value, 8-byte nonce, confirmation byte) then an
    /// optional origin indicator (0x0000, port, address: 8 bytes) before the IPv6
    /// packet. `Ok(None)` unless an IPv6 header whose payload length fills the rest of
    /// the datagram follows: other traffic on the port is not Teredo.
    fn teredo(&mut self, at: usize, udp_len: u16) -> Result<Option<Next>, Stopped> {
        let dgram_end = at + usize::from(udp_len).saturating_sub(8);
        let mut p = at;
        if be16(self.data, p) == Some(0x0001) {
            let (Some(id), Some(au)) = (u8_at(self.data, p + 2), u8_at(self.data, p + 3)) else {
                return Ok(None);
            };
            p += 4 + usize::from(id) + usize::from(au) + 9;
        }
        if be16(self.data, p) == Some(0x0000) {
            p += 8;
        }
        let ok = u8_at(self.data, p).is_some_and(|b| b >> 4 == 6)
            && be16(self.data, p + 4).is_some_and(|plen| p + 40 + usize::from(plen) == dgram_end);
        if !ok {
            return Ok(None);
        }
        self.push(EncapKind::Teredo, at..p, None)?;
        Ok(Some(Next::Ip(p)))
    }
}

/// The encapsulation the packet's (innermost so far) IP or UDP layer opens, if any.
/// `Ok(None)`: nothing to open.
fn ip_level<'a>(w: &mut Walk<'a>, p: &Packet<'a>) -> Result<Option<Next>, Stopped> {
    let Some(ip) = &p.ip else { return Ok(None) };
    if ip.is_fragment() {
        return Ok(None);
    }
    let at = p.payload_offset;
    match p.transport {
        Transport::Other(4) | Transport::Other(41) => {
            let want = if matches!(p.transport, Transport::Other(4)) {
                4
            } else {
                6
            };
            w.outer = Some((ip.clone(), None));
            w.push(EncapKind::IpInIp, at..at, None)?;
            match u8_at(w.data, at).map(|b| b >> 4) {
                Some(v) if v == want => Ok(Some(Next::Ip(at))),
                Some(v) => Err(stop(
                    AnomalyKind::BadIpVersion,
                    format!(
                        "IP protocol {} carries an IP version {v} packet",
                        if want == 4 { 4 } else { 41 }
                    ),
                )),
                None => Err(cut("inner IP", 20, w.data, at)),
            }
        }
        Transport::Other(47) => {
            w.outer = Some((ip.clone(), None));
            w.gre(at).map(Some)
        }
        Transport::Udp(u) => {
            let here = |port: u16| u.dport == port || u.sport == port;
            if !matches!(u.dport, PORT_VXLAN | PORT_GENEVE | PORT_VXLAN_LINUX)
                && !here(PORT_GTPU)
                && !here(PORT_TEREDO)
            {
                return Ok(None);
            }
            w.outer = Some((ip.clone(), Some(u)));
            if u.dport == PORT_VXLAN {
                w.vxlan(at).map(Some)
            } else if u.dport == PORT_GENEVE {
                w.geneve(at).map(Some)
            } else if here(PORT_GTPU) {
                w.gtpu(at)
            } else if here(PORT_TEREDO) {
                w.teredo(at, u.length)
            } else if u.dport == PORT_VXLAN_LINUX && linux_vxlan(w.data, at) {
                w.vxlan(at).map(Some)
            } else {
                Ok(None)
            }
        }
        _ => Ok(None),
    }
}

/// Port 8472 (Linux's VXLAN default before IANA's 4789) is opened only when the header
/// is exactly what RFC 7348 §5 says a VXLAN header is — flags 0x08 and every reserved
/// byte zero — and an Ethernet frame with IPv4, IPv6 or ARP follows; otherwise the
/// datagram stays plain UDP (8472 is also an ordinary ephemeral port).
fn linux_vxlan(data: &[u8], at: usize) -> bool {
    bytes::<8>(data, at).is_some_and(|h| matches!(h, [0x08, 0, 0, 0, _, _, _, 0]))
        && be16(data, at + 8 + 12).is_some_and(|et| matches!(et, ET_IPV4 | ET_IPV6 | ET_ARP))
}

/// Opens every encapsulation around the packet: `first` is where the link layer left
/// undecoded bytes (an MPLS or PPPoE EtherType's payload, a PPP or 802.11 link type),
/// then each IP-level tunnel the innermost packet opens, until none is left, a step
/// fails, or [`MAX_ENCAPS`] is reached.
pub(super) fn open<'a>(p: &mut Packet<'a>, data: &'a [u8], first: Option<Next>) {
    let mut first = first;
    for _ in 0..=MAX_ENCAPS {
        let mut w = Walk {
            link: p.link,
            data,
            pending: Vec::new(),
            depth: p.tunnels.len(),
            outer: None,
        };
        let next = match first.take() {
            Some(n) => Ok(Some(n)),
            None => ip_level(&mut w, p),
        };
        let res = match next {
            Ok(None) => return,
            Ok(Some(n)) => w.run(n),
            Err(e) => Err(e),
        };
        match res {
            Ok(q) => {
                p.tunnels.append(&mut w.pending);
                p.arp = q.arp;
                p.ip = q.ip;
                p.transport = q.transport;
                p.transport_header = q.transport_header;
                p.payload = q.payload;
                p.payload_offset = q.payload_offset;
                p.anomalies.extend(q.anomalies);
            }
            Err(why) => {
                // Link-level layers (nothing IP decoded yet) are kept: they are all the
                // frame shows. Over an IP packet, the packet stays the outer one.
                if p.ip.is_none() && p.arp.is_none() {
                    p.tunnels.append(&mut w.pending);
                }
                if let Some(a) = why {
                    p.anomalies.push(a);
                }
                return;
            }
        }
    }
}
