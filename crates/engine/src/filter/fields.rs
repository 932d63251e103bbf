//! The field registry: every name a filter may use, its type, and its documentation.
//!
//! Names follow tshark 4.0 wherever the field exists there (so an expression that works
//! in tshark works here, with the same meaning), plus wiretale's own `conn.*` fields.
//! A [`FieldId`] is the field's index in [`all()`], so engines can index arrays by it.
//! Times (`frame.time_relative`, `dns.time`, ...) are [`FieldKind::Float`] seconds.

/// Identity of a registry field; its index in [`all()`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub u16);

/// What values a field carries, which decides the operators and literals it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A flag: compares with `1`/`0`/`true`/`false`. A bare name tests *presence*, as
    /// in tshark (`tcp.flags.syn` matches every TCP packet; use `tcp.flags.syn == 1`).
    Bool,
    /// Unsigned integer.
    UInt,
    /// Signed integer.
    Int,
    /// Floating point; also times and durations in seconds.
    Float,
    /// IPv4 address (CIDR literals allowed).
    Ipv4,
    /// IPv6 address (CIDR literals allowed).
    Ipv6,
    /// Either family (wiretale's `conn.client`/`conn.server`).
    Ip,
    /// Ethernet MAC address.
    Mac,
    /// Text or bytes: `contains`, `matches`, comparisons bytewise.
    String,
    /// A byte string written in hex as Wireshark does (`00:df:04:1f`, `00-df-04-1f`,
    /// `00df041f`) or as a quoted string; compares bytewise (QUIC connection IDs).
    Bytes,
    /// A protocol: only presence can be tested.
    Protocol,
}

/// One entry of the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDef {
    /// Canonical name (tshark's where tshark has the field).
    pub name: &'static str,
    /// Value type.
    pub kind: FieldKind,
    /// Index in [`all()`].
    pub id: FieldId,
    /// The same field as a [`Field`] variant.
    pub field: Field,
    /// One line for help screens and completion.
    pub doc: &'static str,
}

impl FieldDef {
    /// The protocol this field belongs to: the part of the name before the first dot.
    pub fn protocol(&self) -> &'static str {
        self.name.split('.').next().unwrap_or(self.name)
    }
}

/// Each field once: name, value type, the variant engines match on, documentation. The
/// variant list, the name table and the ids all come from this one list.
macro_rules! registry {
    ($( $name:literal, $kind:ident, $variant:ident, $doc:literal; )*) => {
        /// Every registry field as a closed set, in registry order (so `Field as usize`
        /// is the field's [`FieldId`]): a record's `visit` matches on it instead of
        /// comparing names.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Field { $( $variant, )* }
        const VARIANTS: &[Field] = &[ $( Field::$variant, )* ];
        const RAW: &[(&str, FieldKind, &str)] = &[ $( ($name, FieldKind::$kind, $doc), )* ];
        static FIELDS: [FieldDef; RAW.len()] = {
            let mut out = [FieldDef { name: "", kind: FieldKind::Protocol, id: FieldId(0), field: Field::Frame, doc: "" }; RAW.len()];
            let mut i = 0;
            while i < RAW.len() {
                out[i] = FieldDef { name: RAW[i].0, kind: RAW[i].1, id: FieldId(i as u16), field: VARIANTS[i], doc: RAW[i].2 };
                i += 1;
            }
            out
        };
    };
}

