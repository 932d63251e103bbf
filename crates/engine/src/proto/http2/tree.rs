//! The detail-pane tree of the HTTP/2 frames in one segment (or one decrypted record):
//! the preface, then per frame its 9-byte header fields (RFC 9113 §4.1) and its
//! payload fields (§6), each with its byte range, and the decoded field list on the
//! frame that ended a field block.
//!
//! A frame may straddle segments. With the connection's frame records
//! ([`super::FrameInfo`] from [`super::H2Conn::drain_frames`], one direction) the tree
//! knows where frames begin even when the segment starts mid-frame, and shows decoded
//! headers (which need the HPACK state of the whole connection). Without records the
//! segment is read from its first byte as frames, and headers are shown as fragments.
//! Ranges are offsets into the payload given; the caller shifts them into the frame.
//! Every value from the wire is escaped.

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::ops::Range;

use super::conn::{FrameDetail, FrameInfo};
use super::frame::{
    error_code_text, parse_payload, setting_name, FrameHeader, Payload, FRAME_HEADER_LEN,
};
use super::preface::{looks_like_h2, PREFACE};
use crate::base::escape::escape_bytes;
use crate::base::FieldNode;

/// Most frames shown for one segment.
const MAX_FRAMES_SHOWN: usize = 256;

/// The tree of the HTTP/2 bytes in `payload`, which starts at byte `offset` of its
/// direction's stream. `frames` are that direction's frame records (any superset of
/// those overlapping the payload, sorted by offset), or empty to parse the payload
/// from its first byte. `None` when nothing in it is HTTP/2.
pub fn http2_tree(payload: &[u8], offset: u64, frames: &[FrameInfo]) -> Option<FieldNode> {
    let mut root = FieldNode::new("HyperText Transfer Protocol 2", 0..payload.len());
    let mut at = 0usize;
    if offset == 0 && looks_like_h2(payload) {
        let n = PREFACE.len().min(payload.len());
        root.push(
            format!(
                "Connection Preface: {}",
                escape_bytes(payload.get(..n).unwrap_or_default())
            ),
            0..n,
        );
        at = n;
    }
    if frames.is_empty() {
        standalone(payload, at, &mut root);
    } else {
        let end = offset + payload.len() as u64;
        let first = frames.partition_point(|f| f.offset + f.wire_len() <= offset);
        for f in frames
            .get(first..)
            .unwrap_or_default()
            .iter()
            .take_while(|f| f.offset < end)
            .take(MAX_FRAMES_SHOWN)
        {
            let start = f.offset as i64 - offset as i64;
            root.children
                .push(frame_node(&f.header, start, payload, Some(f)));
        }
    }
    if root.children.is_empty() {
        return None;
    }
    let n = root.children.len();
    root.label = format!(
        "HyperText Transfer Protocol 2 ({n} item{})",
        if n == 1 { "" } else { "s" }
    );
    Some(root)
}

/// Frames read from `at` on, without records.
fn standalone(payload: &[u8], mut at: usize, root: &mut FieldNode) {
    while at < payload.len() && root.children.len() < MAX_FRAMES_SHOWN {
        let rest = payload.get(at..).unwrap_or_default();
        let Some(h) = FrameHeader::parse(rest) else {
            root.push(
                format!(
                    "[Frame header continues in the next segment: {} bytes here]",
                    rest.len()
                ),
                at..payload.len(),
            );
            return;
        };
        root.children.push(frame_node(&h, at as i64, payload, None));
        at = at.saturating_add(FRAME_HEADER_LEN + h.len as usize);
    }
}

/// `start..start+len` clipped to the payload.
fn clip(start: i64, len: usize, total: usize) -> Range<usize> {
    let s = start.clamp(0, total as i64) as usize;
    let e = (start + len as i64).clamp(0, total as i64) as usize;
    s..e
}

fn frame_node(h: &FrameHeader, start: i64, payload: &[u8], info: Option<&FrameInfo>) -> FieldNode {
    let total = payload.len();
    let wire = FRAME_HEADER_LEN + h.len as usize;
    let mut label = format!(
        "{} frame, stream {}, length {}",
        h.kind.name(),
        h.stream,
        h.len
    );
    let fl = h.flag_names();
    if !fl.is_empty() {
        label.push_str(&format!(" [{fl}]"));
    }
    if start < 0 {
        label.push_str(" (begins in an earlier segment)");
    }
    if start + wire as i64 > total as i64 {
        label.push_str(" (continues in the next segment)");
    }
    let mut node = FieldNode::new(label, clip(start, wire, total));
    let r = |off: usize, len: usize| clip(start + off as i64, len, total);
    if start >= 0 && start as usize + FRAME_HEADER_LEN <= total {
        node.push(format!("Length: {}", h.len), r(0, 3));
        node.push(
            format!("Type: {} ({})", h.kind.name(), h.kind.code()),
            r(3, 1),
        );
        node.push(
            if fl.is_empty() {
                format!("Flags: 0x{:02x}", h.flags)
            } else {
                format!("Flags: 0x{:02x} ({fl})", h.flags)
            },
            r(4, 1),
        );
        if h.reserved {
            node.push("Reserved bit: set (ignored, RFC 9113 §4.1)", r(5, 4));
        }
        node.push(format!("Stream Identifier: {}", h.stream), r(5, 4));
    }
    let body_start = start + FRAME_HEADER_LEN as i64;
    let whole = if body_start >= 0 && start + wire as i64 <= total as i64 {
        payload.get(body_start as usize..body_start as usize + h.len as usize)
    } else {
        None
    };
    match whole {
        Some(body) => payload_nodes(&mut node, h, body, body_start as usize, info),
        None => {
            if let Some(i) = info {
                node.push(
                    detail_text(&i.detail),
                    clip(body_start, h.len as usize, total),
                );
            }
        }
    }
    if let Some(i) = info {
        headers_node(&mut node, i, clip(body_start, h.len as usize, total));
        if let Some(e) = i.error {
            node.push(format!("[Invalid: {e}]"), clip(start, wire, total));
        }
    }
    node
}

