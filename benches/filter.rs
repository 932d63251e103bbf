//! Display-filter evaluation speed: compile a dozen typical expressions once, then
//! evaluate each against a synthetic record (a TCP/HTTP packet) many times. The target
//! is tens of nanoseconds per simple expression, with no allocation.

use std::hint::black_box;
use std::net::IpAddr;

use criterion::{criterion_group, criterion_main, Criterion};
use wiretale::filter::{fields, FieldId, Filter, Record, Value};

/// Values indexed by field id; visiting is a slice walk, as a real engine's would be.
struct Synthetic {
    values: Vec<Vec<Val>>,
}

enum Val {
    U(u64),
    B(bool),
    F(f64),
    Ip(IpAddr),
    S(&'static [u8]),
    P,
}

impl Synthetic {
    fn new() -> Self {
        let mut values: Vec<Vec<Val>> = fields::all().iter().map(|_| Vec::new()).collect();
        let mut put = |name: &str, v: Val| {
            let id = fields::lookup(name).expect(name).id;
            values[usize::from(id.0)].push(v);
        };
        for p in ["frame", "eth", "ip", "tcp", "http", "http.request"] {
            put(p, Val::P);
        }
        put("frame.number", Val::U(1234));
        put("frame.len", Val::U(590));
        put("frame.time_relative", Val::F(12.5));
        put("ip.addr", Val::Ip("10.1.2.3".parse().unwrap()));
        put("ip.addr", Val::Ip("93.184.216.34".parse().unwrap()));
        put("ip.src", Val::Ip("10.1.2.3".parse().unwrap()));
        put("ip.ttl", Val::U(64));
        put("tcp.port", Val::U(51234));
        put("tcp.port", Val::U(80));
        put("tcp.flags", Val::U(0x18));
        put("tcp.flags.syn", Val::B(false));
        put("tcp.stream", Val::U(17));
        put("tcp.len", Val::U(524));
        put("http.request.method", Val::S(b"GET"));
        put("http.host", Val::S(b"www.example.com"));
        put(
            "http.request.uri",
            Val::S(b"/static/js/app.bundle.min.js?v=123456"),
        );
        Synthetic { values }
    }
}

impl Record for Synthetic {
    fn visit(&self, field: FieldId, f: &mut dyn FnMut(Value<'_>) -> bool) {
        let Some(vals) = self.values.get(usize::from(field.0)) else {
            return;
        };
        for v in vals {
            let v = match v {
                Val::U(x) => Value::UInt(*x),
                Val::B(b) => Value::Bool(*b),
                Val::F(x) => Value::Float(*x),
                Val::Ip(a) => Value::Ip(*a),
                Val::S(s) => Value::Str(s),
                Val::P => Value::Present,
            };
            if f(v) {
                return;
            }
        }
    }
}

const EXPRESSIONS: &[&str] = &[
    "tcp",
    "tcp.port == 80",
    "ip.addr == 93.184.216.34",
    "ip.addr == 198.18.0.0/15",
    "ip.addr != 10.1.2.3",
    "tcp.flags.syn == 1 and tcp.flags.ack == 0",
    "tcp.flags & 0x12",
    "tcp.port in {80, 443, 8080, 8443}",
    "frame.len > 1000 or frame.time_relative < 1.5",
    "http.host contains \"example\"",
    "http.request.uri matches \"\\\\.js$\"",
    "dns or (tcp.stream == 17 and not udp)",
];

fn bench(c: &mut Criterion) {
    let rec = Synthetic::new();
    let mut g = c.benchmark_group("filter_matches");
    for e in EXPRESSIONS {
        let f = Filter::compile(e).expect(e);
        g.bench_function(*e, |b| b.iter(|| black_box(&f).matches(black_box(&rec))));
    }
    g.finish();
    c.bench_function("filter_compile", |b| {
        b.iter(|| {
            Filter::compile(black_box(
                "tcp.port in {80, 443} and ip.addr == 10.0.0.0/8 or http.host contains \"x\"",
            ))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
