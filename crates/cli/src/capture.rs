//! `wiretale capture -i IFACE` (live analysis printed as it happens) and
//! `wiretale interfaces`.
//!
//! The same engine as the file commands runs on the frames libpcap hands over; every
//! frame also goes to the capture file (`-w`, or a new timestamped file in the current
//! directory, named when the capture starts and ends, and kept), so reading that file
//! back tells the same story. What is printed is flushed as soon as it is known, to a
//! terminal or a pipe alike (`capture --json | jq` shows records while capturing).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::args::CaptureArgs;
use super::out::Out;
use wiretale_engine::analysis::{ConnRecord, Engine, HttpRecord, PacketSummary};
use wiretale_engine::base::Timestamp;
use wiretale_engine::capture::{devices, LiveCapture, LiveOptions, LiveStats};
use wiretale_engine::proto::dns::DnsTransaction;
use wiretale_engine::story::{self, NameIndex, StoryInput};

/// Installs the Ctrl-C handler once; returns the flag it sets.
fn interrupted() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    // A second handler cannot be installed (tests call this once per process).
    let _ = ctrlc::set_handler(move || f.store(true, Ordering::SeqCst));
    flag
}

enum Mode {
    Story,
    Packets,
    Conns,
}

/// How often (wall clock) finished records are taken from the engine and printed.
const PRINT_EVERY: Duration = Duration::from_millis(100);

/// How far behind the wall clock the analysis clock is moved while the interface is
/// quiet ([`Engine::tick`]): more than any delay between a packet's kernel timestamp
/// and its delivery here when no batch is waiting (the capture thread polls every few
/// milliseconds), so no packet still to come is older than the clock.
const TICK_LAG: Duration = Duration::from_secs(1);

/// Where a capture without `-w` is kept: the current directory (where the user will
/// look for it, and on disk, while /tmp is often a RAM-backed tmpfs that a long capture
/// would fill), else the temporary directory when the current one refuses the file.
fn keep_dirs() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Ok(d) = std::env::current_dir() {
        v.push(d);
    }
    v.push(std::env::temp_dir());
    v
}

/// Wall-clock time as a capture timestamp (libpcap stamps packets with the same clock).
fn wall_clock() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_parts(
        d.as_secs() as i64,
        u64::from(d.subsec_nanos()),
        1_000_000_000,
    )
}

