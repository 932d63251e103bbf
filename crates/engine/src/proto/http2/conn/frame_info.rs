//! What the connection tells about each frame: its kind, its details, and the Info text
//! tshark users know (`HEADERS[1]: GET /`).

use super::super::frame::{
    error_code_text, flags, FrameHeader, FrameType, Priority, FRAME_HEADER_LEN,
};
use super::super::hpack::Header;
use crate::base::escape::escape_bytes;
use crate::base::{Direction, PacketId, Timestamp};

/// What a frame carried, without borrowing its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameDetail {
    /// `body_len`: payload minus Pad Length byte and padding.
    Data {
        body_len: u32,
        pad: Option<u8>,
    },
    Headers {
        priority: Option<Priority>,
        fragment_len: u32,
        pad: Option<u8>,
    },
    Priority(Priority),
    RstStream {
        error: u32,
    },
    Settings {
        ack: bool,
        params: Vec<(u16, u32)>,
    },
    PushPromise {
        promised: u32,
        fragment_len: u32,
        pad: Option<u8>,
    },
    Ping {
        ack: bool,
        opaque: [u8; 8],
    },
    Goaway {
        last_stream: u32,
        error: u32,
        /// Debug data (at most 256 bytes kept): untrusted.
        debug: Vec<u8>,
    },
    WindowUpdate {
        increment: u32,
    },
    Continuation {
        fragment_len: u32,
    },
    /// An extension type, ignored (RFC 9113 §5.5).
    Unknown,
    /// Broke a rule of RFC 9113 §6; [`FrameInfo::error`] says which.
    Invalid,
    /// Too large to buffer ([`MAX_BUFFERED_FRAME`]): skipped by count.
    Skipped,
}

/// One frame as the engine saw it, for packet lists, `follow` and the field tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    pub dir: Direction,
    /// Offset of the frame's first header byte in this direction's byte stream (the
    /// client's stream counts the 24-byte preface).
    pub offset: u64,
    pub header: FrameHeader,
    /// Packet and time of the frame's first byte.
    pub first_pkt: PacketId,
    pub first_ts: Timestamp,
    /// Packet and time that completed the frame (tshark shows the frame there).
    pub pkt: PacketId,
    pub ts: Timestamp,
    pub detail: FrameDetail,
    /// The decoded field list, on the frame that ended a field block (END_HEADERS).
    pub headers: Option<Vec<Header>>,
    /// `headers` were decoded after this direction's HPACK table was lost.
    pub headers_unreliable: bool,
    /// Why the frame is invalid (RFC 9113 section named).
    pub error: Option<&'static str>,
}

impl FrameInfo {
    /// Length of the frame on the wire, header included.
    pub fn wire_len(&self) -> u64 {
        FRAME_HEADER_LEN as u64 + u64::from(self.header.len)
    }

    /// One line as a packet list shows it, in tshark's style: `HEADERS[13]: GET
    /// /index.html`, `HEADERS[13]: 200`, `DATA[15]`, `SETTINGS[0]`, `RST_STREAM[1]:
    /// CANCEL`. Escaped.
    pub fn info(&self) -> String {
        let mut s = format!("{}[{}]", self.header.kind.name(), self.header.stream);
        if let Some(h) = &self.headers {
            let get = |n: &[u8]| {
                h.iter()
                    .find(|f| f.name == n)
                    .map(|f| escape_bytes(&f.value))
            };
            match (get(b":method"), get(b":path"), get(b":status")) {
                (Some(m), Some(p), _) => s.push_str(&format!(": {m} {p}")),
                (Some(m), None, _) => s.push_str(&format!(": {m}")),
                (_, _, Some(st)) => s.push_str(&format!(": {st}")),
                _ => {}
            }
        }
        match &self.detail {
            FrameDetail::RstStream { error } | FrameDetail::Goaway { error, .. } => {
                s.push_str(": ");
                s.push_str(&error_code_text(*error));
            }
            FrameDetail::PushPromise { promised, .. } => {
                s.push_str(&format!(" promised {promised}"));
            }
            _ => {}
        }
        if self.header.flags & flags::ACK != 0
            && matches!(self.header.kind, FrameType::Settings | FrameType::Ping)
        {
            s.push_str(" ACK");
        }
        s
    }
}
