//! Connection: summary, phase timeline, ladder diagram, HTTP transactions, TLS hello
//! and anomalies, as one scrolled document whose lines are built only when visible.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::super::app::{conn_doc_item, conn_doc_len, App, ConnSection};
use super::super::flatten::esc;
use super::super::source::{ConnDetail, ConnRow};
use super::super::theme::Theme;
use super::super::widgets::vtable::fit_spans;
use super::super::widgets::{fmt_bytes, fmt_dur, ladder, timeline};
use super::{or_dash, title};

/// Line `i` of the document, as `app::conn_doc_item` describes it.
fn doc_line(
    d: &ConnDetail,
    row: Option<&ConnRow>,
    i: usize,
    width: u16,
    t: &Theme,
    span: (f64, f64),
) -> Line<'static> {
    let Some((s, item)) = conn_doc_item(d, i) else {
        return Line::default();
    };
    let Some(j) = item else {
        return match s {
            ConnSection::Tunnel => Line::styled("Tunnel", t.title()),
            ConnSection::Quic => Line::styled("QUIC", t.title()),
            ConnSection::Timeline => Line::styled("Timeline", t.title()),
            ConnSection::Ladder => {
                let (c, sv) = row
                    .map(|r| {
                        (
                            format!("client {}", r.client),
                            format!("server {}", r.server),
                        )
                    })
                    .unwrap_or_default();
                ladder::header(&c, &sv, width, t)
            }
            ConnSection::Http => Line::styled("HTTP", t.title()),
            ConnSection::Tls => Line::styled("TLS", t.title()),
            ConnSection::Anomalies => Line::styled("Anomalies", t.title()),
        };
    };
    match s {
        ConnSection::Tunnel => d
            .tunnel
            .get(j)
            .map(|l| Line::raw(esc(l)))
            .unwrap_or_default(),
        ConnSection::Quic => d.quic.get(j).map(|q| Line::raw(esc(q))).unwrap_or_default(),
        ConnSection::Timeline => d
            .phases
            .get(j)
            .map(|p| timeline::line(p, span.0, span.1, t))
            .unwrap_or_default(),
        ConnSection::Ladder => d
            .arrows
            .get(j)
            .map(|a| ladder::line(a, width, t))
            .unwrap_or_default(),
        ConnSection::Http => d
            .http
            .get(j)
            .map(|h| {
                Line::raw(format!(
                    // The request's frame: `#N` is kept for connection ids.
                    "frame {} {} {}{}{} → {} {}  {}  {}  TTFB {}  total {}",
                    h.number,
                    esc(&h.method),
                    esc(&h.host),
                    esc(&h.uri),
                    h.stream
                        .map(|s| format!(" (h2 stream {s})"))
                        .unwrap_or_default(),
                    or_dash(h.status),
                    esc(&h.reason),
                    or_dash(h.content_type.as_deref().map(esc)),
                    or_dash(h.resp_size.map(fmt_bytes)),
                    or_dash(h.ttfb.map(fmt_dur)),
                    or_dash(h.total.map(fmt_dur)),
                ))
            })
            .unwrap_or_default(),
        ConnSection::Tls => Line::raw(d.tls.as_deref().map(esc).unwrap_or_default()),
        ConnSection::Anomalies => d
            .anomalies
            .get(j)
            .map(|a| Line::styled(esc(a), t.anomaly()))
            .unwrap_or_default(),
    }
}

pub fn render(body: Rect, buf: &mut Buffer, app: &App, conn: u32, t: &Theme) {
    let row = app.conn_row_by_id(conn);
    let summary = match &row {
        Some(r) => vec![
            Span::styled(format!("Connection #{conn} "), t.title()),
            Span::raw(format!(
                "{}{} {} → {} ",
                r.proto,
                // QUIC rides on UDP: say both, as the connection list's App column does.
                if r.app.as_deref() == Some("QUIC") {
                    "/QUIC"
                } else {
                    ""
                },
                r.client,
                r.server
            )),
            Span::styled(
                r.name
                    .as_deref()
                    .map(esc)
                    .unwrap_or_else(|| "(no lookup seen)".into()),
                t.header(),
            ),
            Span::raw(format!(
                "  {}  {}  ↑{} ↓{}{}",
                esc(&r.state),
                fmt_dur(r.duration),
                fmt_bytes(r.bytes_c2s),
                fmt_bytes(r.bytes_s2c),
                // TCP's handshake RTT; a QUIC connection's handshake is in its section.
                match (r.rtt, r.app.as_deref()) {
                    (None, Some("QUIC")) => String::new(),
                    (rtt, _) => format!("  RTT {}", or_dash(rtt.map(fmt_dur))),
                }
            )),
        ],
        None => vec![Span::styled(format!("Connection #{conn}"), t.title())],
    };
    let area = title(body, buf, fit_spans(summary, body.width as usize));
    let Some((_, d)) = app.conn_detail.as_ref().filter(|(c, _)| *c == conn) else {
        return;
    };
    let span = timeline::span(&d.phases);
    let mut st = app.conn_scroll;
    st.clamp(conn_doc_len(d), area.height as usize);
    for r in 0..area.height {
        let i = st.offset + r as usize;
        let mut line = doc_line(d, row.as_ref(), i, area.width, t, span);
        line.spans = fit_spans(std::mem::take(&mut line.spans), area.width as usize);
        if i == st.selected {
            line = line.patch_style(
                ratatui::style::Style::new().add_modifier(ratatui::style::Modifier::BOLD),
            );
        }
        line.render(
            Rect {
                y: area.y + r,
                height: 1,
                ..area
            },
            buf,
        );
    }
}
