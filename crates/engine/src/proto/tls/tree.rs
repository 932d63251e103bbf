//! The detail-pane tree of the TLS records in one segment's payload: each record's
//! header (RFC 8446 §5.1), its handshake messages one after another, application data
//! by length, certificates of a plaintext Certificate message (subject, issuer, SANs,
//! validity) and, for a ClientHello or ServerHello that starts in the segment, its fields (§4.1.2, §4.1.3): version, random, session id, cipher suites,
//! compression methods and the extensions, with server_name (RFC 6066 §3), ALPN
//! (RFC 7301 §3.1), supported_versions (RFC 8446 §4.2.1) and key_share (§4.2.8) decoded.
//!
//! Ranges are offsets into the payload given; the caller shifts them into the frame. The
//! hello is walked by hand (not through tls-parser) because the tree needs every field's
//! offset. Whatever does not fit in the segment gets a last node saying so; names from
//! the wire (SNI, ALPN) are escaped.

use super::version_name;
use crate::base::escape::escape_bytes;
use crate::base::hexdump::hex_string as hex;
use crate::base::time::utc_date;
use crate::base::FieldNode;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

fn u24_at(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at.checked_add(3)?)?;
    Some((usize::from(s[0]) << 16) | (usize::from(s[1]) << 8) | usize::from(s[2]))
}

fn content_type(t: u8) -> &'static str {
    match t {
        20 => "Change Cipher Spec",
        21 => "Alert",
        22 => "Handshake",
        23 => "Application Data",
        24 => "Heartbeat",
        _ => "Unknown",
    }
}

fn handshake_type(t: u8) -> &'static str {
    match t {
        0 => "Hello Request",
        1 => "Client Hello",
        2 => "Server Hello",
        4 => "New Session Ticket",
        8 => "Encrypted Extensions",
        11 => "Certificate",
        12 => "Server Key Exchange",
        13 => "Certificate Request",
        14 => "Server Hello Done",
        15 => "Certificate Verify",
        16 => "Client Key Exchange",
        20 => "Finished",
        _ => "Unknown",
    }
}

/// Cipher suite name from the IANA registry (tls-parser's table), or its number.
pub fn cipher_name(id: u16) -> String {
    if id & 0x0f0f == 0x0a0a {
        return format!("Reserved (GREASE) (0x{id:04x})");
    }
    match tls_parser::TlsCipherSuite::from_id(id) {
        Some(c) => format!("{} (0x{id:04x})", c.name),
        None => format!("Unknown (0x{id:04x})"),
    }
}

fn extension_name(t: u16) -> &'static str {
    match t {
        0 => "server_name",
        1 => "max_fragment_length",
        5 => "status_request",
        10 => "supported_groups",
        11 => "ec_point_formats",
        13 => "signature_algorithms",
        16 => "application_layer_protocol_negotiation",
        18 => "signed_certificate_timestamp",
        21 => "padding",
        22 => "encrypt_then_mac",
        23 => "extended_master_secret",
        27 => "compress_certificate",
        35 => "session_ticket",
        41 => "pre_shared_key",
        42 => "early_data",
        43 => "supported_versions",
        44 => "cookie",
        45 => "psk_key_exchange_modes",
        49 => "post_handshake_auth",
        50 => "signature_algorithms_cert",
        51 => "key_share",
        0xff01 => "renegotiation_info",
        t if t & 0x0f0f == 0x0a0a => "GREASE",
        _ => "unknown",
    }
}

fn group_name(g: u16) -> String {
    let n = match g {
        23 => "secp256r1",
        24 => "secp384r1",
        25 => "secp521r1",
        29 => "x25519",
        30 => "x448",
        256 => "ffdhe2048",
        257 => "ffdhe3072",
        0x11ec => "X25519MLKEM768",
        g if g & 0x0f0f == 0x0a0a => "GREASE",
        _ => return format!("0x{g:04x}"),
    };
    format!("{n} (0x{g:04x})")
}

