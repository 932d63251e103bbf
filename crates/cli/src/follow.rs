//! `wiretale follow FILE --conn ID`: the reassembled conversation, turn by turn.
//!
//! Text output shows HTTP message heads and text bodies as sent, compressed text bodies
//! decoded, and binary bodies as one line (`[PNG image, 11,639 bytes]`), by
//! [`wiretale_engine::proto::http::body::display_pieces`]; `--hex` and `--raw` show every byte.
//! A connection id the file does not have is an error (status 1); a connection that
//! carried no payload is one line on stderr and status 0.
//!
//! A TLS connection with keys (`--tls-keylog`, or the pcapng's Decryption Secrets
//! Blocks) is shown decrypted ([`wiretale_engine::analysis::decrypted`]): HTTP/1.x as in
//! the clear, HTTP/2 (and cleartext h2c by prior knowledge) frame by frame with decoded
//! headers, each body shown once its stream ends; handshake messages, records not
//! decrypted, gaps and failures on lines of their own. `--hex`/`--raw` show the TLS
//! plaintext. Without keys the ciphertext is shown as before, and one line on stderr
//! says it is encrypted and how to give keys.

use super::args::{FollowArgs, Side};
use super::out::Out;
use super::run::{bpf_keeps, capture_filter, conclude, drive_with, finish_status, Next};
use super::select::{Matched, Selection};
use wiretale_engine::analysis::decrypted::{
    h2_blocks, in_stream, note_text, shown_turns, Decrypted, Seg, What,
};
use wiretale_engine::analysis::quic_follow::{
    in_quic_stream, not_decrypted_text, quic_shown, QuicFollowed, QuicWhat,
};
use wiretale_engine::analysis::records::{json_text, TurnJson};
use wiretale_engine::analysis::EngineConfig;
use wiretale_engine::analysis::{Followed, Follower, Turn};
use wiretale_engine::base::{escape, ConnId, Direction, Timestamp};
use wiretale_engine::capture;
use wiretale_engine::proto::http::body::{display_pieces, Piece};
use wiretale_engine::proto::http2::looks_like_h2;
use wiretale_engine::proto::tls::{version_name, NotDecrypted};

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
    if let Some(p) = &a.common.tls_keylog {
        f = f.with_keys(super::run::read_keylog(p, false)?);
    }
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
    let mut followed = f.finish_followed();
    if followed.quic_seen && damage.is_none() {
        // The engine joins a migrated QUIC client's datagrams to its connection by
        // connection ID; this follower's table did not, so its ids may differ from
        // `conns`: follow the packets the engine gave the connection instead.
        followed = by_engine(a)?;
    }
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
    if let Some(q) = followed.quic.as_ref().filter(|q| q.decrypted) {
        let mut out = Out::new();
        quic(a, q, t0, &want, &mut out);
        if truncated {
            eprintln!("wiretale: conversation cut at {} MiB", LIMIT >> 20);
        }
        return conclude(out, damage);
    }
    if let Some(q) = &followed.quic {
        eprintln!(
            "wiretale: {}",
            not_decrypted_text(q, a.conn, a.common.tls_keylog.is_some())
        );
        if let Some(n) = a.stream {
            eprintln!(
                "wiretale: --stream {n}: connection {} is QUIC that was not decrypted",
                a.conn
            );
            return Ok(super::EXIT_ERROR);
        }
    }
    let plain = match followed.tls {
        Some(d) if d.summary.decrypted => Some(d),
        Some(d) => {
            say_encrypted(a, &d);
            None
        }
        None => h2c(&turns),
    };
    if let Some(d) = plain {
        let mut out = Out::new();
        decrypted(a, &d, t0, &want, &mut out);
        if truncated {
            eprintln!("wiretale: conversation cut at {} MiB", LIMIT >> 20);
        }
        return conclude(out, damage);
    }
    if let Some(n) = a.stream {
        eprintln!(
            "wiretale: --stream {n}: connection {} is not HTTP/2 that wiretale can read",
            a.conn
        );
        return Ok(super::EXIT_ERROR);
    }
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

