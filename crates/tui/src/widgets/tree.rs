//! An expandable tree (the packet's field tree, the story). The lines come from
//! [`crate::flatten::tree_lines`]; labels are escaped here, at the last moment.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::super::app::ListState;
use super::super::flatten::{esc, TreeLine};
use super::super::theme::Theme;

/// Draws `lines` under a title line, `▸` for a closed node with children, `▾` for an
/// open one. `style` colours a line by its node.
#[allow(clippy::too_many_arguments)]
pub fn render<T>(
    buf: &mut Buffer,
    area: Rect,
    title: &str,
    lines: &[TreeLine<'_, T>],
    label: &dyn Fn(&T) -> String,
    style: &dyn Fn(&T) -> Style,
    state: ListState,
    focused: bool,
    theme: &Theme,
) {
    if area.height == 0 {
        return;
    }
    let mut y = area.y;
    if !title.is_empty() {
        Line::styled(title.to_string(), theme.title()).render(Rect { height: 1, ..area }, buf);
        y += 1;
    }
    let rows = (area.y + area.height).saturating_sub(y) as usize;
    let mut st = state;
    st.clamp(lines.len(), rows);
    for (i, l) in lines.iter().enumerate().skip(st.offset).take(rows) {
        let marker = match (l.has_children, l.expanded) {
            (false, _) => "  ",
            (true, false) => "▸ ",
            (true, true) => "▾ ",
        };
        let mut s = style(l.node);
        if i == st.selected && focused {
            s = s.patch(theme.selected());
        }
        let text = format!(
            "{}{marker}{}",
            "  ".repeat(l.depth.min(16)),
            esc(&label(l.node))
        );
        Line::from(Span::styled(text, s)).render(
            Rect {
                y,
                height: 1,
                ..area
            },
            buf,
        );
        y += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flatten::tree_lines;
    use std::collections::HashSet;
    use wiretale_engine::base::FieldNode;

    use super::super::row_text as text;

    #[test]
    fn expand_and_collapse_show_and_hide_children() {
        let roots = vec![
            FieldNode::new("Internet Protocol Version 4", 14..34)
                .with(FieldNode::new("Time to Live: 64", 22..23))
                .with(FieldNode::new("Source Address: 10.0.0.2", 26..30)),
            FieldNode::new("Hypertext Transfer Protocol", 54..80)
                .with(FieldNode::new("Host: a\x1b[31m", 70..80)),
        ];
        let area = Rect::new(0, 0, 40, 6);
        let draw = |exp: &HashSet<Vec<usize>>, sel: usize| {
            let mut buf = Buffer::empty(area);
            let lines = tree_lines(&roots, exp);
            render(
                &mut buf,
                area,
                "Fields",
                &lines,
                &|n: &FieldNode| n.label.clone(),
                &|_| Style::new(),
                ListState {
                    selected: sel,
                    offset: 0,
                },
                true,
                &Theme::new(true),
            );
            buf
        };
        let mut exp = HashSet::new();
        let buf = draw(&exp, 0);
        assert_eq!(text(&buf, 1), "▸ Internet Protocol Version 4");
        assert_eq!(text(&buf, 2), "▸ Hypertext Transfer Protocol");
        assert_eq!(text(&buf, 3), "");
        exp.insert(vec![0]);
        exp.insert(vec![1]);
        let buf = draw(&exp, 2);
        assert_eq!(text(&buf, 1), "▾ Internet Protocol Version 4");
        assert_eq!(text(&buf, 2), "    Time to Live: 64");
        assert_eq!(text(&buf, 3), "    Source Address: 10.0.0.2");
        assert_eq!(text(&buf, 5), "    Host: a\\x1b[31m", "labels are escaped");
        assert!(buf[(4, 3)]
            .modifier
            .contains(ratatui::style::Modifier::REVERSED));
    }
}
