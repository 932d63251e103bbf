//! Drawing the model. Views read the [`App`] and never change it; every string that
//! came from the source is escaped before it becomes a `Span`.

pub mod conn;
pub mod conns;
pub mod dns;
pub mod follow;
pub mod help;
pub mod http;
pub mod packets;
pub mod story;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;
use ratatui::Frame;

use super::action::Tab;
use super::app::{App, View};
use super::flatten::esc;
use super::keymap;
use super::layout::{self, Area};
use super::theme::Theme;
use super::widgets::filterbar;
use wiretale_engine::base::elide;

pub fn rect(a: Area) -> Rect {
    Rect::new(a.x, a.y, a.w, a.h)
}

/// Draws the whole screen for `app` into the frame.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    render(area, frame.buffer_mut(), app);
}

/// Draws the whole screen into `buf` (the frame's buffer or a test buffer).
pub fn render(area: Rect, buf: &mut Buffer, app: &App) {
    let theme = Theme::new(app.no_color);
    let screen = layout::screen(area.width, area.height, app.footer_lines());
    header(rect(screen.header), buf, app, &theme);
    tabs(rect(screen.tabs), buf, app, &theme);
    let body = rect(screen.body);
    match app.view() {
        View::Tab(Tab::Packets) => packets::render(body, buf, app, &theme),
        View::Tab(Tab::Conns) => conns::render(body, buf, app, &theme),
        View::Tab(Tab::Story) => story::render(body, buf, app, &theme),
        View::Tab(Tab::Dns) => dns::render(body, buf, app, &theme),
        View::Tab(Tab::Http) => http::render(body, buf, app, &theme),
        View::Conn(c) => conn::render(body, buf, app, c, &theme),
        View::Follow(_) => follow::render(body, buf, app, &theme),
    }
    footer(rect(screen.footer), buf, app, &theme);
    if app.help {
        help::render(area, buf, app, &theme);
    }
}

fn header(area: Rect, buf: &mut Buffer, app: &App, theme: &Theme) {
    let st = &app.status;
    let mut spans = vec![
        Span::styled(" wiretale ", theme.title()),
        Span::raw(if st.live { "live " } else { "" }),
        Span::styled(esc(&st.name), theme.header()),
        Span::raw(format!("  {} packets", st.packets)),
    ];
    if st.live {
        if st.paused {
            spans.push(Span::styled("  PAUSED", theme.anomaly()));
        }
        if let Some(d) = st.drops {
            spans.push(Span::raw(format!("  drops {d}")));
        }
        if let Some(f) = &st.capture_file {
            spans.push(Span::raw(format!("  → {}", esc(&f.display().to_string()))));
        }
    } else if !st.done {
        spans.push(Span::styled(
            format!("  indexing {:.0}%", st.indexed * 100.0),
            theme.dim(),
        ));
    }
    if let Some(c) = app.focus {
        spans.push(Span::styled(format!("  [conn #{c}]"), theme.key()));
    }
    if let Some(f) = &app.filter {
        // What the filter leaves of the list on screen: every view is filtered.
        let mut s = format!("  [filter: {}", esc(f));
        if let View::Tab(t) = app.view() {
            if let Some(total) = app.source.unfiltered_count(t) {
                let (shown, one, many) = match t {
                    Tab::Packets => (app.source.packet_count(), "packet", "packets"),
                    Tab::Conns => (app.source.conn_count(), "connection", "connections"),
                    Tab::Dns => (
                        app.source.dns_count(),
                        "DNS transaction",
                        "DNS transactions",
                    ),
                    Tab::Http => (app.source.http_count(), "HTTP exchange", "HTTP exchanges"),
                    Tab::Story => (app.source.story().count_stories(), "story", "stories"),
                };
                let noun = if total == 1 { one } else { many };
                s.push_str(&format!(" — {shown} of {total} {noun}"));
            }
        }
        s.push(']');
        spans.push(Span::styled(s, theme.key()));
    }
    if let Some(e) = &st.error {
        spans.push(Span::styled(format!("  error: {}", esc(e)), theme.error()));
    }
    if let Some(n) = &st.notice {
        spans.push(Span::styled(format!("  {}", esc(n)), theme.anomaly()));
    }
    Line::from(fit_spans(spans, usize::from(area.width))).render(area, buf);
}

/// Cuts a line of spans to `columns`, ending with "…" where it was cut (a cut is never
/// silent: base::elide's rule).
fn fit_spans(spans: Vec<Span<'_>>, columns: usize) -> Vec<Span<'_>> {
    let total: usize = spans.iter().map(|s| elide::width(&s.content)).sum();
    if total <= columns {
        return spans;
    }
    let mut out = Vec::new();
    let mut left = columns;
    for s in spans {
        let w = elide::width(&s.content);
        if w < left {
            left -= w;
            out.push(s);
            continue;
        }
        // What follows is cut too: the "…" must show even when this span fits exactly.
        let cut = elide::fit(&format!("{}…", s.content), left).into_owned();
        out.push(Span::styled(cut, s.style));
        break;
    }
    out
}

fn tabs(area: Rect, buf: &mut Buffer, app: &App, theme: &Theme) {
    let mut spans = Vec::new();
    for (i, t) in Tab::ALL.iter().enumerate() {
        let s = format!(" {} {} ", i + 1, t.title());
        let style = if *t == app.tab() {
            theme.selected()
        } else {
            theme.dim()
        };
        spans.push(Span::styled(s, style));
        spans.push(Span::raw("│"));
    }
    for v in app.stack.iter().skip(1) {
        let s = match v {
            View::Tab(t) => t.title().to_string(),
            View::Conn(c) => format!("Connection #{c}"),
            View::Follow(c) => format!("Follow #{c}"),
        };
        spans.push(Span::styled(format!(" › {s}"), theme.header()));
    }
    Line::from(spans).render(area, buf);
}

fn footer(area: Rect, buf: &mut Buffer, app: &App, theme: &Theme) {
    if app.confirm_quit {
        let file = app
            .status
            .capture_file
            .as_ref()
            .map(|f| {
                format!(
                    " (packets so far stay in {})",
                    esc(&f.display().to_string())
                )
            })
            .unwrap_or_default();
        Line::styled(
            format!("Stop the live capture and quit{file}? y/n"),
            theme.anomaly(),
        )
        .render(area, buf);
        return;
    }
    if let Some(bar) = &app.bar {
        filterbar::render(buf, area, bar, theme);
        return;
    }
    if let Some(m) = &app.message {
        Line::styled(m.clone(), theme.anomaly()).render(area, buf);
        return;
    }
    let mut spans = Vec::new();
    for (keys, help) in keymap::footer_entries(&app.scopes()) {
        spans.push(Span::styled(keys, theme.key()));
        spans.push(Span::raw(format!(" {help}  ")));
    }
    Line::from(spans).render(area, buf);
}

/// A one-line title at the top of a body area; returns the area below it.
pub fn title(area: Rect, buf: &mut Buffer, spans: Vec<Span<'_>>) -> Rect {
    if area.height == 0 {
        return area;
    }
    Line::from(spans).render(Rect { height: 1, ..area }, buf);
    Rect {
        y: area.y + 1,
        height: area.height - 1,
        ..area
    }
}

/// `Some(x)` as text or `-`.
pub fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod snapshots;
