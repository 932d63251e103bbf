//! The NetBIOS name service (RFC 1001 §15, RFC 1002 §4.2, UDP port 137): name queries,
//! registrations, releases, refreshes and node status requests, with their positive,
//! negative, redirect and WACK responses.
//!
//! The packets share the DNS message layout (RFC 1002 §4.2.1: the same header, question
//! and resource record shapes, the same label string pointers), so they decode into a
//! [`dns::Message`] and pair in the same [`dns::DnsTracker`] (service `nbns`): a user
//! asking "which names did this host look up, and what came back" reads one table,
//! `wiretale dns`. What differs is decoded here:
//!
//! * names: the first label is the "first-level encoding" of a 16-byte NetBIOS name
//!   (RFC 1001 §14.1: each half-byte as a letter 'A'..'P'), shown as tshark does,
//!   `NAME<20>` (15 characters with the padding removed, and the suffix byte in hex),
//!   with any scope id after a dot;
//! * the NM_FLAGS B bit (broadcast, RFC 1002 §4.2.1.1) sits where DNS has CD: it is
//!   cleared in the decoded flags, so `cd` never reports it;
//! * types: NB (0x20) and NBSTAT (0x21, SRV in DNS) have RDATA of their own: NB_FLAGS +
//!   NB_ADDRESS entries (§4.2.2) and the node status name table (§4.2.18).

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Write;
use std::net::Ipv4Addr;

use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u32, be_u8};
use nom::Parser;

use crate::proto::dns::parse::{header, name, DnsError, PErr};
use crate::proto::dns::rdata::NbAddress;
use crate::proto::dns::{Message, Question, RData, Record};

/// The NetBIOS name service port (RFC 1002 §4.2.1).
pub const NBNS_PORT: u16 = 137;
pub use crate::proto::dns::nbns_names::{
    opcode_name, rcode_name, type_mnemonic, TYPE_NB, TYPE_NBSTAT,
};

/// Decodes a first-level encoded label (RFC 1001 §14.1): 32 letters 'A'..'P', two per
/// byte, high half first. `None` when the label is not one.
fn first_level(label: &[u8]) -> Option<[u8; 16]> {
    if label.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (o, pair) in out.iter_mut().zip(label.chunks_exact(2)) {
        let [hi, lo] = pair else { return None };
        if !(b'A'..=b'P').contains(hi) || !(b'A'..=b'P').contains(lo) {
            return None;
        }
        *o = ((hi - b'A') << 4) | (lo - b'A');
    }
    Some(out)
}

