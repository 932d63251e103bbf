//! RDATA of the record types wiretale understands; anything else is kept as raw bytes.
//!
//! Each parser reads exactly the RDLENGTH bytes it is given (names inside RDATA may
//! still point into the rest of the message, RFC 1035 §4.1.4) and fails with
//! [`DnsError::BadRdata`] if the layout does not fit, including leftover bytes.

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{Ipv4Addr, Ipv6Addr};

use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u32, be_u8};
use nom::Parser;

use super::message::EdnsOption;
use super::parse::{ipv4, ipv6, name, DnsError, PResult};

pub const TYPE_A: u16 = 1;
pub const TYPE_NS: u16 = 2;
pub const TYPE_CNAME: u16 = 5;
pub const TYPE_SOA: u16 = 6;
pub const TYPE_PTR: u16 = 12;
pub const TYPE_MX: u16 = 15;
pub const TYPE_TXT: u16 = 16;
pub const TYPE_AAAA: u16 = 28;
pub const TYPE_SRV: u16 = 33;
pub const TYPE_OPT: u16 = 41;
pub const TYPE_DS: u16 = 43;
pub const TYPE_RRSIG: u16 = 46;
pub const TYPE_NSEC: u16 = 47;
pub const TYPE_DNSKEY: u16 = 48;
pub const TYPE_NSEC3: u16 = 50;
pub const TYPE_SVCB: u16 = 64;
pub const TYPE_HTTPS: u16 = 65;
pub const TYPE_CAA: u16 = 257;

/// The empty rest of `i` at its end (what a parser that consumed everything returns, so
/// offsets computed from it stay inside the message).
fn end_of(i: &[u8]) -> &[u8] {
    i.get(i.len()..).unwrap_or_default()
}

/// One SvcParam of an SVCB/HTTPS record (RFC 9460 §7).
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum SvcParam {
    /// key 0: keys the client must understand (§8).
    Mandatory(Vec<u16>),
    /// key 1: ALPN protocol ids (§7.1.1), escaped for display.
    Alpn(Vec<String>),
    /// key 2 (§7.1.1).
    NoDefaultAlpn,
    /// key 3 (§7.2).
    Port(u16),
    /// key 4 (§7.3).
    Ipv4Hint(Vec<Ipv4Addr>),
    /// key 5: an ECHConfigList (RFC 9460 §14.3.1); only its presence and size matter here.
    Ech(usize),
    /// key 6 (§7.3).
    Ipv6Hint(Vec<Ipv6Addr>),
    Other {
        key: u16,
        value: Vec<u8>,
    },
}

