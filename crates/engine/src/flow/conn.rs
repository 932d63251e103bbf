//! A connection's summary: identity, lifecycle, counters. Compact and free of
//! per-packet storage, because one exists per live connection and is handed out whole
//! through `StreamSink::conn_done` when the connection finishes.

use std::net::IpAddr;

use super::community_id::community_id;
use super::history::{tcp_conn_state, EndpointState, History};
use super::tcp_analysis::TcpAnalysisFlags;

use crate::base::{Anomaly, AnomalyKind, ConnId, Direction, Endpoint, PacketId, Timestamp};
use crate::decode::{Encap, EncapKind};

/// Distinct anomaly names kept per connection (the first detail of each).
pub const MAX_CONN_ANOMALIES: usize = 8;

#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnProto {
    Tcp,
    Udp,
    /// ICMP echo request/reply pairs (ICMPv6 when `IcmpInfo::v6`).
    Icmp,
}

/// Handshake timestamps (capture time at the capture point).
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Handshake {
    /// The last SYN before the SYN/ACK (retried SYNs move it forward).
    pub syn_ts: Option<Timestamp>,
    pub synack_ts: Option<Timestamp>,
    pub ack_ts: Option<Timestamp>,
}

impl Handshake {
    /// SYN to handshake ACK, in ns (Wireshark's iRTT).
    pub fn rtt_ns(&self) -> Option<i64> {
        Some(self.ack_ts?.0 - self.syn_ts?.0)
    }
    /// SYN to SYN/ACK: the capture point ↔ server part of the RTT.
    pub fn server_rtt_ns(&self) -> Option<i64> {
        Some(self.synack_ts?.0 - self.syn_ts?.0)
    }
    /// SYN/ACK to ACK: the capture point ↔ client part of the RTT.
    pub fn client_rtt_ns(&self) -> Option<i64> {
        Some(self.ack_ts?.0 - self.synack_ts?.0)
    }
}

#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseHow {
    Fin,
    Rst,
}

/// The first FIN or RST of the connection.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Close {
    pub by: Direction,
    pub how: CloseHow,
    pub ts: Timestamp,
}

/// Phase timestamps, per direction (index with `Direction::index`).
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Phases {
    pub first_payload: [Option<Timestamp>; 2],
    pub last_payload: [Option<Timestamp>; 2],
    /// First FIN each way.
    pub fin: [Option<Timestamp>; 2],
    /// First RST each way.
    pub rst: [Option<Timestamp>; 2],
    /// One side FINed while the other was still open: who and when.
    pub half_close: Option<(Direction, Timestamp)>,
}

/// ICMP echo identity.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpInfo {
    pub v6: bool,
    pub id: u16,
    /// Type and code of the first packet.
    pub kind: u8,
    pub code: u8,
}

/// One encapsulation a tunnelled connection was carried in, outermost first, oriented
/// from the client's side.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TunnelHop {
    pub kind: EncapKind,
    /// Label, VNI, key, TEID… on the client's packets `[0]` and on the server's `[1]`
    /// (MPLS labels and GTP-U TEIDs differ by direction).
    pub id: [Option<u32>; 2],
    /// Outer addresses (client's side, server's side) of an IP-carried encapsulation.
    pub outer: Option<(IpAddr, IpAddr)>,
    /// Outer UDP ports (client's side, server's side) of a UDP-carried one.
    pub outer_ports: Option<(u16, u16)>,
}

impl TunnelHop {
    /// One line for people: `vxlan VNI 42  198.18.60.11 → 198.18.60.21:4789`,
    /// `mpls label 16 (back 17)`, `ip-in-ip  10.0.0.1 → 10.0.0.2`.
    pub fn text(&self) -> String {
        let mut s = self.short();
        if let Some((c, sv)) = self.outer {
            let (pc, ps) = match self.outer_ports {
                Some((a, b)) => (Some(a), Some(b)),
                None => (None, None),
            };
            let host = |ip: IpAddr, p: Option<u16>| match (ip, p) {
                (IpAddr::V6(_), Some(p)) => format!("[{ip}]:{p}"),
                (_, Some(p)) => format!("{ip}:{p}"),
                (_, None) => ip.to_string(),
            };
            s.push_str(&format!("  {} → {}", host(c, pc), host(sv, ps)));
        }
        s
    }

