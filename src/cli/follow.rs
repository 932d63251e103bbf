//! `wiretale follow FILE --conn ID`: the reassembled conversation, turn by turn.

use serde_json::json;

use super::args::{FollowArgs, Side};
use super::out::Out;
use super::run::{bpf_keeps, capture_filter, drive_with, finish_status, Next};
use super::select::{Matched, Selection};
use crate::analysis::EngineConfig;
use crate::analysis::{Follower, Turn};
use crate::base::{escape, ConnId, Direction, Timestamp};
use crate::capture;

/// Conversation bytes kept at most (the rest is reported as cut).
const LIMIT: usize = 256 << 20;

pub fn run(a: &FollowArgs) -> anyhow::Result<i32> {
    let path = &a.common.file;
    let mut sel = match Selection::from_args(&a.common) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    if sel.is_filtering() && !conn_matches(a, &mut sel)? {
        eprintln!(
            "wiretale: connection {} does not match the display filter",
            a.conn
        );
        return Ok(0);
    }
    let mut src = capture::open(path).map_err(|e| super::run::open_error(path, &e))?;
    let mut bpf = capture_filter(a.common.bpf.as_deref(), src.as_ref())?;
    let mut f = Follower::new(ConnId(a.conn), LIMIT);
    let mut damage = None;
    let mut first_ts: Option<Timestamp> = None;
    loop {
        match src.next_frame() {
            Ok(Some(frame)) => {
                if !bpf_keeps(&mut bpf, &frame)? {
                    continue;
                }
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
                        out.wrap(&hexdump(bytes));
                    } else {
                        out.wrap(&escape::escape_bytes(bytes).replace("\\n", "\\n\n"));
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

/// `follow -Y`: the conversation is shown when its connection matches as in `conns -Y`
/// (any of its packets, or its own fields); this takes one more pass over the file.
fn conn_matches(a: &FollowArgs, sel: &mut Selection) -> anyhow::Result<bool> {
    let want = ConnId(a.conn);
    let mut cfg = EngineConfig::default();
    sel.prepare(&a.common.file, &mut cfg)?;
    let matched = std::cell::RefCell::new(Matched::new(sel));
    let mut names = crate::story::NameIndex::new();
    let mut keep = false;
    drive_with(
        &a.common.file,
        cfg,
        sel,
        |_, s, hit| {
            if s.conn == Some(want) {
                matched.borrow_mut().record(s, hit);
            }
            Next::Continue
        },
        |engine, at_end, sel| {
            for tx in engine.take_dns(at_end) {
                names.add(&tx);
            }
            for c in engine.take_conns().iter().filter(|c| c.conn.id == want) {
                let name = names.name(c);
                keep |= sel.keep_conn(
                    &matched.borrow(),
                    c,
                    name.as_ref().map(|n| n.qname.as_str()),
                );
            }
        },
    )?;
    Ok(keep)
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
