//! Client fingerprints from a ClientHello.
//!
//! JA3 (Salesforce): `SSLVersion,Ciphers,Extensions,EllipticCurves,EcPointFormats` in
//! decimal, list items joined by `-`, GREASE values removed, and its MD5.
//!
//! JA4 (FoxIO, JA4 specification, "JA4: TLS Client Fingerprint"): `a_b_c` where a =
//! protocol (`t` for TLS over TCP), the highest non-GREASE version (supported_versions,
//! else the legacy one) as `13`/`12`/…, `d` with SNI or `i` without, the counts of
//! non-GREASE cipher suites and extensions (two digits each, at most 99), and the first
//! and last characters of the first ALPN value (`00` without ALPN; hex digits when they
//! are not alphanumeric); b = the first 12 hex digits of SHA-256 over the sorted cipher
//! suites (4-digit hex, comma-separated); c = the same over the sorted extensions
//! without SNI and ALPN, then `_` and the signature algorithms in wire order.

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::handshake::ClientHelloInfo;
use super::names::is_grease;
use md5::{Digest, Md5};

fn join_dec<T: ToString>(v: impl Iterator<Item = T>) -> String {
    v.map(|x| x.to_string()).collect::<Vec<_>>().join("-")
}

/// The JA3 string (before hashing).
pub fn ja3_string(h: &ClientHelloInfo) -> String {
    let ng = |v: &&u16| !is_grease(**v);
    format!(
        "{},{},{},{},{}",
        h.legacy_version,
        join_dec(h.cipher_suites.iter().filter(ng)),
        join_dec(h.extensions.iter().filter(ng)),
        join_dec(h.groups.iter().filter(ng)),
        join_dec(h.point_formats.iter()),
    )
}

/// JA3: the MD5 of [`ja3_string`], lowercase hex.
pub fn ja3(h: &ClientHelloInfo) -> String {
    super::keylog::to_hex(&Md5::digest(ja3_string(h).as_bytes()))
}

fn sha12(s: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, s.as_bytes());
    super::keylog::to_hex(d.as_ref())[..12].to_string()
}

fn hex_list(v: &[u16]) -> String {
    v.iter()
        .map(|x| format!("{x:04x}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The JA4 fingerprint of a ClientHello sent over TCP.
pub fn ja4(h: &ClientHelloInfo) -> String {
    let version = h
        .supported_versions
        .iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .max()
        .unwrap_or(h.legacy_version);
    let ver = match version {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        _ => "00",
    };
    let sni = if h.sni.is_some() { 'd' } else { 'i' };
    let mut ciphers: Vec<u16> = h
        .cipher_suites
        .iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .collect();
    let exts: Vec<u16> = h
        .extensions
        .iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .collect();
    let alpn = match h.alpn.first().map(|a| a.as_bytes()) {
        Some([first, .., last]) | Some([first @ last]) => {
            if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() {
                format!("{}{}", *first as char, *last as char)
            } else {
                let f = format!("{first:02x}");
                let l = format!("{last:02x}");
                format!("{}{}", &f[..1], &l[1..])
            }
        }
        _ => "00".to_string(),
    };
    let a = format!(
        "t{ver}{sni}{:02}{:02}{alpn}",
        ciphers.len().min(99),
        exts.len().min(99)
    );
    ciphers.sort_unstable();
    let b = if ciphers.is_empty() {
        "000000000000".to_string()
    } else {
        sha12(&hex_list(&ciphers))
    };
    let mut sorted: Vec<u16> = exts
        .into_iter()
        .filter(|&e| e != super::handshake::ext::SERVER_NAME && e != super::handshake::ext::ALPN)
        .collect();
    sorted.sort_unstable();
    let c = if sorted.is_empty() {
        "000000000000".to_string()
    } else if h.signature_algorithms.is_empty() {
        sha12(&hex_list(&sorted))
    } else {
        sha12(&format!(
            "{}_{}",
            hex_list(&sorted),
            hex_list(&h.signature_algorithms)
        ))
    };
    format!("{a}_{b}_{c}")
}
