//! Text for humans: mnemonics, tshark-style Info lines, one-line RDATA summaries.
//!
//! These run at render time only (the Info column is built for visible rows), so they may
//! allocate. Everything that came from the wire is already escaped in names; other
//! wire bytes (TXT, CAA values) go through `base::escape`.

use std::fmt::Write;

use super::message::{Message, Record};
use super::rdata::{RData, SvcParam};
use crate::base::elide;
use crate::base::escape::push_escaped_bytes;

/// Type mnemonic (IANA "Resource Record (RR) TYPEs"); `None` for types without one here.
pub fn type_mnemonic(t: u16) -> Option<&'static str> {
    Some(match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        13 => "HINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        24 => "SIG",
        25 => "KEY",
        28 => "AAAA",
        29 => "LOC",
        33 => "SRV",
        35 => "NAPTR",
        37 => "CERT",
        39 => "DNAME",
        41 => "OPT",
        43 => "DS",
        44 => "SSHFP",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        59 => "CDS",
        60 => "CDNSKEY",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        249 => "TKEY",
        250 => "TSIG",
        251 => "IXFR",
        252 => "AXFR",
        255 => "ANY",
        256 => "URI",
        257 => "CAA",
        _ => return None,
    })
}

/// Type name as tshark prints it: the mnemonic, or "Unknown (N)".
pub fn type_name(t: u16) -> String {
    match type_mnemonic(t) {
        Some(m) => m.to_string(),
        None => format!("Unknown ({t})"),
    }
}

/// RCODE mnemonic (RFC 1035 §4.1.1, RFC 6895 §2.3), e.g. "NXDOMAIN".
pub fn rcode_mnemonic(rcode: u16) -> String {
    let s = match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADVERS",
        23 => "BADCOOKIE",
        n => return format!("RCODE{n}"),
    };
    s.to_string()
}

/// RCODE as tshark words it in the Info column ("No such name").
fn rcode_info(rcode: u16) -> String {
    let s = match rcode {
        1 => "Format error",
        2 => "Server failure",
        3 => "No such name",
        4 => "Not implemented",
        5 => "Refused",
        6 => "Name exists",
        7 => "RRset exists",
        8 => "RRset does not exist",
        9 => "Not authoritative",
        10 => "Name out of zone",
        16 => "Bad OPT Version or TSIG Signature Failure",
        23 => "Bad/missing server cookie",
        n => return format!("Unknown error ({n})"),
    };
    s.to_string()
}

fn opcode_info(op: u8) -> String {
    match op {
        0 => "Standard query".into(),
        1 => "Inverse query".into(),
        2 => "Server status request".into(),
        4 => "Zone change notification".into(),
        5 => "Dynamic update".into(),
        6 => "DNS Stateful operations (DSO)".into(),
        n => format!("Unknown operation ({n})"),
    }
}

/// A record's type name: NetBIOS records by their NetBIOS mnemonic (type 0x21 is NBSTAT
/// there, SRV in DNS), others by [`type_name`].
pub fn record_type_name(r: &Record) -> String {
    match r.data {
        RData::Nb(_) => "NB".into(),
        RData::NbStat { .. } => "NBSTAT".into(),
        _ => type_name(r.rtype),
    }
}

/// A question's type name in its service: NetBIOS types (RFC 1002 §4.2.1.2: NB 0x20,
/// NBSTAT 0x21, NULL 0x0A, NS 0x02, A 0x01) differ from DNS's.
pub fn service_type_name(service: super::Service, t: u16) -> String {
    if service == super::Service::Nbns {
        if let Some(n) = super::nbns_names::type_mnemonic(t) {
            return n.into();
        }
    }
    type_name(t)
}

/// The operation of a message: DNS opcodes (RFC 6895 §2.2) or, for NetBIOS, RFC 1002
/// §4.2.1.1's, in lower case (`query`, `update`, `registration`, …).
pub fn opcode_name(service: super::Service, op: u8) -> String {
    if service == super::Service::Nbns {
        return super::nbns_names::opcode_name(op);
    }
    match op {
        0 => "query".into(),
        1 => "iquery".into(),
        2 => "status".into(),
        4 => "notify".into(),
        5 => "update".into(),
        6 => "dso".into(),
        n => n.to_string(),
    }
}

