//! HPACK field-block decoding (RFC 7541) for one direction of a connection: wiretale's
//! own decoder, bounded and panic-free.
//!
//! * [`decoder`]: integers (§5.1), string literals (§5.2), the field representations
//!   (§6), the dynamic table with its size updates (§4), a size update only at the
//!   start of a block (§4.2).
//! * [`huffman`]: the Huffman code (Appendix B), decoded by a state machine built at
//!   compile time (no per-string tables or allocation beyond the output).
//! * [`static_table`]: Appendix A.
//!
//! Why our own: `loona-hpack` 0.4.3 (used before, and now a test oracle) was safe but
//! built a fresh Huffman table of `HashMap`s for every Huffman-coded string, ~40 µs per
//! request block, and browsers Huffman-code nearly every field (bench `h2`).
//!
//! Bounds: the table is capped at [`MAX_TABLE_SIZE`] whatever a peer announces; decoded
//! fields past [`MAX_HEADER_LIST_SIZE`] / [`MAX_HEADER_FIELDS`] are counted, not stored
//! (decoding still runs to the end of the block, since every literal with indexing must
//! enter the dynamic table to keep it in step); integers of more than 4 continuation
//! octets, index 0 or past the tables, strings past the block, Huffman EOS or bad
//! padding, size updates above the limit or after a field are errors.
//!
//! Differences from `loona-hpack`, checked by the oracle tests: a size update after a
//! field is an error here (§4.2 "MUST occur at the beginning"), and a block made only of
//! size updates is accepted here (loona rejects it); a setting below the table's current
//! maximum lowers it, never raises it.

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod decoder;
pub(crate) mod huffman;
mod static_table;

#[cfg(test)]
mod oracle_tests;

use std::fmt;

/// SETTINGS_HEADER_TABLE_SIZE before a peer announces one (RFC 9113 §6.5.2).
pub const DEFAULT_TABLE_SIZE: usize = 4096;
/// Largest dynamic table kept per direction, whatever the peer announced: Chromium and
/// Firefox announce 65,536, servers usually keep 4,096.
pub const MAX_TABLE_SIZE: usize = 64 * 1024;
/// Largest decoded field list stored per block, counted as SETTINGS_MAX_HEADER_LIST_SIZE
/// counts (name + value + 32 per field, RFC 9113 §6.5.2).
pub const MAX_HEADER_LIST_SIZE: usize = 64 * 1024;
/// Most fields stored per block.
pub const MAX_HEADER_FIELDS: usize = 256;

/// One decoded field line. Bytes as decoded: untrusted, escape before printing.
#[derive(serde::Serialize, serde::Deserialize, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: Vec<u8>,
    pub value: Vec<u8>,
}

impl Header {
    pub fn new(name: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }

    /// The value as lossy UTF-8 (still untrusted).
    pub fn value_str(&self) -> String {
        String::from_utf8_lossy(&self.value).into_owned()
    }
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            crate::base::escape::escape_bytes(&self.name),
            crate::base::escape::escape_bytes(&self.value)
        )
    }
}

/// A decoded block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    pub headers: Vec<Header>,
    /// Fields were left out past the list limits.
    pub truncated: bool,
    /// Size of the whole list as RFC 9113 §6.5.2 counts it, stored or not.
    pub list_size: usize,
}

/// Why a block did not decode. After one, this direction's dynamic table is no longer
/// known (RFC 7541 §2.3.2: the block may have added entries before the error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HpackError(pub String);

impl fmt::Display for HpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The decoder of the field blocks one endpoint sends.
#[derive(Debug)]
pub struct HpackDecoder {
    table: decoder::DynamicTable,
    /// The receiver's SETTINGS_HEADER_TABLE_SIZE as announced.
    setting: u64,
    /// The size a table size update may ask for: the setting, capped.
    allowed: usize,
}

