//! The syntax tree and its recursive-descent parser over [`lexer`](super::lexer) tokens.
//!
//! Grammar (wireshark-filter(4), tshark 4.0; precedence from highest to lowest
//! `not` > `and` > `or`, both binary operators left-associative):
//!
//! ```text
//! expr    := and (("or" | "||") and)*
//! and     := unary (("and" | "&&") unary)*
//! unary   := ("not" | "!") unary | "(" expr ")" | test
//! test    := FIELD ["&" LIT] [CMP LIT | "contains" LIT | ("matches" | "~") LIT | "in" set]
//! set     := "{" item ([","] item)* "}"     item := LIT [".." LIT]
//! CMP     := == eq any_eq | != ne all_ne | === all_eq | !== ~= any_ne
//!          | < lt | <= le | > gt | >= ge
//! ```
//!
//! tshark 4.0 requires commas between set members; wiretale also accepts spaces (as
//! Wireshark < 4.0 did). Literals stay uninterpreted text here; their meaning depends
//! on the field's type, which [`check`](super::check) knows.

use std::fmt;
use std::ops::Range;

use super::error::FilterError;
use super::lexer::{tokenize, Tok, Token};

/// Deepest nesting of parentheses / `not` accepted (bounds recursion).
pub const MAX_DEPTH: usize = 200;

