//! The Follow view: a connection's conversation as lines, capped, searchable.

use super::{App, ListState};
use crate::flatten::{follow_lines, FollowLine, Side};
use crate::source::Turn;

/// Most lines a followed stream keeps for display.
pub const FOLLOW_MAX_LINES: usize = 100_000;
/// Most payload bytes a followed stream keeps (both directions together); the rest is
/// announced by a note line, never silently dropped.
pub const FOLLOW_MAX_BYTES: usize = 16 << 20;

/// The open Follow view's lines and search.
#[derive(Clone, Debug, PartialEq)]
pub struct FollowState {
    pub conn: u32,
    turns: Vec<Turn>,
    /// Payload bytes dropped by the [`FOLLOW_MAX_BYTES`] cap.
    pub cut: u64,
    pub hex: bool,
    pub lines: Vec<FollowLine>,
    pub list: ListState,
    pub query: String,
    /// Line indices containing the query (case-insensitive).
    pub matches: Vec<usize>,
}

impl FollowState {
    pub(super) fn new(conn: u32, mut turns: Vec<Turn>) -> FollowState {
        let cut = cap_turns(&mut turns, FOLLOW_MAX_BYTES);
        let mut f = FollowState {
            conn,
            turns,
            cut,
            hex: false,
            lines: Vec::new(),
            list: ListState::default(),
            query: String::new(),
            matches: Vec::new(),
        };
        f.rebuild();
        f
    }

    pub(super) fn rebuild(&mut self) {
        self.lines = follow_lines(&self.turns, self.hex, FOLLOW_MAX_LINES);
        if self.cut > 0 {
            self.lines.push(FollowLine {
                side: Side::Note,
                packet: 0,
                text: format!("[{} more bytes not shown]", self.cut),
            });
        } else if self.lines.is_empty() {
            self.lines.push(FollowLine {
                side: Side::Note,
                packet: 0,
                text: "(no payload in this connection)".into(),
            });
        }
        self.find();
    }

    pub(super) fn find(&mut self) {
        self.matches.clear();
        if self.query.is_empty() {
            return;
        }
        let q = self.query.to_lowercase();
        self.matches = self
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.text.to_lowercase().contains(&q))
            .map(|(i, _)| i)
            .collect();
    }
}

impl App {
    pub(super) fn search_step(&mut self, forward: bool) {
        let rows = self.page_rows();
        let Some(f) = &mut self.follow else { return };
        if f.matches.is_empty() {
            self.message = Some(if f.query.is_empty() {
                "no search: press / to search".into()
            } else {
                format!("no match for \"{}\"", crate::flatten::esc(&f.query))
            });
            return;
        }
        let cur = f.list.selected;
        let next = if forward {
            f.matches
                .iter()
                .copied()
                .find(|&m| m > cur)
                .or(f.matches.first().copied())
        } else {
            f.matches
                .iter()
                .rev()
                .copied()
                .find(|&m| m < cur)
                .or(f.matches.last().copied())
        };
        if let Some(n) = next {
            f.list.select(n, f.lines.len(), rows);
        }
    }
}

/// Keeps at most `max` payload bytes of `turns` (cutting the turn that crosses the
/// limit) and returns how many bytes were dropped.
pub(super) fn cap_turns(turns: &mut Vec<Turn>, max: usize) -> u64 {
    let mut kept = 0usize;
    let mut cut = 0u64;
    let mut end = turns.len();
    for (i, t) in turns.iter_mut().enumerate() {
        if let Turn::Data { bytes, .. } = t {
            if kept >= max {
                end = end.min(i);
                cut += bytes.len() as u64;
            } else if kept + bytes.len() > max {
                let keep = max - kept;
                cut += (bytes.len() - keep) as u64;
                bytes.truncate(keep);
                kept = max;
            } else {
                kept += bytes.len();
            }
        } else if kept >= max {
            end = end.min(i);
        }
    }
    turns.truncate(end);
    cut
}
