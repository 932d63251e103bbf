//! What the connection tells about each frame, stream header and QPACK instruction
//! batch: its kind, its details, and a short Info text (`HEADERS GET /static/site.css`,
//! `HEADERS 200`, `DATA 1160`, `SETTINGS`, `QPACK encoder: 2 inserts`).

use super::frame::{error_code_text, frame_name, setting_name, stream_type_name};
use crate::base::escape::escape_bytes;
use crate::base::{Direction, PacketId, Timestamp};
use crate::proto::http2::Header;

/// What one record describes, without borrowing bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum H3FrameDetail {
    /// The type varint that opens a unidirectional stream (RFC 9114 §6.2).
    StreamType(u64),
    /// The push id after a push stream's type (§4.6).
    PushId(u64),
    Data {
        len: u64,
    },
    /// A field section (§7.2.2). `blocked`: it waits for QPACK encoder instructions
    /// (RFC 9204 §2.1.2); a later [`H3FrameDetail::HeadersUnblocked`] record carries
    /// its fields.
    Headers {
        len: u64,
        blocked: bool,
    },
    /// A blocked field section decoded now, on the packet whose encoder-stream bytes
    /// it waited for. `offset` of the record is its HEADERS frame's.
    HeadersUnblocked,
    PushPromise {
        push_id: u64,
        len: u64,
    },
    Settings(Vec<(u64, u64)>),
    Goaway(u64),
    MaxPushId(u64),
    CancelPush(u64),
    /// A frame type HTTP/3 does not define here: reserved (GREASE, §7.2.8) or unknown
    /// (§9), skipped.
    Ignored {
        ty: u64,
        len: u64,
    },
    /// Bytes of a QPACK encoder stream (RFC 9204 §4.3) in one delivery.
    Encoder {
        bytes: u64,
        /// Entries inserted (Insert With Name Reference, With Literal Name, Duplicate).
        inserts: u64,
        /// The table capacity after this batch, if it changed.
        capacity: Option<u64>,
    },
    /// Bytes of a QPACK decoder stream (RFC 9204 §4.4) in one delivery.
    Decoder {
        bytes: u64,
        acks: u64,
        cancels: u64,
        increments: u64,
    },
    /// Larger than wiretale buffers for its type: skipped by count.
    Skipped {
        ty: u64,
        len: u64,
    },
    /// Not allowed here or malformed; [`H3FrameInfo::error`] says why.
    Invalid {
        ty: u64,
        len: u64,
    },
}

/// One record as the engine saw it, for packet notes, `follow` and the field tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct H3FrameInfo {
    pub dir: Direction,
    /// QUIC stream id.
    pub stream: u64,
    /// Offset of the first byte in this stream's bytes (the type varint of a
    /// unidirectional stream counts).
    pub offset: u64,
    /// Bytes on the wire: frame header and payload, or the varint, or the instruction
    /// bytes.
    pub len: u64,
    /// Packet and time of the first byte.
    pub first_pkt: PacketId,
    pub first_ts: Timestamp,
    /// Packet and time that completed it.
    pub pkt: PacketId,
    pub ts: Timestamp,
    pub detail: H3FrameDetail,
    /// The decoded field list of a HEADERS or PUSH_PROMISE (untrusted bytes).
    pub headers: Option<Vec<Header>>,
    /// Why it is invalid (RFC 9114 section named).
    pub error: Option<&'static str>,
}

impl H3FrameInfo {
    /// The HTTP/3 frame type, for records that are frames.
    pub fn frame_type(&self) -> Option<u64> {
        use super::frame::*;
        Some(match &self.detail {
            H3FrameDetail::Data { .. } => DATA,
            H3FrameDetail::Headers { .. } | H3FrameDetail::HeadersUnblocked => HEADERS,
            H3FrameDetail::PushPromise { .. } => PUSH_PROMISE,
            H3FrameDetail::Settings(_) => SETTINGS,
            H3FrameDetail::Goaway(_) => GOAWAY,
            H3FrameDetail::MaxPushId(_) => MAX_PUSH_ID,
            H3FrameDetail::CancelPush(_) => CANCEL_PUSH,
            H3FrameDetail::Ignored { ty, .. }
            | H3FrameDetail::Skipped { ty, .. }
            | H3FrameDetail::Invalid { ty, .. } => *ty,
            H3FrameDetail::StreamType(_)
            | H3FrameDetail::PushId(_)
            | H3FrameDetail::Encoder { .. }
            | H3FrameDetail::Decoder { .. } => return None,
        })
    }

