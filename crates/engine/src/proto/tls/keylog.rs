//! NSS key log files (`SSLKEYLOGFILE`, the format Chromium, Firefox and curl write; also
//! the text of a pcapng Decryption Secrets Block of type `TLSK`, pcapng spec §4.7):
//! lines `LABEL <client_random hex> <secret hex>`, `#` comments and blank lines.
//!
//! The log maps a ClientHello random to the secrets of that session. A line that does not
//! parse is a [`KeyLogWarning`] naming its line number and is skipped. A log read from a
//! file can be [`refreshed`](KeyLog::refresh): only the bytes appended since the last
//! read are parsed, and a last line without its newline waits for the rest, because a
//! browser appends keys while a live capture runs. Secrets are held in [`Secret`], whose
//! `Debug` never shows the bytes, and no error or warning quotes a line.

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Secret bytes; `Debug` prints only their length, so a `{:?}` of any structure holding
/// one cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }
    /// The bytes, for key derivation only.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes redacted>)", self.0.len())
    }
}

/// The secrets logged for one session (one ClientHello random).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionSecrets {
    /// TLS ≤ 1.2 master secret (`CLIENT_RANDOM`, 48 bytes).
    pub master: Option<Secret>,
    /// TLS 1.3 (RFC 8446 §7.1).
    pub client_early: Option<Secret>,
    pub client_handshake: Option<Secret>,
    pub server_handshake: Option<Secret>,
    pub client_traffic0: Option<Secret>,
    pub server_traffic0: Option<Secret>,
}

impl SessionSecrets {
    /// True when nothing was logged (never stored that way).
    pub fn is_empty(&self) -> bool {
        *self == SessionSecrets::default()
    }
}

/// A line that was skipped, and why. Never contains the line's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyLogWarning {
    /// 1-based line number within its source.
    pub line: usize,
    pub reason: &'static str,
}

impl fmt::Display for KeyLogWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key log line {}: {}, skipped", self.line, self.reason)
    }
}

/// pcapng DSB secrets type of TLS key logs (`TLSK`).
pub const DSB_TLS_KEY_LOG: u32 = 0x544c_534b;

/// Longest line kept while waiting for its newline; a longer one is garbage.
const MAX_LINE: usize = 1024;

/// Parsed key log: client_random → secrets.
#[derive(Default)]
pub struct KeyLog {
    map: HashMap<[u8; 32], SessionSecrets>,
    warnings: Vec<KeyLogWarning>,
    /// The file followed by `refresh`, the offset read up to, and the unfinished last line.
    path: Option<PathBuf>,
    offset: u64,
    partial: Vec<u8>,
    /// Lines seen so far (for warnings' line numbers across refreshes).
    lines: usize,
    /// An overlong line was dropped: skip the rest of it up to its newline.
    skip_to_newline: bool,
}

impl fmt::Debug for KeyLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyLog")
            .field("sessions", &self.map.len())
            .field("warnings", &self.warnings.len())
            .field("path", &self.path)
            .finish()
    }
}