/// Decoded RDATA.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum RData {
    /// RFC 1035 §3.4.1.
    A(Ipv4Addr),
    /// RFC 3596 §2.2.
    Aaaa(Ipv6Addr),
    /// RFC 1035 §3.3.11.
    Ns(String),
    /// RFC 1035 §3.3.1.
    Cname(String),
    /// RFC 1035 §3.3.12.
    Ptr(String),
    /// RFC 1035 §3.3.9.
    Mx { preference: u16, exchange: String },
    /// RFC 1035 §3.3.14: one or more character-strings, raw.
    Txt(Vec<Vec<u8>>),
    /// RFC 1035 §3.3.13.
    Soa {
        mname: String,
        rname: String,
        serial: u32,
        refresh: u32,
        retry: u32,
        expire: u32,
        minimum: u32,
    },
    /// RFC 2782.
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
    /// RFC 8659 §4.1.
    Caa {
        flags: u8,
        tag: String,
        value: Vec<u8>,
    },
    /// RFC 6891 §6.1.2 (the header fields live in [`super::Edns`]).
    Opt(Vec<EdnsOption>),
    /// RFC 4034 §5.1.
    Ds {
        key_tag: u16,
        algorithm: u8,
        digest_type: u8,
        digest: Vec<u8>,
    },
    /// RFC 4034 §2.1.
    Dnskey {
        flags: u16,
        protocol: u8,
        algorithm: u8,
        public_key: Vec<u8>,
    },
    /// RFC 4034 §3.1.
    Rrsig {
        type_covered: u16,
        algorithm: u8,
        labels: u8,
        original_ttl: u32,
        expiration: u32,
        inception: u32,
        key_tag: u16,
        signer: String,
        signature: Vec<u8>,
    },
    /// RFC 4034 §4.1.
    Nsec { next: String, types: Vec<u16> },
    /// RFC 5155 §3.2.
    Nsec3 {
        hash_algorithm: u8,
        flags: u8,
        iterations: u16,
        salt: Vec<u8>,
        next_hashed: Vec<u8>,
        types: Vec<u16>,
    },
    /// SVCB (type 64) and HTTPS (type 65), RFC 9460 §2.2: priority 0 is AliasMode.
    Svcb {
        priority: u16,
        target: String,
        params: Vec<SvcParam>,
    },
    /// NetBIOS NB (RFC 1002 §4.2.2, §4.2.13): the name's owners, each with its NB_FLAGS
    /// (G = group name, ONT = node type). Decoded by `proto::netbios`, never by [`parse`].
    Nb(Vec<NbAddress>),
    /// NetBIOS node status (NBSTAT, RFC 1002 §4.2.18): the node's name table and the
    /// unit id (usually its MAC address). Decoded by `proto::netbios`.
    NbStat {
        /// Names as `NAME<20>`, each with its NAME_FLAGS.
        names: Vec<(String, u16)>,
        unit_id: Option<[u8; 6]>,
    },
    /// A type wiretale does not decode, kept as raw bytes.
    Unknown(Vec<u8>),
    /// A known type whose RDATA did not fit its layout, kept raw.
    Malformed(Vec<u8>),
}

/// One NB_FLAGS + NB_ADDRESS entry (RFC 1002 §4.2.2).
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct NbAddress {
    pub flags: u16,
    pub addr: Ipv4Addr,
}

impl NbAddress {
    /// G: a group name (RFC 1002 §4.2.1.3).
    pub fn group(&self) -> bool {
        self.flags & 0x8000 != 0
    }
}

fn bad<T>() -> Result<T, nom::Err<super::parse::PErr>> {
    Err(nom::Err::Error(super::parse::PErr(DnsError::BadRdata)))
}

/// Decodes `rd` (exactly RDLENGTH bytes) as type `rtype`; `msg` is the whole message for
/// compressed names.
pub fn parse(msg: &[u8], rtype: u16, rd: &[u8]) -> Result<RData, DnsError> {
    let r: PResult<'_, RData> = match rtype {
        TYPE_A => ipv4(rd).map(|(i, a)| (i, RData::A(a))),
        TYPE_AAAA => ipv6(rd).map(|(i, a)| (i, RData::Aaaa(a))),
        TYPE_NS => name(msg, rd).map(|(i, n)| (i, RData::Ns(n))),
        TYPE_CNAME => name(msg, rd).map(|(i, n)| (i, RData::Cname(n))),
        TYPE_PTR => name(msg, rd).map(|(i, n)| (i, RData::Ptr(n))),
        TYPE_MX => mx(msg, rd),
        TYPE_TXT => txt(rd),
        TYPE_SOA => soa(msg, rd),
        TYPE_SRV => srv(msg, rd),
        TYPE_CAA => caa(rd),
        TYPE_OPT => opt(rd),
        TYPE_DS => ds(rd),
        TYPE_DNSKEY => dnskey(rd),
        TYPE_RRSIG => rrsig(msg, rd),
        TYPE_NSEC => nsec(msg, rd),
        TYPE_NSEC3 => nsec3(rd),
        TYPE_SVCB | TYPE_HTTPS => svcb(msg, rd),
        _ => Ok((end_of(rd), RData::Unknown(rd.to_vec()))),
    };
    match r {
        Ok(([], d)) => Ok(d),
        Ok(_) => Err(DnsError::BadRdata),
        // A loop inside RDATA is a property of the name, report it as such.
        Err(nom::Err::Failure(super::parse::PErr(e))) => Err(e),
        Err(_) => Err(DnsError::BadRdata),
    }
}