/// The connection's packets as the engine assigns them (a pass of the whole engine),
/// followed by a [`Follower::joining`]: the same connection `conns` numbers `a.conn`,
/// a migrated QUIC connection whole.
fn by_engine(a: &FollowArgs) -> anyhow::Result<Followed> {
    let want = ConnId(a.conn);
    let mut sel = match Selection::new(None, a.common.bpf.as_deref()) {
        Ok(s) => s,
        Err(_) => anyhow::bail!("the capture filter does not compile"),
    };
    sel.keylog.clone_from(&a.common.tls_keylog);
    let mut cfg = EngineConfig::default();
    sel.prepare(&a.common.file, &mut cfg)?;
    let mut ids: Vec<u32> = Vec::new();
    let mut conns = 0u64;
    drive_with(
        &a.common.file,
        cfg,
        &mut sel,
        |_, s, _| {
            if let Some(c) = s.conn {
                conns = conns.max(u64::from(c.0) + 1);
                if c == want {
                    ids.push(s.id.0);
                }
            }
            Next::Continue
        },
        |_, _, _| {},
    )?;
    let mut f = Follower::joining(LIMIT);
    if let Some(p) = &a.common.tls_keylog {
        f = f.with_keys(super::run::read_keylog(p, false)?);
    }
    let mut src =
        capture::open(&a.common.file).map_err(|e| super::run::open_error(&a.common.file, &e))?;
    let mut next = ids.iter().copied().peekable();
    while next.peek().is_some() {
        let Ok(Some(frame)) = src.next_frame() else {
            break;
        };
        if next.peek() == Some(&frame.meta.id.0) {
            next.next();
            f.push(&frame);
        } else if !frame.secrets.is_empty() {
            // Decryption Secrets Blocks serve the packets after them.
            f.push_secrets(&frame);
        }
    }
    let mut followed = f.finish_followed();
    followed.conns = conns;
    if ids.is_empty() {
        followed.found = None;
    }
    Ok(followed)
}

