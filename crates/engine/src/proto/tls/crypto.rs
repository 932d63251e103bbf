//! Record protection keys and record decryption, on ring's AEADs, HMAC and HKDF (no
//! cipher is written here).
//!
//! TLS 1.2: key block = PRF(master_secret, "key expansion", server_random ‖
//! client_random) (RFC 5246 §6.3, PRF §5); AES-GCM records carry an 8-byte explicit
//! nonce after the 4-byte implicit IV (RFC 5288 §3); ChaCha20-Poly1305 uses a 12-byte IV
//! XOR the sequence number and no explicit nonce (RFC 7905 §2); the additional data is
//! seq_num ‖ type ‖ version ‖ plaintext length (RFC 5246 §6.2.3.3).
//!
//! TLS 1.3: key and IV = HKDF-Expand-Label(secret, "key"/"iv", "", len) (RFC 8446 §7.3),
//! nonce = IV XOR sequence number (§5.3), the additional data is the record header
//! (§5.2), and the inner content type is the last non-zero byte of the plaintext (§5.4).
//! KeyUpdate moves to HKDF-Expand-Label(secret, "traffic upd", "", Hash.length) (§7.2).

use super::keylog::Secret;
use super::names::{Hash, Protection, Suite};
use ring::{aead, hkdf, hmac};

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn hkdf_alg(h: Hash) -> hkdf::Algorithm {
    match h {
        Hash::Sha256 => hkdf::HKDF_SHA256,
        Hash::Sha384 => hkdf::HKDF_SHA384,
    }
}

fn hash_len(h: Hash) -> usize {
    match h {
        Hash::Sha256 => 32,
        Hash::Sha384 => 48,
    }
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with the "tls13 " prefix.
pub fn hkdf_expand_label(
    h: Hash,
    secret: &[u8],
    label: &[u8],
    context: &[u8],
    len: usize,
) -> Vec<u8> {
    let prk = hkdf::Prk::new_less_safe(hkdf_alg(h), secret);
    let full_len = (6 + label.len()) as u8;
    let out_len = (len as u16).to_be_bytes();
    let info: [&[u8]; 6] = [
        &out_len,
        std::slice::from_ref(&full_len),
        b"tls13 ",
        label,
        &[context.len() as u8],
        context,
    ];
    let mut out = vec![0; len];
    // Fails only for len > 255 × hash length; every caller asks for ≤ 48 bytes.
    if let Ok(okm) = prk.expand(&info, Len(len)) {
        let _ = okm.fill(&mut out);
    }
    out
}

/// The TLS 1.2 PRF: P_hash(secret, label ‖ seed) (RFC 5246 §5).
pub fn prf12(h: Hash, secret: &[u8], label: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let alg = match h {
        Hash::Sha256 => hmac::HMAC_SHA256,
        Hash::Sha384 => hmac::HMAC_SHA384,
    };
    let key = hmac::Key::new(alg, secret);
    let mut label_seed = label.to_vec();
    label_seed.extend_from_slice(seed);
    let mut a = hmac::sign(&key, &label_seed).as_ref().to_vec();
    let mut out = Vec::with_capacity(len + 48);
    while out.len() < len {
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(&a);
        ctx.update(&label_seed);
        out.extend_from_slice(ctx.sign().as_ref());
        a = hmac::sign(&key, &a).as_ref().to_vec();
    }
    out.truncate(len);
    out
}

/// Why a suite's records cannot be decrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsupported {
    /// CBC, CCM, RC4, … or a suite missing from the table.
    Suite,
}

