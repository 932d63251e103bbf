//! Tests of the TLS engine: RFC 8448 §3 (the simple 1-RTT handshake) for the key
//! schedule and decryption, the TLS 1.2 PRF vector, real OpenSSL sessions recorded by
//! testdata/make.py (TLS 1.2 AES-GCM, ChaCha20 and AES-CBC with and without
//! encrypt_then_mac, TLS 1.3 with each AEAD and a KeyUpdate), key log parsing, wrong keys, lost bytes and late keys.

use super::crypto::{hkdf_expand_label, prf12, RecordKey};
use super::keylog::KeyLog;
use super::names::{self, Hash};
use super::session::{EchStatus, Event, HandshakeMsg, NotDecrypted, TlsSession};
use crate::base::{AnomalyKind, Direction, PacketId, Timestamp};

const C: Direction = Direction::ClientToServer;
const S: Direction = Direction::ServerToClient;

fn h(s: &str) -> Vec<u8> {
    let d: Vec<u8> = s.bytes().filter(|c| c.is_ascii_hexdigit()).collect();
    d.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

// RFC 8448 §3, "Simple 1-RTT Handshake" (TLS_AES_128_GCM_SHA256, x25519).
const CH_MSG: &str = "01 00 00 c0 03 03 cb 34 ec b1 e7 81 63 ba 1c 38 c6 da cb 19 6a 6d ff a2
    1a 8d 99 12 ec 18 a2 ef 62 83 02 4d ec e7 00 00 06 13 01 13 03 13 02 01
    00 00 91 00 00 00 0b 00 09 00 00 06 73 65 72 76 65 72 ff 01 00 01 00 00
    0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03 01 04 00
    23 00 00 00 33 00 26 00 24 00 1d 00 20 99 38 1d e5 60 e4 bd 43 d2 3d 8e
    43 5a 7d ba fe b3 c0 6e 51 c1 3c ae 4d 54 13 69 1e 52 9a af 2c 00 2b 00
    03 02 03 04 00 0d 00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06
    04 01 05 01 06 01 02 01 04 02 05 02 06 02 02 02 00 2d 00 02 01 01 00 1c
    00 02 40 01";
const CLIENT_RANDOM: &str = "cb 34 ec b1 e7 81 63 ba 1c 38 c6 da cb 19 6a 6d ff a2
    1a 8d 99 12 ec 18 a2 ef 62 83 02 4d ec e7";
const SH_REC: &str = "16 03 03 00 5a 02 00 00 56 03 03 a6 af 06 a4 12 18 60 dc 5e 6e 60 24 9c
    d3 4c 95 93 0c 8a c5 cb 14 34 da c1 55 77 2e d3 e2 69 28 00 13 01 00 00
    2e 00 33 00 24 00 1d 00 20 c9 82 88 76 11 20 95 fe 66 76 2b db f7 c6 72
    e1 56 d6 cc 25 3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f 00 2b 00 02 03 04";
const FLIGHT_REC: &str = "17 03 03 02 a2 d1 ff 33 4a 56 f5 bf f6 59 4a 07 cc 87 b5 80 23 3f 50 0f
    45 e4 89 e7 f3 3a f3 5e df 78 69 fc f4 0a a4 0a a2 b8 ea 73 f8 48 a7 ca
    07 61 2e f9 f9 45 cb 96 0b 40 68 90 51 23 ea 78 b1 11 b4 29 ba 91 91 cd
    05 d2 a3 89 28 0f 52 61 34 aa dc 7f c7 8c 4b 72 9d f8 28 b5 ec f7 b1 3b
    d9 ae fb 0e 57 f2 71 58 5b 8e a9 bb 35 5c 7c 79 02 07 16 cf b9 b1 18 3e
    f3 ab 20 e3 7d 57 a6 b9 d7 47 76 09 ae e6 e1 22 a4 cf 51 42 73 25 25 0c
    7d 0e 50 92 89 44 4c 9b 3a 64 8f 1d 71 03 5d 2e d6 5b 0e 3c dd 0c ba e8
    bf 2d 0b 22 78 12 cb b3 60 98 72 55 cc 74 41 10 c4 53 ba a4 fc d6 10 92
    8d 80 98 10 e4 b7 ed 1a 8f d9 91 f0 6a a6 24 82 04 79 7e 36 a6 a7 3b 70
    a2 55 9c 09 ea d6 86 94 5b a2 46 ab 66 e5 ed d8 04 4b 4c 6d e3 fc f2 a8
    94 41 ac 66 27 2f d8 fb 33 0e f8 19 05 79 b3 68 45 96 c9 60 bd 59 6e ea
    52 0a 56 a8 d6 50 f5 63 aa d2 74 09 96 0d ca 63 d3 e6 88 61 1e a5 e2 2f
    44 15 cf 95 38 d5 1a 20 0c 27 03 42 72 96 8a 26 4e d6 54 0c 84 83 8d 89
    f7 2c 24 46 1a ad 6d 26 f5 9e ca ba 9a cb bb 31 7b 66 d9 02 f4 f2 92 a3
    6a c1 b6 39 c6 37 ce 34 31 17 b6 59 62 22 45 31 7b 49 ee da 0c 62 58 f1
    00 d7 d9 61 ff b1 38 64 7e 92 ea 33 0f ae ea 6d fa 31 c7 a8 4d c3 bd 7e
    1b 7a 6c 71 78 af 36 87 90 18 e3 f2 52 10 7f 24 3d 24 3d c7 33 9d 56 84
    c8 b0 37 8b f3 02 44 da 8c 87 c8 43 f5 e5 6e b4 c5 e8 28 0a 2b 48 05 2c
    f9 3b 16 49 9a 66 db 7c ca 71 e4 59 94 26 f7 d4 61 e6 6f 99 88 2b d8 9f
    c5 08 00 be cc a6 2d 6c 74 11 6d bd 29 72 fd a1 fa 80 f8 5d f8 81 ed be
    5a 37 66 89 36 b3 35 58 3b 59 91 86 dc 5c 69 18 a3 96 fa 48 a1 81 d6 b6
    fa 4f 9d 62 d5 13 af bb 99 2f 2b 99 2f 67 f8 af e6 7f 76 91 3f a3 88 cb
    56 30 c8 ca 01 e0 c6 5d 11 c6 6a 1e 2a c4 c8 59 77 b7 c7 a6 99 9b bf 10
    dc 35 ae 69 f5 51 56 14 63 6c 0b 9b 68 c1 9e d2 e3 1c 0b 3b 66 76 30 38
    eb ba 42 f3 b3 8e dc 03 99 f3 a9 f2 3f aa 63 97 8c 31 7f c9 fa 66 a7 3f
    60 f0 50 4d e9 3b 5b 84 5e 27 55 92 c1 23 35 ee 34 0b bc 4f dd d5 02 78
    40 16 e4 b3 be 7e f0 4d da 49 f4 b4 40 a3 0c b5 d2 af 93 98 28 fd 4a e3
    79 4e 44 f9 4d f5 a6 31 ed e4 2c 17 19 bf da bf 02 53 fe 51 75 be 89 8e
    75 0e dc 53 37 0d 2b";
const CFIN_REC: &str = "17 03 03 00 35 75 ec 4d c2 38 cc e6 0b 29 80 44 a7 1e 21 9c 56 cc 77 b0
    51 7f e9 b9 3c 7a 4b fc 44 d8 7f 38 f8 03 38 ac 98 fc 46 de b3 84 bd 1c
    ae ac ab 68 67 d7 26 c4 05 46";
const NST_REC: &str = "17 03 03 00 de 3a 6b 8f 90 41 4a 97 d6 95 9c 34 87 68 0d e5 13 4a 2b 24
    0e 6c ff ac 11 6e 95 d4 1d 6a f8 f6 b5 80 dc f3 d1 1d 63 c7 58 db 28 9a
    01 59 40 25 2f 55 71 3e 06 1d c1 3e 07 88 91 a3 8e fb cf 57 53 ad 8e f1
    70 ad 3c 73 53 d1 6d 9d a7 73 b9 ca 7f 2b 9f a1 b6 c0 d4 a3 d0 3f 75 e0
    9c 30 ba 1e 62 97 2a c4 6f 75 f7 b9 81 be 63 43 9b 29 99 ce 13 06 46 15
    13 98 91 d5 e4 c5 b4 06 f1 6e 3f c1 81 a7 7c a4 75 84 00 25 db 2f 0a 77
    f8 1b 5a b0 5b 94 c0 13 46 75 5f 69 23 2c 86 51 9d 86 cb ee ac 87 aa c3
    47 d1 43 f9 60 5d 64 f6 50 db 4d 02 3e 70 e9 52 ca 49 fe 51 37 12 1c 74
    bc 26 97 68 7e 24 87 46 d6 df 35 30 05 f3 bc e1 86 96 12 9c 81 53 55 6b
    3b 6c 67 79 b3 7b f1 59 85 68 4f";
const C_APP_REC: &str = "17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea
    42 f9 14 aa 66 bc ab 3f 2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b
    62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d ea e6 3a ee bb 21 69 49 15 e4";
const S_APP_REC: &str = "17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4 a4 69 32 fc
    32 25 d0 5f 82 aa 1b 36 e3 0e fa f9 7d 90 e6 df fc 60 2d cb 50 1a 59 a8
    fc c4 9c 4b f2 e5 f0 a2 1c 00 47 c2 ab f3 32 54 0d d0 32 e1 67 c2 95 5d";
const C_ALERT_REC: &str = "17 03 03 00 13 c9 87 27 60 65 56 66 b7 4d 7f f1 15 3e fd 6d b6 d0 b0 e3";
const S_ALERT_REC: &str = "17 03 03 00 13 b5 8f d6 71 66 eb f5 99 d2 47 20 cf be 7e fa 7a 88 64 a9";
const C_HS: &str = "b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f 3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 a5 5a 21";
const S_HS: &str = "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38";
const C_AP: &str = "9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 a5";
const S_AP: &str = "a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43";

fn rfc8448_keylog() -> KeyLog {
    let cr: String = h(CLIENT_RANDOM)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let hx = |s: &str| -> String { h(s).iter().map(|b| format!("{b:02x}")).collect() };
    let text = format!(
        "# RFC 8448 §3\nCLIENT_HANDSHAKE_TRAFFIC_SECRET {cr} {}\nSERVER_HANDSHAKE_TRAFFIC_SECRET {cr} {}\n\
         CLIENT_TRAFFIC_SECRET_0 {cr} {}\nSERVER_TRAFFIC_SECRET_0 {cr} {}\n",
        hx(C_HS),
        hx(S_HS),
        hx(C_AP),
        hx(S_AP)
    );
    let mut k = KeyLog::new();
    k.add_text(text.as_bytes());
    assert!(k.warnings().is_empty(), "{:?}", k.warnings());
    k
}

/// The RFC 8448 exchange in wire order as (direction, bytes) segments.
fn rfc8448_segments() -> Vec<(Direction, Vec<u8>)> {
    let mut ch = h("16 03 01 00 c4");
    ch.extend(h(CH_MSG));
    let mut server_flight = h(SH_REC);
    server_flight.extend(h(FLIGHT_REC));
    vec![
        (C, ch),
        (S, server_flight),
        (C, h(CFIN_REC)),
        (S, h(NST_REC)),
        (C, h(C_APP_REC)),
        (S, h(S_APP_REC)),
        (C, h(C_ALERT_REC)),
        (S, h(S_ALERT_REC)),
    ]
}

fn run(segs: &[(Direction, Vec<u8>)], keys: Option<&KeyLog>) -> (TlsSession, Vec<Event>) {
    let mut t = TlsSession::new();
    let mut ev = Vec::new();
    for (i, (d, b)) in segs.iter().enumerate() {
        t.feed(*d, PacketId(i as u32), Timestamp(i as i64 * 1000), b, keys);
        ev.extend(t.drain());
    }
    t.finish(keys);
    ev.extend(t.drain());
    (t, ev)
}

fn app_data(ev: &[Event], dir: Direction) -> Vec<u8> {
    ev.iter()
        .filter_map(|e| match e {
            Event::AppData { dir: d, data, .. } if *d == dir => Some(data.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn anomalies(ev: &[Event]) -> Vec<AnomalyKind> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Anomaly { anomaly, .. } => Some(anomaly.kind),
            _ => None,
        })
        .collect()
}

fn handshake_names(ev: &[Event], dir: Direction) -> Vec<&'static str> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Handshake { dir: d, msg, .. } if *d == dir => Some(msg.name()),
            _ => None,
        })
        .collect()
}

