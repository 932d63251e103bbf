//! Turning trees and streams into the flat lines the views scroll over. Pure functions
//! of the data plus the model's expansion state, used by both the model (for counts and
//! navigation) and the views (for drawing), so both always agree.

use std::collections::HashSet;

use wiretale_engine::base::escape::{escape_bytes, push_escaped_bytes};
use wiretale_engine::base::hexdump::hex_line;
use wiretale_engine::base::FieldNode;

use super::source::Turn;
use super::story::{Siblings, Story, StoryLine};

/// One visible line of an expandable tree.
#[derive(Clone, Debug, PartialEq)]
pub struct TreeLine<'a, T> {
    /// Child indices from the roots down to this node: the key of its expansion state.
    pub path: Vec<usize>,
    pub depth: usize,
    pub node: &'a T,
    pub has_children: bool,
    pub expanded: bool,
}

/// Things with children: field nodes.
pub trait Branch {
    fn kids(&self) -> &[Self]
    where
        Self: Sized;
}

impl Branch for FieldNode {
    fn kids(&self) -> &[FieldNode] {
        &self.children
    }
}

/// Maximum depth walked; deeper nodes are not shown (bounds work on hostile trees).
const MAX_DEPTH: usize = 32;

/// The visible lines of `roots`: a node's children show only when its path is in
/// `expanded`.
pub fn tree_lines<'a, T: Branch>(
    roots: &'a [T],
    expanded: &HashSet<Vec<usize>>,
) -> Vec<TreeLine<'a, T>> {
    fn go<'a, T: Branch>(
        nodes: &'a [T],
        path: &mut Vec<usize>,
        expanded: &HashSet<Vec<usize>>,
        out: &mut Vec<TreeLine<'a, T>>,
    ) {
        for (i, n) in nodes.iter().enumerate() {
            path.push(i);
            let open = expanded.contains(path.as_slice());
            out.push(TreeLine {
                path: path.clone(),
                depth: path.len() - 1,
                node: n,
                has_children: !n.kids().is_empty(),
                expanded: open,
            });
            if open && path.len() < MAX_DEPTH {
                go(n.kids(), path, expanded, out);
            }
            path.pop();
        }
    }
    let mut out = Vec::new();
    go(roots, &mut Vec::new(), expanded, &mut out);
    out
}

/// How many lines [`tree_lines`] gives, without building them (the Story view's list
/// is counted after every key: on a capture with 245 k stories, building the lines
/// for a count took ~30 ms, counting takes well under one).
pub fn tree_len<T: Branch>(roots: &[T], expanded: &HashSet<Vec<usize>>) -> usize {
    fn go<T: Branch>(nodes: &[T], path: &mut Vec<usize>, expanded: &HashSet<Vec<usize>>) -> usize {
        let mut n = nodes.len();
        // Only expanded nodes have visible children: when nothing is expanded (the
        // usual case for a long story), this is one length, not a walk.
        if expanded.is_empty() || path.len() >= MAX_DEPTH {
            return n;
        }
        for (i, node) in nodes.iter().enumerate() {
            path.push(i);
            if expanded.contains(path.as_slice()) && path.len() < MAX_DEPTH {
                n += go(node.kids(), path, expanded);
            }
            path.pop();
        }
        n
    }
    go(roots, &mut Vec::new(), expanded)
}

/// The visible lines of a story, as [`tree_lines`] gives a tree's: a line's children
/// show only when its path (child indices from the roots) is in `expanded`.
pub fn story_lines<'a>(
    story: &'a Story,
    expanded: &HashSet<Vec<usize>>,
) -> Vec<TreeLine<'a, StoryLine>> {
    fn go<'a>(
        story: &'a Story,
        lines: Siblings<'a>,
        path: &mut Vec<usize>,
        expanded: &HashSet<Vec<usize>>,
        out: &mut Vec<TreeLine<'a, StoryLine>>,
    ) {
        for (k, i) in lines.enumerate() {
            let Some(node) = story.line(i) else { continue };
            path.push(k);
            let open = expanded.contains(path.as_slice());
            out.push(TreeLine {
                path: path.clone(),
                depth: path.len() - 1,
                node,
                has_children: story.has_children(i),
                expanded: open,
            });
            if open && path.len() < MAX_DEPTH {
                go(story, story.children(i), path, expanded, out);
            }
            path.pop();
        }
    }
    let mut out = Vec::new();
    go(story, story.roots(), &mut Vec::new(), expanded, &mut out);
    out
}

/// How many lines [`story_lines`] gives, without building them (see [`tree_len`]).
pub fn story_len(story: &Story, expanded: &HashSet<Vec<usize>>) -> usize {
    fn go(
        story: &Story,
        lines: Siblings<'_>,
        path: &mut Vec<usize>,
        expanded: &HashSet<Vec<usize>>,
    ) -> usize {
        // Only expanded lines have visible children: when nothing is expanded (the
        // usual case for a long story), this is a count of the roots, not a walk.
        if expanded.is_empty() || path.len() >= MAX_DEPTH {
            return lines.count();
        }
        let mut n = 0;
        for (k, i) in lines.enumerate() {
            n += 1;
            path.push(k);
            if expanded.contains(path.as_slice()) && path.len() < MAX_DEPTH {
                n += go(story, story.children(i), path, expanded);
            }
            path.pop();
        }
        n
    }
    if expanded.is_empty() {
        return story.root_count();
    }
    go(story, story.roots(), &mut Vec::new(), expanded)
}

