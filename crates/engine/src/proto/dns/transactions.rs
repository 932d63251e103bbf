//! Pairing queries with responses into transactions.
//!
//! A query and its response share client, server, transport, message id and question
//! (RFC 5452 §9.1 lists the same fields for accepting an answer); matching on all of them
//! keeps reused ids apart. The name is compared case-insensitively because resolvers
//! randomise case ("0x20" encoding) and servers echo it.
//!
//! Memory is bounded: at most `limit` queries wait for an answer (the oldest is given up
//! as unanswered past that, with a `dns_pending_limit` anomaly), and a query unanswered
//! for `timeout` of capture time is finished as unanswered. Finished transactions are
//! handed out in order of their first message by [`DnsTracker::drain_finished`], which
//! holds back only those newer than the oldest still-open transaction.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::message::{Flags, Message, Question, Record};
use crate::base::{Anomaly, AnomalyKind, ConnId, Endpoint, PacketId, Timestamp};

/// The transport a DNS message travelled over.
#[derive(
    serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }
}

/// Where and when a message was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DnsMeta {
    pub ts: Timestamp,
    pub pkt: PacketId,
    pub conn: Option<ConnId>,
    pub transport: Transport,
    pub src: Endpoint,
    pub dst: Endpoint,
    /// The message is the first one decoded after a reassembly gap (see `tcp.rs`).
    pub after_gap: bool,
}

/// How a transaction ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxKind {
    Answered,
    /// A query that never got a response.
    Unanswered,
    /// A response whose query was not seen.
    Unsolicited,
    /// No response, and an ICMP destination unreachable about the query came back
    /// (`DnsTransaction::icmp_outcome` says which).
    IcmpError,
    /// mDNS: a response no query in the capture asked for (RFC 6762 §8.3 announcing,
    /// or a host refreshing its neighbours' caches); repeated copies fold into one.
    Announcement,
    /// mDNS: an announcement whose every answer has TTL 0 (RFC 6762 §10.1 goodbye).
    Goodbye,
    /// mDNS: a probe (RFC 6762 §8.1: a query with the records it means to claim in the
    /// authority section); never a lookup, never paired with a response.
    Probe,
}

impl TxKind {
    /// The `kind` of `dns --json`.
    pub fn as_str(self) -> &'static str {
        match self {
            TxKind::Answered => "answered",
            TxKind::Unanswered => "unanswered",
            TxKind::Unsolicited => "unsolicited",
            TxKind::Announcement => "announcement",
            TxKind::Goodbye => "goodbye",
            TxKind::Probe => "probe",
            TxKind::IcmpError => "refused",
        }
    }

    /// A lookup someone made (answered or not), as opposed to mDNS announcements and
    /// probes, which name nothing and are not told as lookups.
    pub fn is_lookup(self) -> bool {
        matches!(
            self,
            TxKind::Answered | TxKind::Unanswered | TxKind::Unsolicited | TxKind::IcmpError
        )
    }
}

/// Which name service a message belongs to, from its ports: DNS, multicast DNS
/// (RFC 6762, UDP 5353), LLMNR (RFC 4795, UDP 5355) or the NetBIOS name service
/// (RFC 1002 §4.2, UDP 137).
#[derive(
    serde::Serialize, serde::Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash,
)]
pub enum Service {
    #[default]
    Dns,
    Mdns,
    Llmnr,
    Nbns,
}

impl Service {
    /// The service of a message between these ports (the well-known port on either side).
    pub fn of_ports(a: u16, b: u16) -> Self {
        let either = |p| a == p || b == p;
        if either(5353) {
            Service::Mdns
        } else if either(5355) {
            Service::Llmnr
        } else if either(137) {
            Service::Nbns
        } else {
            Service::Dns
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Service::Dns => "dns",
            Service::Mdns => "mdns",
            Service::Llmnr => "llmnr",
            Service::Nbns => "nbns",
        }
    }
}

/// One query/response exchange, with what the CLI's transaction record needs.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
pub struct DnsTransaction {
    /// Order of creation (first message seen); used for `tc_retry_of` links.
    pub seq: u64,
    pub conn: Option<ConnId>,
    pub transport: Transport,
    pub client: Endpoint,
    pub server: Endpoint,
    pub id: u16,
    /// First question (presentation form, as the query sent it); "" when none.
    pub qname: String,
    pub qtype: u16,
    pub qclass: u16,
    /// Every question of the query (of the response when no query was seen), in wire
    /// order; `qname`/`qtype`/`qclass` are the first.
    pub questions: Vec<Question>,
    pub service: Service,
    /// mDNS: a response no query asked for (see [`TxKind::Announcement`]).
    pub announcement: bool,
    /// mDNS: a probe (see [`TxKind::Probe`]).
    pub probe: bool,
    /// Time of the last folded copy of an announcement (`response_ts` is the first).
    pub last_response_ts: Option<Timestamp>,
    pub query_ts: Option<Timestamp>,
    pub query_pkt: Option<PacketId>,
    pub query_flags: Option<Flags>,
    /// Time of the last copy of the query (equals `query_ts` without retransmissions).
    pub last_query_ts: Option<Timestamp>,
    pub response_ts: Option<Timestamp>,
    pub response_pkt: Option<PacketId>,
    /// The response, whole (answers in wire order, EDNS, extended RCODE).
    pub response: Option<Box<Message>>,
    /// Further copies of the query sent before any response.
    pub retransmissions: u32,
    /// Responses after the first (e.g. a resolver answering twice).
    pub duplicate_responses: u32,
    /// A reassembly gap may have cost part of this exchange.
    pub partial: bool,
    /// For a TCP transaction: the UDP transaction whose truncated (TC) answer it retries.
    pub tc_retry_of: Option<u64>,
    /// For a truncated UDP answer: the TCP transaction that retried it.
    pub retried_over_tcp: Option<u64>,
    /// An unanswered UDP query's ICMP destination unreachable.
    pub icmp_outcome: Option<IcmpOutcome>,
}

/// What an ICMP destination unreachable said about a query that got no answer.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct IcmpOutcome {
    /// "refused (ICMP port unreachable)" and the like (`flow::IcmpError::outcome`).
    pub text: String,
    pub ts: Timestamp,
    pub pkt: PacketId,
}