#[test]
fn rfc8448_key_schedule() {
    // RFC 8448 §3: "derive write traffic keys for handshake data" / "application data".
    let k = |secret: &str, label: &[u8], len| {
        hkdf_expand_label(Hash::Sha256, &h(secret), label, b"", len)
    };
    assert_eq!(
        k(S_HS, b"key", 16),
        h("3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc")
    );
    assert_eq!(k(S_HS, b"iv", 12), h("5d 31 3e b2 67 12 76 ee 13 00 0b 30"));
    assert_eq!(
        k(C_HS, b"key", 16),
        h("db fa a6 93 d1 76 2c 5b 66 6a f5 d9 50 25 8d 01")
    );
    assert_eq!(k(C_HS, b"iv", 12), h("5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f"));
    assert_eq!(
        k(S_AP, b"key", 16),
        h("9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56")
    );
    assert_eq!(k(S_AP, b"iv", 12), h("cf 78 2b 88 dd 83 54 9a ad f1 e9 84"));
    assert_eq!(
        k(C_AP, b"key", 16),
        h("17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51")
    );
    assert_eq!(k(C_AP, b"iv", 12), h("5b 78 92 3d ee 08 57 90 33 e5 23 d9"));
}

#[test]
fn rfc8448_records_decrypt_at_their_sequence_numbers() {
    let suite = names::suite(0x1301).unwrap();
    let body = |rec: &str| h(rec)[5..].to_vec();
    let mut server_app = RecordKey::tls13(suite, &h(S_AP)).unwrap();
    // The NewSessionTicket is the server's record 0 of the epoch; the data is record 1.
    let (ty, nst) = server_app.open(23, 0x0303, &body(NST_REC)).unwrap();
    assert_eq!((ty, nst[0]), (22, 4));
    let (ty, data) = server_app.open(23, 0x0303, &body(S_APP_REC)).unwrap();
    assert_eq!(ty, 23);
    assert_eq!(data, (0u8..50).collect::<Vec<_>>());
    // At the wrong sequence number, or under the other direction's key, it fails.
    let mut wrong = RecordKey::tls13(suite, &h(S_AP)).unwrap();
    assert!(wrong.open(23, 0x0303, &body(S_APP_REC)).is_err());
    assert_eq!(wrong.seq, 0, "a failed record leaves the key unchanged");
    let mut client_hs = RecordKey::tls13(suite, &h(C_HS)).unwrap();
    assert!(client_hs.open(23, 0x0303, &body(S_APP_REC)).is_err());
    let (ty, fin) = client_hs.open(23, 0x0303, &body(CFIN_REC)).unwrap();
    assert_eq!((ty, fin.len(), fin[0]), (22, 36, 20));
}

