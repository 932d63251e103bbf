//! Streaming nom 8 parsers for the HTTP/1.x message head (RFC 9112 §2–§5).
//!
//! These run over reassembled TCP bytes, so they are *streaming*: `Err::Incomplete`
//! means "the head is not all here yet, wait for bytes", never "malformed". The caller
//! ([`super::HttpConn`]) first finds the end of the head (an empty line) by scanning only
//! new bytes, then parses the complete head once, so a slow trickle of segments costs
//! linear, not quadratic, work.
//!
//! Tolerances, as RFC 9112 allows a recipient: a bare LF ends a line (§2.2), obs-fold
//! continuation lines are joined with a space (§5.2), and leading empty lines before a
//! request line are skipped by the caller (§2.2).

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use nom::bytes::streaming::{tag, take_while, take_while1, take_while_m_n};
use nom::character::streaming::char;
use nom::{IResult, Parser};

/// Most bytes a head (start line + header fields + empty line) may take.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most header field lines in one head.
pub const MAX_HEADER_LINES: usize = 200;
/// Longest chunk-size line (RFC 9112 §7.1), extensions included.
pub const MAX_CHUNK_LINE: usize = 1024;

/// The protocol version of a start line: `HTTP/<major>.<minor>`.
#[derive(
    serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
pub struct Version {
    pub major: u8,
    pub minor: u8,
}

impl Version {
    pub const HTTP_1_0: Version = Version { major: 1, minor: 0 };
    pub const HTTP_1_1: Version = Version { major: 1, minor: 1 };
    pub const HTTP_2: Version = Version { major: 2, minor: 0 };
    pub const HTTP_3: Version = Version { major: 3, minor: 0 };
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // HTTP/2 and HTTP/3 have no minor version in their names (RFC 9113, RFC 9114).
        if self.major >= 2 {
            write!(f, "HTTP/{}", self.major)
        } else {
            write!(f, "HTTP/{}.{}", self.major, self.minor)
        }
    }
}

/// A request line (RFC 9112 §3): `method SP request-target SP HTTP-version`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestLine<'a> {
    pub method: &'a [u8],
    pub target: &'a [u8],
    pub version: Version,
}

/// A status line (RFC 9112 §4): `HTTP-version SP status-code SP [reason-phrase]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusLine<'a> {
    pub version: Version,
    pub code: u16,
    pub reason: &'a [u8],
}

/// One header field line (RFC 9112 §5), value without surrounding whitespace. An
/// obs-fold continuation is reported as its own [`HeaderLine::Continuation`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderLine<'a> {
    Field {
        name: &'a [u8],
        value: &'a [u8],
    },
    Continuation(&'a [u8]),
    /// The empty line that ends the head.
    End,
}

/// tchar (RFC 9110 §5.6.2), as a table: this runs for every byte of every header name.
// Built at compile time: `i < 256` is the table's length, and a const evaluation that
// went out of bounds would fail the build, not panic at run time.
#[allow(clippy::indexing_slicing)]
const TCHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        i += 1;
    }
    t
};

