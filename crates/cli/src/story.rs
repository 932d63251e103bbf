//! `wiretale story FILE [--json]`: the browser-to-server story, page load by page load.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use super::args::FileArgs;
use super::json::guard;
use super::out::Out;
use super::run::{drive_records, drive_with, finish_status, threads, Next};
use super::select::{Matched, Selection};
use wiretale_engine::analysis::records::EventJson;
use wiretale_engine::analysis::shard::Records;
use wiretale_engine::analysis::EngineConfig;
use wiretale_engine::proto::dns::DnsTransaction;
use wiretale_engine::story::phases::push_fixed;
use wiretale_engine::story::stream::KeepConn;
use wiretale_engine::story::{
    ConnName, ConnRecord, Event, HttpRecord, Pending, StoryPage, StoryStream, Tally,
};

/// Capture time (ns) between two looks for pages that are final (the look walks the
/// open connections: twice a second of capture time is often enough).
const ADVANCE_EVERY: i64 = 500_000_000;

/// Finished records handed from the engine to the teller, and what is still pending.
#[derive(Default)]
struct Batch {
    /// With whether `-Y` keeps each (its answers name connections either way).
    dns: Vec<(DnsTransaction, bool)>,
    http: Vec<HttpRecord>,
    /// In the chunks the engine kept them in (never one multi-MB block: see
    /// `wiretale_engine::analysis::chunked`).
    conns: Vec<Vec<ConnRecord>>,
    /// Set when it is time to look for final pages.
    pending: Option<Pending>,
    at_end: bool,
}

/// Tells the story from batches of records and prints it, page by page.
struct Teller {
    stream: StoryStream,
    out: Out,
    json: bool,
    printed: bool,
    tally: Tally,
}

impl Teller {
    fn new(json: bool) -> Self {
        // The text shows no facts and no quiet lines: they are not made.
        let stream = if json {
            StoryStream::new()
        } else {
            StoryStream::new().for_text()
        };
        Teller {
            stream,
            out: Out::new(),
            json,
            printed: false,
            tally: Tally::default(),
        }
    }

    /// Returns false once the output is gone (nothing more to tell).
    fn take(&mut self, b: Batch, keep: &mut KeepConn<'_>) -> bool {
        for (t, k) in b.dns {
            self.stream.add_dns(t, k);
        }
        // Exchanges first: a connection's record gathers the ones before it.
        for h in b.http {
            self.stream.add_http(h);
        }
        for c in b.conns.into_iter().flatten() {
            self.stream.add_conn(c);
        }
        let (out, json, printed, tally) =
            (&mut self.out, self.json, &mut self.printed, &mut self.tally);
        let mut print = |page: &StoryPage| {
            if !page.events.is_empty() {
                tally.add(page);
            }
            print_page(out, page, json, printed);
            !out.failed()
        };
        if b.at_end {
            let going = self.stream.finish(keep, &mut print);
            // Text: the closing count (JSON Lines stay events only).
            if going && !self.json {
                if let Some(line) = self.tally.line() {
                    self.out.line("");
                    self.out.line(&format!("── {line}"));
                }
            }
            going
        } else if let Some(p) = &b.pending {
            self.stream.advance(p, keep, &mut print)
        } else {
            true
        }
    }

    /// Flushes the output; true when the reader of it went away (not an error).
    fn end(self) -> anyhow::Result<bool> {
        let closed = self.out.pipe_closed();
        self.out.finish()?;
        Ok(closed)
    }
}

