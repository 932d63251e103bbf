//! A complete message head turned into the few facts the connection state machine and
//! the transaction record need (framing headers, names shown to users).
//!
//! Only the headers wiretale shows or frames by are kept, as lossy UTF-8 strings; the
//! rest are skipped, so a head costs a handful of small allocations, not one per field.

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::parse::{
    first_line, header_line, lenient_request_line, lenient_status_line, BadRequestLine, HeaderLine,
    ReqVersion, Version, MAX_HEADER_LINES,
};
use crate::base::{Anomaly, AnomalyKind};

/// Start line of a head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    Request {
        method: String,
        uri: String,
        /// `None` when the version was malformed; `HTTP/0.9` for a Simple-Request.
        version: Option<Version>,
    },
    Status {
        /// `None` when the version was malformed.
        version: Option<Version>,
        code: u16,
        reason: String,
    },
}

/// A parsed head: its start line and the headers that matter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Head {
    pub start: Option<Start>,
    pub host: Option<String>,
    pub user_agent: Option<String>,
    pub referer: Option<String>,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    /// `Alt-Svc` (RFC 7838 §3), as sent.
    pub alt_svc: Option<String>,
    /// Raw `Transfer-Encoding` value (lists joined with ", ").
    pub transfer_encoding: Option<String>,
    /// Parsed `Content-Length` (RFC 9112 §6.3 rule 5: differing values are an error).
    pub content_length: Option<u64>,
    pub content_length_invalid: bool,
    pub upgrade: Option<String>,
    pub connection_close: bool,
    pub expect_continue: bool,
    /// An HTTP/0.9 Simple-Request (RFC 1945 §4.1): the request line alone, answered by
    /// raw bytes until the server closes.
    pub simple: bool,
    pub anomalies: Vec<Anomaly>,
}

impl Head {
    /// True when the final transfer coding is `chunked` (RFC 9112 §6.3 rule 4).
    pub fn chunked(&self) -> bool {
        self.transfer_encoding.as_deref().is_some_and(|te| {
            te.rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
        })
    }
}

/// Why a complete head could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    #[error("start line is neither a request line nor a status line")]
    BadStartLine,
    #[error("{0}")]
    BadRequestLine(BadRequestLine),
    #[error("malformed header field line")]
    BadHeaderLine,
    #[error("more than {MAX_HEADER_LINES} header lines")]
    TooManyLines,
}

/// Header and start-line text: reversible for invalid bytes (see `base::wire_text`).
fn lossy(b: &[u8]) -> String {
    crate::base::wire_string(b)
}

fn set_or_join(slot: &mut Option<String>, value: &[u8]) {
    match slot {
        Some(s) => {
            s.push_str(", ");
            s.push_str(&crate::base::wire_text(value));
        }
        None => *slot = Some(lossy(value)),
    }
}

