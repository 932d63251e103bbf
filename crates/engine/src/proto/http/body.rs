//! Body decoding for display: de-chunking (RFC 9112 §7.1) and content codings (RFC 9110
//! §8.4.1: gzip, deflate). Runs on demand when a user opens a body, never while
//! analysing, and every output is capped so a small compressed body cannot expand into
//! gigabytes (a "zip bomb").
//!
//! Brotli (`br`, RFC 7932) decodes through `brotli-decompressor` (the decoder half of
//! Dropbox's maintained pure-Rust `brotli`).

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Read;

use super::parse::parse_chunk_size;
use crate::base::AnomalyKind;

/// Why a body could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    /// Output would exceed the caller's limit (stable name: `decompressed_size_limit`).
    #[error("{name}: output exceeds {0} bytes", name = AnomalyKind::DecompressedSizeLimit.name())]
    DecompressedSizeLimit(usize),
    #[error("unsupported content coding {0:?}")]
    Unsupported(String),
    #[error("corrupt {coding} data: {detail}")]
    Corrupt {
        coding: &'static str,
        detail: String,
    },
    #[error("malformed chunked body: {0}")]
    Chunked(&'static str),
}

impl BodyError {
    /// Short stable name, as anomalies use.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// The anomaly kind this error is.
    pub fn kind(&self) -> AnomalyKind {
        match self {
            BodyError::DecompressedSizeLimit(_) => AnomalyKind::DecompressedSizeLimit,
            BodyError::Unsupported(_) => AnomalyKind::UnsupportedContentCoding,
            BodyError::Corrupt { .. } => AnomalyKind::CorruptContentCoding,
            BodyError::Chunked(_) => AnomalyKind::HttpChunkFraming,
        }
    }
}

/// Reads all of `r` but at most `limit` bytes; more is an error. The vector never grows
/// past `limit + 1` bytes, so a bomb costs at most that much memory and time.
fn read_capped(r: impl Read, limit: usize, coding: &'static str) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    r.take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| BodyError::Corrupt {
            coding,
            detail: e.to_string(),
        })?;
    if out.len() > limit {
        return Err(BodyError::DecompressedSizeLimit(limit));
    }
    Ok(out)
}

/// Decodes `bytes` (a de-chunked message body) according to a `Content-Encoding` value,
/// applying a list of codings in reverse order (RFC 9110 §8.4). `deflate` accepts both
/// the zlib wrapper the RFC specifies and the raw deflate some servers send.
pub fn decode_body(
    content_encoding: &str,
    bytes: &[u8],
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    let mut cur: Option<Vec<u8>> = None;
    for coding in content_encoding.rsplit(',') {
        let coding = coding.trim().to_ascii_lowercase();
        let input: &[u8] = cur.as_deref().unwrap_or(bytes);
        let next = match coding.as_str() {
            "" | "identity" => {
                if input.len() > limit {
                    return Err(BodyError::DecompressedSizeLimit(limit));
                }
                input.to_vec()
            }
            "gzip" | "x-gzip" => {
                read_capped(flate2::read::MultiGzDecoder::new(input), limit, "gzip")?
            }
            "deflate" => match read_capped(flate2::read::ZlibDecoder::new(input), limit, "deflate")
            {
                Err(BodyError::Corrupt { .. }) => {
                    read_capped(flate2::read::DeflateDecoder::new(input), limit, "deflate")?
                }
                other => other?,
            },
            "br" => read_capped(
                brotli_decompressor::Decompressor::new(input, 4096),
                limit,
                "br",
            )?,
            other => return Err(BodyError::Unsupported(other.to_string())),
        };
        cur = Some(next);
    }
    Ok(cur.unwrap_or_else(|| bytes.to_vec()))
}

