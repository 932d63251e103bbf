//! Prefixed integers (RFC 9204 §4.1.1, the HPACK encoding of RFC 7541 §5.1 with any
//! prefix width) and string literals (§4.1.2: an H bit just above an N-bit length
//! prefix, Huffman-coded with HPACK's code).
//!
//! Why not HPACK's reader: it knows only 7-bit string prefixes and caps integers at 28
//! bits; QPACK strings use 3-, 5- and 7-bit prefixes, and its integers (stream ids in the
//! decoder stream) may reach 62 bits.

use super::QpackError;
use crate::proto::http2::hpack::huffman;

/// A cursor over bytes; every read is bounded and fails with
/// [`QpackError::Truncated`] when the bytes end first.
pub(crate) struct Reader<'a> {
    pub(crate) buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// The next octet, not consumed.
    pub(crate) fn peek(&self) -> Result<u8, QpackError> {
        self.buf.first().copied().ok_or(QpackError::Truncated)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// An integer with an `n`-bit prefix (1 ≤ n ≤ 8), the first octet's high bits
    /// ignored. At most 9 continuation octets (63 bits); a value that overflows 62 bits
    /// (the largest QUIC varint, so the largest sensible index, size or stream id) is
    /// [`QpackError::IntegerOverflow`].
    pub(crate) fn integer(&mut self, n: u32) -> Result<u64, QpackError> {
        let (&first, rest) = self.buf.split_first().ok_or(QpackError::Truncated)?;
        self.buf = rest;
        let mask = u8::try_from((1u16 << n) - 1).unwrap_or(u8::MAX);
        let mut value = u64::from(first & mask);
        if value < u64::from(mask) {
            return Ok(value);
        }
        for shift in (0u32..9).map(|i| i * 7) {
            let (&b, rest) = self.buf.split_first().ok_or(QpackError::Truncated)?;
            self.buf = rest;
            value = value
                .checked_add(u64::from(b & 0x7f) << shift)
                .filter(|&v| v < 1 << 62)
                .ok_or(QpackError::IntegerOverflow)?;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(QpackError::IntegerOverflow)
    }

    /// A string literal whose length has an `n`-bit prefix and whose H flag is the bit
    /// just above it (§4.1.2). Its encoded length may not exceed `max` (the caller's
    /// bound: table capacity or field-section limit).
    pub(crate) fn string(&mut self, n: u32, max: usize) -> Result<Vec<u8>, QpackError> {
        let huffman = self.peek()? & (1u8 << n) != 0;
        let len = self.integer(n)?;
        let n_bytes = usize::try_from(len).unwrap_or(usize::MAX);
        if n_bytes > max {
            return Err(QpackError::StringTooLong { len, max });
        }
        if n_bytes > self.buf.len() {
            return Err(QpackError::Truncated);
        }
        let (s, rest) = self.buf.split_at(n_bytes);
        self.buf = rest;
        if huffman {
            let mut out = Vec::new();
            huffman::decode(s, &mut out).map_err(|_| QpackError::Huffman)?;
            Ok(out)
        } else {
            Ok(s.to_vec())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_rfc7541_c1() {
        // C.1.1: 10 in a 5-bit prefix; C.1.2: 1337 in a 5-bit prefix; C.1.3: 42 in 8.
        assert_eq!(Reader::new(&[0x0a]).integer(5), Ok(10));
        assert_eq!(Reader::new(&[0x1f, 0x9a, 0x0a]).integer(5), Ok(1337));
        assert_eq!(Reader::new(&[0x2a]).integer(8), Ok(42));
        assert_eq!(Reader::new(&[0xff, 0x00]).integer(8), Ok(255));
        assert_eq!(
            Reader::new(&[0x1f, 0x9a]).integer(5),
            Err(QpackError::Truncated)
        );
        let mut long = vec![0xffu8];
        long.extend([0xff; 9]);
        long.push(0x01);
        assert_eq!(
            Reader::new(&long).integer(8),
            Err(QpackError::IntegerOverflow)
        );
        // 2^62 - 1 + 255 would pass 62 bits: rejected.
        let big = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
        assert_eq!(
            Reader::new(&big).integer(8),
            Err(QpackError::IntegerOverflow)
        );
    }

    #[test]
    fn strings() {
        // 3-bit prefix with H at 0x08: "custom-key" plain.
        let mut b = vec![0x07, 0x03];
        b.extend(b"custom-key");
        assert_eq!(Reader::new(&b).string(3, 100), Ok(b"custom-key".to_vec()));
        // Huffman "www.example.com" (RFC 7541 C.4.1) with a 7-bit prefix.
        let h = [
            0x8c, 0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff,
        ];
        assert_eq!(
            Reader::new(&h).string(7, 100),
            Ok(b"www.example.com".to_vec())
        );
        assert!(matches!(
            Reader::new(&h).string(7, 5),
            Err(QpackError::StringTooLong { len: 12, max: 5 })
        ));
        assert_eq!(
            Reader::new(&h[..5]).string(7, 100),
            Err(QpackError::Truncated)
        );
        // EOS-like padding of 8 ones is a bad Huffman string.
        assert_eq!(
            Reader::new(&[0x81, 0xff]).string(7, 100),
            Err(QpackError::Huffman)
        );
    }
}
