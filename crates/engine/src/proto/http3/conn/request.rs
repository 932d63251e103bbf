//! Request streams (RFC 9114 §4.1) and push streams (§4.6): frames in, field sections
//! decoded (or held for QPACK) and applied in order, DATA counted, FIN, exchanges out.

use super::qpack_side::{Early, SecResult};
use super::reader::{CurFrame, Ev, GapAt};
use super::*;
use crate::base::escape::escape_str;
use crate::proto::http3::frame::{
    self as f, frame_name, is_h2_only, parse_push_promise, DATA, HEADERS, PUSH_PROMISE,
    SETTINGS_MAX_FIELD_SECTION_SIZE,
};

/// Most field sections of one stream direction waiting behind a blocked one (a request
/// has a header section and trailers; a response adds interim ones).
const MAX_QUEUED_SECTIONS: usize = 16;

/// A field section of one direction of a stream, applied in arrival order.
#[derive(Debug)]
pub(super) struct Section {
    first_pkt: PacketId,
    first_ts: Timestamp,
    pkt: PacketId,
    ts: Timestamp,
    /// Offset and length of its frame (for the record of a late decode).
    offset: u64,
    len: u64,
    state: SecState,
    /// A PUSH_PROMISE's push id: the section is the promised request.
    promise: Option<u64>,
}

#[derive(Debug)]
enum SecState {
    Blocked,
    Ready(Vec<Header>),
    Lost,
}

/// A promised request whose push stream has not been seen.
#[derive(Debug)]
pub(super) struct Promise {
    headers: Vec<Header>,
    pushed_on: u64,
    first_pkt: PacketId,
    first_ts: Timestamp,
    pkt: PacketId,
    ts: Timestamp,
}

#[derive(Debug, Default)]
pub(super) struct ReqStream {
    pub ex: H3Exchange,
    pub rd: Pair<FrameReader>,
    sections: Pair<VecDeque<Section>>,
    req_headers: bool,
    resp_final: bool,
    /// Each direction's FIN seen.
    pub fin: [bool; 2],
    /// A push stream (only the server sends; the request came in a PUSH_PROMISE).
    pub push: bool,
    /// Reset or stopped: later bytes are ignored.
    pub stopped: bool,
}

impl ReqStream {
    /// Both directions ended and every section was applied.
    pub fn complete(&self) -> bool {
        self.fin == [true, true] && self.sections.0.iter().all(VecDeque::is_empty)
    }

    /// Some response (interim or final) headers were seen.
    pub fn resp_started(&self) -> bool {
        self.resp_final || !self.ex.interim.is_empty()
    }

    fn set_fin(&mut self, d: usize) {
        if let Some(f) = self.fin.get_mut(d.min(1)) {
            *f = true;
        }
    }
}

impl H3Conn {
    /// Opens the exchange of a request stream (or a push stream) at its first byte.
    /// False when it cannot be tracked.
    pub(super) fn open_stream(&mut self, id: u64, push: bool) -> bool {
        if self.streams.len() >= MAX_OPEN_STREAMS {
            if let Some((&oldest, _)) = self.streams.iter().next() {
                if let Some(mut s) = self.streams.remove(&oldest) {
                    s.ex.partial = true;
                    push_anomaly(
                        &mut s.ex.anomalies,
                        Anomaly::new(
                            AnomalyKind::H3StreamLimit,
                            format!(
                                "more than {MAX_OPEN_STREAMS} streams open: stream {oldest} given up"
                            ),
                        ),
                    );
                    self.qpack[0].cancel(oldest);
                    self.qpack[1].cancel(oldest);
                    self.retire(oldest, s);
                }
            }
        }
        let mut s = ReqStream {
            push,
            ..Default::default()
        };
        s.ex.seq = self.next_seq();
        s.ex.stream = id;
        if push {
            s.set_fin(0);
            s.req_headers = true;
        }
        self.streams.insert(id, s);
        true
    }

