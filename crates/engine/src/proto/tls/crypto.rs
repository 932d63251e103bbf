//! Record protection keys and record decryption, on ring's AEADs, HMAC and HKDF, and
//! RustCrypto's `aes` + `cbc` for the TLS 1.2 CBC suites, which ring lacks (no cipher is
//! written here).
//!
//! TLS 1.2: key block = PRF(master_secret, "key expansion", server_random ‖
//! client_random) (RFC 5246 §6.3, PRF §5); AES-GCM records carry an 8-byte explicit
//! nonce after the 4-byte implicit IV (RFC 5288 §3); ChaCha20-Poly1305 uses a 12-byte IV
//! XOR the sequence number and no explicit nonce (RFC 7905 §2); the additional data is
//! seq_num ‖ type ‖ version ‖ plaintext length (RFC 5246 §6.2.3.3).
//!
//! TLS 1.2 AES-CBC (RFC 5246 §6.2.3.2): the key block starts with the two MAC keys, then
//! the two cipher keys; each record carries its own 16-byte IV (TLS 1.1+). By default the
//! MAC is computed over seq_num ‖ type ‖ version ‖ length ‖ content and encrypted with
//! it (MAC-then-encrypt: decrypt, check the padding, verify the MAC); with
//! encrypt_then_mac negotiated (RFC 7366 §3: both hellos carry extension 22) it follows
//! the ciphertext and covers seq_num ‖ type ‖ version ‖ length(IV ‖ ciphertext) ‖ IV ‖
//! ciphertext (verify, then decrypt). Either way plaintext is returned only after the MAC
//! verified. Timing is not constant (a passive analyzer has no oracle to protect). TLS
//! 1.0's chained IV and 1.0/1.1's MD5/SHA-1 PRF are not supported.
//!
//! TLS 1.3: key and IV = HKDF-Expand-Label(secret, "key"/"iv", "", len) (RFC 8446 §7.3),
//! nonce = IV XOR sequence number (§5.3), the additional data is the record header
//! (§5.2), and the inner content type is the last non-zero byte of the plaintext (§5.4).
//! KeyUpdate moves to HKDF-Expand-Label(secret, "traffic upd", "", Hash.length) (§7.2).

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::keylog::Secret;
use super::names::{Hash, Protection, Suite};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, InnerIvInit, KeyInit};
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
    /// CCM, RC4, 3DES, … or a suite missing from the table; CBC before TLS 1.2.
    Suite,
}

fn aead_alg(p: Protection) -> Result<&'static aead::Algorithm, Unsupported> {
    match p {
        Protection::Aes128Gcm => Ok(&aead::AES_128_GCM),
        Protection::Aes256Gcm => Ok(&aead::AES_256_GCM),
        Protection::Chacha20Poly1305 => Ok(&aead::CHACHA20_POLY1305),
        _ => Err(Unsupported::Suite),
    }
}

/// A CBC suite's AES key length and MAC (RFC 5246 App. C, RFC 5289 §3.2).
fn cbc_params(p: Protection) -> Option<(usize, hmac::Algorithm)> {
    match p {
        Protection::Aes128CbcSha => Some((16, hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY)),
        Protection::Aes256CbcSha => Some((32, hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY)),
        Protection::Aes128CbcSha256 => Some((16, hmac::HMAC_SHA256)),
        Protection::Aes256CbcSha256 => Some((32, hmac::HMAC_SHA256)),
        Protection::Aes256CbcSha384 => Some((32, hmac::HMAC_SHA384)),
        _ => None,
    }
}

/// An AES key schedule, expanded once per direction and epoch. Unboxed: there are two
/// per connection at most, and decrypting a record clones it.
#[derive(Clone)]
#[allow(clippy::large_enum_variant)]
enum Aes {
    A128(aes::Aes128),
    A256(aes::Aes256),
}

impl Aes {
    fn new(key: &[u8]) -> Result<Aes, Unsupported> {
        match key.len() {
            16 => aes::Aes128::new_from_slice(key)
                .map(Aes::A128)
                .map_err(|_| Unsupported::Suite),
            _ => aes::Aes256::new_from_slice(key)
                .map(Aes::A256)
                .map_err(|_| Unsupported::Suite),
        }
    }

