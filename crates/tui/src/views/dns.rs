//! DNS: one row per transaction, Enter opens the connection that used the answer.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};

use super::super::app::App;
use super::super::flatten::esc;
use super::super::theme::Theme;
use super::super::widgets::fmt_dur;
use super::super::widgets::vtable::{self, col};
use super::or_dash;

pub fn render(body: Rect, buf: &mut Buffer, app: &App, t: &Theme) {
    let wide = body.width >= 120;
    let mut cols = vec![
        col("No.", Constraint::Length(6)),
        col("Time", Constraint::Length(10)),
        col("Query", Constraint::Fill(2)).middle(),
        col("Type", Constraint::Length(5)),
        col("Rcode", Constraint::Length(8)),
        col("Answers", Constraint::Fill(1)),
        col("Latency", Constraint::Length(9)),
    ];
    if wide {
        cols.push(col("Sizes", Constraint::Length(10)));
        cols.push(col("Conn", Constraint::Length(5)));
    }
    let src = &app.source;
    vtable::render(
        buf,
        body,
        &cols,
        src.dns_count(),
        app.dns,
        true,
        t,
        &mut |i| {
            let Some(d) = src.dns_row(i) else {
                return (Vec::new(), Default::default());
            };
            let mut cells = vec![
                d.number.to_string(),
                format!("{:.6}", d.ts_rel),
                esc(&d.qname),
                esc(&d.qtype),
                or_dash(d.rcode.as_deref().map(esc)),
                esc(&d.answers),
                or_dash(d.latency.map(fmt_dur)),
            ];
            if wide {
                cells.push(format!("{}/{}", d.query_len, or_dash(d.response_len)));
                cells.push(or_dash(d.conn.map(|c| format!("#{c}"))));
            }
            let bad = d.rcode.as_deref().is_some_and(|r| r != "NOERROR") || d.rcode.is_none();
            (cells, if bad { t.anomaly() } else { t.proto("DNS") })
        },
    );
}
