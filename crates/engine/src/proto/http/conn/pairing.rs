//! Request/response pairing for one HTTP/1.x connection (RFC 9112 §9.3.2: responses
//! answer requests in order, pipelined or not): the queue of transactions, what a lost
//! head does to the alignment, interim (1xx) responses, and when a transaction is
//! complete. The byte-level framing that calls these is `mod.rs`.

use super::*;

#[derive(Debug)]
pub(super) struct Slot {
    pub(super) tx: HttpTransaction,
    pub(super) req_done: bool,
    pub(super) resp_done: bool,
    /// Request method is HEAD / CONNECT (decides the response's framing).
    pub(super) head_method: bool,
    pub(super) connect: bool,
    /// An HTTP/0.9 Simple-Request: its response is raw bytes until close.
    pub(super) http09: bool,
    /// A response that answers no request seen (made by `response_target`).
    pub(super) orphan: bool,
    /// Kept in the queue although complete: a CONNECT whose tunnel is open.
    pub(super) hold: bool,
}

impl HttpConn {
    pub(super) fn slot_mut(&mut self, seq: u32) -> Option<&mut Slot> {
        let i = seq.wrapping_sub(self.first_seq) as usize;
        self.slots.get_mut(i)
    }

    pub(super) fn cur_slot(&mut self, d: usize) -> Option<&mut Slot> {
        let seq = self.sides[d].cur.and_then(|c| c.seq)?;
        self.slot_mut(seq)
    }

    pub(super) fn push_anomaly(list: &mut Vec<Anomaly>, a: Anomaly) {
        if list.len() < MAX_ANOMALIES {
            list.push(a);
        }
    }

    pub(super) fn mark_partial(
        &mut self,
        d: usize,
        kind: AnomalyKind,
        detail: impl Into<std::borrow::Cow<'static, str>>,
    ) {
        let a = Anomaly::new(kind, detail);
        match self.cur_slot(d) {
            Some(slot) => {
                slot.tx.partial = true;
                Self::push_anomaly(&mut slot.tx.anomalies, a);
            }
            None => Self::push_anomaly(&mut self.anomalies, a),
        }
    }

    pub(super) fn add_body(&mut self, d: usize, n: u64) {
        let req = Self::want_request(d);
        if let Some(slot) = self.cur_slot(d) {
            if req {
                slot.tx.request_body_len += n;
            } else {
                slot.tx.response_body_len += n;
            }
        }
    }

    /// The current message's last byte so far came in `pkt` at `ts`.
    pub(super) fn touch(&mut self, d: usize, ts: Timestamp, pkt: PacketId) {
        let req = Self::want_request(d);
        let interim = self.sides[d].cur.is_some_and(|c| c.interim);
        if interim {
            return;
        }
        if let Some(slot) = self.cur_slot(d) {
            if req {
                slot.tx.request_end_ts = Some(ts);
                slot.tx.request_last_pkt = Some(pkt);
            } else {
                slot.tx.response_end_ts = Some(ts);
                slot.tx.response_last_pkt = Some(pkt);
            }
        }
    }

    /// A head in progress was lost (gap, limit, malformed). Keeps request/response
    /// pairing aligned: a lost request becomes a placeholder transaction, a lost
    /// response consumes the transaction it answered.
    pub(super) fn lost_head(
        &mut self,
        d: usize,
        ts: Timestamp,
        kind: AnomalyKind,
        detail: impl Into<std::borrow::Cow<'static, str>>,
    ) {
        let Some(cur) = self.sides[d].cur.take() else {
            Self::push_anomaly(&mut self.anomalies, Anomaly::new(kind, detail));
            return;
        };
        let a = Anomaly::new(kind, detail);
        if Self::want_request(d) {
            let mut tx = HttpTransaction {
                request_ts: Some(cur.first_ts),
                request_first_pkt: Some(cur.first_pkt),
                request_end_ts: Some(ts),
                partial: true,
                ..Default::default()
            };
            tx.anomalies.push(a);
            self.push_slot(tx, false, false, true);
        } else {
            let seq = self.response_target(cur.first_ts, cur.first_pkt);
            if let Some(slot) = self.slot_mut(seq) {
                slot.tx.partial = true;
                slot.tx.response_ts = Some(cur.first_ts);
                slot.tx.response_first_pkt = Some(cur.first_pkt);
                Self::push_anomaly(&mut slot.tx.anomalies, a);
                slot.resp_done = true;
            }
            self.resp_next = seq.wrapping_add(1);
            self.retire();
        }
        self.sides[d].buf.clear();
    }