/// Which side a line of a followed stream belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
    /// A hole in reassembly.
    Gap,
    /// A line the TUI added (truncation notice).
    Note,
}

/// One display line of a followed stream, already escaped for the terminal.
#[derive(Clone, Debug, PartialEq)]
pub struct FollowLine {
    pub side: Side,
    /// Frame number of the packet that started this turn (0 for gaps and notes).
    pub packet: u64,
    pub text: String,
}

/// Longest text chunk per display line; longer lines wrap into several.
const TEXT_CHUNK: usize = 256;

/// The lines of a conversation in text or hex form, at most `max_lines` (a note line
/// says when the rest was cut, so a huge stream cannot exhaust memory).
pub fn follow_lines(turns: &[Turn], hex: bool, max_lines: usize) -> Vec<FollowLine> {
    let mut out = Vec::new();
    let mut offsets = [0u64; 2];
    for t in turns {
        if out.len() >= max_lines {
            out.truncate(max_lines);
            out.push(FollowLine {
                side: Side::Note,
                packet: 0,
                text: format!("[stream cut after {max_lines} lines]"),
            });
            return out;
        }
        match t {
            Turn::Gap { c2s, len } => {
                offsets[usize::from(!*c2s)] += len;
                out.push(FollowLine {
                    side: Side::Gap,
                    packet: 0,
                    text: format!(
                        "[{len} bytes missing from the {} (not captured)]",
                        if *c2s { "client" } else { "server" }
                    ),
                });
            }
            Turn::Data {
                c2s,
                first_packet,
                bytes,
                ..
            } => {
                let side = if *c2s { Side::Client } else { Side::Server };
                let off = &mut offsets[usize::from(!*c2s)];
                let room = max_lines.saturating_sub(out.len()) + 1;
                if hex {
                    for (i, chunk) in bytes.chunks(16).take(room).enumerate() {
                        out.push(FollowLine {
                            side,
                            packet: *first_packet,
                            text: hex_line(*off + i as u64 * 16, chunk),
                        });
                    }
                } else {
                    let mut n = 0;
                    for line in text_lines(bytes) {
                        // `chunks` yields nothing for an empty line; keep blank lines.
                        let empty: &[&[u8]] = &[b""];
                        let pieces: Box<dyn Iterator<Item = &[u8]>> = if line.is_empty() {
                            Box::new(empty.iter().copied())
                        } else {
                            Box::new(line.chunks(TEXT_CHUNK))
                        };
                        for chunk in pieces {
                            if n >= room {
                                break;
                            }
                            out.push(FollowLine {
                                side,
                                packet: *first_packet,
                                text: escape_bytes(chunk),
                            });
                            n += 1;
                        }
                    }
                }
                *off += bytes.len() as u64;
            }
        }
    }
    if out.len() > max_lines {
        out.truncate(max_lines);
        out.push(FollowLine {
            side: Side::Note,
            packet: 0,
            text: format!("[stream cut after {max_lines} lines]"),
        });
    }
    out
}

/// Splits on `\n`, dropping the `\r` of a CRLF and a final empty line.
fn text_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let trimmed = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    trimmed
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(move |_| !bytes.is_empty())
}

