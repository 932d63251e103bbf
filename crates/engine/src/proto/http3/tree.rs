//! The detail-pane tree of the HTTP/3 bytes in one QUIC STREAM frame: per HTTP/3 frame
//! (RFC 9114 §7.1) its type and length and what it carried (decoded fields of a
//! HEADERS, the settings, a GOAWAY id), the type of a unidirectional stream (§6.2), and
//! QPACK instruction batches (RFC 9204 §4.3, §4.4); each node with its byte range.
//!
//! With the connection's records ([`H3FrameInfo`] from
//! [`super::H3Conn::drain_frames`], of this stream and direction) the tree knows where
//! frames begin even when the STREAM data starts mid-frame, and shows decoded headers
//! (which need the QPACK state of the whole connection). Without records the data is
//! read from its first byte as frames (after the stream type when it starts a
//! unidirectional stream), and field sections are shown by size only. Ranges are
//! offsets into the payload given. Every value from the wire is escaped.

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::ops::Range;

use super::frame::{frame_name, setting_name, stream_type_name, FrameHeader};
use super::frame_info::{H3FrameDetail, H3FrameInfo};
use crate::base::escape::escape_bytes;
use crate::base::FieldNode;
use crate::proto::quic::varint;

/// Most nodes shown for one STREAM frame.
const MAX_SHOWN: usize = 256;
/// Most header fields listed under one HEADERS node.
const MAX_FIELDS_SHOWN: usize = 128;

/// `start..start+len` (stream offsets) as a range of the payload at `offset`, clipped.
fn clip(start: u64, len: u64, offset: u64, total: usize) -> Range<usize> {
    let s = start.saturating_sub(offset).min(total as u64) as usize;
    let e = start
        .saturating_add(len)
        .saturating_sub(offset)
        .min(total as u64) as usize;
    s..e.max(s)
}

/// The tree of `payload`, bytes of QUIC stream `stream` from stream offset `offset`.
/// `frames`: that stream-direction's records (any superset of those overlapping the
/// payload, in offset order), or empty to parse the payload alone. `None` when nothing
/// is shown.
pub fn http3_tree(
    stream: u64,
    payload: &[u8],
    offset: u64,
    frames: &[H3FrameInfo],
) -> Option<FieldNode> {
    let mut root = FieldNode::new("HyperText Transfer Protocol 3", 0..payload.len());
    if frames.is_empty() {
        standalone(stream, payload, offset, &mut root);
    } else {
        let end = offset + payload.len() as u64;
        for f in frames
            .iter()
            .filter(|f| f.stream == stream && !matches!(f.detail, H3FrameDetail::HeadersUnblocked))
            .filter(|f| f.offset < end && f.offset + f.len.max(1) > offset)
            .take(MAX_SHOWN)
        {
            root.children
                .push(record_node(f, payload.len(), offset, frames));
        }
    }
    if root.children.is_empty() {
        return None;
    }
    let n = root.children.len();
    root.label = format!(
        "HyperText Transfer Protocol 3, stream {stream} ({n} item{})",
        if n == 1 { "" } else { "s" }
    );
    Some(root)
}

fn record_node(f: &H3FrameInfo, total: usize, offset: u64, all: &[H3FrameInfo]) -> FieldNode {
    let range = clip(f.offset, f.len, offset, total);
    let mut label = f.info();
    if f.offset < offset || f.offset + f.len > offset + total as u64 {
        label.push_str(&format!(
            " [bytes {}..{} of the stream; this packet has part]",
            f.offset,
            f.offset + f.len
        ));
    }
    let mut node = FieldNode::new(label, range.clone());
    let hdr_range = |n: u64| clip(f.offset, n, offset, total);
    match &f.detail {
        H3FrameDetail::StreamType(t) => {
            node.push(
                format!("Stream Type: {} ({t:#x})", stream_type_name(*t)),
                range,
            );
            return node;
        }
        H3FrameDetail::PushId(id) => {
            node.push(format!("Push ID: {id}"), range);
            return node;
        }
        H3FrameDetail::Encoder {
            bytes,
            inserts,
            capacity,
        } => {
            node.push(
                format!("Encoder instructions: {bytes} bytes"),
                range.clone(),
            );
            node.push(format!("Insertions: {inserts}"), range.clone());
            if let Some(c) = capacity {
                node.push(format!("Dynamic table capacity: {c}"), range);
            }
            return node;
        }
        H3FrameDetail::Decoder { bytes, .. } => {
            node.push(format!("Decoder instructions: {bytes} bytes"), range);
            return node;
        }
        _ => {}
    }
    let ty = f.frame_type().unwrap_or_default();
    node.push(
        format!("Frame Type: {} ({ty:#x})", frame_name(ty)),
        hdr_range(0),
    );
    node.push(
        format!(
            "Frame Length: {}",
            frame_payload_len(&f.detail).unwrap_or(0)
        ),
        hdr_range(0),
    );
    if let Some(e) = f.error {
        node.push(format!("[Error: {e}]"), range.clone());
    }
    match &f.detail {
        H3FrameDetail::Settings(params) => {
            for (id, v) in params {
                node.push(format!("{}: {v}", setting_name(*id)), range.clone());
            }
        }
        H3FrameDetail::Goaway(id) => {
            node.push(format!("Identifier: {id}"), range.clone());
        }
        H3FrameDetail::MaxPushId(id) | H3FrameDetail::CancelPush(id) => {
            node.push(format!("Push ID: {id}"), range.clone());
        }
        H3FrameDetail::PushPromise { push_id, .. } => {
            node.push(format!("Push ID: {push_id}"), range.clone());
        }
        H3FrameDetail::Headers { blocked: true, .. } => {
            // The fields came later, with the encoder instructions.
            let later = all.iter().find(|u| {
                u.stream == f.stream
                    && u.offset == f.offset
                    && matches!(u.detail, H3FrameDetail::HeadersUnblocked)
            });
            match later {
                Some(u) => {
                    node.push(
                        format!(
                            "[Blocked on QPACK; decoded at frame {}]",
                            u.pkt.frame_number()
                        ),
                        range.clone(),
                    );
                    push_fields(&mut node, u.headers.as_deref(), &range);
                }
                None => {
                    node.push("[Blocked on QPACK encoder instructions]", range.clone());
                }
            }
        }
        _ => {}
    }
    push_fields(&mut node, f.headers.as_deref(), &range);
    node
}

