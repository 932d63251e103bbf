//! `wiretale dns FILE` and `wiretale http FILE`: one record per transaction.

use super::args::FileArgs;
use super::out::{Out, Rows};
use super::run::{conclude, drive_records, record_matches, WholeEnd};
use super::select::{Matched, Selection};
use wiretale_engine::analysis::records::{DnsJson, HttpJson};
use wiretale_engine::analysis::shard::Records;
use wiretale_engine::analysis::{HttpRecord, PacketSummary};
use wiretale_engine::base::elide::{self, Col, Cut, Table};
use wiretale_engine::base::Timestamp;
use wiretale_engine::proto::dns::{self, DnsTransaction, Service, TxKind};

pub fn run_dns(a: &FileArgs) -> anyhow::Result<i32> {
    let header = format!(
        "{:<12} {:<4} {:<40} {:<40} {:<6} {:<6} {:<40} {:<9} {:>9}  {}",
        "time", "tran", "client", "server", "id", "type", "name", "rcode", "rtt ms", "answers"
    );
    list(
        a,
        Listing {
            header,
            table: dns_table,
            take: |engine: &mut dyn Records, at_end| {
                let mut txs = engine.take_dns(at_end);
                txs.sort_by_key(|t| t.seq);
                txs
            },
            keep: |m: &Matched, t: &DnsTransaction| m.dns(t),
            json: dns_json,
            text: dns_text,
            cells: dns_cells,
        },
    )
}

/// What `dns` and `http` differ in; [`list`] does the rest.
struct Listing<T, Take, Keep> {
    /// The `--wide` header.
    header: String,
    /// The table for a terminal width.
    table: fn(usize) -> Table,
    /// The records the engine has finished (`true`: the capture ended), in print order.
    take: Take,
    /// Whether the selection (`-Y`, `-f`) keeps one.
    keep: Keep,
    json: fn(&T) -> String,
    /// One `--wide` line and one table row; times relative to the capture's first packet.
    text: fn(&T, Timestamp) -> String,
    cells: fn(&T, Timestamp) -> Vec<String>,
}

/// Drives the capture and prints each record as the engine finishes it: JSON Lines, or a
/// table (`--wide` lines) with its header.
fn list<T, Take, Keep>(a: &FileArgs, l: Listing<T, Take, Keep>) -> anyhow::Result<i32>
where
    Take: FnMut(&mut dyn Records, bool) -> Vec<T>,
    Keep: Fn(&Matched, &T) -> bool,
{
    let (mut sel, cfg) = match Selection::for_command(a, false)? {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let Listing {
        header,
        table,
        mut take,
        keep,
        json,
        text,
        cells,
    } = l;
    let matched = std::cell::RefCell::new(Matched::new(&sel));
    let mut out = Out::new();
    let mut rows = (!a.json).then(|| Rows::new(&mut out, header, table));
    let first = std::cell::Cell::new(None);
    let stop = std::cell::Cell::new(false);
    let mut whole_end = WholeEnd::default();
    let damage = drive_records(
        &a.file,
        cfg,
        &mut sel,
        None,
        {
            let mut step = record_matches(&matched, &stop);
            let first = &first;
            move |ts: Timestamp, p: Option<(&PacketSummary, bool)>| {
                if first.get().is_none() {
                    first.set(Some(ts));
                }
                step(ts, p)
            }
        },
        |engine, at_end, _| {
            // The end's records are sorted together, as one drain.
            whole_end.drain(engine, at_end, |engine, at_end| {
                let t0 = first.get().unwrap_or_default();
                for r in take(engine, at_end)
                    .iter()
                    .filter(|r| keep(&matched.borrow(), r))
                {
                    match &mut rows {
                        None => out.line(&json(r)),
                        Some(t) => t.print(&mut out, || text(r, t0), || cells(r, t0)),
                    }
                }
                stop.set(out.failed());
            });
        },
    )?;
    if let Some(r) = &mut rows {
        r.finish(&mut out);
    }
    conclude(out, damage)
}

/// The documented `--json` DNS record (README, "JSON Lines output"; [`DnsJson`]).
pub fn dns_json(t: &DnsTransaction) -> String {
    super::json::line(&DnsJson::new(t))
}

/// The `dns` table for `columns`-wide lines; at narrow widths the id, transport and
/// client columns are left out (in that order) before names are cut.
fn dns_table(columns: usize) -> Table {
    Table::new(
        vec![
            Col::num("time"),
            Col::text("tran", Cut::Never, 0).drops(2),
            Col::text("client", Cut::Middle, 12).drops(1),
            Col::text("server", Cut::Middle, 12),
            Col::text("id", Cut::Never, 0).drops(3),
            Col::text("type", Cut::Never, 0),
            Col::text("name", Cut::Middle, 16),
            Col::text("rcode", Cut::End, 7),
            Col::num("rtt ms"),
            Col::text("answers", Cut::List, 16),
        ],
        columns,
    )
}

fn dns_rcode(t: &DnsTransaction) -> String {
    match t.kind() {
        TxKind::Announcement => return "(announcement)".into(),
        TxKind::Goodbye => return "(goodbye)".into(),
        TxKind::Probe => return "(probe)".into(),
        _ => {}
    }
    match (t.rcode(), t.response_ts) {
        (Some(r), _) => dns::text::service_rcode(t.service, r),
        (None, None) => match &t.icmp_outcome {
            Some(o) => o.text.clone(),
            None => "(no answer)".into(),
        },
        (None, Some(_)) => "-".into(),
    }
}

/// The `tran` cell: the transport for DNS, the service for mDNS, LLMNR and NetBIOS
/// (which travel over UDP; `--json` has both).
fn dns_tran(t: &DnsTransaction) -> &'static str {
    match t.service {
        Service::Dns => t.transport.as_str(),
        s => s.as_str(),
    }
}

