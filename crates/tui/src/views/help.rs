//! The `?` help: generated from the keymap table, so it always matches the keys.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Widget};

use super::super::app::App;
use super::super::keymap::{help_lines, ALL_SCOPES};
use super::super::theme::Theme;

pub fn render(area: Rect, buf: &mut Buffer, app: &App, t: &Theme) {
    let w = area.width.saturating_sub(4).min(72);
    let h = area.height.saturating_sub(2);
    let r = Rect::new(area.x + (area.width - w) / 2, area.y + 1, w, h);
    Clear.render(r, buf);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" Keys (Esc or ? to close, j/k scroll) ");
    let inner = block.inner(r);
    block.render(r, buf);
    let mut lines: Vec<Line> = Vec::new();
    let mut last = "";
    for (scope, keys, help) in help_lines(&ALL_SCOPES) {
        if scope != last {
            if !last.is_empty() {
                lines.push(Line::raw(""));
            }
            lines.push(Line::styled(scope, t.title()));
            last = scope;
        }
        lines.push(Line::from(vec![
            Span::styled(format!("  {keys:<16}"), t.key()),
            Span::raw(help),
        ]));
    }
    let skip = app
        .help_scroll
        .min(lines.len().saturating_sub(inner.height as usize));
    for (i, l) in lines
        .into_iter()
        .skip(skip)
        .take(inner.height as usize)
        .enumerate()
    {
        l.render(
            Rect {
                y: inner.y + i as u16,
                height: 1,
                ..inner
            },
            buf,
        );
    }
}