impl DnsTransaction {
    /// A transaction between `client` and `server` that has seen nothing yet: no
    /// question, no query, no response (the tracker fills it from the first message).
    pub(crate) fn blank(transport: Transport, client: Endpoint, server: Endpoint) -> Self {
        DnsTransaction {
            seq: 0,
            conn: None,
            transport,
            client,
            server,
            id: 0,
            qname: String::new(),
            qtype: 0,
            qclass: 0,
            questions: Vec::new(),
            service: Service::default(),
            announcement: false,
            probe: false,
            last_response_ts: None,
            query_ts: None,
            query_pkt: None,
            query_flags: None,
            last_query_ts: None,
            response_ts: None,
            response_pkt: None,
            response: None,
            retransmissions: 0,
            duplicate_responses: 0,
            partial: false,
            tc_retry_of: None,
            retried_over_tcp: None,
            icmp_outcome: None,
        }
    }

    pub fn kind(&self) -> TxKind {
        if self.probe {
            return TxKind::Probe;
        }
        if self.announcement {
            let answers = self.answers();
            return if !answers.is_empty() && answers.iter().all(|r| r.ttl == 0) {
                TxKind::Goodbye
            } else {
                TxKind::Announcement
            };
        }
        match (self.query_ts, self.response_ts) {
            (Some(_), Some(_)) => TxKind::Answered,
            (Some(_), None) if self.icmp_outcome.is_some() => TxKind::IcmpError,
            (Some(_), None) => TxKind::Unanswered,
            _ => TxKind::Unsolicited,
        }
    }

    /// Response time in seconds from the last copy of the query, as tshark's `dns.time`
    /// measures it (the server's answer time), when both were seen.
    pub fn rtt(&self) -> Option<f64> {
        Some(self.response_ts?.secs_since(self.last_query_ts?))
    }

    /// What the client waited in seconds: from the first copy of the query.
    pub fn wait(&self) -> Option<f64> {
        Some(self.response_ts?.secs_since(self.query_ts?))
    }

    /// Extended RCODE of the response.
    pub fn rcode(&self) -> Option<u16> {
        self.response.as_ref().map(|m| m.flags.rcode)
    }

    /// The response's flags, or the query's when unanswered.
    pub fn flags(&self) -> Flags {
        self.response
            .as_ref()
            .map(|m| m.flags)
            .or(self.query_flags)
            .unwrap_or_default()
    }

    pub fn answers(&self) -> &[Record] {
        self.response.as_deref().map_or(&[], |m| &m.answers)
    }
    pub fn authority(&self) -> &[Record] {
        self.response.as_deref().map_or(&[], |m| &m.authority)
    }
    pub fn additional(&self) -> &[Record] {
        self.response.as_deref().map_or(&[], |m| &m.additional)
    }

    pub(crate) fn first_ts(&self) -> Timestamp {
        self.query_ts.or(self.response_ts).unwrap_or_default()
    }
}

type BaseKey = (Endpoint, Endpoint, Transport, u16);

fn same_question(tx: &DnsTransaction, m: &Message) -> bool {
    match m.question() {
        Some(q) => {
            q.qtype == tx.qtype && q.qclass == tx.qclass && q.name.eq_ignore_ascii_case(&tx.qname)
        }
        // Some error responses (FORMERR) carry no question: id and endpoints must do.
        None => true,
    }
}

/// Default number of queries that may wait for an answer.
pub const DEFAULT_PENDING_LIMIT: usize = 100_000;
/// Default capture time after which a query is given up as unanswered.
pub const DEFAULT_TIMEOUT_NS: i64 = 30_000_000_000;
/// How long after a truncated UDP answer a TCP query counts as its retry.
pub const TC_RETRY_WINDOW_NS: i64 = 10_000_000_000;
const TC_WAIT_LIMIT: usize = 1024;
/// How long after the last copy of an mDNS query a response that answers it counts as
/// its answer. RFC 6762 §6 delays shared answers by 20–120 ms and answers to a query
/// whose known answers span several packets by 400–500 ms (§7.2); one second covers both
/// with room for a slow host, and it is the shortest interval between a querier's
/// repeats (§5.2), so an answer is not credited to a query the querier had already
/// asked again.
pub const MDNS_ANSWER_WINDOW_NS: i64 = 1_000_000_000;
/// Open mDNS queries and recently answered ones searched per mDNS response: bounds the
/// cost of a response in a flood of queries.
const MDNS_SCAN: usize = 256;

/// An mDNS query already answered by one host, kept for [`MDNS_ANSWER_WINDOW_NS`] so
/// further hosts answering it (shared records: every printer answers `_ipp._tcp.local`)
/// become transactions of their own rather than announcements.
#[derive(Debug)]
struct MdnsAnswered {
    /// The query's transaction without its response.
    query: DnsTransaction,
    /// Hosts that answered it, with the `seq` of the transaction each made.
    responders: Vec<(Endpoint, u64)>,
}

/// Whether a response's answer section answers one of the query's questions
/// (RFC 6762 §6: same name, compared case-insensitively, type and class, with the
/// cache-flush bit ignored; a question of type or class ANY (255) matches all).
fn answers_any(q: &DnsTransaction, m: &Message) -> bool {
    q.questions.iter().any(|qu| {
        m.answers.iter().any(|r| {
            r.name.eq_ignore_ascii_case(&qu.name)
                && (qu.qtype == 255 || r.rtype == qu.qtype)
                && (qu.qclass == 255 || r.class_value() == qu.qclass)
        })
    })
}

/// What makes two announcements "the same" for folding: the answer records (name,
/// type, class, data; TTL aside, as every repeat counts it down), in any order, and
/// whether they are goodbyes.
fn announcement_sig(m: &Message) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut rs: Vec<(String, u16, u16, String)> = m
        .answers
        .iter()
        .map(|r| {
            (
                r.name.to_ascii_lowercase(),
                r.rtype,
                r.class_value(),
                super::text::data_text(r),
            )
        })
        .collect();
    rs.sort();
    let goodbye = !m.answers.is_empty() && m.answers.iter().all(|r| r.ttl == 0);
    // SipHash with fixed keys: the same records give the same value in every run.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    rs.hash(&mut h);
    goodbye.hash(&mut h);
    h.finish()
}

