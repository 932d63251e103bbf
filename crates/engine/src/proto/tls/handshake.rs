//! Handshake message bodies (RFC 8446 §4, RFC 5246 §7.4), parsed by hand so every field
//! a fingerprint or a summary needs is kept (extension order, GREASE, key-share groups).
//! Certificates are parsed with x509-parser, whose types stay in this file.
//!
//! Every parser takes the message body (after the 4-byte type/length header) and returns
//! `None` when it is malformed; strings from the wire are kept lossily as UTF-8 and must
//! be escaped before reaching a terminal.

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::names::is_grease;

/// RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest.
pub const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Extension code points used here (IANA TLS ExtensionType registry).
pub mod ext {
    pub const SERVER_NAME: u16 = 0;
    pub const SUPPORTED_GROUPS: u16 = 10;
    pub const EC_POINT_FORMATS: u16 = 11;
    pub const SIGNATURE_ALGORITHMS: u16 = 13;
    pub const ALPN: u16 = 16;
    /// RFC 7366 §2.
    pub const ENCRYPT_THEN_MAC: u16 = 22;
    pub const SESSION_TICKET: u16 = 35;
    pub const PRE_SHARED_KEY: u16 = 41;
    pub const EARLY_DATA: u16 = 42;
    pub const SUPPORTED_VERSIONS: u16 = 43;
    pub const KEY_SHARE: u16 = 51;
    pub const ECH: u16 = 0xfe0d;
}

/// A bounds-checked reader over a message body.
#[derive(Clone, Copy)]
pub(crate) struct Cur<'a>(pub(crate) &'a [u8]);

impl<'a> Cur<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (a, b) = self.0.split_at_checked(n)?;
        self.0 = b;
        Some(a)
    }
    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    pub(crate) fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u24(&mut self) -> Option<usize> {
        match *self.take(3)? {
            [a, b, c] => Some(usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c)),
            _ => None,
        }
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    fn vec8(&mut self) -> Option<Cur<'a>> {
        let n = self.u8()?;
        Some(Cur(self.take(n.into())?))
    }
    pub(crate) fn vec16(&mut self) -> Option<Cur<'a>> {
        let n = self.u16()?;
        Some(Cur(self.take(n.into())?))
    }
    fn vec24(&mut self) -> Option<Cur<'a>> {
        let n = self.u24()?;
        Some(Cur(self.take(n)?))
    }
    fn u16s(mut self) -> Vec<u16> {
        let mut v = Vec::new();
        while let Some(x) = self.u16() {
            v.push(x);
        }
        v
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn random(c: &mut Cur) -> Option<[u8; 32]> {
    c.take(32)?.try_into().ok()
}

/// The ALPN protocol name list (RFC 7301 §3.1).
fn alpn_list(mut c: Cur) -> Option<Vec<String>> {
    let mut list = c.vec16()?;
    let mut out = Vec::new();
    while !list.is_empty() {
        out.push(crate::base::wire_string(list.vec8()?.0));
    }
    Some(out)
}

/// Extensions as (type, body) in wire order (RFC 8446 §4.2).
fn extensions<'a>(c: &mut Cur<'a>) -> Option<Vec<(u16, Cur<'a>)>> {
    let mut out = Vec::new();
    if c.is_empty() {
        return Some(out); // TLS 1.2 allows no extension block at all (RFC 5246 §7.4.1.2).
    }
    let mut block = c.vec16()?;
    while !block.is_empty() {
        let ty = block.u16()?;
        out.push((ty, block.vec16()?));
    }
    Some(out)
}