    pub(super) fn push_slot(
        &mut self,
        tx: HttpTransaction,
        head_method: bool,
        connect: bool,
        req_done: bool,
    ) -> u32 {
        if self.slots.len() >= self.max_pending {
            if let Some(mut old) = self.slots.pop_front() {
                old.tx.partial = true;
                Self::push_anomaly(
                    &mut old.tx.anomalies,
                    Anomaly::new(
                        AnomalyKind::HttpPendingLimit,
                        "too many requests without a response",
                    ),
                );
                self.first_seq = self.first_seq.wrapping_add(1);
                if self.resp_next < self.first_seq {
                    self.resp_next = self.first_seq;
                }
                self.done.push_back(old.tx);
            }
        }
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let mut tx = tx;
        tx.seq = seq;
        self.slots.push_back(Slot {
            tx,
            req_done,
            resp_done: false,
            head_method,
            connect,
            http09: false,
            orphan: false,
            hold: false,
        });
        seq
    }

    /// The transaction the next response belongs to; creates an orphan when no request
    /// is waiting (a response without request: capture started mid-connection).
    pub(super) fn response_target(&mut self, ts: Timestamp, pkt: PacketId) -> u32 {
        if self.resp_next < self.next_seq {
            return self.resp_next;
        }
        let mut tx = HttpTransaction {
            partial: true,
            ..Default::default()
        };
        tx.anomalies.push(Anomaly::new(
            AnomalyKind::HttpResponseWithoutRequest,
            format!(
                "response in frame {} answers no request seen",
                pkt.frame_number()
            ),
        ));
        let _ = ts;
        let seq = self.push_slot(tx, false, false, true);
        if let Some(slot) = self.slot_mut(seq) {
            slot.orphan = true;
        }
        self.resp_next = seq;
        seq
    }

    pub(super) fn on_request(
        &mut self,
        d: usize,
        ts: Timestamp,
        pkt: PacketId,
        head: Head,
        body_start: u64,
        after_gap: bool,
    ) {
        let cur = self.sides[d].cur.unwrap_or_default();
        let chunked = head.chunked();
        let framing_error = head.transfer_encoding.is_some() || head.content_length_invalid;
        let Some(Start::Request {
            method,
            uri,
            version,
        }) = head.start
        else {
            return;
        };
        let is_head = method == "HEAD";
        let connect = method == "CONNECT";
        let simple = head.simple;
        let mut tx = HttpTransaction {
            method: Some(method),
            uri: Some(uri),
            version,
            host: head.host,
            user_agent: head.user_agent,
            referer: head.referer,
            request_ts: Some(cur.first_ts),
            request_end_ts: Some(ts),
            request_first_pkt: Some(cur.first_pkt),
            request_head_pkt: Some(pkt),
            request_last_pkt: Some(pkt),
            partial: after_gap,
            anomalies: head.anomalies,
            ..Default::default()
        };
        if after_gap {
            tx.anomalies.push(Anomaly::new(
                AnomalyKind::HttpResync,
                "request found by resynchronising after a gap",
            ));
        }
        // RFC 9112 §6.3 rules 4–6 for requests: chunked, else Content-Length, else none.
        let body = if chunked {
            Some(Body::ChunkSize)
        } else if head.transfer_encoding.is_some() {
            tx.anomalies.push(Anomaly::new(
                AnomalyKind::HttpBadTransferEncoding,
                "request transfer coding is not chunked (RFC 9112 §6.3)",
            ));
            tx.partial = true;
            None
        } else if head.content_length_invalid {
            tx.anomalies.push(Anomaly::new(
                AnomalyKind::HttpBadContentLength,
                "invalid Content-Length",
            ));
            tx.partial = true;
            None
        } else {
            head.content_length
                .filter(|&n| n > 0)
                .map(|n| Body::Length { remaining: n })
        };
        let seq = self.push_slot(tx, is_head, connect, body.is_none());
        self.sides[d].messages += 1;
        self.sides[d].cur = Some(Cur {
            seq: Some(seq),
            ..cur
        });
        if simple {
            if let Some(slot) = self.slot_mut(seq) {
                slot.http09 = true;
            }
            self.cut_orphan_for_09(ts);
        }
        match body {
            Some(b) => {
                if let Some(slot) = self.slot_mut(seq) {
                    slot.tx.request_body = Some(body_start..body_start);
                }
                self.sides[d].state = State::Body(b);
            }
            None => {
                self.sides[d].cur = None;
                if framing_error && !chunked {
                    self.sides[d].state = State::Resync { line_start: true };
                }
            }
        }
        self.retire();
    }

