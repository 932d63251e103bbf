//! The per-connection HTTP/2 engine: bytes of one direction in (cleartext or decrypted,
//! in stream order, with the packet that carried them), frames and exchanges out.
//!
//! Each direction is cut into frames (RFC 9113 §4.1) over any split of the input: a frame
//! whole inside one input is parsed in place, otherwise its bytes are buffered (one
//! frame at most, [`MAX_BUFFERED_FRAME`]). Field blocks (HEADERS or PUSH_PROMISE plus
//! CONTINUATIONs, §4.3) are collected up to [`MAX_HEADER_BLOCK`] and decoded with that
//! direction's HPACK decoder, whose dynamic table runs from the connection's start
//! (RFC 7541 §2.3.2). A block that cannot be decoded loses the table: later blocks of
//! that direction are still decoded but flagged unreliable. Streams (§5.1) become
//! [`H2Exchange`]s: request headers, interim and final response headers, DATA counts,
//! trailers, END_STREAM or RST_STREAM.

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use std::collections::{BTreeMap, VecDeque};

use super::exchange::{H2Exchange, Reset};
use super::frame::{
    error_code_text, flags, parse_payload, FrameHeader, FrameType, Payload, Priority,
    DEFAULT_MAX_FRAME_SIZE, FRAME_HEADER_LEN, SETTINGS_HEADER_TABLE_SIZE, SETTINGS_MAX_FRAME_SIZE,
};
use super::hpack::{Header, HpackDecoder};
use super::preface::PREFACE;
use crate::base::escape::{escape_bytes, escape_str};
use crate::base::{Anomaly, AnomalyKind, Direction, PacketId, Timestamp};
use crate::proto::http::HttpTransaction;

/// Largest frame payload buffered whole. Larger frames (beyond any SETTINGS_MAX_FRAME_SIZE
/// seen in practice) are skipped by count: DATA is still counted, a field block is lost.
pub const MAX_BUFFERED_FRAME: usize = 1 << 20;
/// Largest field block (HEADERS/PUSH_PROMISE + CONTINUATION fragments) collected.
pub const MAX_HEADER_BLOCK: usize = 256 * 1024;
/// Most streams open at once before the oldest is given up as partial.
pub const MAX_OPEN_STREAMS: usize = 1024;
/// Most frame records waiting in [`H2Conn::drain_frames`] when frames are kept.
pub const MAX_PENDING_FRAMES: usize = 1 << 16;
/// Most anomalies kept on the connection or on one exchange.
const MAX_ANOMALIES: usize = 32;
/// GOAWAY debug bytes kept.
const MAX_DEBUG: usize = 256;

/// What a frame carried, without borrowing its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameDetail {
    /// `body_len`: payload minus Pad Length byte and padding.
    Data {
        body_len: u32,
        pad: Option<u8>,
    },
    Headers {
        priority: Option<Priority>,
        fragment_len: u32,
        pad: Option<u8>,
    },
    Priority(Priority),
    RstStream {
        error: u32,
    },
    Settings {
        ack: bool,
        params: Vec<(u16, u32)>,
    },
    PushPromise {
        promised: u32,
        fragment_len: u32,
        pad: Option<u8>,
    },
    Ping {
        ack: bool,
        opaque: [u8; 8],
    },
    Goaway {
        last_stream: u32,
        error: u32,
        /// Debug data (at most 256 bytes kept): untrusted.
        debug: Vec<u8>,
    },
    WindowUpdate {
        increment: u32,
    },
    Continuation {
        fragment_len: u32,
    },
    /// An extension type, ignored (RFC 9113 §5.5).
    Unknown,
    /// Broke a rule of RFC 9113 §6; [`FrameInfo::error`] says which.
    Invalid,
    /// Too large to buffer ([`MAX_BUFFERED_FRAME`]): skipped by count.
    Skipped,
}

/// One frame as the engine saw it, for packet lists, `follow` and the field tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    pub dir: Direction,
    /// Offset of the frame's first header byte in this direction's byte stream (the
    /// client's stream counts the 24-byte preface).
    pub offset: u64,
    pub header: FrameHeader,
    /// Packet and time of the frame's first byte.
    pub first_pkt: PacketId,
    pub first_ts: Timestamp,
    /// Packet and time that completed the frame (tshark shows the frame there).
    pub pkt: PacketId,
    pub ts: Timestamp,
    pub detail: FrameDetail,
    /// The decoded field list, on the frame that ended a field block (END_HEADERS).
    pub headers: Option<Vec<Header>>,
    /// `headers` were decoded after this direction's HPACK table was lost.
    pub headers_unreliable: bool,
    /// Why the frame is invalid (RFC 9113 section named).
    pub error: Option<&'static str>,
}

impl FrameInfo {
    /// Length of the frame on the wire, header included.
    pub fn wire_len(&self) -> u64 {
        FRAME_HEADER_LEN as u64 + u64::from(self.header.len)
    }

