//! Every bound the analysis puts on state that input controls, in one place, and the
//! tally of how often each was hit.
//!
//! A capture is hostile input: a SYN flood from spoofed sources, a stream of
//! out-of-order segments that never fill their hole, fragments that never complete,
//! queries that are never answered. Each of those would otherwise hold memory until
//! the end of the file. Every such state has a limit here; hitting one finishes or drops
//! the oldest/idlest state and records a stable anomaly name (`LIMIT_ANOMALIES`), on
//! the connection, transaction or packet concerned, and in the run's [`LimitTally`]
//! (the CLI prints one `limits hit:` line on stderr when it is not empty). Defaults
//! and flags are documented in `docs/limits.md`.
//!
//! Fixed bounds that are not memory budgets stay constants in their modules: DNS
//! compression pointer jumps (`proto::dns::MAX_POINTER_JUMPS`, 32), HTTP head bytes and
//! header lines (`proto::http` `MAX_HEAD_BYTES` 64 KiB, `MAX_HEADER_LINES` 200), TLS
//! handshake buffering (`proto::tls::MAX_HANDSHAKE_BUF`, 64 KiB).

use super::engine::EngineConfig;
use crate::base::{Anomaly, AnomalyKind};
use crate::decode::DefragLimits;
use crate::flow::FlowConfig;
use crate::proto::dns::transactions::{DEFAULT_PENDING_LIMIT, DEFAULT_TIMEOUT_NS};
use crate::proto::http::MAX_PENDING;

/// Bounds of the application decoders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppLimits {
    /// Unanswered DNS queries kept; past it the oldest is finished as unanswered
    /// (`dns_pending_limit`).
    pub dns_pending: usize,
    /// Capture time a DNS query waits for its answer.
    pub dns_timeout_ns: i64,
    /// HTTP requests per connection waiting for a response (`http_pending_limit`).
    pub http_pending: usize,
}

impl Default for AppLimits {
    fn default() -> Self {
        AppLimits {
            dns_pending: DEFAULT_PENDING_LIMIT,
            dns_timeout_ns: DEFAULT_TIMEOUT_NS,
            http_pending: MAX_PENDING,
        }
    }
}

/// All configurable limits of one run.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections, reassembly buffers (per direction and in total), idle timeouts.
    pub flow: FlowConfig,
    /// IP fragments pending reassembly.
    pub defrag: DefragLimits,
    pub apps: AppLimits,
    /// Most bytes a decompressed HTTP body may grow to (`decompressed_size_limit`);
    /// the value to pass to `proto::http::body::decode_body`.
    pub body_bytes: usize,
}

/// Default for the CLI's open-connection limit. A connection costs about 3 KiB while
/// open (measured: a 1M-source SYN flood with 65536 kept peaks at ~220 MiB), so the
/// flow table's own default of 1M allows ~3 GiB; 131072 keeps the worst case near
/// 400 MiB while staying far above any real capture's concurrency in the corpus.
pub const DEFAULT_MAX_CONNS: usize = 131_072;

/// Default for [`Limits::body_bytes`]: 16 MiB.
pub const DEFAULT_BODY_BYTES: usize = 16 << 20;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            flow: FlowConfig {
                max_conns: DEFAULT_MAX_CONNS,
                ..FlowConfig::default()
            },
            defrag: DefragLimits::default(),
            apps: AppLimits::default(),
            body_bytes: DEFAULT_BODY_BYTES,
        }
    }
}

impl Limits {
    /// The engine configuration with these limits.
    pub fn engine_config(&self, want_info: bool) -> EngineConfig {
        EngineConfig {
            flow: self.flow,
            defrag: self.defrag,
            apps: self.apps,
            want_info,
            want_app_fields: false,
        }
    }

    /// A rough upper bound of the bytes the bounded state may hold: what the
    /// `--max-*` flags add up to (connection and transaction bookkeeping counted at a
    /// generous fixed size each). Used by the adversarial tests and `docs/limits.md`.
    pub fn budget_bytes(&self) -> usize {
        const PER_CONN: usize = 1024;
        const PER_DNS: usize = 1024;
        self.flow
            .max_total_buffered
            .saturating_add(self.defrag.max_bytes)
            .saturating_add(self.flow.max_conns.saturating_mul(PER_CONN))
            .saturating_add(self.apps.dns_pending.saturating_mul(PER_DNS))
    }
}

/// The anomalies that mean "a limit was hit, state was dropped or finished early".
/// Order is the order of the summary line.
pub const LIMIT_ANOMALIES: [AnomalyKind; 10] = [
    AnomalyKind::ConnEvicted,
    AnomalyKind::ReassemblyLimit,
    AnomalyKind::DefragMemoryLimit,
    AnomalyKind::DefragTooManyPieces,
    AnomalyKind::DnsPendingLimit,
    AnomalyKind::HttpPendingLimit,
    AnomalyKind::HttpHeaderLimit,
    AnomalyKind::TlsHandshakeLimit,
    AnomalyKind::DecompressedSizeLimit,
    AnomalyKind::DnsNameTooLong,
];