/// tchar (RFC 9110 §5.6.2).
#[inline]
pub fn is_tchar(b: u8) -> bool {
    TCHAR.get(usize::from(b)).copied().unwrap_or(false)
}

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim_ws(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_ws(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_ws(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// A line ending: CRLF or a bare LF (RFC 9112 §2.2).
fn eol(i: &[u8]) -> IResult<&[u8], ()> {
    let (i, _) = take_while_m_n(0, 1, |b| b == b'\r').parse(i)?;
    let (i, _) = char('\n').parse(i)?;
    Ok((i, ()))
}

/// The rest of a line, without its CR/LF.
fn rest_of_line(i: &[u8]) -> IResult<&[u8], &[u8]> {
    // Same as `take_till(b'\n')` + `char('\n')` in streaming mode, with one `position`
    // scan instead of a per-byte closure through nom.
    match i.iter().position(|&b| b == b'\n') {
        Some(n) => {
            let (line, rest) = i.split_at(n);
            let rest = rest.get(1..).unwrap_or_default();
            Ok((rest, line.strip_suffix(b"\r").unwrap_or(line)))
        }
        None => Err(nom::Err::Incomplete(nom::Needed::new(1))),
    }
}

/// `HTTP/` DIGIT `.` DIGIT (RFC 9112 §2.3).
pub fn version(i: &[u8]) -> IResult<&[u8], Version> {
    let (i, _) = tag(&b"HTTP/"[..]).parse(i)?;
    let (i, maj) = take_while_m_n(1, 1, |b: u8| b.is_ascii_digit()).parse(i)?;
    let (i, _) = char('.').parse(i)?;
    let (i, min) = take_while_m_n(1, 1, |b: u8| b.is_ascii_digit()).parse(i)?;
    Ok((
        i,
        Version {
            major: maj.first().map_or(0, |d| d - b'0'),
            minor: min.first().map_or(0, |d| d - b'0'),
        },
    ))
}

/// A request line (RFC 9112 §3). Methods are any token; the target is any run of
/// non-space visible bytes (validated loosely, as servers do).
pub fn request_line(i: &[u8]) -> IResult<&[u8], RequestLine<'_>> {
    let (i, method) = take_while1(is_tchar).parse(i)?;
    let (i, _) = char(' ').parse(i)?;
    let (i, target) = take_while1(|b: u8| b > b' ' && b != 0x7f).parse(i)?;
    let (i, _) = char(' ').parse(i)?;
    let (i, version) = version(i)?;
    let (i, _) = eol(i)?;
    Ok((
        i,
        RequestLine {
            method,
            target,
            version,
        },
    ))
}

/// A status line (RFC 9112 §4). The reason phrase may be empty and even its preceding
/// space may be missing (seen in the wild).
pub fn status_line(i: &[u8]) -> IResult<&[u8], StatusLine<'_>> {
    let (i, version) = version(i)?;
    let (i, _) = char(' ').parse(i)?;
    let (i, code) = take_while_m_n(3, 3, |b: u8| b.is_ascii_digit()).parse(i)?;
    let (i, reason) = rest_of_line(i)?;
    // After the 3 digits: nothing, or SP + reason. Anything else is not a status line.
    if let [first, ..] = reason {
        if *first != b' ' {
            return Err(nom::Err::Error(nom::error::Error::new(
                reason,
                nom::error::ErrorKind::Char,
            )));
        }
    }
    let code = code
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    Ok((
        i,
        StatusLine {
            version,
            code,
            reason: trim_ws(reason),
        },
    ))
}

/// What the version slot of a request line held, read as leniently as Zeek and
/// Wireshark read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReqVersion<'a> {
    /// `HTTP/` DIGIT `.` DIGIT (the keyword in any case).
    Known(Version),
    /// No `HTTP/` on the line at all: an HTTP/0.9 Simple-Request (RFC 1945 §4.1), whose
    /// response is the server's bytes until it closes, with no status line or headers.
    Simple,
    /// `HTTP/` followed by something other than DIGIT `.` DIGIT (`HTTP/1.`, `HTTP/x`):
    /// the raw text after the slash.
    Malformed(&'a [u8]),
}

/// A request line as servers accept it: the strict grammar (RFC 9112 §3) plus the
/// deviations real clients send, each noted so it can be flagged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LenientRequestLine<'a> {
    pub method: &'a [u8],
    /// The request target; empty when the line had none (`GET HTTP/1.1`).
    pub target: &'a [u8],
    pub version: ReqVersion<'a>,
    /// `http/` instead of `HTTP/` (the keyword is case-sensitive, RFC 9112 §2.3).
    pub lowercase_keyword: bool,
    /// No target between method and version (Zeek: `missing_HTTP_uri`).
    pub missing_target: bool,
    /// More than one SP (or a tab) between the parts (RFC 9112 §3: exactly one SP).
    pub extra_whitespace: bool,
    /// The target holds whitespace (`CONNECT host:25 / HTTP/1.0`): kept in the target,
    /// as Zeek keeps it in the URI.
    pub spaced_target: bool,
    /// Bytes after the version (`HTTP/1.1x`, `HTTP/1.1 extra`) or, on a Simple-Request,
    /// after the target: ignored, as Zeek ignores them.
    pub trailing: &'a [u8],
}

