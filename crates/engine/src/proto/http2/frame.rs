//! HTTP/2 frames: the 9-byte frame header (RFC 9113 §4.1) and the payload of each
//! frame type (§6), with the checks §6 asks a receiver to make. Parsing works on one
//! complete frame payload; buffering across segments is the engine's job
//! ([`super::H2Conn`]).

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

/// Length of the frame header (RFC 9113 §4.1).
pub const FRAME_HEADER_LEN: usize = 9;
/// SETTINGS_MAX_FRAME_SIZE before a peer announces one, and its smallest legal value
/// (RFC 9113 §6.5.2).
pub const DEFAULT_MAX_FRAME_SIZE: u32 = 1 << 14;
/// The largest SETTINGS_MAX_FRAME_SIZE a peer may announce (RFC 9113 §6.5.2).
pub const MAX_FRAME_SIZE_LIMIT: u32 = (1 << 24) - 1;

/// Frame flags (RFC 9113 §6). The same bit means different things per type.
pub mod flags {
    /// DATA, HEADERS: last frame of the stream from this side (§6.1, §6.2).
    pub const END_STREAM: u8 = 0x01;
    /// SETTINGS, PING: acknowledgement (§6.5, §6.7).
    pub const ACK: u8 = 0x01;
    /// HEADERS, PUSH_PROMISE, CONTINUATION: last frame of the field block (§6.2).
    pub const END_HEADERS: u8 = 0x04;
    /// DATA, HEADERS, PUSH_PROMISE: a Pad Length byte and padding are present (§6.1).
    pub const PADDED: u8 = 0x08;
    /// HEADERS: the deprecated priority fields are present (§6.2).
    pub const PRIORITY: u8 = 0x20;
}

/// Frame type (RFC 9113 §6; IANA "HTTP/2 Frame Type" registry). Unknown types must be
/// ignored (§4.1, §5.5) and are kept with their code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FrameType {
    Data,
    Headers,
    Priority,
    RstStream,
    Settings,
    PushPromise,
    Ping,
    Goaway,
    WindowUpdate,
    Continuation,
    Unknown(u8),
}

impl FrameType {
    pub fn from_code(code: u8) -> Self {
        match code {
            0 => FrameType::Data,
            1 => FrameType::Headers,
            2 => FrameType::Priority,
            3 => FrameType::RstStream,
            4 => FrameType::Settings,
            5 => FrameType::PushPromise,
            6 => FrameType::Ping,
            7 => FrameType::Goaway,
            8 => FrameType::WindowUpdate,
            9 => FrameType::Continuation,
            c => FrameType::Unknown(c),
        }
    }

    /// The type code on the wire (what tshark's `http2.type` holds).
    pub fn code(self) -> u8 {
        match self {
            FrameType::Data => 0,
            FrameType::Headers => 1,
            FrameType::Priority => 2,
            FrameType::RstStream => 3,
            FrameType::Settings => 4,
            FrameType::PushPromise => 5,
            FrameType::Ping => 6,
            FrameType::Goaway => 7,
            FrameType::WindowUpdate => 8,
            FrameType::Continuation => 9,
            FrameType::Unknown(c) => c,
        }
    }

    /// The name RFC 9113 gives the type ("HEADERS"), or "UNKNOWN".
    pub fn name(self) -> &'static str {
        match self {
            FrameType::Data => "DATA",
            FrameType::Headers => "HEADERS",
            FrameType::Priority => "PRIORITY",
            FrameType::RstStream => "RST_STREAM",
            FrameType::Settings => "SETTINGS",
            FrameType::PushPromise => "PUSH_PROMISE",
            FrameType::Ping => "PING",
            FrameType::Goaway => "GOAWAY",
            FrameType::WindowUpdate => "WINDOW_UPDATE",
            FrameType::Continuation => "CONTINUATION",
            FrameType::Unknown(_) => "UNKNOWN",
        }
    }
}