    /// One line as a packet list shows it, in tshark's style: `HEADERS[13]: GET
    /// /index.html`, `HEADERS[13]: 200`, `DATA[15]`, `SETTINGS[0]`, `RST_STREAM[1]:
    /// CANCEL`. Escaped.
    pub fn info(&self) -> String {
        let mut s = format!("{}[{}]", self.header.kind.name(), self.header.stream);
        if let Some(h) = &self.headers {
            let get = |n: &[u8]| {
                h.iter()
                    .find(|f| f.name == n)
                    .map(|f| escape_bytes(&f.value))
            };
            match (get(b":method"), get(b":path"), get(b":status")) {
                (Some(m), Some(p), _) => s.push_str(&format!(": {m} {p}")),
                (Some(m), None, _) => s.push_str(&format!(": {m}")),
                (_, _, Some(st)) => s.push_str(&format!(": {st}")),
                _ => {}
            }
        }
        match &self.detail {
            FrameDetail::RstStream { error } | FrameDetail::Goaway { error, .. } => {
                s.push_str(": ");
                s.push_str(&error_code_text(*error));
            }
            FrameDetail::PushPromise { promised, .. } => {
                s.push_str(&format!(" promised {promised}"));
            }
            _ => {}
        }
        if self.header.flags & flags::ACK != 0
            && matches!(self.header.kind, FrameType::Settings | FrameType::Ping)
        {
            s.push_str(" ACK");
        }
        s
    }
}

/// Everything the connection said in its GOAWAY frames (the last one wins).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Goaway {
    pub by: Direction,
    pub last_stream: u32,
    pub error: u32,
    pub pkt: PacketId,
    pub ts: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Client side: matching the preface, `n` bytes so far.
    Preface(usize),
    Frames,
    /// Framing lost (a gap across frames): the rest is counted only.
    Stopped,
}

/// An oversized frame being skipped.
#[derive(Clone, Copy, Debug)]
struct Skip {
    hdr: FrameHeader,
    remaining: u64,
    /// Pad Length byte of a PADDED DATA frame, once seen.
    pad: Option<u8>,
    seen: u64,
}

/// A field block being collected.
#[derive(Debug)]
struct Block {
    stream: u32,
    promised: Option<u32>,
    end_stream: bool,
    bytes: Vec<u8>,
    first_pkt: PacketId,
    first_ts: Timestamp,
    too_big: bool,
}

#[derive(Debug)]
struct Side {
    mode: Mode,
    /// Stream offset of the next byte.
    pos: u64,
    /// A partial frame: header, then payload.
    buf: Vec<u8>,
    skip: Option<Skip>,
    frame_start: u64,
    first_pkt: PacketId,
    first_ts: Timestamp,
    /// Largest frame this side may send: the peer's SETTINGS_MAX_FRAME_SIZE.
    max_frame: u32,
    hpack: HpackDecoder,
    /// The dynamic table is no longer known.
    hpack_lost: bool,
    block: Option<Block>,
    frames: u64,
    ended: bool,
}

impl Side {
    fn new(mode: Mode) -> Self {
        Side {
            mode,
            pos: 0,
            buf: Vec::new(),
            skip: None,
            frame_start: 0,
            first_pkt: PacketId::default(),
            first_ts: Timestamp::default(),
            max_frame: DEFAULT_MAX_FRAME_SIZE,
            hpack: HpackDecoder::new(),
            hpack_lost: false,
            block: None,
            frames: 0,
            ended: false,
        }
    }
}

/// The two directions, indexed by `Direction::index()`: any index other than 0 is the
/// server side, so indexing cannot panic.
#[derive(Debug)]
struct Sides([Side; 2]);

impl std::ops::Index<usize> for Sides {
    type Output = Side;
    fn index(&self, d: usize) -> &Side {
        let [c, s] = &self.0;
        if d == 0 {
            c
        } else {
            s
        }
    }
}

impl std::ops::IndexMut<usize> for Sides {
    fn index_mut(&mut self, d: usize) -> &mut Side {
        let [c, s] = &mut self.0;
        if d == 0 {
            c
        } else {
            s
        }
    }
}

#[derive(Debug, Default)]
struct Stream {
    ex: H2Exchange,
    req_headers: bool,
    resp_final: bool,
    req_done: bool,
    resp_done: bool,
}

/// HTTP/2 decoder for one connection. See the module docs.
#[derive(Debug)]
pub struct H2Conn {
    sides: Sides,
    streams: BTreeMap<u32, Stream>,
    done: VecDeque<H2Exchange>,
    frames: VecDeque<FrameInfo>,
    keep_frames: bool,
    frames_dropped: u64,
    next_seq: u32,
    last_client_stream: u32,
    goaway: Option<Goaway>,
    anomalies: Vec<Anomaly>,
}

impl Default for H2Conn {
    fn default() -> Self {
        Self::new()
    }
}

fn dir_of(d: usize) -> Direction {
    if d == 0 {
        Direction::ClientToServer
    } else {
        Direction::ServerToClient
    }
}

fn push_anomaly(list: &mut Vec<Anomaly>, a: Anomaly) {
    if list.len() < MAX_ANOMALIES {
        list.push(a);
    }
}

impl H2Conn {
    /// A connection from its start: the client side begins with the preface (prior
    /// knowledge, or TLS with ALPN `h2`). Frames are not kept; see
    /// [`H2Conn::keep_frames`].
    pub fn new() -> Self {
        H2Conn {
            sides: Sides([Side::new(Mode::Preface(0)), Side::new(Mode::Frames)]),
            streams: BTreeMap::new(),
            done: VecDeque::new(),
            frames: VecDeque::new(),
            keep_frames: false,
            frames_dropped: 0,
            next_seq: 0,
            last_client_stream: 0,
            goaway: None,
            anomalies: Vec::new(),
        }
    }