registry! {
    "frame", Protocol, Frame, "Every frame";
    "eth", Protocol, Eth, "Ethernet II";
    "vlan", Protocol, Vlan, "802.1Q VLAN tag";
    "arp", Protocol, Arp, "Address Resolution Protocol";
    "ip", Protocol, Ip, "Internet Protocol version 4";
    "ipv6", Protocol, Ipv6, "Internet Protocol version 6";
    "icmp", Protocol, Icmp, "ICMP (for IPv4)";
    "icmpv6", Protocol, Icmpv6, "ICMPv6";
    "tcp", Protocol, Tcp, "Transmission Control Protocol";
    "udp", Protocol, Udp, "User Datagram Protocol";
    "dns", Protocol, Dns, "Domain Name System";
    "http", Protocol, Http, "HTTP/1.x";
    "tls", Protocol, Tls, "Transport Layer Security";
    "http2", Protocol, Http2, "HTTP/2 (h2c in the clear, or h2 decrypted with a key log)";
    "quic", Protocol, Quic, "QUIC (RFC 9000) on UDP";
    "http3", Protocol, Http3, "HTTP/3 (decrypted QUIC): the packet completed an HTTP/3 frame";
    "conn", Protocol, Conn, "Belongs to a wiretale connection";
    "frame.number", UInt, FrameNumber, "Frame number (1-based)";
    "frame.len", UInt, FrameLen, "Frame length on the wire (bytes)";
    "frame.cap_len", UInt, FrameCapLen, "Captured length (bytes)";
    "frame.time_relative", Float, FrameTimeRel, "Seconds since the first frame";
    "frame.time_delta", Float, FrameTimeDelta, "Seconds since the previous captured frame";
    "eth.addr", Mac, EthAddr, "Source or destination MAC";
    "eth.src", Mac, EthSrc, "Source MAC";
    "eth.dst", Mac, EthDst, "Destination MAC";
    "eth.type", UInt, EthType, "EtherType";
    "vlan.id", UInt, VlanId, "VLAN identifier";
    "mpls", Protocol, Mpls, "MPLS (a label stack around the packet)";
    "mpls.label", UInt, MplsLabel, "MPLS label (any entry of the stack)";
    "pppoes", Protocol, Pppoes, "PPPoE session stage";
    "pppoes.session_id", UInt, PppoesSession, "PPPoE session id";
    "gre", Protocol, Gre, "Generic Routing Encapsulation (and ERSPAN over it)";
    "gre.key", UInt, GreKey, "GRE key";
    "erspan", Protocol, Erspan, "ERSPAN (type I, II or III over GRE)";
    "vxlan", Protocol, Vxlan, "VXLAN (UDP 4789)";
    "vxlan.vni", UInt, VxlanVni, "VXLAN network identifier";
    "geneve", Protocol, Geneve, "Geneve (UDP 6081)";
    "geneve.vni", UInt, GeneveVni, "Geneve virtual network identifier";
    "teredo", Protocol, Teredo, "Teredo (IPv6 in UDP 3544)";
    "gtp", Protocol, Gtp, "GTP-U user plane (UDP 2152)";
    "gtp.teid", UInt, GtpTeid, "GTP-U tunnel endpoint identifier";
    "ip.addr", Ipv4, IpAddr, "Source or destination IPv4 address (any IPv4 layer: outer tunnel headers too)";
    "ip.src", Ipv4, IpSrc, "Source IPv4 address (any IPv4 layer)";
    "ip.dst", Ipv4, IpDst, "Destination IPv4 address (any IPv4 layer)";
    "ip.ttl", UInt, IpTtl, "Time to live";
    "ip.proto", UInt, IpProto, "Protocol number of the payload";
    "ip.len", UInt, IpLen, "Total length";
    "ip.id", UInt, IpId, "Identification";
    "ip.flags.df", Bool, IpDf, "Don't fragment";
    "ip.flags.mf", Bool, IpMf, "More fragments";
    "ip.frag_offset", UInt, IpFragOffset, "Fragment offset (bytes)";
    "ipv6.addr", Ipv6, Ipv6Addr, "Source or destination IPv6 address (any IPv6 layer)";
    "ipv6.src", Ipv6, Ipv6Src, "Source IPv6 address (any IPv6 layer)";
    "ipv6.dst", Ipv6, Ipv6Dst, "Destination IPv6 address (any IPv6 layer)";
    "ipv6.hlim", UInt, Ipv6Hlim, "Hop limit";
    "ipv6.nxt", UInt, Ipv6Nxt, "Next header";
    "icmp.type", UInt, IcmpType, "ICMP type";
    "icmp.code", UInt, IcmpCode, "ICMP code";
    "icmpv6.type", UInt, Icmpv6Type, "ICMPv6 type";
    "icmpv6.code", UInt, Icmpv6Code, "ICMPv6 code";
    "tcp.port", UInt, TcpPort, "Source or destination TCP port";
    "tcp.srcport", UInt, TcpSrcPort, "TCP source port";
    "tcp.dstport", UInt, TcpDstPort, "TCP destination port";
    "tcp.stream", UInt, TcpStream, "TCP conversation index, as tshark numbers it";
    "tcp.len", UInt, TcpLen, "TCP payload length";
    "tcp.seq", UInt, TcpSeq, "Relative sequence number";
    "tcp.ack", UInt, TcpAck, "Relative acknowledgment number";
    "tcp.flags", UInt, TcpFlags, "TCP flags (12 bits)";
    "tcp.flags.syn", Bool, TcpFlagSyn, "SYN flag";
    "tcp.flags.ack", Bool, TcpFlagAck, "ACK flag";
    "tcp.flags.fin", Bool, TcpFlagFin, "FIN flag";
    "tcp.flags.reset", Bool, TcpFlagReset, "RST flag";
    "tcp.flags.push", Bool, TcpFlagPush, "PSH flag";
    "tcp.flags.urg", Bool, TcpFlagUrg, "URG flag";
    "tcp.window_size_value", UInt, TcpWinValue, "Window field as sent (unscaled)";
    "tcp.window_size", UInt, TcpWin, "Window after scaling";
    "tcp.analysis.flags", Protocol, TcpAnalysisFlags, "Any TCP analysis finding";
    "tcp.analysis.retransmission", Protocol, AnalysisRetransmission, "Retransmission";
    "tcp.analysis.fast_retransmission", Protocol, AnalysisFastRetransmission, "Fast retransmission";
    "tcp.analysis.spurious_retransmission", Protocol, AnalysisSpuriousRetransmission, "Spurious retransmission";
    "tcp.analysis.out_of_order", Protocol, AnalysisOutOfOrder, "Out-of-order segment";
    "tcp.analysis.lost_segment", Protocol, AnalysisLostSegment, "Previous segment not captured";
    "tcp.analysis.ack_lost_segment", Protocol, AnalysisAckLostSegment, "ACKed segment that was not captured";
    "tcp.analysis.duplicate_ack", Protocol, AnalysisDuplicateAck, "Duplicate ACK";
    "tcp.analysis.zero_window", Protocol, AnalysisZeroWindow, "Zero window";
    "tcp.analysis.zero_window_probe", Protocol, AnalysisZeroWindowProbe, "Zero window probe";
    "tcp.analysis.window_full", Protocol, AnalysisWindowFull, "Window full";
    "tcp.analysis.window_update", Protocol, AnalysisWindowUpdate, "Window update";
    "tcp.analysis.keep_alive", Protocol, AnalysisKeepAlive, "Keep-alive";
    "udp.port", UInt, UdpPort, "Source or destination UDP port";
    "udp.srcport", UInt, UdpSrcPort, "UDP source port";
    "udp.dstport", UInt, UdpDstPort, "UDP destination port";
    "udp.length", UInt, UdpLength, "UDP length field";
    "udp.stream", UInt, UdpStream, "UDP conversation index, as tshark numbers it";
    "dns.id", UInt, DnsId, "Transaction ID";
    "dns.flags.response", Bool, DnsResponse, "Message is a response";
    "dns.flags.rcode", UInt, DnsRcode, "Response code";
    "dns.qry.name", String, DnsQryName, "Query name";
    "dns.qry.type", UInt, DnsQryType, "Query type";
    "dns.a", Ipv4, DnsA, "Answer IPv4 address";
    "dns.aaaa", Ipv6, DnsAaaa, "Answer IPv6 address";
    "dns.cname", String, DnsCname, "Answer canonical name";
    "dns.time", Float, DnsTime, "Seconds from query to this response";
    "http.request", Protocol, HttpRequest, "Message is an HTTP request";
    "http.response", Protocol, HttpResponse, "Message is an HTTP response";
    "http.host", String, HttpHost, "Host header";
    "http.request.method", String, HttpMethod, "Request method";
    "http.request.uri", String, HttpUri, "Request URI";
    "http.response.code", UInt, HttpCode, "Status code";
    "http.content_type", String, HttpContentType, "Content-Type header";
    "http.user_agent", String, HttpUserAgent, "User-Agent header";
    "http.referer", String, HttpReferer, "Referer header";
    "http.time", Float, HttpTime, "Seconds from request to this response";
    "tls.handshake.type", UInt, TlsHsType, "Handshake message type";
    "tls.handshake.extensions_server_name", String, TlsSni, "Server Name Indication";
    "tls.handshake.version", UInt, TlsHsVersion, "A hello's legacy version field (0x0303 in TLS 1.3)";
    "tls.handshake.ciphersuite", UInt, TlsCipherSuite, "Cipher suite offered (ClientHello) or chosen (ServerHello)";
    "tls.handshake.extensions_alpn_str", String, TlsAlpn, "ALPN protocol offered or chosen";
    "tls.record.content_type", UInt, TlsRecordType, "Record content type (decrypted TLS 1.3: the inner type)";
    "tls.record.version", UInt, TlsRecordVersion, "Record header's legacy version";
    "tls.alert_message.desc", UInt, TlsAlertDesc, "Alert description";
    "http2.streamid", UInt, H2StreamId, "HTTP/2 frame's stream identifier";
    "http2.type", UInt, H2Type, "HTTP/2 frame type (0 DATA, 1 HEADERS, 4 SETTINGS, ...)";
    "http2.header.name", String, H2HeaderName, "HTTP/2 decoded header name (pseudo-headers included)";
    "http2.header.value", String, H2HeaderValue, "HTTP/2 decoded header value";
    "http2.headers.method", String, H2Method, "HTTP/2 :method";
    "http2.headers.path", String, H2Path, "HTTP/2 :path";
    "http2.headers.status", UInt, H2Status, "HTTP/2 :status";
    "http2.headers.authority", String, H2Authority, "HTTP/2 :authority";
    "quic.header_form", UInt, QuicHeaderForm, "1 for a long header packet, 0 for a short header";
    "quic.long.packet_type", UInt, QuicLongType, "Long header type as in v1: 0 Initial, 1 0-RTT, 2 Handshake, 3 Retry";
    "quic.version", UInt, QuicVersion, "Version of a long header packet (0x00000001 for v1)";
    "quic.dcid", Bytes, QuicDcid, "Destination Connection ID";
    "quic.scid", Bytes, QuicScid, "Source Connection ID (long headers)";
    "quic.packet_number", UInt, QuicPacketNumber, "Packet number of a packet that was opened";
    "quic.frame_type", UInt, QuicFrameType, "Frame type of a frame in an opened packet (RFC 9000 §19)";
    "conn.id", UInt, ConnId, "wiretale connection id (as in `wiretale conns`)";
    "conn.state", String, ConnState, "Zeek-style connection state (S0, SF, REJ, ...)";
    "conn.name", String, ConnName, "Server name from the DNS answer that led to the connection";
    "conn.client", Ip, ConnClient, "Connection initiator address";
    "conn.server", Ip, ConnServer, "Connection responder address";
}

