//! Layers 2–4, stateless: link headers (Ethernet with 802.1Q/QinQ, Linux cooked v1/v2,
//! BSD NULL/LOOP, raw IP), ARP, IPv4/IPv6 with options and extension headers, ICMP/ICMPv6
//! (with the packet quoted in an error), TCP with options, UDP. Built on etherparse's
//! lax slicer so a cut or malformed frame shows every layer that parsed plus an anomaly
//! saying why parsing stopped — never an error for the whole frame.
//!
//! * [`decode`] → [`Packet`]: compact per-packet summary (no allocation unless an anomaly).
//! * [`info`] / [`info_with`]: the Info column text, tshark style, formatted on demand.
//! * [`field_tree`]: the detail-pane tree; every node carries its byte range.
//! * [`Defragmenter`]: bounded IPv4/IPv6 fragment reassembly keyed on capture time;
//!   [`decode_defragmented`]: decode + defragment + decode the completed datagram, the
//!   one path every consumer takes.

mod defrag;
mod info;
mod packet;
mod slice;
mod tree;
mod whole;

pub use defrag::{DefragLimits, DefragResult, Defragmenter};
pub use info::{info, info_with, TcpRel};
pub use packet::{
    tcp_flags, Addr, ArpInfo, Encap, EncapKind, EthInfo, IcmpInfo, IpInfo, Mac, Packet, Quoted,
    TcpInfo, TcpOptions, Transport, UdpInfo, Vlans,
};
pub use slice::decode;
pub use tree::{field_tree, field_tree_with};
pub use whole::{decode_defragmented, Fragmentation};

#[cfg(test)]
mod tests;