/// The fixed 9-byte header every frame starts with (RFC 9113 §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Payload length (24 bits).
    pub len: u32,
    pub kind: FrameType,
    pub flags: u8,
    /// Stream identifier with the reserved bit cleared (§4.1: ignored on receipt).
    pub stream: u32,
    /// The reserved bit was set.
    pub reserved: bool,
}

impl FrameHeader {
    /// Parses the first 9 bytes of `b`; `None` when fewer are given.
    pub fn parse(b: &[u8]) -> Option<FrameHeader> {
        let h: &[u8; FRAME_HEADER_LEN] = b.get(..FRAME_HEADER_LEN)?.try_into().ok()?;
        let [l0, l1, l2, t, f, s0, s1, s2, s3] = *h;
        let sid = u32::from_be_bytes([s0, s1, s2, s3]);
        Some(FrameHeader {
            len: u32::from_be_bytes([0, l0, l1, l2]),
            kind: FrameType::from_code(t),
            flags: f,
            stream: sid & 0x7fff_ffff,
            reserved: sid & 0x8000_0000 != 0,
        })
    }

    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// The flags that are defined for this type, by name, joined with `|`
    /// ("END_STREAM|END_HEADERS"); empty when none is set.
    pub fn flag_names(&self) -> String {
        let defined: &[(u8, &str)] = match self.kind {
            FrameType::Data => &[(flags::END_STREAM, "END_STREAM"), (flags::PADDED, "PADDED")],
            FrameType::Headers => &[
                (flags::END_STREAM, "END_STREAM"),
                (flags::END_HEADERS, "END_HEADERS"),
                (flags::PADDED, "PADDED"),
                (flags::PRIORITY, "PRIORITY"),
            ],
            FrameType::PushPromise => &[
                (flags::END_HEADERS, "END_HEADERS"),
                (flags::PADDED, "PADDED"),
            ],
            FrameType::Continuation => &[(flags::END_HEADERS, "END_HEADERS")],
            FrameType::Settings | FrameType::Ping => &[(flags::ACK, "ACK")],
            _ => &[],
        };
        let mut s = String::new();
        for (bit, name) in defined {
            if self.flags & bit != 0 {
                if !s.is_empty() {
                    s.push('|');
                }
                s.push_str(name);
            }
        }
        s
    }
}

/// The deprecated priority fields of HEADERS and PRIORITY frames (RFC 9113 §5.3.2,
/// §6.3): still sent by some clients (nghttp2, older Chromium), parsed and shown only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Priority {
    pub exclusive: bool,
    pub dependency: u32,
    /// Weight as on the wire (0–255); the weight it means is one more.
    pub weight: u8,
}

impl Priority {
    fn parse(b: &[u8]) -> Option<Priority> {
        let p: &[u8; 5] = b.get(..5)?.try_into().ok()?;
        let dep = u32::from_be_bytes([p[0], p[1], p[2], p[3]]);
        Some(Priority {
            exclusive: dep & 0x8000_0000 != 0,
            dependency: dep & 0x7fff_ffff,
            weight: p[4],
        })
    }
}