/// Pairs DNS messages into transactions; see the module docs. Call
/// [`DnsTracker::drain_finished`] regularly (e.g. per batch): finished transactions wait
/// there, in query order, until drained.
#[derive(Debug)]
pub struct DnsTracker {
    pending: HashMap<BaseKey, Vec<u64>>,
    /// Queries sent to a multicast group (LLMNR, RFC 4795 §2; unicast mDNS replies),
    /// answered by whichever host responds: keyed without the server.
    mcast: HashMap<(Endpoint, Transport, u16), Vec<u64>>,
    /// Open mDNS queries (multicast or QU, from port 5353), oldest first; answered ones
    /// are skipped lazily.
    mdns_open: VecDeque<u64>,
    mdns_answered: VecDeque<MdnsAnswered>,
    /// Announcements held open so repeats fold: (responder, destination, records) → seq.
    announce: HashMap<(Endpoint, Endpoint, u64), u64>,
    open: BTreeMap<u64, DnsTransaction>,
    /// Answered UDP transactions with TC=1, waiting (bounded) for their TCP retry.
    tc_wait: VecDeque<DnsTransaction>,
    done: BTreeMap<u64, DnsTransaction>,
    anomalies: Vec<(PacketId, Anomaly)>,
    next_seq: u64,
    limit: usize,
    timeout_ns: i64,
}

impl Default for DnsTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl DnsTracker {
    pub fn new() -> Self {
        Self::with_limits(DEFAULT_PENDING_LIMIT, DEFAULT_TIMEOUT_NS)
    }

    /// A tracker holding at most `limit` unanswered queries, each for at most
    /// `timeout_ns` of capture time.
    pub fn with_limits(limit: usize, timeout_ns: i64) -> Self {
        DnsTracker {
            pending: HashMap::new(),
            mcast: HashMap::new(),
            mdns_open: VecDeque::new(),
            mdns_answered: VecDeque::new(),
            announce: HashMap::new(),
            open: BTreeMap::new(),
            tc_wait: VecDeque::new(),
            done: BTreeMap::new(),
            anomalies: Vec::new(),
            next_seq: 0,
            limit: limit.max(1),
            timeout_ns,
        }
    }

    /// Number of queries waiting for an answer.
    pub fn pending_len(&self) -> usize {
        self.open.len()
    }

    /// Accounts one decoded message.
    ///
    /// Multicast DNS between two 5353 ports (RFC 6762) is paired differently from DNS:
    /// responses carry id 0 and no question (§18.1, §6), so a response answers every open
    /// query of the last [`MDNS_ANSWER_WINDOW_NS`] that one of its answer records
    /// matches ([`answers_any`]), from whichever host; it reaches the queriers of its
    /// address family when sent to the group, or the one it is sent to (QU questions,
    /// §5.4). A response that answers nothing is an announcement (§8.3; goodbyes, §10.1),
    /// folded with its repeats. A query with records in its authority section is a probe
    /// (§8.1). Legacy unicast queries (from a port other than 5353, §6.7) are answered
    /// with their id and question echoed: those pair like DNS.
    pub fn on_message(&mut self, meta: DnsMeta, msg: &Message) {
        self.expire(meta.ts);
        let full_mdns =
            meta.transport == Transport::Udp && meta.src.port == 5353 && meta.dst.port == 5353;
        if full_mdns && msg.flags.qr {
            self.mdns_response(meta, msg);
            return;
        }
        let (client, server) = if msg.flags.qr {
            (meta.dst, meta.src)
        } else {
            (meta.src, meta.dst)
        };
        let key = (client, server, meta.transport, msg.id);
        if meta.after_gap {
            // Whatever was in flight on this connection may have lost its partner.
            for seq in self.pending.get(&key).into_iter().flatten() {
                if let Some(tx) = self.open.get_mut(seq) {
                    tx.partial = true;
                }
            }
            for tx in self.open.values_mut() {
                if tx.transport == Transport::Tcp && tx.conn == meta.conn && tx.client == client {
                    tx.partial = true;
                }
            }
        }
        let find = |seqs: &Vec<u64>| {
            seqs.iter()
                .copied()
                .find(|s| self.open.get(s).is_some_and(|tx| same_question(tx, msg)))
        };
        let mut found = self.pending.get(&key).and_then(find);
        if found.is_none() && msg.flags.qr {
            found = self
                .mcast
                .get(&(client, meta.transport, msg.id))
                .and_then(find);
        }
        if !msg.flags.qr {
            if let Some(seq) = found {
                if let Some(tx) = self.open.get_mut(&seq) {
                    tx.retransmissions += 1;
                    tx.last_query_ts = Some(meta.ts);
                    tx.partial |= meta.after_gap;
                }
                return;
            }
            self.make_room(meta.pkt);
            let mut tx = self.new_tx(meta, client, server, msg);
            tx.query_ts = Some(meta.ts);
            tx.query_pkt = Some(meta.pkt);
            tx.query_flags = Some(msg.flags);
            tx.last_query_ts = Some(meta.ts);
            if meta.transport == Transport::Tcp {
                self.link_tc_retry(&mut tx);
            }
            self.pending.entry(key).or_default().push(tx.seq);
            if full_mdns {
                tx.probe = !msg.authority.is_empty() && !msg.questions.is_empty();
                if !tx.probe {
                    self.mdns_open.push_back(tx.seq);
                    while self.mdns_open.len() > MDNS_SCAN {
                        self.mdns_open.pop_front();
                    }
                }
            } else if server.ip.is_multicast() || tx.service == Service::Nbns {
                // NetBIOS queries go to the subnet's broadcast address (RFC 1002 §4.2.12)
                // or a name server, and the owner of the name answers.
                self.mcast
                    .entry((client, meta.transport, msg.id))
                    .or_default()
                    .push(tx.seq);
            }
            self.open.insert(tx.seq, tx);
            return;
        }
        // A response.
        match found.and_then(|seq| self.open.remove(&seq)) {
            Some(mut tx) => {
                self.unlink(&tx);
                // A multicast query is answered by a host: that host is the server.
                tx.server = server;
                tx.response_ts = Some(meta.ts);
                tx.response_pkt = Some(meta.pkt);
                tx.response = Some(Box::new(msg.clone()));
                tx.partial |= meta.after_gap;
                if tx.transport == Transport::Udp && msg.flags.tc {
                    self.tc_wait.push_back(tx);
                    if self.tc_wait.len() > TC_WAIT_LIMIT {
                        if let Some(old) = self.tc_wait.pop_front() {
                            self.done.insert(old.seq, old);
                        }
                    }
                } else {
                    self.done.insert(tx.seq, tx);
                }
            }
            None => {
                // Only recent finished transactions are searched, so a flood of
                // unsolicited responses costs O(1) each.
                if let Some(tx) = self.done.values_mut().rev().take(64).find(|tx| {
                    tx.client == client
                        && tx.server == server
                        && tx.transport == meta.transport
                        && tx.id == msg.id
                        && tx.response.is_some()
                        && same_question(tx, msg)
                }) {
                    tx.duplicate_responses += 1;
                    return;
                }
                let mut tx = self.new_tx(meta, client, server, msg);
                tx.response_ts = Some(meta.ts);
                tx.response_pkt = Some(meta.pkt);
                tx.response = Some(Box::new(msg.clone()));
                tx.partial = meta.after_gap;
                self.done.insert(tx.seq, tx);
            }
        }
    }