    /// After an HTTP/1.1 `Upgrade: h2c` answered by 101 (RFC 7540 §3.2): stream 1 is
    /// the upgrade request, already complete; the server answers it in HTTP/2. Feed
    /// each direction from the first byte after the HTTP/1 messages.
    pub fn after_upgrade(request: &HttpTransaction) -> Self {
        let mut c = Self::new();
        let ex = H2Exchange {
            seq: 0,
            stream: 1,
            method: request.method.clone(),
            authority: request.host.clone(),
            path: request.uri.clone(),
            user_agent: request.user_agent.clone(),
            referer: request.referer.clone(),
            request_ts: request.request_ts,
            request_end_ts: request.request_end_ts,
            request_first_pkt: request.request_first_pkt,
            request_head_pkt: request.request_head_pkt,
            request_last_pkt: request.request_last_pkt,
            request_body_len: request.request_body_len,
            ..Default::default()
        };
        c.streams.insert(
            1,
            Stream {
                ex,
                req_headers: true,
                req_done: true,
                ..Default::default()
            },
        );
        c.next_seq = 1;
        c.last_client_stream = 1;
        c
    }

    /// Keep a [`FrameInfo`] per frame for [`H2Conn::drain_frames`] (the TUI's field tree
    /// and `follow` want them; summaries do not). At most [`MAX_PENDING_FRAMES`] wait
    /// undrained; later ones are counted in [`H2Conn::frames_dropped`].
    pub fn keep_frames(mut self, keep: bool) -> Self {
        self.keep_frames = keep;
        self
    }

    /// Feeds in-order bytes of one direction, carried by packet `pkt` at `ts`.
    pub fn feed(&mut self, dir: Direction, ts: Timestamp, pkt: PacketId, mut bytes: &[u8]) {
        let d = dir.index();
        while !bytes.is_empty() {
            let mode = self.sides[d].mode;
            let n = match mode {
                Mode::Stopped => bytes.len(),
                Mode::Preface(matched) => self.preface_step(d, matched, bytes),
                Mode::Frames => self.frame_step(d, ts, pkt, bytes),
            };
            // Every step consumes bytes or leaves the preface state (to read the same
            // bytes as frames); stop rather than spin if a bug ever did neither.
            if n == 0 && self.sides[d].mode == mode {
                break;
            }
            let n = n.min(bytes.len());
            self.sides[d].pos += n as u64;
            bytes = bytes.get(n..).unwrap_or_default();
        }
    }

    fn preface_step(&mut self, d: usize, matched: usize, bytes: &[u8]) -> usize {
        let want = PREFACE.get(matched..).unwrap_or_default();
        let n = want.len().min(bytes.len());
        if bytes.get(..n) == want.get(..n) {
            let m = matched + n;
            self.sides[d].mode = if m == PREFACE.len() {
                Mode::Frames
            } else {
                Mode::Preface(m)
            };
            n
        } else {
            // Not a preface: perhaps the capture began mid-connection. Read frames from
            // here, with an unknown HPACK table.
            push_anomaly(
                &mut self.anomalies,
                Anomaly::new(
                    AnomalyKind::H2BadPreface,
                    format!(
                        "the client's bytes at offset {} are not the connection preface \
                         (RFC 9113 §3.4)",
                        self.sides[d].pos
                    ),
                ),
            );
            self.sides[d].mode = Mode::Frames;
            self.sides[d].hpack_lost = true;
            0
        }
    }

    /// Consumes bytes of frames; returns how many.
    fn frame_step(&mut self, d: usize, ts: Timestamp, pkt: PacketId, bytes: &[u8]) -> usize {
        if let Some(mut skip) = self.sides[d].skip.take() {
            let n = skip.remaining.min(bytes.len() as u64) as usize;
            if skip.seen == 0 && skip.hdr.has(flags::PADDED) {
                skip.pad = bytes.first().copied();
            }
            skip.seen += n as u64;
            skip.remaining -= n as u64;
            if skip.remaining == 0 {
                self.end_skip(d, skip, ts, pkt);
            } else {
                self.sides[d].skip = Some(skip);
            }
            return n;
        }
        let side = &mut self.sides[d];
        if side.buf.is_empty() {
            side.frame_start = side.pos;
            side.first_pkt = pkt;
            side.first_ts = ts;
            if let Some(h) = FrameHeader::parse(bytes) {
                let total = FRAME_HEADER_LEN + h.len as usize;
                if h.len as usize > MAX_BUFFERED_FRAME {
                    self.begin_skip(d, h, ts, pkt);
                    return FRAME_HEADER_LEN;
                }
                if let Some(payload) = bytes.get(FRAME_HEADER_LEN..total) {
                    self.on_frame(d, h, payload, ts, pkt);
                    return total;
                }
            }
        }
        let side = &mut self.sides[d];
        let need = match FrameHeader::parse(&side.buf) {
            None => FRAME_HEADER_LEN - side.buf.len(),
            Some(h) => FRAME_HEADER_LEN + h.len as usize - side.buf.len(),
        };
        let n = need.min(bytes.len());
        side.buf
            .extend_from_slice(bytes.get(..n).unwrap_or_default());
        let Some(h) = FrameHeader::parse(&side.buf) else {
            return n;
        };
        if h.len as usize > MAX_BUFFERED_FRAME {
            side.buf.clear();
            self.begin_skip(d, h, ts, pkt);
            return n;
        }
        if side.buf.len() == FRAME_HEADER_LEN + h.len as usize {
            let mut buf = std::mem::take(&mut side.buf);
            self.on_frame(
                d,
                h,
                buf.get(FRAME_HEADER_LEN..).unwrap_or_default(),
                ts,
                pkt,
            );
            buf.clear();
            if buf.capacity() <= 64 * 1024 {
                self.sides[d].buf = buf;
            }
        }
        n
    }

