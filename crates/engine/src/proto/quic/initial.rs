//! Packet protection (RFC 9001 §5): Initial secrets from the client's first Destination
//! Connection ID (§5.2; version 2's salt and "quicv2" labels, RFC 9369 §3.3), packet
//! keys (§5.1), header protection removal (§5.4), packet number reconstruction (RFC 9000
//! §17.1, Appendix A.3) and AEAD opening (§5.3). The crypto is ring's.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::header::V2;
use crate::proto::tls::crypto::hkdf_expand_label;
use crate::proto::tls::names::Hash;
use ring::aead::{self, quic};
use ring::hmac;

/// RFC 9001 §5.2.
pub const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
/// RFC 9369 §3.3.1.
pub const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];

/// The AEADs QUIC packets can use (RFC 9001 §5.3); Initial packets always use AES-128-GCM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cipher {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
}

impl Cipher {
    fn key_len(self) -> usize {
        match self {
            Cipher::Aes128Gcm => 16,
            Cipher::Aes256Gcm | Cipher::ChaCha20Poly1305 => 32,
        }
    }
    fn aead(self) -> &'static aead::Algorithm {
        match self {
            Cipher::Aes128Gcm => &aead::AES_128_GCM,
            Cipher::Aes256Gcm => &aead::AES_256_GCM,
            Cipher::ChaCha20Poly1305 => &aead::CHACHA20_POLY1305,
        }
    }
    fn hp(self) -> &'static quic::Algorithm {
        match self {
            Cipher::Aes128Gcm => &quic::AES_128,
            Cipher::Aes256Gcm => &quic::AES_256,
            Cipher::ChaCha20Poly1305 => &quic::CHACHA20,
        }
    }
}

/// The client and server Initial secrets (RFC 9001 §5.2): HKDF-Extract with the
/// version's salt over the DCID of the client's first Initial, then "client in" /
/// "server in". Unknown versions have no known salt.
pub fn initial_secrets(version: u32, dcid: &[u8]) -> Option<([u8; 32], [u8; 32])> {
    let salt: &[u8] = match version {
        super::header::V1 => &SALT_V1,
        V2 => &SALT_V2,
        _ => return None,
    };
    let initial = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, salt), dcid);
    let side = |label: &[u8]| -> Option<[u8; 32]> {
        hkdf_expand_label(Hash::Sha256, initial.as_ref(), label, b"", 32)
            .try_into()
            .ok()
    };
    Some((side(b"client in")?, side(b"server in")?))
}

/// Raw key material derived from one traffic secret (RFC 9001 §5.1), kept for tests and
/// key-log users.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyMaterial {
    pub key: Vec<u8>,
    pub iv: Vec<u8>,
    pub hp: Vec<u8>,
}

/// "quic key"/"quic iv"/"quic hp" in version 1, "quicv2 …" in version 2 (RFC 9369 §3.3.2),
/// with SHA-256 (Initial secrets and the SHA-256 suites).
pub fn key_material(version: u32, cipher: Cipher, secret: &[u8]) -> KeyMaterial {
    key_material_with(version, cipher, Hash::Sha256, secret)
}

/// [`key_material`] with the HKDF hash of the negotiated suite (RFC 9001 §5.1: the
/// suite's hash, SHA-384 for TLS_AES_256_GCM_SHA384).
pub fn key_material_with(version: u32, cipher: Cipher, hash: Hash, secret: &[u8]) -> KeyMaterial {
    let (k, i, h): (&[u8], &[u8], &[u8]) = if version == V2 {
        (b"quicv2 key", b"quicv2 iv", b"quicv2 hp")
    } else {
        (b"quic key", b"quic iv", b"quic hp")
    };
    let n = cipher.key_len();
    KeyMaterial {
        key: hkdf_expand_label(hash, secret, k, b"", n),
        iv: hkdf_expand_label(hash, secret, i, b"", 12),
        hp: hkdf_expand_label(hash, secret, h, b"", n),
    }
}

