//! HTTP/3 vocabulary (RFC 9114): stream types (§6.2), frame types (§7.2), settings
//! (§7.2.4.1, RFC 9204 §5, RFC 9220, RFC 9297), error codes (§8.1) and the payloads of
//! the control frames, each parsed from a complete frame payload.

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::proto::quic::varint;

/// Unidirectional stream types (§6.2; RFC 9204 §4.2).
pub const STREAM_CONTROL: u64 = 0x00;
pub const STREAM_PUSH: u64 = 0x01;
pub const STREAM_QPACK_ENCODER: u64 = 0x02;
pub const STREAM_QPACK_DECODER: u64 = 0x03;

/// Frame types (§7.2).
pub const DATA: u64 = 0x00;
pub const HEADERS: u64 = 0x01;
pub const CANCEL_PUSH: u64 = 0x03;
pub const SETTINGS: u64 = 0x04;
pub const PUSH_PROMISE: u64 = 0x05;
pub const GOAWAY: u64 = 0x07;
pub const MAX_PUSH_ID: u64 = 0x0d;

/// Settings (§7.2.4.1 and the RFCs that define them).
pub const SETTINGS_QPACK_MAX_TABLE_CAPACITY: u64 = 0x01;
pub const SETTINGS_MAX_FIELD_SECTION_SIZE: u64 = 0x06;
pub const SETTINGS_QPACK_BLOCKED_STREAMS: u64 = 0x07;
pub const SETTINGS_ENABLE_CONNECT_PROTOCOL: u64 = 0x08;
pub const SETTINGS_H3_DATAGRAM: u64 = 0x33;

/// Error code H3_NO_ERROR (§8.1).
pub const H3_NO_ERROR: u64 = 0x100;

/// Reserved values of the form 0x1f × N + 0x21 (§6.2.3 stream types, §7.2.8 frame types,
/// §7.2.4.1 settings, §8.1 error codes): GREASE, to be ignored.
pub fn is_reserved(v: u64) -> bool {
    v >= 0x21 && (v - 0x21).is_multiple_of(0x1f)
}

/// HTTP/2 frame types that HTTP/3 reserves and forbids (§7.2.8, §11.2.1): receiving one
/// is H3_FRAME_UNEXPECTED.
pub fn is_h2_only(t: u64) -> bool {
    matches!(t, 0x02 | 0x06 | 0x08 | 0x09)
}

/// The frame type's name: `HEADERS`, `DATA`…, `GREASE(0x5e)` or `UNKNOWN(0x..)`.
pub fn frame_name(t: u64) -> String {
    let n = match t {
        DATA => "DATA",
        HEADERS => "HEADERS",
        CANCEL_PUSH => "CANCEL_PUSH",
        SETTINGS => "SETTINGS",
        PUSH_PROMISE => "PUSH_PROMISE",
        GOAWAY => "GOAWAY",
        MAX_PUSH_ID => "MAX_PUSH_ID",
        0x02 => "PRIORITY(h2)",
        0x06 => "PING(h2)",
        0x08 => "WINDOW_UPDATE(h2)",
        0x09 => "CONTINUATION(h2)",
        // RFC 9218 §7.2: PRIORITY_UPDATE for a request or a push.
        0xf0700 => "PRIORITY_UPDATE",
        0xf0701 => "PRIORITY_UPDATE(push)",
        t if is_reserved(t) => return format!("GREASE({t:#x})"),
        t => return format!("UNKNOWN({t:#x})"),
    };
    n.to_string()
}

/// The unidirectional stream type's name.
pub fn stream_type_name(t: u64) -> String {
    match t {
        STREAM_CONTROL => "control".into(),
        STREAM_PUSH => "push".into(),
        STREAM_QPACK_ENCODER => "QPACK encoder".into(),
        STREAM_QPACK_DECODER => "QPACK decoder".into(),
        // draft-ietf-webtrans-http3: WebTransport unidirectional streams.
        0x54 => "WebTransport".into(),
        t if is_reserved(t) => format!("GREASE({t:#x})"),
        t => format!("unknown({t:#x})"),
    }
}

