//! Following a TLS connection decrypted: the conversation's plaintext, and HTTP/2 (over
//! TLS with ALPN `h2`, or cleartext by prior knowledge) as frames with decoded headers.
//!
//! [`TlsTap`] drives one [`TlsSession`] with the followed connection's reassembled bytes
//! as the analysis does (`analysis/apps/tls.rs`: feed, gap, finish, drain) and keeps what
//! a reader of the conversation wants, in the order the session reported it: decrypted
//! application data (one block per record), handshake messages by name, records that
//! were not decrypted (counted, never shown), gaps, and the session's anomalies (a
//! record that failed to authenticate or was lost is a note naming its frame; its bytes
//! are never shown as plaintext).
//!
//! [`h2_blocks`] then turns decrypted (or cleartext) HTTP/2 bytes into one block per
//! frame through [`H2Conn`] (HPACK state per direction from the connection's start,
//! RFC 7541 §2.3), and adds each stream's message body once its END_STREAM arrives, so
//! bodies display as in HTTP/1 (text, decoded, or one line for binary).

use std::collections::BTreeMap;

use crate::base::{Direction, PacketId, Timestamp};
use crate::proto::http2::frame::{error_code_text, setting_name, FRAME_HEADER_LEN};
use crate::proto::http2::{FrameDetail, FrameInfo, FrameType, H2Conn, Header};
use crate::proto::tls::{Event, KeyLog, TlsSession, TlsSummary};

/// Most body bytes kept per HTTP/2 stream and direction for display (the rest is
/// counted: the body line says it was cut).
pub const MAX_H2_BODY: usize = 16 << 20;

/// One block of a followed conversation, in the order it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub dir: Direction,
    /// The packet that completed the block (the record's last byte, the frame's last
    /// byte).
    pub pkt: PacketId,
    pub ts: Timestamp,
    pub what: What,
}

/// What a [`Block`] holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    /// Decrypted application data of one TLS record (or cleartext bytes).
    Plain(Vec<u8>),
    /// Handshake messages, by name (`ServerHello`, `Finished`); `decrypted` when they
    /// came out of protected records (TLS 1.3).
    Handshake {
        names: Vec<&'static str>,
        decrypted: bool,
    },
    /// Protected records that were not decrypted (no keys for them, an unsupported
    /// suite, rejected early data): counted, never shown.
    Encrypted { records: u64, bytes: u64 },
    /// `len` bytes of the TCP stream missing from the capture.
    Gap(u64),
    /// An alert (level, description).
    Alert { level: u8, description: u8 },
    /// An anomaly of the session (a record that failed to authenticate, a lost record):
    /// its short name and detail.
    Note { name: &'static str, detail: String },
    /// One HTTP/2 frame.
    H2Frame(Box<H2Frame>),
    /// A complete (or, at the end, incomplete) HTTP/2 message body of one stream.
    H2Body(Box<H2Body>),
}

/// One HTTP/2 frame as `follow` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct H2Frame {
    pub info: FrameInfo,
    /// DATA: the payload without padding (empty when bytes were missing).
    pub data: Vec<u8>,
}

impl H2Frame {
    /// `[stream 1] HEADERS END_STREAM END_HEADERS` plus what the frame says beyond its
    /// headers and data (settings, increments, error codes). Escaped.
    pub fn title(&self) -> String {
        let h = &self.info.header;
        let mut s = format!("[stream {}] {}", h.stream, h.kind.name());
        let flags = h.flag_names();
        if !flags.is_empty() {
            s.push(' ');
            s.push_str(&flags.replace('|', " "));
        }
        match &self.info.detail {
            FrameDetail::Data { body_len, .. } => s.push_str(&format!("  {body_len} bytes")),
            FrameDetail::Settings { params, .. } => {
                for (id, v) in params {
                    match setting_name(*id) {
                        Some(n) => s.push_str(&format!(" {n}={v}")),
                        None => s.push_str(&format!(" 0x{id:x}={v}")),
                    }
                }
            }
            FrameDetail::WindowUpdate { increment } => s.push_str(&format!(" +{increment}")),
            FrameDetail::RstStream { error } => {
                s.push(' ');
                s.push_str(&error_code_text(*error));
            }
            FrameDetail::Goaway {
                last_stream, error, ..
            } => s.push_str(&format!(
                " last stream {last_stream}, {}",
                error_code_text(*error)
            )),
            FrameDetail::PushPromise { promised, .. } => {
                s.push_str(&format!(" promised stream {promised}"));
            }
            FrameDetail::Priority(p) => s.push_str(&format!(
                " depends on {}{}, weight {}",
                p.dependency,
                if p.exclusive { " (exclusive)" } else { "" },
                u16::from(p.weight) + 1
            )),
            FrameDetail::Invalid => {
                s.push_str(&format!(
                    " [invalid: {}]",
                    self.info.error.unwrap_or("malformed")
                ));
            }
            FrameDetail::Skipped => s.push_str(" [too large, skipped]"),
            _ => {}
        }
        if self.info.headers_unreliable {
            s.push_str(" [headers unreliable: an earlier header block was lost]");
        }
        s
    }

