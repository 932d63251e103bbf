//! Property tests of the QPACK decoder (`proto::qpack`, RFC 9204): arbitrary encoder
//! streams, decoder streams and field sections never panic and stay within the memory
//! bounds; and streams built by a model encoder (every encoder instruction, dynamic and
//! post-base references, Huffman on and off, arbitrary chunking) decode to the model's
//! fields, including sections that arrive before the inserts they need (blocked).

use proptest::prelude::*;
use wiretale::proto::qpack::{
    Decoded, DecoderStreamParser, QpackDecoder, MAX_FIELD_SECTION_SIZE, MAX_TABLE_CAPACITY,
};

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

/// Plain string literal (H = 0); Huffman strings are covered by the unit tests.
fn string(out: &mut Vec<u8>, flags: u8, n: u32, s: &[u8]) {
    int(out, flags, n, s.len() as u64);
    out.extend(s);
}

fn check_bounds(d: &QpackDecoder, blocked_limit: u64) {
    assert!(d.table_size() <= d.table_capacity());
    assert!(d.table_capacity() <= MAX_TABLE_CAPACITY);
    assert!(d.blocked_streams().len() as u64 <= blocked_limit);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_input_never_panics(
        capacity in prop_oneof![Just(0u64), Just(220), Just(4096), Just(u64::MAX)],
        blocked in 0u64..4,
        ops in prop::collection::vec(
            (any::<u8>(), prop::collection::vec(any::<u8>(), 0..64)), 0..24),
    ) {
        let mut d = QpackDecoder::new(capacity, blocked);
        let mut ds = DecoderStreamParser::new();
        for (i, (kind, bytes)) in ops.iter().enumerate() {
            match kind % 3 {
                0 => { let _ = d.on_encoder_bytes(bytes); }
                1 => { let _ = d.decode(i as u64 * 4, bytes); }
                _ => { let _ = ds.push(bytes); }
            }
            check_bounds(&d, blocked);
        }
    }

    /// Model encoder: inserts (literal name, static name, dynamic name, duplicate),
    /// then a section naming random live entries, sent before or after the inserts.
    #[test]
    fn model_encoder_round_trips(
        inserts in prop::collection::vec(
            (0u8..4, "[a-z-]{1,12}", "[ -~]{0,20}", any::<prop::sample::Index>()), 1..30),
        refs in prop::collection::vec((0u8..4, any::<prop::sample::Index>()), 0..20),
        section_first in any::<bool>(),
        chunk in 1usize..9,
    ) {
        let capacity = 600u64;
        let mut d = QpackDecoder::new(capacity, 1);
        // The model table: absolute index -> (name, value), and which are live.
        let mut model: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut first_live = 0usize;
        let mut size = 0u64;
        let entry = |n: &[u8], v: &[u8]| n.len() as u64 + v.len() as u64 + 32;
        let mut enc = Vec::new();
        int(&mut enc, 0x20, 5, capacity);
        for (kind, name, value, pick) in &inserts {
            let live = first_live..model.len();
            let (n, v): (Vec<u8>, Vec<u8>) = match kind {
                1 => { // static name reference: :path (1)
                    int(&mut enc, 0xc0, 6, 1);
                    string(&mut enc, 0, 7, value.as_bytes());
                    (b":path".to_vec(), value.as_bytes().to_vec())
                }
                2 if !live.is_empty() => { // dynamic name reference
                    let abs = live.start + pick.index(live.len());
                    int(&mut enc, 0x80, 6, (model.len() - 1 - abs) as u64);
                    string(&mut enc, 0, 7, value.as_bytes());
                    (model[abs].0.clone(), value.as_bytes().to_vec())
                }
                3 if !live.is_empty() => { // duplicate
                    let abs = live.start + pick.index(live.len());
                    int(&mut enc, 0x00, 5, (model.len() - 1 - abs) as u64);
                    model[abs].clone()
                }
                _ => { // literal name
                    string(&mut enc, 0x40, 5, name.as_bytes());
                    string(&mut enc, 0, 7, value.as_bytes());
                    (name.as_bytes().to_vec(), value.as_bytes().to_vec())
                }
            };
            let s = entry(&n, &v);
            while size + s > capacity {
                size -= entry(&model[first_live].0, &model[first_live].1);
                first_live += 1;
            }
            size += s;
            model.push((n, v));
        }
        let ric = model.len() as u64;
        // Base in the middle, so both relative and post-base references occur.
        let base = (first_live + model.len()) as u64 / 2;
        let mut sec = Vec::new();
        int(&mut sec, 0, 8, ric % (2 * (capacity / 32)) + 1);
        if base >= ric {
            int(&mut sec, 0x00, 7, base - ric);
        } else {
            int(&mut sec, 0x80, 7, ric - base - 1);
        }
        let mut want = Vec::new();
        for (kind, pick) in &refs {
            let abs = first_live + pick.index(model.len() - first_live);
            let (n, v) = model[abs].clone();
            let post = abs as u64 >= base;
            match (kind % 2, post) {
                (0, false) => int(&mut sec, 0x80, 6, base - 1 - abs as u64),
                (0, true) => int(&mut sec, 0x10, 4, abs as u64 - base),
                (_, false) => {
                    int(&mut sec, 0x40, 4, base - 1 - abs as u64);
                    string(&mut sec, 0, 7, b"lit");
                }
                (_, true) => {
                    int(&mut sec, 0x00, 3, abs as u64 - base);
                    string(&mut sec, 0, 7, b"lit");
                }
            }
            want.push((n, if kind % 2 == 0 { v } else { b"lit".to_vec() }));
        }
        // §2.1.1: a conformant encoder evicts only acknowledged entries, so a section
        // can arrive before the inserts only while nothing was evicted (this is what
        // bounds Required Insert Count to the decoder's count + MaxEntries, §4.5.1.1).
        let got = if section_first && first_live == 0 {
            prop_assert_eq!(
                d.decode(4, &sec).unwrap(),
                Decoded::Blocked { required_insert_count: ric }
            );
            let mut out = Vec::new();
            for c in enc.chunks(chunk) {
                out.extend(d.on_encoder_bytes(c).unwrap());
            }
            prop_assert_eq!(out.len(), 1);
            let (id, r) = out.remove(0);
            prop_assert_eq!(id, 4);
            r.unwrap()
        } else {
            for c in enc.chunks(chunk) {
                prop_assert!(d.on_encoder_bytes(c).unwrap().is_empty());
            }
            match d.decode(4, &sec).unwrap() {
                Decoded::Done(s) => s,
                other => return Err(TestCaseError::fail(format!("{other:?}"))),
            }
        };
        let pairs: Vec<(Vec<u8>, Vec<u8>)> =
            got.fields.into_iter().map(|f| (f.name, f.value)).collect();
        prop_assert_eq!(pairs, want);
        prop_assert_eq!(d.insert_count(), ric);
        prop_assert_eq!(d.table_size(), size);
        check_bounds(&d, 1);
        prop_assert!(size <= MAX_FIELD_SECTION_SIZE);
    }
}
