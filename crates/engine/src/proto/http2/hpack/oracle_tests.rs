//! Randomized tests against `loona-hpack` 0.4.3 (the decoder wiretale used before, now a
//! dev-dependency only):
//! * its Encoder (plain literals and indexing, dynamic table size changes) produces
//!   blocks our decoder must turn back into the same lists;
//! * blocks written here with every representation, Huffman or not, and size updates,
//!   then mutated, must decode as its Decoder decodes them: the same lists, or an error
//!   from both, apart from two documented differences (RFC 7541 §4.2: we reject a size
//!   update after a field, it accepts one; it rejects a block made only of size updates,
//!   which §4.2 allows).

use proptest::prelude::*;

use super::static_table::STATIC_TABLE;
use super::{huffman, Decoded, HpackDecoder, MAX_TABLE_SIZE};

/// §5.1 integer with an `n`-bit prefix under `mask`.
fn int(out: &mut Vec<u8>, mask: u8, n: u32, v: usize) {
    let max = (1usize << n) - 1;
    if v < max {
        out.push(mask | v as u8);
        return;
    }
    out.push(mask | max as u8);
    let mut v = v - max;
    while v >= 128 {
        out.push((v % 128) as u8 | 0x80);
        v /= 128;
    }
    out.push(v as u8);
}

/// §5.2 string literal, Huffman-coded with [`huffman::encode`] when `huff`.
fn string(out: &mut Vec<u8>, s: &[u8], huff: bool) {
    if huff {
        let h = huffman::encode(s);
        int(out, 0x80, 7, h.len());
        out.extend(h);
    } else {
        int(out, 0, 7, s.len());
        out.extend_from_slice(s);
    }
}

#[derive(Debug, Clone)]
enum Name {
    Index(usize),
    Literal(Vec<u8>, bool),
}

#[derive(Debug, Clone)]
enum Op {
    Indexed(usize),
    /// `kind`: 0 with incremental indexing, 1 without indexing, 2 never indexed.
    Literal {
        kind: u8,
        name: Name,
        value: Vec<u8>,
        huff: bool,
    },
}

#[derive(Debug, Clone)]
struct Block {
    updates: Vec<usize>,
    ops: Vec<Op>,
}

fn encode_block(b: &Block) -> Vec<u8> {
    let mut out = Vec::new();
    for &u in &b.updates {
        int(&mut out, 0x20, 5, u);
    }
    for op in &b.ops {
        match op {
            Op::Indexed(i) => int(&mut out, 0x80, 7, *i),
            Op::Literal {
                kind,
                name,
                value,
                huff,
            } => {
                let (mask, n) = match kind {
                    0 => (0x40, 6),
                    1 => (0x00, 4),
                    _ => (0x10, 4),
                };
                match name {
                    Name::Index(i) => int(&mut out, mask, n, *i),
                    Name::Literal(s, h) => {
                        int(&mut out, mask, n, 0);
                        string(&mut out, s, *h);
                    }
                }
                string(&mut out, value, *huff);
            }
        }
    }
    out
}

fn name_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (0..STATIC_TABLE.len()).prop_map(|i| STATIC_TABLE[i].0.to_vec()),
        "[a-z][a-z0-9-]{0,14}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..12),
    ]
}

fn value_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[ -~]{0,40}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..24),
    ]
}

/// Mostly static indices, some dynamic ones (62 up: valid or not, as the table holds).
fn index() -> impl Strategy<Value = usize> {
    prop_oneof![12 => 1..=61usize, 1 => 62..=72usize]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        index().prop_map(Op::Indexed),
        (
            0..3u8,
            prop_oneof![
                index().prop_map(Name::Index),
                (name_bytes(), any::<bool>()).prop_map(|(s, h)| Name::Literal(s, h)),
            ],
            value_bytes(),
            any::<bool>(),
        )
            .prop_map(|(kind, name, value, huff)| Op::Literal {
                kind,
                name,
                value,
                huff
            }),
    ]
}

fn block() -> impl Strategy<Value = Block> {
    (
        proptest::collection::vec(
            prop_oneof![6 => 0..300usize, 6 => 0..=4096usize, 1 => 4097..70_000usize],
            0..3,
        ),
        proptest::collection::vec(op(), 1..10),
    )
        .prop_map(|(updates, ops)| Block { updates, ops })
}

/// Our decoder and loona's, both with SETTINGS_HEADER_TABLE_SIZE = `setting`.
fn decoders(setting: u32) -> (HpackDecoder, loona_hpack::Decoder<'static>) {
    let mut ours = HpackDecoder::new();
    ours.set_table_size_setting(setting);
    let mut theirs = loona_hpack::Decoder::new();
    let allowed = (setting as usize).min(MAX_TABLE_SIZE);
    theirs.set_max_allowed_table_size(allowed);
    theirs.set_max_table_size(allowed.min(4096));
    (ours, theirs)
}