    /// An mDNS response between 5353 ports: see [`DnsTracker::on_message`].
    fn mdns_response(&mut self, meta: DnsMeta, msg: &Message) {
        let responder = meta.src;
        let to_group = meta.dst.ip.is_multicast();
        let reaches = |q: &DnsTransaction| {
            if to_group {
                q.client.ip.is_ipv4() == meta.dst.ip.is_ipv4()
            } else {
                q.client.ip == meta.dst.ip
            }
        };
        let in_window = |q: &DnsTransaction| {
            q.last_query_ts
                .is_some_and(|t| meta.ts.0 >= t.0 && meta.ts.0 - t.0 <= MDNS_ANSWER_WINDOW_NS)
        };
        while self.mdns_answered.front().is_some_and(|a| {
            !in_window(&a.query) && a.query.last_query_ts.is_some_and(|t| t.0 < meta.ts.0)
        }) {
            self.mdns_answered.pop_front();
        }
        let mut matched = false;
        // Queries another host answered already: this host's answer is a transaction of
        // its own; a host answering again is a duplicate.
        let mut extra = Vec::new();
        for a in self.mdns_answered.iter_mut() {
            if !(reaches(&a.query) && in_window(&a.query) && answers_any(&a.query, msg)) {
                continue;
            }
            matched = true;
            match a.responders.iter().find(|(r, _)| *r == responder) {
                Some(&(_, seq)) => {
                    if let Some(tx) = self.done.get_mut(&seq) {
                        tx.duplicate_responses += 1;
                    }
                }
                None => {
                    let seq = self.next_seq;
                    self.next_seq += 1;
                    a.responders.push((responder, seq));
                    let mut tx = a.query.clone();
                    tx.seq = seq;
                    extra.push(tx);
                }
            }
        }
        for tx in extra {
            self.answer_mdns(tx, meta, msg);
        }
        let hits: Vec<u64> = self
            .mdns_open
            .iter()
            .copied()
            .filter(|s| {
                self.open
                    .get(s)
                    .is_some_and(|q| reaches(q) && in_window(q) && answers_any(q, msg))
            })
            .collect();
        for seq in hits {
            let Some(tx) = self.open.remove(&seq) else {
                continue;
            };
            matched = true;
            self.unlink(&tx);
            self.mdns_open.retain(|s| *s != seq);
            self.mdns_answered.push_back(MdnsAnswered {
                query: tx.clone(),
                responders: vec![(responder, seq)],
            });
            while self.mdns_answered.len() > MDNS_SCAN {
                self.mdns_answered.pop_front();
            }
            self.answer_mdns(tx, meta, msg);
        }
        if matched {
            return;
        }
        let akey = (responder, meta.dst, announcement_sig(msg));
        if let Some(tx) = self
            .announce
            .get(&akey)
            .and_then(|seq| self.open.get_mut(seq))
        {
            tx.duplicate_responses += 1;
            tx.last_response_ts = Some(meta.ts);
            tx.partial |= meta.after_gap;
            return;
        }
        self.make_room(meta.pkt);
        let mut tx = self.new_tx(meta, meta.dst, responder, msg);
        tx.announcement = true;
        tx.response_ts = Some(meta.ts);
        tx.last_response_ts = Some(meta.ts);
        tx.response_pkt = Some(meta.pkt);
        tx.response = Some(Box::new(msg.clone()));
        self.announce.insert(akey, tx.seq);
        self.open.insert(tx.seq, tx);
    }

    fn answer_mdns(&mut self, mut tx: DnsTransaction, meta: DnsMeta, msg: &Message) {
        tx.server = meta.src;
        tx.response_ts = Some(meta.ts);
        tx.response_pkt = Some(meta.pkt);
        tx.response = Some(Box::new(msg.clone()));
        tx.partial |= meta.after_gap;
        self.done.insert(tx.seq, tx);
    }

    /// Gives up the oldest open transaction when `limit` are open.
    fn make_room(&mut self, pkt: PacketId) {
        if self.open.len() < self.limit {
            return;
        }
        if let Some((_, old)) = self.open.pop_first() {
            self.anomalies.push((
                pkt,
                Anomaly::new(
                    AnomalyKind::DnsPendingLimit,
                    format!(
                        "{} unanswered DNS queries: gave up on the oldest",
                        self.limit
                    ),
                ),
            ));
            self.close(old);
        }
    }

