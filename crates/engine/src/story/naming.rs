//! Naming connections by the lookups that led to them.
//!
//! For each connection from client C to address X opened at time t: the latest DNS
//! answer *to C* before t whose records contain X, following CNAME chains, over A and
//! AAAA, UDP or TCP; mDNS, LLMNR and NetBIOS lookups count the same way (the querier is
//! the client), mDNS announcements and probes do not (nobody asked). When one address was answered for several names, the name this
//! client asked for most recently wins and the others are listed, with one refinement:
//! when the connection itself says which name it meant (TLS SNI, HTTP Host) and that
//! name was among the answers, it wins; only when none matches is a mismatch flagged. With no lookup in the
//! capture, the TLS SNI or the HTTP Host names the connection, and the record says so.

use std::collections::HashMap;
use std::net::IpAddr;

use super::{AppKind, StoryInput};
use crate::base::Timestamp;
use crate::proto::dns::{DnsTransaction, RData, Record, Service};

/// Where a connection's name came from.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameSource {
    Dns,
    Sni,
    Host,
}

impl NameSource {
    pub fn as_str(self) -> &'static str {
        match self {
            NameSource::Dns => "dns",
            NameSource::Sni => "sni",
            NameSource::Host => "host",
        }
    }
}

/// A connection's name and how it was found.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
pub struct ConnName {
    /// The name the client asked for (or the SNI/Host when no lookup was seen).
    pub qname: String,
    /// CNAME chain from `qname` to the name that held the address (empty when none).
    pub chain: Vec<String>,
    /// Lookup latency (query → answer), seconds.
    pub dns_rtt: Option<f64>,
    /// Answer → connection start, seconds.
    pub gap: Option<f64>,
    /// The answer's TTL had run out when the connection started.
    pub ttl_expired: bool,
    pub ttl: Option<u32>,
    pub source: NameSource,
    /// `seq` of the DNS transaction that named it.
    pub dns_seq: Option<u64>,
    /// Other names this client was given the same address for earlier.
    pub also: Vec<String>,
    /// The TLS SNI or HTTP Host disagrees with the looked-up name: what they said.
    pub mismatch: Option<String>,
}

/// One answer as the naming needs it.
struct Answer {
    ts: Timestamp,
    qname: String,
    chain: Vec<String>,
    addrs: Vec<(IpAddr, u32)>,
    rtt: Option<f64>,
    seq: u64,
}

/// Follows the CNAME chain from the question through the answer section and collects
/// the addresses held by any name on it. mDNS answers put what a client goes on to use
/// in the additional section (RFC 6762 §12, RFC 6763 §12: a PTR answer brings the
/// instance's SRV and the host's A/AAAA): for mDNS the chain also follows PTR and SRV
/// through both sections, so a printer found by browsing `_ipp._tcp.local` names the
/// connection to its address. NetBIOS NB answers hold addresses too (RFC 1002 §4.2.13).
fn resolve(tx: &DnsTransaction) -> Option<Answer> {
    if !tx.kind().is_lookup() {
        return None;
    }
    let ts = tx.response_ts?;
    let mdns = tx.service == Service::Mdns;
    let records: Vec<&Record> = if mdns {
        tx.answers().iter().chain(tx.additional()).collect()
    } else {
        tx.answers().iter().collect()
    };
    let mut chain: Vec<String> = Vec::new();
    let mut cur = tx.qname.to_ascii_lowercase();
    // Bounded: a chain can be at most as long as the records.
    for _ in 0..records.len() {
        let next = records.iter().find_map(|r| {
            if !r.name.eq_ignore_ascii_case(&cur) {
                return None;
            }
            match &r.data {
                RData::Cname(t) => Some(t.to_ascii_lowercase()),
                RData::Ptr(t) if mdns => Some(t.to_ascii_lowercase()),
                RData::Srv { target, .. } if mdns => Some(target.to_ascii_lowercase()),
                _ => None,
            }
        });
        match next {
            Some(n) if !chain.contains(&n) && n != tx.qname.to_ascii_lowercase() => {
                chain.push(n.clone());
                cur = n;
            }
            _ => break,
        }
    }
    let on_chain = |name: &str| {
        name.eq_ignore_ascii_case(&tx.qname) || chain.iter().any(|c| c.eq_ignore_ascii_case(name))
    };
    let addrs: Vec<(IpAddr, u32)> = records
        .iter()
        .filter(|r| on_chain(&r.name))
        .flat_map(|r| match &r.data {
            RData::A(a) => vec![(IpAddr::V4(*a), r.ttl)],
            RData::Aaaa(a) => vec![(IpAddr::V6(*a), r.ttl)],
            RData::Nb(nb) => nb.iter().map(|n| (IpAddr::V4(n.addr), r.ttl)).collect(),
            _ => Vec::new(),
        })
        .collect();
    if addrs.is_empty() {
        return None;
    }
    Some(Answer {
        ts,
        qname: tx.qname.clone(),
        chain,
        addrs,
        rtt: tx.rtt(),
        seq: tx.seq,
    })
}

