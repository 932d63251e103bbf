//! `wiretale follow FILE --conn ID`: the reassembled conversation, turn by turn.
//!
//! Text output shows HTTP message heads and text bodies as sent, compressed text bodies
//! decoded, and binary bodies as one line (`[PNG image, 11,639 bytes]`), by
//! [`wiretale_engine::proto::http::body::display_pieces`]; `--hex` and `--raw` show every byte.
//! A connection id the file does not have is an error (status 1); a connection that
//! carried no payload is one line on stderr and status 0.

use super::args::{FollowArgs, Side};
use super::out::Out;
use super::run::{bpf_keeps, capture_filter, conclude, drive_with, finish_status, Next};
use super::select::{Matched, Selection};
use wiretale_engine::analysis::records::TurnJson;
use wiretale_engine::analysis::EngineConfig;
use wiretale_engine::analysis::{Follower, Turn};
use wiretale_engine::base::{escape, ConnId, Direction, Timestamp};
use wiretale_engine::capture;
use wiretale_engine::proto::http::body::{display_pieces, Piece};

/// Conversation bytes kept at most (the rest is reported as cut).
const LIMIT: usize = 256 << 20;
/// Decoded bytes kept at most per compressed body shown (a bomb stops here).
const BODY_LIMIT: usize = 16 << 20;

pub fn run(a: &FollowArgs) -> anyhow::Result<i32> {
    let path = &a.common.file;
    let mut sel = match Selection::from_args(&a.common) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    if sel.is_filtering() {
        match conn_matches(a, &mut sel)? {
            None => return Ok(no_such_conn(a, None)),
            Some(false) => {
                eprintln!(
                    "wiretale: connection {} does not match the display filter",
                    a.conn
                );
                return Ok(0);
            }
            Some(true) => {}
        }
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
    let followed = f.finish_followed();
    if followed.found.is_none() {
        // Nothing was printed yet: a damaged file still says why it may lack the id.
        let code = no_such_conn(a, Some(followed.conns));
        return Ok(match finish_status(damage) {
            0 => code,
            d => d,
        });
    }
    let (turns, truncated) = (followed.turns, followed.truncated);
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
                    out.line(&super::json::line(&TurnJson::new(t)));
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
                        out.wrap(&wiretale_engine::base::hexdump::hexdump(bytes));
                    } else {
                        out.wrap(&shown(bytes));
                    }
                }
            }
            Turn::Gap { dir, len } if want(*dir) && !a.raw => {
                if a.common.json {
                    out.line(&super::json::line(&TurnJson::new(t)));
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
            "wiretale: connection {} ({}) carried no payload",
            a.conn,
            followed.found.as_deref().unwrap_or_default()
        );
    }
    if truncated {
        eprintln!("wiretale: conversation cut at {} MiB", LIMIT >> 20);
    }
    conclude(out, damage)
}

/// The one line for an id the file does not have, and the exit status (1). `conns` is
/// how many connections the file holds, when known.
fn no_such_conn(a: &FollowArgs, conns: Option<u64>) -> i32 {
    let file = escape::escape_str(&a.common.file.display().to_string());
    let has = match conns {
        Some(0) => " (it has no connections)".to_string(),
        Some(1) => " (its only connection is 0)".to_string(),
        Some(n) => format!(" (its connections are 0 to {})", n - 1),
        None => String::new(),
    };
    eprintln!(
        "wiretale: no connection {} in {file}{has}; `wiretale conns` lists them",
        a.conn
    );
    super::EXIT_ERROR
}

/// One turn as text: what [`display_pieces`] makes of it, escaped for the terminal, with
/// a line break after every `\n` of the bytes and each summary on its own line.
fn shown(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 16);
    let own_line = |s: &mut String| {
        if !s.is_empty() && !s.ends_with('\n') {
            s.push('\n');
        }
    };
    for p in display_pieces(bytes, BODY_LIMIT) {
        match p {
            Piece::Bytes(b) => s.push_str(&escape::escape_bytes(b).replace("\\n", "\\n\n")),
            Piece::Summary(line) => {
                own_line(&mut s);
                s.push_str(&line);
                s.push('\n');
            }
            Piece::Decoded { summary, text } => {
                own_line(&mut s);
                s.push_str(&summary);
                s.push('\n');
                s.push_str(&escape::escape_bytes(&text).replace("\\n", "\\n\n"));
            }
        }
    }
    if s.ends_with('\n') && !bytes.ends_with(b"\n") {
        s.pop();
    }
    s
}

/// `follow -Y`: the conversation is shown when its connection matches as in `conns -Y`
/// (any of its packets, or its own fields); this takes one more pass over the file.
/// `None` when the file has no such connection at all.
fn conn_matches(a: &FollowArgs, sel: &mut Selection) -> anyhow::Result<Option<bool>> {
    let want = ConnId(a.conn);
    let mut cfg = EngineConfig::default();
    sel.prepare(&a.common.file, &mut cfg)?;
    let matched = std::cell::RefCell::new(Matched::new(sel));
    let mut names = wiretale_engine::story::NameIndex::new();
    let mut keep = false;
    let mut seen = false;
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
                seen = true;
                let name = names.name(c);
                keep |= sel.keep_conn(
                    &matched.borrow(),
                    c,
                    name.as_ref().map(|n| n.qname.as_str()),
                );
            }
        },
    )?;
    Ok(seen.then_some(keep))
}
