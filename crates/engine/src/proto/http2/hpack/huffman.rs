//! The Huffman code of HPACK (RFC 7541 §5.2, Appendix B), decoded four bits at a time by
//! a state machine built at compile time.
//!
//! Why a state machine: `loona-hpack` built two levels of `HashMap` for every string,
//! which cost ~40 µs per request block; browsers Huffman-code almost every field. Here
//! the decoding tree of the code (257 leaves, so exactly 256 inner nodes) is built once
//! by a `const fn`, and each (inner node, 4-bit nibble) pair maps to the node reached, the
//! symbol completed on the way if any (the shortest code is 5 bits, so at most one per
//! nibble) and whether the EOS symbol was met. 4,096 entries of 3 bytes; no allocation
//! apart from the output.
//!
//! RFC 7541 §5.2 errors: EOS inside a string; padding longer than 7 bits; padding that is
//! not the most significant bits of EOS (all ones). A string may end only at the root
//! (no padding) or at one of the 7 nodes reached from it by 1 bits ([`ACCEPT`]).

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

/// Appendix B: (code, length in bits) of symbols 0–255 and EOS (256), codes right-aligned.
pub(crate) const CODES: [(u32, u8); 257] = [
    (0x1ff8, 13),     //   0
    (0x7fffd8, 23),   //   1
    (0xfffffe2, 28),  //   2
    (0xfffffe3, 28),  //   3
    (0xfffffe4, 28),  //   4
    (0xfffffe5, 28),  //   5
    (0xfffffe6, 28),  //   6
    (0xfffffe7, 28),  //   7
    (0xfffffe8, 28),  //   8
    (0xffffea, 24),   //   9
    (0x3ffffffc, 30), //  10
    (0xfffffe9, 28),  //  11
    (0xfffffea, 28),  //  12
    (0x3ffffffd, 30), //  13
    (0xfffffeb, 28),  //  14
    (0xfffffec, 28),  //  15
    (0xfffffed, 28),  //  16
    (0xfffffee, 28),  //  17
    (0xfffffef, 28),  //  18
    (0xffffff0, 28),  //  19
    (0xffffff1, 28),  //  20
    (0xffffff2, 28),  //  21
    (0x3ffffffe, 30), //  22
    (0xffffff3, 28),  //  23
    (0xffffff4, 28),  //  24
    (0xffffff5, 28),  //  25
    (0xffffff6, 28),  //  26
    (0xffffff7, 28),  //  27
    (0xffffff8, 28),  //  28
    (0xffffff9, 28),  //  29
    (0xffffffa, 28),  //  30
    (0xffffffb, 28),  //  31
    (0x14, 6),        //  32 ' '
    (0x3f8, 10),      //  33 '!'
    (0x3f9, 10),      //  34 '"'
    (0xffa, 12),      //  35 '#'
    (0x1ff9, 13),     //  36 '$'
    (0x15, 6),        //  37 '%'
    (0xf8, 8),        //  38 '&'
    (0x7fa, 11),      //  39 "'"
    (0x3fa, 10),      //  40 '('
    (0x3fb, 10),      //  41 ')'
    (0xf9, 8),        //  42 '*'
    (0x7fb, 11),      //  43 '+'
    (0xfa, 8),        //  44 ','
    (0x16, 6),        //  45 '-'
    (0x17, 6),        //  46 '.'
    (0x18, 6),        //  47 '/'
    (0x0, 5),         //  48 '0'
    (0x1, 5),         //  49 '1'
    (0x2, 5),         //  50 '2'
    (0x19, 6),        //  51 '3'
    (0x1a, 6),        //  52 '4'
    (0x1b, 6),        //  53 '5'
    (0x1c, 6),        //  54 '6'
    (0x1d, 6),        //  55 '7'
    (0x1e, 6),        //  56 '8'
    (0x1f, 6),        //  57 '9'
    (0x5c, 7),        //  58 ':'
    (0xfb, 8),        //  59 ';'
    (0x7ffc, 15),     //  60 '<'
    (0x20, 6),        //  61 '='
    (0xffb, 12),      //  62 '>'
    (0x3fc, 10),      //  63 '?'
    (0x1ffa, 13),     //  64 '@'
    (0x21, 6),        //  65 'A'
    (0x5d, 7),        //  66 'B'
    (0x5e, 7),        //  67 'C'
    (0x5f, 7),        //  68 'D'
    (0x60, 7),        //  69 'E'
    (0x61, 7),        //  70 'F'
    (0x62, 7),        //  71 'G'
    (0x63, 7),        //  72 'H'
    (0x64, 7),        //  73 'I'
    (0x65, 7),        //  74 'J'
    (0x66, 7),        //  75 'K'
    (0x67, 7),        //  76 'L'
    (0x68, 7),        //  77 'M'
    (0x69, 7),        //  78 'N'
    (0x6a, 7),        //  79 'O'
    (0x6b, 7),        //  80 'P'
    (0x6c, 7),        //  81 'Q'
    (0x6d, 7),        //  82 'R'
    (0x6e, 7),        //  83 'S'
    (0x6f, 7),        //  84 'T'
    (0x70, 7),        //  85 'U'
    (0x71, 7),        //  86 'V'
    (0x72, 7),        //  87 'W'
    (0xfc, 8),        //  88 'X'
    (0x73, 7),        //  89 'Y'
    (0xfd, 8),        //  90 'Z'
    (0x1ffb, 13),     //  91 '['
    (0x7fff0, 19),    //  92 '\\'
    (0x1ffc, 13),     //  93 ']'
    (0x3ffc, 14),     //  94 '^'
    (0x22, 6),        //  95 '_'
    (0x7ffd, 15),     //  96 '`'
    (0x3, 5),         //  97 'a'
    (0x23, 6),        //  98 'b'
    (0x4, 5),         //  99 'c'
    (0x24, 6),        // 100 'd'
    (0x5, 5),         // 101 'e'
    (0x25, 6),        // 102 'f'
    (0x26, 6),        // 103 'g'
    (0x27, 6),        // 104 'h'
    (0x6, 5),         // 105 'i'
    (0x74, 7),        // 106 'j'
    (0x75, 7),        // 107 'k'
    (0x28, 6),        // 108 'l'
    (0x29, 6),        // 109 'm'
    (0x2a, 6),        // 110 'n'
    (0x7, 5),         // 111 'o'
    (0x2b, 6),        // 112 'p'
    (0x76, 7),        // 113 'q'
    (0x2c, 6),        // 114 'r'
    (0x8, 5),         // 115 's'
    (0x9, 5),         // 116 't'
    (0x2d, 6),        // 117 'u'
    (0x77, 7),        // 118 'v'
    (0x78, 7),        // 119 'w'
    (0x79, 7),        // 120 'x'
    (0x7a, 7),        // 121 'y'
    (0x7b, 7),        // 122 'z'
    (0x7ffe, 15),     // 123 '{'
    (0x7fc, 11),      // 124 '|'
    (0x3ffd, 14),     // 125 '}'
    (0x1ffd, 13),     // 126 '~'
    (0xffffffc, 28),  // 127
    (0xfffe6, 20),    // 128
    (0x3fffd2, 22),   // 129
    (0xfffe7, 20),    // 130
    (0xfffe8, 20),    // 131
    (0x3fffd3, 22),   // 132
    (0x3fffd4, 22),   // 133
    (0x3fffd5, 22),   // 134
    (0x7fffd9, 23),   // 135
    (0x3fffd6, 22),   // 136
    (0x7fffda, 23),   // 137
    (0x7fffdb, 23),   // 138
    (0x7fffdc, 23),   // 139
    (0x7fffdd, 23),   // 140
    (0x7fffde, 23),   // 141
    (0xffffeb, 24),   // 142
    (0x7fffdf, 23),   // 143
    (0xffffec, 24),   // 144
    (0xffffed, 24),   // 145
    (0x3fffd7, 22),   // 146
    (0x7fffe0, 23),   // 147
    (0xffffee, 24),   // 148
    (0x7fffe1, 23),   // 149
    (0x7fffe2, 23),   // 150
    (0x7fffe3, 23),   // 151
    (0x7fffe4, 23),   // 152
    (0x1fffdc, 21),   // 153
    (0x3fffd8, 22),   // 154
    (0x7fffe5, 23),   // 155
    (0x3fffd9, 22),   // 156
    (0x7fffe6, 23),   // 157
    (0x7fffe7, 23),   // 158
    (0xffffef, 24),   // 159
    (0x3fffda, 22),   // 160
    (0x1fffdd, 21),   // 161
    (0xfffe9, 20),    // 162
    (0x3fffdb, 22),   // 163
    (0x3fffdc, 22),   // 164
    (0x7fffe8, 23),   // 165
    (0x7fffe9, 23),   // 166
    (0x1fffde, 21),   // 167
    (0x7fffea, 23),   // 168
    (0x3fffdd, 22),   // 169
    (0x3fffde, 22),   // 170
    (0xfffff0, 24),   // 171
    (0x1fffdf, 21),   // 172
    (0x3fffdf, 22),   // 173
    (0x7fffeb, 23),   // 174
    (0x7fffec, 23),   // 175
    (0x1fffe0, 21),   // 176
    (0x1fffe1, 21),   // 177
    (0x3fffe0, 22),   // 178
    (0x1fffe2, 21),   // 179
    (0x7fffed, 23),   // 180
    (0x3fffe1, 22),   // 181
    (0x7fffee, 23),   // 182
    (0x7fffef, 23),   // 183
    (0xfffea, 20),    // 184
    (0x3fffe2, 22),   // 185
    (0x3fffe3, 22),   // 186
    (0x3fffe4, 22),   // 187
    (0x7ffff0, 23),   // 188
    (0x3fffe5, 22),   // 189
    (0x3fffe6, 22),   // 190
    (0x7ffff1, 23),   // 191
    (0x3ffffe0, 26),  // 192
    (0x3ffffe1, 26),  // 193
    (0xfffeb, 20),    // 194
    (0x7fff1, 19),    // 195
    (0x3fffe7, 22),   // 196
    (0x7ffff2, 23),   // 197
    (0x3fffe8, 22),   // 198
    (0x1ffffec, 25),  // 199
    (0x3ffffe2, 26),  // 200
    (0x3ffffe3, 26),  // 201
    (0x3ffffe4, 26),  // 202
    (0x7ffffde, 27),  // 203
    (0x7ffffdf, 27),  // 204
    (0x3ffffe5, 26),  // 205
    (0xfffff1, 24),   // 206
    (0x1ffffed, 25),  // 207
    (0x7fff2, 19),    // 208
    (0x1fffe3, 21),   // 209
    (0x3ffffe6, 26),  // 210
    (0x7ffffe0, 27),  // 211
    (0x7ffffe1, 27),  // 212
    (0x3ffffe7, 26),  // 213
    (0x7ffffe2, 27),  // 214
    (0xfffff2, 24),   // 215
    (0x1fffe4, 21),   // 216
    (0x1fffe5, 21),   // 217
    (0x3ffffe8, 26),  // 218
    (0x3ffffe9, 26),  // 219
    (0xffffffd, 28),  // 220
    (0x7ffffe3, 27),  // 221
    (0x7ffffe4, 27),  // 222
    (0x7ffffe5, 27),  // 223
    (0xfffec, 20),    // 224
    (0xfffff3, 24),   // 225
    (0xfffed, 20),    // 226
    (0x1fffe6, 21),   // 227
    (0x3fffe9, 22),   // 228
    (0x1fffe7, 21),   // 229
    (0x1fffe8, 21),   // 230
    (0x7ffff3, 23),   // 231
    (0x3fffea, 22),   // 232
    (0x3fffeb, 22),   // 233
    (0x1ffffee, 25),  // 234
    (0x1ffffef, 25),  // 235
    (0xfffff4, 24),   // 236
    (0xfffff5, 24),   // 237
    (0x3ffffea, 26),  // 238
    (0x7ffff4, 23),   // 239
    (0x3ffffeb, 26),  // 240
    (0x7ffffe6, 27),  // 241
    (0x3ffffec, 26),  // 242
    (0x3ffffed, 26),  // 243
    (0x7ffffe7, 27),  // 244
    (0x7ffffe8, 27),  // 245
    (0x7ffffe9, 27),  // 246
    (0x7ffffea, 27),  // 247
    (0x7ffffeb, 27),  // 248
    (0xffffffe, 28),  // 249
    (0x7ffffec, 27),  // 250
    (0x7ffffed, 27),  // 251
    (0x7ffffee, 27),  // 252
    (0x7ffffef, 27),  // 253
    (0x7fffff0, 27),  // 254
    (0x3ffffee, 26),  // 255
    (0x3fffffff, 30), // 256 EOS
];

