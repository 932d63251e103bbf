//! A QUIC connection's decoder (RFC 9000): its datagrams go to
//! [`crate::proto::quic::QuicConnState`]; what comes out becomes packet notes, the
//! connection IDs the flow table joins migrated datagrams by, the connection's
//! [`QuicSummary`] and the TLS facts of its handshake ([`TlsSummary`]).

use super::super::notes::{AppData, AppNote, QuicPacketField, TlsField, TlsHandshakeField};
use crate::base::escape::escape_str;
use crate::base::{Direction, Endpoint, PacketId, Timestamp};
use crate::proto::http3::H3Conn;
use crate::proto::quic::conn::{PacketSeen, QuicEvent};
use crate::proto::quic::tree::info;
use crate::proto::quic::{QuicConnState, QuicReport};
use crate::proto::tls::fingerprint;
use crate::proto::tls::handshake::{ClientHelloInfo, ServerHelloInfo};
use crate::proto::tls::KeyLog;
use crate::story::{QuicEnd, QuicSummary, TlsSummary};

/// Client addresses remembered per connection.
const MAX_PATHS: usize = 16;
/// Connection IDs remembered per side.
pub(super) const MAX_CIDS: usize = 16;

pub(super) struct QuicApp {
    pub state: QuicConnState,
    server: Endpoint,
    paths: Vec<(Endpoint, Timestamp)>,
    /// Packets each way.
    packets: [u64; 2],
    /// Connection IDs handed to the flow table's join index, to take back at the end.
    pub registered: Vec<Box<[u8]>>,
    /// How many IDs [`Self::cids`] listed when they were last registered.
    pub cids_seen: usize,
    /// How it ended (CONNECTION_CLOSE or stateless reset), from the events.
    end: Option<QuicEnd>,
    /// HTTP/3 over its streams (RFC 9114), made when stream bytes first arrive on a
    /// connection whose ALPN is h3 (or, unseen, offered h3).
    pub h3: Option<Box<H3Conn>>,
}

impl QuicApp {
    pub fn new(server: Endpoint) -> Self {
        QuicApp {
            state: QuicConnState::new(),
            server,
            paths: Vec::new(),
            packets: [0; 2],
            registered: Vec::new(),
            cids_seen: 0,
            end: None,
            h3: None,
        }
    }

    /// One datagram: its packet note (Info, and with `fields` what display filters
    /// read: the packets' headers and frames, and the TLS hellos it completed). Its
    /// events wait in the state for [`Self::events`].
    pub fn datagram(
        &mut self,
        (dir, pkt, ts): (Direction, PacketId, Timestamp),
        payload: &[u8],
        keys: Option<&KeyLog>,
        (want_info, fields): (bool, bool),
    ) -> (AppNote, Vec<TlsField>) {
        self.packets[dir.index()] += 1;
        let had = (
            self.state.report().client_hello.is_some(),
            self.state.report().server_hello.is_some(),
        );
        let seen = self.state.datagram(dir, pkt, ts, payload, keys);
        let r = self.state.report();
        let text = if want_info {
            escape_str(&info(&seen))
        } else {
            String::new()
        };
        let mut note = AppNote::new("quic", text);
        let mut tls = Vec::new();
        if fields {
            note.data = AppData::Quic(seen.iter().map(packet_field).collect());
            if let Some(h) = r.client_hello.as_ref().filter(|_| !had.0) {
                tls.push(TlsField::Handshake(Box::new(TlsHandshakeField {
                    kind: 1,
                    version: Some(h.legacy_version),
                    ciphersuites: h.cipher_suites.clone(),
                    sni: h.sni.clone(),
                    alpn: h.alpn.clone(),
                })));
            }
            if let Some(h) = r.server_hello.as_ref().filter(|_| !had.1) {
                tls.push(TlsField::Handshake(Box::new(TlsHandshakeField {
                    kind: 2,
                    version: Some(h.legacy_version),
                    ciphersuites: vec![h.cipher],
                    sni: None,
                    alpn: h.alpn.iter().cloned().collect(),
                })));
            }
        }
        (note, tls)
    }