    pub(super) fn on_response(
        &mut self,
        d: usize,
        ts: Timestamp,
        pkt: PacketId,
        head: Head,
        body_start: u64,
        after_gap: bool,
    ) {
        let cur = self.sides[d].cur.unwrap_or_default();
        let Some(Start::Status {
            version,
            code,
            reason,
        }) = head.start.clone()
        else {
            return;
        };
        let seq = self.response_target(cur.first_ts, cur.first_pkt);
        self.sides[d].messages += 1;
        let Some(slot) = self.slot_mut(seq) else {
            return;
        };
        let (head_method, connect) = (slot.head_method, slot.connect);
        // 1xx other than 101 are interim: the final response is still to come
        // (RFC 9110 §15.2; 100-continue, 103 Early Hints).
        if (100..200).contains(&code) && code != 101 {
            slot.tx.interim.push(code);
            self.sides[d].cur = None;
            return;
        }
        let tx = &mut slot.tx;
        tx.status = Some(code);
        tx.reason = Some(reason);
        tx.response_version = version;
        tx.response_ts = Some(cur.first_ts);
        tx.response_first_pkt = Some(cur.first_pkt);
        tx.response_head_pkt = Some(pkt);
        tx.response_last_pkt = Some(pkt);
        tx.response_end_ts = Some(ts);
        tx.content_type = head.content_type.clone();
        tx.content_encoding = head.content_encoding.clone();
        tx.alt_svc = head.alt_svc.clone();
        tx.content_length = head.content_length;
        tx.transfer_encoding = head.transfer_encoding.clone();
        tx.anomalies.extend(head.anomalies.iter().cloned());
        if after_gap {
            tx.partial = true;
            tx.anomalies.push(Anomaly::new(
                AnomalyKind::HttpResync,
                "response found by resynchronising after a gap",
            ));
        }
        self.sides[d].cur = Some(Cur {
            seq: Some(seq),
            ..cur
        });

        // Upgrade / tunnel: stop parsing both directions (RFC 9110 §7.8, §9.3.6).
        if code == 101 || (connect && (200..300).contains(&code)) {
            self.upgrade = Some(Upgrade {
                seq,
                protocol: if code == 101 {
                    head.upgrade.clone()
                } else {
                    None
                },
                tunnel: code != 101,
                pkt,
                ts,
            });
            let tunnel = code != 101;
            if tunnel {
                // Held until the connection ends, so the tunnel's byte counts and what
                // it carried are on the exchange.
                if let Some(slot) = self.slot_mut(seq) {
                    slot.hold = true;
                    slot.tx.tunnel = Some(Tunnel::default());
                }
                self.tunnel_seq = Some(seq);
            }
            self.complete(d, ts, Some(body_start), false);
            if let Some(slot) = self.slot_mut(seq) {
                slot.req_done = true;
            }
            for s in &mut self.sides {
                s.state = State::Stopped;
                s.buf = Vec::new();
                s.cur = None;
            }
            self.retire();
            return;
        }
        // RFC 9112 §6.3: no body for HEAD, 1xx, 204, 304; then chunked; then
        // Content-Length; else read until close.
        let body = if head_method || code == 204 || code == 304 {
            None
        } else if head.chunked() {
            Some((Body::ChunkSize, Transfer::Chunked))
        } else if head.transfer_encoding.is_some() {
            Some((Body::Close, Transfer::Close))
        } else if head.content_length_invalid {
            if let Some(slot) = self.slot_mut(seq) {
                slot.tx.anomalies.push(Anomaly::new(
                    AnomalyKind::HttpBadContentLength,
                    "invalid Content-Length",
                ));
            }
            Some((Body::Close, Transfer::Close))
        } else if let Some(n) = head.content_length {
            if n == 0 {
                if let Some(slot) = self.slot_mut(seq) {
                    slot.tx.transfer = Transfer::Length;
                }
                None
            } else {
                Some((Body::Length { remaining: n }, Transfer::Length))
            }
        } else {
            Some((Body::Close, Transfer::Close))
        };
        match body {
            Some((b, t)) => {
                if let Some(slot) = self.slot_mut(seq) {
                    slot.tx.transfer = t;
                    slot.tx.response_body = Some(body_start..body_start);
                }
                self.sides[d].state = State::Body(b);
            }
            None => self.complete(d, ts, None, false),
        }
    }

