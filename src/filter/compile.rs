//! Compiling a checked tree into a [`Filter`]: a flat array of nodes (children before
//! parents, the root last) whose tests hold pre-parsed operands, a compiled regex or a
//! substring finder. Compiled once per filter; [`Filter::matches`] then only walks it.

use std::cmp::Ordering;

use super::check::{check, Typed, TypedItem, TypedRel};
use super::error::FilterError;
use super::eval::{Pred, Quant, Record, Test};
use super::fields::{self, FieldId};
use super::parse::{parse, CmpOp};

#[derive(Debug, Clone)]
enum Node {
    Or(u32, u32),
    And(u32, u32),
    Not(u32),
    Test(Test),
}

/// A compiled display filter.
#[derive(Debug, Clone)]
pub struct Filter {
    nodes: Vec<Node>,
    fields: Vec<FieldId>,
    protocols: Vec<FieldId>,
}

impl Filter {
    /// Parse, check and compile `input`. A blank filter matches everything, as an
    /// empty display filter does in tshark.
    pub fn compile(input: &str) -> Result<Filter, FilterError> {
        if input.trim().is_empty() {
            return Ok(Filter {
                nodes: Vec::new(),
                fields: Vec::new(),
                protocols: Vec::new(),
            });
        }
        let typed = check(&parse(input)?)?;
        let mut f = Filter {
            nodes: Vec::new(),
            fields: Vec::new(),
            protocols: Vec::new(),
        };
        f.emit(typed);
        f.fields.sort_unstable();
        f.fields.dedup();
        f.protocols = f
            .fields
            .iter()
            .filter_map(|id| fields::get(*id))
            .filter_map(|d| fields::lookup(d.protocol()))
            .map(|p| p.id)
            .collect();
        f.protocols.sort_unstable();
        f.protocols.dedup();
        Ok(f)
    }

    fn emit(&mut self, t: Typed) -> u32 {
        let node = match t {
            Typed::Or(a, b) => {
                let (a, b) = (self.emit(*a), self.emit(*b));
                Node::Or(a, b)
            }
            Typed::And(a, b) => {
                let (a, b) = (self.emit(*a), self.emit(*b));
                Node::And(a, b)
            }
            Typed::Not(a) => {
                let a = self.emit(*a);
                Node::Not(a)
            }
            Typed::Test { field, mask, rel } => {
                self.fields.push(field);
                let (quant, pred) = lower(rel);
                Node::Test(Test {
                    field,
                    mask,
                    quant,
                    pred,
                })
            }
        };
        self.nodes.push(node);
        // The parser bounds the tree far below u32::MAX nodes.
        u32::try_from(self.nodes.len() - 1).unwrap_or(u32::MAX)
    }

    /// Whether `rec` passes the filter. Allocates nothing.
    pub fn matches(&self, rec: &dyn Record) -> bool {
        match self.nodes.len().checked_sub(1) {
            None => true,
            Some(root) => self.eval(root, rec),
        }
    }

    fn eval(&self, i: usize, rec: &dyn Record) -> bool {
        match self.nodes.get(i) {
            Some(Node::Or(a, b)) => self.eval(*a as usize, rec) || self.eval(*b as usize, rec),
            Some(Node::And(a, b)) => self.eval(*a as usize, rec) && self.eval(*b as usize, rec),
            Some(Node::Not(a)) => !self.eval(*a as usize, rec),
            Some(Node::Test(t)) => t.eval(rec),
            None => false,
        }
    }

    /// Every field some test reads (sorted, once each): the engine need not compute
    /// the others.
    pub fn fields_used(&self) -> impl Iterator<Item = FieldId> + '_ {
        self.fields.iter().copied()
    }

    /// The protocols (registry entries of kind `Protocol`: `tcp`, `dns`, `conn`, ...)
    /// whose fields the filter reads, so the engine can skip decoding the others.
    pub fn protocols_needed(&self) -> impl Iterator<Item = FieldId> + '_ {
        self.protocols.iter().copied()
    }

    /// True when the filter accepts every record without looking (blank filter).
    pub fn is_trivially_true(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// Operator → quantifier and per-value predicate (see [`eval`](super::eval) for the
/// tshark semantics of each operator).
fn lower(rel: TypedRel) -> (Quant, Pred) {
    match rel {
        TypedRel::Present => (Quant::Any, Pred::Present),
        TypedRel::Cmp(op, o) => {
            let ord = |a, b| Pred::Ord(o.clone(), [a, b]);
            match op {
                CmpOp::Eq => (Quant::Any, Pred::Eq(o)),
                CmpOp::Ne => (Quant::NoneOf, Pred::Eq(o)),
                CmpOp::AllEq => (Quant::All, Pred::Eq(o)),
                CmpOp::AnyNe => (Quant::AnyNot, Pred::Eq(o)),
                CmpOp::Lt => (Quant::Any, ord(Some(Ordering::Less), None)),
                CmpOp::Le => (Quant::Any, ord(Some(Ordering::Less), Some(Ordering::Equal))),
                CmpOp::Gt => (Quant::Any, ord(Some(Ordering::Greater), None)),
                CmpOp::Ge => (
                    Quant::Any,
                    ord(Some(Ordering::Greater), Some(Ordering::Equal)),
                ),
            }
        }
        TypedRel::Contains(s) => (
            Quant::Any,
            Pred::Contains(Box::new(memchr::memmem::Finder::new(&s).into_owned())),
        ),
        TypedRel::Matches(re) => (Quant::Any, Pred::Matches(re)),
        TypedRel::In(items) => (
            Quant::Any,
            Pred::In(
                items
                    .into_iter()
                    .map(|it| match it {
                        TypedItem::One(o) => (o, None),
                        TypedItem::Range(a, b) => (a, Some(b)),
                    })
                    .collect(),
            ),
        ),
    }
}
