//! Unidirectional streams (RFC 9114 §6.2): the type varint, then the control stream's
//! frames (§6.2.1, §7.2.4–§7.2.7), a push stream's push id and response (§4.6), or the
//! QPACK encoder and decoder streams (RFC 9204 §4.2); reserved and unknown types are
//! skipped (§6.2.3, §9).

use super::qpack_side::{Early, SecResult};
use super::reader::{split_varint, CurFrame, Ev, GapAt};
use super::*;
use crate::proto::http3::frame::{
    self as f, frame_name, is_h2_only, parse_settings, parse_single_varint, stream_type_name,
    SETTINGS_MAX_FIELD_SECTION_SIZE, SETTINGS_QPACK_BLOCKED_STREAMS,
    SETTINGS_QPACK_MAX_TABLE_CAPACITY, STREAM_CONTROL, STREAM_PUSH, STREAM_QPACK_DECODER,
    STREAM_QPACK_ENCODER,
};
use crate::proto::qpack::{DecoderInstruction, DecoderStreamParser};

/// Blocked streams assumed when a receiver's SETTINGS were never seen (the byte bound
/// of held sections, [`qpack::MAX_BLOCKED_BYTES`], still applies).
const GUESSED_BLOCKED_STREAMS: u64 = 1024;

#[derive(Debug)]
enum UniKind {
    /// Reading the stream type.
    Type(Vec<u8>),
    Control {
        rd: FrameReader,
        frames: u64,
    },
    /// Reading a push stream's push id.
    PushId(Vec<u8>),
    /// A push stream: its frames go to the exchange under the same id.
    Push,
    Encoder,
    Decoder(DecoderStreamParser),
    /// Reserved, unknown, refused or unreadable: bytes are skipped.
    Ignore,
}

#[derive(Debug)]
pub(super) struct Uni {
    pos: u64,
    kind: UniKind,
    first: (PacketId, Timestamp),
}

