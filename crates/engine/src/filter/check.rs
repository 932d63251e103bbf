//! Type checking: resolve names in the [registry](super::fields), check that each
//! operator applies to the field's kind, and parse each literal as that kind. The
//! result is a typed tree whose literals are ready to compare (addresses, networks,
//! integers, compiled regexes), so evaluation never parses text.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use super::error::FilterError;
use super::fields::{self, FieldDef, FieldId, FieldKind};
use super::parse::{CmpOp, Expr, ExprKind, LitKind, Literal, Rel, SetItem};

/// An address prefix (`198.18.0.0/15`, `fe80::/10`); host bits are cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpNet {
    /// Whether `ip` lies in this network (never across address families).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(a) & mask == u32::from(n)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(a) & mask == u128::from(n)
            }
            _ => false,
        }
    }
}

/// A literal parsed as its field's kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Bool(bool),
    UInt(u64),
    Int(i64),
    Float(f64),
    Ip(IpAddr),
    Net(IpNet),
    Mac([u8; 6]),
    Bytes(Vec<u8>),
}

/// A set member after checking.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedItem {
    One(Operand),
    Range(Operand, Operand),
}

/// What a typed test asks.
#[derive(Debug, Clone)]
pub enum TypedRel {
    Present,
    Cmp(CmpOp, Operand),
    Contains(Vec<u8>),
    Matches(regex::bytes::Regex),
    In(Vec<TypedItem>),
}

/// The checked tree.
#[derive(Debug, Clone)]
pub enum Typed {
    Or(Box<Typed>, Box<Typed>),
    And(Box<Typed>, Box<Typed>),
    Not(Box<Typed>),
    Test {
        field: FieldId,
        mask: Option<u64>,
        rel: TypedRel,
    },
}

/// Regexes larger than this (compiled) are refused: filters come from users, but a
/// pathological pattern must not take the process's memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Check a parsed tree against the registry.
pub fn check(e: &Expr) -> Result<Typed, FilterError> {
    Ok(match &e.kind {
        ExprKind::Or(a, b) => Typed::Or(Box::new(check(a)?), Box::new(check(b)?)),
        ExprKind::And(a, b) => Typed::And(Box::new(check(a)?), Box::new(check(b)?)),
        ExprKind::Not(a) => Typed::Not(Box::new(check(a)?)),
        ExprKind::Test {
            field,
            field_span,
            mask,
            rel,
        } => check_test(field, field_span, mask.as_ref(), rel)?,
    })
}

fn err(msg: String, span: &Range<usize>) -> FilterError {
    FilterError::new(msg, span.clone())
}