    pub(super) fn request_bytes(
        &mut self,
        id: u64,
        d: usize,
        pkt: PacketId,
        ts: Timestamp,
        data: &[u8],
        fin: bool,
    ) {
        if !self.streams.contains_key(&id) && !self.open_stream(id, false) {
            return;
        }
        if self.streams.get(&id).is_some_and(|s| s.stopped) {
            return;
        }
        self.run_frames(id, d, pkt, ts, data);
        if fin {
            self.on_fin(id, d, pkt, ts);
        }
    }

    /// Frames of direction `d` of request or push stream `id`.
    pub(super) fn run_frames(
        &mut self,
        id: u64,
        d: usize,
        pkt: PacketId,
        ts: Timestamp,
        mut bytes: &[u8],
    ) {
        loop {
            let Some(s) = self.streams.get_mut(&id).filter(|s| !s.stopped) else {
                return;
            };
            let (n, ev) = s.rd[d].step(bytes, pkt, ts);
            bytes = bytes.get(n..).unwrap_or_default();
            match ev {
                Ev::None => {
                    if n == 0 {
                        return;
                    }
                }
                Ev::Begin => self.req_frame_begin(id, d),
                Ev::Chunk(c) => {
                    let data = s.rd[d].cur.as_ref().is_some_and(|c| c.hdr.ty == DATA);
                    if data {
                        if d == 0 {
                            s.ex.request_body_len += c;
                        } else {
                            s.ex.response_body_len += c;
                        }
                    }
                }
                Ev::End(f) => self.req_frame_end(id, d, f, pkt, ts),
            }
        }
    }

    /// Largest field section frame the receiver of direction `d` accepts.
    fn header_limit(&self, d: usize) -> u64 {
        self.ctrl[1 - d.min(1)]
            .settings
            .as_ref()
            .and_then(|s| {
                s.iter()
                    .find(|(k, _)| *k == SETTINGS_MAX_FIELD_SECTION_SIZE)
                    .map(|&(_, v)| v.min(qpack::MAX_FIELD_SECTION_SIZE))
            })
            .unwrap_or(DEFAULT_MAX_HEADER_FRAME)
    }

    fn req_frame_begin(&mut self, id: u64, d: usize) {
        let limit = self.header_limit(d);
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        let push = s.push;
        let headers_seen = if d == 0 {
            s.req_headers || !s.sections[0].is_empty()
        } else {
            s.resp_started() || s.sections[1].iter().any(|x| x.promise.is_none())
        };
        let Some(cur) = s.rd[d].cur.as_mut() else {
            return;
        };
        let ty = cur.hdr.ty;
        let len = cur.hdr.payload_len;
        let section = ty == HEADERS || (ty == PUSH_PROMISE && d == 1 && !push);
        if section {
            if len <= limit {
                cur.buf = Some(Vec::with_capacity(len.min(4096) as usize));
            } else {
                push_anomaly(
                    &mut s.ex.anomalies,
                    Anomaly::new(
                        AnomalyKind::H3FrameTooLarge,
                        format!(
                            "{} frame of {len} bytes on stream {id} is larger than {limit}: \
                             skipped",
                            frame_name(ty)
                        ),
                    ),
                );
            }
        } else if ty == DATA && !headers_seen {
            s.ex.partial = true;
            push_anomaly(
                &mut s.ex.anomalies,
                Anomaly::new(
                    AnomalyKind::H3BadFrame,
                    format!(
                        "DATA before HEADERS from the {} on stream {id} (RFC 9114 §4.1)",
                        dir_of(d).sender()
                    ),
                ),
            );
        }
    }

