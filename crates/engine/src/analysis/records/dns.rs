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
    /// `answered`, `unanswered`, `unsolicited` (a response whose query was not seen),
    /// `refused` (no response, an ICMP destination unreachable instead: `icmp_outcome`);
    /// for mDNS also `announcement`, `goodbye` (an announcement with TTL 0) and `probe`
    /// (README, "Name services").
    #[schemars(extend("enum" = ["answered", "unanswered", "unsolicited", "refused", "announcement", "goodbye", "probe"]))]
    pub kind: &'static str,
    /// Announcements: when the last folded copy was seen (`response_ts` is the first).
    pub last_response_ts: Option<f64>,
    /// The operation: `query`, `notify`, `update`, …; for NetBIOS `registration`,
    /// `release`, `refresh`, `wack`, `multihomed registration` (RFC 1002 §4.2.1.1).
    pub opcode: String,
    pub partial: bool,
    /// The first question's name (NetBIOS: `NAME<20>`); empty when the message has none
    /// (mDNS responses, some error responses).
    pub qname: Wire<'a>,
    /// Mnemonic (`A`, `AAAA`, `HTTPS`, …; NetBIOS `NB`, `NBSTAT`).
    pub qtype: String,
    pub query_frame: Option<u64>,
    pub query_ts: Option<f64>,
    /// Every question, in wire order (`qname`/`qtype` are the first).
    pub questions: Vec<QuestionRecord<'a>>,
    /// Mnemonic (`NOERROR`, `NXDOMAIN`, …).
    pub rcode: Option<String>,
    /// Further copies of the same response folded into this record (mDNS
    /// announcements are repeated, RFC 6762 §8.3) or answering again.
    pub repeats: u32,
    pub response_frame: Option<u64>,
    pub response_ts: Option<f64>,
    pub retransmissions: u32,
    /// `seq` of the TCP transaction that retried this truncated UDP answer.
    pub retried_over_tcp: Option<u64>,
    /// From the last copy of the query (tshark's `dns.time`).
    pub rtt: Option<f64>,
    pub seq: u64,
    pub server: EndpointRecord,
    /// `dns`, `mdns` (RFC 6762), `llmnr` (RFC 4795) or `nbns` (NetBIOS, RFC 1002).
    #[schemars(extend("enum" = ["dns", "mdns", "llmnr", "nbns"]))]
    pub service: &'static str,
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

/// One question.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct QuestionRecord<'a> {
    /// Mnemonic, or the number as text.
    pub class: String,
    pub name: Wire<'a>,
    /// Mnemonic.
    #[serde(rename = "type")]
    pub qtype: String,
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
            rtype: dns::text::record_type_name(r),
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
            kind: t.kind().as_str(),
            last_response_ts: t
                .last_response_ts
                .filter(|_| t.announcement)
                .map(|t| t.as_secs_f64()),
            opcode: dns::text::opcode_name(t.service, t.flags().opcode),
            partial: t.partial,
            // No question at all is not a question for the root.
            qname: if t.questions.is_empty() {
                guard("")
            } else {
                guard(dns::text::display_name(&t.qname))
            },
            qtype: dns::text::service_type_name(t.service, t.qtype),
            questions: t
                .questions
                .iter()
                .map(|q| QuestionRecord {
                    class: dns::text::class_name(q.qclass),
                    name: guard(dns::text::display_name(&q.name)),
                    qtype: dns::text::service_type_name(t.service, q.qtype),
                })
                .collect(),
            query_frame: t.query_pkt.map(|p| p.frame_number()),
            query_ts: t.query_ts.map(|t| t.as_secs_f64()),
            rcode: t.rcode().map(|r| dns::text::service_rcode(t.service, r)),
            repeats: t.duplicate_responses,
            response_frame: t.response_pkt.map(|p| p.frame_number()),
            response_ts: t.response_ts.map(|t| t.as_secs_f64()),
            retransmissions: t.retransmissions,
            retried_over_tcp: t.retried_over_tcp,
            rtt: t.rtt(),
            seq: t.seq,
            server: (&t.server).into(),
            service: t.service.as_str(),
            tc_retry_of: t.tc_retry_of,
            transport: t.transport.as_str(),
        }
    }
}