    /// The record's name: the frame type name, `STREAM_TYPE`, `PUSH_ID`,
    /// `QPACK_ENCODER` or `QPACK_DECODER`.
    pub fn name(&self) -> String {
        match &self.detail {
            H3FrameDetail::StreamType(_) => "STREAM_TYPE".into(),
            H3FrameDetail::PushId(_) => "PUSH_ID".into(),
            H3FrameDetail::Encoder { .. } => "QPACK_ENCODER".into(),
            H3FrameDetail::Decoder { .. } => "QPACK_DECODER".into(),
            _ => frame_name(self.frame_type().unwrap_or_default()),
        }
    }

    /// One short line for a packet list: `HEADERS GET /static/site.css`, `HEADERS 200`,
    /// `DATA 1160`, `SETTINGS`, `GOAWAY 24`, `control stream`, `QPACK encoder: 2
    /// inserts`. Escaped.
    pub fn info(&self) -> String {
        let mut s = match &self.detail {
            H3FrameDetail::StreamType(t) => format!("{} stream", stream_type_name(*t)),
            H3FrameDetail::PushId(id) => format!("push stream, push id {id}"),
            H3FrameDetail::Data { len } => format!("DATA {len}"),
            H3FrameDetail::Headers { blocked: true, .. } => "HEADERS (blocked: waits for \
                 QPACK encoder instructions)"
                .into(),
            H3FrameDetail::Headers { .. } => "HEADERS".into(),
            H3FrameDetail::HeadersUnblocked => "HEADERS unblocked".into(),
            H3FrameDetail::PushPromise { push_id, .. } => format!("PUSH_PROMISE {push_id}"),
            H3FrameDetail::Settings(_) => "SETTINGS".into(),
            H3FrameDetail::Goaway(id) => format!("GOAWAY {id}"),
            H3FrameDetail::MaxPushId(id) => format!("MAX_PUSH_ID {id}"),
            H3FrameDetail::CancelPush(id) => format!("CANCEL_PUSH {id}"),
            H3FrameDetail::Ignored { ty, .. } => frame_name(*ty),
            H3FrameDetail::Skipped { ty, len } => {
                format!("{} {len} (skipped)", frame_name(*ty))
            }
            H3FrameDetail::Invalid { ty, .. } => format!("{} (invalid)", frame_name(*ty)),
            H3FrameDetail::Encoder {
                inserts, capacity, ..
            } => {
                let mut s = format!(
                    "QPACK encoder: {inserts} insert{}",
                    if *inserts == 1 { "" } else { "s" }
                );
                if let Some(c) = capacity {
                    s.push_str(&format!(", capacity {c}"));
                }
                s
            }
            H3FrameDetail::Decoder {
                acks,
                cancels,
                increments,
                ..
            } => {
                let mut parts = Vec::new();
                if *acks > 0 {
                    parts.push(format!("{acks} section ack{}", plural(*acks)));
                }
                if *cancels > 0 {
                    parts.push(format!("{cancels} stream cancel{}", plural(*cancels)));
                }
                if *increments > 0 {
                    parts.push(format!(
                        "{increments} insert count increment{}",
                        plural(*increments)
                    ));
                }
                if parts.is_empty() {
                    "QPACK decoder".into()
                } else {
                    format!("QPACK decoder: {}", parts.join(", "))
                }
            }
        };
        if let Some(h) = &self.headers {
            let get = |n: &[u8]| {
                h.iter()
                    .find(|f| f.name == n)
                    .map(|f| escape_bytes(&f.value))
            };
            match (get(b":method"), get(b":path"), get(b":status")) {
                (Some(m), Some(p), _) => s.push_str(&format!(" {m} {p}")),
                (Some(m), None, _) => s.push_str(&format!(" {m}")),
                (_, _, Some(st)) => s.push_str(&format!(" {st}")),
                _ => {}
            }
        }
        s
    }

    /// The settings of a SETTINGS record as `NAME=value` pairs, for the field tree.
    pub fn settings_text(&self) -> Option<String> {
        match &self.detail {
            H3FrameDetail::Settings(p) => Some(
                p.iter()
                    .map(|(id, v)| format!("{}={v}", setting_name(*id)))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            _ => None,
        }
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// An error code with its name, e.g. `H3_REQUEST_CANCELLED (0x10c)`.
pub fn error_code_label(code: u64) -> String {
    let n = error_code_text(code);
    if n.starts_with("0x") {
        n
    } else {
        format!("{n} ({code:#x})")
    }
}
