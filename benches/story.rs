//! Story throughput: naming, page grouping and narration over the records of a whole
//! capture (collected once, outside the timing), as `wiretale story` does after reading.
//!
//! File: `WIRETALE_BENCH_FILE` (e.g. `/tmp/bench/small.pcap` from
//! `../shared/bench/gen.sh`), default a shared capture with DNS and HTTP.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wiretale::analysis::{Engine, EngineConfig};
use wiretale::capture::open;
use wiretale::story::{self, StoryInput};

fn bench_file() -> PathBuf {
    std::env::var_os("WIRETALE_BENCH_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/captures/zeek/http-206_example_b.pcap")
        })
}

fn story_bench(c: &mut Criterion) {
    let path = bench_file();
    let mut src = open(&path).expect("open bench file");
    let mut engine = Engine::new(EngineConfig::default());
    while let Ok(Some(f)) = src.next_frame() {
        engine.process(&f);
    }
    engine.finish();
    let mut conns = engine.take_conns();
    let mut dns = engine.take_dns(true);
    let http = engine.take_http();
    conns.sort_by_key(|c| c.conn.id);
    dns.sort_by_key(|t| t.seq);
    let input = StoryInput {
        conns: &conns,
        dns: &dns,
        http: &http,
    };
    let mut g = c.benchmark_group("story");
    // Records in, so the figure reads as records per second.
    g.throughput(Throughput::Elements(
        (conns.len() + dns.len() + http.len()) as u64,
    ));
    g.bench_function("tell", |b| {
        b.iter(|| black_box(story::tell(&input).events.len()))
    });
    g.finish();
}

criterion_group!(benches, story_bench);
criterion_main!(benches);
