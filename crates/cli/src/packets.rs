//! `wiretale packets FILE [--json]`: one line per packet, like tshark's default output.

use super::args::PacketsArgs;
use super::json::guard;
use super::out::Out;
use super::run::{conclude, drive_with, Next};
use super::select::Selection;
use wiretale_engine::analysis::records::PacketJson;
use wiretale_engine::analysis::PacketSummary;
use wiretale_engine::base::{elide, Timestamp};

pub fn run(a: &PacketsArgs) -> anyhow::Result<i32> {
    let (mut sel, cfg) = match Selection::for_command(&a.common, true)? {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let mut out = Out::new();
    let mut first: Option<Timestamp> = None;
    let mut n: u64 = 0;
    let damage = drive_with(
        &a.common.file,
        cfg,
        &mut sel,
        |_, s, matched| {
            // Times are relative to the file's first packet, matching or not.
            let t0 = *first.get_or_insert(s.ts);
            if !matched {
                return Next::Continue;
            }
            if a.common.json {
                out.line(&json_line(s));
            } else {
                out.line(&text_line(s, t0));
            }
            n += 1;
            if out.failed() || a.count.is_some_and(|c| n >= c) {
                Next::Stop
            } else {
                Next::Continue
            }
        },
        // Records are not printed here; `drive` discards what nobody takes.
        |_, _, _| {},
    )?;
    conclude(out, damage)
}

/// The protocol column as tshark users read it.
fn proto_label(p: &str) -> String {
    match p {
        "icmpv6" => "ICMPv6".to_string(),
        "ipv4" => "IPv4".to_string(),
        "ipv6" => "IPv6".to_string(),
        other => other.to_ascii_uppercase(),
    }
}

/// One packet line. The Info column is shortened for text output (a 300-character URI,
/// a response listing forty addresses: see `elide::words`) unless `--wide`; the line is
/// then fitted to the output width by `Out`. `--json` keeps the whole Info.
pub fn text_line(s: &PacketSummary, t0: Timestamp) -> String {
    let src = s.src.map(|a| a.to_string()).unwrap_or_default();
    let dst = s.dst.map(|a| a.to_string()).unwrap_or_default();
    let info = guard(&s.info);
    let head = format!(
        "{:>6} {:>11.6} {:>15} → {:<15} {:<6} {:>5} ",
        s.id.frame_number(),
        s.ts.secs_since(t0),
        src,
        dst,
        proto_label(s.proto),
        s.len,
    );
    match super::out::columns() {
        None => head + &info,
        Some(columns) => {
            // Long words first (a URI), then the whole Info to what is left of the line.
            let room = columns.saturating_sub(elide::width(&head)).max(1);
            head + &elide::words(&info, elide::VALUE_COLUMNS, room)
        }
    }
}

/// The documented `--json` record (README, "JSON Lines output"; [`PacketJson`]).
pub fn json_line(s: &PacketSummary) -> String {
    super::json::line(&PacketJson::new(s))
}
