//! The flow table's view of a decoded packet: the one conversion from
//! [`decode::Packet`] to [`FlowPacket`], used by the engine, the follow reader and the
//! tests alike.

use super::{FlowPacket, IcmpQuote, L4};
use crate::base::{PacketId, Timestamp};
use crate::decode::{Packet, Transport};

impl<'a> FlowPacket<'a> {
    /// `None` when the packet has no IP layer, or is a fragment (its datagram, once
    /// reassembled by [`crate::decode::decode_defragmented`], is what the table sees).
    pub fn from_decoded(
        id: PacketId,
        ts: Timestamp,
        pkt: &'a Packet<'a>,
    ) -> Option<FlowPacket<'a>> {
        let ip = pkt.ip.as_ref()?;
        if ip.is_fragment() {
            return None;
        }
        let ids = pkt.vlans.ids();
        let mut vlans = [0u16; 2];
        for (slot, v) in vlans.iter_mut().zip(ids) {
            *slot = *v;
        }
        let l4 = match pkt.transport {
            Transport::Tcp(t) => L4::Tcp {
                sport: t.sport,
                dport: t.dport,
                seq: t.seq,
                ack: t.ack,
                flags: t.flags,
                window: t.window,
                wscale: t.options.wscale,
                mss: t.options.mss,
                sack_permitted: t.options.sack_permitted,
                ts: t.options.ts,
                payload_len: t.payload_len,
                payload: pkt.payload,
            },
            Transport::Udp(u) => L4::Udp {
                sport: u.sport,
                dport: u.dport,
                payload: pkt.payload,
            },
            Transport::Icmp(i) | Transport::Icmpv6(i) => L4::Icmp {
                v6: matches!(pkt.transport, Transport::Icmpv6(_)),
                kind: i.kind,
                code: i.code,
                echo: i.echo,
                quote: i.quoted.and_then(|q| {
                    let (sport, dport) = match (q.protocol, q.sport, q.dport, q.echo_id) {
                        (6 | 17, Some(s), Some(d), _) => (s, d),
                        (1 | 58, _, _, Some(id)) => (id, id),
                        _ => return None,
                    };
                    Some(IcmpQuote {
                        src: q.src,
                        dst: q.dst,
                        proto: q.protocol,
                        sport,
                        dport,
                        ttl: q.ttl,
                        mtu: i.mtu,
                    })
                }),
            },
            Transport::Other(p) => L4::Other { proto: p },
            Transport::None => L4::Other { proto: ip.protocol },
        };
        Some(FlowPacket {
            id,
            ts,
            src: ip.src,
            dst: ip.dst,
            vlans,
            vlan_count: ids.len().min(2) as u8,
            tunnel: pkt.tunnel_key(),
            tunnels: &pkt.tunnels,
            l4,
        })
    }
}