fn pairs(d: &Decoded) -> Vec<(Vec<u8>, Vec<u8>)> {
    assert!(!d.truncated);
    d.headers
        .iter()
        .map(|h| (h.name.clone(), h.value.clone()))
        .collect()
}

/// Decodes `blocks` with both; returns how many blocks decoded alike before both
/// failed (or all of them).
fn differential(setting: u32, blocks: &[Vec<u8>]) -> Result<usize, TestCaseError> {
    let (mut ours, mut theirs) = decoders(setting);
    for (i, b) in blocks.iter().enumerate() {
        match (ours.decode(b), theirs.decode(b)) {
            (Ok(a), Ok(t)) => prop_assert_eq!(pairs(&a), t, "block {}: {:02x?}", i, b),
            (Err(_), Err(_)) => return Ok(i),
            (Ok(a), Err(loona_hpack::decoder::DecoderError::SizeUpdateAtEnd)) => {
                // §4.2 allows a block of size updates only; loona rejects it.
                prop_assert!(a.headers.is_empty(), "block {}: {:02x?}", i, b);
                return Ok(i);
            }
            (Err(e), Ok(_)) => {
                // loona does not check that size updates come first.
                prop_assert!(e.0.contains("§4.2"), "block {}: {:02x?}: {}", i, b, e);
                return Ok(i);
            }
            (Ok(a), Err(e)) => {
                prop_assert!(
                    false,
                    "block {}: {:02x?}: ours {:?}, loona {:?}",
                    i,
                    b,
                    a,
                    e
                )
            }
        }
    }
    Ok(blocks.len())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// loona's Encoder → our decoder gives the lists back, across table size changes
    /// (each announced by a size update at the start of the next block).
    #[test]
    fn loona_encoder_round_trips(
        lists in proptest::collection::vec(
            (
                proptest::option::of(0..4096usize),
                proptest::collection::vec((name_bytes(), value_bytes()), 0..12),
            ),
            1..8,
        )
    ) {
        let mut enc = loona_hpack::Encoder::new();
        let mut dec = HpackDecoder::new();
        for (size, list) in &lists {
            let mut block = Vec::new();
            if let Some(s) = size {
                int(&mut block, 0x20, 5, *s);
                enc.set_max_table_size(*s);
            }
            block.extend(enc.encode(list.iter().map(|(n, v)| (&n[..], &v[..]))));
            let got = dec.decode(&block).map_err(|e| TestCaseError::fail(e.0))?;
            prop_assert_eq!(&pairs(&got), list);
        }
    }

    /// Every representation, Huffman or not, with size updates: the same as loona's
    /// Decoder, block after block.
    #[test]
    fn same_as_loona_decoder(
        setting in prop_oneof![Just(0u32), Just(256), Just(4096), Just(65_536), Just(u32::MAX)],
        blocks in proptest::collection::vec(block(), 1..6),
    ) {
        let bytes: Vec<Vec<u8>> = blocks.iter().map(encode_block).collect();
        differential(setting, &bytes)?;
    }

    /// The same blocks with bytes flipped, inserted or cut: still the same as loona's
    /// Decoder (mostly both errors), and never a panic.
    #[test]
    fn mutated_blocks_same_as_loona_decoder(
        setting in prop_oneof![Just(4096u32), Just(65_536)],
        blocks in proptest::collection::vec(block(), 1..5),
        muts in proptest::collection::vec((any::<prop::sample::Index>(), 0..3u8, any::<u8>()), 1..4),
    ) {
        let mut bytes: Vec<Vec<u8>> = blocks.iter().map(encode_block).collect();
        for (at, how, x) in muts {
            let n = bytes.len();
            let b = &mut bytes[at.index(n)];
            if b.is_empty() {
                continue;
            }
            let p = at.index(b.len());
            match how {
                0 => b[p] ^= x.max(1),
                1 => b.insert(p, x),
                _ => b.truncate(p),
            }
        }
        differential(setting, &bytes)?;
    }

    /// Any bytes: an answer, never a panic, and the table within its cap.
    #[test]
    fn arbitrary_bytes_never_panic(
        setting in any::<u32>(),
        blocks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..4),
    ) {
        let mut d = HpackDecoder::new();
        d.set_table_size_setting(setting);
        for b in &blocks {
            let _ = d.decode(b);
            prop_assert!(d.table.size() <= d.table.max());
            prop_assert!(d.table.max() <= MAX_TABLE_SIZE);
        }
    }
}
