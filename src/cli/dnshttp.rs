//! `wiretale dns FILE` and `wiretale http FILE`: one record per transaction.

use serde_json::{json, Value};

use super::args::FileArgs;
use super::json::{endpoint, opt_ts, secs, wire};
use super::out::Out;
use super::run::{drive_with, finish_status, Next};
use super::select::{Matched, Selection};
use crate::analysis::HttpRecord;
use crate::proto::dns::{self, DnsTransaction, Record};

pub fn run_dns(a: &FileArgs) -> anyhow::Result<i32> {
    let (mut sel, cfg) = match Selection::for_command(a, false)? {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let matched = std::cell::RefCell::new(Matched::new(&sel));
    let mut out = Out::new();
    if !a.json {
        out.header(format!(
            "{:<12} {:<4} {:<40} {:<40} {:<6} {:<6} {:<40} {:<9} {:>9}  {}",
            "time", "tran", "client", "server", "id", "type", "name", "rcode", "rtt ms", "answers"
        ));
    }
    let first = std::cell::Cell::new(None);
    let stop = std::cell::Cell::new(false);
    let damage = drive_with(
        &a.file,
        cfg,
        &mut sel,
        |_, s, hit| {
            matched.borrow_mut().record(s, hit);
            if first.get().is_none() {
                first.set(Some(s.ts));
            }
            if stop.get() {
                Next::Stop
            } else {
                Next::Continue
            }
        },
        |engine, at_end, _| {
            let mut txs = engine.take_dns(at_end);
            txs.sort_by_key(|t| t.seq);
            for t in txs.iter().filter(|t| matched.borrow().dns(t)) {
                let t0 = first.get().unwrap_or_default();
                out.line(&if a.json {
                    dns_json(t).to_string()
                } else {
                    dns_text(t, t0)
                });
            }
            stop.set(out.failed());
        },
    )?;
    let pipe_closed = out.pipe_closed();
    out.finish()?;
    if pipe_closed {
        return Ok(0);
    }
    Ok(finish_status(damage))
}

fn record_json(r: &Record) -> Value {
    json!({
        "name": wire(Some(dns::text::display_name(&r.name))),
        "type": dns::text::type_name(r.rtype),
        "ttl": r.ttl,
        "data": wire(Some(&dns::text::data_text(r))),
    })
}

/// The documented `--json` DNS record (README, "JSON Lines output").
pub fn dns_json(t: &DnsTransaction) -> Value {
    let f = t.flags();
    json!({
        "conn": t.conn.map(|c| c.0),
        "transport": t.transport.as_str(),
        "client": endpoint(&t.client),
        "server": endpoint(&t.server),
        "id": t.id,
        "qname": wire(Some(dns::text::display_name(&t.qname))),
        "qtype": dns::text::type_name(t.qtype),
        "query_ts": opt_ts(t.query_ts),
        "response_ts": opt_ts(t.response_ts),
        "rtt": t.rtt(),
        "rcode": t.rcode().map(dns::text::rcode_mnemonic),
        "flags": {"aa": f.aa, "tc": f.tc, "rd": f.rd, "ra": f.ra, "ad": f.ad, "cd": f.cd},
        "answers": t.answers().iter().map(record_json).collect::<Vec<_>>(),
        "authority": t.authority().iter().map(record_json).collect::<Vec<_>>(),
        "additional": t.additional().iter().map(record_json).collect::<Vec<_>>(),
        "retransmissions": t.retransmissions,
        "partial": t.partial,
        "query_frame": t.query_pkt.map(|p| p.frame_number()),
        "response_frame": t.response_pkt.map(|p| p.frame_number()),
        "tc_retry_of": t.tc_retry_of,
        "retried_over_tcp": t.retried_over_tcp,
        "seq": t.seq,
    })
}

fn dns_text(t: &DnsTransaction, t0: crate::base::Timestamp) -> String {
    let when = t.query_ts.or(t.response_ts).unwrap_or(t0).secs_since(t0);
    let rcode = match (t.rcode(), t.response_ts) {
        (Some(r), _) => dns::text::rcode_mnemonic(r),
        (None, None) => "(no answer)".into(),
        (None, Some(_)) => "-".into(),
    };
    let answers: Vec<String> = t
        .answers()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                dns::text::type_name(r.rtype),
                dns::text::data_text(r)
            )
        })
        .collect();
    let rtt = t.rtt().map_or("-".into(), |r| format!("{:.3}", r * 1e3));
    let retx = if t.retransmissions > 0 {
        format!("  ({} retransmissions)", t.retransmissions)
    } else {
        String::new()
    };
    super::json::guard(&format!(
        "{:<12.6} {:<4} {:<40} {:<40} 0x{:04x} {:<6} {:<40} {:<9} {:>9}  {}{}",
        when,
        t.transport.as_str(),
        t.client.to_string(),
        t.server.to_string(),
        t.id,
        dns::text::type_name(t.qtype),
        dns::text::display_name(&t.qname),
        rcode,
        rtt,
        answers.join(", "),
        retx
    ))
    .into_owned()
}

