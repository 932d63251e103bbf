//! The packet as a display filter sees it: [`PacketView`] implements
//! [`filter::Record`] over one decoded frame, its flow facts (its [`PacketRow`]) and the
//! application messages it completed ([`AppNote`]s with [`AppData`]).
//!
//! Field meanings follow tshark 4.0 (see `filter::fields`), including where tshark
//! shows things: HTTP request fields on the packet completing the request, response
//! fields on the packet completing the response; `dns.time` and `http.time` on the
//! response; `ip.*`/`tcp.*`/`udp.*` also from the header quoted inside an ICMP error
//! (tshark dissects it, so `ip.addr` and `udp.port` match it too).
//!
//! TLS and HTTP/2 (`tls.*`, `http2.*`) as tshark shows them: `tls` on every packet that
//! completed a record or whose bytes began one; a record's fields, and the handshake
//! messages and alerts it completed, on the packet holding its last byte; an HTTP/2
//! frame on the packet that completed it (see [`super::notes::TlsFields`] and
//! `tests/filter_tls.rs`). `http.*` is HTTP/1.x only, as in tshark 4.0.
//!
//! Known, deliberate differences (also in `tests/filter_truth.rs`):
//! - `tcp.window_size` is the unscaled value (the scale is a connection fact the
//!   per-packet view does not keep).
//! - On the last fragment of a reassembled IP datagram, `tcp.*`/`udp.*` are absent
//!   (tshark shows the reassembled transport there).

use super::notes::{AppData, AppNote, H2FrameField, QuicPacketField, TlsField, TlsHandshakeField};
use super::packet_table::{PacketRow, RelNumbers};
use crate::base::{LinkType, PacketId};
use std::net::IpAddr as IpAddrT;

use crate::decode::{tcp_flags, EncapKind, Packet, Transport};
use crate::filter::fields::Field;
use crate::filter::{FieldId, Record, Value};
use crate::proto::dns::RData;

/// What is known about a connection only once it has ended, for `conn.state` and
/// `conn.name` (filled by a first pass; see `analysis::select`).
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConnOutcome {
    /// Zeek-style state (`SF`, `REJ`, `S0`, ...).
    #[serde(deserialize_with = "crate::base::interned::deserialize")]
    pub state: crate::base::interned::StaticStr,
    /// The server name from the DNS answer that led to the connection.
    pub name: Option<String>,
}

/// One packet for [`crate::filter::Filter::matches`]. Cheap to build: borrows
/// everything, computes values only when the filter asks for them.
pub struct PacketView<'a> {
    pub id: PacketId,
    pub len: u32,
    pub caplen: u32,
    /// Seconds since the first frame / since the previous frame.
    pub rel: f64,
    pub delta: f64,
    pub pkt: &'a Packet<'a>,
    /// The datagram this frame completed from IP fragments: its transport layer is
    /// what tshark shows on the last fragment (`tcp.*`, `udp.*`); `ip.*` stay the
    /// frame's own.
    pub whole: Option<&'a Packet<'a>>,
    pub row: PacketRow,
    /// `tcp.seq`/`tcp.ack` relative to each side's ISN, as the engine numbered them
    /// (the raw numbers where the engine had none).
    pub tcp_rel: RelNumbers,
    /// `tcp.stream` or `udp.stream` (whichever the packet is).
    pub stream: Option<u32>,
    pub notes: &'a [AppNote],
    /// What the packet carried of TLS (`tls.*`), when it shows as TLS (see
    /// [`super::notes::TlsFields`]).
    pub tls: Option<&'a [TlsField]>,
    /// `dns.time` of a response, seconds.
    pub dns_time: Option<f64>,
    pub outcome: Option<&'a ConnOutcome>,
}

/// Analysis bits tshark counts under `tcp.analysis.flags`: every finding (window
/// updates included, as tshark 4.0 does).
const ANALYSIS_ALL: u16 = 0x7fff;

/// The field behind an id; ids outside the registry match nothing.
fn kind(id: FieldId) -> Option<Field> {
    id.field()
}

/// The flag bit of a `tcp.flags.*` field.
fn tcp_flag_bit(f: Field) -> Option<u16> {
    Some(match f {
        Field::TcpFlagSyn => tcp_flags::SYN,
        Field::TcpFlagAck => tcp_flags::ACK,
        Field::TcpFlagFin => tcp_flags::FIN,
        Field::TcpFlagReset => tcp_flags::RST,
        Field::TcpFlagPush => tcp_flags::PSH,
        Field::TcpFlagUrg => tcp_flags::URG,
        _ => return None,
    })
}

/// The [`crate::flow::TcpAnalysisFlags`] bit of a `tcp.analysis.*` finding.
fn analysis_bit(f: Field) -> Option<u16> {
    use Field::*;
    let bit = match f {
        AnalysisRetransmission => 0,
        AnalysisFastRetransmission => 1,
        AnalysisSpuriousRetransmission => 2,
        AnalysisOutOfOrder => 3,
        AnalysisLostSegment => 4,
        AnalysisAckLostSegment => 5,
        AnalysisDuplicateAck => 6,
        AnalysisZeroWindow => 7,
        AnalysisZeroWindowProbe => 8,
        AnalysisWindowFull => 9,
        AnalysisWindowUpdate => 10,
        AnalysisKeepAlive => 11,
        _ => return None,
    };
    Some(1 << bit)
}