/// Short names accepted for longer fields: (alias, canonical).
pub const ALIASES: &[(&str, &str)] = &[
    ("tls.sni", "tls.handshake.extensions_server_name"),
    ("tcp.flags.rst", "tcp.flags.reset"),
    ("tcp.flags.psh", "tcp.flags.push"),
    ("ssl", "tls"),
];

impl FieldId {
    /// The field as a [`Field`] variant (`None` for an id outside the registry).
    pub fn field(self) -> Option<Field> {
        get(self).map(|d| d.field)
    }
}

/// Every field, indexed by [`FieldId`].
pub fn all() -> &'static [FieldDef] {
    &FIELDS
}

/// The definition behind an id (None for an id not from this registry).
pub fn get(id: FieldId) -> Option<&'static FieldDef> {
    FIELDS.get(usize::from(id.0))
}

/// A field by canonical name or alias.
pub fn lookup(name: &str) -> Option<&'static FieldDef> {
    let canonical = ALIASES
        .iter()
        .find(|(a, _)| *a == name)
        .map_or(name, |(_, c)| *c);
    FIELDS.iter().find(|f| f.name == canonical)
}

/// Names (canonical and aliases) starting with `prefix`, sorted, for completion.
pub fn complete(prefix: &str) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = FIELDS
        .iter()
        .map(|f| f.name)
        .chain(ALIASES.iter().map(|(a, _)| *a))
        .filter(|n| n.starts_with(prefix))
        .collect();
    v.sort_unstable();
    v
}