impl H3Conn {
    pub(super) fn uni_bytes(
        &mut self,
        id: u64,
        d: usize,
        pkt: PacketId,
        ts: Timestamp,
        data: &[u8],
        fin: bool,
    ) {
        if !self.uni.contains_key(&id) {
            if self.uni.len() >= MAX_UNI_STREAMS {
                self.conn_anomaly_once(
                    AnomalyKind::H3BadStream,
                    u64::MAX,
                    format!(
                        "more than {MAX_UNI_STREAMS} unidirectional streams: later ones ignored"
                    ),
                );
                self.close_id(id);
                return;
            }
            self.uni.insert(
                id,
                Uni {
                    pos: 0,
                    kind: UniKind::Type(Vec::new()),
                    first: (pkt, ts),
                },
            );
        }
        let mut bytes = data;
        while let Some(u) = self.uni.get_mut(&id) {
            match &mut u.kind {
                UniKind::Type(buf) => {
                    if bytes.is_empty() {
                        break;
                    }
                    let (v, n) = split_varint(buf, bytes);
                    u.pos += n as u64;
                    bytes = bytes.get(n..).unwrap_or_default();
                    if let Some(t) = v {
                        self.set_uni_type(id, d, t, pkt, ts);
                    }
                }
                UniKind::PushId(buf) => {
                    if bytes.is_empty() {
                        break;
                    }
                    let start = u.pos;
                    let (v, n) = split_varint(buf, bytes);
                    u.pos += n as u64;
                    bytes = bytes.get(n..).unwrap_or_default();
                    if let Some(push_id) = v {
                        u.kind = UniKind::Push;
                        let pos = u.pos;
                        self.push_stream_opened(id, push_id);
                        if let Some(s) = self.streams.get_mut(&id) {
                            s.rd[1] = FrameReader::at(pos);
                        }
                        let detail = H3FrameDetail::PushId(push_id);
                        let len = pos - start;
                        self.log(d, id, start, len, (pkt, ts), pkt, ts, detail, None, None);
                    }
                }
                UniKind::Control { rd, frames } => {
                    let (n, ev) = rd.step(bytes, pkt, ts);
                    u.pos += n as u64;
                    bytes = bytes.get(n..).unwrap_or_default();
                    match ev {
                        Ev::None => {
                            if n == 0 {
                                break;
                            }
                        }
                        Ev::Begin => {
                            let first = *frames == 0;
                            *frames += 1;
                            if let Some(cur) = rd.cur.as_mut() {
                                let ty = cur.hdr.ty;
                                if first && ty != f::SETTINGS {
                                    let why = format!(
                                        "the {}'s control stream starts with {}, not SETTINGS \
                                         (RFC 9114 §6.2.1: H3_MISSING_SETTINGS)",
                                        dir_of(d).sender(),
                                        frame_name(ty)
                                    );
                                    push_anomaly(
                                        &mut self.anomalies,
                                        Anomaly::new(AnomalyKind::H3BadFrame, why),
                                    );
                                }
                                let control = matches!(
                                    ty,
                                    f::SETTINGS | f::GOAWAY | f::MAX_PUSH_ID | f::CANCEL_PUSH
                                );
                                if control && cur.hdr.payload_len <= MAX_CONTROL_FRAME {
                                    cur.buf = Some(Vec::new());
                                }
                            }
                        }
                        Ev::Chunk(_) => {}
                        Ev::End(fr) => self.control_frame(id, d, fr, pkt, ts),
                    }
                }
                UniKind::Push => {
                    let n = bytes.len() as u64;
                    u.pos += n;
                    self.run_frames(id, 1, pkt, ts, bytes);
                    break;
                }
                UniKind::Encoder => {
                    let start = u.pos;
                    u.pos += bytes.len() as u64;
                    if !bytes.is_empty() {
                        self.encoder_bytes(id, d, start, bytes, pkt, ts);
                    }
                    break;
                }
                UniKind::Decoder(p) => {
                    let start = u.pos;
                    u.pos += bytes.len() as u64;
                    if bytes.is_empty() {
                        break;
                    }
                    match p.push(bytes) {
                        Ok(list) => {
                            let count = |k: fn(&DecoderInstruction) -> bool| {
                                list.iter().filter(|i| k(i)).count() as u64
                            };
                            let detail = H3FrameDetail::Decoder {
                                bytes: bytes.len() as u64,
                                acks: count(|i| {
                                    matches!(i, DecoderInstruction::SectionAcknowledgment { .. })
                                }),
                                cancels: count(|i| {
                                    matches!(i, DecoderInstruction::StreamCancellation { .. })
                                }),
                                increments: count(|i| {
                                    matches!(i, DecoderInstruction::InsertCountIncrement { .. })
                                }),
                            };
                            let len = bytes.len() as u64;
                            self.log(d, id, start, len, (pkt, ts), pkt, ts, detail, None, None);
                        }
                        Err(e) => {
                            u.kind = UniKind::Ignore;
                            self.conn_anomaly(
                                AnomalyKind::H3QpackError,
                                format!(
                                    "the {}'s QPACK decoder stream: {e} (RFC 9204 §4.4): not \
                                     read further",
                                    dir_of(d).sender()
                                ),
                            );
                        }
                    }
                    break;
                }
                UniKind::Ignore => {
                    u.pos += bytes.len() as u64;
                    break;
                }
            }
        }
        if fin {
            self.uni_fin(id, d, pkt, ts);
        }
    }

    fn set_uni_type(&mut self, id: u64, d: usize, t: u64, pkt: PacketId, ts: Timestamp) {
        let Some(u) = self.uni.get(&id) else {
            return;
        };
        let (pos, first) = (u.pos, u.first);
        let ctrl = &mut self.ctrl[d];
        let slot = match t {
            STREAM_CONTROL => Some(&mut ctrl.stream),
            STREAM_QPACK_ENCODER => Some(&mut ctrl.encoder),
            STREAM_QPACK_DECODER => Some(&mut ctrl.decoder),
            _ => None,
        };
        let mut kind = match t {
            STREAM_CONTROL => UniKind::Control {
                rd: FrameReader::at(pos),
                frames: 0,
            },
            STREAM_PUSH => UniKind::PushId(Vec::new()),
            STREAM_QPACK_ENCODER => UniKind::Encoder,
            STREAM_QPACK_DECODER => UniKind::Decoder(DecoderStreamParser::new()),
            _ => UniKind::Ignore,
        };
        let mut error = None;
        if let Some(slot) = slot {
            match *slot {
                Some(other) => {
                    // §6.2.1, RFC 9204 §4.2: one of each per peer (H3_STREAM_CREATION_ERROR).
                    error = Some(format!(
                        "the {} opened a second {} stream ({id}; the first is {other}): ignored \
                         (RFC 9114 §6.2.1)",
                        dir_of(d).sender(),
                        stream_type_name(t)
                    ));
                    kind = UniKind::Ignore;
                }
                None => *slot = Some(id),
            }
        }
        if t == STREAM_PUSH && d == 0 {
            error = Some(format!(
                "the client opened push stream {id} (RFC 9114 §6.2.2: H3_STREAM_CREATION_ERROR): \
                 ignored"
            ));
            kind = UniKind::Ignore;
        }
        if let Some(e) = error {
            self.conn_anomaly(AnomalyKind::H3BadStream, e);
        }
        if let Some(u) = self.uni.get_mut(&id) {
            u.kind = kind;
        }
        let detail = H3FrameDetail::StreamType(t);
        self.log(d, id, 0, pos, first, pkt, ts, detail, None, None);
    }