    fn new_tx(
        &mut self,
        meta: DnsMeta,
        client: Endpoint,
        server: Endpoint,
        msg: &Message,
    ) -> DnsTransaction {
        let seq = self.next_seq;
        self.next_seq += 1;
        let q = msg.question();
        DnsTransaction {
            seq,
            conn: meta.conn,
            id: msg.id,
            qname: q.map(|q| q.name.clone()).unwrap_or_default(),
            qtype: q.map_or(0, |q| q.qtype),
            qclass: q.map_or(0, |q| q.qclass),
            questions: msg.questions.clone(),
            service: Service::of_ports(meta.src.port, meta.dst.port),
            ..DnsTransaction::blank(meta.transport, client, server)
        }
    }

    /// RFC 7766 §5: a client that receives TC=1 retries the same question over TCP.
    fn link_tc_retry(&mut self, tcp: &mut DnsTransaction) {
        let now = tcp.first_ts();
        let pos = self.tc_wait.iter().rposition(|u| {
            u.client.ip == tcp.client.ip
                && u.qtype == tcp.qtype
                && u.qname.eq_ignore_ascii_case(&tcp.qname)
                && u.response_ts
                    .is_some_and(|t| now.0 >= t.0 && now.0 - t.0 <= TC_RETRY_WINDOW_NS)
        });
        if let Some(mut udp) = pos.and_then(|p| self.tc_wait.remove(p)) {
            udp.retried_over_tcp = Some(tcp.seq);
            tcp.tc_retry_of = Some(udp.seq);
            self.done.insert(udp.seq, udp);
        }
    }

    /// Removes an open transaction from the lookup maps.
    fn unlink(&mut self, tx: &DnsTransaction) {
        let key = (tx.client, tx.server, tx.transport, tx.id);
        if let Some(seqs) = self.pending.get_mut(&key) {
            seqs.retain(|s| *s != tx.seq);
            if seqs.is_empty() {
                self.pending.remove(&key);
            }
        }
        let mkey = (tx.client, tx.transport, tx.id);
        if let Some(seqs) = self.mcast.get_mut(&mkey) {
            seqs.retain(|s| *s != tx.seq);
            if seqs.is_empty() {
                self.mcast.remove(&mkey);
            }
        }
        if let (true, Some(m)) = (tx.announcement, tx.response.as_deref()) {
            let akey = (tx.server, tx.client, announcement_sig(m));
            if self.announce.get(&akey) == Some(&tx.seq) {
                self.announce.remove(&akey);
            }
        }
    }

    fn close(&mut self, tx: DnsTransaction) {
        self.unlink(&tx);
        self.done.insert(tx.seq, tx);
    }

    /// A reassembly gap on a DNS-over-TCP connection: every exchange still open on it
    /// may have lost a message, so it is marked partial.
    pub fn on_gap(&mut self, conn: Option<ConnId>, client: Endpoint, server: Endpoint) {
        for tx in self.open.values_mut() {
            if tx.transport == Transport::Tcp
                && tx.conn == conn
                && tx.client == client
                && tx.server == server
            {
                tx.partial = true;
            }
        }
    }

    /// An ICMP destination unreachable quoted a datagram of the UDP flow `conn`: every
    /// query still waiting on that flow is finished with `outcome` ("refused (ICMP port
    /// unreachable)"), since no answer will come (RFC 1122 §4.1.3.3: UDP passes the
    /// error up to the application, which gives up or retries with a new query).
    pub fn on_icmp_error(&mut self, conn: ConnId, outcome: &str, ts: Timestamp, pkt: PacketId) {
        let seqs: Vec<u64> = self
            .open
            .iter()
            .filter(|(_, tx)| {
                tx.transport == Transport::Udp && tx.conn == Some(conn) && tx.response.is_none()
            })
            .map(|(&s, _)| s)
            .collect();
        for s in seqs {
            if let Some(mut tx) = self.open.remove(&s) {
                tx.icmp_outcome = Some(IcmpOutcome {
                    text: outcome.to_string(),
                    ts,
                    pkt,
                });
                self.close(tx);
            }
        }
    }

    /// Finishes queries older than the timeout as unanswered, and stops waiting for the
    /// TCP retry of old truncated answers. Called by `on_message`; call it directly to
    /// advance time without a DNS message.
    pub fn expire(&mut self, now: Timestamp) {
        let horizon = now.0.saturating_sub(self.timeout_ns);
        while let Some((_, tx)) = self.open.first_key_value() {
            if tx.first_ts().0 >= horizon {
                break;
            }
            if let Some((_, tx)) = self.open.pop_first() {
                self.close(tx);
            }
        }
        let tc_horizon = now.0.saturating_sub(TC_RETRY_WINDOW_NS);
        while self
            .tc_wait
            .front()
            .is_some_and(|t| t.response_ts.is_some_and(|r| r.0 < tc_horizon))
        {
            if let Some(t) = self.tc_wait.pop_front() {
                self.done.insert(t.seq, t);
            }
        }
    }

    /// Finished transactions that no still-open one precedes, in order of their first
    /// message.
    pub fn drain_finished(&mut self) -> Vec<DnsTransaction> {
        let oldest_open = self.oldest_open().unwrap_or(u64::MAX);
        let rest = self.done.split_off(&oldest_open);
        let out = std::mem::replace(&mut self.done, rest);
        out.into_values().collect()
    }

    /// The smallest `seq` still open or waiting for a TCP retry: finished transactions
    /// from it on are held back, so that they come out in order of their first message.
    fn oldest_open(&self) -> Option<u64> {
        let open = self.open.keys().next().copied();
        open.into_iter()
            .chain(self.tc_wait.iter().map(|t| t.seq))
            .min()
    }

    /// Sequence number the next transaction will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Every finished transaction (in `seq` order), with the smallest `seq` still held
    /// open or waiting for a TCP retry: what [`Self::drain_finished`] would hold back by.
    pub fn take_all_done(&mut self) -> (Vec<DnsTransaction>, Option<u64>) {
        let oldest_open = self.oldest_open();
        (
            std::mem::take(&mut self.done).into_values().collect(),
            oldest_open,
        )
    }

    /// Transactions held: waiting for a response (or a TCP retry), and finished but
    /// not drained yet.
    pub fn held(&self) -> (usize, usize) {
        (self.open.len() + self.tc_wait.len(), self.done.len())
    }

