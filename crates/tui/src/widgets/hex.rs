//! The hex + ASCII pane. Bytes of the selected field are highlighted, and the pane
//! scrolls so the field's first byte is on screen. Only visible lines are built.

use std::ops::Range;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::super::theme::Theme;

/// Bytes per line that fit `width` cells: offset (6) + 3 per byte + 1 + 1 per byte.
pub fn bytes_per_line(width: u16) -> usize {
    [16usize, 8, 4]
        .into_iter()
        .find(|&n| 6 + 4 * n + 2 <= width as usize)
        .unwrap_or(4)
}

/// First line shown: the line holding the highlight's start, one line of context above,
/// never scrolled past the end.
pub fn first_line(len: usize, bpl: usize, rows: usize, hl: Option<&Range<usize>>) -> usize {
    let total = len.div_ceil(bpl.max(1));
    let want = hl
        .map(|r| (r.start / bpl.max(1)).saturating_sub(1))
        .unwrap_or(0);
    want.min(total.saturating_sub(rows))
}

pub fn render(
    buf: &mut Buffer,
    area: Rect,
    title: &str,
    bytes: &[u8],
    hl: Option<Range<usize>>,
    theme: &Theme,
) {
    if area.height == 0 {
        return;
    }
    Line::styled(title.to_string(), theme.title()).render(Rect { height: 1, ..area }, buf);
    let rows = area.height.saturating_sub(1) as usize;
    let bpl = bytes_per_line(area.width);
    let first = first_line(bytes.len(), bpl, rows, hl.as_ref());
    let inside = |i: usize| hl.as_ref().is_some_and(|r| r.contains(&i));
    for (row, line_no) in (first..).take(rows).enumerate() {
        let start = line_no * bpl;
        if start >= bytes.len() {
            break;
        }
        let chunk = &bytes[start..(start + bpl).min(bytes.len())];
        let mut spans = vec![Span::styled(format!("{start:04x}  "), theme.dim())];
        for k in 0..bpl {
            let i = start + k;
            match chunk.get(k) {
                Some(b) => {
                    let st = if inside(i) {
                        theme.highlight()
                    } else {
                        Default::default()
                    };
                    spans.push(Span::styled(format!("{b:02x}"), st));
                    // The gap joins the highlight when the next byte is highlighted too.
                    let gap_st = if inside(i) && inside(i + 1) && k + 1 < chunk.len() {
                        st
                    } else {
                        Default::default()
                    };
                    spans.push(Span::styled(" ", gap_st));
                }
                None => spans.push(Span::raw("   ")),
            }
        }
        spans.push(Span::raw(" "));
        for (k, &b) in chunk.iter().enumerate() {
            let c = if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            };
            let st = if inside(start + k) {
                theme.highlight()
            } else {
                Default::default()
            };
            spans.push(Span::styled(c.to_string(), st));
        }
        let y = area.y + 1 + row as u16;
        Line::from(spans).render(
            Rect {
                y,
                height: 1,
                ..area
            },
            buf,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Modifier;

    use super::super::row_text as text;

    // Ethernet + IPv4 header start of fake frame; field = IPv4 source address 26..30.
    fn frame() -> Vec<u8> {
        let mut v = vec![0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00];
        v.extend_from_slice(&[
            0x45, 0, 0, 0x3c, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 2, 93, 184, 216, 34,
        ]);
        v.extend_from_slice(b"GET / HTTP/1.1\r\n");
        v
    }

    #[test]
    fn highlights_exactly_the_field_bytes() {
        let area = Rect::new(0, 0, 80, 5);
        let mut buf = Buffer::empty(area);
        render(
            &mut buf,
            area,
            "Bytes",
            &frame(),
            Some(26..30),
            &Theme::new(true),
        );
        assert_eq!(
            text(&buf, 1),
            "0000  02 00 00 00 00 01 02 00 00 00 00 02 08 00 45 00  ..............E."
        );
        assert_eq!(
            text(&buf, 2),
            "0010  00 3c 00 00 40 00 40 06 00 00 0a 00 00 02 5d b8  .<..@.@.......]."
        );
        let hl = |x: u16, y: u16| buf[(x, y)].modifier.contains(Modifier::REVERSED);
        // Line 0x10: bytes 26..30 are columns 10..14 of the line: "0a 00 00 02".
        let col = |k: u16| 6 + 3 * k;
        for k in 0..16u16 {
            let expect = (10..14).contains(&k);
            assert_eq!(hl(col(k), 2), expect, "hex byte {k}");
            assert_eq!(hl(6 + 48 + 1 + k, 2), expect, "ascii byte {k}");
        }
        assert!(hl(col(10) + 2, 2), "gap inside the field is highlighted");
        assert!(!hl(col(13) + 2, 2), "gap after the field is not");
        assert!(!(0..80).any(|x| hl(x, 1)));
    }

    #[test]
    fn scrolls_to_the_field_and_fits_narrow_widths() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(first_line(256, 16, 4, Some(&(200..202))), 11);
        assert_eq!(
            first_line(256, 16, 4, Some(&(250..256))),
            12,
            "never past the end"
        );
        assert_eq!(first_line(0, 16, 4, Some(&(5..6))), 0);
        let area = Rect::new(0, 0, 44, 3);
        let mut buf = Buffer::empty(area);
        render(
            &mut buf,
            area,
            "Bytes",
            &bytes,
            Some(200..202),
            &Theme::new(true),
        );
        assert_eq!(bytes_per_line(44), 8);
        assert_eq!(text(&buf, 1), "00c0  c0 c1 c2 c3 c4 c5 c6 c7  ........");
        let mut tiny = Buffer::empty(Rect::new(0, 0, 3, 1));
        render(
            &mut tiny,
            Rect::new(0, 0, 3, 1),
            "B",
            &bytes,
            Some(300..400),
            &Theme::new(false),
        );
    }

    /// zeek/web.pcap frame 6: Ethernet/IPv4/TCP + "GET / HTTP/1.0" from wget (164 bytes).
    const WEB_FRAME_6: &str = "00b0c286ec0000d0033bf400080045000096ca1d40003a0668ec8d2a407d7dbe6dc7dd9a00505a25214aa0c30f44801805b4203900000101080a69a8ec09175b9f5b474554202f20485454502f312e300d0a557365722d4167656e743a20576765742f312e31300d0a4163636570743a202a2f2a0d0a486f73743a207777772e696369722e6f72670d0a436f6e6e656374696f6e3a204b6565702d416c6976650d0a0d0a";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
            .collect()
    }

    #[test]
    fn real_frame_host_header_is_highlighted_across_lines() {
        let bytes = unhex(WEB_FRAME_6);
        assert_eq!(bytes.len(), 164);
        let host = 118..138; // "Host: www.icir.org\r\n", as tshark places it
        assert_eq!(&bytes[host.clone()], b"Host: www.icir.org\r\n");
        let area = Rect::new(0, 0, 80, 6);
        let mut buf = Buffer::empty(area);
        render(
            &mut buf,
            area,
            "Bytes",
            &bytes,
            Some(host),
            &Theme::new(true),
        );
        // Scrolled so line 0x70 (the field's first line) has one line of context above.
        assert_eq!(
            text(&buf, 1),
            "0060  65 74 2f 31 2e 31 30 0d 0a 41 63 63 65 70 74 3a  et/1.10..Accept:"
        );
        assert_eq!(
            text(&buf, 2),
            "0070  20 2a 2f 2a 0d 0a 48 6f 73 74 3a 20 77 77 77 2e   */*..Host: www."
        );
        let hl = |x: u16, y: u16| buf[(x, y)].modifier.contains(Modifier::REVERSED);
        let col = |k: u16| 6 + 3 * k;
        assert!(!hl(col(5), 2) && hl(col(6), 2) && hl(col(15), 2));
        assert!(hl(col(0), 3) && hl(col(9), 3) && !hl(col(10), 3));
        assert!(!(0..80).any(|x| hl(x, 1)));
    }

    #[test]
    fn every_prefix_and_any_range_render_without_panic() {
        let bytes = unhex(WEB_FRAME_6);
        let area = Rect::new(0, 0, 60, 5);
        for n in 0..=bytes.len() {
            for r in [0..0, 0..n, n..n + 10, 118..138, usize::MAX - 1..usize::MAX] {
                let mut buf = Buffer::empty(area);
                render(
                    &mut buf,
                    area,
                    "Bytes",
                    &bytes[..n],
                    Some(r),
                    &Theme::new(false),
                );
            }
        }
    }
}
