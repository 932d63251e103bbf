//! ICMP and ICMPv6 errors tied to the connection whose packet they quote.
//!
//! An error message (destination unreachable, time exceeded, parameter problem;
//! ICMPv6 types 1–4, packet too big included) carries the head of the packet that
//! caused it (RFC 792; RFC 1812 §4.3.2.3; RFC 4443 §2.4 (c)). That quoted packet was
//! sent *by* the endpoint the error is sent *to*, so the connection is looked up by the
//! quoted 5-tuple and the error must be addressed to the quoted source. The reporter may
//! be the peer (port unreachable) or any router on the path (TTL exceeded from a hop,
//! fragmentation needed), so its address is only recorded, never matched.
//!
//! The error is recorded on the connection (`Connection::icmp_errors`, bounded) and
//! its packet's verdict names the connection, so filters, the index and the views show
//! it with the connection, but it is **not** counted in the connection's packets,
//! bytes, history or lifetime: it is not one of the endpoints' own packets, and Zeek's
//! conn.log and tshark's conversations do not count it either (Zeek logs it as a
//! connection of its own, keyed by the ICMP addresses, with the quoted context only in
//! `icmp_unreachable`/`icmp_time_exceeded` events). An error quoting a packet of no
//! live connection (its flow was not captured, or already finished) stays a packet of
//! no connection, as before.

use super::{make_key, vlan_ctx, ConnTable, Key};
use crate::base::Endpoint;
use crate::flow::conn::{is_icmp_error, IcmpError};
use crate::flow::{FlowPacket, IcmpQuote, PacketVerdict, StreamSink};

impl ConnTable {
    /// Attaches an ICMP error to the connection its quoted packet belongs to; the
    /// verdict names that connection (direction: towards the quoted packet's sender),
    /// or no connection when there is none.
    pub(super) fn icmp_error(
        &mut self,
        pkt: &FlowPacket,
        v6: bool,
        kind: u8,
        code: u8,
        q: &IcmpQuote,
        sink: &mut impl StreamSink,
    ) -> PacketVerdict {
        if !is_icmp_error(v6, kind) || pkt.dst != q.src {
            return PacketVerdict::none();
        }
        let (key, side) = make_key(
            q.proto,
            Endpoint::new(q.src, q.sport),
            Endpoint::new(q.dst, q.dport),
            // An error about a tunnelled packet comes back through the same tunnel.
            pkt.tunnel,
        );
        let Some(slot) = self.quoted_slot(&key, side, pkt) else {
            return PacketVerdict::none();
        };
        self.unpack_slot(slot);
        if self.slab[slot as usize]
            .as_ref()
            .is_some_and(|e| self.expired(e, pkt.ts))
        {
            self.finish_slot(slot, sink);
            return PacketVerdict::none();
        }
        let Some(e) = self.slab.get_mut(slot as usize).and_then(|e| e.as_mut()) else {
            return PacketVerdict::none();
        };
        let c = &mut e.conn;
        let about = c.dir_of(Endpoint::new(q.src, q.sport));
        c.add_icmp_error(IcmpError {
            ts: pkt.ts,
            pkt: pkt.id,
            from: pkt.src,
            v6,
            kind,
            code,
            mtu: q.mtu,
            quoted_ttl: q.ttl,
            about,
        });
        PacketVerdict {
            conn: Some(c.id),
            dir: about.reverse(),
            ..PacketVerdict::none()
        }
    }

    /// The connection the quoted packet travelled on: the one whose quoted direction
    /// matches the error's VLAN context (the error usually comes back the way the
    /// reply would), else the newest on the tuple.
    fn quoted_slot(&self, key: &Key, side: usize, pkt: &FlowPacket) -> Option<u32> {
        self.find(key, 1 - side, vlan_ctx(pkt))
            .or_else(|| self.map.get(key)?.as_slice().last().copied())
    }
}

#[cfg(test)]
mod tests {
    use etherparse::icmpv4::{DestUnreachableHeader, TimeExceededCode};
    use etherparse::{Icmpv4Type, Icmpv6Type, PacketBuilder};

    use crate::base::Direction;
    use crate::flow::tests::{run_at, CLI, SRV};
    use crate::flow::{ConnProto, FlowConfig};

    const ROUTER: [u8; 4] = [10, 0, 0, 9];

    fn udp(src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16, ttl: u8, data: &[u8]) -> Vec<u8> {
        let mut o = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4(src, dst, ttl)
            .udp(sp, dp)
            .write(&mut o, data)
            .unwrap();
        o
    }