/// The EOS symbol (Appendix B): never valid inside a string.
const EOS: u16 = 256;
/// A child in [`build_tree`]: a leaf carries its symbol with this bit set.
const LEAF: u16 = 0x8000;
const NONE: u16 = 0xffff;

/// One transition of the state machine.
#[derive(Clone, Copy)]
struct Step {
    /// Inner node reached after the nibble (0 = root).
    next: u8,
    /// Symbol completed within the nibble (valid when `EMIT` is set).
    sym: u8,
    flags: u8,
}

const EMIT: u8 = 1;
/// The nibble completed EOS (RFC 7541 §5.2: an error).
const FAIL: u8 = 2;

// Only evaluated at compile time (the statics below): an index out of bounds or a
// failed assert is a build error, never a runtime panic.
#[allow(clippy::indexing_slicing)]
/// The decoding tree: `children[node][bit]` is an inner node or `LEAF | symbol`.
const fn build_tree() -> [[u16; 2]; 256] {
    let mut children = [[NONE; 2]; 256];
    let mut next_id: usize = 1;
    let mut sym = 0;
    while sym < 257 {
        let (code, len) = CODES[sym];
        let mut node = 0usize;
        let mut i = len as u32;
        while i > 1 {
            i -= 1;
            let bit = ((code >> i) & 1) as usize;
            if children[node][bit] == NONE {
                children[node][bit] = next_id as u16;
                next_id += 1;
            }
            let c = children[node][bit];
            assert!(c & LEAF == 0, "a code is the prefix of another");
            node = c as usize;
        }
        let bit = (code & 1) as usize;
        assert!(children[node][bit] == NONE, "two symbols share a code");
        children[node][bit] = LEAF | sym as u16;
        sym += 1;
    }
    // A complete prefix code of 257 symbols has 256 inner nodes: they fit a u8.
    assert!(next_id == 256, "the code is not complete");
    children
}