/// Whether a filter field reads application data ([`AppData`]): the engine must be
/// run with `want_app_fields` for it.
pub(crate) fn needs_app(id: FieldId) -> bool {
    use Field::*;
    kind(id).is_some_and(|k| {
        matches!(
            k,
            DnsId
                | DnsResponse
                | DnsRcode
                | DnsQryName
                | DnsQryType
                | DnsA
                | DnsAaaa
                | DnsCname
                | DnsTime
                | HttpRequest
                | HttpResponse
                | HttpHost
                | HttpMethod
                | HttpUri
                | HttpCode
                | HttpContentType
                | HttpUserAgent
                | HttpReferer
                | HttpTime
                | Tls
                | TlsHsType
                | TlsSni
                | TlsHsVersion
                | TlsCipherSuite
                | TlsAlpn
                | TlsRecordType
                | TlsRecordVersion
                | TlsAlertDesc
                | Http2
                | H2StreamId
                | H2Type
                | H2HeaderName
                | H2HeaderValue
                | H2Method
                | H2Path
                | H2Status
                | H2Authority
                | Http3
                | QuicHeaderForm
                | QuicLongType
                | QuicVersion
                | QuicDcid
                | QuicScid
                | QuicPacketNumber
                | QuicFrameType
        )
    })
}

/// Whether a filter field is only known once connections end (`conn.state`, `conn.name`).
pub(crate) fn needs_outcome(id: FieldId) -> bool {
    matches!(kind(id), Some(Field::ConnState | Field::ConnName))
}

/// Calls `f` for each value of an optional string; returns whether `f` asked to stop.
fn s(v: &Option<String>, f: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
    v.as_ref().is_some_and(|t| f(Value::Str(t.as_bytes())))
}

impl PacketView<'_> {
    /// The packet whose transport layer counts (see [`PacketView::whole`]).
    fn l4(&self) -> &Packet<'_> {
        self.whole.unwrap_or(self.pkt)
    }
    fn ip4(&self) -> Option<&crate::decode::IpInfo> {
        self.pkt.ip.as_ref().filter(|i| i.version == 4)
    }
    fn ip6(&self) -> Option<&crate::decode::IpInfo> {
        self.pkt.ip.as_ref().filter(|i| i.version == 6)
    }

    /// The quoted header inside an ICMP error (tshark dissects it as ip/tcp/udp).
    fn quoted(&self) -> Option<&crate::decode::Quoted> {
        match &self.l4().transport {
            Transport::Icmp(i) | Transport::Icmpv6(i) => i.quoted.as_ref(),
            _ => None,
        }
    }

    /// Ports of a TCP (`proto` 6) or UDP (17) layer: the packet's own, then the quoted
    /// header's.
    fn ports(&self, proto: u8, f: &mut dyn FnMut(u16, u16) -> bool) {
        let own = match (&self.l4().transport, proto) {
            (Transport::Tcp(t), 6) => Some((t.sport, t.dport)),
            (Transport::Udp(u), 17) => Some((u.sport, u.dport)),
            _ => None,
        };
        if let Some((a, b)) = own {
            if f(a, b) {
                return;
            }
        }
        if let Some(q) = self.quoted().filter(|q| q.protocol == proto) {
            if let (Some(a), Some(b)) = (q.sport, q.dport) {
                if f(a, b) {
                    return;
                }
            }
        }
        // The UDP a tunnel rode in (VXLAN, Geneve, Teredo, GTP-U), as Wireshark's
        // `udp.port` matches the outer header too.
        if proto == 17 {
            for u in self.l4().tunnels.iter().filter_map(|t| t.udp.as_ref()) {
                if f(u.sport, u.dport) {
                    return;
                }
            }
        }
    }

    /// Whether a port of the packet is `port` (TCP or UDP, the packet's own layer).
    fn has_port(&self, pred: impl Fn(u16) -> bool) -> bool {
        self.l4().ports().is_some_and(|(a, b)| pred(a) || pred(b))
    }

    /// DNS messages as tshark sees them: on ports 53, 5353 (mDNS) and 5355 (LLMNR),
    /// which share the `dns.*` fields; a DNS-shaped datagram elsewhere (NBNS on 137,
    /// found by wiretale's content check) is another protocol to tshark.
    fn dns(&self) -> impl Iterator<Item = &crate::proto::dns::Message> + '_ {
        let ports = self.has_port(crate::proto::dns::is_dns_port);
        let notes = if ports { self.notes } else { &[] };
        notes.iter().filter_map(|n| match &n.data {
            AppData::Dns(m) => Some(&**m),
            _ => None,
        })
    }

    fn http(&self) -> impl Iterator<Item = &super::notes::HttpNote> + '_ {
        self.notes.iter().filter_map(|n| match &n.data {
            AppData::Http(h) => Some(&**h),
            _ => None,
        })
    }

    /// The HTTP/2 frames the packet completed.
    fn h2(&self) -> impl Iterator<Item = &H2FrameField> + '_ {
        self.notes.iter().flat_map(|n| match &n.data {
            AppData::Http2(frames) => &frames[..],
            _ => &[],
        })
    }

    fn quic(&self) -> impl Iterator<Item = &QuicPacketField> + '_ {
        self.notes.iter().flat_map(|n| match &n.data {
            AppData::Quic(p) => &p[..],
            _ => &[],
        })
    }

    /// The TLS handshake messages the packet completed.
    fn handshakes(&self) -> impl Iterator<Item = &TlsHandshakeField> + '_ {
        self.tls.unwrap_or_default().iter().filter_map(|t| match t {
            TlsField::Handshake(h) => Some(&**h),
            _ => None,
        })
    }

    /// The encapsulations around the packet of the kinds `want` accepts.
    fn encaps<'s>(
        &'s self,
        want: impl Fn(EncapKind) -> bool + 's,
    ) -> impl Iterator<Item = &'s crate::decode::Encap> + 's {
        self.l4().tunnels.iter().filter(move |t| want(t.kind))
    }

    /// (source, destination) of the tunnels' outer IP headers of `version`, outermost
    /// first.
    fn tunnel_ip(&self, version: u8) -> impl Iterator<Item = (IpAddrT, IpAddrT)> + '_ {
        self.l4()
            .tunnels
            .iter()
            .filter_map(move |t| t.ip.as_ref().filter(|i| i.version == version))
            .map(|i| (i.src, i.dst))
    }

    fn is_eth(&self) -> bool {
        self.pkt.eth.is_some()
            && !matches!(self.pkt.link, LinkType::LINUX_SLL | LinkType::LINUX_SLL2)
    }
}