/// What a client offered (RFC 8446 §4.1.2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHelloInfo {
    pub legacy_version: u16,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    /// In wire order, GREASE included.
    pub cipher_suites: Vec<u16>,
    /// Extension types in wire order, GREASE included.
    pub extensions: Vec<u16>,
    /// server_name host_name (RFC 6066 §3).
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    /// supported_versions (RFC 8446 §4.2.1).
    pub supported_versions: Vec<u16>,
    pub groups: Vec<u16>,
    pub point_formats: Vec<u8>,
    pub signature_algorithms: Vec<u16>,
    /// Groups of the key shares sent (RFC 8446 §4.2.8).
    pub key_share_groups: Vec<u16>,
    /// A non-empty session_ticket extension (RFC 5077 §3.2): resumption offered.
    pub ticket: bool,
    /// pre_shared_key offered (RFC 8446 §4.2.11): resumption offered.
    pub psk: bool,
    /// early_data offered (RFC 8446 §4.2.10).
    pub early_data: bool,
    /// encrypted_client_hello (0xfe0d, draft-ietf-tls-esni) present, real or GREASE ECH.
    pub ech: bool,
    /// Any GREASE value (RFC 8701) among suites, extensions, groups or versions.
    pub grease: bool,
}

pub fn client_hello(body: &[u8]) -> Option<ClientHelloInfo> {
    let mut c = Cur(body);
    let mut h = ClientHelloInfo {
        legacy_version: c.u16()?,
        random: random(&mut c)?,
        session_id: c.vec8()?.0.to_vec(),
        cipher_suites: c.vec16()?.u16s(),
        ..Default::default()
    };
    c.vec8()?; // compression methods
    for (ty, mut e) in extensions(&mut c)? {
        h.extensions.push(ty);
        match ty {
            ext::SERVER_NAME => {
                // server_name_list: (name_type u8, host_name u16 vec)…; the first host_name.
                let mut list = e.vec16()?;
                while !list.is_empty() {
                    let kind = list.u8()?;
                    let name = list.vec16()?;
                    if kind == 0 && h.sni.is_none() {
                        h.sni = Some(crate::base::wire_string(name.0));
                    }
                }
            }
            ext::ALPN => h.alpn = alpn_list(e)?,
            ext::SUPPORTED_VERSIONS => h.supported_versions = e.vec8()?.u16s(),
            ext::SUPPORTED_GROUPS => h.groups = e.vec16()?.u16s(),
            ext::EC_POINT_FORMATS => h.point_formats = e.vec8()?.0.to_vec(),
            ext::SIGNATURE_ALGORITHMS => h.signature_algorithms = e.vec16()?.u16s(),
            ext::KEY_SHARE => {
                let mut list = e.vec16()?;
                while !list.is_empty() {
                    h.key_share_groups.push(list.u16()?);
                    list.vec16()?;
                }
            }
            ext::SESSION_TICKET => h.ticket = !e.is_empty(),
            ext::PRE_SHARED_KEY => h.psk = true,
            ext::EARLY_DATA => h.early_data = true,
            ext::ECH => h.ech = true,
            _ => {}
        }
    }
    h.grease = h
        .cipher_suites
        .iter()
        .chain(&h.extensions)
        .chain(&h.groups)
        .chain(&h.supported_versions)
        .any(|&v| is_grease(v));
    Some(h)
}

/// What the server chose (RFC 8446 §4.1.3), or a HelloRetryRequest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerHelloInfo {
    pub legacy_version: u16,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    pub cipher: u16,
    pub extensions: Vec<u16>,
    /// supported_versions' selected_version, else the legacy version.
    pub version: u16,
    /// key_share's group (or the HRR's selected_group).
    pub key_share_group: Option<u16>,
    /// ALPN chosen (visible here in TLS ≤ 1.2; in 1.3 it is in EncryptedExtensions).
    pub alpn: Option<String>,
    /// pre_shared_key selected_identity: the server accepted a PSK (RFC 8446 §4.2.11).
    pub psk_selected: Option<u16>,
    /// An empty session_ticket extension: the server will send a NewSessionTicket (1.2).
    pub ticket_ext: bool,
    /// This is a HelloRetryRequest (the special random of §4.1.3).
    pub hrr: bool,
}