fn mx<'a>(msg: &'a [u8], i: &'a [u8]) -> PResult<'a, RData> {
    let (i, preference) = be_u16(i)?;
    let (i, exchange) = name(msg, i)?;
    Ok((
        i,
        RData::Mx {
            preference,
            exchange,
        },
    ))
}

/// `<character-string>`: a length byte and that many bytes (RFC 1035 §3.3).
fn char_string(i: &[u8]) -> PResult<'_, &[u8]> {
    let (i, n) = be_u8(i)?;
    take(n).parse_complete(i)
}

fn txt(mut i: &[u8]) -> PResult<'_, RData> {
    let mut v = Vec::new();
    if i.is_empty() {
        return bad();
    }
    while !i.is_empty() {
        let (rest, s) = char_string(i)?;
        v.push(s.to_vec());
        i = rest;
    }
    Ok((i, RData::Txt(v)))
}

fn soa<'a>(msg: &'a [u8], i: &'a [u8]) -> PResult<'a, RData> {
    let (i, mname) = name(msg, i)?;
    let (i, rname) = name(msg, i)?;
    let (i, (serial, refresh, retry, expire, minimum)) =
        (be_u32, be_u32, be_u32, be_u32, be_u32).parse_complete(i)?;
    Ok((
        i,
        RData::Soa {
            mname,
            rname,
            serial,
            refresh,
            retry,
            expire,
            minimum,
        },
    ))
}

fn srv<'a>(msg: &'a [u8], i: &'a [u8]) -> PResult<'a, RData> {
    let (i, (priority, weight, port)) = (be_u16, be_u16, be_u16).parse_complete(i)?;
    let (i, target) = name(msg, i)?;
    Ok((
        i,
        RData::Srv {
            priority,
            weight,
            port,
            target,
        },
    ))
}

fn caa(i: &[u8]) -> PResult<'_, RData> {
    let (i, flags) = be_u8(i)?;
    let (i, tag) = char_string(i)?;
    if tag.is_empty() {
        return bad();
    }
    Ok((
        end_of(i),
        RData::Caa {
            flags,
            tag: crate::base::escape::escape_bytes(tag),
            value: i.to_vec(),
        },
    ))
}

/// EDNS options (RFC 6891 §6.1.2), with client subnet (RFC 7871 §6), cookie
/// (RFC 7873 §4) and padding (RFC 7830 §3) decoded.
fn opt(mut i: &[u8]) -> PResult<'_, RData> {
    let mut v = Vec::new();
    while !i.is_empty() {
        let (rest, (code, len)) = (be_u16, be_u16).parse_complete(i)?;
        let (rest, data) = take(len).parse_complete(rest)?;
        i = rest;
        let o = match code {
            8 => {
                let (a, (family, source_prefix, scope_prefix)) =
                    (be_u16, be_u8, be_u8).parse_complete(data)?;
                if a.len() > 16 {
                    return bad();
                }
                EdnsOption::ClientSubnet {
                    family,
                    source_prefix,
                    scope_prefix,
                    address: a.to_vec(),
                }
            }
            10 => {
                if data.len() < 8 || data.len() > 40 {
                    return bad();
                }
                let (c, s) = data.split_at(8);
                EdnsOption::Cookie {
                    client: c.to_vec(),
                    server: s.to_vec(),
                }
            }
            12 => EdnsOption::Padding(len),
            _ => EdnsOption::Other {
                code,
                data: data.to_vec(),
            },
        };
        v.push(o);
    }
    Ok((i, RData::Opt(v)))
}

