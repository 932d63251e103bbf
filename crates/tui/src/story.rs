//! The story as the TUI holds it: every line's text in the engine's compressed record
//! list ([`Packed`]: zstd blocks of 16 KiB) and a fixed-size record per line, in tree
//! order (each line before the lines under it), rather than a tree of items with a
//! `String` and a `Vec` each.
//!
//! On manyflows.pcap the story has 1.27 M lines and 132 MB of text: as `StoryItem`s (a
//! 56-byte item, a text allocation and a children list each) they took ~220 MB; the
//! text alone, plain, 124 MB. Compressed in blocks (about 8 to 1: the lines repeat their
//! words) it takes ~15 MB, plus 8 bytes a line (its connection and where its subtree
//! ends). A line's text is found from its index alone, so the line records need no text
//! offsets (16 bytes a line with them: ~160 MB of a 5 GB capture's ~10 M lines, the
//! largest list the TUI held there). A view draws a screenful of lines, read from the
//! few blocks they lie in (the list keeps the last blocks it decoded). The
//! views walk the tree by line index ([`Story::roots`], [`Story::children`]);
//! [`crate::flatten::story_lines`] turns it into the visible lines with the same
//! expansion keys (child-index paths) as any tree.

use serde::{Deserialize, Serialize};
use wiretale_engine::base::packed::Packed;

use crate::source::StoryItem;

/// `StoryLine::conn` of a line with no connection (connection ids are positions in the
/// engine's connection list and never reach it).
const NO_CONN: u32 = u32::MAX;

/// A story: lines of text, each with the connection it tells of, in a tree (a page,
/// its events, each event's phase line).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Story {
    /// Line `i`'s text is record `i`.
    texts: Packed<String>,
    lines: Vec<StoryLine>,
    /// Top-level lines, and those with lines under them (see
    /// [`Story::count_stories`]), counted once.
    roots: usize,
    stories: usize,
}

/// Stories are equal when their lines are: the same records and the same texts (the
/// blocks they are held in are not compared).
impl PartialEq for Story {
    fn eq(&self, other: &Story) -> bool {
        self.lines == other.lines
            && self.roots == other.roots
            && self.stories == other.stories
            && self.texts.len() == other.texts.len()
            && self.texts.iter().eq(other.texts.iter())
    }
}

/// One line of a [`Story`]: its connection, and where the lines under it end (the index
/// just past its subtree). Its text is the story's text record of the same index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoryLine {
    conn: u32,
    end: u32,
}

impl StoryLine {
    /// The connection the line tells of, which Enter opens.
    pub fn conn(&self) -> Option<u32> {
        (self.conn != NO_CONN).then_some(self.conn)
    }
}

impl Story {
    /// Lines in all (at every depth).
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Line `i`'s record (`None` past the end).
    pub fn line(&self, i: usize) -> Option<&StoryLine> {
        self.lines.get(i)
    }

    /// Line `i`'s text ("" past the end).
    pub fn text(&self, i: usize) -> String {
        self.texts.get(i).unwrap_or_default()
    }

    /// A line's text, by its record (a reference into this story's lines, as
    /// [`Story::line`] gave it). The record holds no index: its place in `lines` is
    /// found from its address (safe arithmetic on addresses, checked to be this very
    /// record).
    pub fn line_text(&self, l: &StoryLine) -> String {
        let size = std::mem::size_of::<StoryLine>();
        let offset = (l as *const StoryLine as usize).wrapping_sub(self.lines.as_ptr() as usize);
        let i = offset / size;
        match self.lines.get(i) {
            Some(x) if offset.is_multiple_of(size) && std::ptr::eq(x, l) => self.text(i),
            _ => String::new(),
        }
    }

    /// Line `i`'s connection.
    pub fn conn(&self, i: usize) -> Option<u32> {
        self.line(i).and_then(StoryLine::conn)
    }

