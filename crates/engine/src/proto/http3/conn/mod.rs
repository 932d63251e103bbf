//! The per-connection HTTP/3 engine (RFC 9114): the in-order bytes of each QUIC stream
//! and direction in (as QUIC stream reassembly delivers them, with the packet that
//! carried them), frames and exchanges out.
//!
//! * Unidirectional streams (§6.2) open with a type varint: the control stream (§6.2.1:
//!   SETTINGS first, then GOAWAY, MAX_PUSH_ID, CANCEL_PUSH), push streams (§4.6), QPACK
//!   encoder and decoder streams (RFC 9204 §4.2); reserved (GREASE, §6.2.3) and unknown
//!   types are skipped.
//! * Client-initiated bidirectional streams are request streams (§4.1, §6.1): HEADERS,
//!   DATA, PUSH_PROMISE (reserved and unknown frame types skipped, §9), each direction
//!   ending with the stream's FIN. They become [`H3Exchange`]s.
//! * Field sections are decoded by the QPACK decoder of their *sender's* direction: the
//!   table the sender's encoder stream builds, bounded by the *receiver's*
//!   SETTINGS_QPACK_MAX_TABLE_CAPACITY and SETTINGS_QPACK_BLOCKED_STREAMS (RFC 9204
//!   §3.2.3, §2.1.2). Until the receiver's SETTINGS are seen, only sections that use no
//!   dynamic entry (Required Insert Count 0) are decoded; the others and the encoder
//!   bytes wait (bounded) for them. A section that refers to insertions not yet received
//!   is held and applied when the encoder stream delivers them, in order with the other
//!   sections of its stream.
//!
//! Bounds: a HEADERS or PUSH_PROMISE payload is buffered up to the receiver's
//! SETTINGS_MAX_FIELD_SECTION_SIZE (at most [`qpack::MAX_FIELD_SECTION_SIZE`]) or
//! [`DEFAULT_MAX_HEADER_FRAME`]; control frames up to [`MAX_CONTROL_FRAME`]; DATA and
//! ignored frames are never buffered (counted as they pass); [`MAX_OPEN_STREAMS`] request
//! streams in flight; [`MAX_PENDING_FRAMES`] frame records waiting to be drained.

// Bytes from the wire reach this code: no unwrap, expect, panic or unchecked indexing
// outside tests, so no input can make it panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod qpack_side;
mod reader;
mod request;
mod uni;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use super::exchange::{H3Exchange, Reset};
use super::frame::{error_code_text, H3_NO_ERROR};
use super::frame_info::{H3FrameDetail, H3FrameInfo};
use crate::base::{Anomaly, AnomalyKind, Direction, PacketId, Timestamp};
use crate::proto::http2::Header;
use crate::proto::qpack;

use qpack_side::QpackSide;
use reader::FrameReader;
use request::ReqStream;
use uni::Uni;

/// Largest HEADERS / PUSH_PROMISE payload buffered when the receiver announced no
/// SETTINGS_MAX_FIELD_SECTION_SIZE.
pub const DEFAULT_MAX_HEADER_FRAME: u64 = 64 * 1024;
/// Largest control-stream frame buffered (SETTINGS, GOAWAY, …); larger ones are skipped.
pub const MAX_CONTROL_FRAME: u64 = 16 * 1024;
/// Most request streams in flight before the oldest is given up as partial.
pub const MAX_OPEN_STREAMS: usize = 1024;
/// Most unidirectional streams tracked (a peer needs 3 or 4, plus pushes and GREASE).
pub const MAX_UNI_STREAMS: usize = 256;
/// Most frame records waiting in [`H3Conn::drain_frames`].
pub const MAX_PENDING_FRAMES: usize = 1 << 16;
/// Encoder-stream bytes and dynamic field sections held while the receiver's SETTINGS
/// are unknown.
pub const MAX_EARLY_QPACK_BYTES: usize = 256 * 1024;
/// Finished stream ids remembered, so late bytes do not open a new exchange.
const MAX_CLOSED: usize = 4096;
/// Most anomalies kept on the connection or on one exchange.
const MAX_ANOMALIES: usize = 32;

/// The last GOAWAY seen (RFC 9114 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct H3Goaway {
    pub by: Direction,
    /// From the server: the first request stream id it will not process. From the
    /// client: a push id.
    pub id: u64,
    pub pkt: PacketId,
    pub ts: Timestamp,
}

