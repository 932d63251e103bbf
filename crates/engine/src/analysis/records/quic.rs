//! The `quic` object of a connection record (`conns --json`): what a QUIC connection
//! (RFC 9000) showed: version, connection IDs, the client's addresses, the handshake's
//! milestones and how it ended. The TLS facts of its handshake are the record's `tls`.

use schemars::JsonSchema;
use serde::Serialize;

use super::{guard, guard_owned, EndpointRecord, Sides, Wire};
use crate::base::hexdump::hex_string as hex;
use crate::base::Timestamp;
use crate::story::{QuicEnd, QuicSummary, TlsSummary};

/// The QUIC facts of a connection (README, "JSON Lines output").
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct QuicRecord<'a> {
    /// ALPN the server chose (its EncryptedExtensions: seen only with keys), e.g. `h3`.
    pub alpn: Option<Wire<'a>>,
    pub alpn_offered: Vec<Wire<'a>>,
    /// What went wrong reading it.
    pub anomalies: Vec<Wire<'static>>,
    /// Connection IDs the client chose (hex), in order of first sight.
    pub client_cids: Vec<String>,
    /// How it ended, when the capture shows it; null for an idle end.
    pub close: Option<QuicCloseRecord<'a>>,
    /// Some Handshake or 1-RTT packet was decrypted with the key log.
    pub decrypted: bool,
    /// Client Initial → handshake confirmed (`timings.established`), seconds.
    pub handshake: Option<f64>,
    /// The server's HANDSHAKE_DONE frame was seen (needs keys).
    pub handshake_done: bool,
    /// 1-RTT key updates each side made (RFC 9001 §6; seen with keys).
    pub key_updates: Sides<u32>,
    /// DCID of the client's first Initial (hex): the input of its Initial keys.
    pub original_dcid: Option<String>,
    /// Packets each way.
    pub packets: Sides<u64>,
    /// Client addresses used, with the time each was first seen; more than one after a
    /// migration or a NAT rebinding.
    pub paths: Vec<PathRecord>,
    /// The server asked for address validation with a Retry (one more round trip).
    pub retry: bool,
    /// Handshake round trips: 1, or 2 after a Retry or a Version Negotiation.
    pub round_trips: u8,
    /// Connection IDs the server chose (hex), in order of first sight.
    pub server_cids: Vec<String>,
    pub sni: Option<Wire<'a>>,
    pub timings: QuicTimingsRecord,
    /// The version in use: `v1`, `v2`, `draft-NN` or the version number in hex.
    pub version: Option<String>,
    /// The client's first version when the server switched to another (compatible
    /// version negotiation, RFC 9368), else null.
    pub version_from: Option<String>,
    /// Versions a Version Negotiation packet offered (hex), or null.
    pub version_negotiation: Option<Vec<String>>,
}

/// A client address and when it was first seen.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct PathRecord {
    pub first_ts: f64,
    pub ip: std::net::IpAddr,
    pub port: u16,
}

/// The handshake's milestones (seconds since the epoch, null when not seen).
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct QuicTimingsRecord {
    pub client_initial: Option<f64>,
    /// HANDSHAKE_DONE, else the later of the first short header packets each way.
    pub established: Option<f64>,
    /// First short header (1-RTT) packet each way.
    pub first_short: Sides<Option<f64>>,
    pub handshake_done: Option<f64>,
    pub server_initial: Option<f64>,
}

/// How a QUIC connection ended.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct QuicCloseRecord<'a> {
    /// `client` or `server`.
    #[schemars(extend("enum" = ["client", "server"]))]
    pub by: &'static str,
    /// Error code (transport codes RFC 9000 §20.1; application codes, e.g. HTTP/3's
    /// RFC 9114 §8.1); null for a stateless reset.
    pub code: Option<u64>,
    /// The frame type that caused a transport error, when given.
    pub frame_type: Option<u64>,
    /// `transport`, `application` (the two CONNECTION_CLOSE frames) or
    /// `stateless_reset`.
    #[schemars(extend("enum" = ["transport", "application", "stateless_reset"]))]
    pub kind: &'static str,
    pub reason: Option<Wire<'a>>,
    pub ts: f64,
}

fn ts(t: Option<Timestamp>) -> Option<f64> {
    t.map(|t| t.as_secs_f64())
}

impl<'a> QuicRecord<'a> {
    pub fn new(q: &'a QuicSummary, tls: Option<&'a TlsSummary>) -> Self {
        let established = q.established();
        QuicRecord {
            alpn: tls.and_then(|t| t.alpn.as_deref()).map(guard),
            alpn_offered: tls
                .map(|t| t.alpn_offered.iter().map(|a| guard(a)).collect())
                .unwrap_or_default(),
            anomalies: q.anomalies.iter().map(|a| guard_owned(a.clone())).collect(),
            client_cids: q.cids[0].iter().map(|c| hex(c)).collect(),
            close: q.end.as_ref().map(|e| match e {
                QuicEnd::Close {
                    by,
                    ts,
                    app,
                    code,
                    frame_type,
                    reason,
                } => QuicCloseRecord {
                    by: by.sender(),
                    code: Some(*code),
                    frame_type: *frame_type,
                    kind: if *app { "application" } else { "transport" },
                    reason: (!reason.is_empty()).then(|| guard(reason)),
                    ts: ts.as_secs_f64(),
                },
                QuicEnd::StatelessReset { by, ts } => QuicCloseRecord {
                    by: by.sender(),
                    code: None,
                    frame_type: None,
                    kind: "stateless_reset",
                    reason: None,
                    ts: ts.as_secs_f64(),
                },
            }),
            decrypted: q.decrypted,
            handshake: q
                .client_initial
                .zip(established)
                .filter(|(a, b)| b >= a)
                .map(|(a, b)| b.secs_since(a)),
            handshake_done: q.handshake_done.is_some(),
            key_updates: q.key_updates.into(),
            original_dcid: q.original_dcid.as_deref().map(hex),
            packets: q.packets.into(),
            paths: q
                .paths
                .iter()
                .map(|(e, t)| {
                    let e = EndpointRecord::from(e);
                    PathRecord {
                        first_ts: t.as_secs_f64(),
                        ip: e.ip,
                        port: e.port,
                    }
                })
                .collect(),
            retry: q.retry,
            round_trips: q.round_trips(),
            server_cids: q.cids[1].iter().map(|c| hex(c)).collect(),
            sni: tls.and_then(|t| t.sni.as_deref()).map(guard),
            timings: QuicTimingsRecord {
                client_initial: ts(q.client_initial),
                established: ts(established),
                first_short: Sides::from(q.first_short.map(ts)),
                handshake_done: ts(q.handshake_done),
                server_initial: ts(q.server_initial),
            },
            version: q.version_name(),
            version_from: q
                .first_version
                .map(crate::proto::quic::header::version_name),
            version_negotiation: q
                .version_negotiation
                .as_ref()
                .map(|v| v.iter().map(|v| format!("0x{v:08x}")).collect()),
        }
    }
}