    fn begin_skip(&mut self, d: usize, h: FrameHeader, ts: Timestamp, pkt: PacketId) {
        self.frame_anomaly(
            d,
            AnomalyKind::H2FrameTooLarge,
            format!(
                "{} frame of {} bytes on stream {} is larger than wiretale buffers \
                 ({MAX_BUFFERED_FRAME}); skipped",
                h.kind.name(),
                h.len,
                h.stream
            ),
        );
        let skip = Skip {
            hdr: h,
            remaining: u64::from(h.len),
            pad: None,
            seen: 0,
        };
        if h.len == 0 {
            self.end_skip(d, skip, ts, pkt);
        } else {
            self.sides[d].skip = Some(skip);
        }
    }

    fn end_skip(&mut self, d: usize, skip: Skip, ts: Timestamp, pkt: PacketId) {
        let h = skip.hdr;
        match h.kind {
            FrameType::Data => {
                let pad = skip.pad.map_or(0, |p| u64::from(p) + 1);
                let body = u64::from(h.len).saturating_sub(pad);
                self.on_data(d, &h, body, ts, pkt);
            }
            FrameType::Headers | FrameType::PushPromise | FrameType::Continuation => {
                self.lose_block(d, h.stream, "a field block frame was too large to read");
            }
            _ => {}
        }
        self.log_frame(d, h, FrameDetail::Skipped, ts, pkt, None, None);
    }

    fn frame_anomaly(&mut self, _d: usize, kind: AnomalyKind, detail: String) {
        push_anomaly(&mut self.anomalies, Anomaly::new(kind, detail));
    }