/// Escapes arbitrary text for display (convenience for views).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_escaped_bytes(&mut out, s.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(label: &str, kids: Vec<FieldNode>) -> FieldNode {
        FieldNode {
            label: label.into(),
            range: 0..1,
            children: kids,
        }
    }

    #[test]
    fn tree_shows_children_only_when_expanded() {
        let roots = vec![
            node(
                "a",
                vec![node("a0", vec![node("a00", vec![])]), node("a1", vec![])],
            ),
            node("b", vec![]),
        ];
        let mut exp = HashSet::new();
        let labels = |exp: &HashSet<Vec<usize>>| {
            tree_lines(&roots, exp)
                .iter()
                .map(|l| l.node.label.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(labels(&exp), ["a", "b"]);
        assert_eq!(tree_len(&roots, &exp), 2);
        exp.insert(vec![0]);
        assert_eq!(tree_len(&roots, &exp), 4);
        assert_eq!(labels(&exp), ["a", "a0", "a1", "b"]);
        exp.insert(vec![0, 0]);
        assert_eq!(labels(&exp), ["a", "a0", "a00", "a1", "b"]);
        assert_eq!(tree_len(&roots, &exp), 5);
        exp.remove(&vec![0]);
        assert_eq!(tree_len(&roots, &exp), 2);
        assert_eq!(
            labels(&exp),
            ["a", "b"],
            "collapsing a parent hides grandchildren"
        );
        let lines = tree_lines(&roots, &exp);
        assert!(lines[0].has_children && !lines[1].has_children);
    }

    #[test]
    fn story_shows_children_only_when_expanded() {
        use crate::source::StoryItem;
        let it = |t: &str, kids: Vec<StoryItem>| StoryItem {
            text: t.into(),
            conn: None,
            children: kids,
        };
        let story = Story::from_items(&[
            it(
                "a",
                vec![it("a0", vec![it("a00", vec![])]), it("a1", vec![])],
            ),
            it("b", vec![]),
        ]);
        let mut exp = HashSet::new();
        let labels = |exp: &HashSet<Vec<usize>>| {
            story_lines(&story, exp)
                .iter()
                .map(|l| story.line_text(l.node))
                .collect::<Vec<_>>()
        };
        assert_eq!(labels(&exp), ["a", "b"]);
        assert_eq!(story_len(&story, &exp), 2);
        exp.insert(vec![0]);
        assert_eq!(labels(&exp), ["a", "a0", "a1", "b"]);
        assert_eq!(story_len(&story, &exp), 4);
        exp.insert(vec![0, 0]);
        assert_eq!(labels(&exp), ["a", "a0", "a00", "a1", "b"]);
        assert_eq!(story_len(&story, &exp), 5);
        exp.remove(&vec![0]);
        assert_eq!(labels(&exp), ["a", "b"]);
        assert_eq!(story_len(&story, &exp), 2);
        let lines = story_lines(&story, &exp);
        assert!(lines[0].has_children && !lines[1].has_children);
        assert_eq!(lines[1].path, [1]);
    }

    #[test]
    fn follow_text_escapes_and_marks_gaps() {
        let turns = vec![
            Turn::Data {
                c2s: true,
                first_packet: 4,
                ts_rel: 0.0,
                bytes: b"GET / HTTP/1.1\r\nX: \x1b[31m\r\n\r\n".to_vec(),
            },
            Turn::Gap {
                c2s: false,
                len: 1448,
            },
            Turn::Data {
                c2s: false,
                first_packet: 9,
                ts_rel: 0.1,
                bytes: b"body\xff".to_vec(),
            },
        ];
        let lines = follow_lines(&turns, false, 1000);
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "GET / HTTP/1.1",
                "X: \\x1b[31m",
                "",
                "[1448 bytes missing from the server (not captured)]",
                "body\\xff"
            ]
        );
        assert_eq!(lines[0].side, Side::Client);
        assert_eq!(lines[3].side, Side::Gap);
        assert_eq!(lines[4].packet, 9);
    }

    #[test]
    fn follow_hex_keeps_offsets_per_side_across_gaps() {
        let turns = vec![
            Turn::Data {
                c2s: false,
                first_packet: 1,
                ts_rel: 0.0,
                bytes: vec![0x41; 20],
            },
            Turn::Gap {
                c2s: false,
                len: 12,
            },
            Turn::Data {
                c2s: false,
                first_packet: 2,
                ts_rel: 0.0,
                bytes: vec![0x1b, 0x42],
            },
        ];
        let lines = follow_lines(&turns, true, 1000);
        assert_eq!(lines.len(), 4);
        assert!(lines[0].text.starts_with("00000000  41 41"));
        assert!(lines[1].text.starts_with("00000010  41 41 41 41 "));
        assert!(
            lines[3].text.starts_with("00000020  1b 42 "),
            "{}",
            lines[3].text
        );
        assert!(lines[3].text.ends_with(" .B"));
    }

    #[test]
    fn follow_is_bounded() {
        let turns = vec![Turn::Data {
            c2s: true,
            first_packet: 1,
            ts_rel: 0.0,
            bytes: b"a\n".repeat(10_000),
        }];
        let lines = follow_lines(&turns, false, 100);
        assert_eq!(lines.len(), 101);
        assert_eq!(lines[100].side, Side::Note);
        let lines = follow_lines(&turns, true, 100);
        assert_eq!(lines.len(), 101);
    }

    proptest::proptest! {
        /// Arbitrary bytes in arbitrary turns: bounded output, nothing unescaped.
        #[test]
        fn follow_lines_are_bounded_and_safe(
            turns in proptest::collection::vec(
                (proptest::bool::ANY, proptest::collection::vec(proptest::num::u8::ANY, 0..600), 0u64..5000),
                0..8,
            ),
            hex in proptest::bool::ANY,
            max in 0usize..50,
        ) {
            let turns: Vec<Turn> = turns
                .into_iter()
                .map(|(c2s, bytes, gap)| if gap % 7 == 0 {
                    Turn::Gap { c2s, len: gap }
                } else {
                    Turn::Data { c2s, first_packet: gap, ts_rel: 0.0, bytes }
                })
                .collect();
            let lines = follow_lines(&turns, hex, max);
            proptest::prop_assert!(lines.len() <= max + 1);
            for l in &lines {
                proptest::prop_assert!(!l.text.chars().any(|c| c.is_control() || wiretale_engine::base::escape::is_unsafe_char(c)));
            }
        }
    }
}