/// A 16-byte NetBIOS name as `NAME<xx>`: the first 15 bytes without their trailing
/// space (or NUL, for the `*` wildcard of node status requests) padding, escaped so any
/// byte is safe to print, and the 16th byte, the suffix, in hex (RFC 1001 §14, tshark's
/// form).
pub fn display_netbios_name(raw: &[u8; 16]) -> String {
    let (name, suffix) = raw.split_at(15);
    let end = name
        .iter()
        .rposition(|&b| b != b' ' && b != 0)
        .map_or(0, |p| p + 1);
    let mut s = String::new();
    for &b in name.get(..end).unwrap_or_default() {
        match b {
            b'<' | b'>' | b'\\' | b'.' => {
                let _ = write!(s, "\\x{b:02x}");
            }
            0x21..=0x7e | b' ' => s.push(b as char),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    let _ = write!(s, "<{:02x}>", suffix.first().copied().unwrap_or(0));
    s
}

/// A name in DNS presentation form (as [`name`] returns it) with its first label
/// decoded: `NAME<20>`, or `NAME<20>.scope` with a scope id. A first label that is not a
/// first-level encoding is left as it came (already escaped).
pub fn decode_name(presentation: &str) -> String {
    let (first, scope) = match presentation.split_once('.') {
        Some((f, s)) => (f, Some(s)),
        None => (presentation, None),
    };
    match first_level(first.as_bytes()) {
        Some(raw) => {
            let mut s = display_netbios_name(&raw);
            if let Some(scope) = scope {
                s.push('.');
                s.push_str(scope);
            }
            s
        }
        None => presentation.to_string(),
    }
}

type PResult<'a, T> = nom::IResult<&'a [u8], T, PErr>;

fn question<'a>(msg: &'a [u8], i: &'a [u8]) -> PResult<'a, Question> {
    let (i, n) = name(msg, i)?;
    let (i, (qtype, qclass)) = (be_u16, be_u16).parse_complete(i)?;
    Ok((
        i,
        Question {
            name: decode_name(&n),
            qtype,
            qclass,
            unicast_response: false,
        },
    ))
}

/// NB RDATA (RFC 1002 §4.2.2): NB_FLAGS + NB_ADDRESS, six bytes each; a negative
/// response may carry none.
fn nb_rdata(rd: &[u8]) -> Option<RData> {
    if !rd.len().is_multiple_of(6) {
        return None;
    }
    let addrs = rd
        .chunks_exact(6)
        .filter_map(|c| {
            let [f0, f1, a, b, c2, d] = c else {
                return None;
            };
            Some(NbAddress {
                flags: u16::from_be_bytes([*f0, *f1]),
                addr: Ipv4Addr::new(*a, *b, *c2, *d),
            })
        })
        .collect();
    Some(RData::Nb(addrs))
}

/// NBSTAT RDATA (RFC 1002 §4.2.18): NUM_NAMES, then each 16-byte name (not encoded)
/// with its NAME_FLAGS, then the statistics, whose first six bytes are the unit id.
fn nbstat_rdata(rd: &[u8]) -> Option<RData> {
    let entry = |i| -> PResult<'_, (String, u16)> {
        let (i, raw) = take(16usize).parse_complete(i)?;
        let (i, flags) = be_u16.parse_complete(i)?;
        let mut n = [0u8; 16];
        n.copy_from_slice(raw);
        Ok((i, (display_netbios_name(&n), flags)))
    };
    let (mut i, count) = be_u8::<_, PErr>.parse_complete(rd).ok()?;
    let mut names = Vec::with_capacity(usize::from(count).min(rd.len() / 18));
    for _ in 0..count {
        let (rest, e) = entry(i).ok()?;
        names.push(e);
        i = rest;
    }
    let unit_id = i.get(..6).and_then(|u| <[u8; 6]>::try_from(u).ok());
    Some(RData::NbStat { names, unit_id })
}

fn record<'a>(msg: &'a [u8], i: &'a [u8]) -> PResult<'a, Record> {
    let (i, n) = name(msg, i)?;
    let (i, (rtype, class, ttl, rdlen)) = (be_u16, be_u16, be_u32, be_u16).parse_complete(i)?;
    let (i, rd) = take(rdlen).parse_complete(i)?;
    let data = match rtype {
        TYPE_NB => nb_rdata(rd),
        TYPE_NBSTAT => nbstat_rdata(rd),
        _ => Some(RData::Unknown(rd.to_vec())),
    }
    .unwrap_or_else(|| RData::Malformed(rd.to_vec()));
    Ok((
        i,
        Record {
            name: decode_name(&n),
            rtype,
            class,
            ttl,
            data,
        },
    ))
}

/// Decodes one name service packet (a UDP payload) into the DNS message shape: see the
/// module docs. Counts are checked against the bytes left (never trusted to allocate).
pub fn parse_nbns(bytes: &[u8]) -> Result<Message, DnsError> {
    let run = || -> PResult<'_, Message> {
        let (mut i, (id, mut flags, [qd, an, ns, ar])) = header(bytes)?;
        // NM_FLAGS bit B (broadcast) is DNS's CD bit position.
        flags.cd = false;
        let mut questions = Vec::with_capacity(usize::from(qd).min(i.len() / 5));
        for _ in 0..qd {
            let (rest, q) = question(bytes, i)?;
            questions.push(q);
            i = rest;
        }
        let mut sections: [Vec<Record>; 3] = Default::default();
        for (sec, count) in sections.iter_mut().zip([an, ns, ar]) {
            sec.reserve(usize::from(count).min(i.len() / 11));
            for _ in 0..count {
                let (rest, r) = record(bytes, i)?;
                sec.push(r);
                i = rest;
            }
        }
        let [answers, authority, additional] = sections;
        Ok((
            i,
            Message {
                id,
                flags,
                questions,
                answers,
                authority,
                additional,
                edns: None,
                trailing: i.len(),
                anomalies: Vec::new(),
            },
        ))
    };
    match run() {
        Ok((_, m)) => Ok(m),
        Err(nom::Err::Error(PErr(e)) | nom::Err::Failure(PErr(e))) => Err(e),
        Err(nom::Err::Incomplete(_)) => Err(DnsError::Truncated),
    }
}

/// tshark's Info line for a name service packet: "Name query NB WPAD<00>",
/// "Name query response NB 10.0.0.5", "Registration NB HOST<20>", ….
pub fn info(m: &Message) -> String {
    let op = match m.flags.opcode {
        0 => "Name query".to_string(),
        5 => "Registration".to_string(),
        6 => "Release".to_string(),
        7 => "Wait for acknowledgment".to_string(),
        8 | 9 => "Refresh".to_string(),
        15 => "Multi-homed registration".to_string(),
        n => format!("Unknown operation ({n})"),
    };
    let mut s = op;
    if m.flags.qr {
        s.push_str(" response");
        if m.flags.rcode != 0 {
            let _ = write!(s, ", {}", rcode_name(m.flags.rcode));
        }
    }
    for q in &m.questions {
        let t = type_mnemonic(q.qtype).map_or_else(|| q.qtype.to_string(), str::to_string);
        let _ = write!(s, " {t} {}", q.name);
    }
    for r in &m.answers {
        let t = type_mnemonic(r.rtype).map_or_else(|| r.rtype.to_string(), str::to_string);
        let _ = write!(s, " {t} {}", r.name);
        if let RData::Nb(a) = &r.data {
            for a in a {
                let _ = write!(s, " {}", a.addr);
            }
        }
    }
    s
}

#[cfg(test)]
mod tests;