    /// One complete control-stream frame.
    fn control_frame(&mut self, id: u64, d: usize, fr: CurFrame, pkt: PacketId, ts: Timestamp) {
        let ty = fr.hdr.ty;
        let first = (fr.first_pkt, fr.first_ts);
        let (offset, wire) = (fr.offset, fr.wire_len());
        let len = fr.hdr.payload_len;
        let mut error: Option<&'static str> = None;
        let detail = match (ty, fr.buf) {
            (f::SETTINGS, Some(p)) => {
                let (params, e) = parse_settings(&p);
                if let Some(e) = e {
                    error = Some(e.0);
                }
                if self.ctrl[d].settings.is_some() {
                    error = Some("a second SETTINGS frame (RFC 9114 §7.2.4: H3_FRAME_UNEXPECTED)");
                } else {
                    self.ctrl[d].settings = Some(params.clone());
                    self.configure_qpack(1 - d, Some(&params), Some((pkt, ts)));
                }
                H3FrameDetail::Settings(params)
            }
            (f::GOAWAY, Some(p)) => match parse_single_varint(&p) {
                Ok(gid) => {
                    if d == 1 && !gid.is_multiple_of(4) {
                        error = Some(
                            "the server's GOAWAY names no client request stream (RFC 9114 §5.2: \
                             H3_ID_ERROR)",
                        );
                    }
                    if let Some(g) = self.goaway.filter(|g| g.by == dir_of(d) && gid > g.id) {
                        let _ = g;
                        error = Some("a GOAWAY id larger than an earlier one (RFC 9114 §5.2)");
                    }
                    self.goaway = Some(H3Goaway {
                        by: dir_of(d),
                        id: gid,
                        pkt,
                        ts,
                    });
                    H3FrameDetail::Goaway(gid)
                }
                Err(e) => {
                    error = Some(e.0);
                    H3FrameDetail::Invalid { ty, len }
                }
            },
            (f::MAX_PUSH_ID, Some(p)) => match parse_single_varint(&p) {
                Ok(v) => {
                    if d == 1 {
                        error = Some(
                            "MAX_PUSH_ID from the server (RFC 9114 §7.2.7: H3_FRAME_UNEXPECTED)",
                        );
                    } else {
                        self.ctrl[0].max_push_id = Some(v);
                    }
                    H3FrameDetail::MaxPushId(v)
                }
                Err(e) => {
                    error = Some(e.0);
                    H3FrameDetail::Invalid { ty, len }
                }
            },
            (f::CANCEL_PUSH, Some(p)) => match parse_single_varint(&p) {
                Ok(v) => H3FrameDetail::CancelPush(v),
                Err(e) => {
                    error = Some(e.0);
                    H3FrameDetail::Invalid { ty, len }
                }
            },
            (f::SETTINGS | f::GOAWAY | f::MAX_PUSH_ID | f::CANCEL_PUSH, None) => {
                let why = if fr.lost {
                    "bytes of the frame are missing"
                } else {
                    "larger than wiretale buffers for a control frame"
                };
                self.conn_anomaly(
                    if fr.lost {
                        AnomalyKind::H3Gap
                    } else {
                        AnomalyKind::H3FrameTooLarge
                    },
                    format!(
                        "{} frame of {len} bytes on the {}'s control stream: {why}",
                        frame_name(ty),
                        dir_of(d).sender()
                    ),
                );
                H3FrameDetail::Skipped { ty, len }
            }
            (f::DATA | f::HEADERS | f::PUSH_PROMISE, _) => {
                error = Some(
                    "frame not allowed on the control stream (RFC 9114 §7.2: H3_FRAME_UNEXPECTED)",
                );
                H3FrameDetail::Invalid { ty, len }
            }
            (t, _) if is_h2_only(t) => {
                error = Some("an HTTP/2 frame type (RFC 9114 §7.2.8: H3_FRAME_UNEXPECTED)");
                H3FrameDetail::Invalid { ty, len }
            }
            _ => H3FrameDetail::Ignored { ty, len },
        };
        if let Some(e) = error {
            self.conn_anomaly(
                AnomalyKind::H3BadFrame,
                format!(
                    "{} on the {}'s control stream: {e}",
                    frame_name(ty),
                    dir_of(d).sender()
                ),
            );
        }
        self.log(d, id, offset, wire, first, pkt, ts, detail, None, error);
    }