fn detail_text(d: &FrameDetail) -> String {
    match d {
        FrameDetail::Data { body_len, .. } => format!("Data: {body_len} bytes"),
        FrameDetail::Headers { fragment_len, .. }
        | FrameDetail::PushPromise { fragment_len, .. }
        | FrameDetail::Continuation { fragment_len } => {
            format!("Header Block Fragment: {fragment_len} bytes")
        }
        FrameDetail::Skipped => "[Payload too large to buffer: skipped]".to_string(),
        other => format!("{other:?}"),
    }
}

fn headers_node(node: &mut FieldNode, i: &FrameInfo, range: Range<usize>) {
    let Some(hs) = &i.headers else {
        return;
    };
    let mut n = FieldNode::new(
        format!(
            "Header fields (decoded block, {} field{}){}",
            hs.len(),
            if hs.len() == 1 { "" } else { "s" },
            if i.headers_unreliable {
                " [HPACK table lost earlier: may be wrong]"
            } else {
                ""
            }
        ),
        range.clone(),
    );
    for h in hs {
        n.push(
            format!(
                "Header: {}: {}",
                escape_bytes(&h.name),
                escape_bytes(&h.value)
            ),
            range.clone(),
        );
    }
    node.children.push(n);
}

/// Payload fields of a frame wholly inside the payload, `base` its first byte.
fn payload_nodes(
    node: &mut FieldNode,
    h: &FrameHeader,
    body: &[u8],
    base: usize,
    info: Option<&FrameInfo>,
) {
    let p = match parse_payload(h, body) {
        Ok(p) => p,
        Err(e) => {
            if info.is_none() {
                node.push(format!("[Invalid: {}]", e.0), base..base + body.len());
            }
            return;
        }
    };
    // Offset of a sub-slice of `body` within the payload.
    let at = |s: &[u8]| base + (s.as_ptr() as usize).saturating_sub(body.as_ptr() as usize);
    let pad_nodes = |node: &mut FieldNode, pad: Option<u8>| {
        if let Some(pad) = pad {
            node.push(format!("Pad Length: {pad}"), base..base + 1);
            let e = base + body.len();
            node.push(format!("Padding: {pad} bytes"), e - usize::from(pad)..e);
        }
    };
    let prio = |node: &mut FieldNode, from: usize, p: super::frame::Priority| {
        node.push(format!("Exclusive: {}", p.exclusive), from..from + 4);
        node.push(
            format!("Stream Dependency: {}", p.dependency),
            from..from + 4,
        );
        node.push(
            format!("Weight: {} (wire {})", u16::from(p.weight) + 1, p.weight),
            from + 4..from + 5,
        );
    };
    match p {
        Payload::Data { data, pad } => {
            pad_nodes(node, pad);
            node.push(
                format!("Data: {} bytes", data.len()),
                at(data)..at(data) + data.len(),
            );
        }
        Payload::Headers {
            priority,
            fragment,
            pad,
        } => {
            pad_nodes(node, pad);
            if let Some(pr) = priority {
                prio(node, at(fragment) - 5, pr);
            }
            node.push(
                format!("Header Block Fragment: {} bytes", fragment.len()),
                at(fragment)..at(fragment) + fragment.len(),
            );
        }
        Payload::Priority(pr) => prio(node, base, pr),
        Payload::RstStream { error } => {
            node.push(
                format!("Error Code: {} ({error})", error_code_text(error)),
                base..base + 4,
            );
        }
        Payload::Settings { params, .. } => {
            for (k, (id, v)) in params.iter().enumerate() {
                let name = setting_name(*id).unwrap_or("Unknown setting");
                node.push(
                    format!("{name} (0x{id:x}): {v}"),
                    base + 6 * k..base + 6 * k + 6,
                );
            }
        }
        Payload::PushPromise {
            promised,
            fragment,
            pad,
        } => {
            pad_nodes(node, pad);
            let f = at(fragment);
            node.push(format!("Promised Stream ID: {promised}"), f - 4..f);
            node.push(
                format!("Header Block Fragment: {} bytes", fragment.len()),
                f..f + fragment.len(),
            );
        }
        Payload::Ping { opaque, .. } => {
            let hex: String = opaque.iter().map(|b| format!("{b:02x}")).collect();
            node.push(format!("Opaque Data: {hex}"), base..base + 8);
        }
        Payload::Goaway {
            last_stream,
            error,
            debug,
        } => {
            node.push(format!("Last Stream ID: {last_stream}"), base..base + 4);
            node.push(
                format!("Error Code: {} ({error})", error_code_text(error)),
                base + 4..base + 8,
            );
            if !debug.is_empty() {
                node.push(
                    format!(
                        "Debug Data: {}",
                        escape_bytes(debug.get(..256).unwrap_or(debug))
                    ),
                    base + 8..base + body.len(),
                );
            }
        }
        Payload::WindowUpdate { increment } => {
            node.push(
                format!("Window Size Increment: {increment}"),
                base..base + 4,
            );
        }
        Payload::Continuation { fragment } => {
            node.push(
                format!("Header Block Fragment: {} bytes", fragment.len()),
                base..base + fragment.len(),
            );
        }
        Payload::Unknown => {
            node.push(
                format!("Payload: {} bytes (unknown type, ignored)", body.len()),
                base..base + body.len(),
            );
        }
    }
}
