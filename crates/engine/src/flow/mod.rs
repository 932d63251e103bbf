//! Connections: the connection table, TCP reassembly, TCP analysis (Wireshark's rules)
//! and lifecycle (Zeek's `conn_state` and `history`, phase timestamps).
//!
//! `flow` takes its own small input type, [`FlowPacket`], so the table's code does not
//! depend on how `decode` represents a packet; [`FlowPacket::from_decoded`]
//! (`decoded.rs`) is the one conversion. Per packet, the
//! caller gets a [`PacketVerdict`] (connection, direction, TCP analysis flags, relative
//! seq/ack); reassembled bytes, gaps, direction ends and finished connections go to a
//! [`StreamSink`]. Memory follows the live connections, not the capture: a finished
//! connection is handed out through [`StreamSink::conn_done`] and its buffers dropped.
//!
//! Where the rules live:
//! - keying, VLAN and tunnel contexts, creation, timeouts: `table/mod.rs` (module docs);
//! - one TCP segment (port reuse, orientation, states, phases): `table/segment.rs`;
//! - reassembly policy (first copy wins, gaps as lengths, limits): `reassembly.rs`;
//! - Wireshark's sequence analysis, in its check order: `tcp_analysis.rs`;
//! - Zeek's `history` letters and `conn_state`: `history.rs`;
//! - Community ID v1: `community_id.rs`.
//!
//! UDP datagrams and ICMP echo exchanges are connections too; each UDP payload is
//! handed to [`StreamSink::data`] as one call (no reassembly).

pub mod community_id;
mod conn;
mod decoded;
mod hash;
mod history;
pub(crate) mod pack;
mod reassembly;
mod seq;
mod table;
mod tcp_analysis;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod zeek_tests;

use std::net::IpAddr;

use crate::base::{ConnId, Direction, PacketId, Timestamp};
use crate::decode::Encap;

pub use conn::{
    Close, CloseHow, ConnProto, Connection, Handshake, IcmpError, IcmpInfo, Phases, TunnelHop,
    MAX_ICMP_ERRORS,
};
pub use hash::FxHashMap;
pub use table::{ConnTable, TableCensus, TableStats};
pub use tcp_analysis::{TcpAnalysisFlags, TcpFlagsAnalysis};

/// TCP header flag bits as they appear in [`L4::Tcp`]`::flags`.
pub mod tcp_flags {
    pub const FIN: u16 = 0x01;
    pub const SYN: u16 = 0x02;
    pub const RST: u16 = 0x04;
    pub const PSH: u16 = 0x08;
    pub const ACK: u16 = 0x10;
    pub const URG: u16 = 0x20;
    pub const ECE: u16 = 0x40;
    pub const CWR: u16 = 0x80;
}

/// The packet an ICMP/ICMPv6 error quotes (RFC 792, RFC 4443 §3), reduced to what
/// finds its connection: the quoted 5-tuple (for a quoted echo request, `sport` and
/// `dport` are both its identifier, as the table keys echo exchanges), the quoted
/// TTL, and the MTU a "fragmentation needed" / "packet too big" reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpQuote {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// 6, 17, or 1 / 58 for a quoted echo request.
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
    pub ttl: u8,
    pub mtu: Option<u32>,
}

/// What `flow` needs from a decoded packet.
#[derive(Clone, Copy, Debug)]
pub struct FlowPacket<'a> {
    pub id: PacketId,
    pub ts: Timestamp,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// VLAN ids, outer first; `vlan_count` of them are valid.
    pub vlans: [u16; 2],
    pub vlan_count: u8,
    /// [`crate::decode::Packet::tunnel_key`]: the tunnel context, part of the connection
    /// key (0 when not tunnelled).
    pub tunnel: u64,
    /// The encapsulations around the packet, outermost first (recorded on the
    /// connection; see [`TunnelHop`]).
    pub tunnels: &'a [Encap],
    pub l4: L4<'a>,
}

/// The transport layer of a [`FlowPacket`].
#[derive(Clone, Copy, Debug)]
pub enum L4<'a> {
    Tcp {
        sport: u16,
        dport: u16,
        seq: u32,
        ack: u32,
        /// FIN=0x01 SYN=0x02 RST=0x04 PSH=0x08 ACK=0x10 URG=0x20 ECE=0x40 CWR=0x80
        flags: u16,
        /// Raw window field (unscaled).
        window: u16,
        wscale: Option<u8>,
        mss: Option<u16>,
        sack_permitted: bool,
        ts: Option<(u32, u32)>,
        /// Payload length from the IP length (tshark's `tcp.len`).
        payload_len: u32,
        /// Captured payload bytes; shorter than `payload_len` when the snaplen cut it.
        payload: &'a [u8],
    },
    Udp {
        sport: u16,
        dport: u16,
        payload: &'a [u8],
    },
    Icmp {
        v6: bool,
        kind: u8,
        code: u8,
        /// Echo request/reply identifier and sequence number.
        echo: Option<(u16, u16)>,
        /// The packet an error message quotes, when it names a TCP/UDP 5-tuple or an
        /// echo request (see `table/icmp.rs`).
        quote: Option<IcmpQuote>,
    },
    Other {
        proto: u8,
    },
}