    /// The top-level lines' indices.
    pub fn roots(&self) -> Siblings<'_> {
        Siblings {
            story: self,
            at: 0,
            end: self.lines.len(),
        }
    }

    /// The indices of the lines directly under line `i`.
    pub fn children(&self, i: usize) -> Siblings<'_> {
        let end = self.lines.get(i).map_or(i, |l| l.end as usize);
        Siblings {
            story: self,
            at: i + 1,
            end,
        }
    }

    /// True when line `i` has lines under it.
    pub fn has_children(&self, i: usize) -> bool {
        self.lines.get(i).is_some_and(|l| l.end as usize > i + 1)
    }

    /// How many top-level lines there are.
    pub fn root_count(&self) -> usize {
        self.roots
    }

    /// How many stories the list holds: the top-level lines with events under them
    /// (not the closing count line, nor an event outside any story).
    pub fn count_stories(&self) -> usize {
        self.stories
    }

    /// The story limited to connection `c`: a top-level line of `c` with everything
    /// under it; another top-level line only when lines of `c` are directly under it,
    /// with those lines (and theirs) alone.
    pub fn focus(&self, c: u32) -> Story {
        let mut b = StoryBuilder::default();
        for r in self.roots() {
            if self.conn(r) == Some(c) {
                self.copy(r, 0, &mut b);
                continue;
            }
            let mut kids = self.children(r).filter(|&k| self.conn(k) == Some(c));
            if let Some(first) = kids.next() {
                b.push(&self.text(r), self.conn(r), 0);
                for k in std::iter::once(first).chain(kids) {
                    self.copy(k, 1, &mut b);
                }
            }
        }
        b.finish()
    }

    /// Line `i` and the lines under it into `b`, `i` at `depth`.
    fn copy(&self, i: usize, depth: usize, b: &mut StoryBuilder) {
        b.push(&self.text(i), self.conn(i), depth);
        for k in self.children(i) {
            self.copy(k, depth + 1, b);
        }
    }

    /// The story of a tree of items (the test source builds its story so).
    pub fn from_items(items: &[StoryItem]) -> Story {
        fn go(items: &[StoryItem], depth: usize, b: &mut StoryBuilder) {
            for it in items {
                b.push(&it.text, it.conn, depth);
                go(&it.children, depth + 1, b);
            }
        }
        let mut b = StoryBuilder::default();
        go(items, 0, &mut b);
        b.finish()
    }

    /// The story as a tree of items (tests compare and search stories so).
    pub fn to_items(&self) -> Vec<StoryItem> {
        fn go(s: &Story, sibs: Siblings<'_>) -> Vec<StoryItem> {
            sibs.map(|i| StoryItem {
                text: s.text(i),
                conn: s.conn(i),
                children: go(s, s.children(i)),
            })
            .collect()
        }
        go(self, self.roots())
    }
}

/// Indices of sibling lines (the roots, or the lines directly under one line).
#[derive(Clone, Debug)]
pub struct Siblings<'a> {
    story: &'a Story,
    at: usize,
    end: usize,
}

impl Iterator for Siblings<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.at >= self.end {
            return None;
        }
        let i = self.at;
        // A line's `end` is past its own subtree, so it is where its next sibling is.
        self.at = self
            .story
            .lines
            .get(i)
            .map_or(self.end, |l| (l.end as usize).max(i + 1));
        Some(i)
    }
}

/// Builds a [`Story`] line by line in tree order, each line given with its depth; the
/// text is compressed a block at a time as it comes, so it is never held whole.
#[derive(Default)]
pub struct StoryBuilder {
    story: Story,
    /// The lines whose subtrees are still open, outermost first.
    open: Vec<usize>,
}

impl StoryBuilder {
    /// Adds a line at `depth` (0: top level), under the last line of depth `depth - 1`.
    /// A depth deeper than one below the last line is taken as one below it.
    pub fn push(&mut self, text: &str, conn: Option<u32>, depth: usize) {
        self.close_to(depth.min(self.open.len()));
        self.open.push(self.story.lines.len());
        self.story.lines.push(StoryLine {
            conn: conn.unwrap_or(NO_CONN),
            end: 0,
        });
        self.story.texts.push(text);
    }