/// RCODE mnemonic in its service: NetBIOS negative responses name 6 and 7 ACT_ERR and
/// CFT_ERR (RFC 1002 §4.2.6), so NetBIOS uses its own names for all of them.
pub fn service_rcode(service: super::Service, rcode: u16) -> String {
    if service == super::Service::Nbns {
        return super::nbns_names::rcode_name(rcode).into();
    }
    rcode_mnemonic(rcode)
}

/// CLASS mnemonic (RFC 1035 §3.2.4, RFC 6895 §3.2): IN, CH, HS, NONE, ANY, else the number.
pub fn class_name(c: u16) -> String {
    match c {
        1 => "IN".into(),
        3 => "CH".into(),
        4 => "HS".into(),
        254 => "NONE".into(),
        255 => "ANY".into(),
        n => n.to_string(),
    }
}

/// A name for display: the root is "<Root>", as tshark shows it.
pub fn display_name(n: &str) -> &str {
    if n.is_empty() {
        "<Root>"
    } else {
        n
    }
}

/// The Info column as tshark 4.0 prints it, e.g.
/// "Standard query response 0x1a2b A www.example.com CNAME x.example.net A 93.184.216.34".
/// Records of every section follow in wire order; only A, AAAA, NS, CNAME, PTR, SOA, MX,
/// SRV and NSEC show their data, like tshark.
pub fn info(m: &Message) -> String {
    info_with(m, false)
}

/// The Info column for multicast DNS (port 5353, RFC 6762), where tshark also shows the
/// question's QU/QM bit (§5.4) and each record's cache-flush bit (§10.2).
pub fn info_mdns(m: &Message) -> String {
    info_with(m, true)
}

fn info_with(m: &Message, mdns: bool) -> String {
    let mut s = opcode_info(m.flags.opcode);
    if m.flags.qr {
        s.push_str(" response");
    }
    let _ = write!(s, " 0x{:04x}", m.id);
    if m.flags.qr && m.flags.rcode != 0 {
        let _ = write!(s, " {}", rcode_info(m.flags.rcode));
    }
    for q in &m.questions {
        let _ = write!(s, " {} {}", type_name(q.qtype), display_name(&q.name));
        if mdns {
            let bit = if q.unicast_response { "QU" } else { "QM" };
            let _ = write!(s, ", \"{bit}\" question");
        }
    }
    for r in m.records() {
        let _ = write!(s, " {}", type_name(r.rtype));
        if mdns && r.cache_flush() {
            s.push_str(", cache flush");
        }
        match &r.data {
            RData::A(_)
            | RData::Aaaa(_)
            | RData::Ns(_)
            | RData::Cname(_)
            | RData::Ptr(_)
            | RData::Mx { .. }
            | RData::Srv { .. } => {
                let _ = write!(s, " {}", data_text(r));
            }
            RData::Soa { mname: n, .. } | RData::Nsec { next: n, .. } => {
                let _ = write!(s, " {}", display_name(n));
            }
            _ => {}
        }
    }
    s
}

fn push_hex(out: &mut String, b: &[u8]) {
    for x in b {
        let _ = write!(out, "{x:02X}");
    }
}

fn push_types(out: &mut String, types: &[u16]) {
    for t in types {
        out.push(' ');
        out.push_str(&type_name(*t));
    }
}

/// Each record as `TYPE data` (`A 198.18.1.80`, `CNAME web.lab.glasscom.com`): the
/// answers column of the `dns` command and the TUI's DNS view.
pub fn typed_data_texts(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| format!("{} {}", record_type_name(r), data_text(r)))
        .collect()
}

