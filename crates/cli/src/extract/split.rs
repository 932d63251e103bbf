//! `--split I/N`: one of N tasks over one capture too big for one task. Each task
//! reads the whole file (every frame's time drives the clock, as a shard of the
//! sharded engine does, so connection state runs from the start), analyses only the
//! frames whose flow key (`analysis::shard::shard_key`) falls to I of N, and numbers
//! what it writes so that the N parts never collide: a connection that is the task's
//! `k`th gets id `k * N + I`, and so does every reference to it (`dns.conn`,
//! `http.conn`, `tls.conn`, `story.conn`, `packets.conn`); DNS `seq` (and
//! `tc_retry_of`, `retried_over_tcp`) and story `page` likewise. N = 1 gives the ids
//! of the JSON commands exactly.

use wiretale_engine::analysis::shard::{shard_key, shard_of};
use wiretale_engine::capture::Frame;

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
}
