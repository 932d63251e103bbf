//! The HTTP decoders a connection's application bytes feed, whether they travel in the
//! clear or come out of TLS decryption: HTTP/1.x ([`HttpConn`]) or HTTP/2 ([`H2Conn`]).
//! One place turns what they produce into packet notes and HTTP records, so HTTP over
//! TLS is the same parser, notes and records as HTTP in the clear.

use super::super::notes::{AppData, AppNote, H2FrameField, HttpNote};
use crate::base::{ConnId, Direction, PacketId, Timestamp};
use crate::proto::http::HttpConn;
use crate::proto::http2::H2Conn;
use crate::story::HttpRecord;

/// An HTTP decoder.
pub(super) enum Carried {
    Http(Box<HttpConn>),
    H2(Box<H2Conn>),
}

/// HTTP/1 decoders whose connections are done, kept for the next ones (each one's
/// queues and buffers would otherwise be allocated and freed per connection; with
/// thousands of short connections a second that was a tenth of the run in malloc).
// Boxed: a decoder moves between the pool and `Carried::Http` as a pointer.
#[allow(clippy::vec_box)]
#[derive(Default)]
pub(super) struct HttpPool(Vec<Box<HttpConn>>);

impl HttpPool {
    /// Decoders kept at most (each holds a few kilobytes of empty queues).
    const MAX: usize = 64;

    /// A decoder as [`Carried::http1`] makes it: a kept one if there is one.
    pub fn take(&mut self, max_pending: usize) -> Carried {
        match self.0.pop() {
            Some(h) => Carried::Http(h),
            None => Carried::http1(max_pending),
        }
    }

    /// A decoder whose connection is done (anything else is dropped): reset to new
    /// ([`HttpConn::recycle`]) and kept, while there is room.
    pub fn give(&mut self, c: Carried, max_pending: usize) {
        if let Carried::Http(mut h) = c {
            if self.0.len() < Self::MAX {
                h.recycle(max_pending);
                self.0.push(h);
            }
        }
    }

    /// Decoders kept now.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// What a connection's HTTP exchanges have said so far.
#[derive(Default)]
pub(super) struct HttpSeen {
    /// Host of the first exchange (`Host` or `:authority`).
    pub host: Option<String>,
    pub count: u32,
    /// First request and response `seq` not yet given a packet note (HTTP/1).
    noted: [u32; 2],
}

/// Where the output goes: the packet's notes and the finished exchanges.
pub(super) struct Sink<'a> {
    pub conn: ConnId,
    pub notes: &'a mut Vec<AppNote>,
    pub http: &'a mut Vec<HttpRecord>,
    pub seen: &'a mut HttpSeen,
    /// Keep each note's message fields for display filters.
    pub fields: bool,
    /// Write each note's Info text: only a face that shows packets reads it, and making
    /// it (escaping, formatting) was a tenth of a run that prints no packets.
    pub info: bool,
}

impl Carried {
    pub fn http1(max_pending: usize) -> Self {
        Carried::Http(Box::new(HttpConn::with_max_pending(max_pending)))
    }

    /// HTTP/2, keeping frame records for the packets' notes.
    pub fn h2() -> Self {
        Carried::H2(Box::new(H2Conn::new().keep_frames(true)))
    }

    pub fn feed(&mut self, dir: Direction, ts: Timestamp, pkt: PacketId, b: &[u8], mut s: Sink) {
        match self {
            Carried::Http(h) => h.feed(dir, ts, pkt, b),
            Carried::H2(h) => h.feed(dir, ts, pkt, b),
        }
        let h2c = match self {
            Carried::Http(h) => h.take_h2c(),
            Carried::H2(_) => None,
        };
        self.emit(&mut s);
        if let Some((request, after)) = h2c {
            // RFC 7540 §3.2: after the 101 both sides speak HTTP/2, and the upgrade
            // request is stream 1, answered in HTTP/2. The bytes already past the 101
            // (the server's SETTINGS, the client's preface) go to the new decoder.
            let mut h2 = H2Conn::after_upgrade(&request).keep_frames(true);
            let dirs = [Direction::ClientToServer, Direction::ServerToClient];
            for (dir, a) in dirs.into_iter().zip(after) {
                if let Some(a) = a {
                    h2.feed(dir, a.ts, a.pkt, &a.bytes);
                }
            }
            *self = Carried::H2(Box::new(h2));
            self.emit(&mut s);
        }
    }

