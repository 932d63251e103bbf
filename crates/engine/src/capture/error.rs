//! Capture errors: one type, one clear line each.
//!
//! Every error from reading a capture says *where* (the byte offset in the file or stream)
//! and *how much came out before it* (packets read), because a damaged capture is still
//! worth analysing up to the damage and the user needs to know what was lost.

use std::fmt;

/// What went wrong; see [`CaptureError`] for the position.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ErrorKind {
    /// The path does not exist.
    NotFound { path: String },
    /// The path is a directory.
    IsDirectory { path: String },
    /// Any other I/O failure (permission, read error, gzip corruption).
    Io { context: String, message: String },
    /// The first bytes are neither pcap, pcapng nor gzip.
    UnknownFormat { magic: [u8; 4], have: usize },
    /// The input ended inside a header, record or block.
    Truncated {
        #[serde(deserialize_with = "crate::base::interned::deserialize")]
        what: crate::base::interned::StaticStr,
        need: u64,
        have: u64,
    },
    /// A length field that cannot be right (over the bound, under the minimum, misaligned).
    ImpossibleLength {
        #[serde(deserialize_with = "crate::base::interned::deserialize")]
        what: crate::base::interned::StaticStr,
        len: u64,
        #[serde(deserialize_with = "crate::base::interned::deserialize")]
        reason: crate::base::interned::StaticStr,
    },
    /// A structural violation other than a length (bad byte-order magic, trailer mismatch,
    /// packet block before any section or for an unknown interface).
    Malformed {
        #[serde(deserialize_with = "crate::base::interned::deserialize")]
        what: crate::base::interned::StaticStr,
        detail: String,
    },
    /// A BPF expression did not compile.
    Filter { expr: String, message: String },
    /// Live capture failure (device, permission, libpcap).
    Live { message: String },
    /// Writing a capture failed.
    Write { message: String },
}

/// An error reading or writing a capture, with the byte offset where it happened and the
/// number of packets read before it.
///
/// `Display` is one line, e.g. "truncated packet record at byte offset 18234 (needs 1530
/// bytes, 200 remain); 97 packets were read before it".
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CaptureError {
    /// Byte offset in the (decompressed) file or stream where the damage starts.
    pub offset: u64,
    /// Packets successfully read before the error.
    pub packets_before: u64,
    pub kind: ErrorKind,
}

impl std::error::Error for CaptureError {}

impl CaptureError {
    pub fn new(offset: u64, packets_before: u64, kind: ErrorKind) -> Self {
        CaptureError {
            offset,
            packets_before,
            kind,
        }
    }

    /// An error that is not about a position in the data (open, filter, live).
    pub fn plain(kind: ErrorKind) -> Self {
        CaptureError::new(0, 0, kind)
    }

    pub(crate) fn io(context: impl Into<String>, e: &std::io::Error) -> Self {
        CaptureError::plain(ErrorKind::Io {
            context: context.into(),
            message: e.to_string(),
        })
    }

    /// True when the error is about damaged data (it then has a meaningful offset).
    pub fn is_damage(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Truncated { .. }
                | ErrorKind::ImpossibleLength { .. }
                | ErrorKind::Malformed { .. }
        )
    }
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail = |f: &mut fmt::Formatter<'_>| {
            write!(
                f,
                "; {} packet{} read before it",
                self.packets_before,
                if self.packets_before == 1 {
                    " was"
                } else {
                    "s were"
                }
            )
        };
        match &self.kind {
            ErrorKind::NotFound { path } => write!(f, "{path}: no such file"),
            ErrorKind::IsDirectory { path } => {
                write!(f, "{path}: is a directory, not a capture file")
            }
            ErrorKind::Io { context, message } => write!(f, "{context}: {message}"),
            ErrorKind::UnknownFormat { magic, have } => {
                if *have == 0 {
                    write!(f, "not a capture file: the input is empty")
                } else {
                    write!(
                        f,
                        "not a capture file (pcap, pcapng or gzip): first bytes are"
                    )?;
                    for b in magic.iter().take(*have) {
                        write!(f, " {b:02x}")?;
                    }
                    Ok(())
                }
            }
            ErrorKind::Truncated { what, need, have } => {
                write!(
                    f,
                    "truncated {what} at byte offset {} (needs {need} bytes, {have} remain)",
                    self.offset
                )?;
                tail(f)
            }
            ErrorKind::ImpossibleLength { what, len, reason } => {
                write!(
                    f,
                    "impossible length in {what} at byte offset {}: {len} ({reason})",
                    self.offset
                )?;
                tail(f)
            }
            ErrorKind::Malformed { what, detail } => {
                write!(
                    f,
                    "malformed {what} at byte offset {}: {detail}",
                    self.offset
                )?;
                tail(f)
            }
            ErrorKind::Filter { expr, message } => {
                write!(f, "bad capture filter {expr:?}: {message}")
            }
            ErrorKind::Live { message } => write!(f, "live capture: {message}"),
            ErrorKind::Write { message } => write!(f, "writing capture: {message}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line_with_offset() {
        let e = CaptureError::new(
            18234,
            97,
            ErrorKind::Truncated {
                what: "packet record",
                need: 1530,
                have: 200,
            },
        );
        assert_eq!(
            e.to_string(),
            "truncated packet record at byte offset 18234 (needs 1530 bytes, 200 remain); 97 packets were read before it"
        );
        let e = CaptureError::plain(ErrorKind::UnknownFormat {
            magic: *b"GET ",
            have: 4,
        });
        assert_eq!(
            e.to_string(),
            "not a capture file (pcap, pcapng or gzip): first bytes are 47 45 54 20"
        );
    }
}
