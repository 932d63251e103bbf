//! Following a QUIC connection (RFC 9000) stream by stream: its datagrams go through
//! the same [`QuicConnState`] the engine uses (Initial keys, and with a key log the
//! Handshake and 1-RTT packets), its in-order stream bytes through [`H3Conn`] when the
//! ALPN is h3, and what comes out is a list of [`QuicBlock`]s in the order the packets
//! completed them: one per HTTP/3 frame (decoded header fields, DATA bytes, SETTINGS,
//! QPACK encoder and decoder instruction batches summarised), the bytes of streams of
//! another application protocol, gaps, resets and the connection's close.
//!
//! [`super::Follower`] makes a [`QuicTap`] when the followed connection is UDP and its
//! first datagram is a QUIC long header; without keys the blocks are empty and
//! [`QuicFollowed`] still says what the Initials showed (SNI, ALPN offered).

use std::collections::HashMap;

use super::decrypted::{Seg, ShownTurn};
use crate::base::elide::thousands;
use crate::base::escape::escape_bytes;
use crate::base::{Direction, PacketId, Timestamp};
use crate::proto::http3::{error_code_label, H3Conn, H3FrameDetail, H3FrameInfo};
use crate::proto::quic::conn::{PacketSeen, QuicEvent};
use crate::proto::quic::QuicConnState;
use crate::proto::tls::KeyLog;

/// What one block of a followed QUIC connection is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuicWhat {
    /// An HTTP/3 frame, stream type or QPACK instruction batch; `data`: a DATA frame's
    /// payload (`None` when its bytes were not kept: the byte limit, or a hole).
    H3 {
        info: Box<H3FrameInfo>,
        data: Option<Vec<u8>>,
    },
    /// In-order bytes of a stream not read as HTTP/3.
    Stream { bytes: Vec<u8>, fin: bool },
    /// Stream bytes that never came.
    Gap(u64),
    /// RESET_STREAM (RFC 9000 §19.4) with its application error code.
    Reset(u64),
    /// CONNECTION_CLOSE (RFC 9000 §19.19).
    Close {
        app: bool,
        code: u64,
        reason: Vec<u8>,
    },
}

/// One block: who sent it, the packet that completed it, its stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuicBlock {
    pub dir: Direction,
    pub pkt: PacketId,
    pub ts: Timestamp,
    pub stream: Option<u64>,
    pub what: QuicWhat,
}

/// A followed QUIC connection.
#[derive(Clone, Debug, Default)]
pub struct QuicFollowed {
    pub blocks: Vec<QuicBlock>,
    /// The byte limit cut the kept stream bytes short.
    pub truncated: bool,
    pub sni: Option<String>,
    /// The ALPN the server chose (seen with keys only), else the client's offer.
    pub alpn: Option<String>,
    pub alpn_offered: Vec<String>,
    pub version: Option<u32>,
    /// Packets beyond the Initials opened (the key log had this connection's secrets).
    pub decrypted: bool,
    /// A key log was given but had no secrets for this connection.
    pub keys_missing: bool,
    /// Its streams were read as HTTP/3.
    pub h3: bool,
    /// The packets of the datagram asked for with [`QuicTap::want`].
    pub seen: Vec<PacketSeen>,
}

/// Kept bytes of one stream direction: (stream offset, bytes), in arrival order.
type Chunks = Vec<(u64, Vec<u8>)>;

/// Reads one QUIC connection's datagrams; see the module docs.
pub struct QuicTap {
    state: QuicConnState,
    h3: Option<Box<H3Conn>>,
    /// Stream bytes per (stream, direction) as (offset, bytes), to cut DATA payloads
    /// out of.
    chunks: HashMap<(u64, usize), Chunks>,
    blocks: Vec<QuicBlock>,
    limit: usize,
    kept: usize,
    truncated: bool,
    want: Option<PacketId>,
    seen: Vec<PacketSeen>,
}

impl QuicTap {
    /// Keeps at most `limit` bytes of stream data.
    pub fn new(limit: usize) -> Self {
        QuicTap {
            state: QuicConnState::new(),
            h3: None,
            chunks: HashMap::new(),
            blocks: Vec::new(),
            limit,
            kept: 0,
            truncated: false,
            want: None,
            seen: Vec::new(),
        }
    }

    /// Keeps the [`PacketSeen`]s of packet `pkt` (for its field tree).
    pub fn want(&mut self, pkt: PacketId) {
        self.want = Some(pkt);
    }

    pub fn datagram(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        pkt: PacketId,
        payload: &[u8],
        keys: Option<&KeyLog>,
    ) {
        let seen = self.state.datagram(dir, pkt, ts, payload, keys);
        if self.want == Some(pkt) {
            self.seen.extend(seen);
        }
        self.events();
    }

