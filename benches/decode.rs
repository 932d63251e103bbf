//! Decode throughput: every frame of one classic pcap, held in memory.
//!
//!   WIRETALE_BENCH_FILE=path/to/file.pcap cargo bench --bench decode
//!
//! Default file: `../shared/captures/zeek/web.pcap`. Reports bytes/s so the number compares
//! directly with the project's ≥ 1 GB/s target for full analysis.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use wiretale::base::LinkType;
use wiretale::decode::{decode, field_tree, info};

/// Minimal classic-pcap walker (16-byte records; the "modified" format's 24-byte records
/// too). A copy of the decode tests' walker: benches cannot see `#[cfg(test)]` code, and
/// the real reader belongs to `capture`.
fn load(path: &str) -> (LinkType, Vec<Vec<u8>>) {
    let d = std::fs::read(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let (le, rec) = match d.get(..4) {
        Some([0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1]) => (true, 16),
        Some([0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d]) => (false, 16),
        Some([0x34, 0xcd, 0xb2, 0xa1]) => (true, 24),
        Some([0xa1, 0xb2, 0xcd, 0x34]) => (false, 24),
        _ => panic!("{path} is not a classic pcap file"),
    };
    let u32at = |at: usize| -> u32 {
        let b: [u8; 4] = d[at..at + 4].try_into().expect("4 bytes");
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let link = LinkType(u32at(20) & 0x0fff_ffff);
    let mut frames = Vec::new();
    let mut at = 24;
    while at + rec <= d.len() {
        let caplen = u32at(at + 8) as usize;
        let Some(b) = d.get(at + rec..at + rec + caplen) else {
            break;
        };
        frames.push(b.to_vec());
        at += rec + caplen;
    }
    (link, frames)
}

fn bench(c: &mut Criterion) {
    let path = std::env::var("WIRETALE_BENCH_FILE").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/captures/zeek/web.pcap"
        )
        .to_string()
    });
    let (link, frames) = load(&path);
    let bytes: usize = frames.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("decode_all_frames", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for f in &frames {
                let p = decode(link, black_box(f));
                n += p.payload.len();
            }
            n
        })
    });
    g.bench_function("decode_and_info_all_frames", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for f in &frames {
                n += info(&decode(link, black_box(f))).len();
            }
            n
        })
    });
    g.finish();
    let mut g = c.benchmark_group("field_tree");
    g.throughput(Throughput::Elements(1));
    g.bench_function("first_frame", |b| {
        b.iter(|| field_tree(link, black_box(&frames[0])))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