fn ds(i: &[u8]) -> PResult<'_, RData> {
    let (i, (key_tag, algorithm, digest_type)) = (be_u16, be_u8, be_u8).parse_complete(i)?;
    Ok((
        end_of(i),
        RData::Ds {
            key_tag,
            algorithm,
            digest_type,
            digest: i.to_vec(),
        },
    ))
}

fn dnskey(i: &[u8]) -> PResult<'_, RData> {
    let (i, (flags, protocol, algorithm)) = (be_u16, be_u8, be_u8).parse_complete(i)?;
    Ok((
        end_of(i),
        RData::Dnskey {
            flags,
            protocol,
            algorithm,
            public_key: i.to_vec(),
        },
    ))
}

fn rrsig<'a>(msg: &'a [u8], i: &'a [u8]) -> PResult<'a, RData> {
    let (i, (type_covered, algorithm, labels, original_ttl, expiration, inception, key_tag)) =
        (be_u16, be_u8, be_u8, be_u32, be_u32, be_u32, be_u16).parse_complete(i)?;
    let (i, signer) = name(msg, i)?;
    Ok((
        end_of(i),
        RData::Rrsig {
            type_covered,
            algorithm,
            labels,
            original_ttl,
            expiration,
            inception,
            key_tag,
            signer,
            signature: i.to_vec(),
        },
    ))
}

/// Type bit maps (RFC 4034 §4.1.2): window, length 1..=32, bitmap; windows ascending.
fn type_bitmaps(mut i: &[u8]) -> PResult<'_, Vec<u16>> {
    let mut types = Vec::new();
    let mut last_window: Option<u8> = None;
    while !i.is_empty() {
        let (rest, (window, len)) = (be_u8, be_u8).parse_complete(i)?;
        if len == 0 || len > 32 || last_window.is_some_and(|w| w >= window) {
            return bad();
        }
        last_window = Some(window);
        let (rest, bits) = take(len).parse_complete(rest)?;
        for (byte_i, &b) in bits.iter().enumerate() {
            for bit in 0..8 {
                if b & (0x80 >> bit) != 0 {
                    types.push(((window as u16) << 8) | (byte_i as u16 * 8 + bit));
                }
            }
        }
        i = rest;
    }
    Ok((i, types))
}

fn nsec<'a>(msg: &'a [u8], i: &'a [u8]) -> PResult<'a, RData> {
    let (i, next) = name(msg, i)?;
    let (i, types) = type_bitmaps(i)?;
    Ok((i, RData::Nsec { next, types }))
}

fn nsec3(i: &[u8]) -> PResult<'_, RData> {
    let (i, (hash_algorithm, flags, iterations)) = (be_u8, be_u8, be_u16).parse_complete(i)?;
    let (i, salt) = char_string(i)?;
    let (i, next_hashed) = char_string(i)?;
    let (i, types) = type_bitmaps(i)?;
    Ok((
        i,
        RData::Nsec3 {
            hash_algorithm,
            flags,
            iterations,
            salt: salt.to_vec(),
            next_hashed: next_hashed.to_vec(),
            types,
        },
    ))
}