    pub fn headers(&self) -> &[Header] {
        self.info.headers.as_deref().unwrap_or_default()
    }
}

/// One HTTP/2 message body (the DATA of one stream in one direction).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct H2Body {
    pub stream: u32,
    /// Body bytes, at most [`MAX_H2_BODY`].
    pub bytes: Vec<u8>,
    /// Bytes beyond the cap, or DATA bytes missing from the capture.
    pub missing: u64,
    /// From the message's own header block (lowercase, as HPACK gives them).
    pub content_type: String,
    pub content_encoding: String,
    /// END_STREAM was seen.
    pub complete: bool,
}

/// The decrypted conversation of one TLS connection (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct Decrypted {
    pub summary: TlsSummary,
    /// In the order the session reported them; [`What::Plain`] one per record.
    pub blocks: Vec<Block>,
}

impl Decrypted {
    /// A cleartext conversation's turns as plaintext blocks (h2c by prior knowledge is
    /// shown as decrypted HTTP/2 is); ALPN is taken to be `h2`.
    pub fn from_turns(turns: &[super::Turn]) -> Decrypted {
        let mut d = Decrypted::default();
        let mut last = (PacketId::default(), Timestamp::default());
        for t in turns {
            match t {
                super::Turn::Data {
                    dir,
                    first_pkt,
                    ts,
                    bytes,
                } => {
                    last = (*first_pkt, *ts);
                    d.blocks.push(Block {
                        dir: *dir,
                        pkt: *first_pkt,
                        ts: *ts,
                        what: What::Plain(bytes.clone()),
                    });
                }
                super::Turn::Gap { dir, len } => d.blocks.push(Block {
                    dir: *dir,
                    pkt: last.0,
                    ts: last.1,
                    what: What::Gap(*len),
                }),
            }
        }
        d.summary.alpn = Some("h2".into());
        d
    }

    /// Plaintext bytes decrypted, both ways.
    pub fn plaintext_len(&self) -> usize {
        self.blocks
            .iter()
            .map(|b| match &b.what {
                What::Plain(p) => p.len(),
                _ => 0,
            })
            .sum()
    }

    /// The application protocol of the plaintext: HTTP/2 when the server chose `h2`
    /// (RFC 7301 §3.2) or, without ALPN, when the client's first bytes are the preface.
    pub fn is_h2(&self) -> bool {
        match self.summary.alpn.as_deref() {
            Some(a) => a == "h2",
            None => {
                self.blocks.iter().find_map(|b| match &b.what {
                    What::Plain(p) if b.dir == Direction::ClientToServer => {
                        Some(crate::proto::http2::looks_like_h2(p))
                    }
                    _ => None,
                }) == Some(true)
            }
        }
    }
}

/// Drives the followed connection's [`TlsSession`]; see the module docs.
#[derive(Default)]
pub struct TlsTap {
    session: TlsSession,
    blocks: Vec<Block>,
    /// A TCP gap waits for the packet after it (the session names that frame).
    pending_gap: Option<(Direction, u64)>,
    /// Plaintext bytes kept; past the limit the conversation is cut.
    kept: usize,
    limit: usize,
    pub truncated: bool,
    last: Option<(PacketId, Timestamp)>,
}

impl TlsTap {
    pub fn new(limit: usize) -> Self {
        TlsTap {
            limit,
            ..Default::default()
        }
    }

