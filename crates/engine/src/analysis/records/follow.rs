//! The follow turn record (`follow --json`).

use schemars::JsonSchema;
use serde::Serialize;

use crate::analysis::Turn;
use crate::base::escape;

/// One turn of a conversation: bytes one side sent, or bytes missing from the capture.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
#[schemars(
    title = "follow turn",
    description = "One turn of a conversation: a line of `wiretale follow --json`."
)]
pub enum TurnJson {
    Data {
        /// `client` or `server`: who sent the bytes.
        #[schemars(extend("enum" = ["client", "server"]))]
        dir: &'static str,
        /// The packet that delivered the turn's first bytes.
        frame: u64,
        /// Bytes in the turn.
        len: usize,
        /// Every byte of the turn, escaped once: `\\` for a backslash, `\xNN` for a
        /// byte that is not UTF-8 or another control character (a lone CR included),
        /// `\u{NNNN}` for a bidi or invisible format character.
        text: String,
        ts: f64,
    },
    /// `gap` bytes that `dir` sent were not captured.
    Gap {
        #[schemars(extend("enum" = ["client", "server"]))]
        dir: &'static str,
        gap: u64,
    },
    /// One HTTP/2 frame (decrypted from TLS, or cleartext h2c), with its decoded headers.
    H2Frame {
        #[schemars(extend("enum" = ["client", "server"]))]
        dir: &'static str,
        /// The defined flags that are set, space-separated (`END_STREAM END_HEADERS`).
        flags: String,
        /// The packet that completed the frame.
        frame: u64,
        /// Decoded header fields `[name, value]` in order (HEADERS/CONTINUATION/
        /// PUSH_PROMISE that ended a block), escaped as `text` is.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        headers: Vec<[String; 2]>,
        /// Payload length from the frame header.
        len: u32,
        stream: u32,
        /// DATA: the payload without padding, escaped as a turn's `text`.
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        ts: f64,
        /// `HEADERS`, `DATA`, `SETTINGS`, … (RFC 9113 §6).
        #[serde(rename = "type")]
        kind: &'static str,
    },
    /// What `follow` says about a TLS conversation besides its plaintext: handshake
    /// messages, records not decrypted, alerts, gaps, records that failed to decrypt.
    Note {
        #[schemars(extend("enum" = ["client", "server"]))]
        dir: &'static str,
        frame: u64,
        note: String,
        ts: f64,
    },
}

impl TurnJson {
    pub fn new(t: &Turn) -> Self {
        match t {
            Turn::Data {
                dir,
                first_pkt,
                ts,
                bytes,
            } => TurnJson::Data {
                dir: dir.sender(),
                frame: first_pkt.frame_number(),
                len: bytes.len(),
                text: json_text(bytes),
                ts: ts.as_secs_f64(),
            },
            Turn::Gap { dir, len } => TurnJson::Gap {
                dir: dir.sender(),
                gap: *len,
            },
        }
    }
}

/// The bytes of a turn as one JSON string, escaped once: text stays text (JSON itself
/// writes `\r\n` and `\t`), and only what JSON would pass through to a terminal raw or
/// could not carry is written in the reversible notation of [`crate::base::wire_text`]:
/// `\\` for a backslash, `\xNN` for a byte that is not UTF-8 or another control
/// character (a lone CR included), `\u{NNNN}` for a bidi or invisible format character.
pub fn json_text(bytes: &[u8]) -> String {
    let text = crate::base::wire_text(bytes);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' => out.push(c),
            '\r' if chars.peek() == Some(&'\n') => out.push(c),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if escape::is_unsafe_char(c) => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented inverse of [`json_text`].
    fn unescape(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let mut it = s.chars().peekable();
        while let Some(c) = it.next() {
            if c != '\\' {
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                continue;
            }
            match it.next() {
                Some('\\') => out.push(b'\\'),
                Some('x') => {
                    let h: String = it.by_ref().take(2).collect();
                    out.push(u8::from_str_radix(&h, 16).unwrap());
                }
                Some('u') => {
                    let h: String = it.by_ref().skip(1).take_while(|&c| c != '}').collect();
                    let c = char::from_u32(u32::from_str_radix(&h, 16).unwrap()).unwrap();
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                }
                other => panic!("stray escape {other:?}"),
            }
        }
        out
    }

    #[test]
    fn json_text_is_escaped_once_and_reversible() {
        let http = b"GET / HTTP/1.1\r\nHost: a\tb\r\n\r\n";
        let t = json_text(http);
        assert_eq!(
            t.as_bytes(),
            http,
            "text stays text: JSON writes \\r\\n itself"
        );
        let turn = TurnJson::Data {
            dir: "client",
            frame: 1,
            len: http.len(),
            text: t.clone(),
            ts: 0.5,
        };
        let line = serde_json::to_string(&turn).unwrap();
        assert_eq!(
            line,
            r#"{"dir":"client","frame":1,"len":29,"text":"GET / HTTP/1.1\r\nHost: a\tb\r\n\r\n","ts":0.5}"#
        );
        let hostile = b"a\\b\x1b[2Jc\rd\xff\xfe\xe2\x80\xaee\x85\n";
        let t = json_text(hostile);
        assert_eq!(t, "a\\\\b\\x1b[2Jc\\x0dd\\xff\\xfe\\u{202e}e\\x85\n");
        assert!(!t.chars().any(|c| c.is_control() && c != '\n'));
        assert_eq!(unescape(&t), hostile);
    }

    proptest::proptest! {
        #[test]
        fn json_text_round_trips(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let t = json_text(&b);
            proptest::prop_assert_eq!(unescape(&t), b);
            proptest::prop_assert!(!t.chars().any(|c| escape::is_unsafe_char(c)
                && !matches!(c, '\n' | '\t' | '\r')));
        }
    }
}