/// Removes chunked framing from a raw body (as recorded in
/// [`super::HttpTransaction::response_body`]), ignoring chunk extensions and trailers.
/// Output is capped at `limit` bytes.
pub fn dechunk(raw: &[u8], limit: usize) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    let mut rest = raw;
    loop {
        let nl = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(BodyError::Chunked("chunk-size line without end"))?;
        let (line, after) = rest.split_at(nl + 1);
        let size = parse_chunk_size(line).ok_or(BodyError::Chunked("invalid chunk-size line"))?;
        if size == 0 {
            return Ok(out);
        }
        let size = usize::try_from(size).map_err(|_| BodyError::Chunked("chunk too large"))?;
        let data = after
            .get(..size)
            .ok_or(BodyError::Chunked("chunk data truncated"))?;
        if out.len() + data.len() > limit {
            return Err(BodyError::DecompressedSizeLimit(limit));
        }
        out.extend_from_slice(data);
        let after = after.get(size..).unwrap_or_default();
        rest = if let Some(r) = after.strip_prefix(b"\r\n") {
            r
        } else if let Some(r) = after.strip_prefix(b"\n") {
            r
        } else {
            return Err(BodyError::Chunked("chunk data not followed by CRLF"));
        };
    }
}

/// What a body is by its first bytes (magic numbers), for a one-line summary; `None`
/// when no known signature matches (text, or a type only the Content-Type can name).
pub fn sniff(b: &[u8]) -> Option<&'static str> {
    let at = |off: usize, sig: &[u8]| b.get(off..off + sig.len()) == Some(sig);
    Some(if at(0, b"\x89PNG\r\n\x1a\n") {
        "PNG image"
    } else if at(0, b"\xff\xd8\xff") {
        "JPEG image"
    } else if at(0, b"GIF87a") || at(0, b"GIF89a") {
        "GIF image"
    } else if at(0, b"RIFF") && at(8, b"WEBP") {
        "WebP image"
    } else if at(4, b"ftypavif") || at(4, b"ftypavis") {
        "AVIF image"
    } else if at(4, b"ftypheic") || at(4, b"ftypmif1") {
        "HEIF image"
    } else if at(4, b"ftyp") {
        "MP4 media"
    } else if at(0, b"\x00\x00\x01\x00") && b.len() >= 22 && b.get(4..6) != Some(&[0, 0]) {
        // ICONDIR (reserved 0, type 1, a non-zero count) and at least one entry.
        "ICO icon"
    } else if at(0, b"%PDF-") {
        "PDF document"
    } else if at(0, b"PK\x03\x04") || at(0, b"PK\x05\x06") {
        "ZIP archive"
    } else if at(0, b"\x1f\x8b\x08") {
        "gzip data"
    } else if at(0, b"\x28\xb5\x2f\xfd") {
        "zstd data"
    } else if at(0, b"BZh") && b.get(3).is_some_and(|c| (b'1'..=b'9').contains(c)) {
        "bzip2 data"
    } else if at(0, b"\xfd7zXZ\x00") {
        "xz data"
    } else if at(0, b"7z\xbc\xaf\x27\x1c") {
        "7z archive"
    } else if at(0, b"wOFF") {
        "WOFF font"
    } else if at(0, b"wOF2") {
        "WOFF2 font"
    } else if at(0, b"\x00\x01\x00\x00\x00") || at(0, b"OTTO") {
        "OpenType font"
    } else if at(0, b"\x00asm") {
        "WebAssembly module"
    } else if at(0, b"OggS") {
        "Ogg media"
    } else if at(0, b"ID3") || (at(0, b"\xff") && b.get(1).is_some_and(|c| c & 0xe0 == 0xe0)) {
        "MP3 audio"
    } else if at(0, b"\x1a\x45\xdf\xa3") {
        "WebM/Matroska media"
    } else if at(0, b"\x7fELF") {
        "ELF executable"
    } else if at(0, b"MZ") && pe_header(b) {
        "Windows executable"
    } else {
        return None;
    })
}

/// A DOS header whose `e_lfanew` (offset 0x3c) points at a `PE\0\0` signature: a
/// Windows executable, not text that happens to start with "MZ".
fn pe_header(b: &[u8]) -> bool {
    let Some(off) = b.get(0x3c..0x40) else {
        return false;
    };
    let Ok(off) = <[u8; 4]>::try_from(off) else {
        return false;
    };
    let off = u32::from_le_bytes(off) as usize;
    off.checked_add(4)
        .and_then(|end| b.get(off..end))
        .is_some_and(|sig| sig == b"PE\0\0")
}

/// Whether `b` reads as text: valid UTF-8 (a character cut at the end allowed) with
/// no NUL and few control characters besides tab, CR, LF and form feed.
pub fn looks_textual(b: &[u8]) -> bool {
    let valid = match std::str::from_utf8(b) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && b.len() - e.valid_up_to() < 4,
    };
    if !valid {
        return false;
    }
    let controls = b
        .iter()
        .filter(|&&c| (c < 0x20 && !matches!(c, b'\t' | b'\r' | b'\n' | 0x0c)) || c == 0x7f)
        .count();
    !b.contains(&0) && controls * 100 <= b.len()
}

