//! The HTTPS lab (issue 15, item 5): nginx serving TLS 1.3 + HTTP/2 and a TLS 1.2-only
//! server with a CA made on the fly, and curl clients writing `SSLKEYLOGFILE`, captured by
//! wiretale's own live capture. Checks, without tshark, that the capture holds the TLS
//! handshakes the lab asked for (versions, suites, a HelloRetryRequest, resumptions) and
//! that the key log has the secrets of every one of those connections — what the
//! decryption tests and the bundled HTTPS sample rely on.
//!
//! Needs root (network namespaces); fails, never passes unrun, without it.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The SHA-256 of "HelloRetryRequest": a ServerHello with this random is an HRR
/// (RFC 8446 §4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

type FlowKey = ([u8; 4], u16, [u8; 4], u16);

/// The TCP payload of each direction of each connection, in sequence order (the lab loses
/// nothing; retransmitted or overlapping bytes are dropped by sequence number).
fn tcp_streams(pcap: &Path) -> BTreeMap<FlowKey, Vec<u8>> {
    let mut cap = pcap::Capture::from_file(pcap).expect("open the lab capture");
    let mut segs: BTreeMap<FlowKey, Vec<(u32, Vec<u8>)>> = BTreeMap::new();
    while let Ok(p) = cap.next_packet() {
        let Ok(s) = etherparse::SlicedPacket::from_ethernet(p.data) else {
            continue;
        };
        let (Some(etherparse::NetSlice::Ipv4(ip)), Some(etherparse::TransportSlice::Tcp(tcp))) =
            (s.net, s.transport)
        else {
            continue;
        };
        let key = (
            ip.header().source(),
            tcp.source_port(),
            ip.header().destination(),
            tcp.destination_port(),
        );
        let seq = tcp.sequence_number().wrapping_add(u32::from(tcp.syn()));
        if !tcp.payload().is_empty() {
            segs.entry(key)
                .or_default()
                .push((seq, tcp.payload().to_vec()));
        }
    }
    segs.into_iter()
        .map(|(k, mut v)| {
            // A lab connection carries far less than 2 GiB: sequence order is numeric
            // order relative to the first segment.
            let first = v[0].0;
            v.sort_by_key(|(seq, _)| seq.wrapping_sub(first));
            let mut out = Vec::new();
            let mut next = first;
            for (seq, data) in v {
                let skip = next.wrapping_sub(seq) as usize;
                if skip < data.len() && seq.wrapping_sub(first) <= next.wrapping_sub(first) {
                    out.extend_from_slice(&data[skip..]);
                    next = seq.wrapping_add(data.len() as u32);
                }
            }
            (k, out)
        })
        .collect()
}

/// The plaintext handshake messages at the start of one direction (RFC 8446 §5.1: records
/// of type 22, a message possibly spread over several records), up to the first record of
/// another type; ChangeCipherSpec (20) is skipped, as TLS 1.3's middlebox compatibility
/// mode sends one between the two ClientHellos of a HelloRetryRequest.
fn handshake_messages(stream: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut hs = Vec::new();
    let mut at = 0;
    while at + 5 <= stream.len() {
        let (ty, len) = (
            stream[at],
            u16::from_be_bytes([stream[at + 3], stream[at + 4]]) as usize,
        );
        let Some(body) = stream.get(at + 5..at + 5 + len) else {
            break;
        };
        match ty {
            22 => hs.extend_from_slice(body),
            20 => {}
            _ => break,
        }
        at += 5 + len;
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i + 4 <= hs.len() {
        let len = u32::from_be_bytes([0, hs[i + 1], hs[i + 2], hs[i + 3]]) as usize;
        let Some(body) = hs.get(i + 4..i + 4 + len) else {
            break;
        };
        out.push((hs[i], body.to_vec()));
        i += 4 + len;
    }
    out
}

#[derive(Debug, Default)]
struct ServerHello {
    random: Vec<u8>,
    cipher: u16,
    /// `supported_versions` selected (TLS 1.3), or None (≤ 1.2)
    version13: bool,
    extensions: BTreeSet<u16>,
}

/// ServerHello fields (RFC 8446 §4.1.3; the TLS 1.2 layout is the same up to extensions).
fn server_hello(body: &[u8]) -> Option<ServerHello> {
    let random = body.get(2..34)?.to_vec();
    let sid_len = *body.get(34)? as usize;
    let mut at = 35 + sid_len;
    let cipher = u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]);
    at += 3; // cipher suite, compression method
    let ext_len = u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]) as usize;
    let exts = body.get(at + 2..at + 2 + ext_len)?;
    let mut sh = ServerHello {
        random,
        cipher,
        ..Default::default()
    };
    let mut i = 0;
    while i + 4 <= exts.len() {
        let ty = u16::from_be_bytes([exts[i], exts[i + 1]]);
        let len = u16::from_be_bytes([exts[i + 2], exts[i + 3]]) as usize;
        let data = exts.get(i + 4..i + 4 + len)?;
        sh.extensions.insert(ty);
        if ty == 43 && data == [0x03, 0x04] {
            sh.version13 = true;
        }
        i += 4 + len;
    }
    Some(sh)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// One HTTPS connection of the capture: the client random of its (first) ClientHello and
