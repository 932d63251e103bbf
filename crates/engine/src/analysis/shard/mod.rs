//! One engine per core, the same records as one engine: the capture is split by a
//! symmetric flow key ([`key`]) across [`Worker`]s, each an [`Engine`] over its share,
//! and a [`Merger`] puts their records back in the order one engine gives them, with
//! one engine's connection ids and DNS sequence numbers. Threads are the caller's
//! business (the CLI's `run.rs`); this module is the data and the rules.
//!
//! **What one engine's order is.** A single engine hands out records at *drains*
//! (every [`DRAIN_EVERY`] frames, and at the end). Between drains, connections and
//! HTTP exchanges finish in a sequence: frame after frame, first what the frame's clock
//! step swept out (idle connections, in connection-id order), then what the frame
//! itself finished. DNS transactions come out in `seq` order, held back behind the
//! oldest one still open.
//!
//! **How the shards reproduce it.**
//! - Every worker sees every frame's *time* ([`Step::Tick`]) and decodes only its own
//!   frames ([`Step::Own`]); the sweep is driven by every frame's time
//!   ([`Engine::clock`]), so each worker sweeps at exactly the frames one engine does,
//!   and its `now` is the file's.
//! - Each record is tagged with the frame position at which it was released, the phase
//!   (0: swept by the clock step, 1: the frame itself, 2: the end), and an order within
//!   the phase (the connection id for sweeps and the end, which go in id order; the
//!   worker's own sequence for the frame, which belongs to one worker).
//! - Connection ids: each worker numbers its connections from 0 and says at which
//!   frame it created each; the merge numbers all connections by that frame, which is
//!   one engine's order of first packets, and rewrites every id before a record leaves.
//!   DNS `seq` numbers are renumbered the same way.
//! - DNS hold-back: workers hand over every finished transaction with their oldest
//!   open `seq`; the merge releases those before the oldest open one of all shards.
//! - `Pending` (for the story told as it goes): asked of every worker at the drains
//!   where one engine's consumer would ask ([`WindowEnd::want_pending`]), merged by
//!   the earliest time per client.
//!
//! **What is per shard, and why.** The defragmenter, the connection table, the
//! application decoders and the DNS tracker are per shard: the key keeps everything
//! each of them joins on one shard. The TLS key log is read once per shard (read-only).
//! Limits that count across the whole run (`--max-conns`, `--max-reassembly-bytes`,
//! `--max-frag-bytes`, `--max-dns-pending`) would apply per shard: the CLI runs one
//! engine when one is set, and with the defaults the output is the same unless one
//! engine would have hit them (then each shard holds up to the limit itself).
//!
//! **Where sharding cannot keep the semantics** (callers use one engine): display
//! filters (`-Y` matches packets as one engine numbers them, and connections by their
//! packets), `packets` (a per-packet listing in file order needs one engine's
//! per-packet state), and live capture.

mod dispatch;
pub mod key;
mod merge;
mod worker;

pub use dispatch::Dispatcher;
pub use key::{shard_key, shard_of};
pub use merge::{Merged, Merger};
pub use worker::{Step, Window, WindowEnd, WindowOut, Worker};

use super::Engine;
use crate::base::Timestamp;
use crate::proto::dns::DnsTransaction;
use crate::story::{ConnRecord, HttpRecord, Pending};

/// Frames between two drains of finished records: one engine's rhythm, which the
/// shards keep so that records come out in the same batches.
pub const DRAIN_EVERY: u64 = 4096;

/// Connections finished per drain at the end of the input (`Engine::finish_some`,
/// one engine's and each worker's): ~600 KB of records, so the end never holds the
/// records of every connection still open at once. Small, because the end's chunks
/// queue where the consumer is slower than the workers (the workers' channels, and
/// `story`'s 64 drains ahead to its teller): on two threads the workers' queued
/// chunks held 15.7 MB at the heap peak of manyflows.pcap with 4,096, 6.5 MB with
/// 1,024 (heaptrack).
pub const FINISH_CHUNK: usize = 1024;

/// Finished records, from one engine or from the merge of shards: what the record
/// commands (`conns`, `dns`, `http`, `story`) take at each drain.
pub trait Records {
    /// Connections finished since the last call (in the order they finished).
    fn take_conns(&mut self) -> Vec<ConnRecord>;
    /// The same, in chunks of bounded size for a consumer that takes them one by one
    /// (an engine keeps them so: see [`Engine::take_conn_chunks`]).
    fn take_conn_chunks(&mut self) -> Vec<Vec<ConnRecord>> {
        let v = self.take_conns();
        if v.is_empty() {
            Vec::new()
        } else {
            vec![v]
        }
    }
    /// HTTP exchanges finished since the last call.
    fn take_http(&mut self) -> Vec<HttpRecord>;
    /// DNS transactions no open one precedes (all of them `at_end`).
    fn take_dns(&mut self, at_end: bool) -> Vec<DnsTransaction>;
    /// Capture time of the latest frame.
    fn now(&self) -> Timestamp;
    /// What may still become records (see [`Engine::pending`]).
    fn pending(&self) -> Pending;
    /// This drain is one of the end's chunks and more follow ([`Engine::finish_some`]):
    /// its connections and HTTP exchanges come before the last drain's, and the end's
    /// DNS transactions all come at the last one. A consumer that sorts the end's
    /// records together, or names them by the end's lookups, keeps them until then.
    fn finishing(&self) -> bool;
}

impl Records for Engine {
    fn take_conns(&mut self) -> Vec<ConnRecord> {
        Engine::take_conns(self)
    }
    fn take_conn_chunks(&mut self) -> Vec<Vec<ConnRecord>> {
        Engine::take_conn_chunks(self)
    }
    fn take_http(&mut self) -> Vec<HttpRecord> {
        Engine::take_http(self)
    }
    fn take_dns(&mut self, at_end: bool) -> Vec<DnsTransaction> {
        Engine::take_dns(self, at_end)
    }
    fn now(&self) -> Timestamp {
        Engine::now(self)
    }
    fn pending(&self) -> Pending {
        Engine::pending(self)
    }
    fn finishing(&self) -> bool {
        Engine::finishing(self)
    }
}

#[cfg(test)]
mod tests;
