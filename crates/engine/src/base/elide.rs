//! Long values, one rule everywhere: a TXT record of kilobytes, a 300-character URI or
//! forty addresses are shortened with "…" and a count of what was left out, so a reader
//! knows something is missing and how much. Text output and the TUI use these; `--json`
//! never does (it keeps full values).
//!
//! Widths are counted in terminal columns (`unicode-width`), not bytes, so a cut never
//! splits a character and wide characters are not undercounted.

use std::borrow::Cow;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// How many items of a list text output shows before eliding the rest.
pub const LIST_ITEMS: usize = 8;
/// How many columns of one long value (a URI, a TXT string) text output shows.
pub const VALUE_COLUMNS: usize = 120;
/// Longest line written when standard output is not a terminal (unless `--wide`).
pub const PIPE_COLUMNS: usize = 200;

/// Display width of `s` in terminal columns.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Does `s` take at most `columns` columns? No character is wider than its UTF-8
/// bytes (a wide one takes 2 columns and 3 or 4 bytes; see the tests), so a string of
/// at most `columns` bytes fits without measuring: the common case of every line
/// printed.
fn fits(s: &str, columns: usize) -> bool {
    s.len() <= columns || width(s) <= columns
}

/// Joins at most `max` items with `sep`; more are summarised as `… (+N more)`.
///
/// `list(["a","b","c"], ", ", 2)` is `"a, b, … (+1 more)"`.
pub fn list<I, S>(items: I, sep: &str, max: usize) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out = String::new();
    let mut extra = 0usize;
    for (i, item) in items.into_iter().enumerate() {
        if i >= max {
            extra += 1;
            continue;
        }
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(item.as_ref());
    }
    if extra > 0 {
        if !out.is_empty() {
            out.push_str(sep);
        }
        out.push_str(&format!("… (+{} more)", thousands(extra)));
    }
    out
}

/// Shortens one value to about `max` columns: the start of it, `…`, and how many
/// characters were left out (`/a/very/long/path… (+212 chars)`). Short values are
/// returned as they are.
pub fn value(s: &str, max: usize) -> Cow<'_, str> {
    if fits(s, max) {
        return Cow::Borrowed(s);
    }
    let kept = prefix_columns(s, max.saturating_sub(1));
    let left = s[kept.len()..].chars().count();
    Cow::Owned(format!("{kept}… (+{} chars)", thousands(left)))
}

/// Narrowest room in which [`within`] still says how much it left out; below it a plain
/// `…` is all that fits usefully.
pub const COUNT_ROOM: usize = 30;

/// Like [`value`] but the result, count included, fits `columns`: a table cell or the
/// rest of a line (`/csi?v=3&s=webhp… (+173 chars)`). In fewer than [`COUNT_ROOM`]
/// columns it is a plain cut with `…` ([`fit`]).
pub fn within(s: &str, columns: usize) -> Cow<'_, str> {
    if fits(s, columns) {
        return Cow::Borrowed(s);
    }
    if columns < COUNT_ROOM {
        return fit(s, columns);
    }
    let total = s.chars().count();
    // The count's own width depends on how much is left out: start from the widest.
    let mut suffix = format!("… (+{} chars)", thousands(total));
    loop {
        let kept = prefix_columns(s, columns.saturating_sub(width(&suffix)));
        let next = format!("… (+{} chars)", thousands(s[kept.len()..].chars().count()));
        if next == suffix || width(&next) >= width(&suffix) {
            let kept = prefix_columns(s, columns.saturating_sub(width(&next)));
            let left = s[kept.len()..].chars().count();
            return Cow::Owned(format!("{kept}… (+{} chars)", thousands(left)));
        }
        suffix = next;
    }
}

