//! Per-connection HTTP/1.x state machine over reassembled TCP (RFC 9112).
//!
//! Each direction is parsed independently: the client→server side yields requests, the
//! server→client side responses, and responses are paired with requests in order
//! (RFC 9112 §9.3.2: pipelined requests are answered in order). Bodies are never
//! buffered, only counted: the small per-direction buffer holds a head (≤ 64 KiB), a
//! chunk-size line or a trailer section.
//!
//! After a reassembly gap a direction either accounts for the gap inside a body of known
//! length, or drops into *resync*: it skips bytes until a line start that plausibly opens
//! a request (client) or status line (server), so body bytes are never taken for a new
//! message unless they look exactly like one at a line start right after a gap.

use std::collections::VecDeque;

use super::head::{parse_head, Head, HeadError, Start};
use super::parse::{
    find_head_end, first_line, lenient_request_line, lenient_status_line, parse_chunk_size,
    plausible_start, request_line, starts_with_ci, status_line, ReqVersion, MAX_CHUNK_LINE,
    MAX_HEAD_BYTES,
};
use super::transaction::{HttpTransaction, Transfer};
use super::tunnel::{Tunnel, CLIENT_PREFIX, SERVER_PREFIX};
use crate::base::{Anomaly, AnomalyKind, Direction, PacketId, Timestamp};
use pairing::Slot;

/// Most transactions waiting for their response before the oldest is given up on.
pub const MAX_PENDING: usize = 1024;
/// Most anomalies recorded on one transaction or on the connection.
const MAX_ANOMALIES: usize = 32;

mod pairing;

/// Bytes kept for HTTP/2 after an `h2c` upgrade, per side, until the owner switches
/// decoders (it does so after the packet that carried the 101).
pub const MAX_AFTER_UPGRADE: usize = 256 * 1024;

/// Bytes one side sent after an `h2c` upgrade ([`HttpConn::take_h2c`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AfterUpgrade {
    /// Packet and time of the first of them.
    pub pkt: PacketId,
    pub ts: Timestamp,
    pub bytes: Vec<u8>,
}

/// The connection stopped being HTTP/1.x: a `101 Switching Protocols` or a successful
/// `CONNECT` (a tunnel). Later bytes are not parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upgrade {
    /// Transaction that switched.
    pub seq: u32,
    /// The `Upgrade` header of the 101 (e.g. "websocket", "tcp"); `None` for CONNECT.
    pub protocol: Option<String>,
    /// True for a CONNECT tunnel.
    pub tunnel: bool,
    pub pkt: PacketId,
    pub ts: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    Length { remaining: u64 },
    ChunkSize,
    ChunkData { remaining: u64 },
    ChunkDataEnd { saw_cr: bool },
    Trailers,
    Close,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Expecting (or inside) a head. `tentative`: after a gap, where a failure just means
    /// "this was not a message start" rather than a protocol error.
    Head {
        tentative: bool,
        line_checked: bool,
    },
    Body(Body),
    /// Lost framing; looking for a line that starts a message. `line_start`: the next
    /// byte begins a line (or follows a gap).
    Resync {
        line_start: bool,
    },
    /// Upgraded, tunnelled or ended: ignore bytes.
    Stopped,
}

/// The message being parsed in one direction.
#[derive(Clone, Copy, Debug, Default)]
struct Cur {
    /// Transaction the message belongs to (None while the head is incomplete).
    seq: Option<u32>,
    first_ts: Timestamp,
    first_pkt: PacketId,
    interim: bool,
    /// Stream offset of the message's first byte.
    start: u64,
}

#[derive(Debug)]
struct Side {
    state: State,
    buf: Vec<u8>,
    /// Stream offset of the next byte to process.
    pos: u64,
    /// Head-end search resumes here (index in `buf`).
    scanned: usize,
    cur: Option<Cur>,
    ended: bool,
    /// Messages this side has begun (a headerless response is only believed for the
    /// first).
    messages: u32,
}

impl Side {
    fn new() -> Self {
        Side {
            state: State::Head {
                tentative: false,
                line_checked: false,
            },
            buf: Vec::new(),
            pos: 0,
            scanned: 0,
            cur: None,
            ended: false,
            messages: 0,
        }
    }
}