/// A followed QUIC connection that was decrypted, stream by stream; see
/// [`quic_shown`].
fn quic(
    a: &FollowArgs,
    q: &QuicFollowed,
    t0: Timestamp,
    want: &dyn Fn(Direction) -> bool,
    out: &mut Out,
) {
    let stream = a.stream.map(u64::from);
    let blocks = q
        .blocks
        .iter()
        .filter(|b| want(b.dir) && stream.is_none_or(|n| in_quic_stream(b, n)));
    if a.raw {
        for b in blocks {
            match &b.what {
                QuicWhat::H3 { data: Some(d), .. } => out.bytes(d),
                QuicWhat::Stream { bytes, .. } => out.bytes(bytes),
                _ => {}
            }
            if out.failed() {
                return;
            }
        }
        return;
    }
    if a.common.json {
        for b in blocks {
            let (dir, frame, ts) = (b.dir.sender(), b.pkt.frame_number(), b.ts.as_secs_f64());
            let line = match &b.what {
                QuicWhat::H3 { info, data } => super::json::line(&H3FrameJson {
                    dir,
                    flags: "",
                    frame,
                    headers: info
                        .headers
                        .iter()
                        .flatten()
                        .map(|h| [json_text(&h.name), json_text(&h.value)])
                        .collect(),
                    len: payload_len(info),
                    stream: info.stream,
                    text: data.as_deref().map(json_text),
                    ts,
                    kind: info.name(),
                }),
                QuicWhat::Stream { bytes, fin } => super::json::line(&H3FrameJson {
                    dir,
                    flags: if *fin { "FIN" } else { "" },
                    frame,
                    headers: Vec::new(),
                    len: bytes.len() as u64,
                    stream: b.stream.unwrap_or_default(),
                    text: Some(json_text(bytes)),
                    ts,
                    kind: "STREAM".into(),
                }),
                _ => {
                    let Some(t) = quic_shown(
                        &QuicFollowed {
                            blocks: vec![b.clone()],
                            h3: q.h3,
                            ..QuicFollowed::default()
                        },
                        None,
                        BODY_LIMIT,
                    )
                    .pop() else {
                        continue;
                    };
                    super::json::line(&TurnJson::Note {
                        dir,
                        frame,
                        note: t.head,
                        ts,
                    })
                }
            };
            out.line(&line);
            if out.failed() {
                return;
            }
        }
        return;
    }
    if a.hex {
        // Every payload byte, unsummarised: DATA payloads and other streams' bytes.
        for b in blocks {
            let bytes = match &b.what {
                QuicWhat::H3 { data: Some(d), .. } => d,
                QuicWhat::Stream { bytes, .. } => bytes,
                _ => continue,
            };
            out.line(&format!(
                "── {} → {}  frame {}  +{:.6}s  [stream {}] {} bytes",
                b.dir.sender(),
                b.dir.reverse().sender(),
                b.pkt.frame_number(),
                b.ts.secs_since(t0),
                b.stream.unwrap_or_default(),
                bytes.len()
            ));
            out.wrap(&wiretale_engine::base::hexdump::hexdump(bytes));
            if out.failed() {
                return;
            }
        }
        return;
    }
    for t in quic_shown(q, stream, BODY_LIMIT) {
        if !want(t.dir) {
            continue;
        }
        out.line(&format!(
            "── {} → {}  frame {}  +{:.6}s  {}",
            t.dir.sender(),
            t.dir.reverse().sender(),
            t.pkt.frame_number(),
            t.ts.secs_since(t0),
            t.head
        ));
        if !t.segs.is_empty() {
            out.wrap(&segs_text(&t.segs));
        }
        if out.failed() {
            return;
        }
    }
}

/// One HTTP/3 frame (or stream type, QPACK instruction batch, or bytes of a stream of
/// another protocol) as a line of `follow --json` on a QUIC connection: the shape of an
/// HTTP/2 frame's record (`follow-turn` schema), keys in alphabetical order.
#[derive(serde::Serialize)]
struct H3FrameJson {
    dir: &'static str,
    /// HTTP/3 frames have no flags (RFC 9114 §7.1); `FIN` on the last bytes of a stream
    /// of another protocol.
    flags: &'static str,
    /// The packet that completed it.
    frame: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    headers: Vec<[String; 2]>,
    /// Payload length from the frame header; for a stream type or a QPACK instruction
    /// batch, its bytes.
    len: u64,
    stream: u64,
    /// DATA (and other streams' bytes): the payload, escaped as a turn's `text`.
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    ts: f64,
    /// `HEADERS`, `DATA`, `SETTINGS`, `STREAM_TYPE`, `QPACK_ENCODER`, … (RFC 9114 §7.2).
    #[serde(rename = "type")]
    kind: String,
}

/// A record's payload length: from its frame header when it is a frame, else its bytes.
fn payload_len(info: &wiretale_engine::proto::http3::H3FrameInfo) -> u64 {
    use wiretale_engine::proto::http3::H3FrameDetail as D;
    match info.detail {
        D::Data { len }
        | D::Headers { len, .. }
        | D::PushPromise { len, .. }
        | D::Ignored { len, .. }
        | D::Skipped { len, .. }
        | D::Invalid { len, .. } => len,
        _ => info.len,
    }
}

