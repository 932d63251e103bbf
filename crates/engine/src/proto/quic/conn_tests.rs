use super::*;
use crate::proto::quic::header::{V1, V2};
use crate::proto::quic::initial::{key_material_with, Cipher, InitialKeys, PacketKey};
use crate::proto::quic::unhex;
use crate::proto::tls::keylog::KeyLog;
use crate::proto::tls::names::Hash;

const DCID: &str = "8394c8f03e515708";
/// The ClientHello of RFC 9001 Appendix A.2 (after its CRYPTO frame header).
const CLIENT_HELLO: &str = "010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868\
    04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578\
    616d706c652e636f6dff01000100000a00080006001d00170018001000070005\
    04616c706e000500050100000000003300260024001d00209370b2c9caa47fba\
    baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400\
    0d0010000e0403050306030203080408050806002d00020101001c0002400100\
    3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000\
    75300901100f088394c8f03e51570806048000ffff";

fn t(n: i64) -> Timestamp {
    Timestamp(n)
}

fn crypto(offset: usize, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x06, 0x80, 0, 0, 0, 0x40, 0];
    f[1..5].copy_from_slice(&(0x8000_0000u32 | offset as u32).to_be_bytes());
    f[5..7].copy_from_slice(&(0x4000u16 | data.len() as u16).to_be_bytes());
    f.extend(data);
    f
}

/// A client Initial of `version` to `dcid`, packet number `pn`, padded to 1200 bytes.
fn client_initial(
    keys: &InitialKeys,
    version: u32,
    dcid: &[u8],
    pn: u32,
    frames: &[u8],
) -> Vec<u8> {
    let first = if version == V2 { 0xd3 } else { 0xc3 };
    let mut h = vec![first];
    h.extend(version.to_be_bytes());
    h.push(dcid.len() as u8);
    h.extend(dcid);
    h.extend([4, 0xc1, 0xc2, 0xc3, 0xc4, 0]); // SCID, no token
    let len = 1200 - h.len() - 2;
    h.extend((0x4000u16 | len as u16).to_be_bytes());
    h.extend(pn.to_be_bytes());
    let mut payload = frames.to_vec();
    payload.resize(len - 4 - 16, 0);
    keys.client.seal(&h, u64::from(pn), &payload).unwrap()
}

#[test]
fn rfc9001_client_and_server_initials_give_both_hellos() {
    let mut s = QuicConnState::new();
    let mut seen: Vec<PacketSeen> = Vec::new();
    let c = unhex(include_str!("testdata/v1_client_initial.hex"));
    let sv = unhex(include_str!("testdata/v1_server_initial.hex"));
    seen.extend(s.datagram(Direction::ClientToServer, PacketId(1), t(10), &c, None));
    seen.extend(s.datagram(Direction::ServerToClient, PacketId(2), t(20), &sv, None));
    let r = s.report();
    assert_eq!(r.anomalies, []);
    assert_eq!(r.version, Some(V1));
    assert_eq!(r.original_dcid, Some(unhex(DCID)));
    let ch = r.client_hello.as_ref().unwrap();
    assert_eq!(ch.sni.as_deref(), Some("example.com"));
    assert_eq!(ch.alpn, ["alpn"]);
    assert_eq!(ch.supported_versions, [0x0304]);
    assert_eq!(ch.key_share_groups, [0x001d]);
    let tp = r.client_transport_params.as_ref().unwrap();
    assert_eq!(tp.len(), 0x32);
    assert_eq!(tp[..2], [0x04, 0x08]); // initial_max_data, 8 bytes
    let sh = r.server_hello.as_ref().unwrap();
    assert_eq!(
        (sh.version, sh.cipher, sh.key_share_group),
        (0x0304, 0x1301, Some(0x001d))
    );
    assert_eq!(r.first_client_initial, Some((PacketId(1), t(10))));
    assert_eq!(r.first_server_initial, Some((PacketId(2), t(20))));
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].pn, Some(2));
    assert_eq!(seen[1].pn, Some(1));
    assert_eq!(seen[1].scid, Some(unhex("f067a5502a4262b5")));
    assert!(!r.retry && r.connection_close.is_none());
}

