//! RFC 9204 Appendix B, byte for byte, and hand-built streams covering every encoder
//! instruction, field line representation, blocking path and error.

use super::decoder::decode_required_insert_count;
use super::*;
use crate::proto::http2::hpack::huffman;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn entries(d: &QpackDecoder) -> Vec<(u64, String, String)> {
    d.table_entries()
        .into_iter()
        .map(|(i, n, v)| {
            (
                i,
                String::from_utf8(n).unwrap(),
                String::from_utf8(v).unwrap(),
            )
        })
        .collect()
}

fn done(d: Result<Decoded, QpackError>) -> Vec<(String, String)> {
    match d {
        Ok(Decoded::Done(s)) => s
            .pairs()
            .into_iter()
            .map(|(n, v)| {
                (
                    String::from_utf8(n.to_vec()).unwrap(),
                    String::from_utf8(v.to_vec()).unwrap(),
                )
            })
            .collect(),
        other => panic!("not decoded: {other:?}"),
    }
}

fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// Test encoder primitives (§4.1.1, §4.1.2).
fn int(out: &mut Vec<u8>, flags: u8, n: u32, v: u64) {
    let mask = ((1u16 << n) - 1) as u64;
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

fn string(out: &mut Vec<u8>, flags: u8, n: u32, s: &[u8], huff: bool) {
    if huff {
        let h = huffman::encode(s);
        int(out, flags | (1 << n), n, h.len() as u64);
        out.extend(h);
    } else {
        int(out, flags, n, s.len() as u64);
        out.extend(s);
    }
}

/// RFC 9204 B.1–B.5 in sequence on one decoder (capacity 220, as in the appendix).
#[test]
fn rfc9204_appendix_b() {
    let mut d = QpackDecoder::new(220, 16);

    // B.1 Literal Field Line with Name Reference, static only.
    let s0 = hex("0000 510b 2f69 6e64 6578 2e68 746d 6c");
    assert_eq!(done(d.decode(0, &s0)), kv(&[(":path", "/index.html")]));

    // B.2 Dynamic Table: encoder stream, then stream 4.
    let enc = hex("3fbd01 c00f 7777 772e 6578 616d 706c 652e 636f 6d
         c10c 2f73 616d 706c 652f 7061 7468");
    assert_eq!(d.on_encoder_bytes(&enc), Ok(vec![]));
    assert_eq!(d.table_capacity(), 220);
    assert_eq!(
        entries(&d),
        vec![
            (0, ":authority".into(), "www.example.com".into()),
            (1, ":path".into(), "/sample/path".into()),
        ]
    );
    assert_eq!(d.table_size(), 106);
    let s4 = hex("0381 10 11");
    let Ok(Decoded::Done(sec)) = d.decode(4, &s4) else {
        panic!("B.2 stream 4")
    };
    assert_eq!((sec.required_insert_count, sec.base), (2, 0));
    assert_eq!(
        done(Ok(Decoded::Done(sec))),
        kv(&[(":authority", "www.example.com"), (":path", "/sample/path")])
    );
    // Its decoder stream: Section Acknowledgment of stream 4.
    let mut ds = DecoderStreamParser::new();
    assert_eq!(
        ds.push(&hex("84")),
        Ok(vec![DecoderInstruction::SectionAcknowledgment {
            stream_id: 4
        }])
    );

    // B.3 Speculative Insert.
    let enc = hex("4a63 7573 746f 6d2d 6b65 790c 6375 7374 6f6d 2d76 616c 7565");
    assert_eq!(d.on_encoder_bytes(&enc), Ok(vec![]));
    assert_eq!(d.table_size(), 160);
    assert_eq!(
        entries(&d).last(),
        Some(&(2, "custom-key".into(), "custom-value".into()))
    );
    assert_eq!(
        ds.push(&hex("01")),
        Ok(vec![DecoderInstruction::InsertCountIncrement {
            increment: 1
        }])
    );

    // B.4 Duplicate Instruction, Stream Cancellation.
    assert_eq!(d.on_encoder_bytes(&hex("02")), Ok(vec![]));
    assert_eq!(
        entries(&d).last(),
        Some(&(3, ":authority".into(), "www.example.com".into()))
    );
    assert_eq!(d.table_size(), 217);
    let s8 = hex("0500 80 c1 81");
    assert_eq!(
        done(d.decode(8, &s8)),
        kv(&[
            (":authority", "www.example.com"),
            (":path", "/"),
            ("custom-key", "custom-value"),
        ])
    );
    assert_eq!(
        ds.push(&hex("48")),
        Ok(vec![DecoderInstruction::StreamCancellation {
            stream_id: 8
        }])
    );

    // B.5 Dynamic Table Insert, Eviction.
    let enc = hex("810d 6375 7374 6f6d 2d76 616c 7565 32");
    assert_eq!(d.on_encoder_bytes(&enc), Ok(vec![]));
    assert_eq!(d.table_size(), 215);
    assert_eq!(
        entries(&d),
        vec![
            (1, ":path".into(), "/sample/path".into()),
            (2, "custom-key".into(), "custom-value".into()),
            (3, ":authority".into(), "www.example.com".into()),
            (4, "custom-key".into(), "custom-value2".into()),
        ]
    );
    assert_eq!(
        ds.push(&hex("01")),
        Ok(vec![DecoderInstruction::InsertCountIncrement {
            increment: 1
        }])
    );
    // Entry 0 was evicted: a section that names it now fails (§2.2.3).
    assert!(matches!(
        d.decode(12, &hex("0500 83")),
        Err(QpackError::BadDynamicIndex { absolute: 0, .. })
    ));
}

#[test]
fn static_table_is_appendix_a() {
    use super::static_table::{get, STATIC_TABLE};
    assert_eq!(STATIC_TABLE.len(), 99);
    assert_eq!(get(0), Some((&b":authority"[..], &b""[..])));
    assert_eq!(get(17), Some((&b":method"[..], &b"GET"[..])));
    assert_eq!(get(25), Some((&b":status"[..], &b"200"[..])));
    assert_eq!(get(71), Some((&b":status"[..], &b"500"[..])));
    assert_eq!(get(98), Some((&b"x-frame-options"[..], &b"sameorigin"[..])));
    assert_eq!(get(99), None);
    assert_eq!(get(u64::MAX), None);
}

/// §4.5.1.1's worked rules, including the wrap-around.
#[test]
fn required_insert_count_decoding() {
    // MaxEntries = 3 (capacity 100), FullRange = 6.
    assert_eq!(decode_required_insert_count(0, 100, 0), Ok(0));
    // With nothing inserted, at most 3 may be required: encoded 1 would mean 6.
    assert_eq!(
        decode_required_insert_count(1, 100, 0),
        Err(QpackError::BadRequiredInsertCount { encoded: 1 })
    );
    assert_eq!(decode_required_insert_count(3, 100, 2), Ok(2));
    // After 10 inserts, encoded 5 means 10 (10 % 6 + 1 = 5).
    assert_eq!(decode_required_insert_count(5, 100, 10), Ok(10));
    // ... and 12 (blocked: 12 % 6 + 1 = 1).
    assert_eq!(decode_required_insert_count(1, 100, 10), Ok(12));
    assert_eq!(decode_required_insert_count(1, 100, 12), Ok(12));
    assert_eq!(
        decode_required_insert_count(7, 100, 0),
        Err(QpackError::BadRequiredInsertCount { encoded: 7 })
    );
    // No dynamic table: any non-zero encoding is invalid.
    assert_eq!(
        decode_required_insert_count(1, 0, 0),
        Err(QpackError::BadRequiredInsertCount { encoded: 1 })
    );
    // Every count an encoder may require round-trips across many wraps: total - 2 ..=
    // total + 3, since 3 entries fit, so a lower count could name only evicted entries.
    for total in 0..40u64 {
        for ric in total.saturating_sub(2).max(1)..=total + 3 {
            let encoded = ric % 6 + 1;
            assert_eq!(decode_required_insert_count(encoded, 100, total), Ok(ric));
        }
    }
}

/// Every encoder instruction and every field line representation, Huffman and plain,
/// with a section that blocks and is released by the encoder stream.
#[test]
fn hand_built_streams_and_blocking() {
    let mut d = QpackDecoder::new(4096, 2);
    let mut enc = Vec::new();
    int(&mut enc, 0x20, 5, 1000); // Set Dynamic Table Capacity = 1000
    int(&mut enc, 0xc0, 6, 95); // Insert, static name 95 (user-agent)
    string(&mut enc, 0, 7, b"wiretale/1", true);
    string(&mut enc, 0x40, 5, b"x-trace", true); // Insert with literal name
    string(&mut enc, 0, 7, b"abc123", false);
    // Before the rest arrives, a section needing 4 entries blocks.
    let mut sec = Vec::new();
    int(&mut sec, 0, 8, 5); // RIC = 4: 4 % (2 * MaxEntries 128) + 1
    int(&mut sec, 0x80, 7, 1); // S = 1, delta 1: Base = 2
    int(&mut sec, 0x80, 6, 0); // indexed dynamic, rel 0 -> abs 1 (x-trace)
    int(&mut sec, 0x80, 6, 1); // indexed dynamic, rel 1 -> abs 0 (user-agent)
    int(&mut sec, 0x10, 4, 0); // post-base 0 -> abs 2
    int(&mut sec, 0x00, 3, 1); // literal post-base name ref 1 -> abs 3, N = 0
    string(&mut sec, 0, 7, b"v", false);
    int(&mut sec, 0x08, 3, 1); // same with N = 1
    string(&mut sec, 0, 7, b"secret", true);
    int(&mut sec, 0x50, 4, 1); // literal, static name 1 (:path)
    string(&mut sec, 0, 7, b"/q?x=1", true);
    int(&mut sec, 0x40, 4, 0); // literal, dynamic name rel 0 -> abs 1
    string(&mut sec, 0, 7, b"zz", false);
    string(&mut sec, 0x20, 3, b"custom", true); // literal name, Huffman
    string(&mut sec, 0, 7, b"yes", false);
    string(&mut sec, 0x30, 3, b"auth", false); // literal name, N = 1
    string(&mut sec, 0, 7, b"", false);
    int(&mut sec, 0xc0, 6, 17); // static :method GET

    assert_eq!(d.on_encoder_bytes(&enc), Ok(vec![]));
    assert_eq!(d.insert_count(), 2);
    assert_eq!(
        d.decode(0, &sec),
        Ok(Decoded::Blocked {
            required_insert_count: 4
        })
    );
    assert_eq!(d.blocked_streams(), vec![0]);

    let mut enc2 = Vec::new();
    int(&mut enc2, 0x00, 5, 1); // Duplicate rel 1 -> abs 0 (user-agent) = abs 2
    int(&mut enc2, 0x80, 6, 0); // Insert, dynamic name rel 0 -> abs 2 name
    string(&mut enc2, 0, 7, b"other/2", false);
    // Delivered one byte at a time: instructions span calls.
    let mut got = Vec::new();
    for b in &enc2 {
        got.extend(d.on_encoder_bytes(std::slice::from_ref(b)).unwrap());
    }
    assert_eq!(d.insert_count(), 4);
    assert!(d.blocked_streams().is_empty());
    assert_eq!(got.len(), 1);
    let (id, res) = got.remove(0);
    assert_eq!(id, 0);
    let s = res.unwrap();
    assert_eq!((s.required_insert_count, s.base), (4, 2));
    assert_eq!(
        done(Ok(Decoded::Done(s.clone()))),
        kv(&[
            ("x-trace", "abc123"),
            ("user-agent", "wiretale/1"),
            ("user-agent", "wiretale/1"),
            ("user-agent", "v"),
            ("user-agent", "secret"),
            (":path", "/q?x=1"),
            ("x-trace", "zz"),
            ("custom", "yes"),
            ("auth", ""),
            (":method", "GET"),
        ])
    );
    let never: Vec<bool> = s.fields.iter().map(|f| f.never_indexed).collect();
    assert_eq!(
        never,
        [false, false, false, false, true, false, false, false, true, false]
    );
}

#[test]
fn blocked_streams_are_bounded_and_cancellable() {
    let mut d = QpackDecoder::new(4096, 1);
    // RIC 1 with an empty table blocks (MaxEntries 128: encoded 2).
    assert_eq!(
        d.decode(0, &[0x02, 0x00, 0x10]),
        Ok(Decoded::Blocked {
            required_insert_count: 1
        })
    );
    assert_eq!(
        d.decode(4, &[0x02, 0x00, 0x10]),
        Err(QpackError::TooManyBlockedStreams { max: 1 })
    );
    assert!(d.cancel_stream(0));
    assert!(!d.cancel_stream(0));
    assert!(d.decode(4, &[0x02, 0x00, 0x10]).is_ok());
    // No blocking allowed at all.
    let mut d = QpackDecoder::new(4096, 0);
    assert_eq!(
        d.decode(0, &[0x02, 0x00, 0x10]),
        Err(QpackError::TooManyBlockedStreams { max: 0 })
    );
}

#[test]
fn unblocked_section_with_bad_reference_reports_its_error() {
    let mut d = QpackDecoder::new(4096, 4);
    // RIC 1, Base 1, indexed rel 5: below zero once decoded.
    assert!(matches!(
        d.decode(8, &[0x02, 0x00, 0x85]),
        Ok(Decoded::Blocked { .. })
    ));
    let mut enc = vec![0x3f, 0xe1, 0x1f]; // capacity 4096
    enc.extend([0xc0 | 17, 0x01, b'x']); // insert static name 17, value "x"
    let got = d.on_encoder_bytes(&enc).unwrap();
    assert_eq!(got.len(), 1);
    assert!(matches!(
        got[0],
        (8, Err(QpackError::BeyondRequiredInsertCount { .. }))
    ));
}

#[test]
fn encoder_stream_errors() {
    // Capacity above the announced maximum.
    let mut d = QpackDecoder::new(100, 0);
    let mut e = Vec::new();
    int(&mut e, 0x20, 5, 101);
    assert_eq!(
        d.on_encoder_bytes(&e),
        Err(QpackError::CapacityExceeded {
            requested: 101,
            max: 100
        })
    );
    // The decoder stays failed.
    assert!(d.on_encoder_bytes(&[]).is_err());

    // Insert with no capacity set.
    let mut d = QpackDecoder::new(100, 0);
    assert!(matches!(
        d.on_encoder_bytes(&[0xc0 | 17, 0x00]),
        Err(QpackError::EntryTooLarge {
            size: 39,
            capacity: 0
        })
    ));

    // Entry larger than the capacity.
    let mut d = QpackDecoder::new(100, 0);
    let mut e = Vec::new();
    int(&mut e, 0x20, 5, 40);
    int(&mut e, 0xc0, 6, 17);
    string(&mut e, 0, 7, b"0123456789", false);
    assert!(matches!(
        d.on_encoder_bytes(&e),
        Err(QpackError::EntryTooLarge { .. })
    ));

    // Static index 99, dynamic name and duplicate of nothing.
    let mut d = QpackDecoder::new(100, 0);
    assert_eq!(
        d.on_encoder_bytes(&[0x3f, 0x45, 0xc0 | 0x3f, 0x24, 0x00]),
        Err(QpackError::BadStaticIndex { index: 99 })
    );
    let mut d = QpackDecoder::new(100, 0);
    assert!(matches!(
        d.on_encoder_bytes(&[0x3f, 0x45, 0x80, 0x00]),
        Err(QpackError::BadDynamicIndex { .. })
    ));
    let mut d = QpackDecoder::new(100, 0);
    assert!(matches!(
        d.on_encoder_bytes(&[0x3f, 0x45, 0x00]),
        Err(QpackError::BadDynamicIndex { .. })
    ));

    // Bad Huffman in a value.
    let mut d = QpackDecoder::new(100, 0);
    assert_eq!(
        d.on_encoder_bytes(&[0x3f, 0x45, 0xc0 | 17, 0x81, 0xff]),
        Err(QpackError::Huffman)
    );

    // A string longer than any entry could be, even before its bytes arrive.
    let mut d = QpackDecoder::new(100, 0);
    let mut e = Vec::new();
    int(&mut e, 0x20, 5, 100);
    int(&mut e, 0xc0, 6, 17);
    int(&mut e, 0, 7, 100_000);
    assert!(matches!(
        d.on_encoder_bytes(&e),
        Err(QpackError::StringTooLong { .. })
    ));

    // A truncated instruction is just pending.
    let mut d = QpackDecoder::new(100, 0);
    assert_eq!(d.on_encoder_bytes(&[0x3f]), Ok(vec![]));
    assert_eq!(d.on_encoder_bytes(&[0x45]), Ok(vec![]));
    assert_eq!(d.table_capacity(), 100);
}

#[test]
fn field_section_errors() {
    let mut d = QpackDecoder::new(4096, 4);
    assert_eq!(d.decode(0, &[]), Err(QpackError::Truncated));
    assert_eq!(d.decode(0, &[0x00]), Err(QpackError::Truncated));
    assert_eq!(
        d.decode(0, &[0x00, 0x00, 0xc0 | 0x3f, 0x24]),
        Err(QpackError::BadStaticIndex { index: 99 })
    );
    // Base below zero: RIC 0 with sign bit.
    assert!(matches!(
        d.decode(0, &[0x00, 0x80]),
        Err(QpackError::BadBase { .. })
    ));
    // Dynamic reference with RIC 0.
    assert!(matches!(
        d.decode(0, &[0x00, 0x00, 0x80]),
        Err(QpackError::BeyondRequiredInsertCount { .. })
    ));
    // Post-base reference with RIC 0.
    assert!(matches!(
        d.decode(0, &[0x00, 0x00, 0x10]),
        Err(QpackError::BeyondRequiredInsertCount { .. })
    ));
    // Literal whose value runs past the section.
    assert_eq!(
        d.decode(0, &[0x00, 0x00, 0x51, 0x05, b'/']),
        Err(QpackError::Truncated)
    );
    // Encoded RIC past the full range (2 * 128).
    assert_eq!(
        d.decode(0, &[0xff, 0x02, 0x00]),
        Err(QpackError::BadRequiredInsertCount { encoded: 257 })
    );
    // A decoded section past the limit.
    let mut d = QpackDecoder::new(0, 0).with_max_field_section_size(100);
    let mut s = vec![0x00, 0x00];
    for _ in 0..3 {
        int(&mut s, 0xc0, 6, 95); // user-agent "" = 42 each
    }
    assert_eq!(
        d.decode(0, &s),
        Err(QpackError::FieldSectionTooLarge { max: 100 })
    );
    s.truncate(4);
    assert!(d.decode(0, &s).is_ok());
}

#[test]
fn decoder_stream_parser() {
    let mut p = DecoderStreamParser::new();
    // Section Acknowledgment of stream 200 (7-bit prefix, 2 bytes), split.
    assert_eq!(p.push(&[0xff]), Ok(vec![]));
    assert_eq!(
        p.push(&[0x49, 0x41, 0x03]),
        Ok(vec![
            DecoderInstruction::SectionAcknowledgment { stream_id: 200 },
            DecoderInstruction::StreamCancellation { stream_id: 1 },
            DecoderInstruction::InsertCountIncrement { increment: 3 },
        ])
    );
    assert_eq!(p.push(&[0x00]), Err(QpackError::ZeroInsertCountIncrement));
}