/// The next 1-RTT secret after a key update (RFC 9001 §6.1): HKDF-Expand-Label(secret,
/// "quic ku", "", Hash.length), "quicv2 ku" in version 2 (RFC 9369 §3.3.2). The header
/// protection key does not change.
pub fn next_secret(version: u32, hash: Hash, secret: &[u8]) -> Vec<u8> {
    let label: &[u8] = if version == V2 {
        b"quicv2 ku"
    } else {
        b"quic ku"
    };
    let len = match hash {
        Hash::Sha256 => 32,
        Hash::Sha384 => 48,
    };
    hkdf_expand_label(hash, secret, label, b"", len)
}

/// The cipher and HKDF hash of a TLS 1.3 suite QUIC can use (RFC 9001 §5.3).
pub fn suite_cipher(suite: u16) -> Option<(Cipher, Hash)> {
    match suite {
        0x1301 => Some((Cipher::Aes128Gcm, Hash::Sha256)),
        0x1302 => Some((Cipher::Aes256Gcm, Hash::Sha384)),
        0x1303 => Some((Cipher::ChaCha20Poly1305, Hash::Sha256)),
        _ => None,
    }
}

/// RFC 9001 §5.8 (v1) and RFC 9369 §3.3.3 (v2): the fixed AES-128-GCM key and nonce of
/// the Retry Integrity Tag.
const RETRY_V1: ([u8; 16], [u8; 12]) = (
    [
        0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a, 0x1d, 0x76, 0x6b, 0x54, 0xe3, 0x68, 0xc8,
        0x4e,
    ],
    [
        0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63, 0x2b, 0xf2, 0x23, 0x98, 0x25, 0xbb,
    ],
);
const RETRY_V2: ([u8; 16], [u8; 12]) = (
    [
        0x8f, 0xb4, 0xb0, 0x1b, 0x56, 0xac, 0x48, 0xe2, 0x60, 0xfb, 0xcb, 0xce, 0xad, 0x7c, 0xcc,
        0x92,
    ],
    [
        0xd8, 0x69, 0x69, 0xbc, 0x2d, 0x7c, 0x6d, 0x99, 0x90, 0xef, 0xb0, 0x4a,
    ],
);

/// Checks a Retry's integrity tag (RFC 9001 §5.8): AES-128-GCM over nothing, with the
/// Retry Pseudo-Packet (the client's original DCID, length-prefixed, then the Retry
/// without its tag) as additional data. `retry` is the whole Retry packet, tag included.
/// None for versions without known keys or a packet shorter than its tag.
pub fn retry_integrity_ok(version: u32, odcid: &[u8], retry: &[u8]) -> Option<bool> {
    let (key, nonce) = match version {
        super::header::V1 => RETRY_V1,
        V2 => RETRY_V2,
        _ => return None,
    };
    let split = retry.len().checked_sub(16)?;
    let (body, tag) = retry.split_at(split);
    let mut aad = Vec::with_capacity(1 + odcid.len() + body.len());
    aad.push(u8::try_from(odcid.len()).ok()?);
    aad.extend_from_slice(odcid);
    aad.extend_from_slice(body);
    let k = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_128_GCM, &key).ok()?);
    let mut in_out = tag.to_vec();
    Some(
        k.open_in_place(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(&aad),
            &mut in_out,
        )
        .is_ok(),
    )
}

/// Keys that open one direction's packets of one packet number space.
pub struct PacketKey {
    aead: aead::LessSafeKey,
    iv: [u8; 12],
    hp: quic::HeaderProtectionKey,
}

impl std::fmt::Debug for PacketKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PacketKey(..)")
    }
}

/// Why a packet could not be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenError {
    /// Fewer than 4 + 16 bytes after the packet number offset (RFC 9001 §5.4.2).
    NoSample,
    /// The authentication tag did not verify: wrong keys or damaged bytes.
    BadTag,
}

/// An opened packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The unprotected header, packet number included.
    pub header: Vec<u8>,
    pub pn: u64,
    pub payload: Vec<u8>,
}

