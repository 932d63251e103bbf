//! The connection record (`conns --json`, `capture --conns --json`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::quic::QuicRecord;
use super::tls::TlsRecord;
use super::{guard, secs, wire, EndpointRecord, Sides, Wire};
use crate::base::Timestamp;
use crate::decode::EncapKind;
use crate::flow::{CloseHow, ConnProto, IcmpError, TunnelHop};
use crate::story::{ConnName, ConnRecord};

/// One finished connection (README, "JSON Lines output").
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[schemars(
    title = "connection",
    description = "One finished connection: a line of `wiretale conns --json`."
)]
pub struct ConnJson<'a> {
    /// TCP analysis counts by flag name (only those above zero).
    pub analysis: BTreeMap<&'static str, u32>,
    pub anomalies: Vec<&'static str>,
    /// `http`, `tls`, `dns`, `quic` or null.
    #[schemars(extend("enum" = ["http", "tls", "dns", "quic", null]))]
    pub app: Option<&'static str>,
    /// Payload bytes each side sent, each counted once.
    pub bytes: Sides<u64>,
    pub client: EndpointRecord,
    /// The first FIN or RST, or null.
    pub close: Option<CloseRecord>,
    /// Community ID v1, seed 0.
    pub community_id: String,
    pub duration: f64,
    pub first_ts: f64,
    /// Null for UDP and ICMP.
    pub handshake: Option<HandshakeRecord>,
    /// Zeek's history letters.
    pub history: &'a str,
    /// ICMP/ICMPv6 errors that quoted the connection's packets, all of them counted
    /// (`icmp_errors` keeps the first 8).
    pub icmp_error_count: u32,
    /// The first 8 ICMP/ICMPv6 errors (destination unreachable, time exceeded,
    /// parameter problem, packet too big) that quoted one of the connection's packets,
    /// by any reporter (the peer or a router on the way). They are not counted in
    /// `packets`, `bytes` or `history`.
    pub icmp_errors: Vec<IcmpErrorRecord>,
    /// What the ICMP errors say happened when the peer never answered: `refused (ICMP
    /// port unreachable)` (port or protocol unreachable from the peer) or `unreachable
    /// (ICMP host unreachable from 198.18.0.1)`; null otherwise.
    pub icmp_outcome: Option<String>,
    /// 0-based in order of first packet.
    pub id: u32,
    pub last_ts: f64,
    pub missed_bytes: u64,
    /// What named the connection, or null.
    pub name: Option<NameRecord<'a>>,
    pub orientation_guessed: bool,
    pub packets: Sides<u64>,
    pub phases: PhasesRecord,
    /// `tcp`, `udp` or `icmp`.
    #[schemars(extend("enum" = ["tcp", "udp", "icmp"]))]
    pub proto: &'static str,
    /// What a QUIC connection showed (`app` is `quic`), else null.
    pub quic: Option<QuicRecord<'a>>,
    pub retransmitted_bytes: Sides<u64>,
    pub server: EndpointRecord,
    /// Zeek's conn_state.
    pub state: &'static str,
    pub tls: Option<TlsRecord<'a>>,
    /// The encapsulations the connection was carried in, outermost first (empty when
    /// not tunnelled). The tunnel is part of the connection's identity: the same inner
    /// 4-tuple in two tunnels is two connections.
    pub tunnel: Vec<TunnelRecord>,
    pub vlan: &'a [u16],
}

/// One encapsulation of a tunnelled connection, seen from the client's side.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct TunnelRecord {
    /// `mpls`, `pwach`, `pppoe`, `ppp`, `gre`, `pptp`, `erspan`, `vxlan`, `geneve`, `teredo`,
    /// `ip-in-ip`, `gtp-u`, `pbb`, `fabricpath` or `802.11`.
    #[schemars(extend("enum" = ["mpls", "pwach", "pppoe", "ppp", "gre", "pptp", "erspan", "vxlan", "geneve", "teredo", "ip-in-ip", "gtp-u", "pbb", "fabricpath", "802.11"]))]
    pub kind: &'static str,
    /// The label (MPLS), VNI (VXLAN, Geneve), key (GRE), TEID (GTP-U), session id
    /// (PPPoE, ERSPAN), I-SID (PBB) or protocol (PPP) on the client's packets; null
    /// when the layer has none or no client packet was seen.
    pub id: Option<u32>,
    /// The same on the server's packets, when it differs (MPLS labels and GTP-U TEIDs
    /// are chosen per direction); else null.
    pub id_back: Option<u32>,
    /// The outer endpoints of an IP-carried encapsulation: the client's side and the
    /// server's (the port is 0 unless it rode in UDP); null for link-layer ones.
    pub outer_client: Option<EndpointRecord>,
    pub outer_server: Option<EndpointRecord>,
    /// ERSPAN's version (1 = type I … 3 = type III), else null.
    pub version: Option<u8>,
}