    pub fn data(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        pkt: PacketId,
        bytes: &[u8],
        keys: Option<&KeyLog>,
    ) {
        self.last = Some((pkt, ts));
        if let Some((d, len)) = self.pending_gap.take() {
            self.session.gap(d, pkt, ts, len, keys);
        }
        self.session.feed(dir, pkt, ts, bytes, keys);
        self.drain();
    }

    pub fn gap(&mut self, dir: Direction, ts: Timestamp, len: u64, keys: Option<&KeyLog>) {
        if let Some((d, l)) = self.pending_gap.take() {
            let (pkt, ts0) = self.last.unwrap_or((PacketId(0), ts));
            self.session.gap(d, pkt, ts0, l, keys);
            self.drain();
        }
        self.pending_gap = Some((dir, len));
        let pkt = self.last.map_or(PacketId(0), |l| l.0);
        self.push(dir, pkt, ts, What::Gap(len));
    }

    pub fn finish(mut self, keys: Option<&KeyLog>) -> (Decrypted, bool) {
        if let Some((d, l)) = self.pending_gap.take() {
            let (pkt, ts) = self.last.unwrap_or_default();
            self.session.gap(d, pkt, ts, l, keys);
        }
        self.session.finish(keys);
        self.drain();
        (
            Decrypted {
                summary: self.session.summary().clone(),
                blocks: self.blocks,
            },
            self.truncated,
        )
    }

    fn push(&mut self, dir: Direction, pkt: PacketId, ts: Timestamp, what: What) {
        // Runs of the same kind in one direction read as one line.
        if let Some(last) = self.blocks.last_mut() {
            if last.dir == dir {
                match (&mut last.what, &what) {
                    (
                        What::Encrypted { records, bytes },
                        What::Encrypted {
                            records: r,
                            bytes: b,
                        },
                    ) => {
                        *records += r;
                        *bytes += b;
                        return;
                    }
                    (
                        What::Handshake { names, decrypted },
                        What::Handshake {
                            names: n,
                            decrypted: d,
                        },
                    ) if decrypted == d => {
                        names.extend_from_slice(n);
                        return;
                    }
                    (What::Gap(l), What::Gap(n)) => {
                        *l += n;
                        return;
                    }
                    _ => {}
                }
            }
        }
        self.blocks.push(Block { dir, pkt, ts, what });
    }

    fn drain(&mut self) {
        let events: Vec<Event> = self.session.drain().collect();
        for ev in events {
            match ev {
                Event::Handshake {
                    dir,
                    pkt,
                    ts,
                    msg,
                    decrypted,
                } => self.push(
                    dir,
                    pkt,
                    ts,
                    What::Handshake {
                        names: vec![msg.name()],
                        decrypted,
                    },
                ),
                Event::ChangeCipherSpec { .. } => {}
                Event::Alert {
                    dir,
                    pkt,
                    ts,
                    level,
                    description,
                    ..
                } => self.push(dir, pkt, ts, What::Alert { level, description }),
                Event::AppData { dir, pkt, ts, data } => {
                    let room = self.limit.saturating_sub(self.kept);
                    if room < data.len() {
                        self.truncated = true;
                    }
                    if room > 0 {
                        let take = data.len().min(room);
                        self.kept += take;
                        let mut data = data;
                        data.truncate(take);
                        self.push(dir, pkt, ts, What::Plain(data));
                    }
                }
                Event::Encrypted { dir, pkt, ts, len } => self.push(
                    dir,
                    pkt,
                    ts,
                    What::Encrypted {
                        records: 1,
                        bytes: len as u64,
                    },
                ),
                Event::Anomaly { dir, pkt, anomaly } => {
                    let ts = self.last.map_or(Timestamp::default(), |l| l.1);
                    self.push(
                        dir,
                        pkt,
                        ts,
                        What::Note {
                            name: anomaly.name(),
                            detail: anomaly.detail.into_owned(),
                        },
                    );
                }
            }
        }
    }
}