    pub fn gap(&mut self, dir: Direction, ts: Timestamp, len: u64, mut s: Sink) {
        match self {
            Carried::Http(h) => h.gap(dir, ts, len),
            Carried::H2(h) => h.gap(dir, ts, len),
        }
        self.drain(&mut s);
    }

    pub fn end(&mut self, dir: Direction, ts: Timestamp, mut s: Sink) {
        match self {
            Carried::Http(h) => h.end(dir, ts),
            Carried::H2(h) => h.end(dir, ts),
        }
        self.emit(&mut s);
    }

    /// The connection or the input ended: what is still held comes out.
    pub fn finish(&mut self, ts: Timestamp, mut s: Sink) {
        match self {
            Carried::Http(h) => h.finish(ts),
            Carried::H2(h) => h.finish(ts),
        }
        self.drain(&mut s);
    }

    /// Both sides ended and everything is out: nothing more to say (HTTP/1).
    pub fn is_spent(&self) -> bool {
        matches!(self, Carried::Http(h) if h.is_spent())
    }

    fn emit(&mut self, s: &mut Sink) {
        match self {
            Carried::Http(h) => note_http(h, &mut s.seen.noted, s.notes, (s.fields, s.info)),
            Carried::H2(h) => note_h2(h, s.notes, (s.fields, s.info)),
        }
        self.drain(s);
    }

    fn drain(&mut self, s: &mut Sink) {
        let mut push = |tx: crate::proto::http::HttpTransaction| {
            if s.seen.host.is_none() {
                s.seen.host = tx.host.clone();
            }
            s.seen.count += 1;
            s.http.push(HttpRecord { conn: s.conn, tx });
        };
        match self {
            Carried::Http(h) => h.drain().for_each(&mut push),
            Carried::H2(h) => h.drain().for_each(|ex| push(ex.to_http_transaction())),
        }
    }
}

/// Notes for HTTP messages this packet completed: tshark shows a message's Info on the
/// packet that completed it (its last byte, or the FIN that ended a close-delimited
/// body). `noted` holds, for requests and responses, the `seq` of the first message not
/// yet noted, so each message is noted once, on the packet being processed when it
/// became complete.
/// `fields`: also keep the message's filterable fields ([`HttpNote`]); `info`: write
/// the Info text (else the note is there, with its protocol, and an empty text).
fn note_http(h: &HttpConn, noted: &mut [u32; 2], notes: &mut Vec<AppNote>, want: (bool, bool)) {
    let (fields, info) = want;
    for (tx, req_done, resp_done) in h.in_flight() {
        if req_done && tx.seq >= noted[0] {
            noted[0] = tx.seq + 1;
            // A request has Info when its method and target parsed.
            if tx.method.is_some() && tx.uri.is_some() {
                let text = if info { tx.request_info() } else { None };
                let mut note = AppNote::new("http", text.unwrap_or_default());
                if fields {
                    note.data = AppData::Http(Box::new(HttpNote::request(tx)));
                }
                notes.push(note);
            }
        }
        if resp_done && tx.seq >= noted[1] {
            noted[1] = tx.seq + 1;
            // A response has Info when its status parsed.
            if tx.status.is_some() {
                let text = if info { tx.response_info() } else { None };
                let mut note = AppNote::new("http", text.unwrap_or_default());
                if fields {
                    note.data = AppData::Http(Box::new(HttpNote::response(tx)));
                }
                notes.push(note);
            }
        }
    }
}

/// One note per packet for the HTTP/2 frames it completed, as tshark's Info lists them
/// (`HEADERS[1]: GET /, WINDOW_UPDATE[0]`); with `fields`, the frames' filterable
/// fields too (`http2.*`).
fn note_h2(h: &mut H2Conn, notes: &mut Vec<AppNote>, want: (bool, bool)) {
    let (fields, info) = want;
    let mut infos = Vec::new();
    let mut frames = Vec::new();
    for f in h.drain_frames() {
        infos.push(if info { f.info() } else { String::new() });
        if fields {
            frames.push(H2FrameField {
                stream: f.header.stream,
                kind: f.header.kind.code(),
                headers: f.headers.unwrap_or_default(),
            });
        }
    }
    if !infos.is_empty() {
        let mut note = AppNote::new("http2", infos.join(", "));
        if fields {
            note.data = AppData::Http2(frames.into_boxed_slice());
        }
        notes.push(note);
    }
}