// Only evaluated at compile time (the statics below): an index out of bounds or a
// failed assert is a build error, never a runtime panic.
#[allow(clippy::indexing_slicing)]
/// `STEPS[state * 16 + nibble]`.
const fn build_steps() -> [Step; 4096] {
    let tree = build_tree();
    let mut steps = [Step {
        next: 0,
        sym: 0,
        flags: 0,
    }; 4096];
    let mut state = 0;
    while state < 256 {
        let mut nibble = 0;
        while nibble < 16 {
            let mut node = state;
            let mut step = Step {
                next: 0,
                sym: 0,
                flags: 0,
            };
            let mut i = 4;
            while i > 0 {
                i -= 1;
                let c = tree[node][(nibble >> i) & 1];
                if c & LEAF != 0 {
                    let s = c & !LEAF;
                    if s == EOS {
                        step.flags |= FAIL;
                    } else {
                        step.flags |= EMIT;
                        step.sym = s as u8;
                    }
                    node = 0;
                } else {
                    node = c as usize;
                }
            }
            step.next = node as u8;
            steps[state * 16 + nibble] = step;
            nibble += 1;
        }
        state += 1;
    }
    steps
}

// Only evaluated at compile time (the statics below): an index out of bounds or a
// failed assert is a build error, never a runtime panic.
#[allow(clippy::indexing_slicing)]
/// The states where a string may end: the root (the last symbol ended on a byte
/// boundary) and the nodes 1 to 7 bits down the all-ones path (padding with the most
/// significant bits of EOS, RFC 7541 §5.2).
const fn build_accept() -> [bool; 256] {
    let tree = build_tree();
    let mut accept = [false; 256];
    let mut node = 0usize;
    let mut depth = 0;
    while depth <= 7 {
        accept[node] = true;
        node = tree[node][1] as usize;
        depth += 1;
    }
    accept
}