/// A frame's payload, parsed (RFC 9113 §6). Slices borrow the payload given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload<'a> {
    /// §6.1. `data` excludes the Pad Length byte and the padding.
    Data { data: &'a [u8], pad: Option<u8> },
    /// §6.2. `fragment` is the field block fragment (HPACK bytes).
    Headers {
        priority: Option<Priority>,
        fragment: &'a [u8],
        pad: Option<u8>,
    },
    /// §6.3.
    Priority(Priority),
    /// §6.4.
    RstStream { error: u32 },
    /// §6.5: (identifier, value) pairs in order.
    Settings { ack: bool, params: Vec<(u16, u32)> },
    /// §6.6.
    PushPromise {
        promised: u32,
        fragment: &'a [u8],
        pad: Option<u8>,
    },
    /// §6.7.
    Ping { ack: bool, opaque: [u8; 8] },
    /// §6.8.
    Goaway {
        last_stream: u32,
        error: u32,
        debug: &'a [u8],
    },
    /// §6.9.
    WindowUpdate { increment: u32 },
    /// §6.10.
    Continuation { fragment: &'a [u8] },
    /// A type this version does not define: ignored (§5.5).
    Unknown,
}

/// Why a frame is invalid: the sentence names the RFC 9113 rule broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameError(pub &'static str);

/// Strips the Pad Length byte and the padding of a PADDED frame (RFC 9113 §6.1): returns
/// the bytes in between and the pad length. `fixed` bytes (priority fields, promised
/// stream id) follow the Pad Length byte and must fit too.
fn unpad<'a>(
    h: &FrameHeader,
    p: &'a [u8],
    fixed: usize,
) -> Result<(&'a [u8], Option<u8>), FrameError> {
    if !h.has(flags::PADDED) {
        return Ok((p, None));
    }
    let Some((&pad, rest)) = p.split_first() else {
        return Err(FrameError("PADDED frame without a Pad Length byte (§6.1)"));
    };
    // §6.1: padding as long as the payload or longer is a PROTOCOL_ERROR.
    if usize::from(pad) + fixed > rest.len() {
        return Err(FrameError("padding longer than the frame payload (§6.1)"));
    }
    let body = rest
        .get(..rest.len() - usize::from(pad))
        .unwrap_or_default();
    Ok((body, Some(pad)))
}

fn u32_at(p: &[u8], at: usize) -> Option<u32> {
    let b: &[u8; 4] = p.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_be_bytes(*b))
}

