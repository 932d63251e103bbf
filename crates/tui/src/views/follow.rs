//! Follow stream: the reassembled conversation, client and server in their colours and
//! marked `→`/`←` (so it reads without colour too), gaps marked, search matches shown.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::super::app::App;
use super::super::flatten::{esc, Side};
use super::super::theme::Theme;
use super::super::widgets::vtable::fit_spans;
use super::title;

pub fn render(body: Rect, buf: &mut Buffer, app: &App, t: &Theme) {
    let Some(f) = &app.follow else { return };
    let row = app.conn_row_by_id(f.conn);
    let row = row.as_ref();
    let mut head = vec![
        Span::styled(format!("Follow #{} ", f.conn), t.title()),
        Span::styled(
            row.map(|r| format!("→ client {}  ", r.client))
                .unwrap_or_default(),
            t.client(),
        ),
        Span::styled(
            row.map(|r| format!("← server {}  ", r.server))
                .unwrap_or_default(),
            t.server(),
        ),
        Span::raw(if f.hex { "[hex]" } else { "[text]" }),
    ];
    if !f.query.is_empty() {
        let pos = f
            .matches
            .iter()
            .position(|&m| m == f.list.selected)
            .map(|p| p + 1);
        head.push(Span::raw(format!(
            "  search \"{}\": {}{} matches",
            esc(&f.query),
            pos.map(|p| format!("{p}/")).unwrap_or_default(),
            f.matches.len()
        )));
    }
    let area = title(body, buf, fit_spans(head, body.width as usize));
    let mut st = f.list;
    st.clamp(f.lines.len(), area.height as usize);
    for (r, (i, l)) in f
        .lines
        .iter()
        .enumerate()
        .skip(st.offset)
        .take(area.height as usize)
        .enumerate()
    {
        let (mark, mut style) = match l.side {
            Side::Client => ("→ ", t.client()),
            Side::Server => ("← ", t.server()),
            Side::Gap | Side::Note => ("  ", t.gap()),
        };
        if f.matches.binary_search(&i).is_ok() {
            style = style.add_modifier(Modifier::UNDERLINED | Modifier::BOLD);
        }
        if i == st.selected {
            style = style.patch(t.selected());
        }
        // `l.text` was escaped when the lines were built (flatten::follow_lines).
        // Longer lines end with "…" (`follow` on the command line shows them whole).
        Line::from(fit_spans(
            vec![
                Span::styled(mark, style),
                Span::styled(l.text.clone(), style),
            ],
            area.width as usize,
        ))
        .render(
            Rect {
                y: area.y + r as u16,
                height: 1,
                ..area
            },
            buf,
        );
    }
}