/// The TLS records of one segment's payload, or `None` when it does not start with a
/// plausible record header (a segment in the middle of a record).
pub fn tls_tree(payload: &[u8]) -> Option<FieldNode> {
    let first = payload.first().copied()?;
    if !(20..=24).contains(&first) || payload.get(1) != Some(&3) {
        return None;
    }
    let mut root = FieldNode::new("Transport Layer Security", 0..payload.len());
    let mut at = 0usize;
    while at < payload.len() {
        let (Some(&ct), Some(ver), Some(len)) = (
            payload.get(at),
            u16_at(payload, at + 1),
            u16_at(payload, at + 3),
        ) else {
            root.push(
                format!("[Record header cut short: {} bytes]", payload.len() - at),
                at..payload.len(),
            );
            break;
        };
        if !(20..=24).contains(&ct) || ver >> 8 != 3 {
            root.push(
                format!("[Not a TLS record header at byte {at}]"),
                at..payload.len(),
            );
            break;
        }
        let body_start = at + 5;
        let end = body_start + len as usize;
        let here = end.min(payload.len());
        let mut rec = FieldNode::new(
            format!(
                "TLS Record: {}, {}, length {len}",
                version_name(ver),
                content_type(ct)
            ),
            at..here,
        );
        rec.push(
            format!("Content Type: {} ({ct})", content_type(ct)),
            at..at + 1,
        );
        rec.push(
            format!("Version: {} (0x{ver:04x})", version_name(ver)),
            at + 1..at + 3,
        );
        rec.push(format!("Length: {len}"), at + 3..at + 5);
        let body = payload.get(body_start..here).unwrap_or_default();
        if ct == 22 {
            handshake(&mut rec, body, body_start);
        } else if ct == 23 {
            // Protected (RFC 8446 §5.2; RFC 5246 §6.2.3): only its length is known here;
            // with keys the packet's "Decrypted TLS" node shows what it held.
            rec.push(
                format!("Encrypted Application Data: {len} bytes"),
                body_start..here,
            );
        }
        if end > payload.len() {
            rec.push(
                format!(
                    "[Record continues in later segments: {} of {len} bytes here]",
                    here - body_start
                ),
                here..here,
            );
        }
        root.children.push(rec);
        at = end;
    }
    Some(root)
}

/// The handshake messages of a record body at `off` (its offset in the payload), one
/// after another (TLS 1.2 servers send ServerHello, Certificate, ServerKeyExchange and
/// ServerHelloDone in one record). Hellos and certificates are expanded; encrypted
/// handshakes (TLS 1.3 after the ServerHello) show as their type byte only when it
/// happens to parse, and at most the first message of such a body is named.
fn handshake(rec: &mut FieldNode, body: &[u8], off: usize) {
    let mut at = 0usize;
    while at < body.len() {
        let rest = body.get(at..).unwrap_or_default();
        let (Some(&ht), Some(hlen)) = (rest.first(), u24_at(rest, 1)) else {
            return;
        };
        let o = off + at;
        if !matches!(ht, 1 | 2 | 11 | 12 | 14 | 16 | 20 | 4) {
            rec.push(
                format!("Handshake: {} ({ht})", handshake_type(ht)),
                o..off + body.len(),
            );
            return;
        }
        let end = (4 + hlen).min(rest.len());
        let mut h = FieldNode::new(
            format!("Handshake Protocol: {}", handshake_type(ht)),
            o..o + end,
        );
        h.push(
            format!("Handshake Type: {} ({ht})", handshake_type(ht)),
            o..o + 1,
        );
        h.push(format!("Length: {hlen}"), o + 1..o + 4);
        let msg = rest.get(4..end).unwrap_or_default();
        match ht {
            1 | 2 => {
                if let Err(cut) = hello(&mut h, msg, o + 4, ht == 1) {
                    h.push(
                        format!("[Hello cut short at byte {cut} of {hlen}]"),
                        o + 4 + cut..o + 4 + cut,
                    );
                }
            }
            11 => certificates(&mut h, msg, o + 4),
            _ => {}
        }
        if 4 + hlen > rest.len() {
            h.push(
                format!(
                    "[Message continues in later segments: {} of {hlen} bytes here]",
                    end.saturating_sub(4)
                ),
                o + end..o + end,
            );
        }
        rec.children.push(h);
        at += 4 + hlen;
    }
}