impl PacketKey {
    pub fn new(cipher: Cipher, m: &KeyMaterial) -> Option<PacketKey> {
        Some(PacketKey {
            aead: aead::LessSafeKey::new(aead::UnboundKey::new(cipher.aead(), &m.key).ok()?),
            iv: m.iv.as_slice().try_into().ok()?,
            hp: quic::HeaderProtectionKey::new(cipher.hp(), &m.hp).ok()?,
        })
    }

    /// The keys of a traffic secret.
    pub fn from_secret(version: u32, cipher: Cipher, secret: &[u8]) -> Option<PacketKey> {
        PacketKey::new(cipher, &key_material(version, cipher, secret))
    }

    /// The keys of a traffic secret of a suite with hash `hash`.
    pub fn from_secret_with(
        version: u32,
        cipher: Cipher,
        hash: Hash,
        secret: &[u8],
    ) -> Option<PacketKey> {
        PacketKey::new(cipher, &key_material_with(version, cipher, hash, secret))
    }

    /// The keys of `secret` with the header protection key `hp` of an earlier phase
    /// (after a key update, RFC 9001 §6: "The header protection key is not updated").
    pub fn with_hp(
        version: u32,
        cipher: Cipher,
        hash: Hash,
        secret: &[u8],
        hp: &[u8],
    ) -> Option<PacketKey> {
        let mut m = key_material_with(version, cipher, hash, secret);
        m.hp = hp.to_vec();
        PacketKey::new(cipher, &m)
    }

    /// Removes header protection and opens `packet` (its first byte to its end), whose
    /// packet number starts at `pn_offset`; `largest` is the largest packet number
    /// opened so far in this space (RFC 9000 Appendix A.3).
    pub fn open(
        &self,
        packet: &[u8],
        pn_offset: usize,
        largest: Option<u64>,
    ) -> Result<Opened, OpenError> {
        let u = self.unprotect(packet, pn_offset, largest)?;
        self.decrypt(u)
    }

    /// Opens a packet whose header protection `unprotect` already removed, with this
    /// key's AEAD (a key update changes the AEAD key and IV, not the header protection
    /// key: RFC 9001 §6).
    pub fn decrypt(&self, u: Unprotected) -> Result<Opened, OpenError> {
        let Unprotected {
            header,
            pn,
            mut payload,
        } = u;
        let mut nonce = self.iv;
        for (n, p) in nonce.iter_mut().skip(4).zip(pn.to_be_bytes()) {
            *n ^= p;
        }
        let plain_len = self
            .aead
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(&header),
                &mut payload,
            )
            .map_err(|_| OpenError::BadTag)?
            .len();
        payload.truncate(plain_len);
        Ok(Opened {
            header,
            pn,
            payload,
        })
    }

    /// Removes header protection (RFC 9001 §5.4) and reconstructs the packet number;
    /// the payload stays encrypted.
    pub fn unprotect(
        &self,
        packet: &[u8],
        pn_offset: usize,
        largest: Option<u64>,
    ) -> Result<Unprotected, OpenError> {
        let sample = pn_offset
            .checked_add(4)
            .and_then(|s| packet.get(s..s.checked_add(16)?))
            .ok_or(OpenError::NoSample)?;
        let mask = self.hp.new_mask(sample).map_err(|_| OpenError::NoSample)?;
        let mut buf = packet.to_vec();
        let first = buf.first_mut().ok_or(OpenError::NoSample)?;
        // Long headers protect 4 bits of the first byte, short headers 5 (§5.4.1).
        *first ^= mask[0] & if *first & 0x80 != 0 { 0x0f } else { 0x1f };
        let pn_len = usize::from(*first & 3) + 1;
        let mut truncated = 0u64;
        for (i, m) in mask.iter().skip(1).take(pn_len).enumerate() {
            let b = buf.get_mut(pn_offset + i).ok_or(OpenError::NoSample)?;
            *b ^= m;
            truncated = (truncated << 8) | u64::from(*b);
        }
        let pn = decode_pn(largest, truncated, pn_len * 8);
        let header_end = pn_offset + pn_len;
        if buf.len() < header_end {
            return Err(OpenError::NoSample);
        }
        let payload = buf.split_off(header_end);
        Ok(Unprotected {
            header: buf,
            pn,
            payload,
        })
    }
}