pub fn run(a: &CaptureArgs) -> anyhow::Result<i32> {
    let mut opts = LiveOptions::new(&a.interface);
    let ring = a.buffer_size.unwrap_or(opts.buffer_size);
    opts.filter = a.bpf.clone();
    opts.savefile = a.write.clone();
    if let Some(b) = a.buffer_size {
        opts.buffer_size = b;
    }
    if a.write.is_none() {
        opts.keep_in = keep_dirs();
    }
    // The handler goes in first, so a Ctrl-C or SIGTERM at any moment after the device
    // is open still ends in a clean stop with the savefile flushed.
    let stop = interrupted();
    let cap = LiveCapture::start(opts).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Err(e) = super::privileges::drop_to(a.user.as_deref()) {
        // Nothing was analysed: a file this run named itself is not left behind.
        let file = cap.spill_path().to_path_buf();
        drop(cap.stop());
        if a.write.is_none() {
            let _ = std::fs::remove_file(file);
        }
        return Err(e);
    }
    eprintln!(
        "wiretale: capturing on {}{}, saving to {}",
        a.interface,
        a.bpf
            .as_deref()
            .map(|f| format!(" (filter: {f})"))
            .unwrap_or_default(),
        cap.spill_path().display()
    );
    let mode = if a.packets {
        Mode::Packets
    } else if a.conns {
        Mode::Conns
    } else {
        Mode::Story
    };
    let mut engine = Engine::new(a.limits.engine_config(matches!(mode, Mode::Packets)));
    if let Some(p) = &a.tls_keylog {
        engine.set_tls_keys(super::run::read_keylog(p, true)?);
    }
    let mut out = Out::new();
    let mut live = LiveState {
        keep_history: matches!(mode, Mode::Story),
        ..LiveState::default()
    };
    let started = Instant::now();
    let mut frames: u64 = 0;
    let mut last_print = Instant::now();
    let mut drops = DropWatch::default();
    // Everything known is printed and flushed at once: packet lines as each batch is
    // analysed (a batch is at most `batch_interval` old), records every PRINT_EVERY.
    'outer: loop {
        if stop.load(Ordering::SeqCst)
            || a.seconds
                .is_some_and(|s| started.elapsed().as_secs_f64() >= s)
        {
            break;
        }
        match cap.batches().recv_timeout(Duration::from_millis(100)) {
            Ok(batch) => {
                for frame in batch.iter() {
                    let s = engine.process(&frame);
                    frames += 1;
                    if let Mode::Packets = mode {
                        if !a.quiet {
                            live.packet(&s, a.json, &mut out);
                        }
                    }
                    if a.count.is_some_and(|c| frames >= c) {
                        break 'outer;
                    }
                }
            }
            // Nothing for a while: the interface is quiet, and time still passes for
            // what waits on it (a closed connection's linger, an unanswered query).
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                engine.tick(Timestamp(
                    wall_clock().0.saturating_sub(TICK_LAG.as_nanos() as i64),
                ));
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if let Some(e) = cap.error() {
            eprintln!("wiretale: {e}");
            break;
        }
        if last_print.elapsed() >= PRINT_EVERY {
            if let Some(w) = drops.check(&cap.stats(), ring) {
                eprintln!("{w}");
            }
            // The browser writes secrets after their packets: read what it added, so
            // connections waiting for keys decrypt before their records are printed.
            if a.tls_keylog.is_some() {
                if let Err(e) = engine.refresh_keys() {
                    eprintln!("wiretale: TLS key log: {e}");
                }
            }
            live.absorb(&mut engine, false);
            if !a.quiet {
                live.print(&mode, a.json, &mut out);
            } else {
                // Nothing is printed, so nothing waits to be printed.
                live.fresh_conns.clear();
            }
            last_print = Instant::now();
        }
        out.flush();
        if out.failed() {
            break;
        }
    }
    cap.request_stop();
    // Frames already captured are analysed too (up to the thread's last batch), so the
    // output matches the file.
    while let Ok(batch) = cap.batches().recv() {
        for frame in batch.iter() {
            if a.count.is_some_and(|c| frames >= c) || out.failed() {
                break;
            }
            let s = engine.process(&frame);
            frames += 1;
            if let (Mode::Packets, false) = (&mode, a.quiet) {
                live.packet(&s, a.json, &mut out);
            }
        }
    }
    engine.finish();
    live.absorb(&mut engine, true);
    if !a.quiet {
        live.print(&mode, a.json, &mut out);
    }
    super::limits::report(&engine.limits_hit());
    let saved = cap.spill_path().to_path_buf();
    let stats = cap.stop().map_err(|e| anyhow::anyhow!("{e}"))?;
    out.finish()?;
    eprintln!(
        "wiretale: {} packets analysed; kernel: {} received, {} dropped ({} by the interface); saved to {}",
        frames,
        stats.received,
        stats.dropped,
        stats.if_dropped,
        saved.display()
    );
    if stats.dropped > 0 {
        eprintln!("{}", drop_hint(stats.dropped, ring, false));
    }
    Ok(0)
}

/// Says, at most every [`DropWatch::EVERY`], that the kernel is dropping packets while
/// capturing: the numbers at the end come too late to act on (a larger `-B`, a
/// narrower `-f`).
#[derive(Default)]
struct DropWatch {
    said: u32,
    at: Option<Instant>,
}

impl DropWatch {
    const EVERY: Duration = Duration::from_secs(5);

