//! The ladder diagram of one connection, like Wireshark's flow graph: client lane on
//! the left, server on the right, one arrow per packet labelled with flags, relative
//! seq/ack and payload length, TCP analysis after the right edge. A QUIC datagram's
//! arrow instead carries its packets in one column per packet number space (Initial,
//! Handshake, Application), so reading down a column follows one space.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::super::source::{Arrow, QuicArrow};
use super::super::theme::Theme;

/// Width of the time column ("  12.345678") plus one space.
pub const TIME_W: usize = 12;

/// Width of the lane between the two vertical bars (inclusive of the bars).
pub fn lane_width(width: u16) -> usize {
    (width as usize).saturating_sub(TIME_W + 24).clamp(24, 72)
}

/// The header line: who is on which side.
pub fn header(client: &str, server: &str, width: u16, theme: &Theme) -> Line<'static> {
    let lane = lane_width(width);
    let left = format!("{:>w$} {}", "time", client, w = TIME_W - 1);
    let pad = (TIME_W + lane)
        .saturating_sub(left.chars().count() + server.chars().count())
        .max(1);
    Line::from(vec![
        Span::styled(left, theme.client()),
        Span::raw(" ".repeat(pad)),
        Span::styled(server.to_string(), theme.server()),
    ])
}

/// One arrow: `│──── SYN seq=0 ack=0 len=0 ───>│` (client → server) or
/// `│<─── ... ────│` (server → client).
pub fn line(a: &Arrow, width: u16, theme: &Theme) -> Line<'static> {
    let lane = lane_width(width);
    let inner = lane - 2; // between the bars
    let body = match &a.quic {
        Some(q) => quic_body(q, inner, a.c2s),
        None => {
            let mut label = match a.tcp {
                Some((seq, ack)) => format!(" {} seq={seq} ack={ack} len={} ", a.flags, a.len),
                None => format!(" {} len={} ", a.flags, a.len),
            };
            let room = inner.saturating_sub(4);
            if label.chars().count() > room {
                label = label.chars().take(room).collect();
            }
            let dashes = inner - 1 - label.chars().count();
            let left = dashes / 2;
            let right = dashes - left;
            if a.c2s {
                format!("{}{}{}>", "─".repeat(left), label, "─".repeat(right))
            } else {
                format!("<{}{}{}", "─".repeat(left), label, "─".repeat(right))
            }
        }
    };
    let style = if !a.analysis.is_empty() {
        theme.anomaly()
    } else if a.c2s {
        theme.client()
    } else {
        theme.server()
    };
    let mut spans = vec![
        Span::styled(format!("{:>w$.6} ", a.ts_rel, w = TIME_W - 1), theme.dim()),
        Span::raw("│"),
        Span::styled(body, style),
        Span::raw("│"),
    ];
    if !a.analysis.is_empty() {
        spans.push(Span::styled(
            format!(" [{}]", a.analysis.join(", ")),
            theme.anomaly(),
        ));
    }
    // A frame number, not `#N`: `#N` is a connection id everywhere (story, conns, TUI).
    spans.push(Span::styled(format!(" frame {}", a.number), theme.dim()));
    let _ = Style::new();
    Line::from(spans)
}