#[test]
fn rfc8448_session_decrypts_end_to_end() {
    let keys = rfc8448_keylog();
    let (t, ev) = run(&rfc8448_segments(), Some(&keys));
    assert_eq!(anomalies(&ev), vec![], "{ev:#?}");
    assert_eq!(
        handshake_names(&ev, S),
        [
            "ServerHello",
            "EncryptedExtensions",
            "Certificate",
            "CertificateVerify",
            "Finished",
            "NewSessionTicket"
        ]
    );
    assert_eq!(handshake_names(&ev, C), ["ClientHello", "Finished"]);
    let payload: Vec<u8> = (0u8..50).collect();
    assert_eq!(app_data(&ev, C), payload);
    assert_eq!(app_data(&ev, S), payload);
    let alerts: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Alert {
                dir,
                level,
                description,
                decrypted: true,
                ..
            } => Some((*dir, *level, names::alert_description_name(*description))),
            _ => None,
        })
        .collect();
    assert_eq!(
        alerts,
        [
            (C, 1, "close_notify".to_string()),
            (S, 1, "close_notify".to_string())
        ]
    );
    let s = t.summary();
    assert!(s.decrypted);
    assert_eq!(s.not_decrypted, None);
    assert_eq!(s.version, Some(0x0304));
    assert_eq!(
        names::cipher_suite_name(s.cipher.unwrap()),
        "TLS_AES_128_GCM_SHA256"
    );
    assert_eq!(s.group.map(names::group_name).as_deref(), Some("x25519"));
    assert_eq!(s.sni.as_deref(), Some("server"));
    assert!(!s.resumption.resumed && !s.resumption.offered_ticket);
    // The RFC's server certificate (CN=rsa) came out of the decrypted flight.
    assert_eq!(s.certificates.len(), 1, "{:?}", s.certificates);
    assert_eq!(s.certificates[0].subject, "CN=rsa");
    assert_eq!(s.app_data[0].plaintext, 50);
    assert_eq!(s.app_data[1].records, 1);
    // Timing: ClientHello in packet 0, ServerHello in packet 1, first data 4 and 5.
    assert_eq!(s.client_hello_ts, Some(Timestamp(0)));
    assert_eq!(s.server_hello_ts, Some(Timestamp(1000)));
    assert_eq!(
        s.first_app_data,
        [Some(Timestamp(4000)), Some(Timestamp(5000))]
    );
}

#[test]
fn rfc8448_byte_by_byte_gives_the_same_events() {
    let keys = rfc8448_keylog();
    let segs = rfc8448_segments();
    let (_, whole) = run(&segs, Some(&keys));
    let mut t = TlsSession::new();
    let mut ev = Vec::new();
    for (i, (d, b)) in segs.iter().enumerate() {
        for byte in b {
            t.feed(
                *d,
                PacketId(i as u32),
                Timestamp(i as i64 * 1000),
                std::slice::from_ref(byte),
                Some(&keys),
            );
        }
        ev.extend(t.drain());
    }
    t.finish(Some(&keys));
    ev.extend(t.drain());
    assert_eq!(ev, whole);
}

#[test]
fn rfc8448_without_keys_counts_encrypted_records() {
    let (t, ev) = run(&rfc8448_segments(), None);
    assert!(app_data(&ev, C).is_empty() && app_data(&ev, S).is_empty());
    assert_eq!(anomalies(&ev), vec![]);
    let s = t.summary();
    assert!(!s.decrypted);
    assert_eq!(s.not_decrypted, Some(NotDecrypted::NoKeyLog));
    assert_eq!(s.encrypted[0].records, 3);
    assert_eq!(s.encrypted[1].records, 4);
    assert_eq!(s.sni.as_deref(), Some("server"));
    assert_eq!(
        s.first_app_data,
        [None, None],
        "1.3 data is not told from handshake without keys"
    );
}

/// A key log for the RFC 8448 session with `f` applied to each secret's hex.
fn rfc8448_keylog_with(f: impl Fn(&str, &str) -> String) -> KeyLog {
    let text = rfc8448_keylog().export(&[h(CLIENT_RANDOM).try_into().unwrap()]);
    let mut out = String::new();
    for line in text.lines() {
        let p: Vec<&str> = line.split(' ').collect();
        out.push_str(&format!("{} {} {}\n", p[0], p[1], f(p[0], p[2])));
    }
    let mut keys = KeyLog::new();
    keys.add_text(out.as_bytes());
    keys
}

#[test]
fn wrong_keys_are_anomalies_not_garbage() {
    // Every secret off by one bit: every protected record fails to authenticate.
    let keys = rfc8448_keylog_with(|_, hex| {
        format!(
            "{}{}",
            if hex.starts_with('0') { '1' } else { '0' },
            &hex[1..]
        )
    });
    let (t, ev) = run(&rfc8448_segments(), Some(&keys));
    assert!(app_data(&ev, S).is_empty() && app_data(&ev, C).is_empty());
    assert_eq!(handshake_names(&ev, S), ["ServerHello"]);
    let a = anomalies(&ev);
    assert_eq!(a, vec![AnomalyKind::TlsDecryptFailed; 7], "{a:?}");
    assert!(t.summary().certificates.is_empty());
    assert!(!t.summary().decrypted);
    assert_eq!(t.summary().not_decrypted, Some(NotDecrypted::Failed));
    // The failures name their frames (the server flight is in packet 1, frame 2).
    assert!(ev.iter().any(
        |e| matches!(e, Event::Anomaly { anomaly, .. } if anomaly.detail.contains("frame 2"))
    ));
}

