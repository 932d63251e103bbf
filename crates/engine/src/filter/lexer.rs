//! Tokens of the display-filter language, recognised with nom 8 over `&str`.
//!
//! The lexer is context free: every unquoted run of name/literal characters is a
//! [`Tok::Word`] (field names, keywords such as `and`/`contains`, numbers, addresses,
//! MACs, CIDR); the parser decides what a word means from where it stands. Each token
//! carries its byte span in the input so errors can point at it.

use std::ops::Range;

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while1};
use nom::combinator::value;
use nom::{IResult, Parser};

use super::error::FilterError;

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok<'a> {
    /// Unquoted name or literal: `[A-Za-z0-9_.:/-]+`, never containing `..`.
    Word(&'a str),
    /// Double-quoted string, escapes decoded (raw strings `r"..."` keep backslashes).
    Str(Vec<u8>),
    /// C-style character constant (`'a'`, `'\n'`, `'\x41'`): an integer literal.
    Char(u8),
    /// `==` `!=` `===` `!==` `~=` `<` `<=` `>` `>=`.
    Sym(&'static str),
    /// `&&`
    AndAnd,
    /// `||`
    OrOr,
    /// `!` (not followed by `=`)
    Bang,
    /// `&` (bitwise and)
    Amp,
    /// `~` (matches)
    Tilde,
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    /// `..` in set ranges
    DotDot,
}

/// A token and its byte span.
#[derive(Debug, Clone, PartialEq)]
pub struct Token<'a> {
    pub tok: Tok<'a>,
    pub span: Range<usize>,
}

/// Longest inputs accepted; a filter is typed by a person, this only bounds work.
pub const MAX_INPUT: usize = 64 * 1024;

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '-')
}

fn symbol(i: &str) -> IResult<&str, Tok<'_>> {
    alt((
        value(Tok::Sym("==="), tag("===")),
        value(Tok::Sym("!=="), tag("!==")),
        value(Tok::Sym("=="), tag("==")),
        value(Tok::Sym("!="), tag("!=")),
        value(Tok::Sym("~="), tag("~=")),
        value(Tok::Sym("<="), tag("<=")),
        value(Tok::Sym(">="), tag(">=")),
        value(Tok::Sym("<"), tag("<")),
        value(Tok::Sym(">"), tag(">")),
        value(Tok::AndAnd, tag("&&")),
        value(Tok::OrOr, tag("||")),
        value(Tok::Bang, tag("!")),
        value(Tok::Amp, tag("&")),
        value(Tok::Tilde, tag("~")),
        value(Tok::DotDot, tag("..")),
        alt((
            value(Tok::LParen, tag("(")),
            value(Tok::RParen, tag(")")),
            value(Tok::LBrace, tag("{")),
            value(Tok::RBrace, tag("}")),
            value(Tok::Comma, tag(",")),
        )),
    ))
    .parse(i)
}

/// A word, cut before any `..` so `1..10` lexes as `1`, `..`, `10`.
fn word(i: &str) -> IResult<&str, Tok<'_>> {
    let (_, w) = take_while1(is_word_char).parse(i)?;
    let w = match w.find("..") {
        Some(0) => {
            return Err(nom::Err::Error(nom::error::Error::new(
                i,
                nom::error::ErrorKind::Tag,
            )))
        }
        Some(n) => &w[..n],
        None => w,
    };
    Ok((&i[w.len()..], Tok::Word(w)))
}

/// Split `input` into tokens.
pub fn tokenize(input: &str) -> Result<Vec<Token<'_>>, FilterError> {
    if input.len() > MAX_INPUT {
        return Err(FilterError::new(
            format!("filter is longer than {MAX_INPUT} bytes"),
            MAX_INPUT..input.len(),
        ));
    }
    let mut out = Vec::new();
    let mut rest = input;
    loop {
        rest = rest.trim_start();
        let start = input.len() - rest.len();
        if rest.is_empty() {
            return Ok(out);
        }
        let (next, tok) =
            if rest.starts_with('"') || rest.starts_with("r\"") || rest.starts_with('\'') {
                string(rest, start)?
            } else if let Ok(r) = alt((word, symbol)).parse(rest) {
                r
            } else {
                let c = rest.chars().next().map_or(1, char::len_utf8);
                return Err(FilterError::new(
                    format!("\"{}\" was unexpected in this context", &rest[..c]),
                    start..start + c,
                ));
            };
        let end = input.len() - next.len();
        out.push(Token {
            tok,
            span: start..end,
        });
        rest = next;
    }
}