/// Turns the plaintext blocks of an HTTP/2 conversation into one block per frame (the
/// other blocks stay where they are), and adds each stream's body after the frame that
/// ended it. `client_preface`: the client's bytes start with the preface (always, over
/// TLS with `h2` and for prior-knowledge h2c).
pub fn h2_blocks(blocks: Vec<Block>) -> Vec<Block> {
    let mut h2 = H2Conn::new().keep_frames(true);
    let mut out = Vec::with_capacity(blocks.len());
    let mut bufs: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    // Offset of each buffer's first byte in its direction's stream.
    let mut base = [0u64; 2];
    let mut bodies: BTreeMap<(usize, u32), H2Body> = BTreeMap::new();
    let mut last_ts = Timestamp::default();
    let mut told = 0;
    for b in blocks {
        last_ts = b.ts;
        let d = b.dir.index();
        let b = &b;
        match &b.what {
            What::Plain(p) => {
                if let Some(buf) = bufs.get_mut(d) {
                    buf.extend_from_slice(p);
                }
                h2.feed(b.dir, b.ts, b.pkt, p);
            }
            What::Gap(len) => {
                h2.gap(b.dir, b.ts, *len);
                if let (Some(buf), Some(bs)) = (bufs.get_mut(d), base.get_mut(d)) {
                    *bs += buf.len() as u64 + len;
                    buf.clear();
                }
                out.push(b.clone());
            }
            _ => out.push(b.clone()),
        }
        let frames: Vec<FrameInfo> = h2.drain_frames().collect();
        for f in frames {
            frame_block(f, &mut bufs, &mut base, &mut bodies, &mut out);
        }
        // The connection's own anomalies (framing lost after a gap, HPACK errors) where
        // they happened.
        for a in h2.anomalies().get(told..).unwrap_or_default() {
            out.push(Block {
                dir: b.dir,
                pkt: b.pkt,
                ts: b.ts,
                what: What::Note {
                    name: a.name(),
                    detail: a.detail.to_string(),
                },
            });
        }
        told = h2.anomalies().len();
    }
    h2.finish(last_ts);
    let frames: Vec<FrameInfo> = h2.drain_frames().collect();
    for f in frames {
        frame_block(f, &mut bufs, &mut base, &mut bodies, &mut out);
    }
    // Bodies whose END_STREAM never came: shown at the end, marked incomplete.
    for ((d, _), body) in std::mem::take(&mut bodies) {
        if body.bytes.is_empty() && body.missing == 0 {
            continue;
        }
        let dir = if d == 0 {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        };
        let (pkt, ts) = out
            .iter()
            .rev()
            .find(|b| b.dir == dir)
            .map_or((PacketId(0), last_ts), |b| (b.pkt, b.ts));
        out.push(Block {
            dir,
            pkt,
            ts,
            what: What::H2Body(Box::new(body)),
        });
    }
    out
}

fn frame_block(
    f: FrameInfo,
    bufs: &mut [Vec<u8>; 2],
    base: &mut [u64; 2],
    bodies: &mut BTreeMap<(usize, u32), H2Body>,
    out: &mut Vec<Block>,
) {
    let d = f.dir.index();
    let stream = f.header.stream;
    let mut data = Vec::new();
    let mut missing = 0u64;
    if let FrameDetail::Data { body_len, pad } = &f.detail {
        let start = f.offset + FRAME_HEADER_LEN as u64 + u64::from(pad.is_some());
        let got = base
            .get(d)
            .zip(bufs.get(d))
            .and_then(|(bs, buf)| {
                let from = usize::try_from(start.checked_sub(*bs)?).ok()?;
                buf.get(from..from.checked_add(*body_len as usize)?)
            })
            .map(<[u8]>::to_vec);
        match got {
            Some(v) => data = v,
            None => missing = u64::from(*body_len),
        }
    } else if f.header.kind == FrameType::Data {
        // Skipped (too large, or bytes missing inside it): its payload is not shown.
        missing = u64::from(f.header.len);
    }
    // Bytes before the frame's end are no longer needed: keep the buffers small.
    if let (Some(buf), Some(bs)) = (bufs.get_mut(d), base.get_mut(d)) {
        let end = f.offset + f.wire_len();
        if let Some(n) = end.checked_sub(*bs).and_then(|n| usize::try_from(n).ok()) {
            let n = n.min(buf.len());
            buf.drain(..n);
            *bs += n as u64;
        }
    }
    let headers_end = matches!(f.header.kind, FrameType::Headers | FrameType::Continuation)
        && f.headers.is_some();
    if headers_end {
        let body = bodies.entry((d, stream)).or_insert_with(|| H2Body {
            stream,
            ..Default::default()
        });
        for h in f.headers.iter().flatten() {
            if h.name == b"content-type" {
                body.content_type = String::from_utf8_lossy(&h.value).to_ascii_lowercase();
            } else if h.name == b"content-encoding" {
                body.content_encoding = String::from_utf8_lossy(&h.value).to_ascii_lowercase();
            }
        }
    }
    if f.header.kind == FrameType::Data {
        let body = bodies.entry((d, stream)).or_insert_with(|| H2Body {
            stream,
            ..Default::default()
        });
        let room = MAX_H2_BODY.saturating_sub(body.bytes.len());
        let take = data.len().min(room);
        body.bytes
            .extend_from_slice(data.get(..take).unwrap_or_default());
        body.missing += missing + (data.len() - take) as u64;
    }
    let end_stream = f.header.has(crate::proto::http2::frame::flags::END_STREAM)
        && matches!(f.header.kind, FrameType::Data | FrameType::Headers);
    let (dir, pkt, ts) = (f.dir, f.pkt, f.ts);
    out.push(Block {
        dir,
        pkt,
        ts,
        what: What::H2Frame(Box::new(H2Frame { info: f, data })),
    });
    if end_stream {
        if let Some(mut body) = bodies.remove(&(d, stream)) {
            body.complete = true;
            if !body.bytes.is_empty() || body.missing > 0 {
                out.push(Block {
                    dir,
                    pkt,
                    ts,
                    what: What::H2Body(Box::new(body)),
                });
            }
        }
    }
}

