//! Making bytes from the wire safe to print.
//!
//! Every string that came off the wire (hostnames, URIs, headers, payload text, pcapng
//! comments) is untrusted: a control character or an ANSI escape sequence printed raw
//! could act on the user's terminal, and a bidirectional override could make text lie
//! about its order. These helpers are the one place that decides what is shown.

use std::fmt::Write;

/// Escapes bytes for a terminal: printable ASCII stays, valid UTF-8 text that is not a
/// control or bidi/format character stays, everything else becomes `\xNN` (bytes) or
/// `\u{NNNN}` (characters); `\` itself becomes `\\`, and `\n`, `\r`, `\t` their escapes.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    push_escaped_bytes(&mut out, bytes);
    out
}

/// Appends the escaped form of `bytes` (see [`escape_bytes`]) to `out`.
pub fn push_escaped_bytes(out: &mut String, bytes: &[u8]) {
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                push_escaped_str(out, s);
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                // `good` is valid UTF-8 by construction.
                push_escaped_str(out, std::str::from_utf8(good).unwrap_or_default());
                let n = e.error_len().unwrap_or(bad.len()).max(1);
                for b in &bad[..n] {
                    let _ = write!(out, "\\x{b:02x}");
                }
                rest = &bad[n..];
            }
        }
    }
}

/// Escapes a string for a terminal (see [`escape_bytes`]).
pub fn escape_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_escaped_str(&mut out, s);
    out
}

/// [`escape_str`] of a string built by the caller: the same string back, without a
/// copy, when nothing in it needs escaping (nearly always: the story escapes ~1.3 M
/// lines on a capture of many short connections).
pub fn escape_owned(s: String) -> String {
    if is_safe(&s) {
        s
    } else {
        escape_str(&s)
    }
}

/// Escapes, in place, what `out` holds from byte `from` on (a line built piece by
/// piece whose tail came off the wire): as if that tail had been [`escape_str`]ed
/// before it was appended.
pub fn escape_tail(out: &mut String, from: usize) {
    let Some(tail) = out.get(from..) else {
        return;
    };
    if is_safe(tail) {
        return;
    }
    let escaped = escape_str(tail);
    out.truncate(from);
    out.push_str(&escaped);
}

fn push_escaped_str(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_ascii() && (c as u32) < 0x20 || c == '\x7f' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// True for characters that must never reach a terminal raw: C0/C1 controls and the
/// Unicode format characters that reorder or hide text (bidi overrides and isolates,
/// zero-width characters, the BOM).
pub fn is_unsafe_char(c: char) -> bool {
    let u = c as u32;
    c.is_control()
        || (0x200b..=0x200f).contains(&u)
        || (0x202a..=0x202e).contains(&u)
        || (0x2066..=0x2069).contains(&u)
        || u == 0xfeff
        || u == 0x061c
}

/// True when printing `s` raw would be safe (no escaping needed).
pub fn is_safe(s: &str) -> bool {
    !s.contains('\\') && !has_unsafe_char(s)
}

/// Whether `s` holds a character [`is_unsafe_char`] names: a control (C0, DEL, C1) or a
/// format character that reorders or hides text (U+061C, U+200B-U+200F, U+202A-U+202E,
/// U+2066-U+2069, U+FEFF). Checked on the UTF-8 bytes, without decoding: nearly every
/// string needs no escape, and decoding and classifying each character was 4 % of the
/// instructions of `story` on a capture of many short connections. A lead byte is never
/// a continuation byte, so each character is matched where it starts.
pub fn has_unsafe_char(s: &str) -> bool {
    let b = s.as_bytes();
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    b.iter().enumerate().any(|(i, &c)| match c {
        0x00..=0x1f | 0x7f => true,
        // U+0080-U+009F
        0xc2 => matches!(at(i + 1), 0x80..=0x9f),
        // U+061C
        0xd8 => at(i + 1) == 0x9c,
        // U+200B-U+200F, U+202A-U+202E; U+2066-U+2069
        0xe2 => match at(i + 1) {
            0x80 => matches!(at(i + 2), 0x8b..=0x8f | 0xaa..=0xae),
            0x81 => matches!(at(i + 2), 0xa6..=0xa9),
            _ => false,
        },
        // U+FEFF
        0xef => at(i + 1) == 0xbb && at(i + 2) == 0xbf,
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check on bytes agrees with the characters' classification for every
    /// character, alone and within a line.
    #[test]
    fn unsafe_chars_are_found_on_the_bytes() {
        for c in (0..=0x10ffffu32).filter_map(char::from_u32) {
            for s in [c.to_string(), format!("#1 a → {c}b ──")] {
                assert_eq!(
                    has_unsafe_char(&s),
                    s.chars().any(is_unsafe_char),
                    "{:x}",
                    c as u32
                );
            }
        }
        assert!(!has_unsafe_char(
            "── story 1: request GET http://m.test/t/8  (client 198.18.1.9)"
        ));
    }

    #[test]
    fn escapes_ansi_and_controls() {
        assert_eq!(escape_bytes(b"a\x1b[31mred"), "a\\x1b[31mred");
        assert_eq!(escape_bytes(b"x\r\ny\t\\"), "x\\r\\ny\\t\\\\");
        assert_eq!(escape_bytes(b"\xff\xfeok"), "\\xff\\xfeok");
        assert_eq!(escape_str("caf\u{e9}"), "caf\u{e9}");
        assert_eq!(escape_str("a\u{202e}b"), "a\\u{202e}b");
        assert_eq!(escape_str("\u{9b}"), "\\u{009b}");
        assert!(is_safe("www.example.com"));
        assert!(!is_safe("a\u{2066}"));
    }

    /// The in-place and no-copy forms escape exactly as `escape_str` does.
    #[test]
    fn owned_and_tail_forms_escape_as_escape_str() {
        for s in [
            "plain.example",
            "a\\b",
            "x\u{1b}[1m",
            "caf\u{e9}\u{202e}",
            "",
        ] {
            assert_eq!(escape_owned(s.to_string()), escape_str(s));
            let mut line = String::from("kept \\ ");
            line.push_str(s);
            escape_tail(&mut line, 7);
            assert_eq!(line, format!("kept \\ {}", escape_str(s)));
        }
    }
}