/// Two values indexed by `Direction::index()`: any index other than 0 is the server
/// side, so indexing cannot panic.
#[derive(Debug, Default)]
pub(super) struct Pair<T>(pub [T; 2]);

impl<T> std::ops::Index<usize> for Pair<T> {
    type Output = T;
    fn index(&self, d: usize) -> &T {
        let [c, s] = &self.0;
        if d == 0 {
            c
        } else {
            s
        }
    }
}

impl<T> std::ops::IndexMut<usize> for Pair<T> {
    fn index_mut(&mut self, d: usize) -> &mut T {
        let [c, s] = &mut self.0;
        if d == 0 {
            c
        } else {
            s
        }
    }
}

/// What one side said on its control stream.
#[derive(Debug, Default)]
struct Control {
    stream: Option<u64>,
    encoder: Option<u64>,
    decoder: Option<u64>,
    settings: Option<Vec<(u64, u64)>>,
    max_push_id: Option<u64>,
}

/// HTTP/3 decoder for one QUIC connection. See the module docs.
#[derive(Debug)]
pub struct H3Conn {
    ctrl: Pair<Control>,
    /// QPACK decoding of the field sections *sent* by each side.
    qpack: Pair<QpackSide>,
    uni: HashMap<u64, Uni>,
    streams: BTreeMap<u64, ReqStream>,
    /// PUSH_PROMISEs whose push stream has not appeared, by push id.
    promised: BTreeMap<u64, request::Promise>,
    /// Push streams by push id.
    push_streams: BTreeMap<u64, u64>,
    closed: BTreeSet<u64>,
    closed_order: VecDeque<u64>,
    done: VecDeque<H3Exchange>,
    frames: VecDeque<H3FrameInfo>,
    keep_frames: bool,
    frames_dropped: u64,
    next_seq: u32,
    goaway: Option<H3Goaway>,
    anomalies: Vec<Anomaly>,
    /// Anomaly kinds reported once per connection already.
    once: BTreeSet<(AnomalyKind, u64)>,
    finished: bool,
}

impl Default for H3Conn {
    fn default() -> Self {
        Self::new()
    }
}

pub(super) fn dir_of(d: usize) -> Direction {
    if d == 0 {
        Direction::ClientToServer
    } else {
        Direction::ServerToClient
    }
}

pub(super) fn push_anomaly(list: &mut Vec<Anomaly>, a: Anomaly) {
    if list.len() < MAX_ANOMALIES {
        list.push(a);
    }
}

impl H3Conn {
    /// A connection from its start. Frame records are kept for
    /// [`H3Conn::drain_frames`] (see [`H3Conn::keep_frames`]).
    pub fn new() -> Self {
        H3Conn {
            ctrl: Pair::default(),
            qpack: Pair::default(),
            uni: HashMap::new(),
            streams: BTreeMap::new(),
            promised: BTreeMap::new(),
            push_streams: BTreeMap::new(),
            closed: BTreeSet::new(),
            closed_order: VecDeque::new(),
            done: VecDeque::new(),
            frames: VecDeque::new(),
            keep_frames: true,
            frames_dropped: 0,
            next_seq: 0,
            goaway: None,
            anomalies: Vec::new(),
            once: BTreeSet::new(),
            finished: false,
        }
    }

    /// Whether to keep an [`H3FrameInfo`] per frame (default yes; summaries that never
    /// drain them should say no).
    pub fn keep_frames(mut self, keep: bool) -> Self {
        self.keep_frames = keep;
        self
    }

    /// In-order bytes of QUIC stream `id` (RFC 9000 §2.1: `id & 1` = server-initiated,
    /// `id & 2` = unidirectional) sent in direction `dir`, carried by packet `pkt` at
    /// `ts`; `fin`: the stream's direction ended with these bytes.
    pub fn stream(
        &mut self,
        id: u64,
        dir: Direction,
        pkt: PacketId,
        ts: Timestamp,
        data: &[u8],
        fin: bool,
    ) {
        if self.closed.contains(&id) {
            return;
        }
        let d = dir.index();
        if id & 2 == 0 {
            if id & 1 == 1 {
                // §6.1: no server-initiated bidirectional streams without an extension.
                self.conn_anomaly_once(
                    AnomalyKind::H3BadStream,
                    id,
                    format!(
                        "bytes on server-initiated bidirectional stream {id}, which HTTP/3 \
                         does not use (RFC 9114 §6.1): ignored"
                    ),
                );
                return;
            }
            self.request_bytes(id, d, pkt, ts, data, fin);
        } else {
            let sender = (id & 1) as usize;
            if sender != d {
                self.conn_anomaly_once(
                    AnomalyKind::H3BadStream,
                    id,
                    format!(
                        "the {} sent bytes on unidirectional stream {id}, which the {} opened: \
                         ignored",
                        dir.sender(),
                        dir_of(sender).sender()
                    ),
                );
                return;
            }
            self.uni_bytes(id, d, pkt, ts, data, fin);
        }
    }

