//! The decoded DNS message (RFC 1035 §4.1): header flags, questions, resource records,
//! EDNS (RFC 6891). Parsing is `parse.rs`; these types are what every consumer reads.

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::rdata::{self, RData};
use crate::base::Anomaly;

/// Header flags (RFC 1035 §4.1.1, RFC 4035 §3.2 for AD/CD), with the full 12-bit RCODE
/// once an OPT record supplies its upper 8 bits (RFC 6891 §6.1.3).
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// Response (1) or query (0).
    pub qr: bool,
    pub opcode: u8,
    pub aa: bool,
    pub tc: bool,
    pub rd: bool,
    pub ra: bool,
    /// The reserved Z bit (bit 9).
    pub z: bool,
    pub ad: bool,
    pub cd: bool,
    /// Extended RCODE: header's 4 bits | OPT's upper 8 bits << 4.
    pub rcode: u16,
}

impl Flags {
    /// Names of the set flags among aa, tc, rd, ra, ad, cd, in that order (the CLI's
    /// `flags` list).
    pub fn set_names(&self) -> Vec<&'static str> {
        [
            (self.aa, "aa"),
            (self.tc, "tc"),
            (self.rd, "rd"),
            (self.ra, "ra"),
            (self.ad, "ad"),
            (self.cd, "cd"),
        ]
        .into_iter()
        .filter_map(|(on, n)| on.then_some(n))
        .collect()
    }

    /// Decodes the 16-bit flags word; `rcode` is the header's 4 bits only.
    pub fn from_word(w: u16) -> Self {
        Flags {
            qr: w & 0x8000 != 0,
            opcode: ((w >> 11) & 0x0f) as u8,
            aa: w & 0x0400 != 0,
            tc: w & 0x0200 != 0,
            rd: w & 0x0100 != 0,
            ra: w & 0x0080 != 0,
            z: w & 0x0040 != 0,
            ad: w & 0x0020 != 0,
            cd: w & 0x0010 != 0,
            rcode: w & 0x000f,
        }
    }
}

/// A question entry (RFC 1035 §4.1.2).
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// Presentation form (see [`Record::name`]).
    pub name: String,
    pub qtype: u16,
    /// Class without the mDNS unicast-response bit.
    pub qclass: u16,
    /// mDNS "QU" bit: the top bit of QCLASS (RFC 6762 §5.4).
    pub unicast_response: bool,
}

/// A resource record (RFC 1035 §4.1.3).
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Owner name in presentation form: labels joined by '.', no trailing dot, the root
    /// as "" (shown "<Root>"); '.' and '\' inside a label are backslash-escaped and bytes
    /// outside printable ASCII (other than space) become `\DDD` (RFC 1035 §5.1), so the
    /// string is always safe to print.
    pub name: String,
    pub rtype: u16,
    /// CLASS as on the wire (for OPT: the requestor's UDP payload size; for mDNS the top
    /// bit is the cache-flush bit, RFC 6762 §10.2).
    pub class: u16,
    pub ttl: u32,
    pub data: RData,
}

impl Record {
    /// mDNS cache-flush bit (RFC 6762 §10.2): the top bit of CLASS (not for OPT, whose
    /// CLASS is a payload size).
    pub fn cache_flush(&self) -> bool {
        self.rtype != rdata::TYPE_OPT && self.class & 0x8000 != 0
    }

    /// CLASS without the cache-flush bit (OPT: the UDP payload size as is).
    pub fn class_value(&self) -> u16 {
        if self.rtype == rdata::TYPE_OPT {
            self.class
        } else {
            self.class & 0x7fff
        }
    }
}

/// One EDNS(0) option (RFC 6891 §6.1.2).
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum EdnsOption {
    /// Client subnet (RFC 7871 §6): family 1 = IPv4, 2 = IPv6; address bytes as sent
    /// (only the prefix's octets).
    ClientSubnet {
        family: u16,
        source_prefix: u8,
        scope_prefix: u8,
        address: Vec<u8>,
    },
    /// DNS cookie (RFC 7873 §4): 8-byte client cookie, optional 8–32-byte server cookie.
    Cookie { client: Vec<u8>, server: Vec<u8> },
    /// Padding (RFC 7830): only its length matters.
    Padding(u16),
    /// Any other option, kept raw.
    Other { code: u16, data: Vec<u8> },
}

/// The OPT pseudo-record's contents (RFC 6891 §6.1.3).
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Edns {
    pub udp_size: u16,
    pub ext_rcode: u8,
    pub version: u8,
    /// DNSSEC OK (RFC 3225).
    pub do_bit: bool,
    pub options: Vec<EdnsOption>,
}

/// A decoded DNS message.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub id: u16,
    pub flags: Flags,
    pub questions: Vec<Question>,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
    pub additional: Vec<Record>,
    /// From the first OPT record in the additional section.
    pub edns: Option<Edns>,
    /// Bytes after the last record (ignored, but worth noting).
    pub trailing: usize,
    /// Oddities that did not stop the parse (malformed RDATA kept raw, several OPT
    /// records, trailing bytes).
    pub anomalies: Vec<Anomaly>,
}

impl Message {
    /// The first question, which is what transactions are keyed on.
    pub fn question(&self) -> Option<&Question> {
        self.questions.first()
    }

    /// All records in wire order (answer, authority, additional).
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.answers
            .iter()
            .chain(&self.authority)
            .chain(&self.additional)
    }
}
