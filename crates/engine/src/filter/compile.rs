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

    /// What `rec` decides of the filter from only the tests on fields that `known`
    /// accepts, the others left open: `Some(result)` when the known tests fix the
    /// answer whatever the open ones give (Kleene's three-valued logic: `false and
    /// open` is false, `true or open` is true, `not open` is open), else `None`.
    ///
    /// So a caller that knows some fields take the same values over many records
    /// (a connection's addresses and ports, see `analysis::index`) evaluates those
    /// tests once and looks at each record only when they leave the answer open.
    /// A blank filter is `Some(true)`.
    pub fn decide(&self, known: &dyn Fn(FieldId) -> bool, rec: &dyn Record) -> Option<bool> {
        match self.nodes.len().checked_sub(1) {
            None => Some(true),
            Some(root) => self.decide_at(root, known, rec),
        }
    }

    fn decide_at(
        &self,
        i: usize,
        known: &dyn Fn(FieldId) -> bool,
        rec: &dyn Record,
    ) -> Option<bool> {
        match self.nodes.get(i) {
            Some(Node::Or(a, b)) => match self.decide_at(*a as usize, known, rec) {
                Some(true) => Some(true),
                l => match (l, self.decide_at(*b as usize, known, rec)) {
                    (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                },
            },
            Some(Node::And(a, b)) => match self.decide_at(*a as usize, known, rec) {
                Some(false) => Some(false),
                l => match (l, self.decide_at(*b as usize, known, rec)) {
                    (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                },
            },
            Some(Node::Not(a)) => self.decide_at(*a as usize, known, rec).map(|v| !v),
            Some(Node::Test(t)) => known(t.field).then(|| t.eval(rec)),
            None => Some(false),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::eval::Value;
    use proptest::prelude::*;
    use std::net::IpAddr;

    /// A hand-made record: (field name, values) pairs; a name may repeat.
    #[derive(Default)]
    struct Rec(Vec<(FieldId, Owned)>);

    #[derive(Clone)]
    enum Owned {
        U(u64),
        B(bool),
        F(f64),
        Ip(IpAddr),
        Mac([u8; 6]),
        S(Vec<u8>),
        P,
    }

    impl Rec {
        fn with(mut self, name: &str, v: Owned) -> Rec {
            let id = fields::lookup(name).unwrap_or_else(|| panic!("{name}")).id;
            // Presence of a field implies its protocol, as in a dissection.
            let proto =
                fields::lookup(fields::get(id).map(|d| d.protocol()).unwrap_or("")).map(|d| d.id);
            if let Some(p) = proto.filter(|p| *p != id && !self.0.iter().any(|(f, _)| f == p)) {
                self.0.push((p, Owned::P));
            }
            self.0.push((id, v));
            self
        }
        fn ip(self, name: &str, a: &str) -> Rec {
            self.with(name, Owned::Ip(a.parse().unwrap()))
        }
        fn u(self, name: &str, v: u64) -> Rec {
            self.with(name, Owned::U(v))
        }
        fn s(self, name: &str, v: &str) -> Rec {
            self.with(name, Owned::S(v.as_bytes().to_vec()))
        }
    }

    impl Record for Rec {
        fn visit(&self, field: FieldId, f: &mut dyn FnMut(Value<'_>) -> bool) {
            for (id, v) in &self.0 {
                if *id != field {
                    continue;
                }
                let v = match v {
                    Owned::U(x) => Value::UInt(*x),
                    Owned::B(b) => Value::Bool(*b),
                    Owned::F(x) => Value::Float(*x),
                    Owned::Ip(a) => Value::Ip(*a),
                    Owned::Mac(m) => Value::Mac(*m),
                    Owned::S(s) => Value::Str(s),
                    Owned::P => Value::Present,
                };
                if f(v) {
                    return;
                }
            }
        }
    }

    /// A TCP packet 10.0.0.1:51000 → 93.184.216.34:80 carrying an HTTP GET.
    fn http_get() -> Rec {
        Rec::default()
            .with("frame", Owned::P)
            .u("frame.number", 7)
            .u("frame.len", 530)
            .with("frame.time_relative", Owned::F(1.25))
            .with("eth.addr", Owned::Mac([0, 0x1b, 0x21, 0xaa, 0xbb, 0xcc]))
            .with("eth.addr", Owned::Mac([0xff; 6]))
            .ip("ip.addr", "10.0.0.1")
            .ip("ip.addr", "93.184.216.34")
            .ip("ip.src", "10.0.0.1")
            .ip("ip.dst", "93.184.216.34")
            .u("ip.ttl", 64)
            .u("tcp.port", 51000)
            .u("tcp.port", 80)
            .u("tcp.srcport", 51000)
            .u("tcp.dstport", 80)
            .u("tcp.flags", 0x018)
            .with("tcp.flags.syn", Owned::B(false))
            .with("tcp.flags.ack", Owned::B(true))
            .u("tcp.len", 476)
            .with("http.request", Owned::P)
            .s("http.request.method", "GET")
            .s("http.host", "Example.COM")
            .s("http.request.uri", "/img/logo.PNG?x=1")
            .u("conn.id", 3)
            .ip("conn.client", "10.0.0.1")
    }

    fn dns_answer() -> Rec {
        Rec::default()
            .with("frame", Owned::P)
            .ip("ipv6.addr", "2001:db8::53")
            .ip("ipv6.addr", "fe80::1")
            .u("udp.port", 53)
            .u("udp.port", 40000)
            .with("dns", Owned::P)
            .s("dns.qry.name", "www.example.com")
            .ip("dns.a", "198.18.5.5")
            .ip("dns.a", "8.8.8.8")
            .ip("dns.aaaa", "2001:db8::1")
            .with("dns.time", Owned::F(0.0123))
            .with("dns.flags.response", Owned::B(true))
            .u("dns.flags.rcode", 0)
    }

    fn run(expr: &str, rec: &Rec) -> bool {
        Filter::compile(expr)
            .unwrap_or_else(|e| panic!("{}", e.render(expr)))
            .matches(rec)
    }

    #[test]
    fn evaluation_table() {
        let (h, d) = (http_get(), dns_answer());
        let table: &[(&str, bool, bool)] = &[
            // (expression, on http_get, on dns_answer)
            ("tcp", true, false),
            ("udp && dns", false, true),
            ("!tcp", false, true),
            ("frame", true, true),
            ("ip.addr == 10.0.0.1", true, false),
            ("ip.addr == 93.184.216.34", true, false),
            ("ip.addr != 10.0.0.1", false, false),
            ("ip.addr != 1.2.3.4", true, false),
            ("ip.addr !== 10.0.0.1", true, false),
            ("ip.addr === 10.0.0.1", false, false),
            ("not ip.addr == 1.2.3.4", true, true),
            ("ip.addr == 10.0.0.0/8", true, false),
            ("ip.addr == 11.0.0.0/8", false, false),
            ("ip.src == 10.0.0.0/8 and ip.dst != 10.0.0.0/8", true, false),
            ("ip.addr in {10.0.0.0 .. 10.0.0.5}", true, false),
            ("ipv6.addr == fe80::/10", false, true),
            ("ipv6.addr != fe80::/10", false, false),
            ("ipv6.addr !== fe80::/10", false, true),
            ("dns.a == 198.18.0.0/15", false, true),
            ("dns.a in {1.1.1.1, 8.8.8.8}", false, true),
            ("dns.aaaa == 2001:db8::1", false, true),
            ("tcp.port == 80", true, false),
            ("tcp.port eq 0x50 and tcp.port ne 81", true, false),
            ("tcp.port > 50000", true, false),
            ("tcp.port < 80", false, false),
            ("tcp.port <= 80", true, false),
            ("tcp.port >= 51001", false, false),
            ("tcp.port in {443 8080 80}", true, false),
            ("tcp.port in {1..79, 81..50999}", false, false),
            ("tcp.port in {50000..52000}", true, false),
            ("tcp.flags.syn", true, false),
            ("tcp.flags.syn == 1", false, false),
            (
                "tcp.flags.syn == false && tcp.flags.ack == true",
                true,
                false,
            ),
            ("tcp.flags & 0x02", false, false),
            ("tcp.flags & 0x18", true, false),
            ("tcp.flags & 0x12 == 0x10", true, false),
            ("eth.addr == ff:ff:ff:ff:ff:ff", true, false),
            ("eth.addr == 00-1b-21-aa-bb-cc", true, false),
            ("eth.addr == 001b.21aa.bbcd", false, false),
            ("frame.time_relative > 1.2", true, false),
            ("frame.time_relative in {1 .. 1.25}", true, false),
            ("dns.time < 0.02 and dns.flags.response == 1", false, true),
            ("dns.flags.rcode != 0", false, false),
            ("dns.qry.name == \"www.example.com\"", false, true),
            ("dns.qry.name == \"WWW.example.com\"", false, false),
            ("dns.qry.name contains \"example\"", false, true),
            ("dns.qry.name contains \"EXAMPLE\"", false, false),
            ("http.host matches \"example\\\\.com$\"", true, false),
            ("http.host matches \"(?-i)example\"", false, false),
            ("http.request.uri matches \"\\\\.(png|gif)\"", true, false),
            ("http.request.method in {\"GET\", \"HEAD\"}", true, false),
            ("http.request.method == GET", true, false),
            ("http.request and not http.response", true, false),
            ("http.host > \"D\" and http.host < \"F\"", true, false),
            ("http.response.code == 200", false, false),
            ("!http.response.code", true, true),
            ("conn.id == 3 && conn.client == 10.0.0.0/24", true, false),
            ("conn.client == ::1", false, false),
            ("tcp or udp and dns", true, true),
            ("(tcp or udp) and dns", false, true),
            ("not tcp and not udp", false, false),
        ];
        for (expr, on_h, on_d) in table {
            assert_eq!(run(expr, &h), *on_h, "{expr} on http_get");
            assert_eq!(run(expr, &d), *on_d, "{expr} on dns_answer");
        }
    }

    /// `decide` with only some fields known: what it decides is what `matches` says,
    /// it decides everything when every field is known, and it leaves open what the
    /// unknown tests could still change.
    #[test]
    fn decide_is_sound_and_leaves_open_what_it_must() {
        let port = fields::lookup("tcp.port").unwrap().id;
        let addrs = [port, fields::lookup("ip.addr").unwrap().id];
        let h = http_get();
        let cases: &[(&str, Option<bool>)] = &[
            ("tcp.port == 80", Some(true)),
            ("tcp.port == 81 && tcp.flags.syn == 1", Some(false)),
            ("tcp.flags.syn == 1 && tcp.port == 81", Some(false)),
            ("tcp.port == 80 || tcp.flags.syn == 1", Some(true)),
            ("tcp.flags.syn == 1 or tcp.port == 80", Some(true)),
            ("tcp.port == 80 && tcp.flags.syn == 1", None),
            ("tcp.port == 81 || tcp.flags.syn == 1", None),
            ("!(tcp.port == 81)", Some(true)),
            ("!(tcp.port == 81 && http)", Some(true)),
            ("!(tcp.port == 80 && http)", None),
            ("!tcp.flags.syn", None),
            ("http", None),
        ];
        for (expr, want) in cases {
            let f = Filter::compile(expr).unwrap();
            assert_eq!(f.decide(&|id| id == port, &h), *want, "{expr}");
        }
        let file = include_str!("../../../../tests/data/filter-expressions.txt");
        for expr in file.lines() {
            let f = Filter::compile(expr).unwrap();
            for rec in [&h, &dns_answer(), &Rec::default()] {
                let m = f.matches(rec);
                assert_eq!(f.decide(&|_| true, rec), Some(m), "{expr}");
                assert_eq!(f.decide(&|_| false, rec), None, "{expr}");
                let d = f.decide(&|id| addrs.contains(&id), rec);
                assert!(d.is_none_or(|d| d == m), "{expr}");
            }
        }
        assert_eq!(
            Filter::compile("").unwrap().decide(&|_| false, &h),
            Some(true)
        );
    }

    #[test]
    fn all_eq_needs_every_value() {
        let two_equal = Rec::default().u("tcp.port", 80).u("tcp.port", 80);
        assert!(run("tcp.port === 80", &two_equal));
        assert!(!run("tcp.port !== 80", &two_equal));
        assert!(!run("tcp.port != 80", &two_equal));
        assert!(!run("tcp.port === 80", &Rec::default()));
    }

    #[test]
    fn contains_on_binary_strings() {
        let r = Rec::default().with("http.user_agent", Owned::S(b"\x00\xffMozilla\x01".to_vec()));
        assert!(run("http.user_agent contains \"\\xffMoz\"", &r));
        assert!(run("http.user_agent contains \"\\x00\"", &r));
        assert!(!run("http.user_agent contains \"\\x02\"", &r));
        assert!(run("http.user_agent matches \"^\\\\x00\"", &r));
    }

    #[test]
    fn early_stop_and_mismatched_values_are_safe() {
        // A record that gives values of the wrong type must not match nor panic.
        let weird = Rec::default()
            .s("tcp.port", "80")
            .with("ip.addr", Owned::U(1))
            .with("http.host", Owned::U(5));
        for e in [
            "tcp.port == 80",
            "ip.addr == 0.0.0.1",
            "http.host contains \"5\"",
            "tcp.port & 1",
            "http.host matches \".\"",
        ] {
            assert!(!run(e, &weird), "{e}");
        }
        assert!(run("tcp.port", &weird));
    }

    #[test]
    fn fields_and_protocols_used() {
        let f = Filter::compile(
            "tcp.port == 80 and (dns.qry.name contains \"x\" or tcp.port == 81) or tls.sni",
        )
        .unwrap();
        let names: Vec<_> = f
            .fields_used()
            .filter_map(fields::get)
            .map(|d| d.name)
            .collect();
        assert_eq!(
            names,
            vec![
                "tcp.port",
                "dns.qry.name",
                "tls.handshake.extensions_server_name"
            ]
        );
        let protos: Vec<_> = f
            .protocols_needed()
            .filter_map(fields::get)
            .map(|d| d.name)
            .collect();
        assert_eq!(protos, vec!["tcp", "dns", "tls"]);
        assert!(!f.is_trivially_true());
        let blank = Filter::compile("  ").unwrap();
        assert!(blank.is_trivially_true());
        assert!(blank.matches(&Rec::default()));
        assert_eq!(blank.fields_used().count(), 0);
    }

    /// The TUI compiles on the main thread and evaluates on the worker.
    #[test]
    fn filter_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Filter>();
    }

    /// Every prefix of the corpus's truth expressions (and a few with escapes and
    /// non-ASCII text) compiles or fails with a span inside the input; never panics.
    #[test]
    fn every_prefix_compiles_or_errors_cleanly() {
        let file = include_str!("../../../../tests/data/filter-expressions.txt");
        let extra = [
            "http.host == \"\\x48\\u00e9\\110\" or tls.sni ~ r\"\\d+é\"",
            "ip.addr in {10.0.0.1 .. 10.0.0.9, ::1}",
        ];
        let mut errors = 0;
        for e in file.lines().chain(extra) {
            for (cut, _) in e.char_indices().chain([(e.len(), ' ')]) {
                let prefix = &e[..cut];
                match Filter::compile(prefix) {
                    Ok(f) => {
                        let _ = f.matches(&http_get());
                    }
                    Err(err) => {
                        errors += 1;
                        assert!(
                            err.span.start <= err.span.end && err.span.end <= prefix.len(),
                            "{prefix:?}: {err:?}"
                        );
                        assert_eq!(err.render(prefix).lines().count(), 3, "{prefix:?}");
                    }
                }
            }
        }
        assert!(errors > 100);
    }

    proptest! {
        #[test]
        fn arbitrary_filters_never_panic(s in "[a-z_.0-9:/ (){}!=<>&|~\",\\\\-]{0,80}") {
            if let Ok(f) = Filter::compile(&s) {
                let _ = f.matches(&http_get());
                let _ = f.matches(&Rec::default());
            }
        }

        #[test]
        fn field_shaped_filters_never_panic(
            field in proptest::sample::select(fields::all().iter().map(|d| d.name).collect::<Vec<_>>()),
            op in proptest::sample::select(vec!["==", "!=", "===", "!==", "<", ">=", "contains", "matches", "in", "&", ""]),
            rhs in "[0-9a-fx:./\"{}, ]{0,24}",
        ) {
            let s = format!("{field} {op} {rhs}");
            match Filter::compile(&s) {
                Ok(f) => { let _ = f.matches(&http_get()); let _ = f.matches(&dns_answer()); }
                Err(e) => prop_assert!(e.span.end <= s.len()),
            }
        }

        /// `not` really negates, and `!=` is never true where `==` is (tshark 4.0).
        #[test]
        fn negation_laws(port in 0u64..70000, v in 0u64..70000) {
            let r = Rec::default().u("tcp.port", port).u("tcp.port", 80);
            let eq = run(&format!("tcp.port == {v}"), &r);
            prop_assert_eq!(run(&format!("not tcp.port == {v}"), &r), !eq);
            prop_assert_eq!(run(&format!("tcp.port != {v}"), &r), !eq);
            prop_assert_eq!(run(&format!("tcp.port !== {v}"), &r), !(port == v && v == 80));
        }
    }
}