    /// `len` bytes of stream `id` in direction `dir` will never arrive (a hole QUIC
    /// reassembly gave up on). Inside a DATA or ignored frame the stream goes on (the
    /// exchange is partial); inside a field section that section is lost; elsewhere the
    /// rest of that stream direction is not read. On a QPACK encoder stream, later
    /// insertions are unknown: sections that need them are lost.
    pub fn stream_gap(&mut self, id: u64, dir: Direction, len: u64) {
        if len == 0 || self.closed.contains(&id) {
            return;
        }
        let d = dir.index();
        if id & 2 == 0 {
            if id & 1 == 0 {
                self.request_gap(id, d, len);
            }
        } else if (id & 1) as usize == d {
            self.uni_gap(id, d, len);
        }
    }

    /// RESET_STREAM or STOP_SENDING for stream `id`, sent by `dir` with HTTP/3 error
    /// `code` (RFC 9114 §8.1). A request stream not yet complete ends here as partial
    /// (unless the code is H3_NO_ERROR, which a server uses to stop a request body it
    /// does not need, §4.1.1); a critical stream reset is an anomaly.
    pub fn reset(&mut self, id: u64, dir: Direction, code: u64, pkt: PacketId, ts: Timestamp) {
        if id & 2 != 0 && !self.streams.contains_key(&id) {
            self.uni_reset(id, dir, code);
            return;
        }
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        if s.ex.reset.is_none() {
            s.ex.reset = Some(Reset {
                by: dir,
                error: code,
                pkt,
                ts,
            });
        }
        if code == H3_NO_ERROR || s.stopped {
            return;
        }
        // Later bytes of the stream are ignored; field sections already held for QPACK
        // are still decoded when their encoder instructions arrive (the encoder stream
        // carries them whatever happened to this stream), then the exchange leaves.
        s.stopped = true;
        if s.fin != [true, true] {
            s.ex.partial = true;
            push_anomaly(
                &mut s.ex.anomalies,
                Anomaly::new(
                    AnomalyKind::H3StreamReset,
                    format!(
                        "the {} reset stream {id} with {} (RFC 9114 §4.1.1)",
                        dir.sender(),
                        error_code_text(code)
                    ),
                ),
            );
        }
        s.fin = [true, true];
        self.maybe_done(id);
    }

    /// End of the connection: held field sections are decoded (with a guessed table
    /// capacity if the receiver's SETTINGS were never seen) or lost, and every stream
    /// still open is finished as partial, in stream order.
    pub fn finish(&mut self, _ts: Timestamp) {
        if self.finished {
            return;
        }
        self.finished = true;
        for d in 0..2 {
            if !self.qpack[d].configured() && self.qpack[d].has_early() {
                push_anomaly(
                    &mut self.anomalies,
                    Anomaly::new(
                        AnomalyKind::H3HeadersUnreliable,
                        format!(
                            "the {}'s SETTINGS were never seen: the {}'s field sections are \
                             decoded with a guessed QPACK table capacity",
                            dir_of(1 - d).sender(),
                            dir_of(d).sender()
                        ),
                    ),
                );
                self.configure_qpack(d, None, None);
            }
        }
        let ids: Vec<u64> = self.streams.keys().copied().collect();
        for id in ids {
            self.give_up_sections(id, "the connection ended before its QPACK instructions");
            let Some(mut s) = self.streams.remove(&id) else {
                continue;
            };
            if s.complete() {
                self.retire(id, s);
                continue;
            }
            let refused = self.goaway.filter(|g| {
                g.by == Direction::ServerToClient && !s.push && id >= g.id && !s.resp_started()
            });
            if let Some(g) = refused {
                push_anomaly(
                    &mut s.ex.anomalies,
                    Anomaly::new(
                        AnomalyKind::H3NotProcessed,
                        format!(
                            "stream {id} not processed: the server's GOAWAY allowed streams \
                             below {}",
                            g.id
                        ),
                    ),
                );
                self.retire(id, s);
                continue;
            }
            s.ex.partial = true;
            let missing = match (s.fin[0], s.resp_started()) {
                (false, _) => "the request was not complete",
                (true, false) => "no response was seen",
                (true, true) => "the response was not complete",
            };
            push_anomaly(
                &mut s.ex.anomalies,
                Anomaly::new(
                    AnomalyKind::H3Truncated,
                    format!("stream {id} still open at the end: {missing}"),
                ),
            );
            self.retire(id, s);
        }
    }

