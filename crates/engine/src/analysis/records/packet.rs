//! The packet record (`packets --json`, `capture --packets --json`).

use schemars::JsonSchema;
use serde::Serialize;

use super::{guard, Wire};
use crate::analysis::PacketSummary;

/// One packet (README, "JSON Lines output").
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[schemars(
    title = "packet",
    description = "One packet: a line of `wiretale packets --json`."
)]
pub struct PacketJson<'a> {
    /// Short stable names (`snaplen_cut`, `retransmission`, …).
    pub anomalies: Vec<&'static str>,
    /// Bytes captured.
    pub caplen: u32,
    /// The connection id, or null.
    pub conn: Option<u32>,
    pub dport: Option<u16>,
    /// IP address (MAC address for non-IP frames).
    pub dst: Option<String>,
    /// pcapng interface index (0 for pcap).
    pub iface: u32,
    /// As tshark's Info column, with TCP analysis in brackets.
    pub info: Wire<'a>,
    /// Bytes on the wire.
    pub len: u32,
    /// Link-type number.
    pub link: u32,
    /// 1-based frame number.
    pub n: u64,
    /// Highest protocol decoded.
    pub proto: &'static str,
    pub sport: Option<u16>,
    /// IP address (MAC address for non-IP frames).
    pub src: Option<String>,
    /// Seconds since the epoch.
    pub ts: f64,
}

impl<'a> PacketJson<'a> {
    pub fn new(s: &'a PacketSummary) -> Self {
        PacketJson {
            anomalies: s.anomalies.iter().map(|a| a.name()).collect(),
            caplen: s.caplen,
            conn: s.conn.map(|c| c.0),
            dport: s.dport,
            dst: s.dst.map(|a| a.to_string()),
            iface: s.iface,
            info: guard(&s.info),
            len: s.len,
            link: s.link.0,
            n: s.id.frame_number(),
            proto: s.proto,
            sport: s.sport,
            src: s.src.map(|a| a.to_string()),
            ts: s.ts.as_secs_f64(),
        }
    }
}