/// A plaintext Certificate message (RFC 5246 §7.4.2): each certificate's subject,
/// issuer, subjectAltName and validity, with the bytes of its DER. Entries cut off by
/// the segment's end are counted, not parsed.
fn certificates(h: &mut FieldNode, m: &[u8], off: usize) {
    let Some(total) = u24_at(m, 0) else {
        return;
    };
    let mut list = FieldNode::new(format!("Certificates Length: {total}"), off..off + 3);
    let mut at = 3usize;
    let mut n = 0;
    while at < m.len().min(3 + total) {
        let Some(len) = u24_at(m, at) else {
            break;
        };
        n += 1;
        let start = at + 3;
        let Some(der) = m.get(start..start + len) else {
            list.push(
                format!("[Certificate {n}: {len} bytes, continues in later segments]"),
                off + at..off + m.len(),
            );
            break;
        };
        let r = off + at..off + start + len;
        // One entry as a whole message body, for the handshake parser.
        let mut one = Vec::with_capacity(len + 6);
        one.extend_from_slice(&((len + 3) as u32).to_be_bytes()[1..]);
        one.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
        one.extend_from_slice(der);
        match super::handshake::certificate(&one, false).and_then(|(c, _)| c.into_iter().next()) {
            Some(ci) => {
                let mut c = FieldNode::new(
                    format!(
                        "Certificate {n}: {}",
                        crate::base::escape::escape_str(&ci.subject)
                    ),
                    r.clone(),
                );
                c.push(
                    format!("Subject: {}", crate::base::escape::escape_str(&ci.subject)),
                    r.clone(),
                );
                c.push(
                    format!("Issuer: {}", crate::base::escape::escape_str(&ci.issuer)),
                    r.clone(),
                );
                if !ci.sans.is_empty() {
                    c.push(
                        format!(
                            "Subject Alternative Names: {}",
                            crate::base::escape::escape_str(&ci.sans.join(", "))
                        ),
                        r.clone(),
                    );
                }
                c.push(
                    format!(
                        "Validity: {} to {}",
                        utc_date(ci.not_before),
                        utc_date(ci.not_after)
                    ),
                    r.clone(),
                );
                list.children.push(c);
            }
            None => {
                list.push(format!("Certificate {n}: {len} bytes (not parsed)"), r);
            }
        }
        at = start + len;
    }
    list.range = off..off + at.min(m.len());
    h.children.push(list);
}