/// The nearest known name to a misspelt one: Damerau-Levenshtein (optimal string
/// alignment) distance ≤ 2, else the shortest name that `name` is a prefix of.
pub fn suggest(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 64 {
        return None;
    }
    let names = || {
        FIELDS
            .iter()
            .map(|f| f.name)
            .chain(ALIASES.iter().map(|(a, _)| *a))
    };
    let best = names()
        .map(|n| (osa_distance(name.as_bytes(), n.as_bytes()), n))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, n)| (*d, n.len()));
    if let Some((_, n)) = best {
        return Some(n);
    }
    names()
        .filter(|n| n.starts_with(name))
        .min_by_key(|n| n.len())
}

/// Optimal-string-alignment distance (Damerau-Levenshtein without repeated edits of a
/// substring), O(len_a × len_b); callers bound the lengths.
fn osa_distance(a: &[u8], b: &[u8]) -> usize {
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for (i, row) in d.chunks_mut(w).enumerate() {
        if let Some(first) = row.first_mut() {
            *first = i;
        }
    }
    for (j, cell) in d.iter_mut().take(w).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_indices_and_names_unique() {
        for (i, f) in all().iter().enumerate() {
            assert_eq!(usize::from(f.id.0), i);
            assert_eq!(lookup(f.name), Some(f));
            assert_eq!(get(f.id), Some(f));
        }
        let mut names: Vec<_> = all().iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all().len());
    }

    #[test]
    fn every_field_has_a_registered_protocol() {
        for f in all() {
            let p = lookup(f.protocol()).unwrap_or_else(|| panic!("{}", f.name));
            assert_eq!(p.kind, FieldKind::Protocol, "{}", f.name);
        }
    }

    #[test]
    fn aliases_resolve() {
        assert_eq!(
            lookup("tls.sni").map(|f| f.name),
            Some("tls.handshake.extensions_server_name")
        );
        assert_eq!(
            lookup("tcp.flags.rst").map(|f| f.name),
            Some("tcp.flags.reset")
        );
        for (a, c) in ALIASES {
            assert_eq!(lookup(a).map(|f| f.name), Some(*c));
        }
        assert!(lookup("ip.adr").is_none());
    }

    #[test]
    fn completion_and_suggestion() {
        assert_eq!(
            complete("tcp.flags."),
            vec![
                "tcp.flags.ack",
                "tcp.flags.fin",
                "tcp.flags.psh",
                "tcp.flags.push",
                "tcp.flags.reset",
                "tcp.flags.rst",
                "tcp.flags.syn",
                "tcp.flags.urg"
            ]
        );
        assert!(complete("zzz").is_empty());
        assert_eq!(suggest("ip.adr"), Some("ip.addr"));
        assert_eq!(suggest("tcp.prot"), Some("tcp.port"));
        assert_eq!(suggest("tcp.flags.sny"), Some("tcp.flags.syn"));
        assert_eq!(
            suggest("tcp.analysis.retrans"),
            Some("tcp.analysis.retransmission")
        );
        assert_eq!(suggest("qqqqqqqq"), None);
        assert_eq!(osa_distance(b"ab", b"ba"), 1);
        assert_eq!(osa_distance(b"", b"abc"), 3);
    }
}
