//! Frames (RFC 9000 §19; DATAGRAM, RFC 9221 §4). An unknown frame type is an error:
//! frames carry no length, so nothing after it can be read (RFC 9000 §12.4).

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::Cur;

/// One frame; byte fields borrow the decrypted payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A run of PADDING bytes (§19.1), merged.
    Padding(usize),
    Ping,
    /// §19.3: ranges are (gap, ack range length) pairs after the first range.
    Ack {
        largest: u64,
        delay: u64,
        first_range: u64,
        ranges: Vec<(u64, u64)>,
        /// ECT(0), ECT(1), ECN-CE counts (type 0x03).
        ecn: Option<[u64; 3]>,
    },
    ResetStream {
        id: u64,
        code: u64,
        final_size: u64,
    },
    StopSending {
        id: u64,
        code: u64,
    },
    Crypto {
        offset: u64,
        data: &'a [u8],
    },
    NewToken(&'a [u8]),
    /// §19.8: types 0x08–0x0f; OFF/LEN/FIN bits.
    Stream {
        id: u64,
        offset: u64,
        fin: bool,
        data: &'a [u8],
    },
    MaxData(u64),
    MaxStreamData {
        id: u64,
        max: u64,
    },
    MaxStreams {
        bidi: bool,
        max: u64,
    },
    DataBlocked(u64),
    StreamDataBlocked {
        id: u64,
        max: u64,
    },
    StreamsBlocked {
        bidi: bool,
        max: u64,
    },
    NewConnectionId {
        seq: u64,
        retire_prior_to: u64,
        cid: &'a [u8],
        reset_token: &'a [u8],
    },
    RetireConnectionId(u64),
    PathChallenge(&'a [u8]),
    PathResponse(&'a [u8]),
    /// §19.19: `frame_type` is present for the transport's close (0x1c), absent for the
    /// application's (0x1d).
    ConnectionClose {
        app: bool,
        code: u64,
        frame_type: Option<u64>,
        reason: &'a [u8],
    },
    HandshakeDone,
    /// RFC 9221 §4: types 0x30 (to the end of the packet) and 0x31 (with a length).
    Datagram(&'a [u8]),
}

impl Frame<'_> {
    pub fn name(&self) -> &'static str {
        match self {
            Frame::Padding(_) => "PADDING",
            Frame::Ping => "PING",
            Frame::Ack { .. } => "ACK",
            Frame::ResetStream { .. } => "RESET_STREAM",
            Frame::StopSending { .. } => "STOP_SENDING",
            Frame::Crypto { .. } => "CRYPTO",
            Frame::NewToken(_) => "NEW_TOKEN",
            Frame::Stream { .. } => "STREAM",
            Frame::MaxData(_) => "MAX_DATA",
            Frame::MaxStreamData { .. } => "MAX_STREAM_DATA",
            Frame::MaxStreams { .. } => "MAX_STREAMS",
            Frame::DataBlocked(_) => "DATA_BLOCKED",
            Frame::StreamDataBlocked { .. } => "STREAM_DATA_BLOCKED",
            Frame::StreamsBlocked { .. } => "STREAMS_BLOCKED",
            Frame::NewConnectionId { .. } => "NEW_CONNECTION_ID",
            Frame::RetireConnectionId(_) => "RETIRE_CONNECTION_ID",
            Frame::PathChallenge(_) => "PATH_CHALLENGE",
            Frame::PathResponse(_) => "PATH_RESPONSE",
            Frame::ConnectionClose { .. } => "CONNECTION_CLOSE",
            Frame::HandshakeDone => "HANDSHAKE_DONE",
            Frame::Datagram(_) => "DATAGRAM",
        }
    }
}

/// Where and why frame parsing stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError {
    /// Offset of the bad frame in the payload.
    pub offset: usize,
    pub frame_type: Option<u64>,
    pub reason: &'static str,
}

/// Parses a decrypted payload into frames; the frames before an error are kept.
pub fn parse_frames(payload: &[u8]) -> (Vec<Frame<'_>>, Option<FrameError>) {
    let (typed, err) = parse_typed_frames(payload);
    (typed.into_iter().map(|(_, f)| f).collect(), err)
}

