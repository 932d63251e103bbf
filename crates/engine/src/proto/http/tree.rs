//! The detail-pane tree of an HTTP/1.x message head carried in one segment: the
//! request or status line (RFC 9112 §3, §4) with its parts, one node per header field
//! line (§5), the empty line, and a summary of the body bytes that follow in the same
//! segment.
//!
//! Ranges are offsets into the payload given; the caller shifts them into the frame.
//! Only the segment's own bytes are read: a head split across segments shows the lines
//! that are complete here and a last node saying the head continues. Every value from
//! the wire is escaped.

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::parse::{
    header_line, plausible_start, request_line, status_line, HeaderLine, MAX_HEADER_LINES,
};
use crate::base::escape::escape_bytes;
use crate::base::FieldNode;

/// Offset of `sub` inside `whole` (a sub-slice of it).
fn off(whole: &[u8], sub: &[u8]) -> usize {
    (sub.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

/// The tree of the HTTP head that starts this payload, or `None` when the payload does
/// not start with a request or status line (a body segment, say).
pub fn http_tree(payload: &[u8]) -> Option<FieldNode> {
    let request = match (
        plausible_start(payload, true),
        plausible_start(payload, false),
    ) {
        (Some(true), _) => true,
        (_, Some(true)) => false,
        _ => return None,
    };
    let mut root = FieldNode::new("Hypertext Transfer Protocol", 0..payload.len());
    let Some(nl) = payload.iter().position(|&b| b == b'\n') else {
        root.push(
            format!(
                "[Start line continues in the next segment: {} bytes here]",
                payload.len()
            ),
            0..payload.len(),
        );
        return Some(root);
    };
    let line = payload.get(..=nl).unwrap_or(payload);
    let shown = escape_bytes(
        line.strip_suffix(b"\n")
            .unwrap_or(line)
            .strip_suffix(b"\r")
            .unwrap_or(line),
    );
    let mut first = FieldNode::new(shown.clone(), 0..nl + 1);
    if request {
        match request_line(line) {
            Ok((_, r)) => {
                let m = off(payload, r.method);
                let t = off(payload, r.target);
                first.push(
                    format!("Request Method: {}", escape_bytes(r.method)),
                    m..m + r.method.len(),
                );
                first.push(
                    format!("Request URI: {}", escape_bytes(r.target)),
                    t..t + r.target.len(),
                );
                let v = t + r.target.len() + 1;
                first.push(format!("Request Version: {}", r.version), v..v + 8);
            }
            Err(_) => {
                first.push("[Not a valid request line]", 0..nl + 1);
            }
        }
    } else {
        match status_line(line) {
            Ok((_, s)) => {
                first.push(format!("Response Version: {}", s.version), 0..8);
                first.push(format!("Status Code: {}", s.code), 9..12);
                if !s.reason.is_empty() {
                    let r = off(payload, s.reason);
                    first.push(
                        format!("Response Phrase: {}", escape_bytes(s.reason)),
                        r..r + s.reason.len(),
                    );
                }
            }
            Err(_) => {
                first.push("[Not a valid status line]", 0..nl + 1);
            }
        }
    }
    root.label = format!("Hypertext Transfer Protocol: {shown}");
    root.children.push(first);
    let mut at = nl + 1;
    let mut lines = 0usize;
    let mut content_length: Option<String> = None;
    let mut content_type: Option<String> = None;
    let mut chunked = false;
    let head_end = loop {
        let rest = payload.get(at..).unwrap_or_default();
        let Some(n) = rest.iter().position(|&b| b == b'\n') else {
            root.push(
                format!(
                    "[Head continues in the next segment: {lines} header lines here, no empty line yet]"
                ),
                at..payload.len(),
            );
            return Some(root);
        };
        let line = rest.get(..=n).unwrap_or(rest);
        let r = at..at + n + 1;
        match header_line(line) {
            Ok((_, HeaderLine::End)) => {
                root.push("End of head (empty line)", r);
                break at + n + 1;
            }
            Ok((_, HeaderLine::Field { name, value })) => {
                let (nm, v) = (escape_bytes(name), escape_bytes(value));
                if name.eq_ignore_ascii_case(b"content-length") {
                    content_length = Some(v.clone());
                } else if name.eq_ignore_ascii_case(b"content-type") {
                    content_type = Some(v.clone());
                } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                    chunked |= value.to_ascii_lowercase().ends_with(b"chunked");
                }
                root.push(format!("{nm}: {v}"), r);
            }
            Ok((_, HeaderLine::Continuation(v))) => {
                root.push(format!("(folded) {}", escape_bytes(v)), r);
            }
            Err(_) => {
                root.push(
                    format!(
                        "[Not a header line: {}]",
                        escape_bytes(line.strip_suffix(b"\n").unwrap_or(line))
                    ),
                    r,
                );
                return Some(root);
            }
        }
        lines += 1;
        if lines >= MAX_HEADER_LINES {
            root.push(
                format!("[More than {MAX_HEADER_LINES} header lines; the rest not shown]"),
                at + n + 1..payload.len(),
            );
            return Some(root);
        }
        at += n + 1;
    };
    let here = payload.len() - head_end;
    let mut what = Vec::new();
    if let Some(t) = content_type {
        what.push(t);
    }
    if chunked {
        what.push("chunked".into());
    } else if let Some(l) = &content_length {
        what.push(format!("Content-Length {l}"));
    }
    let mut label = format!("Body: {here} bytes in this segment");
    if !what.is_empty() {
        label.push_str(&format!(" ({})", what.join(", ")));
    }
    let total = content_length.and_then(|l| l.parse::<usize>().ok());
    if let Some(t) = total.filter(|&t| t > here) {
        label.push_str(&format!(", {} more in later segments", t - here));
    }
    // A head announcing no body (no length, not chunked, nothing after it) gets none.
    if here > 0 || chunked || total.is_some_and(|t| t > 0) {
        root.push(label, head_end..payload.len());
    }
    Some(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(n: &'a FieldNode, label: &str) -> &'a FieldNode {
        fn go<'b>(n: &'b FieldNode, label: &str) -> Option<&'b FieldNode> {
            if n.label == label {
                return Some(n);
            }
            n.children.iter().find_map(|c| go(c, label))
        }
        go(n, label).unwrap_or_else(|| panic!("no node {label:?} in {n:#?}"))
    }

    /// captures/lab-page.pcap frame 8, TCP payload (frame bytes 66..153).
    const FRAME8: &[u8] =
        b"GET / HTTP/1.1\r\nHost: www.lab.glasscom.com\r\nUser-Agent: wiretale-lab/1\r\nAccept: */*\r\n\r\n";

    #[test]
    fn a_real_request_head_has_its_line_parts_and_each_header() {
        let t = http_tree(FRAME8).unwrap();
        assert_eq!(t.label, "Hypertext Transfer Protocol: GET / HTTP/1.1");
        let line = find(&t, "GET / HTTP/1.1");
        assert_eq!(line.range, 0..16);
        assert_eq!(find(line, "Request Method: GET").range, 0..3);
        assert_eq!(find(line, "Request URI: /").range, 4..5);
        assert_eq!(find(line, "Request Version: HTTP/1.1").range, 6..14);
        let host = find(&t, "Host: www.lab.glasscom.com");
        assert_eq!(
            &FRAME8[host.range.clone()],
            b"Host: www.lab.glasscom.com\r\n"
        );
        assert_eq!(find(&t, "End of head (empty line)").range, 85..87);
        assert!(!t.children.iter().any(|c| c.label.starts_with("Body")));
    }

    #[test]
    fn a_response_head_shows_status_and_the_body_in_the_segment() {
        // The head of captures/lab-page.pcap frame 10 (nginx's 200 for "/"), cut to two
        // headers, and 6 body bytes of the 12 announced.
        let p = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 12\r\n\r\n<html>";
        let t = http_tree(p).unwrap();
        assert_eq!(find(&t, "Status Code: 200").range, 9..12);
        assert_eq!(find(&t, "Response Phrase: OK").range, 13..15);
        let body = find(
            &t,
            "Body: 6 bytes in this segment (text/html, Content-Length 12), 6 more in later segments",
        );
        assert_eq!(body.range, p.len() - 6..p.len());
    }

    #[test]
    fn a_head_cut_by_the_segment_says_so_and_wire_bytes_are_escaped() {
        let t = http_tree(&FRAME8[..50]).unwrap();
        let last = t.children.last().unwrap();
        assert_eq!(
            last.label,
            "[Head continues in the next segment: 1 header lines here, no empty line yet]"
        );
        assert_eq!(last.range, 44..50);
        let evil = b"GET /\x1b[31m HTTP/1.1\r\nX-A: b\x07\r\n\r\n";
        let t = http_tree(evil).unwrap();
        assert_eq!(
            t.label,
            "Hypertext Transfer Protocol: GET /\\x1b[31m HTTP/1.1"
        );
        // Nothing raw reaches a label.
        {
            t.walk(&mut |n, _| {
                let raw = n.label.chars().any(crate::base::escape::is_unsafe_char);
                assert!(!raw, "{:?}", n.label)
            });
        }
        assert!(http_tree(b"\x00\x01 binary body").is_none());
    }
}