    fn events(&mut self) {
        let events: Vec<QuicEvent> = self.state.drain_events().collect();
        for e in events {
            match e {
                QuicEvent::Stream {
                    id,
                    dir,
                    pkt,
                    ts,
                    offset,
                    data,
                    fin,
                } => {
                    if self.http3().is_some() {
                        self.keep(id, dir, offset, &data);
                        if let Some(h3) = self.h3.as_mut() {
                            h3.stream(id, dir, pkt, ts, &data, fin);
                        }
                    } else {
                        self.raw(id, dir, pkt, ts, data, fin);
                    }
                }
                QuicEvent::StreamGap { id, dir, len } => {
                    if let Some(h3) = self.h3.as_mut() {
                        h3.stream_gap(id, dir, len);
                    }
                    self.blocks.push(QuicBlock {
                        dir,
                        pkt: self.blocks.last().map_or(PacketId(0), |b| b.pkt),
                        ts: self.blocks.last().map_or_else(Timestamp::default, |b| b.ts),
                        stream: Some(id),
                        what: QuicWhat::Gap(len),
                    });
                }
                QuicEvent::ResetStream {
                    id,
                    dir,
                    code,
                    pkt,
                    ts,
                } => {
                    if let Some(h3) = self.h3.as_mut() {
                        h3.reset(id, dir, code, pkt, ts);
                    }
                    self.drain_h3();
                    self.blocks.push(QuicBlock {
                        dir,
                        pkt,
                        ts,
                        stream: Some(id),
                        what: QuicWhat::Reset(code),
                    });
                }
                QuicEvent::Close {
                    dir,
                    pkt,
                    ts,
                    app,
                    code,
                    reason,
                    ..
                } => {
                    self.drain_h3();
                    self.blocks.push(QuicBlock {
                        dir,
                        pkt,
                        ts,
                        stream: None,
                        what: QuicWhat::Close { app, code, reason },
                    });
                }
                _ => {}
            }
            self.drain_h3();
        }
    }

    /// Bytes of a stream of another protocol: merged with the block before when it
    /// continues the same stream and direction.
    fn raw(
        &mut self,
        id: u64,
        dir: Direction,
        pkt: PacketId,
        ts: Timestamp,
        data: Vec<u8>,
        fin: bool,
    ) {
        let room = self.limit.saturating_sub(self.kept);
        let take = data.len().min(room);
        self.truncated |= take < data.len();
        self.kept += take;
        let data = data.get(..take).unwrap_or_default().to_vec();
        if let Some(QuicBlock {
            dir: d,
            stream: Some(s),
            what: QuicWhat::Stream { bytes, fin: f },
            ..
        }) = self.blocks.last_mut()
        {
            if *d == dir && *s == id {
                bytes.extend_from_slice(&data);
                *f |= fin;
                return;
            }
        }
        self.blocks.push(QuicBlock {
            dir,
            pkt,
            ts,
            stream: Some(id),
            what: QuicWhat::Stream { bytes: data, fin },
        });
    }

    fn keep(&mut self, id: u64, dir: Direction, offset: u64, data: &[u8]) {
        let room = self.limit.saturating_sub(self.kept);
        if room < data.len() {
            self.truncated = true;
            return;
        }
        self.kept += data.len();
        self.chunks
            .entry((id, dir.index()))
            .or_default()
            .push((offset, data.to_vec()));
    }

    /// Stream bytes `start..end` of `id` in `dir`, if all were kept.
    fn bytes(&self, id: u64, dir: Direction, start: u64, end: u64) -> Option<Vec<u8>> {
        let chunks = self.chunks.get(&(id, dir.index()))?;
        let mut out = Vec::with_capacity(end.saturating_sub(start) as usize);
        let mut at = start;
        for (off, b) in chunks {
            let e = off + b.len() as u64;
            if e <= at || *off > at {
                continue;
            }
            let from = (at - off) as usize;
            let to = (end.min(e) - off) as usize;
            out.extend_from_slice(b.get(from..to)?);
            at = end.min(e);
            if at >= end {
                break;
            }
        }
        (at >= end).then_some(out)
    }