    fn req_frame_end(&mut self, id: u64, d: usize, fr: CurFrame, pkt: PacketId, ts: Timestamp) {
        let ty = fr.hdr.ty;
        let first = (fr.first_pkt, fr.first_ts);
        let (offset, wire) = (fr.offset, fr.wire_len());
        let push = self.streams.get(&id).is_some_and(|s| s.push);
        let mut sec = Section {
            first_pkt: fr.first_pkt,
            first_ts: fr.first_ts,
            pkt,
            ts,
            offset,
            len: wire,
            state: SecState::Lost,
            promise: None,
        };
        match ty {
            DATA => {
                let detail = H3FrameDetail::Data {
                    len: fr.hdr.payload_len,
                };
                self.log(d, id, offset, wire, first, pkt, ts, detail, None, None);
            }
            HEADERS | PUSH_PROMISE if fr.buf.is_some() || fr.lost => {
                let mut payload = fr.buf.unwrap_or_default();
                let mut promise = None;
                if ty == PUSH_PROMISE {
                    match parse_push_promise(&payload) {
                        Ok((pid, rest)) => {
                            promise = Some(pid);
                            payload = rest.to_vec();
                        }
                        Err(e) => {
                            self.stream_anomaly(id, AnomalyKind::H3BadFrame, e.0.to_string());
                            let detail = H3FrameDetail::Invalid {
                                ty,
                                len: fr.hdr.payload_len,
                            };
                            self.log(d, id, offset, wire, first, pkt, ts, detail, None, Some(e.0));
                            return;
                        }
                    }
                }
                sec.promise = promise;
                let queued = self.streams.get(&id).map_or(0, |s| s.sections[d].len());
                let state = if queued >= MAX_QUEUED_SECTIONS {
                    // Behind a blocked section, decoded ones wait in memory: bound them.
                    self.stream_anomaly(
                        id,
                        AnomalyKind::H3QpackError,
                        format!(
                            "more than {MAX_QUEUED_SECTIONS} field sections wait on stream {id}: \
                             this one is not decoded"
                        ),
                    );
                    SecState::Lost
                } else if fr.lost {
                    self.stream_anomaly(
                        id,
                        AnomalyKind::H3Gap,
                        format!(
                            "bytes missing inside a {} frame: fields lost",
                            frame_name(ty)
                        ),
                    );
                    SecState::Lost
                } else {
                    self.decode_section(id, d, &payload)
                };
                let (blocked, headers) = match &state {
                    SecState::Blocked => (true, None),
                    SecState::Ready(h) => (false, Some(h.clone())),
                    SecState::Lost => (false, None),
                };
                let detail = match promise {
                    Some(push_id) => H3FrameDetail::PushPromise {
                        push_id,
                        len: fr.hdr.payload_len,
                    },
                    None => H3FrameDetail::Headers {
                        len: fr.hdr.payload_len,
                        blocked,
                    },
                };
                let headers = if self.keep_frames { headers } else { None };
                self.log(d, id, offset, wire, first, pkt, ts, detail, headers, None);
                sec.state = state;
                if let Some(s) = self.streams.get_mut(&id) {
                    s.sections[d].push_back(sec);
                }
                self.apply_sections(id, d);
            }
            HEADERS | PUSH_PROMISE if ty == HEADERS || (d == 1 && !push) => {
                // Too large: skipped by count; its fields are lost, in order.
                let detail = H3FrameDetail::Skipped {
                    ty,
                    len: fr.hdr.payload_len,
                };
                self.log(d, id, offset, wire, first, pkt, ts, detail, None, None);
                if let Some(s) = self.streams.get_mut(&id) {
                    s.sections[d].push_back(sec);
                }
                self.apply_sections(id, d);
            }
            t if !(matches!(
                t,
                f::CANCEL_PUSH | f::SETTINGS | f::GOAWAY | f::MAX_PUSH_ID | PUSH_PROMISE
            ) || is_h2_only(t)) =>
            {
                // §7.2.8, §9: reserved (GREASE) and unknown frame types are ignored.
                let detail = H3FrameDetail::Ignored {
                    ty,
                    len: fr.hdr.payload_len,
                };
                self.log(d, id, offset, wire, first, pkt, ts, detail, None, None);
            }
            _ => {
                // §7.2.3–§7.2.7 control frames, a PUSH_PROMISE from the client or on a
                // push stream, or an HTTP/2 frame type: H3_FRAME_UNEXPECTED.
                let why = "frame not allowed on a request or push stream (RFC 9114 §7.2)";
                self.stream_anomaly(
                    id,
                    AnomalyKind::H3BadFrame,
                    format!(
                        "{} from the {} on stream {id}: {why}",
                        frame_name(ty),
                        dir_of(d).sender()
                    ),
                );
                let detail = H3FrameDetail::Invalid {
                    ty,
                    len: fr.hdr.payload_len,
                };
                self.log(d, id, offset, wire, first, pkt, ts, detail, None, Some(why));
            }
        }
    }