    /// CBC-decrypts whole blocks in place; `None` if `buf` is not whole blocks.
    fn decrypt(&self, iv: &[u8], buf: &mut [u8]) -> Option<()> {
        match self {
            Aes::A128(k) => cbc::Decryptor::<aes::Aes128>::inner_iv_slice_init(k.clone(), iv)
                .ok()?
                .decrypt_padded::<NoPadding>(buf)
                .ok()
                .map(|_| ()),
            Aes::A256(k) => cbc::Decryptor::<aes::Aes256>::inner_iv_slice_init(k.clone(), iv)
                .ok()?
                .decrypt_padded::<NoPadding>(buf)
                .ok()
                .map(|_| ()),
        }
    }

    /// CBC-encrypts whole blocks in place (for `seal`).
    fn encrypt(&self, iv: &[u8], buf: &mut [u8]) {
        let n = buf.len();
        let _ = match self {
            Aes::A128(k) => cbc::Encryptor::<aes::Aes128>::inner_iv_slice_init(k.clone(), iv)
                .map(|e| e.encrypt_padded::<NoPadding>(buf, n).is_ok()),
            Aes::A256(k) => cbc::Encryptor::<aes::Aes256>::inner_iv_slice_init(k.clone(), iv)
                .map(|e| e.encrypt_padded::<NoPadding>(buf, n).is_ok()),
        };
    }
}

/// One direction's TLS 1.2 CBC keys.
struct CbcKey {
    aes: Aes,
    mac: hmac::Key,
    mac_len: usize,
    /// encrypt_then_mac was negotiated (RFC 7366).
    etm: bool,
}

const BLOCK: usize = 16;

impl CbcKey {
    fn mac(&self, seq: &[u8; 8], ty: u8, version: u16, parts: &[&[u8]]) -> hmac::Tag {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let mut ctx = hmac::Context::with_key(&self.mac);
        ctx.update(seq);
        ctx.update(&[ty]);
        ctx.update(&version.to_be_bytes());
        ctx.update(&(len as u16).to_be_bytes());
        for p in parts {
            ctx.update(p);
        }
        ctx.sign()
    }

    /// RFC 5246 §6.2.3.2 / RFC 7366 §3; the plaintext only when the MAC verified.
    fn open(&self, seq: &[u8; 8], ty: u8, version: u16, body: &[u8]) -> Result<Vec<u8>, BadTag> {
        if self.etm {
            let n = body.len().checked_sub(self.mac_len).ok_or(BadTag)?;
            let (iv_ct, mac) = body.split_at_checked(n).ok_or(BadTag)?;
            if self.mac(seq, ty, version, &[iv_ct]).as_ref() != mac {
                return Err(BadTag);
            }
            let (iv, ct) = iv_ct.split_at_checked(BLOCK).ok_or(BadTag)?;
            let mut buf = ct.to_vec();
            if buf.is_empty() || buf.len() % BLOCK != 0 {
                return Err(BadTag);
            }
            self.aes.decrypt(iv, &mut buf).ok_or(BadTag)?;
            // The MAC verified, so the padding is the sender's; a malformed one is still
            // refused rather than guessed at.
            strip_padding(&mut buf).ok_or(BadTag)?;
            Ok(buf)
        } else {
            let (iv, ct) = body.split_at_checked(BLOCK).ok_or(BadTag)?;
            let mut buf = ct.to_vec();
            if buf.is_empty() || buf.len() % BLOCK != 0 {
                return Err(BadTag);
            }
            self.aes.decrypt(iv, &mut buf).ok_or(BadTag)?;
            strip_padding(&mut buf).ok_or(BadTag)?;
            let n = buf.len().checked_sub(self.mac_len).ok_or(BadTag)?;
            let (content, mac) = buf.split_at_checked(n).ok_or(BadTag)?;
            if self.mac(seq, ty, version, &[content]).as_ref() != mac {
                return Err(BadTag);
            }
            buf.truncate(n);
            Ok(buf)
        }
    }

    /// The inverse of `open`, with the IV given (tests and measurements only).
    fn seal(&self, seq: &[u8; 8], ty: u8, version: u16, iv: &[u8; BLOCK], plain: &[u8]) -> Vec<u8> {
        let mut buf = plain.to_vec();
        if !self.etm {
            let tag = self.mac(seq, ty, version, &[plain]);
            buf.extend_from_slice(tag.as_ref());
        }
        // RFC 5246 §6.2.3.2: padding_length + 1 bytes of value padding_length.
        let pad = BLOCK - 1 - buf.len() % BLOCK;
        buf.extend(std::iter::repeat_n(pad as u8, pad + 1));
        self.aes.encrypt(iv, &mut buf);
        let mut out = iv.to_vec();
        out.extend_from_slice(&buf);
        if self.etm {
            let tag = self.mac(seq, ty, version, &[&out]);
            out.extend_from_slice(tag.as_ref());
        }
        out
    }
}