    /// The kind and id only: `vxlan VNI 42`, `gre key 7`, `ip-in-ip`.
    pub fn short(&self) -> String {
        let what = match self.kind {
            EncapKind::Mpls => "label",
            EncapKind::Vxlan | EncapKind::Geneve => "VNI",
            EncapKind::Gre => "key",
            EncapKind::Pptp => "call id",
            EncapKind::GtpU => "TEID",
            EncapKind::Pppoe | EncapKind::Erspan(_) => "session",
            EncapKind::Pbb => "I-SID",
            EncapKind::FabricPath => "switch",
            EncapKind::Ppp => "protocol",
            _ => "id",
        };
        let mut s = match self.kind {
            EncapKind::Erspan(v) => format!("erspan type {}", "I".repeat(usize::from(v.min(3)))),
            k => k.name().to_string(),
        };
        match self.id {
            [Some(a), Some(b)] if a != b => s.push_str(&format!(" {what} {a} (back {b})")),
            [Some(a), _] | [None, Some(a)] => s.push_str(&format!(" {what} {a}")),
            [None, None] => {}
        }
        s
    }
}

/// Records the encapsulations of a connection's first packet each way: the first packet
/// builds the stack, the first one of the other direction adds its ids.
pub(crate) fn note_tunnel(c: &mut Connection, d: Direction, tunnels: &[Encap]) {
    let i = d.index();
    fn orient<T>(i: usize, a: T, b: T) -> (T, T) {
        if i == 0 {
            (a, b)
        } else {
            (b, a)
        }
    }
    match c.tunnel.as_mut() {
        None if tunnels.is_empty() => {}
        None => {
            let hops = tunnels
                .iter()
                .map(|t| {
                    let mut id = [None; 2];
                    id[i] = t.id;
                    TunnelHop {
                        kind: t.kind,
                        id,
                        outer: t.ip.as_ref().map(|ip| orient(i, ip.src, ip.dst)),
                        outer_ports: t.udp.as_ref().map(|u| orient(i, u.sport, u.dport)),
                    }
                })
                .collect();
            c.tunnel = Some(hops);
        }
        Some(hops) => {
            for (h, t) in hops.iter_mut().zip(tunnels) {
                if h.kind != t.kind {
                    break;
                }
                if let Some(slot) = h.id.get_mut(i) {
                    if slot.is_none() {
                        *slot = t.id;
                    }
                }
            }
        }
    }
}

/// ICMP errors kept per connection (the first ones; `Connection::icmp_error_count`
/// counts them all): a traceroute probe gets one or two, a flow to a dead port one per
/// datagram, so eight show the pattern without letting a flood grow a connection.
pub const MAX_ICMP_ERRORS: usize = 8;

/// An ICMP or ICMPv6 error that quoted one of the connection's packets (see
/// `table/icmp.rs` for how it is found and why it is not counted as the
/// connection's packet).
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct IcmpError {
    pub ts: Timestamp,
    pub pkt: PacketId,
    /// Who reported it: the peer itself, or a router on the way.
    pub from: IpAddr,
    pub v6: bool,
    pub kind: u8,
    pub code: u8,
    /// Next-hop MTU of "fragmentation needed" / "packet too big".
    pub mtu: Option<u32>,
    /// TTL / hop limit of the quoted packet when it reached the reporter.
    pub quoted_ttl: u8,
    /// Which side sent the quoted packet (the side the error was sent to).
    pub about: Direction,
}