/// Cuts a whole line to `columns`, ending it with `…` when anything was cut. Used for
/// the final fit to the terminal; values inside the line are elided first with
/// [`list`] and [`value`], so this cut rarely hides anything that matters.
pub fn fit(line: &str, columns: usize) -> Cow<'_, str> {
    if fits(line, columns) {
        return Cow::Borrowed(line);
    }
    let kept = prefix_columns(line, columns.saturating_sub(1));
    Cow::Owned(format!("{kept}…"))
}

/// The longest prefix of `s` that fits in `columns` terminal columns (for callers that
/// add their own `…`, e.g. a line of several styled pieces).
pub fn prefix(s: &str, columns: usize) -> &str {
    prefix_columns(s, columns)
}

/// The longest prefix of `s` that fits in `columns` terminal columns.
fn prefix_columns(s: &str, columns: usize) -> &str {
    let mut used = 0usize;
    for (i, c) in s.char_indices() {
        let w = UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > columns {
            return &s[..i];
        }
        used += w;
    }
    s
}

/// Shortens `s` to `columns` keeping its start and its end around `…`, for values whose
/// end matters as much as their start: an endpoint keeps its port
/// (`2001:db8:…:0:1]:443`), a DNS name its domain (`www.…example.com`).
pub fn middle(s: &str, columns: usize) -> Cow<'_, str> {
    if fits(s, columns) {
        return Cow::Borrowed(s);
    }
    if columns == 0 {
        return Cow::Borrowed("");
    }
    let keep = columns - 1;
    let tail_cols = keep / 2;
    let head = prefix_columns(s, keep - tail_cols);
    let tail = suffix_columns(s, tail_cols);
    Cow::Owned(format!("{head}…{tail}"))
}

/// Elides every word (space-separated) longer than `word` columns with [`value`], then
/// the whole text to `total` columns: a packet's Info keeps its shape
/// (`GET /a/very/long/pa… (+212 chars) HTTP/1.1`) and a response listing forty
/// addresses says how much of it was left out.
pub fn words(s: &str, word: usize, total: usize) -> Cow<'_, str> {
    let mut text = Cow::Borrowed(s);
    if s.split(' ').any(|w| width(w) > word) {
        let parts: Vec<Cow<'_, str>> = s.split(' ').map(|w| value(w, word)).collect();
        text = Cow::Owned(parts.join(" "));
    }
    if width(&text) <= total {
        return text;
    }
    Cow::Owned(within(&text, total).into_owned())
}

/// Splits one line into pieces of at most `columns` columns (at character boundaries),
/// for text where every byte matters (a followed conversation): wrapped, never cut.
pub fn wrap(line: &str, columns: usize) -> Vec<&str> {
    let columns = columns.max(1);
    let mut out = Vec::new();
    let mut rest = line;
    while width(rest) > columns {
        let mut head = prefix_columns(rest, columns);
        if head.is_empty() {
            // One character wider than the whole line: give it a line of its own.
            let n = rest.chars().next().map_or(rest.len(), char::len_utf8);
            head = &rest[..n];
        }
        out.push(head);
        rest = &rest[head.len()..];
    }
    if !rest.is_empty() || out.is_empty() {
        out.push(rest);
    }
    out
}

/// The longest suffix of `s` that fits in `columns` terminal columns.
fn suffix_columns(s: &str, columns: usize) -> &str {
    let mut used = 0usize;
    for (i, c) in s.char_indices().rev() {
        let w = UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > columns {
            return &s[i + c.len_utf8()..];
        }
        used += w;
    }
    s
}

/// How a table cell wider than its column is shortened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// Keep the start: `text/html; cha…`.
    End,
    /// Keep start and end: endpoints (the port) and DNS names (the domain).
    Middle,
    /// A list joined with `", "` (as [`list`] makes it): whole items are left out and
    /// counted (`A 198.18.1.1, A 198.18.1.2, … (+38 more)`), see [`list_within`].
    List,
    /// Never shortened (ids, numbers): a wider cell pushes the rest of its line right
    /// and the next columns take the shift back where they have room.
    Never,
}

