//! Putting the shards' records back into one engine's order, ids and batches.

use std::collections::{BTreeMap, HashMap};

use super::worker::{Tag, WindowOut};
use super::Records;
use crate::analysis::chunked::Chunked;
use crate::analysis::{LimitTally, LIMIT_ANOMALIES};
use crate::base::{ConnId, Timestamp};
use crate::proto::dns::DnsTransaction;
use crate::story::{ConnRecord, HttpRecord, Pending};

/// Renumbering and DNS hold-back across windows.
pub struct Merger {
    /// Per worker: local connection id → the id one engine gives it.
    conn_ids: Vec<Vec<u32>>,
    /// Per worker: local DNS `seq` → one engine's `seq`.
    dns_seqs: Vec<Vec<u64>>,
    next_conn: u32,
    next_seq: u64,
    /// Finished DNS transactions held behind an older open one (global `seq`).
    dns_done: BTreeMap<u64, DnsTransaction>,
    /// Limit anomalies of the records the consumer took.
    taken: LimitTally,
    /// The workers' own limit counts, as of their last window.
    worker_limits: Vec<LimitTally>,
    /// While the end comes in chunks ([`Merger::merge_some`]): per worker, the records
    /// received and not released yet, in its order.
    held_conns: Vec<Vec<(Tag, ConnRecord)>>,
    held_http: Vec<Vec<(Tag, HttpRecord)>>,
    /// Connections per chunk of a [`Merged`] ([`Chunked::records_per_chunk`] unless a
    /// test says otherwise).
    conn_chunk: usize,
}

/// One drain's records, in one engine's order and numbering.
#[derive(Default)]
pub struct Merged {
    /// In chunks of bounded size: a sweep's burst is tens of thousands of them, handed
    /// to another thread (see `analysis::chunked`).
    conns: Chunked<ConnRecord>,
    http: Vec<HttpRecord>,
    dns: Vec<DnsTransaction>,
    now: Timestamp,
    pending: Option<Pending>,
    taken: LimitTally,
    /// One of the end's chunks, more to come (see [`Records::finishing`]).
    finishing: bool,
}

impl Merger {
    pub fn new(workers: usize) -> Self {
        Merger {
            conn_ids: vec![Vec::new(); workers],
            dns_seqs: vec![Vec::new(); workers],
            next_conn: 0,
            next_seq: 0,
            dns_done: BTreeMap::new(),
            taken: LimitTally::default(),
            worker_limits: vec![LimitTally::default(); workers],
            held_conns: Vec::new(),
            held_http: Vec::new(),
            conn_chunk: Chunked::<ConnRecord>::records_per_chunk(),
        }
    }

    /// Merged connections in chunks of `n` (tests force tiny chunks with it).
    #[cfg(test)]
    pub fn set_conn_chunk(&mut self, n: usize) {
        self.conn_chunk = n;
    }

    /// Merges every worker's output for one window (`outs[w]` from worker `w`).
    pub fn merge(&mut self, outs: Vec<WindowOut>, at_end: bool) -> Merged {
        self.merge_some(outs.into_iter().map(Some).collect(), at_end)
    }

