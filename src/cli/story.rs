//! `wiretale story FILE [--json]`: the browser-to-server story, page load by page load.

use serde_json::{json, Value};

use super::args::FileArgs;
use super::json::{guard, wire};
use super::out::Out;
use super::run::{drive_with, finish_status, Next};
use super::select::{Matched, Selection};
use crate::story::{self, ConnName, Event, Page, PhaseTimes, StoryInput};

pub fn run(a: &FileArgs) -> anyhow::Result<i32> {
    let (mut sel, cfg) = match Selection::for_command(a, false)? {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let mut matched = Matched::new(&sel);
    let mut conns = Vec::new();
    let mut dns = Vec::new();
    let mut http = Vec::new();
    let damage = drive_with(
        &a.file,
        cfg,
        &mut sel,
        |_, s, hit| {
            matched.record(s, hit);
            Next::Continue
        },
        |engine, at_end, _| {
            conns.extend(engine.take_conns());
            dns.extend(engine.take_dns(at_end));
            http.extend(engine.take_http());
        },
    )?;
    // -Y: the story of the lookups, connections and exchanges that match (README).
    if sel.is_filtering() {
        let mut names = crate::story::NameIndex::new();
        for t in &dns {
            names.add(t);
        }
        conns.retain(|c| {
            let name = names.name(c);
            sel.keep_conn(&matched, c, name.as_ref().map(|n| n.qname.as_str()))
        });
        dns.retain(|t| matched.dns(t));
        http.retain(|r| matched.http(r));
    }
    conns.sort_by_key(|c| c.conn.id);
    dns.sort_by_key(|t| t.seq);
    let input = StoryInput {
        conns: &conns,
        dns: &dns,
        http: &http,
    };
    let mut out = Out::new();
    let mut page_at = 0usize;
    let mut printed_page: Option<u32> = None;
    // Page by page, so the events of the whole capture are never all in memory.
    story::tell_each(&input, |page, events| {
        for e in events {
            if a.json {
                out.line(&event_json(e).to_string());
            } else {
                if e.page != printed_page {
                    if e.page == Some(page.id) {
                        if page_at > 0 {
                            out.line("");
                        }
                        out.line(&page_header(page, &input));
                        page_at += 1;
                    }
                    printed_page = e.page;
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
            if out.failed() {
                return false;
            }
        }
        true
    });
    let pipe_closed = out.pipe_closed();
    out.finish()?;
    if pipe_closed {
        return Ok(0);
    }
    Ok(finish_status(damage))
}

fn page_header(p: &Page, input: &StoryInput<'_>) -> String {
    let what = match &p.url {
        Some(u) => format!("page load {u}"),
        None if !p.http.is_empty() => {
            let h = &input.http[p.http[0]].tx;
            format!(
                "request {} http://{}{}",
                h.method.as_deref().unwrap_or("?"),
                h.host.as_deref().unwrap_or("?"),
                h.uri.as_deref().unwrap_or("")
            )
        }
        None if !p.conns.is_empty() => "connection".to_string(),
        None => "lookup".to_string(),
    };
    guard(&format!(
        "── story {}: {}  (client {}, {} lookups, {} connections, {} requests, {:.3} s)",
        p.id + 1,
        what,
        p.client,
        p.dns.len(),
        p.conns.len(),
        p.http.len(),
        p.end.secs_since(p.start)
    ))
    .into_owned()
}

fn phases_json(p: &PhaseTimes) -> Value {
    json!({
        "dns": p.dns, "dns_to_connect": p.dns_to_connect, "connect": p.connect,
        "request": p.request, "ttfb": p.ttfb, "transfer": p.transfer,
        "idle": p.idle, "close": p.close,
    })
}

/// The documented `story --json` event (README, "JSON Lines output").
pub fn event_json(e: &Event) -> Value {
    let mut v = json!({
        "ts": e.ts.as_secs_f64(),
        "rel": e.rel,
        "kind": e.kind.as_str(),
        "conn": e.conn.map(|c| c.0),
        "page": e.page,
        "text": wire(Some(&e.text)),
    });
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
