//! What the engine provides ([`Record`], [`Value`]) and how one compiled test is
//! decided over a field's values, without allocating.
//!
//! Multi-valued fields follow tshark 4.0 (wireshark-filter(4), "Comparison operators"):
//! `==` (`any_eq`) matches if any value equals; `!=` (`all_ne`) matches if the field is
//! present and *every* value differs, i.e. `ip.addr != 10.0.0.1` excludes every packet
//! that has 10.0.0.1 on either side, and is false where there is no `ip.addr` at all
//! (tshark 4.0.17 verified: `ip.addr != 1.2.3.4` matches no IPv6-only frame);
//! `===` (`all_eq`) needs every value equal; `!==` (`any_ne`) needs one that differs.
//! Ordering operators and `contains`/`matches`/`in` match if any value does. Every test
//! on an absent field is false, so `!field` and `not field == x` are true without it.

use std::cmp::Ordering;
use std::net::IpAddr;

use super::check::Operand;
use super::fields::FieldId;

/// One value of a field, borrowed from the record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Bool(bool),
    UInt(u64),
    Int(i64),
    /// Also times and durations, in seconds.
    Float(f64),
    Ip(IpAddr),
    Mac([u8; 6]),
    Str(&'a [u8]),
    /// A protocol or value-less flag is there.
    Present,
}

/// A packet or connection as the filter sees it. `visit` calls `f` once per value of
/// `field` (zero times when absent, several for `ip.addr`, `tcp.port`, `dns.a`, ...) and
/// stops as soon as `f` returns `true`.
pub trait Record {
    fn visit(&self, field: FieldId, f: &mut dyn FnMut(Value<'_>) -> bool);
}

/// How a test's predicate is applied across the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quant {
    /// Some value satisfies.
    Any,
    /// Some value does not satisfy.
    AnyNot,
    /// Present, and every value satisfies.
    All,
    /// Present, and no value satisfies.
    NoneOf,
}

/// A predicate on one value.
#[derive(Debug, Clone)]
pub(crate) enum Pred {
    /// Any value at all.
    Present,
    /// Equal (a network operand means "inside").
    Eq(Operand),
    /// Ordered compare; the ordering must be one of `accept`.
    Ord(Operand, [Option<Ordering>; 2]),
    Contains(Box<memchr::memmem::Finder<'static>>),
    Matches(regex::bytes::Regex),
    /// Any member equals / range contains.
    In(Vec<(Operand, Option<Operand>)>),
}

/// A compiled test: field, optional bit mask, quantifier, predicate.
#[derive(Debug, Clone)]
pub(crate) struct Test {
    pub field: FieldId,
    pub mask: Option<u64>,
    pub quant: Quant,
    pub pred: Pred,
}

impl Test {
    pub(crate) fn eval(&self, rec: &dyn Record) -> bool {
        // Any / AnyNot look for a value where the predicate is true / false; All /
        // NoneOf look for a counter-example (false / true). Either way, stop at the
        // first such value.
        let stop_when = matches!(self.quant, Quant::Any | Quant::NoneOf);
        let (mut seen, mut found) = (false, false);
        rec.visit(self.field, &mut |v| {
            seen = true;
            if self.holds(v) == stop_when {
                found = true;
            }
            found
        });
        match self.quant {
            Quant::Any | Quant::AnyNot => found,
            Quant::All | Quant::NoneOf => seen && !found,
        }
    }

    /// The predicate on one value (after the bit mask, if any).
    fn holds(&self, v: Value<'_>) -> bool {
        let v = match (self.mask, v) {
            (None, v) => v,
            (Some(m), Value::UInt(x)) => Value::UInt(x & m),
            (Some(m), Value::Int(x)) => Value::UInt(x as u64 & m),
            (Some(m), Value::Bool(b)) => Value::UInt(u64::from(b) & m),
            (Some(_), _) => return false,
        };
        match &self.pred {
            // `tcp.flags & 0x02` alone: the masked value is non-zero.
            Pred::Present => self.mask.is_none() || !matches!(v, Value::UInt(0)),
            Pred::Eq(o) => equals(v, o),
            Pred::Ord(o, accept) => {
                let c = compare(v, o);
                c.is_some() && accept.contains(&c)
            }
            Pred::Contains(f) => matches!(v, Value::Str(s) if f.find(s).is_some()),
            Pred::Matches(re) => matches!(v, Value::Str(s) if re.is_match(s)),
            Pred::In(items) => items.iter().any(|(lo, hi)| match hi {
                None => equals(v, lo),
                Some(hi) => {
                    matches!(compare(v, lo), Some(Ordering::Greater | Ordering::Equal))
                        && matches!(compare(v, hi), Some(Ordering::Less | Ordering::Equal))
                }
            }),
        }
    }
}

fn equals(v: Value<'_>, o: &Operand) -> bool {
    match (v, o) {
        (Value::Ip(a), Operand::Net(n)) => n.contains(a),
        _ => compare(v, o) == Some(Ordering::Equal),
    }
}

/// Order a value against an operand of the field's kind; `None` when they do not
/// compare (different address families, a string against a number, NaN).
fn compare(v: Value<'_>, o: &Operand) -> Option<Ordering> {
    match (v, o) {
        (Value::UInt(a), Operand::UInt(b)) => Some(a.cmp(b)),
        (Value::UInt(a), Operand::Int(b)) => Some(i128::from(a).cmp(&i128::from(*b))),
        (Value::Int(a), Operand::Int(b)) => Some(a.cmp(b)),
        (Value::Int(a), Operand::UInt(b)) => Some(i128::from(a).cmp(&i128::from(*b))),
        (Value::Bool(a), Operand::Bool(b)) => Some(a.cmp(b)),
        (Value::UInt(a), Operand::Bool(b)) => Some(a.cmp(&u64::from(*b))),
        (Value::Float(a), Operand::Float(b)) => a.partial_cmp(b),
        (Value::UInt(a), Operand::Float(b)) => (a as f64).partial_cmp(b),
        (Value::Ip(IpAddr::V4(a)), Operand::Ip(IpAddr::V4(b))) => Some(a.cmp(b)),
        (Value::Ip(IpAddr::V6(a)), Operand::Ip(IpAddr::V6(b))) => Some(a.cmp(b)),
        (Value::Mac(a), Operand::Mac(b)) => Some(a.cmp(b)),
        (Value::Str(a), Operand::Bytes(b)) => Some(a.cmp(b.as_slice())),
        _ => None,
    }
}