pub fn run_http(a: &FileArgs) -> anyhow::Result<i32> {
    let (mut sel, cfg) = match Selection::for_command(a, false)? {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let matched = std::cell::RefCell::new(Matched::new(&sel));
    let mut out = Out::new();
    if !a.json {
        out.header(format!(
            "{:>6} {:>3}  {:<7} {:<30} {:<40} {:>6} {:<24} {:>10} {:>9} {:>9}",
            "conn",
            "seq",
            "method",
            "host",
            "uri",
            "status",
            "content type",
            "body B",
            "ttfb ms",
            "total ms"
        ));
    }
    let stop = std::cell::Cell::new(false);
    let damage = drive_with(
        &a.file,
        cfg,
        &mut sel,
        |_, s, hit| {
            matched.borrow_mut().record(s, hit);
            if stop.get() {
                Next::Stop
            } else {
                Next::Continue
            }
        },
        |engine, _, _| {
            let mut recs = engine.take_http();
            recs.sort_by_key(|r| (r.tx.request_ts.or(r.tx.response_ts), r.conn, r.tx.seq));
            for r in recs.iter().filter(|r| matched.borrow().http(r)) {
                out.line(&if a.json {
                    http_json(r).to_string()
                } else {
                    http_text(r)
                });
            }
            stop.set(out.failed());
        },
    )?;
    let pipe_closed = out.pipe_closed();
    out.finish()?;
    if pipe_closed {
        return Ok(0);
    }
    Ok(finish_status(damage))
}

/// The documented `--json` HTTP record (README, "JSON Lines output").
pub fn http_json(r: &HttpRecord) -> Value {
    let t = &r.tx;
    json!({
        "conn": r.conn.0,
        "seq": t.seq,
        "method": wire(t.method.as_deref()),
        "host": wire(t.host.as_deref()),
        "uri": wire(t.uri.as_deref()),
        "version": t.version.map(|v| v.to_string()),
        "request_ts": opt_ts(t.request_ts),
        "request_end_ts": opt_ts(t.request_end_ts),
        "request_body_len": t.request_body_len,
        "status": t.status,
        "reason": wire(t.reason.as_deref()),
        "response_version": t.response_version.map(|v| v.to_string()),
        "response_ts": opt_ts(t.response_ts),
        "response_end_ts": opt_ts(t.response_end_ts),
        "response_body_len": t.response_body_len,
        "content_type": wire(t.content_type.as_deref()),
        "content_encoding": wire(t.content_encoding.as_deref()),
        "content_length": t.content_length,
        "transfer": t.transfer.as_str(),
        "ttfb": secs(t.ttfb()),
        "time": secs(t.time_to_last_byte()),
        "user_agent": wire(t.user_agent.as_deref()),
        "referer": wire(t.referer.as_deref()),
        "partial": t.partial,
        "request_frame": t.request_first_pkt.map(|p| p.frame_number()),
        "response_frame": t.response_first_pkt.map(|p| p.frame_number()),
        "anomalies": t.anomalies.iter().map(|a| a.name).collect::<Vec<_>>(),
    })
}

fn http_text(r: &HttpRecord) -> String {
    let t = &r.tx;
    let ms = |ns: Option<i64>| ns.map_or("-".to_string(), |n| format!("{:.3}", n as f64 / 1e6));
    super::json::guard(&format!(
        "{:>6} {:>3}  {:<7} {:<30} {:<40} {:>6} {:<24} {:>10} {:>9} {:>9}{}",
        r.conn.0,
        t.seq,
        t.method.as_deref().unwrap_or("-"),
        t.host.as_deref().unwrap_or("-"),
        t.uri.as_deref().unwrap_or("-"),
        t.status.map_or("-".into(), |s| s.to_string()),
        t.content_type.as_deref().unwrap_or("-"),
        t.response_body_len,
        ms(t.ttfb()),
        ms(t.time_to_last_byte()),
        if t.partial { "  (partial)" } else { "" }
    ))
    .into_owned()
}