fn push_fields(
    node: &mut FieldNode,
    headers: Option<&[crate::proto::http2::Header]>,
    range: &Range<usize>,
) {
    let Some(h) = headers else {
        return;
    };
    let mut fields = FieldNode::new(format!("Header fields ({})", h.len()), range.clone());
    for x in h.iter().take(MAX_FIELDS_SHOWN) {
        fields.push(
            format!("{}: {}", escape_bytes(&x.name), escape_bytes(&x.value)),
            range.clone(),
        );
    }
    node.children.push(fields);
}

fn frame_payload_len(d: &H3FrameDetail) -> Option<u64> {
    match d {
        H3FrameDetail::Data { len }
        | H3FrameDetail::Headers { len, .. }
        | H3FrameDetail::PushPromise { len, .. }
        | H3FrameDetail::Ignored { len, .. }
        | H3FrameDetail::Skipped { len, .. }
        | H3FrameDetail::Invalid { len, .. } => Some(*len),
        _ => None,
    }
}

/// Frames read from the payload's first byte, without records.
fn standalone(stream: u64, payload: &[u8], offset: u64, root: &mut FieldNode) {
    let mut at = 0usize;
    if offset == 0 && stream & 2 != 0 {
        if let Some((t, n)) = varint(payload) {
            root.push(
                format!("Stream Type: {} ({t:#x})", stream_type_name(t)),
                0..n,
            );
            at = n;
            if t == super::frame::STREAM_QPACK_ENCODER || t == super::frame::STREAM_QPACK_DECODER {
                if payload.len() > n {
                    root.push(
                        format!("QPACK instructions: {} bytes", payload.len() - n),
                        n..payload.len(),
                    );
                }
                return;
            }
            if t == super::frame::STREAM_PUSH {
                if let Some((id, m)) = payload.get(n..).and_then(varint) {
                    root.push(format!("Push ID: {id}"), n..n + m);
                    at = n + m;
                }
            } else if t != super::frame::STREAM_CONTROL {
                return;
            }
        }
    }
    while at < payload.len() && root.children.len() < MAX_SHOWN {
        let rest = payload.get(at..).unwrap_or_default();
        let Some(h) = FrameHeader::parse(rest) else {
            root.push(
                format!(
                    "[Frame header continues in the next packet: {} bytes here]",
                    rest.len()
                ),
                at..payload.len(),
            );
            return;
        };
        let end = (at as u64)
            .saturating_add(h.len as u64)
            .saturating_add(h.payload_len);
        let end_c = end.min(payload.len() as u64) as usize;
        let mut node = FieldNode::new(
            format!("{} frame, length {}", frame_name(h.ty), h.payload_len),
            at..end_c,
        );
        node.push(
            format!("Frame Type: {} ({:#x})", frame_name(h.ty), h.ty),
            at..at + h.len,
        );
        node.push(format!("Frame Length: {}", h.payload_len), at..at + h.len);
        if end > payload.len() as u64 {
            node.push(
                format!(
                    "[Payload continues in the next packet: {} of {} bytes here]",
                    end_c - (at + h.len).min(end_c),
                    h.payload_len
                ),
                (at + h.len).min(end_c)..end_c,
            );
        }
        root.children.push(node);
        at = end_c;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standalone_frames_and_stream_types() {
        // The server's control stream from tests/data/http3/session.streams: type 0,
        // SETTINGS, in one payload.
        let p = [
            0x00, 0x04, 0x09, 0x01, 0x50, 0x00, 0x07, 0x10, 0x08, 0x01, 0x21, 0x01,
        ];
        let t = http3_tree(3, &p, 0, &[]).unwrap();
        assert_eq!(t.children[0].label, "Stream Type: control (0x0)");
        assert_eq!(t.children[1].label, "SETTINGS frame, length 9");
        assert_eq!(t.children[1].range, 1..12);
        // A DATA frame cut short.
        let t = http3_tree(0, &[0x00, 0x4a, 0xad, 1, 2], 100, &[]).unwrap();
        assert!(t.children[0].children[2].label.contains("2 of 2733"));
        // Half a header.
        let t = http3_tree(0, &[0x00], 100, &[]).unwrap();
        assert!(t.children[0].label.contains("continues"));
        assert!(http3_tree(0, &[], 100, &[]).is_none());
    }
}
