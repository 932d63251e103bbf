//! Decryption throughput of the TLS engine on one core, in MB/s of plaintext: a real
//! OpenSSL session from `crates/engine/src/proto/tls/testdata` (handshake and keys), continued with
//! 64 MiB of 16 KiB application-data records sealed under the session's client key, fed
//! to `TlsSession` in 1448-byte segments as TCP reassembly would deliver them.
//!
//!     cargo run --release --example tls_throughput
//!
//! A measurement, not a test: nothing here asserts a time.

use std::time::Instant;
use wiretale::base::{Direction, PacketId, Timestamp};
use wiretale::proto::tls::crypto::RecordKey;
use wiretale::proto::tls::{names, Event, HandshakeMsg, KeyLog, TlsSession};

const C: Direction = Direction::ClientToServer;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn main() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crates/engine/src/proto/tls/testdata"
    );
    println!("| session | suite | MB/s (plaintext, one core) |");
    println!("|---|---|---|");
    for name in [
        "tls12-aes128gcm",
        "tls12-chacha20",
        "tls12-aes128cbc-sha",
        "tls12-aes256cbc-sha384",
        "tls13-aes256gcm",
        "tls13-chacha20",
    ] {
        let chunks = std::fs::read_to_string(format!("{dir}/{name}.chunks")).unwrap();
        let keys = KeyLog::read(std::path::Path::new(&format!("{dir}/{name}.keys"))).unwrap();
        let mut t = TlsSession::new();
        let mut server_random = [0u8; 32];
        // encrypt_then_mac (extension 22, RFC 7366) in both hellos.
        let mut etm = [false; 2];
        let mut client_app = 0u64;
        for (i, l) in chunks.lines().enumerate() {
            let (d, x) = l.split_once(' ').unwrap();
            let d = if d == "c" { C } else { C.reverse() };
            t.feed(d, PacketId(i as u32), Timestamp(0), &hex(x), Some(&keys));
            for e in t.drain() {
                match e {
                    Event::Handshake {
                        msg: HandshakeMsg::ServerHello(sh),
                        ..
                    } => {
                        server_random = sh.random;
                        etm[1] = sh.extensions.contains(&22);
                    }
                    Event::Handshake {
                        msg: HandshakeMsg::ClientHello(ch),
                        ..
                    } => etm[0] = ch.extensions.contains(&22),
                    Event::AppData { dir: C, .. } => client_app += 1,
                    _ => {}
                }
            }
        }
        let s = t.summary().clone();
        let suite = names::suite(s.cipher.unwrap()).unwrap();
        let secrets = keys.get(t.client_random().unwrap()).unwrap();
        let (mut key, seq, version) = if s.version == Some(0x0304) {
            let k = RecordKey::tls13(suite, secrets.client_traffic0.as_ref().unwrap().expose());
            (k.unwrap(), client_app, 0x0303)
        } else {
            let m = secrets.master.as_ref().unwrap().expose();
            let cr = t.client_random().unwrap();
            let both = etm[0] && etm[1];
            let [c, _] = RecordKey::tls12_keys(suite, m, cr, &server_random, 0x0303, both).unwrap();
            (c, s.encrypted[0].records, 0x0303)
        };
        key.seq = seq;
        let plain = vec![0x42u8; 16 * 1024];
        let records = 4096;
        let mut stream = Vec::with_capacity(records * (plain.len() + 64));
        for _ in 0..records {
            let body = key.seal(23, version, &plain);
            stream.extend_from_slice(&[23, 3, 3]);
            stream.extend_from_slice(&(body.len() as u16).to_be_bytes());
            stream.extend_from_slice(&body);
        }
        let start = Instant::now();
        let mut got = 0usize;
        for (i, seg) in stream.chunks(1448).enumerate() {
            t.feed(C, PacketId(1000 + i as u32), Timestamp(0), seg, Some(&keys));
            for e in t.drain() {
                if let Event::AppData { data, .. } = e {
                    got += data.len();
                }
            }
        }
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(got, records * plain.len(), "{name}: every record decrypts");
        println!(
            "| {name} | {}{} | {:.0} |",
            names::cipher_suite_name(suite.id),
            if etm == [true, true] { " (EtM)" } else { "" },
            got as f64 / secs / 1e6
        );
    }
}