/// Why a request line is not one, even leniently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BadRequestLine {
    /// No method token at the start, though the line ends in ` HTTP/x.y` (Zeek's
    /// `bad_HTTP_request_with_version`: e.g. binary bytes before `GET`).
    #[error("request line has bytes before its method but ends in an HTTP version")]
    NoMethodWithVersion,
    /// No method token, or no whitespace after it.
    #[error("request line does not start with a method and a space")]
    NoMethod,
    /// No version, and too little for an HTTP/0.9 Simple-Request: Zeek asks for a
    /// method of at least 3 bytes and a non-empty target (`T /`, `GET `).
    #[error("request line has no version and is not an HTTP/0.9 request (method of 3+ bytes and a target)")]
    NotSimple,
}

/// `prefix` at the start of `s`, ASCII case-insensitively.
pub(crate) fn starts_with_ci(s: &[u8], prefix: &[u8]) -> bool {
    s.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

fn skip_ws(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| is_ws(b)).count();
    s.get(n..).unwrap_or_default()
}

/// Reads a complete request line (`line` without its CR/LF) as Zeek's HTTP analyzer
/// does (src/analyzer/protocol/http/HTTP.cc, `HTTP_RequestLine` and `ParseRequest`):
/// a token method, whitespace, then the version is the first `HTTP/` (any case) that
/// starts a word after the target's first token; everything between is the target.
/// No `HTTP/` at all makes an HTTP/0.9 Simple-Request (RFC 1945 §4.1), accepted only
/// with a method of 3+ bytes and a target, as Zeek does.
pub fn lenient_request_line(line: &[u8]) -> Result<LenientRequestLine<'_>, BadRequestLine> {
    let mlen = line.iter().take_while(|&&b| is_tchar(b)).count();
    let (method, after) = line.split_at(mlen);
    if method.is_empty() {
        let tail = line.len().checked_sub(9).and_then(|i| line.get(i..));
        return Err(if tail.is_some_and(|t| starts_with_ci(t, b" HTTP/")) {
            BadRequestLine::NoMethodWithVersion
        } else {
            BadRequestLine::NoMethod
        });
    }
    let rest = skip_ws(after);
    let ws = after.len() - rest.len();
    if ws == 0 {
        return Err(BadRequestLine::NoMethod);
    }
    let mut r = LenientRequestLine {
        method,
        target: b"",
        version: ReqVersion::Simple,
        lowercase_keyword: false,
        missing_target: false,
        extra_whitespace: ws > 1 || after.first() == Some(&b'\t'),
        spaced_target: false,
        trailing: b"",
    };
    let first_ws = rest.iter().position(|&b| is_ws(b)).unwrap_or(rest.len());
    // Where the version starts: at the target's place when the line has no target
    // (`GET HTTP/1.1`), else the first word from the target's second token on.
    let version_at = if starts_with_ci(rest, b"HTTP/") && first_ws == rest.len() {
        r.missing_target = true;
        Some(0)
    } else {
        (first_ws..rest.len()).find(|&i| {
            i > 0
                && rest.get(i - 1).is_some_and(|&b| is_ws(b))
                && starts_with_ci(rest.get(i..).unwrap_or_default(), b"HTTP/")
        })
    };
    let Some(at) = version_at else {
        // HTTP/0.9: the target is the first token; anything after it is ignored.
        let (target, tail) = rest.split_at(first_ws);
        if method.len() < 3 || target.is_empty() {
            return Err(BadRequestLine::NotSimple);
        }
        r.target = target;
        r.trailing = trim_ws(tail);
        return Ok(r);
    };
    let (target, vers) = rest.split_at(at);
    let target = trim_ws(target);
    r.target = target;
    r.spaced_target = target.iter().any(|&b| is_ws(b));
    if target.len() + 1 < at {
        r.extra_whitespace = true;
    }
    r.lowercase_keyword = !vers.starts_with(b"HTTP/");
    let v = vers.get(5..).unwrap_or_default();
    match v {
        [maj @ b'0'..=b'9', b'.', min @ b'0'..=b'9', tail @ ..] => {
            r.version = ReqVersion::Known(Version {
                major: maj - b'0',
                minor: min - b'0',
            });
            r.trailing = trim_ws(tail);
        }
        _ => {
            let end = v.iter().position(|&b| is_ws(b)).unwrap_or(v.len());
            let (bad, tail) = v.split_at(end);
            r.version = ReqVersion::Malformed(bad);
            r.trailing = trim_ws(tail);
        }
    }
    Ok(r)
}

