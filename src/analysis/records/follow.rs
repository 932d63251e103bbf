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