#[test]
fn a_client_hello_split_over_initials_with_reordered_crypto_frames() {
    // As Chromium does: the ClientHello in pieces, later piece first, between PING and
    // PADDING, over two datagrams; the second Initial goes to a new DCID (the server's
    // SCID) but is protected with the first DCID's keys.
    for version in [V1, V2] {
        let ch = unhex(CLIENT_HELLO);
        let dcid = unhex(DCID);
        let keys = InitialKeys::new(version, &dcid).unwrap();
        let mut f1 = vec![0x01];
        f1.extend(crypto(150, &ch[150..]));
        f1.extend([0, 0, 0, 0x01]);
        f1.extend(crypto(0, &ch[..60]));
        let mut f2 = vec![0x00, 0x01];
        f2.extend(crypto(100, &ch[100..160])); // overlaps the first piece
        f2.extend(crypto(40, &ch[40..100]));
        let p1 = client_initial(&keys, version, &dcid, 0, &f1);
        let p2 = client_initial(&keys, version, &[9; 8], 1, &f2);
        let mut s = QuicConnState::new();
        let mut seen: Vec<PacketSeen> = Vec::new();
        seen.extend(s.datagram(Direction::ClientToServer, PacketId(1), t(1), &p1, None));
        assert!(s.report().client_hello.is_none());
        seen.extend(s.datagram(Direction::ClientToServer, PacketId(2), t(2), &p2, None));
        let r = s.report();
        assert_eq!(r.anomalies, [], "{version:x}");
        assert_eq!(r.version, Some(version));
        assert_eq!(r.original_dcid, Some(dcid.clone()));
        assert_eq!(
            r.client_hello.as_ref().unwrap().sni.as_deref(),
            Some("example.com")
        );
        assert_eq!(seen[1].dcid, [9; 8]);
        assert_eq!(seen[1].pn, Some(1));
    }
}

#[test]
fn retry_rekeys_and_close_and_bad_packets_are_reported() {
    // RFC 9001 Appendix A.4's Retry (to the client's empty CID) moves the keys to its
    // SCID f067a5502a4262b5.
    let retry = unhex("ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f0f2496ba");
    let mut s = QuicConnState::new();
    let mut seen: Vec<PacketSeen> = Vec::new();
    seen.extend(s.datagram(
        Direction::ClientToServer,
        PacketId(1),
        t(1),
        &unhex(include_str!("testdata/v1_client_initial.hex")),
        None,
    ));
    seen.extend(s.datagram(Direction::ServerToClient, PacketId(2), t(2), &retry, None));
    let new = unhex("f067a5502a4262b5");
    let keys = InitialKeys::new(V1, &new).unwrap();
    // CONNECTION_CLOSE (transport, PROTOCOL_VIOLATION 0x0a, frame type 6, "no") and then
    // an unknown frame type.
    let p = client_initial(&keys, V1, &new, 3, &unhex("1c0a06026e6f 21"));
    seen.extend(s.datagram(Direction::ClientToServer, PacketId(3), t(3), &p, None));
    let mut broken = p.clone();
    broken[500] ^= 0xff;
    seen.extend(s.datagram(Direction::ClientToServer, PacketId(4), t(4), &broken, None));
    seen.extend(s.datagram(Direction::ClientToServer, PacketId(5), t(5), &p[..40], None));
    let r = s.report();
    assert!(r.retry);
    assert_eq!(r.original_dcid, Some(unhex(DCID)));
    assert_eq!(seen[2].pn, Some(3));
    let close = r.connection_close.as_ref().unwrap();
    assert_eq!(
        (
            close.pkt,
            close.code,
            close.frame_type,
            close.reason.as_slice()
        ),
        (PacketId(3), 10, Some(6), &b"no"[..])
    );
    let what: Vec<_> = r
        .anomalies
        .iter()
        .map(|a| (a.pkt.0, a.what.as_str()))
        .collect();
    assert_eq!(
        what,
        [
            (
                3,
                "bad frame at byte 6 of an Initial (type Some(33)): unknown frame type"
            ),
            (4, "undecryptable Initial (BadTag)"),
            (
                5,
                "QUIC header unreadable at byte 0: Length runs past the datagram"
            ),
        ]
    );
}

