//! The QUIC layer (`proto::quic`) on the HTTP/3 lab captures (`tests/data/quic/lab/`,
//! made by `tests/lab/quic-captures.sh`: aioquic's client and server, the same with a
//! Retry, headless Chromium), checked against tshark 4.0.17's view (`truth/*.quic.tsv`,
//! made by `make-truth.sh`), the clients' own key logs and the server's request log
//! (`NAME.h3.tsv`). Without keys: every packet's destination connection id, and the
//! ClientHello read from the decrypted Initials (SNI, ALPN, and a client random that the
//! key log names, so after a Retry it is the second ClientHello's). With the key log:
//! every Handshake and 1-RTT packet opens (aioquic-retry too, which tshark 4.0 cannot
//! decrypt), the frame types of every datagram equal tshark's, the server's transport
//! parameters and ALPN are read, and the request streams the server logged reassemble
//! with FIN both ways.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use wiretale::base::{Direction, PacketId, Timestamp};
use wiretale::capture;
use wiretale::proto::quic::conn::{PacketSeen, QuicConnState, QuicEvent, Space};
use wiretale::proto::tls::keylog::KeyLog;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/quic/lab")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// What reading a capture gave: per client port the connection and its events, and per
/// frame number (1-based, as tshark's) the packets of that datagram.
struct Read {
    conns: BTreeMap<u16, QuicConnState>,
    events: BTreeMap<u16, Vec<QuicEvent>>,
    frames: BTreeMap<u64, Vec<PacketSeen>>,
}

/// One QUIC connection per client port, fed every UDP/443 datagram in file order, with
/// the client's key log or without.
fn read(name: &str, with_keys: bool) -> Read {
    let keys = with_keys.then(|| KeyLog::read(&dir().join(format!("{name}.keys"))).unwrap());
    let mut src = capture::open(&dir().join(format!("{name}.pcapng"))).expect("open");
    let mut r = Read {
        conns: BTreeMap::new(),
        events: BTreeMap::new(),
        frames: BTreeMap::new(),
    };
    let mut n = 0u64;
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
        let c = r.conns.entry(client).or_default();
        let seen = c.datagram(
            d,
            PacketId((n - 1) as u32),
            ts,
            udp.payload(),
            keys.as_ref(),
        );
        r.events.entry(client).or_default().extend(c.drain_events());
        r.frames.insert(n, seen);
    }
    for (port, c) in r.conns.iter_mut() {
        c.finish();
        r.events.entry(*port).or_default().extend(c.drain_events());
    }
    r
}

/// The destination connection ids of each frame's packets.
fn dcids(r: &Read) -> BTreeMap<u64, Vec<String>> {
    r.frames
        .iter()
        .map(|(n, ps)| {
            // A zero-length connection id (Chromium's own) is an empty field to tshark.
            let ids = ps
                .iter()
                .filter(|p| !p.dcid.is_empty())
                .map(|p| hex(&p.dcid));
            (*n, ids.collect())
        })
        .collect()
}

/// A column of tshark's truth per frame (comma-separated values split).
fn truth_column(name: &str, column: &str) -> BTreeMap<u64, Vec<String>> {
    let text = std::fs::read_to_string(dir().join(format!("truth/{name}.quic.tsv"))).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = head.iter().position(|h| *h == column).unwrap();
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
        let r = read(name, false);
        let conns = &r.conns;
        let want = truth_column(name, "quic.dcid");
        assert_eq!(
            dcids(&r),
            want,
            "{name}: destination connection ids per frame"
        );
        let keys = std::fs::read_to_string(dir().join(format!("{name}.keys"))).unwrap();
        assert!(!conns.is_empty());
        for (port, c) in conns {
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
            assert!(!r.decrypted && !r.keys_missing && r.handshake_done.is_none());
        }
    }
}

#[test]
fn with_the_key_log_every_packet_opens_and_the_frames_match_tshark() {
    for name in ["aioquic-h3", "aioquic-retry", "chromium-h3"] {
        let r = read(name, true);
        let frame_types = truth_column(name, "quic.frame_type");
        let mut opened = 0;
        for (n, ps) in &r.frames {
            for p in ps {
                if p.space != Space::None {
                    assert!(p.decrypted, "{name} frame {n}: {} not opened", p.kind);
                    assert!(p.pn.is_some());
                    opened += 1;
                }
            }
            // tshark 4.0 cannot decrypt aioquic-retry past its Initials (README).
            if name == "aioquic-retry" {
                continue;
            }
            let ours: Vec<String> = ps
                .iter()
                .flat_map(|p| p.frames.iter().map(|f| f.ty.to_string()))
                .collect();
            assert_eq!(
                Some(&ours),
                frame_types.get(n),
                "{name} frame {n}: frame types"
            );
        }
        assert!(opened > 10, "{name}: {opened}");
        for (port, c) in &r.conns {
            let rep = c.report();
            assert!(
                rep.anomalies.is_empty(),
                "{name} :{port}: {:?}",
                rep.anomalies
            );
            assert!(rep.decrypted && !rep.keys_missing, "{name} :{port}");
            assert_eq!(rep.cipher, Some(0x1302));
            assert_eq!(rep.alpn.as_deref(), Some("h3"), "{name} :{port}");
            assert!(rep.handshake_done.is_some(), "{name} :{port}");
            assert!(rep.first_handshake.iter().all(Option::is_some));
            let [client, server] = &rep.transport_params;
            let (client, server) = (client.as_ref().unwrap(), server.as_ref().unwrap());
            assert_eq!(client.error, None);
            assert_eq!(server.error, None);
            // The server echoes the client's first DCID (RFC 9000 §7.3), and after a
            // Retry names the Retry's SCID.
            assert_eq!(
                server.original_destination_connection_id, rep.original_dcid,
                "{name} :{port}"
            );
            assert_eq!(server.retry_source_connection_id.is_some(), rep.retry);
            assert_eq!(rep.retry_integrity_ok, rep.retry.then_some(true));
            assert!(client.initial_source_connection_id.is_some());
            assert!(rep.counts.one_rtt.iter().all(|&n| n > 0));
            assert!(
                !rep.client_cids.is_empty() && !rep.server_cids.is_empty() || name == "chromium-h3"
            );
        }
    }
}

