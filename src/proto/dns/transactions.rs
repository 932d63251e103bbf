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

use super::parse::{Flags, Message, Record};
use crate::base::{Anomaly, ConnId, Endpoint, PacketId, Timestamp};

/// The transport a DNS message travelled over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
}

/// One query/response exchange, with what the CLI's transaction record needs.
#[derive(Clone, Debug, PartialEq)]
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
    pub query_ts: Option<Timestamp>,
    pub query_pkt: Option<PacketId>,
    pub query_flags: Option<Flags>,
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
}

impl DnsTransaction {
    pub fn kind(&self) -> TxKind {
        match (self.query_ts, self.response_ts) {
            (Some(_), Some(_)) => TxKind::Answered,
            (Some(_), None) => TxKind::Unanswered,
            _ => TxKind::Unsolicited,
        }
    }

    /// Response time in seconds, when both messages were seen.
    pub fn rtt(&self) -> Option<f64> {
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

    fn first_ts(&self) -> Timestamp {
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

/// Pairs DNS messages into transactions; see the module docs.
#[derive(Debug)]
pub struct DnsTracker {
    pending: HashMap<BaseKey, Vec<u64>>,
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
    pub fn on_message(&mut self, meta: DnsMeta, msg: &Message) {
        self.expire(meta.ts);
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
        let found = self.pending.get(&key).and_then(|seqs| {
            seqs.iter()
                .copied()
                .find(|s| self.open.get(s).is_some_and(|tx| same_question(tx, msg)))
        });
        if !msg.flags.qr {
            if let Some(seq) = found {
                if let Some(tx) = self.open.get_mut(&seq) {
                    tx.retransmissions += 1;
                    tx.partial |= meta.after_gap;
                }
                return;
            }
            if self.open.len() >= self.limit {
                if let Some((_, old)) = self.open.pop_first() {
                    self.anomalies.push((
                        meta.pkt,
                        Anomaly::new(
                            "dns_pending_limit",
                            format!(
                                "{} unanswered DNS queries: gave up on the oldest",
                                self.limit
                            ),
                        ),
                    ));
                    self.close(old);
                }
            }
            let mut tx = self.new_tx(meta, client, server, msg);
            tx.query_ts = Some(meta.ts);
            tx.query_pkt = Some(meta.pkt);
            tx.query_flags = Some(msg.flags);
            if meta.transport == Transport::Tcp {
                self.link_tc_retry(&mut tx);
            }
            self.pending.entry(key).or_default().push(tx.seq);
            self.open.insert(tx.seq, tx);
            return;
        }
        // A response.
        match found.and_then(|seq| self.open.remove(&seq)) {
            Some(mut tx) => {
                if let Some(seqs) = self.pending.get_mut(&key) {
                    seqs.retain(|s| *s != tx.seq);
                    if seqs.is_empty() {
                        self.pending.remove(&key);
                    }
                }
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
                if let Some(tx) = self.done.values_mut().rev().find(|tx| {
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
            transport: meta.transport,
            client,
            server,
            id: msg.id,
            qname: q.map(|q| q.name.clone()).unwrap_or_default(),
            qtype: q.map_or(0, |q| q.qtype),
            qclass: q.map_or(0, |q| q.qclass),
            query_ts: None,
            query_pkt: None,
            query_flags: None,
            response_ts: None,
            response_pkt: None,
            response: None,
            retransmissions: 0,
            duplicate_responses: 0,
            partial: false,
            tc_retry_of: None,
            retried_over_tcp: None,
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

    fn close(&mut self, tx: DnsTransaction) {
        let key = (tx.client, tx.server, tx.transport, tx.id);
        if let Some(seqs) = self.pending.get_mut(&key) {
            seqs.retain(|s| *s != tx.seq);
            if seqs.is_empty() {
                self.pending.remove(&key);
            }
        }
        self.done.insert(tx.seq, tx);
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
        let oldest_open = self
            .open
            .keys()
            .next()
            .copied()
            .into_iter()
            .chain(self.tc_wait.iter().map(|t| t.seq))
            .min()
            .unwrap_or(u64::MAX);
        let rest = self.done.split_off(&oldest_open);
        let out = std::mem::replace(&mut self.done, rest);
        out.into_values().collect()
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