/// The `name` cell: the first question, `+N more` when the message asked several (an
/// mDNS querier asks for many services at once); an announcement, which asks nothing,
/// shows the names it announces; a NetBIOS operation other than a query says which.
fn dns_name(t: &DnsTransaction) -> String {
    let (first, more) = if t.announcement {
        let mut names: Vec<&str> = Vec::new();
        for r in t.answers() {
            if !names.iter().any(|n| n.eq_ignore_ascii_case(&r.name)) {
                names.push(&r.name);
            }
        }
        match names.first() {
            Some(n) => (dns::text::display_name(n).to_string(), names.len() - 1),
            None => ("-".to_string(), 0),
        }
    } else {
        (
            dns::text::display_name(&t.qname).to_string(),
            t.questions.len().saturating_sub(1),
        )
    };
    let mut s = first;
    if more > 0 {
        s.push_str(&format!(" +{more} more"));
    }
    if t.service == Service::Nbns && t.flags().opcode != 0 {
        s.push_str(&format!(
            " ({})",
            dns::text::opcode_name(t.service, t.flags().opcode)
        ));
    }
    s
}

/// The `type` cell: the first question's type in its service; `-` for an announcement.
fn dns_type(t: &DnsTransaction) -> String {
    if t.announcement {
        return "-".into();
    }
    dns::text::service_type_name(t.service, t.qtype)
}

/// Copies folded into the transaction: retransmitted queries, repeated announcements.
fn dns_copies(t: &DnsTransaction) -> String {
    let mut s = String::new();
    if t.retransmissions > 0 {
        s.push_str(&format!("  ({} retransmissions)", t.retransmissions));
    }
    if t.announcement && t.duplicate_responses > 0 {
        s.push_str(&format!("  ({} repeats)", t.duplicate_responses));
    }
    s
}

