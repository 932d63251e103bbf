//! What a passive observer learns from a QUIC connection's Initial packets, sans-IO:
//! datagrams go in, in capture order, with a direction, a packet id and a time; a
//! [`QuicReport`] comes out. Initial keys come from the DCID of the client's first
//! Initial (RFC 9001 §5.2), or from a Retry's SCID after a Retry (RFC 9001 §5.2, RFC
//! 9000 §17.2.5); later client Initials may carry the server's chosen DCID but keep
//! those keys (PITFALLS: Chromium). Handshake and 1-RTT packets are only noted: they
//! need secrets from a key log.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::crypto_stream::CryptoStream;
use super::frame::{allowed_in_initial, parse_frames, Frame};
use super::header::{split_datagram, LongType, Packet};
use super::initial::InitialKeys;
use crate::base::{Direction, PacketId, Timestamp};
use crate::proto::tls::handshake::{client_hello, server_hello, ClientHelloInfo, ServerHelloInfo};

/// quic_transport_parameters (RFC 9001 §8.2).
pub const EXT_TRANSPORT_PARAMETERS: u16 = 0x39;

/// One packet seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketSeen {
    pub pkt: PacketId,
    pub dir: Direction,
    /// "Initial", "Handshake", "0-RTT", "Retry", "1-RTT", "VersionNegotiation", …
    pub kind: &'static str,
    pub version: Option<u32>,
    pub dcid: Vec<u8>,
    pub scid: Option<Vec<u8>>,
    /// The packet number, for Initials that opened.
    pub pn: Option<u64>,
}

/// A CONNECTION_CLOSE seen in an Initial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseSeen {
    pub pkt: PacketId,
    pub dir: Direction,
    pub app: bool,
    pub code: u64,
    pub frame_type: Option<u64>,
    /// Wire bytes: escape before printing.
    pub reason: Vec<u8>,
}

/// Something wrong or unexpected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anomaly {
    pub pkt: PacketId,
    pub what: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuicReport {
    /// The version of the client's first long header packet.
    pub version: Option<u32>,
    /// The DCID of the client's first Initial.
    pub original_dcid: Option<Vec<u8>>,
    pub packets: Vec<PacketSeen>,
    pub retry: bool,
    /// Versions a Version Negotiation packet offered.
    pub version_negotiation: Option<Vec<u32>>,
    pub client_hello: Option<ClientHelloInfo>,
    /// The raw quic_transport_parameters extension of the ClientHello.
    pub client_transport_params: Option<Vec<u8>>,
    pub server_hello: Option<ServerHelloInfo>,
    pub first_client_initial: Option<(PacketId, Timestamp)>,
    pub first_server_initial: Option<(PacketId, Timestamp)>,
    /// First short header packet, client→server then server→client.
    pub first_short: [Option<(PacketId, Timestamp)>; 2],
    pub connection_close: Option<CloseSeen>,
    pub anomalies: Vec<Anomaly>,
}

/// Per-connection state; feed it with [`QuicConnState::datagram`].
#[derive(Debug, Default)]
pub struct QuicConnState {
    report: QuicReport,
    keys: Option<InitialKeys>,
    /// The SCID each side chose: the DCID length of short headers sent to it.
    scid: [Option<Vec<u8>>; 2],
    largest_pn: [Option<u64>; 2],
    crypto: [CryptoStream; 2],
}

impl QuicConnState {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn report(&self) -> &QuicReport {
        &self.report
    }

    /// One UDP payload of this connection.
    pub fn datagram(&mut self, dir: Direction, pkt: PacketId, ts: Timestamp, payload: &[u8]) {
        let d = dir;
        // A short header's DCID is the SCID the receiver chose.
        let short_len = side(&mut self.scid, d.reverse())
            .as_ref()
            .map_or(0, Vec::len);
        let (packets, err) = split_datagram(payload, short_len);
        for p in &packets {
            self.packet(dir, pkt, ts, p);
        }
        if let Some(e) = err {
            self.anomaly(
                pkt,
                format!("QUIC header unreadable at byte {}: {}", e.offset, e.reason),
            );
        }
    }

    fn anomaly(&mut self, pkt: PacketId, what: String) {
        self.report.anomalies.push(Anomaly { pkt, what });
    }