    pub fn held_since(&self) -> Option<Timestamp> {
        self.open
            .values()
            .chain(self.tc_wait.iter())
            .chain(self.done.values())
            .map(DnsTransaction::first_ts)
            .min()
    }

    /// Ends the capture: every open query becomes unanswered; returns everything not yet
    /// drained, in order of first message.
    pub fn finish(&mut self) -> Vec<DnsTransaction> {
        while let Some((_, tx)) = self.open.pop_first() {
            self.close(tx);
        }
        while let Some(t) = self.tc_wait.pop_front() {
            self.done.insert(t.seq, t);
        }
        std::mem::take(&mut self.done).into_values().collect()
    }

    /// Anomalies noted so far with the packet that caused them.
    pub fn drain_anomalies(&mut self) -> Vec<(PacketId, Anomaly)> {
        std::mem::take(&mut self.anomalies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::Direction;
    use crate::proto::dns::fixture::{self, Row};
    use crate::proto::dns::parse::parse_message;
    use crate::proto::dns::tcp::DnsTcpStream;

    fn meta(r: &Row) -> DnsMeta {
        DnsMeta {
            ts: r.ts,
            pkt: PacketId(r.frame - 1),
            conn: None,
            transport: r.transport,
            src: r.src,
            dst: r.dst,
            after_gap: false,
        }
    }

    fn row(capture: &str, frame: u32) -> (Row, Message) {
        let (r, b) = fixture::messages()
            .into_iter()
            .find(|(r, _)| r.capture == capture && r.frame == frame)
            .unwrap();
        let m = parse_message(&b).unwrap();
        (r, m)
    }

    #[test]
    fn real_retransmitted_query_then_answer() {
        // zeek/ipv6-fragmented-dns.pcap: frame 3 query 0x9f91, frame 5 the same query
        // again 5 s later, frame 8 the (fragmented) response; frames 1/2 a first exchange.
        let mut t = DnsTracker::new();
        for f in [1, 2, 3, 5, 8] {
            let (r, m) = row("zeek/ipv6-fragmented-dns.pcap", f);
            t.on_message(meta(&r), &m);
        }
        let txs = t.finish();
        assert_eq!(txs.len(), 2);
        assert_eq!(txs[0].id, 0x0f3f);
        assert_eq!(txs[0].retransmissions, 0);
        assert_eq!(txs[1].id, 0x9f91);
        assert_eq!(txs[1].kind(), TxKind::Answered);
        assert_eq!(txs[1].retransmissions, 1);
        assert_eq!(
            txs[1].query_pkt,
            Some(PacketId(2)),
            "first copy of the query"
        );
        assert_eq!(txs[1].response_pkt, Some(PacketId(7)));
        assert_eq!(
            txs[1].qname,
            "txtpadding_3230.n1.netalyzr.icsi.berkeley.edu"
        );
        assert_eq!(txs[1].client.port, 51851);
        // tshark's dns.time counts from the last copy (0.083189 s); the client waited
        // 5.084025 s from its first.
        assert!((txs[1].rtt().unwrap() - 0.083189).abs() < 1e-9);
        assert!((txs[1].wait().unwrap() - 5.084025).abs() < 1e-9);
        assert_eq!(txs[1].rcode(), Some(0));
        assert!(txs[1].flags().qr);
    }

    #[test]
    fn unanswered_and_unsolicited() {
        let mut t = DnsTracker::new();
        let (q, qm) = row("tcpdump/dns_udp.pcap", 1);
        let (r, rm) = row("zeek/ipv6-fragmented-dns.pcap", 2);
        t.on_message(meta(&q), &qm);
        t.on_message(meta(&r), &rm);
        let txs = t.finish();
        assert_eq!(txs.len(), 2);
        assert_eq!(txs[0].kind(), TxKind::Unanswered);
        assert_eq!(txs[0].qname, "www.tcpdump.org");
        assert_eq!(txs[0].rtt(), None);
        assert_eq!(txs[1].kind(), TxKind::Unsolicited);
        assert_eq!(txs[1].answers().len(), 1);
        assert_eq!(txs[1].client, r.dst);
    }

    #[test]
    fn response_must_match_the_question_and_endpoints() {
        let (q, qm) = row("tcpdump/dns_udp.pcap", 1);
        let (r, mut rm) = row("tcpdump/dns_udp.pcap", 2);
        // Same id, other question: not this query's answer.
        rm.questions[0].name = "www.example.org".into();
        let mut t = DnsTracker::new();
        t.on_message(meta(&q), &qm);
        t.on_message(meta(&r), &rm);
        let kinds: Vec<_> = t.finish().iter().map(|t| t.kind()).collect();
        assert_eq!(kinds, [TxKind::Unanswered, TxKind::Unsolicited]);
        // 0x20 case randomisation still matches.
        rm.questions[0].name = "WWW.tcpdump.ORG".into();
        let mut t = DnsTracker::new();
        t.on_message(meta(&q), &qm);
        t.on_message(meta(&r), &rm);
        let mut r2 = meta(&r);
        r2.ts = Timestamp(r2.ts.0 + 1000);
        t.on_message(r2, &rm);
        let txs = t.finish();
        assert_eq!(txs.len(), 1);
        assert_eq!(txs[0].kind(), TxKind::Answered);
        assert_eq!(txs[0].duplicate_responses, 1);
    }

    #[test]
    fn truncated_udp_answer_linked_to_the_tcp_retry() {
        // No TC=1 answer in the corpus: the real tcpdump/dns_udp.pcap answer with its TC
        // bit set, followed by the real tcpdump/dns_tcp.pcap exchange for the same name
        // (moved to the UDP client's address and 1 s later, as a real retry would be).
        let (uq, uqm) = row("tcpdump/dns_udp.pcap", 1);
        let (ur, mut urm) = row("tcpdump/dns_udp.pcap", 2);
        urm.flags.tc = true;
        let (tq, tqm) = row("tcpdump/dns_tcp.pcap", 4);
        let (tr, trm) = row("tcpdump/dns_tcp.pcap", 6);
        let shift = |mut m: DnsMeta, client_is_src: bool| {
            m.ts = Timestamp(ur.ts.0 + 1_000_000_000 + (m.ts.0 - tq.ts.0));
            m.conn = Some(ConnId(7));
            if client_is_src {
                m.src.ip = uq.src.ip;
            } else {
                m.dst.ip = uq.src.ip;
            }
            m
        };
        let mut t = DnsTracker::new();
        t.on_message(meta(&uq), &uqm);
        t.on_message(meta(&ur), &urm);
        assert!(
            t.drain_finished().is_empty(),
            "held back until the retry is seen"
        );
        t.on_message(shift(meta(&tq), true), &tqm);
        t.on_message(shift(meta(&tr), false), &trm);
        let txs = t.finish();
        assert_eq!(txs.len(), 2);
        assert_eq!(txs[0].transport, Transport::Udp);
        assert!(txs[0].flags().tc);
        assert_eq!(txs[0].retried_over_tcp, Some(txs[1].seq));
        assert_eq!(txs[1].transport, Transport::Tcp);
        assert_eq!(txs[1].tc_retry_of, Some(txs[0].seq));
        assert_eq!(txs[1].kind(), TxKind::Answered);
        assert_eq!(txs[1].conn, Some(ConnId(7)));
        assert!((txs[1].rtt().unwrap() - 0.125857).abs() < 1e-6);
    }

    #[test]
    fn tcp_stream_with_several_messages_per_segment_pairs_all() {
        // suricata-verify/dns-tcp-multirequest-buffer.pcap: 20 queries, several per
        // segment, answered over one connection.
        let mut s = DnsTcpStream::new();
        let mut t = DnsTracker::new();
        for r in fixture::rows() {
            if r.capture != "suricata-verify/dns-tcp-multirequest-buffer.pcap" {
                continue;
            }
            let dir = if r.dst.port == 53 {
                Direction::ClientToServer
            } else {
                Direction::ServerToClient
            };
            for m in s.feed(dir, r.ts, PacketId(r.frame - 1), &r.bytes) {
                let mut me = meta(&r);
                me.conn = Some(ConnId(0));
                t.on_message(me, m.message.as_ref().unwrap());
            }
        }
        let txs = t.finish();
        assert!(txs.len() >= 20, "{}", txs.len());
        let answered = txs.iter().filter(|t| t.kind() == TxKind::Answered).count();
        assert_eq!(answered, txs.len(), "{txs:#?}");
        assert!(txs
            .iter()
            .all(|t| t.transport == Transport::Tcp && !t.partial));
        let ids: Vec<u16> = txs.iter().map(|t| t.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted, "emitted in query order");
    }

    #[test]
    fn gap_marks_the_transaction_partial() {
        let (q, qm) = row("tcpdump/dns_tcp.pcap", 4);
        let (r, rm) = row("tcpdump/dns_tcp.pcap", 6);
        let mut t = DnsTracker::new();
        t.on_message(meta(&q), &qm);
        let mut m = meta(&r);
        m.after_gap = true;
        t.on_message(m, &rm);
        let txs = t.finish();
        assert_eq!(txs.len(), 1);
        assert!(txs[0].partial);
        assert_eq!(txs[0].kind(), TxKind::Answered);
    }

    #[test]
    fn explicit_gap_marks_open_tcp_exchanges() {
        let (q, qm) = row("tcpdump/dns_tcp.pcap", 4);
        let mut t = DnsTracker::new();
        t.on_message(meta(&q), &qm);
        t.on_gap(None, q.src, q.dst);
        let txs = t.finish();
        assert!(txs[0].partial);
        assert_eq!(txs[0].kind(), TxKind::Unanswered);
    }

    #[test]
    fn llmnr_style_multicast_query_answered_by_a_host() {
        // The real tcpdump/dns_udp.pcap exchange with the query sent to the LLMNR group
        // 224.0.0.252:5355 (RFC 4795 §2) and the answer coming back from a host.
        let (q, qm) = row("tcpdump/dns_udp.pcap", 1);
        let (r, rm) = row("tcpdump/dns_udp.pcap", 2);
        let group = Endpoint::new("224.0.0.252".parse().unwrap(), 5355);
        let host = Endpoint::new("192.168.1.20".parse().unwrap(), 5355);
        let mut qmeta = meta(&q);
        qmeta.dst = group;
        let mut rmeta = meta(&r);
        rmeta.src = host;
        let mut t = DnsTracker::new();
        t.on_message(qmeta, &qm);
        t.on_message(rmeta, &rm);
        let txs = t.finish();
        assert_eq!(txs.len(), 1);
        assert_eq!(txs[0].kind(), TxKind::Answered);
        assert_eq!(txs[0].server, host);
        assert!(t.mcast.is_empty() && t.pending.is_empty());
    }

    #[test]
    fn pending_limit_and_timeout_bound_memory() {
        let (q, qm) = row("tcpdump/dns_udp.pcap", 1);
        let mut t = DnsTracker::with_limits(2, 30_000_000_000);
        for i in 0..3u16 {
            let mut m = qm.clone();
            m.id = i;
            let mut me = meta(&q);
            me.ts = Timestamp(q.ts.0 + i as i64);
            t.on_message(me, &m);
        }
        assert_eq!(t.pending_len(), 2);
        let a = t.drain_anomalies();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].1.name(), "dns_pending_limit");
        let early = t.drain_finished();
        assert_eq!(early.len(), 1);
        assert_eq!(early[0].id, 0);
        assert_eq!(early[0].kind(), TxKind::Unanswered);
        // 31 s later the rest times out.
        t.expire(Timestamp(q.ts.0 + 31_000_000_000));
        assert_eq!(t.pending_len(), 0);
        let late: Vec<u16> = t.drain_finished().iter().map(|t| t.id).collect();
        assert_eq!(late, [1, 2]);
        assert!(t.finish().is_empty());
    }