#[test]
fn short_headers_version_negotiation_and_unknown_versions() {
    let mut s = QuicConnState::new();
    let mut seen: Vec<PacketSeen> = Vec::new();
    let c = unhex(include_str!("testdata/v1_client_initial.hex"));
    let sv = unhex(include_str!("testdata/v1_server_initial.hex"));
    seen.extend(s.datagram(Direction::ClientToServer, PacketId(1), t(1), &c, None));
    seen.extend(s.datagram(Direction::ServerToClient, PacketId(2), t(2), &sv, None));
    // Client to server: DCID is the server's 8-byte SCID.
    let mut short = vec![0x41];
    short.extend(unhex("f067a5502a4262b5"));
    short.extend([0x55; 30]);
    seen.extend(s.datagram(Direction::ClientToServer, PacketId(3), t(3), &short, None));
    seen.extend(s.datagram(
        Direction::ServerToClient,
        PacketId(4),
        t(4),
        &[0x40, 1, 2, 3],
        None,
    ));
    seen.extend(s.datagram(Direction::ClientToServer, PacketId(5), t(5), &short, None));
    let r = s.report();
    assert_eq!(
        r.first_short,
        [Some((PacketId(3), t(3))), Some((PacketId(4), t(4)))]
    );
    assert_eq!(seen[2].dcid, unhex("f067a5502a4262b5"));
    assert!(seen[3].dcid.is_empty()); // the client chose an empty SCID

    let mut s = QuicConnState::new();
    let mut seen: Vec<PacketSeen> = Vec::new();
    seen.extend(s.datagram(
        Direction::ClientToServer,
        PacketId(1),
        t(1),
        &unhex("c0ff00001d04010203040000"),
        None,
    ));
    seen.extend(s.datagram(
        Direction::ServerToClient,
        PacketId(2),
        t(2),
        &unhex("8000000000000401020304000000016b3343cf"),
        None,
    ));
    let r = s.report();
    assert_eq!(r.version, Some(0xff00_001d));
    assert_eq!(r.version_negotiation, Some(vec![V1, V2]));
    assert_eq!(seen[0].kind, "UnknownVersion");
    assert!(r.anomalies.is_empty());
}

#[test]
fn transport_parameters_extension_absent_or_malformed() {
    let ch = unhex(CLIENT_HELLO);
    assert_eq!(extension(&ch[4..], 0x39).map(|v| v.len()), Some(0x32));
    assert_eq!(extension(&ch[4..], 0x1234), None);
    for cut in 0..ch.len() - 4 {
        let _ = extension(&ch[4..4 + cut], 0x39);
    }
}

/// The client random of RFC 9001 Appendix A.2's ClientHello.
const RANDOM: &str = "ebf8fa56f12939b9584a3896472ec40bb863cfd3e86804fe3a47f06a2b69484c";
const C_SECRET: &str = "9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b";
const S_SECRET: &str = "3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b";

fn key_log(with_traffic: bool) -> KeyLog {
    let mut k = KeyLog::new();
    let mut text = format!(
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET {RANDOM} {C_SECRET}\nSERVER_HANDSHAKE_TRAFFIC_SECRET {RANDOM} {S_SECRET}\n"
    );
    if with_traffic {
        text += &format!(
            "CLIENT_TRAFFIC_SECRET_0 {RANDOM} {C_SECRET}\nSERVER_TRAFFIC_SECRET_0 {RANDOM} {S_SECRET}\n"
        );
    }
    k.add_text(text.as_bytes());
    k
}

/// A connection after RFC 9001's client and server Initials (suite 0x1301).
fn handshaken(keys: Option<&KeyLog>) -> QuicConnState {
    let mut s = QuicConnState::new();
    let c = unhex(include_str!("testdata/v1_client_initial.hex"));
    let sv = unhex(include_str!("testdata/v1_server_initial.hex"));
    let _ = s.datagram(Direction::ClientToServer, PacketId(1), t(1), &c, keys);
    let _ = s.datagram(Direction::ServerToClient, PacketId(2), t(2), &sv, keys);
    assert_eq!(s.report().cipher, Some(0x1301));
    s
}