pub fn server_hello(body: &[u8]) -> Option<ServerHelloInfo> {
    let mut c = Cur(body);
    let legacy_version = c.u16()?;
    let random = random(&mut c)?;
    let mut h = ServerHelloInfo {
        legacy_version,
        random,
        session_id: c.vec8()?.0.to_vec(),
        cipher: c.u16()?,
        version: legacy_version,
        hrr: random == HRR_RANDOM,
        ..Default::default()
    };
    c.u8()?; // compression method
    for (ty, mut e) in extensions(&mut c)? {
        h.extensions.push(ty);
        match ty {
            ext::SUPPORTED_VERSIONS => h.version = e.u16()?,
            ext::KEY_SHARE => h.key_share_group = Some(e.u16()?),
            ext::ALPN => h.alpn = alpn_list(e)?.into_iter().next(),
            ext::PRE_SHARED_KEY => h.psk_selected = Some(e.u16()?),
            ext::SESSION_TICKET => h.ticket_ext = true,
            _ => {}
        }
    }
    Some(h)
}

/// Facts from one X.509 certificate (RFC 5280 §4.1). Names are x509-parser's RFC 4514
/// renderings; untrusted, escape before printing.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    /// DNS names and IP addresses of subjectAltName (§4.2.1.6).
    pub sans: Vec<String>,
    /// Validity, seconds since the Unix epoch.
    pub not_before: i64,
    pub not_after: i64,
    pub serial: String,
}

fn cert_info(der: &[u8]) -> Option<CertInfo> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let mut sans = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                GeneralName::DNSName(s) => sans.push(s.to_string()),
                GeneralName::IPAddress(b) => match b.len() {
                    4 => {
                        let a: [u8; 4] = (*b).try_into().ok()?;
                        sans.push(std::net::Ipv4Addr::from(a).to_string())
                    }
                    16 => {
                        let a: [u8; 16] = (*b).try_into().ok()?;
                        sans.push(std::net::Ipv6Addr::from(a).to_string())
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
    Some(CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        sans,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        serial: cert.raw_serial_as_string(),
    })
}

/// Certificate message (RFC 5246 §7.4.2; RFC 8446 §4.4.2 with a request context and
/// per-entry extensions). A certificate x509-parser rejects is left out of the list.
/// Returns the parsed chain and how many entries there were.
pub fn certificate(body: &[u8], tls13: bool) -> Option<(Vec<CertInfo>, usize)> {
    let mut c = Cur(body);
    if tls13 {
        c.vec8()?;
    }
    let mut list = c.vec24()?;
    let mut out = Vec::new();
    let mut n = 0;
    while !list.is_empty() {
        let der = list.vec24()?;
        if tls13 {
            list.vec16()?;
        }
        n += 1;
        if let Some(ci) = cert_info(der.0) {
            out.push(ci);
        }
    }
    Some((out, n))
}

/// ServerKeyExchange's named curve for ECDHE (RFC 8422 §5.4: curve_type 3 =
/// named_curve); None for DHE or anything else.
pub fn server_key_exchange_group(body: &[u8]) -> Option<u16> {
    let mut c = Cur(body);
    if c.u8()? != 3 {
        return None;
    }
    c.u16()
}

/// NewSessionTicket lifetime in seconds (RFC 5077 §3.3, RFC 8446 §4.6.1).
pub fn ticket_lifetime(body: &[u8]) -> Option<u32> {
    Cur(body).u32()
}

/// EncryptedExtensions (RFC 8446 §4.3.1): the chosen ALPN and whether early data was
/// accepted.
pub fn encrypted_extensions(body: &[u8]) -> Option<(Option<String>, bool)> {
    let mut c = Cur(body);
    let mut alpn = None;
    let mut early = false;
    let mut block = c.vec16()?;
    while !block.is_empty() {
        let ty = block.u16()?;
        let e = block.vec16()?;
        match ty {
            ext::ALPN => alpn = alpn_list(e)?.into_iter().next(),
            ext::EARLY_DATA => early = true,
            _ => {}
        }
    }
    Some((alpn, early))
}