fn aead_alg(p: Protection) -> Result<&'static aead::Algorithm, Unsupported> {
    match p {
        Protection::Aes128Gcm => Ok(&aead::AES_128_GCM),
        Protection::Aes256Gcm => Ok(&aead::AES_256_GCM),
        Protection::Chacha20Poly1305 => Ok(&aead::CHACHA20_POLY1305),
        Protection::Cbc | Protection::Other => Err(Unsupported::Suite),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Nonce {
    /// TLS 1.2 AES-GCM: 4-byte salt + 8-byte explicit nonce from the record.
    Explicit,
    /// TLS 1.3 and TLS 1.2 ChaCha20: IV XOR seq, AAD per version.
    Xor { tls13: bool },
}

/// The keys of one direction and one epoch, and its record sequence number.
pub struct RecordKey {
    key: aead::LessSafeKey,
    iv: [u8; 12],
    nonce: Nonce,
    /// Next record's sequence number (RFC 8446 §5.3, RFC 5246 §6.1).
    pub seq: u64,
    /// TLS 1.3: the traffic secret, for KeyUpdate; empty in 1.2.
    secret: Secret,
    hash: Hash,
}

impl std::fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecordKey(seq {}, keys redacted)", self.seq)
    }
}

/// A record that did not authenticate under the key (wrong key, wrong sequence number,
/// corruption).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadTag;

impl RecordKey {
    /// TLS 1.3 keys from a traffic secret.
    pub fn tls13(suite: &Suite, secret: &[u8]) -> Result<RecordKey, Unsupported> {
        let alg = aead_alg(suite.protection)?;
        let k = hkdf_expand_label(suite.hash, secret, b"key", b"", alg.key_len());
        let iv = hkdf_expand_label(suite.hash, secret, b"iv", b"", 12);
        Ok(RecordKey {
            key: aead::LessSafeKey::new(
                aead::UnboundKey::new(alg, &k).map_err(|_| Unsupported::Suite)?,
            ),
            iv: iv.try_into().unwrap_or([0; 12]),
            nonce: Nonce::Xor { tls13: true },
            seq: 0,
            secret: Secret::new(secret.to_vec()),
            hash: suite.hash,
        })
    }

    /// The next epoch after a KeyUpdate (RFC 8446 §7.2), sequence number 0.
    pub fn updated(&self, suite: &Suite) -> Result<RecordKey, Unsupported> {
        let next = hkdf_expand_label(
            self.hash,
            self.secret.expose(),
            b"traffic upd",
            b"",
            hash_len(self.hash),
        );
        RecordKey::tls13(suite, &next)
    }

    /// TLS 1.2 client and server write keys from the master secret (RFC 5246 §6.3).
    pub fn tls12_pair(
        suite: &Suite,
        master: &[u8],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
    ) -> Result<[RecordKey; 2], Unsupported> {
        let alg = aead_alg(suite.protection)?;
        let (iv_len, nonce) = match suite.protection {
            Protection::Chacha20Poly1305 => (12, Nonce::Xor { tls13: false }),
            _ => (4, Nonce::Explicit),
        };
        let kl = alg.key_len();
        let mut seed = server_random.to_vec();
        seed.extend_from_slice(client_random);
        let block = prf12(
            suite.hash,
            master,
            b"key expansion",
            &seed,
            2 * kl + 2 * iv_len,
        );
        let make = |key: &[u8], iv: &[u8]| -> Result<RecordKey, Unsupported> {
            let mut iv12 = [0u8; 12];
            iv12[..iv.len()].copy_from_slice(iv);
            Ok(RecordKey {
                key: aead::LessSafeKey::new(
                    aead::UnboundKey::new(alg, key).map_err(|_| Unsupported::Suite)?,
                ),
                iv: iv12,
                nonce,
                seq: 0,
                secret: Secret::new(Vec::new()),
                hash: suite.hash,
            })
        };
        let (ck, rest) = block.split_at(kl);
        let (sk, rest) = rest.split_at(kl);
        let (civ, siv) = rest.split_at(iv_len);
        Ok([make(ck, civ)?, make(sk, siv)?])
    }

