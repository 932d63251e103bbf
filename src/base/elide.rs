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
    if width(s) <= max {
        return Cow::Borrowed(s);
    }
    let kept = prefix_columns(s, max.saturating_sub(1));
    let left = s[kept.len()..].chars().count();
    Cow::Owned(format!("{kept}… (+{} chars)", thousands(left)))
}

/// Cuts a whole line to `columns`, ending it with `…` when anything was cut. Used for
/// the final fit to the terminal; values inside the line are elided first with
/// [`list`] and [`value`], so this cut rarely hides anything that matters.
pub fn fit(line: &str, columns: usize) -> Cow<'_, str> {
    if width(line) <= columns {
        return Cow::Borrowed(line);
    }
    let kept = prefix_columns(line, columns.saturating_sub(1));
    Cow::Owned(format!("{kept}…"))
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
}