/// Parses a complete head (`bytes` ends with its empty line, as found by
/// [`super::parse::find_head_end`], or with the request line alone for an HTTP/0.9
/// Simple-Request). `want_request` picks the start-line grammar.
///
/// Start lines are read leniently, as Zeek and Wireshark read them
/// ([`lenient_request_line`], [`lenient_status_line`]); every deviation from RFC 9112
/// is kept as an anomaly on the head.
pub fn parse_head(bytes: &[u8], want_request: bool) -> Result<Head, HeadError> {
    let mut head = Head::default();
    let (line, after) = first_line(bytes).ok_or(HeadError::BadStartLine)?;
    let rest = bytes.get(after..).unwrap_or_default();
    if want_request {
        let r = lenient_request_line(line).map_err(HeadError::BadRequestLine)?;
        let version = match r.version {
            ReqVersion::Known(v) => Some(v),
            ReqVersion::Simple => Some(Version { major: 0, minor: 9 }),
            ReqVersion::Malformed(_) => None,
        };
        request_anomalies(&mut head.anomalies, &r);
        head.simple = r.version == ReqVersion::Simple;
        head.start = Some(Start::Request {
            method: lossy(r.method),
            uri: lossy(r.target),
            version,
        });
        if head.simple {
            // RFC 1945 §4.1: a Simple-Request is the request line alone.
            return Ok(head);
        }
    } else {
        let s = lenient_status_line(line).ok_or(HeadError::BadStartLine)?;
        if s.lowercase_keyword {
            head.anomalies.push(Anomaly::new(
                AnomalyKind::HttpLowercaseKeyword,
                "status line starts with a lower-case `http/` (RFC 9112 §2.3)",
            ));
        }
        if let Some(bad) = s.bad_version {
            head.anomalies.push(Anomaly::new(
                AnomalyKind::HttpBadVersion,
                format!(
                    "status line version `HTTP/{}` is not digit.digit",
                    crate::base::wire_text(bad)
                ),
            ));
        }
        if s.odd_spacing {
            head.anomalies.push(Anomaly::new(
                AnomalyKind::HttpOddStatusLine,
                "status line is not `version SP code SP reason` (RFC 9112 §4)",
            ));
        }
        head.start = Some(Start::Status {
            version: s.version,
            code: s.code,
            reason: lossy(s.reason),
        });
    }
    let mut i = rest;
    let mut lines = 0usize;
    // Which kept header the previous field was, so an obs-fold continuation joins it.
    let mut last: Option<&'static str> = None;
    loop {
        let (next, line) = match header_line(i) {
            Ok(ok) => ok,
            // A line without a colon (`Mozilla 4.0 (compatible…)` in a CONNECT seen
            // in the wild): skipped, as Zeek and Wireshark skip it. A line that does
            // not even end is still an error (the caller passes whole heads).
            Err(nom::Err::Error(_)) => {
                let Some((bad, n)) = first_line(i) else {
                    return Err(HeadError::BadHeaderLine);
                };
                lines += 1;
                if lines > MAX_HEADER_LINES {
                    return Err(HeadError::TooManyLines);
                }
                let shown = bad.get(..bad.len().min(64)).unwrap_or_default();
                head.anomalies.push(Anomaly::new(
                    AnomalyKind::HttpBadHeaderLine,
                    format!(
                        "header line without a colon skipped: {}",
                        crate::base::wire_text(shown)
                    ),
                ));
                last = None;
                i = i.get(n..).unwrap_or_default();
                continue;
            }
            Err(_) => return Err(HeadError::BadHeaderLine),
        };
        i = next;
        match line {
            HeaderLine::End => break,
            HeaderLine::Continuation(v) => {
                if lines == 0 {
                    // RFC 9112 §2.2: whitespace before the first field is an attack
                    // vector; treat as malformed.
                    return Err(HeadError::BadHeaderLine);
                }
                head.anomalies.push(Anomaly::new(
                    AnomalyKind::HttpObsFold,
                    "obsolete line folding in a header field (RFC 9112 §5.2)",
                ));
                let slot = match last {
                    Some("host") => &mut head.host,
                    Some("user-agent") => &mut head.user_agent,
                    Some("referer") => &mut head.referer,
                    Some("content-type") => &mut head.content_type,
                    _ => continue,
                };
                if let Some(s) = slot {
                    s.push(' ');
                    s.push_str(&crate::base::wire_text(v));
                }
            }
            HeaderLine::Field { name, value } => {
                lines += 1;
                if lines > MAX_HEADER_LINES {
                    return Err(HeadError::TooManyLines);
                }
                last = None;
                let eq = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
                if eq("host") {
                    head.host.get_or_insert_with(|| lossy(value));
                    last = Some("host");
                } else if eq("user-agent") {
                    head.user_agent.get_or_insert_with(|| lossy(value));
                    last = Some("user-agent");
                } else if eq("referer") {
                    head.referer.get_or_insert_with(|| lossy(value));
                    last = Some("referer");
                } else if eq("content-type") {
                    head.content_type.get_or_insert_with(|| lossy(value));
                    last = Some("content-type");
                } else if eq("content-encoding") {
                    set_or_join(&mut head.content_encoding, value);
                } else if eq("alt-svc") {
                    set_or_join(&mut head.alt_svc, value);
                } else if eq("transfer-encoding") {
                    set_or_join(&mut head.transfer_encoding, value);
                } else if eq("content-length") {
                    content_length(&mut head, value);
                } else if eq("upgrade") {
                    head.upgrade.get_or_insert_with(|| lossy(value));
                } else if eq("connection") {
                    for tok in value.split(|&b| b == b',') {
                        let tok = String::from_utf8_lossy(tok);
                        if tok.trim().eq_ignore_ascii_case("close") {
                            head.connection_close = true;
                        }
                    }
                } else if eq("expect") {
                    head.expect_continue |=
                        String::from_utf8_lossy(value).eq_ignore_ascii_case("100-continue");
                }
            }
        }
    }
    Ok(head)
}