    /// The HPACK table of direction `d` is lost; the stream's exchange (if any) misses
    /// its headers.
    fn lose_block(&mut self, d: usize, stream: u32, why: &str) {
        self.sides[d].block = None;
        if !self.sides[d].hpack_lost {
            self.sides[d].hpack_lost = true;
            push_anomaly(
                &mut self.anomalies,
                Anomaly::new(
                    AnomalyKind::H2HpackError,
                    format!(
                        "{} field block on stream {stream} lost ({why}): later header blocks \
                         of this direction are unreliable",
                        dir_of(d).sender()
                    ),
                ),
            );
        }
        if let Some(s) = self.streams.get_mut(&stream) {
            s.ex.partial = true;
            s.ex.headers_unreliable = true;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn log_frame(
        &mut self,
        d: usize,
        header: FrameHeader,
        detail: FrameDetail,
        ts: Timestamp,
        pkt: PacketId,
        headers: Option<Vec<Header>>,
        error: Option<&'static str>,
    ) {
        let side = &mut self.sides[d];
        side.frames += 1;
        if !self.keep_frames {
            return;
        }
        if self.frames.len() >= MAX_PENDING_FRAMES {
            self.frames_dropped += 1;
            return;
        }
        self.frames.push_back(FrameInfo {
            dir: dir_of(d),
            offset: side.frame_start,
            header,
            first_pkt: side.first_pkt,
            first_ts: side.first_ts,
            pkt,
            ts,
            detail,
            headers_unreliable: headers.is_some() && side.hpack_lost,
            headers,
            error,
        });
    }

    fn on_frame(&mut self, d: usize, h: FrameHeader, payload: &[u8], ts: Timestamp, pkt: PacketId) {
        let first = self.sides[d].frames == 0;
        if h.len > self.sides[d].max_frame {
            self.frame_anomaly(
                d,
                AnomalyKind::H2FrameTooLarge,
                format!(
                    "{} frame of {} bytes on stream {} exceeds the peer's \
                     SETTINGS_MAX_FRAME_SIZE {} (RFC 9113 §4.2)",
                    h.kind.name(),
                    h.len,
                    h.stream,
                    self.sides[d].max_frame
                ),
            );
        }
        // §3.4: the server's preface is a SETTINGS frame, and so is the frame after the
        // client's preface.
        if first && h.kind != FrameType::Settings && !self.sides[d].hpack_lost {
            self.frame_anomaly(
                d,
                AnomalyKind::H2BadPreface,
                format!(
                    "the {}'s first frame is {}, not SETTINGS (RFC 9113 §3.4)",
                    dir_of(d).sender(),
                    h.kind.name()
                ),
            );
        }
        // §6.2, §6.10: a field block is contiguous: only CONTINUATION of its stream may
        // follow until END_HEADERS.
        if let Some(b) = &self.sides[d].block {
            if h.kind != FrameType::Continuation || h.stream != b.stream {
                let stream = b.stream;
                self.frame_anomaly(
                    d,
                    AnomalyKind::H2BadFrame,
                    format!(
                        "{} frame on stream {} inside the field block of stream {stream} \
                         (RFC 9113 §6.10)",
                        h.kind.name(),
                        h.stream
                    ),
                );
                self.lose_block(d, stream, "interrupted by another frame");
            }
        }
        let payload = match parse_payload(&h, payload) {
            Ok(p) => p,
            Err(e) => {
                self.frame_anomaly(
                    d,
                    AnomalyKind::H2BadFrame,
                    format!("{} frame on stream {}: {}", h.kind.name(), h.stream, e.0),
                );
                if matches!(
                    h.kind,
                    FrameType::Headers | FrameType::PushPromise | FrameType::Continuation
                ) {
                    self.lose_block(d, h.stream, e.0);
                }
                self.log_frame(d, h, FrameDetail::Invalid, ts, pkt, None, Some(e.0));
                return;
            }
        };
        let mut headers = None;
        let detail = match payload {
            Payload::Data { data, pad } => {
                self.on_data(d, &h, data.len() as u64, ts, pkt);
                FrameDetail::Data {
                    body_len: data.len() as u32,
                    pad,
                }
            }
            Payload::Headers {
                priority,
                fragment,
                pad,
            } => {
                headers = self.begin_block(d, &h, None, fragment, ts, pkt);
                FrameDetail::Headers {
                    priority,
                    fragment_len: fragment.len() as u32,
                    pad,
                }
            }
            Payload::PushPromise {
                promised,
                fragment,
                pad,
            } => {
                if d == 0 {
                    self.frame_anomaly(
                        d,
                        AnomalyKind::H2BadFrame,
                        "the client sent PUSH_PROMISE (RFC 9113 §8.4)".to_string(),
                    );
                }
                headers = self.begin_block(d, &h, Some(promised), fragment, ts, pkt);
                FrameDetail::PushPromise {
                    promised,
                    fragment_len: fragment.len() as u32,
                    pad,
                }
            }
            Payload::Continuation { fragment } => {
                match self.sides[d].block.as_mut() {
                    Some(b) if b.stream == h.stream => {
                        if b.bytes.len() + fragment.len() > MAX_HEADER_BLOCK {
                            b.too_big = true;
                        } else {
                            b.bytes.extend_from_slice(fragment);
                        }
                        if h.has(flags::END_HEADERS) {
                            headers = self.end_block(d, ts, pkt);
                        }
                    }
                    _ => {
                        self.frame_anomaly(
                            d,
                            AnomalyKind::H2BadFrame,
                            format!(
                                "CONTINUATION on stream {} without a HEADERS or PUSH_PROMISE \
                                 before it (RFC 9113 §6.10)",
                                h.stream
                            ),
                        );
                        self.lose_block(d, h.stream, "its start is missing");
                    }
                }
                FrameDetail::Continuation {
                    fragment_len: fragment.len() as u32,
                }
            }
            Payload::Settings { ack, params } => {
                let peer = 1 - d;
                for &(id, v) in &params {
                    match id {
                        SETTINGS_HEADER_TABLE_SIZE => {
                            self.sides[peer].hpack.set_table_size_setting(v);
                        }
                        SETTINGS_MAX_FRAME_SIZE => {
                            self.sides[peer].max_frame = v;
                        }
                        _ => {}
                    }
                }
                FrameDetail::Settings { ack, params }
            }
            Payload::Priority(p) => FrameDetail::Priority(p),
            Payload::RstStream { error } => {
                self.on_reset(d, h.stream, error, ts, pkt);
                FrameDetail::RstStream { error }
            }
            Payload::Ping { ack, opaque } => FrameDetail::Ping { ack, opaque },
            Payload::Goaway {
                last_stream,
                error,
                debug,
            } => {
                if error != 0 {
                    self.frame_anomaly(
                        d,
                        AnomalyKind::H2GoawayError,
                        format!(
                            "the {} closed the connection with {} after stream {last_stream}{}",
                            dir_of(d).sender(),
                            error_code_text(error),
                            if debug.is_empty() {
                                String::new()
                            } else {
                                format!(
                                    ": {}",
                                    escape_bytes(debug.get(..MAX_DEBUG).unwrap_or(debug))
                                )
                            }
                        ),
                    );
                }
                self.goaway = Some(Goaway {
                    by: dir_of(d),
                    last_stream,
                    error,
                    pkt,
                    ts,
                });
                FrameDetail::Goaway {
                    last_stream,
                    error,
                    debug: debug.get(..MAX_DEBUG).unwrap_or(debug).to_vec(),
                }
            }
            Payload::WindowUpdate { increment } => FrameDetail::WindowUpdate { increment },
            Payload::Unknown => FrameDetail::Unknown,
        };
        self.log_frame(d, h, detail, ts, pkt, headers, None);
    }

    /// HEADERS or PUSH_PROMISE: starts a field block; returns the decoded list (for the
    /// frame log) when the block ends in this frame.
    fn begin_block(
        &mut self,
        d: usize,
        h: &FrameHeader,
        promised: Option<u32>,
        fragment: &[u8],
        ts: Timestamp,
        pkt: PacketId,
    ) -> Option<Vec<Header>> {
        let side = &mut self.sides[d];
        let too_big = fragment.len() > MAX_HEADER_BLOCK;
        side.block = Some(Block {
            stream: h.stream,
            promised,
            end_stream: promised.is_none() && h.has(flags::END_STREAM),
            bytes: if too_big {
                Vec::new()
            } else {
                fragment.to_vec()
            },
            first_pkt: side.first_pkt,
            first_ts: side.first_ts,
            too_big,
        });
        if h.has(flags::END_HEADERS) {
            self.end_block(d, ts, pkt)
        } else {
            None
        }
    }

    /// The field block of direction `d` is complete: decode it and apply it to its
    /// stream.
    fn end_block(&mut self, d: usize, ts: Timestamp, pkt: PacketId) -> Option<Vec<Header>> {
        let block = self.sides[d].block.take()?;
        let was_lost = self.sides[d].hpack_lost;
        let mut ex_anomalies = Vec::new();
        let decoded = if block.too_big {
            push_anomaly(
                &mut ex_anomalies,
                Anomaly::new(
                    AnomalyKind::H2HeaderLimit,
                    format!(
                        "field block on stream {} larger than {MAX_HEADER_BLOCK} bytes: not \
                         decoded",
                        block.stream
                    ),
                ),
            );
            self.lose_block(d, block.stream, "too large");
            None
        } else {
            match self.sides[d].hpack.decode(&block.bytes) {
                Ok(dec) => {
                    if dec.truncated {
                        push_anomaly(
                            &mut ex_anomalies,
                            Anomaly::new(
                                AnomalyKind::H2HeaderLimit,
                                format!(
                                    "decoded field list of {} bytes on stream {}: only the first \
                                     {} fields kept",
                                    dec.list_size,
                                    block.stream,
                                    dec.headers.len()
                                ),
                            ),
                        );
                    }
                    Some(dec.headers)
                }
                Err(e) => {
                    if !was_lost {
                        push_anomaly(
                            &mut ex_anomalies,
                            Anomaly::new(
                                AnomalyKind::H2HpackError,
                                format!(
                                    "{} field block on stream {}: {e}; later header blocks of \
                                     this direction are unreliable",
                                    dir_of(d).sender(),
                                    block.stream
                                ),
                            ),
                        );
                    }
                    self.sides[d].hpack_lost = true;
                    None
                }
            }
        };
        let unreliable = was_lost || decoded.is_none();
        let target = block.promised.unwrap_or(block.stream);
        let log = if self.keep_frames {
            decoded.clone()
        } else {
            None
        };
        let headers = decoded.unwrap_or_default();
        let s = self.stream_for(d, target, block.promised.is_some(), &mut ex_anomalies);
        let Some(s) = s else {
            return log;
        };
        if unreliable && !s.ex.headers_unreliable {
            s.ex.headers_unreliable = true;
            s.ex.partial = true;
            push_anomaly(
                &mut s.ex.anomalies,
                Anomaly::new(
                    AnomalyKind::H2HeadersUnreliable,
                    format!(
                        "{} headers of stream {target} decoded without a known HPACK table",
                        dir_of(d).sender()
                    ),
                ),
            );
        }
        for a in ex_anomalies {
            push_anomaly(&mut s.ex.anomalies, a);
        }
        if block.promised.is_some() {
            // §8.4: the promised request is complete as promised.
            s.ex.pushed_on = Some(block.stream);
            s.ex.set_request(headers);
            check_request(&mut s.ex, unreliable);
            s.req_headers = true;
            s.req_done = true;
            s.ex.request_ts = Some(block.first_ts);
            s.ex.request_first_pkt = Some(block.first_pkt);
            s.ex.request_head_pkt = Some(pkt);
            s.ex.request_end_ts = Some(ts);
            s.ex.request_last_pkt = Some(pkt);
        } else if d == 0 {
            if s.req_headers {
                s.ex.request_trailers = headers;
            } else {
                s.req_headers = true;
                s.ex.set_request(headers);
                check_request(&mut s.ex, unreliable);
                s.ex.request_ts = Some(block.first_ts);
                s.ex.request_first_pkt = Some(block.first_pkt);
                s.ex.request_head_pkt = Some(pkt);
            }
            if block.end_stream {
                s.req_done = true;
                s.ex.request_end_ts = Some(ts);
                s.ex.request_last_pkt = Some(pkt);
            }
        } else if s.resp_final {
            s.ex.response_trailers = headers;
        } else {
            let status = headers
                .iter()
                .find(|f| f.name == b":status")
                .and_then(|f| std::str::from_utf8(&f.value).ok())
                .and_then(|v| v.parse::<u16>().ok())
                .filter(|v| (100..=999).contains(v));
            match status {
                // §8.1: interim responses (101 is not allowed, §8.6) precede the final one.
                Some(code) if code < 200 => {
                    s.ex.interim.push(code);
                    s.ex.interim_ts.get_or_insert(block.first_ts);
                }
                _ => {
                    if status.is_none() && !unreliable {
                        push_anomaly(
                            &mut s.ex.anomalies,
                            Anomaly::new(
                                AnomalyKind::H2MalformedHeaders,
                                format!(
                                    "response on stream {target} without a valid :status \
                                     (RFC 9113 §8.3.2)"
                                ),
                            ),
                        );
                    }
                    s.resp_final = true;
                    s.ex.set_response(headers, status.unwrap_or(0));
                    s.ex.status = status;
                    s.ex.response_ts = Some(block.first_ts);
                    s.ex.response_first_pkt = Some(block.first_pkt);
                    s.ex.response_head_pkt = Some(pkt);
                }
            }
        }
        if d == 1 && block.end_stream {
            s.resp_done = true;
            s.ex.response_end_ts = Some(ts);
            s.ex.response_last_pkt = Some(pkt);
        }
        self.maybe_done(target);
        log
    }

    /// The stream a field block applies to, created if new. `None` when the stream
    /// cannot be tracked (a server block on stream 0 is already a frame error).
    fn stream_for(
        &mut self,
        d: usize,
        id: u32,
        promised: bool,
        anomalies: &mut Vec<Anomaly>,
    ) -> Option<&mut Stream> {
        if !self.streams.contains_key(&id) {
            if d == 0 {
                // §5.1.1: clients open odd streams, in increasing order.
                if id.is_multiple_of(2) || id <= self.last_client_stream {
                    push_anomaly(
                        anomalies,
                        Anomaly::new(
                            AnomalyKind::H2BadFrame,
                            format!(
                                "client HEADERS opens stream {id}, which is even or not above \
                                 the last one ({}) (RFC 9113 §5.1.1)",
                                self.last_client_stream
                            ),
                        ),
                    );
                }
                self.last_client_stream = self.last_client_stream.max(id);
            } else if !promised {
                push_anomaly(
                    anomalies,
                    Anomaly::new(
                        AnomalyKind::HttpResponseWithoutRequest,
                        format!("response headers on stream {id}, whose request was not seen"),
                    ),
                );
            }
            if self.streams.len() >= MAX_OPEN_STREAMS {
                if let Some((&oldest, _)) = self.streams.iter().next() {
                    if let Some(mut s) = self.streams.remove(&oldest) {
                        s.ex.partial = true;
                        push_anomaly(
                            &mut s.ex.anomalies,
                            Anomaly::new(
                                AnomalyKind::H2StreamLimit,
                                format!(
                                    "more than {MAX_OPEN_STREAMS} streams open: stream {oldest} \
                                     given up"
                                ),
                            ),
                        );
                        self.done.push_back(s.ex);
                    }
                }
            }
            let seq = self.next_seq;
            self.next_seq = self.next_seq.wrapping_add(1);
            let mut s = Stream::default();
            s.ex.seq = seq;
            s.ex.stream = id;
            if d == 1 && !promised {
                // A response without its request: nothing more will come for it.
                s.req_headers = true;
                s.req_done = true;
                s.ex.partial = true;
            }
            self.streams.insert(id, s);
        }
        self.streams.get_mut(&id)
    }

    fn on_data(&mut self, d: usize, h: &FrameHeader, body: u64, ts: Timestamp, pkt: PacketId) {
        let Some(s) = self.streams.get_mut(&h.stream) else {
            return;
        };
        if d == 0 {
            s.ex.request_body_len += body;
        } else {
            s.ex.response_body_len += body;
        }
        if h.has(flags::END_STREAM) {
            if d == 0 {
                s.req_done = true;
                s.ex.request_end_ts = Some(ts);
                s.ex.request_last_pkt = Some(pkt);
            } else {
                s.resp_done = true;
                s.ex.response_end_ts = Some(ts);
                s.ex.response_last_pkt = Some(pkt);
            }
            self.maybe_done(h.stream);
        }
    }

    fn on_reset(&mut self, d: usize, stream: u32, error: u32, ts: Timestamp, pkt: PacketId) {
        let Some(mut s) = self.streams.remove(&stream) else {
            return;
        };
        let by = dir_of(d);
        s.ex.reset = Some(Reset { by, error, pkt, ts });
        if !(s.req_done && s.resp_done) {
            s.ex.partial = true;
            push_anomaly(
                &mut s.ex.anomalies,
                Anomaly::new(
                    AnomalyKind::H2StreamReset,
                    format!(
                        "the {} reset stream {stream} with {} (RFC 9113 §6.4)",
                        by.sender(),
                        error_code_text(error)
                    ),
                ),
            );
        }
        self.done.push_back(s.ex);
    }

    fn maybe_done(&mut self, stream: u32) {
        if self
            .streams
            .get(&stream)
            .is_some_and(|s| s.req_done && s.resp_done)
        {
            if let Some(s) = self.streams.remove(&stream) {
                self.done.push_back(s.ex);
            }
        }
    }

    /// `len` bytes of one direction are missing (a reassembly hole). Inside a frame
    /// whose length is known the framing survives (DATA bytes are counted as missing
    /// body, a field block is lost); across a frame boundary it is lost and the rest of
    /// the direction is only counted.
    pub fn gap(&mut self, dir: Direction, ts: Timestamp, len: u64) {
        let d = dir.index();
        if len == 0 {
            return;
        }
        let pos = self.sides[d].pos;
        self.sides[d].pos += len;
        if self.sides[d].mode == Mode::Stopped {
            return;
        }
        // Inside a frame being skipped or buffered?
        let remaining = if let Some(s) = &self.sides[d].skip {
            Some((s.hdr, s.remaining))
        } else {
            FrameHeader::parse(&self.sides[d].buf).map(|h| {
                (
                    h,
                    (FRAME_HEADER_LEN as u64 + u64::from(h.len))
                        .saturating_sub(self.sides[d].buf.len() as u64),
                )
            })
        };
        match remaining {
            Some((h, rem)) if len <= rem && self.sides[d].mode == Mode::Frames => {
                let pad = if h.has(flags::PADDED) {
                    self.sides[d].buf.get(FRAME_HEADER_LEN).copied()
                } else {
                    None
                };
                let mut skip = self.sides[d].skip.take().unwrap_or(Skip {
                    hdr: h,
                    remaining: rem,
                    pad,
                    seen: 1,
                });
                self.sides[d].buf.clear();
                skip.remaining = rem - len;
                skip.seen += len;
                if let Some(s) = self.streams.get_mut(&h.stream) {
                    s.ex.partial = true;
                    push_anomaly(
                        &mut s.ex.anomalies,
                        Anomaly::new(
                            AnomalyKind::H2Gap,
                            format!("{len} bytes missing inside a {} frame", h.kind.name()),
                        ),
                    );
                }
                if skip.remaining == 0 {
                    self.end_skip(d, skip, ts, PacketId::default());
                } else {
                    self.sides[d].skip = Some(skip);
                }
            }
            _ => {
                push_anomaly(
                    &mut self.anomalies,
                    Anomaly::new(
                        AnomalyKind::H2Gap,
                        format!(
                            "{len} bytes missing at offset {pos} of the {} stream: HTTP/2 \
                             framing lost, the rest of this direction is not read",
                            dir.sender()
                        ),
                    ),
                );
                self.sides[d].mode = Mode::Stopped;
                self.sides[d].buf.clear();
                self.sides[d].skip = None;
                self.sides[d].block = None;
                self.sides[d].hpack_lost = true;
            }
        }
    }

    /// One direction ended (FIN or RST). When both have, streams still open are
    /// finished as truncated.
    pub fn end(&mut self, dir: Direction, ts: Timestamp) {
        self.sides[dir.index()].ended = true;
        if self.sides.0.iter().all(|s| s.ended) {
            self.finish(ts);
        }
    }

    /// End of input: every stream still open is finished as truncated, in stream
    /// order.
    pub fn finish(&mut self, _ts: Timestamp) {
        for d in 0..2 {
            if let Some(b) = self.sides[d].block.take() {
                if let Some(s) = self.streams.get_mut(&b.promised.unwrap_or(b.stream)) {
                    s.ex.partial = true;
                }
            }
        }
        for (id, mut s) in std::mem::take(&mut self.streams) {
            s.ex.partial = true;
            let missing = match (s.req_done, s.resp_headers_or_final()) {
                (false, _) => "the request was not complete",
                (true, false) => "no response was seen",
                (true, true) => "the response was not complete",
            };
            push_anomaly(
                &mut s.ex.anomalies,
                Anomaly::new(
                    AnomalyKind::H2Truncated,
                    format!("stream {id} still open at the end: {missing}"),
                ),
            );
            self.done.push_back(s.ex);
        }
    }

    /// Finished exchanges, in the order they finished (END_STREAM both ways, a reset,
    /// or the end of the connection).
    pub fn drain(&mut self) -> impl Iterator<Item = H2Exchange> + '_ {
        self.done.drain(..)
    }

    /// Frames seen since the last call, in the order they completed (only with
    /// [`H2Conn::keep_frames`]).
    pub fn drain_frames(&mut self) -> impl Iterator<Item = FrameInfo> + '_ {
        self.frames.drain(..)
    }