    /// An ICMP error from `from` to `to` quoting `orig` (an Ethernet frame): its IP
    /// header and the first 8 bytes after it (RFC 792).
    fn icmp(from: [u8; 4], to: [u8; 4], t: Icmpv4Type, orig: &[u8]) -> Vec<u8> {
        let quoted = &orig[14..(14 + 20 + 8).min(orig.len())];
        let mut o = Vec::new();
        PacketBuilder::ethernet2([4; 6], [2; 6])
            .ipv4(from, to, 64)
            .icmpv4(t)
            .write(&mut o, quoted)
            .unwrap();
        o
    }

    const PORT: Icmpv4Type = Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::Port);
    const TTL: Icmpv4Type = Icmpv4Type::TimeExceeded(TimeExceededCode::TtlExceededInTransit);

    #[test]
    fn port_unreachable_from_the_peer_refuses_the_flow_without_counting() {
        let q = udp(CLI, SRV, 40000, 53, 64, b"query");
        let (v, rec) = run_at(
            FlowConfig::default(),
            &[(0, q.clone()), (1, icmp(SRV, CLI, PORT, &q))],
        );
        assert_eq!(v[1].conn, v[0].conn, "the error names the flow it quotes");
        assert_eq!(v[1].dir, Direction::ServerToClient);
        assert!(!v[1].new_conn);
        assert_eq!(rec.done.len(), 1, "no connection of its own");
        let k = rec.conn(0);
        assert_eq!(k.proto, ConnProto::Udp);
        assert_eq!(k.packets, [1, 0], "not counted as the server's packet");
        assert_eq!(k.bytes, [5, 0]);
        assert_eq!(k.history(), "D");
        assert_eq!(k.state(), "S0");
        assert_eq!(k.last_ts, k.first_ts, "nor in the lifetime");
        assert_eq!(k.icmp_error_count(), 1);
        let e = k.icmp_errors()[0];
        assert_eq!((e.kind, e.code, e.name()), (3, 3, "port unreachable"));
        assert_eq!(e.from, std::net::IpAddr::from(SRV));
        assert_eq!(e.about, Direction::ClientToServer);
        assert_eq!(e.quoted_ttl, 64);
        assert_eq!(
            k.icmp_outcome().as_deref(),
            Some("refused (ICMP port unreachable)")
        );
    }

    #[test]
    fn ttl_exceeded_from_a_router_is_recorded_but_is_no_outcome() {
        let q = udp(CLI, SRV, 40000, 33434, 1, b"probe");
        let (v, rec) = run_at(
            FlowConfig::default(),
            &[(0, q.clone()), (1, icmp(ROUTER, CLI, TTL, &q))],
        );
        assert_eq!(v[1].conn, v[0].conn);
        let k = rec.conn(0);
        let e = k.icmp_errors()[0];
        assert!(e.is_ttl_exceeded());
        assert_eq!(e.name(), "TTL exceeded");
        assert_eq!(e.from, std::net::IpAddr::from(ROUTER));
        assert_eq!(e.quoted_ttl, 1);
        assert_eq!(k.icmp_outcome(), None);
        // A host unreachable from the router is an outcome, naming the router.
        let host = Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::Host);
        let (_, rec) = run_at(
            FlowConfig::default(),
            &[(0, q.clone()), (1, icmp(ROUTER, CLI, host, &q))],
        );
        assert_eq!(
            rec.conn(0).icmp_outcome().as_deref(),
            Some("unreachable (ICMP host unreachable from 10.0.0.9)")
        );
        // A port unreachable after the peer answered is no refusal.
        let a = udp(SRV, CLI, 33434, 40000, 64, b"answer");
        let (_, rec) = run_at(
            FlowConfig::default(),
            &[(0, q.clone()), (1, a), (2, icmp(SRV, CLI, PORT, &q))],
        );
        assert_eq!(rec.conn(0).icmp_error_count(), 1);
        assert_eq!(rec.conn(0).icmp_outcome(), None);
    }

    #[test]
    fn errors_not_about_a_live_connection_stay_loose() {
        let q = udp(CLI, SRV, 40000, 53, 64, b"query");
        let other = udp(CLI, SRV, 40001, 53, 64, b"query");
        let (v, rec) = run_at(
            FlowConfig::default(),
            &[
                (0, q.clone()),
                // Quotes a flow never seen.
                (1, icmp(SRV, CLI, PORT, &other)),
                // Sent to someone other than the quoted sender.
                (2, icmp(SRV, ROUTER, PORT, &q)),
                // After the flow expired (60 s idle).
                (70_000, icmp(SRV, CLI, PORT, &q)),
            ],
        );
        assert!(v[1..].iter().all(|v| v.conn.is_none()), "{v:?}");
        assert_eq!(rec.done.len(), 1);
        assert_eq!(rec.conn(0).icmp_error_count(), 0);
    }

    #[test]
    fn fragmentation_needed_on_tcp_keeps_its_mtu_and_the_history() {
        use crate::flow::tests::{c, s};
        let syn = c(100, 0, "S", b"").bytes();
        let frag = Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::FragmentationNeeded {
            next_hop_mtu: 1400,
        });
        let data = c(101, 501, "PA", b"GET / HTTP/1.1\r\n\r\n").bytes();
        let (v, rec) = run_at(
            FlowConfig::default(),
            &[
                (0, syn),
                (1, s(500, 101, "SA", b"").bytes()),
                (2, c(101, 501, "A", b"").bytes()),
                (3, data.clone()),
                (4, icmp(ROUTER, CLI, frag, &data)),
            ],
        );
        assert_eq!(v[4].conn, v[0].conn);
        let k = rec.conn(0);
        assert_eq!(k.history(), "ShAD");
        assert_eq!(k.packets, [3, 1]);
        let e = k.icmp_errors()[0];
        assert_eq!((e.name(), e.mtu), ("fragmentation needed", Some(1400)));
        assert_eq!(k.icmp_outcome(), None, "the server answered");
    }

    #[test]
    fn the_list_is_bounded_and_the_count_is_not() {
        let q = udp(CLI, SRV, 40000, 9, 64, b"x");
        let mut pkts = vec![(0, q.clone())];
        pkts.extend((1..=20).map(|i| (i, icmp(SRV, CLI, PORT, &q))));
        let (v, rec) = run_at(FlowConfig::default(), &pkts);
        assert!(v.iter().all(|v| v.conn == Some(crate::base::ConnId(0))));
        let k = rec.conn(0);
        assert_eq!(k.icmp_errors().len(), crate::flow::MAX_ICMP_ERRORS);
        assert_eq!(k.icmp_error_count(), 20);
    }

    #[test]
    fn a_quoted_echo_request_finds_its_echo_exchange() {
        // traceroute -I: an echo request with TTL 1, answered by TTL exceeded.
        let mut req = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4(CLI, SRV, 1)
            .icmpv4_echo_request(0x7ea0, 1)
            .write(&mut req, &[0; 32])
            .unwrap();
        let (v, rec) = run_at(
            FlowConfig::default(),
            &[(0, req.clone()), (1, icmp(ROUTER, CLI, TTL, &req))],
        );
        assert_eq!(v[1].conn, v[0].conn);
        let k = rec.conn(0);
        assert_eq!(k.proto, ConnProto::Icmp);
        assert_eq!(k.packets, [1, 0]);
        assert!(k.icmp_errors()[0].is_ttl_exceeded());
    }

    #[test]
    fn icmpv6_packet_too_big_carries_its_mtu() {
        let (a, b) = ([0xfe80, 0, 0, 0, 0, 0, 0, 1], [0xfe80, 0, 0, 0, 0, 0, 0, 2]);
        let v6 = |x: [u16; 8]| std::net::Ipv6Addr::from(x).octets();
        let mut q = Vec::new();
        PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv6(v6(a), v6(b), 64)
            .udp(40000, 443)
            .write(&mut q, &[1; 1300])
            .unwrap();
        let mut e = Vec::new();
        PacketBuilder::ethernet2([4; 6], [2; 6])
            .ipv6(v6(b), v6(a), 64)
            .icmpv6(Icmpv6Type::PacketTooBig { mtu: 1280 })
            .write(&mut e, &q[14..14 + 1232])
            .unwrap();
        let (v, rec) = run_at(FlowConfig::default(), &[(0, q), (1, e)]);
        assert_eq!(v[1].conn, v[0].conn);
        let k = rec.conn(0);
        let e = k.icmp_errors()[0];
        assert!(e.v6);
        assert_eq!((e.name(), e.mtu), ("packet too big", Some(1280)));
        assert_eq!(k.icmp_outcome(), None);
    }
}
