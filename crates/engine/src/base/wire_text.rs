//! Text fields decoded from wire bytes (HTTP heads, TLS SNI and ALPN) as strings from
//! which the original bytes can be recovered.
//!
//! `String::from_utf8_lossy` would turn every invalid byte into U+FFFD, losing what was
//! sent (and making two different hostile values look the same). Here valid UTF-8 is
//! kept as is, every invalid byte becomes `\xNN`, and `\` itself becomes `\\`, so the
//! mapping is reversible: `\\` → `\`, `\xNN` → byte NN. Printers add their own escapes
//! for controls and bidi characters ([`super::escape`]) in the same notation.

use std::borrow::Cow;
use std::fmt::Write;

/// The reversible text form of `b` (see the module docs); borrowed when `b` is valid
/// UTF-8 without backslashes, the common case.
pub fn wire_text(b: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(b) {
        if !s.contains('\\') {
            return Cow::Borrowed(s);
        }
    }
    let mut out = String::with_capacity(b.len() + 8);
    let mut rest = b;
    while !rest.is_empty() {
        let (good, bad) = match std::str::from_utf8(rest) {
            Ok(s) => (s, &rest[rest.len()..]),
            Err(e) => {
                let (g, bad) = rest.split_at(e.valid_up_to());
                (std::str::from_utf8(g).unwrap_or_default(), bad)
            }
        };
        for c in good.chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        let Some((&byte, after)) = bad.split_first() else {
            break;
        };
        let _ = write!(out, "\\x{byte:02x}");
        rest = after;
    }
    Cow::Owned(out)
}

/// Owned [`wire_text`].
pub fn wire_string(b: &[u8]) -> String {
    wire_text(b).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The documented inverse.
    fn unescape(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'\\' && b.get(i + 1) == Some(&b'\\') {
                out.push(b'\\');
                i += 2;
            } else if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') {
                let hex = std::str::from_utf8(&b[i + 2..i + 4]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 4;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        out
    }

    #[test]
    fn valid_text_is_borrowed_and_invalid_bytes_are_escaped() {
        assert!(matches!(wire_text(b"www.example.com"), Cow::Borrowed(_)));
        assert_eq!(wire_text(b"p\xffath"), "p\\xffath");
        assert_eq!(wire_text(b"a\\xff"), "a\\\\xff");
        assert_eq!(wire_text("\u{202e}x".as_bytes()), "\u{202e}x");
        assert_eq!(wire_text(b"\xe2\x80"), "\\xe2\\x80");
    }

    proptest! {
        #[test]
        fn reversible_and_always_utf8(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let s = wire_text(&b);
            prop_assert_eq!(unescape(&s), b);
        }
    }
}