/// A status line as clients and Zeek accept it (HTTP.cc `HTTP_ReplyLine`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LenientStatusLine<'a> {
    /// `None` when the text after `HTTP/` is not DIGIT `.` DIGIT.
    pub version: Option<Version>,
    pub code: u16,
    pub reason: &'a [u8],
    /// `http/` instead of `HTTP/` (RFC 9112 §2.3).
    pub lowercase_keyword: bool,
    /// The text after `HTTP/` when it is not a version.
    pub bad_version: Option<&'a [u8]>,
    /// No space between the code and the reason (`200OK`), or more than one SP
    /// between the parts (RFC 9112 §4).
    pub odd_spacing: bool,
}

/// Reads a complete status line (`line` without its CR/LF) leniently: `HTTP/` in any
/// case, a version token, whitespace, three digits, then an optional reason phrase
/// (also when glued to the code, as Zeek tolerates). A fourth digit, or no code, is
/// not a status line.
pub fn lenient_status_line(line: &[u8]) -> Option<LenientStatusLine<'_>> {
    if !starts_with_ci(line, b"HTTP/") {
        return None;
    }
    let after = line.get(5..)?;
    let vend = after.iter().position(|&b| is_ws(b))?;
    let (vtok, rest) = after.split_at(vend);
    let version = match vtok {
        [maj @ b'0'..=b'9', b'.', min @ b'0'..=b'9'] => Some(Version {
            major: maj - b'0',
            minor: min - b'0',
        }),
        _ => None,
    };
    let codes = skip_ws(rest);
    let mut odd_spacing = rest.len() - codes.len() > 1 || rest.first() == Some(&b'\t');
    let (code, tail) = codes.split_at_checked(3)?;
    if !code.iter().all(u8::is_ascii_digit) || tail.first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    if tail.first().is_some_and(|&b| !is_ws(b)) {
        odd_spacing = true;
    }
    let code = code
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    Some(LenientStatusLine {
        version,
        code,
        reason: trim_ws(tail),
        lowercase_keyword: !line.starts_with(b"HTTP/"),
        bad_version: version.is_none().then_some(vtok),
        odd_spacing,
    })
}

/// The first line of `buf` without its CR/LF, and the index just past its LF; `None`
/// while the line is incomplete.
pub fn first_line(buf: &[u8]) -> Option<(&[u8], usize)> {
    let nl = buf.iter().position(|&b| b == b'\n')?;
    let line = buf.get(..nl)?;
    Some((line.strip_suffix(b"\r").unwrap_or(line), nl + 1))
}

/// One header line, an obs-fold continuation (RFC 9112 §5.2), or the empty line.
pub fn header_line(i: &[u8]) -> IResult<&[u8], HeaderLine<'_>> {
    match i.first() {
        None => Err(nom::Err::Incomplete(nom::Needed::new(1))),
        Some(b'\r') | Some(b'\n') => {
            let (i, _) = eol(i)?;
            Ok((i, HeaderLine::End))
        }
        Some(b' ') | Some(b'\t') => {
            let (i, line) = rest_of_line(i)?;
            Ok((i, HeaderLine::Continuation(trim_ws(line))))
        }
        Some(_) => {
            let (i, name) = take_while1(is_tchar).parse(i)?;
            // RFC 9112 §5.1: no whitespace between name and colon; tolerated (and
            // trimmed) because real servers send it, never as a new field name.
            let (i, _) = take_while(is_ws).parse(i)?;
            let (i, _) = char(':').parse(i)?;
            let (i, value) = rest_of_line(i)?;
            Ok((
                i,
                HeaderLine::Field {
                    name,
                    value: trim_ws(value),
                },
            ))
        }
    }
}