/// Most `and`/`or` operators accepted: chains nest the tree, and every later pass
/// (check, compile, evaluation, drop) recurses over it.
pub const MAX_OPERATORS: usize = 1000;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`: some value equals.
    Eq,
    /// `!=`: the field is present and every value differs (tshark ≥ 3.6 `all_ne`).
    Ne,
    /// `===`: the field is present and every value equals.
    AllEq,
    /// `!==`: some value differs.
    AnyNe,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    fn from_token(t: &Tok<'_>) -> Option<CmpOp> {
        Some(match t {
            Tok::Sym("==") | Tok::Word("eq" | "any_eq") => CmpOp::Eq,
            Tok::Sym("!=") | Tok::Word("ne" | "all_ne") => CmpOp::Ne,
            Tok::Sym("===") | Tok::Word("all_eq") => CmpOp::AllEq,
            Tok::Sym("!==" | "~=") | Tok::Word("any_ne") => CmpOp::AnyNe,
            Tok::Sym("<") | Tok::Word("lt") => CmpOp::Lt,
            Tok::Sym("<=") | Tok::Word("le") => CmpOp::Le,
            Tok::Sym(">") | Tok::Word("gt") => CmpOp::Gt,
            Tok::Sym(">=") | Tok::Word("ge") => CmpOp::Ge,
            _ => return None,
        })
    }

    /// The C-like spelling.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::AllEq => "===",
            CmpOp::AnyNe => "!==",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// A literal as written.
#[derive(Debug, Clone, PartialEq)]
pub enum LitKind {
    /// Unquoted: number, address, CIDR, MAC, `true`/`false`.
    Bare(String),
    /// Quoted string, escapes decoded.
    Str(Vec<u8>),
}

/// A literal with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Literal {
    pub kind: LitKind,
    pub span: Range<usize>,
}

/// A member of an `in { }` set.
#[derive(Debug, Clone, PartialEq)]
pub enum SetItem {
    One(Literal),
    Range(Literal, Literal),
}

/// What a test asks of its field.
#[derive(Debug, Clone, PartialEq)]
pub enum Rel {
    /// Bare field: present (with `&` mask: the masked value is non-zero).
    Present,
    Cmp(CmpOp, Literal),
    Contains(Literal),
    Matches(Literal),
    In(Vec<SetItem>),
}

/// The syntax tree.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Test {
        field: String,
        field_span: Range<usize>,
        mask: Option<Literal>,
        rel: Rel,
    },
}

/// A node and the byte span it covers.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Range<usize>,
}

/// Parse a filter into its syntax tree (no field or literal checking).
pub fn parse(input: &str) -> Result<Expr, FilterError> {
    let toks = tokenize(input)?;
    if toks.is_empty() {
        return Err(FilterError::new(
            "the filter is empty".into(),
            0..input.len(),
        ));
    }
    let mut p = Parser {
        toks: &toks,
        pos: 0,
        end: input.len(),
        ops: 0,
    };
    let e = p.or(0)?;
    match p.peek() {
        None => Ok(e),
        Some(t) => Err(FilterError::new(
            format!(
                "\"{}\" was unexpected in this context",
                &input[t.span.clone()]
            ),
            t.span.clone(),
        )),
    }
}

struct Parser<'t, 'a> {
    toks: &'t [Token<'a>],
    pos: usize,
    end: usize,
    ops: usize,
}

fn is_keyword(w: &str) -> bool {
    matches!(
        w,
        "and"
            | "or"
            | "not"
            | "in"
            | "contains"
            | "matches"
            | "eq"
            | "ne"
            | "lt"
            | "le"
            | "gt"
            | "ge"
            | "any_eq"
            | "all_ne"
            | "all_eq"
            | "any_ne"
            | "bitwise_and"
    )
}

impl<'a> Parser<'_, 'a> {
    fn peek(&self) -> Option<&Token<'a>> {
        self.toks.get(self.pos)
    }

    fn eof_span(&self) -> Range<usize> {
        self.end..self.end
    }

    fn here(&self) -> Range<usize> {
        self.peek().map_or(self.eof_span(), |t| t.span.clone())
    }

    fn eat(&mut self, f: impl Fn(&Tok<'_>) -> bool) -> Option<Token<'a>> {
        let t = self.peek().filter(|t| f(&t.tok))?.clone();
        self.pos += 1;
        Some(t)
    }

    fn expected(&self, what: &str) -> FilterError {
        match self.peek() {
            None => FilterError::new(
                format!("unexpected end of filter: expected {what}"),
                self.eof_span(),
            ),
            Some(_) => FilterError::new(format!("expected {what}"), self.here()),
        }
    }

    fn count_operator(&mut self) -> Result<(), FilterError> {
        self.ops += 1;
        if self.ops > MAX_OPERATORS {
            let span = self
                .toks
                .get(self.pos.saturating_sub(1))
                .map_or(self.eof_span(), |t| t.span.clone());
            return Err(FilterError::new(
                format!("the filter has more than {MAX_OPERATORS} and/or operators"),
                span,
            ));
        }
        Ok(())
    }

    fn or(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let mut left = self.and(depth)?;
        while self
            .eat(|t| matches!(t, Tok::OrOr | Tok::Word("or")))
            .is_some()
        {
            self.count_operator()?;
            let right = self.and(depth)?;
            let span = left.span.start..right.span.end;
            left = Expr {
                kind: ExprKind::Or(Box::new(left), Box::new(right)),
                span,
            };
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let mut left = self.unary(depth)?;
        while self
            .eat(|t| matches!(t, Tok::AndAnd | Tok::Word("and")))
            .is_some()
        {
            self.count_operator()?;
            let right = self.unary(depth)?;
            let span = left.span.start..right.span.end;
            left = Expr {
                kind: ExprKind::And(Box::new(left), Box::new(right)),
                span,
            };
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, FilterError> {
        if depth > MAX_DEPTH {
            return Err(FilterError::new(
                format!("the filter nests deeper than {MAX_DEPTH} levels"),
                self.here(),
            ));
        }
        if let Some(t) = self.eat(|t| matches!(t, Tok::Bang | Tok::Word("not"))) {
            let inner = self.unary(depth + 1)?;
            let span = t.span.start..inner.span.end;
            return Ok(Expr {
                kind: ExprKind::Not(Box::new(inner)),
                span,
            });
        }
        if let Some(open) = self.eat(|t| matches!(t, Tok::LParen)) {
            let inner = self.or(depth + 1)?;
            let Some(close) = self.eat(|t| matches!(t, Tok::RParen)) else {
                return Err(match self.peek() {
                    None => {
                        FilterError::new("unbalanced parenthesis: missing \")\"".into(), open.span)
                    }
                    Some(_) => self.expected("\")\", \"and\" or \"or\""),
                });
            };
            // Parentheses only group: the tree keeps the inner node, with the wider span.
            return Ok(Expr {
                kind: inner.kind,
                span: open.span.start..close.span.end,
            });
        }
        self.test()
    }

    fn test(&mut self) -> Result<Expr, FilterError> {
        let (field, field_span) = match self.peek() {
            Some(Token {
                tok: Tok::Word(w),
                span,
            }) if !is_keyword(w) => (w.to_string(), span.clone()),
            _ => return Err(self.expected("a field or protocol name")),
        };
        self.pos += 1;
        let mut end = field_span.end;
        let mask = if self
            .eat(|t| matches!(t, Tok::Amp | Tok::Word("bitwise_and")))
            .is_some()
        {
            let l = self.literal()?;
            end = l.span.end;
            Some(l)
        } else {
            None
        };
        let rel = if let Some(op) = self.peek().and_then(|t| CmpOp::from_token(&t.tok)) {
            self.pos += 1;
            let l = self.literal()?;
            end = l.span.end;
            Rel::Cmp(op, l)
        } else if self.eat(|t| matches!(t, Tok::Word("contains"))).is_some() {
            let l = self.literal()?;
            end = l.span.end;
            Rel::Contains(l)
        } else if self
            .eat(|t| matches!(t, Tok::Word("matches") | Tok::Tilde))
            .is_some()
        {
            let l = self.literal()?;
            end = l.span.end;
            Rel::Matches(l)
        } else if self.eat(|t| matches!(t, Tok::Word("in"))).is_some() {
            let (items, close) = self.set()?;
            end = close;
            Rel::In(items)
        } else {
            Rel::Present
        };
        Ok(Expr {
            kind: ExprKind::Test {
                field,
                field_span: field_span.clone(),
                mask,
                rel,
            },
            span: field_span.start..end,
        })
    }

    fn literal(&mut self) -> Result<Literal, FilterError> {
        let kind = match self.peek() {
            Some(Token {
                tok: Tok::Word(w), ..
            }) if !is_keyword(w) => LitKind::Bare(w.to_string()),
            Some(Token {
                tok: Tok::Str(s), ..
            }) => LitKind::Str(s.clone()),
            // A character constant is an integer (wireshark-filter(4): `frame.len > '\n'`).
            Some(Token {
                tok: Tok::Char(c), ..
            }) => LitKind::Bare(c.to_string()),
            _ => return Err(self.expected("a value")),
        };
        let span = self.here();
        self.pos += 1;
        Ok(Literal { kind, span })
    }

    /// `{ item ([,] item)* }`; returns the items and the end of the closing brace.
    fn set(&mut self) -> Result<(Vec<SetItem>, usize), FilterError> {
        if self.eat(|t| matches!(t, Tok::LBrace)).is_none() {
            return Err(self.expected("\"{\""));
        }
        let mut items = Vec::new();
        loop {
            if let Some(close) = self.eat(|t| matches!(t, Tok::RBrace)) {
                if items.is_empty() {
                    return Err(FilterError::new(
                        "a set needs at least one member".into(),
                        close.span,
                    ));
                }
                return Ok((items, close.span.end));
            }
            if !items.is_empty() {
                self.eat(|t| matches!(t, Tok::Comma));
            }
            let lo = self.literal()?;
            if self.eat(|t| matches!(t, Tok::DotDot)).is_some() {
                let hi = self.literal()?;
                items.push(SetItem::Range(lo, hi));
            } else {
                items.push(SetItem::One(lo));
            }
        }
    }
}

/// Writes the canonical text of a tree: every binary node parenthesised, strings quoted
/// with `\xNN` escapes, so `parse(to_string(e))` gives back the same tree (spans aside).
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Or(a, b) => write!(f, "({a} or {b})"),
            ExprKind::And(a, b) => write!(f, "({a} and {b})"),
            ExprKind::Not(a) => write!(f, "not {a}"),
            ExprKind::Test {
                field, mask, rel, ..
            } => {
                f.write_str(field)?;
                if let Some(m) = mask {
                    write!(f, " & {m}")?;
                }
                match rel {
                    Rel::Present => Ok(()),
                    Rel::Cmp(op, l) => write!(f, " {} {l}", op.symbol()),
                    Rel::Contains(l) => write!(f, " contains {l}"),
                    Rel::Matches(l) => write!(f, " matches {l}"),
                    Rel::In(items) => {
                        f.write_str(" in {")?;
                        for (i, it) in items.iter().enumerate() {
                            if i > 0 {
                                f.write_str(", ")?;
                            }
                            match it {
                                SetItem::One(l) => write!(f, "{l}")?,
                                SetItem::Range(a, b) => write!(f, "{a} .. {b}")?,
                            }
                        }
                        f.write_str("}")
                    }
                }
            }
        }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            LitKind::Bare(w) => f.write_str(w),
            LitKind::Str(s) => {
                f.write_str("\"")?;
                for &b in s {
                    match b {
                        b'"' => f.write_str("\\\"")?,
                        b'\\' => f.write_str("\\\\")?,
                        0x20..=0x7e => write!(f, "{}", char::from(b))?,
                        _ => write!(f, "\\x{b:02x}")?,
                    }
                }
                f.write_str("\"")
            }
        }
    }
}

impl Expr {
    /// The same tree with every span zeroed, for comparing trees parsed from different
    /// spellings.
    pub fn without_spans(&self) -> Expr {
        let lit = |l: &Literal| Literal {
            kind: l.kind.clone(),
            span: 0..0,
        };
        let kind = match &self.kind {
            ExprKind::Or(a, b) => {
                ExprKind::Or(Box::new(a.without_spans()), Box::new(b.without_spans()))
            }
            ExprKind::And(a, b) => {
                ExprKind::And(Box::new(a.without_spans()), Box::new(b.without_spans()))
            }
            ExprKind::Not(a) => ExprKind::Not(Box::new(a.without_spans())),
            ExprKind::Test {
                field, mask, rel, ..
            } => ExprKind::Test {
                field: field.clone(),
                field_span: 0..0,
                mask: mask.as_ref().map(lit),
                rel: match rel {
                    Rel::Present => Rel::Present,
                    Rel::Cmp(op, l) => Rel::Cmp(*op, lit(l)),
                    Rel::Contains(l) => Rel::Contains(lit(l)),
                    Rel::Matches(l) => Rel::Matches(lit(l)),
                    Rel::In(items) => Rel::In(
                        items
                            .iter()
                            .map(|it| match it {
                                SetItem::One(l) => SetItem::One(lit(l)),
                                SetItem::Range(a, b) => SetItem::Range(lit(a), lit(b)),
                            })
                            .collect(),
                    ),
                },
            },
        };
        Expr { kind, span: 0..0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn shape(s: &str) -> String {
        parse(s)
            .unwrap_or_else(|e| panic!("{s}: {}", e.render(s)))
            .to_string()
    }

    #[test]
    fn every_operator_spelling() {
        for (a, b) in [
            ("a == 1", "a eq 1"),
            ("a == 1", "a any_eq 1"),
            ("a != 1", "a ne 1"),
            ("a != 1", "a all_ne 1"),
            ("a === 1", "a all_eq 1"),
            ("a !== 1", "a any_ne 1"),
            ("a !== 1", "a ~= 1"),
            ("a < 1", "a lt 1"),
            ("a <= 1", "a le 1"),
            ("a > 1", "a gt 1"),
            ("a >= 1", "a ge 1"),
            ("a matches \"x\"", "a ~ \"x\""),
            ("a & 2", "a bitwise_and 2"),
            ("(a and b)", "a && b"),
            ("(a or b)", "a || b"),
            ("not a", "!a"),
        ] {
            assert_eq!(shape(a), shape(b), "{a} vs {b}");
        }
        assert_eq!(shape("a contains \"x\""), "a contains \"x\"");
        assert_eq!(
            shape("tcp.flags & 0x12 == 0x12"),
            "tcp.flags & 0x12 == 0x12"
        );
    }

    #[test]
    fn precedence_not_and_or() {
        // wireshark-filter(4): "A and B or not C or D and not E or F" is
        // "(A and B) or (not C) or (D and (not E)) or F".
        assert_eq!(
            shape("A and B or not C or D and not E or F"),
            "((((A and B) or not C) or (D and not E)) or F)"
        );
        assert_eq!(shape("a or b and c"), "(a or (b and c))");
        assert_eq!(shape("(a or b) and c"), "((a or b) and c)");
        assert_eq!(shape("!!a"), "not not a");
        assert_eq!(shape("not a == 1 and b"), "(not a == 1 and b)");
        assert_eq!(shape("a and b and c"), "((a and b) and c)");
        assert_eq!(shape("((a))"), "a");
    }

    #[test]
    fn sets_and_ranges() {
        assert_eq!(shape("p in {1 2 3}"), "p in {1, 2, 3}");
        assert_eq!(shape("p in {1, 2, 3}"), "p in {1, 2, 3}");
        assert_eq!(shape("p in {1..10}"), "p in {1 .. 10}");
        assert_eq!(shape("p in {443, 4430..4434}"), "p in {443, 4430 .. 4434}");
        assert_eq!(
            shape("ip in {10.0.0.5 .. 10.0.0.9, 192.168.1.1..192.168.1.9}"),
            "ip in {10.0.0.5 .. 10.0.0.9, 192.168.1.1 .. 192.168.1.9}"
        );
        assert_eq!(shape("m in {\"HEAD\" \"GET\"}"), "m in {\"HEAD\", \"GET\"}");
    }

    #[test]
    fn literal_kinds_survive() {
        for s in [
            "ip.addr == 198.18.0.0/15",
            "ipv6.addr == 2001:db8::/32",
            "ipv6.addr == ::1",
            "eth.addr == 00:11:22:33:44:55",
            "eth.addr == 00-11-22-33-44-55",
            "eth.addr == 0011.2233.4455",
            "frame.len == 0x1f",
            "frame.len == 017",
            "http.host == \"a\\\"b\\\\c\\x00\"",
            "http.host matches \"^a.*\\\\.com$\"",
        ] {
            assert_eq!(shape(s), s);
        }
    }

    #[test]
    fn spans_cover_the_source() {
        let e = parse("not (tcp.port == 80)").unwrap();
        assert_eq!(e.span, 0..20);
        let ExprKind::Not(inner) = &e.kind else {
            panic!()
        };
        assert_eq!(inner.span, 4..20);
        let ExprKind::Test {
            field_span,
            rel: Rel::Cmp(_, l),
            ..
        } = &inner.kind
        else {
            panic!()
        };
        assert_eq!((field_span.clone(), l.span.clone()), (5..13, 17..19));
    }

    #[test]
    fn syntax_errors_point_at_the_token() {
        let table: &[(&str, Range<usize>, &str)] = &[
            ("", 0..0, "empty"),
            ("tcp and", 7..7, "unexpected end"),
            ("tcp or or udp", 7..9, "expected a field"),
            ("(tcp", 0..1, "missing \")\""),
            ("(tcp udp)", 5..8, "expected \")\""),
            ("tcp)", 3..4, "unexpected"),
            ("tcp.port ==", 11..11, "expected a value"),
            ("tcp.port == and", 12..15, "expected a value"),
            ("tcp.port in 80", 12..14, "expected \"{\""),
            ("tcp.port in {}", 13..14, "at least one member"),
            ("tcp.port in {1 ..}", 17..18, "expected a value"),
            ("tcp.port == 80 udp", 15..18, "unexpected"),
            ("== 1", 0..2, "expected a field"),
        ];
        for (input, span, msg) in table {
            let e = parse(input)
                .err()
                .unwrap_or_else(|| panic!("accepted: {input}"));
            assert_eq!(&e.span, span, "{input}: {}", e.render(input));
            assert!(e.message.contains(msg), "{input}: {}", e.message);
        }
    }

    #[test]
    fn depth_and_size_bounds() {
        let deep = format!("{}tcp{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(parse(&deep).unwrap_err().message.contains("nests deeper"));
        let nots = format!("{}tcp", "!".repeat(10_000));
        assert!(parse(&nots).is_err());
        let long = vec!["tcp"; 2000].join(" or ");
        assert!(parse(&long).unwrap_err().message.contains("more than"));
        let ok = vec!["tcp"; 1000].join(" and ");
        assert!(parse(&ok).is_ok());
    }

    fn arb_literal() -> impl Strategy<Value = LitKind> {
        prop_oneof![
            "[0-9]{1,5}".prop_map(LitKind::Bare),
            "0x[0-9a-f]{1,4}".prop_map(LitKind::Bare),
            "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}(/[0-9]{1,2})?"
                .prop_map(LitKind::Bare),
            "[0-9a-f]{2}(:[0-9a-f]{2}){5}".prop_map(LitKind::Bare),
            "fe80::[0-9a-f]{1,4}".prop_map(LitKind::Bare),
            proptest::collection::vec(any::<u8>(), 0..8).prop_map(LitKind::Str),
        ]
    }

    fn lit(k: LitKind) -> Literal {
        Literal {
            kind: k,
            span: 0..0,
        }
    }

    fn arb_expr() -> impl Strategy<Value = Expr> {
        let field = prop_oneof![
            Just("tcp.port"),
            Just("ip.addr"),
            Just("dns.qry.name"),
            Just("x_y.z9")
        ];
        let rel = prop_oneof![
            Just(Rel::Present),
            (0usize..8, arb_literal()).prop_map(|(i, l)| {
                let ops = [
                    CmpOp::Eq,
                    CmpOp::Ne,
                    CmpOp::AllEq,
                    CmpOp::AnyNe,
                    CmpOp::Lt,
                    CmpOp::Le,
                    CmpOp::Gt,
                    CmpOp::Ge,
                ];
                Rel::Cmp(ops[i], lit(l))
            }),
            arb_literal().prop_map(|l| Rel::Contains(lit(l))),
            arb_literal().prop_map(|l| Rel::Matches(lit(l))),
            proptest::collection::vec((arb_literal(), proptest::option::of(arb_literal())), 1..4)
                .prop_map(|v| {
                    Rel::In(
                        v.into_iter()
                            .map(|(a, b)| match b {
                                None => SetItem::One(lit(a)),
                                Some(b) => SetItem::Range(lit(a), lit(b)),
                            })
                            .collect(),
                    )
                }),
        ];
        let leaf = (field, proptest::option::of("[0-9]{1,3}"), rel).prop_map(|(f, m, rel)| Expr {
            kind: ExprKind::Test {
                field: f.to_string(),
                field_span: 0..0,
                mask: m.map(|m| lit(LitKind::Bare(m))),
                rel,
            },
            span: 0..0,
        });
        leaf.prop_recursive(4, 24, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr {
                    kind: ExprKind::And(Box::new(a), Box::new(b)),
                    span: 0..0
                }),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr {
                    kind: ExprKind::Or(Box::new(a), Box::new(b)),
                    span: 0..0
                }),
                inner.prop_map(|a| Expr {
                    kind: ExprKind::Not(Box::new(a)),
                    span: 0..0
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn printing_then_parsing_gives_the_same_tree(e in arb_expr()) {
            let text = e.to_string();
            let back = parse(&text).map_err(|err| TestCaseError::fail(err.render(&text)))?;
            prop_assert_eq!(back.without_spans(), e);
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,60}") {
            if let Err(e) = parse(&s) {
                // Error spans can always slice the input.
                prop_assert!(s.get(e.span.clone()).is_some(), "{:?}", e);
            }
            if let Ok(e) = parse(&s) {
                let _ = e.to_string();
                // Spans always lie inside the input, on char boundaries.
                prop_assert!(e.span.end <= s.len() && s.is_char_boundary(e.span.start));
            }
        }

        #[test]
        fn filter_like_text_never_panics(s in "[a-z.0-9:/ (){}!=<>&|~\",-]{0,60}") {
            if let Err(e) = parse(&s) {
                prop_assert!(e.span.start <= e.span.end && e.span.end <= s.len());
                let _ = e.render(&s);
            }
        }
    }
}
