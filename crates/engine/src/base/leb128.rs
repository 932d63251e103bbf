//! Lengths written as unsigned LEB128 (seven bits a byte, low first; the high bit says
//! another byte follows), as the compressed lists write each record's or line's length
//! before it: one byte for anything under 128, nothing fixed-size per record.

/// Appends `n` as LEB128.
pub fn write_len(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// A LEB128 length at the start of `b`, and the bytes it took. `None` when `b` ends
/// inside it, it runs past ten bytes, or it does not fit a `usize`.
pub fn read_len(b: &[u8]) -> Option<(usize, usize)> {
    let mut n: u64 = 0;
    for (i, &x) in b.iter().enumerate().take(10) {
        n |= u64::from(x & 0x7f) << (7 * i);
        if x & 0x80 == 0 {
            return Some((usize::try_from(n).ok()?, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip_and_cuts_read_as_none() {
        for n in [
            0usize,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            1 << 31,
            usize::MAX >> 1,
        ] {
            let mut b = Vec::new();
            write_len(&mut b, n);
            assert_eq!(read_len(&b), Some((n, b.len())), "{n}");
            b.push(0x55);
            assert_eq!(read_len(&b), Some((n, b.len() - 1)), "{n} then more");
            if b.len() > 2 {
                assert_eq!(read_len(&b[..b.len() - 2]), None, "{n} cut");
            }
        }
        assert_eq!(read_len(&[0x80; 11]), None, "no end");
        assert_eq!(read_len(&[]), None);
    }
}
