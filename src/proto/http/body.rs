//! Body decoding for display: de-chunking (RFC 9112 §7.1) and content codings (RFC 9110
//! §8.4.1: gzip, deflate). Runs on demand when a user opens a body, never while
//! analysing, and every output is capped so a small compressed body cannot expand into
//! gigabytes (a "zip bomb").
//!
//! Brotli (`br`, RFC 7932) decodes through `brotli-decompressor` (the decoder half of
//! Dropbox's maintained pure-Rust `brotli`).

use std::io::Read;

use super::parse::parse_chunk_size;

/// Why a body could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    /// Output would exceed the caller's limit (stable name: `decompressed_size_limit`).
    #[error("decompressed_size_limit: output exceeds {0} bytes")]
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
        match self {
            BodyError::DecompressedSizeLimit(_) => "decompressed_size_limit",
            BodyError::Unsupported(_) => "unsupported_content_coding",
            BodyError::Corrupt { .. } => "corrupt_content_coding",
            BodyError::Chunked(_) => "http_chunk_framing",
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// The gzip response body of zeek/http-get-gzip.pcap (frame 8, 165 bytes,
    /// server stream bytes 177..342).
    fn real_gzip_body() -> Vec<u8> {
        let s2c = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/streams/zeek__http-get-gzip.pcap--0.s2c.bin"
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
    fn bomb_stops_at_limit_quickly() {
        // 1 GiB of zeros as gzip: one 16 MiB member repeated 64 times (a valid gzip file,
        // RFC 1952 §2.2), so building the bomb is cheap too.
        let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        g.write_all(&vec![0u8; 16 << 20]).unwrap();
        let member = g.finish().unwrap();
        let bomb = member.repeat(64);
        assert!(bomb.len() < 2 << 20);
        let t = std::time::Instant::now();
        let e = decode_body("gzip", &bomb, 8 << 20).unwrap_err();
        assert_eq!(e.name(), "decompressed_size_limit");
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
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
}