/// Whether a block belongs to HTTP/2 stream `stream` (`follow --stream N`): its frames
/// and body; connection-level blocks (handshake, gaps, notes) are kept for context.
pub fn in_stream(b: &Block, stream: u32) -> bool {
    match &b.what {
        What::H2Frame(f) => f.info.header.stream == stream,
        What::H2Body(body) => body.stream == stream,
        What::Plain(_) => false,
        _ => true,
    }
}

/// A piece of a shown turn: bytes from the wire (escape them before a terminal), or
/// wiretale's own words (already safe).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Wire(Vec<u8>),
    Said(String),
}

/// One turn of the decrypted conversation as `follow` shows it: a heading
/// (`1,234 bytes decrypted`, `TLS handshake: ServerHello, …`) and its content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShownTurn {
    pub dir: Direction,
    /// The first packet of the turn.
    pub pkt: PacketId,
    pub ts: Timestamp,
    pub head: String,
    /// Content lines; each [`Seg::Said`] line ends with `\n`.
    pub segs: Vec<Seg>,
}

/// The decrypted conversation as turns (see [`ShownTurn`]): HTTP/2 frame by frame with
/// decoded headers and each body shown as HTTP/1 bodies are; other plaintext (HTTP/1.x)
/// as [`display_pieces`] shows it in the clear; handshake, undecrypted records, gaps,
/// alerts and decryption failures each on a line of their own. `stream`: only this
/// HTTP/2 stream's frames (plus connection-level lines). Bodies are decoded up to
/// `body_limit` bytes.
///
/// [`display_pieces`]: crate::proto::http::body::display_pieces
pub fn shown_turns(d: &Decrypted, stream: Option<u32>, body_limit: usize) -> Vec<ShownTurn> {
    let blocks: Vec<Block> = if d.is_h2() {
        h2_blocks(d.blocks.clone())
    } else {
        d.blocks.clone()
    };
    let mut out: Vec<ShownTurn> = Vec::new();
    let mut plain: Option<(Direction, PacketId, Timestamp, Vec<u8>)> = None;
    let flush = |plain: &mut Option<(Direction, PacketId, Timestamp, Vec<u8>)>,
                 out: &mut Vec<ShownTurn>| {
        if let Some((dir, pkt, ts, bytes)) = plain.take() {
            out.push(ShownTurn {
                dir,
                pkt,
                ts,
                head: format!(
                    "{} bytes decrypted",
                    crate::base::elide::thousands(bytes.len())
                ),
                segs: pieces_segs(&bytes, body_limit),
            });
        }
    };
    for b in &blocks {
        if let Some(n) = stream {
            if !in_stream(b, n) {
                continue;
            }
        }
        if let What::Plain(p) = &b.what {
            match &mut plain {
                Some((dir, _, _, bytes)) if *dir == b.dir => bytes.extend_from_slice(p),
                _ => {
                    flush(&mut plain, &mut out);
                    plain = Some((b.dir, b.pkt, b.ts, p.clone()));
                }
            }
            continue;
        }
        flush(&mut plain, &mut out);
        let line = |head: String| ShownTurn {
            dir: b.dir,
            pkt: b.pkt,
            ts: b.ts,
            head,
            segs: Vec::new(),
        };
        if let Some(note) = note_text(b, &d.summary) {
            out.push(line(note));
            continue;
        }
        match &b.what {
            What::H2Frame(f) => {
                let mut segs = vec![Seg::Said(f.title() + "\n")];
                for h in f.headers() {
                    segs.push(Seg::Wire(h.name.clone()));
                    segs.push(Seg::Said(": ".into()));
                    segs.push(Seg::Wire(h.value.clone()));
                    segs.push(Seg::Said("\n".into()));
                }
                push_h2(&mut out, b, segs);
            }
            What::H2Body(body) => {
                let segs = body_segs(body, body_limit);
                push_h2(&mut out, b, segs);
            }
            _ => {}
        }
    }
    flush(&mut plain, &mut out);
    out
}

