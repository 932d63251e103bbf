//! The handshake half of a session: handshake bytes gathered across records into
//! messages (RFC 8446 §4, §5.1), and what each message tells the summary.

use super::*;

impl TlsSession {
    /// Appends handshake bytes (RFC 8446 §5.1: messages may span records) and parses
    /// every complete message (type u8, length u24, §4).
    pub(super) fn handshake_bytes(
        &mut self,
        dir: Direction,
        pkt: PacketId,
        ts: Timestamp,
        bytes: &[u8],
        decrypted: bool,
    ) {
        let d = dir.index();
        if self.sides[d].hs_broken {
            return;
        }
        if self.sides[d].hs.len() + bytes.len() > MAX_HANDSHAKE + 4 {
            self.sides[d].hs = Vec::new();
            self.sides[d].hs_broken = true;
            self.anomaly(
                dir,
                pkt,
                Anomaly::new(
                    AnomalyKind::TlsHandshakeLimit,
                    format!(
                        "handshake message over {MAX_HANDSHAKE} bytes in frame {}",
                        pkt.frame_number()
                    ),
                ),
            );
            return;
        }
        self.sides[d].hs.extend_from_slice(bytes);
        loop {
            let hs = &self.sides[d].hs;
            let (ty, len) = match hs.as_slice() {
                [ty, a, b, c, ..] => (
                    *ty,
                    usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c),
                ),
                _ => return,
            };
            if len > MAX_HANDSHAKE {
                self.sides[d].hs = Vec::new();
                self.sides[d].hs_broken = true;
                self.anomaly(
                    dir,
                    pkt,
                    Anomaly::new(
                        AnomalyKind::TlsHandshakeLimit,
                        format!(
                            "handshake message of {len} bytes in frame {}",
                            pkt.frame_number()
                        ),
                    ),
                );
                return;
            }
            let Some(body) = hs.get(4..4 + len) else {
                return;
            };
            let body = body.to_vec();
            self.sides[d].hs.drain(..4 + len);
            self.message(dir, pkt, ts, ty, &body, decrypted);
        }
    }

    fn message(
        &mut self,
        dir: Direction,
        pkt: PacketId,
        ts: Timestamp,
        ty: u8,
        body: &[u8],
        decrypted: bool,
    ) {
        let d = dir.index();
        let tls13 = self.version == Some(0x0304);
        let msg = match ty {
            1 => handshake::client_hello(body).map(|h| {
                self.client_hello(&h, ts);
                HandshakeMsg::ClientHello(Box::new(h))
            }),
            2 => handshake::server_hello(body).map(|h| {
                self.server_hello(&h, ts);
                HandshakeMsg::ServerHello(Box::new(h))
            }),
            4 => Some(HandshakeMsg::NewSessionTicket {
                lifetime: handshake::ticket_lifetime(body),
            }),
            5 => Some(HandshakeMsg::EndOfEarlyData),
            8 => handshake::encrypted_extensions(body).map(|(alpn, early_data)| {
                if alpn.is_some() {
                    self.summary.alpn.clone_from(&alpn);
                }
                self.summary.early_data_accepted = Some(early_data);
                HandshakeMsg::EncryptedExtensions { alpn, early_data }
            }),
            11 => handshake::certificate(body, tls13).map(|(chain, entries)| {
                if dir == Direction::ServerToClient && self.summary.certificates.is_empty() {
                    self.summary.certificates.clone_from(&chain);
                }
                HandshakeMsg::Certificate { chain, entries }
            }),
            12 => {
                let group = handshake::server_key_exchange_group(body);
                if group.is_some() {
                    self.summary.group = group;
                }
                Some(HandshakeMsg::ServerKeyExchange { group })
            }
            13 => Some(HandshakeMsg::CertificateRequest),
            14 => Some(HandshakeMsg::ServerHelloDone),
            15 => Some(HandshakeMsg::CertificateVerify),
            16 => Some(HandshakeMsg::ClientKeyExchange),
            20 => {
                if tls13 && decrypted {
                    self.sides[d].switch = true;
                }
                if let Some(f) = self.summary.finished.get_mut(d) {
                    f.get_or_insert(ts);
                }
                Some(HandshakeMsg::Finished)
            }
            24 => body.first().map(|&r| {
                if tls13 && decrypted {
                    self.sides[d].switch = true;
                }
                HandshakeMsg::KeyUpdate { requested: r == 1 }
            }),
            t => Some(HandshakeMsg::Other(t)),
        };
        match msg {
            Some(msg) => self.events.push(Event::Handshake {
                dir,
                pkt,
                ts,
                msg,
                decrypted,
            }),
            None => self.anomaly(
                dir,
                pkt,
                Anomaly::new(
                    if ty <= 2 {
                        AnomalyKind::TlsBadHello
                    } else {
                        AnomalyKind::TlsBadHandshake
                    },
                    format!(
                        "{} in frame {} could not be parsed",
                        names::handshake_type_name(ty),
                        pkt.frame_number()
                    ),
                ),
            ),
        }
    }

    fn client_hello(&mut self, h: &ClientHelloInfo, ts: Timestamp) {
        let s = &mut self.summary;
        // After a HelloRetryRequest the second ClientHello keeps the random (RFC 8446
        // §4.1.2); the summary describes the first.
        if self.client_random.is_some() {
            return;
        }
        self.client_random = Some(h.random);
        s.client_hello_ts = Some(ts);
        s.sni.clone_from(&h.sni);
        s.client_version = h
            .supported_versions
            .iter()
            .copied()
            .chain([h.legacy_version])
            .max();
        s.alpn_offered.clone_from(&h.alpn);
        s.resumption.offered_session_id = !h.session_id.is_empty() && !h.psk;
        s.resumption.offered_ticket = h.ticket;
        s.resumption.offered_psk = h.psk;
        s.early_data_offered = h.early_data;
        s.ech = h.ech;
        s.ech_status = h.ech.then_some(EchStatus::Offered);
        s.grease = h.grease;
        s.ja3_string = Some(super::super::fingerprint::ja3_string(h));
        s.ja3 = Some(super::super::fingerprint::ja3(h));
        s.ja4 = Some(super::super::fingerprint::ja4(h));
        self.client_session_id = h.session_id.clone();
        self.client_etm = h.extensions.contains(&handshake::ext::ENCRYPT_THEN_MAC);
    }

    fn server_hello(&mut self, h: &ServerHelloInfo, ts: Timestamp) {
        let s = &mut self.summary;
        if h.hrr {
            s.hello_retry = true;
            if h.extensions.contains(&handshake::ext::ECH) {
                self.ech_seen(EchStatus::Accepted);
            }
            return;
        }
        if self.version.is_some() {
            return;
        }
        s.server_hello_ts = Some(ts);
        s.version = Some(h.version);
        s.cipher = Some(h.cipher);
        if h.key_share_group.is_some() {
            s.group = h.key_share_group;
        }
        if h.alpn.is_some() {
            s.alpn.clone_from(&h.alpn);
        }
        s.resumption.resumed = if h.version == 0x0304 {
            h.psk_selected.is_some()
        } else {
            !h.session_id.is_empty() && h.session_id == self.client_session_id
        };
        self.version = Some(h.version);
        for side in &mut self.sides.0 {
            side.ccs |= std::mem::take(&mut side.ccs_unknown) && h.version != 0x0304;
        }
        self.server_random = Some(h.random);
        // RFC 7366 §2: the server answers the client's offer, and only for a CBC suite.
        self.server_etm = h.extensions.contains(&handshake::ext::ENCRYPT_THEN_MAC);
        self.suite = names::suite(h.cipher);
        if self.suite.is_none() || self.suite.is_some_and(|x| x.tls13 != (h.version == 0x0304)) {
            self.suite = None;
        }
    }
}