fn check_test(
    name: &str,
    span: &Range<usize>,
    mask: Option<&Literal>,
    rel: &Rel,
) -> Result<Typed, FilterError> {
    let Some(def) = fields::lookup(name) else {
        let mut e = err(
            format!("\"{name}\" is not a valid protocol or protocol field"),
            span,
        );
        e.suggestion = fields::suggest(name).map(str::to_string);
        return Err(e);
    };
    let kind = def.kind;
    let mask = match mask {
        None => None,
        Some(l) if matches!(kind, FieldKind::UInt | FieldKind::Int) => match parse_int(l)? {
            0 => return Err(err("a bit mask of 0 never matches".into(), &l.span)),
            m => Some(m),
        },
        Some(l) => {
            return Err(err(
                format!(
                    "the bitwise AND applies to integer fields; \"{}\" is not one",
                    def.name
                ),
                &l.span,
            ))
        }
    };
    let rel = match rel {
        Rel::Present => TypedRel::Present,
        _ if kind == FieldKind::Protocol => {
            return Err(err(
                format!(
                    "\"{}\" is a protocol or flag without a value: only its presence can be tested",
                    def.name
                ),
                span,
            ))
        }
        Rel::Cmp(op, l) => {
            let ordering = matches!(op, CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge);
            if ordering && kind == FieldKind::Bool {
                return Err(err(
                    format!("\"{}\" is a boolean: only == and != apply", def.name),
                    span,
                ));
            }
            let v = operand(def, l, mask.is_some())?;
            if ordering && matches!(v, Operand::Net(_)) {
                return Err(err(
                    "a network (CIDR) can only be tested with == or !=".into(),
                    &l.span,
                ));
            }
            TypedRel::Cmp(*op, v)
        }
        Rel::Contains(l) => {
            if kind != FieldKind::String {
                return Err(err(
                    format!(
                        "\"contains\" applies to text fields; \"{}\" is not one",
                        def.name
                    ),
                    span,
                ));
            }
            let LitKind::Str(s) = &l.kind else {
                return Err(err(
                    "\"contains\" needs a double-quoted string".into(),
                    &l.span,
                ));
            };
            if s.is_empty() {
                return Err(err(
                    "an empty string is contained in everything".into(),
                    &l.span,
                ));
            }
            TypedRel::Contains(s.clone())
        }
        Rel::Matches(l) => {
            if kind != FieldKind::String {
                return Err(err(
                    format!(
                        "\"matches\" applies to text fields; \"{}\" is not one",
                        def.name
                    ),
                    span,
                ));
            }
            let LitKind::Str(s) = &l.kind else {
                return Err(err(
                    "\"matches\" needs a double-quoted regular expression".into(),
                    &l.span,
                ));
            };
            let Ok(pattern) = std::str::from_utf8(s) else {
                return Err(err(
                    "the regular expression is not valid UTF-8".into(),
                    &l.span,
                ));
            };
            // tshark: "Matches are case-insensitive by default"; `(?-i)` turns it off.
            let re = regex::bytes::RegexBuilder::new(pattern)
                .case_insensitive(true)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| {
                    err(
                        format!("invalid regular expression: {}", first_line(&e.to_string())),
                        &l.span,
                    )
                })?;
            TypedRel::Matches(re)
        }
        Rel::In(items) => {
            let mut out = Vec::with_capacity(items.len());
            for it in items {
                out.push(match it {
                    SetItem::One(l) => TypedItem::One(operand(def, l, mask.is_some())?),
                    SetItem::Range(a, b) => {
                        let (x, y) = (operand(def, a, mask.is_some())?, operand(def, b, mask.is_some())?);
                        if kind == FieldKind::Bool || matches!(x, Operand::Net(_)) || matches!(y, Operand::Net(_)) {
                            return Err(err("this kind of value cannot form a range".into(), &(a.span.start..b.span.end)));
                        }
                        if matches!((&x, &y), (Operand::Ip(p), Operand::Ip(q)) if p.is_ipv4() != q.is_ipv4()) {
                            return Err(err("a range cannot mix IPv4 and IPv6".into(), &(a.span.start..b.span.end)));
                        }
                        TypedItem::Range(x, y)
                    }
                });
            }
            TypedRel::In(out)
        }
    };
    Ok(Typed::Test {
        field: def.id,
        mask,
        rel,
    })
}

fn first_line(s: &str) -> &str {
    s.lines().last().unwrap_or(s).trim()
}

fn bare<'l>(def: &FieldDef, l: &'l Literal, what: &str) -> Result<&'l str, FilterError> {
    match &l.kind {
        LitKind::Bare(w) => Ok(w),
        LitKind::Str(_) => Err(err(
            format!("\"{}\" takes {what}, not a string", def.name),
            &l.span,
        )),
    }
}

