//! `--max-*` flags: the analysis limits (`analysis::Limits`) on the command line, shared
//! by every file subcommand and `capture`. Defaults and meanings: `docs/limits.md`.

use clap::Args;

use wiretale_engine::analysis::{EngineConfig, LimitTally, Limits};

/// The `--help` heading of the limit flags.
pub const HEADING: &str = "Limits (see docs/limits.md)";

/// Limits on the state a capture can make wiretale hold. Unset flags keep the defaults.
///
/// Each flag names its heading itself: a `next_help_heading` on the struct would stay in
/// force after the flatten and file the command's own later options (`packets -c`,
/// `follow --conn`) under "Limits" too.
#[derive(Args, Debug, Clone, Default)]
pub struct LimitArgs {
    /// Open connections (TCP, UDP, ICMP); past it the idlest are finished (conn_evicted).
    #[arg(long, help_heading = HEADING, value_name = "N")]
    pub max_conns: Option<usize>,
    /// Out-of-order TCP bytes buffered across all connections (e.g. 256M).
    #[arg(long, help_heading = HEADING, value_name = "BYTES", value_parser = parse_size)]
    pub max_reassembly_bytes: Option<usize>,
    /// Out-of-order TCP bytes buffered per connection direction (e.g. 4M).
    #[arg(long, help_heading = HEADING, value_name = "BYTES", value_parser = parse_size)]
    pub max_dir_bytes: Option<usize>,
    /// Bytes of IP fragments waiting for the rest of their datagram (e.g. 16M).
    #[arg(long, help_heading = HEADING, value_name = "BYTES", value_parser = parse_size)]
    pub max_frag_bytes: Option<usize>,
    /// Unanswered DNS queries kept waiting for their answer.
    #[arg(long, help_heading = HEADING, value_name = "N")]
    pub max_dns_pending: Option<usize>,
    /// HTTP requests per connection waiting for their response.
    #[arg(long, help_heading = HEADING, value_name = "N")]
    pub max_http_pending: Option<usize>,
    /// Seconds of capture time after which a silent TCP connection is finished.
    #[arg(long, help_heading = HEADING, value_name = "SECS")]
    pub tcp_idle_timeout: Option<u64>,
}

impl LimitArgs {
    pub fn limits(&self) -> Limits {
        let mut l = Limits::default();
        if let Some(n) = self.max_conns {
            l.flow.max_conns = n.max(1);
        }
        if let Some(n) = self.max_reassembly_bytes {
            l.flow.max_total_buffered = n;
        }
        if let Some(n) = self.max_dir_bytes {
            l.flow.max_dir_buffered = n;
        }
        if let Some(n) = self.max_frag_bytes {
            l.defrag.max_bytes = n;
        }
        if let Some(n) = self.max_dns_pending {
            l.apps.dns_pending = n.max(1);
        }
        if let Some(n) = self.max_http_pending {
            l.apps.http_pending = n.max(1);
        }
        if let Some(s) = self.tcp_idle_timeout {
            l.flow.tcp_idle_timeout_ns = i64::try_from(s.saturating_mul(1_000_000_000))
                .unwrap_or(i64::MAX)
                .max(1);
        }
        l
    }

    pub fn engine_config(&self, want_info: bool) -> EngineConfig {
        self.limits().engine_config(want_info)
    }
}

/// Prints `wiretale: limits hit: …` on stderr when any limit was hit; nothing otherwise.
pub fn report(t: &LimitTally) {
    if let Some(line) = t.summary() {
        eprintln!("wiretale: {line}");
    }
}

/// `1234`, `64K`, `16M`, `1G` (binary multiples; `KiB`/`MB` spellings accepted).
fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("not a size: {s:?} (use e.g. 4096, 64K, 16M, 1G)"))?;
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(format!("unknown size unit in {s:?} (use K, M or G)")),
    };
    n.checked_mul(1usize << shift)
        .ok_or_else(|| format!("size too large: {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units_and_reject_nonsense() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("16m"), Ok(16 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert!(parse_size("").is_err());
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
    }

    #[test]
    fn flags_override_only_what_they_name() {
        let a = LimitArgs {
            max_conns: Some(0),
            max_dns_pending: Some(5),
            tcp_idle_timeout: Some(u64::MAX),
            ..LimitArgs::default()
        };
        let l = a.limits();
        let d = Limits::default();
        assert_eq!(l.flow.max_conns, 1, "zero connections would be useless");
        assert_eq!(l.apps.dns_pending, 5);
        assert_eq!(l.flow.tcp_idle_timeout_ns, i64::MAX);
        assert_eq!(l.flow.max_total_buffered, d.flow.max_total_buffered);
        assert_eq!(l.apps.http_pending, d.apps.http_pending);
    }
}