    #[test]
    fn drain_holds_back_answers_newer_than_an_open_query() {
        let (q1, m1) = row("zeek/ipv6-fragmented-dns.pcap", 1);
        let (q2, m2) = row("zeek/ipv6-fragmented-dns.pcap", 3);
        let (r2, rm2) = row("zeek/ipv6-fragmented-dns.pcap", 8);
        let mut t = DnsTracker::new();
        t.on_message(meta(&q1), &m1);
        t.on_message(meta(&q2), &m2);
        t.on_message(meta(&r2), &rm2);
        assert!(t.drain_finished().is_empty(), "query 1 is still open");
        let (r1, rm1) = row("zeek/ipv6-fragmented-dns.pcap", 2);
        let mut late = meta(&r1);
        late.ts = r2.ts;
        t.on_message(late, &rm1);
        let ids: Vec<u16> = t.drain_finished().iter().map(|t| t.id).collect();
        assert_eq!(ids, [0x0f3f, 0x9f91]);
    }

    fn mdns_msg(qr: bool, qs: &[(&str, u16)], answers: &[(&str, u16, u32)]) -> Message {
        Message {
            id: 0,
            flags: Flags {
                qr,
                aa: qr,
                ..Flags::default()
            },
            questions: qs
                .iter()
                .map(|(n, t)| Question {
                    name: n.to_string(),
                    qtype: *t,
                    qclass: 1,
                    unicast_response: false,
                })
                .collect(),
            answers: answers
                .iter()
                .map(|(n, t, ttl)| Record {
                    name: n.to_string(),
                    rtype: *t,
                    class: 0x8001,
                    ttl: *ttl,
                    data: crate::proto::dns::RData::A(std::net::Ipv4Addr::new(198, 18, 0, 20)),
                })
                .collect(),
            authority: Vec::new(),
            additional: Vec::new(),
            edns: None,
            trailing: 0,
            anomalies: Vec::new(),
        }
    }