    fn drain_h3(&mut self) {
        let Some(h3) = self.h3.as_mut() else {
            return;
        };
        let infos: Vec<H3FrameInfo> = h3.drain_frames().collect();
        // Exchanges are the engine's business; drop them here so they do not pile up.
        h3.drain().for_each(drop);
        for info in infos {
            let data = match info.detail {
                H3FrameDetail::Data { len } => {
                    let end = info.offset + info.len;
                    self.bytes(info.stream, info.dir, end.saturating_sub(len), end)
                }
                _ => None,
            };
            self.blocks.push(QuicBlock {
                dir: info.dir,
                pkt: info.pkt,
                ts: info.ts,
                stream: Some(info.stream),
                what: QuicWhat::H3 {
                    info: Box::new(info),
                    data,
                },
            });
        }
    }

    /// The HTTP/3 decoder, made as the engine's QUIC app makes it: when the ALPN the
    /// server chose is h3, or (not seen) the client offered h3 (RFC 9114 §3.1).
    fn http3(&mut self) -> Option<&mut H3Conn> {
        if self.h3.is_none() {
            if !self.state.report().carries_h3() {
                return None;
            }
            self.h3 = Some(Box::new(H3Conn::new()));
        }
        self.h3.as_deref_mut()
    }

    pub fn finish(mut self) -> QuicFollowed {
        self.state.finish();
        self.events();
        if let Some(h3) = self.h3.as_mut() {
            h3.finish(Timestamp::default());
        }
        self.drain_h3();
        let r = self.state.report();
        let offered: Vec<String> = r
            .client_hello
            .as_ref()
            .map(|h| h.alpn.clone())
            .unwrap_or_default();
        QuicFollowed {
            truncated: self.truncated,
            sni: r.client_hello.as_ref().and_then(|h| h.sni.clone()),
            alpn: r.alpn.clone(),
            alpn_offered: offered,
            version: r.negotiated_version.or(r.version),
            decrypted: r.decrypted,
            keys_missing: r.keys_missing,
            h3: self.h3.is_some(),
            seen: self.seen,
            blocks: self.blocks,
        }
    }
}

/// Whether `b` belongs to stream `n` (connection-level blocks belong to every one).
pub fn in_quic_stream(b: &QuicBlock, n: u64) -> bool {
    b.stream.is_none_or(|s| s == n)
}

/// The followed connection as `follow` shows it: one turn per block, headed by its
/// stream and what it is (`[stream 0] HEADERS GET /`), HEADERS with their decoded
/// fields one per line, DATA as text when it is text (else one line saying what it
/// is), `stream`: only that stream's blocks (and the connection's close).
pub fn quic_shown(q: &QuicFollowed, stream: Option<u64>, body_limit: usize) -> Vec<ShownTurn> {
    let mut out = Vec::new();
    // Content-Type of the last field section per (stream, direction), for DATA.
    let mut types: HashMap<(u64, usize), String> = HashMap::new();
    for b in &q.blocks {
        if stream.is_some_and(|n| !in_quic_stream(b, n)) {
            continue;
        }
        let at = b
            .stream
            .map(|s| format!("[stream {s}] "))
            .unwrap_or_default();
        let mut segs = Vec::new();
        let head = match &b.what {
            QuicWhat::H3 { info, data } => {
                if let Some(h) = &info.headers {
                    for f in h {
                        if f.name == b"content-type" {
                            types.insert(
                                (info.stream, info.dir.index()),
                                String::from_utf8_lossy(&f.value).into_owned(),
                            );
                        }
                        segs.push(Seg::Said(format!(
                            "{}: {}\n",
                            escape_bytes(&f.name),
                            escape_bytes(&f.value)
                        )));
                    }
                }
                if let Some(t) = info.settings_text() {
                    segs.push(Seg::Said(format!("{t}\n")));
                }
                if let Some(e) = info.error {
                    segs.push(Seg::Said(format!("[{e}]\n")));
                }
                if let H3FrameDetail::Data { len } = info.detail {
                    match data {
                        Some(d) => {
                            let ct = types
                                .get(&(info.stream, info.dir.index()))
                                .map_or("", String::as_str);
                            body_segs(ct, d, body_limit, &mut segs);
                        }
                        None if len > 0 => segs.push(Seg::Said(format!(
                            "[{} bytes not kept]\n",
                            thousands(len as usize)
                        ))),
                        None => {}
                    }
                }
                format!("{at}{}", info.info())
            }
            QuicWhat::Stream { bytes, fin } => {
                segs.push(Seg::Wire(bytes.clone()));
                format!(
                    "{at}STREAM {} bytes{}",
                    thousands(bytes.len()),
                    if *fin { ", FIN" } else { "" }
                )
            }
            QuicWhat::Gap(len) => format!("{at}[{len} bytes missing from the capture]"),
            QuicWhat::Reset(code) => format!("{at}RESET_STREAM {}", reset_label(q, *code)),
            QuicWhat::Close { app, code, reason } => {
                let mut s = format!(
                    "CONNECTION_CLOSE {} {}",
                    if *app { "application" } else { "transport" },
                    if *app && q.h3 {
                        error_code_label(*code)
                    } else {
                        format!("{code:#x}")
                    }
                );
                if !reason.is_empty() {
                    s.push_str(&format!(" \"{}\"", escape_bytes(reason)));
                }
                s
            }
        };
        out.push(ShownTurn {
            dir: b.dir,
            pkt: b.pkt,
            ts: b.ts,
            head,
            segs,
        });
    }
    out
}