    /// Configures the decoder of the sections sent by `d` with the SETTINGS of the
    /// other side (or a guess), then replays what waited for it, in arrival order.
    pub(super) fn configure_qpack(
        &mut self,
        d: usize,
        settings: Option<&[(u64, u64)]>,
        at: Option<(PacketId, Timestamp)>,
    ) {
        if self.qpack[d].configured() {
            return;
        }
        let get = |k: u64| settings.and_then(|s| s.iter().find(|(i, _)| *i == k).map(|p| p.1));
        let mut dec = match settings {
            Some(_) => qpack::QpackDecoder::new(
                get(SETTINGS_QPACK_MAX_TABLE_CAPACITY).unwrap_or(0),
                get(SETTINGS_QPACK_BLOCKED_STREAMS).unwrap_or(0),
            ),
            None => qpack::QpackDecoder::new(qpack::MAX_TABLE_CAPACITY, GUESSED_BLOCKED_STREAMS),
        };
        if let Some(m) = get(SETTINGS_MAX_FIELD_SECTION_SIZE) {
            dec = dec.with_max_field_section_size(m);
        }
        self.qpack[d].configure(dec);
        self.qpack[d].guessed = settings.is_none();
        let early = std::mem::take(&mut self.qpack[d].early);
        for e in early {
            match e {
                Early::Encoder(b) => {
                    self.apply_encoder(d, &b, at);
                }
                Early::Section { stream, bytes } => {
                    let r = self.qpack[d].decode(stream, &bytes);
                    if !matches!(r, SecResult::Blocked) {
                        self.resolve_section(stream, d, r, at);
                    }
                }
            }
        }
    }

    /// Bytes of the encoder stream of side `d` (the table for the sections `d` sends).
    fn encoder_bytes(
        &mut self,
        id: u64,
        d: usize,
        offset: u64,
        bytes: &[u8],
        pkt: PacketId,
        ts: Timestamp,
    ) {
        let n = bytes.len() as u64;
        if !self.qpack[d].configured() {
            if !self.qpack[d].enc_dead
                && !self.qpack[d].hold(Early::Encoder(bytes.to_vec()), MAX_EARLY_QPACK_BYTES)
            {
                self.conn_anomaly(
                    AnomalyKind::H3QpackError,
                    format!(
                        "more than {MAX_EARLY_QPACK_BYTES} bytes of the {}'s QPACK encoder \
                         stream before the {}'s SETTINGS: later insertions are unknown",
                        dir_of(d).sender(),
                        dir_of(1 - d).sender()
                    ),
                );
                self.qpack[d].enc_dead = true;
            }
            let detail = H3FrameDetail::Encoder {
                bytes: n,
                inserts: 0,
                capacity: None,
            };
            self.log(d, id, offset, n, (pkt, ts), pkt, ts, detail, None, None);
            return;
        }
        let (inserts, capacity) = self.apply_encoder(d, bytes, Some((pkt, ts)));
        let detail = H3FrameDetail::Encoder {
            bytes: n,
            inserts,
            capacity,
        };
        self.log(d, id, offset, n, (pkt, ts), pkt, ts, detail, None, None);
    }