#[test]
fn wrong_handshake_keys_resume_at_the_application_epoch() {
    // Only the handshake secrets are wrong: the handshake records fail (anomalies), and
    // decryption resumes with the application traffic secrets.
    let keys = rfc8448_keylog_with(|label, hex| {
        if label.contains("HANDSHAKE") {
            "ab".repeat(32)
        } else {
            hex.to_string()
        }
    });
    let (_, ev) = run(&rfc8448_segments(), Some(&keys));
    assert_eq!(anomalies(&ev), vec![AnomalyKind::TlsDecryptFailed; 2]);
    assert_eq!(app_data(&ev, C), (0u8..50).collect::<Vec<_>>());
    assert_eq!(app_data(&ev, S), (0u8..50).collect::<Vec<_>>());
}

#[test]
fn lost_bytes_inside_a_record_lose_only_that_record() {
    // The client's Finished (packet 2) loses 10 bytes in its middle; the later
    // application data still decrypts with the next epoch's key.
    let keys = rfc8448_keylog();
    let segs = rfc8448_segments();
    let mut t = TlsSession::new();
    let mut ev = Vec::new();
    for (i, (d, b)) in segs.iter().enumerate() {
        let (p, ts) = (PacketId(i as u32), Timestamp(i as i64));
        if i == 2 {
            t.feed(*d, p, ts, &b[..20], Some(&keys));
            t.gap(*d, p, ts, 10, Some(&keys));
            t.feed(*d, p, ts, &b[30..], Some(&keys));
        } else {
            t.feed(*d, p, ts, b, Some(&keys));
        }
        ev.extend(t.drain());
    }
    assert_eq!(anomalies(&ev), vec![AnomalyKind::TlsRecordLost]);
    assert_eq!(app_data(&ev, C), (0u8..50).collect::<Vec<_>>());
}

#[test]
fn keys_that_arrive_later_still_decrypt() {
    // Live capture: the browser writes its keys after the packets were read.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.log");
    std::fs::write(&path, "# nothing yet\n").unwrap();
    let mut keys = KeyLog::follow(&path).unwrap();
    let mut t = TlsSession::new();
    for (i, (d, b)) in rfc8448_segments().iter().enumerate() {
        t.feed(*d, PacketId(i as u32), Timestamp(0), b, Some(&keys));
    }
    assert!(t.drain().all(|e| !matches!(e, Event::AppData { .. })));
    let text = rfc8448_keylog().export(&[h(CLIENT_RANDOM).try_into().unwrap()]);
    // Appended in two writes, the first ending mid-line.
    let (a, b) = text.split_at(100);
    std::fs::write(&path, format!("# nothing yet\n{a}")).unwrap();
    assert_eq!(
        keys.refresh().unwrap(),
        0,
        "the first line is not complete yet"
    );
    std::fs::write(&path, format!("# nothing yet\n{a}{b}")).unwrap();
    assert_eq!(keys.refresh().unwrap(), 4, "the four secrets");
    t.retry(Some(&keys));
    let ev: Vec<Event> = t.drain().collect();
    assert_eq!(app_data(&ev, C), (0u8..50).collect::<Vec<_>>());
    assert!(keys.warnings().is_empty(), "{:?}", keys.warnings());
}

#[test]
fn prf_tls12_vector() {
    // The TLS 1.2 PRF (P_SHA256) test vector published for the IETF TLS WG.
    let out = prf12(
        Hash::Sha256,
        &h("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35"),
        b"test label",
        &h("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c"),
        100,
    );
    assert_eq!(
        out,
        h("e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53 c2 aa b2 1d 07 c3 d4 95 32 9b 52 d4 e6 1e db 5a
           6b 30 17 91 e9 0d 35 c9 c9 a4 6b 4e 14 ba f9 af 0f a0 22 f7 07 7d ef 17 ab fd 37 97 c0 56 4b ab
           4f bc 91 66 6e 9d ef 9b 97 fc e3 4f 79 67 89 ba a4 80 82 d1 22 ee 42 c5 a7 2e 5a 51 10 ff f7 01
           87 34 7b 66")
    );
}

#[test]
fn keylog_bad_and_truncated_lines_are_warnings_with_line_numbers() {
    let cr = "cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7";
    let master = "00".repeat(48);
    let text = format!(
        "# comment\n\nCLIENT_RANDOM {cr} {master}\nCLIENT_RANDOM {cr}\nCLIENT_RANDOM zz {master}\n\
         NOPE {cr} {master}\nCLIENT_RANDOM {cr} 0011\nCLIENT_TRAFFIC_SECRET_0 {cr} {}",
        "ab".repeat(20)
    );
    let mut k = KeyLog::new();
    k.add_text(text.as_bytes());
    let lines: Vec<(usize, &str)> = k.warnings().iter().map(|w| (w.line, w.reason)).collect();
    assert_eq!(
        lines,
        [
            (4, "expected LABEL CLIENT_RANDOM SECRET"),
            (5, "client random is not hex"),
            (6, "unknown label"),
            (7, "master secret is not 48 bytes"),
            (8, "traffic secret is not 32 or 48 bytes"),
        ]
    );
    assert_eq!(k.len(), 1);
    let w = k.warnings()[0].to_string();
    assert_eq!(
        w,
        "key log line 4: expected LABEL CLIENT_RANDOM SECRET, skipped"
    );
    // Secrets never show in Debug output.
    let s = format!("{:?} {:?}", k, k.get(&h(cr).try_into().unwrap()));
    assert!(!s.contains("000000"), "{s}");
    assert!(s.contains("redacted"), "{s}");
}

#[test]
fn keylog_refresh_reads_only_appended_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k");
    let cr = "11".repeat(32);
    std::fs::write(
        &path,
        format!("CLIENT_RANDOM {cr} {}\nbad line\n", "22".repeat(48)),
    )
    .unwrap();
    let mut k = KeyLog::follow(&path).unwrap();
    assert_eq!(k.len(), 1);
    assert_eq!(k.warnings().len(), 1);
    assert_eq!(k.refresh().unwrap(), 0, "nothing new");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    use std::io::Write;
    write!(f, "CLIENT_RANDOM {} {}", "33".repeat(32), "44".repeat(24)).unwrap();
    assert_eq!(k.refresh().unwrap(), 0, "a line without newline waits");
    writeln!(f, "{}", "44".repeat(24)).unwrap();
    assert_eq!(k.refresh().unwrap(), 1);
    assert_eq!(k.len(), 2);
    assert_eq!(k.warnings().len(), 1, "{:?}", k.warnings());
    assert!(KeyLog::follow(&dir.path().join("missing")).is_err());
}