    /// Finished exchanges, in the order they finished (both FINs, a reset, or the end
    /// of the connection).
    pub fn drain(&mut self) -> impl Iterator<Item = H3Exchange> + '_ {
        self.done.drain(..)
    }

    /// Frame records since the last call, in the order they completed.
    pub fn drain_frames(&mut self) -> impl Iterator<Item = H3FrameInfo> + '_ {
        self.frames.drain(..)
    }

    /// Frame records not kept because [`MAX_PENDING_FRAMES`] were waiting undrained.
    pub fn frames_dropped(&self) -> u64 {
        self.frames_dropped
    }

    /// Exchanges still open, lowest stream first (for a live view).
    pub fn in_flight(&self) -> impl Iterator<Item = &H3Exchange> + '_ {
        self.streams.values().map(|s| &s.ex)
    }

    /// The SETTINGS the side sending in `dir` announced (RFC 9114 §7.2.4), in wire
    /// order, reserved (GREASE) identifiers included.
    pub fn settings(&self, dir: Direction) -> Option<&[(u64, u64)]> {
        self.ctrl[dir.index()].settings.as_deref()
    }

    /// The last GOAWAY seen.
    pub fn goaway(&self) -> Option<&H3Goaway> {
        self.goaway.as_ref()
    }

    /// The MAX_PUSH_ID the client announced last.
    pub fn max_push_id(&self) -> Option<u64> {
        self.ctrl[0].max_push_id
    }

    /// Anomalies not tied to one exchange (streams, control frames, QPACK streams).
    pub fn anomalies(&self) -> &[Anomaly] {
        &self.anomalies
    }

    /// The QPACK decoder of the field sections sent in `dir`, once the receiver's
    /// SETTINGS configured it (its dynamic table, for a detail view).
    pub fn qpack(&self, dir: Direction) -> Option<&qpack::QpackDecoder> {
        self.qpack[dir.index()].decoder()
    }

    fn conn_anomaly(&mut self, kind: AnomalyKind, detail: String) {
        push_anomaly(&mut self.anomalies, Anomaly::new(kind, detail));
    }

    /// An anomaly reported once per (kind, key), e.g. per stream.
    fn conn_anomaly_once(&mut self, kind: AnomalyKind, key: u64, detail: String) {
        if self.once.len() < 4 * MAX_ANOMALIES && self.once.insert((kind, key)) {
            self.conn_anomaly(kind, detail);
        }
    }

    /// A finished exchange leaves: its id is remembered so late bytes are ignored.
    fn retire(&mut self, id: u64, s: ReqStream) {
        if let Some(p) = s.ex.push_id {
            self.push_streams.remove(&p);
        }
        self.done.push_back(s.ex);
        self.close_id(id);
    }

    fn close_id(&mut self, id: u64) {
        if self.closed.insert(id) {
            self.closed_order.push_back(id);
            if self.closed_order.len() > MAX_CLOSED {
                if let Some(old) = self.closed_order.pop_front() {
                    self.closed.remove(&old);
                }
            }
        }
    }

    fn next_seq(&mut self) -> u32 {
        let s = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        s
    }

    #[allow(clippy::too_many_arguments)]
    fn log(
        &mut self,
        d: usize,
        stream: u64,
        offset: u64,
        len: u64,
        first: (PacketId, Timestamp),
        pkt: PacketId,
        ts: Timestamp,
        detail: H3FrameDetail,
        headers: Option<Vec<Header>>,
        error: Option<&'static str>,
    ) {
        if !self.keep_frames {
            return;
        }
        if self.frames.len() >= MAX_PENDING_FRAMES {
            self.frames_dropped += 1;
            return;
        }
        self.frames.push_back(H3FrameInfo {
            dir: dir_of(d),
            stream,
            offset,
            len,
            first_pkt: first.0,
            first_ts: first.1,
            pkt,
            ts,
            detail,
            headers,
            error,
        });
    }
}
