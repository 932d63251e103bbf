//! Connections: the sortable connection table.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};

use super::super::app::{App, ConnSort};
use super::super::flatten::esc;
use super::super::theme::Theme;
use super::super::widgets::vtable::{self, col, Column};
use super::super::widgets::{fmt_bytes, fmt_dur};
use super::or_dash;

/// Columns shown at `width`: narrow terminals drop the client (usually the same host),
/// client bytes, packets and app.
/// The id column is as wide as the largest id (`max_id`), so an id is never cut.
fn columns(width: u16, max_id: u64) -> Vec<(ConnSort, Column)> {
    let wide = width >= 110;
    let digits = max_id.max(1).ilog10() as u16 + 1;
    let mut v = vec![(ConnSort::Id, col("#", Constraint::Length(digits.max(3))))];
    if width >= 150 {
        v.push((
            ConnSort::Client,
            col("Client", Constraint::Length(21)).middle(),
        ));
    }
    v.push((
        ConnSort::Server,
        col("Server", Constraint::Length(21)).middle(),
    ));
    v.push((ConnSort::Name, col("Name", Constraint::Fill(1)).middle()));
    v.push((ConnSort::State, col("St", Constraint::Length(4))));
    v.push((ConnSort::Duration, col("Duration", Constraint::Length(9))));
    if wide {
        v.push((ConnSort::BytesC2s, col("C→S", Constraint::Length(9))));
    }
    v.push((ConnSort::BytesS2c, col("S→C", Constraint::Length(9))));
    if wide {
        v.push((ConnSort::Packets, col("Pkts", Constraint::Length(5))));
    }
    v.push((ConnSort::Rtt, col("RTT", Constraint::Length(8))));
    if wide {
        v.push((ConnSort::App, col("App", Constraint::Length(5))));
    }
    v
}

pub fn render(body: Rect, buf: &mut Buffer, app: &App, theme: &Theme) {
    let src = &app.source;
    let max_id = (0..src.conn_count())
        .filter_map(|i| src.conn_id(i))
        .map(u64::from)
        .max();
    let cols = columns(body.width, max_id.unwrap_or(0));
    let header: Vec<Column> = cols
        .iter()
        .map(|(s, c)| {
            let mut c = c.clone();
            if *s == app.sort {
                c.title.push(if app.sort_reverse { '▼' } else { '▲' });
            }
            c
        })
        .collect();
    vtable::render(
        buf,
        body,
        &header,
        app.conn_order.len(),
        app.conns,
        true,
        theme,
        &mut |i| {
            let Some(c) = app.conn_order.get(i).and_then(|&k| src.conn_row(k)) else {
                return (Vec::new(), Default::default());
            };
            let cells = cols
                .iter()
                .map(|(s, _)| match s {
                    ConnSort::Id => c.id.to_string(),
                    ConnSort::Client => c.client.to_string(),
                    ConnSort::Server => c.server.to_string(),
                    ConnSort::Name => c
                        .name
                        .as_deref()
                        .map(esc)
                        .unwrap_or_else(|| "(no lookup seen)".into()),
                    ConnSort::State => esc(&c.state),
                    ConnSort::Duration => fmt_dur(c.duration),
                    ConnSort::BytesC2s => fmt_bytes(c.bytes_c2s),
                    ConnSort::BytesS2c => fmt_bytes(c.bytes_s2c),
                    ConnSort::Packets => c.packets.to_string(),
                    ConnSort::Rtt => or_dash(c.rtt.map(fmt_dur)),
                    ConnSort::App => or_dash(c.app.as_deref().map(esc)),
                })
                .collect();
            let style = if c.anomalies > 0 {
                theme.anomaly()
            } else {
                theme.proto(c.app.as_deref().unwrap_or(""))
            };
            (cells, style)
        },
    );
}
