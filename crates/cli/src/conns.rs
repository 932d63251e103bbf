//! `wiretale conns FILE [--json]`: one record per connection in order of first packet.

use std::collections::BTreeMap;

use super::args::FileArgs;
use super::out::Out;
use super::run::{conclude, drive_records, record_matches, WholeEnd};
use super::select::{Matched, Selection};
use wiretale_engine::analysis::records::{proto_name, ConnJson};
use wiretale_engine::analysis::ConnRecord;
use wiretale_engine::base::elide::{Col, Cut, Table};
use wiretale_engine::flow::CloseHow;
use wiretale_engine::story::{ConnName, NameIndex};

/// Finished connections held at most while waiting for an earlier one to end, so
/// that connections print in order of first packet (see `flush`).
const REORDER_WINDOW: usize = 16_384;

pub fn run(a: &FileArgs) -> anyhow::Result<i32> {
    let (mut sel, cfg) = match Selection::for_command(a, false)? {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let matched = std::cell::RefCell::new(Matched::new(&sel));
    let mut out = Out::new();
    let mut rows = Rows::new(a.json, &mut out);
    // Connections finish out of order; print them in id order (order of first packet)
    // as soon as every earlier one has been printed.
    let mut pending: BTreeMap<u32, ConnRecord> = BTreeMap::new();
    // Lookups seen so far name the connections as they finish.
    let mut names = NameIndex::new();
    let mut next_id: u32 = 0;
    // Decided (and the selection borrowed) only when a connection is printed.
    let keep = |c: &ConnRecord, names: &NameIndex, sel: &Selection| {
        let name = names.name(c);
        sel.keep_conn(
            &matched.borrow(),
            c,
            name.as_ref().map(|n| n.qname.as_str()),
        )
    };
    let flush = |pending: &mut BTreeMap<u32, ConnRecord>,
                 next_id: &mut u32,
                 out: &mut Out,
                 rows: &mut Rows,
                 names: &NameIndex,
                 sel: &Selection| {
        while let Some(c) = pending.remove(next_id) {
            if keep(&c, names, sel) {
                rows.print(out, &c, names);
            }
            *next_id += 1;
        }
        // Bounded wait: when REORDER_WINDOW later connections have finished while an
        // earlier one is still open (a long download, a UDP flow waiting for its
        // timeout), the finished ones are printed and the open one prints when it ends,
        // out of order. Memory then follows the open connections, not the file.
        while pending.len() > REORDER_WINDOW {
            let Some((id, c)) = pending.pop_first() else {
                break;
            };
            if keep(&c, names, sel) {
                rows.print(out, &c, names);
            }
            *next_id = id + 1;
        }
    };
    let stop = std::cell::Cell::new(false);
    // The end's connections are named by the end's lookups, which come at its last drain.
    let mut whole_end = WholeEnd::default();
    let damage = drive_records(
        &a.file,
        cfg,
        &mut sel,
        None,
        record_matches(&matched, &stop),
        |engine, at_end, sel| {
            whole_end.drain(engine, at_end, |engine, at_end| {
                for tx in engine.take_dns(at_end) {
                    names.add(&tx);
                }
                for c in engine.take_conn_chunks().into_iter().flatten() {
                    if c.conn.id.0 < next_id {
                        // Overtaken by the window: print as soon as it ends.
                        if keep(&c, &names, sel) {
                            rows.print(&mut out, &c, &names);
                        }
                    } else {
                        pending.insert(c.conn.id.0, c);
                    }
                }
                flush(&mut pending, &mut next_id, &mut out, &mut rows, &names, sel);
                stop.set(out.failed());
            });
        },
    )?;
    // A damaged file stops before `finish`: whatever finished is still printed in order.
    let rest: Vec<ConnRecord> = std::mem::take(&mut pending).into_values().collect();
    for c in rest.iter().filter(|c| keep(c, &names, &sel)) {
        rows.print(&mut out, c, &names);
    }
    rows.finish(&mut out);
    conclude(out, damage)
}

/// How records are printed: JSON Lines, or text rows (`--wide` or a table).
enum Rows {
    Json,
    Text(super::out::Rows),
}

impl Rows {
    fn new(json: bool, out: &mut Out) -> Rows {
        if json {
            Rows::Json
        } else {
            Rows::Text(super::out::Rows::new(out, wide_header(), table))
        }
    }

    fn print(&mut self, out: &mut Out, c: &ConnRecord, names: &NameIndex) {
        let name = names.name(c);
        match self {
            Rows::Json => out.line(&json_record(c, name.as_ref())),
            Rows::Text(r) => r.print(
                out,
                || text_row(c, name.as_ref()),
                || cells(c, name.as_ref()),
            ),
        }
    }

    fn finish(&mut self, out: &mut Out) {
        if let Rows::Text(r) = self {
            r.finish(out);
        }
    }
}

/// The `conns` table for `columns`-wide lines. At narrow widths the state, rtt and
/// close columns are left out (in that order) before endpoints or names are cut:
/// at 80 columns an IPv4 row is one line with its name (README, "Long values and
/// widths").
pub fn table(columns: usize) -> Table {
    Table::new(
        vec![
            Col::num("id"),
            Col::text("prot", Cut::Never, 0),
            Col::text("client", Cut::Middle, 12),
            Col::text("server", Cut::Middle, 12),
            Col::text("state", Cut::End, 2).drops(3),
            Col::num("secs"),
            Col::num("c→s B"),
            Col::num("s→c B"),
            Col::num("rtt ms").drops(2),
            Col::text("close", Cut::End, 5).drops(1),
            Col::text("name", Cut::Middle, 16),
        ],
        columns,
    )
}

/// One connection as the cells of [`table`].
pub fn cells(c: &ConnRecord, name: Option<&ConnName>) -> Vec<String> {
    let k = &c.conn;
    let mut name = super::json::guard(name.map_or("-", |n| n.qname.as_str())).into_owned();
    if k.orientation_guessed {
        name.push_str("  (orientation guessed)");
    }
    vec![
        k.id.0.to_string(),
        proto(c).to_string(),
        k.client.to_string(),
        k.server.to_string(),
        k.state().to_string(),
        format!("{:.3}", k.duration()),
        k.bytes[0].to_string(),
        k.bytes[1].to_string(),
        rtt_text(c),
        close_text(c),
        name,
    ]
}

fn rtt_text(c: &ConnRecord) -> String {
    c.conn
        .handshake
        .and_then(|h| h.rtt_ns())
        .map(|n| format!("{:.3}", n as f64 / 1e6))
        .unwrap_or_else(|| "-".into())
}

fn close_text(c: &ConnRecord) -> String {
    match &c.conn.close {
        Some(cl) => format!(
            "{} {}",
            cl.by.sender(),
            match cl.how {
                CloseHow::Fin => "FIN",
                CloseHow::Rst => "RST",
            }
        ),
        // No FIN or RST: what ICMP errors said, if any ("refused (ICMP port
        // unreachable)", or the first error's name and how many came).
        None => match (c.conn.icmp_outcome(), c.conn.icmp_errors().first()) {
            (Some(o), _) => o,
            (None, Some(e)) if c.conn.icmp_error_count() > 1 => {
                format!("ICMP {} ×{}", e.name(), c.conn.icmp_error_count())
            }
            (None, Some(e)) => format!("ICMP {}", e.name()),
            (None, None) => "-".into(),
        },
    }
}

/// The header of `--wide` rows ([`text_row`]).
pub fn wide_header() -> String {
    format!(
        "{:>6}  {:<4} {:<42} {:<42} {:<6} {:>10} {:>10} {:>10} {:>9}  {:<12}  {}",
        "id",
        "prot",
        "client",
        "server",
        "state",
        "duration",
        "bytes c→s",
        "bytes s→c",
        "rtt ms",
        "close",
        "name"
    )
}

fn proto(c: &ConnRecord) -> &'static str {
    proto_name(c.conn.proto)
}

/// One `--wide` row: fixed columns wide enough for any IPv6 endpoint (and the row
/// `capture --conns` prints as connections end, fitted to the width by `Out`).
pub fn text_row(c: &ConnRecord, name: Option<&ConnName>) -> String {
    let k = &c.conn;
    let rtt = rtt_text(c);
    let close = close_text(c);
    let guess = if k.orientation_guessed { "^" } else { "" };
    format!(
        "{:>6}  {:<4} {:<42} {:<42} {:<6} {:>10.3} {:>10} {:>10} {:>9}  {:<12}  {}{}",
        k.id.0,
        proto(c),
        k.client.to_string(),
        k.server.to_string(),
        k.state(),
        k.duration(),
        k.bytes[0],
        k.bytes[1],
        rtt,
        close,
        super::json::guard(name.map_or("-", |n| n.qname.as_str())),
        if guess.is_empty() {
            String::new()
        } else {
            "  (orientation guessed)".into()
        }
    )
}

/// The documented `--json` record (README, "JSON Lines output"; [`ConnJson`]).
pub fn json_record(c: &ConnRecord, name: Option<&ConnName>) -> String {
    super::json::line(&ConnJson::new(c, name))
}