/// A record's data on one line: "93.184.216.34", "ns1.example.com",
/// "10 mail.example.com", `"v=spf1 -all"`; unknown types in RFC 3597 §5 form
/// (`\# 3 ABCDEF`). Safe to print.
pub fn data_text(r: &Record) -> String {
    let mut s = String::new();
    match &r.data {
        RData::A(a) => {
            let _ = write!(s, "{a}");
        }
        RData::Aaaa(a) => {
            let _ = write!(s, "{a}");
        }
        RData::Ns(n) | RData::Cname(n) | RData::Ptr(n) => s.push_str(display_name(n)),
        RData::Mx {
            preference,
            exchange,
        } => {
            let _ = write!(s, "{preference} {}", display_name(exchange));
        }
        RData::Txt(parts) => {
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                s.push('"');
                push_escaped_bytes(&mut s, p);
                s.push('"');
            }
        }
        RData::Soa {
            mname,
            rname,
            serial,
            refresh,
            retry,
            expire,
            minimum,
        } => {
            let _ = write!(
                s,
                "{} {} {serial} {refresh} {retry} {expire} {minimum}",
                display_name(mname),
                display_name(rname)
            );
        }
        RData::Srv {
            priority,
            weight,
            port,
            target,
        } => {
            let _ = write!(s, "{priority} {weight} {port} {}", display_name(target));
        }
        RData::Caa { flags, tag, value } => {
            let _ = write!(s, "{flags} {tag} \"");
            push_escaped_bytes(&mut s, value);
            s.push('"');
        }
        RData::Opt(opts) => {
            let _ = write!(s, "{} options", opts.len());
        }
        RData::Ds {
            key_tag,
            algorithm,
            digest_type,
            digest,
        } => {
            let _ = write!(s, "{key_tag} {algorithm} {digest_type} ");
            push_hex(&mut s, digest);
        }
        RData::Dnskey {
            flags,
            protocol,
            algorithm,
            public_key,
        } => {
            let _ = write!(
                s,
                "{flags} {protocol} {algorithm} ({} key bytes)",
                public_key.len()
            );
        }
        RData::Rrsig {
            type_covered,
            algorithm,
            labels,
            original_ttl,
            expiration,
            inception,
            key_tag,
            signer,
            ..
        } => {
            let _ = write!(
                s,
                "{} {algorithm} {labels} {original_ttl} {expiration} {inception} {key_tag} {}",
                type_name(*type_covered),
                display_name(signer)
            );
        }
        RData::Nsec { next, types } => {
            s.push_str(display_name(next));
            push_types(&mut s, types);
        }
        RData::Nsec3 {
            hash_algorithm,
            flags,
            iterations,
            salt,
            next_hashed,
            types,
        } => {
            let _ = write!(s, "{hash_algorithm} {flags} {iterations} ");
            if salt.is_empty() {
                s.push('-');
            } else {
                push_hex(&mut s, salt);
            }
            s.push(' ');
            push_hex(&mut s, next_hashed);
            push_types(&mut s, types);
        }
        RData::Svcb {
            priority,
            target,
            params,
        } => {
            let t = if target.is_empty() { "." } else { target };
            let _ = write!(s, "{priority} {t}");
            for p in params {
                s.push(' ');
                match p {
                    SvcParam::Mandatory(keys) => {
                        s.push_str("mandatory=");
                        for (i, k) in keys.iter().enumerate() {
                            let _ = write!(s, "{}{k}", if i > 0 { "," } else { "" });
                        }
                    }
                    SvcParam::Alpn(ids) => {
                        let _ = write!(s, "alpn={}", ids.join(","));
                    }
                    SvcParam::NoDefaultAlpn => s.push_str("no-default-alpn"),
                    SvcParam::Port(p) => {
                        let _ = write!(s, "port={p}");
                    }
                    SvcParam::Ipv4Hint(a) => {
                        s.push_str("ipv4hint=");
                        for (i, x) in a.iter().enumerate() {
                            let _ = write!(s, "{}{x}", if i > 0 { "," } else { "" });
                        }
                    }
                    SvcParam::Ech(n) => {
                        let _ = write!(s, "ech=({n} bytes)");
                    }
                    SvcParam::Ipv6Hint(a) => {
                        s.push_str("ipv6hint=");
                        for (i, x) in a.iter().enumerate() {
                            let _ = write!(s, "{}{x}", if i > 0 { "," } else { "" });
                        }
                    }
                    SvcParam::Other { key, value } => {
                        let _ = write!(s, "key{key}=");
                        push_hex(&mut s, value);
                    }
                }
            }
        }
        RData::Nb(addrs) => {
            for (i, a) in addrs.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                let _ = write!(s, "{}", a.addr);
                if a.group() {
                    s.push_str(" (group)");
                }
            }
        }
        RData::NbStat { names, unit_id } => {
            for (i, (n, _)) in names.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                s.push_str(n);
            }
            if let Some(m) = unit_id {
                let mac: Vec<String> = m.iter().map(|b| format!("{b:02x}")).collect();
                let _ = write!(s, " unit {}", mac.join(":"));
            }
        }
        RData::Unknown(b) | RData::Malformed(b) => {
            let _ = write!(s, "\\# {} ", b.len());
            push_hex(&mut s, b);
        }
    }
    s
}