/// The anomalies a lenient request line carries.
fn request_anomalies(out: &mut Vec<Anomaly>, r: &super::parse::LenientRequestLine<'_>) {
    match r.version {
        ReqVersion::Simple => {
            let detail = if r.method == b"GET" {
                "request line has no version: HTTP/0.9 Simple-Request (RFC 1945 §4.1)".to_string()
            } else {
                // RFC 1945 §4.1: a Simple-Request is always GET (Zeek:
                // `invalid_http_09_request_method`).
                format!(
                    "request line has no version: HTTP/0.9 Simple-Request with method {}, though HTTP/0.9 only has GET (RFC 1945 §4.1)",
                    crate::base::wire_text(r.method)
                )
            };
            out.push(Anomaly::new(AnomalyKind::Http09Request, detail));
        }
        ReqVersion::Malformed(v) => out.push(Anomaly::new(
            AnomalyKind::HttpBadVersion,
            format!(
                "request line version `HTTP/{}` is not digit.digit",
                crate::base::wire_text(v)
            ),
        )),
        ReqVersion::Known(_) => {}
    }
    if r.lowercase_keyword {
        out.push(Anomaly::new(
            AnomalyKind::HttpLowercaseKeyword,
            "request line has a lower-case `http/` (RFC 9112 §2.3)",
        ));
    }
    if r.missing_target {
        out.push(Anomaly::new(
            AnomalyKind::HttpMissingUri,
            "request line has no target between method and version",
        ));
    }
    if r.spaced_target || r.extra_whitespace || !r.trailing.is_empty() {
        let mut what = Vec::new();
        if r.spaced_target {
            what.push("a target with spaces".to_string());
        }
        if r.extra_whitespace {
            what.push("extra whitespace".to_string());
        }
        if !r.trailing.is_empty() {
            what.push(format!(
                "`{}` after the {}",
                crate::base::wire_text(
                    r.trailing
                        .get(..r.trailing.len().min(64))
                        .unwrap_or_default()
                ),
                if r.version == ReqVersion::Simple {
                    "target"
                } else {
                    "version"
                }
            ));
        }
        out.push(Anomaly::new(
            AnomalyKind::HttpRequestLineExtra,
            format!("request line has {} (RFC 9112 §3)", what.join(", ")),
        ));
    }
}