    /// [`Merger::merge`] where the end of the input comes in chunks: after a window
    /// that ended the input, each worker whose output said [`WindowOut::more`] sends
    /// another chunk, and the others `None`, until none has more.
    ///
    /// A worker finishes its connections in id order, so once it sent the record of
    /// connection *k*, its records still to come are of later connections: each merge
    /// releases the end's records up to the smallest such *k* of the workers with
    /// more, and holds the rest. The DNS transactions of the end come with every
    /// worker's last chunk, and are released then, all at once.
    pub fn merge_some(&mut self, outs: Vec<Option<WindowOut>>, at_end: bool) -> Merged {
        if self.held_conns.len() < outs.len() {
            self.held_conns.resize_with(outs.len(), Vec::new);
            self.held_http.resize_with(outs.len(), Vec::new);
        }
        let more: Vec<bool> = outs
            .iter()
            .map(|o| o.as_ref().is_some_and(|o| o.more))
            .collect();
        let finishing = more.contains(&true);
        // A worker that had sent its last chunk sends nothing.
        let present: Vec<bool> = outs.iter().map(Option::is_some).collect();
        let outs: Vec<WindowOut> = outs.into_iter().map(Option::unwrap_or_default).collect();
        let dns_now = !finishing;
        // New ids first: by the frame that created them (a frame is one worker's), so
        // in order of first packets, as one engine numbers them.
        let mut created: Vec<(u64, usize, usize)> = Vec::new();
        for (w, o) in outs.iter().enumerate() {
            created.extend(o.conns_created.iter().enumerate().map(|(i, &n)| (n, w, i)));
        }
        created.sort_unstable();
        for (_, w, _) in created {
            if let Some(ids) = self.conn_ids.get_mut(w) {
                ids.push(self.next_conn);
                self.next_conn = self.next_conn.wrapping_add(1);
            }
        }
        let mut seqs: Vec<(u64, u8, usize, usize)> = Vec::new();
        for (w, o) in outs.iter().enumerate() {
            seqs.extend(
                o.dns_created
                    .iter()
                    .enumerate()
                    .map(|(i, &(n, ph))| (n, ph, w, i)),
            );
        }
        seqs.sort_unstable();
        for (_, _, w, _) in seqs {
            if let Some(s) = self.dns_seqs.get_mut(w) {
                s.push(self.next_seq);
                self.next_seq += 1;
            }
        }

        let mut conns: Vec<Vec<(Tag, ConnRecord)>> = Vec::with_capacity(outs.len());
        let mut http: Vec<Vec<(Tag, HttpRecord)>> = Vec::with_capacity(outs.len());
        let mut oldest: Option<u64> = None;
        let mut pending: Option<Pending> = None;
        let mut now = Timestamp::default();
        for (w, o) in outs.into_iter().enumerate() {
            let ids = self.conn_ids.get(w).map_or(&[][..], |v| v.as_slice());
            let seqs = self.dns_seqs.get(w).map_or(&[][..], |v| v.as_slice());
            let gid = |c: ConnId| ConnId(ids.get(c.0 as usize).copied().unwrap_or(c.0));
            let gseq = |s: u64| seqs.get(s as usize).copied().unwrap_or(s);
            let retag = |(n, ph, k): Tag| -> Tag {
                if ph == 1 {
                    (n, ph, k)
                } else {
                    (n, ph, gid(ConnId(k as u32)).0 as u64)
                }
            };
            let mut cs = o.conns;
            for (t, c) in &mut cs {
                c.conn.id = gid(c.conn.id);
                *t = retag(*t);
            }
            conns.push(cs);
            let mut hs = o.http;
            for (t, h) in &mut hs {
                h.conn = gid(h.conn);
                *t = retag(*t);
            }
            http.push(hs);
            if !present.get(w).copied().unwrap_or(true) {
                continue;
            }
            for mut tx in o.dns {
                tx.seq = gseq(tx.seq);
                tx.tc_retry_of = tx.tc_retry_of.map(gseq);
                tx.conn = tx.conn.map(gid);
                self.dns_done.insert(tx.seq, tx);
            }
            if let Some(s) = o.dns_oldest_open.map(gseq) {
                oldest = Some(oldest.map_or(s, |o| o.min(s)));
            }
            if let Some((open, held)) = o.pending {
                let p = pending.get_or_insert_with(|| Pending {
                    now: o.now,
                    open: HashMap::new(),
                    dns_held_since: None,
                });
                for (ip, t) in open {
                    let e = p.open.entry(ip).or_insert(t);
                    *e = (*e).min(t);
                }
                p.dns_held_since = min_opt(p.dns_held_since, held);
            }
            now = now.max(o.now);
            if let Some(l) = self.worker_limits.get_mut(w) {
                *l = o.limits;
            }
        }
        let dns = if !dns_now {
            // The end's chunks: every DNS transaction comes with the last.
            Vec::new()
        } else if at_end {
            std::mem::take(&mut self.dns_done).into_values().collect()
        } else {
            let rest = self.dns_done.split_off(&oldest.unwrap_or(u64::MAX));
            std::mem::replace(&mut self.dns_done, rest)
                .into_values()
                .collect()
        };
        if let Some(p) = &mut pending {
            p.now = now;
            let held = self.dns_done.values().map(DnsTransaction::first_ts).min();
            p.dns_held_since = min_opt(p.dns_held_since, held);
        }
        let (conns, http) = if finishing || self.held_conns.iter().any(|h| !h.is_empty()) {
            self.release_end(conns, http, &more)
        } else {
            let mut cs = Chunked::with_chunk(self.conn_chunk);
            merge_into(conns, |c| cs.push(c));
            (cs, merge_sorted(http))
        };
        Merged {
            conns,
            http,
            dns,
            now,
            pending,
            taken: LimitTally::default(),
            finishing,
        }
    }