/// Parses the payload of one whole frame and checks the stream-id and length rules of
/// RFC 9113 §6. SETTINGS values out of their range (§6.5.2) are errors too.
pub fn parse_payload<'a>(h: &FrameHeader, p: &'a [u8]) -> Result<Payload<'a>, FrameError> {
    let on_stream = |what: &'static str| {
        if h.stream == 0 {
            Err(FrameError(what))
        } else {
            Ok(())
        }
    };
    let on_conn = |what: &'static str| {
        if h.stream != 0 {
            Err(FrameError(what))
        } else {
            Ok(())
        }
    };
    match h.kind {
        FrameType::Data => {
            on_stream("DATA on stream 0 (§6.1)")?;
            let (data, pad) = unpad(h, p, 0)?;
            Ok(Payload::Data { data, pad })
        }
        FrameType::Headers => {
            on_stream("HEADERS on stream 0 (§6.2)")?;
            let fixed = if h.has(flags::PRIORITY) { 5 } else { 0 };
            let (body, pad) = unpad(h, p, fixed)?;
            let (priority, fragment) = if h.has(flags::PRIORITY) {
                let pr = Priority::parse(body).ok_or(FrameError(
                    "HEADERS too short for its priority fields (§6.2)",
                ))?;
                (Some(pr), body.get(5..).unwrap_or_default())
            } else {
                (None, body)
            };
            Ok(Payload::Headers {
                priority,
                fragment,
                pad,
            })
        }
        FrameType::Priority => {
            on_stream("PRIORITY on stream 0 (§6.3)")?;
            if p.len() != 5 {
                return Err(FrameError("PRIORITY payload is not 5 bytes (§6.3)"));
            }
            Priority::parse(p)
                .map(Payload::Priority)
                .ok_or(FrameError("PRIORITY payload is not 5 bytes (§6.3)"))
        }
        FrameType::RstStream => {
            on_stream("RST_STREAM on stream 0 (§6.4)")?;
            match (p.len(), u32_at(p, 0)) {
                (4, Some(error)) => Ok(Payload::RstStream { error }),
                _ => Err(FrameError("RST_STREAM payload is not 4 bytes (§6.4)")),
            }
        }
        FrameType::Settings => {
            on_conn("SETTINGS on a stream (§6.5)")?;
            let ack = h.has(flags::ACK);
            if ack && !p.is_empty() {
                return Err(FrameError("SETTINGS ACK with a payload (§6.5)"));
            }
            if !p.len().is_multiple_of(6) {
                return Err(FrameError("SETTINGS length not a multiple of 6 (§6.5)"));
            }
            let mut params = Vec::with_capacity(p.len() / 6);
            for c in p.chunks_exact(6) {
                let id = u16::from_be_bytes([
                    c.first().copied().unwrap_or(0),
                    c.get(1).copied().unwrap_or(0),
                ]);
                let v = u32_at(c, 2).unwrap_or(0);
                match id {
                    0x2 if v > 1 => {
                        return Err(FrameError("SETTINGS_ENABLE_PUSH not 0 or 1 (§6.5.2)"))
                    }
                    0x4 if v > 0x7fff_ffff => {
                        return Err(FrameError(
                            "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1 (§6.5.2)",
                        ))
                    }
                    0x5 if !(DEFAULT_MAX_FRAME_SIZE..=MAX_FRAME_SIZE_LIMIT).contains(&v) => {
                        return Err(FrameError(
                            "SETTINGS_MAX_FRAME_SIZE outside 2^14..2^24-1 (§6.5.2)",
                        ))
                    }
                    _ => {}
                }
                params.push((id, v));
            }
            Ok(Payload::Settings { ack, params })
        }
        FrameType::PushPromise => {
            on_stream("PUSH_PROMISE on stream 0 (§6.6)")?;
            let (body, pad) = unpad(h, p, 4)?;
            let promised = u32_at(body, 0).ok_or(FrameError(
                "PUSH_PROMISE too short for its stream id (§6.6)",
            ))? & 0x7fff_ffff;
            if promised == 0 || promised % 2 == 1 {
                return Err(FrameError(
                    "PUSH_PROMISE promises stream 0 or a client (odd) stream (§5.1.1, §6.6)",
                ));
            }
            Ok(Payload::PushPromise {
                promised,
                fragment: body.get(4..).unwrap_or_default(),
                pad,
            })
        }
        FrameType::Ping => {
            on_conn("PING on a stream (§6.7)")?;
            let opaque: [u8; 8] = p
                .try_into()
                .map_err(|_| FrameError("PING payload is not 8 bytes (§6.7)"))?;
            Ok(Payload::Ping {
                ack: h.has(flags::ACK),
                opaque,
            })
        }
        FrameType::Goaway => {
            on_conn("GOAWAY on a stream (§6.8)")?;
            match (u32_at(p, 0), u32_at(p, 4)) {
                (Some(last), Some(error)) => Ok(Payload::Goaway {
                    last_stream: last & 0x7fff_ffff,
                    error,
                    debug: p.get(8..).unwrap_or_default(),
                }),
                _ => Err(FrameError("GOAWAY shorter than 8 bytes (§6.8)")),
            }
        }
        FrameType::WindowUpdate => match (p.len(), u32_at(p, 0)) {
            (4, Some(v)) if v & 0x7fff_ffff == 0 => {
                Err(FrameError("WINDOW_UPDATE with a zero increment (§6.9)"))
            }
            (4, Some(v)) => Ok(Payload::WindowUpdate {
                increment: v & 0x7fff_ffff,
            }),
            _ => Err(FrameError("WINDOW_UPDATE payload is not 4 bytes (§6.9)")),
        },
        FrameType::Continuation => {
            on_stream("CONTINUATION on stream 0 (§6.10)")?;
            Ok(Payload::Continuation { fragment: p })
        }
        FrameType::Unknown(_) => Ok(Payload::Unknown),
    }
}