fn host_only(h: &str) -> &str {
    let h = h.trim();
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match h.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => h,
    }
}

/// Answers seen so far, indexed by (client, address) so naming a connection costs a
/// binary search, not a scan (250,000 connections × 20,000 lookups would not do).
/// Answers can be added as they are seen, so a streaming consumer names connections as
/// they finish, and forgotten once no connection still to be named can use them
/// ([`NameIndex::forget_before`]), so a long capture's index stays the size of its
/// recent lookups.
#[derive(Default)]
pub struct NameIndex {
    answers: Vec<Answer>,
    index: HashMap<(IpAddr, IpAddr), Vec<usize>>,
    /// `answers.len()` after the last [`NameIndex::forget_before`] that looked.
    looked_at: usize,
}

/// Of one (client, address)'s answers from before the earliest connection still to be
/// named, the latest this many are all [`NameIndex::name`] can read: it reads the
/// latest answer and, for the name the client said and the other names, the latest 64.
const KEPT_BEFORE: usize = 64;

/// [`NameIndex::forget_before`] looks only once the index holds this many answers, and
/// twice as many as when it last looked (so its walk over the lists is amortised).
const FORGET_FROM: usize = 1024;

impl NameIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one DNS transaction (ignored unless it answered addresses).
    pub fn add(&mut self, tx: &DnsTransaction) {
        let Some(a) = resolve(tx) else { return };
        let i = self.answers.len();
        for (ip, _) in &a.addrs {
            let list = self.index.entry((tx.client.ip, *ip)).or_default();
            if list.last() != Some(&i) {
                // Keep each list in time order even when transactions arrive a little out
                // of order (they finish when answered, not when asked).
                let pos = list.partition_point(|&j| self.answers[j].ts <= a.ts);
                list.insert(pos, i);
            }
        }
        self.answers.push(a);
    }

    /// Forgets the answers no connection opened at `t` or later can be named by (see
    /// [`KEPT_BEFORE`]); the caller promises to name no connection opened before `t`
    /// afterwards. Names stay exactly what they would have been. Cheap: it looks only
    /// when the index has doubled since it last looked.
    pub fn forget_before(&mut self, t: Timestamp) {
        if self.answers.len() < FORGET_FROM.max(self.looked_at.saturating_mul(2)) {
            return;
        }
        self.forget(t);
        self.looked_at = self.answers.len();
    }

    fn forget(&mut self, t: Timestamp) {
        let answers = &self.answers;
        let mut dropped = false;
        for list in self.index.values_mut() {
            let before = list.partition_point(|&i| answers[i].ts <= t);
            if before > KEPT_BEFORE {
                list.drain(..before - KEPT_BEFORE);
                dropped = true;
            }
        }
        if !dropped {
            return;
        }
        // Keep the answers some list still points at, in their order, and point the
        // lists at their new places.
        let mut used = vec![false; self.answers.len()];
        for &i in self.index.values().flatten() {
            used[i] = true;
        }
        let mut at = vec![usize::MAX; self.answers.len()];
        let mut kept = Vec::with_capacity(used.iter().filter(|u| **u).count());
        for (i, a) in std::mem::take(&mut self.answers).into_iter().enumerate() {
            if used[i] {
                at[i] = kept.len();
                kept.push(a);
            }
        }
        self.answers = kept;
        for i in self.index.values_mut().flatten() {
            *i = at[*i];
        }
    }

    /// Names one connection (None for DNS's own connections and when nothing names it).
    pub fn name(&self, c: &super::ConnRecord) -> Option<ConnName> {
        if c.app == Some(AppKind::Dns) {
            return None;
        }
        let k = &c.conn;
        let t = k.handshake.and_then(|h| h.syn_ts).unwrap_or(k.first_ts);
        // Borrowed: copied only into the name made (this runs for every connection at
        // every regroup of the streaming story).
        let sni = c.tls.as_ref().and_then(|t| t.sni.as_deref());
        let host = c.http_host.as_deref().map(host_only);
        let said = sni.or(host);
        // The client wrote an address, not a name (http://198.18.1.80/): whatever the
        // lookups said about that address, none of them led to this connection.
        if sni.is_none() && host.is_some_and(|h| h.parse::<IpAddr>().is_ok()) {
            return None;
        }
        let list = self
            .index
            .get(&(k.client.ip, k.server.ip))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let upto = list.partition_point(|&i| self.answers[i].ts <= t);
        let candidates = &list[..upto];
        // The latest answer wins, unless the client itself said which name it meant
        // (TLS SNI, HTTP Host) and one of the answers was for that name: one address
        // answered for several names is common (CDNs, virtual hosts).
        let said_match = said.and_then(|s| {
            candidates.iter().rev().take(64).copied().find(|&i| {
                let a = &self.answers[i];
                a.qname.eq_ignore_ascii_case(s) || a.chain.iter().any(|c| c.eq_ignore_ascii_case(s))
            })
        });
        if let Some(bi) = said_match.or(candidates.last().copied()) {
            let best = &self.answers[bi];
            let ttl = best
                .addrs
                .iter()
                .find(|(ip, _)| *ip == k.server.ip)
                .map(|(_, ttl)| *ttl);
            let gap = t.secs_since(best.ts);
            let mut also: Vec<String> = Vec::new();
            for a in candidates
                .iter()
                .rev()
                .filter(|&&i| i != bi)
                .take(64)
                .map(|&i| &self.answers[i])
            {
                if !a.qname.eq_ignore_ascii_case(&best.qname)
                    && !also.iter().any(|x| x.eq_ignore_ascii_case(&a.qname))
                {
                    also.push(a.qname.clone());
                }
            }
            let matches = |n: &str| {
                n.eq_ignore_ascii_case(&best.qname)
                    || best.chain.iter().any(|c| c.eq_ignore_ascii_case(n))
            };
            let mismatch = said
                .filter(|s| !matches(s) && s.parse::<IpAddr>().is_err())
                .map(str::to_string);
            return Some(ConnName {
                qname: best.qname.clone(),
                chain: best.chain.clone(),
                dns_rtt: best.rtt,
                gap: Some(gap),
                ttl_expired: ttl.is_some_and(|ttl| gap > ttl as f64),
                ttl,
                source: NameSource::Dns,
                dns_seq: Some(best.seq),
                also,
                mismatch,
            });
        }
        let (name, source) = match (sni, host) {
            (Some(s), _) => (s.to_string(), NameSource::Sni),
            (None, Some(h)) if h.parse::<IpAddr>().is_err() => (h.to_string(), NameSource::Host),
            _ => return None,
        };
        Some(ConnName {
            qname: name,
            chain: Vec::new(),
            dns_rtt: None,
            gap: None,
            ttl_expired: false,
            ttl: None,
            source,
            dns_seq: None,
            also: Vec::new(),
            mismatch: None,
        })
    }
}