    fn stream_anomaly(&mut self, id: u64, kind: AnomalyKind, detail: String) {
        if let Some(s) = self.streams.get_mut(&id) {
            s.ex.partial = true;
            push_anomaly(&mut s.ex.anomalies, Anomaly::new(kind, detail));
        }
    }

    /// Decodes a field section sent in direction `d` now, or holds it.
    fn decode_section(&mut self, id: u64, d: usize, bytes: &[u8]) -> SecState {
        let side = &mut self.qpack[d];
        let r = if !side.configured() && bytes.first() != Some(&0) {
            let early = Early::Section {
                stream: id,
                bytes: bytes.to_vec(),
            };
            if side.hold(early, MAX_EARLY_QPACK_BYTES) {
                SecResult::Blocked
            } else {
                SecResult::Lost(format!(
                    "more than {MAX_EARLY_QPACK_BYTES} bytes wait for the {}'s SETTINGS",
                    dir_of(1 - d).sender()
                ))
            }
        } else {
            side.decode(id, bytes)
        };
        self.section_state(id, d, r)
    }

    /// A section's result as its state; a loss is an anomaly on the exchange.
    fn section_state(&mut self, id: u64, d: usize, r: SecResult) -> SecState {
        match r {
            SecResult::Ready(h) => SecState::Ready(h),
            SecResult::Blocked => SecState::Blocked,
            SecResult::Lost(why) => {
                self.stream_anomaly(
                    id,
                    AnomalyKind::H3QpackError,
                    format!(
                        "{} field section on stream {id} not decoded: {}",
                        dir_of(d).sender(),
                        escape_str(&why)
                    ),
                );
                SecState::Lost
            }
        }
    }

    /// A held section of stream `id`, direction `d`, has a result now (the first
    /// blocked one: sections unblock in arrival order). `at`: the packet of the encoder
    /// bytes that unblocked it, for the frame record.
    pub(super) fn resolve_section(
        &mut self,
        id: u64,
        d: usize,
        r: SecResult,
        at: Option<(PacketId, Timestamp)>,
    ) {
        if !self.streams.contains_key(&id) {
            return;
        }
        let state = self.section_state(id, d, r);
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        let Some(sec) = s.sections[d]
            .iter_mut()
            .find(|x| matches!(x.state, SecState::Blocked))
        else {
            return;
        };
        let (first, offset, len) = ((sec.first_pkt, sec.first_ts), sec.offset, sec.len);
        sec.state = state;
        if let (Some((pkt, ts)), SecState::Ready(h)) = (at, &sec.state) {
            let headers = Some(h.clone());
            self.log(
                d,
                id,
                offset,
                len,
                first,
                pkt,
                ts,
                H3FrameDetail::HeadersUnblocked,
                headers,
                None,
            );
        }
        self.apply_sections(id, d);
    }

    /// Every section of stream `id` still held is lost (end of connection).
    pub(super) fn give_up_sections(&mut self, id: u64, why: &str) {
        for d in 0..2 {
            while self.streams.get(&id).is_some_and(|s| {
                s.sections[d]
                    .iter()
                    .any(|x| matches!(x.state, SecState::Blocked))
            }) {
                self.qpack[d].cancel(id);
                self.resolve_section(id, d, SecResult::Lost(why.to_string()), None);
            }
        }
    }