/// The one line of a block that is neither plaintext nor HTTP/2: handshake messages,
/// records not decrypted (with the session's reason), gaps, alerts, failures. Safe for
/// a terminal.
pub fn note_text(b: &Block, summary: &TlsSummary) -> Option<String> {
    use crate::proto::tls::names::{alert_description_name, alert_level_name};
    Some(match &b.what {
        What::Handshake { names, decrypted } => format!(
            "TLS handshake{}: {}",
            if *decrypted { " (decrypted)" } else { "" },
            names.join(", ")
        ),
        What::Encrypted { records, bytes } => format!(
            "[{records} TLS record{} not decrypted, {} bytes: {}]",
            if *records == 1 { "" } else { "s" },
            crate::base::elide::thousands(*bytes as usize),
            summary
                .not_decrypted
                .map_or("no keys for them".to_string(), |r| r.reason())
        ),
        What::Gap(len) => format!("[{len} bytes missing from the capture]"),
        What::Alert { level, description } => format!(
            "TLS alert: {} {}",
            alert_level_name(*level),
            alert_description_name(*description)
        ),
        What::Note { name, detail } => {
            format!("[{name}: {}]", crate::base::escape::escape_str(detail))
        }
        What::Plain(_) | What::H2Frame(_) | What::H2Body(_) => return None,
    })
}

/// HTTP/2 frames and bodies of one direction in a row share one turn.
fn push_h2(out: &mut Vec<ShownTurn>, b: &Block, segs: Vec<Seg>) {
    if let Some(last) = out.last_mut() {
        if last.dir == b.dir && last.head.starts_with("HTTP/2") {
            last.segs.extend(segs);
            return;
        }
    }
    out.push(ShownTurn {
        dir: b.dir,
        pkt: b.pkt,
        ts: b.ts,
        head: "HTTP/2 (decrypted)".into(),
        segs,
    });
}

fn piece_segs(p: crate::proto::http::body::Piece<'_>, out: &mut Vec<Seg>) {
    use crate::proto::http::body::Piece;
    match p {
        Piece::Bytes(b) => out.push(Seg::Wire(b.to_vec())),
        Piece::Summary(s) => out.push(Seg::Said(s + "\n")),
        Piece::Decoded { summary, text } => {
            out.push(Seg::Said(summary + "\n"));
            out.push(Seg::Wire(text));
        }
    }
}

fn pieces_segs(bytes: &[u8], limit: usize) -> Vec<Seg> {
    let mut out = Vec::new();
    for p in crate::proto::http::body::display_pieces(bytes, limit) {
        piece_segs(p, &mut out);
    }
    out
}

