//! A shard's engine: takes a window of steps (every frame's time, its own frames'
//! bytes), gives back the records it released, tagged for the merge.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::analysis::{Engine, EngineConfig, LimitTally};
use crate::base::Timestamp;
use crate::capture::{DecryptionSecrets, Frame, FrameMeta};
use crate::proto::dns::DnsTransaction;
use crate::proto::tls::KeyLog;
use crate::story::{ConnRecord, HttpRecord};

use super::FINISH_CHUNK;

/// One step of the file, as a worker sees it.
#[derive(Clone, Debug)]
pub enum Step {
    /// Decryption secrets read before the next frame: every shard takes them.
    Secrets(Vec<DecryptionSecrets>),
    /// Another shard's frame: only its time (frame position `n`).
    Tick { n: u64, ts: Timestamp },
    /// This shard's frame `n`: its bytes are `buf[at..at + len]` of the window.
    Own {
        n: u64,
        meta: FrameMeta,
        at: usize,
        len: usize,
    },
}

/// What ends a window.
#[derive(Clone, Copy, Debug, Default)]
pub struct WindowEnd {
    /// The input ended (or broke off damaged): finish every connection.
    pub at_end: bool,
    /// One engine's consumer asks for `Pending` at this drain.
    pub want_pending: bool,
}

/// The steps between two drains, for one worker.
#[derive(Debug, Default)]
pub struct Window {
    pub steps: Vec<Step>,
    /// The bytes of this worker's frames, back to back.
    pub buf: Vec<u8>,
    pub end: WindowEnd,
}

/// Position in one engine's release sequence: frame position, phase (0: swept by the
/// frame's clock step, 1: released by the frame, 2: the end), then the connection id
/// (phases 0 and 2, rewritten by the merge) or the worker's own order (phase 1).
pub type Tag = (u64, u8, u64);

/// What a worker released during a window.
#[derive(Debug, Default)]
pub struct WindowOut {
    pub conns: Vec<(Tag, ConnRecord)>,
    pub http: Vec<(Tag, HttpRecord)>,
    /// Every finished DNS transaction (local `seq`).
    pub dns: Vec<DnsTransaction>,
    /// Smallest local `seq` still open (holds back later ones).
    pub dns_oldest_open: Option<u64>,
    /// Frame position that created each new connection, in local id order.
    pub conns_created: Vec<u64>,
    /// (frame position, phase) that created each new DNS transaction, in `seq` order.
    pub dns_created: Vec<(u64, u8)>,
    /// With [`WindowEnd::want_pending`]: the earliest open connection per client, and
    /// the earliest DNS transaction still held by this worker.
    pub pending: Option<(HashMap<IpAddr, Timestamp>, Option<Timestamp>)>,
    pub now: Timestamp,
    /// Limit hits so far (records' own anomalies are counted by the merge).
    pub limits: LimitTally,
    /// A chunk of the end ([`Worker::more`] gives the next): more connections to
    /// finish, and the DNS transactions of the end still held.
    pub more: bool,
}

/// One shard's engine and what it has told the merge so far.
pub struct Worker {
    engine: Engine,
    created: u64,
    dns_seq: u64,
    /// Within-frame order of records (phase 1).
    order: u64,
    /// Connections finished per chunk of the end ([`FINISH_CHUNK`]; tests use fewer).
    finish_chunk: usize,
}

impl Worker {
    pub fn new(cfg: EngineConfig, keys: Option<KeyLog>) -> Self {
        let mut engine = Engine::new(cfg);
        if let Some(k) = keys {
            engine.set_tls_keys(k);
        }
        Worker {
            engine,
            created: 0,
            dns_seq: 0,
            order: 0,
            finish_chunk: FINISH_CHUNK,
        }
    }

    /// Finishes the end in chunks of `n` connections (tests: chunks on small captures).
    #[cfg(test)]
    pub(super) fn set_finish_chunk(&mut self, n: usize) {
        self.finish_chunk = n;
    }