/// A short header packet with a 2-byte packet number, sealed with `key`.
fn short(key: &PacketKey, dcid: &[u8], kp: bool, pn: u16, frames: &[u8]) -> Vec<u8> {
    let mut h = vec![0x41 | if kp { 0x04 } else { 0 }];
    h.extend(dcid);
    h.extend(pn.to_be_bytes());
    let mut payload = frames.to_vec();
    payload.resize(payload.len().max(8), 0);
    key.seal(&h, u64::from(pn), &payload).unwrap()
}

fn stream_frame(id: u8, offset: u8, data: &[u8], fin: bool) -> Vec<u8> {
    let mut f = vec![0x0e | u8::from(fin), id, offset, data.len() as u8];
    f.extend(data);
    f
}

#[test]
fn one_rtt_opens_across_a_key_update_and_streams_reassemble_in_order() {
    use crate::proto::quic::initial::next_secret;
    use crate::proto::tls::names::Hash;
    let log = key_log(true);
    let mut s = handshaken(Some(&log));
    let secret = unhex(C_SECRET);
    let k0 = PacketKey::from_secret_with(V1, Cipher::Aes128Gcm, Hash::Sha256, &secret).unwrap();
    let hp = key_material_with(V1, Cipher::Aes128Gcm, Hash::Sha256, &secret).hp;
    let s1 = next_secret(V1, Hash::Sha256, &secret);
    let k1 = PacketKey::with_hp(V1, Cipher::Aes128Gcm, Hash::Sha256, &s1, &hp).unwrap();
    let dcid = unhex("f067a5502a4262b5");
    // pn 0 (phase 0), pn 2 (phase 1: the update), pn 1 (phase 0, reordered), pn 3.
    let p0 = short(&k0, &dcid, false, 0, &stream_frame(0, 0, b"GET ", false));
    let p2 = short(&k1, &dcid, true, 2, &stream_frame(0, 9, b"ml", true));
    let p1 = short(&k0, &dcid, false, 1, &stream_frame(0, 4, b"/a.ht", false));
    let p3 = short(&k1, &dcid, true, 3, &[0x01]);
    let mut seen = Vec::new();
    for (i, p) in [p0, p2, p1, p3].iter().enumerate() {
        seen.extend(s.datagram(
            Direction::ClientToServer,
            PacketId(10 + i as u32),
            t(10),
            p,
            Some(&log),
        ));
    }
    let pns: Vec<_> = seen
        .iter()
        .map(|p| (p.pn, p.key_phase, p.decrypted))
        .collect();
    assert_eq!(
        pns,
        [
            (Some(0), Some(false), true),
            (Some(2), Some(true), true),
            (Some(1), Some(false), true),
            (Some(3), Some(true), true)
        ]
    );
    let r = s.report();
    assert_eq!(r.anomalies, []);
    assert_eq!(r.key_updates, [1, 0]);
    assert!(r.decrypted && !r.keys_missing);
    let events: Vec<_> = s.drain_events().collect();
    let stream: Vec<_> = events
        .iter()
        .map(|e| match e {
            QuicEvent::Stream {
                offset,
                data,
                fin,
                pkt,
                ..
            } => (
                pkt.0,
                *offset,
                String::from_utf8_lossy(data).into_owned(),
                *fin,
            ),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        stream,
        [
            (10, 0, "GET ".into(), false),
            (12, 4, "/a.html".into(), true)
        ]
    );
    assert_eq!(
        crate::proto::quic::info(&seen[1..2]),
        "Protected Payload (KP1), DCID=f067a5502a4262b5, PKN: 2, STREAM(0), PADDING"
    );
}

#[test]
fn packets_wait_for_secrets_and_open_when_they_come() {
    let partial = key_log(false);
    let mut s = handshaken(Some(&partial));
    let k0 =
        PacketKey::from_secret_with(V1, Cipher::Aes128Gcm, Hash::Sha256, &unhex(S_SECRET)).unwrap();
    // Server to client: the client's SCID was empty. HANDSHAKE_DONE, NEW_CONNECTION_ID.
    let mut frames = vec![0x1e, 0x18, 0x01, 0x00, 0x04, 1, 2, 3, 4];
    frames.extend([0xab; 16]);
    let p = short(&k0, &[], false, 0, &frames);
    let seen = s.datagram(
        Direction::ServerToClient,
        PacketId(20),
        t(20),
        &p,
        Some(&partial),
    );
    assert!(!seen[0].decrypted);
    assert_eq!(crate::proto::quic::info(&seen), "Protected Payload");
    assert!(s.report().keys_missing && !s.report().decrypted);
    assert_eq!(s.drain_events().count(), 0);
    s.retry_keys(&key_log(true));
    let events: Vec<_> = s.drain_events().collect();
    assert_eq!(
        events,
        [
            QuicEvent::HandshakeDone {
                pkt: PacketId(20),
                ts: t(20)
            },
            QuicEvent::NewConnectionId {
                dir: Direction::ServerToClient,
                seq: 1,
                cid: vec![1, 2, 3, 4],
                reset_token: [0xab; 16]
            }
        ]
    );
    let r = s.report();
    assert!(r.decrypted && !r.keys_missing);
    assert_eq!(r.handshake_done, Some((PacketId(20), t(20))));
    assert!(r.server_cids.contains(&vec![1, 2, 3, 4]));
    // A server packet that does not open and ends with the announced token is a
    // stateless reset (RFC 9000 §10.3).
    let mut reset = vec![0x47];
    reset.extend([0x33; 20]);
    reset.extend([0xab; 16]);
    let seen = s.datagram(
        Direction::ServerToClient,
        PacketId(21),
        t(21),
        &reset,
        Some(&key_log(true)),
    );
    assert!(!seen[0].decrypted);
    assert_eq!(
        s.drain_events().collect::<Vec<_>>(),
        [QuicEvent::StatelessReset {
            dir: Direction::ServerToClient,
            pkt: PacketId(21),
            ts: t(21)
        }]
    );
    assert_eq!(
        s.report().stateless_reset,
        Some((PacketId(21), t(21), Direction::ServerToClient))
    );
    assert_eq!(s.report().anomalies, []);
}

#[test]
fn without_a_key_log_nothing_waits_and_the_parking_is_bounded() {
    let mut s = handshaken(None);
    let p = [0x40; 60];
    for i in 0..300 {
        let seen = s.datagram(Direction::ServerToClient, PacketId(i), t(3), &p, None);
        assert!(!seen[0].decrypted);
    }
    assert!(!s.report().keys_missing && s.parked.is_empty());
    let empty = KeyLog::new();
    for i in 0..300 {
        let _ = s.datagram(
            Direction::ServerToClient,
            PacketId(i),
            t(3),
            &p,
            Some(&empty),
        );
    }
    assert!(s.report().keys_missing);
    assert_eq!(s.parked.len(), MAX_PARKED);
    assert!(s
        .report()
        .anomalies
        .iter()
        .any(|a| a.what.contains("oldest dropped")));
    assert_eq!(s.report().counts.one_rtt, [0, 600]);
}

#[test]
fn rfc9001_a4_retry_integrity_and_its_v2_counterpart() {
    use crate::proto::quic::initial::retry_integrity_ok;
    let odcid = unhex(DCID);
    let v1 = unhex("ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f0f2496ba");
    assert_eq!(retry_integrity_ok(V1, &odcid, &v1), Some(true));
    // RFC 9369 Appendix A.4.
    let v2 = unhex("cf6b3343cf0008f067a5502a4262b5746f6b656ec8646ce8bfe33952d955543665dcc7b6");
    assert_eq!(retry_integrity_ok(V2, &odcid, &v2), Some(true));
    assert_eq!(retry_integrity_ok(V1, &[1, 2, 3], &v1), Some(false));
    let mut bad = v1.clone();
    bad[20] ^= 1;
    assert_eq!(retry_integrity_ok(V1, &odcid, &bad), Some(false));
    assert_eq!(retry_integrity_ok(7, &odcid, &v1), None);
    assert_eq!(retry_integrity_ok(V1, &odcid, &v1[..10]), None);
    // Through the connection: the Retry after the A.2 Initial verifies.
    let mut s = QuicConnState::new();
    let c = unhex(include_str!("testdata/v1_client_initial.hex"));
    let _ = s.datagram(Direction::ClientToServer, PacketId(1), t(1), &c, None);
    let seen = s.datagram(Direction::ServerToClient, PacketId(2), t(2), &v1, None);
    assert_eq!(seen[0].kind, "Retry");
    assert_eq!(s.report().retry_integrity_ok, Some(true));
    assert_eq!(
        crate::proto::quic::info(&seen),
        "Retry, SCID=f067a5502a4262b5"
    );
    assert!(s.is_quic());
}

#[test]
fn zero_rtt_opens_with_the_early_secret_before_the_server_hello() {
    let early = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let mut log = key_log(true);
    log.add_text(format!("CLIENT_EARLY_TRAFFIC_SECRET {RANDOM} {early}\n").as_bytes());
    let mut s = QuicConnState::new();
    let c = unhex(include_str!("testdata/v1_client_initial.hex"));
    let _ = s.datagram(Direction::ClientToServer, PacketId(1), t(1), &c, Some(&log));
    // A 0-RTT packet (RFC 9000 §17.2.3; type bits 01) to the original DCID.
    let key =
        PacketKey::from_secret_with(V1, Cipher::Aes128Gcm, Hash::Sha256, &unhex(early)).unwrap();
    let mut payload = stream_frame(0, 0, b"GET /", true);
    payload.resize(24, 0);
    let mut h = vec![0xd1, 0, 0, 0, 1, 8];
    h.extend(unhex(DCID));
    h.push(0);
    h.extend((0x4000u16 | (payload.len() + 2 + 16) as u16).to_be_bytes());
    h.extend(0u16.to_be_bytes());
    let p = key.seal(&h, 0, &payload).unwrap();
    let seen = s.datagram(Direction::ClientToServer, PacketId(2), t(2), &p, Some(&log));
    assert_eq!(
        (seen[0].space, seen[0].decrypted, seen[0].pn),
        (Space::ZeroRtt, true, Some(0))
    );
    assert_eq!(
        crate::proto::quic::info(&seen),
        "0-RTT, DCID=8394c8f03e515708, PKN: 0, STREAM(0), PADDING"
    );
    let sv = unhex(include_str!("testdata/v1_server_initial.hex"));
    let _ = s.datagram(
        Direction::ServerToClient,
        PacketId(3),
        t(3),
        &sv,
        Some(&log),
    );
    let ev: Vec<_> = s.drain_events().collect();
    assert!(
        matches!(&ev[..], [QuicEvent::Stream { id: 0, data, fin: true, .. }] if data == b"GET /")
    );
    let r = s.report();
    assert_eq!(r.counts.zero_rtt, [1, 0]);
    assert_eq!(r.anomalies, []);
    assert!(r.decrypted);
}

#[test]
fn a_short_header_to_a_connection_id_of_another_length_from_new_connection_id() {
    let log = key_log(true);
    let mut s = handshaken(Some(&log));
    let ks =
        PacketKey::from_secret_with(V1, Cipher::Aes128Gcm, Hash::Sha256, &unhex(S_SECRET)).unwrap();
    let kc =
        PacketKey::from_secret_with(V1, Cipher::Aes128Gcm, Hash::Sha256, &unhex(C_SECRET)).unwrap();
    // The server announces a 4-byte connection id (its first was 8 bytes).
    let mut frames = vec![0x18, 0x01, 0x00, 0x04, 1, 2, 3, 4];
    frames.extend([0xcd; 16]);
    let _ = s.datagram(
        Direction::ServerToClient,
        PacketId(5),
        t(5),
        &short(&ks, &[], false, 0, &frames),
        Some(&log),
    );
    // The client moves to it (RFC 9000 §5.1.1); then back to the first one.
    for (i, dcid) in [vec![1, 2, 3, 4], unhex("f067a5502a4262b5")]
        .iter()
        .enumerate()
    {
        let p = short(&kc, dcid, false, i as u16, &[0x01]);
        let seen = s.datagram(Direction::ClientToServer, PacketId(6), t(6), &p, Some(&log));
        assert_eq!(&seen[0].dcid, dcid);
        assert!(seen[0].decrypted, "{dcid:?}");
    }
    let r = s.report();
    assert_eq!(r.anomalies, []);
    assert_eq!(
        r.server_cids,
        [unhex(DCID), unhex("f067a5502a4262b5"), vec![1, 2, 3, 4]]
    );
}
