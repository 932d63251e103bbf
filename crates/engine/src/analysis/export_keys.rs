//! The TLS keys that travel with exported packets (`export -w out.pcapng`, the TUI's
//! save): the key log lines of the sessions whose ClientHello is among the exported
//! packets, and only those, written into the new file's Decryption Secrets Block so it
//! decrypts on its own.
//!
//! A session is found by the ClientHello random at the start of a client segment: the
//! key log is indexed by that random, and a session whose ClientHello is not exported
//! cannot be decrypted from the new file anyway (nothing names its keys). Keys of other
//! connections of the input — those the user left out — are never written.

use crate::base::PacketId;
use crate::capture::{DecryptionSecrets, FrameStore};
use crate::decode;
use crate::proto::tls::KeyLog;

/// The client random of a TCP payload that starts with a TLS handshake record whose
/// first message is a ClientHello: RFC 8446 §5.1 record header (content type 22, a
/// legacy version 0x03xx, length), §4 handshake header (type 1, uint24 length), §4.1.2
/// ClientHello (legacy_version, then the 32-byte random). RFC 5246 §7.4.1.2 has the
/// same layout for TLS ≤ 1.2. A ClientHello whose first segment is shorter than 43 bytes
/// (never seen from real clients) is not recognised.
pub fn client_hello_random(payload: &[u8]) -> Option<[u8; 32]> {
    let head = payload.get(..11)?;
    let record_len = u16::from_be_bytes([*head.get(3)?, *head.get(4)?]);
    let plausible = head.first() == Some(&22)
        && head.get(1) == Some(&3)
        && head.get(5) == Some(&1)
        && record_len >= 38;
    if !plausible {
        return None;
    }
    payload.get(11..43)?.try_into().ok()
}

/// The key log an export draws from: `file` (the `--tls-keylog` given, if any) plus the
/// TLS secrets of every Decryption Secrets Block of the input indexed so far.
pub fn input_keys(store: &FrameStore, file: Option<KeyLog>) -> KeyLog {
    let mut keys = file.unwrap_or_default();
    for (_, s) in store.secrets() {
        keys.add_dsb(s.kind, &s.data);
    }
    keys
}

/// The ClientHello randoms among the packets `ids` of `store`, each once, in order.
pub fn exported_randoms(store: &FrameStore, ids: &[PacketId]) -> Vec<[u8; 32]> {
    let mut out: Vec<[u8; 32]> = Vec::new();
    for &id in ids {
        let Some(frame) = store.frame(id) else {
            continue;
        };
        let pkt = decode::decode(frame.meta.link, frame.data);
        if pkt.tcp().is_none() {
            continue;
        }
        if let Some(r) = client_hello_random(pkt.payload) {
            // A retransmitted ClientHello (or the second one after a
            // HelloRetryRequest) names the same session.
            if !out.contains(&r) {
                out.push(r);
            }
        }
    }
    out
}

/// The Decryption Secrets Block for exporting `ids`: the key log lines (NSS format) of
/// the exported sessions `keys` knows; empty when there are none.
pub fn export_secrets(
    store: &FrameStore,
    ids: &[PacketId],
    keys: &KeyLog,
) -> Vec<DecryptionSecrets> {
    if keys.is_empty() {
        return Vec::new();
    }
    let text = keys.export(&exported_randoms(store, ids));
    if text.is_empty() {
        return Vec::new();
    }
    vec![DecryptionSecrets {
        kind: DecryptionSecrets::TLS,
        data: text.into_bytes(),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::ROOT;

    #[test]
    fn a_client_hello_segment_gives_its_random_and_other_payloads_none() {
        let mut seg = vec![22, 3, 1, 0, 200, 1, 0, 0, 196, 3, 3];
        seg.extend((0u8..32).collect::<Vec<_>>());
        seg.extend([0u8; 20]);
        let want: [u8; 32] = core::array::from_fn(|i| i as u8);
        assert_eq!(client_hello_random(&seg), Some(want));
        // Application data, a ServerHello, a too-short segment: no random.
        let mut app = seg.clone();
        app[0] = 23;
        let mut sh = seg.clone();
        sh[5] = 2;
        for p in [
            &app[..],
            &sh[..],
            &seg[..42],
            b"GET / HTTP/1.1\r\n\r\n-------------------------------",
        ] {
            assert_eq!(client_hello_random(p), None);
        }
    }

    fn hex(r: &[u8; 32]) -> String {
        r.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Only the sessions whose ClientHello is exported get their keys; the other
    /// session's lines (the file's other connection) are left out.
    #[test]
    fn only_the_exported_sessions_keys_are_written() {
        let dir = std::path::Path::new(ROOT).join("tests/data/tls");
        let mut store = FrameStore::open(&dir.join("resumed.pcapng")).unwrap();
        assert!(store.index_all().is_none());
        let keys = input_keys(
            &store,
            Some(KeyLog::read(&dir.join("resumed.keys")).unwrap()),
        );
        let all: Vec<PacketId> = (0..store.len() as u32).map(PacketId).collect();
        let randoms = exported_randoms(&store, &all);
        assert_eq!(randoms.len(), 2, "two sessions, the second resumed");
        let every = export_secrets(&store, &all, &keys);
        assert_eq!(every.len(), 1);
        assert_eq!(every[0].kind, DecryptionSecrets::TLS);
        let text = String::from_utf8(every[0].data.clone()).unwrap();
        for r in &randoms {
            assert!(text.contains(&hex(r)));
        }
        // Each ClientHello's packet alone: its session's lines and no other's.
        for (k, r) in randoms.iter().enumerate() {
            let at = all
                .iter()
                .copied()
                .find(|&id| exported_randoms(&store, &[id]) == [*r])
                .unwrap();
            let one = export_secrets(&store, &[at], &keys);
            let t = String::from_utf8(one[0].data.clone()).unwrap();
            assert!(t.lines().count() >= 4, "{t}");
            assert!(t.lines().all(|l| l.contains(&hex(r))), "{t}");
            let other = randoms.get(1 - k).unwrap();
            assert!(!t.contains(&hex(other)));
        }
        // Packets without a ClientHello, or no keys: no block at all.
        let no_hello: Vec<PacketId> = all
            .iter()
            .copied()
            .filter(|&id| exported_randoms(&store, &[id]).is_empty())
            .collect();
        assert!(export_secrets(&store, &no_hello, &keys).is_empty());
        assert!(export_secrets(&store, &all, &KeyLog::new()).is_empty());
    }
}