impl Default for HpackDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl HpackDecoder {
    /// A decoder as at a connection's start: empty dynamic table of 4,096 bytes.
    pub fn new() -> Self {
        HpackDecoder {
            table: decoder::DynamicTable::new(DEFAULT_TABLE_SIZE),
            setting: DEFAULT_TABLE_SIZE as u64,
            allowed: DEFAULT_TABLE_SIZE,
        }
    }

    /// A decoder whose table maximum is already `size` (capped), as RFC 7541 Appendix
    /// C.5/C.6 assume.
    pub fn with_table_size(size: usize) -> Self {
        let allowed = size.min(MAX_TABLE_SIZE);
        HpackDecoder {
            table: decoder::DynamicTable::new(allowed),
            setting: size as u64,
            allowed,
        }
    }

    /// The receiving endpoint announced SETTINGS_HEADER_TABLE_SIZE = `value`
    /// (RFC 9113 §6.5.2). Size updates may now go up to it (capped at
    /// [`MAX_TABLE_SIZE`]); a value below the table's maximum also shrinks the table now,
    /// as the encoder must not use more (RFC 7541 §4.2). Growing needs the encoder's size
    /// update, as in nghttp2's decoder.
    pub fn set_table_size_setting(&mut self, value: u32) {
        let capped = (value as usize).min(MAX_TABLE_SIZE);
        self.setting = u64::from(value);
        self.allowed = capped;
        if capped < self.table.max() {
            self.table.set_max(capped);
        }
    }

