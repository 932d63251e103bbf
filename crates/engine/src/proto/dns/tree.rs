//! The detail-pane tree of one DNS message: header (id, flags, counts), questions, the
//! answer, authority and additional sections, and the EDNS OPT pseudo-record, each node
//! with the byte range it was decoded from.
//!
//! Ranges are offsets into the bytes given (the transport payload); the caller shifts
//! them into the frame. The message is walked field by field (RFC 1035 §4.1) with the
//! parser's own name and RDATA decoders, so the tree and the tables agree on every value;
//! where the walk stops (a cut or malformed message) a last node says where and why, and
//! everything before it stays.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::ops::Range;

use super::message::{Flags, Record};
use super::parse::name;
use super::rdata::{self, TYPE_OPT};
use super::text::{class_name, data_text, display_name, rcode_mnemonic, type_name};
use crate::base::FieldNode;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes(s.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(s.try_into().ok()?))
}

/// The tree of a DNS message carried over TCP that starts a segment: the 2-byte length
/// prefix (RFC 1035 §4.2.2) then the message; bytes after it (more messages) are
/// counted. `None` when the bytes are shorter than a prefix, or when the message would
/// not end in this segment and `whole` is set (the caller knows a message ended here,
/// so the segment is the tail of one that began earlier, not the start of one).
pub fn dns_tcp_tree(payload: &[u8], whole: bool) -> Option<FieldNode> {
    let len = u16_at(payload, 0)?;
    let end = 2 + len as usize;
    if whole && end > payload.len() {
        return None;
    }
    let msg = payload.get(2..end.min(payload.len())).unwrap_or_default();
    let mut n = dns_tree(msg);
    shift(&mut n, 2);
    n.range = 0..end.min(payload.len());
    n.children
        .insert(0, FieldNode::new(format!("Length: {len}"), 0..2));
    if msg.len() < len as usize {
        n.push(
            format!(
                "[Message continues in later segments: {} of {len} bytes here]",
                msg.len()
            ),
            payload.len()..payload.len(),
        );
    } else if end < payload.len() {
        n.push(
            format!("[{} more bytes after this message]", payload.len() - end),
            end..payload.len(),
        );
    }
    Some(n)
}

fn shift(n: &mut FieldNode, by: usize) {
    n.range = n.range.start + by..n.range.end + by;
    for c in &mut n.children {
        shift(c, by);
    }
}

/// The tree of one DNS message (a UDP payload, or a TCP message without its prefix).
pub fn dns_tree(msg: &[u8]) -> FieldNode {
    let mut root = FieldNode::new("Domain Name System", 0..msg.len());
    let (Some(id), Some(word)) = (u16_at(msg, 0), u16_at(msg, 2)) else {
        root.push(
            format!("[Too short for a DNS header: {} of 12 bytes]", msg.len()),
            0..msg.len(),
        );
        return root;
    };
    let flags = Flags::from_word(word);
    root.label = format!(
        "Domain Name System ({}), ID 0x{id:04x}",
        if flags.qr { "response" } else { "query" }
    );
    root.push(format!("Transaction ID: 0x{id:04x}"), 0..2);
    root.children.push(flags_node(word, &flags));
    let counts: Vec<Option<u16>> = (0..4).map(|k| u16_at(msg, 4 + 2 * k)).collect();
    for (k, what) in ["Questions", "Answer RRs", "Authority RRs", "Additional RRs"]
        .iter()
        .enumerate()
    {
        match counts.get(k).copied().flatten() {
            Some(c) => {
                root.push(format!("{what}: {c}"), 4 + 2 * k..6 + 2 * k);
            }
            None => {
                root.push(
                    format!("[Header cut short: {} of 12 bytes]", msg.len()),
                    msg.len()..msg.len(),
                );
                return root;
            }
        }
    }
    let counts: Vec<u16> = counts.into_iter().flatten().collect();
    let mut at = 12usize;
    // Questions (RFC 1035 §4.1.2), then resource records (RFC 1035 §4.1.3); OPT in the
    // additional section is EDNS (RFC 6891 §6.1.2).
    let sections: [(&str, Entry); 4] = [
        ("Queries", question),
        ("Answers", record),
        ("Authoritative nameservers", record),
        ("Additional records", record),
    ];
    for ((title, entry), &count) in sections.into_iter().zip(&counts) {
        match section(&mut root, title, count, msg, at, entry) {
            Some(end) => at = end,
            None => return root,
        }
    }
    if at < msg.len() {
        root.push(
            format!("[{} bytes after the last record]", msg.len() - at),
            at..msg.len(),
        );
    }
    root
}

/// Parses one question or record at a byte offset: its node and where it ends, or why
/// it could not.
type Entry = fn(&[u8], usize) -> Result<(FieldNode, usize), String>;

