//! Packets: the virtual packet list, the selected packet's field tree and its bytes.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;

use super::super::app::{App, Pane};
use super::super::flatten::{esc, tree_lines};
use super::super::layout::{self, Area};
use super::super::theme::Theme;
use super::super::widgets::vtable::{self, col};
use super::super::widgets::{hex, tree};
use super::rect;
use wiretale_engine::base::FieldNode;

pub fn render(body: Rect, buf: &mut Buffer, app: &App, theme: &Theme) {
    let l = layout::packets(Area {
        x: body.x,
        y: body.y,
        w: body.width,
        h: body.height,
    });
    let cols = [
        col("No.", Constraint::Length(7)),
        col("Time", Constraint::Length(10)),
        col("Source", Constraint::Length(15)).middle(),
        col("Destination", Constraint::Length(15)).middle(),
        col("Proto", Constraint::Length(5)),
        col("Len", Constraint::Length(5)),
        col("Info", Constraint::Fill(1)),
    ];
    let src = &app.source;
    vtable::render(
        buf,
        rect(l.list),
        &cols,
        src.packet_count(),
        app.packets,
        app.pane == Pane::List,
        theme,
        &mut |i| {
            let r = src.packet_row(i);
            let style = if r.anomaly {
                theme.anomaly()
            } else {
                theme.proto(r.proto)
            };
            (
                vec![
                    r.number.to_string(),
                    format!("{:.6}", r.time),
                    esc(&r.src),
                    esc(&r.dst),
                    esc(r.proto),
                    r.len.to_string(),
                    esc(&r.info),
                ],
                style,
            )
        },
    );
    let (fields, bytes, number) = match &app.detail {
        Some((_, d)) => (&d.fields[..], &d.bytes[..], d.number),
        None => (&[][..], &[][..], 0),
    };
    let lines = tree_lines(fields, &app.expanded);
    let title = if app.pane == Pane::Tree {
        format!("Frame {number} fields  (←/→ collapse/expand, Esc back)")
    } else {
        format!("Frame {number} fields  (t: select a field)")
    };
    tree::render(
        buf,
        rect(l.tree),
        &title,
        &lines,
        &|n: &FieldNode| n.label.clone(),
        &|n: &FieldNode| {
            if n.label.starts_with("Expert Info") {
                theme.anomaly()
            } else {
                Style::new()
            }
        },
        app.tree,
        app.pane == Pane::Tree,
        theme,
    );
    let hl = app.selected_range();
    let htitle = match &hl {
        Some(r) => format!("Bytes {}..{} of {}", r.start, r.end, bytes.len()),
        None => format!("Bytes ({})", bytes.len()),
    };
    hex::render(buf, rect(l.hex), &htitle, bytes, hl, theme);
}