/// One column of a [`Table`].
#[derive(Clone, Debug)]
pub struct Col {
    pub title: &'static str,
    /// Right-aligned (numbers).
    pub right: bool,
    pub cut: Cut,
    /// Narrowest this column is made before the line is allowed past the width.
    pub min: usize,
    /// 0: always shown. Otherwise, when the line cannot fit the width, columns are left
    /// out highest rank first (`--wide` and `--json` keep every column).
    pub drop: u8,
}

impl Col {
    /// A left-aligned text column.
    pub fn text(title: &'static str, cut: Cut, min: usize) -> Col {
        Col {
            title,
            right: false,
            cut,
            min,
            drop: 0,
        }
    }

    /// A right-aligned number column (never cut).
    pub fn num(title: &'static str) -> Col {
        Col {
            title,
            right: true,
            cut: Cut::Never,
            min: 0,
            drop: 0,
        }
    }

    /// The same column, left out at narrow widths with this rank (higher goes first).
    pub fn drops(mut self, rank: u8) -> Col {
        self.drop = rank;
        self
    }
}

/// Rows looked at before the column widths are chosen.
pub const LOOK_AHEAD: usize = 64;

/// A text table whose column widths follow the content and the line width: rows are
/// streamed, so widths are chosen from the first [`LOOK_AHEAD`] rows (or all of them
/// when there are fewer), then kept. A later, wider cell is shortened with `…` by its
/// column's [`Cut`] rule (numbers are never cut; they push the line instead). The last
/// column takes what is left of the width. Cells must be escaped text on one line.
pub struct Table {
    cols: Vec<Col>,
    columns: usize,
    ahead: Vec<Vec<String>>,
    /// Chosen widths; `None` for a column left out.
    widths: Option<Vec<Option<usize>>>,
}

impl Table {
    /// A table for lines of at most `columns` columns.
    pub fn new(cols: Vec<Col>, columns: usize) -> Table {
        Table {
            cols,
            columns,
            ahead: Vec::new(),
            widths: None,
        }
    }

    /// Adds a row; returns the lines ready to print (the header and the rows held so
    /// far once the widths are chosen, else nothing yet).
    pub fn row(&mut self, cells: Vec<String>) -> Vec<String> {
        if self.widths.is_some() {
            return vec![self.render_row(&cells)];
        }
        self.ahead.push(cells);
        if self.ahead.len() < LOOK_AHEAD {
            return Vec::new();
        }
        self.release()
    }

    /// The lines still held (at least the header, even for a table without rows).
    pub fn finish(&mut self) -> Vec<String> {
        if self.widths.is_some() {
            return Vec::new();
        }
        self.release()
    }

    fn release(&mut self) -> Vec<String> {
        self.widths = Some(self.choose());
        let titles: Vec<String> = self.cols.iter().map(|c| c.title.to_string()).collect();
        let mut out = vec![self.render_row(&titles)];
        let ahead = std::mem::take(&mut self.ahead);
        out.extend(ahead.iter().map(|r| self.render_row(r)));
        out
    }

