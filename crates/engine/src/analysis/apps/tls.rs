//! A TLS connection's application layer: the session (handshake facts, record counts,
//! decryption with the key log) and, once records decrypt, the HTTP decoder the
//! plaintext feeds — the same one as in the clear ([`Carried`]), chosen by the ALPN the
//! server picked (RFC 7301 §3.2) or, without one, by the first plaintext bytes.

use super::super::notes::{AppData, AppNote, TlsField, TlsHandshakeField};
use super::carried::{Carried, HttpSeen, Sink};
use crate::base::escape::escape_str;
use crate::base::{Anomaly, ConnId, Direction, PacketId, Timestamp};
use crate::proto::http::looks_like_http;
use crate::proto::http2::looks_like_h2;
use crate::proto::tls::{names, Event, HandshakeMsg, KeyLog, RecordSeen, TlsSession, TlsSummary};
use crate::story::HttpRecord;

/// Most anomalies kept per connection (the rest are counted by the limits).
const MAX_ANOMALIES: usize = 32;

pub(super) struct TlsApp {
    session: TlsSession,
    /// The HTTP decoder of the plaintext: `None` until the first decrypted bytes.
    inner: Option<Carried>,
    /// Decrypted bytes that were neither HTTP/1 nor HTTP/2: counted, not decoded.
    opaque: bool,
    pub anomalies: Vec<Anomaly>,
}

/// What the session's events go to.
pub(super) struct Out<'a> {
    pub conn: ConnId,
    pub notes: &'a mut Vec<AppNote>,
    pub http: &'a mut Vec<HttpRecord>,
    pub seen: &'a mut HttpSeen,
    pub fields: bool,
    /// Write the notes' Info text (see [`Sink::info`]).
    pub info: bool,
    pub http_pending: usize,
    /// The packet's TLS facts for display filters (`Some` once the packet shows as
    /// `tls`); only touched when `fields` is set.
    pub tls: &'a mut Option<Vec<TlsField>>,
}

impl Out<'_> {
    pub fn sink(&mut self) -> Sink<'_> {
        Sink {
            conn: self.conn,
            notes: self.notes,
            http: self.http,
            seen: self.seen,
            fields: self.fields,
            info: self.info,
        }
    }
}

impl TlsApp {
    /// Its records are logged: the packet list names them, and display filters read
    /// them (`Out::fields`).
    pub fn new() -> Self {
        let mut session = TlsSession::new();
        // Always: the packet list names the records each packet completed.
        session.log_records(true);
        TlsApp {
            session,
            inner: None,
            opaque: false,
            anomalies: Vec::new(),
        }
    }

    pub fn feed(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        pkt: PacketId,
        bytes: &[u8],
        keys: Option<&KeyLog>,
        mut out: Out,
    ) {
        // tshark shows `tls` on a packet whose bytes begin a record, even one that ends
        // in a later packet (the segments in between are only TCP).
        if out.fields && !bytes.is_empty() && self.session.at_record_start(dir) {
            out.tls.get_or_insert_with(Vec::new);
        }
        self.session.feed(dir, pkt, ts, bytes, keys);
        self.events(&mut out);
    }

    /// `len` bytes are missing before the next ones (`pkt` is the packet being read).
    pub fn gap(
        &mut self,
        dir: Direction,
        (pkt, ts): (PacketId, Timestamp),
        len: u64,
        keys: Option<&KeyLog>,
        mut out: Out,
    ) {
        self.session.gap(dir, pkt, ts, len, keys);
        self.events(&mut out);
        if let Some(c) = &mut self.inner {
            c.gap(dir, ts, len, out.sink());
        }
    }

    pub fn end(&mut self, dir: Direction, ts: Timestamp, mut out: Out) {
        if let Some(c) = &mut self.inner {
            c.end(dir, ts, out.sink());
        }
    }

    /// The key log grew: records that waited for keys are tried again.
    pub fn retry(&mut self, keys: Option<&KeyLog>, mut out: Out) {
        self.session.retry(keys);
        self.events(&mut out);
    }

    /// The connection or the input ended.
    pub fn finish(&mut self, ts: Timestamp, keys: Option<&KeyLog>, mut out: Out) {
        self.session.finish(keys);
        self.events(&mut out);
        if let Some(c) = &mut self.inner {
            c.finish(ts, out.sink());
        }
    }

    /// The session's summary once a hello was seen (a connection that only looked
    /// like TLS has none), with the client's highest offered version.
    pub fn summary(&self) -> Option<TlsSummary> {
        let s = self.session.summary();
        (s.client_hello_ts.is_some() || s.server_hello_ts.is_some()).then(|| s.clone())
    }