    /// The current message of side `d` is complete (`partial` when cut short).
    pub(super) fn complete(&mut self, d: usize, ts: Timestamp, end: Option<u64>, partial: bool) {
        let req = Self::want_request(d);
        let Some(cur) = self.sides[d].cur.take() else {
            self.sides[d].state = State::Head {
                tentative: false,
                line_checked: false,
            };
            return;
        };
        let end = end.unwrap_or(self.sides[d].pos);
        self.sides[d].state = State::Head {
            tentative: false,
            line_checked: false,
        };
        let Some(seq) = cur.seq else { return };
        let Some(slot) = self.slot_mut(seq) else {
            return;
        };
        if partial {
            slot.tx.partial = true;
        }
        if req {
            slot.req_done = true;
            if let Some(r) = slot.tx.request_body.as_mut() {
                r.end = end.max(r.start);
            }
            if slot.tx.request_end_ts.is_none() {
                slot.tx.request_end_ts = Some(ts);
            }
        } else {
            slot.resp_done = true;
            if let Some(r) = slot.tx.response_body.as_mut() {
                r.end = end.max(r.start);
            }
            if slot.tx.response_end_ts.is_none() {
                slot.tx.response_end_ts = Some(ts);
            }
            if self.resp_next <= seq {
                self.resp_next = seq.wrapping_add(1);
            }
        }
        self.retire();
    }

    /// An HTTP/0.9 request arrived while the server side was inside a response that
    /// answers no request (a capture that began mid-connection, or a confused peer):
    /// that response ends here, and the server's next bytes answer the new request
    /// (Zeek does the same, with the weird `http_09_reply_before_request`).
    fn cut_orphan_for_09(&mut self, ts: Timestamp) {
        let s = Direction::ServerToClient.index();
        let Some(seq) = self.sides[s].cur.and_then(|c| c.seq) else {
            return;
        };
        if !matches!(self.sides[s].state, State::Body(_))
            || !self.slot_mut(seq).is_some_and(|sl| sl.orphan)
        {
            return;
        }
        self.mark_partial(
            s,
            AnomalyKind::HttpCutBy09Request,
            "response cut short: an HTTP/0.9 request followed, and the server's next bytes answer it",
        );
        self.complete(s, ts, None, true);
        self.sides[s].buf.clear();
    }

    /// Moves finished transactions from the front of the queue to `done`.
    pub(super) fn retire(&mut self) {
        while let Some(front) = self.slots.front() {
            if !(front.req_done && front.resp_done) || front.hold {
                break;
            }
            if let Some(slot) = self.slots.pop_front() {
                self.first_seq = self.first_seq.wrapping_add(1);
                self.done.push_back(slot.tx);
            }
        }
    }
}
