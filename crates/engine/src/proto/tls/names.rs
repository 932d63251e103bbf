//! IANA names for TLS code points: cipher suites (RFC 8446 §B.4, RFC 5289, RFC 7905,
//! RFC 5288), named groups (RFC 8446 §4.2.7, RFC 7919, draft-ietf-tls-ecdhe-mlkem),
//! alert descriptions (RFC 8446 §6, RFC 5246 §7.2), handshake and content types
//! (RFC 8446 §4, §5.1). Unknown values print as `0xNNNN`, GREASE values
//! (RFC 8701 §2: 0x?a?a) as `GREASE (0xNNNN)`.
//!
//! The cipher suite table also says how to decrypt a suite (its AEAD or CBC+HMAC and the
//! PRF/HKDF hash; RFC 5246 App. C, RFC 5289 §3.2 for the SHA-256/384 CBC suites), so
//! naming and decryption cannot disagree.

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

/// The hash of a suite's PRF (TLS 1.2, RFC 5246 §5) or HKDF (TLS 1.3, RFC 8446 §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
}

/// How a suite protects records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protection {
    Aes128Gcm,
    Aes256Gcm,
    Chacha20Poly1305,
    /// AES-CBC with an HMAC (RFC 5246 §6.2.3.2, RFC 7366): AES-128 or AES-256 and the
    /// MAC's hash (which is not the PRF's: `_CBC_SHA` suites MAC with SHA-1 but use the
    /// TLS 1.2 PRF with SHA-256).
    Aes128CbcSha,
    Aes256CbcSha,
    Aes128CbcSha256,
    Aes256CbcSha256,
    Aes256CbcSha384,
    /// Anything else (RC4, 3DES, CCM, NULL…): named but not decrypted.
    Other,
}

/// One row of the suite table.
#[derive(Clone, Copy, Debug)]
pub struct Suite {
    pub id: u16,
    pub name: &'static str,
    pub protection: Protection,
    pub hash: Hash,
    /// A TLS 1.3 suite (RFC 8446 §B.4): no key exchange in the name.
    pub tls13: bool,
}

use Hash::*;
use Protection::*;

macro_rules! suites {
    ($( $id:literal $name:literal $prot:ident $hash:ident $t13:literal ;)*) => {
        /// The suites browsers and servers offer today, plus the older ones still seen.
        pub const SUITES: &[Suite] = &[ $( Suite { id: $id, name: $name, protection: $prot, hash: $hash, tls13: $t13 }, )* ];
    };
}

suites! {
    0x1301 "TLS_AES_128_GCM_SHA256" Aes128Gcm Sha256 true;
    0x1302 "TLS_AES_256_GCM_SHA384" Aes256Gcm Sha384 true;
    0x1303 "TLS_CHACHA20_POLY1305_SHA256" Chacha20Poly1305 Sha256 true;
    0x1304 "TLS_AES_128_CCM_SHA256" Other Sha256 true;
    0x1305 "TLS_AES_128_CCM_8_SHA256" Other Sha256 true;
    0xc02b "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" Aes128Gcm Sha256 false;
    0xc02c "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" Aes256Gcm Sha384 false;
    0xc02f "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" Aes128Gcm Sha256 false;
    0xc030 "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" Aes256Gcm Sha384 false;
    0xcca8 "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" Chacha20Poly1305 Sha256 false;
    0xcca9 "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" Chacha20Poly1305 Sha256 false;
    0xccaa "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256" Chacha20Poly1305 Sha256 false;
    0x009e "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256" Aes128Gcm Sha256 false;
    0x009f "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384" Aes256Gcm Sha384 false;
    0x009c "TLS_RSA_WITH_AES_128_GCM_SHA256" Aes128Gcm Sha256 false;
    0x009d "TLS_RSA_WITH_AES_256_GCM_SHA384" Aes256Gcm Sha384 false;
    0xc009 "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA" Aes128CbcSha Sha256 false;
    0xc00a "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA" Aes256CbcSha Sha256 false;
    0xc013 "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA" Aes128CbcSha Sha256 false;
    0xc014 "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA" Aes256CbcSha Sha256 false;
    0xc023 "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256" Aes128CbcSha256 Sha256 false;
    0xc024 "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384" Aes256CbcSha384 Sha384 false;
    0xc027 "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256" Aes128CbcSha256 Sha256 false;
    0xc028 "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384" Aes256CbcSha384 Sha384 false;
    0x002f "TLS_RSA_WITH_AES_128_CBC_SHA" Aes128CbcSha Sha256 false;
    0x0035 "TLS_RSA_WITH_AES_256_CBC_SHA" Aes256CbcSha Sha256 false;
    0x003c "TLS_RSA_WITH_AES_128_CBC_SHA256" Aes128CbcSha256 Sha256 false;
    0x003d "TLS_RSA_WITH_AES_256_CBC_SHA256" Aes256CbcSha256 Sha256 false;
    0x0033 "TLS_DHE_RSA_WITH_AES_128_CBC_SHA" Aes128CbcSha Sha256 false;
    0x0039 "TLS_DHE_RSA_WITH_AES_256_CBC_SHA" Aes256CbcSha Sha256 false;
    0x000a "TLS_RSA_WITH_3DES_EDE_CBC_SHA" Other Sha256 false;
    0x0005 "TLS_RSA_WITH_RC4_128_SHA" Other Sha256 false;
    0x0004 "TLS_RSA_WITH_RC4_128_MD5" Other Sha256 false;
    0xc011 "TLS_ECDHE_RSA_WITH_RC4_128_SHA" Other Sha256 false;
    0xc007 "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA" Other Sha256 false;
    0x00ff "TLS_EMPTY_RENEGOTIATION_INFO_SCSV" Other Sha256 false;
    0x5600 "TLS_FALLBACK_SCSV" Other Sha256 false;
}