    fn check(&mut self, st: &LiveStats, ring: u32) -> Option<String> {
        if st.dropped <= self.said || self.at.is_some_and(|t| t.elapsed() < Self::EVERY) {
            return None;
        }
        self.said = st.dropped;
        self.at = Some(Instant::now());
        Some(drop_hint(st.dropped, ring, true))
    }
}

/// The line about `n` packets the kernel dropped (libpcap's `ps_drop`: its ring of
/// `ring` bytes was full), with what helps.
fn drop_hint(n: u32, ring: u32, so_far: bool) -> String {
    // Four times the ring, within libpcap's bound (an int of bytes).
    let next = (u64::from(ring) * 4).min(1 << 30);
    let (size, unit) = if ring >= 1 << 20 {
        (ring >> 20, "MiB")
    } else {
        (ring >> 10, "KiB")
    };
    let more = if next >= 1 << 20 {
        format!("{}M", next >> 20)
    } else {
        format!("{}K", next >> 10)
    };
    format!(
        "wiretale: the kernel dropped {n} packet{}{}: its capture buffer ({size} {unit}) was full, so {} in neither the file nor the analysis; -B {more} gives it more room",
        if n == 1 { "" } else { "s" },
        if so_far { " so far" } else { "" },
        if n == 1 { "it is" } else { "they are" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_are_said_while_capturing_at_most_every_five_seconds() {
        let mut w = DropWatch::default();
        let st = |dropped| LiveStats {
            dropped,
            ..LiveStats::default()
        };
        assert_eq!(w.check(&st(0), 32 << 20), None);
        assert_eq!(
            w.check(&st(7), 32 << 20).as_deref(),
            Some("wiretale: the kernel dropped 7 packets so far: its capture buffer (32 MiB) was full, so they are in neither the file nor the analysis; -B 128M gives it more room")
        );
        // More drops within five seconds: said later, not now.
        assert_eq!(w.check(&st(9), 32 << 20), None);
        assert_eq!(
            drop_hint(1, 64 << 10, false),
            "wiretale: the kernel dropped 1 packet: its capture buffer (64 KiB) was full, so it is in neither the file nor the analysis; -B 256K gives it more room"
        );
        assert!(drop_hint(1, 1 << 30, false).ends_with("-B 1024M gives it more room"));
    }
}

/// What live output has accumulated and printed so far.
#[derive(Default)]
struct LiveState {
    first_ts: Option<Timestamp>,
    conns: Vec<ConnRecord>,
    dns: Vec<DnsTransaction>,
    http: Vec<HttpRecord>,
    names: NameIndex,
    /// Connections not yet printed (conns mode).
    fresh_conns: Vec<ConnRecord>,
    /// Story events already printed: (ts, kind, conn, text), so each is printed once
    /// (one packet can carry several events of a kind, e.g. A and AAAA over TCP).
    told: HashSet<(i64, &'static str, Option<u32>, String)>,
    /// Story mode retells from recent records, so it keeps them (for
    /// [`STORY_WINDOW_NS`] of capture time); the other modes keep no history at all,
    /// so a day-long capture's memory stays flat.
    keep_history: bool,
    newest: Timestamp,
    /// Records arrived since the story was last retold (story mode retells only then).
    changed: bool,
}

/// Capture time a finished record stays available to the live story (so a lookup can
/// still name a connection that finishes a little later).
const STORY_WINDOW_NS: i64 = 300_000_000_000;

impl LiveState {
    fn packet(&mut self, s: &PacketSummary, json: bool, out: &mut Out) {
        let t0 = *self.first_ts.get_or_insert(s.ts);
        if json {
            out.line(&super::packets::json_line(s));
        } else {
            out.line(&super::packets::text_line(s, t0));
        }
    }

    fn absorb(&mut self, engine: &mut Engine, at_end: bool) {
        let (dns_before, http_before) = (self.dns.len(), self.http.len());
        for tx in engine.take_dns(at_end) {
            self.names.add(&tx);
            if self.keep_history {
                self.dns.push(tx);
            }
        }
        let conns = engine.take_conns();
        for c in &conns {
            self.newest = self.newest.max(c.conn.last_ts);
        }
        if self.keep_history {
            self.conns.extend(conns.iter().cloned());
            self.http.extend(engine.take_http());
        } else {
            drop(engine.take_http());
        }
        self.changed |=
            !conns.is_empty() || self.dns.len() != dns_before || self.http.len() != http_before;
        self.fresh_conns.extend(conns);
        self.prune();
    }

    /// Forgets story records older than [`STORY_WINDOW_NS`] before the newest one, and
    /// the printed-event keys no remaining record can produce again.
    fn prune(&mut self) {
        if !self.keep_history {
            return;
        }
        let horizon = Timestamp(self.newest.0.saturating_sub(STORY_WINDOW_NS));
        self.conns.retain(|c| c.conn.last_ts >= horizon);
        self.dns.retain(|t| {
            t.response_ts
                .or(t.last_query_ts)
                .or(t.query_ts)
                .is_some_and(|ts| ts >= horizon)
        });
        self.http.retain(|h| {
            let tx = &h.tx;
            [tx.request_ts, tx.response_end_ts, tx.response_ts]
                .into_iter()
                .flatten()
                .max()
                .is_none_or(|ts| ts >= horizon)
        });
        let oldest = self
            .conns
            .iter()
            .map(|c| c.conn.first_ts)
            .chain(self.dns.iter().filter_map(|t| t.query_ts.or(t.response_ts)))
            .chain(self.http.iter().filter_map(|h| h.tx.request_ts))
            .min();
        match oldest {
            Some(t) => self.told.retain(|k| k.0 >= t.0),
            None => self.told.clear(),
        }
    }

    fn print(&mut self, mode: &Mode, json: bool, out: &mut Out) {
        match mode {
            Mode::Packets => self.fresh_conns.clear(),
            Mode::Conns => {
                for c in std::mem::take(&mut self.fresh_conns) {
                    let name = self.names.name(&c);
                    out.line(&if json {
                        super::conns::json_record(&c, name.as_ref())
                    } else {
                        super::conns::text_row(&c, name.as_ref())
                    });
                }
            }
            Mode::Story => {
                self.fresh_conns.clear();
                if !std::mem::take(&mut self.changed) {
                    return;
                }
                let mut conns = self.conns.clone();
                conns.sort_by_key(|c| c.conn.id);
                let input = StoryInput {
                    conns: &conns,
                    dns: &self.dns,
                    http: &self.http,
                };
                let st = story::tell(&input);
                for e in &st.events {
                    let key = (e.ts.0, e.kind.as_str(), e.conn.map(|c| c.0), e.text.clone());
                    if !self.told.insert(key) || e.quiet && !json {
                        continue;
                    }
                    if json {
                        out.line(&super::story::event_json(e));
                    } else {
                        let t0 = *self.first_ts.get_or_insert(e.ts);
                        out.line(&super::json::guard(&format!(
                            "{:>10.3}  {:<8} {}",
                            e.ts.secs_since(t0),
                            e.kind.label(),
                            e.text
                        )));
                    }
                }
            }
        }
    }
}

/// `wiretale interfaces`: devices with their addresses and state.
pub fn interfaces() -> anyhow::Result<i32> {
    let devs = devices().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut out = Out::new();
    for d in devs {
        let state = match (d.up, d.running) {
            (true, true) => "up",
            (true, false) => "up, no carrier",
            _ => "down",
        };
        let addrs: Vec<String> = d.addresses.iter().map(|a| a.to_string()).collect();
        out.line(&super::json::guard(&format!(
            "{:<16} {:<15} {}{}",
            d.name,
            state,
            if addrs.is_empty() {
                "-".to_string()
            } else {
                addrs.join(", ")
            },
            if d.loopback { "  (loopback)" } else { "" }
        )));
    }
    out.finish()?;
    Ok(0)
}