impl IcmpError {
    /// Short name of type and code (RFC 792, RFC 1812 §5.2.7.1, RFC 4443 §3).
    pub fn name(&self) -> &'static str {
        icmp_error_name(self.v6, self.kind, self.code)
    }

    /// "port unreachable" or "protocol unreachable": the host itself has nobody
    /// listening (RFC 1122 §3.2.2.1, RFC 4443 §3.1).
    pub fn is_refusal(&self) -> bool {
        matches!(
            (self.v6, self.kind, self.code),
            (false, 3, 2 | 3) | (true, 1, 4) | (true, 4, 1)
        )
    }

    /// What this error means for a packet to `peer` that got no answer: "refused (ICMP
    /// port unreachable)" when the peer itself refused it, "unreachable (ICMP host
    /// unreachable from 198.18.0.1)" for any other unreachable; None for the errors
    /// after which a sender retries (TTL exceeded, packet too big, parameter problem).
    pub fn outcome(&self, peer: IpAddr) -> Option<String> {
        if self.is_refusal() && self.from == peer {
            Some(format!("refused (ICMP {})", self.name()))
        } else if self.is_unreachable() {
            Some(format!(
                "unreachable (ICMP {} from {})",
                self.name(),
                self.from
            ))
        } else {
            None
        }
    }

    /// Destination unreachable of any code (the packet could not be delivered).
    pub fn is_unreachable(&self) -> bool {
        matches!((self.v6, self.kind), (false, 3) | (true, 1))
    }

    /// TTL / hop limit exceeded in transit (what traceroute's probes meet).
    pub fn is_ttl_exceeded(&self) -> bool {
        matches!(
            (self.v6, self.kind, self.code),
            (false, 11, 0) | (true, 3, 0)
        )
    }
}

/// The ICMP errors of one connection.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct IcmpErrors {
    kept: Vec<IcmpError>,
    count: u32,
}

/// Whether type `kind` is an error message the table attaches (ICMP destination
/// unreachable, time exceeded, parameter problem; ICMPv6 types 1–4).
pub(crate) fn is_icmp_error(v6: bool, kind: u8) -> bool {
    if v6 {
        matches!(kind, 1..=4)
    } else {
        matches!(kind, 3 | 11 | 12)
    }
}

/// Short name of an ICMP (RFC 792, RFC 1812 §5.2.7.1, RFC 1191) or ICMPv6 (RFC 4443 §3)
/// error type and code.
pub fn icmp_error_name(v6: bool, kind: u8, code: u8) -> &'static str {
    match (v6, kind, code) {
        (false, 3, 0) => "net unreachable",
        (false, 3, 1) => "host unreachable",
        (false, 3, 2) => "protocol unreachable",
        (false, 3, 3) => "port unreachable",
        (false, 3, 4) => "fragmentation needed",
        (false, 3, 5) => "source route failed",
        (false, 3, 6) => "net unknown",
        (false, 3, 7) => "host unknown",
        (false, 3, 8) => "source host isolated",
        (false, 3, 9) => "net prohibited",
        (false, 3, 10) => "host prohibited",
        (false, 3, 11) => "net unreachable for TOS",
        (false, 3, 12) => "host unreachable for TOS",
        (false, 3, 13) => "administratively prohibited",
        (false, 3, 14) => "host precedence violation",
        (false, 3, 15) => "precedence cutoff",
        (false, 3, _) => "unreachable",
        (false, 11, 0) => "TTL exceeded",
        (false, 11, 1) => "reassembly time exceeded",
        (false, 11, _) => "time exceeded",
        (false, 12, _) => "parameter problem",
        (true, 1, 0) => "no route",
        (true, 1, 1) => "administratively prohibited",
        (true, 1, 2) => "beyond scope",
        (true, 1, 3) => "address unreachable",
        (true, 1, 4) => "port unreachable",
        (true, 1, 5) => "source address failed policy",
        (true, 1, 6) => "reject route",
        (true, 1, _) => "unreachable",
        (true, 2, _) => "packet too big",
        (true, 3, 0) => "hop limit exceeded",
        (true, 3, 1) => "reassembly time exceeded",
        (true, 3, _) => "time exceeded",
        (true, 4, 1) => "unrecognized next header",
        (true, 4, _) => "parameter problem",
        _ => "error",
    }
}