/// An OpenSSL session recorded by testdata/make.py: (direction, bytes) chunks and its key log.
fn openssl_case(name: &str) -> (Vec<(Direction, Vec<u8>)>, KeyLog) {
    let base = format!(
        "{}/src/proto/tls/testdata/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let chunks = std::fs::read_to_string(format!("{base}.chunks")).unwrap();
    let segs = chunks
        .lines()
        .map(|l| {
            let (d, x) = l.split_once(' ').unwrap();
            (if d == "c" { C } else { S }, h(x))
        })
        .collect();
    let keys = KeyLog::read(std::path::Path::new(&format!("{base}.keys"))).unwrap();
    assert!(keys.warnings().is_empty(), "{name}: {:?}", keys.warnings());
    (segs, keys)
}

const CLIENT_MSG: &[u8] = b"GET / HTTP/1.1\r\nHost: wiretale.test\r\n\r\n";
const SERVER_MSG: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

#[test]
fn openssl_sessions_decrypt() {
    for (name, version, cipher) in [
        (
            "tls12-aes128gcm",
            0x0303,
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ),
        (
            "tls12-aes256gcm",
            0x0303,
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        ),
        (
            "tls12-chacha20",
            0x0303,
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        ),
        (
            "tls12-aes128cbc-sha",
            0x0303,
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        ),
        (
            "tls12-aes256cbc-sha384",
            0x0303,
            "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
        ),
        ("tls13-aes256gcm", 0x0304, "TLS_AES_256_GCM_SHA384"),
        ("tls13-chacha20", 0x0304, "TLS_CHACHA20_POLY1305_SHA256"),
        ("tls13-keyupdate", 0x0304, "TLS_AES_128_GCM_SHA256"),
        ("tls13-early-rejected", 0x0304, "TLS_AES_128_GCM_SHA256"),
    ] {
        let (segs, keys) = openssl_case(name);
        let (t, ev) = run(&segs, Some(&keys));
        assert_eq!(anomalies(&ev), vec![], "{name}: {ev:#?}");
        assert_eq!(app_data(&ev, C), CLIENT_MSG, "{name}");
        assert_eq!(app_data(&ev, S), SERVER_MSG, "{name}");
        let s = t.summary();
        assert!(s.decrypted, "{name}");
        assert_eq!(s.version, Some(version), "{name}");
        assert_eq!(
            names::cipher_suite_name(s.cipher.unwrap()),
            cipher,
            "{name}"
        );
        assert_eq!(s.sni.as_deref(), Some("wiretale.test"));
        assert_eq!(s.alpn_offered, ["h2", "http/1.1"]);
        assert_eq!(s.alpn.as_deref(), Some("http/1.1"), "{name}");
        let cert = s.certificates.first().expect(name);
        assert!(
            cert.subject.contains("CN=wiretale.test"),
            "{}",
            cert.subject
        );
        assert_eq!(
            cert.sans,
            ["wiretale.test", "www.wiretale.test", "198.18.0.1"]
        );
        assert!(cert.not_after > cert.not_before);
        assert!(s.ja4.as_deref().unwrap().starts_with(if version == 0x0304 {
            "t13d"
        } else {
            "t12d"
        }));
        assert_eq!(s.ja3.as_deref().map(str::len), Some(32));
        if name == "tls13-keyupdate" {
            let updates = ev
                .iter()
                .filter(|e| {
                    matches!(
                        e,
                        Event::Handshake {
                            msg: HandshakeMsg::KeyUpdate { .. },
                            decrypted: true,
                            ..
                        }
                    )
                })
                .count();
            assert_eq!(updates, 2, "the client's KeyUpdate and the server's answer");
        }
        // Without keys: the same handshake facts (≤ 1.2: the certificate too), no data.
        let (t2, ev2) = run(&segs, None);
        assert!(app_data(&ev2, C).is_empty());
        assert_eq!(t2.summary().sni, s.sni);
        assert_eq!(t2.summary().version, s.version);
        if version == 0x0303 {
            assert_eq!(t2.summary().certificates, s.certificates);
            assert_eq!(t2.summary().alpn, s.alpn);
            assert!(t2.summary().first_app_data[0].is_some());
            // One request record and one response record; the Finished is not data.
            assert_eq!(t2.summary().app_data[0].records, 1, "{name}");
            assert_eq!(t2.summary().app_data[1].records, 1, "{name}");
            assert_eq!(s.app_data[0].plaintext, CLIENT_MSG.len() as u64, "{name}");
        }
    }
}

#[test]
fn openssl_rejected_early_data_is_skipped() {
    // OpenSSL offers a ticket with 0-RTT to a server that cannot use it: a full
    // handshake, the early record (right after the ClientHello and the middlebox CCS)
    // skipped as encrypted, the rest decrypted, no anomaly (RFC 8446 §4.2.10).
    let (segs, keys) = openssl_case("tls13-early-rejected");
    let (t, ev) = run(&segs, Some(&keys));
    assert_eq!(anomalies(&ev), vec![], "{ev:#?}");
    let s = t.summary();
    assert!(s.early_data_offered && s.resumption.offered_psk);
    assert_eq!(s.early_data_accepted, Some(false));
    assert!(!s.resumption.resumed);
    assert!(!s.certificates.is_empty(), "a full handshake");
    let first_client_encrypted = ev.iter().find_map(|e| match e {
        Event::Encrypted {
            dir: C, pkt, len, ..
        } => Some((*pkt, *len)),
        _ => None,
    });
    assert_eq!(first_client_encrypted, Some((PacketId(0), 61)));
    let early = b"GET /early";
    assert!(!app_data(&ev, C).windows(early.len()).any(|w| w == early));
    assert_eq!(app_data(&ev, C), CLIENT_MSG);
}

#[test]
fn openssl_tls12_keys_for_another_session_are_not_used() {
    let (segs, _) = openssl_case("tls12-aes128gcm");
    let (_, other) = openssl_case("tls12-chacha20");
    let (t, ev) = run(&segs, Some(&other));
    assert!(app_data(&ev, C).is_empty());
    assert_eq!(anomalies(&ev), vec![]);
    assert_eq!(t.summary().not_decrypted, Some(NotDecrypted::NoKeys));
}

#[test]
fn openssl_tls12_corrupted_record_is_an_anomaly_and_the_rest_decrypts() {
    let (mut segs, keys) = openssl_case("tls12-aes128gcm");
    // Flip a ciphertext byte of the client's application data record (its last chunk
    // with data is the request).
    let i = segs
        .iter()
        .rposition(|(d, b)| *d == C && b.first() == Some(&23))
        .unwrap();
    let n = segs[i].1.len();
    segs[i].1[n - 20] ^= 1;
    let (_, ev) = run(&segs, Some(&keys));
    assert_eq!(anomalies(&ev), vec![AnomalyKind::TlsDecryptFailed]);
    assert!(app_data(&ev, C).is_empty());
    assert_eq!(app_data(&ev, S), SERVER_MSG);
}

#[test]
fn openssl_tls12_cbc_flipped_bytes_are_anomalies_never_plaintext() {
    // MAC-then-encrypt (SHA-1): the client offered no encrypt_then_mac; encrypt-then-MAC
    // (SHA-384): both hellos carry it (RFC 7366 §2).
    for (name, etm) in [
        ("tls12-aes128cbc-sha", false),
        ("tls12-aes256cbc-sha384", true),
    ] {
        let (segs, keys) = openssl_case(name);
        let (_, ev) = run(&segs, Some(&keys));
        let ext22 = |want_client: bool| {
            ev.iter().any(|e| match e {
                Event::Handshake {
                    msg: HandshakeMsg::ClientHello(h),
                    ..
                } if want_client => h.extensions.contains(&22),
                Event::Handshake {
                    msg: HandshakeMsg::ServerHello(h),
                    ..
                } if !want_client => h.extensions.contains(&22),
                _ => false,
            })
        };
        assert_eq!(ext22(true) && ext22(false), etm, "{name}");
        // Flip a byte of the request record: in its IV, its ciphertext (the MAC or
        // padding of MtE), or its last byte (EtM: the MAC; MtE: the padding length).
        let i = segs
            .iter()
            .rposition(|(d, b)| *d == C && b.first() == Some(&23))
            .unwrap();
        for at in [6, 30, segs[i].1.len() - 20, segs[i].1.len() - 1] {
            let mut bad = segs.clone();
            bad[i].1[at] ^= 0x40;
            let (_, ev) = run(&bad, Some(&keys));
            assert_eq!(
                anomalies(&ev),
                vec![AnomalyKind::TlsDecryptFailed],
                "{name} byte {at}"
            );
            assert!(app_data(&ev, C).is_empty(), "{name} byte {at}");
            assert_eq!(app_data(&ev, S), SERVER_MSG, "{name} byte {at}");
        }
    }
}

#[test]
fn cbc_seal_and_open_round_trip_each_suite_and_mode() {
    let cr = [1u8; 32];
    let sr = [2u8; 32];
    for id in [0xc013, 0xc014, 0xc027, 0xc028, 0x003d] {
        let suite = names::suite(id).unwrap();
        for etm in [false, true] {
            let [mut c, _] = RecordKey::tls12_keys(suite, &[3; 48], &cr, &sr, 0x0303, etm).unwrap();
            let [mut open, _] =
                RecordKey::tls12_keys(suite, &[3; 48], &cr, &sr, 0x0303, etm).unwrap();
            // Every length around a block boundary, so every padding length occurs.
            for n in 0..40 {
                let plain: Vec<u8> = (0..n as u8).collect();
                let body = c.seal(23, 0x0303, &plain);
                assert_eq!(
                    open.open(23, 0x0303, &body),
                    Ok((23, plain)),
                    "{id:#x} etm {etm} len {n}"
                );
            }
            // The other mode's record does not authenticate.
            let [mut other, _] =
                RecordKey::tls12_keys(suite, &[3; 48], &cr, &sr, 0x0303, !etm).unwrap();
            let body = other.seal(23, 0x0303, b"x");
            let [mut open, _] =
                RecordKey::tls12_keys(suite, &[3; 48], &cr, &sr, 0x0303, etm).unwrap();
            assert!(open.open(23, 0x0303, &body).is_err(), "{id:#x} etm {etm}");
            assert_eq!(open.seq, 0, "a failure changes nothing");
        }
        // TLS 1.0/1.1 (chained IV, MD5/SHA-1 PRF) are not decrypted.
        assert!(RecordKey::tls12_keys(suite, &[3; 48], &cr, &sr, 0x0302, false).is_err());
    }
}

fn stream_fixture(name: &str) -> Vec<(Direction, u32, Vec<u8>)> {
    let base = format!("{}/tests/data/streams/{name}", crate::testutil::ROOT);
    let c2s = std::fs::read(format!("{base}.c2s.bin")).unwrap();
    let s2c = std::fs::read(format!("{base}.s2c.bin")).unwrap();
    let idx = std::fs::read_to_string(format!("{base}.idx")).unwrap();
    idx.lines()
        .filter(|l| l.starts_with("P "))
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let (off, len): (usize, usize) = (f[3].parse().unwrap(), f[4].parse().unwrap());
            let d = if f[2] == "c" { C } else { S };
            let src = if d == C { &c2s } else { &s2c };
            (
                d,
                f[1].parse::<u32>().unwrap() - 1,
                src[off..off + len].to_vec(),
            )
        })
        .collect()
}

