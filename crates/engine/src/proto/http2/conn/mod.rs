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
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod dispatch;
mod frame_info;
mod streams;

pub use frame_info::{FrameDetail, FrameInfo};

use std::collections::{BTreeMap, VecDeque};

use super::exchange::{H2Exchange, Reset};
use super::frame::{
    error_code_text, flags, parse_payload, FrameHeader, FrameType, Payload, DEFAULT_MAX_FRAME_SIZE,
    FRAME_HEADER_LEN, SETTINGS_HEADER_TABLE_SIZE, SETTINGS_MAX_FRAME_SIZE,
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
            // RFC 9113 §6.8: a client stream above the server's GOAWAY last-stream id was
            // never processed; its missing response is no capture loss.
            let refused = self.goaway.as_ref().filter(|g| {
                g.by == Direction::ServerToClient
                    && id % 2 == 1
                    && id > g.last_stream
                    && !s.resp_headers_or_final()
            });
            if let Some(g) = refused {
                push_anomaly(
                    &mut s.ex.anomalies,
                    Anomaly::new(
                        AnomalyKind::H2NotProcessed,
                        format!(
                            "stream {id} not processed: the server's GOAWAY allowed streams up to {}",
                            g.last_stream
                        ),
                    ),
                );
                self.done.push_back(s.ex);
                continue;
            }
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