    /// Decodes one complete field block (RFC 7541 §3). On error the dynamic table may
    /// hold part of the block's insertions: treat it as lost.
    pub fn decode(&mut self, block: &[u8]) -> Result<Decoded, HpackError> {
        let mut out = Decoded::default();
        let r = decoder::decode_block(&mut self.table, self.allowed, block, |n, v| {
            let size = n.len() + v.len() + 32;
            out.list_size = out.list_size.saturating_add(size);
            if out.truncated
                || out.list_size > MAX_HEADER_LIST_SIZE
                || out.headers.len() >= MAX_HEADER_FIELDS
            {
                out.truncated = true;
                return;
            }
            out.headers.push(Header::new(n, v));
        });
        match r {
            Ok(()) => Ok(out),
            Err(decoder::DecodeError::SizeUpdateTooLarge { size, .. }) => Err(HpackError(format!(
                "dynamic table size update to {size} above the limit \
                     (SETTINGS_HEADER_TABLE_SIZE {}, wiretale's cap {MAX_TABLE_SIZE}) \
                     (RFC 7541 §6.3)",
                self.setting
            ))),
            Err(e) => Err(HpackError(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn list(d: &Decoded) -> Vec<(String, String)> {
        d.headers
            .iter()
            .map(|h| {
                (
                    String::from_utf8(h.name.clone()).unwrap(),
                    String::from_utf8(h.value.clone()).unwrap(),
                )
            })
            .collect()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    /// RFC 7541 Appendix C.2: one representation each, fresh decoders.
    #[test]
    fn rfc7541_c2_representations() {
        let cases: [(&str, &[(&str, &str)]); 4] = [
            (
                "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
                &[("custom-key", "custom-header")],
            ),
            (
                "040c 2f73 616d 706c 652f 7061 7468",
                &[(":path", "/sample/path")],
            ),
            (
                "1008 7061 7373 776f 7264 0673 6563 7265 74",
                &[("password", "secret")],
            ),
            ("82", &[(":method", "GET")]),
        ];
        for (h, want) in cases {
            let mut d = HpackDecoder::new();
            assert_eq!(list(&d.decode(&hex(h)).unwrap()), pairs(want), "{h}");
        }
    }

    const REQ1: &[(&str, &str)] = &[
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "www.example.com"),
    ];
    const REQ2: &[(&str, &str)] = &[
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "www.example.com"),
        ("cache-control", "no-cache"),
    ];
    const REQ3: &[(&str, &str)] = &[
        (":method", "GET"),
        (":scheme", "https"),
        (":path", "/index.html"),
        (":authority", "www.example.com"),
        ("custom-key", "custom-value"),
    ];

    fn run(d: &mut HpackDecoder, blocks: &[(&str, &[(&str, &str)])]) {
        for (h, want) in blocks {
            assert_eq!(list(&d.decode(&hex(h)).unwrap()), pairs(want), "{h}");
        }
    }

    /// C.3: requests without Huffman, one decoder (the dynamic table carries over).
    #[test]
    fn rfc7541_c3_requests() {
        run(
            &mut HpackDecoder::new(),
            &[
                ("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", REQ1),
                ("8286 84be 5808 6e6f 2d63 6163 6865", REQ2),
                (
                    "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
                    REQ3,
                ),
            ],
        );
    }

    /// C.4: the same requests with Huffman coding.
    #[test]
    fn rfc7541_c4_requests_huffman() {
        run(
            &mut HpackDecoder::new(),
            &[
                ("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", REQ1),
                ("8286 84be 5886 a8eb 1064 9cbf", REQ2),
                (
                    "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
                    REQ3,
                ),
            ],
        );
    }

    const RESP1: &[(&str, &str)] = &[
        (":status", "302"),
        ("cache-control", "private"),
        ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
        ("location", "https://www.example.com"),
    ];
    const RESP2: &[(&str, &str)] = &[
        (":status", "307"),
        ("cache-control", "private"),
        ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
        ("location", "https://www.example.com"),
    ];
    const RESP3: &[(&str, &str)] = &[
        (":status", "200"),
        ("cache-control", "private"),
        ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
        ("location", "https://www.example.com"),
        ("content-encoding", "gzip"),
        (
            "set-cookie",
            "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
        ),
    ];

    /// C.5: responses without Huffman, table of 256 bytes (evictions happen).
    #[test]
    fn rfc7541_c5_responses_with_eviction() {
        run(
            &mut HpackDecoder::with_table_size(256),
            &[
                (
                    "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 \
                     3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 \
                     7861 6d70 6c65 2e63 6f6d",
                    RESP1,
                ),
                ("4803 3330 37c1 c0bf", RESP2),
                (
                    "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 \
                     474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 \
                     454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 \
                     6572 7369 6f6e 3d31",
                    RESP3,
                ),
            ],
        );
    }

    /// C.6: the same responses with Huffman coding.
    #[test]
    fn rfc7541_c6_responses_huffman() {
        run(
            &mut HpackDecoder::with_table_size(256),
            &[
                (
                    "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 \
                     82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
                    RESP1,
                ),
                ("4883 640e ffc1 c0bf", RESP2),
                (
                    "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b \
                     d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 \
                     0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
                    RESP3,
                ),
            ],
        );
    }

    /// Hostile blocks: every one is an error, never a panic, and the table stays capped.
    #[test]
    fn hostile_blocks_are_errors() {
        // (what, block, the error's wording)
        let cases: &[(&str, &[u8], &str)] = &[
            ("index 0", &[0x80], "index 0"),
            (
                "index past the tables",
                &[0xff, 0x80, 0x01],
                "index 255 past",
            ),
            (
                "name index past the tables",
                &[0x7f, 0x00, 0x01, b'v'],
                "index 63 past",
            ),
            (
                "huge table size update",
                &[0x3f, 0xff, 0xff, 0xff, 0x0f, 0x82],
                "§6.3",
            ),
            (
                "update to 4097, above the default setting",
                &[0x3f, 0xe2, 0x1f, 0x82],
                "update to 4097 above",
            ),
            (
                "integer of too many octets",
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
                "§5.1",
            ),
            (
                "integer of 5 continuation octets, even if small",
                &[0xff, 0x80, 0x80, 0x80, 0x80, 0x00],
                "§5.1",
            ),
            ("truncated integer", &[0x7f, 0x80], "ends inside"),
            (
                "literal without its value",
                &[0x40, 0x01, b'x'],
                "ends inside",
            ),
            (
                "string longer than the block",
                &[0x40, 0x7f, 0xff, 0x7f, b'a'],
                "string of 16510 bytes with 1 left",
            ),
            (
                "Huffman EOS",
                &[0x40, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00],
                "EOS",
            ),
            (
                "Huffman EOS inside a value, after a symbol",
                &[0x00, 0x01, b'x', 0x85, 0x1f, 0xff, 0xff, 0xff, 0xff],
                "EOS",
            ),
            (
                "Huffman padding too long (0x3f)",
                &[0x00, 0x82, 0x3f, 0xff, 0x00],
                "padding",
            ),
            (
                "Huffman padding of 11 bits ('a' then 11 ones)",
                &[0x00, 0x82, 0x1f, 0xff, 0x00],
                "padding",
            ),
            (
                "Huffman padding not EOS",
                &[0x00, 0x81, 0x3e, 0x00],
                "padding",
            ),
            ("size update at the end", &[0x82, 0x20], "§4.2"),
            (
                "size update between fields",
                &[0x82, 0x3f, 0xe1, 0x1f, 0x84],
                "§4.2",
            ),
        ];
        for (what, b, want) in cases {
            let mut d = HpackDecoder::new();
            let e = d.decode(b).unwrap_err();
            assert!(e.0.contains(want), "{what}: {e}");
        }
        // Size updates first, several of them, are fine (§4.2).
        assert_eq!(
            list(
                &HpackDecoder::new()
                    .decode(&[0x20, 0x3f, 0xe1, 0x1f, 0x82])
                    .unwrap()
            ),
            pairs(&[(":method", "GET")])
        );
        // A peer announcing 4 GiB still gets a table capped at MAX_TABLE_SIZE.
        let mut d = HpackDecoder::new();
        d.set_table_size_setting(u32::MAX);
        let e = d.decode(&[0x3f, 0xe2, 0xff, 0x03, 0x82]).unwrap_err(); // 65,537
        assert!(e.0.contains("4294967295"), "{e}");
        let mut d = HpackDecoder::new();
        d.set_table_size_setting(u32::MAX);
        assert!(d.decode(&[0x3f, 0xc2, 0xff, 0x03, 0x82]).is_ok()); // 65,505 fits
                                                                    // At the default setting, 4,096 fits.
        assert!(HpackDecoder::new()
            .decode(&[0x3f, 0xe1, 0x1f, 0x82])
            .is_ok());
    }

    /// A small block naming a big entry many times is counted, not stored.
    #[test]
    fn list_size_is_bounded() {
        let mut d = HpackDecoder::new();
        // Literal with incremental indexing, new name "x", value of 3,000 'a's.
        let mut b = vec![0x40, 0x01, b'x', 0x7f];
        let mut n = 3000 - 127;
        while n >= 128 {
            b.push((n % 128) as u8 | 0x80);
            n /= 128;
        }
        b.push(n as u8);
        b.extend(std::iter::repeat_n(b'a', 3000));
        // Then 1,000 references to it (dynamic index 62).
        b.extend(std::iter::repeat_n(0xbe, 1000));
        let out = d.decode(&b).unwrap();
        assert!(out.truncated);
        assert!(out.headers.len() * 3033 <= MAX_HEADER_LIST_SIZE);
        assert_eq!(out.list_size, 1001 * (1 + 3000 + 32));
        // The table is still in step: the next block can use the entry.
        let next = d.decode(&[0xbe]).unwrap();
        assert_eq!(next.headers[0].value.len(), 3000);
    }

    /// A lower setting shrinks the table at once (evicting), and the wrapper never trips
    /// loona-hpack's assert whatever order settings come in.
    #[test]
    fn settings_shrink_and_never_panic() {
        let mut d = HpackDecoder::new();
        d.decode(&[0x40, 0x01, b'x', 0x01, b'y']).unwrap();
        assert_eq!(
            d.decode(&[0xbe]).unwrap().headers,
            vec![Header::new("x", "y")]
        );
        d.set_table_size_setting(0);
        assert!(d.decode(&[0xbe]).is_err(), "evicted");
        for v in [u32::MAX, 0, 100, 70_000, 1, 4096] {
            d.set_table_size_setting(v);
        }
    }
}
