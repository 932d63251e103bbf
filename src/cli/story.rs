//! `wiretale story FILE [--json]`: the browser-to-server story, page load by page load.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use serde_json::{json, Value};

use super::args::FileArgs;
use super::json::{guard, wire};
use super::out::Out;
use super::run::{drive_with, finish_status, threads, Next};
use super::select::{Matched, Selection};
use crate::analysis::{Engine, EngineConfig};
use crate::base::Endpoint;
use crate::proto::dns::DnsTransaction;
use crate::story::stream::KeepConn;
use crate::story::{
    ConnName, ConnRecord, Event, Facts, HttpRecord, Pending, PhaseTimes, StoryPage, StoryStream,
    Tally,
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
    conns: Vec<ConnRecord>,
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
        Teller {
            stream: StoryStream::new(),
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
        for c in b.conns {
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
        let damage = drive_with(
            &a.file,
            cfg,
            &mut sel,
            |_, _, _| {
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
fn batch(engine: &mut Engine, at_end: bool, last_advance: &mut i64, m: &Matched) -> Batch {
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
    b.conns = engine.take_conns();
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
        out.line(&guard(&format!("── {}", page.header())));
        *printed = true;
    }
    for e in &page.events {
        if json {
            out.line(&event_json(e).to_string());
            continue;
        }
        if e.quiet {
            continue;
        }
        let label = e.kind.label();
        if label.is_empty() {
            out.line(&guard(&format!("+{:.3}  {}", e.rel, e.text)));
        } else {
            out.line(&guard(&format!("+{:.3}  {:<8} {}", e.rel, label, e.text)));
        }
        if let Some(p) = &e.phases {
            let s = p.summary();
            if !s.is_empty() {
                out.line(&format!("{:>7}  {:<8} {}", "", "", s));
            }
        }
    }
}

fn phases_json(p: &PhaseTimes) -> Value {
    json!({
        "dns": p.dns, "dns_to_connect": p.dns_to_connect, "connect": p.connect,
        "tls": p.tls, "request": p.request, "ttfb": p.ttfb, "transfer": p.transfer,
        "idle": p.idle, "close": p.close,
    })
}

fn endpoint_json(e: &Endpoint) -> Value {
    json!({"ip": e.ip.to_string(), "port": e.port})
}

fn wires(v: &[String]) -> Vec<Value> {
    v.iter().map(|s| wire(Some(s))).collect()
}

/// The facts of an event as JSON fields (README, "`story --json`").
fn facts_json(f: &Facts, v: &mut Value) {
    let set = |v: &mut Value, fields: Value| {
        if let (Some(o), Value::Object(add)) = (v.as_object_mut(), fields) {
            o.extend(add);
        }
    };
    match f {
        Facts::None => {}
        Facts::Lookup {
            qname,
            qtype,
            transport,
            id,
            client,
            server,
            sent,
        } => set(
            v,
            json!({
                "qname": wire(Some(qname)), "qtype": qtype, "transport": transport,
                "id": id, "client": endpoint_json(client), "server": endpoint_json(server),
                "sent": sent,
            }),
        ),
        Facts::Answer {
            qname,
            qtype,
            rcode,
            answers,
            ttl,
            rtt,
            truncated,
            retry_cost,
        } => set(
            v,
            json!({
                "qname": wire(Some(qname)), "qtype": qtype, "rcode": rcode,
                "answers": wires(answers), "ttl": ttl, "rtt": rtt, "truncated": truncated,
                "retry_cost": retry_cost,
            }),
        ),
        Facts::Lookups {
            qname,
            qtypes,
            count,
            rcode,
            answers,
        } => set(
            v,
            json!({
                "qname": wire(Some(qname)), "qtypes": qtypes, "count": count,
                "rcode": rcode, "answers": wires(answers),
            }),
        ),
        Facts::Connect {
            client,
            server,
            proto,
            name,
            handshake,
        } => set(
            v,
            json!({
                "client": endpoint_json(client), "server": endpoint_json(server),
                "proto": proto, "name": wire(name.as_deref()), "handshake": handshake,
            }),
        ),
        Facts::Refused {
            client,
            server,
            after,
        } => set(
            v,
            json!({
                "client": endpoint_json(client), "server": endpoint_json(server),
                "after": after,
            }),
        ),
        Facts::Tls {
            sni,
            alpn_offered,
            version,
            alpn,
        } => set(
            v,
            json!({
                "sni": wire(sni.as_deref()), "alpn_offered": wires(alpn_offered),
                "version": version, "alpn": wire(alpn.as_deref()),
            }),
        ),
        Facts::Exchange {
            method,
            host,
            uri,
            status,
            reason,
            content_type,
            body_bytes,
            ttfb,
            done,
        } => set(
            v,
            json!({
                "method": wire(method.as_deref()), "host": wire(host.as_deref()),
                "uri": wire(uri.as_deref()), "status": status,
                "reason": wire(reason.as_deref()),
                "content_type": wire(content_type.as_deref()),
                "body_bytes": body_bytes, "ttfb": ttfb, "done": done,
            }),
        ),
        Facts::Close { how, by } => set(v, json!({"how": how, "by": by})),
    }
}

/// The documented `story --json` event (README, "`story --json`"): `page` is the
/// text's story number (1-based).
pub fn event_json(e: &Event) -> Value {
    let mut v = json!({
        "ts": e.ts.as_secs_f64(),
        "rel": e.rel,
        "kind": e.kind.as_str(),
        "conn": e.conn.map(|c| c.0),
        "page": e.page.map(|p| p + 1),
        "text": wire(Some(&e.text)),
    });
    facts_json(&e.facts, &mut v);
    if let Some(p) = &e.phases {
        v["phases"] = phases_json(p);
    }
    v
}

/// The `name` object of `conns --json`.
pub fn name_json(n: Option<&ConnName>) -> Value {
    match n {
        None => Value::Null,
        Some(n) => json!({
            "qname": wire(Some(&n.qname)),
            "chain": n.chain.iter().map(|c| wire(Some(c))).collect::<Vec<_>>(),
            "dns_rtt": n.dns_rtt,
            "gap": n.gap,
            "ttl": n.ttl,
            "ttl_expired": n.ttl_expired,
            "source": n.source.as_str(),
            "also": n.also.iter().map(|c| wire(Some(c))).collect::<Vec<_>>(),
            "mismatch": n.mismatch.as_deref().map(|m| wire(Some(m))),
        }),
    }
}