#[test]
fn shared_capture_hellos_match_tshark() {
    // zeek/tls-chrome-34-google.pcap (TLS 1.2, as tshark's truth says): SNI google.de in
    // the ClientHello of frame 4, ALPN offered, the version, plus the plaintext
    // certificate chain.
    let segs = stream_fixture("zeek__tls-chrome-34-google.pcap--0");
    let mut t = TlsSession::new();
    let mut ev = Vec::new();
    for (d, p, b) in &segs {
        t.feed(*d, PacketId(*p), Timestamp(0), b, None);
        ev.extend(t.drain());
    }
    let s = t.summary();
    assert_eq!(s.sni.as_deref(), Some("google.de"));
    assert!(
        s.alpn_offered.iter().any(|a| a == "http/1.1"),
        "{:?}",
        s.alpn_offered
    );
    assert_eq!(s.version, Some(0x0303));
    assert!(s.cipher.is_some());
    let first = ev.iter().find_map(|e| match e {
        Event::Handshake {
            msg: HandshakeMsg::ClientHello(_),
            pkt,
            ..
        } => Some(pkt.frame_number()),
        _ => None,
    });
    assert_eq!(first, Some(4));
    assert!(!s.certificates.is_empty());
    assert!(
        s.certificates[0].sans.iter().any(|n| n.contains("google")),
        "{:?}",
        s.certificates[0]
    );
    assert!(
        handshake_names(&ev, S).contains(&"ServerHelloDone"),
        "{:?}",
        handshake_names(&ev, S)
    );
    assert!(s.encrypted[0].records > 0 && s.app_data[0].records > 0);
    assert!(s.first_app_data[0].is_some());
}