/// The setting's name (`SETTINGS_QPACK_MAX_TABLE_CAPACITY`, … `GREASE(0x21)`).
pub fn setting_name(id: u64) -> String {
    match id {
        SETTINGS_QPACK_MAX_TABLE_CAPACITY => "SETTINGS_QPACK_MAX_TABLE_CAPACITY".into(),
        SETTINGS_MAX_FIELD_SECTION_SIZE => "SETTINGS_MAX_FIELD_SECTION_SIZE".into(),
        SETTINGS_QPACK_BLOCKED_STREAMS => "SETTINGS_QPACK_BLOCKED_STREAMS".into(),
        SETTINGS_ENABLE_CONNECT_PROTOCOL => "SETTINGS_ENABLE_CONNECT_PROTOCOL".into(),
        SETTINGS_H3_DATAGRAM => "SETTINGS_H3_DATAGRAM".into(),
        // draft-ietf-webtrans-http3.
        0x2b60_3742 => "SETTINGS_ENABLE_WEBTRANSPORT".into(),
        // HTTP/2 settings that HTTP/3 reserves (§7.2.4.1, §11.2.2): an error.
        0x02..=0x05 => format!("HTTP/2 setting {id:#x} (forbidden)"),
        id if is_reserved(id) => format!("GREASE({id:#x})"),
        id => format!("unknown({id:#x})"),
    }
}

/// The error code's name (§8.1; RFC 9204 §6 for QPACK's), or its hex value.
pub fn error_code_text(code: u64) -> String {
    let n = match code {
        0x100 => "H3_NO_ERROR",
        0x101 => "H3_GENERAL_PROTOCOL_ERROR",
        0x102 => "H3_INTERNAL_ERROR",
        0x103 => "H3_STREAM_CREATION_ERROR",
        0x104 => "H3_CLOSED_CRITICAL_STREAM",
        0x105 => "H3_FRAME_UNEXPECTED",
        0x106 => "H3_FRAME_ERROR",
        0x107 => "H3_EXCESSIVE_LOAD",
        0x108 => "H3_ID_ERROR",
        0x109 => "H3_SETTINGS_ERROR",
        0x10a => "H3_MISSING_SETTINGS",
        0x10b => "H3_REQUEST_REJECTED",
        0x10c => "H3_REQUEST_CANCELLED",
        0x10d => "H3_REQUEST_INCOMPLETE",
        0x10e => "H3_MESSAGE_ERROR",
        0x10f => "H3_CONNECT_ERROR",
        0x110 => "H3_VERSION_FALLBACK",
        0x200 => "QPACK_DECOMPRESSION_FAILED",
        0x201 => "QPACK_ENCODER_STREAM_ERROR",
        0x202 => "QPACK_DECODER_STREAM_ERROR",
        c if is_reserved(c) => return format!("GREASE({c:#x})"),
        c => return format!("{c:#x}"),
    };
    n.to_string()
}

/// A frame header (§7.1): type and length, each a QUIC varint; `len` is the header's
/// own size in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    pub ty: u64,
    pub payload_len: u64,
    pub len: usize,
}

impl FrameHeader {
    /// Parses a frame header at the start of `b`; `None` if incomplete.
    pub fn parse(b: &[u8]) -> Option<FrameHeader> {
        let (ty, n1) = varint(b)?;
        let (payload_len, n2) = varint(b.get(n1..)?)?;
        Some(FrameHeader {
            ty,
            payload_len,
            len: n1 + n2,
        })
    }
}

/// Why a control frame's payload is malformed (H3_FRAME_ERROR, §7.1, or
/// H3_SETTINGS_ERROR, §7.2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameError(pub &'static str);

/// A payload that is exactly one varint (GOAWAY, MAX_PUSH_ID, CANCEL_PUSH: §7.2.3,
/// §7.2.6, §7.2.7).
pub fn parse_single_varint(p: &[u8]) -> Result<u64, FrameError> {
    match varint(p) {
        Some((v, n)) if n == p.len() => Ok(v),
        Some(_) => Err(FrameError(
            "extra bytes after the identifier (RFC 9114 §7.1)",
        )),
        None => Err(FrameError("identifier cut short (RFC 9114 §7.1)")),
    }
}