impl KeyLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a whole key log file; a last line without newline counts as complete. Use
    /// [`KeyLog::follow`] for a file that is still being written.
    pub fn read(path: &Path) -> std::io::Result<KeyLog> {
        let text = std::fs::read(path)?;
        let mut k = KeyLog::new();
        k.add_text(&text);
        Ok(k)
    }

    /// Opens a key log that a browser may still append to: reads what is there now;
    /// [`KeyLog::refresh`] reads what comes later.
    pub fn follow(path: &Path) -> std::io::Result<KeyLog> {
        let mut k = KeyLog {
            path: Some(path.to_path_buf()),
            ..KeyLog::default()
        };
        k.refresh()?;
        Ok(k)
    }

    /// Reads the bytes appended to the followed file since the last read (nothing for a
    /// log not made by [`KeyLog::follow`]). Returns how many secrets were added. A file that shrank (rewritten) is read again from its start.
    pub fn refresh(&mut self) -> std::io::Result<usize> {
        let Some(path) = self.path.clone() else {
            return Ok(0);
        };
        let mut f = std::fs::File::open(&path)?;
        let len = f.metadata()?.len();
        if len < self.offset {
            self.offset = 0;
            self.partial.clear();
        }
        f.seek(SeekFrom::Start(self.offset))?;
        let mut buf = Vec::new();
        f.take(len - self.offset).read_to_end(&mut buf)?;
        self.offset += buf.len() as u64;
        let before = self.secret_count();
        let mut data = std::mem::take(&mut self.partial);
        data.extend_from_slice(&buf);
        if self.skip_to_newline {
            // The rest of an overlong line: dropped up to its newline.
            let Some(i) = memchr::memchr(b'\n', &data) else {
                return Ok(0);
            };
            data.drain(..=i);
            self.lines += 1;
            self.skip_to_newline = false;
        }
        let complete = match memchr::memrchr(b'\n', &data) {
            Some(i) => i + 1,
            None => 0,
        };
        self.add_lines(data.get(..complete).unwrap_or_default());
        let rest = data.get(complete..).unwrap_or_default();
        if rest.len() > MAX_LINE {
            self.warnings.push(KeyLogWarning {
                line: self.lines + 1,
                reason: "line too long",
            });
            // Drop it; what follows its next newline is read normally.
            self.partial.clear();
            self.skip_to_newline = true;
        } else {
            self.partial = rest.to_vec();
        }
        Ok(self.secret_count() - before)
    }

    /// Adds key log text (a whole file, or a DSB's payload: trailing NUL padding is
    /// ignored). A last line without newline is parsed as complete.
    pub fn add_text(&mut self, text: &[u8]) {
        let end = text.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        self.add_lines(text.get(..end).unwrap_or_default());
    }

    /// Adds the secrets of a pcapng Decryption Secrets Block (block type 0x0000000A):
    /// only secrets type `TLSK` (0x544c534b, NSS key log text) is read; returns whether
    /// it was. Warnings' line numbers count on from earlier text.
    pub fn add_dsb(&mut self, secrets_type: u32, data: &[u8]) -> bool {
        if secrets_type != DSB_TLS_KEY_LOG {
            return false;
        }
        self.add_text(data);
        true
    }

    fn add_lines(&mut self, text: &[u8]) {
        for raw in text.split(|&b| b == b'\n') {
            self.lines += 1;
            if let Err(reason) = self.add_line(raw) {
                self.warnings.push(KeyLogWarning {
                    line: self.lines,
                    reason,
                });
            }
        }
        // `split` yields one empty piece after a final newline: not a line.
        if text.last() == Some(&b'\n') {
            self.lines -= 1;
        }
    }

    fn add_line(&mut self, raw: &[u8]) -> Result<(), &'static str> {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line = std::str::from_utf8(line).map_err(|_| "not text")?.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(());
        }
        let mut parts = line.split_ascii_whitespace();
        let (Some(label), Some(random), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("expected LABEL CLIENT_RANDOM SECRET");
        };
        let random: [u8; 32] = hex(random)
            .ok_or("client random is not hex")?
            .try_into()
            .map_err(|_| "client random is not 32 bytes")?;
        let secret = hex(secret).ok_or("secret is not hex")?;
        let e = match label {
            "CLIENT_RANDOM" => {
                if secret.len() != 48 {
                    return Err("master secret is not 48 bytes");
                }
                Entry::Master
            }
            "CLIENT_EARLY_TRAFFIC_SECRET" => Entry::ClientEarly,
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => Entry::ClientHs,
            "SERVER_HANDSHAKE_TRAFFIC_SECRET" => Entry::ServerHs,
            "CLIENT_TRAFFIC_SECRET_0" => Entry::Client0,
            "SERVER_TRAFFIC_SECRET_0" => Entry::Server0,
            // Known labels wiretale has no use for; OpenSSL's `*_TRAFFIC_SECRET_N` (the
            // secret after a KeyUpdate) is derived here from secret 0 instead.
            "EXPORTER_SECRET"
            | "EARLY_EXPORTER_SECRET"
            | "ECH_SECRET"
            | "ECH_CONFIG"
            | "CLIENT_TRAFFIC_SECRET_N"
            | "SERVER_TRAFFIC_SECRET_N" => return Ok(()),
            _ => return Err("unknown label"),
        };
        if e != Entry::Master && secret.len() != 32 && secret.len() != 48 {
            return Err("traffic secret is not 32 or 48 bytes");
        }
        let s = self.map.entry(random).or_default();
        let slot = match e {
            Entry::Master => &mut s.master,
            Entry::ClientEarly => &mut s.client_early,
            Entry::ClientHs => &mut s.client_handshake,
            Entry::ServerHs => &mut s.server_handshake,
            Entry::Client0 => &mut s.client_traffic0,
            Entry::Server0 => &mut s.server_traffic0,
        };
        *slot = Some(Secret(secret));
        Ok(())
    }

    /// The secrets of the session whose ClientHello carried `client_random`.
    pub fn get(&self, client_random: &[u8; 32]) -> Option<&SessionSecrets> {
        self.map.get(client_random)
    }

    /// Sessions known.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Lines skipped so far, in order.
    pub fn warnings(&self) -> &[KeyLogWarning] {
        &self.warnings
    }

    /// The key log text (NSS format) of the given sessions, for writing into a pcapng
    /// DSB when exporting: only the sessions asked for, never the whole log.
    pub fn export(&self, randoms: &[[u8; 32]]) -> String {
        let mut out = String::new();
        for r in randoms {
            let Some(s) = self.map.get(r) else { continue };
            let rows = [
                ("CLIENT_RANDOM", &s.master),
                ("CLIENT_EARLY_TRAFFIC_SECRET", &s.client_early),
                ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", &s.client_handshake),
                ("SERVER_HANDSHAKE_TRAFFIC_SECRET", &s.server_handshake),
                ("CLIENT_TRAFFIC_SECRET_0", &s.client_traffic0),
                ("SERVER_TRAFFIC_SECRET_0", &s.server_traffic0),
            ];
            for (label, v) in rows {
                if let Some(v) = v {
                    out.push_str(&format!("{label} {} {}\n", to_hex(r), to_hex(&v.0)));
                }
            }
        }
        out
    }

    fn secret_count(&self) -> usize {
        self.map
            .values()
            .map(|s| {
                [
                    &s.master,
                    &s.client_early,
                    &s.client_handshake,
                    &s.server_handshake,
                    &s.client_traffic0,
                    &s.server_traffic0,
                ]
                .iter()
                .filter(|v| v.is_some())
                .count()
            })
            .sum()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Entry {
    Master,
    ClientEarly,
    ClientHs,
    ServerHs,
    Client0,
    Server0,
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.as_bytes()
        .chunks(2)
        .map(|p| {
            let d = |c: u8| (c as char).to_digit(16);
            match *p {
                [hi, lo] => Some((d(hi)? * 16 + d(lo)?) as u8),
                _ => None,
            }
        })
        .collect()
}

pub(crate) fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
