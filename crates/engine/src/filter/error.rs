//! Filter errors that point at the offending characters, as tshark does.

use std::fmt;
use std::ops::Range;

use crate::base::escape::is_unsafe_char;

/// Why a filter was rejected, where (byte span in the input), and a suggested fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FilterError {
    /// What is wrong, in tshark's words where tshark has a message.
    pub message: String,
    /// Byte range of the offending text in the filter string.
    pub span: Range<usize>,
    /// The nearest valid field name, when the problem is an unknown name.
    pub suggestion: Option<String>,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(s) = &self.suggestion {
            write!(f, " (did you mean \"{s}\"?)")?;
        }
        Ok(())
    }
}

impl FilterError {
    pub(crate) fn new(message: String, span: Range<usize>) -> Self {
        FilterError {
            message,
            span,
            suggestion: None,
        }
    }

    /// The three-line form: the input, a caret under the offending text (`^~~~`), and
    /// the message. Columns count characters; control and bidi characters in the input
    /// are shown as `?` so the caret still lines up and the terminal is safe.
    pub fn render(&self, input: &str) -> String {
        let mut line = String::with_capacity(input.len());
        let (mut col, mut width) = (0usize, 0usize);
        for (i, c) in input.char_indices() {
            if i < self.span.start {
                col += 1;
            } else if i < self.span.end {
                width += 1;
            }
            line.push(if is_unsafe_char(c) || c.is_control() {
                '?'
            } else {
                c
            });
        }
        if self.span.start >= input.len() {
            col = input.chars().count();
        }
        let mut caret = " ".repeat(col);
        caret.push('^');
        caret.push_str(&"~".repeat(width.saturating_sub(1)));
        format!("{line}\n{caret}\n{self}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_three_lines() {
        let e = FilterError {
            message: "\"ip.adr\" is not a valid protocol or protocol field".into(),
            span: 0..6,
            suggestion: Some("ip.addr".into()),
        };
        assert_eq!(
            e.render("ip.adr == 1.2.3.4"),
            "ip.adr == 1.2.3.4\n^~~~~~\n\"ip.adr\" is not a valid protocol or protocol field (did you mean \"ip.addr\"?)"
        );
        let e = FilterError::new("unexpected end of filter".into(), 5..5);
        assert_eq!(e.render("tcp &"), "tcp &\n     ^\nunexpected end of filter");
        let e = FilterError::new("x".into(), 5..6);
        assert_eq!(e.render("é\u{1b}é\tb"), "é?é?b\n   ^\nx");
    }
}