/// SVCB/HTTPS (RFC 9460 §2.2): priority, uncompressed target, then SvcParams in strictly
/// increasing key order (§2.2).
fn svcb<'a>(msg: &'a [u8], i: &'a [u8]) -> PResult<'a, RData> {
    let (i, priority) = be_u16(i)?;
    let (mut i, target) = name(msg, i)?;
    let mut params = Vec::new();
    let mut last_key: Option<u16> = None;
    while !i.is_empty() {
        let (rest, (key, len)) = (be_u16, be_u16).parse_complete(i)?;
        let (rest, v) = take(len).parse_complete(rest)?;
        if last_key.is_some_and(|k| k >= key) {
            return bad();
        }
        last_key = Some(key);
        i = rest;
        let p = match key {
            0 => {
                if v.len() % 2 != 0 {
                    return bad();
                }
                SvcParam::Mandatory(
                    v.chunks_exact(2)
                        .filter_map(|c| c.first_chunk::<2>().map(|b| u16::from_be_bytes(*b)))
                        .collect(),
                )
            }
            1 => {
                let mut ids = Vec::new();
                let mut a = v;
                while !a.is_empty() {
                    let (r, s) = char_string(a)?;
                    ids.push(crate::base::escape::escape_bytes(s));
                    a = r;
                }
                SvcParam::Alpn(ids)
            }
            2 if v.is_empty() => SvcParam::NoDefaultAlpn,
            3 if v.len() == 2 => match v.first_chunk::<2>() {
                Some(b) => SvcParam::Port(u16::from_be_bytes(*b)),
                None => return bad(),
            },
            4 if !v.is_empty() && v.len() % 4 == 0 => SvcParam::Ipv4Hint(
                v.chunks_exact(4)
                    .filter_map(|c| c.first_chunk::<4>().map(|b| Ipv4Addr::from(*b)))
                    .collect(),
            ),
            5 => SvcParam::Ech(v.len()),
            6 if !v.is_empty() && v.len() % 16 == 0 => SvcParam::Ipv6Hint(
                v.chunks_exact(16)
                    .map(|c| {
                        let mut a = [0u8; 16];
                        a.copy_from_slice(c);
                        Ipv6Addr::from(a)
                    })
                    .collect(),
            ),
            2..=6 => return bad(),
            _ => SvcParam::Other {
                key,
                value: v.to_vec(),
            },
        };
        params.push(p);
    }
    Ok((
        i,
        RData::Svcb {
            priority,
            target,
            params,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::dns::parse::parse_message;
    use crate::proto::dns::text::data_text;

    /// A response with one answer of type `rtype` for "example.com" and the given RDATA.
    fn answer(rtype: u16, rd: &[u8]) -> Vec<u8> {
        let mut b = vec![0xab, 0xcd, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
        b.extend_from_slice(b"\x07example\x03com\x00");
        b.extend_from_slice(&rtype.to_be_bytes());
        b.extend_from_slice(&[0, 1]);
        b.extend_from_slice(&[0xc0, 12]);
        b.extend_from_slice(&rtype.to_be_bytes());
        b.extend_from_slice(&[0, 1, 0, 0, 0x0e, 0x10]);
        b.extend_from_slice(&(rd.len() as u16).to_be_bytes());
        b.extend_from_slice(rd);
        b
    }

    #[test]
    fn caa_hand_built() {
        // No CAA in the corpus: RFC 8659 §4.1 layout, 0 issue "letsencrypt.org".
        let mut rd = vec![0, 5];
        rd.extend_from_slice(b"issue");
        rd.extend_from_slice(b"letsencrypt.org");
        let m = parse_message(&answer(TYPE_CAA, &rd)).unwrap();
        let r = &m.answers[0];
        assert_eq!(r.ttl, 3600);
        assert_eq!(
            r.data,
            RData::Caa {
                flags: 0,
                tag: "issue".into(),
                value: b"letsencrypt.org".to_vec()
            }
        );
        assert_eq!(data_text(r), "0 issue \"letsencrypt.org\"");
        // An empty tag is malformed: kept raw, with an anomaly.
        let m = parse_message(&answer(TYPE_CAA, &[0, 0])).unwrap();
        assert_eq!(m.answers[0].data, RData::Malformed(vec![0, 0]));
        assert_eq!(m.anomalies[0].name(), "dns_bad_rdata");
    }

    #[test]
    fn svcb_hand_built_all_keys() {
        // No type-64 SVCB in the corpus (the HTTPS record of zeek/dns-https.pcap is tested
        // in parse.rs): RFC 9460 §2.2 wire form with mandatory, alpn, no-default-alpn,
        // port, ipv4hint, ech, ipv6hint and an unknown key, target "svc.example.com"
        // compressed to the question name.
        let mut rd = vec![0, 1, 3, b's', b'v', b'c', 0xc0, 12];
        let params: &[(u16, &[u8])] = &[
            (0, &[0, 1]),
            (1, b"\x02h2"),
            (2, b""),
            (3, &[0x01, 0xbb]),
            (4, &[192, 0, 2, 1]),
            (5, &[0xfe, 0x0d, 0, 0]),
            (
                6,
                &[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            ),
            (9999, b"xy"),
        ];
        for (k, v) in params {
            rd.extend_from_slice(&k.to_be_bytes());
            rd.extend_from_slice(&(v.len() as u16).to_be_bytes());
            rd.extend_from_slice(v);
        }
        let m = parse_message(&answer(TYPE_SVCB, &rd)).unwrap();
        let r = &m.answers[0];
        assert_eq!(
            r.data,
            RData::Svcb {
                priority: 1,
                target: "svc.example.com".into(),
                params: vec![
                    SvcParam::Mandatory(vec![1]),
                    SvcParam::Alpn(vec!["h2".into()]),
                    SvcParam::NoDefaultAlpn,
                    SvcParam::Port(443),
                    SvcParam::Ipv4Hint(vec![Ipv4Addr::new(192, 0, 2, 1)]),
                    SvcParam::Ech(4),
                    SvcParam::Ipv6Hint(vec!["2001:db8::1".parse().unwrap()]),
                    SvcParam::Other {
                        key: 9999,
                        value: b"xy".to_vec()
                    },
                ]
            }
        );
        assert_eq!(
            data_text(r),
            "1 svc.example.com mandatory=1 alpn=h2 no-default-alpn port=443 \
             ipv4hint=192.0.2.1 ech=(4 bytes) ipv6hint=2001:db8::1 key9999=7879"
        );
        // Keys out of order (RFC 9460 §2.2) are malformed.
        let mut bad = vec![0, 1, 0];
        bad.extend_from_slice(&[0, 3, 0, 2, 1, 187, 0, 1, 0, 3, 2, b'h', b'2']);
        let m = parse_message(&answer(TYPE_SVCB, &bad)).unwrap();
        assert!(matches!(m.answers[0].data, RData::Malformed(_)));
    }

    #[test]
    fn fixed_size_types_reject_wrong_lengths() {
        for (t, rd) in [
            (TYPE_A, &[1u8, 2, 3][..]),
            (TYPE_A, &[1, 2, 3, 4, 5][..]),
            (TYPE_AAAA, &[0; 15][..]),
            (TYPE_MX, &[0][..]),
            (TYPE_TXT, &[][..]),
            (TYPE_TXT, &[5, b'a'][..]),
            (TYPE_SOA, &[0, 0, 0, 0, 0][..]),
            (TYPE_DS, &[0, 1, 8][..]),
            (TYPE_NSEC, &[0, 0, 0][..]),
            (TYPE_NSEC, &[0, 0, 33][..]),
        ] {
            assert_eq!(
                parse(&[], t, rd),
                Err(DnsError::BadRdata),
                "type {t} {rd:?}"
            );
        }
        assert_eq!(
            parse(&[], 99, &[1, 2]),
            Ok(RData::Unknown(vec![1, 2])),
            "unknown types stay raw"
        );
    }

    #[test]
    fn type_bitmap_windows() {
        // RFC 4034 §4.3 example: A MX RRSIG NSEC TYPE1234.
        let mut rd = vec![0x04, b'h', b'o', b's', b't', 0];
        rd.extend_from_slice(&[0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03]);
        rd.extend_from_slice(&[0x04, 0x1b]);
        rd.extend_from_slice(&[0; 26]);
        rd.push(0x20);
        assert_eq!(
            parse(&rd, TYPE_NSEC, &rd),
            Ok(RData::Nsec {
                next: "host".into(),
                types: vec![1, 15, 46, 47, 1234]
            })
        );
    }
}