impl Record for PacketView<'_> {
    fn visit(&self, field: FieldId, f: &mut dyn FnMut(Value<'_>) -> bool) {
        use Field::*;
        let p = self.pkt;
        let tcp = self.l4().tcp();
        let udp = self.l4().udp();
        let present = |f: &mut dyn FnMut(Value<'_>) -> bool, yes: bool| {
            if yes {
                f(Value::Present);
            }
        };
        let uint = |f: &mut dyn FnMut(Value<'_>) -> bool, v: Option<u64>| {
            if let Some(v) = v {
                f(Value::UInt(v));
            }
        };
        let quoted_proto = self.quoted().map(|q| q.protocol);
        let Some(k) = kind(field) else {
            return;
        };
        match k {
            Frame => present(f, true),
            Eth => present(f, self.is_eth()),
            Vlan => present(f, !p.vlans.is_empty()),
            Arp => present(f, p.arp.is_some()),
            Ip => present(
                f,
                self.ip4().is_some() || self.tunnel_ip(4).next().is_some(),
            ),
            Ipv6 => present(
                f,
                self.ip6().is_some() || self.tunnel_ip(6).next().is_some(),
            ),
            Icmp => present(f, matches!(self.l4().transport, Transport::Icmp(_))),
            Icmpv6 => present(f, matches!(self.l4().transport, Transport::Icmpv6(_))),
            Tcp => present(f, tcp.is_some() || quoted_proto == Some(6)),
            Udp => present(
                f,
                udp.is_some()
                    || quoted_proto == Some(17)
                    || self.l4().tunnels.iter().any(|t| t.udp.is_some()),
            ),
            Mpls => present(f, self.encaps(|k| k == EncapKind::Mpls).next().is_some()),
            Pppoes => present(f, self.encaps(|k| k == EncapKind::Pppoe).next().is_some()),
            Gre => present(
                f,
                self.encaps(|k| {
                    matches!(k, EncapKind::Gre | EncapKind::Pptp | EncapKind::Erspan(_))
                })
                .next()
                .is_some(),
            ),
            Erspan => present(
                f,
                self.encaps(|k| matches!(k, EncapKind::Erspan(_)))
                    .next()
                    .is_some(),
            ),
            Vxlan => present(f, self.encaps(|k| k == EncapKind::Vxlan).next().is_some()),
            Geneve => present(f, self.encaps(|k| k == EncapKind::Geneve).next().is_some()),
            Teredo => present(f, self.encaps(|k| k == EncapKind::Teredo).next().is_some()),
            Gtp => present(f, self.encaps(|k| k == EncapKind::GtpU).next().is_some()),
            k @ (MplsLabel | PppoesSession | GreKey | VxlanVni | GeneveVni | GtpTeid) => {
                let want = match k {
                    MplsLabel => EncapKind::Mpls,
                    PppoesSession => EncapKind::Pppoe,
                    GreKey => EncapKind::Gre,
                    VxlanVni => EncapKind::Vxlan,
                    GeneveVni => EncapKind::Geneve,
                    _ => EncapKind::GtpU,
                };
                for id in self.encaps(|e| e == want).filter_map(|t| t.id) {
                    if f(Value::UInt(u64::from(id))) {
                        return;
                    }
                }
            }
            // tshark's `dns` is port 53 only (mDNS and LLMNR are `mdns`/`llmnr`), and
            // every UDP datagram there, even one too short to parse.
            Dns => present(
                f,
                self.has_port(|p| p == 53)
                    && (udp.is_some() || self.notes.iter().any(|n| n.proto == "dns")),
            ),
            Http => present(f, self.notes.iter().any(|n| n.proto == "http")),
            // A packet that began or completed a TLS record (without the engine's TLS
            // facts, e.g. `want_app_fields` off: one that completed a hello).
            Tls => present(
                f,
                self.tls.is_some() || self.notes.iter().any(|n| n.proto == "tls"),
            ),
            Http2 => present(f, self.notes.iter().any(|n| n.proto == "http2")),
            Quic => present(f, self.notes.iter().any(|n| n.proto == "quic")),
            Http3 => present(f, self.notes.iter().any(|n| n.proto == "http3")),
            Conn => present(f, self.row.conn().is_some()),
            FrameNumber => uint(f, Some(u64::from(self.id.0) + 1)),
            FrameLen => uint(f, Some(u64::from(self.len))),
            FrameCapLen => uint(f, Some(u64::from(self.caplen))),
            FrameTimeRel => {
                f(Value::Float(self.rel));
            }
            FrameTimeDelta => {
                f(Value::Float(self.delta));
            }
            EthAddr | EthSrc | EthDst | EthType => {
                let Some(e) = p.eth.filter(|_| self.is_eth()) else {
                    return;
                };
                match k {
                    EthSrc => {
                        f(Value::Mac(e.src));
                    }
                    EthDst => {
                        f(Value::Mac(e.dst));
                    }
                    EthType => {
                        f(Value::UInt(u64::from(e.ethertype)));
                    }
                    _ => {
                        let _ = f(Value::Mac(e.src)) || f(Value::Mac(e.dst));
                    }
                }
            }
            VlanId => {
                for id in p.vlans.ids() {
                    if f(Value::UInt(u64::from(*id))) {
                        return;
                    }
                }
            }
            IpAddr | IpSrc | IpDst => {
                // Every IPv4 layer, as in Wireshark: the tunnels' outer headers first.
                for (s, d) in self.tunnel_ip(4) {
                    if (k != IpDst && f(Value::Ip(s))) || (k != IpSrc && f(Value::Ip(d))) {
                        return;
                    }
                }
                let mut addrs: [Option<std::net::IpAddr>; 4] = [None; 4];
                if let Some(i) = self.ip4() {
                    addrs[0] = Some(i.src);
                    addrs[1] = Some(i.dst);
                    if let Some(q) = self.quoted().filter(|q| q.src.is_ipv4()) {
                        addrs[2] = Some(q.src);
                        addrs[3] = Some(q.dst);
                    }
                }
                for (i, a) in addrs.iter().enumerate() {
                    let wanted = match k {
                        IpSrc => i % 2 == 0,
                        IpDst => i % 2 == 1,
                        _ => true,
                    };
                    if let Some(a) = a.filter(|_| wanted) {
                        if f(Value::Ip(a)) {
                            return;
                        }
                    }
                }
            }
            IpTtl => uint(f, self.ip4().map(|i| u64::from(i.ttl))),
            IpProto => {
                if let Some(i) = self.ip4() {
                    if f(Value::UInt(u64::from(i.protocol))) {
                        return;
                    }
                    if let Some(q) = self.quoted().filter(|q| q.src.is_ipv4()) {
                        f(Value::UInt(u64::from(q.protocol)));
                    }
                }
            }
            IpLen => uint(f, self.ip4().map(|i| u64::from(i.total_len))),
            IpId => uint(f, self.ip4().map(|i| u64::from(i.id))),
            IpDf => {
                if let Some(i) = self.ip4() {
                    f(Value::Bool(i.dont_fragment));
                }
            }
            IpMf => {
                if let Some(i) = self.ip4() {
                    f(Value::Bool(i.more_fragments));
                }
            }
            IpFragOffset => uint(f, self.ip4().map(|i| u64::from(i.frag_offset))),
            Ipv6Addr | Ipv6Src | Ipv6Dst => {
                for (s, d) in self.tunnel_ip(6) {
                    if (k != Ipv6Dst && f(Value::Ip(s))) || (k != Ipv6Src && f(Value::Ip(d))) {
                        return;
                    }
                }
                if let Some(i) = self.ip6() {
                    if k != Ipv6Dst && f(Value::Ip(i.src)) {
                        return;
                    }
                    if k != Ipv6Src {
                        f(Value::Ip(i.dst));
                    }
                }
            }
            Ipv6Hlim => uint(f, self.ip6().map(|i| u64::from(i.ttl))),
            Ipv6Nxt => uint(f, self.ip6().map(|i| u64::from(i.protocol))),
            IcmpType | IcmpCode => {
                if let Transport::Icmp(i) = &self.l4().transport {
                    let v = if k == IcmpType { i.kind } else { i.code };
                    f(Value::UInt(u64::from(v)));
                }
            }
            Icmpv6Type | Icmpv6Code => {
                if let Transport::Icmpv6(i) = &self.l4().transport {
                    let v = if k == Icmpv6Type { i.kind } else { i.code };
                    f(Value::UInt(u64::from(v)));
                }
            }
            k @ (TcpPort | TcpSrcPort | TcpDstPort | UdpPort | UdpSrcPort | UdpDstPort) => {
                let proto = if matches!(k, TcpPort | TcpSrcPort | TcpDstPort) {
                    6
                } else {
                    17
                };
                self.ports(proto, &mut |a, b| match k {
                    TcpSrcPort | UdpSrcPort => f(Value::UInt(u64::from(a))),
                    TcpDstPort | UdpDstPort => f(Value::UInt(u64::from(b))),
                    _ => f(Value::UInt(u64::from(a))) || f(Value::UInt(u64::from(b))),
                });
            }
            TcpStream => uint(f, self.stream.filter(|_| tcp.is_some()).map(u64::from)),
            UdpStream => uint(f, self.stream.filter(|_| udp.is_some()).map(u64::from)),
            TcpLen => uint(f, tcp.map(|t| u64::from(t.payload_len))),
            TcpSeq => uint(f, tcp.map(|t| u64::from(self.tcp_rel.seq.unwrap_or(t.seq)))),
            TcpAck => uint(
                f,
                tcp.filter(|t| t.ack())
                    .map(|t| u64::from(self.tcp_rel.ack.unwrap_or(t.ack))),
            ),
            TcpFlags => uint(f, tcp.map(|t| u64::from(t.flags & 0x0fff))),
            TcpFlagSyn | TcpFlagAck | TcpFlagFin | TcpFlagReset | TcpFlagPush | TcpFlagUrg => {
                if let (Some(t), Some(bit)) = (tcp, tcp_flag_bit(k)) {
                    f(Value::Bool(t.has(bit)));
                }
            }
            TcpWinValue | TcpWin => uint(f, tcp.map(|t| u64::from(t.window))),
            TcpAnalysisFlags => present(
                f,
                tcp.is_some() && self.row.analysis_bits() & ANALYSIS_ALL != 0,
            ),
            AnalysisRetransmission
            | AnalysisFastRetransmission
            | AnalysisSpuriousRetransmission
            | AnalysisOutOfOrder
            | AnalysisLostSegment
            | AnalysisAckLostSegment
            | AnalysisDuplicateAck
            | AnalysisZeroWindow
            | AnalysisZeroWindowProbe
            | AnalysisWindowFull
            | AnalysisWindowUpdate
            | AnalysisKeepAlive => {
                let bit = analysis_bit(k).unwrap_or(0);
                present(f, tcp.is_some() && self.row.analysis_bits() & bit != 0)
            }
            UdpLength => uint(f, udp.map(|u| u64::from(u.length))),
            DnsId => {
                for m in self.dns() {
                    if f(Value::UInt(u64::from(m.id))) {
                        return;
                    }
                }
            }
            DnsResponse => {
                for m in self.dns() {
                    if f(Value::Bool(m.flags.qr)) {
                        return;
                    }
                }
            }
            DnsRcode => {
                // tshark shows the 4-bit header RCODE (RFC 1035 §4.1.1), on responses.
                for m in self.dns().filter(|m| m.flags.qr) {
                    if f(Value::UInt(u64::from(m.flags.rcode & 0xf))) {
                        return;
                    }
                }
            }
            DnsQryName | DnsQryType => {
                for q in self.dns().flat_map(|m| &m.questions) {
                    let v = if k == DnsQryName {
                        Value::Str(q.name.as_bytes())
                    } else {
                        Value::UInt(u64::from(q.qtype))
                    };
                    if f(v) {
                        return;
                    }
                }
            }
            DnsA | DnsAaaa | DnsCname => {
                // tshark uses one field per type for records of every section.
                for r in self
                    .dns()
                    .flat_map(|m| m.answers.iter().chain(&m.authority).chain(&m.additional))
                {
                    let stop = match (&r.data, k) {
                        (RData::A(a), DnsA) => f(Value::Ip(std::net::IpAddr::V4(*a))),
                        (RData::Aaaa(a), DnsAaaa) => f(Value::Ip(std::net::IpAddr::V6(*a))),
                        (RData::Cname(c), DnsCname) => f(Value::Str(c.as_bytes())),
                        _ => false,
                    };
                    if stop {
                        return;
                    }
                }
            }
            DnsTime => {
                if let Some(t) = self.dns_time {
                    f(Value::Float(t));
                }
            }
            HttpRequest => present(f, self.http().any(|h| h.request)),
            HttpResponse => present(f, self.http().any(|h| !h.request)),
            HttpHost | HttpMethod | HttpUri | HttpContentType | HttpUserAgent | HttpReferer => {
                for h in self.http() {
                    let v = match k {
                        HttpHost => &h.host,
                        HttpMethod => &h.method,
                        HttpUri => &h.uri,
                        HttpContentType => &h.content_type,
                        HttpUserAgent => &h.user_agent,
                        _ => &h.referer,
                    };
                    if s(v, f) {
                        return;
                    }
                }
            }
            HttpCode => {
                for c in self.http().filter_map(|h| h.status) {
                    if f(Value::UInt(u64::from(c))) {
                        return;
                    }
                }
            }
            HttpTime => {
                for t in self.http().filter_map(|h| h.time_ns) {
                    if f(Value::Float(t as f64 / 1e9)) {
                        return;
                    }
                }
            }
            TlsHsType | TlsSni if self.tls.is_none() => {
                // Only the hello notes (a summary made without the TLS facts).
                for n in self.notes {
                    let stop = match (&n.data, k) {
                        (AppData::TlsClientHello { .. }, TlsHsType) => f(Value::UInt(1)),
                        (AppData::TlsServerHello, TlsHsType) => f(Value::UInt(2)),
                        (AppData::TlsClientHello { sni }, TlsSni) => s(sni, f),
                        _ => false,
                    };
                    if stop {
                        return;
                    }
                }
            }
            TlsHsType | TlsHsVersion => {
                for h in self.handshakes() {
                    let v = if k == TlsHsType {
                        Some(h.kind.into())
                    } else {
                        h.version.map(u64::from)
                    };
                    if v.is_some_and(|v| f(Value::UInt(v))) {
                        return;
                    }
                }
            }
            TlsCipherSuite => {
                for c in self.handshakes().flat_map(|h| &h.ciphersuites) {
                    if f(Value::UInt(u64::from(*c))) {
                        return;
                    }
                }
            }
            TlsSni => {
                for h in self.handshakes() {
                    if s(&h.sni, f) {
                        return;
                    }
                }
            }
            TlsAlpn => {
                for a in self.handshakes().flat_map(|h| &h.alpn) {
                    if f(Value::Str(a.as_bytes())) {
                        return;
                    }
                }
            }
            TlsRecordType | TlsRecordVersion | TlsAlertDesc => {
                for t in self.tls.unwrap_or_default() {
                    let v = match (t, k) {
                        (TlsField::Record { content_type, .. }, TlsRecordType) => *content_type,
                        (TlsField::Record { version, .. }, TlsRecordVersion) => {
                            f(Value::UInt(u64::from(*version)));
                            continue;
                        }
                        (TlsField::Alert(d), TlsAlertDesc) => Some(*d),
                        _ => None,
                    };
                    if v.is_some_and(|v| f(Value::UInt(u64::from(v)))) {
                        return;
                    }
                }
            }
            QuicHeaderForm | QuicLongType | QuicVersion | QuicPacketNumber => {
                for p in self.quic() {
                    let v = match k {
                        QuicHeaderForm => Some(u64::from(p.long)),
                        QuicLongType => p.long_type.map(u64::from),
                        QuicVersion => p.version.map(u64::from),
                        _ => p.pn,
                    };
                    if v.is_some_and(|v| f(Value::UInt(v))) {
                        return;
                    }
                }
            }
            QuicDcid | QuicScid => {
                for p in self.quic() {
                    let v = if k == QuicDcid {
                        Some(&p.dcid)
                    } else {
                        p.scid.as_ref()
                    };
                    if v.is_some_and(|v| f(Value::Str(v))) {
                        return;
                    }
                }
            }
            QuicFrameType => {
                for t in self.quic().flat_map(|p| &p.frames) {
                    if f(Value::UInt(*t)) {
                        return;
                    }
                }
            }
            H2StreamId | H2Type => {
                for fr in self.h2() {
                    let v = if k == H2StreamId {
                        u64::from(fr.stream)
                    } else {
                        u64::from(fr.kind)
                    };
                    if f(Value::UInt(v)) {
                        return;
                    }
                }
            }
            H2HeaderName | H2HeaderValue => {
                for h in self.h2().flat_map(|fr| &fr.headers) {
                    let v = if k == H2HeaderName { &h.name } else { &h.value };
                    if f(Value::Str(v)) {
                        return;
                    }
                }
            }
            H2Method | H2Path | H2Authority | H2Status => {
                let name: &[u8] = match k {
                    H2Method => b":method",
                    H2Path => b":path",
                    H2Authority => b":authority",
                    _ => b":status",
                };
                for h in self.h2().flat_map(|fr| &fr.headers) {
                    if h.name != name {
                        continue;
                    }
                    let stop = if k == H2Status {
                        // tshark's `:status` is a number; a value that is not one is
                        // not shown.
                        std::str::from_utf8(&h.value)
                            .ok()
                            .and_then(|v| v.parse::<u16>().ok())
                            .is_some_and(|v| f(Value::UInt(u64::from(v))))
                    } else {
                        f(Value::Str(&h.value))
                    };
                    if stop {
                        return;
                    }
                }
            }
            ConnId => uint(f, self.row.conn().map(|c| u64::from(c.0))),
            ConnState => {
                if let Some(o) = self.outcome {
                    f(Value::Str(o.state.as_bytes()));
                }
            }
            ConnName => {
                if let Some(o) = self.outcome {
                    s(&o.name, f);
                }
            }
            ConnClient | ConnServer => {
                let (Some(dir), Some(ip)) = (self.row.dir(), p.ip.as_ref()) else {
                    return;
                };
                let from_client = dir == crate::base::Direction::ClientToServer;
                let a: std::net::IpAddr = if (k == ConnClient) == from_client {
                    ip.src
                } else {
                    ip.dst
                };
                f(Value::Ip(a));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::index::{FilterContext, Redecoder};
    use crate::analysis::{Engine, EngineConfig};
    use crate::capture::{self, Frame, FrameMeta};
    use crate::filter::fields;
    use crate::filter::Filter;
    use proptest::prelude::*;

    /// Every value of every registry field, per frame of a capture, as text.
    fn values_of(path: &std::path::Path, frame_no: u64, names: &[&str]) -> Vec<Vec<String>> {
        let mut src = capture::open(path).unwrap();
        let mut engine = Engine::new(EngineConfig {
            want_app_fields: true,
            ..EngineConfig::default()
        });
        let (mut facts, mut re) = (FilterContext::default(), Redecoder::default());
        while let Ok(Some(frame)) = src.next_frame() {
            let s = engine.process(&frame);
            let out = re.with(&frame, |pkt, whole| {
                let step = facts.next(whole.unwrap_or(pkt), &s);
                let view = PacketView {
                    id: s.id,
                    len: s.len,
                    caplen: s.caplen,
                    rel: step.rel,
                    delta: step.delta,
                    pkt,
                    whole,
                    row: step.row,
                    tcp_rel: step.tcp_rel,
                    stream: facts.stream(step.row.conn()),
                    notes: &s.notes,
                    tls: s.tls.as_deref(),
                    dns_time: step.dns_time,
                    outcome: None,
                };
                names
                    .iter()
                    .map(|n| {
                        let mut v = Vec::new();
                        view.visit(fields::lookup(n).unwrap().id, &mut |x| {
                            v.push(match x {
                                Value::Str(b) => String::from_utf8_lossy(b).into_owned(),
                                Value::Ip(a) => a.to_string(),
                                Value::UInt(u) => u.to_string(),
                                Value::Bool(b) => b.to_string(),
                                Value::Float(f) => format!("{f:.6}"),
                                other => format!("{other:?}"),
                            });
                            false
                        });
                        v
                    })
                    .collect::<Vec<_>>()
            });
            if u64::from(s.id.0) + 1 == frame_no {
                return out;
            }
        }
        panic!("no frame {frame_no}");
    }

    #[test]
    fn dns_query_and_response_fields() {
        // lab-page.pcap frames 82/99: A query for static.lab.glasscom.com (id 0x6092)
        // and its answer, CNAME chain to 198.18.1.81, 18.192 ms later.
        let p = crate::testutil::bundled_capture("lab-page.pcap");
        let names = [
            "dns",
            "dns.id",
            "dns.qry.name",
            "dns.qry.type",
            "dns.flags.response",
            "dns.a",
            "dns.cname",
            "dns.time",
            "udp.port",
            "ip.src",
        ];
        let q = values_of(&p, 82, &names);
        assert_eq!(q[0], ["Present"]);
        assert_eq!(q[1], ["24722"]);
        assert_eq!(q[2], ["static.lab.glasscom.com"]);
        assert_eq!(q[3], ["1"]);
        assert_eq!(q[4], ["false"]);
        assert!(q[5].is_empty() && q[7].is_empty());
        assert_eq!(q[8], ["15277", "53"]);
        assert_eq!(q[9], ["198.18.0.10"]);
        let r = values_of(&p, 99, &names);
        assert_eq!(r[4], ["true"]);
        assert_eq!(r[5], ["198.18.1.81"]);
        assert_eq!(r[6], ["cdn.lab.glasscom.com", "media.lab.glasscom.com"]);
        assert_eq!(r[7], ["0.018192"]);
    }

    #[test]
    fn tls_and_http2_fields_of_the_https_page() {
        // lab-https-page.pcapng (keys in its DSB), as tshark 4.0 shows it
        // (tests/data/tls/truth/lab-https-page.*.tsv): frame 56 begins the ClientHello's
        // record (1448 of its bytes), 57 completes it; 66 completes the client's first
        // HEADERS; 70 the server's SETTINGS, WINDOW_UPDATE, SETTINGS ACK and HEADERS 200.
        let p = crate::testutil::bundled_capture("lab-https-page.pcapng");
        let names = [
            "tls",
            "tls.record.content_type",
            "tls.record.version",
            "tls.handshake.type",
            "tls.handshake.version",
            "tls.handshake.ciphersuite",
            "tls.handshake.extensions_server_name",
            "tls.handshake.extensions_alpn_str",
            "http2",
            "http2.streamid",
            "http2.type",
            "http2.headers.method",
            "http2.headers.path",
            "http2.headers.status",
            "http2.headers.authority",
        ];
        let start = values_of(&p, 56, &names);
        assert_eq!(start[0], ["Present"]);
        assert!(start[1..].iter().all(|v| v.is_empty()), "{start:?}");
        let ch = values_of(&p, 57, &names);
        assert_eq!(ch[1], ["22"]);
        assert_eq!(ch[2], ["769"]);
        assert_eq!(ch[3], ["1"]);
        assert_eq!(ch[4], ["771"]);
        assert_eq!(ch[5].len(), 16);
        assert_eq!(ch[5][..3], ["64250", "4865", "4866"]);
        assert_eq!(ch[6], ["secure.lab.glasscom.com"]);
        assert_eq!(ch[7], ["h2", "http/1.1"]);
        assert!(ch[8].is_empty());
        let get = values_of(&p, 66, &names);
        assert_eq!(get[1], ["23"], "decrypted TLS 1.3: the inner type");
        assert_eq!(get[8], ["Present"]);
        assert_eq!(
            (&get[9], &get[10]),
            (&vec!["1".to_string()], &vec!["1".to_string()])
        );
        assert_eq!(get[11], ["GET"]);
        assert_eq!(get[12], ["/page.html"]);
        assert_eq!(get[14], ["secure.lab.glasscom.com"]);
        let resp = values_of(&p, 70, &names);
        assert_eq!(resp[9], ["0", "0", "0", "1"]);
        assert_eq!(resp[10], ["4", "8", "4", "1"]);
        assert_eq!(resp[13], ["200"]);
        assert!(resp[11].is_empty() && resp[14].is_empty());
    }

    #[test]
    fn http_fields_sit_on_the_completing_packets() {
        // lab-curl.pcap: GET /old/ on connection 5 answered 301 (see `wiretale http`).
        let p = crate::testutil::bundled_capture("lab-curl.pcap");
        let f = Filter::compile("http.response.code == 301").unwrap();
        let g = Filter::compile("http.request.uri == \"/old/\"").unwrap();
        let mut src = capture::open(&p).unwrap();
        let mut engine = Engine::new(EngineConfig {
            want_app_fields: true,
            ..EngineConfig::default()
        });
        let mut facts = FilterContext::default();
        let (mut resp, mut req) = (Vec::new(), Vec::new());
        while let Ok(Some(frame)) = src.next_frame() {
            let s = engine.process(&frame);
            let pkt = crate::decode::decode(frame.meta.link, frame.data);
            let step = facts.next(&pkt, &s);
            let view = PacketView {
                id: s.id,
                len: s.len,
                caplen: s.caplen,
                rel: step.rel,
                delta: step.delta,
                pkt: &pkt,
                whole: None,
                row: step.row,
                tcp_rel: step.tcp_rel,
                stream: facts.stream(step.row.conn()),
                notes: &s.notes,
                tls: s.tls.as_deref(),
                dns_time: None,
                outcome: None,
            };
            if f.matches(&view) {
                resp.push((s.id, s.conn));
            }
            if g.matches(&view) {
                req.push((s.id, s.conn));
            }
        }
        assert_eq!(resp.len(), 1);
        assert_eq!(req.len(), 1);
        assert_eq!(resp[0].1, req[0].1, "same connection");
        assert!(req[0].0 < resp[0].0);
    }

    #[test]
    fn every_prefix_of_real_frames_is_answered_without_panic() {
        // lab-page.pcap frames 84 (DNS response with a CNAME chain) and 108 (the GET
        // of /static/app.js): each cut at every length, every field visited.
        let p = crate::testutil::bundled_capture("lab-page.pcap");
        let mut store = crate::capture::FrameStore::open(&p).unwrap();
        store.index_all();
        let filters = all_filters();
        for n in [84u32, 108] {
            let f = store.frame(crate::base::PacketId(n - 1)).unwrap();
            for len in 0..=f.data.len() {
                let data = &f.data[..len];
                let pkt = crate::decode::decode(f.meta.link, data);
                let view = PacketView {
                    id: f.meta.id,
                    len: f.meta.origlen,
                    caplen: len as u32,
                    rel: 0.0,
                    delta: 0.0,
                    pkt: &pkt,
                    whole: None,
                    row: PacketRow::default(),
                    tcp_rel: RelNumbers::default(),
                    stream: None,
                    notes: &[],
                    tls: None,
                    dns_time: None,
                    outcome: None,
                };
                let hits = filters.iter().filter(|f| f.matches(&view)).count();
                assert!(hits >= 1, "`frame` always matches");
            }
        }
    }

    fn all_filters() -> Vec<Filter> {
        fields::all()
            .iter()
            .map(|d| Filter::compile(d.name).unwrap())
            .collect()
    }

    proptest! {
        /// Arbitrary bytes on every link type, with arbitrary facts: visiting every
        /// field never panics.
        #[test]
        fn arbitrary_frames_never_panic(
            data in proptest::collection::vec(any::<u8>(), 0..200),
            link in prop_oneof![Just(1u32), Just(101), Just(113), Just(276), Just(0)],
            conn in any::<u32>(),
        ) {
            let frame = Frame {
                meta: FrameMeta {
                    id: crate::base::PacketId(0),
                    ts: crate::base::Timestamp(0),
                    iface: 0,
                    link: LinkType(link),
                    caplen: data.len() as u32,
                    origlen: data.len() as u32,
                },
                data: &data,
                secrets: &[],
            };
            let mut engine = Engine::new(EngineConfig { want_app_fields: true, ..EngineConfig::default() });
            let s = engine.process(&frame);
            let mut facts = FilterContext::default();
            let pkt = crate::decode::decode(frame.meta.link, frame.data);
            let mut step = facts.next(&pkt, &s);
            step.row.set_analysis(conn as u16);
            let view = PacketView {
                id: s.id, len: s.len, caplen: s.caplen, rel: 0.0, delta: 0.0,
                pkt: &pkt, whole: Some(&pkt), row: step.row, tcp_rel: step.tcp_rel, stream: Some(conn),
                notes: &s.notes, tls: s.tls.as_deref(), dns_time: None, outcome: None,
            };
            for f in all_filters() {
                let _ = f.matches(&view);
            }
        }
    }

    /// Every field is answered by `visit`'s exhaustive match (the compiler checks it);
    /// what is left to check is that ids and variants agree and that each flag and
    /// analysis field has its bit.
    #[test]
    fn ids_and_variants_agree() {
        for (i, d) in fields::all().iter().enumerate() {
            assert_eq!(d.field as usize, i, "{}", d.name);
            assert_eq!(d.id.field(), Some(d.field));
            if d.name.starts_with("tcp.flags.") {
                assert!(tcp_flag_bit(d.field).is_some(), "{}", d.name);
            }
            if d.name.starts_with("tcp.analysis.") && d.name != "tcp.analysis.flags" {
                assert!(analysis_bit(d.field).is_some(), "{}", d.name);
            }
        }
        assert_eq!(FieldId(u16::MAX).field(), None);
    }
}
