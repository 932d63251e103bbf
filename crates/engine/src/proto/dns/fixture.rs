//! Test support: the real DNS payloads cut from the shared captures
//! (`tests/data/dns-messages.tsv`, made by `tests/data/extract-dns.sh`).

use std::net::IpAddr;

use super::transactions::Transport;
use crate::base::{Endpoint, Timestamp};

/// One fixture row: a UDP payload or a TCP segment payload.
#[derive(Clone, Debug)]
pub struct Row {
    pub capture: String,
    pub frame: u32,
    pub ts: Timestamp,
    pub transport: Transport,
    pub src: Endpoint,
    pub dst: Endpoint,
    pub bytes: Vec<u8>,
    /// tshark's Info column for the frame.
    pub info: String,
}

pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn epoch(s: &str) -> Timestamp {
    let (a, b) = s.split_once('.').unwrap_or((s, "0"));
    let frac = format!("{b:0<9}");
    Timestamp(a.parse::<i64>().unwrap() * 1_000_000_000 + frac[..9].parse::<i64>().unwrap())
}

pub fn rows() -> Vec<Row> {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/dns-messages.tsv"
    );
    let text = std::fs::read_to_string(p).expect("tests/data/dns-messages.tsv");
    let rows: Vec<Row> = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 10, "fixture row: {l}");
            let ep = |ip: &str, port: &str| {
                Endpoint::new(ip.parse::<IpAddr>().unwrap(), port.parse().unwrap())
            };
            Row {
                capture: f[0].to_string(),
                frame: f[1].parse().unwrap(),
                ts: epoch(f[2]),
                transport: if f[3] == "tcp" {
                    Transport::Tcp
                } else {
                    Transport::Udp
                },
                src: ep(f[4], f[5]),
                dst: ep(f[6], f[7]),
                bytes: hex(f[8]),
                info: f[9].to_string(),
            }
        })
        .collect();
    assert!(rows.len() > 300, "fixture has {} rows", rows.len());
    rows
}

/// Every complete DNS message of the fixture with the row (frame) that completed it.
/// TCP segments are split with a deliberately naive framer (independent of `tcp.rs`).
pub fn messages() -> Vec<(Row, Vec<u8>)> {
    let mut out = Vec::new();
    let mut bufs: std::collections::HashMap<(String, Endpoint, Endpoint), Vec<u8>> =
        Default::default();
    for r in rows() {
        match r.transport {
            Transport::Udp => {
                let b = r.bytes.clone();
                out.push((r, b));
            }
            Transport::Tcp => {
                let buf = bufs.entry((r.capture.clone(), r.src, r.dst)).or_default();
                buf.extend_from_slice(&r.bytes);
                while buf.len() >= 2 {
                    let n = u16::from_be_bytes([buf[0], buf[1]]) as usize;
                    if buf.len() < 2 + n {
                        break;
                    }
                    let m = buf[2..2 + n].to_vec();
                    buf.drain(..2 + n);
                    out.push((r.clone(), m));
                }
            }
        }
    }
    out
}