    fn events(&mut self, out: &mut Out) {
        let events: Vec<Event> = self.session.drain().collect();
        let records: Vec<RecordSeen> = self.session.drain_records().collect();
        if out.fields {
            self.fields(&records, &events, out);
        }
        let tls13 = self.session.summary().version == Some(0x0304);
        let info = records_info(&records, &events, tls13);
        let first_note = out.notes.len();
        for ev in events {
            match ev {
                // Notes as tshark's Info has them on the packets of the plaintext hellos.
                Event::Handshake {
                    msg: HandshakeMsg::ClientHello(h),
                    decrypted: false,
                    ..
                } => {
                    let info = match &h.sni {
                        Some(s) => format!("Client Hello (SNI={})", escape_str(s)),
                        None => "Client Hello".to_string(),
                    };
                    let mut note = AppNote::new("tls", info);
                    if out.fields {
                        note.data = AppData::TlsClientHello { sni: h.sni.clone() };
                    }
                    out.notes.push(note);
                }
                Event::Handshake {
                    msg: HandshakeMsg::ServerHello(_),
                    decrypted: false,
                    ..
                } => {
                    let mut note = AppNote::new("tls", "Server Hello".to_string());
                    if out.fields {
                        note.data = AppData::TlsServerHello;
                    }
                    out.notes.push(note);
                }
                Event::AppData { dir, pkt, ts, data } => self.plaintext(dir, ts, pkt, &data, out),
                Event::Anomaly { anomaly, .. } if self.anomalies.len() < MAX_ANOMALIES => {
                    self.anomalies.push(anomaly);
                }
                _ => {}
            }
        }
        // One Info for the TLS this packet completed, as tshark's packet list has it
        // ("Server Hello, Change Cipher Spec, Encrypted Extensions"); a hello's note
        // keeps its fields. Decrypted HTTP in the packet speaks for it instead.
        let Some(info) = info else { return };
        let added = out.notes.get(first_note..).unwrap_or_default();
        if added.iter().any(|n| n.proto != "tls") {
            return;
        }
        match out.notes.get_mut(first_note) {
            Some(n) => n.info = info,
            None => out.notes.push(AppNote::new("tls", info)),
        }
        out.notes.truncate(first_note + 1);
    }

    /// What display filters read (`tls.record.*`, `tls.handshake.*`,
    /// `tls.alert_message.desc`) of the records and messages that came out now: they
    /// belong to the packet being read, which completed them (tshark's attribution; a
    /// record that waited for keys lands on the packet that released it).
    fn fields(&mut self, records: &[RecordSeen], events: &[Event], out: &mut Out) {
        let tls13 = self.session.summary().version == Some(0x0304);
        let started = out.tls.is_some();
        let mut list = out.tls.take().unwrap_or_default();
        for r in records {
            list.push(TlsField::Record {
                content_type: if r.protected && tls13 {
                    r.inner
                } else {
                    Some(r.content_type)
                },
                version: r.version,
            });
        }
        for ev in events {
            match ev {
                Event::Handshake { msg, .. } => {
                    list.push(TlsField::Handshake(Box::new(handshake_field(msg))));
                }
                Event::Alert { description, .. } => list.push(TlsField::Alert(*description)),
                _ => {}
            }
        }
        // Nothing read (bytes in the middle of a record): the packet is `tls` only if
        // its bytes began a record (see `feed`).
        if started || !list.is_empty() {
            *out.tls = Some(list);
        }
    }

    /// Decrypted application data: into the HTTP decoder, picked on the first bytes.
    fn plaintext(&mut self, dir: Direction, ts: Timestamp, pkt: PacketId, b: &[u8], out: &mut Out) {
        if self.opaque {
            return;
        }
        if self.inner.is_none() {
            let alpn = self.session.summary().alpn.as_deref();
            self.inner = match alpn {
                Some("h2") => Some(Carried::h2()),
                Some(a) if a.starts_with("http/1") => Some(Carried::http1(out.http_pending)),
                _ if looks_like_h2(b) => Some(Carried::h2()),
                _ if looks_like_http(b) => Some(Carried::http1(out.http_pending)),
                _ => None,
            };
            if self.inner.is_none() {
                self.opaque = true;
                return;
            }
        }
        if let Some(c) = &mut self.inner {
            c.feed(dir, ts, pkt, b, out.sink());
        }
    }
}