    /// The end's chunks (see [`Merger::merge_some`]): adds this merge's records to
    /// those held, and releases those no worker with `more` can still precede.
    fn release_end(
        &mut self,
        conns: Vec<Vec<(Tag, ConnRecord)>>,
        http: Vec<Vec<(Tag, HttpRecord)>>,
        more: &[bool],
    ) -> (Chunked<ConnRecord>, Vec<HttpRecord>) {
        for (h, c) in self.held_conns.iter_mut().zip(conns) {
            h.extend(c);
        }
        for (h, c) in self.held_http.iter_mut().zip(http) {
            h.extend(c);
        }
        // A worker with more has sent its records up to its last connection's tag (a
        // worker with more sent at least one connection; before any, nothing of the
        // end can go, but the records of the window's frames can).
        let bound = more
            .iter()
            .zip(&self.held_conns)
            .filter(|(m, _)| **m)
            .map(|(_, h)| h.last().map_or((u64::MAX, 2, 0), |(t, _)| *t))
            .min();
        let mut cs = Chunked::with_chunk(self.conn_chunk);
        merge_into(drain_upto(&mut self.held_conns, bound), |c| cs.push(c));
        (cs, merge_sorted(drain_upto(&mut self.held_http, bound)))
    }

    /// Counts what the consumer took from a merged window (as [`crate::analysis::Engine::take_conns`]).
    pub fn taken(&mut self, m: &Merged) {
        for k in LIMIT_ANOMALIES {
            self.taken.add_kind(k, m.taken.get(k));
        }
    }

    /// How often each limit was hit, over all shards.
    pub fn limits_hit(&self) -> LimitTally {
        let mut t = self.taken;
        for w in &self.worker_limits {
            for k in LIMIT_ANOMALIES {
                t.add_kind(k, w.get(k));
            }
        }
        t
    }
}

/// Merges lists each sorted by tag (a worker releases in its own order, which the
/// renumbering keeps: local ids and global ids both follow first packets) into one,
/// moving each record once. Equal tags cannot come from two workers (a frame, or a
/// connection, is one worker's); within one list the order is kept.
/// Takes from each worker's held records (in tag order) those with a tag up to `bound`
/// (all of them when there is none).
fn drain_upto<T>(held: &mut [Vec<(Tag, T)>], bound: Option<Tag>) -> Vec<Vec<(Tag, T)>> {
    held.iter_mut()
        .map(|h| {
            let k = h.partition_point(|(t, _)| bound.is_none_or(|b| *t <= b));
            h.drain(..k).collect()
        })
        .collect()
}

pub(super) fn merge_sorted<T>(lists: Vec<Vec<(Tag, T)>>) -> Vec<T> {
    let total = lists.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(total);
    merge_into(lists, |r| out.push(r));
    out
}

/// [`merge_sorted`], each record handed to `push` in order.
fn merge_into<T>(lists: Vec<Vec<(Tag, T)>>, mut push: impl FnMut(T)) {
    let mut its: Vec<_> = lists
        .into_iter()
        .filter(|l| !l.is_empty())
        .map(|l| l.into_iter().peekable())
        .collect();
    loop {
        let mut best: Option<(usize, Tag)> = None;
        for (i, it) in its.iter_mut().enumerate() {
            if let Some((t, _)) = it.peek() {
                if best.is_none_or(|(_, b)| *t < b) {
                    best = Some((i, *t));
                }
            }
        }
        let Some((i, _)) = best else {
            break;
        };
        if let Some((_, r)) = its.get_mut(i).and_then(Iterator::next) {
            push(r);
        }
    }
}

fn min_opt(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

impl Records for Merged {
    fn take_conns(&mut self) -> Vec<ConnRecord> {
        let v = self.conns.take_all();
        for c in &v {
            self.taken.add(&c.conn.anomalies);
        }
        v
    }
    fn take_conn_chunks(&mut self) -> Vec<Vec<ConnRecord>> {
        let v = self.conns.take_chunks();
        for c in v.iter().flatten() {
            self.taken.add(&c.conn.anomalies);
        }
        v
    }
    fn take_http(&mut self) -> Vec<HttpRecord> {
        let v = std::mem::take(&mut self.http);
        for h in &v {
            self.taken.add(&h.tx.anomalies);
        }
        v
    }
    fn take_dns(&mut self, _at_end: bool) -> Vec<DnsTransaction> {
        std::mem::take(&mut self.dns)
    }
    fn now(&self) -> Timestamp {
        self.now
    }
    /// The merged `Pending` of this drain; asked only where the worker windows were
    /// told to bring it ([`super::WindowEnd::want_pending`]).
    fn pending(&self) -> Pending {
        self.pending.clone().unwrap_or(Pending {
            now: self.now,
            open: HashMap::new(),
            dns_held_since: None,
        })
    }
    fn finishing(&self) -> bool {
        self.finishing
    }
}

#[cfg(test)]
impl Merger {
    /// One worker's local → global connection ids so far.
    pub(super) fn conn_ids_of(&self, w: usize) -> &[u32] {
        self.conn_ids.get(w).map_or(&[], |v| v.as_slice())
    }
}