/// A body's lines: `[stream 5 body: PNG image, 32,563 bytes]`, or
/// `[stream 1 body, 473 bytes:]` and its text; what is missing on a line of its own.
fn body_segs(body: &H2Body, limit: usize) -> Vec<Seg> {
    use crate::proto::http::body::Piece;
    let mut out = Vec::new();
    let label = format!("[stream {} body", body.stream);
    let piece = crate::proto::http::body::body_display(
        &body.content_type,
        &body.content_encoding,
        &body.bytes,
        limit,
    );
    match piece {
        _ if body.bytes.is_empty() => {}
        Piece::Bytes(b) => {
            out.push(Seg::Said(format!(
                "{label}, {} bytes:]\n",
                crate::base::elide::thousands(b.len())
            )));
            out.push(Seg::Wire(b.to_vec()));
        }
        Piece::Summary(s) => out.push(Seg::Said(format!(
            "{label}: {}\n",
            s.strip_prefix('[').unwrap_or(&s)
        ))),
        Piece::Decoded { summary, text } => {
            out.push(Seg::Said(format!(
                "{label}: {}\n",
                summary.strip_prefix('[').unwrap_or(&summary)
            )));
            out.push(Seg::Wire(text));
        }
    }
    if body.missing > 0 || !body.complete {
        out.push(Seg::Said(format!(
            "{label} incomplete: {}{} bytes not captured or not kept]\n",
            if body.complete { "" } else { "no END_STREAM, " },
            body.missing
        )));
    }
    out
}

/// Most plaintext lines one record shows in the field tree.
const TREE_LINES: usize = 64;