    /// Feeds a configured decoder; applies the sections it unblocked.
    fn apply_encoder(
        &mut self,
        d: usize,
        bytes: &[u8],
        at: Option<(PacketId, Timestamp)>,
    ) -> (u64, Option<u64>) {
        let out = self.qpack[d].encoder(bytes);
        if let Some(e) = &out.error {
            self.conn_anomaly(
                AnomalyKind::H3QpackError,
                format!(
                    "the {}'s QPACK encoder stream: {e} (RFC 9204 §4.3: \
                     QPACK_ENCODER_STREAM_ERROR): later insertions are unknown",
                    dir_of(d).sender()
                ),
            );
            for s in self.qpack[d].encoder_lost() {
                let why = "its QPACK insertions never arrived (encoder stream error)".to_string();
                self.resolve_section(s, d, SecResult::Lost(why), None);
            }
        }
        for (sid, r) in out.unblocked {
            let r = match r {
                Ok(fs) => SecResult::Ready(super::qpack_side::headers_of(fs)),
                Err(e) => SecResult::Lost(e.to_string()),
            };
            self.resolve_section(sid, d, r, at);
        }
        (out.inserts, out.capacity)
    }

    pub(super) fn uni_gap(&mut self, id: u64, d: usize, len: u64) {
        let Some(u) = self.uni.get_mut(&id) else {
            // A gap at the very start: the type is unknown; skip the stream.
            self.close_id(id);
            return;
        };
        u.pos += len;
        let what = match &mut u.kind {
            UniKind::Type(_) | UniKind::PushId(_) => {
                u.kind = UniKind::Ignore;
                "its header is lost: not read"
            }
            UniKind::Control { rd, .. } => match rd.gap(len) {
                GapAt::Inside {
                    buffered: false, ..
                } => return,
                GapAt::Inside { .. } => "a control frame is lost",
                GapAt::Lost => "framing lost: the rest of the control stream is not read",
            },
            UniKind::Push => {
                self.request_gap(id, 1, len);
                return;
            }
            UniKind::Encoder => {
                let why = format!(
                    "{len} bytes missing on the {}'s QPACK encoder stream: later insertions are \
                     unknown",
                    dir_of(d).sender()
                );
                self.conn_anomaly(AnomalyKind::H3Gap, why);
                self.qpack[d]
                    .early
                    .retain(|e| !matches!(e, Early::Encoder(_)));
                for s in self.qpack[d].encoder_lost() {
                    let why = "its QPACK insertions were lost in a gap".to_string();
                    self.resolve_section(s, d, SecResult::Lost(why), None);
                }
                return;
            }
            UniKind::Decoder(_) => {
                u.kind = UniKind::Ignore;
                return;
            }
            UniKind::Ignore => return,
        };
        let detail = format!(
            "{len} bytes missing on unidirectional stream {id} of the {}: {what}",
            dir_of(d).sender()
        );
        self.conn_anomaly(AnomalyKind::H3Gap, detail);
    }

    fn uni_fin(&mut self, id: u64, d: usize, pkt: PacketId, ts: Timestamp) {
        let Some(u) = self.uni.get(&id) else {
            return;
        };
        match &u.kind {
            UniKind::Control { .. } | UniKind::Encoder | UniKind::Decoder(_) => {
                // §6.2.1, RFC 9204 §4.2: closing a critical stream is a connection error.
                let what = match &u.kind {
                    UniKind::Control { .. } => "control",
                    UniKind::Encoder => "QPACK encoder",
                    _ => "QPACK decoder",
                };
                self.conn_anomaly(
                    AnomalyKind::H3BadStream,
                    format!(
                        "the {} closed its {what} stream {id} (RFC 9114 §6.2.1: \
                         H3_CLOSED_CRITICAL_STREAM)",
                        dir_of(d).sender()
                    ),
                );
            }
            UniKind::Push => {
                self.on_fin(id, 1, pkt, ts);
                self.uni.remove(&id);
            }
            UniKind::Type(_) | UniKind::PushId(_) | UniKind::Ignore => {
                self.uni.remove(&id);
                self.close_id(id);
            }
        }
    }

    pub(super) fn uni_reset(&mut self, id: u64, dir: Direction, code: u64) {
        let Some(u) = self.uni.get(&id) else {
            return;
        };
        let critical = match &u.kind {
            UniKind::Control { .. } => Some("control"),
            UniKind::Encoder => Some("QPACK encoder"),
            UniKind::Decoder(_) => Some("QPACK decoder"),
            _ => None,
        };
        if let Some(what) = critical {
            self.conn_anomaly(
                AnomalyKind::H3BadStream,
                format!(
                    "the {} reset the {what} stream {id} with {} (RFC 9114 §6.2.1: \
                     H3_CLOSED_CRITICAL_STREAM)",
                    dir.sender(),
                    error_code_text(code)
                ),
            );
        } else {
            self.uni.remove(&id);
            self.close_id(id);
        }
    }
}
