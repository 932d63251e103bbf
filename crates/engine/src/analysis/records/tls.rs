//! The `tls` object of a connection record (`conns --json`): what the TLS session found,
//! with or without keys.

use schemars::JsonSchema;
use serde::Serialize;

use super::{guard, wire, Sides, Wire};
use crate::base::{Anomaly, Timestamp};
use crate::proto::tls::{names, version_name, TlsSummary};

/// The TLS facts of a connection (README, "JSON Lines output").
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct TlsRecord<'a> {
    /// Alerts seen: `{description, from, level}`.
    pub alerts: Vec<AlertRecord>,
    /// ALPN protocol the server chose (ServerHello in TLS 1.2, EncryptedExtensions in
    /// TLS 1.3: seen only with keys).
    pub alpn: Option<Wire<'a>>,
    pub alpn_offered: Vec<Wire<'a>>,
    pub anomalies: Vec<&'static str>,
    /// Records and bytes each way (record bodies on the wire) and plaintext decrypted.
    pub app_data: Sides<CountRecord>,
    /// The server's certificate chain when it was visible (TLS ≤ 1.2, or 1.3 with keys).
    pub certificates: Vec<CertRecord<'a>>,
    /// Cipher suite by IANA name, e.g. `TLS_AES_128_GCM_SHA256`.
    pub cipher: Option<String>,
    /// Whether the records were decrypted with a key log.
    pub decrypted: bool,
    /// Encrypted Client Hello offered (extension 0xfe0d), real or GREASE.
    pub ech: bool,
    /// Only when `ech`: `offered` (real or GREASE: the ClientHello alone never tells),
    /// `accepted` (the HelloRetryRequest carries ECH), `rejected` (the client sent
    /// ech_required), `grease` (the outer handshake went on to application data); the
    /// rule is in the README.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ech_status: Option<&'static str>,
    /// The key-share group the server picked, e.g. `x25519`.
    pub group: Option<String>,
    /// ClientHello → the handshake's last Finished (the client's in TLS 1.3), seconds;
    /// null when not visible (TLS 1.3 without keys, an unfinished handshake).
    pub handshake: Option<f64>,
    /// ClientHello → ServerHello, seconds.
    pub hello: Option<f64>,
    pub hello_retry: bool,
    /// JA3 hash and JA4 client fingerprints.
    pub ja3: Option<String>,
    pub ja4: Option<String>,
    /// Why the records were not decrypted: `no key log`, `no keys for this session`, …
    pub not_decrypted: Option<String>,
    /// The session resumed an earlier one (session id, ticket or PSK accepted).
    pub resumed: bool,
    pub sni: Option<Wire<'a>>,
    /// Version the server chose.
    pub version: Option<String>,
}

/// One direction's records.
#[derive(Clone, Copy, Debug, Serialize, JsonSchema)]
pub struct CountRecord {
    pub bytes: u64,
    pub plaintext: u64,
    pub records: u64,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct AlertRecord {
    pub description: String,
    /// `client` or `server`.
    pub from: &'static str,
    pub level: String,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct CertRecord<'a> {
    pub issuer: Wire<'a>,
    pub not_after: i64,
    pub not_before: i64,
    pub sans: Vec<Wire<'a>>,
    pub subject: Wire<'a>,
}

impl<'a> TlsRecord<'a> {
    pub fn new(t: &'a TlsSummary, anomalies: &[Anomaly]) -> Self {
        let count = |d: usize| {
            let c = t.app_data.get(d).copied().unwrap_or_default();
            CountRecord {
                bytes: c.bytes,
                plaintext: c.plaintext,
                records: c.records,
            }
        };
        let secs = |a: Option<Timestamp>, b: Option<Timestamp>| {
            Some(b?.secs_since(a?)).filter(|s| *s >= 0.0)
        };
        TlsRecord {
            alerts: t
                .alerts
                .iter()
                .map(|(dir, level, d)| AlertRecord {
                    description: names::alert_description_name(*d),
                    from: dir.sender(),
                    level: names::alert_level_name(*level),
                })
                .collect(),
            alpn: wire(t.alpn.as_deref()),
            alpn_offered: t.alpn_offered.iter().map(|a| guard(a)).collect(),
            anomalies: anomalies.iter().map(|a| a.name()).collect(),
            app_data: Sides {
                client: count(0),
                server: count(1),
            },
            certificates: t
                .certificates
                .iter()
                .map(|c| CertRecord {
                    issuer: guard(&c.issuer),
                    not_after: c.not_after,
                    not_before: c.not_before,
                    sans: c.sans.iter().map(|s| guard(s)).collect(),
                    subject: guard(&c.subject),
                })
                .collect(),
            cipher: t.cipher.map(names::cipher_suite_name),
            decrypted: t.decrypted,
            ech: t.ech,
            ech_status: t.ech_status.map(|e| e.name()),
            group: t.group.map(names::group_name),
            handshake: secs(
                t.client_hello_ts,
                t.version.and_then(|v| t.handshake_end(v)),
            ),
            hello: secs(t.client_hello_ts, t.server_hello_ts),
            hello_retry: t.hello_retry,
            ja3: t.ja3.clone(),
            ja4: t.ja4.clone(),
            not_decrypted: t.not_decrypted.as_ref().map(|n| n.reason()),
            resumed: t.resumption.resumed,
            sni: wire(t.sni.as_deref()),
            version: t.version.map(version_name),
        }
    }
}
