//! A connection's phases on a time axis: one line per phase with its offset from the
//! connection's first event, a bar placed proportionally, its duration and detail.

use ratatui::text::{Line, Span};

use super::super::flatten::esc;
use super::super::source::Phase;
use super::super::theme::Theme;
use super::fmt_dur;

/// Cells of the bar area.
pub const BAR_W: usize = 24;

/// Start column and length (≥ 1) of a phase's bar within `BAR_W` cells, given the span
/// `[t0, t0 + span]` of all phases.
pub fn bar(t0: f64, span: f64, ts: f64, dur: Option<f64>) -> (usize, usize) {
    let span = if span.is_finite() && span > 0.0 {
        span
    } else {
        1.0
    };
    let frac = |x: f64| {
        if x.is_finite() {
            (x / span).clamp(0.0, 1.0)
        } else {
            0.0
        }
    };
    let start = ((frac(ts - t0) * BAR_W as f64) as usize).min(BAR_W - 1);
    let len = ((frac(dur.unwrap_or(0.0)) * BAR_W as f64).round() as usize).clamp(1, BAR_W - start);
    (start, len)
}

/// The span covered by `phases`: first start and total length.
pub fn span(phases: &[Phase]) -> (f64, f64) {
    let t0 = phases
        .iter()
        .map(|p| p.ts_rel)
        .fold(f64::INFINITY, f64::min);
    let t1 = phases
        .iter()
        .map(|p| p.ts_rel + p.duration.unwrap_or(0.0))
        .fold(f64::NEG_INFINITY, f64::max);
    if t0.is_finite() && t1.is_finite() {
        (t0, (t1 - t0).max(0.0))
    } else {
        (0.0, 0.0)
    }
}

pub fn line(p: &Phase, t0: f64, span: f64, theme: &Theme) -> Line<'static> {
    let (start, len) = bar(t0, span, p.ts_rel, p.duration);
    let bar: String = (0..BAR_W)
        .map(|i| {
            if i >= start && i < start + len {
                '█'
            } else {
                '·'
            }
        })
        .collect();
    Line::from(vec![
        Span::styled(format!("{:<10}", esc(&p.label)), theme.header()),
        Span::styled(
            format!("{:>10} ", format!("+{}", fmt_dur(p.ts_rel - t0))),
            theme.dim(),
        ),
        Span::styled(bar, theme.ok()),
        Span::raw(format!(
            " {:>9}  ",
            p.duration.map(fmt_dur).unwrap_or_default()
        )),
        Span::raw(esc(&p.detail)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_proportional_and_bounded() {
        assert_eq!(bar(0.0, 1.0, 0.0, Some(0.5)), (0, 12));
        assert_eq!(bar(0.0, 1.0, 0.5, Some(0.25)), (12, 6));
        assert_eq!(
            bar(0.0, 1.0, 1.0, None),
            (23, 1),
            "last cell, at least one wide"
        );
        assert_eq!(
            bar(0.0, 1.0, 0.9, Some(10.0)),
            (21, 3),
            "clipped at the end"
        );
        assert_eq!(bar(0.0, 0.0, f64::NAN, Some(f64::INFINITY)), (0, 1));
        let phases = vec![
            Phase {
                label: "SYN".into(),
                ts_rel: 1.0,
                duration: Some(0.01),
                detail: String::new(),
            },
            Phase {
                label: "FIN".into(),
                ts_rel: 2.0,
                duration: Some(0.5),
                detail: "by \x1b[1m".into(),
            },
        ];
        assert_eq!(span(&phases), (1.0, 1.5));
        assert_eq!(span(&[]), (0.0, 0.0));
        let l = line(&phases[1], 1.0, 1.5, &Theme::new(true)).to_string();
        assert!(
            l.starts_with("FIN         +1.000 s ················████████"),
            "{l}"
        );
        assert!(l.ends_with("by \\x1b[1m"), "{l}");
    }
}
