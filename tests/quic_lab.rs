//! The QUIC packet layer (`proto::quic`) on the HTTP/3 lab captures
//! (`tests/data/quic/lab/`, made by `tests/lab/quic-captures.sh`: aioquic's client and
//! server, the same with a Retry, headless Chromium), checked against tshark 4.0.17's view
//! (`truth/*.quic.tsv`, made by `make-truth.sh`) and the clients' own key logs: every
//! packet's destination connection id, and the ClientHello read from the decrypted
//! Initials (SNI, ALPN, and a client random that the key log names, so after a Retry it
//! is the second ClientHello's).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use wiretale::base::{Direction, PacketId, Timestamp};
use wiretale::capture;
use wiretale::proto::quic::conn::QuicConnState;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/quic/lab")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// One QUIC connection per client port, fed every UDP/443 datagram in file order; and
/// the destination connection ids of each frame's packets.
fn read(name: &str) -> (BTreeMap<u16, QuicConnState>, BTreeMap<u64, Vec<String>>) {
    let mut src = capture::open(&dir().join(format!("{name}.pcapng"))).expect("open");
    let mut conns: BTreeMap<u16, QuicConnState> = BTreeMap::new();
    let mut n = 0u64;
    let mut frames: Vec<(u64, u16)> = Vec::new();
    while let Ok(Some(f)) = src.next_frame() {
        n += 1;
        let Ok(s) = etherparse::SlicedPacket::from_ethernet(f.data) else {
            continue;
        };
        let Some(etherparse::TransportSlice::Udp(udp)) = s.transport else {
            continue;
        };
        let (sp, dp) = (udp.source_port(), udp.destination_port());
        let (client, d) = match (sp, dp) {
            (_, 443) => (sp, Direction::ClientToServer),
            (443, _) => (dp, Direction::ServerToClient),
            _ => continue,
        };
        let ts = Timestamp(f.meta.ts.0);
        conns
            .entry(client)
            .or_default()
            .datagram(d, PacketId((n - 1) as u32), ts, udp.payload());
        frames.push((n, client));
    }
    let mut dcids: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for c in conns.values() {
        for p in &c.report().packets {
            let ids = dcids.entry(u64::from(p.pkt.0) + 1).or_default();
            // A zero-length connection id (Chromium's own) is an empty field to tshark.
            if !p.dcid.is_empty() {
                ids.push(hex(&p.dcid));
            }
        }
    }
    (conns, dcids)
}

/// tshark's `quic.dcid` per frame (comma-separated for coalesced packets).
fn truth_dcids(name: &str) -> BTreeMap<u64, Vec<String>> {
    let text = std::fs::read_to_string(dir().join(format!("truth/{name}.quic.tsv"))).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = head.iter().position(|h| *h == "quic.dcid").unwrap();
    lines
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            let frame = c[0].parse().unwrap();
            let ids = c[col].split(',').filter(|s| !s.is_empty());
            (frame, ids.map(str::to_string).collect())
        })
        .collect()
}

#[test]
fn every_packets_connection_id_and_the_client_hello_match_tshark_and_the_key_log() {
    for name in ["aioquic-h3", "aioquic-retry", "chromium-h3"] {
        let (conns, ours) = read(name);
        let want = truth_dcids(name);
        assert_eq!(ours, want, "{name}: destination connection ids per frame");
        let keys = std::fs::read_to_string(dir().join(format!("{name}.keys"))).unwrap();
        assert!(!conns.is_empty());
        for (port, c) in &conns {
            let r = c.report();
            assert!(r.anomalies.is_empty(), "{name} :{port}: {:?}", r.anomalies);
            assert_eq!(r.version, Some(1), "{name} :{port}");
            let ch = r.client_hello.as_ref().expect("ClientHello read");
            assert_eq!(ch.sni.as_deref(), Some("quic.lab.glasscom.com"));
            assert!(ch.alpn.iter().any(|a| a == "h3"), "{:?}", ch.alpn);
            let random = hex(&ch.random);
            assert!(
                keys.lines()
                    .any(|l| l.starts_with("CLIENT_TRAFFIC_SECRET_0 ") && l.contains(&random)),
                "{name} :{port}: the key log names the ClientHello's random"
            );
            let sh = r.server_hello.as_ref().expect("ServerHello read");
            assert_eq!((sh.version, sh.cipher), (0x0304, 0x1302), "{name}");
            assert_eq!(r.retry, name == "aioquic-retry");
            assert!(r.first_client_initial.is_some() && r.first_server_initial.is_some());
            assert!(r.first_short.iter().all(Option::is_some), "1-RTT both ways");
        }
    }
}