    /// What happened since the last call, in order: stream bytes go to HTTP/3, the
    /// connection's end is kept for its summary.
    pub fn events(&mut self) {
        let events: Vec<QuicEvent> = self.state.drain_events().collect();
        for e in &events {
            match e {
                QuicEvent::Stream {
                    id,
                    dir,
                    pkt,
                    ts,
                    data,
                    fin,
                    ..
                } => {
                    if let Some(h3) = self.http3() {
                        h3.stream(*id, *dir, *pkt, *ts, data, *fin);
                    }
                }
                QuicEvent::StreamGap { id, dir, len } => {
                    if let Some(h3) = self.http3() {
                        h3.stream_gap(*id, *dir, *len);
                    }
                }
                QuicEvent::ResetStream {
                    id,
                    dir,
                    code,
                    pkt,
                    ts,
                } => {
                    if let Some(h3) = self.h3.as_mut() {
                        h3.reset(*id, *dir, *code, *pkt, *ts);
                    }
                }
                QuicEvent::Close {
                    dir,
                    ts,
                    app,
                    code,
                    frame_type,
                    reason,
                    ..
                } if self.end.is_none() => {
                    self.end = Some(QuicEnd::Close {
                        by: *dir,
                        ts: *ts,
                        app: *app,
                        code: *code,
                        frame_type: *frame_type,
                        reason: String::from_utf8_lossy(reason).into_owned(),
                    });
                }
                QuicEvent::StatelessReset { dir, ts, .. } if self.end.is_none() => {
                    self.end = Some(QuicEnd::StatelessReset { by: *dir, ts: *ts });
                }
                _ => {}
            }
        }
    }

    /// The HTTP/3 decoder, made on first use when the ALPN says h3 (RFC 9114 §3.1: the
    /// token `h3`; drafts were `h3-NN`); a connection of another application protocol
    /// (DNS over QUIC, say) has none.
    fn http3(&mut self) -> Option<&mut H3Conn> {
        if self.h3.is_none() {
            if !self.state.report().carries_h3() {
                return None;
            }
            self.h3 = Some(Box::new(H3Conn::new()));
        }
        self.h3.as_deref_mut()
    }

    /// The client's address on this datagram (`src`→`dst`), remembered if new.
    pub fn path(&mut self, src: Endpoint, dst: Endpoint, ts: Timestamp) {
        let client = if dst == self.server { src } else { dst };
        if self.paths.len() < MAX_PATHS && !self.paths.iter().any(|(e, _)| *e == client) {
            self.paths.push((client, ts));
        }
    }

