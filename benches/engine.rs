//! End-to-end analysis throughput: every frame of a capture through the whole engine
//! (decode, defragmentation, connection table, reassembly, HTTP/TLS/DNS decoders), the
//! finished records drained every 4096 packets as the CLI does. The capture is read
//! into memory first, so this times the analysis, not the disk or the page cache.
//!
//! File: `WIRETALE_BENCH_FILE` (e.g. `/tmp/bench/small.pcap` from
//! `../shared/bench/gen.sh`), default a shared capture.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wiretale::analysis::{Engine, EngineConfig};
use wiretale::capture::{FrameSource, MemReader};

fn bench_file() -> PathBuf {
    std::env::var_os("WIRETALE_BENCH_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/captures/zeek/http-206_example_b.pcap")
        })
}

/// One full pass; returns counts so nothing is optimised away.
fn analyse(bytes: &[u8]) -> (u64, usize, usize, usize) {
    let mut src = MemReader::new(bytes);
    let mut engine = Engine::new(EngineConfig::default());
    let (mut n, mut conns, mut http, mut dns) = (0u64, 0, 0, 0);
    while let Ok(Some(f)) = src.next_frame() {
        let s = engine.process(&f);
        n += 1;
        black_box(&s);
        if n % 4096 == 0 {
            conns += engine.take_conns().len();
            http += engine.take_http().len();
            dns += engine.take_dns(false).len();
        }
    }
    engine.finish();
    conns += engine.take_conns().len();
    http += engine.take_http().len();
    dns += engine.take_dns(true).len();
    (n, conns, http, dns)
}

fn engine(c: &mut Criterion) {
    let path = bench_file();
    let bytes = std::fs::read(&path).expect("bench file");
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.sample_size(10);
    g.bench_function("full_analysis", |b| b.iter(|| black_box(analyse(&bytes))));
    g.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