/// One transaction as the cells of [`dns_table`]: answers listed by
/// `dns::text::records_short` (long values and long lists elided with a count).
fn dns_cells(t: &DnsTransaction, t0: Timestamp) -> Vec<String> {
    let when = t.query_ts.or(t.response_ts).unwrap_or(t0).secs_since(t0);
    let mut answers = dns::text::records_short(t.answers());
    answers.push_str(&dns_copies(t));
    let name = dns_name(t);
    vec![
        format!("{when:.6}"),
        dns_tran(t).to_string(),
        t.client.to_string(),
        t.server.to_string(),
        format!("0x{:04x}", t.id),
        dns_type(t),
        elide::value(&name, elide::VALUE_COLUMNS).into_owned(),
        dns_rcode(t),
        t.rtt().map_or("-".into(), |r| format!("{:.3}", r * 1e3)),
        super::json::guard(&answers).into_owned(),
    ]
}

/// One `--wide` row: every answer, whole.
fn dns_text(t: &DnsTransaction, t0: Timestamp) -> String {
    let when = t.query_ts.or(t.response_ts).unwrap_or(t0).secs_since(t0);
    let rcode = dns_rcode(t);
    let answers = dns::text::typed_data_texts(t.answers());
    let rtt = t.rtt().map_or("-".into(), |r| format!("{:.3}", r * 1e3));
    let retx = dns_copies(t);
    super::json::guard(&format!(
        "{:<12.6} {:<4} {:<40} {:<40} 0x{:04x} {:<6} {:<40} {:<9} {:>9}  {}{}",
        when,
        dns_tran(t),
        t.client.to_string(),
        t.server.to_string(),
        t.id,
        dns_type(t),
        dns_name(t),
        rcode,
        rtt,
        answers.join(", "),
        retx
    ))
    .into_owned()
}

pub fn run_http(a: &FileArgs) -> anyhow::Result<i32> {
    let header = format!(
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
    );
    list(
        a,
        Listing {
            header,
            table: http_table,
            take: |engine: &mut dyn Records, _| {
                let mut recs = engine.take_http();
                recs.sort_by_key(|r| (r.tx.request_ts.or(r.tx.response_ts), r.conn, r.tx.seq));
                recs
            },
            keep: |m: &Matched, r: &HttpRecord| m.http(r),
            json: http_json,
            // HTTP times are durations, not offsets from the capture's start.
            text: |r, _| http_text(r),
            cells: |r, _| http_cells(r),
        },
    )
}

/// The documented `--json` HTTP record (README, "JSON Lines output"; [`HttpJson`]).
pub fn http_json(r: &HttpRecord) -> String {
    super::json::line(&HttpJson::new(r))
}

/// The `http` table for `columns`-wide lines; at narrow widths the content type, seq
/// and ttfb columns are left out (in that order) before hosts or URIs are cut.
fn http_table(columns: usize) -> Table {
    Table::new(
        vec![
            Col::num("conn"),
            Col::num("seq").drops(2),
            Col::text("method", Cut::End, 7),
            Col::text("host", Cut::Middle, 12),
            Col::text("uri", Cut::End, 16),
            Col::num("status"),
            Col::text("content type", Cut::End, 10).drops(3),
            Col::num("body B"),
            Col::num("ttfb ms").drops(1),
            Col::num("total ms"),
            Col::text("", Cut::End, 0),
        ],
        columns,
    )
}

/// One exchange as the cells of [`http_table`]; a long URI is cut with `…` and the
/// count of characters left out.
fn http_cells(r: &HttpRecord) -> Vec<String> {
    let t = &r.tx;
    let ms = |ns: Option<i64>| ns.map_or("-".to_string(), |n| format!("{:.3}", n as f64 / 1e6));
    let text = |v: Option<&str>| {
        let v = super::json::guard(v.unwrap_or("-")).into_owned();
        elide::value(&v, elide::VALUE_COLUMNS).into_owned()
    };
    vec![
        r.conn.0.to_string(),
        t.seq.to_string(),
        text(t.method.as_deref()),
        text(t.host.as_deref()),
        text(t.uri.as_deref()),
        t.status.map_or("-".into(), |s| s.to_string()),
        text(t.content_type.as_deref()),
        t.response_body_len.to_string(),
        ms(t.ttfb()),
        ms(t.time_to_last_byte()),
        if t.partial { "(partial)" } else { "" }.to_string(),
    ]
}

/// One `--wide` row: every value whole.
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