/// A packet without header protection, its payload still encrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unprotected {
    /// The unprotected header, packet number included.
    pub header: Vec<u8>,
    pub pn: u64,
    /// Ciphertext and tag.
    pub payload: Vec<u8>,
}

impl Unprotected {
    /// The Key Phase bit of a short header (RFC 9001 §6); None for long headers.
    pub fn key_phase(&self) -> Option<bool> {
        let first = *self.header.first()?;
        (first & 0x80 == 0).then_some(first & 0x04 != 0)
    }
}

impl PacketKey {
    /// Protects a packet: the inverse of [`PacketKey::open`], for building test packets
    /// and synthetic captures. `header` is unprotected and ends with the packet number
    /// whose length the first byte's low bits give (RFC 9001 §5.3, §5.4).
    pub fn seal(&self, header: &[u8], pn: u64, payload: &[u8]) -> Option<Vec<u8>> {
        let pn_len = usize::from(header.first()? & 3) + 1;
        let pn_offset = header.len().checked_sub(pn_len)?;
        let mut nonce = self.iv;
        for (n, p) in nonce.iter_mut().skip(4).zip(pn.to_be_bytes()) {
            *n ^= p;
        }
        let mut body = payload.to_vec();
        self.aead
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(header),
                &mut body,
            )
            .ok()?;
        let mut out = header.to_vec();
        out.extend(body);
        let sample = out.get(pn_offset + 4..pn_offset + 20)?;
        let mask = self.hp.new_mask(sample).ok()?;
        let first = out.first_mut()?;
        *first ^= mask[0] & if *first & 0x80 != 0 { 0x0f } else { 0x1f };
        for (i, m) in mask.iter().skip(1).take(pn_len).enumerate() {
            *out.get_mut(pn_offset + i)? ^= m;
        }
        Some(out)
    }
}

/// RFC 9000 Appendix A.3: the full packet number nearest the next expected one.
pub fn decode_pn(largest: Option<u64>, truncated: u64, bits: usize) -> u64 {
    let expected = largest.map_or(0, |l| l.saturating_add(1));
    let win = 1u64 << bits.min(62);
    let hwin = win / 2;
    let mask = win - 1;
    let candidate = (expected & !mask) | (truncated & mask);
    if candidate.saturating_add(hwin) <= expected && candidate < (1 << 62) - win {
        candidate + win
    } else if candidate > expected.saturating_add(hwin) && candidate >= win {
        candidate - win
    } else {
        candidate
    }
}

/// Both directions' Initial keys.
#[derive(Debug)]
pub struct InitialKeys {
    pub client: PacketKey,
    pub server: PacketKey,
}