impl TunnelRecord {
    pub fn new(h: &TunnelHop) -> Self {
        let (id, back) = match h.id {
            [Some(a), b] => (Some(a), b.filter(|b| *b != a)),
            [None, b] => (b, None),
        };
        let ports = h.outer_ports.unwrap_or((0, 0));
        TunnelRecord {
            kind: h.kind.name(),
            id,
            id_back: back,
            outer_client: h.outer.map(|(c, _)| EndpointRecord {
                ip: c,
                port: ports.0,
            }),
            outer_server: h.outer.map(|(_, s)| EndpointRecord {
                ip: s,
                port: ports.1,
            }),
            version: match h.kind {
                EncapKind::Erspan(v) => Some(v),
                _ => None,
            },
        }
    }
}

/// One ICMP/ICMPv6 error about the connection.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct IcmpErrorRecord {
    /// Which side sent the packet the error quotes (the error went to it).
    #[schemars(extend("enum" = ["client", "server"]))]
    pub about: &'static str,
    pub code: u8,
    /// Frame number of the ICMP packet.
    pub frame: u64,
    /// The reporting address: the peer, or a router on the path.
    pub from: String,
    /// Next-hop MTU of "fragmentation needed" / "packet too big", else null.
    pub mtu: Option<u32>,
    /// `port unreachable`, `host unreachable`, `fragmentation needed`, `TTL exceeded`,
    /// `packet too big`, `hop limit exceeded`, `parameter problem`, …
    pub name: &'static str,
    /// `icmp` or `icmpv6`.
    #[schemars(extend("enum" = ["icmp", "icmpv6"]))]
    pub proto: &'static str,
    /// TTL / hop limit the quoted packet had when it reached the reporter.
    pub quoted_ttl: u8,
    pub ts: f64,
    /// ICMP type number.
    #[serde(rename = "type")]
    pub kind: u8,
}

impl From<&IcmpError> for IcmpErrorRecord {
    fn from(e: &IcmpError) -> Self {
        IcmpErrorRecord {
            about: e.about.sender(),
            code: e.code,
            frame: e.pkt.frame_number(),
            from: e.from.to_string(),
            mtu: e.mtu,
            name: e.name(),
            proto: if e.v6 { "icmpv6" } else { "icmp" },
            quoted_ttl: e.quoted_ttl,
            ts: e.ts.as_secs_f64(),
            kind: e.kind,
        }
    }
}

/// `{"by", "how", "ts"}` of the first FIN or RST.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct CloseRecord {
    /// `client` or `server`.
    #[schemars(extend("enum" = ["client", "server"]))]
    pub by: &'static str,
    /// `fin` or `rst`.
    #[schemars(extend("enum" = ["fin", "rst"]))]
    pub how: &'static str,
    pub ts: f64,
}

/// The TCP handshake's times.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct HandshakeRecord {
    pub ack_ts: Option<f64>,
    pub client_rtt: Option<f64>,
    pub rtt: Option<f64>,
    pub server_rtt: Option<f64>,
    pub syn_ts: Option<f64>,
    pub synack_ts: Option<f64>,
}

/// First and last payload byte each way, FIN and RST each way, half-close.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct PhasesRecord {
    pub fin: Sides<Option<f64>>,
    pub first_payload: Sides<Option<f64>>,
    pub half_close: Option<HalfCloseRecord>,
    pub last_payload: Sides<Option<f64>>,
    pub rst: Sides<Option<f64>>,
}

/// The side that closed first while the other kept sending.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct HalfCloseRecord {
    #[schemars(extend("enum" = ["client", "server"]))]
    pub by: &'static str,
    pub ts: f64,
}