/// One connection (TCP, UDP flow, or ICMP echo exchange).
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug)]
pub struct Connection {
    pub id: ConnId,
    pub proto: ConnProto,
    pub client: Endpoint,
    pub server: Endpoint,
    /// VLAN ids of the connection's first packet (outer first); see `table` for how
    /// VLAN contexts split or join connections.
    pub vlans: [u16; 2],
    pub vlan_count: u8,
    /// The encapsulations the connection was carried in (empty when not tunnelled);
    /// the tunnel context is part of the connection's key, see `table`.
    pub tunnel: Option<Box<[TunnelHop]>>,
    /// Client/server was inferred (no SYN seen; SYN/ACK or port heuristic).
    pub orientation_guessed: bool,
    pub first_ts: Timestamp,
    pub last_ts: Timestamp,
    pub packets: [u64; 2],
    /// Stream bytes each way, each byte once (delivered + gaps for TCP).
    pub bytes: [u64; 2],
    pub retransmitted_bytes: [u64; 2],
    /// Bytes never captured (gaps delivered), both directions.
    pub missed_bytes: u64,
    pub handshake: Option<Handshake>,
    pub close: Option<Close>,
    pub phases: Phases,
    /// Count per TCP analysis flag, by bit (see `TcpAnalysisFlags::NAMES`).
    pub analysis: [u32; TcpAnalysisFlags::COUNT],
    /// Limits hit and other oddities (distinct names, at most `MAX_CONN_ANOMALIES`).
    pub anomalies: Vec<Anomaly>,
    pub icmp: Option<IcmpInfo>,
    /// ICMP errors that quoted this connection's packets (see [`Self::icmp_errors`]);
    /// boxed, as most connections get none.
    pub(crate) icmp_errs: Option<Box<IcmpErrors>>,
    pub(crate) history: History,
    pub(crate) ep_state: [EndpointState; 2],
    pub(crate) seed: u16,
}

impl Connection {
    pub(crate) fn new(
        id: ConnId,
        proto: ConnProto,
        client: Endpoint,
        server: Endpoint,
        ts: Timestamp,
        seed: u16,
    ) -> Self {
        Connection {
            id,
            proto,
            client,
            server,
            vlans: [0; 2],
            vlan_count: 0,
            tunnel: None,
            orientation_guessed: false,
            first_ts: ts,
            last_ts: ts,
            packets: [0; 2],
            bytes: [0; 2],
            retransmitted_bytes: [0; 2],
            missed_bytes: 0,
            handshake: None,
            close: None,
            phases: Phases::default(),
            analysis: [0; TcpAnalysisFlags::COUNT],
            anomalies: Vec::new(),
            icmp: None,
            icmp_errs: None,
            history: History::default(),
            ep_state: [EndpointState::Inactive; 2],
            seed,
        }
    }