impl InitialKeys {
    /// From the DCID of the client's first Initial (or of a Retry's SCID, RFC 9001 §5.2).
    pub fn new(version: u32, dcid: &[u8]) -> Option<InitialKeys> {
        let (c, s) = initial_secrets(version, dcid)?;
        Some(InitialKeys {
            client: PacketKey::from_secret(version, Cipher::Aes128Gcm, &c)?,
            server: PacketKey::from_secret(version, Cipher::Aes128Gcm, &s)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::quic::header::{split_datagram, Packet, V1};
    use crate::proto::quic::unhex;

    const DCID: &str = "8394c8f03e515708";
    const CLIENT_PAYLOAD: &str = "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868\
        04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578\
        616d706c652e636f6dff01000100000a00080006001d00170018001000070005\
        04616c706e000500050100000000003300260024001d00209370b2c9caa47fba\
        baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400\
        0d0010000e0403050306030203080408050806002d00020101001c0002400100\
        3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000\
        75300901100f088394c8f03e51570806048000ffff";
    const SERVER_PAYLOAD: &str = "02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf739\
        88cfc79825df566dc5430b9a045a1200130100002e00330024001d00209d3c94\
        0d89690b84d08a60993c144eca684d1081287c834d5311bcf32bb9da1a002b00\
        020304";

    fn km(key: &str, iv: &str, hp: &str) -> KeyMaterial {
        KeyMaterial {
            key: unhex(key),
            iv: unhex(iv),
            hp: unhex(hp),
        }
    }

    #[test]
    fn rfc9001_a1_keys() {
        let (c, s) = initial_secrets(V1, &unhex(DCID)).unwrap();
        assert_eq!(
            c.to_vec(),
            unhex("c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea")
        );
        assert_eq!(
            s.to_vec(),
            unhex("3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b")
        );
        assert_eq!(
            key_material(V1, Cipher::Aes128Gcm, &c),
            km(
                "1f369613dd76d5467730efcbe3b1a22d",
                "fa044b2f42a3fd3b46fb255c",
                "9f50449e04a0e810283a1e9933adedd2"
            )
        );
        assert_eq!(
            key_material(V1, Cipher::Aes128Gcm, &s),
            km(
                "cf3a5331653c364c88f0f379b6067e37",
                "0ac1493ca1905853b0bba03e",
                "c206b8d9b9f0f37644430b490eeaa314"
            )
        );
    }

    #[test]
    fn rfc9369_a1_keys() {
        let (c, s) = initial_secrets(V2, &unhex(DCID)).unwrap();
        assert_eq!(
            c.to_vec(),
            unhex("14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b")
        );
        assert_eq!(
            s.to_vec(),
            unhex("0263db1782731bf4588e7e4d93b7463907cb8cd8200b5da55a8bd488eafc37c1")
        );
        assert_eq!(
            key_material(V2, Cipher::Aes128Gcm, &c),
            km(
                "8b1a0bc121284290a29e0971b5cd045d",
                "91f73e2351d8fa91660e909f",
                "45b95e15235d6f45a6b19cbcb0294ba9"
            )
        );
        assert_eq!(
            key_material(V2, Cipher::Aes128Gcm, &s),
            km(
                "82db637861d55e1d011f19ea71d5d2a7",
                "dd13c276499c0249d3310652",
                "edf6d05c83121201b436e16877593c3a"
            )
        );
    }

    fn open_first(hex: &str, version: u32, client: bool) -> Opened {
        let bytes = unhex(hex);
        let (pkts, err) = split_datagram(&bytes, 0);
        assert_eq!(err, None);
        let Packet::Long {
            bytes: p,
            pn_offset,
            dcid,
            ..
        } = &pkts[0]
        else {
            panic!("{:?}", pkts[0]);
        };
        let keys = InitialKeys::new(version, &unhex(DCID)).unwrap();
        assert!(client == (*dcid == unhex(DCID).as_slice()));
        let key = if client { &keys.client } else { &keys.server };
        key.open(p, *pn_offset, None).unwrap()
    }

    #[test]
    fn rfc9001_a2_client_initial_opens() {
        let o = open_first(include_str!("testdata/v1_client_initial.hex"), V1, true);
        assert_eq!(
            o.header,
            unhex("c300000001088394c8f03e5157080000449e00000002")
        );
        assert_eq!(o.pn, 2);
        let mut want = unhex(CLIENT_PAYLOAD);
        want.resize(1162, 0);
        assert_eq!(o.payload, want);
    }

    #[test]
    fn sealing_the_rfc9001_a2_a3_plaintexts_gives_the_published_packets() {
        let keys = InitialKeys::new(V1, &unhex(DCID)).unwrap();
        let mut payload = unhex(CLIENT_PAYLOAD);
        payload.resize(1162, 0);
        let header = unhex("c300000001088394c8f03e5157080000449e00000002");
        let sealed = keys.client.seal(&header, 2, &payload).unwrap();
        assert_eq!(
            sealed,
            unhex(include_str!("testdata/v1_client_initial.hex"))
        );
        let header = unhex("c1000000010008f067a5502a4262b50040750001");
        let sealed = keys
            .server
            .seal(&header, 1, &unhex(SERVER_PAYLOAD))
            .unwrap();
        assert_eq!(
            sealed,
            unhex(include_str!("testdata/v1_server_initial.hex"))
        );
    }

    #[test]
    fn rfc9001_a3_server_initial_opens() {
        let o = open_first(include_str!("testdata/v1_server_initial.hex"), V1, false);
        assert_eq!(o.header, unhex("c1000000010008f067a5502a4262b50040750001"));
        assert_eq!(o.pn, 1);
        assert_eq!(o.payload, unhex(SERVER_PAYLOAD));
    }

    #[test]
    fn rfc9369_a2_a3_initials_open() {
        let o = open_first(include_str!("testdata/v2_client_initial.hex"), V2, true);
        assert_eq!(
            o.header,
            unhex("d36b3343cf088394c8f03e5157080000449e00000002")
        );
        assert_eq!(o.pn, 2);
        assert_eq!(
            &o.payload[..unhex(CLIENT_PAYLOAD).len()],
            unhex(CLIENT_PAYLOAD).as_slice()
        );
        let o = open_first(include_str!("testdata/v2_server_initial.hex"), V2, false);
        assert_eq!(o.header, unhex("d16b3343cf0008f067a5502a4262b50040750001"));
        assert_eq!(o.payload, unhex(SERVER_PAYLOAD));
    }

    #[test]
    fn chacha20_short_headers_of_rfc9001_a5_and_rfc9369_a5() {
        let secret = unhex("9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b");
        let m = key_material(V1, Cipher::ChaCha20Poly1305, &secret);
        assert_eq!(
            m.key,
            unhex("c6d98ff3441c3fe1b2182094f69caa2ed4b716b65488960a7a984979fb23e1c8")
        );
        assert_eq!(m.iv, unhex("e0459b3474bdd0e44a41c144"));
        assert_eq!(
            m.hp,
            unhex("25a282b9e82f06f21f488917a4fc8f1b73573685608597d0efcb076b0ab7a7a4")
        );
        for (version, packet) in [
            (V1, "4cfe4189655e5cd55c41f69080575d7999c25a5bfb"),
            (V2, "5558b1c60ae7b6b932bc27d786f4bc2bb20f2162ba"),
        ] {
            let key = PacketKey::from_secret(version, Cipher::ChaCha20Poly1305, &secret).unwrap();
            // A short header with an empty DCID: the packet number follows the first byte.
            let o = key.open(&unhex(packet), 1, Some(654_360_563)).unwrap();
            assert_eq!(o.header, unhex("4200bff4"), "{version:x}");
            assert_eq!(o.pn, 654_360_564);
            assert_eq!(o.payload, [0x01]);
        }
    }

    #[test]
    fn wrong_keys_and_damage_are_errors_not_panics() {
        let bytes = unhex(include_str!("testdata/v1_client_initial.hex"));
        let keys = InitialKeys::new(V1, &[1, 2, 3, 4]).unwrap();
        assert_eq!(keys.client.open(&bytes, 18, None), Err(OpenError::BadTag));
        let keys = InitialKeys::new(V1, &unhex(DCID)).unwrap();
        let mut bad = bytes.clone();
        bad[600] ^= 1;
        assert_eq!(keys.client.open(&bad, 18, None), Err(OpenError::BadTag));
        assert_eq!(
            keys.client.open(&bytes[..30], 18, None),
            Err(OpenError::NoSample)
        );
        assert_eq!(
            keys.client.open(&bytes, usize::MAX - 2, None),
            Err(OpenError::NoSample)
        );
        assert!(InitialKeys::new(0xff00_001d, &[1]).is_none());
    }

    #[test]
    fn packet_number_reconstruction_of_rfc9000_a3() {
        assert_eq!(decode_pn(Some(0xa82f30ea), 0x9b32, 16), 0xa82f9b32);
        assert_eq!(decode_pn(None, 0, 8), 0);
        assert_eq!(decode_pn(Some(0xff), 0x01, 8), 0x101);
        assert_eq!(decode_pn(Some(0x100), 0xff, 8), 0xff);
        assert_eq!(decode_pn(Some((1 << 62) - 2), 0xff, 8), (1 << 62) - 1);
        // Values past 2^62 cannot come from the wire but must not overflow.
        let _ = decode_pn(Some(u64::MAX), 0, 32);
    }
}