/// Content types whose bodies are text (when the bytes agree).
fn textual_type(ct: &str) -> bool {
    ct.starts_with("text/")
        || ct.ends_with("+json")
        || ct.ends_with("+xml")
        || matches!(
            ct,
            "application/json"
                | "application/javascript"
                | "application/ecmascript"
                | "application/x-javascript"
                | "application/xml"
                | "application/x-www-form-urlencoded"
                | "application/manifest+json"
                | "image/svg+xml"
        )
}

/// One piece of a conversation prepared for display by [`display_pieces`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Bytes to show as they were sent (message heads, text bodies, anything not HTTP).
    Bytes(&'a [u8]),
    /// A body replaced by a one-line summary, e.g. `[PNG image, 11,639 bytes]`.
    Summary(String),
    /// A compressed body whose decoding is text: a summary line, then the text.
    Decoded { summary: String, text: Vec<u8> },
}

/// Splits one side's reassembled bytes into what `follow` shows: HTTP/1.x message heads
/// as they are, and each body as text when it is text (RFC 9110 §8.3 Content-Type and
/// the bytes agree), as its decoded text when a content coding (§8.4) hides text, and as
/// a one-line summary when it is binary (named by its magic bytes, else its type). The
/// message framing follows RFC 9112 §6.3: no body for 1xx/204/304, chunked, then
/// Content-Length, then (responses) to the end of the bytes. Anything that does not
/// parse as HTTP is shown as it is. Decoding is capped at `limit` bytes per body.
pub fn display_pieces(stream: &[u8], limit: usize) -> Vec<Piece<'_>> {
    let mut out: Vec<Piece<'_>> = Vec::new();
    let mut pos = 0;
    while pos < stream.len() {
        let rest = stream.get(pos..).unwrap_or_default();
        let Some(head) = parse_head(rest) else {
            out.push(Piece::Bytes(rest));
            break;
        };
        // `parse_head` ends inside `rest`, and `body_len` counts only bytes present.
        let (Some(before), Some(after)) = (rest.get(..head.len), rest.get(head.len..)) else {
            out.push(Piece::Bytes(rest));
            break;
        };
        let raw = after.get(..head.body_len(after)).unwrap_or(after);
        let body_end = head.len + raw.len();
        out.push(Piece::Bytes(before));
        if !raw.is_empty() {
            out.push(body_piece(&head, raw, limit));
        }
        pos += body_end;
    }
    // Adjacent byte pieces read as one.
    let mut merged: Vec<Piece<'_>> = Vec::with_capacity(out.len());
    for p in out {
        match (merged.last_mut(), p) {
            (Some(Piece::Bytes(a)), Piece::Bytes(b)) if a.as_ptr_range().end == b.as_ptr() => {
                let start = a.as_ptr() as usize - stream.as_ptr() as usize;
                *a = stream.get(start..start + a.len() + b.len()).unwrap_or(a);
            }
            (_, p) => merged.push(p),
        }
    }
    merged
}

/// The parts of an HTTP/1.x message head that decide its body's framing and display.
struct Head {
    /// Bytes of the head, final empty line included.
    len: usize,
    request: bool,
    status: u16,
    chunked: bool,
    content_length: Option<usize>,
    content_type: String,
    content_encoding: String,
}

impl Head {
    /// Bytes of the body in `after` (RFC 9112 §6.3), at most all of them.
    fn body_len(&self, after: &[u8]) -> usize {
        if !self.request && (self.status < 200 || self.status == 204 || self.status == 304) {
            0
        } else if !self.request && after.starts_with(b"HTTP/1.") && parse_head(after).is_some() {
            // The answer to a HEAD request (§9.3.2) has a Content-Length but no body: the
            // next response follows at once. One side's bytes do not say which request
            // a response answers, so a body that is itself a response head tells.
            0
        } else if self.chunked {
            chunked_len(after).unwrap_or(after.len())
        } else if let Some(n) = self.content_length {
            n.min(after.len())
        } else if self.request {
            0
        } else {
            after.len()
        }
    }
}

