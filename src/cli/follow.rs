//! `wiretale follow FILE --conn ID`: the reassembled conversation, turn by turn.

use serde_json::json;

use super::args::{FollowArgs, Side};
use super::out::Out;
use super::run::finish_status;
use crate::analysis::{Follower, Turn};
use crate::base::{escape, ConnId, Direction, Timestamp};
use crate::capture;

/// Conversation bytes kept at most (the rest is reported as cut).
const LIMIT: usize = 256 << 20;

pub fn run(a: &FollowArgs) -> anyhow::Result<i32> {
    let path = &a.common.file;
    let mut src = capture::open(path).map_err(|e| super::run::open_error(path, &e))?;
    let mut f = Follower::new(ConnId(a.conn), LIMIT);
    let mut damage = None;
    let mut first_ts: Option<Timestamp> = None;
    loop {
        match src.next_frame() {
            Ok(Some(frame)) => {
                first_ts.get_or_insert(frame.meta.ts);
                f.push(&frame);
            }
            Ok(None) => break,
            Err(e) => {
                damage = Some(e);
                break;
            }
        }
    }
    let (turns, truncated) = f.finish();
    let want = |d: Direction| match a.side {
        None => true,
        Some(Side::Client) => d == Direction::ClientToServer,
        Some(Side::Server) => d == Direction::ServerToClient,
    };
    let t0 = first_ts.unwrap_or_default();
    let mut out = Out::new();
    for t in &turns {
        match t {
            Turn::Data {
                dir,
                first_pkt,
                ts,
                bytes,
            } if want(*dir) => {
                if a.raw {
                    out.bytes(bytes);
                } else if a.common.json {
                    out.line(
                        &json!({
                            "dir": dir.sender(),
                            "frame": first_pkt.frame_number(),
                            "ts": ts.as_secs_f64(),
                            "len": bytes.len(),
                            "text": escape::escape_bytes(bytes),
                        })
                        .to_string(),
                    );
                } else {
                    out.line(&format!(
                        "── {} → {}  frame {}  +{:.6}s  {} bytes",
                        dir.sender(),
                        dir.reverse().sender(),
                        first_pkt.frame_number(),
                        ts.secs_since(t0),
                        bytes.len()
                    ));
                    if a.hex {
                        out.line(&hexdump(bytes));
                    } else {
                        out.line(&escape::escape_bytes(bytes).replace("\\n", "\\n\n"));
                    }
                }
            }
            Turn::Gap { dir, len } if want(*dir) && !a.raw => {
                if a.common.json {
                    out.line(&json!({"dir": dir.sender(), "gap": len}).to_string());
                } else {
                    out.line(&format!(
                        "── {} → {}  [{} bytes missing from the capture]",
                        dir.sender(),
                        dir.reverse().sender(),
                        len
                    ));
                }
            }
            _ => {}
        }
        if out.failed() {
            break;
        }
    }
    if turns.is_empty() && !out.failed() {
        eprintln!(
            "wiretale: connection {} has no payload (or does not exist; see `wiretale conns`)",
            a.conn
        );
    }
    if truncated {
        eprintln!("wiretale: conversation cut at {} MiB", LIMIT >> 20);
    }
    let pipe_closed = out.pipe_closed();
    out.finish()?;
    if pipe_closed {
        return Ok(0);
    }
    Ok(finish_status(damage))
}

/// Classic 16-bytes-a-line hex dump with an ASCII column.
pub fn hexdump(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 4);
    for (i, chunk) in b.chunks(16).enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str(&format!("{:08x}  ", i * 16));
        for j in 0..16 {
            match chunk.get(j) {
                Some(x) => s.push_str(&format!("{x:02x} ")),
                None => s.push_str("   "),
            }
            if j == 7 {
                s.push(' ');
            }
        }
        s.push(' ');
        for &x in chunk {
            s.push(if x.is_ascii_graphic() || x == b' ' {
                x as char
            } else {
                '.'
            });
        }
    }
    s
}