/// RFC 9112 §6.3 rule 5: a list of identical values is that value; differing or
/// non-numeric values make the length invalid.
fn content_length(head: &mut Head, value: &[u8]) {
    for part in value.split(|&b| b == b',') {
        let part = String::from_utf8_lossy(part);
        let part = part.trim();
        let parsed = if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse::<u64>().ok()
        } else {
            None
        };
        match (parsed, head.content_length) {
            (Some(n), None) if !head.content_length_invalid => head.content_length = Some(n),
            (Some(n), Some(m)) if n == m => {}
            _ => {
                head.content_length_invalid = true;
                head.content_length = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_head_real() {
        // zeek/http-get-gzip.pcap frame 4 (client stream bytes 0..79).
        let b = b"GET /gzip HTTP/1.1\r\nUser-Agent: curl/7.30.0\r\nHost: httpbin.org\r\nAccept: */*\r\n\r\n";
        let h = parse_head(b, true).unwrap();
        assert_eq!(h.host.as_deref(), Some("httpbin.org"));
        assert_eq!(h.user_agent.as_deref(), Some("curl/7.30.0"));
        assert!(matches!(h.start, Some(Start::Request { ref method, .. }) if method == "GET"));
    }

    #[test]
    fn framing_headers() {
        let h = parse_head(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 5, 5\r\n\r\n",
            false,
        )
        .unwrap();
        assert!(h.chunked());
        assert_eq!(h.content_length, Some(5));
        let h = parse_head(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            false,
        )
        .unwrap();
        assert!(h.content_length_invalid);
        assert_eq!(h.content_length, None);
        let h = parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false).unwrap();
        assert!(h.content_length_invalid);
    }

    #[test]
    fn obs_fold_joins_and_is_flagged() {
        let h = parse_head(
            b"GET / HTTP/1.1\r\nUser-Agent: a\r\n  b\r\nHost: h\r\n\r\n",
            true,
        )
        .unwrap();
        assert_eq!(h.user_agent.as_deref(), Some("a b"));
        assert_eq!(h.anomalies[0].name(), "http_obs_fold");
        assert_eq!(
            parse_head(b"GET / HTTP/1.1\r\n x\r\n\r\n", true),
            Err(HeadError::BadHeaderLine)
        );
    }

    #[test]
    fn too_many_lines() {
        let mut b = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..=MAX_HEADER_LINES {
            b.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
        }
        b.extend_from_slice(b"\r\n");
        assert_eq!(parse_head(&b, true), Err(HeadError::TooManyLines));
    }

    fn names(h: &Head) -> Vec<&'static str> {
        h.anomalies.iter().map(|a| a.name()).collect()
    }

    #[test]
    fn simple_request_is_the_line_alone() {
        let h = parse_head(b"GET /zeek.html\n", true).unwrap();
        assert!(h.simple);
        assert_eq!(
            h.start,
            Some(Start::Request {
                method: "GET".into(),
                uri: "/zeek.html".into(),
                version: Some(Version { major: 0, minor: 9 }),
            })
        );
        assert_eq!(names(&h), ["http_09_request"]);
        let h = parse_head(b"POST /zeek.html\n", true).unwrap();
        assert!(
            h.anomalies[0].detail.contains("only has GET"),
            "{:?}",
            h.anomalies
        );
    }

    #[test]
    fn malformed_lines_are_read_and_flagged() {
        let h = parse_head(b"GET / HTTP/1.\r\nHost: a\r\n\r\n", true).unwrap();
        assert!(matches!(
            h.start,
            Some(Start::Request { version: None, .. })
        ));
        assert_eq!(
            (h.host.as_deref(), names(&h)),
            (Some("a"), vec!["http_bad_version"])
        );
        let h = parse_head(b"CONNECT h:443 HTTP/1.1 extra\r\n\r\n", true).unwrap();
        assert_eq!(names(&h), ["http_request_line_extra"]);
        assert!(h.anomalies[0].detail.contains("`extra` after the version"));
        let h = parse_head(b"GET HTTP/1.1\r\n\r\n", true).unwrap();
        assert_eq!(names(&h), ["http_missing_uri"]);
        let h = parse_head(b"http/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", false).unwrap();
        assert_eq!(
            (h.content_length, names(&h)),
            (Some(3), vec!["http_lowercase_keyword"])
        );
        let h = parse_head(b"HTTP/1.0 200OK\r\n\r\n", false).unwrap();
        assert_eq!(names(&h), ["http_odd_status_line"]);
        let h = parse_head(b"HTTP/1.x 200 OK\r\n\r\n", false).unwrap();
        assert!(matches!(
            h.start,
            Some(Start::Status {
                version: None,
                code: 200,
                ..
            })
        ));
        assert_eq!(
            parse_head(b"T / HTTP\r\n\r\n", true),
            Err(HeadError::BadRequestLine(BadRequestLine::NotSimple))
        );
    }

    #[test]
    fn header_line_without_colon_is_skipped() {
        // zeek connect-with-smtp.pcap, frame 4.
        let h = parse_head(
            b"CONNECT mailin03.sul.t-online.de:25 / HTTP/1.0\r\nMozilla 4.0 (compatible; MSIE 5.01; Windows NT 5.0)\r\nHost: x\r\n\r\n",
            true,
        )
        .unwrap();
        assert_eq!(h.host.as_deref(), Some("x"));
        assert_eq!(
            names(&h),
            ["http_request_line_extra", "http_bad_header_line"]
        );
        assert!(h.anomalies[1].detail.contains("Mozilla 4.0"));
    }
}