/// Limits and timeouts. All times are capture time.
#[derive(Clone, Copy, Debug)]
pub struct FlowConfig {
    /// Out-of-order bytes buffered per direction.
    pub max_dir_buffered: usize,
    /// Out-of-order bytes buffered across all connections.
    pub max_total_buffered: usize,
    /// Buffered out-of-order segments per direction (each one sits after a hole).
    pub max_holes: usize,
    /// Open connections; beyond this the idlest is finished (anomaly `conn_evicted`).
    pub max_conns: usize,
    /// UDP and ICMP flows end after this long without a packet.
    pub udp_timeout_ns: i64,
    /// A TCP connection with no packet for this long is finished.
    pub tcp_idle_timeout_ns: i64,
    /// A closed TCP connection (FIN both ways or RST) is finished after this long
    /// without a packet; until then late packets (retransmitted FINs, final ACKs)
    /// still belong to it (like TIME_WAIT). 2 s: each late packet restarts it, and
    /// retransmissions back off from Linux's 200 ms minimum RTO (0.2, 0.4, 0.8, 1.6 s
    /// apart) or RFC 6298's 1 s; Zeek's 5 s held three times as many finished
    /// connections at 10,000 a second (276 MB → 163 MB for `conns` on the benchmark's
    /// manyflows.pcap, same records on it and on every shared capture).
    pub tcp_closed_linger_ns: i64,
    /// Community ID seed.
    pub community_id_seed: u16,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            max_dir_buffered: 4 << 20,
            max_total_buffered: 256 << 20,
            max_holes: 2048,
            max_conns: 1 << 20,
            udp_timeout_ns: 60_000_000_000,
            tcp_idle_timeout_ns: 3_600_000_000_000,
            tcp_closed_linger_ns: 2_000_000_000,
            community_id_seed: 0,
        }
    }
}

/// What the table decided about one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketVerdict {
    /// `None` for packets that belong to no connection (non-echo ICMP, other protocols).
    pub conn: Option<ConnId>,
    pub dir: Direction,
    pub analysis: TcpAnalysisFlags,
    /// seq - ISN (TCP only; relative to the first seq seen when the SYN was missed).
    pub rel_seq: Option<u32>,
    /// ack - peer's ISN, when the ACK flag is set and the peer's ISN is known.
    pub rel_ack: Option<u32>,
    /// The ISNs `rel_seq` and `rel_ack` count from (with them: the raw numbers are
    /// `rel + base`), so a table can keep one base per connection side instead of
    /// every packet's relative numbers (`analysis::packet_table`).
    pub seq_base: Option<u32>,
    pub ack_base: Option<u32>,
    /// This packet opened a new connection.
    pub new_conn: bool,
    /// For a duplicate ACK: the frame it duplicates and its number (`Dup ACK 12#1`).
    pub dup_ack: Option<(PacketId, u32)>,
    /// The sender's window-scale shift once both SYNs agreed on scaling (the Win shown
    /// scaled, as tshark does); None on SYNs and when unknown.
    pub win_shift: Option<u8>,
}

impl PacketVerdict {
    fn none() -> Self {
        PacketVerdict {
            conn: None,
            dir: Direction::ClientToServer,
            analysis: TcpAnalysisFlags::EMPTY,
            rel_seq: None,
            rel_ack: None,
            seq_base: None,
            ack_base: None,
            new_conn: false,
            dup_ack: None,
            win_shift: None,
        }
    }

    /// tshark-style Info prefix: `[TCP Retransmission] [TCP Dup ACK 12#1] ` (each
    /// bracket followed by a space), empty when nothing was flagged.
    pub fn info_prefix(&self) -> String {
        self.analysis.info_prefix(self.dup_ack)
    }
}

/// Receives reassembled streams and connection lifecycle events.
pub trait StreamSink {
    /// In-order bytes of one direction. `pkt` is the packet that made them deliverable.
    fn data(&mut self, conn: ConnId, dir: Direction, ts: Timestamp, pkt: PacketId, bytes: &[u8]);
    /// `len` bytes that were sent but will never be delivered (not captured).
    fn gap(&mut self, conn: ConnId, dir: Direction, ts: Timestamp, len: u64);
    /// No more bytes in this direction (FIN reached, RST, or the connection finished).
    fn end(&mut self, _conn: ConnId, _dir: Direction, _ts: Timestamp) {}
    /// A connection is finished (closed and quiet, timed out, evicted, or end of
    /// input): its final summary.
    fn conn_done(&mut self, _conn: &Connection) {}
    /// [`Self::conn_done`], handing the connection over: the table calls this one, so a
    /// sink that keeps the summary (the analysis makes a record of it) takes it without
    /// copying 500 bytes and its lists once per connection.
    fn conn_finished(&mut self, conn: Connection) {
        self.conn_done(&conn);
    }
    /// A connection was created by the packet being processed.
    fn conn_new(&mut self, _conn: &Connection) {}
}

/// A sink that ignores everything (benchmarks, callers that want only verdicts).
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl StreamSink for NullSink {
    fn data(&mut self, _: ConnId, _: Direction, _: Timestamp, _: PacketId, _: &[u8]) {}
    fn gap(&mut self, _: ConnId, _: Direction, _: Timestamp, _: u64) {}
}