static STEPS: [Step; 4096] = build_steps();
static ACCEPT: [bool; 256] = build_accept();

/// Why a Huffman-coded string is invalid (RFC 7541 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HuffmanError {
    /// The EOS symbol inside the string.
    Eos,
    /// Padding longer than 7 bits, or not all ones.
    Padding,
}

/// Appends the decoding of `src` to `out`.
pub(crate) fn decode(src: &[u8], out: &mut Vec<u8>) -> Result<(), HuffmanError> {
    // At most 8 symbols per 5 bits.
    out.reserve(src.len() * 8 / 5);
    let mut state = 0usize;
    for &b in src {
        for nibble in [b >> 4, b & 0x0f] {
            let Some(step) = STEPS.get(state * 16 + usize::from(nibble)) else {
                // Unreachable: state < 256 and nibble < 16.
                return Err(HuffmanError::Padding);
            };
            if step.flags & FAIL != 0 {
                return Err(HuffmanError::Eos);
            }
            if step.flags & EMIT != 0 {
                out.push(step.sym);
            }
            state = usize::from(step.next);
        }
    }
    if ACCEPT.get(state).copied().unwrap_or(false) {
        Ok(())
    } else {
        Err(HuffmanError::Padding)
    }
}

/// Encodes with [`CODES`], padding with the most significant bits of EOS: for tests (a
/// test oracle checks it against `loona-hpack`'s decoder).
#[cfg(test)]
pub(crate) fn encode(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u64, 0u32);
    for &b in src {
        let (code, len) = CODES[usize::from(b)];
        acc = (acc << len) | u64::from(code);
        bits += u32::from(len);
        while bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if bits > 0 {
        out.push(((acc << (8 - bits)) as u8) | (0xff >> bits));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(b: &[u8]) -> Result<Vec<u8>, HuffmanError> {
        let mut v = Vec::new();
        decode(b, &mut v).map(|()| v)
    }

    /// Appendix B is a canonical Huffman code: sorted by (length, symbol), each code is
    /// the previous plus one, shifted to its length. A typo in a code or a length in
    /// [`CODES`] breaks this (and the tree's completeness, checked when it is built).
    #[test]
    fn table_is_the_canonical_code() {
        let mut order: Vec<usize> = (0..257).collect();
        order.sort_by_key(|&s| (CODES[s].1, s));
        let (mut code, mut len) = (0u32, CODES[order[0]].1);
        assert_eq!(CODES[order[0]].0, 0);
        for w in order.windows(2) {
            let (c, l) = CODES[w[1]];
            code = (code + 1) << (l - len);
            len = l;
            assert_eq!(c, code, "symbol {}", w[1]);
        }
        // Spot checks against the RFC's listing.
        assert_eq!(CODES[b' ' as usize], (0x14, 6));
        assert_eq!(CODES[b'a' as usize], (0x3, 5));
        assert_eq!(CODES[b'0' as usize], (0x0, 5));
        assert_eq!(CODES[256], (0x3fff_ffff, 30));
    }

    /// RFC 7541 C.4.1 and C.6.1 strings.
    #[test]
    fn rfc_strings() {
        let cases: [(&[u8], &[u8]); 3] = [
            (
                &[
                    0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff,
                ],
                b"www.example.com",
            ),
            (&[0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf], b"no-cache"),
            (&[0x64, 0x02], b"302"),
        ];
        for (h, want) in cases {
            assert_eq!(dec(h).unwrap(), want);
            assert_eq!(encode(want), h);
        }
    }

    /// Every byte value, alone and in runs, round-trips through the tests' encoder.
    #[test]
    fn every_symbol_round_trips() {
        for b in 0..=255u8 {
            for n in [1, 2, 3, 7, 8] {
                let s = vec![b; n];
                assert_eq!(dec(&encode(&s)).unwrap(), s, "{b} x{n}");
            }
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(dec(&encode(&all)).unwrap(), all);
        assert_eq!(dec(&[]).unwrap(), b"");
    }

    /// RFC 7541 §5.2: EOS inside, padding over 7 bits, padding not all ones.
    #[test]
    fn bad_strings_are_errors() {
        // EOS (30 ones) then padding.
        assert_eq!(dec(&[0xff, 0xff, 0xff, 0xff]), Err(HuffmanError::Eos));
        // 'a' (00011) then EOS.
        assert_eq!(dec(&[0x1f, 0xff, 0xff, 0xff, 0xff]), Err(HuffmanError::Eos));
        // A whole byte of padding.
        assert_eq!(dec(&[0xff]), Err(HuffmanError::Padding));
        assert_eq!(dec(&[0x1f, 0xff]), Err(HuffmanError::Padding));
        // 'a' + padding 010 (not all ones).
        assert_eq!(dec(&[0x1a]), Err(HuffmanError::Padding));
        assert_eq!(dec(&[0x1f]), Ok(b"a".to_vec()), "'a' + 111 padding");
        // A code cut short: 1111111 then 0 is inside a longer code, not padding.
        assert_eq!(dec(&[0xfe]), Err(HuffmanError::Padding));
        // Symbol 0 (0x1ff8, 13 bits) then 000.
        assert_eq!(dec(&[0xff, 0xc0]), Err(HuffmanError::Padding));
    }
}
