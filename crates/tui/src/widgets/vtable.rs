//! A virtual table: rows are built only for the visible window.
//!
//! `ratatui::widgets::Table` wants every `Row` up front; with a million packets that
//! costs seconds per frame (PITFALLS.md). Here the caller supplies a row builder and the
//! table asks it only for `offset..offset + visible` rows.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table, Widget};

use super::super::app::ListState;
use super::super::theme::Theme;
use wiretale_engine::base::elide;

/// A column: title and width.
#[derive(Clone, Debug)]
pub struct Column {
    pub title: String,
    pub width: Constraint,
    /// A cell wider than the column keeps its start and its end around `…` (addresses
    /// keep their port, names their domain); otherwise its start and a final `…`.
    pub middle: bool,
}

pub fn col(title: &str, width: Constraint) -> Column {
    Column {
        title: title.to_string(),
        width,
        middle: false,
    }
}

impl Column {
    /// Cut wide cells in the middle (see [`Column::middle`]).
    pub fn middle(mut self) -> Column {
        self.middle = true;
        self
    }
}

/// The width ratatui's `Table` gives each column in `width` columns (same layout as
/// `Table::get_column_widths`: no selection symbol, `Flex::Start`, spacing 1).
fn column_widths(columns: &[Column], width: u16) -> Vec<usize> {
    Layout::horizontal(columns.iter().map(|c| c.width))
        .flex(Flex::Start)
        .spacing(1)
        .split(Rect::new(0, 0, width, 1))
        .iter()
        .map(|r| r.width as usize)
        .collect()
}

/// A cell shortened to its column with `…`, so a cut is always visible (ratatui would
/// cut it silently: an address missing its last digits looks like another address).
fn cut_cell(c: &Column, text: String, width: usize) -> String {
    if elide::width(&text) <= width {
        return text;
    }
    if c.middle {
        elide::middle(&text, width).into_owned()
    } else {
        elide::fit(&text, width).into_owned()
    }
}

/// Styled pieces of one line cut to `width` columns, ending with `…` (in the style of
/// the piece that was cut) when anything was left out: a title or a followed line
/// wider than the screen never loses its end silently.
pub fn fit_spans(spans: Vec<Span<'_>>, width: usize) -> Vec<Span<'_>> {
    let total: usize = spans.iter().map(|s| elide::width(&s.content)).sum();
    if total <= width {
        return spans;
    }
    let room = width.saturating_sub(1);
    let mut used = 0usize;
    let mut out = Vec::new();
    for s in spans {
        let w = elide::width(&s.content);
        if used + w <= room {
            used += w;
            out.push(s);
            continue;
        }
        if width > 0 {
            let kept = elide::prefix(&s.content, room - used);
            out.push(Span::styled(format!("{kept}…"), s.style));
        }
        break;
    }
    out
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
    let widths = column_widths(columns, area.width);
    let fit = |cells: Vec<String>| -> Vec<String> {
        cells
            .into_iter()
            .enumerate()
            .map(|(j, text)| match (columns.get(j), widths.get(j)) {
                (Some(c), Some(&w)) => cut_cell(c, text, w),
                _ => text,
            })
            .collect()
    };
    let rows: Vec<Row> = (st.offset..end)
        .map(|i| {
            let (cells, style) = row(i);
            let cells = fit(cells);
            let style = if i == st.selected && focused {
                style.patch(theme.selected())
            } else {
                style
            };
            Row::new(cells.into_iter().map(Cell::from)).style(style)
        })
        .collect();
    let header = Row::new(
        fit(columns.iter().map(|c| c.title.clone()).collect())
            .into_iter()
            .map(Cell::from),
    )
    .style(theme.header());
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
    fn a_cut_cell_always_shows_an_ellipsis() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 40, 2));
        render(
            &mut buf,
            Rect::new(0, 0, 40, 2),
            &[
                col("Source", Constraint::Length(15)).middle(),
                col("Info", Constraint::Length(10)),
                col("Rest", Constraint::Fill(1)),
            ],
            1,
            ListState::default(),
            false,
            &Theme::new(true),
            &mut |_| {
                (
                    vec![
                        "2001:db8:85a3::8a2e:370:7334".into(),
                        "Standard query 0x1234".into(),
                        "ok".into(),
                    ],
                    Style::new(),
                )
            },
        );
        // The address keeps its start and its end; the Info cell ends with "…".
        assert_eq!(line(&buf, 1), "2001:db…70:7334 Standard … ok");
        assert_eq!(
            column_widths(&[col("a", Constraint::Length(3))], 2),
            vec![2]
        );
    }

    #[test]
    fn styled_pieces_are_cut_with_an_ellipsis() {
        let spans = || {
            vec![
                Span::raw("Connection #3 "),
                Span::raw("TCP 198.18.0.10:52106"),
            ]
        };
        let text = |v: Vec<Span<'_>>| v.iter().map(|s| s.content.to_string()).collect::<String>();
        assert_eq!(
            text(fit_spans(spans(), 100)),
            "Connection #3 TCP 198.18.0.10:52106"
        );
        assert_eq!(text(fit_spans(spans(), 20)), "Connection #3 TCP 1…");
        // The cut falls exactly between two pieces.
        assert_eq!(text(fit_spans(spans(), 15)), "Connection #3 …");
        assert_eq!(text(fit_spans(spans(), 14)), "Connection #3…");
        assert_eq!(text(fit_spans(spans(), 0)), "");
        for w in 0..40 {
            assert!(elide::width(&text(fit_spans(spans(), w))) <= w, "{w}");
        }
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