/// A quoted string starting at `i` (which begins with `"`, `r"` or, for a character
/// constant, `'`). Escapes follow wireshark-filter(4):
/// `\" \' \\ \a \b \f \n \r \t \v \NNN \xNN \uNNNN \UNNNNNNNN`.
fn string(i: &str, at: usize) -> Result<(&str, Tok<'_>), FilterError> {
    let raw = i.starts_with('r');
    let quote = if i.starts_with('\'') { b'\'' } else { b'"' };
    let body_start = if raw { 2 } else { 1 };
    let bytes = i.as_bytes();
    let mut out = Vec::new();
    let mut k = body_start;
    let err = |msg: &str, a: usize, b: usize| FilterError::new(msg.to_string(), at + a..at + b);
    loop {
        let Some(&b) = bytes.get(k) else {
            return Err(err(
                "the string is not terminated (missing closing quote)",
                0,
                1,
            ));
        };
        match b {
            b'"' | b'\'' if b == quote => {
                if quote == b'"' {
                    return Ok((&i[k + 1..], Tok::Str(out)));
                }
                return match out.as_slice() {
                    [c] => Ok((&i[k + 1..], Tok::Char(*c))),
                    _ => Err(err("a character constant holds exactly one byte", 0, k + 1)),
                };
            }
            b'\\' if raw => {
                // Raw strings keep backslashes; `\"` still does not end the string.
                out.push(b'\\');
                if let Some(&n) = bytes.get(k + 1) {
                    out.push(n);
                    k += 2;
                } else {
                    k += 1;
                }
            }
            b'\\' => {
                let Some(&e) = bytes.get(k + 1) else {
                    return Err(err(
                        "the string is not terminated (missing closing quote)",
                        0,
                        1,
                    ));
                };
                let simple = match e {
                    b'"' => Some(b'"'),
                    b'\\' => Some(b'\\'),
                    b'\'' => Some(b'\''),
                    b'a' => Some(7),
                    b'b' => Some(8),
                    b'f' => Some(12),
                    b'n' => Some(b'\n'),
                    b'r' => Some(b'\r'),
                    b't' => Some(b'\t'),
                    b'v' => Some(11),
                    _ => None,
                };
                if let Some(s) = simple {
                    out.push(s);
                    k += 2;
                    continue;
                }
                let (digits, radix, len) = match e {
                    b'0'..=b'7' => (k + 1, 8, 3),
                    b'x' => (k + 2, 16, 2),
                    b'u' => (k + 2, 16, 4),
                    b'U' => (k + 2, 16, 8),
                    _ => {
                        return Err(err(
                            "invalid escape sequence",
                            k,
                            ceil_char_boundary(i, k + 2),
                        ))
                    }
                };
                let text = bytes
                    .get(digits..digits + len)
                    .and_then(|d| std::str::from_utf8(d).ok())
                    .filter(|d| d.chars().all(|c| c.is_digit(radix)));
                let Some(text) = text else {
                    return Err(err(
                        "invalid escape sequence",
                        k,
                        ceil_char_boundary(i, digits + len),
                    ));
                };
                let v = u32::from_str_radix(text, radix).unwrap_or(u32::MAX);
                if matches!(e, b'u' | b'U') {
                    let Some(c) = char::from_u32(v) else {
                        return Err(err("invalid Unicode code point", k, digits + len));
                    };
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                } else if let Ok(byte) = u8::try_from(v) {
                    out.push(byte);
                } else {
                    return Err(err("octal escape is larger than a byte", k, digits + len));
                }
                k = digits + len;
            }
            _ => {
                out.push(b);
                k += 1;
            }
        }
    }
}

/// The smallest char boundary of `s` at or after `n` (so error spans can slice `s`).
fn ceil_char_boundary(s: &str, n: usize) -> usize {
    (n..s.len())
        .find(|&k| s.is_char_boundary(k))
        .unwrap_or(s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok<'_>> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn words_symbols_and_spans() {
        let t = tokenize("ip.addr==10.0.0.0/8&&!tcp").unwrap();
        let spans: Vec<_> = t.iter().map(|t| t.span.clone()).collect();
        assert_eq!(spans, vec![0..7, 7..9, 9..19, 19..21, 21..22, 22..25]);
        assert_eq!(
            toks("a !== b ~= c ~ d"),
            vec![
                Tok::Word("a"),
                Tok::Sym("!=="),
                Tok::Word("b"),
                Tok::Sym("~="),
                Tok::Word("c"),
                Tok::Tilde,
                Tok::Word("d")
            ]
        );
        assert_eq!(
            toks("{1..10,fe80::1 .. fe80::2}"),
            vec![
                Tok::LBrace,
                Tok::Word("1"),
                Tok::DotDot,
                Tok::Word("10"),
                Tok::Comma,
                Tok::Word("fe80::1"),
                Tok::DotDot,
                Tok::Word("fe80::2"),
                Tok::RBrace
            ]
        );
    }

    #[test]
    fn string_escapes() {
        assert_eq!(toks(r#""\x48EAD""#), vec![Tok::Str(b"HEAD".to_vec())]);
        assert_eq!(toks(r#""\110EAD""#), vec![Tok::Str(b"HEAD".to_vec())]);
        assert_eq!(
            toks(r#""a\"b\\c\t\n""#),
            vec![Tok::Str(b"a\"b\\c\t\n".to_vec())]
        );
        assert_eq!(
            toks(r#""\u00e9\U0001F600""#),
            vec![Tok::Str("é😀".as_bytes().to_vec())]
        );
        assert_eq!(toks(r#"r"\\S\d""#), vec![Tok::Str(br"\\S\d".to_vec())]);
        assert_eq!(toks(r#""""#), vec![Tok::Str(vec![])]);
        assert_eq!(
            toks(r"'\n' 'a' '\x41' '\''"),
            vec![
                Tok::Char(10),
                Tok::Char(b'a'),
                Tok::Char(0x41),
                Tok::Char(b'\'')
            ]
        );
        assert!(tokenize("'ab'").is_err());
        assert!(tokenize("''").is_err());
        assert!(tokenize("'a").is_err());
    }

    #[test]
    fn string_errors_point_at_the_problem() {
        for (input, span) in [
            (r#"a == "abc"#, 5..6),
            (r#"a == "\q""#, 6..8),
            (r#"a == "\x4""#, 6..10),
            (r#"a == "\777""#, 6..10),
            (r#"a == "\"#, 5..6),
            ("a == #", 5..6),
            ("a == é", 5..7),
            ("a == \"\\xé\"", 6..10),
        ] {
            assert_eq!(tokenize(input).unwrap_err().span, span, "{input}");
        }
    }
}
