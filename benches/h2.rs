//! HTTP/2 engine throughput (frames + HPACK): the h2c test capture's connections replayed
//! packet by packet, a synthetic connection of 1000 streams (plain-literal HPACK, 4 KiB
//! responses in 1460-byte segments), and HPACK alone (wiretale's decoder,
//! `proto::http2::hpack`) on Huffman-coded blocks (RFC 7541 C.4 and C.6, the coding
//! browsers and servers use) and on a plain one (C.3.1). `loona-hpack` is used here only
//! to encode the synthetic connection.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wiretale::base::{ConnId, Direction, PacketId, Timestamp};
use wiretale::capture::{FrameSource, MemReader};
use wiretale::decode::{decode_defragmented, Defragmenter};
use wiretale::flow::{ConnTable, FlowConfig, FlowPacket, StreamSink};
use wiretale::proto::http2::hpack::HpackDecoder;
use wiretale::proto::http2::{H2Conn, PREFACE};

type Pkts = Vec<(Direction, Vec<u8>)>;

/// Reassembled (direction, bytes) deliveries of the capture's connections.
fn capture() -> Vec<Pkts> {
    #[derive(Default)]
    struct Collect(std::collections::BTreeMap<ConnId, Pkts>);
    impl StreamSink for Collect {
        fn data(&mut self, c: ConnId, d: Direction, _: Timestamp, _: PacketId, b: &[u8]) {
            self.0.entry(c).or_default().push((d, b.to_vec()));
        }
        fn gap(&mut self, _: ConnId, _: Direction, _: Timestamp, _: u64) {}
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/h2/h2c.pcap");
    let mut reader = MemReader::new(std::fs::read(path).expect("h2c.pcap"));
    let mut defrag = Defragmenter::default();
    let mut t = ConnTable::new(FlowConfig::default());
    let mut sink = Collect::default();
    while let Ok(Some(f)) = reader.next_frame() {
        let (id, ts) = (f.meta.id, f.meta.ts);
        decode_defragmented(&mut defrag, ts, f.meta.link, f.data, |pkt, whole, frag| {
            if let Some(p) = frag
                .analysable(pkt, whole)
                .and_then(|p| FlowPacket::from_decoded(id, ts, p))
            {
                t.process(&p, &mut sink);
            }
        });
    }
    t.finish(&mut sink);
    sink.0.into_values().collect()
}

fn frame(t: u8, f: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut b = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    b.push(t);
    b.push(f);
    b.extend_from_slice(&stream.to_be_bytes());
    b.extend_from_slice(payload);
    b
}

fn synthetic() -> Pkts {
    let mut ce = loona_hpack::Encoder::new();
    let mut se = loona_hpack::Encoder::new();
    let mut out = vec![(Direction::ClientToServer, PREFACE.to_vec())];
    out.push((Direction::ClientToServer, frame(4, 0, 0, &[])));
    out.push((Direction::ServerToClient, frame(4, 0, 0, &[])));
    let body = vec![b'x'; 4096];
    for i in 0..1000u32 {
        let sid = 2 * i + 1;
        let path = format!("/item/{i}");
        let req: Vec<(&[u8], &[u8])> = vec![
            (b":method", b"GET"),
            (b":scheme", b"https"),
            (b":authority", b"example.com"),
            (b":path", path.as_bytes()),
            (
                b"user-agent",
                b"bench/1.0 (a browser-sized user agent string, 80 bytes)",
            ),
            (b"accept", b"*/*"),
            (b"accept-encoding", b"gzip, deflate, br"),
        ];
        out.push((
            Direction::ClientToServer,
            frame(1, 0x05, sid, &ce.encode(req)),
        ));
        let resp: Vec<(&[u8], &[u8])> = vec![
            (b":status", b"200"),
            (b"content-type", b"text/plain"),
            (b"content-length", b"4096"),
            (b"server", b"bench"),
        ];
        let mut r = frame(1, 0x04, sid, &se.encode(resp));
        r.extend(frame(0, 0x01, sid, &body));
        for seg in r.chunks(1460) {
            out.push((Direction::ServerToClient, seg.to_vec()));
        }
    }
    out
}

fn run(pkts: &Pkts) -> usize {
    let mut c = H2Conn::new();
    let mut n = 0;
    for (i, (d, b)) in pkts.iter().enumerate() {
        c.feed(*d, Timestamp(i as i64), PacketId(i as u32), b);
        n += c.drain().count();
    }
    c.finish(Timestamp(0));
    n + c.drain().count()
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn bench(c: &mut Criterion) {
    let conns = capture();
    let bytes: usize = conns.iter().flatten().map(|(_, b)| b.len()).sum();
    let mut g = c.benchmark_group("h2");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("h2c_capture", |b| {
        b.iter(|| conns.iter().map(|p| run(black_box(p))).sum::<usize>())
    });
    let syn = synthetic();
    let bytes: usize = syn.iter().map(|(_, b)| b.len()).sum();
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("synthetic_1000_streams", |b| {
        b.iter(|| run(black_box(&syn)))
    });
    // RFC 7541 C.4.1: one Huffman-coded request block (4 fields, 17 bytes).
    let block = hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff");
    g.throughput(Throughput::Elements(1));
    g.bench_function("hpack_huffman_block", |b| {
        b.iter(|| {
            HpackDecoder::new()
                .decode(black_box(&block))
                .unwrap()
                .headers
                .len()
        })
    });
    let plain = hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d");
    g.bench_function("hpack_plain_block", |b| {
        b.iter(|| {
            HpackDecoder::new()
                .decode(black_box(&plain))
                .unwrap()
                .headers
                .len()
        })
    });
    // RFC 7541 C.6.1–C.6.3: three Huffman-coded response blocks on one decoder (table of
    // 256 bytes: evictions), 17 fields in all.
    let responses = [
        "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b \
         ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
        "4883 640e ffc1 c0bf",
        "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad \
         94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 \
         65c0 03ed 4ee5 b106 3d50 07",
    ]
    .map(hex);
    g.throughput(Throughput::Elements(3));
    g.bench_function("hpack_huffman_responses", |b| {
        b.iter(|| {
            let mut d = HpackDecoder::with_table_size(256);
            responses
                .iter()
                .map(|r| d.decode(black_box(r)).unwrap().headers.len())
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