    /// Frame records not kept because [`MAX_PENDING_FRAMES`] were waiting undrained.
    pub fn frames_dropped(&self) -> u64 {
        self.frames_dropped
    }

    /// Exchanges still open, lowest stream first (for a live view).
    pub fn in_flight(&self) -> impl Iterator<Item = &H2Exchange> + '_ {
        self.streams.values().map(|s| &s.ex)
    }

    /// The last GOAWAY seen.
    pub fn goaway(&self) -> Option<&Goaway> {
        self.goaway.as_ref()
    }

    /// The HPACK table of this direction was lost: later headers are unreliable.
    pub fn headers_unreliable(&self, dir: Direction) -> bool {
        self.sides[dir.index()].hpack_lost
    }

    /// Frames completed in one direction so far.
    pub fn frame_count(&self, dir: Direction) -> u64 {
        self.sides[dir.index()].frames
    }

    /// Both directions ended and everything was drained.
    pub fn is_spent(&self) -> bool {
        self.sides.0.iter().all(|s| s.ended)
            && self.streams.is_empty()
            && self.done.is_empty()
            && self.frames.is_empty()
    }

    /// Anomalies not tied to one exchange (framing, preface, GOAWAY, HPACK loss).
    pub fn anomalies(&self) -> &[Anomaly] {
        &self.anomalies
    }
}

impl Stream {
    fn resp_headers_or_final(&self) -> bool {
        self.resp_final || !self.ex.interim.is_empty()
    }
}

/// §8.3.1: a request carries :method, and unless it is CONNECT, :scheme and :path.
fn check_request(ex: &mut H2Exchange, unreliable: bool) {
    if unreliable {
        return;
    }
    let connect = ex.method.as_deref() == Some("CONNECT");
    let missing: Vec<&str> = [
        (":method", ex.method.is_none()),
        (":scheme", !connect && ex.scheme.is_none()),
        (":path", !connect && ex.path.is_none()),
    ]
    .iter()
    .filter(|(_, m)| *m)
    .map(|(n, _)| *n)
    .collect();
    if !missing.is_empty() {
        push_anomaly(
            &mut ex.anomalies,
            Anomaly::new(
                AnomalyKind::H2MalformedHeaders,
                format!(
                    "request on stream {} without {} (RFC 9113 §8.3.1)",
                    ex.stream,
                    escape_str(&missing.join(", "))
                ),
            ),
        );
    }
}
