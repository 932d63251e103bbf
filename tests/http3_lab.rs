//! proto::http3 on real browser and aioquic bytes: the decrypted QUIC stream data of the
//! HTTP/3 lab captures (`tests/data/http3/lab/NAME.streams`, reassembled from tshark's
//! decryption by `tests/data/http3/make-lab-streams.py`) against the server's own log of
//! each request (`tests/data/quic/lab/NAME.h3.tsv`): method, authority, path, status,
//! body sizes and content type of every request stream, with Chromium's QPACK dynamic
//! table in use.

use std::collections::BTreeMap;

use wiretale::base::{Direction, PacketId, Timestamp};
use wiretale::proto::http3::{H3Conn, H3Exchange};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// Exchanges per client port.
fn decode(name: &str) -> (BTreeMap<u16, Vec<H3Exchange>>, BTreeMap<u16, H3Conn>) {
    let text =
        std::fs::read_to_string(format!("{ROOT}/tests/data/http3/lab/{name}.streams")).unwrap();
    let mut conns: BTreeMap<u16, H3Conn> = BTreeMap::new();
    let mut port = 0u16;
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = l.split(' ').collect();
        let dir = |s: &str| {
            if s == "c" {
                Direction::ClientToServer
            } else {
                Direction::ServerToClient
            }
        };
        match f[0] {
            "C" => {
                port = f[1].parse().unwrap();
                conns.insert(port, H3Conn::new());
            }
            "D" => {
                let frame: u32 = f[5].parse().unwrap();
                let c = conns.get_mut(&port).unwrap();
                c.stream(
                    f[2].parse().unwrap(),
                    dir(f[1]),
                    PacketId(frame - 1),
                    Timestamp(i64::from(frame)),
                    &unhex(f[4]),
                    f[3] == "1",
                );
            }
            "R" => {
                let frame: u32 = f[4].parse().unwrap();
                conns.get_mut(&port).unwrap().reset(
                    f[2].parse().unwrap(),
                    dir(f[1]),
                    f[3].parse().unwrap(),
                    PacketId(frame - 1),
                    Timestamp(i64::from(frame)),
                );
            }
            x => panic!("bad line {x}"),
        }
    }
    let mut out = BTreeMap::new();
    for (p, c) in conns.iter_mut() {
        c.finish(Timestamp(1 << 40));
        let mut ex: Vec<H3Exchange> = c.drain().collect();
        ex.sort_by_key(|e| e.stream);
        out.insert(*p, ex);
    }
    (out, conns)
}

/// The truth lines as decoded exchanges would print them.
fn truth(name: &str) -> Vec<String> {
    std::fs::read_to_string(format!("{ROOT}/tests/data/quic/lab/{name}.h3.tsv"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn line(port: u16, e: &H3Exchange) -> String {
    format!(
        "198.18.2.10:{port}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
        e.stream,
        e.method.as_deref().unwrap_or("-"),
        e.authority.as_deref().unwrap_or("-"),
        e.path.as_deref().unwrap_or("-"),
        e.status.map_or("-".into(), |s| s.to_string()),
        e.request_body_len,
        e.response_body_len,
        e.content_type.as_deref().unwrap_or("-"),
    )
}

fn check(name: &str) -> Vec<String> {
    let (ex, conns) = decode(name);
    let got: Vec<String> = ex
        .iter()
        .flat_map(|(p, v)| v.iter().map(move |e| line(*p, e)))
        .collect();
    for (p, c) in &conns {
        assert_eq!(c.anomalies(), &[], "{name} port {p}");
        assert!(c.settings(Direction::ClientToServer).is_some());
        assert!(c.settings(Direction::ServerToClient).is_some());
    }
    for v in ex.values() {
        for e in v {
            assert!(!e.partial, "{name} stream {}: {:?}", e.stream, e.anomalies);
            assert!(!e.headers_unreliable);
            assert!(e.ttfb().unwrap() >= 0);
        }
    }
    got
}

#[test]
fn aioquic_requests_match_the_servers_log() {
    assert_eq!(check("aioquic-h3"), truth("aioquic-h3"));
}

#[test]
fn chromium_requests_match_the_servers_log() {
    assert_eq!(check("chromium-h3"), truth("chromium-h3"));
    // Chromium's QPACK encoder used the dynamic table: the requests after the first
    // refer to entries its encoder stream inserted.
    let (_, conns) = decode("chromium-h3");
    let c = conns.values().next().unwrap();
    let q = c.qpack(Direction::ClientToServer).unwrap();
    assert!(q.insert_count() >= 5, "{}", q.insert_count());
}
