//! The classic hex dump (`hexdump -C`, tshark `-x`, Wireshark's bytes pane): 16 bytes a
//! line, an offset, two groups of eight, and an ASCII column with non-printables as dots.
//! One definition for `follow --hex` and the TUI's hex views, so they read the same.

use std::fmt::Write;

/// `00000010  47 45 54 20 ...  GET ...`: one line of at most 16 bytes at `offset`.
pub fn hex_line(offset: u64, chunk: &[u8]) -> String {
    let mut s = String::with_capacity(80);
    let _ = write!(s, "{offset:08x}  ");
    for i in 0..16 {
        match chunk.get(i) {
            Some(b) => {
                let _ = write!(s, "{b:02x} ");
            }
            None => s.push_str("   "),
        }
        if i == 7 {
            s.push(' ');
        }
    }
    s.push(' ');
    for &b in chunk {
        s.push(if b.is_ascii_graphic() || b == b' ' {
            b as char
        } else {
            '.'
        });
    }
    s
}

/// All of `b` as lines of [`hex_line`], offsets from 0, joined by newlines.
/// Bytes as lower-case hex with no separators (`00df041f`), as tshark prints
/// connection IDs and randoms.
pub fn hex_string(b: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

pub fn hexdump(b: &[u8]) -> String {
    b.chunks(16)
        .enumerate()
        .map(|(i, chunk)| hex_line(i as u64 * 16, chunk))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_both_groups_and_the_ascii_column() {
        assert_eq!(
            hexdump(b"GET / HTTP/1.1\r\nHost"),
            "00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 31 0d 0a  GET / HTTP/1.1..\n\
             00000010  48 6f 73 74                                       Host"
        );
        assert_eq!(hexdump(b""), "");
    }
}