/// Names every connection of `input` (same order as `input.conns`).
pub fn name_connections(input: &StoryInput<'_>) -> Vec<Option<ConnName>> {
    let mut idx = NameIndex::new();
    for tx in input.dns {
        idx.add(tx);
    }
    input.conns.iter().map(|c| idx.name(c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shifted(t: Option<Timestamp>, by: i64) -> Option<Timestamp> {
        t.map(|t| Timestamp(t.0 + by))
    }

    /// Forgetting is exact: every capture's lookups and connections repeated 100 times,
    /// each copy later than the one before, are named the same by an index that forgets
    /// before each copy as by one that keeps every answer; and the forgetting one ends
    /// up holding a bounded number of answers.
    #[test]
    fn forgetting_old_answers_names_every_connection_the_same() {
        const COPIES: i64 = 100;
        let (mut named, mut forgot) = (0usize, 0usize);
        for path in crate::testutil::all_captures() {
            let Some(mut engine) = crate::testutil::analysed(&path) else {
                continue;
            };
            let conns = engine.take_conns();
            let dns = engine.take_dns(true);
            if dns.is_empty() || conns.is_empty() {
                continue;
            }
            let times = conns
                .iter()
                .flat_map(|c| [c.conn.first_ts, c.conn.last_ts])
                .chain(
                    dns.iter()
                        .flat_map(|t| [t.query_ts, t.response_ts])
                        .flatten(),
                );
            let (lo, hi) = times.fold((i64::MAX, i64::MIN), |(l, h), t| (l.min(t.0), h.max(t.0)));
            // (Skipping a capture whose times would overflow when shifted.)
            let Some(span) = hi
                .checked_sub(lo)
                .and_then(|d| d.checked_add(10_000_000_000))
                .filter(|s| {
                    s.checked_mul(COPIES)
                        .and_then(|m| hi.checked_add(m))
                        .is_some()
                })
            else {
                continue;
            };
            let (mut all, mut some) = (NameIndex::new(), NameIndex::new());
            let at = path.display();
            for k in 0..COPIES {
                let by = k * span;
                for tx in &dns {
                    let mut tx = tx.clone();
                    tx.query_ts = shifted(tx.query_ts, by);
                    tx.response_ts = shifted(tx.response_ts, by);
                    tx.last_query_ts = shifted(tx.last_query_ts, by);
                    tx.last_response_ts = shifted(tx.last_response_ts, by);
                    all.add(&tx);
                    some.add(&tx);
                }
                // No connection of this copy or a later one starts before this.
                let before = some.answers.len();
                some.forget(Timestamp(lo + by));
                forgot += before - some.answers.len();
                for c in &conns {
                    let mut c = c.clone();
                    c.conn.first_ts = Timestamp(c.conn.first_ts.0 + by);
                    if let Some(h) = c.conn.handshake.as_mut() {
                        h.syn_ts = shifted(h.syn_ts, by);
                    }
                    let want = all.name(&c);
                    named += usize::from(want.is_some());
                    assert_eq!(
                        format!("{:?}", some.name(&c)),
                        format!("{want:?}"),
                        "{at} copy {k}"
                    );
                }
            }
            let per_copy = all.answers.len() / COPIES as usize;
            assert!(
                some.answers.len() <= per_copy * (KEPT_BEFORE + 1),
                "{at}: {} answers kept, {per_copy} per copy",
                some.answers.len()
            );
        }
        assert!(named > 1_000, "only {named} names compared");
        assert!(forgot > 1_000, "only {forgot} answers forgotten");
    }
}