/// One section's `count` entries from `at`, under a node titled `title` (none when the
/// count is 0). Returns where the section ends, or `None` when an entry did not parse:
/// the section then ends with a node saying where and why.
fn section(
    root: &mut FieldNode,
    title: &str,
    count: u16,
    msg: &[u8],
    mut at: usize,
    entry: Entry,
) -> Option<usize> {
    if count == 0 {
        return Some(at);
    }
    let mut sec = FieldNode::new(title, at..at);
    for _ in 0..count {
        match entry(msg, at) {
            Ok((n, end)) => {
                sec.children.push(n);
                at = end;
            }
            Err(why) => {
                sec.range.end = at;
                sec.push(stop(at, &why), at..msg.len());
                root.children.push(sec);
                return None;
            }
        }
    }
    sec.range.end = at;
    root.children.push(sec);
    Some(at)
}

fn stop(at: usize, why: &str) -> String {
    format!("[Stopped at byte {at} of the message: {why}]")
}

fn flags_node(word: u16, f: &Flags) -> FieldNode {
    let r = 2..4;
    let bit = |on: bool| if on { "Set" } else { "Not set" };
    let mut n = FieldNode::new(
        format!(
            "Flags: 0x{word:04x} {}{}",
            if f.qr { "response" } else { "query" },
            if f.qr {
                format!(", {}", rcode_mnemonic(f.rcode))
            } else {
                String::new()
            }
        ),
        r.clone(),
    );
    n.push(
        format!(
            "Response: {}",
            if f.qr {
                "Message is a response"
            } else {
                "Message is a query"
            }
        ),
        2..3,
    );
    n.push(format!("Opcode: {}", f.opcode), 2..3);
    n.push(format!("Authoritative: {}", bit(f.aa)), 2..3);
    n.push(format!("Truncated: {}", bit(f.tc)), 2..3);
    n.push(format!("Recursion desired: {}", bit(f.rd)), 2..3);
    n.push(format!("Recursion available: {}", bit(f.ra)), 3..4);
    n.push(format!("Z (reserved): {}", bit(f.z)), 3..4);
    n.push(format!("Answer authenticated: {}", bit(f.ad)), 3..4);
    n.push(format!("Checking disabled: {}", bit(f.cd)), 3..4);
    n.push(
        format!("Reply code: {} ({})", rcode_mnemonic(f.rcode), f.rcode),
        3..4,
    );
    n
}

/// A name at `at`: its presentation form and the offset after its own bytes.
fn name_at(msg: &[u8], at: usize) -> Result<(String, usize), String> {
    let input = msg.get(at..).unwrap_or_default();
    match name(msg, input) {
        Ok((rest, n)) => Ok((n, msg.len() - rest.len())),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(format!("name: {}", e.0)),
        Err(nom::Err::Incomplete(_)) => Err("name: truncated".into()),
    }
}

fn question(msg: &[u8], at: usize) -> Result<(FieldNode, usize), String> {
    let (qname, p) = name_at(msg, at)?;
    let (Some(qtype), Some(qclass)) = (u16_at(msg, p), u16_at(msg, p + 2)) else {
        return Err("question cut short".into());
    };
    let shown = display_name(&qname);
    let mut n = FieldNode::new(
        format!(
            "{shown}: type {}, class {}",
            type_name(qtype),
            class_name(qclass & 0x7fff)
        ),
        at..p + 4,
    );
    n.push(format!("Name: {shown}"), at..p);
    n.push(format!("Type: {} ({qtype})", type_name(qtype)), p..p + 2);
    let mut class = format!("Class: {} (0x{qclass:04x})", class_name(qclass & 0x7fff));
    if qclass & 0x8000 != 0 {
        class.push_str(", unicast response requested");
    }
    n.push(class, p + 2..p + 4);
    Ok((n, p + 4))
}