#[test]
fn garbage_is_a_bad_record_anomaly() {
    let mut t = TlsSession::new();
    t.feed(
        C,
        PacketId(6),
        Timestamp(0),
        b"GET / HTTP/1.1\r\n\r\n",
        None,
    );
    let ev: Vec<Event> = t.drain().collect();
    assert_eq!(anomalies(&ev), vec![AnomalyKind::TlsBadRecord]);
    assert!(matches!(&ev[0], Event::Anomaly { anomaly, .. } if anomaly.detail.contains("frame 7")));
}

#[test]
fn hello_retry_request_is_recognised() {
    let mut sh = h(SH_REC);
    // Replace the ServerHello random (bytes 11..43 of the record) with the HRR random.
    sh[11..43].copy_from_slice(&super::handshake::HRR_RANDOM);
    let mut ch = h("16 03 01 00 c4");
    ch.extend(h(CH_MSG));
    let (t, ev) = run(&[(C, ch), (S, sh)], None);
    assert_eq!(handshake_names(&ev, S), ["HelloRetryRequest"]);
    assert!(t.summary().hello_retry);
    assert_eq!(
        t.summary().version,
        None,
        "the real ServerHello is still to come"
    );
}

#[test]
fn fingerprints_of_the_rfc8448_client_hello() {
    let ch = super::handshake::client_hello(&h(CH_MSG)[4..]).unwrap();
    // JA3 string from the ClientHello's fields, computed by hand from the RFC's bytes.
    assert_eq!(
        super::fingerprint::ja3_string(&ch),
        "771,4865-4867-4866,0-65281-10-35-51-43-13-45-28,29-23-24-25-256-257-258-259-260,"
    );
    let ja4 = super::fingerprint::ja4(&ch);
    assert!(ja4.starts_with("t13d030900_"), "{ja4}");
}

/// The RFC 8448 ClientHello record with one more extension (type `ty`, body `body`) at
/// the end; the handshake length is at 1..4 and the extensions length right after the
/// compression methods (body offset 45).
fn rfc8448_ch_with(ty: u16, body: &[u8]) -> Vec<u8> {
    let mut msg = h(CH_MSG);
    msg.extend(ty.to_be_bytes());
    msg.extend((body.len() as u16).to_be_bytes());
    msg.extend(body);
    let added = 4 + body.len();
    let n = u32::from_be_bytes([0, msg[1], msg[2], msg[3]]) + added as u32;
    msg[1..4].copy_from_slice(&n.to_be_bytes()[1..]);
    let ext = 4 + 45;
    let e = u16::from_be_bytes([msg[ext], msg[ext + 1]]) + added as u16;
    msg[ext..ext + 2].copy_from_slice(&e.to_be_bytes());
    let mut rec = vec![22, 3, 1];
    rec.extend((msg.len() as u16).to_be_bytes());
    rec.extend(msg);
    rec
}

/// An outer ECH extension (draft-ietf-tls-esni-25 §5): type outer, HPKE suite
/// (HKDF-SHA256, AES-128-GCM), config id, enc, payload — random-looking, as GREASE is.
const ECH_OUTER: &[u8] = &[
    0, 0, 1, 0, 1, 0x42, 0, 4, 1, 2, 3, 4, 0, 8, 9, 8, 7, 6, 5, 4, 3, 2,
];

#[test]
fn ech_offer_is_told_apart_only_where_the_bytes_allow() {
    let keys = rfc8448_keylog();
    let mut segs = rfc8448_segments();
    segs[0] = (C, rfc8448_ch_with(0xfe0d, ECH_OUTER));
    // Without keys (TLS 1.3): GREASE and real ECH look alike.
    let (t, _) = run(&segs, None);
    assert!(t.summary().ech);
    assert_eq!(t.summary().ech_status, Some(EchStatus::Offered));
    // With the outer ClientHello's keys the handshake went on and the client sent data:
    // a rejected real ECH would have ended in ech_required, so it was GREASE.
    let (t, ev) = run(&segs, Some(&keys));
    assert!(!app_data(&ev, C).is_empty());
    assert_eq!(t.summary().ech_status, Some(EchStatus::Grease));
    // The client's answer is ech_required (sealed as its first record under its traffic
    // key, instead of its request): real ECH that the server did not accept.
    let suite = names::suite(0x1301).unwrap();
    let mut ck = RecordKey::tls13(suite, &h(C_AP)).unwrap();
    let body = ck.seal(21, 0x0303, &[2, names::ECH_REQUIRED]);
    let mut rec = vec![23, 3, 3];
    rec.extend((body.len() as u16).to_be_bytes());
    rec.extend(body);
    let mut rejected = segs.clone();
    rejected[4] = (C, rec);
    rejected.truncate(6);
    let (t, ev) = run(&rejected, Some(&keys));
    assert_eq!(anomalies(&ev), vec![], "{ev:#?}");
    assert_eq!(t.summary().ech_status, Some(EchStatus::Rejected));
    // No ECH extension: no status at all.
    let (t, _) = run(&rfc8448_segments(), Some(&keys));
    assert!(!t.summary().ech);
    assert_eq!(t.summary().ech_status, None);
}

#[test]
fn ech_in_a_hello_retry_request_means_accepted() {
    // HRR (RFC 8446 §4.1.4): supported_versions 1.3, key_share x25519, and the ECH
    // extension with an 8-byte accept confirmation (draft-ietf-tls-esni-25 §7.2.1).
    let hrr = |with_ech: bool| {
        let mut b = vec![3, 3];
        b.extend(super::handshake::HRR_RANDOM);
        b.extend([0, 0x13, 0x01, 0]);
        let mut ext = vec![0, 43, 0, 2, 3, 4, 0, 51, 0, 2, 0, 0x1d];
        if with_ech {
            ext.extend([0xfe, 0x0d, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]);
        }
        b.extend((ext.len() as u16).to_be_bytes());
        b.extend(ext);
        let mut m = vec![2, 0, (b.len() >> 8) as u8, b.len() as u8];
        m.extend(b);
        let mut rec = vec![22, 3, 3, 0, m.len() as u8];
        rec.extend(m);
        rec
    };
    for (with_ech, want) in [(true, EchStatus::Accepted), (false, EchStatus::Offered)] {
        let segs = [(C, rfc8448_ch_with(0xfe0d, ECH_OUTER)), (S, hrr(with_ech))];
        let (t, ev) = run(&segs, None);
        assert_eq!(handshake_names(&ev, S), ["HelloRetryRequest"]);
        assert_eq!(t.summary().ech_status, Some(want));
    }
}