/// the ServerHellos that answered it (two when the first was a HelloRetryRequest).
#[derive(Debug)]
struct Conn {
    client_random: String,
    hellos: Vec<ServerHello>,
}

fn https_conns(pcap: &Path) -> Vec<Conn> {
    let streams = tcp_streams(pcap);
    let mut conns = Vec::new();
    for ((src, sport, dst, dport), client) in &streams {
        if *dport != 443 {
            continue;
        }
        let Some((_, ch)) = handshake_messages(client)
            .into_iter()
            .find(|(t, _)| *t == 1)
        else {
            continue;
        };
        let server = streams
            .get(&(*dst, *dport, *src, *sport))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let hellos = handshake_messages(server)
            .into_iter()
            .filter(|(t, _)| *t == 2)
            .filter_map(|(_, b)| server_hello(&b))
            .collect();
        conns.push(Conn {
            client_random: hex(&ch[2..34]),
            hellos,
        });
    }
    conns
}

/// label → client randoms, from an NSS key log.
fn key_log(path: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in std::fs::read_to_string(path).expect("keys.log").lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() == 3 {
            out.entry(f[0].to_string())
                .or_default()
                .insert(f[1].to_ascii_lowercase());
        }
    }
    out
}

#[test]
fn the_https_lab_captures_tls_handshakes_whose_keys_are_logged() {
    let dir = common::run_lab("https", 180, "wth");
    let log = std::fs::read_to_string(dir.path().join("lab.log")).unwrap_or_default();
    let steps = std::fs::read_to_string(dir.path().join("steps.tsv")).unwrap();
    let ran: Vec<&str> = steps.lines().skip(1).collect();
    assert_eq!(ran.len(), 11, "every curl HTTPS step ran: {steps}");
    for s in &ran {
        assert!(s.ends_with("rc=0"), "a step failed: {s}\nlog:\n{log}");
    }

    let conns = https_conns(&dir.path().join("lab.pcap"));
    let keys = key_log(&dir.path().join("keys.log"));
    let has = |label: &str, random: &str| keys.get(label).is_some_and(|s| s.contains(random));

    // 8 TLS 1.3 connections (h2, HTTP/1.1, three suites, two for the resumption, the HRR)
    // and 5 TLS 1.2 ones (GCM, ChaCha20, CBC, two for the resumption).
    let (tls13, tls12): (Vec<&Conn>, Vec<&Conn>) = conns
        .iter()
        .filter(|c| !c.hellos.is_empty())
        .partition(|c| c.hellos.last().unwrap().version13);
    assert_eq!(conns.len(), 13, "{conns:#?}");
    assert_eq!((tls13.len(), tls12.len()), (8, 5), "{conns:#?}");
    for c in &tls13 {
        for label in [
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
            "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            "CLIENT_TRAFFIC_SECRET_0",
            "SERVER_TRAFFIC_SECRET_0",
        ] {
            assert!(
                has(label, &c.client_random),
                "no {label} for TLS 1.3 connection {}",
                c.client_random
            );
        }
    }
    for c in &tls12 {
        assert!(
            has("CLIENT_RANDOM", &c.client_random),
            "no CLIENT_RANDOM for TLS 1.2 connection {}",
            c.client_random
        );
    }
    // The key log holds nothing but these connections.
    let randoms: BTreeSet<&str> = conns.iter().map(|c| c.client_random.as_str()).collect();
    for (label, set) in &keys {
        for r in set {
            assert!(
                randoms.contains(r.as_str()),
                "{label} {r} is not a connection of the capture"
            );
        }
    }

    // The suites the steps asked for were negotiated.
    let suites: BTreeSet<u16> = conns
        .iter()
        .filter_map(|c| c.hellos.last())
        .map(|h| h.cipher)
        .collect();
    for (suite, name) in [
        (0x1301, "TLS_AES_128_GCM_SHA256"),
        (0x1302, "TLS_AES_256_GCM_SHA384"),
        (0x1303, "TLS_CHACHA20_POLY1305_SHA256"),
        (0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
        (0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
        (0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"),
    ] {
        assert!(suites.contains(&suite), "{name} negotiated: {suites:x?}");
    }
    // One HelloRetryRequest: two ServerHellos, the first with the HRR random.
    let hrr: Vec<&Conn> = conns
        .iter()
        .filter(|c| c.hellos.first().is_some_and(|h| h.random == HRR_RANDOM))
        .collect();
    assert_eq!(hrr.len(), 1, "{conns:#?}");
    assert_eq!(hrr[0].hellos.len(), 2);
    assert!(hrr[0].hellos[1].version13);
    // A TLS 1.3 resumption: the server accepted a PSK (pre_shared_key, 41, in its hello).
    assert_eq!(
        tls13
            .iter()
            .filter(|c| c.hellos.last().unwrap().extensions.contains(&41))
            .count(),
        1,
        "{tls13:#?}"
    );
}