/// ClientHello (`client`) or ServerHello fields; `Err(at)` where the bytes ran out.
fn hello(h: &mut FieldNode, m: &[u8], off: usize, client: bool) -> Result<(), usize> {
    let r = |a: usize, b: usize| off + a..off + b;
    let ver = u16_at(m, 0).ok_or(0usize)?;
    h.push(
        format!("Version: {} (0x{ver:04x})", version_name(ver)),
        r(0, 2),
    );
    let random = m.get(2..34).ok_or(2usize)?;
    h.push(format!("Random: {}", hex(random)), r(2, 34));
    let sid_len = usize::from(*m.get(34).ok_or(34usize)?);
    h.push(format!("Session ID Length: {sid_len}"), r(34, 35));
    let sid = m.get(35..35 + sid_len).ok_or(35usize)?;
    if sid_len > 0 {
        h.push(format!("Session ID: {}", hex(sid)), r(35, 35 + sid_len));
    }
    let mut at = 35 + sid_len;
    if client {
        let cs_len = usize::from(u16_at(m, at).ok_or(at)?);
        let list = m.get(at + 2..at + 2 + cs_len).ok_or(at + 2)?;
        let mut cs = FieldNode::new(
            format!("Cipher Suites ({} suites)", cs_len / 2),
            r(at, at + 2 + cs_len),
        );
        cs.push(format!("Cipher Suites Length: {cs_len}"), r(at, at + 2));
        for (k, c) in list.chunks_exact(2).enumerate() {
            let id = u16::from_be_bytes([c[0], c[1]]);
            let s = at + 2 + 2 * k;
            cs.push(format!("Cipher Suite: {}", cipher_name(id)), r(s, s + 2));
        }
        h.children.push(cs);
        at += 2 + cs_len;
        let cm_len = usize::from(*m.get(at).ok_or(at)?);
        let cm = m.get(at + 1..at + 1 + cm_len).ok_or(at + 1)?;
        let mut n = FieldNode::new(
            format!("Compression Methods ({cm_len})"),
            r(at, at + 1 + cm_len),
        );
        for (k, c) in cm.iter().enumerate() {
            n.push(
                format!(
                    "Compression Method: {}",
                    if *c == 0 {
                        "null (0)".into()
                    } else {
                        c.to_string()
                    }
                ),
                r(at + 1 + k, at + 2 + k),
            );
        }
        h.children.push(n);
        at += 1 + cm_len;
    } else {
        let id = u16_at(m, at).ok_or(at)?;
        h.push(format!("Cipher Suite: {}", cipher_name(id)), r(at, at + 2));
        let c = *m.get(at + 2).ok_or(at + 2)?;
        h.push(format!("Compression Method: {c}"), r(at + 2, at + 3));
        at += 3;
    }
    if at >= m.len() {
        return Ok(());
    }
    let ext_len = usize::from(u16_at(m, at).ok_or(at)?);
    let ext_end = (at + 2 + ext_len).min(m.len());
    let mut exts = FieldNode::new(format!("Extensions ({ext_len} bytes)"), r(at, ext_end));
    exts.push(format!("Extensions Length: {ext_len}"), r(at, at + 2));
    let mut e = at + 2;
    while e < ext_end {
        let (Some(t), Some(len)) = (u16_at(m, e), u16_at(m, e + 2)) else {
            h.children.push(exts);
            return Err(e);
        };
        let len = usize::from(len);
        let Some(data) = m.get(e + 4..e + 4 + len) else {
            h.children.push(exts);
            return Err(e + 4);
        };
        exts.children
            .push(extension(t, data, off + e, off + e + 4, client));
        e += 4 + len;
    }
    h.children.push(exts);
    if at + 2 + ext_len > m.len() {
        return Err(m.len());
    }
    Ok(())
}