/// [`data_text`] for text output and the TUI: a value longer than
/// [`elide::VALUE_COLUMNS`] (a TXT record of kilobytes) is cut with `…` and the count
/// of characters left out. `--json` uses [`data_text`], whole.
pub fn data_short(r: &Record) -> String {
    let full = data_text(r);
    match elide::value(&full, elide::VALUE_COLUMNS) {
        std::borrow::Cow::Borrowed(_) => full,
        std::borrow::Cow::Owned(s) => s,
    }
}

/// Records as text output lists them, `A 93.184.216.34, CNAME x.example.net`: at most
/// [`elide::LIST_ITEMS`], each value shortened by [`data_short`], the rest counted
/// (`… (+32 more)`).
pub fn records_short(records: &[Record]) -> String {
    let shown = records
        .iter()
        .take(elide::LIST_ITEMS)
        .map(|r| format!("{} {}", record_type_name(r), data_short(r)));
    let hidden = records.len().saturating_sub(elide::LIST_ITEMS);
    // `list` counts the hidden items without formatting them.
    elide::list(
        shown.chain(std::iter::repeat_n(String::new(), hidden)),
        ", ",
        elide::LIST_ITEMS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::dns::fixture;
    use crate::proto::dns::parse::parse_message;

    fn record(rtype: u16, data: RData) -> Record {
        Record {
            name: "big.example".into(),
            rtype,
            class: 1,
            ttl: 60,
            data,
        }
    }

    #[test]
    fn long_values_and_long_answer_lists_are_elided_with_a_count() {
        let txt = record(16, RData::Txt(vec![vec![b'x'; 4000]]));
        assert_eq!(data_text(&txt).len(), 4002, "full value for --json");
        let short = data_short(&txt);
        assert!(short.starts_with("\"xxx"), "{short}");
        assert!(short.ends_with("… (+3,883 chars)"), "{short}");
        assert!(elide::width(&short) < elide::VALUE_COLUMNS + 20);
        let many: Vec<Record> = (1..=40u8)
            .map(|i| record(1, RData::A(std::net::Ipv4Addr::new(198, 18, 0, i))))
            .collect();
        let s = records_short(&many);
        assert!(s.starts_with("A 198.18.0.1, A 198.18.0.2, "), "{s}");
        assert!(s.ends_with(", … (+32 more)"), "{s}");
        assert_eq!(records_short(&many[..2]), "A 198.18.0.1, A 198.18.0.2");
    }

    #[test]
    fn info_matches_tshark_on_every_fixture_message() {
        let mut compared = 0;
        let mut bad = Vec::new();
        for (r, b) in fixture::messages() {
            let Ok(m) = parse_message(&b) else { continue };
            // tshark joins the Info of several messages in one TCP segment; compare the
            // single-message frames.
            let mdns = r.src.port == 5353 || r.dst.port == 5353;
            let got = if mdns { info_mdns(&m) } else { info(&m) };
            // Several messages in one TCP segment: tshark shows the last one's Info.
            let last = fixture::messages()
                .iter()
                .rfind(|(x, _)| x.capture == r.capture && x.frame == r.frame)
                .is_some_and(|(_, lb)| *lb == b);
            if !last {
                continue;
            }
            compared += 1;
            if got != r.info {
                bad.push(format!(
                    "{} #{}\n  tshark: {}\n  ours:   {}",
                    r.capture, r.frame, r.info, got
                ));
            }
        }
        assert!(compared > 300, "{compared}");
        assert!(bad.is_empty(), "{} differ:\n{}", bad.len(), bad.join("\n"));
    }
}