/// The server's own log: per client port, (stream id, request bytes, response bytes).
fn h3_log(name: &str) -> BTreeMap<u16, Vec<(u64, u64, u64)>> {
    let text = std::fs::read_to_string(dir().join(format!("{name}.h3.tsv"))).unwrap();
    let mut out: BTreeMap<u16, Vec<(u64, u64, u64)>> = BTreeMap::new();
    for l in text.lines() {
        let c: Vec<&str> = l.split('\t').collect();
        let port = c[0].rsplit(':').next().unwrap().parse().unwrap();
        out.entry(port).or_default().push((
            c[1].parse().unwrap(),
            c[6].parse().unwrap(),
            c[7].parse().unwrap(),
        ));
    }
    out
}

#[test]
fn the_request_streams_reassemble_with_fin_both_ways() {
    for name in ["aioquic-h3", "aioquic-retry", "chromium-h3"] {
        let r = read(name, true);
        let log = h3_log(name);
        assert_eq!(
            r.conns.keys().copied().collect::<BTreeSet<_>>(),
            log.keys().copied().collect(),
            "{name}: connections"
        );
        for (port, requests) in &log {
            // Per (stream, direction): bytes in order, contiguous offsets, FIN seen.
            let mut streams: BTreeMap<(u64, Direction), (u64, bool)> = BTreeMap::new();
            for e in &r.events[port] {
                match e {
                    QuicEvent::Stream {
                        id,
                        dir,
                        offset,
                        data,
                        fin,
                        ..
                    } => {
                        let s = streams.entry((*id, *dir)).or_default();
                        assert_eq!(*offset, s.0, "{name} :{port} stream {id} in order");
                        assert!(!s.1, "{name} :{port} stream {id}: bytes after FIN");
                        s.0 += data.len() as u64;
                        s.1 = *fin;
                    }
                    QuicEvent::StreamGap { id, .. } => panic!("{name} :{port}: gap in {id}"),
                    _ => {}
                }
            }
            // Client-initiated bidirectional streams (RFC 9000 §2.1: low bits 00) are
            // exactly the requests the server logged.
            let ours: BTreeSet<u64> = streams
                .keys()
                .map(|k| k.0)
                .filter(|id| id % 4 == 0)
                .collect();
            let logged: BTreeSet<u64> = requests.iter().map(|q| q.0).collect();
            assert_eq!(ours, logged, "{name} :{port}: request streams");
            for &(id, req, resp) in requests {
                let up = streams[&(id, Direction::ClientToServer)];
                let down = streams[&(id, Direction::ServerToClient)];
                assert!(up.1 && down.1, "{name} :{port} stream {id}: FIN both ways");
                // HTTP/3 frames (HEADERS, DATA) wrap the bodies: more bytes, not fewer.
                assert!(
                    up.0 > req && down.0 > resp,
                    "{name} :{port} stream {id}: {up:?} {down:?}"
                );
                assert!(
                    down.0 < resp + 400,
                    "{name} :{port} stream {id}: {down:?} vs {resp}"
                );
            }
        }
    }
}

#[test]
fn info_and_field_tree_of_lab_datagrams() {
    use wiretale::proto::quic::{info, tree};
    let plain = read("aioquic-h3", false);
    let keyed = read("aioquic-h3", true);
    assert_eq!(
        info(&plain.frames[&3]),
        "Initial, DCID=00df041f04dd0b68, SCID=b31b91a78877fb29, PKN: 0, CRYPTO"
    );
    assert_eq!(
        info(&plain.frames[&12]),
        "Protected Payload, DCID=1bb914c86f963442"
    );
    assert_eq!(
        info(&keyed.frames[&12]),
        "Protected Payload (KP0), DCID=1bb914c86f963442, PKN: 6, STREAM(0)"
    );
    assert_eq!(
        info(&keyed.frames[&4]),
        "Initial, DCID=b31b91a78877fb29, SCID=1bb914c86f963442, PKN: 0, ACK, CRYPTO, \
         Handshake, DCID=b31b91a78877fb29, SCID=1bb914c86f963442, PKN: 1, CRYPTO"
    );
    // Frame 4: two coalesced packets, two nodes; ranges inside the datagram after a
    // 42-byte Ethernet + IPv4 + UDP header.
    let t = tree(&keyed.frames[&4], 42);
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].range.start, 42);
    assert_eq!(t[1].range.start, t[0].range.end);
    let labels: Vec<&str> = t[1].children.iter().map(|n| n.label.as_str()).collect();
    assert!(labels.contains(&"Packet Type: Handshake"), "{labels:?}");
    assert!(labels.contains(&"Packet Number: 1"), "{labels:?}");
    let frames = t[1].children.last().unwrap();
    assert_eq!(frames.label, "Frames: 1");
    assert_eq!(
        frames.children[0].label,
        "CRYPTO (0x06): offset 0, length 976"
    );
    let t = tree(&plain.frames[&12], 0);
    assert_eq!(
        t[0].children.last().unwrap().label,
        "Protected Payload (not decrypted)"
    );
}