/// One extension: `start` is its type field's offset, `d` the offset of `data`.
fn extension(t: u16, data: &[u8], start: usize, d: usize, client: bool) -> FieldNode {
    let name = extension_name(t);
    let mut n = FieldNode::new(
        format!("Extension: {name} (len={})", data.len()),
        start..d + data.len(),
    );
    n.push(format!("Type: {name} ({t})"), start..start + 2);
    n.push(format!("Length: {}", data.len()), start + 2..d);
    match t {
        // server_name (RFC 6066 §3): list length, then (type, length, name) entries.
        0 if client => {
            let mut at = 2;
            while let (Some(&kind), Some(len)) = (data.get(at), u16_at(data, at + 1)) {
                let len = usize::from(len);
                let Some(host) = data.get(at + 3..at + 3 + len) else {
                    break;
                };
                let host = escape_bytes(host);
                if kind == 0 {
                    n.label = format!("Extension: server_name (SNI={host})");
                }
                n.push(format!("Server Name: {host}"), d + at + 3..d + at + 3 + len);
                at += 3 + len;
            }
        }
        // ALPN (RFC 7301 §3.1): list length, then length-prefixed protocol names.
        16 => {
            let mut at = 2;
            let mut names = Vec::new();
            while let Some(&len) = data.get(at) {
                let len = usize::from(len);
                let Some(p) = data.get(at + 1..at + 1 + len) else {
                    break;
                };
                let p = escape_bytes(p);
                n.push(format!("ALPN Protocol: {p}"), d + at..d + at + 1 + len);
                names.push(p);
                at += 1 + len;
            }
            n.label = format!(
                "Extension: application_layer_protocol_negotiation ({})",
                names.join(", ")
            );
        }
        // supported_versions (RFC 8446 §4.2.1): a list in a ClientHello, one version in
        // a ServerHello.
        43 => {
            let (list, at) = if client {
                (data.get(1..).unwrap_or_default(), 1)
            } else {
                (data, 0)
            };
            let mut names = Vec::new();
            for (k, v) in list.chunks_exact(2).enumerate() {
                let v = u16::from_be_bytes([v[0], v[1]]);
                let s = d + at + 2 * k;
                n.push(format!("Supported Version: {}", version_name(v)), s..s + 2);
                names.push(version_name(v));
            }
            n.label = format!("Extension: supported_versions ({})", names.join(", "));
        }
        // key_share (RFC 8446 §4.2.8): client shares (length-prefixed list of
        // group, key length, key), or the server's one share.
        51 => {
            let (mut at, end) = if client {
                (
                    2,
                    (2 + usize::from(u16_at(data, 0).unwrap_or(0))).min(data.len()),
                )
            } else {
                (0, data.len())
            };
            let mut groups = Vec::new();
            while let (Some(g), Some(len)) = (u16_at(data, at), u16_at(data, at + 2)) {
                if at >= end {
                    break;
                }
                let len = usize::from(len);
                let kend = (at + 4 + len).min(data.len());
                let mut s = FieldNode::new(
                    format!("Key Share Entry: Group {}, key length {len}", group_name(g)),
                    d + at..d + kend,
                );
                s.push(format!("Group: {}", group_name(g)), d + at..d + at + 2);
                s.push(
                    format!("Key Exchange Length: {len}"),
                    d + at + 2..d + at + 4,
                );
                if let Some(k) = data.get(at + 4..at + 4 + len) {
                    s.push(format!("Key Exchange: {}", hex(k)), d + at + 4..d + kend);
                }
                n.children.push(s);
                groups.push(group_name(g));
                at += 4 + len;
            }
            n.label = format!("Extension: key_share ({})", groups.join(", "));
        }
        _ => {}
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hexb(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn find<'a>(n: &'a FieldNode, label: &str) -> &'a FieldNode {
        fn go<'b>(n: &'b FieldNode, label: &str) -> Option<&'b FieldNode> {
            if n.label == label {
                return Some(n);
            }
            n.children.iter().find_map(|c| go(c, label))
        }
        go(n, label).unwrap_or_else(|| panic!("no node {label:?} in {n:#?}"))
    }

    /// ../shared/captures/zeek/tls-chrome-34-google.pcap frame 4, TCP payload: Chrome
    /// 34's ClientHello to google.de (TLS 1.2, SNI, ALPN spdy/3, spdy/3.1, http/1.1).
    const CHROME: &str = "16030100cc010000c80303ee181414cc5464d43b1046f68825acf46d92663289d2f905ecfa687e856affaa000028c02bc02f009ecc14cc13c00ac009c013c014c007c011003300320039009c002f0035000a00050004010000770000000e000c000009676f6f676c652e6465ff01000100000a00080006001700180019000b0002010000230000337400000010001b001906737064792f3308737064792f332e3108687474702f312e3175500000000500050100000000000d001200100401050102010403050302030402020200120000";

    /// OpenSSL 3's TLS 1.3 ClientHello (`openssl s_client -connect 127.0.0.1:PORT
    /// -servername example.org -alpn h2,http/1.1 -tls1_3`, read from the accepting
    /// socket): supported_versions and an x25519 key_share.
    const OPENSSL13: &str = "1603010102010000fe03037e83be51e64d3806d756e0d996980ab590a091dbd5f6e1da9e21ea1a91da75c7206d7a2e6d140ffe2c4872254f659493b407d6eb334fd263f641b7569f2e44e46b000813021303130100ff010000ad00000010000e00000b6578616d706c652e6f7267000b000403000102000a00160014001d0017001e0019001801000101010201030104002300000010000e000c02683208687474702f312e310016000000170000000d001e001c040305030603080708080809080a080b080408050806040105010601002b0003020304002d00020101003300260024001d0020a014c110fab2ed01379518a3101dc07d0ee7bd5555f0b4dbd6a15a5e7b2a2c3d";

    /// The same capture's frame 6, the ServerHello record only (the certificate
    /// record that follows it in the segment is cut off here).
    const CHROME_SH: &str = "1603030054020000500303535953166a9c5172db75ddff100bb4cc6a1af8145bb27be204b0de874e91919900c02f00002800000000ff01000100000b00040300010200230000755000000010000b000908737064792f332e31";

    /// tests/data/tls/tls12-gcm.pcapng frame 10: nginx's TLS 1.2 ServerHello record and
    /// the start of its Certificate record: the leaf certificate's subject, issuer, SAN
    /// and validity, with the bytes of its DER; the CA certificate, cut by the segment's
    /// end, counted.
    #[test]
    fn a_tls12_server_flight_shows_its_certificate() {
        let path =
            std::path::Path::new(crate::testutil::ROOT).join("tests/data/tls/tls12-gcm.pcapng");
        let f = crate::testutil::read_frames(&path);
        let (_, frame) = &f.frames[9];
        let pkt = crate::decode::decode(f.links[9], frame);
        let t = tls_tree(pkt.payload).unwrap();
        for m in ["Server Hello", "Certificate"] {
            find(&t, &format!("Handshake Protocol: {m}"));
        }
        let h = find(&t, "Handshake Protocol: Certificate");
        let c = h
            .children
            .iter()
            .flat_map(|c| &c.children)
            .find(|c| c.label.starts_with("Certificate 1: "))
            .unwrap_or_else(|| panic!("{h:#?}"));
        assert_eq!(
            c.label,
            "Certificate 1: O=wiretale lab, CN=secure.lab.glasscom.com"
        );
        find(h, "[Certificate 2: 855 bytes, continues in later segments]");
        let der = &pkt.payload[c.range.clone()];
        assert_eq!(
            der.get(3..5),
            Some(&[0x30, 0x82][..]),
            "a DER SEQUENCE after its length"
        );
        assert!(c.children.iter().any(|n| n.label.starts_with("Issuer: ")));
        assert!(
            c.children
                .iter()
                .any(|n| n.label.starts_with("Subject Alternative Names: ")
                    && n.label.contains("legacy.lab.glasscom.com")),
            "{c:#?}"
        );
        let v = c
            .children
            .iter()
            .find(|n| n.label.starts_with("Validity: "))
            .unwrap();
        assert!(v.label.starts_with("Validity: 2026-12-0"), "{}", v.label);
    }

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(1_796_501_762), "2026-12-05");
        assert_eq!(utc_date(-86_400), "1969-12-31");
    }

    #[test]
    fn chrome_client_hello_fields_and_ranges() {
        let p = hexb(CHROME);
        let t = tls_tree(&p).unwrap();
        let rec = find(&t, "TLS Record: TLS 1.0, Handshake, length 204");
        assert_eq!(rec.range, 0..209);
        let h = find(&t, "Handshake Protocol: Client Hello");
        assert_eq!(h.range, 5..209);
        assert_eq!(find(h, "Version: TLS 1.2 (0x0303)").range, 9..11);
        assert_eq!(
            find(
                h,
                "Random: ee181414cc5464d43b1046f68825acf46d92663289d2f905ecfa687e856affaa"
            )
            .range,
            11..43
        );
        assert_eq!(find(h, "Session ID Length: 0").range, 43..44);
        let cs = find(h, "Cipher Suites (20 suites)");
        assert_eq!(cs.range, 44..86);
        assert_eq!(
            find(
                cs,
                "Cipher Suite: TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (0xc02b)"
            )
            .range,
            46..48
        );
        let sni = find(h, "Extension: server_name (SNI=google.de)");
        assert_eq!(find(sni, "Server Name: google.de").range.len(), 9);
        assert_eq!(
            &p[find(sni, "Server Name: google.de").range.clone()],
            b"google.de"
        );
        let alpn = find(
            h,
            "Extension: application_layer_protocol_negotiation (spdy/3, spdy/3.1, http/1.1)",
        );
        assert_eq!(
            &p[find(alpn, "ALPN Protocol: http/1.1").range.clone()],
            b"\x08http/1.1"
        );
    }

    #[test]
    fn tls13_hello_shows_supported_versions_and_key_share() {
        let p = hexb(OPENSSL13);
        let t = tls_tree(&p).unwrap();
        let h = find(&t, "Handshake Protocol: Client Hello");
        find(h, "Extension: server_name (SNI=example.org)");
        find(
            h,
            "Extension: application_layer_protocol_negotiation (h2, http/1.1)",
        );
        let sv = find(h, "Extension: supported_versions (TLS 1.3)");
        let v = find(sv, "Supported Version: TLS 1.3").range.clone();
        assert_eq!(&p[v], &[3, 4]);
        let ks = find(h, "Extension: key_share (x25519 (0x001d))");
        let e = find(ks, "Key Share Entry: Group x25519 (0x001d), key length 32");
        assert_eq!(e.range.len(), 36);
        assert_eq!(e.range.end, p.len());
        find(h, "Cipher Suite: TLS_AES_256_GCM_SHA384 (0x1302)");
    }

    #[test]
    fn server_hello_and_cuts() {
        let p = hexb(CHROME_SH);
        let t = tls_tree(&p).unwrap();
        let h = find(&t, "Handshake Protocol: Server Hello");
        assert_eq!(
            find(
                h,
                "Cipher Suite: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (0xc02f)"
            )
            .range,
            44..46
        );
        find(
            h,
            "Extension: application_layer_protocol_negotiation (spdy/3.1)",
        );
        for n in 0..p.len() {
            if let Some(t) = tls_tree(&p[..n]) {
                t.walk(&mut |c, _| assert!(c.range.end <= n, "cut {n}: {c:?}"));
            }
        }
        // Not a record start: a segment in the middle of a record.
        assert!(tls_tree(&p[7..]).is_none());
    }
}