    /// Closes the open lines deeper than `depth` (their subtrees end here).
    fn close_to(&mut self, depth: usize) {
        let here = u32::try_from(self.story.lines.len()).unwrap_or(u32::MAX);
        while self.open.len() > depth {
            if let Some(l) = self.open.pop().and_then(|i| self.story.lines.get_mut(i)) {
                l.end = here;
            }
        }
    }

    /// The story, its buffers of their exact size.
    pub fn finish(mut self) -> Story {
        self.close_to(0);
        let mut s = self.story;
        s.roots = s.roots().count();
        s.stories = s.roots().filter(|&r| s.has_children(r)).count();
        s.texts.shrink_to_fit();
        s.lines.shrink_to_fit();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(text: &str, conn: Option<u32>, children: Vec<StoryItem>) -> StoryItem {
        StoryItem {
            text: text.into(),
            conn,
            children,
        }
    }

    fn sample() -> Vec<StoryItem> {
        vec![
            item(
                "page 1",
                Some(1),
                vec![
                    item("conn 1", Some(1), vec![item("phases 1", Some(1), vec![])]),
                    item("conn 2", Some(2), vec![]),
                ],
            ),
            item(
                "page 2",
                Some(3),
                vec![item("conn 2 again", Some(2), vec![])],
            ),
            item("3 pages", None, vec![]),
        ]
    }

    #[test]
    fn items_round_trip_and_walk_by_index() {
        let items = sample();
        let s = Story::from_items(&items);
        assert_eq!(s.to_items(), items);
        assert_eq!(s.len(), 7);
        assert_eq!(s.roots().collect::<Vec<_>>(), [0, 4, 6]);
        assert_eq!(s.children(0).collect::<Vec<_>>(), [1, 3]);
        assert_eq!(s.children(1).collect::<Vec<_>>(), [2]);
        assert_eq!(s.children(6).count(), 0);
        assert_eq!(s.text(2), "phases 1");
        assert_eq!(s.line_text(s.line(3).unwrap()), "conn 2");
        assert_eq!(s.conn(6), None);
        assert_eq!(s.count_stories(), 2, "the closing line is no story");
        assert_eq!(s.root_count(), 3);
        assert!(Story::from_items(&[]).is_empty());
    }

    #[test]
    fn focus_keeps_the_connections_lines() {
        let s = Story::from_items(&sample());
        let f = s.focus(2).to_items();
        assert_eq!(
            f,
            [
                item("page 1", Some(1), vec![item("conn 2", Some(2), vec![])]),
                item(
                    "page 2",
                    Some(3),
                    vec![item("conn 2 again", Some(2), vec![])]
                ),
            ]
        );
        let f = s.focus(1).to_items();
        assert_eq!(f, sample()[..1], "a page of the connection is kept whole");
        assert!(s.focus(9).is_empty());
    }

    /// Many blocks: every line reads back whole, empty lines included, at block
    /// boundaries too (20,000 lines: ~20 blocks).
    #[test]
    fn lines_read_back_across_blocks() {
        let mut b = StoryBuilder::default();
        let mut want = Vec::new();
        for i in 0..20_000u32 {
            let t = match i % 7 {
                0 => String::new(),
                k => format!("line {i} {}", "é".repeat(k as usize)),
            };
            b.push(&t, Some(i), (i % 3) as usize);
            want.push(t);
        }
        let s = b.finish();
        for (i, t) in want.iter().enumerate() {
            assert_eq!(&s.text(i), t, "line {i}");
            assert_eq!(&s.line_text(s.line(i).unwrap()), t, "line {i} by record");
            assert_eq!(s.conn(i), Some(i as u32));
        }
        assert_eq!(s.text(want.len()), "");
        let other = Story::from_items(&sample());
        assert_eq!(
            s.line_text(other.line(0).unwrap()),
            "",
            "another story's record"
        );
    }
}