/// [`parse_frames`] with each frame's wire type (a STREAM frame's type carries its
/// OFF/LEN/FIN bits, RFC 9000 §19.8; a run of PADDING is type 0).
pub fn parse_typed_frames(payload: &[u8]) -> (Vec<(u64, Frame<'_>)>, Option<FrameError>) {
    let mut out: Vec<(u64, Frame<'_>)> = Vec::new();
    let mut c = Cur::new(payload);
    while !c.is_empty() {
        let start = c.pos;
        let Some(ty) = c.varint() else {
            return (
                out,
                Some(FrameError {
                    offset: start,
                    frame_type: None,
                    reason: "truncated frame type",
                }),
            );
        };
        match frame(ty, &mut c) {
            Ok(Frame::Padding(n)) => match out.last_mut() {
                Some((_, Frame::Padding(m))) => *m += n,
                _ => out.push((ty, Frame::Padding(n))),
            },
            Ok(f) => out.push((ty, f)),
            Err(reason) => {
                return (
                    out,
                    Some(FrameError {
                        offset: start,
                        frame_type: Some(ty),
                        reason,
                    }),
                );
            }
        }
    }
    (out, None)
}

const TRUNC: &str = "frame truncated";

fn frame<'a>(ty: u64, c: &mut Cur<'a>) -> Result<Frame<'a>, &'static str> {
    let mut v = || c.varint().ok_or(TRUNC);
    Ok(match ty {
        0x00 => {
            let n = c.rest().iter().take_while(|&&b| b == 0).count();
            c.pos += n;
            Frame::Padding(n + 1)
        }
        0x01 => Frame::Ping,
        0x02 | 0x03 => {
            let largest = v()?;
            let delay = v()?;
            let count = v()?;
            let first_range = v()?;
            let mut ranges = Vec::new();
            // Each range takes at least two bytes, so a count past the bytes left is
            // caught before it allocates.
            for _ in 0..count {
                let gap = c.varint().ok_or(TRUNC)?;
                let len = c.varint().ok_or(TRUNC)?;
                ranges.push((gap, len));
            }
            let ecn = if ty == 0x03 {
                Some([
                    c.varint().ok_or(TRUNC)?,
                    c.varint().ok_or(TRUNC)?,
                    c.varint().ok_or(TRUNC)?,
                ])
            } else {
                None
            };
            if first_range > largest {
                return Err("ACK range below packet number 0");
            }
            Frame::Ack {
                largest,
                delay,
                first_range,
                ranges,
                ecn,
            }
        }
        0x04 => Frame::ResetStream {
            id: v()?,
            code: v()?,
            final_size: v()?,
        },
        0x05 => Frame::StopSending {
            id: v()?,
            code: v()?,
        },
        0x06 => {
            let offset = v()?;
            let len = v()?;
            if offset.checked_add(len).is_none_or(|e| e >= 1 << 62) {
                return Err("CRYPTO offset past 2^62-1");
            }
            Frame::Crypto {
                offset,
                data: c.take_u64(len).ok_or(TRUNC)?,
            }
        }
        0x07 => {
            let len = v()?;
            if len == 0 {
                return Err("empty NEW_TOKEN");
            }
            Frame::NewToken(c.take_u64(len).ok_or(TRUNC)?)
        }
        0x08..=0x0f => {
            let id = v()?;
            let offset = if ty & 0x04 != 0 { v()? } else { 0 };
            let data = if ty & 0x02 != 0 {
                let len = v()?;
                c.take_u64(len).ok_or(TRUNC)?
            } else {
                let d = c.rest();
                c.pos = c.buf.len();
                d
            };
            if offset
                .checked_add(data.len() as u64)
                .is_none_or(|e| e >= 1 << 62)
            {
                return Err("STREAM offset past 2^62-1");
            }
            Frame::Stream {
                id,
                offset,
                fin: ty & 0x01 != 0,
                data,
            }
        }
        0x10 => Frame::MaxData(v()?),
        0x11 => Frame::MaxStreamData {
            id: v()?,
            max: v()?,
        },
        0x12 | 0x13 => Frame::MaxStreams {
            bidi: ty == 0x12,
            max: v()?,
        },
        0x14 => Frame::DataBlocked(v()?),
        0x15 => Frame::StreamDataBlocked {
            id: v()?,
            max: v()?,
        },
        0x16 | 0x17 => Frame::StreamsBlocked {
            bidi: ty == 0x16,
            max: v()?,
        },
        0x18 => {
            let seq = v()?;
            let retire_prior_to = v()?;
            let len = c.u8().ok_or(TRUNC)?;
            if !(1..=20).contains(&len) {
                return Err("NEW_CONNECTION_ID length not 1 to 20");
            }
            let cid = c.take(usize::from(len)).ok_or(TRUNC)?;
            let reset_token = c.take(16).ok_or(TRUNC)?;
            if retire_prior_to > seq {
                return Err("NEW_CONNECTION_ID retires past its own sequence number");
            }
            Frame::NewConnectionId {
                seq,
                retire_prior_to,
                cid,
                reset_token,
            }
        }
        0x19 => Frame::RetireConnectionId(v()?),
        0x1a => Frame::PathChallenge(c.take(8).ok_or(TRUNC)?),
        0x1b => Frame::PathResponse(c.take(8).ok_or(TRUNC)?),
        0x1c | 0x1d => {
            let code = v()?;
            let frame_type = if ty == 0x1c { Some(v()?) } else { None };
            let len = v()?;
            Frame::ConnectionClose {
                app: ty == 0x1d,
                code,
                frame_type,
                reason: c.take_u64(len).ok_or(TRUNC)?,
            }
        }
        0x1e => Frame::HandshakeDone,
        0x30 => {
            let d = c.rest();
            c.pos = c.buf.len();
            Frame::Datagram(d)
        }
        0x31 => {
            let len = v()?;
            Frame::Datagram(c.take_u64(len).ok_or(TRUNC)?)
        }
        _ => return Err("unknown frame type"),
    })
}

/// Frames allowed in Initial and Handshake packets (RFC 9000 §12.4, Table 3).
pub fn allowed_in_initial(f: &Frame<'_>) -> bool {
    matches!(
        f,
        Frame::Padding(_)
            | Frame::Ping
            | Frame::Ack { .. }
            | Frame::Crypto { .. }
            | Frame::ConnectionClose { app: false, .. }
    )
}

/// A transport error code's name (RFC 9000 §20.1), or None for codes outside it.
pub fn transport_error_name(code: u64) -> Option<&'static str> {
    Some(match code {
        0x00 => "NO_ERROR",
        0x01 => "INTERNAL_ERROR",
        0x02 => "CONNECTION_REFUSED",
        0x03 => "FLOW_CONTROL_ERROR",
        0x04 => "STREAM_LIMIT_ERROR",
        0x05 => "STREAM_STATE_ERROR",
        0x06 => "FINAL_SIZE_ERROR",
        0x07 => "FRAME_ENCODING_ERROR",
        0x08 => "TRANSPORT_PARAMETER_ERROR",
        0x09 => "CONNECTION_ID_LIMIT_ERROR",
        0x0a => "PROTOCOL_VIOLATION",
        0x0b => "INVALID_TOKEN",
        0x0c => "APPLICATION_ERROR",
        0x0d => "CRYPTO_BUFFER_EXCEEDED",
        0x0e => "KEY_UPDATE_ERROR",
        0x0f => "AEAD_LIMIT_REACHED",
        0x10 => "NO_VIABLE_PATH",
        // RFC 9000 §20.1: 0x0100-0x01ff carry a TLS alert.
        0x100..=0x1ff => "CRYPTO_ERROR",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::quic::unhex;

    #[test]
    fn every_frame_type_parses() {
        let p = unhex(
            "0000 01 \
             03 0a 00 01 02 01 00 05 06 07 \
             02 05 00 00 01 \
             04 01 02 03  05 01 02 \
             06 4005 03 616263 \
             07 02 7474 \
             0a 04 02 6869  0f 08 40ff 01 6a \
             10 4400  11 04 05  12 03  13 04  14 05  15 04 06  16 07  17 08 \
             18 02 01 04 01020304 000102030405060708090a0b0c0d0e0f \
             19 01  1a 0102030405060708  1b 0807060504030201 \
             1c 0a 06 03 626164  1d 4100 00  1e  31 02 6464  30 7a7a",
        );
        let (frames, err) = parse_frames(&p);
        assert_eq!(err, None);
        let names: Vec<_> = frames.iter().map(Frame::name).collect();
        assert_eq!(
            names,
            [
                "PADDING",
                "PING",
                "ACK",
                "ACK",
                "RESET_STREAM",
                "STOP_SENDING",
                "CRYPTO",
                "NEW_TOKEN",
                "STREAM",
                "STREAM",
                "MAX_DATA",
                "MAX_STREAM_DATA",
                "MAX_STREAMS",
                "MAX_STREAMS",
                "DATA_BLOCKED",
                "STREAM_DATA_BLOCKED",
                "STREAMS_BLOCKED",
                "STREAMS_BLOCKED",
                "NEW_CONNECTION_ID",
                "RETIRE_CONNECTION_ID",
                "PATH_CHALLENGE",
                "PATH_RESPONSE",
                "CONNECTION_CLOSE",
                "CONNECTION_CLOSE",
                "HANDSHAKE_DONE",
                "DATAGRAM",
                "DATAGRAM"
            ]
        );
        assert_eq!(frames[0], Frame::Padding(2));
        assert_eq!(
            frames[2],
            Frame::Ack {
                largest: 10,
                delay: 0,
                first_range: 2,
                ranges: vec![(1, 0)],
                ecn: Some([5, 6, 7])
            }
        );
        assert_eq!(
            frames[6],
            Frame::Crypto {
                offset: 5,
                data: b"abc"
            }
        );
        assert_eq!(
            frames[8],
            Frame::Stream {
                id: 4,
                offset: 0,
                fin: false,
                data: b"hi"
            }
        );
        assert_eq!(
            frames[9],
            Frame::Stream {
                id: 8,
                offset: 255,
                fin: true,
                data: b"j"
            }
        );
        assert_eq!(
            frames[22],
            Frame::ConnectionClose {
                app: false,
                code: 10,
                frame_type: Some(6),
                reason: b"bad"
            }
        );
        assert_eq!(
            frames[23],
            Frame::ConnectionClose {
                app: true,
                code: 0x100,
                frame_type: None,
                reason: b""
            }
        );
        assert_eq!(frames[26], Frame::Datagram(b"zz"));
    }

    #[test]
    fn stream_without_length_runs_to_the_end() {
        for (ty, offset, fin) in [
            (0x08, 0, false),
            (0x09, 0, true),
            (0x0c, 3, false),
            (0x0d, 3, true),
        ] {
            let mut p = vec![ty, 0x04];
            if ty & 4 != 0 {
                p.push(3);
            }
            p.extend(b"rest 01 02");
            let (frames, err) = parse_frames(&p);
            assert_eq!(err, None);
            assert_eq!(
                frames,
                [Frame::Stream {
                    id: 4,
                    offset,
                    fin,
                    data: b"rest 01 02"
                }]
            );
        }
    }

    #[test]
    fn errors_say_where_and_which_type() {
        let p = unhex("01 0000 21 01");
        let (frames, err) = parse_frames(&p);
        assert_eq!(frames, [Frame::Ping, Frame::Padding(2)]);
        assert_eq!(
            err,
            Some(FrameError {
                offset: 3,
                frame_type: Some(0x21),
                reason: "unknown frame type"
            })
        );
        let (_, err) = parse_frames(&unhex("06 00 05 6162"));
        assert_eq!(err.unwrap().reason, TRUNC);
        let (_, err) = parse_frames(&unhex("02 01 00 00 05"));
        assert_eq!(err.unwrap().reason, "ACK range below packet number 0");
        // An ACK claiming 2^62 ranges with none present fails without allocating them.
        let (_, err) = parse_frames(&unhex("02 05 00 ffffffffffffffff 00"));
        assert_eq!(err.unwrap().reason, TRUNC);
        let (_, err) = parse_frames(&unhex("06 ffffffffffffffff 01 61"));
        assert_eq!(err.unwrap().reason, "CRYPTO offset past 2^62-1");
        let (_, err) = parse_frames(&unhex("18 01 00 15"));
        assert_eq!(err.unwrap().reason, "NEW_CONNECTION_ID length not 1 to 20");
        let (_, err) = parse_frames(&unhex("40"));
        assert_eq!(err.unwrap().reason, "truncated frame type");
    }
}
