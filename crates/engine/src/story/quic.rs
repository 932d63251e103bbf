//! What the engine found on a QUIC connection (RFC 9000), beside the TLS facts its
//! handshake carried ([`super::TlsSummary`]): versions, connection IDs, the addresses
//! the client used, the handshake's milestones and how it ended.

use crate::base::{Direction, Endpoint, Timestamp};
use crate::proto::quic::frame::transport_error_name;
use crate::proto::quic::header::version_name;

/// How a QUIC connection ended, when the capture shows it.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum QuicEnd {
    /// CONNECTION_CLOSE (RFC 9000 §19.19): the transport's (`app` false) or the
    /// application's error `code`; the reason is wire text (escape before printing).
    Close {
        by: Direction,
        ts: Timestamp,
        app: bool,
        code: u64,
        frame_type: Option<u64>,
        reason: String,
    },
    /// A stateless reset (RFC 9000 §10.3): an endpoint that lost the connection's state.
    StatelessReset { by: Direction, ts: Timestamp },
}

/// A QUIC connection's summary.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct QuicSummary {
    /// The version in use: the client's first long header's (RFC 9000 §15), or the
    /// one the server switched to (RFC 9368 §2.3).
    pub version: Option<u32>,
    /// After such a switch, the client's first version.
    pub first_version: Option<u32>,
    /// Versions a Version Negotiation packet offered (RFC 9000 §17.2.1).
    pub version_negotiation: Option<Vec<u32>>,
    /// The DCID of the client's first Initial: its Initial keys' input (RFC 9001 §5.2).
    pub original_dcid: Option<Vec<u8>>,
    /// Connection IDs each side chose for itself (long headers' SCIDs, NEW_CONNECTION_ID
    /// frames), [client, server], in order of first sight.
    pub cids: [Vec<Vec<u8>>; 2],
    /// Client addresses the connection used, with the time each was first seen (more
    /// than one: a migration or a NAT rebinding, RFC 9000 §9).
    pub paths: Vec<(Endpoint, Timestamp)>,
    pub retry: bool,
    pub client_initial: Option<Timestamp>,
    pub server_initial: Option<Timestamp>,
    /// The server's HANDSHAKE_DONE (RFC 9001 §4.1.2), visible with keys.
    pub handshake_done: Option<Timestamp>,
    /// The first short header packet each way, [client→server, server→client].
    pub first_short: [Option<Timestamp>; 2],
    /// Some Handshake or 1-RTT packet was decrypted.
    pub decrypted: bool,
    /// A key log was given but has no secrets for this connection.
    pub keys_missing: bool,
    /// Key updates (RFC 9001 §6), [client→server, server→client].
    pub key_updates: [u32; 2],
    pub end: Option<QuicEnd>,
    /// Packets each way.
    pub packets: [u64; 2],
    /// What went wrong reading it, as text.
    pub anomalies: Vec<String>,
}

impl QuicSummary {
    /// When the handshake was confirmed as far as the capture shows: HANDSHAKE_DONE when
    /// it was decrypted, else the first short header packet that went each way (both
    /// sides had 1-RTT keys by then).
    pub fn established(&self) -> Option<Timestamp> {
        self.handshake_done.or_else(|| {
            let [c, s] = self.first_short;
            c.zip(s).map(|(c, s)| c.max(s))
        })
    }

    /// Round trips the handshake took: 1, or 2 after a Retry (RFC 9000 §8.1.2) or a
    /// Version Negotiation.
    pub fn round_trips(&self) -> u8 {
        1 + u8::from(self.retry) + u8::from(self.version_negotiation.is_some())
    }

    /// `v1`, `v2` or the hex number of another version.
    pub fn version_name(&self) -> Option<String> {
        self.version.map(version_name)
    }
}

impl QuicEnd {
    pub fn ts(&self) -> Timestamp {
        match self {
            QuicEnd::Close { ts, .. } | QuicEnd::StatelessReset { ts, .. } => *ts,
        }
    }

    /// "client closed (H3_NO_ERROR)", "server closed: transport error
    /// PROTOCOL_VIOLATION (frame 0x8) \"reason\"", "stateless reset by the server". The
    /// reason is wire text: escape the result before printing.
    pub fn text(&self) -> String {
        match self {
            QuicEnd::StatelessReset { by, .. } => {
                format!(
                    "stateless reset by the {} (it had lost the connection)",
                    by.sender()
                )
            }
            QuicEnd::Close {
                by,
                app,
                code,
                frame_type,
                reason,
                ..
            } => {
                let code_text = if *app {
                    crate::proto::http3::frame::error_code_text(*code)
                } else {
                    match transport_error_name(*code) {
                        Some(n) if (0x100..=0x1ff).contains(code) => {
                            format!("{n} (TLS alert {})", code - 0x100)
                        }
                        Some(n) => n.to_string(),
                        None => format!("0x{code:x}"),
                    }
                };
                let clean = *code == 0 && !*app || *code == 0x100 && *app;
                let mut s = if clean {
                    format!("{} closed ({code_text})", by.sender())
                } else {
                    let kind = if *app { "application" } else { "transport" };
                    format!("{} closed: {kind} error {code_text}", by.sender())
                };
                if let Some(f) = frame_type.filter(|f| *f != 0) {
                    s.push_str(&format!(" (frame 0x{f:x})"));
                }
                if !reason.is_empty() {
                    s.push_str(&format!(" \"{reason}\""));
                }
                s
            }
        }
    }
}
