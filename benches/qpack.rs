//! QPACK field-section decoding speed (`proto::qpack`, RFC 9204) on a typical browser
//! request: a first request (static references and Huffman-coded literals, as with an
//! empty dynamic table) and a later one answered mostly from the dynamic table after the
//! encoder stream inserted the long fields (user-agent, accept-language, cookie).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wiretale::proto::qpack::{Decoded, QpackDecoder};

fn int(out: &mut Vec<u8>, flags: u8, n: u32, v: u64) {
    let mask = (1u64 << n) - 1;
    if v < mask {
        out.push(flags | v as u8);
        return;
    }
    out.push(flags | mask as u8);
    let mut v = v - mask;
    while v >= 128 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn plain(out: &mut Vec<u8>, flags: u8, n: u32, s: &[u8]) {
    int(out, flags, n, s.len() as u64);
    out.extend(s);
}

const UA: &[u8] = b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
// RFC 7541 C.4: Huffman codings of "www.example.com", "no-cache", "custom-value".
const H_AUTHORITY: &[u8] = &[
    0x8c, 0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff,
];
const H_NO_CACHE: &[u8] = &[0x86, 0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf];
const H_CUSTOM_VALUE: &[u8] = &[0x89, 0x25, 0xa8, 0x49, 0xe9, 0x5b, 0xb8, 0xe8, 0xb4, 0xbf];

/// First request: no dynamic table (Required Insert Count 0).
fn first_request() -> Vec<u8> {
    let mut s = vec![0x00, 0x00];
    int(&mut s, 0xc0, 6, 17); // :method GET
    int(&mut s, 0xc0, 6, 23); // :scheme https
    int(&mut s, 0x50, 4, 0); // :authority, Huffman value
    s.extend(H_AUTHORITY);
    int(&mut s, 0x50, 4, 1); // :path
    plain(&mut s, 0, 7, b"/static/app.js?v=20261206");
    int(&mut s, 0x50, 4, 95); // user-agent
    plain(&mut s, 0, 7, UA);
    int(&mut s, 0xc0, 6, 29); // accept */*
    int(&mut s, 0xc0, 6, 31); // accept-encoding
    int(&mut s, 0x50, 4, 72); // accept-language
    plain(&mut s, 0, 7, b"en-US,en;q=0.9");
    int(&mut s, 0x50, 4, 36); // cache-control, Huffman no-cache
    s.extend(H_NO_CACHE);
    plain(&mut s, 0x20, 3, b"sec-fetch-mode"); // literal name
    plain(&mut s, 0, 7, b"no-cors");
    plain(&mut s, 0x20, 3, b"x-custom");
    s.extend(H_CUSTOM_VALUE);
    s
}

/// Encoder stream inserting the long fields, and a later request referring to them.
fn dynamic_request() -> (Vec<u8>, Vec<u8>) {
    let mut e = Vec::new();
    int(&mut e, 0x20, 5, 4096);
    int(&mut e, 0xc0, 6, 0); // :authority
    e.extend(H_AUTHORITY);
    int(&mut e, 0xc0, 6, 95); // user-agent
    plain(&mut e, 0, 7, UA);
    int(&mut e, 0xc0, 6, 72); // accept-language
    plain(&mut e, 0, 7, b"en-US,en;q=0.9");
    int(&mut e, 0xc0, 6, 5); // cookie
    plain(
        &mut e,
        0,
        7,
        b"session=0123456789abcdef0123456789abcdef; theme=dark",
    );
    plain(&mut e, 0x40, 5, b"sec-fetch-mode");
    plain(&mut e, 0, 7, b"no-cors");
    let mut s = Vec::new();
    int(&mut s, 0, 8, 6); // Required Insert Count 5: 5 % (2 * MaxEntries 128) + 1
    int(&mut s, 0, 7, 0); // Base 5
    int(&mut s, 0xc0, 6, 17);
    int(&mut s, 0xc0, 6, 23);
    for rel in 0..5 {
        int(&mut s, 0x80, 6, rel); // the five dynamic entries
    }
    int(&mut s, 0x50, 4, 1);
    plain(&mut s, 0, 7, b"/static/style.css?v=20261206");
    int(&mut s, 0xc0, 6, 29);
    int(&mut s, 0xc0, 6, 31);
    (e, s)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("qpack");
    g.throughput(Throughput::Elements(1));
    let first = first_request();
    let mut d = QpackDecoder::new(4096, 16);
    assert!(matches!(d.decode(0, &first), Ok(Decoded::Done(s)) if s.fields.len() == 11));
    g.bench_function("request_static_huffman", |b| {
        b.iter(|| d.decode(0, black_box(&first)))
    });
    let (enc, sec) = dynamic_request();
    let mut d = QpackDecoder::new(4096, 16);
    d.on_encoder_bytes(&enc).expect("encoder stream");
    assert!(matches!(d.decode(4, &sec), Ok(Decoded::Done(s)) if s.fields.len() == 10));
    g.bench_function("request_dynamic_table", |b| {
        b.iter(|| d.decode(4, black_box(&sec)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
