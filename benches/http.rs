//! HttpConn throughput: a real fixture stream replayed packet by packet, and a synthetic
//! keep-alive connection of many requests and chunked responses.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wiretale::base::{Direction, PacketId, Timestamp};
use wiretale::proto::http::HttpConn;

/// (direction, bytes) per packet of a fixture (tests/data/streams).
fn fixture(name: &str) -> Vec<(Direction, Vec<u8>)> {
    let base = format!("{}/tests/data/streams/{name}", env!("CARGO_MANIFEST_DIR"));
    let c2s = std::fs::read(format!("{base}.c2s.bin")).expect("fixture");
    let s2c = std::fs::read(format!("{base}.s2c.bin")).expect("fixture");
    let idx = std::fs::read_to_string(format!("{base}.idx")).expect("fixture");
    idx.lines()
        .filter(|l| l.starts_with("P "))
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let (off, len): (usize, usize) = (f[3].parse().unwrap(), f[4].parse().unwrap());
            if f[2] == "c" {
                (Direction::ClientToServer, c2s[off..off + len].to_vec())
            } else {
                (Direction::ServerToClient, s2c[off..off + len].to_vec())
            }
        })
        .collect()
}

/// 1000 request/response pairs, responses chunked in 4 chunks of 1 KiB, cut into
/// 1460-byte segments.
fn synthetic() -> Vec<(Direction, Vec<u8>)> {
    let mut out = Vec::new();
    let chunk = vec![b'x'; 1024];
    for i in 0..1000 {
        let req = format!(
            "GET /item/{i} HTTP/1.1\r\nHost: example.com\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"
        );
        out.push((Direction::ClientToServer, req.into_bytes()));
        let mut resp =
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                .to_vec();
        for _ in 0..4 {
            resp.extend_from_slice(b"400\r\n");
            resp.extend_from_slice(&chunk);
            resp.extend_from_slice(b"\r\n");
        }
        resp.extend_from_slice(b"0\r\n\r\n");
        for seg in resp.chunks(1460) {
            out.push((Direction::ServerToClient, seg.to_vec()));
        }
    }
    out
}

fn run(pkts: &[(Direction, Vec<u8>)]) -> usize {
    let mut c = HttpConn::new();
    let mut n = 0;
    for (i, (d, b)) in pkts.iter().enumerate() {
        c.feed(*d, Timestamp(i as i64), PacketId(i as u32), b);
        n += c.drain().count();
    }
    c.finish(Timestamp(0));
    n + c.drain().count()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("http");
    for (label, pkts) in [
        ("wikipedia-fixture", fixture("zeek__wikipedia.pcap--0")),
        (
            "pipelined-fixture",
            fixture("zeek__http-pipelined-requests.pcap--0"),
        ),
        ("synthetic-keepalive-chunked", synthetic()),
    ] {
        let bytes: usize = pkts.iter().map(|(_, b)| b.len()).sum();
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function(label, |b| b.iter(|| black_box(run(black_box(&pkts)))));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