/// The lane of a QUIC datagram, `inner` cells: the arrowhead, the three number space
/// columns at fixed places (each cut to its width), the datagram's length before the
/// far end.
fn quic_body(q: &QuicArrow, inner: usize, c2s: bool) -> String {
    let mut cells = vec!['─'; inner];
    let len = format!(" len={} ", q.len);
    // Room for the longest UDP payload's " len=65535", so columns do not move with it
    // (at 80 columns each is then just wide enough for " Handshake").
    let col_w = inner.saturating_sub(2 + " len=65535".len()) / 3;
    let mut put = |at: usize, text: &str, room: usize| {
        for (k, ch) in text.chars().take(room).enumerate() {
            if let Some(c) = cells.get_mut(at + k) {
                *c = ch;
            }
        }
    };
    for (i, t) in q.spaces.iter().enumerate() {
        if !t.is_empty() {
            put(1 + i * col_w, &format!(" {t} "), col_w);
        }
    }
    put(1 + 3 * col_w, &len, inner.saturating_sub(2 + 3 * col_w));
    let head = if c2s { inner.saturating_sub(1) } else { 0 };
    if let Some(c) = cells.get_mut(head) {
        *c = if c2s { '>' } else { '<' };
    }
    cells.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use ratatui::widgets::Widget;

    fn arrow(c2s: bool, flags: &str, seq: u32, len: u32, analysis: Vec<&'static str>) -> Arrow {
        Arrow {
            number: 3,
            ts_rel: 0.0125,
            c2s,
            flags: flags.into(),
            tcp: Some((seq, 1)),
            len,
            analysis,
            quic: None,
        }
    }

    #[test]
    fn bars_line_up_and_arrows_point_the_right_way() {
        for width in [80u16, 120, 200, 30] {
            let area = Rect::new(0, 0, width, 3);
            let mut buf = Buffer::empty(area);
            let t = Theme::new(true);
            line(&arrow(true, "SYN", 0, 0, vec![]), width, &t)
                .render(Rect::new(0, 0, width, 1), &mut buf);
            line(&arrow(false, "SYN, ACK", 0, 0, vec![]), width, &t)
                .render(Rect::new(0, 1, width, 1), &mut buf);
            line(
                &arrow(
                    false,
                    "PSH, ACK",
                    4_000_000_000,
                    1448,
                    vec!["tcp_retransmission"],
                ),
                width,
                &t,
            )
            .render(Rect::new(0, 2, width, 1), &mut buf);
            let lane = lane_width(width) as u16;
            let (l, r) = (TIME_W as u16, TIME_W as u16 + lane - 1);
            for y in 0..3 {
                if r < width {
                    assert_eq!(buf[(l, y)].symbol(), "│", "left bar, width {width} row {y}");
                    assert_eq!(
                        buf[(r, y)].symbol(),
                        "│",
                        "right bar, width {width} row {y}"
                    );
                }
            }
            if r < width {
                assert_eq!(buf[(r - 1, 0)].symbol(), ">");
                assert_eq!(buf[(l + 1, 1)].symbol(), "<");
            }
        }
        let l = line(&arrow(true, "SYN", 0, 0, vec![]), 120, &Theme::new(true)).to_string();
        assert!(l.contains(" SYN seq=0 ack=1 len=0 "), "{l}");
        assert!(l.starts_with("   0.012500 │"), "{l}");
        let l = line(
            &arrow(false, "PSH", 1, 1448, vec!["tcp_retransmission"]),
            120,
            &Theme::new(true),
        )
        .to_string();
        assert!(l.contains("│ [tcp_retransmission] frame 3"), "{l}");
        // UDP has no sequence numbers: the arrow says only its length.
        let udp = Arrow {
            tcp: None,
            ..arrow(true, "UDP", 0, 38, vec![])
        };
        let l = line(&udp, 120, &Theme::new(true)).to_string();
        assert!(l.contains(" UDP len=38 ") && !l.contains("seq="), "{l}");
    }

    /// QUIC arrows keep the lane's bars, point the right way, and put each number
    /// space's packets in the same column whichever way they go.
    #[test]
    fn quic_arrows_have_one_column_per_number_space() {
        let t = Theme::new(true);
        let q = |c2s: bool, spaces: [&str; 3], len: u32| Arrow {
            quic: Some(QuicArrow {
                spaces: spaces.map(str::to_string),
                len,
            }),
            ..arrow(c2s, "UDP", 0, len, vec![])
        };
        for width in [80u16, 120, 200, 30] {
            let lines: Vec<String> = [
                q(true, ["Initial", "", ""], 1200),
                q(false, ["Initial", "Handshake", ""], 1200),
                q(false, ["", "Handshake", "1-RTT"], 199),
                q(true, ["", "", "1-RTT"], 67),
            ]
            .iter()
            .map(|a| line(a, width, &t).to_string())
            .collect();
            let lane = lane_width(width);
            let col = |l: &str, needle: &str| {
                l.find(needle)
                    .map(|b| l.get(..b).map_or(0, |p| p.chars().count()))
            };
            for l in &lines {
                let chars: Vec<char> = l.chars().collect();
                assert_eq!(chars.get(TIME_W), Some(&'│'), "{l}");
                assert_eq!(chars.get(TIME_W + lane - 1), Some(&'│'), "{l}");
            }
            let c: Vec<char> = lines[0].chars().collect();
            assert_eq!(c.get(TIME_W + lane - 2), Some(&'>'), "{}", lines[0]);
            let c: Vec<char> = lines[1].chars().collect();
            assert_eq!(c.get(TIME_W + 1), Some(&'<'), "{}", lines[1]);
            if width >= 80 {
                assert_eq!(col(&lines[0], "Initial"), col(&lines[1], "Initial"));
                assert_eq!(col(&lines[1], "Handshake"), col(&lines[2], "Handshake"));
                assert_eq!(col(&lines[2], "1-RTT"), col(&lines[3], "1-RTT"));
                assert!(col(&lines[1], "Initial") < col(&lines[1], "Handshake"));
                assert!(col(&lines[2], "Handshake") < col(&lines[2], "1-RTT"));
                assert!(lines[3].contains(" len=67 "), "{}", lines[3]);
            }
        }
    }
}