/// Parse a literal as the field's kind. With a bit mask, the field compares as an
/// unsigned integer whatever its kind.
fn operand(def: &FieldDef, l: &Literal, masked: bool) -> Result<Operand, FilterError> {
    let bad = |what: &str, w: &str| err(format!("\"{w}\" is not a valid {what}"), &l.span);
    Ok(match def.kind {
        _ if masked => Operand::UInt(parse_int(l)?),
        FieldKind::Bool => {
            let w = bare(def, l, "1, 0, true or false")?;
            match w {
                "1" | "true" | "TRUE" | "True" => Operand::Bool(true),
                "0" | "false" | "FALSE" | "False" => Operand::Bool(false),
                _ => return Err(bad("boolean (1, 0, true or false)", w)),
            }
        }
        FieldKind::UInt => Operand::UInt(parse_int(l)?),
        FieldKind::Int => {
            let w = bare(def, l, "an integer")?;
            let (neg, digits) = w.strip_prefix('-').map_or((false, w), |d| (true, d));
            let v = parse_u64(digits).ok_or_else(|| bad("integer", w))?;
            let v = i64::try_from(v).map_err(|_| bad("integer (out of range)", w))?;
            Operand::Int(if neg { -v } else { v })
        }
        FieldKind::Float => {
            let w = bare(def, l, "a number")?;
            let ok = w.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == '-');
            match w.parse::<f64>() {
                Ok(v) if ok && v.is_finite() => Operand::Float(v),
                _ => match parse_u64(w) {
                    Some(v) => Operand::Float(v as f64),
                    None => return Err(bad("number", w)),
                },
            }
        }
        FieldKind::Ipv4 | FieldKind::Ipv6 | FieldKind::Ip => {
            let w = bare(def, l, "an address")?;
            let (family, want_v4) = match def.kind {
                FieldKind::Ipv4 => ("IPv4 address", Some(true)),
                FieldKind::Ipv6 => ("IPv6 address", Some(false)),
                _ => ("IP address", None),
            };
            let v = parse_ip_or_net(w).ok_or_else(|| bad(family, w))?;
            let is_v4 = match v {
                Operand::Ip(a) => a.is_ipv4(),
                Operand::Net(n) => n.addr.is_ipv4(),
                _ => false,
            };
            if want_v4.is_some_and(|w4| w4 != is_v4) {
                return Err(bad(family, w));
            }
            v
        }
        FieldKind::Mac => {
            let w = bare(def, l, "a MAC address")?;
            Operand::Mac(parse_mac(w).ok_or_else(|| bad("Ethernet address", w))?)
        }
        FieldKind::Bytes => match &l.kind {
            LitKind::Str(s) => Operand::Bytes(s.clone()),
            LitKind::Bare(w) => {
                Operand::Bytes(parse_hex_bytes(w).ok_or_else(|| bad("byte string in hex", w))?)
            }
        },
        FieldKind::String => match &l.kind {
            LitKind::Str(s) => Operand::Bytes(s.clone()),
            // tshark still accepts unquoted text here (deprecated); so do we.
            LitKind::Bare(w) => Operand::Bytes(w.as_bytes().to_vec()),
        },
        FieldKind::Protocol => {
            return Err(err("a protocol has no value to compare".into(), &l.span))
        }
    })
}

fn parse_int(l: &Literal) -> Result<u64, FilterError> {
    match &l.kind {
        LitKind::Bare(w) => parse_u64(w)
            .ok_or_else(|| err(format!("\"{w}\" is not a valid unsigned integer"), &l.span)),
        LitKind::Str(_) => Err(err("expected an integer, not a string".into(), &l.span)),
    }
}

/// An unsigned integer as Wireshark writes it: decimal, `0x` hex, `0b` binary, or
/// octal with a leading `0`.
pub fn parse_u64(w: &str) -> Option<u64> {
    let (digits, radix) = if let Some(h) = w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
        (h, 16)
    } else if let Some(b) = w.strip_prefix("0b").or_else(|| w.strip_prefix("0B")) {
        (b, 2)
    } else if w.len() > 1 && w.starts_with('0') {
        (&w[1..], 8)
    } else {
        (w, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// `a.b.c.d`, an IPv6 address, or either with `/prefix` (host bits cleared).
pub fn parse_ip_or_net(w: &str) -> Option<Operand> {
    let (addr, prefix) = match w.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (w, None),
    };
    let ip: IpAddr = if let Ok(v4) = addr.parse::<Ipv4Addr>() {
        IpAddr::V4(v4)
    } else {
        IpAddr::V6(addr.parse::<Ipv6Addr>().ok()?)
    };
    let Some(p) = prefix else {
        return Some(Operand::Ip(ip));
    };
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 3 {
        return None;
    }
    let prefix: u8 = p.parse().ok()?;
    let net = match ip {
        IpAddr::V4(a) if prefix <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
        }
        IpAddr::V6(a) if prefix <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
        }
        _ => return None,
    };
    Some(Operand::Net(IpNet { addr: net, prefix }))
}

/// `aa:bb:cc:dd:ee:ff`, `aa-bb-cc-dd-ee-ff` or `aabb.ccdd.eeff`.
/// Bytes in hex as Wireshark writes them: pairs separated by `:`, `-` or `.`, or one
/// run of an even number of hex digits.
pub fn parse_hex_bytes(w: &str) -> Option<Vec<u8>> {
    let digits: String = if w.contains([':', '-', '.']) {
        let groups: Vec<&str> = w.split([':', '-', '.']).collect();
        if groups.iter().any(|g| g.len() != 2) {
            return None;
        }
        groups.concat()
    } else {
        w.to_string()
    };
    if digits.is_empty() || !digits.len().is_multiple_of(2) {
        return None;
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(digits.get(i..i + 2)?, 16).ok())
        .collect()
}

