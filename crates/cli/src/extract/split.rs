//! `--split I/N`: one of N tasks over one capture too big for one task. Each task
//! reads the whole file (every frame's time drives the clock, as a shard of the
//! sharded engine does, so connection state runs from the start), analyses the
//! frames whose flow key (`analysis::shard::shard_key`) falls to I of N, and numbers
//! what it writes so that the N parts never collide: a connection that is the task's
//! `k`th gets id `k * N + I`, and so does every reference to it (`dns.conn`,
//! `http.conn`, `tls.conn`, `story.conn`, `packets.conn`); DNS `seq` (and
//! `tc_retry_of`, `retried_over_tcp`) and story `page` likewise. N = 1 gives the ids
//! of the JSON commands exactly.
//!
//! Names: a connection is named by the lookup that gave its client the server's
//! address, and that lookup's flow (client to resolver) usually falls to another part.
//! So every task also analyses the name service traffic of the other parts
//! ([`carries_names`]: DNS, mDNS, LLMNR and NetBIOS, a few percent of a capture), and
//! names its connections from every lookup of the capture, as one task over the whole
//! file does; it writes only the rows of its own connections (the sink's
//! `Ownership`), so the parts' rows still add up to the whole.

use crate::run::Share;
use wiretale_engine::analysis::shard::{shard_key, shard_of};
use wiretale_engine::capture::Frame;
use wiretale_engine::decode::{self, Transport};
use wiretale_engine::proto::{dns, netbios};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split {
    pub i: u32,
    pub n: u32,
}

impl Split {
    pub const WHOLE: Split = Split { i: 0, n: 1 };

    /// Whether this task analyses `frame`.
    pub fn owns(&self, frame: &Frame<'_>) -> bool {
        self.n <= 1
            || shard_of(shard_key(frame.meta.link, frame.data), self.n as usize) == self.i as usize
    }

    /// What this task does with `frame`: analyses it as its own, analyses it for the
    /// names it carries (another part's lookup), or takes only its time.
    pub fn share(&self, frame: &Frame<'_>) -> Share {
        if self.owns(frame) {
            Share::Own
        } else if carries_names(frame) {
            Share::Names
        } else {
            Share::Time
        }
    }

    /// The id written for the task's `local`th connection.
    pub fn id(&self, local: u32) -> Result<u32, String> {
        let v = u64::from(local) * u64::from(self.n) + u64::from(self.i);
        u32::try_from(v).map_err(|_| {
            format!(
                "--split {}/{}: connection {local} gives an id over 2^32",
                self.i, self.n
            )
        })
    }

    /// The same for a 64-bit number (DNS `seq`).
    pub fn seq(&self, local: u64) -> u64 {
        local
            .saturating_mul(u64::from(self.n))
            .saturating_add(u64::from(self.i))
    }

    /// Story pages are 1-based: page `p` becomes `(p - 1) * N + I + 1`.
    pub fn page(&self, p: u32) -> Result<u32, String> {
        Ok(self.id(p.saturating_sub(1))? + 1)
    }
}

/// Whether `frame` may carry a name service message the engine would read as a
/// lookup: UDP or TCP on a DNS, mDNS or LLMNR port (RFC 1035 §4.2, RFC 6762, RFC 4795)
/// or the NetBIOS name service's (RFC 1002 §4.2), UDP that looks like DNS on another
/// port (the engine believes such a port once a query and its answer were seen, and
/// both are fed), an ICMP error about such a datagram (it ends a query unanswered),
/// and every IP fragment (a later fragment has no ports to tell; the engine reassembles
/// them before it knows). All the frames of such a connection qualify alike (its ports
/// do not change), so a task sees another part's lookup connections whole.
pub fn carries_names(frame: &Frame<'_>) -> bool {
    let pkt = decode::decode(frame.meta.link, frame.data);
    if pkt.ip.as_ref().is_some_and(|ip| ip.is_fragment()) {
        return true;
    }
    let names = |p: u16| dns::is_dns_port(p) || p == netbios::NBNS_PORT;
    match pkt.transport {
        Transport::Tcp(t) => names(t.sport) || names(t.dport),
        Transport::Udp(u) => {
            names(u.sport) || names(u.dport) || dns::looks_like_dns(pkt.payload, None)
        }
        Transport::Icmp(i) | Transport::Icmpv6(i) => i
            .quoted
            .is_some_and(|q| q.sport.is_some_and(names) || q.dport.is_some_and(names)),
        _ => false,
    }
}

/// `I/N` with 0 <= I < N.
pub fn parse_split(s: &str) -> Result<Split, String> {
    let bad = || format!("not a split: {s:?} (I/N with 0 <= I < N, e.g. 0/4)");
    let (i, n) = s.trim().split_once('/').ok_or_else(bad)?;
    let i: u32 = i.trim().parse().map_err(|_| bad())?;
    let n: u32 = n.trim().parse().map_err(|_| bad())?;
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok(Split { i, n })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_parse_and_number_without_collisions() {
        assert_eq!(parse_split("2/3"), Ok(Split { i: 2, n: 3 }));
        for bad in ["3/3", "0/0", "1", "-1/2", "a/b", "1/2/3"] {
            assert!(parse_split(bad).is_err(), "{bad}");
        }
        let mut seen = std::collections::HashSet::new();
        for i in 0..3 {
            let s = Split { i, n: 3 };
            for local in 0..100 {
                assert!(seen.insert(s.id(local).unwrap()));
            }
        }
        assert_eq!(Split::WHOLE.id(41), Ok(41));
        assert_eq!(Split { i: 1, n: 3 }.page(1), Ok(2));
        assert_eq!(Split::WHOLE.page(7), Ok(7));
        assert!(Split { i: 1, n: 3 }.id(u32::MAX / 2).is_err());
    }

    /// Every frame that carries a lookup the engine pairs (its query or its answer,
    /// the last fragment of a fragmented one) is one [`carries_names`] feeds to the
    /// other parts, and plain traffic is not.
    #[test]
    fn name_service_frames_are_fed_to_every_part() {
        use std::collections::HashSet;
        use wiretale_engine::analysis::{Engine, EngineConfig};
        use wiretale_engine::testutil::{bundled_capture, shared_capture};
        let files = [
            bundled_capture("lab-page.pcap"),
            shared_capture("zeek/dns-edns-ecs.pcap"),
            shared_capture("zeek/ipv6-fragmented-dns.pcap"),
            shared_capture("zeek/wikipedia.pcap"),
            shared_capture("zeek/var-services-std-ports.pcap"),
        ];
        let (mut fed_all, mut frames_all) = (0, 0);
        for f in files {
            let mut src = wiretale_engine::capture::open(&f).unwrap();
            let mut engine = Engine::new(EngineConfig::default());
            let mut fed = HashSet::new();
            let mut frames = 0;
            while let Ok(Some(frame)) = src.next_frame() {
                frames += 1;
                engine.process(&frame);
                if carries_names(&frame) {
                    fed.insert(frame.meta.id);
                }
            }
            engine.finish();
            let txs = engine.take_dns(true);
            assert!(!txs.is_empty(), "{}: no lookups", f.display());
            for tx in &txs {
                for p in [tx.query_pkt, tx.response_pkt].into_iter().flatten() {
                    assert!(fed.contains(&p), "{}: {} {p:?}", f.display(), tx.qname);
                }
            }
            fed_all += fed.len();
            frames_all += frames;
        }
        // Web pages and their connections are most of these captures: not fed.
        assert!(
            fed_all * 2 < frames_all,
            "{fed_all} of {frames_all} frames fed"
        );
    }
}
