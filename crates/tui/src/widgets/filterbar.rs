//! The `/` bar: the display filter (green while valid, red while not, errors below
//! with their caret line) or the search text of the Follow view.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::super::app::{Bar, BarPurpose};
use super::super::flatten::esc;
use super::super::theme::Theme;

pub fn render(buf: &mut Buffer, area: Rect, bar: &Bar, theme: &Theme) {
    if area.height == 0 {
        return;
    }
    let prompt = match bar.purpose {
        BarPurpose::Filter => "filter: ",
        BarPurpose::Search => "search: ",
    };
    let style = if bar.valid { theme.ok() } else { theme.error() };
    let mut spans = vec![Span::styled(prompt, theme.header())];
    let chars: Vec<char> = bar.text.chars().collect();
    let before: String = chars.iter().take(bar.cursor).collect();
    spans.push(Span::styled(esc(&before), style));
    let at = chars
        .get(bar.cursor)
        .map(|c| esc(&c.to_string()))
        .unwrap_or_else(|| " ".into());
    spans.push(Span::styled(at, style.add_modifier(Modifier::REVERSED)));
    let after: String = chars.iter().skip(bar.cursor + 1).collect();
    spans.push(Span::styled(esc(&after), style));
    let hint = match bar.purpose {
        BarPurpose::Filter => "   Enter apply · Tab complete · ↑↓ history · Esc cancel",
        BarPurpose::Search => "   Enter search · n/N next/previous · Esc cancel",
    };
    spans.push(Span::styled(hint, theme.dim()));
    Line::from(spans).render(Rect { height: 1, ..area }, buf);
    if let (None, Some(h)) = (&bar.error, &bar.hint) {
        Line::styled(
            format!("{}{}", " ".repeat(prompt.len()), esc(h)),
            theme.dim(),
        )
        .render(
            Rect {
                y: area.y + 1,
                height: 1,
                ..area
            },
            buf,
        );
    }
    if let Some(err) = &bar.error {
        for (i, l) in err
            .lines()
            .take(area.height.saturating_sub(1) as usize)
            .enumerate()
        {
            // `filter::FilterError::render` gives the expression, a caret line under it
            // and the reason: indented by the prompt, the caret lines up under the
            // expression on the bar as well as under its copy.
            let indent = " ".repeat(prompt.len());
            Line::styled(format!("{indent}{}", esc(l)), theme.error()).render(
                Rect {
                    y: area.y + 1 + i as u16,
                    height: 1,
                    ..area
                },
                buf,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::row_text as text;

    #[test]
    fn shows_text_cursor_and_caret_error() {
        let area = Rect::new(0, 0, 60, 4);
        let mut buf = Buffer::empty(area);
        let bar = Bar {
            purpose: BarPurpose::Filter,
            text: "tcp and bogus".into(),
            cursor: 4,
            valid: false,
            error: Some(
                wiretale_engine::filter::Filter::compile("tcp and bogus")
                    .err()
                    .map(|e| e.render("tcp and bogus"))
                    .unwrap_or_default(),
            ),
            hint: None,
            history_pos: None,
        };
        render(&mut buf, area, &bar, &Theme::new(false));
        assert!(text(&buf, 0).starts_with("filter: tcp and bogus"));
        assert!(
            buf[(12, 0)].modifier.contains(Modifier::REVERSED),
            "cursor on 'a'"
        );
        assert_eq!(buf[(12, 0)].fg, ratatui::style::Color::Red);
        assert_eq!(text(&buf, 1), "        tcp and bogus");
        assert_eq!(text(&buf, 2), "                ^~~~~");
        assert_eq!(
            text(&buf, 3),
            "        \"bogus\" is not a valid protocol or protocol field"
        );
        assert_eq!(buf[(16, 2)].symbol(), "^");
        assert_eq!(
            buf[(16, 0)].symbol(),
            "b",
            "caret under the offending token"
        );
    }
}