pub fn run(a: &FileArgs) -> anyhow::Result<i32> {
    let (mut sel, cfg) = match Selection::for_command(a, false)? {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    // Two cores: the engine on this thread, the story told and printed on another
    // (same calls in the same order, so the same output; tests/threads.rs). With -Y the
    // teller consults the filter, which this thread updates per packet: one thread.
    if threads() >= 2 && !sel.is_filtering() {
        return run_two_threads(a, sel, cfg);
    }
    // Read by the packet callback, consulted when records finish.
    let matched = RefCell::new(Matched::new(&sel));
    let mut teller = Teller::new(a.json);
    let going = std::cell::Cell::new(true);
    let mut last_advance = i64::MIN;
    let damage = drive_with(
        &a.file,
        cfg,
        &mut sel,
        |_, s, hit| {
            matched.borrow_mut().record(s, hit);
            if going.get() {
                Next::Continue
            } else {
                Next::Stop
            }
        },
        |engine, at_end, sel| {
            let m = matched.borrow();
            let b = batch(engine, at_end, &mut last_advance, &m);
            // -Y: the story of the lookups, connections and exchanges that match (README).
            let mut keep = |c: &ConnRecord, name: Option<&ConnName>| {
                sel.keep_conn(&m, c, name.map(|n| n.qname.as_str()))
            };
            if going.get() {
                going.set(teller.take(b, &mut keep));
            }
        },
    )?;
    if teller.end()? {
        return Ok(0);
    }
    Ok(finish_status(damage))
}

fn run_two_threads(a: &FileArgs, mut sel: Selection, cfg: EngineConfig) -> anyhow::Result<i32> {
    let matched = Matched::new(&sel);
    let gone = AtomicBool::new(false);
    // Bounded: the engine waits when the teller is behind, so records cannot pile up;
    // room for 64 batches (4,096 packets each) absorbs the bursts of a regroup.
    let (tx, rx) = mpsc::sync_channel::<Batch>(64);
    let json = a.json;
    std::thread::scope(|scope| {
        let gone = &gone;
        let teller = scope.spawn(move || -> anyhow::Result<bool> {
            let mut teller = Teller::new(json);
            let mut keep = |_: &ConnRecord, _: Option<&ConnName>| true;
            for b in rx {
                if !teller.take(b, &mut keep) {
                    gone.store(true, Ordering::Relaxed);
                    break;
                }
            }
            teller.end()
        });
        let mut last_advance = i64::MIN;
        let damage = drive_records(
            &a.file,
            cfg,
            &mut sel,
            Some(ADVANCE_EVERY),
            |_, _| {
                if gone.load(Ordering::Relaxed) {
                    Next::Stop
                } else {
                    Next::Continue
                }
            },
            |engine, at_end, _| {
                let b = batch(engine, at_end, &mut last_advance, &matched);
                // A send fails only when the teller has stopped (output gone).
                let _ = tx.send(b);
            },
        );
        drop(tx);
        let closed = teller
            .join()
            .map_err(|_| anyhow::anyhow!("the story thread failed"))??;
        let damage = damage?;
        if closed {
            return Ok(0);
        }
        Ok(finish_status(damage))
    })
}

/// Takes the engine's finished records (and, when due, what is pending) as one batch.
fn batch(engine: &mut dyn Records, at_end: bool, last_advance: &mut i64, m: &Matched) -> Batch {
    let mut b = Batch {
        at_end,
        ..Batch::default()
    };
    b.dns = engine
        .take_dns(at_end)
        .into_iter()
        .map(|t| {
            let k = m.dns(&t);
            (t, k)
        })
        .collect();
    b.http = engine.take_http();
    b.http.retain(|h| m.http(h));
    b.conns = engine.take_conn_chunks();
    let now = engine.now().0;
    if !at_end && now.saturating_sub(*last_advance) >= ADVANCE_EVERY {
        *last_advance = now;
        b.pending = Some(engine.pending());
    }
    b
}

/// One page: its header (text only; a blank line between pages), then its events.
fn print_page(out: &mut Out, page: &StoryPage, json: bool, printed: &mut bool) {
    if !json && !page.events.is_empty() {
        if *printed {
            out.line("");
        }
        let mut header = String::with_capacity(page.title.len() + 120);
        header.push_str("── ");
        page.push_header(&mut header);
        out.line(&guard(&header));
        *printed = true;
    }
    // One buffer for every line of the page (the text built in place, not by pieces).
    let mut line = String::with_capacity(160);
    for e in &page.events {
        if json {
            out.line(&event_json(e));
            continue;
        }
        if e.quiet {
            continue;
        }
        // `+{:.3}  {:<8} {}` (the label column only when there is a label).
        line.clear();
        line.push('+');
        push_fixed(&mut line, e.rel, 3);
        line.push_str("  ");
        let label = e.kind.label();
        if !label.is_empty() {
            line.push_str(label);
            for _ in label.chars().count()..8 {
                line.push(' ');
            }
            line.push(' ');
        }
        line.push_str(&e.text);
        out.line(&guard(&line));
        if let Some(p) = &e.phases {
            // `{:>7}  {:<8} {}` of "", "" and the summary (none when it is empty).
            const INDENT: &str = "                  ";
            line.clear();
            line.push_str(INDENT);
            p.push_summary(&mut line);
            if line.len() > INDENT.len() {
                out.line(&line);
            }
        }
    }
}

/// The documented `story --json` event (docs/story.md; [`EventJson`]): `page` is
/// the text's story number (1-based).
pub fn event_json(e: &Event) -> String {
    super::json::sorted_line(&EventJson::new(e))
}