/// Where the head that starts at `buf[0]` ends (index just past its empty line), looking
/// only at positions from `from` on (the caller passes how far it already scanned minus
/// 3, so a terminator straddling two segments is still found). `None` when not yet seen.
pub fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut pos = from.min(buf.len());
    while let Some(off) = buf.get(pos..)?.iter().position(|&b| b == b'\n') {
        let nl = pos + off;
        // The line ending at `nl` is empty if the byte before is '\n', or "\n\r".
        let empty = match nl {
            0 => true,
            _ => match buf.get(nl - 1) {
                Some(b'\n') => true,
                Some(b'\r') => nl == 1 || buf.get(nl - 2) == Some(&b'\n'),
                _ => false,
            },
        };
        if empty {
            return Some(nl + 1);
        }
        pos = nl + 1;
    }
    None
}

/// Request methods recognised when deciding whether bytes start an HTTP message (RFC
/// 9110 §9 plus WebDAV and PATCH); parsing itself accepts any token.
pub const KNOWN_METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"CONNECT",
    b"TRACE",
    b"PATCH",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"SEARCH",
    b"REPORT",
];

/// Whether `bytes` could be the beginning of a request line (`want_request`) or status
/// line: `Some(true)` yes, `Some(false)` certainly not, `None` too short to tell.
/// Used to resynchronise after a gap and to recognise HTTP on any port.
pub fn plausible_start(bytes: &[u8], want_request: bool) -> Option<bool> {
    if want_request {
        let Some(sp) = bytes.iter().take(10).position(|&b| b == b' ') else {
            let short = bytes.len() < 10;
            let prefix_ok = KNOWN_METHODS.iter().any(|m| m.starts_with(bytes));
            return if short && prefix_ok {
                None
            } else {
                Some(false)
            };
        };
        let method = bytes.get(..sp).unwrap_or_default();
        if !KNOWN_METHODS.contains(&method) {
            return Some(false);
        }
        bytes.get(sp + 1).map(u8::is_ascii_graphic)
    } else {
        const P: &[u8] = b"HTTP/1.";
        if bytes.len() < 12 {
            let n = bytes.len().min(P.len());
            return if bytes.get(..n) == P.get(..n) {
                None
            } else {
                Some(false)
            };
        }
        Some(
            bytes.starts_with(P)
                && bytes.get(7).is_some_and(u8::is_ascii_digit)
                && bytes.get(8) == Some(&b' ')
                && bytes
                    .get(9..12)
                    .is_some_and(|c| c.iter().all(u8::is_ascii_digit)),
        )
    }
}

/// True when `first_bytes` (the start of a stream direction) look like HTTP/1.x: a
/// request line with a known method whose line carries `HTTP/1.`, or a `HTTP/1.x NNN`
/// status line. For recognising HTTP on any port by content.
///
/// Also recognised, as Zeek's analyzer accepts them once it runs: a status line with a
/// lower-case `http/1.x`, a complete request line with a known method whose version
/// is `HTTP/1.x` in any case or missing altogether with a `/` target (an HTTP/0.9
/// Simple-Request, RFC 1945 §4.1), and a first line that ends in ` HTTP/1.x` and holds
/// a known method after a few stray bytes (Zeek's `bad_HTTP_request_with_version`).
pub fn looks_like_http(first_bytes: &[u8]) -> bool {
    if plausible_start(first_bytes, false) == Some(true) {
        return true;
    }
    let window = first_bytes
        .get(..first_bytes.len().min(8192))
        .unwrap_or_default();
    let line = first_line(window).map(|(l, _)| l);
    if starts_with_ci(first_bytes, b"HTTP/1.") {
        return line
            .and_then(lenient_status_line)
            .is_some_and(|s| s.version.is_some_and(|v| v.major == 1));
    }
    if plausible_start(first_bytes, true) != Some(true) {
        let Some(line) = line else { return false };
        let tail = line.len().checked_sub(9).and_then(|i| line.get(i..));
        return tail.is_some_and(|t| {
            starts_with_ci(t, b" HTTP/1.") && t.get(8).is_some_and(u8::is_ascii_digit)
        }) && lenient_request_line(line) == Err(BadRequestLine::NoMethodWithVersion)
            && KNOWN_METHODS.iter().any(|m| {
                line.windows(m.len() + 2).any(|w| {
                    w.first() == Some(&b' ')
                        && w.get(1..=m.len()) == Some(*m)
                        && w.last() == Some(&b' ')
                })
            });
    }
    let line = line.unwrap_or(window);
    if line.windows(7).any(|w| w == b"HTTP/1.") {
        return true;
    }
    // The lenient forms need the whole first line.
    if first_line(window).is_none() {
        return false;
    }
    match lenient_request_line(line) {
        Ok(r) => match r.version {
            ReqVersion::Known(v) => v.major == 1,
            ReqVersion::Simple => r.target.first() == Some(&b'/'),
            ReqVersion::Malformed(_) => false,
        },
        Err(_) => false,
    }
}