    /// Connection IDs naming either end so far (long headers, NEW_CONNECTION_ID with
    /// keys): what a datagram to this connection on another path carries as its DCID.
    pub fn cids(&self) -> impl Iterator<Item = &Vec<u8>> + '_ {
        let r = self.state.report();
        r.client_cids.iter().chain(&r.server_cids)
    }

    pub fn summary(&self) -> QuicSummary {
        let r = self.state.report();
        let end = self.end.clone().or_else(|| {
            // A CONNECTION_CLOSE in an Initial is in the report too.
            r.connection_close.as_ref().map(|c| QuicEnd::Close {
                by: c.dir,
                ts: Timestamp::default(),
                app: c.app,
                code: c.code,
                frame_type: c.frame_type,
                reason: String::from_utf8_lossy(&c.reason).into_owned(),
            })
        });
        let mut anomalies: Vec<String> = r.anomalies.iter().map(|a| a.what.clone()).collect();
        if r.anomalies_dropped > 0 {
            anomalies.push(format!("{} more anomalies not kept", r.anomalies_dropped));
        }
        if r.keys_missing {
            anomalies.push("the key log has no secrets for this connection".into());
        }
        if r.retry_integrity_ok == Some(false) {
            anomalies.push("the Retry's integrity tag does not verify (RFC 9001 §5.8)".into());
        }
        QuicSummary {
            version: r.negotiated_version.or(r.version),
            first_version: r.negotiated_version.and(r.version),
            version_negotiation: r.version_negotiation.clone(),
            original_dcid: r.original_dcid.clone(),
            cids: [
                r.client_cids.iter().take(MAX_CIDS).cloned().collect(),
                // The original DCID was the client's pick, named on its own.
                r.server_cids
                    .iter()
                    .filter(|c| Some(*c) != r.original_dcid.as_ref())
                    .take(MAX_CIDS)
                    .cloned()
                    .collect(),
            ],
            paths: self.paths.clone(),
            retry: r.retry,
            client_initial: r.first_client_initial.map(|p| p.1),
            server_initial: r.first_server_initial.map(|p| p.1),
            handshake_done: r.handshake_done.map(|p| p.1),
            first_short: r.first_short.map(|p| p.map(|p| p.1)),
            decrypted: r.decrypted,
            keys_missing: r.keys_missing,
            key_updates: r.key_updates,
            end,
            packets: self.packets,
            anomalies,
        }
    }

    /// The TLS facts of the handshake QUIC carried (RFC 9001 §4): the hellos, read
    /// from the Initial packets with or without keys, and with keys the ALPN the
    /// server chose.
    pub fn tls(&self) -> Option<TlsSummary> {
        let r = self.state.report();
        if r.client_hello.is_none() && r.server_hello.is_none() {
            return None;
        }
        let mut s = TlsSummary::default();
        if let Some(h) = &r.client_hello {
            client_hello(&mut s, h, r);
        }
        if let Some(h) = &r.server_hello {
            server_hello(&mut s, h, r);
        }
        s.alpn = r.alpn.clone().or(s.alpn);
        s.decrypted = r.decrypted;
        Some(s)
    }
}

fn client_hello(s: &mut TlsSummary, h: &ClientHelloInfo, r: &QuicReport) {
    s.client_hello_ts = r.first_client_initial.map(|p| p.1);
    s.sni.clone_from(&h.sni);
    s.client_version = h
        .supported_versions
        .iter()
        .copied()
        .chain([h.legacy_version])
        .max();
    s.alpn_offered.clone_from(&h.alpn);
    s.resumption.offered_ticket = h.ticket;
    s.resumption.offered_psk = h.psk;
    s.early_data_offered = h.early_data;
    s.ech = h.ech;
    s.grease = h.grease;
    s.ja3_string = Some(fingerprint::ja3_string(h));
    s.ja3 = Some(fingerprint::ja3(h));
    // JA4's first character is the transport: `q` for QUIC (JA4 spec, "a" part).
    s.ja4 = Some(fingerprint::ja4(h)).map(|j| match j.strip_prefix('t') {
        Some(rest) => format!("q{rest}"),
        None => j,
    });
}

fn server_hello(s: &mut TlsSummary, h: &ServerHelloInfo, r: &QuicReport) {
    s.server_hello_ts = r.first_server_initial.map(|p| p.1);
    s.version = Some(h.version);
    s.cipher = Some(h.cipher);
    s.group = h.key_share_group;
    s.resumption.resumed = h.psk_selected.is_some();
}

/// A packet as display filters read it.
fn packet_field(p: &PacketSeen) -> QuicPacketField {
    let frames = p.frames.iter().map(|f| f.ty).collect();
    let long_type = match p.kind {
        "Initial" => Some(0),
        "0-RTT" => Some(1),
        "Handshake" => Some(2),
        "Retry" => Some(3),
        _ => None,
    };
    QuicPacketField {
        long: p.kind != "1-RTT",
        long_type,
        version: p.version,
        dcid: p.dcid.clone(),
        scid: p.scid.clone(),
        pn: p.pn,
        frames,
    }
}