#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use crate::base::FieldNode;

    fn inside(n: &FieldNode, len: usize) -> bool {
        let mut ok = true;
        n.walk(&mut |c, _| ok &= c.range.start <= c.range.end && c.range.end <= len);
        ok
    }

    proptest! {
        /// Arbitrary bytes never panic any application tree builder, and every range
        /// stays inside the bytes given (the hex pane indexes the frame with them).
        #[test]
        fn app_trees_never_panic_and_stay_inside(
            body in proptest::collection::vec(any::<u8>(), 0..400),
            head in prop_oneof![
                Just(&b""[..]),
                Just(&b"\x16\x03\x01"[..]),
                Just(&b"\x16\x03\x03\x00\x40\x01\x00\x00\x3c\x03\x03"[..]),
                Just(&b"GET / HTTP/1.1\r\n"[..]),
                Just(&b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n"[..]),
            ],
        ) {
            let mut p = head.to_vec();
            p.extend(&body);
            if let Some(t) = super::tls_tree(&p) {
                prop_assert!(inside(&t, p.len()));
            }
            if let Some(t) = crate::proto::http::tree::http_tree(&p) {
                prop_assert!(inside(&t, p.len()));
            }
            let t = crate::proto::dns::tree::dns_tree(&p);
            prop_assert!(inside(&t, p.len()));
            for whole in [true, false] {
                if let Some(t) = crate::proto::dns::tree::dns_tcp_tree(&p, whole) {
                    prop_assert!(inside(&t, p.len()));
                }
            }
        }
    }
}