/// HTTP/1.x decoder for one TCP connection. See the module docs.
#[derive(Debug)]
pub struct HttpConn {
    sides: [Side; 2],
    slots: VecDeque<Slot>,
    /// `seq` of `slots[0]`.
    first_seq: u32,
    /// `seq` the next request will get.
    next_seq: u32,
    /// `seq` of the transaction the next response answers.
    resp_next: u32,
    done: VecDeque<HttpTransaction>,
    upgrade: Option<Upgrade>,
    /// Bytes each side sent after an `Upgrade: h2c` switch, with the packet and time of
    /// the first, for the HTTP/2 decoder that takes over (at most [`MAX_AFTER_UPGRADE`]).
    after_upgrade: [Option<AfterUpgrade>; 2],
    anomalies: Vec<Anomaly>,
    /// Requests waiting for a response before the oldest is given up on.
    max_pending: usize,
    /// The CONNECT whose tunnel is open: its transaction is held back until the
    /// connection ends so its byte counts are final.
    tunnel_seq: Option<u32>,
    /// First bytes of each side of the tunnel, to recognise what it carried.
    tunnel_prefix: [Vec<u8>; 2],
}

impl Default for HttpConn {
    fn default() -> Self {
        Self::new()
    }
}

/// What handling one piece of input produced, for the replay loop in `process`.
enum Step {
    /// Consumed this many bytes of the chunk.
    Consumed(usize),
    /// Consumed this many bytes, and these earlier bytes must be looked at again (a
    /// failed tentative head: its bytes after the first may hold the real start).
    Replay(usize, Vec<u8>),
}

impl HttpConn {
    pub fn new() -> Self {
        Self::with_max_pending(MAX_PENDING)
    }

    /// A decoder that keeps at most `max_pending` requests (at least one) waiting for
    /// their responses; past that the oldest is finished with `http_pending_limit`.
    pub fn with_max_pending(max_pending: usize) -> Self {
        HttpConn {
            max_pending: max_pending.max(1),
            sides: [Side::new(), Side::new()],
            // Room for one: most connections carry one exchange at a time, and a
            // queue's first growth would otherwise reserve four 600-byte entries.
            slots: VecDeque::with_capacity(1),
            first_seq: 0,
            next_seq: 0,
            resp_next: 0,
            done: VecDeque::with_capacity(1),
            upgrade: None,
            after_upgrade: [None, None],
            anomalies: Vec::new(),
            tunnel_seq: None,
            tunnel_prefix: [Vec::new(), Vec::new()],
        }
    }

    /// Makes a decoder that served a connection as good as
    /// [`HttpConn::with_max_pending`] for the next one, keeping its allocations: the
    /// transaction queues (600-byte entries; their first growth was the largest
    /// allocation of a short connection) and the head buffers, when they stayed small.
    /// Every field is the fresh decoder's; only capacities carry over.
    pub fn recycle(&mut self, max_pending: usize) {
        /// Head buffers larger than this are let go rather than kept idle.
        const KEEP_BUF: usize = 4096;
        let mut fresh = Self::with_max_pending(max_pending);
        let mut slots = std::mem::take(&mut self.slots);
        slots.clear();
        fresh.slots = slots;
        let mut done = std::mem::take(&mut self.done);
        done.clear();
        fresh.done = done;
        for (f, old) in fresh.sides.iter_mut().zip(self.sides.iter_mut()) {
            let mut buf = std::mem::take(&mut old.buf);
            if buf.capacity() <= KEEP_BUF {
                buf.clear();
                f.buf = buf;
            }
        }
        *self = fresh;
    }