    /// Zeek's `conn_state` (S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH).
    pub fn state(&self) -> &'static str {
        match self.proto {
            ConnProto::Tcp => tcp_conn_state(
                self.ep_state[0],
                self.ep_state[1],
                self.bytes == [0, 0],
                self.history.as_str(),
            ),
            ConnProto::Udp => match (self.packets[0] > 0, self.packets[1] > 0) {
                (true, true) => "SF",
                (true, false) => "S0",
                (false, true) => "SHR",
                _ => "OTH",
            },
            ConnProto::Icmp => "OTH",
        }
    }

    /// The connection's ICMP-told outcome when its peer never answered: a port or
    /// protocol unreachable from the peer itself is a refusal ("refused (ICMP port
    /// unreachable)"); any other unreachable says where it failed ("unreachable (ICMP
    /// host unreachable from 198.18.0.1)"). None when the peer sent anything, or no
    /// unreachable came. TTL exceeded and packet too big are not outcomes: the sender
    /// is expected to retry (traceroute, path-MTU discovery).
    pub fn icmp_outcome(&self) -> Option<String> {
        let peer_silent = |e: &IcmpError| self.packets[1 - e.about.index()] == 0;
        let peer_ip = |e: &IcmpError| match e.about {
            Direction::ClientToServer => self.server.ip,
            Direction::ServerToClient => self.client.ip,
        };
        let outcome = |e: &IcmpError| e.outcome(peer_ip(e));
        let silent = || self.icmp_errors().iter().filter(|e| peer_silent(e));
        // A refusal by the peer wins over a router's unreachable seen first.
        silent()
            .find(|e| e.is_refusal() && e.from == peer_ip(e))
            .or_else(|| silent().find(|e| e.is_unreachable()))
            .and_then(outcome)
    }

    /// ICMP errors that quoted this connection's packets, the first
    /// [`MAX_ICMP_ERRORS`]; not counted in `packets`, `bytes` or `history`.
    pub fn icmp_errors(&self) -> &[IcmpError] {
        self.icmp_errs.as_deref().map_or(&[], |e| &e.kept)
    }

    /// All ICMP errors attached, kept or not.
    pub fn icmp_error_count(&self) -> u32 {
        self.icmp_errs.as_deref().map_or(0, |e| e.count)
    }

    /// Records an ICMP error about this connection (bounded, see [`MAX_ICMP_ERRORS`]).
    pub(crate) fn add_icmp_error(&mut self, e: IcmpError) {
        let errs = self.icmp_errs.get_or_insert_with(Box::default);
        errs.count = errs.count.saturating_add(1);
        if errs.kept.len() < MAX_ICMP_ERRORS {
            errs.kept.push(e);
        }
    }

    /// Zeek's `history` string.
    pub fn history(&self) -> &str {
        self.history.as_str()
    }

    pub fn duration_ns(&self) -> i64 {
        self.last_ts.0.saturating_sub(self.first_ts.0)
    }

    /// Duration in seconds.
    pub fn duration(&self) -> f64 {
        self.duration_ns() as f64 / 1e9
    }

    /// Analysis counts by name, only those seen.
    pub fn analysis_counts(&self) -> impl Iterator<Item = (&'static str, u32)> + '_ {
        self.analysis
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(i, &n)| (TcpAnalysisFlags::NAMES[i], n))
    }

    /// Count of one analysis flag.
    pub fn analysis_count(&self, flag: TcpAnalysisFlags) -> u32 {
        flag.bits().next().map(|b| self.analysis[b]).unwrap_or(0)
    }

    /// Community ID v1 of this connection (client → server).
    pub fn community_id(&self) -> String {
        match (self.proto, self.icmp) {
            (ConnProto::Tcp, _) => community_id(
                self.seed,
                self.client.ip,
                self.server.ip,
                6,
                self.client.port,
                self.server.port,
            ),
            (ConnProto::Udp, _) => community_id(
                self.seed,
                self.client.ip,
                self.server.ip,
                17,
                self.client.port,
                self.server.port,
            ),
            (ConnProto::Icmp, Some(i)) => {
                let (p, req) = if i.v6 { (58, 128) } else { (1, 8) };
                community_id(self.seed, self.client.ip, self.server.ip, p, req, 0)
            }
            (ConnProto::Icmp, None) => {
                community_id(self.seed, self.client.ip, self.server.ip, 1, 8, 0)
            }
        }
    }

    /// Records an anomaly once per kind.
    pub(crate) fn anomaly(
        &mut self,
        kind: AnomalyKind,
        detail: impl Into<std::borrow::Cow<'static, str>>,
    ) {
        if self.anomalies.len() < MAX_CONN_ANOMALIES
            && !self.anomalies.iter().any(|a| a.kind == kind)
        {
            self.anomalies.push(Anomaly::new(kind, detail));
        }
    }

    pub(crate) fn dir_of(&self, src: Endpoint) -> Direction {
        if src == self.client {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        }
    }
}