    /// Runs one window (see [`Step`]); at the end of input, finishes.
    pub fn run(&mut self, w: Window) -> WindowOut {
        let mut out = WindowOut::default();
        for step in &w.steps {
            match step {
                Step::Secrets(v) => {
                    for s in v {
                        self.engine.add_secrets(s);
                    }
                }
                Step::Tick { n, ts } => {
                    self.engine.clock(*ts);
                    self.collect(&mut out, *n, 0);
                }
                Step::Own { n, meta, at, len } => {
                    self.engine.clock(meta.ts);
                    self.collect(&mut out, *n, 0);
                    let end = at.saturating_add(*len);
                    let data = w.buf.get(*at..end).unwrap_or(&[]);
                    let frame = Frame {
                        meta: *meta,
                        data,
                        secrets: &[],
                    };
                    self.engine.analyse_frame(&frame);
                    self.order = 0;
                    self.collect(&mut out, *n, 1);
                    let now = self.engine.conns_created();
                    for _ in self.created..now {
                        out.conns_created.push(*n);
                    }
                    self.created = now;
                }
            }
        }
        if w.end.at_end {
            return self.end_chunk(out);
        }
        let (dns, oldest) = self.engine.take_dns_all(false);
        out.dns = dns;
        out.dns_oldest_open = oldest;
        if w.end.want_pending {
            let p = self.engine.pending();
            out.pending = Some((p.open, p.dns_held_since));
        }
        out.now = self.engine.now();
        out.limits = self.engine.limits_hit();
        out
    }

    /// The next chunk of the end, after a window that ended the input and whose output
    /// said [`WindowOut::more`]: call until one says no more.
    pub fn more(&mut self) -> WindowOut {
        self.end_chunk(WindowOut::default())
    }

    /// Finishes the next [`FINISH_CHUNK`] open connections (`Engine::finish_some`)
    /// into `out`; once none are left, also every DNS transaction, with those the end
    /// made (a DNS-over-TCP message flushed). Those are numbered by the merge only then,
    /// all at once, as when the whole end was one window.
    fn end_chunk(&mut self, mut out: WindowOut) -> WindowOut {
        let done = self.engine.finish_some(self.finish_chunk);
        self.take_end(&mut out);
        if done {
            let (dns, oldest) = self.engine.take_dns_all(true);
            self.note_dns_created(&mut out, u64::MAX, 2);
            out.dns = dns;
            out.dns_oldest_open = oldest;
        } else {
            // What is still open, for a consumer that tells the story between chunks.
            let p = self.engine.pending();
            out.pending = Some((p.open, p.dns_held_since));
        }
        out.more = !done;
        out.now = self.engine.now();
        out.limits = self.engine.limits_hit();
        out
    }

    /// Takes what a chunk of the end released, tagged for the merge (phase 2, by id).
    fn take_end(&mut self, out: &mut WindowOut) {
        let (conns, http) = self.engine.take_finished_untallied();
        // Room for exactly them (growing by doubling would copy 600-byte records).
        out.conns.reserve_exact(conns.iter().map(Vec::len).sum());
        out.http.reserve_exact(http.len());
        for c in conns.into_iter().flatten() {
            let k = c.conn.id.0 as u64;
            out.conns.push(((u64::MAX, 2, k), c));
        }
        for h in http {
            let k = h.conn.0 as u64;
            out.http.push(((u64::MAX, 2, k), h));
        }
    }

    /// Takes what the last step released, tagged for the merge.
    fn collect(&mut self, out: &mut WindowOut, n: u64, phase: u8) {
        self.note_dns_created(out, n, phase);
        let (conns, http) = self.engine.take_finished_untallied();
        for c in conns.into_iter().flatten() {
            let k = self.key(phase, c.conn.id.0);
            out.conns.push(((n, phase, k), c));
        }
        for h in http {
            let k = self.key(phase, h.conn.0);
            out.http.push(((n, phase, k), h));
        }
    }

    fn key(&mut self, phase: u8, conn: u32) -> u64 {
        if phase == 1 {
            self.order += 1;
            self.order
        } else {
            conn as u64
        }
    }

    fn note_dns_created(&mut self, out: &mut WindowOut, n: u64, phase: u8) {
        let next = self.engine.dns_next_seq();
        for _ in self.dns_seq..next {
            out.dns_created.push((n, phase));
        }
        self.dns_seq = next;
    }
}
