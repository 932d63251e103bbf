//! Closed TCP connections that only linger for late packets, held packed.
//!
//! A closed connection (FIN both ways, or a RST) stays in the table for
//! `tcp_closed_linger_ns` (2 s, like TIME_WAIT) so that a late ACK or a retransmitted
//! FIN still joins it. At 38,000 short connections a second that is some 76,000
//! connections, most of the table, each ~1.2 KB whole (its summary and both directions'
//! reassembly, sequence analysis and Zeek state), for packets that rarely come.
//!
//! So once a closed connection has been quiet for [`PACK_AFTER_NS`] it is packed: its
//! summary by `flow::pack` and its TCP state by `TcpLive::pack`, both lossless (about
//! 100 + 100 bytes), beside a ~130-byte box of the few fields the table reads without
//! the packet path (the VLAN contexts `find` compares, and the id, client, start and
//! last packet's time that expiry and `Pending` read): some 350 bytes in all, a third
//! or less of the whole entry (heaptrack on manyflows: ~59 MB of whole TCP entries at
//! the peak before, 14 MB of packed ones after). A late packet, an eviction or the connection's finish
//! unpacks it first and goes on exactly as if it had never been packed: the same
//! records, verdicts and order (the tests pack every closed connection at once and
//! compare everything). A connection with something that does not pack (buffered
//! segments, a tunnel, anomalies, ICMP errors) stays whole.

use std::net::IpAddr;

use super::segment::TcpLive;
use super::{Entry, Key, VlanCtx};
use crate::base::{ConnId, PacketId, Timestamp};
use crate::flow::pack::{pack_conn, pack_exact, unpack_conn, Dec};
use crate::flow::Connection;

/// Capture time a closed connection stays whole after its last packet before it is
/// packed: the last ACK of a close comes within a round trip, a retransmitted FIN
/// after a retransmission timeout (200 ms at least, RFC 6298 §2.4 says 1 s).
pub(super) const PACK_AFTER_NS: i64 = 200_000_000;

/// A packed closed connection (see the module docs).
pub(super) struct Lingering {
    pub(super) key: Key,
    pub(super) vlan_side: [Option<VlanCtx>; 2],
    pub(super) id: ConnId,
    pub(super) client: IpAddr,
    pub(super) first_ts: Timestamp,
    pub(super) last_ts: Timestamp,
    /// The connection, its TCP state and its last packet's id.
    bytes: Box<[u8]>,
}

impl Lingering {
    /// Packs a closed TCP entry; gives it back when something in it does not pack.
    pub(super) fn pack(e: Box<Entry>) -> Result<Box<Lingering>, Box<Entry>> {
        let Some(t) = e.tcp.as_ref().filter(|_| e.closed && e.aliases.is_empty()) else {
            return Err(e);
        };
        let bytes = pack_exact(|enc| {
            pack_conn(&e.conn, enc)?;
            enc.base = e.conn.first_ts.0;
            t.pack(enc)?;
            enc.u64(u64::from(e.last_pkt.0));
            Some(())
        });
        let Some(bytes) = bytes else {
            return Err(e);
        };
        Ok(Box::new(Lingering {
            key: e.key,
            vlan_side: e.vlan_side,
            id: e.conn.id,
            client: e.conn.client.ip,
            first_ts: e.conn.first_ts,
            last_ts: e.conn.last_ts,
            bytes,
        }))
    }

    /// The connection, its TCP state and its last packet's id, as they were packed.
    pub(super) fn open(&self) -> (Connection, TcpLive, PacketId) {
        let mut d = Dec::new(&self.bytes);
        let conn = unpack_conn(&mut d);
        d.base = conn.first_ts.0;
        let tcp = TcpLive::unpack(&mut d);
        (conn, tcp, PacketId(d.u32()))
    }

    /// The entry as it was packed.
    pub(super) fn unpack(&self) -> Box<Entry> {
        let (conn, tcp, last_pkt) = self.open();
        Box::new(Entry {
            conn,
            tcp: Some(Box::new(tcp)),
            key: self.key,
            vlan_side: self.vlan_side,
            closed: true,
            last_pkt,
            aliases: Vec::new(),
        })
    }

    /// The connection's summary alone (for live displays).
    pub(super) fn conn(&self) -> Connection {
        unpack_conn(&mut Dec::new(&self.bytes))
    }
}