/// A TLS connection that was not decrypted: why, once, on stderr (stdout keeps the
/// ciphertext view).
fn say_encrypted(a: &FollowArgs, d: &Decrypted) {
    let s = &d.summary;
    let mut what = String::from("TLS");
    if let Some(v) = s.version {
        what = version_name(v);
    }
    if let Some(alpn) = &s.alpn {
        what.push_str(&format!(", {}", escape::escape_str(alpn)));
    }
    match s.not_decrypted {
        None | Some(NotDecrypted::NoKeyLog) => eprintln!(
            "wiretale: connection {} is {what}, encrypted: shown as ciphertext; give its keys \
             with --tls-keylog FILE (the key log a browser or curl writes to SSLKEYLOGFILE) \
             to follow it decrypted",
            a.conn
        ),
        Some(r) => eprintln!(
            "wiretale: connection {} is {what}, not decrypted ({}): shown as ciphertext",
            a.conn,
            r.reason()
        ),
    }
}

/// A cleartext connection whose client starts with the HTTP/2 preface (h2c by prior
/// knowledge, RFC 9113 §3.3): its turns as blocks, to show it frame by frame.
fn h2c(turns: &[Turn]) -> Option<Decrypted> {
    let first = turns.iter().find_map(|t| match t {
        Turn::Data {
            dir: Direction::ClientToServer,
            bytes,
            ..
        } => Some(bytes),
        _ => None,
    })?;
    if !looks_like_h2(first) {
        return None;
    }
    Some(Decrypted::from_turns(turns))
}

/// The decrypted (or h2c) conversation in the chosen form; see the module docs.
fn decrypted(
    a: &FollowArgs,
    d: &Decrypted,
    t0: Timestamp,
    want: &dyn Fn(Direction) -> bool,
    out: &mut Out,
) {
    let heading = |dir: Direction, pkt: wiretale_engine::base::PacketId, ts: Timestamp| {
        format!(
            "── {} → {}  frame {}  +{:.6}s",
            dir.sender(),
            dir.reverse().sender(),
            pkt.frame_number(),
            ts.secs_since(t0)
        )
    };
    if a.raw {
        for b in d.blocks.iter().filter(|b| want(b.dir)) {
            if let What::Plain(p) = &b.what {
                out.bytes(p);
            }
            if out.failed() {
                return;
            }
        }
        return;
    }
    if a.common.json {
        json(a, d, want, out);
        return;
    }
    if a.hex {
        let mut run: Option<(
            Direction,
            wiretale_engine::base::PacketId,
            Timestamp,
            Vec<u8>,
        )> = None;
        let flush = |run: &mut Option<_>, out: &mut Out| {
            if let Some((dir, pkt, ts, bytes)) = run.take() {
                let bytes: Vec<u8> = bytes;
                out.line(&format!(
                    "{}  {} bytes of TLS plaintext",
                    heading(dir, pkt, ts),
                    bytes.len()
                ));
                out.wrap(&wiretale_engine::base::hexdump::hexdump(&bytes));
            }
        };
        for b in d.blocks.iter().filter(|b| want(b.dir)) {
            match &b.what {
                What::Plain(p) => match &mut run {
                    Some((dir, _, _, bytes)) if *dir == b.dir => bytes.extend_from_slice(p),
                    _ => {
                        flush(&mut run, out);
                        run = Some((b.dir, b.pkt, b.ts, p.clone()));
                    }
                },
                _ => {
                    flush(&mut run, out);
                    if let Some(n) = note_text(b, &d.summary) {
                        out.line(&format!("{}  {n}", heading(b.dir, b.pkt, b.ts)));
                    }
                }
            }
            if out.failed() {
                return;
            }
        }
        flush(&mut run, out);
        return;
    }
    for t in shown_turns(d, a.stream, BODY_LIMIT) {
        if !want(t.dir) {
            continue;
        }
        out.line(&format!("{}  {}", heading(t.dir, t.pkt, t.ts), t.head));
        if !t.segs.is_empty() {
            out.wrap(&segs_text(&t.segs));
        }
        if out.failed() {
            return;
        }
    }
}

