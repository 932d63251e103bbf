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
    /// One line for help screens and completion.
    pub doc: &'static str,
}

impl FieldDef {
    /// The protocol this field belongs to: the part of the name before the first dot.
    pub fn protocol(&self) -> &'static str {
        self.name.split('.').next().unwrap_or(self.name)
    }
}

macro_rules! registry {
    ($( $name:literal, $kind:ident, $doc:literal; )*) => {
        const RAW: &[(&str, FieldKind, &str)] = &[ $( ($name, FieldKind::$kind, $doc), )* ];
        static FIELDS: [FieldDef; RAW.len()] = {
            let mut out = [FieldDef { name: "", kind: FieldKind::Protocol, id: FieldId(0), doc: "" }; RAW.len()];
            let mut i = 0;
            while i < RAW.len() {
                out[i] = FieldDef { name: RAW[i].0, kind: RAW[i].1, id: FieldId(i as u16), doc: RAW[i].2 };
                i += 1;
            }
            out
        };
    };
}

registry! {
    "frame", Protocol, "Every frame";
    "eth", Protocol, "Ethernet II";
    "vlan", Protocol, "802.1Q VLAN tag";
    "arp", Protocol, "Address Resolution Protocol";
    "ip", Protocol, "Internet Protocol version 4";
    "ipv6", Protocol, "Internet Protocol version 6";
    "icmp", Protocol, "ICMP (for IPv4)";
    "icmpv6", Protocol, "ICMPv6";
    "tcp", Protocol, "Transmission Control Protocol";
    "udp", Protocol, "User Datagram Protocol";
    "dns", Protocol, "Domain Name System";
    "http", Protocol, "HTTP/1.x";
    "tls", Protocol, "Transport Layer Security";
    "conn", Protocol, "Belongs to a wiretale connection";
    "frame.number", UInt, "Frame number (1-based)";
    "frame.len", UInt, "Frame length on the wire (bytes)";
    "frame.cap_len", UInt, "Captured length (bytes)";
    "frame.time_relative", Float, "Seconds since the first frame";
    "frame.time_delta", Float, "Seconds since the previous captured frame";
    "eth.addr", Mac, "Source or destination MAC";
    "eth.src", Mac, "Source MAC";
    "eth.dst", Mac, "Destination MAC";
    "eth.type", UInt, "EtherType";
    "vlan.id", UInt, "VLAN identifier";
    "ip.addr", Ipv4, "Source or destination IPv4 address";
    "ip.src", Ipv4, "Source IPv4 address";
    "ip.dst", Ipv4, "Destination IPv4 address";
    "ip.ttl", UInt, "Time to live";
    "ip.proto", UInt, "Protocol number of the payload";
    "ip.len", UInt, "Total length";
    "ip.id", UInt, "Identification";
    "ip.flags.df", Bool, "Don't fragment";
    "ip.flags.mf", Bool, "More fragments";
    "ip.frag_offset", UInt, "Fragment offset (bytes)";
    "ipv6.addr", Ipv6, "Source or destination IPv6 address";
    "ipv6.src", Ipv6, "Source IPv6 address";
    "ipv6.dst", Ipv6, "Destination IPv6 address";
    "ipv6.hlim", UInt, "Hop limit";
    "ipv6.nxt", UInt, "Next header";
    "icmp.type", UInt, "ICMP type";
    "icmp.code", UInt, "ICMP code";
    "icmpv6.type", UInt, "ICMPv6 type";
    "icmpv6.code", UInt, "ICMPv6 code";
    "tcp.port", UInt, "Source or destination TCP port";
    "tcp.srcport", UInt, "TCP source port";
    "tcp.dstport", UInt, "TCP destination port";
    "tcp.stream", UInt, "TCP conversation index, as tshark numbers it";
    "tcp.len", UInt, "TCP payload length";
    "tcp.seq", UInt, "Relative sequence number";
    "tcp.ack", UInt, "Relative acknowledgment number";
    "tcp.flags", UInt, "TCP flags (12 bits)";
    "tcp.flags.syn", Bool, "SYN flag";
    "tcp.flags.ack", Bool, "ACK flag";
    "tcp.flags.fin", Bool, "FIN flag";
    "tcp.flags.reset", Bool, "RST flag";
    "tcp.flags.push", Bool, "PSH flag";
    "tcp.flags.urg", Bool, "URG flag";
    "tcp.window_size_value", UInt, "Window field as sent (unscaled)";
    "tcp.window_size", UInt, "Window after scaling";
    "tcp.analysis.flags", Protocol, "Any TCP analysis finding";
    "tcp.analysis.retransmission", Protocol, "Retransmission";
    "tcp.analysis.fast_retransmission", Protocol, "Fast retransmission";
    "tcp.analysis.spurious_retransmission", Protocol, "Spurious retransmission";
    "tcp.analysis.out_of_order", Protocol, "Out-of-order segment";
    "tcp.analysis.lost_segment", Protocol, "Previous segment not captured";
    "tcp.analysis.ack_lost_segment", Protocol, "ACKed segment that was not captured";
    "tcp.analysis.duplicate_ack", Protocol, "Duplicate ACK";
    "tcp.analysis.zero_window", Protocol, "Zero window";
    "tcp.analysis.zero_window_probe", Protocol, "Zero window probe";
    "tcp.analysis.window_full", Protocol, "Window full";
    "tcp.analysis.window_update", Protocol, "Window update";
    "tcp.analysis.keep_alive", Protocol, "Keep-alive";
    "udp.port", UInt, "Source or destination UDP port";
    "udp.srcport", UInt, "UDP source port";
    "udp.dstport", UInt, "UDP destination port";
    "udp.length", UInt, "UDP length field";
    "udp.stream", UInt, "UDP conversation index, as tshark numbers it";
    "dns.id", UInt, "Transaction ID";
    "dns.flags.response", Bool, "Message is a response";
    "dns.flags.rcode", UInt, "Response code";
    "dns.qry.name", String, "Query name";
    "dns.qry.type", UInt, "Query type";
    "dns.a", Ipv4, "Answer IPv4 address";
    "dns.aaaa", Ipv6, "Answer IPv6 address";
    "dns.cname", String, "Answer canonical name";
    "dns.time", Float, "Seconds from query to this response";
    "http.request", Protocol, "Message is an HTTP request";
    "http.response", Protocol, "Message is an HTTP response";
    "http.host", String, "Host header";
    "http.request.method", String, "Request method";
    "http.request.uri", String, "Request URI";
    "http.response.code", UInt, "Status code";
    "http.content_type", String, "Content-Type header";
    "http.user_agent", String, "User-Agent header";
    "http.referer", String, "Referer header";
    "http.time", Float, "Seconds from request to this response";
    "tls.handshake.type", UInt, "Handshake message type";
    "tls.handshake.extensions_server_name", String, "Server Name Indication";
    "conn.id", UInt, "wiretale connection id (as in `wiretale conns`)";
    "conn.state", String, "Zeek-style connection state (S0, SF, REJ, ...)";
    "conn.name", String, "Server name from the DNS answer that led to the connection";
    "conn.client", Ip, "Connection initiator address";
    "conn.server", Ip, "Connection responder address";
}

/// Short names accepted for longer fields: (alias, canonical).
pub const ALIASES: &[(&str, &str)] = &[
    ("tls.sni", "tls.handshake.extensions_server_name"),
    ("tcp.flags.rst", "tcp.flags.reset"),
    ("tcp.flags.psh", "tcp.flags.push"),
    ("ssl", "tls"),
];

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
