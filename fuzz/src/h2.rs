//! HTTP/2 fuzzing entry points, shared by the cargo-fuzz targets `h2_frames` and
//! `hpack` (which include this file by path) and by `tests/fuzz_h2.rs`, which replays
//! `corpus/{h2_frames,hpack}` and `artifacts/{h2_frames,hpack}` under plain `cargo test`.
//! Kept apart from `lib.rs` so the HTTP/2 targets add files rather than edit shared ones.

use wiretale::base::{Direction, FieldNode, PacketId, Timestamp};
use wiretale::proto::http2::hpack::{HpackDecoder, MAX_HEADER_FIELDS, MAX_HEADER_LIST_SIZE};
use wiretale::proto::http2::{tree, FrameInfo, H2Conn, PREFACE};

/// Longest input looked at.
const MAX_INPUT: usize = 64 * 1024;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

fn check_ranges(n: &FieldNode, len: usize) {
    assert!(
        n.range.start <= n.range.end && n.range.end <= len,
        "{:?} outside {len}: {}",
        n.range,
        n.label
    );
    for c in &n.children {
        check_ranges(c, len);
    }
}

/// `h2_frames`: byte 0 = flags (bit 0: prepend the client preface), bytes 1–2 = where
/// the client stream ends (u16 LE, modulo the rest), bytes 3–6 = split seed; then the
/// client stream and the server stream. Both are fed to `H2Conn` (frames kept) in
/// random pieces with occasional gaps, interleaved. Checks: frame offsets grow per
/// direction and frames lie inside what was fed; every exchange's body counts are at
/// most the bytes fed; the field tree of every piece, with and without frame records,
/// keeps its ranges inside the piece.
pub fn h2_frames(data: &[u8]) {
    let data = data.get(..MAX_INPUT).unwrap_or(data);
    if data.len() < 7 {
        return;
    }
    let flags = data[0];
    let rest = &data[7..];
    let cut = usize::from(u16::from_le_bytes([data[1], data[2]])) % (rest.len() + 1);
    let mut rng = Lcg(u64::from(u32::from_le_bytes([
        data[3], data[4], data[5], data[6],
    ])));
    let mut client = Vec::new();
    if flags & 1 != 0 {
        client.extend_from_slice(PREFACE);
    }
    client.extend_from_slice(&rest[..cut]);
    let server = &rest[cut..];
    let mut conn = H2Conn::new().keep_frames(true);
    let mut pos = [0usize; 2];
    let streams: [&[u8]; 2] = [&client, server];
    let mut pieces: Vec<(usize, usize, usize)> = Vec::new();
    let mut t = 0i64;
    while pos[0] < streams[0].len() || pos[1] < streams[1].len() {
        t += 1;
        let d = if (rng.next(2) == 0 && pos[0] < streams[0].len()) || pos[1] >= streams[1].len() {
            0
        } else {
            1
        };
        let left = streams[d].len() - pos[d];
        let n = 1 + rng.next(left.min(2000));
        let dir = if d == 0 {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        };
        if rng.next(50) == 0 {
            conn.gap(dir, Timestamp(t), n as u64);
        } else {
            conn.feed(
                dir,
                Timestamp(t),
                PacketId(t as u32),
                &streams[d][pos[d]..pos[d] + n],
            );
            pieces.push((d, pos[d], n));
        }
        pos[d] += n;
    }
    conn.finish(Timestamp(t + 1));
    let total = (client.len() + server.len()) as u64;
    for e in conn.drain() {
        assert!(e.request_body_len + e.response_body_len <= total, "{e:?}");
        let _ = e.to_http_transaction();
    }
    let frames: Vec<FrameInfo> = conn.drain_frames().collect();
    let mut by_dir: [Vec<FrameInfo>; 2] = [Vec::new(), Vec::new()];
    for f in frames {
        let _ = f.info();
        let d = f.dir.index();
        if let Some(last) = by_dir[d].last() {
            assert!(
                last.offset + last.wire_len() <= f.offset,
                "{last:?} then {f:?}"
            );
        }
        assert!(f.offset + f.wire_len() <= streams[d].len() as u64, "{f:?}");
        by_dir[d].push(f);
    }
    for (d, off, n) in pieces.into_iter().take(64) {
        let piece = &streams[d][off..off + n];
        if let Some(t) = tree::http2_tree(piece, off as u64, &by_dir[d]) {
            check_ranges(&t, n);
        }
        if let Some(t) = tree::http2_tree(piece, off as u64, &[]) {
            check_ranges(&t, n);
        }
    }
}

/// `hpack`: bytes 0–3 = the SETTINGS_HEADER_TABLE_SIZE the receiver announced (u32 LE);
/// then blocks, each a u16 LE length and that many bytes, decoded in order by one
/// decoder (a failed block is followed by the next, as the engine does). Checks: the
/// stored list stays within `MAX_HEADER_FIELDS` and `MAX_HEADER_LIST_SIZE`.
pub fn hpack(data: &[u8]) {
    let data = data.get(..MAX_INPUT).unwrap_or(data);
    if data.len() < 4 {
        return;
    }
    let mut d = HpackDecoder::new();
    d.set_table_size_setting(u32::from_le_bytes([data[0], data[1], data[2], data[3]]));
    let mut rest = &data[4..];
    while rest.len() >= 2 {
        let n = usize::from(u16::from_le_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let block = &rest[2..2 + n];
        rest = &rest[2 + n..];
        if let Ok(out) = d.decode(block) {
            assert!(out.headers.len() <= MAX_HEADER_FIELDS);
            let stored: usize = out
                .headers
                .iter()
                .map(|h| h.name.len() + h.value.len() + 32)
                .sum();
            assert!(stored <= MAX_HEADER_LIST_SIZE);
        }
    }
}
