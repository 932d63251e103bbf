//! Streams (RFC 9113 §5): field blocks decoded into requests and responses (§8), DATA
//! counted as bodies, resets, and exchanges completed.

use super::*;

impl H2Conn {
    /// HEADERS or PUSH_PROMISE: starts a field block; returns the decoded list (for the
    /// frame log) when the block ends in this frame.
    pub(super) fn begin_block(
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
    pub(super) fn end_block(
        &mut self,
        d: usize,
        ts: Timestamp,
        pkt: PacketId,
    ) -> Option<Vec<Header>> {
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
    pub(super) fn stream_for(
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

    pub(super) fn on_data(
        &mut self,
        d: usize,
        h: &FrameHeader,
        body: u64,
        ts: Timestamp,
        pkt: PacketId,
    ) {
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

    pub(super) fn on_reset(
        &mut self,
        d: usize,
        stream: u32,
        error: u32,
        ts: Timestamp,
        pkt: PacketId,
    ) {
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

    pub(super) fn maybe_done(&mut self, stream: u32) {
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
}

impl Stream {
    pub(super) fn resp_headers_or_final(&self) -> bool {
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