/// How many times each limit was hit in a run. No allocation: one counter per kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimitTally {
    counts: [u64; LIMIT_ANOMALIES.len()],
}

impl LimitTally {
    fn slot(kind: AnomalyKind) -> Option<usize> {
        LIMIT_ANOMALIES.iter().position(|k| *k == kind)
    }

    /// Counts the limit anomalies among `anomalies` (others are ignored).
    pub fn add(&mut self, anomalies: &[Anomaly]) {
        for a in anomalies {
            self.add_kind(a.kind, 1);
        }
    }

    /// Counts `n` hits of limit `kind` (ignored when it is not a limit).
    pub fn add_kind(&mut self, kind: AnomalyKind, n: u64) {
        if let Some(i) = Self::slot(kind) {
            self.counts[i] = self.counts[i].saturating_add(n);
        }
    }

    /// Sets the count of `kind` (for limits whose owner keeps its own counter).
    pub fn set(&mut self, kind: AnomalyKind, n: u64) {
        if let Some(i) = Self::slot(kind) {
            self.counts[i] = n;
        }
    }

    /// Hits of limit `kind`.
    pub fn get(&self, kind: AnomalyKind) -> u64 {
        Self::slot(kind).map_or(0, |i| self.counts[i])
    }

    pub fn is_empty(&self) -> bool {
        self.counts.iter().all(|&c| c == 0)
    }

    /// `limits hit: conn_evicted ×1234, reassembly_limit ×2`, or `None` when no limit
    /// was hit (a clean run stays quiet).
    pub fn summary(&self) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let parts: Vec<String> = LIMIT_ANOMALIES
            .iter()
            .zip(self.counts)
            .filter(|(_, c)| *c > 0)
            .map(|(k, c)| format!("{} ×{c}", k.name()))
            .collect();
        Some(format!("limits hit: {}", parts.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_counts_only_limit_names_and_stays_quiet_when_empty() {
        let mut t = LimitTally::default();
        assert_eq!(t.summary(), None);
        t.add(&[
            Anomaly::new(AnomalyKind::ConnEvicted, "x"),
            Anomaly::new(AnomalyKind::Retransmission, "not a limit"),
            Anomaly::new(AnomalyKind::ConnEvicted, "y"),
        ]);
        t.add_kind(AnomalyKind::HttpPendingLimit, 3);
        assert_eq!(t.get(AnomalyKind::ConnEvicted), 2);
        assert_eq!(t.get(AnomalyKind::Retransmission), 0);
        assert_eq!(
            t.summary().as_deref(),
            Some("limits hit: conn_evicted ×2, http_pending_limit ×3")
        );
        t.set(AnomalyKind::ConnEvicted, 0);
        t.set(AnomalyKind::HttpPendingLimit, 0);
        assert!(t.is_empty());
    }

    #[test]
    fn defaults_match_the_modules_and_reach_the_engine() {
        let l = Limits::default();
        assert_eq!(l.flow.max_conns, DEFAULT_MAX_CONNS);
        assert_eq!(
            l.flow.max_dir_buffered,
            FlowConfig::default().max_dir_buffered
        );
        assert_eq!(l.apps.http_pending, MAX_PENDING);
        let mut l2 = l;
        l2.apps.dns_pending = 7;
        l2.flow.max_conns = 9;
        let cfg = l2.engine_config(true);
        assert_eq!(cfg.apps.dns_pending, 7);
        assert_eq!(cfg.flow.max_conns, 9);
        assert!(cfg.want_info);
        assert!(l.budget_bytes() > l.flow.max_total_buffered);
    }

    #[test]
    fn every_limit_name_is_produced_somewhere_in_the_crate() {
        // A limit no emitter produces any more would silently never be counted: each
        // kind must still be named by some emitter.
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut all = String::new();
        let mut stack = vec![std::path::PathBuf::from(root)];
        while let Some(p) = stack.pop() {
            for e in std::fs::read_dir(&p).unwrap().flatten() {
                let path = e.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|x| x == "rs")
                    && !path.ends_with("analysis/limits.rs")
                    && !path.ends_with("base/anomalies.rs")
                {
                    all.push_str(&std::fs::read_to_string(&path).unwrap());
                }
            }
        }
        for k in LIMIT_ANOMALIES {
            assert!(
                all.contains(&format!("AnomalyKind::{k:?}")),
                "{} is never produced",
                k.name()
            );
        }
    }
}
