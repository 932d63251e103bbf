//! Sequential read throughput: every frame of a capture through the streaming reader
//! and through the frame store's index (indexing, every frame in order, random frames). File: `WIRETALE_BENCH_FILE`, default a shared
//! capture. Read-only.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wiretale::base::PacketId;
use wiretale::capture::{open, FrameStore};

fn bench_file() -> PathBuf {
    std::env::var_os("WIRETALE_BENCH_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/captures/zeek/http-206_example_b.pcap")
        })
}

fn read(c: &mut Criterion) {
    let path = bench_file();
    let size = std::fs::metadata(&path).expect("bench file").len();
    let mut g = c.benchmark_group("read");
    g.throughput(Throughput::Bytes(size));
    g.bench_function("stream_sequential", |b| {
        b.iter(|| {
            let mut src = open(&path).expect("open");
            let mut n = 0u64;
            let mut bytes = 0u64;
            while let Some(f) = src.next_frame().expect("read") {
                n += 1;
                bytes += u64::from(f.meta.caplen) + u64::from(f.data.first().copied().unwrap_or(0));
            }
            black_box((n, bytes))
        })
    });
    g.bench_function("store_index_all", |b| {
        b.iter(|| {
            let mut s = FrameStore::open(&path).expect("open");
            s.index_all();
            black_box(s.len())
        })
    });
    let mut store = FrameStore::open(&path).expect("open");
    store.index_all();
    eprintln!(
        "frame index: {} packets, {} heap bytes, {} entries kept whole",
        store.len(),
        store.index_heap_bytes(),
        store.index_exceptions()
    );
    // Every frame in file order, as a re-filter reads them (`analysis::filter_index`):
    // the header in front of each packet is re-read from the map.
    g.bench_function("store_every_frame", |b| {
        b.iter(|| {
            let mut bytes = 0u64;
            for i in 0..store.len() as u32 {
                if let Some(f) = store.frame(PacketId(i)) {
                    bytes += u64::from(f.meta.caplen) + f.meta.ts.0 as u64;
                }
            }
            black_box(bytes)
        })
    });
    g.bench_function("store_random_frame", |b| {
        let n = store.len().max(1) as u32;
        let mut i = 0u32;
        b.iter(|| {
            i = i.wrapping_mul(2_654_435_761).wrapping_add(1) % n;
            black_box(store.frame(PacketId(i)).map(|f| f.data.len()))
        })
    });
    g.finish();
}

criterion_group!(benches, read);
criterion_main!(benches);
