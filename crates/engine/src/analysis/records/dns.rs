//! The DNS transaction record (`dns --json`).

use schemars::JsonSchema;
use serde::Serialize;

use super::{guard, guard_owned, EndpointRecord, Wire};
use crate::proto::dns::{self, DnsTransaction, Record};

/// One DNS query and its answer (README, "JSON Lines output").
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[schemars(
    title = "dns transaction",
    description = "One DNS query and its answer: a line of `wiretale dns --json`."
)]
pub struct DnsJson<'a> {
    pub additional: Vec<ResourceRecord<'a>>,
    /// In wire order, so a CNAME chain reads in order.
    pub answers: Vec<ResourceRecord<'a>>,
    pub authority: Vec<ResourceRecord<'a>>,
    pub client: EndpointRecord,
    /// The connection id (DNS over TCP, or the UDP flow), or null.
    pub conn: Option<u32>,
    pub flags: DnsFlagsRecord,
    /// Frame of the ICMP error in `icmp_outcome`, or null.
    pub icmp_frame: Option<u64>,
    /// An unanswered UDP query that an ICMP destination unreachable answered instead:
    /// `refused (ICMP port unreachable)` (from the server itself) or `unreachable (ICMP
    /// host unreachable from 198.18.0.1)`, else null; `rcode` stays null.
    pub icmp_outcome: Option<&'a str>,
    pub id: u16,
    pub partial: bool,
    pub qname: Wire<'a>,
    /// Mnemonic (`A`, `AAAA`, `HTTPS`, …).
    pub qtype: String,
    pub query_frame: Option<u64>,
    pub query_ts: Option<f64>,
    /// Mnemonic (`NOERROR`, `NXDOMAIN`, …).
    pub rcode: Option<String>,
    pub response_frame: Option<u64>,
    pub response_ts: Option<f64>,
    pub retransmissions: u32,
    /// `seq` of the TCP transaction that retried this truncated UDP answer.
    pub retried_over_tcp: Option<u64>,
    /// From the last copy of the query (tshark's `dns.time`).
    pub rtt: Option<f64>,
    pub seq: u64,
    pub server: EndpointRecord,
    /// `seq` of the truncated UDP answer this TCP query retried.
    pub tc_retry_of: Option<u64>,
    /// `udp` or `tcp`.
    #[schemars(extend("enum" = ["udp", "tcp"]))]
    pub transport: &'static str,
}

/// The header flags of the response.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct DnsFlagsRecord {
    pub aa: bool,
    pub ad: bool,
    pub cd: bool,
    pub ra: bool,
    pub rd: bool,
    pub tc: bool,
}

/// One resource record.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct ResourceRecord<'a> {
    pub data: Wire<'a>,
    pub name: Wire<'a>,
    pub ttl: u32,
    /// Mnemonic.
    #[serde(rename = "type")]
    pub rtype: String,
}

impl<'a> ResourceRecord<'a> {
    pub fn new(r: &'a Record) -> Self {
        ResourceRecord {
            data: guard_owned(dns::text::data_text(r)),
            name: guard(dns::text::display_name(&r.name)),
            ttl: r.ttl,
            rtype: dns::text::type_name(r.rtype),
        }
    }
}

impl<'a> DnsJson<'a> {
    pub fn new(t: &'a DnsTransaction) -> Self {
        let f = t.flags();
        let rrs = |v: &'a [Record]| v.iter().map(ResourceRecord::new).collect();
        DnsJson {
            additional: rrs(t.additional()),
            answers: rrs(t.answers()),
            authority: rrs(t.authority()),
            client: (&t.client).into(),
            conn: t.conn.map(|c| c.0),
            flags: DnsFlagsRecord {
                aa: f.aa,
                ad: f.ad,
                cd: f.cd,
                ra: f.ra,
                rd: f.rd,
                tc: f.tc,
            },
            icmp_frame: t.icmp_outcome.as_ref().map(|o| o.pkt.frame_number()),
            icmp_outcome: t.icmp_outcome.as_ref().map(|o| o.text.as_str()),
            id: t.id,
            partial: t.partial,
            qname: guard(dns::text::display_name(&t.qname)),
            qtype: dns::text::type_name(t.qtype),
            query_frame: t.query_pkt.map(|p| p.frame_number()),
            query_ts: t.query_ts.map(|t| t.as_secs_f64()),
            rcode: t.rcode().map(dns::text::rcode_mnemonic),
            response_frame: t.response_pkt.map(|p| p.frame_number()),
            response_ts: t.response_ts.map(|t| t.as_secs_f64()),
            retransmissions: t.retransmissions,
            retried_over_tcp: t.retried_over_tcp,
            rtt: t.rtt(),
            seq: t.seq,
            server: (&t.server).into(),
            tc_retry_of: t.tc_retry_of,
            transport: t.transport.as_str(),
        }
    }
}