    /// Decrypts one record body (`ty` and `version` from its header). On success the
    /// sequence number advances and the plaintext is returned with its content type
    /// (the inner type in TLS 1.3, the outer one in 1.2). On failure nothing changes, so
    /// the caller can try another key on the same record.
    pub fn open(&mut self, ty: u8, version: u16, body: &[u8]) -> Result<(u8, Vec<u8>), BadTag> {
        let tag = self.key.algorithm().tag_len();
        let mut nonce = self.iv;
        let seq = self.seq.to_be_bytes();
        let (mut buf, aad): (Vec<u8>, Vec<u8>) = match self.nonce {
            Nonce::Explicit => {
                let (explicit, ct) = body.split_at_checked(8).ok_or(BadTag)?;
                nonce[4..].copy_from_slice(explicit);
                let plain_len = ct.len().checked_sub(tag).ok_or(BadTag)?;
                (ct.to_vec(), aad12(&seq, ty, version, plain_len))
            }
            Nonce::Xor { tls13 } => {
                for (n, s) in nonce[4..].iter_mut().zip(seq) {
                    *n ^= s;
                }
                let plain_len = body.len().checked_sub(tag).ok_or(BadTag)?;
                let aad = if tls13 {
                    let l = (body.len() as u16).to_be_bytes();
                    vec![ty, (version >> 8) as u8, version as u8, l[0], l[1]]
                } else {
                    aad12(&seq, ty, version, plain_len)
                };
                (body.to_vec(), aad)
            }
        };
        let plain = self
            .key
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(aad),
                &mut buf,
            )
            .map_err(|_| BadTag)?;
        let n = plain.len();
        buf.truncate(n);
        let inner = if self.nonce == (Nonce::Xor { tls13: true }) {
            // RFC 8446 §5.4: strip zero padding; the last non-zero byte is the type.
            // All zeros (no type) authenticated but is a protocol error: type 0.
            let end = buf.iter().rposition(|&b| b != 0).unwrap_or(0);
            let t = buf.get(end).copied().unwrap_or(0);
            buf.truncate(end);
            t
        } else {
            ty
        };
        self.seq += 1;
        Ok((inner, buf))
    }
}

impl RecordKey {
    /// Protects `plain` as one record body of type `ty` (TLS 1.3: the outer type is 23 and
    /// `ty` goes inside) at the current sequence number, which advances. The inverse of
    /// [`RecordKey::open`], for tests and the throughput measurement (wiretale itself
    /// never encrypts); TLS 1.2 AES-GCM uses the sequence number as explicit nonce.
    pub fn seal(&mut self, ty: u8, version: u16, plain: &[u8]) -> Vec<u8> {
        let tag = self.key.algorithm().tag_len();
        let mut nonce = self.iv;
        let seq = self.seq.to_be_bytes();
        let mut buf = plain.to_vec();
        let (prefix, aad) = match self.nonce {
            Nonce::Explicit => {
                nonce[4..].copy_from_slice(&seq);
                (seq.to_vec(), aad12(&seq, ty, version, plain.len()))
            }
            Nonce::Xor { tls13 } => {
                for (n, s) in nonce[4..].iter_mut().zip(seq) {
                    *n ^= s;
                }
                if tls13 {
                    buf.push(ty);
                    let l = ((buf.len() + tag) as u16).to_be_bytes();
                    (Vec::new(), vec![23, 3, 3, l[0], l[1]])
                } else {
                    (Vec::new(), aad12(&seq, ty, version, plain.len()))
                }
            }
        };
        // Sealing fails only past the AEAD's length limit, far above a record.
        let _ = self.key.seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(aad),
            &mut buf,
        );
        self.seq += 1;
        let mut out = prefix;
        out.extend_from_slice(&buf);
        out
    }
}

fn aad12(seq: &[u8; 8], ty: u8, version: u16, len: usize) -> Vec<u8> {
    let mut a = seq.to_vec();
    a.push(ty);
    a.extend_from_slice(&version.to_be_bytes());
    a.extend_from_slice(&(len as u16).to_be_bytes());
    a
}