/// The ech_required alert (draft-ietf-tls-esni-25 §11.2).
pub const ECH_REQUIRED: u8 = 121;

/// True for a GREASE value (RFC 8701 §2: both bytes 0x?A with equal halves).
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// The table row of a suite, if known.
pub fn suite(id: u16) -> Option<&'static Suite> {
    SUITES.iter().find(|s| s.id == id)
}

/// IANA name of a cipher suite, `GREASE (0x..)` or `0xNNNN`.
pub fn cipher_suite_name(id: u16) -> String {
    match suite(id) {
        Some(s) => s.name.to_string(),
        None if is_grease(id) => format!("GREASE (0x{id:04x})"),
        None => format!("0x{id:04x}"),
    }
}

/// Named group (supported_groups / key_share, RFC 8446 §4.2.7).
pub fn group_name(id: u16) -> String {
    let n = match id {
        0x0017 => "secp256r1",
        0x0018 => "secp384r1",
        0x0019 => "secp521r1",
        0x001d => "x25519",
        0x001e => "x448",
        0x0100 => "ffdhe2048",
        0x0101 => "ffdhe3072",
        0x0102 => "ffdhe4096",
        0x0103 => "ffdhe6144",
        0x0104 => "ffdhe8192",
        0x11eb => "SecP256r1MLKEM768",
        0x11ec => "X25519MLKEM768",
        0x11ed => "SecP384r1MLKEM1024",
        0x6399 => "X25519Kyber768Draft00",
        0x0200 => "MLKEM512",
        0x0201 => "MLKEM768",
        0x0202 => "MLKEM1024",
        _ if is_grease(id) => return format!("GREASE (0x{id:04x})"),
        _ => return format!("0x{id:04x}"),
    };
    n.to_string()
}

/// Alert level (RFC 5246 §7.2).
pub fn alert_level_name(l: u8) -> String {
    match l {
        1 => "warning".into(),
        2 => "fatal".into(),
        l => format!("level {l}"),
    }
}

/// Alert description (RFC 8446 §6, RFC 5246 §7.2), as the RFCs spell them.
pub fn alert_description_name(d: u8) -> String {
    let n = match d {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        121 => "ech_required",
        d => return format!("{d}"),
    };
    n.to_string()
}

/// Handshake message type (RFC 8446 §4, RFC 5246 §7.4).
pub fn handshake_type_name(t: u8) -> &'static str {
    match t {
        0 => "HelloRequest",
        1 => "ClientHello",
        2 => "ServerHello",
        4 => "NewSessionTicket",
        5 => "EndOfEarlyData",
        8 => "EncryptedExtensions",
        11 => "Certificate",
        12 => "ServerKeyExchange",
        13 => "CertificateRequest",
        14 => "ServerHelloDone",
        15 => "CertificateVerify",
        16 => "ClientKeyExchange",
        20 => "Finished",
        24 => "KeyUpdate",
        254 => "MessageHash",
        _ => "Unknown",
    }
}

/// Record content type (RFC 8446 §5.1).
pub fn content_type_name(t: u8) -> &'static str {
    match t {
        20 => "ChangeCipherSpec",
        21 => "Alert",
        22 => "Handshake",
        23 => "ApplicationData",
        24 => "Heartbeat",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(cipher_suite_name(0x1301), "TLS_AES_128_GCM_SHA256");
        assert_eq!(
            cipher_suite_name(0xc02f),
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        );
        assert_eq!(cipher_suite_name(0x1234), "0x1234");
        assert_eq!(cipher_suite_name(0x3a3a), "GREASE (0x3a3a)");
        assert_eq!(group_name(0x11ec), "X25519MLKEM768");
        assert_eq!(group_name(0x001d), "x25519");
        assert_eq!(alert_description_name(0), "close_notify");
        assert_eq!(alert_description_name(200), "200");
        assert!(is_grease(0xfafa) && !is_grease(0x0a1a) && !is_grease(0x1a0a));
        // Every id appears once: a duplicate row would make names and decryption differ.
        for (i, s) in SUITES.iter().enumerate() {
            assert!(SUITES[i + 1..].iter().all(|t| t.id != s.id), "{:04x}", s.id);
        }
    }
}