/// Parses a request or status line and its header fields (RFC 9112 §2.1, §3, §4, §5);
/// `None` when `b` does not start with a complete HTTP/1.x head.
fn parse_head(b: &[u8]) -> Option<Head> {
    let end = b
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| b.windows(2).position(|w| w == b"\n\n").map(|i| i + 2))?;
    let text = std::str::from_utf8(b.get(..end)?).ok()?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let first = lines.next()?;
    let (request, status) = if let Some(rest) = first.strip_prefix("HTTP/1.") {
        let code = rest.get(2..5)?;
        (false, code.parse::<u16>().ok()?)
    } else {
        let mut parts = first.split(' ');
        let method = parts.next()?;
        let _target = parts.next()?;
        let version = parts.next()?;
        if method.is_empty()
            || !method.bytes().all(|c| c.is_ascii_alphabetic() || c == b'-')
            || !version.starts_with("HTTP/1.")
        {
            return None;
        }
        (true, 0)
    };
    let mut h = Head {
        len: end,
        request,
        status,
        chunked: false,
        content_length: None,
        content_type: String::new(),
        content_encoding: String::new(),
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "transfer-encoding" => {
                h.chunked = value
                    .rsplit(',')
                    .next()
                    .is_some_and(|c| c.trim().eq_ignore_ascii_case("chunked"));
            }
            "content-length" => h.content_length = value.parse().ok(),
            "content-type" => {
                h.content_type = value
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase();
            }
            "content-encoding" => h.content_encoding = value.to_ascii_lowercase(),
            _ => {}
        }
    }
    Some(h)
}

/// Length of a chunked body including its last chunk and trailer section (RFC 9112
/// §7.1), or `None` when `b` ends before it does.
fn chunked_len(b: &[u8]) -> Option<usize> {
    let line_end = |from: usize| -> Option<usize> {
        b.get(from..)?
            .iter()
            .position(|&c| c == b'\n')
            .map(|i| from + i + 1)
    };
    let mut pos = 0;
    loop {
        let next = line_end(pos)?;
        let size = usize::try_from(parse_chunk_size(b.get(pos..next)?)?).ok()?;
        pos = next;
        if size == 0 {
            // Trailer fields up to the empty line.
            loop {
                let next = line_end(pos)?;
                let line = b.get(pos..next)?;
                pos = next;
                if line == b"\r\n" || line == b"\n" {
                    return Some(pos);
                }
            }
        }
        pos = pos.checked_add(size)?;
        pos = line_end(pos)?;
    }
}

/// How one body is shown (see [`display_pieces`]).
/// A message body as `follow` shows it, given the message's `Content-Type` and
/// `Content-Encoding` values: for bodies framed by another protocol (HTTP/2 DATA), with
/// the same rules as [`display_pieces`] (text as sent, decoded text, or one line).
pub fn body_display<'a>(
    content_type: &str,
    content_encoding: &str,
    body: &'a [u8],
    limit: usize,
) -> Piece<'a> {
    let head = Head {
        len: 0,
        request: false,
        status: 200,
        chunked: false,
        content_length: Some(body.len()),
        content_type: content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase(),
        content_encoding: content_encoding.to_ascii_lowercase(),
    };
    body_piece(&head, body, limit)
}

fn body_piece<'a>(head: &Head, raw: &'a [u8], limit: usize) -> Piece<'a> {
    let entity: std::borrow::Cow<'_, [u8]> = if head.chunked {
        match dechunk(raw, limit) {
            Ok(v) => v.into(),
            Err(_) => raw.into(),
        }
    } else {
        raw.into()
    };
    let ct = head.content_type.as_str();
    let raw_coding = head.content_encoding.trim();
    if !raw_coding.is_empty() && raw_coding != "identity" {
        let on_wire = crate::base::elide::thousands(entity.len());
        let coding = shown(raw_coding);
        return match decode_body(raw_coding, &entity, limit) {
            Ok(decoded) => match kind(&decoded, ct) {
                None => Piece::Decoded {
                    summary: format!(
                        "[{}, {} bytes decoded from {on_wire} bytes of {coding}:]",
                        if ct.is_empty() {
                            "text".into()
                        } else {
                            shown(ct)
                        },
                        crate::base::elide::thousands(decoded.len()),
                    ),
                    text: decoded,
                },
                Some(what) => Piece::Summary(format!(
                    "[{what}, {} bytes decoded from {on_wire} bytes of {coding}]",
                    crate::base::elide::thousands(decoded.len())
                )),
            },
            Err(e) => Piece::Summary(format!(
                "[{coding} body, {on_wire} bytes, not decoded: {}]",
                shown(&e.to_string())
            )),
        };
    }
    match kind(&entity, ct) {
        None => Piece::Bytes(raw),
        Some(what) => Piece::Summary(format!(
            "[{what}, {} bytes]",
            crate::base::elide::thousands(entity.len())
        )),
    }
}