/// The name of an error code (RFC 9113 §7), as RST_STREAM and GOAWAY carry it.
pub fn error_code_name(code: u32) -> Option<&'static str> {
    Some(match code {
        0x0 => "NO_ERROR",
        0x1 => "PROTOCOL_ERROR",
        0x2 => "INTERNAL_ERROR",
        0x3 => "FLOW_CONTROL_ERROR",
        0x4 => "SETTINGS_TIMEOUT",
        0x5 => "STREAM_CLOSED",
        0x6 => "FRAME_SIZE_ERROR",
        0x7 => "REFUSED_STREAM",
        0x8 => "CANCEL",
        0x9 => "COMPRESSION_ERROR",
        0xa => "CONNECT_ERROR",
        0xb => "ENHANCE_YOUR_CALM",
        0xc => "INADEQUATE_SECURITY",
        0xd => "HTTP_1_1_REQUIRED",
        _ => return None,
    })
}

/// "CANCEL" or "0x1234 (unknown)": an error code for display.
pub fn error_code_text(code: u32) -> String {
    match error_code_name(code) {
        Some(n) => n.to_string(),
        None => format!("0x{code:x} (unknown)"),
    }
}

/// The name of a SETTINGS parameter (RFC 9113 §6.5.2; 0x8 from RFC 8441, 0x9 from
/// RFC 9218).
pub fn setting_name(id: u16) -> Option<&'static str> {
    Some(match id {
        0x1 => "SETTINGS_HEADER_TABLE_SIZE",
        0x2 => "SETTINGS_ENABLE_PUSH",
        0x3 => "SETTINGS_MAX_CONCURRENT_STREAMS",
        0x4 => "SETTINGS_INITIAL_WINDOW_SIZE",
        0x5 => "SETTINGS_MAX_FRAME_SIZE",
        0x6 => "SETTINGS_MAX_HEADER_LIST_SIZE",
        0x8 => "SETTINGS_ENABLE_CONNECT_PROTOCOL",
        0x9 => "SETTINGS_NO_RFC7540_PRIORITIES",
        _ => return None,
    })
}