    /// Natural widths from the titles and the rows looked at; then columns are left
    /// out by rank, then shortened toward their minimum (widest first) until the line
    /// fits, the last column keeping at least its minimum.
    fn choose(&self) -> Vec<Option<usize>> {
        let n = self.cols.len();
        let last = n.saturating_sub(1);
        // A text column other than the last takes at most a third of the line, so one
        // long URI does not push every row's numbers off to the right.
        let cap = (self.columns / 3).max(1);
        let mut w: Vec<Option<usize>> = (0..n)
            .map(|i| {
                let c = &self.cols[i];
                let cells = self.ahead.iter().filter_map(|r| r.get(i)).map(|c| width(c));
                let natural = cells.fold(width(c.title), usize::max);
                Some(if i != last && c.cut != Cut::Never {
                    natural.min(cap.max(c.min).max(width(c.title)))
                } else {
                    natural
                })
            })
            .collect();
        let total = |w: &[Option<usize>]| -> usize {
            let shown: Vec<usize> = (0..n)
                .filter_map(|i| w[i].map(|x| (i, x)))
                .map(|(i, x)| {
                    if i == last {
                        x.min(self.cols[i].min)
                    } else {
                        x
                    }
                })
                .collect();
            shown.iter().sum::<usize>() + shown.len().saturating_sub(1)
        };
        while total(&w) > self.columns {
            let victim = (0..n)
                .filter(|&i| w[i].is_some() && self.cols[i].drop > 0)
                .max_by_key(|&i| (self.cols[i].drop, i));
            match victim {
                Some(i) => w[i] = None,
                None => break,
            }
        }
        while total(&w) > self.columns {
            let victim = (0..last)
                .filter(|&i| self.cols[i].cut != Cut::Never)
                .filter_map(|i| w[i].map(|x| (i, x.saturating_sub(self.cols[i].min))))
                .filter(|&(_, room)| room > 0)
                .max_by_key(|&(i, room)| (room, std::cmp::Reverse(i)));
            match victim {
                Some((i, _)) => w[i] = w[i].map(|x| x - 1),
                None => break,
            }
        }
        w
    }

    fn render_row(&self, cells: &[String]) -> String {
        let widths = self.widths.as_deref().unwrap_or(&[]);
        let last = widths.iter().rposition(Option::is_some);
        let mut line = String::new();
        // Where the next column starts, and how far the line has got (past it when a
        // number overflowed its column).
        let mut start = 0usize;
        let mut pos = 0usize;
        for (i, (col, w)) in self.cols.iter().zip(widths).enumerate() {
            let Some(w) = *w else { continue };
            if pos > 0 {
                line.push(' ');
                pos += 1;
                start += 1;
            }
            let cell = cells.get(i).map_or("", String::as_str);
            if Some(i) == last {
                let room = self.columns.saturating_sub(pos).max(1);
                line.push_str(&cut(col.cut, cell, room));
                break;
            }
            let text = cut(col.cut, cell, w);
            let tw = width(&text);
            // Room up to this column's right edge (less when an earlier cell overflowed).
            let room = (start + w).saturating_sub(pos);
            let pad = room.saturating_sub(tw);
            if col.right {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(&text);
            } else {
                line.push_str(&text);
                line.extend(std::iter::repeat_n(' ', pad));
            }
            pos += pad + tw;
            start += w;
        }
        let keep = line.trim_end().len();
        line.truncate(keep);
        line
    }
}

fn cut(how: Cut, s: &str, columns: usize) -> Cow<'_, str> {
    match how {
        Cut::End => within(s, columns),
        Cut::Middle => middle(s, columns),
        Cut::List => list_within(s, columns),
        Cut::Never => Cow::Borrowed(s),
    }
}

/// A list made by [`list`] (items joined with `", "`, maybe ending in `… (+N more)`)
/// shortened to `columns` by leaving out whole items and counting them; a list whose
/// first item does not fit is cut like a value ([`within`]).
pub fn list_within(s: &str, columns: usize) -> Cow<'_, str> {
    if width(s) <= columns {
        return Cow::Borrowed(s);
    }
    let mut items: Vec<&str> = s.split(", ").collect();
    let mut more = 0usize;
    if let Some(n) = items
        .last()
        .and_then(|l| l.strip_prefix("… (+"))
        .and_then(|l| l.strip_suffix(" more)"))
        .and_then(|n| n.replace(',', "").parse::<usize>().ok())
    {
        more = n;
        items.pop();
    }
    for keep in (1..items.len()).rev() {
        let hidden = more + items.len() - keep;
        let text = format!(
            "{}, … (+{} more)",
            items[..keep].join(", "),
            thousands(hidden)
        );
        if width(&text) <= columns {
            return Cow::Owned(text);
        }
    }
    within(s, columns)
}