/// The RFC 8448 exchange with a 0-RTT record from the client right after its
/// ClientHello, which offers early_data when `offer` is set.
fn with_early_record(offer: bool) -> Vec<(Direction, Vec<u8>)> {
    let mut msg = h(CH_MSG);
    if offer {
        // early_data (RFC 8446 §4.2.10): type 42, empty. The handshake length is at
        // 1..4 and the extensions length right after the compression methods (body 45).
        msg.extend([0, 42, 0, 0]);
        msg[3] += 4;
        let ext = 4 + 45;
        let n = u16::from_be_bytes([msg[ext], msg[ext + 1]]) + 4;
        msg[ext..ext + 2].copy_from_slice(&n.to_be_bytes());
    }
    let mut ch = vec![22, 3, 1, 0, msg.len() as u8];
    ch.extend(msg);
    // Protected under a key the log does not have (the client's early traffic secret).
    let mut early = RecordKey::tls13(names::suite(0x1301).unwrap(), &[7; 32]).unwrap();
    let body = early.seal(23, 0x0303, b"GET /early HTTP/1.1\r\n\r\n");
    let mut rec = vec![23, 3, 3];
    rec.extend((body.len() as u16).to_be_bytes());
    rec.extend(body);
    let mut segs = rfc8448_segments();
    segs[0] = (C, ch);
    segs.insert(1, (C, rec));
    segs
}

#[test]
fn rejected_early_data_is_skipped_not_an_anomaly() {
    let keys = rfc8448_keylog();
    let (t, ev) = run(&with_early_record(true), Some(&keys));
    assert_eq!(anomalies(&ev), vec![], "{ev:#?}");
    assert!(t.summary().early_data_offered);
    assert_eq!(t.summary().early_data_accepted, Some(false));
    assert_eq!(app_data(&ev, C), (0u8..50).collect::<Vec<_>>());
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::Encrypted {
            dir: C,
            pkt: PacketId(1),
            ..
        }
    )));
    // Without the early_data offer the same record is a failure, and still nothing
    // after it is lost.
    let (_, ev) = run(&with_early_record(false), Some(&keys));
    assert_eq!(anomalies(&ev), vec![AnomalyKind::TlsDecryptFailed]);
}

#[test]
fn openssl_sessions_decrypt_fed_byte_by_byte_interleaved() {
    // Both directions one byte at a time, alternating: the client's CCS and Finished
    // arrive before the server's certificate is complete.
    for name in [
        "tls12-aes128gcm",
        "tls12-aes128cbc-sha",
        "tls12-aes256cbc-sha384",
        "tls13-aes256gcm",
    ] {
        let (segs, keys) = openssl_case(name);
        let c: Vec<u8> = segs
            .iter()
            .filter(|s| s.0 == C)
            .flat_map(|s| s.1.clone())
            .collect();
        let s: Vec<u8> = segs
            .iter()
            .filter(|s| s.0 == S)
            .flat_map(|s| s.1.clone())
            .collect();
        let mut t = TlsSession::new();
        let mut ev = Vec::new();
        for i in 0..c.len().max(s.len()) {
            if let Some(b) = c.get(i) {
                t.feed(C, PacketId(i as u32), Timestamp(0), &[*b], Some(&keys));
            }
            if let Some(b) = s.get(i) {
                t.feed(S, PacketId(i as u32), Timestamp(0), &[*b], Some(&keys));
            }
            ev.extend(t.drain());
        }
        t.finish(Some(&keys));
        ev.extend(t.drain());
        assert_eq!(anomalies(&ev), vec![], "{name}");
        assert_eq!(app_data(&ev, C), CLIENT_MSG, "{name}: {:?}", t.summary());
        assert_eq!(app_data(&ev, S), SERVER_MSG, "{name}");
    }
}

mod mutations {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Any byte flipped and any split: no panic, and plaintext only from records
        /// that authenticated (never more than the protected bytes).
        #[test]
        fn mutated_sessions_never_show_garbage(
            case in 0usize..8,
            flips in proptest::collection::vec((any::<proptest::sample::Index>(), 1u8..=255), 0..4),
            split in 1usize..700,
        ) {
            let name = ["tls12-aes128gcm", "tls12-aes256gcm", "tls12-chacha20", "tls13-aes256gcm", "tls13-chacha20", "tls13-keyupdate", "tls12-aes128cbc-sha", "tls12-aes256cbc-sha384"][case];
            let (segs, keys) = openssl_case(name);
            let mut c: Vec<u8> = segs.iter().filter(|s| s.0 == C).flat_map(|s| s.1.clone()).collect();
            let s: Vec<u8> = segs.iter().filter(|s| s.0 == S).flat_map(|s| s.1.clone()).collect();
            let total_flipped = flips.len();
            for (i, x) in flips {
                let at = i.index(c.len());
                c[at] ^= x;
            }
            let mut t = TlsSession::new();
            let mut ev = Vec::new();
            for (i, (cp, sp)) in c.chunks(split).zip(s.chunks(split)).enumerate() {
                t.feed(C, PacketId(i as u32), Timestamp(0), cp, Some(&keys));
                t.feed(S, PacketId(i as u32), Timestamp(0), sp, Some(&keys));
            }
            let n = c.len().div_ceil(split).min(s.len().div_ceil(split));
            for (i, cp) in c.chunks(split).enumerate().skip(n) {
                t.feed(C, PacketId(i as u32), Timestamp(0), cp, Some(&keys));
            }
            for (i, sp) in s.chunks(split).enumerate().skip(n) {
                t.feed(S, PacketId(i as u32), Timestamp(0), sp, Some(&keys));
            }
            t.finish(Some(&keys));
            ev.extend(t.drain());
            let plain = app_data(&ev, C);
            prop_assert!(plain.len() as u64 <= t.summary().encrypted[0].bytes);
            if total_flipped == 0 {
                prop_assert_eq!(plain, CLIENT_MSG);
            } else {
                // A flipped byte never yields altered plaintext: what comes out is the
                // request or nothing.
                prop_assert!(plain.is_empty() || plain == CLIENT_MSG);
            }
            // A flip in the ClientHello (its random) loses the server's data too.
            let server = app_data(&ev, S);
            prop_assert!(server == SERVER_MSG || (total_flipped > 0 && server.is_empty()));
        }
    }
}

#[test]
fn dsb_payload_is_read_like_a_key_log() {
    // A DSB's text is padded to 32 bits with NULs (pcapng §4.7).
    let (_, keys) = openssl_case("tls13-chacha20");
    let base = format!(
        "{}/src/proto/tls/testdata/tls13-chacha20.keys",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut text = std::fs::read(base).unwrap();
    while text.len() % 4 != 0 {
        text.push(0);
    }
    text.extend([0; 4]);
    let mut k = KeyLog::new();
    assert!(
        !k.add_dsb(0x1234, &text),
        "other secrets types are not key logs"
    );
    assert!(k.add_dsb(super::keylog::DSB_TLS_KEY_LOG, &text));
    assert!(k.warnings().is_empty(), "{:?}", k.warnings());
    let (segs, _) = openssl_case("tls13-chacha20");
    let (_, ev) = run(&segs, Some(&k));
    assert_eq!(app_data(&ev, C), CLIENT_MSG);
    assert_eq!(k.len(), keys.len());
}
