//! DNS: message decoding (RFC 1035 §4 and its extensions), DNS over TCP framing, and
//! query/response pairing.
//!
//! * [`message`]: the decoded message's types ([`Message`], [`Flags`], [`Record`], …).
//! * [`parse`]: [`parse_message`] over one complete message (a UDP payload or one TCP
//!   message), with bounded, loop-proof name decompression.
//! * [`rdata`]: the record types decoded (A, AAAA, NS, CNAME, PTR, MX, TXT, SOA, SRV,
//!   CAA, OPT, DS, DNSKEY, RRSIG, NSEC, NSEC3, SVCB/HTTPS); others stay raw.
//! * [`text`]: tshark-style Info lines and one-line record data, for display.
//! * [`tcp`]: [`DnsTcpStream`], the two-byte length framing, with gap resynchronisation.
//! * [`detect`]: [`looks_like_dns`], content-based detection, and [`DnsPortProbe`], which
//!   believes DNS on another UDP port once a clean query and the response answering it
//!   were both seen.
//! * [`transactions`]: [`DnsTracker`] pairs messages into [`DnsTransaction`]s
//!   (retransmissions, unanswered queries, unsolicited responses, TC→TCP retries).
//!
//! Well-known ports: 53 (DNS), 5353 (mDNS, RFC 6762), 5355 (LLMNR, RFC 4795); see
//! [`is_dns_port`]. The NetBIOS name service (UDP 137) decodes in `proto::netbios` into
//! the same [`Message`] and pairs in the same tracker; [`Service`] tells them apart.

pub mod detect;
pub mod message;
pub mod nbns_names;
pub mod parse;
pub mod rdata;
pub mod tcp;
pub mod text;
pub mod transactions;
pub mod tree;

pub use detect::{looks_like_dns, DnsPortProbe, Probe};
pub use message::{Edns, EdnsOption, Flags, Message, Question, Record};
pub use parse::{parse_message, parse_prefix, DnsError};
pub use rdata::{NbAddress, RData, SvcParam};
pub use tcp::{DnsTcpStream, TcpDnsMessage};
pub use transactions::{
    DnsMeta, DnsTracker, DnsTransaction, IcmpOutcome, Service, Transport, TxKind,
};

/// Ports where UDP or TCP payloads are DNS without looking at them: DNS, mDNS, LLMNR.
pub fn is_dns_port(port: u16) -> bool {
    matches!(port, 53 | 5353 | 5355)
}

#[cfg(test)]
pub(crate) mod fixture;