/// `None` for a body to show as text, else what to call it in its summary.
fn kind(body: &[u8], ct: &str) -> Option<String> {
    if let Some(what) = sniff(body) {
        return Some(what.to_string());
    }
    if looks_textual(body) && (ct.is_empty() || textual_type(ct) || !binary_type(ct)) {
        return None;
    }
    Some(if ct.is_empty() {
        "binary data".to_string()
    } else {
        shown(ct)
    })
}

/// A header value in a summary line: escaped for the terminal, and elided past 60
/// columns so a hostile kilobyte-long type still leaves a one-line summary.
fn shown(s: &str) -> String {
    let e = crate::base::escape::escape_str(s);
    crate::base::elide::value(&e, 60).into_owned()
}

/// Content types that are binary even when their first bytes happen to be printable.
fn binary_type(ct: &str) -> bool {
    ["image/", "audio/", "video/", "font/"]
        .iter()
        .any(|p| ct.starts_with(p))
        && ct != "image/svg+xml"
        || matches!(
            ct,
            "application/octet-stream"
                | "application/zip"
                | "application/gzip"
                | "application/pdf"
                | "application/wasm"
                | "application/x-protobuf"
                | "application/protobuf"
                | "application/grpc"
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// The gzip response body of zeek/http-get-gzip.pcap (frame 8, 165 bytes,
    /// server stream bytes 177..342).
    fn real_gzip_body() -> Vec<u8> {
        let s2c = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/data/streams/zeek__http-get-gzip.pcap--0.s2c.bin"
        ))
        .expect("fixture");
        let start = s2c
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("end of head")
            + 4;
        s2c[start..].to_vec()
    }

    #[test]
    fn real_gzip() {
        let body = real_gzip_body();
        assert_eq!(body.len(), 165);
        let out = decode_body("gzip", &body, 1 << 20).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\"gzipped\": true"), "{text}");
        assert_eq!(
            decode_body("gzip", &body, 10),
            Err(BodyError::DecompressedSizeLimit(10))
        );
        assert!(matches!(
            decode_body("gzip", &body[..100], 1 << 20),
            Err(BodyError::Corrupt { .. })
        ));
    }

    #[test]
    fn deflate_zlib_and_raw_and_lists() {
        let plain = b"hello hello hello hello";
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(plain).unwrap();
        let z = z.finish().unwrap();
        let mut r = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        r.write_all(plain).unwrap();
        let r = r.finish().unwrap();
        assert_eq!(decode_body("deflate", &z, 100).unwrap(), plain);
        assert_eq!(decode_body("Deflate", &r, 100).unwrap(), plain);
        assert_eq!(decode_body("identity", plain, 100).unwrap(), plain);
        let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        g.write_all(&z).unwrap();
        let g = g.finish().unwrap();
        assert_eq!(decode_body("deflate, gzip", &g, 100).unwrap(), plain);
        assert_eq!(
            decode_body("compress", plain, 100),
            Err(BodyError::Unsupported("compress".into()))
        );
    }

    #[test]
    fn brotli_and_its_bomb() {
        let plain = b"brotli brotli brotli brotli".repeat(10);
        let mut enc = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut enc, 4096, 9, 22);
            w.write_all(&plain).unwrap();
        }
        assert_eq!(decode_body("br", &enc, 1000).unwrap(), plain);
        assert!(matches!(
            decode_body("br", &enc[..enc.len() / 2], 1000),
            Err(BodyError::Corrupt { .. })
        ));
        let mut bomb = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut bomb, 1 << 16, 5, 22);
            let zeros = vec![0u8; 1 << 20];
            for _ in 0..256 {
                w.write_all(&zeros).unwrap();
            }
        }
        let e = decode_body("br", &bomb, 1 << 20).unwrap_err();
        assert_eq!(e.name(), "decompressed_size_limit");
    }

    #[test]
    fn bomb_stops_at_limit() {
        // 1 GiB of zeros as gzip: one 16 MiB member repeated 64 times (a valid gzip file,
        // RFC 1952 §2.2), so building the bomb is cheap too.
        let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        g.write_all(&vec![0u8; 16 << 20]).unwrap();
        let member = g.finish().unwrap();
        let bomb = member.repeat(64);
        assert!(bomb.len() < 2 << 20);
        // Stopping at the limit (not after 1 GiB) is the property; its time is a benchmark's
        // business, never a timed assertion.
        let e = decode_body("gzip", &bomb, 8 << 20).unwrap_err();
        assert_eq!(e.name(), "decompressed_size_limit");
    }

    #[test]
    fn dechunk_with_extensions_and_trailers() {
        // suricata-verify/http-event-chunk.pcap style framing, with an extension.
        let raw = b"4;name=v\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: 1\r\n\r\n";
        assert_eq!(dechunk(raw, 100).unwrap(), b"Wikipedia");
        assert_eq!(dechunk(raw, 5), Err(BodyError::DecompressedSizeLimit(5)));
        assert!(dechunk(b"zz\r\n", 100).is_err());
        for n in 0..raw.len() {
            let _ = dechunk(&raw[..n], 100);
        }
    }

    fn gzip(b: &[u8]) -> Vec<u8> {
        let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        g.write_all(b).unwrap();
        g.finish().unwrap()
    }

    fn chunked(b: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for c in b.chunks(7) {
            out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
            out.extend_from_slice(c);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
        out
    }

    #[test]
    fn compressed_text_is_decoded_and_heads_stay_as_sent() {
        let html = b"<!doctype html>\n<p>hello</p>\n".repeat(20);
        let body = chunked(&gzip(&html));
        let mut s = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"
            .to_vec();
        let head_len = s.len();
        s.extend_from_slice(&body);
        let p = display_pieces(&s, 1 << 20);
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0], Piece::Bytes(&s[..head_len]));
        let Piece::Decoded { summary, text } = &p[1] else {
            panic!("{p:?}")
        };
        assert_eq!(text, &html);
        let zipped = gzip(&html).len();
        assert_eq!(
            summary,
            &format!("[text/html, 580 bytes decoded from {zipped} bytes of gzip:]")
        );
    }

    #[test]
    fn binary_bodies_become_one_line_and_pipelined_messages_split() {
        // A PNG signature and IHDR chunk, then filler: what the lab's logo starts with.
        let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec();
        png.resize(11_639, 0x41);
        let mut s = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {}\r\n\r\n",
            png.len()
        )
        .into_bytes();
        s.extend_from_slice(&png);
        s.extend_from_slice(b"HTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\n");
        let second = s.len();
        s.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        let p = display_pieces(&s, 1 << 20);
        assert_eq!(p.len(), 3, "{p:?}");
        assert_eq!(p[1], Piece::Summary("[PNG image, 11,639 bytes]".into()));
        // The 304 has no body, so the next response's head and text body follow as is.
        let Piece::Bytes(b) = p[2] else {
            panic!("{p:?}")
        };
        assert!(
            b.ends_with(&s[second..]),
            "{:?}",
            String::from_utf8_lossy(b)
        );
        // A HEAD answer announces a length but carries no body.
        let head = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 11639\r\n\r\n";
        let mut two = head.to_vec();
        two.extend_from_slice(head);
        two.extend_from_slice(&png);
        let p = display_pieces(&two, 1 << 20);
        assert_eq!(p[0], Piece::Bytes(&two[..2 * head.len()]), "{p:?}");
        assert_eq!(p[1], Piece::Summary("[PNG image, 11,639 bytes]".into()));
        // Compressed binary: named by what it decodes to.
        let mut g = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n".to_vec();
        g.extend_from_slice(&gzip(&png));
        let p = display_pieces(&g, 1 << 20);
        let Piece::Summary(line) = &p[1] else {
            panic!("{p:?}")
        };
        assert!(
            line.starts_with("[PNG image, 11,639 bytes decoded from "),
            "{line}"
        );
        // Bytes that are not HTTP, and text bodies, come back whole.
        let tls = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
        assert_eq!(display_pieces(tls, 100), vec![Piece::Bytes(tls)]);
        let req = b"POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nx=1GET /b HTTP/1.1\r\n\r\n";
        assert_eq!(display_pieces(req, 100), vec![Piece::Bytes(req)]);
    }

    #[test]
    fn undecodable_and_unknown_bodies_say_so() {
        let s = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope";
        let p = display_pieces(s, 100);
        assert!(
            matches!(&p[1], Piece::Summary(l) if l.starts_with("[gzip body, 4 bytes, not decoded")),
            "{p:?}"
        );
        // Hostile header values are escaped and elided in the one line.
        let mut h =
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip,\x0bidentity\r\nContent-Type: x/".to_vec();
        h.extend_from_slice(&[b'y'; 5000]);
        h.extend_from_slice(b"\r\n\r\n");
        h.extend_from_slice(&gzip(&[0u8; 100]));
        let p = display_pieces(&h, 1 << 20);
        let Piece::Summary(line) = &p[1] else {
            panic!("{p:?}")
        };
        assert!(
            line.contains("gzip,\\x0bidentity") && line.contains('…'),
            "{line}"
        );
        assert!(
            line.chars().count() < 200 && !line.contains('\x0b'),
            "{line}"
        );
        let s = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n\x00\x01\x02";
        assert_eq!(
            display_pieces(s, 100)[1],
            Piece::Summary("[application/octet-stream, 3 bytes]".into())
        );
        // A bomb stops at the limit and is summarised, not expanded.
        let mut b = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n".to_vec();
        b.extend_from_slice(&gzip(&vec![b'a'; 1 << 20]));
        let p = display_pieces(&b, 4096);
        assert!(
            matches!(&p[1], Piece::Summary(l) if l.contains("decompressed_size_limit")),
            "{p:?}"
        );
    }

    #[test]
    fn magic_bytes_name_common_types() {
        for (bytes, name) in [
            (&b"\xff\xd8\xff\xe0\x00\x10JFIF"[..], "JPEG image"),
            (b"GIF89a\x01\x00", "GIF image"),
            (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "WebP image"),
            (b"%PDF-1.7\n", "PDF document"),
            (b"PK\x03\x04\x14\x00", "ZIP archive"),
            (b"\x1f\x8b\x08\x00", "gzip data"),
            (b"wOFF\x00\x01", "WOFF font"),
            (b"wOF2\x00\x01", "WOFF2 font"),
            (b"\x00asm\x01\x00\x00\x00", "WebAssembly module"),
            (b"\x00\x00\x00\x1cftypavif", "AVIF image"),
        ] {
            assert_eq!(sniff(bytes), Some(name), "{bytes:?}");
        }
        let mut exe = b"MZ".to_vec();
        exe.resize(0x80, 0);
        exe[0x3c] = 0x40;
        exe[0x40..0x44].copy_from_slice(b"PE\0\0");
        assert_eq!(sniff(&exe), Some("Windows executable"));
        assert_eq!(sniff(b"MZ is a text that starts like an executable"), None);
        let mut ico = b"\x00\x00\x01\x00\x01\x00".to_vec();
        ico.resize(40, 0);
        assert_eq!(sniff(&ico), Some("ICO icon"));
        assert_eq!(sniff(b"{\"a\": true}"), None);
        assert_eq!(sniff(b"true"), None);
        assert!(looks_textual("caf\u{e9} ok\r\n".as_bytes()));
        assert!(!looks_textual(b"a\x00b"));
        assert!(
            looks_textual(&"\u{e9}".as_bytes()[..1]),
            "a character cut at the end"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_split_without_loss_or_panic(
            head in proptest::sample::select(vec![
                &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
                b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nContent-Encoding: br\r\n\r\n",
                b"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
                b"",
            ]),
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
        ) {
            let mut s = head.to_vec();
            s.extend_from_slice(&tail);
            let p = display_pieces(&s, 1 << 16);
            // Byte pieces are in order and never overlap.
            let mut last = 0usize;
            for piece in &p {
                if let Piece::Bytes(b) = piece {
                    let at = b.as_ptr() as usize - s.as_ptr() as usize;
                    proptest::prop_assert!(at >= last);
                    last = at + b.len();
                }
            }
            proptest::prop_assert!(last <= s.len());
        }
    }
}