    /// Feeds in-order stream bytes of one direction, carried by packet `pkt` at `ts`.
    pub fn feed(&mut self, dir: Direction, ts: Timestamp, pkt: PacketId, bytes: &[u8]) {
        let d = dir.index();
        let mut replay: Vec<u8> = Vec::new();
        let mut rpos = 0usize;
        let mut ipos = 0usize;
        let mut stalls = 0u32;
        loop {
            let from_replay = rpos < replay.len();
            let chunk = if from_replay {
                replay.get(rpos..).unwrap_or_default()
            } else {
                bytes.get(ipos..).unwrap_or_default()
            };
            if chunk.is_empty() {
                break;
            }
            let step = self.step(d, ts, pkt, chunk);
            // Every step either consumes bytes or changes state; a few zero-byte steps in
            // a row would mean a bug, so force progress rather than spin.
            let step = match step {
                Step::Consumed(0) if stalls >= 4 => Step::Consumed(1),
                s => s,
            };
            match step {
                Step::Consumed(n) => {
                    stalls = if n == 0 { stalls + 1 } else { 0 };
                    let n = n.min(chunk.len());
                    self.sides[d].pos += n as u64;
                    if from_replay {
                        rpos += n;
                    } else {
                        ipos += n;
                    }
                }
                Step::Replay(n, again) => {
                    stalls = 0;
                    let n = n.min(chunk.len());
                    self.sides[d].pos += n as u64;
                    self.sides[d].pos -= again.len() as u64;
                    let mut next = again;
                    if from_replay {
                        next.extend_from_slice(replay.get(rpos + n..).unwrap_or_default());
                    } else {
                        ipos += n;
                    }
                    replay = next;
                    rpos = 0;
                }
            }
        }
    }

    /// `len` bytes of one direction are missing (a reassembly hole).
    pub fn gap(&mut self, dir: Direction, ts: Timestamp, len: u64) {
        let d = dir.index();
        if len == 0 {
            return;
        }
        self.sides[d].pos += len;
        let state = self.sides[d].state;
        match state {
            State::Stopped => self.tunnel_bytes(d, None, len),
            State::Resync { .. } => self.sides[d].state = State::Resync { line_start: true },
            State::Head { .. } => {
                if self.sides[d].cur.is_some() {
                    self.lost_head(
                        d,
                        ts,
                        AnomalyKind::HttpGapInHead,
                        "bytes of a message head are missing",
                    );
                }
                self.sides[d].buf.clear();
                self.sides[d].state = State::Resync { line_start: true };
            }
            State::Body(Body::Length { remaining }) => {
                self.mark_partial(
                    d,
                    AnomalyKind::HttpGapInBody,
                    format!("{len} body bytes missing"),
                );
                self.add_body(d, len.min(remaining));
                if len < remaining {
                    self.sides[d].state = State::Body(Body::Length {
                        remaining: remaining - len,
                    });
                } else {
                    self.complete(d, ts, None, true);
                    self.sides[d].state = State::Resync {
                        line_start: len == remaining,
                    };
                }
            }
            State::Body(Body::ChunkData { remaining }) if len < remaining => {
                self.mark_partial(
                    d,
                    AnomalyKind::HttpGapInBody,
                    format!("{len} body bytes missing"),
                );
                self.add_body(d, len);
                self.sides[d].state = State::Body(Body::ChunkData {
                    remaining: remaining - len,
                });
            }
            State::Body(Body::Close) => {
                self.mark_partial(
                    d,
                    AnomalyKind::HttpGapInBody,
                    format!("{len} body bytes missing"),
                );
                self.add_body(d, len);
            }
            State::Body(_) => {
                self.mark_partial(
                    d,
                    AnomalyKind::HttpGapInChunked,
                    format!("{len} bytes missing inside chunked framing"),
                );
                self.complete(d, ts, None, true);
                self.sides[d].buf.clear();
                self.sides[d].state = State::Resync { line_start: true };
            }
        }
    }

    /// One direction ended (FIN or RST): a close-delimited body is complete; anything
    /// else still open is truncated.
    pub fn end(&mut self, dir: Direction, ts: Timestamp) {
        let d = dir.index();
        self.close_side(d, ts, false);
        self.sides[d].ended = true;
        if self.sides.iter().all(|s| s.ended) {
            self.release_tunnel();
        }
        self.retire();
    }

    /// End of input: flushes everything still open as partial.
    pub fn finish(&mut self, ts: Timestamp) {
        for d in 0..2 {
            self.close_side(d, ts, true);
        }
        self.release_tunnel();
        while let Some(mut slot) = self.slots.pop_front() {
            if !slot.req_done || !slot.resp_done {
                slot.tx.partial = true;
            }
            self.first_seq = self.first_seq.wrapping_add(1);
            self.done.push_back(slot.tx);
        }
        self.resp_next = self.next_seq;
    }

