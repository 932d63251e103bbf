//! The `/` bar: editing, validation, history, field-name completion, and applying a
//! display filter or a Follow search.

use super::{App, ListState};
use crate::action::Action;

/// What the `/` bar edits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarPurpose {
    Filter,
    Search,
}

/// The open `/` bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bar {
    pub purpose: BarPurpose,
    pub text: String,
    /// Cursor position in characters.
    pub cursor: usize,
    /// Result of `check_filter` on the current text (validity colouring).
    pub valid: bool,
    /// Error of the last submit, rendered with its caret line.
    pub error: Option<String>,
    /// Field names that complete the word before the cursor (after Tab, when several).
    pub hint: Option<String>,
    /// Position in the filter history while browsing it with Up/Down.
    pub history_pos: Option<usize>,
}

impl App {
    pub(super) fn update_bar(&mut self, action: Action) {
        self.update_bar_inner(action);
    }

    pub(super) fn update_bar_inner(&mut self, action: Action) {
        let completing = action == Action::BarComplete;
        let Some(bar) = &mut self.bar else { return };
        let mut edited = true;
        match action {
            Action::BarChar(c) => {
                if bar.text.chars().count() < 1024 {
                    let at = byte_at(&bar.text, bar.cursor);
                    bar.text.insert(at, c);
                    bar.cursor += 1;
                }
            }
            Action::BarBackspace => {
                if bar.cursor > 0 {
                    bar.cursor -= 1;
                    let at = byte_at(&bar.text, bar.cursor);
                    bar.text.remove(at);
                }
            }
            Action::BarLeft => {
                bar.cursor = bar.cursor.saturating_sub(1);
                edited = false;
            }
            Action::BarRight => {
                bar.cursor = (bar.cursor + 1).min(bar.text.chars().count());
                edited = false;
            }
            Action::BarComplete if bar.purpose == BarPurpose::Filter => {
                complete_field(bar);
            }
            Action::BarHistoryPrev | Action::BarHistoryNext
                if bar.purpose == BarPurpose::Filter =>
            {
                let n = self.filter_history.len();
                if n == 0 {
                    return;
                }
                let pos = match (action, bar.history_pos) {
                    (Action::BarHistoryPrev, None) => Some(n - 1),
                    (Action::BarHistoryPrev, Some(p)) => Some(p.saturating_sub(1)),
                    (_, Some(p)) if p + 1 < n => Some(p + 1),
                    _ => None,
                };
                bar.history_pos = pos;
                bar.text = pos
                    .map(|p| self.filter_history[p].clone())
                    .unwrap_or_default();
                bar.cursor = bar.text.chars().count();
            }
            Action::Back => {
                self.bar = None;
                return;
            }
            Action::BarSubmit => {
                let text = bar.text.trim().to_string();
                match bar.purpose {
                    BarPurpose::Filter => match self.source.apply_filter(&text) {
                        Ok(()) => {
                            if !text.is_empty() && self.filter_history.last() != Some(&text) {
                                self.filter_history.push(text.clone());
                                if self.filter_history.len() > 100 {
                                    self.filter_history.remove(0);
                                }
                            }
                            self.filter = (!text.is_empty()).then_some(text);
                            self.bar = None;
                            self.packets = ListState::default();
                            self.refresh();
                        }
                        Err(e) => {
                            if let Some(b) = &mut self.bar {
                                b.error = Some(e);
                                b.valid = false;
                            }
                        }
                    },
                    BarPurpose::Search => {
                        self.bar = None;
                        if let Some(f) = &mut self.follow {
                            f.query = text;
                            f.find();
                            let cur = f.list.selected;
                            f.list.selected = cur.saturating_sub(1);
                        }
                        self.search_step(true);
                    }
                }
                return;
            }
            _ => edited = false,
        }
        if edited {
            let text = bar.text.clone();
            let purpose = bar.purpose;
            let valid =
                purpose == BarPurpose::Search || self.source.check_filter(text.trim()).is_ok();
            if let Some(b) = &mut self.bar {
                b.valid = valid;
                b.error = None;
                if !completing {
                    b.hint = None;
                }
            }
        }
    }
}

/// Byte offset of the `chars`-th character (or the end).
fn byte_at(s: &str, chars: usize) -> usize {
    s.char_indices()
        .nth(chars)
        .map(|(i, _)| i)
        .unwrap_or(s.len())
}

/// Tab in the filter bar: completes the field name before the cursor (the registry's
/// names and aliases); with several candidates, extends to their common prefix and
/// lists them as a hint.
fn complete_field(bar: &mut Bar) {
    let chars: Vec<char> = bar.text.chars().collect();
    let end = bar.cursor.min(chars.len());
    let mut start = end;
    while start > 0
        && (chars[start - 1].is_ascii_alphanumeric() || matches!(chars[start - 1], '.' | '_'))
    {
        start -= 1;
    }
    let word: String = chars[start..end].iter().collect();
    let cands = wiretale_engine::filter::fields::complete(&word);
    let Some(first) = cands.first() else {
        bar.hint = Some(format!("no field starts with \"{word}\""));
        return;
    };
    let common = cands.iter().fold(first.to_string(), |acc, c| {
        acc.chars()
            .zip(c.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a)
            .collect()
    });
    let insert = if cands.len() == 1 {
        format!("{first} ")
    } else {
        common
    };
    let rest: String = chars[end..].iter().collect();
    let head: String = chars[..start].iter().collect();
    bar.text = format!("{head}{insert}{rest}");
    bar.cursor = start + insert.chars().count();
    bar.hint = (cands.len() > 1).then(|| {
        let shown: Vec<&str> = cands.iter().take(12).copied().collect();
        let more = cands.len().saturating_sub(12);
        if more > 0 {
            format!("{}  (+{more})", shown.join("  "))
        } else {
            shown.join("  ")
        }
    });
}
