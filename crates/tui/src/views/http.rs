//! HTTP: one row per request/response, Enter opens the connection. HTTP/1.x and
//! HTTP/2 (decrypted HTTPS) exchanges alike; "Ver" says which ("1.1", "h2 #5" for
//! stream 5) at every width.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};

use super::super::app::App;
use super::super::flatten::esc;
use super::super::theme::Theme;
use super::super::widgets::vtable::{self, col};
use super::super::widgets::{fmt_bytes, fmt_dur};
use super::or_dash;

pub fn render(body: Rect, buf: &mut Buffer, app: &App, t: &Theme) {
    let wide = body.width >= 120;
    let mut cols = vec![
        col("No.", Constraint::Length(6)),
        col("Meth", Constraint::Length(4)),
        col("Host", Constraint::Fill(1)).middle(),
        col("URI", Constraint::Fill(2)),
        col("Sta", Constraint::Length(3)),
        // "h2 #999" fits narrow; wide leaves room for longer stream ids.
        col("Ver", Constraint::Length(if wide { 8 } else { 7 })),
    ];
    if wide {
        cols.push(col("Type", Constraint::Length(10)));
        cols.push(col("Req", Constraint::Length(7)));
    }
    cols.push(col("Size", Constraint::Length(8)));
    cols.push(col("TTFB", Constraint::Length(8)));
    if wide {
        cols.push(col("Total", Constraint::Length(9)));
        cols.push(col("Conn", Constraint::Length(4)));
    }
    let src = &app.source;
    vtable::render(
        buf,
        body,
        &cols,
        src.http_count(),
        app.http,
        true,
        t,
        &mut |i| {
            let Some(h) = src.http_row(i) else {
                return (Vec::new(), Default::default());
            };
            let mut cells = vec![
                h.number.to_string(),
                esc(&h.method),
                esc(&h.host),
                esc(&h.uri),
                or_dash(h.status),
                h.version_cell(),
            ];
            if wide {
                cells.push(or_dash(h.content_type.as_deref().map(esc)));
                cells.push(fmt_bytes(h.req_size));
            }
            cells.push(or_dash(h.resp_size.map(fmt_bytes)));
            cells.push(or_dash(h.ttfb.map(fmt_dur)));
            if wide {
                cells.push(or_dash(h.total.map(fmt_dur)));
                cells.push(format!("#{}", h.conn));
            }
            let bad = h.status.is_none_or(|s| s >= 400);
            (cells, if bad { t.anomaly() } else { t.proto("HTTP") })
        },
    );
}
