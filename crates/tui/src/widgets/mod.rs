//! Reusable drawing pieces. Each renders into a `Buffer` and is tested against one.

pub mod filterbar;
pub mod hex;
pub mod ladder;
pub mod timeline;
pub mod tree;
pub mod vtable;

/// Formats seconds the way the tables show durations: µs, ms or s.
pub fn fmt_dur(s: f64) -> String {
    if !s.is_finite() {
        return "-".into();
    }
    let a = s.abs();
    if a < 1e-3 {
        format!("{:.0} µs", s * 1e6)
    } else if a < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.3} s")
    }
}

/// Byte counts in B / kB / MB (decimal, as network tools print them).
pub fn fmt_bytes(n: u64) -> String {
    if n < 10_000 {
        format!("{n} B")
    } else if n < 10_000_000 {
        format!("{:.1} kB", n as f64 / 1e3)
    } else {
        format!("{:.1} MB", n as f64 / 1e6)
    }
}

/// Row `y` of a rendered buffer as text, trailing blanks cut (the widgets' tests).
#[cfg(test)]
fn row_text(buf: &ratatui::buffer::Buffer, y: u16) -> String {
    (0..buf.area.width)
        .map(|x| buf[(x, y)].symbol())
        .collect::<String>()
        .trim_end()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(fmt_dur(0.000_250), "250 µs");
        assert_eq!(fmt_dur(0.0123), "12.3 ms");
        assert_eq!(fmt_dur(2.5), "2.500 s");
        assert_eq!(fmt_dur(f64::NAN), "-");
        assert_eq!(fmt_bytes(999), "999 B");
        assert_eq!(fmt_bytes(188_123), "188.1 kB");
        assert_eq!(fmt_bytes(12_000_000), "12.0 MB");
    }
}