fn record(msg: &[u8], at: usize) -> Result<(FieldNode, usize), String> {
    let (owner, p) = name_at(msg, at)?;
    let (Some(rtype), Some(class), Some(ttl), Some(rdlen)) = (
        u16_at(msg, p),
        u16_at(msg, p + 2),
        u32_at(msg, p + 4),
        u16_at(msg, p + 8),
    ) else {
        return Err("record header cut short".into());
    };
    let rd_start = p + 10;
    let rd_end = rd_start + rdlen as usize;
    let Some(rd) = msg.get(rd_start..rd_end) else {
        return Err(format!(
            "record data cut short ({} of {rdlen} bytes)",
            msg.len().saturating_sub(rd_start)
        ));
    };
    let shown = display_name(&owner).to_string();
    if rtype == TYPE_OPT {
        return Ok((opt(p, class, ttl, rdlen, rd, at..rd_end), rd_end));
    }
    // Malformed RDATA is kept raw, as the parser keeps it (shown in RFC 3597 form).
    let data =
        rdata::parse(msg, rtype, rd).unwrap_or_else(|_| rdata::RData::Malformed(rd.to_vec()));
    let rec = Record {
        name: owner,
        rtype,
        class,
        ttl,
        data,
    };
    let text = data_text(&rec);
    let mut n = FieldNode::new(
        format!(
            "{shown}: type {}, class {}, {text}",
            type_name(rtype),
            class_name(rec.class_value())
        ),
        at..rd_end,
    );
    n.push(format!("Name: {shown}"), at..p);
    n.push(format!("Type: {} ({rtype})", type_name(rtype)), p..p + 2);
    let mut cl = format!("Class: {} (0x{class:04x})", class_name(rec.class_value()));
    if rec.cache_flush() {
        cl.push_str(", cache flush");
    }
    n.push(cl, p + 2..p + 4);
    n.push(format!("Time to live: {ttl} s"), p + 4..p + 8);
    n.push(format!("Data length: {rdlen}"), p + 8..p + 10);
    if rdlen > 0 {
        n.push(format!("Data: {text}"), rd_start..rd_end);
    }
    Ok((n, rd_end))
}