    /// Finished transactions, in order.
    pub fn drain(&mut self) -> impl Iterator<Item = HttpTransaction> + '_ {
        self.done.drain(..)
    }

    /// Transactions not yet drained, finished or still open, oldest first: lets a
    /// packet list show a message's Info on the packet that completed it while the
    /// exchange is still in progress.
    /// Each item is the transaction with whether its request and its response are
    /// complete.
    pub fn in_flight(&self) -> impl Iterator<Item = (&HttpTransaction, bool, bool)> + '_ {
        self.done
            .iter()
            .map(|t| (t, true, true))
            .chain(self.slots.iter().map(|s| (&s.tx, s.req_done, s.resp_done)))
    }

    /// Both directions have ended and every transaction has been drained: nothing
    /// can come out of this decoder any more (after `end`, a side is stopped, so
    /// `finish` has nothing left to flush). Lets the owner free it while the flow table
    /// keeps the closed connection around for late ACKs.
    pub fn is_spent(&self) -> bool {
        self.sides.iter().all(|s| s.ended) && self.slots.is_empty() && self.done.is_empty()
    }

    /// After a 101 to `h2c` (RFC 7540 §3.2), the bytes each side sent past the HTTP/1
    /// messages, for the HTTP/2 decoder that takes over; other upgrades (WebSocket, a
    /// CONNECT tunnel) keep nothing.
    fn keep_after_upgrade(&mut self, d: usize, ts: Timestamp, pkt: PacketId, chunk: &[u8]) {
        if !self.switched_to_h2c() || chunk.is_empty() {
            return;
        }
        let Some(slot) = self.after_upgrade.get_mut(d) else {
            return;
        };
        let a = slot.get_or_insert_with(|| AfterUpgrade {
            pkt,
            ts,
            bytes: Vec::new(),
        });
        let room = MAX_AFTER_UPGRADE.saturating_sub(a.bytes.len());
        a.bytes
            .extend_from_slice(chunk.get(..chunk.len().min(room)).unwrap_or_default());
    }

    /// A 101 switched the connection to `h2c` and nobody took it over yet.
    fn switched_to_h2c(&self) -> bool {
        self.upgrade
            .as_ref()
            .and_then(|u| u.protocol.as_deref())
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("h2c"))
    }

    /// The connection switched to `h2c`: the upgrade request (for stream 1) and what
    /// each side sent after the switch, taken once. `None` for any other upgrade, or
    /// before the switch.
    pub fn take_h2c(&mut self) -> Option<(HttpTransaction, [Option<AfterUpgrade>; 2])> {
        if !self.switched_to_h2c() {
            return None;
        }
        let seq = self.upgrade.as_ref()?.seq;
        let tx = self.in_flight().find(|(t, ..)| t.seq == seq)?.0.clone();
        // Taken: the owner now feeds HTTP/2; mark it so a second call says nothing.
        self.upgrade.as_mut()?.protocol = Some("h2c (taken)".into());
        Some((tx, std::mem::take(&mut self.after_upgrade)))
    }

    /// Set once the connection switched protocols or became a tunnel.
    pub fn upgraded(&self) -> Option<&Upgrade> {
        self.upgrade.as_ref()
    }

    /// Anomalies not tied to one transaction (e.g. bytes that were not HTTP).
    pub fn anomalies(&self) -> &[Anomaly] {
        &self.anomalies
    }

    fn close_side(&mut self, d: usize, ts: Timestamp, eof: bool) {
        let allowed = self.headerless_allowed(d) || self.awaits_09_response();
        let side = &self.sides[d];
        if matches!(
            side.state,
            State::Head {
                tentative: false,
                ..
            }
        ) && !side.buf.is_empty()
            && !starts_with_ci(&side.buf, b"HTTP/")
            && allowed
        {
            // A headerless answer that ended before its first line did.
            let cur = side.cur.unwrap_or_default();
            let len = side.buf.len() as u64;
            self.headerless(d, cur, len);
        }
        let side = &mut self.sides[d];
        let state = side.state;
        match state {
            State::Body(Body::Close) => {
                let partial = eof && !side.ended;
                self.complete(d, ts, None, partial);
            }
            State::Head { .. } if side.buf.is_empty() || side.cur.is_none() => {}
            State::Head { .. } => {
                self.lost_head(
                    d,
                    ts,
                    AnomalyKind::HttpTruncated,
                    "stream ended inside a message head",
                );
            }
            State::Body(_) => {
                self.mark_partial(
                    d,
                    AnomalyKind::HttpTruncated,
                    "stream ended inside a message body",
                );
                self.complete(d, ts, None, true);
            }
            State::Resync { .. } | State::Stopped => {}
        }
        let side = &mut self.sides[d];
        side.buf = Vec::new();
        if !matches!(side.state, State::Stopped) {
            side.state = State::Stopped;
        }
    }

    fn want_request(d: usize) -> bool {
        d == Direction::ClientToServer.index()
    }

    fn step(&mut self, d: usize, ts: Timestamp, pkt: PacketId, chunk: &[u8]) -> Step {
        match self.sides[d].state {
            State::Stopped => {
                self.keep_after_upgrade(d, ts, pkt, chunk);
                self.tunnel_bytes(d, Some(chunk), chunk.len() as u64);
                Step::Consumed(chunk.len())
            }
            State::Resync { line_start } => self.resync(d, chunk, line_start),
            State::Head {
                tentative,
                line_checked,
            } => self.head(d, ts, pkt, chunk, tentative, line_checked),
            State::Body(b) => self.body(d, ts, pkt, chunk, b),
        }
    }

    fn resync(&mut self, d: usize, chunk: &[u8], line_start: bool) -> Step {
        let want = Self::want_request(d);
        let mut cand = if line_start { Some(0) } else { None };
        let mut search = 0usize;
        loop {
            if let Some(c) = cand {
                let rest = chunk.get(c..).unwrap_or_default();
                if rest.is_empty() {
                    self.sides[d].state = State::Resync { line_start: true };
                    return Step::Consumed(chunk.len());
                }
                if plausible_start(rest, want) != Some(false) {
                    self.sides[d].state = State::Head {
                        tentative: true,
                        line_checked: false,
                    };
                    self.sides[d].buf.clear();
                    self.sides[d].scanned = 0;
                    return Step::Consumed(c);
                }
            }
            match chunk
                .get(search..)
                .and_then(|r| r.iter().position(|&b| b == b'\n'))
            {
                Some(off) => {
                    cand = Some(search + off + 1);
                    search = search + off + 1;
                }
                None => {
                    self.sides[d].state = State::Resync { line_start: false };
                    return Step::Consumed(chunk.len());
                }
            }
        }
    }

    fn head(
        &mut self,
        d: usize,
        ts: Timestamp,
        pkt: PacketId,
        chunk: &[u8],
        tentative: bool,
        mut line_checked: bool,
    ) -> Step {
        let want = Self::want_request(d);
        // RFC 1945 §4.1: the answer to an HTTP/0.9 Simple-Request is the server's bytes
        // until it closes, with no status line; a server that answers with a status
        // line anyway (an HTTP/1.x error) is read as one.
        if !want
            && !tentative
            && self.sides[d].buf.is_empty()
            && self.awaits_09_response()
            && plausible_start(chunk, false) == Some(false)
        {
            let start = self.sides[d].pos;
            self.start_raw_response(d, ts, pkt, start, None);
            return Step::Consumed(0);
        }
        let side = &mut self.sides[d];
        let mut skipped = 0usize;
        if side.buf.is_empty() {
            // RFC 9112 §2.2: ignore empty lines before a message.
            skipped = chunk
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            if skipped == chunk.len() {
                return Step::Consumed(skipped);
            }
            side.cur = Some(Cur {
                seq: None,
                first_ts: ts,
                first_pkt: pkt,
                interim: false,
                start: side.pos + skipped as u64,
            });
            side.scanned = 0;
        }
        let data = chunk.get(skipped..).unwrap_or_default();
        let room = MAX_HEAD_BYTES.saturating_sub(side.buf.len());
        let take = data.len().min(room);
        let before = side.buf.len();
        side.buf
            .extend_from_slice(data.get(..take).unwrap_or_default());
        let from = side.scanned.saturating_sub(3);
        let end = find_head_end(&side.buf, from);
        side.scanned = side.buf.len();

        // Validate the start line as soon as it is complete, so a false start after a
        // gap fails at its first line and the resync scan stays linear.
        // Only the new bytes need looking at: had the older ones held a newline, the line
        // would already be checked (keeps a 1-byte-per-segment trickle linear).
        // After a gap (`tentative`) the strict grammar decides, so body bytes are not
        // taken for a message; at a message boundary the lenient one (Zeek's rules).
        let mut simple_end = None;
        if !line_checked && side.buf.get(before..).is_some_and(|b| b.contains(&b'\n')) {
            let line = first_line(&side.buf);
            let mut bad = None;
            let ok = match (tentative, want, line) {
                (true, true, _) => request_line(&side.buf).is_ok(),
                (true, false, _) => status_line(&side.buf).is_ok(),
                (false, true, Some((line, n))) => match lenient_request_line(line) {
                    Ok(r) => {
                        // RFC 1945 §4.1: a Simple-Request is the request line alone.
                        if r.version == ReqVersion::Simple {
                            simple_end = Some(n);
                        }
                        true
                    }
                    Err(e) => {
                        bad = Some(HeadError::BadRequestLine(e));
                        false
                    }
                },
                (false, false, Some((line, _))) => lenient_status_line(line).is_some(),
                (false, _, None) => false,
            };
            if !ok {
                if !want && !tentative && (self.headerless_allowed(d) || self.awaits_09_response())
                {
                    let cur = self.sides[d].cur.unwrap_or_default();
                    let len = self.sides[d].buf.len() as u64;
                    self.headerless(d, cur, len);
                    self.touch(d, ts, pkt);
                    return Step::Consumed(skipped + take);
                }
                return self.head_failed(d, ts, skipped, take, tentative, bad);
            }
            line_checked = true;
        }
        let side = &mut self.sides[d];
        let end = simple_end.or(end);
        let Some(end) = end else {
            if side.buf.len() >= MAX_HEAD_BYTES {
                side.buf.clear();
                self.lost_head(
                    d,
                    ts,
                    AnomalyKind::HttpHeaderLimit,
                    format!("head longer than {MAX_HEAD_BYTES} bytes"),
                );
                self.sides[d].state = State::Resync { line_start: false };
                return Step::Consumed(skipped + take);
            }
            side.state = State::Head {
                tentative,
                line_checked,
            };
            return Step::Consumed(skipped + take);
        };
        // Bytes of this chunk that belong to the head.
        let used = end.saturating_sub(before);
        let parsed = parse_head(side.buf.get(..end).unwrap_or_default(), want);
        match parsed {
            Ok(head) => {
                side.buf.clear();
                side.scanned = 0;
                side.state = State::Head {
                    tentative: false,
                    line_checked: false,
                };
                let body_start = side.pos + (skipped + used) as u64;
                if want {
                    self.on_request(d, ts, pkt, head, body_start, tentative);
                } else {
                    self.on_response(d, ts, pkt, head, body_start, tentative);
                }
                Step::Consumed(skipped + used)
            }
            Err(HeadError::TooManyLines) => {
                side.buf.clear();
                self.lost_head(
                    d,
                    ts,
                    AnomalyKind::HttpHeaderLimit,
                    format!("more than {} header lines", super::parse::MAX_HEADER_LINES),
                );
                self.sides[d].state = State::Resync { line_start: true };
                Step::Consumed(skipped + used)
            }
            Err(e) => {
                side.buf.truncate(end);
                self.head_failed(d, ts, skipped, used, tentative, Some(e))
            }
        }
    }

    /// A head that cannot be parsed: drop it and rescan its bytes after the first.
    #[allow(clippy::too_many_arguments)]
    fn head_failed(
        &mut self,
        d: usize,
        ts: Timestamp,
        skipped: usize,
        took: usize,
        tentative: bool,
        err: Option<HeadError>,
    ) -> Step {
        let buf = std::mem::take(&mut self.sides[d].buf);
        self.sides[d].scanned = 0;
        if tentative {
            self.sides[d].cur = None;
        } else {
            let detail = match err {
                Some(e) => e.to_string(),
                None => HeadError::BadStartLine.to_string(),
            };
            // Not a message we can pair: the bytes may be another protocol or noise, so
            // record it on the connection instead of inventing a transaction.
            self.sides[d].cur = None;
            let _ = ts;
            Self::push_anomaly(
                &mut self.anomalies,
                Anomaly::new(
                    AnomalyKind::HttpMalformedHead,
                    format!("{} {detail}", ["request", "response"][d]),
                ),
            );
        }
        self.sides[d].state = State::Resync { line_start: false };
        let again = buf.get(1..).unwrap_or_default().to_vec();
        // Bytes of this chunk consumed into `buf`, all of which are replayed (minus the
        // first byte of `buf`, which may have come from an earlier chunk).
        let consumed = skipped + took;
        Step::Replay(consumed, again)
    }

    fn body(&mut self, d: usize, ts: Timestamp, pkt: PacketId, chunk: &[u8], b: Body) -> Step {
        match b {
            Body::Length { remaining } => {
                let n = (chunk.len() as u64).min(remaining);
                self.add_body(d, n);
                self.touch(d, ts, pkt);
                if n == remaining {
                    let end = self.sides[d].pos + n;
                    self.complete(d, ts, Some(end), false);
                } else {
                    self.sides[d].state = State::Body(Body::Length {
                        remaining: remaining - n,
                    });
                }
                Step::Consumed(n as usize)
            }
            Body::ChunkData { remaining } => {
                let n = (chunk.len() as u64).min(remaining);
                self.add_body(d, n);
                self.touch(d, ts, pkt);
                self.sides[d].state = State::Body(if n == remaining {
                    Body::ChunkDataEnd { saw_cr: false }
                } else {
                    Body::ChunkData {
                        remaining: remaining - n,
                    }
                });
                Step::Consumed(n as usize)
            }
            Body::ChunkDataEnd { saw_cr } => {
                self.touch(d, ts, pkt);
                match (chunk.first(), saw_cr) {
                    (Some(b'\r'), false) => {
                        self.sides[d].state = State::Body(Body::ChunkDataEnd { saw_cr: true });
                        Step::Consumed(1)
                    }
                    (Some(b'\n'), _) => {
                        self.sides[d].state = State::Body(Body::ChunkSize);
                        self.sides[d].buf.clear();
                        Step::Consumed(1)
                    }
                    _ => {
                        self.chunk_error(d, ts, "chunk data not followed by CRLF");
                        Step::Consumed(0)
                    }
                }
            }
            Body::Close => {
                self.add_body(d, chunk.len() as u64);
                self.touch(d, ts, pkt);
                Step::Consumed(chunk.len())
            }
            Body::ChunkSize => {
                self.touch(d, ts, pkt);
                let nl = chunk.iter().position(|&b| b == b'\n');
                let take = nl.map_or(chunk.len(), |p| p + 1);
                let side = &mut self.sides[d];
                if side.buf.len() + take > MAX_CHUNK_LINE {
                    self.chunk_error(d, ts, "chunk-size line too long");
                    return Step::Consumed(take);
                }
                side.buf
                    .extend_from_slice(chunk.get(..take).unwrap_or_default());
                if nl.is_none() {
                    return Step::Consumed(take);
                }
                match parse_chunk_size(&side.buf) {
                    Some(0) => {
                        side.buf.clear();
                        side.state = State::Body(Body::Trailers);
                    }
                    Some(n) => {
                        side.buf.clear();
                        side.state = State::Body(Body::ChunkData { remaining: n });
                    }
                    None => {
                        self.chunk_error(d, ts, "invalid chunk-size line");
                    }
                }
                Step::Consumed(take)
            }
            Body::Trailers => {
                // RFC 9112 §7.1.2: trailer fields, then an empty line.
                self.touch(d, ts, pkt);
                let side = &mut self.sides[d];
                let before = side.buf.len();
                let room = MAX_HEAD_BYTES.saturating_sub(before);
                let take = chunk.len().min(room);
                side.buf
                    .extend_from_slice(chunk.get(..take).unwrap_or_default());
                match find_head_end(&side.buf, before.saturating_sub(3)) {
                    Some(end) => {
                        let used = end.saturating_sub(before);
                        side.buf.clear();
                        let endpos = side.pos + used as u64;
                        self.complete(d, ts, Some(endpos), false);
                        Step::Consumed(used)
                    }
                    None if side.buf.len() >= MAX_HEAD_BYTES => {
                        self.chunk_error(d, ts, "trailer section too long");
                        Step::Consumed(take)
                    }
                    None => Step::Consumed(take),
                }
            }
        }
    }

    /// The next response answers an HTTP/0.9 Simple-Request.
    fn awaits_09_response(&self) -> bool {
        let i = self.resp_next.wrapping_sub(self.first_seq) as usize;
        self.resp_next < self.next_seq && self.slots.get(i).is_some_and(|s| s.http09)
    }

    /// Side `d` may be answering without a status line: it is the server's first
    /// message and a request (not an HTTP/0.9 one, handled before) waits for it.
    fn headerless_allowed(&self, d: usize) -> bool {
        !Self::want_request(d) && self.sides[d].messages == 0 && self.resp_next < self.next_seq
    }

    /// The bytes buffered as a head (`len` of them, from `cur`) are a headerless
    /// response's body (curl's `--http0.9` accepts such answers): the rest of the
    /// stream is its body.
    /// Also the answer to an HTTP/0.9 request whose first bytes looked like a status
    /// line until its first line was whole.
    fn headerless(&mut self, d: usize, cur: Cur, len: u64) {
        self.sides[d].buf.clear();
        self.sides[d].scanned = 0;
        let a = (!self.awaits_09_response()).then(|| {
            Anomaly::new(
                AnomalyKind::HttpHeaderlessResponse,
                "the server answered without a status line or headers: its bytes until close are the body",
            )
        });
        self.start_raw_response(d, cur.first_ts, cur.first_pkt, cur.start, a);
        self.add_body(d, len);
    }

    /// Starts a response read until close with no head (HTTP/0.9, or headerless),
    /// answering the next waiting request.
    fn start_raw_response(
        &mut self,
        d: usize,
        ts: Timestamp,
        pkt: PacketId,
        start: u64,
        anomaly: Option<Anomaly>,
    ) {
        let seq = self.resp_next;
        let Some(slot) = self.slot_mut(seq) else {
            return;
        };
        let tx = &mut slot.tx;
        tx.response_version = slot
            .http09
            .then_some(super::parse::Version { major: 0, minor: 9 });
        tx.response_ts = Some(ts);
        tx.response_first_pkt = Some(pkt);
        tx.response_last_pkt = Some(pkt);
        tx.response_end_ts = Some(ts);
        tx.transfer = Transfer::Close;
        tx.response_body = Some(start..start);
        if let Some(a) = anomaly {
            Self::push_anomaly(&mut tx.anomalies, a);
        }
        let side = &mut self.sides[d];
        side.messages += 1;
        side.cur = Some(Cur {
            seq: Some(seq),
            first_ts: ts,
            first_pkt: pkt,
            interim: false,
            start,
        });
        side.state = State::Body(Body::Close);
    }

    /// Bytes (or a gap of `len` when `chunk` is `None`) of side `d` inside an open
    /// CONNECT tunnel.
    fn tunnel_bytes(&mut self, d: usize, chunk: Option<&[u8]>, len: u64) {
        let Some(seq) = self.tunnel_seq else { return };
        if let Some(t) = self.slot_mut(seq).and_then(|s| s.tx.tunnel.as_mut()) {
            if let Some(n) = t.bytes.get_mut(d) {
                *n += len;
            }
        }
        let limit = if Self::want_request(d) {
            CLIENT_PREFIX
        } else {
            SERVER_PREFIX
        };
        if let (Some(chunk), Some(p)) = (chunk, self.tunnel_prefix.get_mut(d)) {
            let room = limit.saturating_sub(p.len());
            p.extend_from_slice(chunk.get(..chunk.len().min(room)).unwrap_or_default());
        }
    }

    /// The connection ended: the CONNECT's exchange gets what its tunnel carried and
    /// is let out.
    fn release_tunnel(&mut self) {
        let Some(seq) = self.tunnel_seq.take() else {
            return;
        };
        let [client, server] = std::mem::take(&mut self.tunnel_prefix);
        if let Some(slot) = self.slot_mut(seq) {
            slot.hold = false;
            if let Some(t) = slot.tx.tunnel.as_mut() {
                t.classify(&client, &server);
            }
        }
        self.retire();
    }

    fn chunk_error(&mut self, d: usize, ts: Timestamp, detail: &'static str) {
        self.mark_partial(d, AnomalyKind::HttpChunkFraming, detail);
        self.complete(d, ts, None, true);
        self.sides[d].buf.clear();
        self.sides[d].state = State::Resync { line_start: false };
    }
}

#[cfg(test)]
mod tests;
