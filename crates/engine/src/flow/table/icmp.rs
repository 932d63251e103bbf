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
        );
        let Some(slot) = self.quoted_slot(&key, side, pkt) else {
            return PacketVerdict::none();
        };
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
            .or_else(|| self.map.get(key)?.last().copied())
    }
}