/// `chunk-size [ chunk-ext ] CRLF` (RFC 9112 §7.1, §7.1.1): hex digits, then optional
/// extensions after `;` (ignored). `None` when malformed or absurdly large.
pub(crate) fn parse_chunk_size(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\n")?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 15 {
        return None;
    }
    let rest = line.get(digits..)?;
    let rest_trim: &[u8] = {
        let n = rest
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        rest.get(n..)?
    };
    if !(rest_trim.is_empty() || rest_trim.first() == Some(&b';')) {
        return None;
    }
    let mut n = 0u64;
    for &b in line.get(..digits)? {
        let v = (b as char).to_digit(16)? as u64;
        n = n.checked_mul(16)?.checked_add(v)?;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_line_real() {
        // zeek/http-get-gzip.pcap frame 4.
        let (rest, r) = request_line(b"GET /gzip HTTP/1.1\r\nHost: httpbin.org\r\n").unwrap();
        assert_eq!(r.method, b"GET");
        assert_eq!(r.target, b"/gzip");
        assert_eq!(r.version, Version::HTTP_1_1);
        assert!(rest.starts_with(b"Host"));
    }

    #[test]
    fn request_line_streaming_and_errors() {
        let full = b"GET /gzip HTTP/1.1\r\n";
        for n in 0..full.len() {
            assert!(
                matches!(request_line(&full[..n]), Err(nom::Err::Incomplete(_))),
                "prefix {n}"
            );
        }
        assert!(matches!(
            request_line(b"GET /x FTP/1.1\r\n"),
            Err(nom::Err::Error(_))
        ));
        assert!(matches!(
            request_line(b"GET  /x HTTP/1.1\r\n"),
            Err(nom::Err::Error(_))
        ));
        // Bare LF.
        assert!(request_line(b"GET / HTTP/1.0\n").is_ok());
    }

    #[test]
    fn status_lines() {
        let (_, s) = status_line(b"HTTP/1.1 200 OK\r\n").unwrap();
        assert_eq!((s.code, s.reason), (200, &b"OK"[..]));
        let (_, s) = status_line(b"HTTP/1.0 404\r\n").unwrap();
        assert_eq!((s.code, s.reason), (404, &b""[..]));
        let (_, s) = status_line(b"HTTP/1.1 304 Not Modified\n").unwrap();
        assert_eq!(s.reason, b"Not Modified");
        assert!(status_line(b"HTTP/1.1 2000 OK\r\n").is_err());
        assert!(matches!(
            status_line(b"HTTP/1.1 200 O"),
            Err(nom::Err::Incomplete(_))
        ));
    }

    #[test]
    fn header_lines() {
        let (_, h) = header_line(b"Content-Length: 165 \r\n").unwrap();
        assert_eq!(
            h,
            HeaderLine::Field {
                name: b"Content-Length",
                value: b"165"
            }
        );
        let (_, h) = header_line(b"\t folded\r\n").unwrap();
        assert_eq!(h, HeaderLine::Continuation(b"folded"));
        assert_eq!(header_line(b"\r\n").unwrap().1, HeaderLine::End);
        assert_eq!(header_line(b"\n").unwrap().1, HeaderLine::End);
        assert!(header_line(b"No colon here\r\n").is_err());
        assert!(matches!(
            header_line(b"Host: a"),
            Err(nom::Err::Incomplete(_))
        ));
    }

    #[test]
    fn head_end_search() {
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r\nBODY", 0), Some(18));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\n\nBODY", 0), Some(16));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nHost: a\r\n", 0), None);
        let b = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        assert_eq!(find_head_end(b, b.len() - 3), Some(b.len()));
    }

    #[test]
    fn recognition() {
        assert!(looks_like_http(b"GET /index.html HTTP/1.1\r\n"));
        assert!(looks_like_http(b"HTTP/1.0 200 OK\r\n"));
        assert!(!looks_like_http(b"GET /index.html"));
        assert!(!looks_like_http(b"\x16\x03\x01\x02\x00"));
        assert!(!looks_like_http(b"SSH-2.0-OpenSSH"));
        assert_eq!(plausible_start(b"HTT", false), None);
        assert_eq!(plausible_start(b"PO", true), None);
        assert_eq!(plausible_start(b"XYZ", true), Some(false));
    }

    #[test]
    fn lenient_request_lines() {
        // RFC 1945 §4.1 Simple-Request (zeek http_09.pcap, no-version.pcap).
        let r = lenient_request_line(b"GET /zeek.html").unwrap();
        assert_eq!(
            (r.method, r.target, r.version),
            (&b"GET"[..], &b"/zeek.html"[..], ReqVersion::Simple)
        );
        // A version cut short (`HTTP/1.`) or garbage after the slash.
        let r = lenient_request_line(b"GET / HTTP/1.").unwrap();
        assert_eq!(
            (r.target, r.version),
            (&b"/"[..], ReqVersion::Malformed(b"1."))
        );
        let r = lenient_request_line(b"GET / HTTP/x").unwrap();
        assert_eq!(r.version, ReqVersion::Malformed(b"x"));
        // Bytes glued to the version, or extra tokens after it: kept, flagged.
        let r = lenient_request_line(b"GET / HTTP/1.1x").unwrap();
        assert_eq!(
            (r.version, r.trailing),
            (ReqVersion::Known(Version::HTTP_1_1), &b"x"[..])
        );
        let r = lenient_request_line(b"CONNECT host:443 HTTP/1.1 extra").unwrap();
        assert_eq!(
            (r.method, r.target, r.trailing),
            (&b"CONNECT"[..], &b"host:443"[..], &b"extra"[..])
        );
        assert_eq!(r.version, ReqVersion::Known(Version::HTTP_1_1));
        // junk after a Simple-Request's target is ignored.
        let r = lenient_request_line(b"GET / junk").unwrap();
        assert_eq!(
            (r.target, r.version, r.trailing),
            (&b"/"[..], ReqVersion::Simple, &b"junk"[..])
        );
        // zeek connect-with-smtp.pcap: the URI keeps its space, as in Zeek's http.log.
        let r = lenient_request_line(b"CONNECT mailin03.sul.t-online.de:25 / HTTP/1.0").unwrap();
        assert_eq!(r.target, b"mailin03.sul.t-online.de:25 /");
        assert!(r.spaced_target && !r.extra_whitespace);
        assert_eq!(r.version, ReqVersion::Known(Version::HTTP_1_0));
        // zeek no-uri.pcap.
        let r = lenient_request_line(b"GET HTTP/1.1").unwrap();
        assert!(r.missing_target);
        assert_eq!(
            (r.target, r.version),
            (&b""[..], ReqVersion::Known(Version::HTTP_1_1))
        );
        let r = lenient_request_line(b"get / http/1.0").unwrap();
        assert!(r.lowercase_keyword);
        assert_eq!(
            (r.method, r.version),
            (&b"get"[..], ReqVersion::Known(Version::HTTP_1_0))
        );
        let r = lenient_request_line(b"GET  /a\tHTTP/1.1").unwrap();
        assert!(r.extra_whitespace && !r.spaced_target);
        // A strict line has no quirk.
        let r = lenient_request_line(b"GET /a HTTP/1.1").unwrap();
        assert!(
            !(r.lowercase_keyword || r.missing_target || r.extra_whitespace || r.spaced_target)
        );
        assert!(r.trailing.is_empty());
        // Not request lines, as Zeek decides (http_09.pcap, http-bad-request-with-version,
        // http-11-request-then-cruft).
        assert_eq!(
            lenient_request_line(b"\xdd\0\0\0 GET /txt HTTP/1.1"),
            Err(BadRequestLine::NoMethodWithVersion)
        );
        assert_eq!(
            lenient_request_line(b"T /zeek.html"),
            Err(BadRequestLine::NotSimple)
        );
        assert_eq!(
            lenient_request_line(b"T / HTTP"),
            Err(BadRequestLine::NotSimple)
        );
        assert_eq!(
            lenient_request_line(b"GET "),
            Err(BadRequestLine::NotSimple)
        );
        assert_eq!(lenient_request_line(b"GET"), Err(BadRequestLine::NoMethod));
        assert_eq!(
            lenient_request_line(b"GET/x HTTP/1.1"),
            Err(BadRequestLine::NoMethod)
        );
        assert_eq!(lenient_request_line(b""), Err(BadRequestLine::NoMethod));
        assert_eq!(
            lenient_request_line(b"\x16\x03\x01"),
            Err(BadRequestLine::NoMethod)
        );
    }

    #[test]
    fn lenient_status_lines() {
        // zeek http-lower-case.pcap.
        let s = lenient_status_line(b"http/1.1 200 OK").unwrap();
        assert!(s.lowercase_keyword && !s.odd_spacing);
        assert_eq!(
            (s.version, s.code, s.reason),
            (Some(Version::HTTP_1_1), 200, &b"OK"[..])
        );
        let s = lenient_status_line(b"HTTP/1.1 200").unwrap();
        assert_eq!((s.code, s.reason, s.odd_spacing), (200, &b""[..], false));
        // Reason glued to the code (Zeek tolerates it), several spaces.
        let s = lenient_status_line(b"HTTP/1.0 200OK").unwrap();
        assert_eq!((s.code, s.reason, s.odd_spacing), (200, &b"OK"[..], true));
        let s = lenient_status_line(b"HTTP/1.1  404  Not Found").unwrap();
        assert_eq!(
            (s.code, s.reason, s.odd_spacing),
            (404, &b"Not Found"[..], true)
        );
        let s = lenient_status_line(b"HTTP/1.x 200 OK").unwrap();
        assert_eq!((s.version, s.bad_version), (None, Some(&b"1.x"[..])));
        let s = lenient_status_line(b"HTTP/1.1 200 OK").unwrap();
        assert!(!(s.lowercase_keyword || s.odd_spacing) && s.bad_version.is_none());
        for bad in [
            &b"HTTP/1.1 2000 OK"[..],
            b"HTTP/1.1",
            b"HTTP/1.1 20",
            b"HTTP/1.1 abc",
            b"HTTX/1.1 200 OK",
            b"<html>",
        ] {
            assert!(lenient_status_line(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn recognition_of_lenient_forms() {
        // HTTP/0.9 needs its whole line and a `/` target.
        assert!(looks_like_http(b"GET /zeek.html\n"));
        assert!(looks_like_http(b"GET /cgi-bin/x?y=1\r\n"));
        assert!(!looks_like_http(b"GET /zeek.html"));
        assert!(!looks_like_http(b"GET \n"));
        assert!(!looks_like_http(b"GET foo\n"));
        assert!(looks_like_http(b"http/1.1 200 OK\r\n"));
        assert!(!looks_like_http(b"http/1.1 200"));
        assert!(looks_like_http(b"GET / http/1.1\r\n"));
        assert!(looks_like_http(
            b"\xdd\x00\x00\x00 GET /txt HTTP/1.1\r\nHost: a\r\n"
        ));
        assert!(!looks_like_http(b"\xdd\x00\x00\x00 XYZ /txt HTTP/1.1\r\n"));
        assert!(!looks_like_http(b"SSH-2.0-OpenSSH HTTP/1.1\r\n"));
    }
}