/// Removes CBC padding (RFC 5246 §6.2.3.2: each of the padding_length + 1 last bytes is
/// padding_length); `None` if it is malformed.
fn strip_padding(buf: &mut Vec<u8>) -> Option<()> {
    let pad = usize::from(*buf.last()?);
    let start = buf.len().checked_sub(pad + 1)?;
    if buf.get(start..)?.iter().all(|&b| usize::from(b) == pad) {
        buf.truncate(start);
        Some(())
    } else {
        None
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Nonce {
    /// TLS 1.2 AES-GCM: 4-byte salt + 8-byte explicit nonce from the record.
    Explicit,
    /// TLS 1.3 and TLS 1.2 ChaCha20: IV XOR seq, AAD per version.
    Xor { tls13: bool },
}

/// How a direction's records are protected (two per connection at most: unboxed).
#[allow(clippy::large_enum_variant)]
enum Cipher {
    Aead {
        key: aead::LessSafeKey,
        iv: [u8; 12],
        nonce: Nonce,
    },
    Cbc(CbcKey),
}

/// The keys of one direction and one epoch, and its record sequence number.
pub struct RecordKey {
    cipher: Cipher,
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
            cipher: Cipher::Aead {
                key: aead::LessSafeKey::new(
                    aead::UnboundKey::new(alg, &k).map_err(|_| Unsupported::Suite)?,
                ),
                iv: iv.try_into().unwrap_or([0; 12]),
                nonce: Nonce::Xor { tls13: true },
            },
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

    /// TLS 1.2 client and server write keys from the master secret (RFC 5246 §6.3),
    /// without encrypt_then_mac.
    pub fn tls12_pair(
        suite: &Suite,
        master: &[u8],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
    ) -> Result<[RecordKey; 2], Unsupported> {
        Self::tls12_keys(suite, master, client_random, server_random, 0x0303, false)
    }

    /// TLS 1.2 client and server write keys from the master secret (RFC 5246 §6.3) for a
    /// session of `version` (the ServerHello's); `etm`: both hellos carried
    /// encrypt_then_mac (RFC 7366), which matters only to CBC suites.
    pub fn tls12_keys(
        suite: &Suite,
        master: &[u8],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
        version: u16,
        etm: bool,
    ) -> Result<[RecordKey; 2], Unsupported> {
        // The PRF here is TLS 1.2's (RFC 5246 §5); earlier versions use MD5/SHA-1.
        if version != 0x0303 {
            return Err(Unsupported::Suite);
        }
        let mut seed = server_random.to_vec();
        seed.extend_from_slice(client_random);
        if let Some((kl, mac_alg)) = cbc_params(suite.protection) {
            // MAC keys first, then cipher keys (RFC 5246 §6.3); the IVs that follow are
            // not used from TLS 1.1 on (each record carries its own).
            let ml = mac_alg.digest_algorithm().output_len();
            let block = prf12(suite.hash, master, b"key expansion", &seed, 2 * ml + 2 * kl);
            let (cm, rest) = block.split_at(ml);
            let (sm, rest) = rest.split_at(ml);
            let (ck, sk) = rest.split_at(kl);
            let make = |mac: &[u8], key: &[u8]| -> Result<RecordKey, Unsupported> {
                Ok(RecordKey {
                    cipher: Cipher::Cbc(CbcKey {
                        aes: Aes::new(key)?,
                        mac: hmac::Key::new(mac_alg, mac),
                        mac_len: ml,
                        etm,
                    }),
                    seq: 0,
                    secret: Secret::new(Vec::new()),
                    hash: suite.hash,
                })
            };
            return Ok([make(cm, ck)?, make(sm, sk)?]);
        }
        let alg = aead_alg(suite.protection)?;
        let (iv_len, nonce) = match suite.protection {
            Protection::Chacha20Poly1305 => (12, Nonce::Xor { tls13: false }),
            _ => (4, Nonce::Explicit),
        };
        let kl = alg.key_len();
        let block = prf12(
            suite.hash,
            master,
            b"key expansion",
            &seed,
            2 * kl + 2 * iv_len,
        );
        let make = |key: &[u8], iv: &[u8]| -> Result<RecordKey, Unsupported> {
            let mut iv12 = [0u8; 12];
            for (d, s) in iv12.iter_mut().zip(iv) {
                *d = *s;
            }
            Ok(RecordKey {
                cipher: Cipher::Aead {
                    key: aead::LessSafeKey::new(
                        aead::UnboundKey::new(alg, key).map_err(|_| Unsupported::Suite)?,
                    ),
                    iv: iv12,
                    nonce,
                },
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
        let seq = self.seq.to_be_bytes();
        let (key, iv, nonce_kind) = match &self.cipher {
            Cipher::Aead { key, iv, nonce } => (key, *iv, *nonce),
            Cipher::Cbc(k) => {
                let plain = k.open(&seq, ty, version, body)?;
                self.seq += 1;
                return Ok((ty, plain));
            }
        };
        let tag = key.algorithm().tag_len();
        let mut nonce = iv;
        let (mut buf, aad): (Vec<u8>, Vec<u8>) = match nonce_kind {
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
        let plain = key
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(aad),
                &mut buf,
            )
            .map_err(|_| BadTag)?;
        let n = plain.len();
        buf.truncate(n);
        let inner = if nonce_kind == (Nonce::Xor { tls13: true }) {
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
    /// never encrypts); TLS 1.2 AES-GCM uses the sequence number as explicit nonce, CBC
    /// an IV made of the sequence number.
    pub fn seal(&mut self, ty: u8, version: u16, plain: &[u8]) -> Vec<u8> {
        let seq = self.seq.to_be_bytes();
        self.seq += 1;
        let (key, iv, nonce_kind) = match &self.cipher {
            Cipher::Aead { key, iv, nonce } => (key, *iv, *nonce),
            Cipher::Cbc(k) => {
                let mut iv = [0x5a; BLOCK];
                iv[8..].copy_from_slice(&seq);
                return k.seal(&seq, ty, version, &iv, plain);
            }
        };
        let tag = key.algorithm().tag_len();
        let mut nonce = iv;
        let mut buf = plain.to_vec();
        let (prefix, aad) = match nonce_kind {
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
        let _ = key.seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(aad),
            &mut buf,
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 3602 §4 (AES-CBC test vectors), cases 2 and 4, through the wrapper the CBC
    /// suites use.
    #[test]
    fn aes_cbc_rfc3602_vectors() {
        for (key, iv, plain, cipher) in [
            (
                "c286696d887c9aa0611bbb3e2025a45a",
                "562e17996d093d28ddb3ba695a2e6f58",
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                "d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1",
            ),
            (
                "56e47a38c5598974bc46903dba290349",
                "8ce82eefbea0da3c44699ed7db51b7d9",
                "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\
                 c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf",
                "c30e32ffedc0774e6aff6af0869f71aa0f3af07a9a31a9c684db207eb0ef8e4e\
                 35907aa632c3ffdf868bb7b29d3d46ad83ce9f9a102ee99d49a53e87f4c3da55",
            ),
        ] {
            let strip = |s: &str| s.split_whitespace().collect::<String>();
            let (key, iv) = (h(key), h(iv));
            let (plain, cipher) = (h(&strip(plain)), h(&strip(cipher)));
            let aes = Aes::new(&key).unwrap();
            let mut buf = cipher.clone();
            aes.decrypt(&iv, &mut buf).unwrap();
            assert_eq!(buf, plain);
            aes.encrypt(&iv, &mut buf);
            assert_eq!(buf, cipher);
            // Not whole blocks: refused, not padded.
            assert!(aes.decrypt(&iv, &mut buf[..17]).is_none());
        }
    }

    #[test]
    fn cbc_padding_is_checked_byte_by_byte() {
        let mut ok = vec![9, 9, 2, 2, 2];
        assert_eq!(strip_padding(&mut ok), Some(()));
        assert_eq!(ok, [9, 9]);
        assert_eq!(strip_padding(&mut vec![9, 1, 2, 2]), None);
        assert_eq!(
            strip_padding(&mut vec![3, 3]),
            None,
            "longer than the record"
        );
        assert_eq!(strip_padding(&mut vec![]), None);
        let mut zero = vec![7, 0];
        assert_eq!(strip_padding(&mut zero), Some(()));
        assert_eq!(zero, [7]);
    }
}