    fn mdns_meta(ms: i64, src: &str, dst: &str) -> DnsMeta {
        DnsMeta {
            ts: Timestamp(ms * 1_000_000),
            pkt: PacketId(ms as u32),
            conn: None,
            transport: Transport::Udp,
            src: Endpoint::new(src.parse().unwrap(), 5353),
            dst: Endpoint::new(dst.parse().unwrap(), 5353),
            after_gap: false,
        }
    }

    #[test]
    fn mdns_answer_window_family_and_case() {
        let q = mdns_msg(false, &[("Printer.local", 1)], &[]);
        // Case-insensitive name, cache-flush bit ignored, at the edge of the window.
        let r = mdns_msg(true, &[], &[("printer.LOCAL", 1, 120)]);
        let mut t = DnsTracker::new();
        t.on_message(mdns_meta(0, "198.18.0.10", "224.0.0.251"), &q);
        // Sent to the IPv6 group: reaches no IPv4 querier.
        t.on_message(mdns_meta(10, "fe80::20", "ff02::fb"), &r);
        t.on_message(mdns_meta(1000, "198.18.0.20", "224.0.0.251"), &r);
        let txs = t.finish();
        let kinds: Vec<TxKind> = txs.iter().map(|t| t.kind()).collect();
        assert_eq!(kinds, [TxKind::Answered, TxKind::Announcement]);
        assert_eq!(txs[0].service, Service::Mdns);
        assert_eq!(txs[0].client.ip.to_string(), "198.18.0.10");
        assert_eq!(txs[0].server.ip.to_string(), "198.18.0.20");
        // One nanosecond past the window: an announcement, and the query unanswered.
        let mut t = DnsTracker::new();
        t.on_message(mdns_meta(0, "198.18.0.10", "224.0.0.251"), &q);
        let mut late = mdns_meta(1000, "198.18.0.20", "224.0.0.251");
        late.ts = Timestamp(MDNS_ANSWER_WINDOW_NS + 1);
        t.on_message(late, &r);
        let kinds: Vec<TxKind> = t.finish().iter().map(|t| t.kind()).collect();
        assert_eq!(kinds, [TxKind::Unanswered, TxKind::Announcement]);
        // Another type does not answer; ANY asks for every type.
        let mut t = DnsTracker::new();
        t.on_message(
            mdns_meta(0, "198.18.0.10", "224.0.0.251"),
            &mdns_msg(false, &[("printer.local", 28)], &[]),
        );
        t.on_message(
            mdns_meta(1, "198.18.0.11", "224.0.0.251"),
            &mdns_msg(false, &[("printer.local", 255)], &[]),
        );
        t.on_message(mdns_meta(5, "198.18.0.20", "224.0.0.251"), &r);
        let txs = t.finish();
        let got: Vec<(String, TxKind)> = txs
            .iter()
            .map(|t| (t.client.ip.to_string(), t.kind()))
            .collect();
        assert_eq!(
            got,
            [
                ("198.18.0.10".to_string(), TxKind::Unanswered),
                ("198.18.0.11".to_string(), TxKind::Answered)
            ]
        );
    }

    #[test]
    fn mdns_announcements_fold_and_goodbyes_stay_apart_bounded() {
        let ann = mdns_msg(true, &[], &[("host.local", 1, 120)]);
        let bye = mdns_msg(true, &[], &[("host.local", 1, 0)]);
        let mut t = DnsTracker::with_limits(4, DEFAULT_TIMEOUT_NS);
        for i in 0..5 {
            t.on_message(mdns_meta(i * 1000, "198.18.0.20", "224.0.0.251"), &ann);
        }
        t.on_message(mdns_meta(6000, "198.18.0.20", "224.0.0.251"), &bye);
        let txs = t.finish();
        assert_eq!(txs.len(), 2);
        assert_eq!(txs[0].kind(), TxKind::Announcement);
        assert_eq!(txs[0].duplicate_responses, 4);
        assert_eq!(txs[0].last_response_ts, Some(Timestamp(4_000_000_000)));
        assert_eq!(txs[1].kind(), TxKind::Goodbye);
        assert!(t.announce.is_empty() && t.open.is_empty());
        // A flood of distinct announcements is bounded by the pending limit.
        let mut t = DnsTracker::with_limits(4, DEFAULT_TIMEOUT_NS);
        for i in 0..50u8 {
            let name = format!("h{i}.local");
            let m = mdns_msg(true, &[], &[(name.as_str(), 1, 120)]);
            t.on_message(mdns_meta(i64::from(i), "198.18.0.20", "224.0.0.251"), &m);
            assert!(t.open.len() <= 4 && t.announce.len() <= 4);
        }
        assert_eq!(t.finish().len(), 50);
    }
}