/// The OPT pseudo-record (RFC 6891 §6.1.2–6.1.3): CLASS is the UDP payload size, TTL
/// holds the extended RCODE, version and the DO bit; RDATA is a list of options.
fn opt(p: usize, class: u16, ttl: u32, rdlen: u16, rd: &[u8], whole: Range<usize>) -> FieldNode {
    let rd_start = p + 10;
    let do_bit = ttl & 0x8000 != 0;
    let mut n = FieldNode::new(
        format!(
            "<Root>: type OPT (EDNS{}), UDP payload size {class}{}",
            (ttl >> 16) as u8,
            if do_bit { ", DO" } else { "" }
        ),
        whole.clone(),
    );
    n.push("Name: <Root>", whole.start..p);
    n.push("Type: OPT (41)", p..p + 2);
    n.push(format!("UDP payload size: {class}"), p + 2..p + 4);
    n.push(
        format!("Extended RCODE: {}", (ttl >> 24) as u8),
        p + 4..p + 5,
    );
    n.push(format!("EDNS version: {}", (ttl >> 16) as u8), p + 5..p + 6);
    n.push(
        format!("DNSSEC OK: {}", if do_bit { "Set" } else { "Not set" }),
        p + 6..p + 8,
    );
    n.push(format!("Data length: {rdlen}"), p + 8..p + 10);
    let mut o = 0usize;
    while o < rd.len() {
        let (Some(code), Some(len)) = (u16_at(rd, o), u16_at(rd, o + 2)) else {
            n.push("[Option cut short]", rd_start + o..rd_start + rd.len());
            break;
        };
        let end = o + 4 + len as usize;
        let data = rd.get(o + 4..end.min(rd.len())).unwrap_or_default();
        let what = match code {
            8 => {
                let fam = u16_at(data, 0).unwrap_or(0);
                let src = data.get(2).copied().unwrap_or(0);
                format!("Client subnet: family {fam}, source prefix /{src}")
            }
            10 => format!("Cookie: {} bytes", data.len()),
            12 => format!("Padding: {} bytes", data.len()),
            c => format!("Option {c}: {} bytes", data.len()),
        };
        let mut on = FieldNode::new(what, rd_start + o..rd_start + end.min(rd.len()));
        on.push(
            format!("Option code: {code}"),
            rd_start + o..rd_start + o + 2,
        );
        on.push(
            format!("Option length: {len}"),
            rd_start + o + 2..rd_start + o + 4,
        );
        n.children.push(on);
        if end > rd.len() {
            n.push(
                "[Option data cut short]",
                rd_start + rd.len()..rd_start + rd.len(),
            );
            break;
        }
        o = end;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::dns::fixture::hex;

    /// captures/lab-page.pcap frame 2, UDP payload (bytes 42.. of the frame): the
    /// response to 0xe1ad, www.lab.glasscom.com CNAME web.lab.glasscom.com A 198.18.1.80.
    const FRAME2_DNS: &str = "e1ad8580000100020000000003777777036c616208676c617373636f6d03636f6d0000010001c00c000500010000012c001603776562036c616208676c617373636f6d03636f6d00c032000100010000012c0004c6120150";

    fn find<'a>(n: &'a FieldNode, label: &str) -> &'a FieldNode {
        fn go<'b>(n: &'b FieldNode, label: &str) -> Option<&'b FieldNode> {
            if n.label == label {
                return Some(n);
            }
            n.children.iter().find_map(|c| go(c, label))
        }
        go(n, label).unwrap_or_else(|| panic!("no node {label:?} in {n:#?}"))
    }

    #[test]
    fn a_real_response_has_header_question_and_answers_with_their_bytes() {
        let msg = hex(FRAME2_DNS);
        let t = dns_tree(&msg);
        assert_eq!(t.label, "Domain Name System (response), ID 0xe1ad");
        assert_eq!(t.range, 0..88);
        assert_eq!(find(&t, "Transaction ID: 0xe1ad").range, 0..2);
        assert_eq!(find(&t, "Flags: 0x8580 response, NOERROR").range, 2..4);
        assert_eq!(find(&t, "Recursion desired: Set").range, 2..3);
        assert_eq!(find(&t, "Answer RRs: 2").range, 6..8);
        let q = find(&t, "www.lab.glasscom.com: type A, class IN");
        assert_eq!(q.range, 12..38);
        assert_eq!(find(q, "Name: www.lab.glasscom.com").range, 12..34);
        let answers = find(&t, "Answers");
        assert_eq!(answers.range, 38..88);
        let cname = find(
            &t,
            "www.lab.glasscom.com: type CNAME, class IN, web.lab.glasscom.com",
        );
        assert_eq!(cname.range, 38..72);
        // The compressed owner name is the 2-byte pointer c00c.
        assert_eq!(find(cname, "Name: www.lab.glasscom.com").range, 38..40);
        assert_eq!(find(cname, "Time to live: 300 s").range, 44..48);
        let a = find(&t, "web.lab.glasscom.com: type A, class IN, 198.18.1.80");
        assert_eq!(a.range, 72..88);
        assert_eq!(find(a, "Data: 198.18.1.80").range, 84..88);
        assert_eq!(&msg[84..88], &[198, 18, 1, 80]);
    }

    #[test]
    fn edns_opt_shows_payload_size_do_bit_and_options() {
        // ../shared/captures/tcpdump/edns-opts.pcap frame 3 (UDP payload): OPT with UDP
        // size 12345 and DO set; frame 5: size 4096 and a client-subnet option
        // (RFC 7871) for 192.0.2.0/24.
        let f3 =
            hex("b94001200001000000000001076578616d706c6503636f6d00000100010000293039000080000000");
        let t = dns_tree(&f3);
        let opt = find(&t, "<Root>: type OPT (EDNS0), UDP payload size 12345, DO");
        assert_eq!(opt.range, 29..40);
        assert_eq!(find(opt, "UDP payload size: 12345").range, 32..34);
        assert_eq!(find(opt, "DNSSEC OK: Set").range, 36..38);
        let f5 = hex("a30b01200001000000000001076578616d706c6503636f6d0000010001000029100000000000000b0008000700011800c00002");
        let t = dns_tree(&f5);
        let opt = find(&t, "<Root>: type OPT (EDNS0), UDP payload size 4096");
        assert_eq!(opt.range, 29..51);
        let ecs = find(opt, "Client subnet: family 1, source prefix /24");
        assert_eq!(ecs.range, 40..51);
        assert_eq!(find(ecs, "Option code: 8").range, 40..42);
        assert_eq!(find(&t, "Additional records").range, 29..51);
    }

    #[test]
    fn every_cut_of_a_real_message_keeps_what_parsed_and_says_where_it_stopped() {
        let msg = hex(FRAME2_DNS);
        for n in 0..msg.len() {
            let t = dns_tree(&msg[..n]);
            let mut ok = true;
            t.walk(&mut |c, _| ok &= c.range.end <= n && c.range.start <= c.range.end);
            assert!(ok, "cut at {n}: a range past the bytes");
            let last = t.children.last().map(|c| c.label.as_str()).unwrap_or("");
            let deep_last = {
                let mut l = String::new();
                t.walk(&mut |c, _| l = c.label.clone());
                l
            };
            assert!(
                last.starts_with('[') || deep_last.starts_with('['),
                "cut at {n}: no note of where it stopped ({deep_last})"
            );
        }
    }

    #[test]
    fn a_tcp_message_has_its_length_prefix() {
        let mut p = vec![0, 88];
        p.extend(hex(FRAME2_DNS));
        let t = dns_tcp_tree(&p, true).unwrap();
        assert_eq!(find(&t, "Length: 88").range, 0..2);
        assert_eq!(find(&t, "Transaction ID: 0xe1ad").range, 2..4);
        // The tail of a message begun in an earlier segment is not read as a message.
        assert!(dns_tcp_tree(&p[..50], true).is_none());
        let cut = dns_tcp_tree(&p[..50], false).unwrap();
        assert!(cut
            .children
            .iter()
            .any(|c| c.label == "[Message continues in later segments: 48 of 88 bytes here]"));
    }
}