fn reset_label(q: &QuicFollowed, code: u64) -> String {
    if q.h3 {
        error_code_label(code)
    } else {
        format!("{code:#x}")
    }
}

/// One DATA frame's payload, shown as an HTTP/2 body is (text as sent, else one line).
fn body_segs(content_type: &str, d: &[u8], limit: usize, segs: &mut Vec<Seg>) {
    use crate::proto::http::body::{body_display, Piece};
    if d.is_empty() {
        return;
    }
    match body_display(content_type, "", d, limit) {
        Piece::Bytes(b) => segs.push(Seg::Wire(b.to_vec())),
        Piece::Summary(s) => segs.push(Seg::Said(format!("{s}\n"))),
        Piece::Decoded { summary, text } => {
            segs.push(Seg::Said(format!("{summary}\n")));
            segs.push(Seg::Wire(text));
        }
    }
}

/// Why a QUIC connection is not shown decrypted, for a line on stderr or a note:
/// what the Initials showed and how to give keys.
pub fn not_decrypted_text(q: &QuicFollowed, conn: u32, keylog_given: bool) -> String {
    let mut what = String::from("QUIC");
    if let Some(v) = q.version {
        what.push_str(&format!(" {}", crate::proto::quic::header::version_name(v)));
    }
    if let Some(sni) = &q.sni {
        what.push_str(&format!(", SNI {}", crate::base::escape::escape_str(sni)));
    }
    let alpn = match &q.alpn {
        Some(a) => a.clone(),
        None => q.alpn_offered.join(","),
    };
    if !alpn.is_empty() {
        what.push_str(&format!(
            ", ALPN {}",
            crate::base::escape::escape_str(&alpn)
        ));
    }
    if keylog_given || q.keys_missing {
        format!(
            "connection {conn} is {what}, not decrypted (the key log has no secrets for it): \
             only its Initial packets were read"
        )
    } else {
        format!(
            "connection {conn} is {what}, encrypted: only its Initial packets were read; give \
             its keys with --tls-keylog FILE (the key log the client or server writes to \
             SSLKEYLOGFILE) to follow its streams decrypted"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DATA payloads are cut from kept stream bytes across chunk boundaries; a range
    /// with bytes missing (never kept) gives nothing rather than a shorter payload.
    #[test]
    fn bytes_span_chunks_and_refuse_holes() {
        let mut t = QuicTap::new(1 << 20);
        let dir = Direction::ServerToClient;
        t.keep(0, dir, 0, b"abcd");
        t.keep(0, dir, 4, b"efgh");
        t.keep(0, dir, 20, b"xyz");
        assert_eq!(t.bytes(0, dir, 2, 6).as_deref(), Some(&b"cdef"[..]));
        assert_eq!(t.bytes(0, dir, 0, 8).as_deref(), Some(&b"abcdefgh"[..]));
        assert_eq!(t.bytes(0, dir, 6, 21), None);
        assert_eq!(t.bytes(0, dir, 20, 23).as_deref(), Some(&b"xyz"[..]));
        assert_eq!(t.bytes(4, dir, 0, 1), None);
        assert_eq!(t.bytes(0, Direction::ClientToServer, 0, 1), None);
        // The limit: bytes past it are not kept, and that is reported.
        let mut small = QuicTap::new(4);
        small.keep(0, dir, 0, b"abcd");
        small.keep(0, dir, 4, b"e");
        assert!(small.truncated);
        assert_eq!(small.bytes(0, dir, 3, 5), None);
    }

    /// `--stream`: connection-level blocks (the close) belong to every stream.
    #[test]
    fn stream_selection_keeps_connection_blocks() {
        let b = |stream| QuicBlock {
            dir: Direction::ClientToServer,
            pkt: PacketId(0),
            ts: Timestamp::default(),
            stream,
            what: QuicWhat::Gap(1),
        };
        assert!(in_quic_stream(&b(Some(4)), 4));
        assert!(!in_quic_stream(&b(Some(0)), 4));
        assert!(in_quic_stream(&b(None), 4));
    }
}