    /// Applies the sections of direction `d` that are no longer blocked, in order.
    fn apply_sections(&mut self, id: u64, d: usize) {
        let guessed = self.qpack[d].guessed;
        loop {
            let Some(s) = self.streams.get_mut(&id) else {
                return;
            };
            let ready = s.sections[d]
                .front()
                .is_some_and(|x| !matches!(x.state, SecState::Blocked));
            if !ready {
                break;
            }
            let Some(sec) = s.sections[d].pop_front() else {
                break;
            };
            let lost = matches!(sec.state, SecState::Lost);
            if (lost || guessed) && !s.ex.headers_unreliable {
                s.ex.headers_unreliable = true;
                if guessed {
                    push_anomaly(
                        &mut s.ex.anomalies,
                        Anomaly::new(
                            AnomalyKind::H3HeadersUnreliable,
                            format!(
                                "{} headers of stream {id} decoded with a guessed QPACK table \
                                 capacity",
                                dir_of(d).sender()
                            ),
                        ),
                    );
                }
            }
            if lost {
                s.ex.partial = true;
            }
            let headers = match sec.state {
                SecState::Ready(h) => h,
                _ => Vec::new(),
            };
            if let Some(push_id) = sec.promise {
                self.apply_promise(
                    push_id,
                    Promise {
                        headers,
                        pushed_on: id,
                        first_pkt: sec.first_pkt,
                        first_ts: sec.first_ts,
                        pkt: sec.pkt,
                        ts: sec.ts,
                    },
                    lost,
                );
                continue;
            }
            apply_section(s, d, sec.first_pkt, sec.first_ts, sec.pkt, headers, lost);
        }
        self.maybe_done(id);
    }

    /// A promised request: onto its push stream's exchange, or kept until it appears.
    fn apply_promise(&mut self, push_id: u64, p: Promise, lost: bool) {
        if let Some(s) = self
            .push_streams
            .get(&push_id)
            .and_then(|sid| self.streams.get_mut(sid))
        {
            fill_promise(s, p, lost);
            return;
        }
        if self.promised.len() >= MAX_OPEN_STREAMS {
            let oldest = self.promised.keys().next().copied();
            if let Some(o) = oldest {
                self.promised.remove(&o);
            }
        }
        self.promised.insert(push_id, p);
    }

    /// A push stream named its push id: its exchange takes a promise seen before.
    pub(super) fn push_stream_opened(&mut self, id: u64, push_id: u64) {
        self.open_stream(id, true);
        self.push_streams.insert(push_id, id);
        let p = self.promised.remove(&push_id);
        if let Some(s) = self.streams.get_mut(&id) {
            s.ex.push_id = Some(push_id);
            if let Some(p) = p {
                fill_promise(s, p, false);
            }
        }
    }

    pub(super) fn on_fin(&mut self, id: u64, d: usize, pkt: PacketId, ts: Timestamp) {
        let Some(s) = self.streams.get_mut(&id).filter(|s| !s.stopped) else {
            return;
        };
        if s.rd[d].mid_frame() {
            s.ex.partial = true;
            push_anomaly(
                &mut s.ex.anomalies,
                Anomaly::new(
                    AnomalyKind::H3Truncated,
                    format!(
                        "the {}'s side of stream {id} ended inside a frame (RFC 9114 §7.1: \
                         H3_FRAME_ERROR)",
                        dir_of(d).sender()
                    ),
                ),
            );
            s.rd[d].kill();
        }
        s.set_fin(d);
        if d == 0 {
            s.ex.request_end_ts = Some(ts);
            s.ex.request_last_pkt = Some(pkt);
        } else {
            s.ex.response_end_ts = Some(ts);
            s.ex.response_last_pkt = Some(pkt);
        }
        self.maybe_done(id);
    }

    pub(super) fn maybe_done(&mut self, id: u64) {
        if self.streams.get(&id).is_some_and(ReqStream::complete) {
            if let Some(s) = self.streams.remove(&id) {
                self.retire(id, s);
            }
        }
    }