pub fn parse_mac(w: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let groups: Vec<&str> = if w.contains(':') {
        w.split(':').collect()
    } else if w.contains('-') {
        w.split('-').collect()
    } else {
        w.split('.').collect()
    };
    let width = match groups.len() {
        6 => 2,
        3 => 4,
        _ => return None,
    };
    let mut k = 0;
    for g in groups {
        if g.len() != width || !g.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        for pair in g.as_bytes().chunks(2) {
            let s = std::str::from_utf8(pair).ok()?;
            *out.get_mut(k)? = u8::from_str_radix(s, 16).ok()?;
            k += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse::parse;

    fn check_str(s: &str) -> Result<Typed, FilterError> {
        check(&parse(s)?)
    }

    fn operand_of(s: &str) -> Operand {
        match check_str(s).unwrap() {
            Typed::Test {
                rel: TypedRel::Cmp(_, o),
                ..
            } => o,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn integers_in_every_base() {
        for s in [
            "frame.len > 10",
            "frame.len > 012",
            "frame.len > 0xa",
            "frame.len > 0b1010",
            "frame.len > 0XA",
            "frame.len > '\\n'",
        ] {
            assert_eq!(operand_of(s), Operand::UInt(10), "{s}");
        }
        assert_eq!(operand_of("frame.len == 0"), Operand::UInt(0));
        assert_eq!(
            operand_of("frame.len == 18446744073709551615"),
            Operand::UInt(u64::MAX)
        );
        for bad in ["09", "0x", "1a", "18446744073709551616", "-1", "0b2"] {
            assert!(parse_u64(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn addresses_networks_macs() {
        assert_eq!(
            operand_of("ip.addr == 1.2.3.4"),
            Operand::Ip("1.2.3.4".parse().unwrap())
        );
        assert_eq!(
            operand_of("ip.addr == 198.19.7.7/15"),
            Operand::Net(IpNet {
                addr: "198.18.0.0".parse().unwrap(),
                prefix: 15
            })
        );
        assert_eq!(
            operand_of("ipv6.addr == fe80::1/10"),
            Operand::Net(IpNet {
                addr: "fe80::".parse().unwrap(),
                prefix: 10
            })
        );
        assert_eq!(
            operand_of("ipv6.src == ::1"),
            Operand::Ip("::1".parse().unwrap())
        );
        assert_eq!(
            operand_of("conn.client == ::1"),
            Operand::Ip("::1".parse().unwrap())
        );
        assert_eq!(
            operand_of("conn.client == 10.0.0.0/0"),
            Operand::Net(IpNet {
                addr: "0.0.0.0".parse().unwrap(),
                prefix: 0
            })
        );
        let mac = [0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc];
        for s in [
            "eth.addr == 00:1b:21:aa:bb:cc",
            "eth.addr == 00-1B-21-AA-BB-CC",
            "eth.addr == 001b.21aa.bbcc",
        ] {
            assert_eq!(operand_of(s), Operand::Mac(mac), "{s}");
        }
        for bad in [
            "00:1b:21:aa:bb",
            "00:1b:21:aa:bb:ccc",
            "0:1b:21:aa:bb:cc",
            "001b.21aa.bbcg",
            "00:1b-21:aa:bb:cc",
        ] {
            assert!(parse_mac(bad).is_none(), "{bad}");
        }
        for bad in [
            "1.2.3.4/33",
            "1.2.3.4/",
            "::/129",
            "1.2.3",
            "1.2.3.4/+1",
            "1.2.3.4/0x8",
        ] {
            assert!(parse_ip_or_net(bad).is_none(), "{bad}");
        }
        let n = IpNet {
            addr: "198.18.0.0".parse().unwrap(),
            prefix: 15,
        };
        assert!(n.contains("198.19.255.255".parse().unwrap()));
        assert!(!n.contains("198.20.0.0".parse().unwrap()));
        assert!(!n.contains("::1".parse().unwrap()));
    }

    #[test]
    fn booleans_floats_strings() {
        assert_eq!(operand_of("tcp.flags.syn == true"), Operand::Bool(true));
        assert_eq!(operand_of("tcp.flags.syn == 0"), Operand::Bool(false));
        assert_eq!(operand_of("dns.time > 0.25"), Operand::Float(0.25));
        assert_eq!(operand_of("dns.time > 1"), Operand::Float(1.0));
        assert_eq!(
            operand_of("http.host == \"a\\x41\""),
            Operand::Bytes(b"aA".to_vec())
        );
        assert_eq!(
            operand_of("http.host == example.com"),
            Operand::Bytes(b"example.com".to_vec())
        );
    }

    /// Table of rejected filters: (input, expected span, message fragment, suggestion).
    #[test]
    fn errors_point_and_suggest() {
        let table: &[(&str, Range<usize>, &str, Option<&str>)] = &[
            (
                "ip.adr == 1.2.3.4",
                0..6,
                "is not a valid protocol or protocol field",
                Some("ip.addr"),
            ),
            (
                "tcp and tcp.prot == 80",
                8..16,
                "not a valid protocol",
                Some("tcp.port"),
            ),
            ("tls.sin", 0..7, "not a valid", Some("tls.sni")),
            ("ip.addr == 1.2.3", 11..16, "not a valid IPv4 address", None),
            ("ip.addr == ::1", 11..14, "not a valid IPv4 address", None),
            (
                "ipv6.addr == 10.0.0.1",
                13..21,
                "not a valid IPv6 address",
                None,
            ),
            (
                "tcp.port == 0x",
                12..14,
                "not a valid unsigned integer",
                None,
            ),
            ("tcp.port == \"80\"", 12..16, "not a string", None),
            ("tcp.flags.syn == 2", 17..18, "not a valid boolean", None),
            ("tcp.flags.syn > 0", 0..13, "only == and != apply", None),
            ("tcp == 1", 0..3, "only its presence", None),
            (
                "tcp.port contains \"a\"",
                0..8,
                "applies to text fields",
                None,
            ),
            (
                "http.host matches foo",
                18..21,
                "double-quoted regular expression",
                None,
            ),
            (
                "http.host matches \"(\"",
                18..21,
                "invalid regular expression",
                None,
            ),
            ("http.host contains \"\"", 19..21, "empty string", None),
            ("ip.addr > 10.0.0.0/8", 10..20, "CIDR", None),
            (
                "eth.addr == 00:11",
                12..17,
                "not a valid Ethernet address",
                None,
            ),
            (
                "frame.time_relative > abc",
                22..25,
                "not a valid number",
                None,
            ),
            (
                "frame.time_relative > inf",
                22..25,
                "not a valid number",
                None,
            ),
            (
                "ip.addr & 1",
                10..11,
                "bitwise AND applies to integer",
                None,
            ),
            ("tcp.flags & 0", 12..13, "mask of 0", None),
            (
                "tcp.port in {1, 10.0.0.1}",
                16..24,
                "not a valid unsigned integer",
                None,
            ),
            (
                "ip.addr in {10.0.0.0/8 .. 11.0.0.0}",
                12..34,
                "cannot form a range",
                None,
            ),
        ];
        for (input, span, msg, sugg) in table {
            let e = check_str(input)
                .err()
                .unwrap_or_else(|| panic!("accepted: {input}"));
            assert_eq!(&e.span, span, "{input}: {}", e.render(input));
            assert!(e.message.contains(msg), "{input}: {}", e.message);
            assert_eq!(e.suggestion.as_deref(), *sugg, "{input}");
        }
    }

    #[test]
    fn every_registry_field_parses_and_checks() {
        for f in fields::all() {
            let samples: &[&str] = match f.kind {
                FieldKind::Protocol => &[""],
                FieldKind::Bool => &["", " == 1", " != false", " in {0, 1}"],
                FieldKind::UInt => &[
                    "",
                    " == 1",
                    " >= 0x10",
                    " in {1, 3..5}",
                    " & 0x2",
                    " & 2 == 2",
                ],
                FieldKind::Int => &["", " == -1", " < 5"],
                FieldKind::Float => &["", " > 0.5", " in {1 .. 2.5}"],
                FieldKind::Ipv4 => &[
                    "",
                    " == 10.0.0.1",
                    " != 10.0.0.0/8",
                    " in {10.0.0.1 .. 10.0.0.9, 192.168.0.0/16}",
                ],
                FieldKind::Ipv6 => &["", " == ::1", " == fe80::/10", " in {::1, 2001:db8::/32}"],
                FieldKind::Ip => &["", " == ::1", " == 10.0.0.0/8"],
                FieldKind::Mac => &["", " == 00:11:22:33:44:55", " in {00-11-22-33-44-55}"],
                FieldKind::Bytes => &["", " == 00:df:04:1f", " == 00df041f", " == \"x\""],
                FieldKind::String => &[
                    "",
                    " == \"x\"",
                    " contains \"x\"",
                    " matches \"^x\"",
                    " in {\"a\", \"b\"}",
                ],
            };
            for s in samples {
                let input = format!("{}{s}", f.name);
                match check_str(&input) {
                    Ok(Typed::Test { field, .. }) => assert_eq!(field, f.id, "{input}"),
                    other => panic!("{input}: {other:?}"),
                }
            }
        }
    }
}