/// A connection's name and how it was found.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct NameRecord<'a> {
    /// Other names this client was given the same address for earlier.
    pub also: Vec<Wire<'a>>,
    /// CNAME chain from `qname` to the name that held the address.
    pub chain: Vec<Wire<'a>>,
    /// Lookup latency (query → answer), seconds.
    pub dns_rtt: Option<f64>,
    /// Answer → connection start, seconds.
    pub gap: Option<f64>,
    /// What the TLS SNI or HTTP Host said when it disagrees with the looked-up name.
    pub mismatch: Option<Wire<'a>>,
    pub qname: Wire<'a>,
    /// `dns`, `sni` or `host`.
    #[schemars(extend("enum" = ["dns", "sni", "host"]))]
    pub source: &'static str,
    pub ttl: Option<u32>,
    pub ttl_expired: bool,
}

impl<'a> NameRecord<'a> {
    pub fn new(n: &'a ConnName) -> Self {
        NameRecord {
            also: n.also.iter().map(|c| guard(c)).collect(),
            chain: n.chain.iter().map(|c| guard(c)).collect(),
            dns_rtt: n.dns_rtt,
            gap: n.gap,
            mismatch: wire(n.mismatch.as_deref()),
            qname: guard(&n.qname),
            source: n.source.as_str(),
            ttl: n.ttl,
            ttl_expired: n.ttl_expired,
        }
    }
}

fn opt_ts(t: Option<Timestamp>) -> Option<f64> {
    t.map(|t| t.as_secs_f64())
}

fn sides_ts(v: [Option<Timestamp>; 2]) -> Sides<Option<f64>> {
    Sides::from(v.map(opt_ts))
}

/// `tcp`, `udp` or `icmp`.
pub fn proto_name(p: ConnProto) -> &'static str {
    match p {
        ConnProto::Tcp => "tcp",
        ConnProto::Udp => "udp",
        ConnProto::Icmp => "icmp",
    }
}

impl<'a> ConnJson<'a> {
    pub fn new(c: &'a ConnRecord, name: Option<&'a ConnName>) -> Self {
        let k = &c.conn;
        let handshake = (k.proto == ConnProto::Tcp).then(|| {
            let h = k.handshake.unwrap_or_default();
            HandshakeRecord {
                ack_ts: opt_ts(h.ack_ts),
                client_rtt: secs(h.client_rtt_ns()),
                rtt: secs(h.rtt_ns()),
                server_rtt: secs(h.server_rtt_ns()),
                syn_ts: opt_ts(h.syn_ts),
                synack_ts: opt_ts(h.synack_ts),
            }
        });
        let p = &k.phases;
        ConnJson {
            analysis: k.analysis_counts().filter(|(_, n)| *n > 0).collect(),
            anomalies: k.anomalies.iter().map(|a| a.name()).collect(),
            app: c.app.map(|a| a.as_str()),
            bytes: k.bytes.into(),
            client: (&k.client).into(),
            close: k.close.as_ref().map(|cl| CloseRecord {
                by: cl.by.sender(),
                how: match cl.how {
                    CloseHow::Fin => "fin",
                    CloseHow::Rst => "rst",
                },
                ts: cl.ts.as_secs_f64(),
            }),
            community_id: k.community_id(),
            duration: k.duration(),
            first_ts: k.first_ts.as_secs_f64(),
            handshake,
            history: k.history(),
            icmp_error_count: k.icmp_error_count(),
            icmp_errors: k.icmp_errors().iter().map(IcmpErrorRecord::from).collect(),
            icmp_outcome: k.icmp_outcome(),
            id: k.id.0,
            last_ts: k.last_ts.as_secs_f64(),
            missed_bytes: k.missed_bytes,
            name: name.map(NameRecord::new),
            orientation_guessed: k.orientation_guessed,
            packets: k.packets.into(),
            phases: PhasesRecord {
                fin: sides_ts(p.fin),
                first_payload: sides_ts(p.first_payload),
                half_close: p.half_close.map(|(d, t)| HalfCloseRecord {
                    by: d.sender(),
                    ts: t.as_secs_f64(),
                }),
                last_payload: sides_ts(p.last_payload),
                rst: sides_ts(p.rst),
            },
            proto: proto_name(k.proto),
            quic: c
                .quic
                .as_deref()
                .map(|q| QuicRecord::new(q, c.tls.as_deref())),
            retransmitted_bytes: k.retransmitted_bytes.into(),
            server: (&k.server).into(),
            state: k.state(),
            tls: c.tls.as_ref().map(|t| TlsRecord::new(t, &c.tls_anomalies)),
            tunnel: k
                .tunnel
                .iter()
                .flat_map(|t| t.iter().map(TunnelRecord::new))
                .collect(),
            vlan: &k.vlans[..k.vlan_count as usize],
        }
    }
}