/// A handshake message's filterable fields; the type code is RFC 8446 §4's (RFC 5246
/// §7.4 for the TLS 1.2 messages).
fn handshake_field(msg: &HandshakeMsg) -> TlsHandshakeField {
    let kind = match msg {
        HandshakeMsg::ClientHello(h) => {
            return TlsHandshakeField {
                kind: 1,
                version: Some(h.legacy_version),
                ciphersuites: h.cipher_suites.clone(),
                sni: h.sni.clone(),
                alpn: h.alpn.clone(),
            }
        }
        HandshakeMsg::ServerHello(h) => {
            return TlsHandshakeField {
                kind: 2,
                version: Some(h.legacy_version),
                ciphersuites: vec![h.cipher],
                sni: None,
                alpn: h.alpn.iter().cloned().collect(),
            }
        }
        HandshakeMsg::EncryptedExtensions { alpn, .. } => {
            return TlsHandshakeField {
                kind: 8,
                alpn: alpn.iter().cloned().collect(),
                ..TlsHandshakeField::default()
            }
        }
        HandshakeMsg::NewSessionTicket { .. } => 4,
        HandshakeMsg::EndOfEarlyData => 5,
        HandshakeMsg::Certificate { .. } => 11,
        HandshakeMsg::ServerKeyExchange { .. } => 12,
        HandshakeMsg::CertificateRequest => 13,
        HandshakeMsg::ServerHelloDone => 14,
        HandshakeMsg::CertificateVerify => 15,
        HandshakeMsg::ClientKeyExchange => 16,
        HandshakeMsg::Finished => 20,
        HandshakeMsg::KeyUpdate { .. } => 24,
        HandshakeMsg::Other(t) => *t,
    };
    TlsHandshakeField {
        kind,
        ..TlsHandshakeField::default()
    }
}

/// The packet-list Info of the records a packet completed, in order, as tshark 4.0
/// writes it: handshake messages by name (a plaintext handshake record takes the
/// plaintext messages that came out, a decrypted one the decrypted messages), `Change
/// Cipher Spec`, `Application Data`, `Alert (Level: Fatal, Description: …)`, and for
/// records not decrypted `Encrypted Handshake Message` / `Encrypted Alert` (TLS 1.2; in
/// TLS 1.3 every protected record reads `Application Data`, RFC 8446 §5.2). `None` when
/// the packet completed no record.
fn records_info(records: &[RecordSeen], events: &[Event], tls13: bool) -> Option<String> {
    if records.is_empty() {
        return None;
    }
    let mut plain = events.iter().filter_map(|e| match e {
        Event::Handshake {
            msg,
            decrypted: false,
            ..
        } => Some(msg),
        _ => None,
    });
    let mut secret = events.iter().filter_map(|e| match e {
        Event::Handshake {
            msg,
            decrypted: true,
            ..
        } => Some(msg),
        _ => None,
    });
    let mut alerts = events.iter().filter_map(|e| match e {
        Event::Alert {
            level, description, ..
        } => Some((*level, *description)),
        _ => None,
    });
    let mut parts: Vec<String> = Vec::new();
    let mut push = |p: String| {
        // A run of one kind reads once per record, as tshark lists it, but bounded.
        if parts.len() < 16 {
            parts.push(p);
        }
    };
    for r in records {
        let kind = if r.protected {
            r.inner.or((!tls13).then_some(r.content_type))
        } else {
            Some(r.content_type)
        };
        let decrypted = r.protected && r.inner.is_some();
        match (kind, r.protected, decrypted) {
            (Some(22), false, _) => plain.by_ref().for_each(|m| push(message_info(m))),
            (Some(22), true, true) => secret.by_ref().for_each(|m| push(message_info(m))),
            (Some(22), true, false) => push("Encrypted Handshake Message".into()),
            (Some(20), ..) => push("Change Cipher Spec".into()),
            (Some(21), true, false) => push("Encrypted Alert".into()),
            (Some(21), ..) => {
                if let Some((level, d)) = alerts.next() {
                    push(format!(
                        "Alert (Level: {}, Description: {})",
                        title(&names::alert_level_name(level)),
                        title(&names::alert_description_name(d))
                    ));
                }
            }
            (Some(24), ..) => push("Heartbeat".into()),
            _ => push("Application Data".into()),
        }
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// A handshake message as tshark's Info names it: "Client Hello (SNI=…)", "Server
/// Hello", "Encrypted Extensions", "New Session Ticket", …
fn message_info(m: &HandshakeMsg) -> String {
    if let HandshakeMsg::ClientHello(h) = m {
        if let Some(s) = &h.sni {
            return format!("Client Hello (SNI={})", escape_str(s));
        }
    }
    let name = m.name();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            out.push(' ');
        }
        out.push(c);
    }
    escape_str(&out)
}

/// `close_notify` → `Close Notify`, `fatal` → `Fatal`.
fn title(s: &str) -> String {
    s.split(['_', ' '])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}