/// SETTINGS (§7.2.4): identifier/value pairs. A repeated identifier or an HTTP/2 setting
/// is H3_SETTINGS_ERROR; the pairs read so far are returned with the error.
pub fn parse_settings(p: &[u8]) -> (Vec<(u64, u64)>, Option<FrameError>) {
    let mut out: Vec<(u64, u64)> = Vec::new();
    let mut at = 0usize;
    while at < p.len() {
        let rest = p.get(at..).unwrap_or_default();
        let Some((id, n1)) = varint(rest) else {
            return (out, Some(FrameError("setting cut short (RFC 9114 §7.2.4)")));
        };
        let Some((v, n2)) = rest.get(n1..).and_then(varint) else {
            return (out, Some(FrameError("setting cut short (RFC 9114 §7.2.4)")));
        };
        at += n1 + n2;
        if out.iter().any(|&(i, _)| i == id) {
            return (
                out,
                Some(FrameError("a setting is repeated (RFC 9114 §7.2.4)")),
            );
        }
        if (0x02..=0x05).contains(&id) {
            out.push((id, v));
            return (
                out,
                Some(FrameError(
                    "an HTTP/2 setting in HTTP/3 SETTINGS (RFC 9114 §7.2.4.1)",
                )),
            );
        }
        out.push((id, v));
    }
    (out, None)
}

/// PUSH_PROMISE (§7.2.5): the push id and the encoded field section.
pub fn parse_push_promise(p: &[u8]) -> Result<(u64, &[u8]), FrameError> {
    let (id, n) = varint(p).ok_or(FrameError("push id cut short (RFC 9114 §7.2.5)"))?;
    Ok((id, p.get(n..).unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_values_are_0x21_plus_multiples_of_0x1f() {
        assert!(is_reserved(0x21));
        assert!(is_reserved(0x40));
        assert!(is_reserved(0x5f));
        assert!(!is_reserved(0x20));
        assert!(!is_reserved(0x22));
        assert!(!is_reserved(0));
        assert!(is_reserved(0x21 + 0x1f * 1_000_000_000));
        assert_eq!(frame_name(0x5f), "GREASE(0x5f)");
        assert_eq!(stream_type_name(0x21), "GREASE(0x21)");
    }

    #[test]
    fn settings_as_aioquic_sends_them() {
        // aioquic 1.7.2's client SETTINGS payload (tests/data/http3/session.streams, the
        // second delivery on stream 2): capacity 4096, blocked 16, CONNECT 1, 0x21 = 1.
        let p = [0x01, 0x50, 0x00, 0x07, 0x10, 0x08, 0x01, 0x21, 0x01];
        let (s, e) = parse_settings(&p);
        assert_eq!(e, None);
        assert_eq!(s, vec![(1, 4096), (7, 16), (8, 1), (0x21, 1)]);
        assert_eq!(setting_name(0x21), "GREASE(0x21)");
        let (s, e) = parse_settings(&[0x01, 0x01, 0x01, 0x02]);
        assert_eq!(s, vec![(1, 1)]);
        assert!(e.is_some());
        let (_, e) = parse_settings(&[0x03, 0x01]);
        assert!(e.is_some(), "an HTTP/2 setting is an error");
        let (_, e) = parse_settings(&[0x01]);
        assert!(e.is_some());
    }

    #[test]
    fn single_varints_and_headers() {
        assert_eq!(parse_single_varint(&[0x18]), Ok(24));
        assert!(parse_single_varint(&[0x18, 0]).is_err());
        assert!(parse_single_varint(&[0x40]).is_err());
        assert!(parse_single_varint(&[]).is_err());
        assert_eq!(
            FrameHeader::parse(&[0x00, 0x4a, 0xad]),
            Some(FrameHeader {
                ty: 0,
                payload_len: 0xaad,
                len: 3
            })
        );
        assert_eq!(FrameHeader::parse(&[0x00, 0x4a]), None);
        assert_eq!(error_code_text(0x10c), "H3_REQUEST_CANCELLED");
        assert_eq!(error_code_text(0x21), "GREASE(0x21)");
        assert_eq!(error_code_text(0x999), "0x999");
    }
}