/// The "Decrypted TLS" node of the packet detail, as Wireshark's: what the records that
/// packet `pkt` completed held once decrypted (HTTP/2 frames with their headers,
/// HTTP/1.x lines, decrypted handshake messages), and what did not decrypt there.
/// `range`: the packet's TCP payload in the frame (the plaintext has no bytes in the
/// frame, so every node covers the records that carried it). `None` when the packet
/// completed nothing that was decrypted or failed to.
pub fn decrypted_tree(
    d: &Decrypted,
    pkt: PacketId,
    range: std::ops::Range<usize>,
) -> Option<crate::base::FieldNode> {
    use crate::base::escape::escape_bytes;
    use crate::base::FieldNode;
    let h2 = d.is_h2();
    let blocks = if h2 {
        h2_blocks(d.blocks.clone())
    } else {
        d.blocks.clone()
    };
    let mut root = FieldNode::new("Decrypted TLS", range.clone());
    for b in blocks.iter().filter(|b| b.pkt == pkt) {
        let r = range.clone();
        match &b.what {
            What::Plain(p) => {
                let mut n = FieldNode::new(
                    format!("Decrypted TLS: {} bytes of application data", p.len()),
                    r.clone(),
                );
                for line in p.split_inclusive(|&c| c == b'\n').take(TREE_LINES) {
                    n.push(escape_bytes(line), r.clone());
                }
                root.children.push(n);
            }
            What::Handshake {
                names,
                decrypted: true,
            } => {
                root.push(format!("Decrypted TLS: Handshake: {}", names.join(", ")), r);
            }
            What::H2Frame(f) => {
                let h = &f.info.header;
                let mut label = format!(
                    "Decrypted TLS: HTTP/2 {} stream {}",
                    h.kind.name(),
                    h.stream
                );
                let title = f.title();
                if let Some(rest) = title.split_once("] ").map(|x| x.1) {
                    if let Some(extra) = rest.strip_prefix(h.kind.name()) {
                        label.push_str(extra);
                    }
                }
                let mut n = FieldNode::new(label, r.clone());
                for hd in f.headers() {
                    n.push(
                        format!("{}: {}", escape_bytes(&hd.name), escape_bytes(&hd.value)),
                        r.clone(),
                    );
                }
                if !f.data.is_empty() {
                    let mut data =
                        FieldNode::new(format!("Data: {} bytes", f.data.len()), r.clone());
                    for line in f.data.split_inclusive(|&c| c == b'\n').take(TREE_LINES) {
                        data.push(escape_bytes(line), r.clone());
                    }
                    n.children.push(data);
                }
                root.children.push(n);
            }
            What::H2Body(_) | What::Handshake { .. } | What::Gap(_) => {}
            _ => {
                if let Some(note) = note_text(b, &d.summary) {
                    root.push(note, r);
                }
            }
        }
    }
    (!root.children.is_empty()).then_some(root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::http2::PREFACE;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len() as u32;
        let mut v = len.to_be_bytes()[1..].to_vec();
        v.push(kind);
        v.push(flags);
        v.extend_from_slice(&stream.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    fn block(dir: Direction, pkt: u32, bytes: Vec<u8>) -> Block {
        Block {
            dir,
            pkt: PacketId(pkt),
            ts: Timestamp::default(),
            what: What::Plain(bytes),
        }
    }

    /// A request (literal `:method: GET` etc., RFC 7541 C.3.1's first block) and a
    /// response whose DATA spans two frames split across records: one frame block each,
    /// headers decoded, the body once at END_STREAM with both frames' bytes.
    #[test]
    fn frames_headers_and_a_body_over_two_frames() {
        use Direction::{ClientToServer as C, ServerToClient as S};
        let mut client = PREFACE.to_vec();
        client.extend(frame(4, 0, 0, &[]));
        // RFC 7541 C.3.1: :method GET, :scheme http, :path /, :authority www.example.com
        let block1 = b"\x82\x86\x84\x41\x0fwww.example.com";
        client.extend(frame(1, 0x05, 1, block1));
        // :status 200 (index 8), content-type: text/plain (literal, indexed name 31)
        let mut resp = frame(4, 0, 0, &[]);
        resp.extend(frame(1, 0x04, 1, b"\x88\x5f\x0atext/plain"));
        resp.extend(frame(0, 0, 1, b"hello "));
        let second = frame(0, 0x01, 1, b"world");
        let (a, b2) = second.split_at(4);
        resp.extend_from_slice(a);
        let blocks = vec![
            block(C, 1, client),
            block(S, 2, resp),
            block(S, 3, b2.to_vec()),
        ];
        let out = h2_blocks(blocks);
        let titles: Vec<String> = out
            .iter()
            .map(|b| match &b.what {
                What::H2Frame(f) => format!("{} {}", b.pkt.0, f.title()),
                What::H2Body(body) => format!(
                    "{} body {} {:?} {}",
                    b.pkt.0,
                    body.stream,
                    String::from_utf8_lossy(&body.bytes),
                    body.content_type
                ),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            titles,
            [
                "1 [stream 0] SETTINGS",
                "1 [stream 1] HEADERS END_STREAM END_HEADERS",
                "2 [stream 0] SETTINGS",
                "2 [stream 1] HEADERS END_HEADERS",
                "2 [stream 1] DATA  6 bytes",
                "3 [stream 1] DATA END_STREAM  5 bytes",
                "3 body 1 \"hello world\" text/plain",
            ]
        );
        let What::H2Frame(req) = &out[1].what else {
            panic!("not a frame")
        };
        let names: Vec<String> = req.headers().iter().map(|h| format!("{h:?}")).collect();
        assert_eq!(
            names,
            [
                ":method: GET",
                ":scheme: http",
                ":path: /",
                ":authority: www.example.com"
            ]
        );
    }

    /// A gap inside the server's bytes: framing is lost after it and the body is
    /// marked incomplete with its missing bytes, never filled.
    #[test]
    fn a_gap_is_kept_and_never_filled() {
        use Direction::{ClientToServer as C, ServerToClient as S};
        let mut client = PREFACE.to_vec();
        client.extend(frame(4, 0, 0, &[]));
        client.extend(frame(1, 0x05, 1, b"\x82\x86\x84"));
        let data = frame(0, 0x01, 1, b"0123456789");
        let blocks = vec![
            block(C, 1, client),
            block(
                S,
                2,
                [frame(4, 0, 0, &[]), frame(1, 0x04, 1, b"\x88")].concat(),
            ),
            block(S, 3, data[..12].to_vec()),
            Block {
                dir: S,
                pkt: PacketId(3),
                ts: Timestamp::default(),
                what: What::Gap(4),
            },
            block(S, 4, data[16..].to_vec()),
        ];
        let out = h2_blocks(blocks);
        assert!(out.iter().any(|b| b.what == What::Gap(4)));
        let body = out.iter().find_map(|b| match &b.what {
            What::H2Body(body) => Some(body),
            _ => None,
        });
        let body = body.unwrap_or_else(|| panic!("no body in {out:#?}"));
        assert!(body.bytes.is_empty(), "{body:?}");
        assert_eq!(body.missing, 10);
    }
}