    pub(super) fn request_gap(&mut self, id: u64, d: usize, len: u64) {
        if !self.streams.contains_key(&id) && !self.open_stream(id, false) {
            return;
        }
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        let at = s.rd[d].gap(len);
        let detail = match at {
            GapAt::Inside { ty: DATA, .. } => {
                // The frame's length says these bytes were sent: count them.
                if d == 0 {
                    s.ex.request_body_len += len;
                } else {
                    s.ex.response_body_len += len;
                }
                format!("{len} bytes missing inside a DATA frame on stream {id}")
            }
            GapAt::Inside { ty, buffered } => {
                if !buffered {
                    return;
                }
                format!(
                    "{len} bytes missing inside a {} frame on stream {id}",
                    frame_name(ty)
                )
            }
            GapAt::Lost => format!(
                "{len} bytes missing on stream {id} from the {}: HTTP/3 framing lost, the rest \
                 of this direction is not read",
                dir_of(d).sender()
            ),
        };
        s.ex.partial = true;
        push_anomaly(
            &mut s.ex.anomalies,
            Anomaly::new(AnomalyKind::H3Gap, detail),
        );
    }
}

fn fill_promise(s: &mut ReqStream, p: Promise, lost: bool) {
    s.ex.pushed_on = Some(p.pushed_on);
    s.ex.set_request(p.headers);
    if !lost {
        check_request(&mut s.ex);
    }
    s.ex.request_ts = Some(p.first_ts);
    s.ex.request_first_pkt = Some(p.first_pkt);
    s.ex.request_head_pkt = Some(p.pkt);
    s.ex.request_end_ts = Some(p.ts);
    s.ex.request_last_pkt = Some(p.pkt);
}

/// One field section in its role: request, request trailers, interim or final
/// response, response trailers (§4.1).
fn apply_section(
    s: &mut ReqStream,
    d: usize,
    first_pkt: PacketId,
    first_ts: Timestamp,
    pkt: PacketId,
    headers: Vec<Header>,
    lost: bool,
) {
    let id = s.ex.stream;
    if d == 0 {
        if s.req_headers {
            s.ex.request_trailers = headers;
        } else {
            s.req_headers = true;
            s.ex.set_request(headers);
            if !lost {
                check_request(&mut s.ex);
            }
            s.ex.request_ts = Some(first_ts);
            s.ex.request_first_pkt = Some(first_pkt);
            s.ex.request_head_pkt = Some(pkt);
        }
        return;
    }
    if s.resp_final {
        s.ex.response_trailers = headers;
        return;
    }
    let status = headers
        .iter()
        .find(|f| f.name == b":status")
        .and_then(|f| std::str::from_utf8(&f.value).ok())
        .and_then(|v| v.parse::<u16>().ok())
        .filter(|v| (100..=999).contains(v));
    match status {
        // §4.1: interim responses precede the final one.
        Some(code) if code < 200 => {
            s.ex.interim.push(code);
            s.ex.interim_ts.get_or_insert(first_ts);
        }
        _ => {
            if status.is_none() && !lost {
                push_anomaly(
                    &mut s.ex.anomalies,
                    Anomaly::new(
                        AnomalyKind::H3MalformedHeaders,
                        format!(
                            "response on stream {id} without a valid :status (RFC 9114 §4.3.2)"
                        ),
                    ),
                );
            }
            s.resp_final = true;
            s.ex.set_response(headers, status.unwrap_or(0));
            s.ex.status = status;
            s.ex.response_ts = Some(first_ts);
            s.ex.response_first_pkt = Some(first_pkt);
            s.ex.response_head_pkt = Some(pkt);
        }
    }
}

/// §4.3.1: a request carries :method, and unless it is CONNECT, :scheme and :path.
fn check_request(ex: &mut H3Exchange) {
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
                AnomalyKind::H3MalformedHeaders,
                format!(
                    "request on stream {} without {} (RFC 9114 §4.3.1)",
                    ex.stream,
                    missing.join(", ")
                ),
            ),
        );
    }
}