/// `follow --json` of a decrypted conversation: plaintext turns as `Data` (HTTP/1.x and
/// other protocols, merged per direction as in the clear), HTTP/2 as one `H2Frame` per
/// frame, and everything else as a `Note`.
fn json(a: &FollowArgs, d: &Decrypted, want: &dyn Fn(Direction) -> bool, out: &mut Out) {
    let blocks = if d.is_h2() {
        h2_blocks(d.blocks.clone())
    } else {
        d.blocks.clone()
    };
    let mut run: Option<Turn> = None;
    let flush = |run: &mut Option<Turn>, out: &mut Out| {
        if let Some(t) = run.take() {
            out.line(&super::json::line(&TurnJson::new(&t)));
        }
    };
    for b in blocks.iter().filter(|b| want(b.dir)) {
        if let Some(n) = a.stream {
            if !in_stream(b, n) {
                continue;
            }
        }
        if let What::Plain(p) = &b.what {
            match &mut run {
                Some(Turn::Data { dir, bytes, .. }) if *dir == b.dir => bytes.extend_from_slice(p),
                _ => {
                    flush(&mut run, out);
                    run = Some(Turn::Data {
                        dir: b.dir,
                        first_pkt: b.pkt,
                        ts: b.ts,
                        bytes: p.clone(),
                    });
                }
            }
            continue;
        }
        flush(&mut run, out);
        let rec = match &b.what {
            What::Gap(len) => TurnJson::new(&Turn::Gap {
                dir: b.dir,
                len: *len,
            }),
            What::H2Frame(f) => TurnJson::H2Frame {
                dir: b.dir.sender(),
                flags: f.info.header.flag_names().replace('|', " "),
                frame: b.pkt.frame_number(),
                headers: f
                    .headers()
                    .iter()
                    .map(|h| [json_text(&h.name), json_text(&h.value)])
                    .collect(),
                len: f.info.header.len,
                stream: f.info.header.stream,
                text: matches!(
                    f.info.header.kind,
                    wiretale_engine::proto::http2::FrameType::Data
                )
                .then(|| json_text(&f.data)),
                ts: b.ts.as_secs_f64(),
                kind: f.info.header.kind.name(),
            },
            // A body's bytes are already in its DATA frames' `text`.
            What::H2Body(_) => continue,
            _ => match note_text(b, &d.summary) {
                Some(note) => TurnJson::Note {
                    dir: b.dir.sender(),
                    frame: b.pkt.frame_number(),
                    note,
                    ts: b.ts.as_secs_f64(),
                },
                None => continue,
            },
        };
        out.line(&super::json::line(&rec));
        if out.failed() {
            return;
        }
    }
    flush(&mut run, out);
}

/// Content lines of a shown turn: wire bytes escaped (a line break after each `\n` of
/// them, as [`shown`] does), wiretale's words as they are.
fn segs_text(segs: &[Seg]) -> String {
    let mut s = String::new();
    for seg in segs {
        match seg {
            Seg::Wire(b) => s.push_str(&escape::escape_bytes(b).replace("\\n", "\\n\n")),
            Seg::Said(t) => {
                if t.ends_with('\n') && !s.is_empty() && !s.ends_with('\n') && t.starts_with('[') {
                    s.push('\n');
                }
                s.push_str(t);
            }
        }
    }
    while s.ends_with('\n') {
        s.pop();
    }
    s
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
    // The wanted connection, when an end's chunk finished it (see `Records::finishing`).
    let mut end = Vec::new();
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
            if engine.finishing() {
                // A chunk of the end: named with the end's lookups, at the last drain.
                end.extend(
                    engine
                        .take_conns()
                        .into_iter()
                        .filter(|c| c.conn.id == want),
                );
                return;
            }
            for tx in engine.take_dns(at_end) {
                names.add(&tx);
            }
            let mut conns = std::mem::take(&mut end);
            conns.extend(
                engine
                    .take_conns()
                    .into_iter()
                    .filter(|c| c.conn.id == want),
            );
            for c in &conns {
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
