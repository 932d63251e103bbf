//! Parses every DNS message of `tests/data/dns-messages.tsv` (real payloads from the
//! shared captures), plus the TCP framing and the Info text, to watch the per-message
//! cost. Run with `cargo bench --bench dns`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wiretale::base::{Direction, PacketId, Timestamp};
use wiretale::proto::dns::{parse_message, text, DnsTcpStream};

/// (transport is tcp, payload) for every fixture row (TCP rows are not used: their
/// segments interleave directions and connections).
fn payloads() -> Vec<(bool, Vec<u8>)> {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/dns-messages.tsv");
    std::fs::read_to_string(p)
        .expect("fixture")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let h = f[8];
            let b = (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                .collect();
            (f[3] == "tcp", b)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let all = payloads();
    let udp: Vec<&Vec<u8>> = all.iter().filter(|(t, _)| !t).map(|(_, b)| b).collect();
    // Every UDP message re-framed with its RFC 1035 §4.2.2 length prefix: one long,
    // valid DNS-over-TCP stream made of real messages.
    let tcp: Vec<u8> = udp
        .iter()
        .flat_map(|b| {
            (b.len() as u16)
                .to_be_bytes()
                .into_iter()
                .chain(b.iter().copied())
        })
        .collect();
    let bytes: usize = udp.iter().map(|b| b.len()).sum();
    let mut g = c.benchmark_group("dns");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("parse_udp_corpus", |b| {
        b.iter(|| {
            for m in &udp {
                let _ = black_box(parse_message(black_box(m)));
            }
        })
    });
    let parsed: Vec<_> = udp.iter().filter_map(|b| parse_message(b).ok()).collect();
    g.bench_function("info_text_udp_corpus", |b| {
        b.iter(|| {
            for m in &parsed {
                black_box(text::info(m));
            }
        })
    });
    g.throughput(Throughput::Bytes(tcp.len() as u64));
    g.bench_function("tcp_stream_1400_byte_segments", |b| {
        b.iter(|| {
            let mut s = DnsTcpStream::new();
            for (i, seg) in tcp.chunks(1400).enumerate() {
                black_box(s.feed(
                    Direction::ClientToServer,
                    Timestamp(i as i64),
                    PacketId(i as u32),
                    seg,
                ));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