/// Setting identifiers the engine acts on.
pub const SETTINGS_HEADER_TABLE_SIZE: u16 = 0x1;
pub const SETTINGS_MAX_FRAME_SIZE: u16 = 0x5;

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(len: u32, t: u8, f: u8, s: u32) -> FrameHeader {
        let mut b = len.to_be_bytes()[1..].to_vec();
        b.push(t);
        b.push(f);
        b.extend_from_slice(&s.to_be_bytes());
        FrameHeader::parse(&b).unwrap()
    }

    #[test]
    fn header_fields_and_reserved_bit() {
        let h = FrameHeader::parse(&[0, 0, 5, 1, 0x25, 0x80, 0, 0, 13]).unwrap();
        assert_eq!(h.len, 5);
        assert_eq!(h.kind, FrameType::Headers);
        assert_eq!(h.stream, 13);
        assert!(h.reserved);
        assert_eq!(h.flag_names(), "END_STREAM|END_HEADERS|PRIORITY");
        assert!(FrameHeader::parse(&[0; 8]).is_none());
        for c in 0..=255u8 {
            assert_eq!(FrameType::from_code(c).code(), c);
        }
    }

    #[test]
    fn padded_headers_with_priority() {
        let h = hdr(
            0,
            1,
            flags::PADDED | flags::PRIORITY | flags::END_HEADERS,
            3,
        );
        // pad 2, dep 0x80000001 (exclusive, 1), weight 15, fragment 0x82, padding.
        let p = [2, 0x80, 0, 0, 1, 15, 0x82, 0, 0];
        match parse_payload(&h, &p).unwrap() {
            Payload::Headers {
                priority,
                fragment,
                pad,
            } => {
                assert_eq!(
                    priority,
                    Some(Priority {
                        exclusive: true,
                        dependency: 1,
                        weight: 15
                    })
                );
                assert_eq!(fragment, &[0x82]);
                assert_eq!(pad, Some(2));
            }
            other => panic!("{other:?}"),
        }
        // Padding that eats the priority fields.
        assert!(parse_payload(&h, &[5, 0, 0, 0, 1, 15]).is_err());
        assert!(parse_payload(&h, &[]).is_err());
    }

    #[test]
    fn data_padding_rules() {
        let h = hdr(0, 0, flags::PADDED, 1);
        assert_eq!(
            parse_payload(&h, &[1, b'a', 0]).unwrap(),
            Payload::Data {
                data: b"a",
                pad: Some(1)
            }
        );
        // §6.1: padding length equal to the payload length is an error.
        assert!(parse_payload(&h, &[2, 0]).is_err());
        assert!(parse_payload(&hdr(0, 0, 0, 0), b"x").is_err());
    }

    #[test]
    fn fixed_length_frames() {
        assert!(parse_payload(&hdr(0, 3, 0, 1), &[0, 0, 0, 8]).is_ok());
        assert!(parse_payload(&hdr(0, 3, 0, 1), &[0, 0, 8]).is_err());
        assert!(parse_payload(&hdr(0, 6, 0, 0), &[0; 8]).is_ok());
        assert!(parse_payload(&hdr(0, 6, 0, 1), &[0; 8]).is_err());
        assert!(parse_payload(&hdr(0, 6, 0, 0), &[0; 7]).is_err());
        assert!(parse_payload(&hdr(0, 8, 0, 0), &[0, 0, 0, 0]).is_err());
        assert_eq!(
            parse_payload(&hdr(0, 8, 0, 5), &[0x80, 0, 1, 0]).unwrap(),
            Payload::WindowUpdate { increment: 256 }
        );
        assert!(parse_payload(&hdr(0, 7, 0, 0), &[0; 7]).is_err());
        assert!(parse_payload(&hdr(0, 2, 0, 3), &[0; 4]).is_err());
        assert_eq!(
            parse_payload(&hdr(0, 0xfa, 0, 3), &[1]).unwrap(),
            Payload::Unknown
        );
    }

    #[test]
    fn settings_rules() {
        let h = hdr(0, 4, 0, 0);
        assert_eq!(
            parse_payload(&h, &[0, 1, 0, 0, 0x10, 0, 0, 5, 0, 0, 0x40, 0]).unwrap(),
            Payload::Settings {
                ack: false,
                params: vec![(1, 4096), (5, 16384)]
            }
        );
        assert!(
            parse_payload(&h, &[0, 5, 0, 0, 0x10, 0]).is_err(),
            "frame size too small"
        );
        assert!(
            parse_payload(&h, &[0, 2, 0, 0, 0, 2]).is_err(),
            "enable push 2"
        );
        assert!(parse_payload(&h, &[0; 5]).is_err());
        assert!(
            parse_payload(&hdr(0, 4, 1, 0), &[0; 6]).is_err(),
            "ACK with payload"
        );
        assert!(parse_payload(&hdr(0, 4, 0, 1), &[]).is_err(), "on a stream");
    }

    #[test]
    fn push_promise_rules() {
        let h = hdr(0, 5, flags::END_HEADERS, 1);
        assert_eq!(
            parse_payload(&h, &[0, 0, 0, 2, 0x82]).unwrap(),
            Payload::PushPromise {
                promised: 2,
                fragment: &[0x82],
                pad: None
            }
        );
        assert!(parse_payload(&h, &[0, 0, 0, 3]).is_err(), "odd promised id");
        assert!(parse_payload(&h, &[0, 0, 2]).is_err());
    }

    #[test]
    fn names() {
        assert_eq!(error_code_name(8), Some("CANCEL"));
        assert_eq!(error_code_text(0x99), "0x99 (unknown)");
        assert_eq!(setting_name(1), Some("SETTINGS_HEADER_TABLE_SIZE"));
        assert_eq!(setting_name(7), None);
    }
}
