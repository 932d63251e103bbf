//! A virtual table: rows are built only for the visible window.
//!
//! `ratatui::widgets::Table` wants every `Row` up front; with a million packets that
//! costs seconds per frame (PITFALLS.md). Here the caller supplies a row builder and the
//! table asks it only for `offset..offset + visible` rows.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Cell, Row, Table, Widget};

use super::super::app::ListState;
use super::super::theme::Theme;

/// A column: title and width.
#[derive(Clone, Debug)]
pub struct Column {
    pub title: String,
    pub width: Constraint,
}

pub fn col(title: &str, width: Constraint) -> Column {
    Column {
        title: title.to_string(),
        width,
    }
}

/// Draws `count` rows through `row(index) -> (cells, style)`, calling it only for the
/// visible ones. The first line of `area` is the header. The selection is kept visible
/// even when `state.offset` is stale (e.g. right after a resize).
#[allow(clippy::too_many_arguments)]
pub fn render(
    buf: &mut Buffer,
    area: Rect,
    columns: &[Column],
    count: usize,
    state: ListState,
    focused: bool,
    theme: &Theme,
    row: &mut dyn FnMut(usize) -> (Vec<String>, Style),
) {
    if area.height == 0 {
        return;
    }
    let visible = area.height.saturating_sub(1) as usize;
    let mut st = state;
    st.clamp(count, visible);
    let end = (st.offset + visible).min(count);
    let rows: Vec<Row> = (st.offset..end)
        .map(|i| {
            let (cells, style) = row(i);
            let style = if i == st.selected && focused {
                style.patch(theme.selected())
            } else {
                style
            };
            Row::new(cells.into_iter().map(Cell::from)).style(style)
        })
        .collect();
    let header =
        Row::new(columns.iter().map(|c| Cell::from(c.title.as_str()))).style(theme.header());
    let table = Table::new(rows, columns.iter().map(|c| c.width))
        .header(header)
        .column_spacing(1);
    Widget::render(table, area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell as StdCell;

    fn draw(count: usize, state: ListState, h: u16) -> (Buffer, usize) {
        let mut buf = Buffer::empty(Rect::new(0, 0, 30, h));
        let calls = StdCell::new(0usize);
        render(
            &mut buf,
            Rect::new(0, 0, 30, h),
            &[
                col("No.", Constraint::Length(8)),
                col("Info", Constraint::Fill(1)),
            ],
            count,
            state,
            true,
            &Theme::new(true),
            &mut |i| {
                calls.set(calls.get() + 1);
                (vec![(i + 1).to_string(), format!("row {i}")], Style::new())
            },
        );
        (buf, calls.get())
    }

    fn line(buf: &Buffer, y: u16) -> String {
        (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol())
            .collect::<String>()
            .trim_end()
            .to_string()
    }

    #[test]
    fn a_million_rows_build_only_the_window() {
        let n = 1_000_000;
        let (buf, calls) = draw(
            n,
            ListState {
                selected: 999_999,
                offset: 0,
            },
            10,
        );
        assert_eq!(calls, 9, "only the 9 visible rows are built");
        assert_eq!(line(&buf, 0), "No.      Info");
        assert_eq!(line(&buf, 9), "1000000  row 999999");
        assert_eq!(line(&buf, 1), "999992   row 999991");
    }

    #[test]
    fn selection_is_reversed_and_visible_after_stale_offset() {
        let (buf, _) = draw(
            100,
            ListState {
                selected: 50,
                offset: 0,
            },
            5,
        );
        assert_eq!(line(&buf, 4), "51       row 50");
        assert!(buf[(0, 4)]
            .modifier
            .contains(ratatui::style::Modifier::REVERSED));
        assert!(!buf[(0, 3)]
            .modifier
            .contains(ratatui::style::Modifier::REVERSED));
    }

    #[test]
    fn empty_and_tiny_areas_do_not_panic() {
        let (_, calls) = draw(0, ListState::default(), 5);
        assert_eq!(calls, 0);
        let (_, calls) = draw(
            10,
            ListState {
                selected: 3,
                offset: 9,
            },
            1,
        );
        assert_eq!(calls, 0);
    }
}