/// `12345` → `"12,345"`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`fits`] relies on: no character, alone or after any other, is wider than
    /// its bytes, so `width(s) <= s.len()` for every string.
    #[test]
    fn no_character_is_wider_than_its_bytes() {
        let mut wide = 0;
        for c in (0..=0x10_ffff_u32).filter_map(char::from_u32) {
            let one = c.to_string();
            assert!(width(&one) <= one.len(), "{c:?}");
            wide += usize::from(width(&one) == 2);
            // After text, and before the joiners and selectors that widen a sequence.
            for s in [
                format!("a{c}"),
                format!("{c}\u{fe0f}"),
                format!("{c}\u{200d}{c}"),
                format!("{c}{c}"),
            ] {
                assert!(width(&s) <= s.len(), "{s:?}");
            }
        }
        assert!(wide > 1000, "wide characters were measured");
    }

    proptest::proptest! {
        /// The fast answer of `fits` is the measured one, and every elision gives what
        /// measuring alone gives.
        #[test]
        fn fitting_by_bytes_agrees_with_measuring(s in "\\PC{0,40}", cols in 0usize..60) {
            proptest::prop_assert!(width(&s) <= s.len());
            proptest::prop_assert_eq!(fits(&s, cols), width(&s) <= cols);
        }
    }

    #[test]
    fn lists_keep_the_first_items_and_count_the_rest() {
        let addrs: Vec<String> = (1..=40).map(|i| format!("198.18.0.{i}")).collect();
        let s = list(&addrs, ", ", 3);
        assert_eq!(s, "198.18.0.1, 198.18.0.2, 198.18.0.3, … (+37 more)");
        assert_eq!(list(["a", "b"], ", ", 3), "a, b");
        assert_eq!(list(Vec::<&str>::new(), ", ", 3), "");
        assert_eq!(list(["a", "b"], ", ", 0), "… (+2 more)");
    }

    #[test]
    fn values_are_cut_at_a_character_and_say_how_much_is_missing() {
        let uri = format!("/{}", "é".repeat(300));
        let v = value(&uri, 20);
        assert!(v.starts_with("/ééé"));
        assert!(v.ends_with("… (+282 chars)"), "{v}");
        assert_eq!(value("/short", 20), "/short");
    }

    #[test]
    fn lines_fit_their_columns_with_wide_characters_counted() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
        // Each CJK character takes two columns.
        let f = fit("名前名前名前", 5);
        assert_eq!(f, "名前…");
        assert!(width(&f) <= 5);
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(12), "12");
    }

    #[test]
    fn middles_keep_both_ends_and_words_keep_the_shape() {
        assert_eq!(middle("198.18.0.10:52106", 11), "198.1…52106");
        assert_eq!(width(&middle("198.18.0.10:52106", 11)), 11);
        assert_eq!(middle("short", 11), "short");
        let uri = format!("/{}", "a".repeat(299));
        let info = format!("GET {uri} HTTP/1.1");
        let w = words(&info, 20, 200);
        assert_eq!(w, "GET /aaaaaaaaaaaaaaaaaa… (+281 chars) HTTP/1.1");
        let many: Vec<String> = (1..=40).map(|i| format!("A 198.18.0.{i}")).collect();
        let resp = format!(
            "Standard query response 0x1234 A x.example {}",
            many.join(" ")
        );
        let w = words(&resp, 120, 60);
        assert!(w.ends_with(" chars)"), "{w}");
        assert!(w.contains('…'));
        assert_eq!(words("GET / HTTP/1.1", 20, 200), "GET / HTTP/1.1");
    }

    #[test]
    fn within_counts_what_it_leaves_out_and_fits() {
        let txt = format!("\"{}\"", "X".repeat(3000));
        for cols in [30, 41, 80, 120] {
            let w = within(&txt, cols);
            assert!(width(&w) <= cols, "{cols}: {w}");
            assert!(w.ends_with(" chars)"), "{w}");
            let kept = w.split('…').next().unwrap().chars().count();
            let left: usize = w
                .rsplit("(+")
                .next()
                .unwrap()
                .trim_end_matches(" chars)")
                .replace(',', "")
                .parse()
                .unwrap();
            assert_eq!(kept + left, 3002, "{w}");
        }
        assert_eq!(within(&txt, 10), "\"XXXXXXXX…");
        assert_eq!(within("short", 10), "short");
    }

    #[test]
    fn lists_in_a_cell_leave_out_whole_items() {
        let addrs: Vec<String> = (1..=40).map(|i| format!("A 198.18.1.{i}")).collect();
        let s = list(&addrs, ", ", LIST_ITEMS);
        let c = list_within(&s, 60);
        assert_eq!(c, "A 198.18.1.1, A 198.18.1.2, A 198.18.1.3, … (+37 more)");
        assert!(width(&c) <= 60);
        assert_eq!(list_within(&s, 500), s);
        // No room for one item: cut like a value.
        assert_eq!(list_within(&s, 8), "A 198.1…");
    }

    #[test]
    fn wrapping_keeps_every_character() {
        let s = "é".repeat(25);
        let parts = wrap(&s, 10);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts.concat(), s);
        assert!(parts.iter().all(|p| width(p) <= 10));
        assert_eq!(wrap("", 10), vec![""]);
        assert_eq!(wrap("名前", 1), vec!["名", "前"]);
    }

    fn conns_like(columns: usize) -> Table {
        Table::new(
            vec![
                Col::num("id"),
                Col::text("client", Cut::Middle, 12),
                Col::text("state", Cut::End, 2).drops(1),
                Col::num("bytes"),
                Col::text("name", Cut::Middle, 8),
            ],
            columns,
        )
    }

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn widths_follow_the_rows_looked_at() {
        let mut t = conns_like(80);
        assert!(t
            .row(row(&[
                "0",
                "198.18.0.10:52106",
                "SF",
                "188",
                "www.lab.example"
            ]))
            .is_empty());
        let lines = t.finish();
        assert_eq!(
            lines,
            vec![
                "id client            state bytes name",
                " 0 198.18.0.10:52106 SF      188 www.lab.example",
            ]
        );
        // Later rows: a wider number pushes its line; a wider address is cut with "…".
        let l = t.row(row(&["1234", "[2001:db8::10]:52106", "SF", "1", "x"]));
        assert_eq!(l, vec!["1234 [2001:db…0]:52106 SF      1 x"]);
        assert!(l[0].contains('…'));
    }

    #[test]
    fn narrow_widths_drop_ranked_columns_then_shorten_and_always_fit() {
        let mut t = conns_like(30);
        t.row(row(&[
            "7",
            "198.18.0.10:52106",
            "SF",
            "3377",
            "www.lab.example.com",
        ]));
        let lines = t.finish();
        assert_eq!(lines[0], "id client       bytes name");
        for l in &lines {
            assert!(width(l) <= 30, "{l:?} is {} wide", width(l));
        }
        assert_eq!(lines[1], " 7 198.18…52106  3377 www.…com");
        assert!(lines[1].contains('…'));
        // Look-ahead ends at LOOK_AHEAD rows: the header comes out with them.
        let mut t = conns_like(80);
        let mut out = Vec::new();
        for i in 0..LOOK_AHEAD {
            out.extend(t.row(row(&[&i.to_string(), "a:1", "SF", "1", "n"])));
        }
        assert_eq!(out.len(), LOOK_AHEAD + 1);
        assert!(t.finish().is_empty());
        // A table without rows still prints its header.
        assert_eq!(conns_like(80).finish(), vec!["id client state bytes name"]);
    }
}