    fn packet(&mut self, dir: Direction, pkt: PacketId, ts: Timestamp, p: &Packet<'_>) {
        let d = dir;
        let mut seen = PacketSeen {
            pkt,
            dir,
            kind: p.kind(),
            version: None,
            dcid: p.dcid().to_vec(),
            scid: p.scid().map(<[u8]>::to_vec),
            pn: None,
        };
        match p {
            Packet::VersionNegotiation { versions, .. } => {
                self.report.version_negotiation = Some(versions.clone());
            }
            Packet::Retry { version, scid, .. } => {
                seen.version = Some(*version);
                if dir == Direction::ServerToClient {
                    self.report.retry = true;
                    // The client's next Initials are protected with keys from the DCID
                    // the Retry chose (RFC 9001 §5.2).
                    self.keys = InitialKeys::new(*version, scid);
                    // The client starts its handshake over: a new ClientHello (aioquic
                    // picks a new random) from CRYPTO offset 0 (RFC 9000 §17.2.5.3); its
                    // keys are logged under the new random, so the first hello is
                    // forgotten.
                    self.crypto = Default::default();
                    self.report.client_hello = None;
                    self.report.client_transport_params = None;
                    self.largest_pn = [None, None];
                }
            }
            Packet::UnknownVersion { version, .. } => {
                seen.version = Some(*version);
                self.report.version.get_or_insert(*version);
            }
            Packet::Short { .. } => {
                side(&mut self.report.first_short, d).get_or_insert((pkt, ts));
            }
            Packet::Long {
                ty,
                version,
                dcid,
                scid,
                bytes,
                pn_offset,
                ..
            } => {
                seen.version = Some(*version);
                if dir == Direction::ClientToServer {
                    self.report.version.get_or_insert(*version);
                }
                if !scid.is_empty() || side(&mut self.scid, d).is_none() {
                    *side(&mut self.scid, d) = Some(scid.to_vec());
                }
                if *ty == LongType::Initial {
                    if dir == Direction::ClientToServer {
                        self.report.first_client_initial.get_or_insert((pkt, ts));
                        if self.report.original_dcid.is_none() {
                            self.report.original_dcid = Some(dcid.to_vec());
                            self.keys = InitialKeys::new(*version, dcid);
                        }
                    } else {
                        self.report.first_server_initial.get_or_insert((pkt, ts));
                    }
                    seen.pn = self.initial(dir, pkt, bytes, *pn_offset);
                }
            }
        }
        self.report.packets.push(seen);
    }

    /// Opens an Initial and takes its frames; returns its packet number.
    fn initial(
        &mut self,
        dir: Direction,
        pkt: PacketId,
        bytes: &[u8],
        pn_offset: usize,
    ) -> Option<u64> {
        let d = dir;
        let keys = self.keys.as_ref()?;
        let key = if dir == Direction::ClientToServer {
            &keys.client
        } else {
            &keys.server
        };
        let opened = match key.open(bytes, pn_offset, *side(&mut self.largest_pn, d)) {
            Ok(o) => o,
            Err(e) => {
                self.anomaly(pkt, format!("undecryptable Initial ({e:?})"));
                return None;
            }
        };
        let largest = side(&mut self.largest_pn, d);
        *largest = Some(largest.map_or(opened.pn, |l| l.max(opened.pn)));
        let (frames, err) = parse_frames(&opened.payload);
        for f in &frames {
            if !allowed_in_initial(f) {
                self.anomaly(pkt, format!("{} frame in an Initial", f.name()));
            }
            match f {
                Frame::Crypto { offset, data } => side(&mut self.crypto, d).insert(*offset, data),
                Frame::ConnectionClose {
                    app,
                    code,
                    frame_type,
                    reason,
                } => {
                    self.report.connection_close.get_or_insert(CloseSeen {
                        pkt,
                        dir,
                        app: *app,
                        code: *code,
                        frame_type: *frame_type,
                        reason: reason.to_vec(),
                    });
                }
                _ => {}
            }
        }
        if let Some(e) = err {
            self.anomaly(
                pkt,
                format!(
                    "bad frame at byte {} of an Initial (type {:?}): {}",
                    e.offset, e.frame_type, e.reason
                ),
            );
        }
        if side(&mut self.crypto, d).overflowed {
            self.anomaly(pkt, "CRYPTO data past the reassembly bound dropped".into());
        }
        self.hellos(dir, pkt);
        Some(opened.pn)
    }

    fn hellos(&mut self, dir: Direction, pkt: PacketId) {
        while let Some((ty, body)) = side(&mut self.crypto, dir).next_message() {
            match (dir, ty) {
                (Direction::ClientToServer, 1) if self.report.client_hello.is_none() => {
                    match client_hello(&body) {
                        Some(h) => {
                            self.report.client_hello = Some(h);
                            self.report.client_transport_params =
                                extension(&body, EXT_TRANSPORT_PARAMETERS);
                        }
                        None => self.anomaly(pkt, "malformed ClientHello".into()),
                    }
                }
                (Direction::ServerToClient, 2) if self.report.server_hello.is_none() => {
                    match server_hello(&body) {
                        Some(h) => self.report.server_hello = Some(h),
                        None => self.anomaly(pkt, "malformed ServerHello".into()),
                    }
                }
                _ => {}
            }
        }
    }
}

/// One direction's element of a per-direction pair (client→server first).
fn side<T>(pair: &mut [T; 2], dir: Direction) -> &mut T {
    match dir {
        Direction::ClientToServer => &mut pair[0],
        Direction::ServerToClient => &mut pair[1],
    }
}

/// The raw body of extension `want` in a ClientHello body (RFC 8446 §4.1.2).
pub fn extension(body: &[u8], want: u16) -> Option<Vec<u8>> {
    let mut c = super::Cur::new(body);
    c.take(2 + 32)?;
    let sid = c.u8()?;
    c.take(usize::from(sid))?;
    let suites = u16::from_be_bytes(c.take(2)?.try_into().ok()?);
    c.take(usize::from(suites))?;
    let comp = c.u8()?;
    c.take(usize::from(comp))?;
    let total = u16::from_be_bytes(c.take(2)?.try_into().ok()?);
    let mut e = super::Cur::new(c.take(usize::from(total))?);
    while !e.is_empty() {
        let ty = u16::from_be_bytes(e.take(2)?.try_into().ok()?);
        let len = u16::from_be_bytes(e.take(2)?.try_into().ok()?);
        let data = e.take(usize::from(len))?;
        if ty == want {
            return Some(data.to_vec());
        }
    }
    None
}

#[cfg(test)]
#[path = "conn_tests.rs"]
mod tests;
