//! One complete frame, by type (RFC 9113 §6): what it changes in the connection, its
//! streams and the frame log.

use super::*;

impl H2Conn {
    pub(super) fn on_frame(
        &mut self,
        d: usize,
        h: FrameHeader,
        payload: &[u8],
        ts: Timestamp,
        pkt: PacketId,
    ) {
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
}
